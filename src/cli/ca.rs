//! `wipeproof ca`: the central register's own certificate authority (see
//! `certificate::authority`): print its certificate for auditors, or import one the recycler
//! already runs; and issuing enrolled stations their certificates under it.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};

use super::Status;
use crate::certificate::authority::{self, Authority};
use crate::config::StateDir;
use crate::register::{Register, StationView};

#[derive(Debug, Args)]
pub struct CaArgs {
    #[command(subcommand)]
    command: CaCommand,
}

#[derive(Debug, Subcommand)]
enum CaCommand {
    /// Print the register's CA certificate (PEM), making the CA first if there is none: the one
    /// certificate an auditor trusts for every station enrolled here.
    Export,
    /// Use an existing CA (a P-256 key, PKCS#8 PEM, unencrypted, and its CA certificate) instead
    /// of making one. Only before the register has a CA.
    Import {
        /// The CA's private key.
        #[arg(long, value_name = "PEM")]
        key: PathBuf,
        /// The CA's certificate.
        #[arg(long, value_name = "PEM")]
        certificate: PathBuf,
    },
}

pub fn run(args: &CaArgs, state: &StateDir) -> anyhow::Result<Status> {
    let dir = state.keys_dir();
    match &args.command {
        CaCommand::Export => {
            let ca = load_or_create(state)?;
            crate::stdout_text!("{}", ca.certificate_pem()?)?;
        }
        CaCommand::Import { key, certificate } => {
            let read = |p: &Path| {
                std::fs::read_to_string(p).with_context(|| {
                    format!(
                        "cannot read {}: give the CA's private key (--key) and its certificate \
                         (--certificate) as PEM files",
                        p.display()
                    )
                })
            };
            let ca = Authority::from_pem(&read(key)?, key, &read(certificate)?, certificate)?;
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            ca.write(&dir)?;
            crate::stderr_line!(
                "wipeproof: the register's CA is now {} ({})",
                ca.subject(),
                dir.join(authority::CA_CERTIFICATE_FILE).display()
            );
        }
    }
    Ok(Status::Success)
}

/// The register's CA, made now (and said so) if it has none.
pub(super) fn load_or_create(state: &StateDir) -> anyhow::Result<Authority> {
    let dir = state.keys_dir();
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let (ca, made) = Authority::load_or_create(&dir, &state.config.organisation.name)?;
    if made {
        crate::stderr_line!(
            "wipeproof: made the register's certificate authority {} ({}); auditors trust its \
             certificate (`wipeproof ca export`, or GET /api/v1/ca.pem) for every station enrolled here",
            ca.subject(),
            dir.join(authority::CA_CERTIFICATE_FILE).display()
        );
    }
    Ok(ca)
}

/// Issues the register's own PDF key (it signs the collection reports the register's pages and
/// `wipeproof report` hand out) a certificate under its CA, so that the one CA an auditor
/// trusts covers those reports too. Nothing to do without a register key, or when it is done.
pub(super) fn certify_own(state: &StateDir, ca: &Authority) -> anyhow::Result<()> {
    use crate::certificate::keys::{KeyError, StationKey};
    let dir = state.keys_dir();
    let mut key = match StationKey::load(&dir) {
        Ok(k) => k,
        Err(KeyError::Missing(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if key.pdf_signer().issuer() == Some(ca.certificate()) {
        return Ok(());
    }
    let id = key.key_id();
    let own = dir.join(crate::certificate::x509::CERTIFICATE_FILE);
    let crl_url = state.config.register.crl_url();
    let issued = ca.issue(
        key.pdf_signer().certificate(),
        &id,
        crl_url.as_deref(),
        &own,
    )?;
    key.pdf_signer_mut()
        .install_issued(&dir, &id, &issued, ca.certificate())?;
    crate::stderr_line!(
        "wipeproof: the register's own PDF signing certificate ({}) is now issued by its CA",
        own.display()
    );
    Ok(())
}

/// Issues `station` a certificate under the register's CA for the PDF key its enrolment text
/// (`keys export` output) certifies, and stores it. `Ok(None)`: the text holds no certificate
/// (a station from before PDF signatures), so its PDFs stay self-signed.
pub(super) fn certify_station(
    state: &StateDir,
    reg: &mut dyn Register,
    station: &StationView,
    source: &Path,
) -> anyhow::Result<Option<String>> {
    let Some(own) = authority::station_certificate_in(&station.public_key_pem) else {
        return Ok(None);
    };
    let crl_url = state.config.register.crl_url();
    if let Some(url) = &crl_url
        && !url.starts_with("http://")
        && !url.starts_with("https://")
    {
        anyhow::bail!(
            "register.public_url {:?}: expected an http:// or https:// URL",
            state.config.register.public_url
        );
    }
    let ca = load_or_create(state)?;
    let issued = ca.issue(&own, &station.key_id, crl_url.as_deref(), source)?;
    let serial = authority::serial_hex(&issued);
    use der::EncodePem;
    let pem = issued
        .to_pem(der::pem::LineEnding::LF)
        .map_err(|e| anyhow::anyhow!("cannot encode the station's certificate: {e}"))?;
    reg.record_station_certificate(&station.key_id, &serial, &pem)?;
    Ok(Some(serial))
}
