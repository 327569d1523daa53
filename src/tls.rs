//! Reading TLS certificates and keys from PEM files, for both ends of a connection: the central
//! register's server (`crate::server::tls`) and the station that syncs to it
//! (`crate::sync::tls`); and the client side of a connection to PostgreSQL
//! ([`postgres_tls`]), which the register layer uses without naming a TLS crate. Every error
//! names the file and says what to do.
//!
//! Both sides use rustls with the ring provider, TLS 1.2 and 1.3 only.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

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

pub(crate) fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub(crate) fn read_file(
    path: &Path,
    what: &'static str,
    hint: &'static str,
) -> Result<Vec<u8>, TlsError> {
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
pub(crate) fn read_certificates(
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

/// What to tell a person whose PostgreSQL CA file is wrong.
const PG_CA_HINT: &str = "sslrootcert= names the PEM file of the CA that signed the PostgreSQL \
                          server's certificate";

/// A TLS connector for PostgreSQL that verifies the server's certificate chain and its name
/// (the host of the URL), against the certificates of `ca_file` if given, else the operating
/// system's trusted roots. TLS 1.2 and 1.3 only.
pub fn postgres_tls(
    ca_file: Option<&Path>,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    let certificates = match ca_file {
        Some(path) => read_certificates(path, "PostgreSQL CA file", PG_CA_HINT)?,
        None => rustls_native_certs::load_native_certs().certs,
    };
    let path = ca_file.unwrap_or(Path::new("the system's trusted roots"));
    for cert in certificates {
        roots.add(cert).map_err(|e| TlsError::BadPem {
            what: "PostgreSQL CA file",
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    }
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::BadPem {
            what: "PostgreSQL CA file",
            path: path.to_path_buf(),
            message: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}
