//! TLS to PostgreSQL, with rustls, as libpq's `sslmode` and `sslrootcert` describe it.
//!
//! | `sslmode` | encrypted | server's certificate checked |
//! | --- | --- | --- |
//! | `disable` | never | — |
//! | `prefer` (the default, as in libpq) | when the server offers TLS | no |
//! | `require` | always | no; with `sslrootcert`, its chain, as `verify-ca` |
//! | `verify-ca` | always | its chain leads to a root of `sslrootcert` |
//! | `verify-full` | always | its chain, and that it names the host connected to |
//!
//! `sslrootcert=PATH` is a PEM file of root certificates; `sslrootcert=system` or no
//! `sslrootcert` uses the machine's trust store. The two options are taken out of the
//! URL before the `postgres` crate reads it (it knows neither `sslrootcert` nor the
//! `verify-*` modes).

use std::path::PathBuf;
use std::sync::Arc;

use postgres::config::SslMode;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::store::StoreError;

/// How much `sslmode` asks of the server's certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Check {
    /// `disable`: no TLS at all.
    NoTls,
    /// `prefer`, `require`: encrypted, the certificate not checked.
    Nothing,
    /// `verify-ca` (or `require` with a root file): the chain, not the name.
    Chain,
    /// `verify-full`: the chain and the host name.
    ChainAndName,
}

/// The TLS options of a URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TlsOptions {
    pub check: Check,
    /// `sslrootcert`; `None` (or `system`) is the machine's trust store.
    pub roots: Option<PathBuf>,
}

/// Takes `sslmode=verify-*` and `sslrootcert` out of `url` (a `postgres://` URL or a
/// key/value string), returning what is left for the `postgres` crate and the
/// `sslmode` it should use.
pub(crate) fn split(url: &str) -> Result<(String, Option<SslMode>, TlsOptions), StoreError> {
    let mut mode: Option<String> = None;
    let mut roots: Option<String> = None;
    let rest = if let Some((base, query)) = url
        .split_once('?')
        .filter(|_| url.starts_with("postgres://") || url.starts_with("postgresql://"))
    {
        let mut kept = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "sslmode" => mode = Some(percent_decode(value)),
                "sslrootcert" => roots = Some(percent_decode(value)),
                _ => kept.push(pair),
            }
        }
        if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        }
    } else if url.contains("://") {
        url.to_string()
    } else {
        // key=value pairs separated by spaces; values in single quotes may hold spaces.
        let mut kept = Vec::new();
        for (key, value, text) in key_values(url) {
            match key.as_str() {
                "sslmode" => mode = Some(value),
                "sslrootcert" => roots = Some(value),
                _ => kept.push(text),
            }
        }
        kept.join(" ")
    };
    let roots = roots.filter(|r| r != "system").map(PathBuf::from);
    let (ssl_mode, check) = match mode.as_deref() {
        None | Some("prefer") => (SslMode::Prefer, Check::Nothing),
        Some("disable") => (SslMode::Disable, Check::NoTls),
        Some("allow") => (SslMode::Prefer, Check::Nothing),
        Some("require") if roots.is_some() => (SslMode::Require, Check::Chain),
        Some("require") => (SslMode::Require, Check::Nothing),
        Some("verify-ca") => (SslMode::Require, Check::Chain),
        Some("verify-full") => (SslMode::Require, Check::ChainAndName),
        Some(other) => {
            return Err(StoreError::Invalid(format!(
                "bad PostgreSQL URL: sslmode `{other}` is not one of disable, allow, prefer, require, verify-ca, verify-full"
            )));
        }
    };
    let explicit = mode.is_some().then_some(ssl_mode);
    Ok((rest, explicit, TlsOptions { check, roots }))
}

/// The connector for `options`; `None` for `sslmode=disable`.
pub(crate) fn connector(options: &TlsOptions) -> Result<Option<MakeRustlsConnect>, StoreError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| StoreError::Invalid(format!("TLS: {e}")))?;
    let algorithms = provider.signature_verification_algorithms;
    let chain = match options.check {
        Check::NoTls => return Ok(None),
        Check::Nothing => None,
        Check::Chain | Check::ChainAndName => Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(root_store(options)?), provider)
                .build()
                .map_err(|e| StoreError::Invalid(format!("TLS: {e}")))?,
        ),
    };
    let config = match chain {
        Some(webpki) if options.check == Check::ChainAndName => {
            builder.with_webpki_verifier(webpki).with_no_client_auth()
        }
        chain => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(Lenient { chain, algorithms }))
            .with_no_client_auth(),
    };
    Ok(Some(MakeRustlsConnect::new(config)))
}

