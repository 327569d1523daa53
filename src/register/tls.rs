//! TLS for the central register: the certificate and key `wipeproof serve --tls-cert PEM
//! --tls-key PEM` presents, and the roots a station trusts when it syncs to an `https://`
//! register (the system's, plus the CA file of `sync.ca_file`).
//!
//! Both sides use rustls with the ring provider, TLS 1.2 and 1.3 only.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Errors reading TLS certificates and keys; each names the file and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{what} {path} does not exist; {hint}")]
    Missing {
        what: &'static str,
        path: PathBuf,
        hint: &'static str,
    },
    #[error("cannot read {what} {path}: {source}")]
    Read {
        what: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("{what} {path} holds no PEM {expected} block; {hint}")]
    NotPem {
        what: &'static str,
        path: PathBuf,
        expected: &'static str,
        hint: &'static str,
    },
    #[error("{what} {path} is not valid PEM: {message}")]
    BadPem {
        what: &'static str,
        path: PathBuf,
        message: String,
    },
    #[error(
        "the key {key} does not match the certificate {cert}; give --tls-key the private key \
         the certificate was issued for"
    )]
    KeyMismatch { cert: PathBuf, key: PathBuf },
    #[error("cannot use the certificate {cert} with the key {key}: {message}")]
    Unusable {
        cert: PathBuf,
        key: PathBuf,
        message: String,
    },
}

const CERT_HINT: &str = "--tls-cert takes the server's certificate, then any intermediate CA \
                         certificates, in PEM (\"-----BEGIN CERTIFICATE-----\")";
const KEY_HINT: &str = "--tls-key takes the certificate's private key in PEM (PKCS#8 \
                        \"-----BEGIN PRIVATE KEY-----\", or an RSA or EC key), unencrypted";
const CA_HINT: &str = "sync.ca_file (or --ca-file) takes the certificate of the CA that issued \
                       the register's certificate, in PEM (\"-----BEGIN CERTIFICATE-----\")";

/// The register's TLS identity, ready to accept connections.
#[derive(Debug, Clone)]
pub struct ServerTls(Arc<rustls::ServerConfig>);

impl ServerTls {
    /// Reads the certificate chain at `cert` and its private key at `key` (both PEM) and checks
    /// that they belong together.
    pub fn load(cert: &Path, key: &Path) -> Result<ServerTls, TlsError> {
        let chain = read_certificates(cert, "certificate", CERT_HINT)?;
        let key_bytes = read_file(key, "key", KEY_HINT)?;
        let private = PrivateKeyDer::from_pem_slice(&key_bytes).map_err(|e| match e {
            pem::Error::NoItemsFound => TlsError::NotPem {
                what: "key",
                path: key.to_path_buf(),
                expected: "private key",
                hint: KEY_HINT,
            },
            e => TlsError::BadPem {
                what: "key",
                path: key.to_path_buf(),
                message: e.to_string(),
            },
        })?;
        let unusable = |e: rustls::Error| match e {
            rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
                TlsError::KeyMismatch {
                    cert: cert.to_path_buf(),
                    key: key.to_path_buf(),
                }
            }
            e => TlsError::Unusable {
                cert: cert.to_path_buf(),
                key: key.to_path_buf(),
                message: e.to_string(),
            },
        };
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(unusable)?
            .with_no_client_auth()
            .with_single_cert(chain, private)
            .map_err(unusable)?;
        // The server speaks HTTP/1 only.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(ServerTls(Arc::new(config)))
    }

    /// The acceptor for incoming connections.
    pub fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.0.clone())
    }
}

/// The roots a station trusts for an `https://` register.
#[derive(Debug, Clone)]
pub struct StationTrust {
    roots: Vec<CertificateDer<'static>>,
}

