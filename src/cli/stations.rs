//! Who may talk to the central register: `stations add|list|remove|revoke` (the stations whose
//! signed certificates and events it accepts) and `tokens add|list|remove` (who may read it over
//! HTTP).

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};

use super::output::{print_json, table};
use super::{Status, actor, open_register};
use crate::certificate::keys::parse_public;
use crate::config::StateDir;
use crate::server::token_sha256;

#[derive(Debug, Args)]
pub struct StationsArgs {
    #[command(subcommand)]
    command: StationsCommand,
}

#[derive(Debug, Subcommand)]
enum StationsCommand {
    /// Enroll a station by its public key (from `wipeproof keys export` on the station). The
    /// name must be the station's `station.id`: its certificates are held to it.
    Add {
        pubkey: PathBuf,
        #[arg(long)]
        name: Option<String>,
    },
    /// Issue an enrolled station a certificate under the register's CA again (a station
    /// enrolled before the register had a CA, or one that lost its certificate).
    Certify {
        /// The station's name or key id.
        station: String,
    },
    /// List enrolled stations.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a station enrolled by mistake (one with certificates here can only be revoked).
    Remove {
        /// The station's name or key id.
        station: String,
    },
    /// Revoke a station: nothing new it sends is accepted, whatever date it writes in it; what
    /// is stored here stays valid. `--accept-through CERT_ID` still accepts that certificate of
    /// the station's own chain and the ones before it (an honest backlog not yet synced).
    Revoke {
        /// The station's name or key id.
        station: String,
        /// The last certificate of the station's chain still accepted (from its certificates
        /// directory or its newest PDF).
        #[arg(long, value_name = "CERT_ID")]
        accept_through: Option<String>,
    },
}

pub fn stations(args: &StationsArgs, state: &StateDir) -> anyhow::Result<Status> {
    match &args.command {
        StationsCommand::Add { pubkey, name } => {
            let pem = std::fs::read_to_string(pubkey)
                .with_context(|| format!("cannot read {}", pubkey.display()))?;
            let key = parse_public(&pem, pubkey)?;
            let id = key.key_id();
            let name = name.clone().unwrap_or_else(|| {
                pubkey
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| id.clone())
            });
            if name.trim().is_empty() || name.trim() != name {
                anyhow::bail!(
                    "--name {name:?}: a station's name is its station.id, with no surrounding spaces"
                );
            }
            let mut reg = open_register(state)?;
            reg.enroll_station(&id, &name, pem.trim(), &actor(state))?;
            crate::stderr_line!("wipeproof: enrolled station {name} ({id})");
            if let Some(s) = reg.stations()?.into_iter().find(|s| s.key_id == id) {
                certified(state, reg.as_mut(), &s, pubkey)?;
            }
            // Names the key was renamed from while enrolled before stay its own.
            if let Some(s) = reg.stations()?.into_iter().find(|s| s.key_id == id)
                && !s.earlier_names.is_empty()
            {
                crate::stderr_line!(
                    "wipeproof: this key signed here before as {}: what it issued under {} is accepted as station {name}'s",
                    s.earlier_names.join(", "),
                    if s.earlier_names.len() == 1 {
                        "that name"
                    } else {
                        "those names"
                    }
                );
            }
            Ok(Status::Success)
        }
        StationsCommand::Certify { station } => {
            let mut reg = open_register(state)?;
            let s = reg
                .stations()?
                .into_iter()
                .find(|s| &s.name == station || &s.key_id == station)
                .with_context(|| {
                    format!("no station {station} is enrolled here (`wipeproof stations list`)")
                })?;
            if let Some(at) = &s.revoked_at {
                anyhow::bail!(
                    "station {} was revoked at {at}: the CA issues it nothing more",
                    s.name
                );
            }
            if !certified(state, reg.as_mut(), &s, Path::new(&s.name))? {
                anyhow::bail!(
                    "station {} was enrolled with its public key only: enroll the whole output of \
                     `wipeproof keys export` on the station (remove it first if it has no \
                     certificates here)",
                    s.name
                );
            }
            Ok(Status::Success)
        }
        StationsCommand::List { json } => {
            let reg = open_register(state)?;
            let list = reg.stations()?;
            if *json {
                print_json(&serde_json::json!({ "stations": list }))?;
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|s| {
                        let name = if s.earlier_names.is_empty() {
                            s.name.clone()
                        } else {
                            format!("{} (earlier {})", s.name, s.earlier_names.join(", "))
                        };
                        vec![
                            name,
                            s.key_id.clone(),
                            s.enrolled_at.clone(),
                            s.revoked_at.clone().unwrap_or_else(|| "-".into()),
                        ]
                    })
                    .collect();
                crate::stdout_text!(
                    "{}",
                    table(&["NAME", "KEY ID", "ENROLLED", "REVOKED"], &rows)
                )?;
            }
            Ok(Status::Success)
        }
        StationsCommand::Remove { station } => {
            let mut reg = open_register(state)?;
            let s = reg.remove_station(station, &actor(state))?;
            crate::stderr_line!("wipeproof: removed station {} ({})", s.name, s.key_id);
            Ok(Status::Success)
        }
        StationsCommand::Revoke {
            station,
            accept_through,
        } => {
            if let Some(id) = accept_through
                && uuid::Uuid::parse_str(id).is_err()
            {
                anyhow::bail!(
                    "--accept-through {id:?} is not a certificate id (a UUID, the record's `id`)"
                );
            }
            let mut reg = open_register(state)?;
            let s = reg.revoke_station(station, accept_through.as_deref(), &actor(state))?;
            let backlog = match &s.accept_through {
                Some(id) => {
                    format!("its chain up to certificate {id} is still accepted, nothing after it")
                }
                None => "nothing new it sends is accepted".into(),
            };
            crate::stderr_line!(
                "wipeproof: revoked station {} ({}) at {}; what is stored here stays valid, {backlog}",
                s.name,
                s.key_id,
                s.revoked_at.as_deref().unwrap_or("now")
            );
            Ok(Status::Success)
        }
    }
}

