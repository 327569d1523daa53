//! `wipeproof intake`: book a collection in from the customer's manifest, print asset labels,
//! record its pick-up, receive it at goods-in by scanning, reconcile expected with received,
//! and resolve each missing asset.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::output::{mark_json_printed, print_json, print_json_line};
use super::{Status, actor, open_register};
use crate::config::StateDir;
use crate::intake::goods_in::{self, Outcome};
use crate::intake::scans::ScanReader;
use crate::intake::{labels, manifest};
use crate::register::collection::{Pickup, Reason, Reconciliation, Scan};
use crate::register::{AssetFilter, Register, RegisterError};

#[derive(Debug, Args)]
pub struct IntakeArgs {
    #[command(subcommand)]
    command: IntakeCommand,
}

/// What `intake labels` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LabelFormat {
    Pdf,
    Zpl,
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
    /// Write the asset labels of a collection (tag, serial, customer, a QR code and a Code 128
    /// barcode of the tag): a PDF, one label per page or A4 sheets, or ZPL II for Zebra printers.
    Labels {
        collection: String,
        /// Label size: WIDTHxHEIGHT in mm or in (62x29mm Brother roll, 4x6in or 2x1in Zebra), or
        /// a4 (sheets of 24 labels of 70 x 37 mm, PDF only).
        #[arg(long, value_name = "SIZE", default_value = "62x29mm")]
        size: labels::LabelSize,
        /// pdf, or zpl (ZPL II, one ^XA ... ^XZ format per asset).
        #[arg(long, value_enum, default_value_t = LabelFormat::Pdf)]
        format: LabelFormat,
        /// The Zebra printer's resolution in dots per inch (ZPL only; 203, 300 or 600).
        #[arg(long, default_value_t = labels::zpl::DEFAULT_DPI,
              value_parser = clap::value_parser!(u32).range(100..=1200))]
        dpi: u32,
        /// Output file (default: labels-COLLECTION.pdf or .zpl in the current directory).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Record the pick-up at the customer's site: driver, vehicle, seal numbers, and the count
    /// the customer signed for.
    Collect {
        collection: String,
        /// The driver who picked the collection up
        #[arg(long)]
        driver: String,
        /// The vehicle's registration.
        #[arg(long)]
        vehicle: String,
        /// A seal number (repeat for each seal).
        #[arg(long = "seal", value_name = "S")]
        seals: Vec<String>,
        /// How many items the customer signed for.
        #[arg(long, value_name = "N")]
        count: Option<u64>,
    },
    /// Receive a collection at goods-in: scans on stdin, one per line (an asset's tag or a
    /// serial); each is answered at once with one line. What no manifest lists is recorded
    /// as an extra.
    Receive {
        collection: String,
        /// One JSON object per scan, one per line.
        #[arg(long)]
        json: bool,
    },
    /// Compare what the collection expected with what goods-in received, and record it:
    /// missing assets stay unaccounted for until each is resolved. Exit 1 while any is.
    Reconcile {
        collection: String,
        #[arg(long)]
        json: bool,
    },
    /// Resolve a missing asset with a reason: found (it turned up: its receipt is recorded),
    /// withdrawn (the customer withdrew it) or lost (an incident: --note names it).
    Resolve {
        collection: String,
        /// The missing asset's tag.
        asset: String,
        #[arg(long, value_name = "found|withdrawn|lost")]
        reason: String,
        /// What happened: the incident's reference for a lost asset.
        #[arg(long)]
        note: Option<String>,
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
        IntakeCommand::Labels {
            collection,
            size,
            format,
            dpi,
            out,
        } => {
            let reg = open_register(state)?;
            let assets = reg.list_assets(&AssetFilter {
                collection: Some(collection.clone()),
                state: None,
            })?;
            let (bytes, ext) = match format {
                LabelFormat::Pdf => (labels::render_labels(collection, &assets, *size)?, "pdf"),
                LabelFormat::Zpl => (
                    labels::render_zpl(&assets, *size, *dpi)?.into_bytes(),
                    "zpl",
                ),
            };
            let path = out
                .clone()
                .unwrap_or_else(|| PathBuf::from(format!("labels-{collection}.{ext}")));
            crate::durable::write_atomic(&path, &bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            crate::stderr_line!("wipeproof: {} label(s) in {}", assets.len(), path.display());
            Ok(Status::Success)
        }
        IntakeCommand::Collect {
            collection,
            driver,
            vehicle,
            seals,
            count,
        } => {
            if driver.trim().is_empty() || vehicle.trim().is_empty() {
                anyhow::bail!("--driver and --vehicle must not be empty");
            }
            let pickup = Pickup {
                driver: driver.trim().into(),
                vehicle: vehicle.trim().into(),
                seals: seals.iter().map(|s| s.trim().to_string()).collect(),
                count: *count,
            };
            open_register(state)?.collect(collection, &pickup, &actor(state))?;
            crate::stderr_line!(
                "wipeproof: collection {collection} collected by {} ({}), {} seal(s){}",
                pickup.driver,
                pickup.vehicle,
                pickup.seals.len(),
                count
                    .map(|n| format!(", {n} item(s) signed for"))
                    .unwrap_or_default()
            );
            Ok(Status::Success)
        }
        IntakeCommand::Receive { collection, json } => {
            let mut reg = open_register(state)?;
            // An unknown or closed collection is said before the first scan.
            let record = reg.custody(collection)?;
            if record.view.state == crate::register::collection::CollectionState::Closed {
                anyhow::bail!(
                    "collection {collection} is closed (its report was issued); nothing more can be received into it"
                );
            }
            crate::stderr_line!(
                "wipeproof: receiving collection {collection} of {}: scan each asset's label or serial ({} of {} received so far)",
                record.view.customer,
                record.view.received,
                record.view.assets
            );
            let stdin = std::io::stdin();
            let result = receive(reg.as_mut(), collection, &actor(state), stdin.lock(), *json);
            if let (Err(e), true) = (&result, *json) {
                let _ = print_json_line(&serde_json::json!({ "error": super::error_text(e) }));
                mark_json_printed();
            }
            result
        }
        IntakeCommand::Reconcile { collection, json } => {
            let r = open_register(state)?.reconcile(collection, &actor(state))?;
            if *json {
                print_json(&r)?;
            } else {
                print_reconciliation(&r)?;
            }
            Ok(if r.unresolved > 0 {
                Status::Failure
            } else {
                Status::Success
            })
        }
        IntakeCommand::Resolve {
            collection,
            asset,
            reason,
            note,
        } => {
            let why = Reason::parse(reason).ok_or_else(|| {
                anyhow::anyhow!("--reason {reason}: expected found, withdrawn or lost")
            })?;
            let note = note.as_deref().map(str::trim).filter(|n| !n.is_empty());
            open_register(state)?.resolve_missing(collection, asset, why, note, &actor(state))?;
            crate::stderr_line!(
                "wipeproof: asset {asset} of collection {collection}: {}",
                why.describe()
            );
            Ok(Status::Success)
        }
    }
}

