//! `wipeproof wipe`: erase drives, verify, and write the result for each before reporting it.
//!
//! Parse, prepare, confirm, run, print: the workflow itself (guard, plan, resume, record,
//! signals) is the station layer's, shared with `wipeproof station`.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;

use super::Status;
use super::output::{human_size, print_json, table};
use crate::certificate::issue::Issued;
use crate::certificate::record::Destination;
use crate::config::StateDir;
use crate::erase::VerifyPasses;
use crate::erase::engine::ErrorPolicy;
use crate::erase::firmware::policy::Policy;
use crate::register::MatchedBy;
use crate::station::StationError;
use crate::station::context::StationContext;
use crate::station::job::Finished;
use crate::station::prepare::{Batch, Prepared, prepare};
use crate::station::progress::{Progress, ProgressSink, format_duration};
use crate::station::recorder::Delivered;
use crate::station::request::{WipeOptions, WipeRequest};
use crate::station::session::{Disposition, Session};
use crate::verify::WipeResult;

#[derive(Debug, Args)]
pub struct WipeArgs {
    /// Drives (e.g. /dev/sdb) or disk image files to erase.
    #[arg(required = true, value_name = "DEVICE")]
    devices: Vec<PathBuf>,
    /// Erasure method (default: defaults.method in the config). Overwrite: zero, one, random,
    /// dod-3pass, dod-7pass, hmg-is5-enhanced, gutmann, schneier. Firmware: purge (the
    /// strongest Purge the drive offers), ata-secure-erase, ata-enhanced-secure-erase,
    /// ata-sanitize-crypto|block|overwrite, nvme-format-erase, nvme-format-crypto,
    /// nvme-sanitize-crypto|block|overwrite, scsi-sanitize-crypto|block|overwrite.
    #[arg(long, short = 'm')]
    method: Option<String>,
    /// Repeat the method's passes N times.
    #[arg(long, default_value_t = 1, value_name = "N")]
    rounds: u32,
    /// The sanitization policy firmware methods are judged by (and `purge` chooses by):
    /// nist-800-88r2 (IEEE 2883, default) or nist-800-88r1 (legacy).
    #[arg(long, default_value = "nist-800-88r2", value_name = "POLICY")]
    policy: Policy,
    /// Add a final pass of zeros.
    #[arg(long)]
    blank: bool,
    /// Verification: none, sample[:PCT] (default 10%) or full (default: defaults.verify).
    #[arg(long, value_name = "MODE")]
    verify: Option<String>,
    /// Which passes to read back: last or all (default: what the method requires).
    #[arg(long, value_name = "last|all")]
    verify_passes: Option<VerifyPasses>,
    /// On a range that cannot be written: continue (record it; the drive FAILs) or abort.
    #[arg(long, default_value = "continue", value_name = "continue|abort")]
    on_error: ErrorPolicy,
    /// Continue interrupted wipes of these drives from their checkpoints.
    #[arg(long)]
    resume: bool,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    yes: bool,
    /// Print one JSON document with the results on stdout.
    #[arg(long)]
    json: bool,
    /// The asset (tag from intake) these drives belong to; without it, a drive is matched to an
    /// asset by its serial, else kept in the review list (`wipeproof assets unmatched`).
    #[arg(long, value_name = "TAG")]
    asset: Option<String>,
    /// Where the media goes next: reuse, resale, recycle or destroy (default: defaults.destination).
    #[arg(long, value_name = "WHERE")]
    destination: Option<Destination>,
    /// Wipe drives of an asset already retired or recorded as destroyed (refused otherwise).
    #[arg(long)]
    rewipe: bool,
    /// Bind the drives to --asset although the manifest or an earlier certificate ties their
    /// serial to another asset (refused otherwise; recorded in the custody log).
    #[arg(long, requires = "asset")]
    relink: bool,
    /// Wipe an image file although it lies on a copy-on-write filesystem (btrfs, bcachefs, ZFS,
    /// XFS with reflinks, overlay), where earlier copies of its data may survive: refused
    /// otherwise. Its certificate says the sanitisation is logical only.
    #[arg(long)]
    allow_cow: bool,
    /// Buffer size in MiB (tuning).
    #[arg(long, default_value_t = 4, value_name = "MIB", hide = true)]
    buffer_mib: usize,
}

/// One drive's result as `--json` prints it.
#[derive(Debug, Serialize)]
pub struct DriveResult {
    pub path: String,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub size_bytes: u64,
    pub method: String,
    pub result: WipeResult,
    pub failure_reasons: Vec<String>,
    pub wipe_id: String,
    pub certificate_id: Option<String>,
    pub certificate_pdf: Option<String>,
    pub certificate_json: Option<String>,
    pub started_at: String,
    pub ended_at: String,
    pub bytes_written: u64,
    pub verification: Option<String>,
    /// The asset the drive was linked to in the register, if any.
    pub asset_tag: Option<String>,
    pub asset_state: Option<String>,
    pub matched_by: Option<MatchedBy>,
}

