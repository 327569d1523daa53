//! `wipeproof collections`: where each collection stands (booked, collected, received,
//! reconciled, closed) with its counts; one collection's chain of custody.

use clap::{Args, Subcommand};

use super::output::{print_json, table};
use super::{Status, open_register};
use crate::config::StateDir;
use crate::register::collection::{CustodyRecord, Missing};

#[derive(Debug, Args)]
pub struct CollectionsArgs {
    #[command(subcommand)]
    command: CollectionsCommand,
}

#[derive(Debug, Subcommand)]
enum CollectionsCommand {
    /// Every collection: its state, assets, how many were received, how many are unaccounted
    /// for, extras, and how many are done.
    List {
        #[arg(long)]
        json: bool,
    },
    /// One collection: each step (who, when, where, what), missing assets and how each was
    /// resolved, and what goods-in scanned that its manifest does not list.
    Show {
        collection: String,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(args: &CollectionsArgs, state: &StateDir) -> anyhow::Result<Status> {
    let reg = open_register(state)?;
    match &args.command {
        CollectionsCommand::List { json } => {
            let list = reg.collection_list()?;
            if *json {
                print_json(&serde_json::json!({ "collections": list }))?;
                return Ok(Status::Success);
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|c| {
                    vec![
                        c.collection.clone(),
                        c.customer.clone(),
                        c.state.as_str().into(),
                        c.assets.to_string(),
                        c.received.to_string(),
                        c.unaccounted.to_string(),
                        c.extras.to_string(),
                        (c.retired + c.destroyed).to_string(),
                    ]
                })
                .collect();
            crate::stdout_text!(
                "{}",
                table(
                    &[
                        "COLLECTION",
                        "CUSTOMER",
                        "STATE",
                        "ASSETS",
                        "RECEIVED",
                        "UNACCOUNTED",
                        "EXTRAS",
                        "DONE"
                    ],
                    &rows
                )
            )?;
        }
        CollectionsCommand::Show { collection, json } => {
            let record = reg.custody(collection)?;
            if *json {
                print_json(&record)?;
            } else {
                print_record(&record)?;
            }
        }
    }
    Ok(Status::Success)
}

/// A missing asset and its resolution, in one line.
pub(super) fn missing_line(m: &Missing) -> String {
    let what = format!(
        "{} ({}, serial {})",
        m.asset_tag,
        m.asset_type.as_deref().unwrap_or("-"),
        m.serial
    );
    match &m.resolution {
        None => format!("{what}: UNACCOUNTED FOR"),
        Some(r) => format!(
            "{what}: {} by {} at {}{}",
            r.reason.describe(),
            r.by,
            r.at,
            r.note
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default()
        ),
    }
}

fn print_record(r: &CustodyRecord) -> anyhow::Result<()> {
    let v = &r.view;
    crate::stdout_line!(
        "collection {} of {}: {}",
        v.collection,
        v.customer,
        v.state.as_str()
    )?;
    crate::stdout_line!(
        "  {} asset(s), {} received, {} unaccounted for, {} extra(s); {} retired, {} failed, {} destroyed",
        v.assets,
        v.received,
        v.unaccounted,
        v.extras,
        v.retired,
        v.failed,
        v.destroyed
    )?;
    for s in &v.steps {
        crate::stdout_line!(
            "  {} {} by {} at {}: {}",
            s.at,
            s.step.as_str(),
            s.actor,
            s.station,
            s.detail
        )?;
    }
    for m in &r.missing {
        crate::stdout_line!("  missing {}", missing_line(m))?;
    }
    for e in &r.extra {
        crate::stdout_line!("  extra {} (scanned by {} at {})", e.scanned, e.by, e.at)?;
    }
    Ok(())
}