impl StationTrust {
    /// The operating system's trusted roots (`SSL_CERT_FILE`, `SSL_CERT_DIR`, else the usual
    /// bundle such as `/etc/ssl/certs`), plus the certificates in `ca_file` if given.
    pub fn load(ca_file: Option<&Path>) -> Result<StationTrust, TlsError> {
        // Unreadable entries in the system store are skipped: they cannot be trusted anyway,
        // and a register with its own CA needs none of them.
        let mut roots = rustls_native_certs::load_native_certs().certs;
        if let Some(path) = ca_file {
            roots.extend(read_certificates(path, "CA file", CA_HINT)?);
        }
        Ok(StationTrust { roots })
    }

    /// The TLS settings for the HTTP client.
    pub fn client_config(&self) -> ureq::tls::TlsConfig {
        let roots = if self.roots.is_empty() {
            // No system store at all: Mozilla's roots, built in.
            ureq::tls::RootCerts::WebPki
        } else {
            self.roots
                .iter()
                .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned())
                .into()
        };
        ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .root_certs(roots)
            .build()
    }
}

/// Why a connection failed, if the cause is the register's certificate: the rustls error
/// inside a client error.
pub fn certificate_error(e: &ureq::Error) -> Option<&rustls::CertificateError> {
    let tls = match e {
        ureq::Error::Rustls(e) => Some(e),
        ureq::Error::Io(e) => e.get_ref().and_then(|e| e.downcast_ref::<rustls::Error>()),
        _ => None,
    };
    match tls? {
        rustls::Error::InvalidCertificate(c) => Some(c),
        _ => None,
    }
}

/// Whether `url` is plain `http://` to a host that is not this machine (its requests then
/// cross the network unencrypted).
pub fn plain_http_off_loopback(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = match host_port.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    let host = host.trim_end_matches('.');
    if host.eq_ignore_ascii_case("localhost") {
        return false;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(ip) => !ip.to_canonical().is_loopback(),
        Err(_) => true,
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read_file(path: &Path, what: &'static str, hint: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| match source.kind() {
        io::ErrorKind::NotFound => TlsError::Missing {
            what,
            path: path.to_path_buf(),
            hint,
        },
        _ => TlsError::Read {
            what,
            path: path.to_path_buf(),
            source,
        },
    })
}

/// The certificates in a PEM file; at least one.
fn read_certificates(
    path: &Path,
    what: &'static str,
    hint: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read_file(path, what, hint)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::BadPem {
            what,
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::NotPem {
            what,
            path: path.to_path_buf(),
            expected: "certificate",
            hint,
        });
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_flagged_only_off_this_machine() {
        for local in [
            "http://127.0.0.1:7070",
            "http://127.8.0.1/",
            "http://localhost:7070/x",
            "http://LOCALHOST.",
            "http://[::1]:7070",
            "http://[::ffff:127.0.0.1]:7070",
            "http://user@127.0.0.1:7070",
            "https://10.0.0.5:7070",
        ] {
            assert!(!plain_http_off_loopback(local), "{local}");
        }
        for remote in [
            "http://10.0.0.5:7070",
            "http://register.example:7070",
            "http://[2001:db8::1]:7070",
            "http://127.0.0.1.example/",
            "http://localhost@10.0.0.5/",
        ] {
            assert!(plain_http_off_loopback(remote), "{remote}");
        }
    }

    #[test]
    fn missing_and_non_pem_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        let e = ServerTls::load(&missing, &missing).unwrap_err().to_string();
        assert!(
            e.contains("nope.pem") && e.contains("does not exist"),
            "{e}"
        );
        let text = dir.path().join("text.pem");
        std::fs::write(&text, "not a certificate\n").unwrap();
        let e = ServerTls::load(&text, &text).unwrap_err().to_string();
        assert!(
            e.contains("text.pem") && e.contains("no PEM certificate"),
            "{e}"
        );
        let e = StationTrust::load(Some(&text)).unwrap_err().to_string();
        assert!(e.contains("CA file") && e.contains("text.pem"), "{e}");
    }
}
