//! TLS to PostgreSQL against the real local server, configured by this test with a
//! certificate authority and a server certificate it makes itself (and put back as it
//! was afterwards): `verify-full` and `verify-ca` connect with the right root and are
//! refused with another; `verify-full` refuses a host the certificate does not name;
//! `require` encrypts without checking; `disable` does not encrypt. Skipped without
//! `COSMOS_TEST_POSTGRES`, and when the test cannot hand its key file to the server's
//! user (it must run as root or as that user, on the server's machine).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod pg;

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cosmos_runtime::store::{POSTGRES_SCHEMA_VERSION, PostgresStore, StoreError};
use pg::with_param;
use postgres::{Client, NoTls};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};

/// The server's certificate names only this host and 127.0.0.1.
const NAMED_HOST: &str = "cosmos-test.invalid";

struct Authority {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

fn authority(name: &str) -> Authority {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let key = KeyPair::generate().unwrap();
    let pem = params.self_signed(&key).unwrap().pem();
    Authority { params, key, pem }
}

/// The server's certificate and key, signed by `ca`, as PEM.
fn server_certificate(ca: &Authority) -> (String, String) {
    let mut params = CertificateParams::new(vec![NAMED_HOST.to_string()]).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    params
        .distinguished_name
        .push(DnType::CommonName, NAMED_HOST);
    let key = KeyPair::generate().unwrap();
    let issuer = Issuer::from_params(&ca.params, &ca.key);
    let cert = params.signed_by(&key, &issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

/// Points the server at a certificate for as long as it lives, then back.
struct ServerTls {
    admin: Client,
    files: Vec<String>,
}

impl ServerTls {
    /// `None` (with a message) when this process cannot give the key file to the
    /// server's user, which the server requires (run as root, or as that user).
    fn configure(base: &str, cert: &str, key: &str) -> Option<ServerTls> {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let mut admin = Client::connect(base, NoTls).unwrap();
        let data: String = admin.query_one("SHOW data_directory", &[]).unwrap().get(0);
        let owner = std::fs::metadata(&data).unwrap();
        let stem = format!("/tmp/cosmos-tls-{}", uuid::Uuid::now_v7().simple());
        let (cert_file, key_file) = (format!("{stem}.crt"), format!("{stem}.key"));
        std::fs::write(&cert_file, cert).unwrap();
        std::fs::write(&key_file, key).unwrap();
        let files = vec![cert_file.clone(), key_file.clone()];
        for file in &files {
            let mode = if file.ends_with(".key") { 0o600 } else { 0o644 };
            std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode)).unwrap();
            if let Err(e) = std::os::unix::fs::chown(file, Some(owner.uid()), Some(owner.gid())) {
                eprintln!(
                    "skipped: the TLS test must give its key file to the server's user \
                     (uid {}) and cannot: {e}; run it as root or as that user",
                    owner.uid()
                );
                for file in &files {
                    let _ = std::fs::remove_file(file);
                }
                return None;
            }
        }
        // One statement at a time: several in one string are one transaction, which
        // ALTER SYSTEM refuses.
        for statement in [
            "ALTER SYSTEM SET ssl = on".to_string(),
            format!("ALTER SYSTEM SET ssl_cert_file = '{cert_file}'"),
            format!("ALTER SYSTEM SET ssl_key_file = '{key_file}'"),
            "SELECT pg_reload_conf()".to_string(),
        ] {
            admin.batch_execute(&statement).unwrap();
        }
        Some(ServerTls { admin, files })
    }
}

impl Drop for ServerTls {
    fn drop(&mut self) {
        for statement in [
            "ALTER SYSTEM RESET ssl",
            "ALTER SYSTEM RESET ssl_cert_file",
            "ALTER SYSTEM RESET ssl_key_file",
            "SELECT pg_reload_conf()",
        ] {
            let _ = self.admin.batch_execute(statement);
        }
        for file in &self.files {
            let _ = std::fs::remove_file(file);
        }
    }
}

/// Whether the store's connection (named `application`) is encrypted, from the
/// server's own view.
fn encrypted(admin: &mut Client, store: &PostgresStore, application: &str) -> bool {
    // A statement through the store, so that its pool holds a connection now.
    assert_eq!(
        store.schema_version().unwrap(),
        i64::from(POSTGRES_SCHEMA_VERSION)
    );
    let row = admin
        .query_one(
            "SELECT bool_or(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) \
             WHERE a.application_name = $1",
            &[&application],
        )
        .unwrap();
    row.get::<_, Option<bool>>(0)
        .unwrap_or_else(|| panic!("no connection named {application}"))
}

fn open(url: &str, params: &[String]) -> Result<PostgresStore, StoreError> {
    let mut url = url.to_string();
    for p in params {
        url = with_param(&url, p);
    }
    PostgresStore::open(&url)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn tls_modes_connect_and_refuse_as_libpq_does() {
    let Some(schema) = pg::schema("tls_modes_connect_and_refuse_as_libpq_does") else {
        return;
    };
    let base = std::env::var(pg::ENV).unwrap();
    let ca = authority("cosmos test CA");
    let stranger = authority("some other CA");
    let (cert, key) = server_certificate(&ca);
    let Some(_server) = ServerTls::configure(&base, &cert, &key) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let right = write(dir.path(), "ca.pem", &ca.pem);
    let wrong = write(dir.path(), "other.pem", &stranger.pem);
    let root = |p: &Path| format!("sslrootcert={}", p.display());
    let mut admin = schema.admin();

    // The reload is asynchronous: wait until the server presents the new certificate.
    let deadline = Instant::now() + Duration::from_secs(10);
    let full = |app: &str| {
        vec![
            "sslmode=verify-full".to_string(),
            root(&right),
            format!("application_name={app}"),
        ]
    };
    let store = loop {
        match open(&schema.url, &full("tls_full")) {
            Ok(store) => break store,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("verify-full with the right root: {e}"),
        }
    };
    assert_eq!(
        store.schema_version().unwrap(),
        i64::from(POSTGRES_SCHEMA_VERSION)
    );
    assert!(encrypted(&mut admin, &store, "tls_full"));

    let refused = open(
        &schema.url,
        &["sslmode=verify-full".to_string(), root(&wrong)],
    )
    .expect_err("verify-full must refuse a certificate from another authority");
    assert!(
        refused.to_string().to_lowercase().contains("certificate"),
        "{refused}"
    );
    let refused = open(
        &schema.url,
        &["sslmode=verify-ca".to_string(), root(&wrong)],
    )
    .expect_err("verify-ca must refuse a certificate from another authority");
    assert!(
        refused.to_string().to_lowercase().contains("certificate"),
        "{refused}"
    );

    // A host the certificate does not name: refused by verify-full, taken by verify-ca.
    if schema.url.contains("@127.0.0.1") {
        let by_name = schema.url.replace("@127.0.0.1", "@localhost");
        let refused = open(&by_name, &["sslmode=verify-full".to_string(), root(&right)])
            .expect_err("verify-full must refuse a host the certificate does not name");
        assert!(
            refused.to_string().to_lowercase().contains("certificate"),
            "{refused}"
        );
        let store = open(
            &by_name,
            &[
                "sslmode=verify-ca".to_string(),
                root(&right),
                "application_name=tls_ca".to_string(),
            ],
        )
        .unwrap_or_else(|e| panic!("verify-ca ignores the name: {e}"));
        assert!(encrypted(&mut admin, &store, "tls_ca"));
        drop(store);
    }

    let store = open(
        &schema.url,
        &[
            "sslmode=require".to_string(),
            "application_name=tls_require".to_string(),
        ],
    )
    .unwrap();
    assert!(encrypted(&mut admin, &store, "tls_require"));
    drop(store);

    let store = open(
        &schema.url,
        &[
            "sslmode=disable".to_string(),
            "application_name=tls_disable".to_string(),
        ],
    )
    .unwrap();
    assert!(!encrypted(&mut admin, &store, "tls_disable"));
    drop(store);
}
