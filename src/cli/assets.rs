//! `wipeproof assets`: the register's view of assets, the review list, linking a certificate
//! by hand, destruction, and the audit.

use std::path::Path;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::output::{print_json, table};
use super::{Status, actor, open_register};
use crate::certificate::keys::TrustStore;
use crate::config::StateDir;
use crate::register::{AssetFilter, AssetState};

#[derive(Debug, Args)]
pub struct AssetsArgs {
    #[command(subcommand)]
    command: AssetsCommand,
}

#[derive(Debug, Subcommand)]
enum AssetsCommand {
    /// List assets.
    List {
        #[arg(long)]
        collection: Option<String>,
        /// received, retired, failed or destroyed.
        #[arg(long)]
        state: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Show one asset with its state, drives, certificates and custody events.
    Show {
        tag: String,
        #[arg(long)]
        json: bool,
    },
    /// Certificates of drives that matched no asset, for review.
    Unmatched {
        #[arg(long)]
        json: bool,
    },
    /// Record the physical destruction of an asset.
    Destroy {
        tag: String,
        /// How it was destroyed (e.g. shredded, punched, degaussed).
        #[arg(long)]
        method: String,
        /// Who witnessed it.
        #[arg(long)]
        witness: String,
    },
    /// Link a certificate that matched no asset to an asset (recorded as a custody event and
    /// sent to the central register).
    Link {
        /// The certificate: its id, or its file (PDF or JSON).
        certificate: String,
        /// The asset's tag.
        asset: String,
        /// Link it although the manifest or an earlier certificate ties the drive's serial to
        /// another asset (refused otherwise; recorded in the custody log).
        #[arg(long)]
        relink: bool,
        #[arg(long)]
        json: bool,
    },
    /// Audit the register: the custody log's hash chain, every asset's state recomputed from
    /// its custody log and certificates, every certificate against its signed record, and
    /// each station's certificate chain (gaps, forks). Exit 1 if anything is wrong.
    Audit {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: &AssetsArgs, state: &StateDir) -> anyhow::Result<Status> {
    match &args.command {
        AssetsCommand::List {
            collection,
            state: wanted,
            json,
        } => {
            let wanted = match wanted {
                Some(s) => Some(AssetState::parse(s).ok_or_else(|| {
                    anyhow::anyhow!("--state {s}: expected received, retired, failed or destroyed")
                })?),
                None => None,
            };
            let reg = open_register(state)?;
            let assets = reg.list_assets(&AssetFilter {
                collection: collection.clone(),
                state: wanted,
            })?;
            if *json {
                print_json(&serde_json::json!({ "assets": assets }))?;
            } else {
                let rows: Vec<Vec<String>> = assets
                    .iter()
                    .map(|a| {
                        vec![
                            a.asset_tag.clone(),
                            a.serial.clone(),
                            a.asset_type.clone().unwrap_or_default(),
                            a.collection.clone(),
                            a.state.as_str().into(),
                            a.media_count.to_string(),
                            a.certificate_count.to_string(),
                        ]
                    })
                    .collect();
                crate::stdout_text!(
                    "{}",
                    table(
                        &[
                            "TAG",
                            "SERIAL",
                            "TYPE",
                            "COLLECTION",
                            "STATE",
                            "DRIVES",
                            "CERTS"
                        ],
                        &rows
                    )
                )?;
            }
            Ok(Status::Success)
        }
        AssetsCommand::Show { tag, json } => {
            let reg = open_register(state)?;
            let a = reg
                .asset(tag)?
                .ok_or_else(|| crate::register::RegisterError::UnknownAsset(tag.clone()))?;
            let deliveries = reg.asset_deliveries(tag)?;
            if *json {
                let mut doc = serde_json::to_value(&a)?;
                if let Some(map) = doc.as_object_mut() {
                    map.insert("connectors".into(), serde_json::to_value(&deliveries)?);
                }
                print_json(&doc)?;
            } else {
                let s = &a.summary;
                crate::stdout_line!(
                    "{} ({}), serial {}: {}",
                    s.asset_tag,
                    s.asset_type.as_deref().unwrap_or("-"),
                    s.serial,
                    s.state.as_str()
                )?;
                crate::stdout_line!("customer {}, collection {}", s.customer, s.collection)?;
                for m in &a.media {
                    crate::stdout_line!(
                        "  drive {} {}: {}",
                        m.serial,
                        m.model.as_deref().unwrap_or(""),
                        m.result.as_deref().unwrap_or("not wiped")
                    )?;
                }
                for c in &a.certificates {
                    crate::stdout_line!(
                        "  certificate {} {} {} {} ({})",
                        c.id,
                        c.issued_at,
                        c.method,
                        c.result,
                        c.station_id
                    )?;
                    if let Some(note) = &c.note {
                        crate::stdout_line!("    {note}")?;
                    }
                }
                for d in &deliveries {
                    crate::stdout_line!(
                        "  connector {} {} {}: {}",
                        d.connector,
                        d.subject,
                        d.state.as_str(),
                        d.message.as_deref().unwrap_or("not tried yet")
                    )?;
                }
                for e in &a.events {
                    crate::stdout_line!(
                        "  {} {} {} {}: {}",
                        e.seq,
                        e.at,
                        e.station,
                        e.kind,
                        e.detail
                    )?;
                }
            }
            Ok(Status::Success)
        }
        AssetsCommand::Unmatched { json } => {
            let reg = open_register(state)?;
            let list = reg.unmatched()?;
            if *json {
                print_json(&serde_json::json!({ "unmatched": list }))?;
            } else if list.is_empty() {
                crate::stdout_line!("No unmatched certificates.")?;
            } else {
                for u in &list {
                    crate::stdout_line!(
                        "{} serial {} {} {} ({}, {})",
                        u.certificate_id,
                        u.serial.as_deref().unwrap_or("-"),
                        u.model.as_deref().unwrap_or(""),
                        u.result,
                        u.issued_at,
                        u.station_id
                    )?;
                }
            }
            Ok(Status::Success)
        }
        AssetsCommand::Destroy {
            tag,
            method,
            witness,
        } => {
            if method.trim().is_empty() || witness.trim().is_empty() {
                anyhow::bail!("--method and --witness must name how, and who saw it");
            }
            let mut reg = open_register(state)?;
            reg.destroy(tag, method.trim(), witness.trim(), &actor(state))?;
            crate::stderr_line!(
                "wipeproof: {tag} recorded as destroyed ({method}, witnessed by {witness})"
            );
            Ok(Status::Success)
        }
        AssetsCommand::Link {
            certificate,
            asset,
            relink,
            json,
        } => {
            let id = certificate_id(certificate, state)?;
            let mut reg = open_register(state)?;
            let linked = reg.link_certificate(&id, asset, *relink, &actor(state))?;
            if linked.new {
                crate::stderr_line!(
                    "wipeproof: certificate {id} linked to {asset}, which is now {}",
                    linked.asset_state.map(|s| s.as_str()).unwrap_or("-")
                );
            } else {
                crate::stderr_line!("wipeproof: certificate {id} was already linked to {asset}");
            }
            if *json {
                print_json(&linked)?;
            }
            Ok(Status::Success)
        }
        AssetsCommand::Audit { json } => {
            let reg = open_register(state)?;
            let audit = reg.audit_with_keys(&TrustStore::load(&state.keys_dir())?)?;
            if *json {
                print_json(&audit)?;
            } else if audit.ok {
                crate::stdout_line!(
                    "register intact: {} custody event(s) link, {} asset state(s) agree with their \
                     custody log and certificates, {} certificate(s) match their signed records and chains",
                    audit.events,
                    audit.assets,
                    audit.certificates
                )?;
            } else {
                crate::stdout_line!("register audit FAILED:")?;
                for p in &audit.problems {
                    crate::stdout_line!("  {p}")?;
                }
            }
            Ok(if audit.ok {
                Status::Success
            } else {
                Status::Failure
            })
        }
    }
}

/// The certificate id named by `arg`: a file (JSON or PDF certificate) if one is there, else
/// the id itself.
fn certificate_id(arg: &str, state: &StateDir) -> anyhow::Result<String> {
    let path = Path::new(arg);
    if !path.is_file() {
        return Ok(arg.to_string());
    }
    let trust = TrustStore::load(&state.keys_dir())?;
    let report = crate::certificate::check::verify_file(path, &trust, None)
        .with_context(|| format!("{arg} is a file but not a certificate"))?;
    report
        .record
        .map(|r| r.id)
        .with_context(|| format!("{arg}: no certificate record could be read from it"))
}
