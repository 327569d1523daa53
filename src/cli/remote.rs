//! Commands of the central register and the link to it: `report`, `sync`, `serve`,
//! `stations`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::output::{print_json, table};
use super::{Status, actor, open_register};
use crate::certificate::keys::{StationKey, key_id, parse_public};
use crate::config::StateDir;
use crate::register::report::{Issuer, write_report};
use crate::register::sync::{SyncOptions, sync};
use crate::register::{Register, server};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The collection to report on.
    collection: String,
    /// Directory for the report (default: reports/ in the state directory).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

pub fn report(args: &ReportArgs, state: &StateDir) -> anyhow::Result<Status> {
    let reg = open_register(state)?;
    let (customer, lines) = reg.collection_lines(&args.collection)?;
    let (key, created) = StationKey::load_or_init(&state.keys_dir())?;
    if created {
        crate::stderr_line!(
            "wipeproof: created this station's signing key {}",
            key.key_id()
        );
    }
    let dir = args.out.clone().unwrap_or_else(|| state.reports_dir());
    let files = write_report(
        &customer,
        &args.collection,
        lines,
        &Issuer {
            organisation: &state.config.organisation.name,
            station_id: &state.config.station.id,
            operator: &state.config.station.operator,
            key: &key,
        },
        &dir,
    )?;
    crate::stderr_line!(
        "wipeproof: report of {} ({} assets, {} drives): {}",
        args.collection,
        files.summary.assets,
        files.summary.drives,
        files.pdf.display()
    );
    if args.json {
        print_json(&serde_json::json!({
            "pdf": files.pdf,
            "json": files.json,
            "summary": files.summary,
        }))?;
    } else {
        crate::stdout_line!("{}\n{}", files.pdf.display(), files.json.display())?;
    }
    Ok(Status::Success)
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The central register's URL (default: sync.register in the config).
    #[arg(long, value_name = "URL")]
    register: Option<String>,
    #[arg(long)]
    json: bool,
}

pub fn sync_cmd(args: &SyncArgs, state: &StateDir) -> anyhow::Result<Status> {
    let url = args
        .register
        .clone()
        .filter(|u| !u.is_empty())
        .or_else(|| Some(state.config.sync.register.clone()).filter(|u| !u.is_empty()))
        .context(
            "no register to sync to: pass --register URL or set sync.register in the config",
        )?;
    if !url.starts_with("http://") && !url.starts_with("https://") {
        anyhow::bail!("--register {url}: expected an http:// or https:// URL");
    }
    let mut reg = open_register(state)?;
    super::wipe::reconcile(state, &mut reg);
    let report = sync(&mut reg, &url, SyncOptions::default())?;
    crate::stderr_line!(
        "wipeproof: sync to {url}: {} sent, {} already there, {} still unsent",
        report.sent.len(),
        report.already.len(),
        report.unsent.len()
    );
    for (id, why) in &report.unsent {
        crate::stderr_line!("    unsent {id}: {why}");
    }
    if args.json {
        print_json(&report)?;
    }
    Ok(if report.complete() {
        Status::Success
    } else {
        Status::Failure
    })
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7070")]
    listen: SocketAddr,
}

pub fn serve(args: &ServeArgs, state: &StateDir) -> anyhow::Result<Status> {
    let reg = open_register(state)?;
    let stations = reg.stations()?.len();
    server::serve(reg, args.listen, |addr| {
        crate::stderr_line!(
            "wipeproof: central register {} listening on http://{addr} ({stations} enrolled station(s))",
            state.register_path().display()
        );
    })?;
    Ok(Status::Success)
}

#[derive(Debug, Args)]
pub struct StationsArgs {
    #[command(subcommand)]
    command: StationsCommand,
}

#[derive(Debug, Subcommand)]
enum StationsCommand {
    /// Enroll a station by its public key (from `wipeproof keys export` on the station).
    Add {
        pubkey: PathBuf,
        #[arg(long)]
        name: Option<String>,
    },
    /// List enrolled stations.
    List {
        #[arg(long)]
        json: bool,
    },
}

pub fn stations(args: &StationsArgs, state: &StateDir) -> anyhow::Result<Status> {
    match &args.command {
        StationsCommand::Add { pubkey, name } => {
            let pem = std::fs::read_to_string(pubkey)
                .with_context(|| format!("cannot read {}", pubkey.display()))?;
            let key = parse_public(&pem, pubkey)?;
            let id = key_id(&key);
            let name = name.clone().unwrap_or_else(|| {
                pubkey
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| id.clone())
            });
            let mut reg = open_register(state)?;
            reg.enroll_station(&id, &name, pem.trim(), &actor(state))?;
            crate::stderr_line!("wipeproof: enrolled station {name} ({id})");
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
                    .map(|s| vec![s.name.clone(), s.key_id.clone(), s.enrolled_at.clone()])
                    .collect();
                crate::stdout_text!("{}", table(&["NAME", "KEY ID", "ENROLLED"], &rows))?;
            }
            Ok(Status::Success)
        }
    }
}
