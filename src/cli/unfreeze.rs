//! `wipeproof unfreeze`: suspend the station to RAM and resume it, so that SATA drives whose
//! security the BIOS froze at boot come back unfrozen; says which drives were frozen before and
//! after.

use std::time::Duration;

use clap::Args;
use serde::Serialize;

use super::Status;
use super::output::print_json;
use crate::config::StateDir;
use crate::device::discover;
use crate::device::power::{PowerControls, Slept};
use crate::station::context::guard_context;

#[derive(Debug, Args)]
pub struct UnfreezeArgs {
    /// Seconds the station sleeps before its clock wakes it.
    #[arg(long, default_value_t = 5, value_name = "SECS")]
    wake_after: u64,
    /// Print one JSON document on stdout.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Report {
    slept: Slept,
    /// ATA drives whose security was frozen before the suspend.
    frozen_before: Vec<String>,
    /// ATA drives still frozen after the resume.
    frozen_after: Vec<String>,
}

fn frozen_drives(state: &StateDir) -> Vec<String> {
    discover(&guard_context(state))
        .into_iter()
        .filter(|d| {
            d.capabilities
                .as_ref()
                .and_then(|c| c.ata.as_ref())
                .is_some_and(|a| a.security.supported && a.security.frozen)
        })
        .map(|d| d.path)
        .collect()
}

pub fn run(args: &UnfreezeArgs, state: &StateDir) -> anyhow::Result<Status> {
    if !(1..=3600).contains(&args.wake_after) {
        anyhow::bail!(
            "--wake-after takes 1 to 3600 seconds, not {}",
            args.wake_after
        );
    }
    let frozen_before = frozen_drives(state);
    crate::stderr_line!(
        "wipeproof unfreeze: suspending to RAM; the clock wakes the station in {} s",
        args.wake_after
    );
    let slept =
        PowerControls::default().suspend_and_resume(Duration::from_secs(args.wake_after))?;
    // Drives need a moment after resume before they answer IDENTIFY again.
    std::thread::sleep(Duration::from_secs(2));
    let frozen_after = frozen_drives(state);
    crate::stderr_line!(
        "wipeproof unfreeze: resumed after {:.1} s ({}); frozen before: {}; frozen now: {}",
        slept.elapsed_ms as f64 / 1000.0,
        if slept.deep {
            "deep sleep"
        } else {
            "the machine's only sleep state"
        },
        list_or_none(&frozen_before),
        list_or_none(&frozen_after),
    );
    let status = if frozen_after.is_empty() {
        Status::Success
    } else {
        Status::Failure
    };
    if args.json {
        print_json(&Report {
            slept,
            frozen_before,
            frozen_after,
        })?;
    }
    Ok(status)
}

fn list_or_none(drives: &[String]) -> String {
    if drives.is_empty() {
        "none".into()
    } else {
        drives.join(", ")
    }
}