fn root_store(options: &TlsOptions) -> Result<RootCertStore, StoreError> {
    let mut store = RootCertStore::empty();
    match &options.roots {
        Some(path) => {
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .and_then(|certs| certs.collect())
                .map_err(|e| {
                    StoreError::Invalid(format!(
                        "cannot read the root certificates in sslrootcert {}: {e}",
                        path.display()
                    ))
                })?;
            if certs.is_empty() {
                return Err(StoreError::Invalid(format!(
                    "sslrootcert {} holds no PEM certificate",
                    path.display()
                )));
            }
            for cert in certs {
                store.add(cert).map_err(|e| {
                    StoreError::Invalid(format!(
                        "a certificate in sslrootcert {} is not usable: {e}",
                        path.display()
                    ))
                })?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err(StoreError::Invalid(
                    "sslmode verify-ca/verify-full needs root certificates: the machine's trust store has none; give sslrootcert=PATH".to_string(),
                ));
            }
        }
    }
    Ok(store)
}

/// `prefer`/`require` (no `chain`): any certificate is taken, as libpq does;
/// `verify-ca` (a `chain`): the chain must lead to a trusted root, the name is not
/// compared. Either way the handshake's signatures are verified.
#[derive(Debug)]
struct Lenient {
    chain: Option<Arc<WebPkiServerVerifier>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied(),
            bytes.get(i + 2).copied(),
        ) {
            (b'%', Some(h), Some(l)) if hex(h).is_some() && hex(l).is_some() => {
                let value = hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0);
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `(key, value, the pair as written)` of a key/value connection string.
fn key_values(text: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(start, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut key = String::new();
        while let Some(&(_, c)) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|&(_, c)| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_some_and(|&(_, c)| c == '=') {
            chars.next();
        }
        while chars.peek().is_some_and(|&(_, c)| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek().is_some_and(|&(_, c)| c == '\'') {
            chars.next();
            while let Some((_, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            value.push(escaped);
                        }
                    }
                    '\'' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(&(_, c)) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                value.push(c);
                chars.next();
            }
        }
        let end = chars.peek().map_or(text.len(), |&(i, _)| i);
        out.push((key, value, text[start..end].to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_lose_the_options_the_postgres_crate_does_not_know() {
        let (rest, mode, tls) = split(
            "postgres://u@db:5432/x?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem&application_name=a",
        )
        .unwrap();
        assert_eq!(rest, "postgres://u@db:5432/x?application_name=a");
        assert_eq!(mode, Some(SslMode::Require));
        assert_eq!(tls.check, Check::ChainAndName);
        assert_eq!(tls.roots, Some(PathBuf::from("/etc/ca.pem")));
    }

    #[test]
    fn modes_are_libpqs() {
        let check = |url: &str| split(url).unwrap().2.check;
        assert_eq!(check("postgres://db/x"), Check::Nothing);
        assert_eq!(check("postgres://db/x?sslmode=disable"), Check::NoTls);
        assert_eq!(check("postgres://db/x?sslmode=require"), Check::Nothing);
        assert_eq!(
            check("postgres://db/x?sslmode=require&sslrootcert=/ca.pem"),
            Check::Chain
        );
        assert_eq!(check("postgres://db/x?sslmode=verify-ca"), Check::Chain);
        assert_eq!(
            check("host=db sslmode=verify-full sslrootcert=system"),
            Check::ChainAndName
        );
        assert_eq!(split("postgres://db/x").unwrap().1, None);
        let err = split("postgres://db/x?sslmode=paranoid").unwrap_err();
        assert!(err.to_string().contains("sslmode `paranoid`"), "{err}");
    }

    #[test]
    fn key_value_strings_keep_their_other_pairs() {
        let (rest, _, tls) =
            split("host=db user=ann password='a b\\'c' sslrootcert='/my certs/ca.pem' dbname=x")
                .unwrap();
        assert_eq!(rest, "host=db user=ann password='a b\\'c' dbname=x");
        assert_eq!(tls.roots, Some(PathBuf::from("/my certs/ca.pem")));
    }

    #[test]
    fn a_missing_root_file_is_a_clear_error() {
        let err = connector(&TlsOptions {
            check: Check::ChainAndName,
            roots: Some(PathBuf::from("/nonexistent/ca.pem")),
        })
        .err()
        .unwrap();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }
}