#[derive(Serialize)]
struct WipeJson {
    drives: Vec<DriveResult>,
}

pub fn run(args: &WipeArgs, state: &StateDir) -> anyhow::Result<Status> {
    // Parse.
    let request = WipeRequest::validate(
        &WipeOptions {
            method: args.method.clone(),
            verify: args.verify.clone(),
            rounds: args.rounds,
            blank: args.blank,
            verify_passes: args.verify_passes,
            on_error: args.on_error,
            policy: args.policy,
            asset: args.asset.clone(),
            destination: args.destination,
            rewipe: args.rewipe,
            relink: args.relink,
            allow_cow: args.allow_cow,
            resume: args.resume,
            buffer_mib: args.buffer_mib,
        },
        &state.config,
    )?;
    // The guard first, before the register is even opened: a drive that is a file of the
    // state directory (the register itself) must be refused with that file untouched.
    let guard = crate::station::context::guard_context(state).allowing_cow(args.allow_cow);
    let refusals: Vec<String> = args
        .devices
        .iter()
        .filter_map(|d| crate::device::Target::open_for_erase(d, &guard).err())
        .map(|e| e.to_string())
        .collect();
    if !refusals.is_empty() {
        bail!("{}; nothing was erased", refusals.join("; "));
    }
    // Prepare: every drive guarded and planned, nothing written; the scan of the drives taken
    // above is the one the preparation brings up to date.
    let ctx = StationContext::open_with(state, guard.allowing_cow(false))?;
    let Batch {
        drives: prepared,
        already_certified,
    } = match prepare(&ctx, &request, &args.devices) {
        Ok(p) => p,
        Err(StationError::Refused(why)) => bail!("{}; nothing was erased", why.join("; ")),
        Err(e) => return Err(e.into()),
    };
    for p in &prepared {
        if let Some(old) = &p.replaces {
            crate::stderr_line!(
                "wipeproof: {} has an interrupted wipe (started {}); this wipe starts \
                 over and replaces it. Use --resume to continue it instead.",
                p.drive().path,
                old.started_at
            );
        }
    }
    // What the certificates will lack is said before the operator confirms.
    ctx.warn_unconfigured();
    // Confirm.
    if !args.yes && !prepared.is_empty() {
        confirm(&jobs_summary(&prepared))?;
    }
    // Run: each drive on its worker, recorded there before it is reported.
    let cert_dir = ctx.certificates.clone();
    let progress = Arc::new(ProgressSink::new(Progress::auto()));
    let session = Session::new(ctx.recorder()?, progress.clone());
    session.stop_on_signals()?;
    for p in prepared {
        session.start(
            p,
            Disposition {
                asset: request.asset.clone(),
                destination: request.destination,
                operator: None,
                host: None,
                rewipe: request.rewipe,
            },
        );
    }
    let ended = session.join_all();
    progress.finish();

    // Print.
    let mut out: Vec<DriveResult> = already_certified.iter().map(certified_result).collect();
    let mut all_pass = out.iter().all(|r| r.result == WipeResult::Pass);
    for (_, r) in ended {
        match r {
            Ok(delivered) => {
                let Delivered {
                    finished,
                    issued,
                    linked,
                    register_error,
                } = delivered;
                let mut res = drive_result(&finished, issued.as_ref().ok());
                if let Some(l) = linked {
                    res.asset_tag = l.asset_tag;
                    res.asset_state = l.asset_state.map(|s| s.as_str().to_string());
                    res.matched_by = Some(l.matched_by);
                }
                if let Some(e) = register_error {
                    crate::stderr_line!(
                        "wipeproof: {}: the certificate is written but the register could not store it ({e}); \
                         it will be picked up from the certificate directory next time",
                        finished.drive.path
                    );
                }
                all_pass &= res.result == WipeResult::Pass && issued.is_ok();
                if let Err(e) = &issued {
                    crate::stderr_line!("wipeproof: {}: {e}", finished.drive.path);
                }
                out.push(res);
            }
            Err(e) => {
                crate::stderr_line!("wipeproof: {e}");
                all_pass = false;
            }
        }
    }
    print_summary(&out);
    if session.stop_flag().is_stopped() {
        crate::stderr_line!(
            "wipeproof: stopped on request; continue with `wipeproof wipe --resume {}`",
            args.devices
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    // The wipes are done and their certificates written: a reader of stdout that went away
    // does not change what happened to the drives, nor the exit status that says so.
    if args.json
        && let Err(e) = print_json(&WipeJson { drives: out })
    {
        crate::stderr_line!(
            "wipeproof: {}; the certificates are in {}",
            super::error_text(&e),
            cert_dir.display()
        );
    }
    Ok(if all_pass {
        Status::Success
    } else {
        Status::Failure
    })
}

fn jobs_summary(prepared: &[Prepared]) -> String {
    let rows: Vec<Vec<String>> = prepared
        .iter()
        .map(|p| {
            let d = p.drive();
            vec![
                d.path.clone(),
                d.model.clone().unwrap_or_else(|| "-".into()),
                d.serial.clone().unwrap_or_else(|| "-".into()),
                human_size(d.size_bytes),
                p.method.clone(),
            ]
        })
        .collect();
    table(&["PATH", "MODEL", "SERIAL", "SIZE", "METHOD"], &rows)
}

/// Shows what will be erased and asks the operator to type `yes`.
fn confirm(summary: &str) -> anyhow::Result<()> {
    crate::stderr_text!("{summary}");
    crate::stderr_text!("All data on these drives will be destroyed. Type yes to continue: ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the confirmation from standard input")?;
    if line.trim() == "yes" {
        return Ok(());
    }
    bail!("not confirmed; nothing was erased (type yes, or pass --yes)")
}

fn drive_result(f: &Finished, issued: Option<&Issued>) -> DriveResult {
    let bytes_written = f.outcome.steps().iter().map(|s| s.bytes_written).sum();
    let verification = f
        .outcome
        .verification()
        .checks
        .last()
        .map(|c| format!("{:?} {} bytes read", c.mode, c.bytes_read).to_lowercase());
    DriveResult {
        path: f.drive.path.clone(),
        model: f.drive.model.clone(),
        serial: f.drive.serial.clone(),
        size_bytes: f.drive.size_bytes,
        method: f.method.name.clone(),
        result: f.outcome.result(),
        failure_reasons: f.outcome.failure_reasons().to_vec(),
        wipe_id: f.wipe_id.clone(),
        certificate_id: issued.map(|i| i.record.id.clone()),
        certificate_pdf: issued.map(|i| i.pdf.display().to_string()),
        certificate_json: issued.map(|i| i.json.display().to_string()),
        started_at: f.started_at.clone(),
        ended_at: f.ended_at.clone(),
        bytes_written,
        verification,
        asset_tag: None,
        asset_state: None,
        matched_by: None,
    }
}

fn print_summary(results: &[DriveResult]) {
    for r in results {
        let took = match (
            crate::timestamp::parse(&r.started_at),
            crate::timestamp::parse(&r.ended_at),
        ) {
            (Some(a), Some(b)) => format_duration((b - a).as_seconds_f64()),
            _ => "-".into(),
        };
        crate::stderr_line!(
            "wipeproof: {} {} ({} {}, {took})",
            r.path,
            r.result.as_str(),
            r.method,
            human_size(r.size_bytes)
        );
        for reason in &r.failure_reasons {
            crate::stderr_line!("    {reason}");
        }
        match (&r.certificate_pdf, &r.certificate_json) {
            (Some(pdf), Some(json)) => {
                crate::stderr_line!("    certificate: {pdf}\n                 {json}")
            }
            _ => crate::stderr_line!("    NO CERTIFICATE was written for this drive"),
        }
    }
}

/// The result of a wipe that was certified before, from its certificate.
fn certified_result(issued: &Issued) -> DriveResult {
    let r = &issued.record;
    DriveResult {
        path: r.media.path.clone(),
        model: r.media.model.clone(),
        serial: r.media.serial.clone(),
        size_bytes: r.media.size_bytes,
        method: r.sanitization.method.clone(),
        result: r.sanitization.result,
        failure_reasons: r.sanitization.failure_reasons.clone(),
        wipe_id: r.wipe_id.clone(),
        certificate_id: Some(r.id.clone()),
        certificate_pdf: Some(issued.pdf.display().to_string()),
        certificate_json: Some(issued.json.display().to_string()),
        started_at: r.sanitization.started_at.clone(),
        ended_at: r.sanitization.ended_at.clone(),
        bytes_written: r.sanitization.steps.iter().map(|s| s.bytes_written).sum(),
        verification: r
            .verification
            .checks
            .last()
            .map(|c| format!("{:?} {} bytes read", c.mode, c.bytes_read).to_lowercase()),
        asset_tag: r.asset_tags.first().cloned(),
        asset_state: None,
        matched_by: None,
    }
}
