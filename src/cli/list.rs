//! `wipeproof list`: every drive with the wipe's verdict: ready, protected or busy, and why.

use clap::Args;
use serde::Serialize;

use super::Status;
use super::output::{human_size, print_json, table};
use crate::config::StateDir;
use crate::device::discovery::Busy;
use crate::device::{DriveInfo, discover};
use crate::station::context::guard_context;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print one JSON document ({"drives": [...]}) on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct ListJson<'a> {
    drives: &'a [DriveInfo],
}

pub fn run(args: &ListArgs, state: &StateDir) -> anyhow::Result<Status> {
    let ctx = guard_context(state);
    let mut drives = discover(&ctx);
    drives.iter_mut().for_each(crate::erase::firmware::annotate);
    if args.json {
        print_json(&ListJson { drives: &drives })?;
        return Ok(Status::Success);
    }
    if drives.is_empty() {
        crate::stdout_line!("No drives found.")?;
        return Ok(Status::Success);
    }
    let rows: Vec<Vec<String>> = drives
        .iter()
        .map(|d| {
            vec![
                d.path.clone(),
                d.model.clone().unwrap_or_else(|| "-".into()),
                d.serial.clone().unwrap_or_else(|| "-".into()),
                human_size(d.size_bytes),
                format!("{}/{}", d.logical_sector_size, d.physical_sector_size),
                d.transport.as_str().into(),
                d.media.as_str().into(),
                match d.health.power_on_hours {
                    Some(h) => format!("{} {h}h", d.health.verdict.as_str()),
                    None => d.health.verdict.as_str().into(),
                },
                if d.protected {
                    "PROTECTED".into()
                } else if let Some(holder) = &d.busy {
                    busy_status(holder)
                } else if d.read_only {
                    "read-only".into()
                } else {
                    "ready".into()
                },
            ]
        })
        .collect();
    crate::stdout_text!(
        "{}",
        table(
            &[
                "PATH", "MODEL", "SERIAL", "SIZE", "SECTOR", "BUS", "MEDIA", "HEALTH", "STATUS"
            ],
            &rows
        )
    )?;
    for d in drives.iter().filter(|d| !d.firmware_methods.is_empty()) {
        crate::stdout_line!(
            "{} firmware methods: {}",
            d.path,
            d.firmware_methods.join(", ")
        )?;
    }
    // Why each drive a wipe would refuse is refused, in the wipe's own words.
    let refused: Vec<(&DriveInfo, &str)> = drives
        .iter()
        .filter_map(|d| Some((d, d.refusal()?)))
        .collect();
    if !refused.is_empty() {
        crate::stdout_line!("")?;
        for (d, why) in refused {
            crate::stdout_line!("{} {why}", d.path)?;
        }
    }
    Ok(Status::Success)
}

/// `busy (wipeproof, pid 1234)`: who holds the drive.
fn busy_status(holder: &Busy) -> String {
    match (&holder.program, holder.pid) {
        (Some(program), Some(pid)) => format!("busy ({program}, pid {pid})"),
        (None, Some(pid)) => format!("busy (pid {pid})"),
        _ => "busy".into(),
    }
}
