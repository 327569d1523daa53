//! A station's certificate under its register's CA: at sync, the station asks the register
//! (`GET /api/v1/stations/{key_id}/certificate`) for the certificate its CA issued for this
//! station's PDF key (`wipeproof stations add` issues it) and installs it when it certifies
//! this station's own key and the register's CA signed it (`PdfSigner::install_issued`); from
//! then on its PDFs are signed with it and carry the CA's certificate. A register with no CA,
//! or one that issued nothing, leaves the station's self-signed certificate in place.

use std::path::Path;

use der::DecodePem;
use x509_cert::certificate::Certificate;

use super::SyncOptions;
use super::tls::StationTrust;
use crate::certificate::keys::StationKey;

/// What the fetch did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Issued {
    /// A new certificate is installed; the CA's subject.
    Installed(String),
    /// The certificate in use is the one the register holds.
    Current,
    /// The register issued this station none (or has no CA): why, in its words.
    None(String),
}

/// Errors fetching or installing the certificate.
#[derive(Debug, thiserror::Error)]
pub enum IssuedError {
    #[error("cannot ask the register at {url} for this station's certificate: {message}")]
    Fetch { url: String, message: String },
    #[error("the register at {url} answered a certificate this station cannot use: {message}")]
    Unusable { url: String, message: String },
}

/// Asks the register at `url` for the certificate its CA issued `key`'s station and installs it
/// in `keys_dir`.
pub fn fetch_and_install(
    url: &str,
    key: &mut StationKey,
    keys_dir: &Path,
    trust: Option<&StationTrust>,
    opts: SyncOptions,
) -> Result<Issued, IssuedError> {
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(opts.timeout));
    if let Some(trust) = trust {
        config = config.tls_config(trust.client_config());
    }
    let agent: ureq::Agent = config.build().into();
    let key_id = key.key_id();
    let endpoint = format!(
        "{}/api/v1/stations/{}/certificate",
        url.trim_end_matches('/'),
        key_id
    );
    let fetch = |message: String| IssuedError::Fetch {
        url: url.into(),
        message,
    };
    let mut response = agent
        .get(&endpoint)
        .call()
        .map_err(|e| fetch(e.to_string()))?;
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .read_to_string()
        .map_err(|e| fetch(e.to_string()))?;
    let value: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    let text = |k: &str| value.get(k).and_then(|v| v.as_str()).map(str::to_string);
    match status {
        200 => {}
        403 | 404 => {
            return Ok(Issued::None(
                text("error").unwrap_or_else(|| format!("the register answered {status}")),
            ));
        }
        _ => {
            return Err(fetch(format!(
                "it answered {status}: {}",
                text("error").unwrap_or_else(|| body.chars().take(300).collect())
            )));
        }
    }
    let unusable = |message: String| IssuedError::Unusable {
        url: url.into(),
        message,
    };
    let parse = |k: &str| {
        let pem = text(k).ok_or_else(|| unusable(format!("the answer has no \"{k}\"")))?;
        Certificate::from_pem(pem.trim()).map_err(|e| unusable(format!("\"{k}\": {e}")))
    };
    let (issued, ca) = (parse("certificate")?, parse("ca")?);
    let installed = key
        .pdf_signer_mut()
        .install_issued(keys_dir, &key_id, &issued, &ca)
        .map_err(|e| unusable(e.to_string()))?;
    Ok(if installed {
        Issued::Installed(ca.tbs_certificate().subject().to_string())
    } else {
        Issued::Current
    })
}
