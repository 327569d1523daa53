//! `wipeproof keys`: the station's signing key and the trust store.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::Status;
use crate::certificate::keys::{PUBLIC_KEY_FILE, StationKey, TrustStore, public_pem};
use crate::config::StateDir;

#[derive(Debug, Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Create this station's Ed25519 signing key (never over an existing one without --force).
    Init {
        /// Replace an existing key. Certificates it signed then verify only with its public key.
        #[arg(long)]
        force: bool,
    },
    /// Print the key id (SHA256 of the public key) and where the keys are.
    Show,
    /// Print the public key as PEM (SubjectPublicKeyInfo), then the station's X.509 certificate
    /// (the PDF signature's), for auditors and the central register.
    Export,
    /// Trust another station's public key (PEM) for verification.
    Trust {
        /// The public key file, as `keys export` wrote it.
        file: PathBuf,
    },
}

pub fn run(args: &KeysArgs, state: &StateDir) -> anyhow::Result<Status> {
    let dir = state.keys_dir();
    match &args.command {
        KeysCommand::Init { force } => {
            let key = StationKey::init(&dir, *force)?;
            crate::stderr_line!(
                "wipeproof: created the station key {} in {}",
                key.key_id(),
                StationKey::path(&dir).display()
            );
            crate::stdout_line!("{}", key.key_id())?;
        }
        KeysCommand::Show => {
            let key = StationKey::load(&dir)?;
            crate::stdout_line!("{}", key.key_id())?;
            crate::stderr_line!("private key: {}", StationKey::path(&dir).display());
            crate::stderr_line!("public key:  {}", dir.join(PUBLIC_KEY_FILE).display());
            let trust = TrustStore::load(&dir)?;
            crate::stderr_line!("trusted keys: {}", trust.keys().len());
            for k in trust.keys() {
                crate::stderr_line!("  {} ({})", k.key_id, k.source.display());
            }
        }
        KeysCommand::Export => {
            let key = StationKey::load(&dir)?;
            crate::stdout_text!(
                "{}{}",
                public_pem(&key.verifying_key())?,
                key.pdf_signer().certificate_pem()?
            )?;
        }
        KeysCommand::Trust { file } => {
            let mut one = TrustStore::default();
            one.add_file(file)?;
            let k = one.keys().first().context("the file holds no key")?.key;
            let path = TrustStore::add_to_dir(&dir, &k)?;
            crate::stderr_line!("wipeproof: trusting {} ({})", k.key_id(), path.display());
        }
    }
    Ok(Status::Success)
}
