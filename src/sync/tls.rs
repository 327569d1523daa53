//! TLS for a station that syncs to an `https://` central register: the roots it trusts (the
//! system's, plus the CA file of `sync.ca_file`), and what a failed connection says about the
//! register's certificate.

use std::path::Path;

use rustls_pki_types::CertificateDer;

use crate::tls::{TlsError, read_certificates};

const CA_HINT: &str = "sync.ca_file (or --ca-file) takes the certificate of the CA that issued \
                       the register's certificate, in PEM (\"-----BEGIN CERTIFICATE-----\")";

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
    fn a_ca_file_that_is_not_pem_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("text.pem");
        std::fs::write(&text, "not a certificate\n").unwrap();
        let e = StationTrust::load(Some(&text)).unwrap_err().to_string();
        assert!(e.contains("CA file") && e.contains("text.pem"), "{e}");
    }
}
