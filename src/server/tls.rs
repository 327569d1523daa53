//! HTTPS for the central register: the certificate and key `wipeproof serve --tls-cert PEM
//! --tls-key PEM` presents (rustls with the ring provider, TLS 1.2 and 1.3 only).

use std::path::Path;
use std::sync::Arc;

use rustls_pki_types::PrivateKeyDer;
use rustls_pki_types::pem::{self, PemObject};

use crate::tls::{TlsError, provider, read_certificates, read_file};

const CERT_HINT: &str = "--tls-cert takes the server's certificate, then any intermediate CA \
                         certificates, in PEM (\"-----BEGIN CERTIFICATE-----\")";
const KEY_HINT: &str = "--tls-key takes the certificate's private key in PEM (PKCS#8 \
                        \"-----BEGIN PRIVATE KEY-----\", or an RSA or EC key), unencrypted";
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

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
