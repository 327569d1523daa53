//! Commands of the central register and the link to it: `report`, `sync`, `serve`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::output::print_json;
use super::{Status, open_register};
use crate::certificate::keys::{StationKey, TrustStore};
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
    // A signed report vouches for the register: never sign what the audit does not back.
    let audit = reg.audit_with_keys(&TrustStore::load(&state.keys_dir())?)?;
    let mut tags: Vec<String> = lines.iter().map(|l| l.asset_tag.clone()).collect();
    tags.dedup();
    let objections = audit.objections(&tags);
    if !objections.is_empty() {
        for p in &audit.problems {
            crate::stderr_line!("    {p}");
        }
        anyhow::bail!(
            "the report of {} is not signed: {}; see `wipeproof assets audit`",
            args.collection,
            objections.join("; ")
        );
    }
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
            organisation: &crate::certificate::record::Organisation {
                name: state.config.organisation.name.clone(),
                address: state.config.organisation.address.clone(),
            },
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
    // Custody events are signed as they are sent; a station without a key has none to send.
    let key = match StationKey::load(&state.keys_dir()) {
        Ok(k) => Some(k),
        Err(crate::certificate::keys::KeyError::Missing(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let report = sync(&mut reg, &url, key.as_ref(), SyncOptions::default())?;
    crate::stderr_line!(
        "wipeproof: sync to {url}: {} sent, {} already there, {} custody event(s) sent, {} still unsent",
        report.sent.len(),
        report.already.len(),
        report.events_sent.len(),
        report.unsent.len()
    );
    for (id, why) in &report.conflicts {
        crate::stderr_line!("    CONFLICT {id}: {why}");
    }
    for (id, why) in &report.unsent {
        if !report.conflicts.iter().any(|(c, _)| c == id) {
            crate::stderr_line!("    unsent {id}: {why}");
        }
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
    /// Seconds a client has to send a request's head, and again its body.
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    read_timeout: f64,
}

pub fn serve(args: &ServeArgs, state: &StateDir) -> anyhow::Result<Status> {
    if !(args.read_timeout > 0.0 && args.read_timeout <= 3600.0) {
        anyhow::bail!(
            "--read-timeout {}: expected seconds between 0 and 3600",
            args.read_timeout
        );
    }
    let opts = server::ServeOptions {
        read_timeout: std::time::Duration::from_secs_f64(args.read_timeout),
    };
    let reg = open_register(state)?;
    let stations = reg.stations()?.len();
    if reg.tokens()?.is_empty() {
        crate::stderr_line!(
            "wipeproof: no read tokens yet: stations can send, but nobody can read the register \
             over HTTP until `wipeproof tokens add NAME` makes one"
        );
    }
    server::serve(reg, args.listen, opts, |addr| {
        crate::stderr_line!(
            "wipeproof: central register {} listening on http://{addr} ({stations} enrolled station(s))",
            state.register_path().display()
        );
    })?;
    Ok(Status::Success)
}