/// Reads scans from `input` until its end, recording and answering each at once.
fn receive(
    reg: &mut dyn Register,
    collection: &str,
    actor: &crate::register::Actor,
    input: impl std::io::BufRead,
    json: bool,
) -> anyhow::Result<Status> {
    let mut reader = ScanReader::new(input);
    let (mut received, mut extras, mut others) = (0u64, 0u64, 0u64);
    while let Some(line) = reader
        .next_line()
        .context("cannot read the scans from standard input")?
    {
        let answer = goods_in::answer(reg, collection, &line, actor)?;
        match &answer.outcome {
            Outcome::Scan(Scan::Received { .. }) => received += 1,
            Outcome::Scan(Scan::Extra) => extras += 1,
            Outcome::Scan(Scan::OtherCollection { .. }) => others += 1,
            _ => {}
        }
        if json {
            print_json_line(&answer)?;
        } else {
            crate::stdout_line!("{}", answer.message)?;
        }
    }
    crate::stderr_line!(
        "wipeproof: {received} received, {extras} new extra(s), {others} of other collections set aside"
    );
    Ok(Status::Success)
}

fn print_reconciliation(r: &Reconciliation) -> anyhow::Result<()> {
    crate::stdout_line!(
        "collection {}: {} expected, {} received, {} missing ({} unaccounted for), {} extra(s)",
        r.collection,
        r.expected,
        r.received,
        r.missing.len(),
        r.unresolved,
        r.extra.len()
    )?;
    for m in &r.missing {
        crate::stdout_line!("  missing {}", super::collections::missing_line(m))?;
    }
    for e in &r.extra {
        crate::stdout_line!("  extra {} (scanned by {} at {})", e.scanned, e.by, e.at)?;
    }
    Ok(())
}

/// The serials of `rows` already held by another asset that is retired or destroyed (a drive
/// that was wiped, or destroyed, coming back), one JSON object each. One read for the whole
/// manifest: a query a serial cost a round trip each on PostgreSQL (76 s for 100,000 rows).
fn returning_serials(
    reg: &dyn crate::register::Register,
    rows: &[crate::register::ManifestRow],
) -> anyhow::Result<Vec<serde_json::Value>> {
    let serials: Vec<&str> = rows
        .iter()
        .flat_map(|row| std::iter::once(&row.serial).chain(row.media_serials.iter()))
        .map(String::as_str)
        .collect();
    let mut held: std::collections::HashMap<&str, Vec<(String, crate::register::AssetState)>> =
        std::collections::HashMap::new();
    let found = reg.finished_serial_owners(&serials)?;
    for (serial, tag, state) in &found {
        held.entry(serial.as_str())
            .or_default()
            .push((tag.clone(), *state));
    }
    let mut out = Vec::new();
    for row in rows {
        let serials = std::iter::once(&row.serial).chain(row.media_serials.iter());
        for serial in serials {
            for (owner, state) in held.get(serial.as_str()).into_iter().flatten() {
                if *owner == row.asset_tag {
                    continue;
                }
                out.push(serde_json::json!({
                    "line": row.line,
                    "serial": serial,
                    "asset": row.asset_tag,
                    "held_by": owner,
                    "state": state.as_str(),
                }));
            }
        }
    }
    Ok(out)
}
