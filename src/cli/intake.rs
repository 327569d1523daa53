//! `wipeproof intake`: book a collection in from the customer's manifest, print asset labels.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::output::print_json;
use super::{Status, actor, open_register};
use crate::config::StateDir;
use crate::register::{AssetFilter, Register, RegisterError, labels, manifest};

#[derive(Debug, Args)]
pub struct IntakeArgs {
    #[command(subcommand)]
    command: IntakeCommand,
}

#[derive(Debug, Subcommand)]
enum IntakeCommand {
    /// Import a manifest (CSV with a header row; asset_tag and serial required). All or nothing.
    Import {
        manifest: PathBuf,
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
            customer,
            collection,
            json,
        } => {
            if customer.trim().is_empty() || collection.trim().is_empty() {
                anyhow::bail!("--customer and --collection must not be empty");
            }
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read the manifest {}", path.display()))?;
            let rows = manifest::parse(&bytes)
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
            if *json {
                print_json(&serde_json::json!({ "imported": n, "collection": collection.trim() }))?;
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