/// Issues `station` its certificate under the register's CA and says so; `false` if its
/// enrolment holds no certificate to issue one for.
fn certified(
    state: &StateDir,
    reg: &mut dyn crate::register::Register,
    station: &crate::register::StationView,
    source: &Path,
) -> anyhow::Result<bool> {
    match super::ca::certify_station(state, reg, station, source)? {
        Some(serial) => {
            crate::stderr_line!(
                "wipeproof: issued station {} a certificate (serial {serial}) under the register's \
                 CA; it signs its PDFs with it from its next sync",
                station.name
            );
            Ok(true)
        }
        None => {
            crate::stderr_line!(
                "wipeproof: {} holds no X.509 certificate (only a public key), so station {} keeps \
                 signing PDFs with its self-signed certificate; enroll the whole output of \
                 `wipeproof keys export`",
                source.display(),
                station.name
            );
            Ok(false)
        }
    }
}

#[derive(Debug, Args)]
pub struct TokensArgs {
    #[command(subcommand)]
    command: TokensCommand,
}

#[derive(Debug, Subcommand)]
enum TokensCommand {
    /// Make a read token and print it once (only its SHA-256 is kept). Send it as
    /// `Authorization: Bearer TOKEN`.
    Add { name: String },
    /// List tokens by name.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a token: it no longer reads anything.
    Remove { name: String },
}

pub fn tokens(args: &TokensArgs, state: &StateDir) -> anyhow::Result<Status> {
    match &args.command {
        TokensCommand::Add { name } => {
            if name.trim().is_empty() {
                anyhow::bail!("a token needs a name that says whose it is");
            }
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret)
                .map_err(|e| anyhow::anyhow!("the OS random number generator failed: {e}"))?;
            let token = format!("wpt_{}", hex::encode(secret));
            let mut reg = open_register(state)?;
            reg.add_token(name, &token_sha256(&token), &actor(state))?;
            crate::stderr_line!(
                "wipeproof: token {name} made; it is shown only now, keep it where its user can find it"
            );
            crate::stdout_line!("{token}")?;
            Ok(Status::Success)
        }
        TokensCommand::List { json } => {
            let reg = open_register(state)?;
            let list = reg.tokens()?;
            if *json {
                print_json(&serde_json::json!({ "tokens": list }))?;
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|t| vec![t.name.clone(), t.created_at.clone()])
                    .collect();
                crate::stdout_text!("{}", table(&["NAME", "CREATED"], &rows))?;
            }
            Ok(Status::Success)
        }
        TokensCommand::Remove { name } => {
            let mut reg = open_register(state)?;
            reg.remove_token(name, &actor(state))?;
            crate::stderr_line!("wipeproof: removed token {name}");
            Ok(Status::Success)
        }
    }
}
