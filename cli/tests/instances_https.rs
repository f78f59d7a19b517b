//! `cosmosc instances --server https://…`: a node behind a TLS proxy (what
//! docs/runtime.md advises for a network you do not trust) is reached over HTTPS,
//! trusting the roots of `SSL_CERT_FILE`, and a certificate from another authority is
//! refused with the reason.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use support::server::Server;
use support::{code, stderr, stdout};

/// A certificate authority: its parameters, key and certificate.
struct Authority {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

fn authority(name: &str) -> Authority {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let key = KeyPair::generate().unwrap();
    let pem = params.self_signed(&key).unwrap().pem();
    Authority { params, key, pem }
}

/// A TLS server configuration for `localhost`, its certificate signed by `ca`.
fn server_config(ca: &Authority) -> Arc<rustls::ServerConfig> {
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    let key = KeyPair::generate().unwrap();
    let cert = params
        .signed_by(&key, &Issuer::from_params(&ca.params, &ca.key))
        .unwrap();
    let chain = vec![CertificateDer::from(cert.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    Arc::new(config)
}

/// Terminates TLS on a new port and passes each request to `backend` (one request
/// per connection, which the proxy closes after the answer); its `https://` URL.
fn tls_proxy(backend: &str, config: Arc<rustls::ServerConfig>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let backend = backend.trim_start_matches("http://").to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let (config, backend) = (Arc::clone(&config), backend.clone());
            std::thread::spawn(move || {
                let _ = relay(stream, &backend, config);
            });
        }
    });
    format!("https://localhost:{port}")
}

fn relay(
    stream: TcpStream,
    backend: &str,
    config: Arc<rustls::ServerConfig>,
) -> std::io::Result<()> {
    let connection = rustls::ServerConnection::new(config).map_err(std::io::Error::other)?;
    let mut tls = rustls::StreamOwned::new(connection, stream);
    let mut request = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = tls.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        request.extend_from_slice(&chunk[..n]);
        if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&request[..head_end]).to_string();
    let length: usize = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, value)| value.trim().parse().ok())
        .unwrap_or(0);
    while request.len() < head_end + length {
        let n = tls.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        request.extend_from_slice(&chunk[..n]);
    }
    let mut forwarded: String = head
        .trim_end()
        .lines()
        .filter(|line| !line.to_ascii_lowercase().starts_with("connection:"))
        .map(|line| format!("{line}\r\n"))
        .collect();
    forwarded.push_str("Connection: close\r\n\r\n");
    let mut upstream = TcpStream::connect(backend)?;
    upstream.write_all(forwarded.as_bytes())?;
    upstream.write_all(&request[head_end..])?;
    let mut response = Vec::new();
    upstream.read_to_end(&mut response)?;
    tls.write_all(&response)?;
    tls.conn.send_close_notify();
    tls.flush()
}

fn instances(cwd: &Path, args: &[&str], roots: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cosmosc"))
        .arg("instances")
        .args(args)
        .current_dir(cwd)
        .env_remove("COSMOS_SERVER")
        .env_remove("COSMOS_TOKEN")
        .env_remove("SSL_CERT_DIR")
        .env("SSL_CERT_FILE", roots)
        .output()
        .unwrap()
}

#[test]
fn a_server_behind_https_is_reached_with_the_roots_of_ssl_cert_file() {
    let project = support::project(&[
        support::MANIFEST,
        ("src/main.emx", support::workflows::GATE_V1),
    ]);
    let root = project.path();
    let server = Server::start(root, &["--store", "state.db"], &[]);
    let (status, started) = server.post("/v1/workflows/Gate/instances", serde_json::json!({}));
    assert_eq!(status, 201, "{started}");
    let id = started["id"].as_str().unwrap();

    let ca = authority("cosmos test authority");
    let https = tls_proxy(&server.base, server_config(&ca));
    std::fs::write(root.join("ca.pem"), &ca.pem).unwrap();
    std::fs::write(root.join("other.pem"), authority("another authority").pem).unwrap();

    let output = instances(root, &["list", "--server", &https], &root.join("ca.pem"));
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(stdout(&output).contains(id), "{}", stdout(&output));
    let output = instances(
        root,
        &[
            "signal",
            id,
            "approve",
            "--data",
            r#"{"who": "tls"}"#,
            "--server",
            &https,
        ],
        &root.join("ca.pem"),
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(stdout(&output).contains("COMPLETED"), "{}", stdout(&output));

    let output = instances(root, &["list", "--server", &https], &root.join("other.pem"));
    assert_eq!(code(&output), 2);
    let err = stderr(&output);
    assert!(
        err.contains("cannot reach the runtime at https://localhost:"),
        "{err}"
    );
    assert!(err.to_ascii_lowercase().contains("certificate"), "{err}");
}
