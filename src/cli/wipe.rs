//! `wipeproof wipe`: erase drives, verify, and write the result for each before reporting it.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;

use super::list::guard_context;
use super::output::{human_size, print_json, table};
use super::{Status, actor};
use crate::certificate::issue::{Issued, issue};
use crate::certificate::keys::StationKey;
use crate::certificate::record::{Issuable, IssueContext, Organisation, PerformedBy, WipeFacts};
use crate::config::StateDir;
use crate::device::discovery::describe_target;
use crate::device::{DriveInfo, Target};
use crate::erase::engine::{ErrorPolicy, PassOptions};
use crate::erase::firmware;
use crate::erase::firmware::policy::Policy;
use crate::erase::{OverwritePlan, Sink, StopFlag, VerifyPasses};
use crate::register::{MatchedBy, Register};
use crate::station::Work;
use crate::station::checkpoint::Checkpoint;
use crate::station::firmware::FirmwareJob;
use crate::station::job::{Finished, Job, WipeSpec, drive_key};
use crate::station::progress::{Progress, format_duration};
use crate::verify::WipeResult;
use crate::verify::outcome::VerifyMode;
use crate::verify::outcome::VerifySpec;

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
    destination: Option<String>,
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
    let ctx = guard_context(state);
    let checkpoints = state.checkpoints_dir();

    // Each device once, by its real path.
    let mut seen = HashSet::new();
    for d in &args.devices {
        let real = std::fs::canonicalize(d).unwrap_or_else(|_| d.clone());
        if !seen.insert(real) {
            bail!("{} is given twice; name each drive once", d.display());
        }
    }

    // Open (and so guard) every drive before erasing any: a refusal stops the whole run.
    let mut opened: Vec<(Target, DriveInfo)> = Vec::new();
    let mut refusals = Vec::new();
    for d in &args.devices {
        match Target::open_for_erase(d, &ctx) {
            Ok(t) => {
                let mut info = describe_target(&t, &ctx);
                firmware::annotate(&mut info);
                opened.push((t, info));
            }
            Err(e) => refusals.push(e.to_string()),
        }
    }
    if !refusals.is_empty() {
        bail!("{}; nothing was erased", refusals.join("; "));
    }

    // The register: an unknown --asset stops the run before anything is erased, and
    // certificates left behind by an earlier crash are recorded now.
    let mut register = super::open_register(state)?;
    if let Some(tag) = &args.asset
        && register.find_asset(Some(tag), None)?.is_none()
    {
        return Err(crate::register::RegisterError::UnknownAsset(tag.clone()).into());
    }
    reconcile(state, &mut register);

    let pass_opts = PassOptions {
        chunk: args.buffer_mib.clamp(1, 256) << 20,
        on_error: args.on_error,
        ..PassOptions::default()
    };
    let mut jobs = Vec::new();
    let mut method_names = Vec::new();
    // Checkpoints of interrupted wipes that the new ones replace: removed only once the
    // operator has confirmed, so answering no leaves everything as it was.
    let mut superseded = Vec::new();
    if args.resume {
        for (target, info) in opened {
            let cp = Checkpoint::find(&checkpoints, &drive_key(&info))?.with_context(|| {
                format!(
                    "no interrupted wipe of {} to resume (no checkpoint in {}); start a new wipe without --resume",
                    info.path,
                    checkpoints.display()
                )
            })?;
            if let Some(m) = &args.method
                && *m != cp.plan.method
            {
                bail!(
                    "{} was being wiped with {}, not {m}; resume without --method, or start over",
                    info.path,
                    cp.plan.method
                );
            }
            method_names.push(cp.plan.method.clone());
            jobs.push(Work::Overwrite(Job::resume(
                target,
                info,
                cp,
                checkpoints.clone(),
                pass_opts,
            )));
        }
    } else {
        let method = args
            .method
            .clone()
            .unwrap_or_else(|| state.config.defaults.method.clone());
        let verify_text = args
            .verify
            .clone()
            .unwrap_or_else(|| state.config.defaults.verify.clone());
        let verify =
            VerifySpec::parse(&verify_text).map_err(|e| anyhow::anyhow!("--verify {e}"))?;
        if firmware::is_firmware(&method) {
            if verify.mode == VerifyMode::Full {
                bail!(
                    "--verify full applies to overwrite methods; a firmware erase is verified by comparing sample regions before and after (--verify sample:PCT)"
                );
            }
            if args.rounds != 1 || args.blank || args.verify_passes.is_some() {
                bail!(
                    "--rounds, --blank and --verify-passes apply to overwrite methods, not to {method}; run the firmware erase alone, then an overwrite if you want one"
                );
            }
            // Every drive must offer the method (checked from its own capability bits)
            // before anything is erased.
            let mut refusals = Vec::new();
            for (target, info) in opened {
                match FirmwareJob::prepare(target, info, &method, args.policy, verify) {
                    Ok(job) => {
                        method_names.push(job.method().name.to_string());
                        jobs.push(Work::Firmware(job));
                    }
                    Err(why) => refusals.push(why),
                }
            }
            if !refusals.is_empty() {
                bail!("{}; nothing was erased", refusals.join("; "));
            }
        } else {
            let plan = OverwritePlan::build(&method, args.rounds, args.blank, args.verify_passes)
                .map_err(|e| {
                anyhow::anyhow!(
                    "{e}; firmware methods: purge, {}",
                    firmware::FIRMWARE_METHODS
                        .iter()
                        .map(|m| m.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            for (target, info) in opened {
                if let Some(old) = Checkpoint::find(&checkpoints, &drive_key(&info))? {
                    crate::stderr_line!(
                        "wipeproof: {} has an interrupted wipe (started {}); this wipe starts \
                         over and replaces it. Use --resume to continue it instead.",
                        info.path,
                        old.started_at
                    );
                    superseded.push(old.id);
                }
                method_names.push(plan.method.clone());
                let spec = WipeSpec {
                    plan: plan.clone(),
                    verify,
                    on_error: args.on_error,
                };
                jobs.push(Work::Overwrite(
                    Job::new(target, info, spec, checkpoints.clone(), pass_opts)
                        .map_err(anyhow::Error::msg)?,
                ));
            }
        }
    }

    if !args.yes {
        confirm(&jobs_summary(&jobs_infos(&jobs), &method_names))?;
    }
    for id in &superseded {
        Checkpoint::remove(&checkpoints, id);
    }

    let (key, created) = StationKey::load_or_init(&state.keys_dir())?;
    if created {
        crate::stderr_line!(
            "wipeproof: this station had no signing key; created {} in {}. \
             Give auditors its public key: wipeproof keys export",
            key.key_id(),
            state.keys_dir().display()
        );
    }
    if state.config.organisation.name.trim().is_empty() {
        crate::stderr_line!(
            "wipeproof: organisation.name is not set in {}; certificates will say so",
            state.config_path().display()
        );
    }
    let destination = args
        .destination
        .clone()
        .unwrap_or_else(|| state.config.defaults.destination.clone());
    let issue_ctx = IssueContext {
        organisation: Organisation {
            name: state.config.organisation.name.clone(),
            address: state.config.organisation.address.clone(),
        },
        performed_by: PerformedBy {
            operator: state.config.station.operator.clone(),
            station_id: state.config.station.id.clone(),
        },
        destination,
        customer: None,
        collection: None,
        asset_tags: Vec::new(),
    };
    let cert_dir = state.certificates_dir();
    let register = Mutex::new(register);
    let who = actor(state);
    // Runs on each drive's worker as soon as it finishes: the certificate is on disk before
    // the drive is reported, and before its checkpoint goes; then the register links it to
    // its asset and queues it for the central register, in one transaction.
    let deliver = |finished: Finished| {
        let asset = {
            let reg = register.lock().unwrap_or_else(|p| p.into_inner());
            reg.find_asset(args.asset.as_deref(), finished.drive.serial.as_deref())
                .ok()
                .flatten()
        };
        let mut ctx = issue_ctx.clone();
        if let Some(a) = &asset {
            ctx.customer = Some(a.customer.clone());
            ctx.collection = Some(a.collection.clone());
            ctx.asset_tags = vec![a.asset_tag.clone()];
        }
        let issuable = Issuable::from_wipe(
            WipeFacts {
                wipe_id: &finished.wipe_id,
                drive: &finished.drive,
                method: finished.method.clone(),
                hidden_areas: finished.hidden_areas.clone(),
                started_at: &finished.started_at,
                ended_at: &finished.ended_at,
                outcome: &finished.outcome,
            },
            &ctx,
        );
        let issued = issue(issuable, &key, &cert_dir).map_err(|e| e.to_string());
        let mut linked = None;
        if let Ok(i) = &issued {
            finished.settle();
            let mut reg = register.lock().unwrap_or_else(|p| p.into_inner());
            let recorded = i.signed().map_err(|e| e.to_string()).and_then(|cert| {
                reg.record_certificate(&cert, &i.document, args.asset.as_deref(), true, &who)
                    .map_err(|e| e.to_string())
            });
            match recorded {
                Ok(l) => linked = Some(l),
                Err(e) => crate::stderr_line!(
                    "wipeproof: {}: the certificate is written but the register could not store it ({e}); \
                     it will be picked up from the certificate directory next time",
                    finished.drive.path
                ),
            }
        }
        (finished, issued, linked)
    };

    let stop = StopFlag::new();
    crate::station::signals::stop_on_signals(&stop)?;

    let progress = Progress::auto();
    let with_sinks: Vec<(String, Work, Arc<dyn Sink>)> = jobs
        .into_iter()
        .zip(&args.devices)
        .map(|(job, dev)| {
            let label = dev.display().to_string();
            let sink = progress.drive(&label);
            (label, job, sink)
        })
        .collect();
    let results = crate::station::run_parallel(with_sinks, &stop, &deliver);
    drop(progress);

    let mut out = Vec::new();
    let mut all_pass = true;
    for r in results {
        match r {
            Ok((finished, issued, linked)) => {
                let mut res = drive_result(&finished, issued.as_ref().ok());
                if let Some(l) = linked {
                    res.asset_tag = l.asset_tag;
                    res.asset_state = l.asset_state.map(|s| s.as_str().to_string());
                    res.matched_by = Some(l.matched_by);
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
    if stop.is_stopped() {
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
            "wipeproof: {e:#}; the certificates are in {}",
            cert_dir.display()
        );
    }
    Ok(if all_pass {
        Status::Success
    } else {
        Status::Failure
    })
}

fn jobs_infos(jobs: &[Work]) -> Vec<&DriveInfo> {
    jobs.iter().map(|j| j.drive()).collect()
}

fn jobs_summary(infos: &[&DriveInfo], methods: &[String]) -> String {
    let rows: Vec<Vec<String>> = infos
        .iter()
        .zip(methods)
        .map(|(d, m)| {
            vec![
                d.path.clone(),
                d.model.clone().unwrap_or_else(|| "-".into()),
                d.serial.clone().unwrap_or_else(|| "-".into()),
                human_size(d.size_bytes),
                m.clone(),
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

/// Records certificates found in the certificate directory that the register does not have
/// (a crash between writing a certificate and storing it): nothing is lost.
pub(super) fn reconcile(state: &StateDir, register: &mut dyn Register) {
    let dir = state.certificates_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let who = actor(state);
    let mut found = 0;
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !name.ends_with(".json") || name == crate::certificate::issue::CHAIN_FILE {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(cert) = serde_json::from_str::<crate::certificate::issue::SignedCertificate>(&text)
        else {
            continue;
        };
        if register.has_certificate(&cert.record.id).unwrap_or(true) {
            continue;
        }
        if register
            .record_certificate(&cert, &text, None, true, &who)
            .is_ok()
        {
            found += 1;
        }
    }
    if found > 0 {
        crate::stderr_line!(
            "wipeproof: recorded {found} certificate(s) from {} that the register did not have yet",
            dir.display()
        );
    }
}
