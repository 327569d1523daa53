//! `wipeproof intake`: book a collection in from the customer's manifest, print asset labels.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::output::print_json;
use super::{Status, actor, open_register};
use crate::config::StateDir;
use crate::register::{AssetFilter, RegisterError, labels, manifest};

#[derive(Debug, Args)]
pub struct IntakeArgs {
    #[command(subcommand)]
    command: IntakeCommand,
}

#[derive(Debug, Subcommand)]
enum IntakeCommand {
    /// Import a manifest (CSV with a header row; asset_tag and serial required; comma,
    /// semicolon or tab separated). All or nothing.
    Import {
        manifest: PathBuf,
        /// Column names of another system's export: snipeit (Snipe-IT hardware export) or glpi
        /// (GLPI computer export).
        #[arg(long, value_name = "snipeit|glpi")]
        profile: Option<manifest::Profile>,
        /// Which column holds which field, e.g. 'asset_tag=Asset Tag,serial=Serial,model=Model'
        /// (fields: asset_tag, serial, type, make, model, customer_ref, media_serials).
        #[arg(long, value_name = "FIELD=COLUMN,...")]
        map: Option<String>,
        /// The customer the collection comes from.
        #[arg(long)]
        customer: String,
        /// The collection id (e.g. the job number).
        #[arg(long)]
        collection: String,
        /// Print {"imported": N} on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Write a PDF of asset labels (62 x 29 mm, one per page, with a QR code) for a collection.
    Labels {
        collection: String,
        /// Output file (default: labels-COLLECTION.pdf in the current directory).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn run(args: &IntakeArgs, state: &StateDir) -> anyhow::Result<Status> {
    match &args.command {
        IntakeCommand::Import {
            manifest: path,
            profile,
            map,
            customer,
            collection,
            json,
        } => {
            if customer.trim().is_empty() || collection.trim().is_empty() {
                anyhow::bail!("--customer and --collection must not be empty");
            }
            for (flag, value) in [("--customer", customer), ("--collection", collection)] {
                if let Some(why) = crate::identifier::problem(value) {
                    anyhow::bail!("{flag} {value:?} {why}");
                }
            }
            let mut columns = manifest::ColumnMap::profile(profile.unwrap_or_default());
            if let Some(spec) = map {
                columns = columns
                    .with_map(spec)
                    .map_err(|e| anyhow::anyhow!("--map: {e}"))?;
            }
            let bytes = manifest::read_file(path)?;
            let rows = manifest::parse_with(&bytes, &manifest::ReadOptions { columns })
                .map_err(|problems| RegisterError::Manifest { problems })
                .with_context(|| format!("manifest {}", path.display()))?;
            let mut reg = open_register(state)?;
            let n = reg
                .import_manifest(customer.trim(), collection.trim(), &rows, &actor(state))
                .with_context(|| format!("manifest {}", path.display()))?;
            crate::stderr_line!(
                "wipeproof: imported {n} asset(s) into collection {} of {}",
                collection.trim(),
                customer.trim()
            );
            let returning = returning_serials(&*reg, &rows)?;
            for r in &returning {
                crate::stderr_line!(
                    "wipeproof: line {}: serial {} of {} is already held by asset {}, which is {}: \
                     check whether this is the same drive coming back",
                    r["line"],
                    r["serial"].as_str().unwrap_or(""),
                    r["asset"].as_str().unwrap_or(""),
                    r["held_by"].as_str().unwrap_or(""),
                    r["state"].as_str().unwrap_or("")
                );
            }
            if *json {
                print_json(&serde_json::json!({
                    "imported": n,
                    "collection": collection.trim(),
                    "returning": returning,
                }))?;
            }
            Ok(Status::Success)
        }
        IntakeCommand::Labels { collection, out } => {
            let reg = open_register(state)?;
            let assets = reg.list_assets(&AssetFilter {
                collection: Some(collection.clone()),
                state: None,
            })?;
            let pdf = labels::render_labels(collection, &assets)?;
            let path = out
                .clone()
                .unwrap_or_else(|| PathBuf::from(format!("labels-{collection}.pdf")));
            crate::durable::write_atomic(&path, &pdf)
                .with_context(|| format!("cannot write {}", path.display()))?;
            crate::stderr_line!("wipeproof: {} label(s) in {}", assets.len(), path.display());
            Ok(Status::Success)
        }
    }
}

/// The serials of `rows` already held by another asset that is retired or destroyed (a drive
/// that was wiped, or destroyed, coming back), one JSON object each.
fn returning_serials(
    reg: &dyn crate::register::Register,
    rows: &[crate::register::ManifestRow],
) -> anyhow::Result<Vec<serde_json::Value>> {
    use crate::register::AssetState;
    let mut out = Vec::new();
    for row in rows {
        let serials = std::iter::once(&row.serial).chain(row.media_serials.iter());
        for serial in serials {
            for owner in reg.serial_owners(serial)? {
                if owner == row.asset_tag {
                    continue;
                }
                let Some(held) = reg.find_asset(Some(&owner), None)? else {
                    continue;
                };
                if matches!(held.state, AssetState::Retired | AssetState::Destroyed) {
                    out.push(serde_json::json!({
                        "line": row.line,
                        "serial": serial,
                        "asset": row.asset_tag,
                        "held_by": owner,
                        "state": held.state.as_str(),
                    }));
                }
            }
        }
    }
    Ok(out)
}
