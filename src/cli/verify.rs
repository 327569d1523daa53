//! `wipeproof verify`: is a certificate genuine and untouched, and is the drive still as
//! certified?

use std::path::PathBuf;

use clap::Args;

use super::Status;
use super::output::print_json;
use crate::certificate::check::{CheckItem, DriveCheck, Report, verify_file};
use crate::certificate::keys::TrustStore;
use crate::config::StateDir;
use crate::report::{ReportVerdict, verify_report_file};

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The certificate (the PDF, or the JSON written beside it), or a collection report.
    #[arg(value_name = "CERT.pdf|CERT.json|REPORT.pdf|REPORT.json")]
    certificate: PathBuf,
    /// Check this drive: its identity, the certificate's sample regions (their digest), and
    /// fresh random regions against the final pattern where it can be recomputed.
    #[arg(long, value_name = "DEVICE")]
    drive: Option<PathBuf>,
    /// With --drive: compare every byte of the drive with the final pattern.
    #[arg(long, requires = "drive")]
    full: bool,
    /// Trust this public key (PEM) for this run, in addition to the trust store.
    #[arg(long, value_name = "KEYFILE")]
    trust: Vec<PathBuf>,
    /// Print {"valid": bool, "checks": [{"name", "ok", "detail"}], "drive": {...}} on stdout
    /// ("drive" with --drive: size_bytes, bytes_read, published_bytes, pattern_bytes, full).
    #[arg(long)]
    json: bool,
}

pub fn run(args: &VerifyArgs, state: Option<&StateDir>) -> anyhow::Result<Status> {
    let mut trust = match state {
        Some(s) => TrustStore::load(&s.keys_dir())?,
        None => TrustStore::default(),
    };
    for f in &args.trust {
        trust.add_file(f)?;
    }
    // A collection report is verified the same way, by its own checks.
    match verify_report_file(&args.certificate, &trust) {
        Ok(Some(verdict)) => return report_verdict(args, verdict),
        Ok(None) => {}
        Err(e) => {
            crate::stderr_line!("wipeproof: could not check: {e}");
            return Ok(Status::Error);
        }
    }
    let drive = args.drive.as_deref().map(|path| DriveCheck {
        path,
        full: args.full,
    });
    let report = match verify_file(&args.certificate, &trust, drive.as_ref()) {
        Ok(r) => r,
        Err(e) => {
            if args.json {
                print_json(&Report::unreadable(&e))?;
            }
            crate::stderr_line!("wipeproof: could not check: {e}");
            return Ok(Status::Error);
        }
    };
    if args.json {
        print_json(&report)?;
    } else {
        print_checks(&report.checks)?;
        if let Some(d) = &report.drive {
            crate::stdout_line!("drive: {}", d.describe())?;
        }
        if let Some(r) = &report.record {
            crate::stdout_line!(
                "certificate {} for {} {} ({}): {}",
                r.id,
                r.media.model.as_deref().unwrap_or("-"),
                r.media.serial.as_deref().unwrap_or("-"),
                r.sanitization.method,
                r.sanitization.result.as_str()
            )?;
        }
        crate::stdout_line!(
            "{}",
            if report.valid {
                "VALID: the certificate is genuine and untouched"
            } else {
                "INVALID: do not rely on this certificate"
            }
        )?;
    }
    Ok(if report.valid {
        Status::Success
    } else {
        Status::Failure
    })
}

/// Prints the verdict on a collection report.
fn report_verdict(args: &VerifyArgs, v: ReportVerdict) -> anyhow::Result<Status> {
    if args.drive.is_some() {
        anyhow::bail!(
            "{} is a collection report; --drive checks a drive against its certificate",
            args.certificate.display()
        );
    }
    let report = v.verdict;
    if args.json {
        print_json(&report)?;
    } else {
        print_checks(&report.checks)?;
        if let Some(r) = &v.report {
            crate::stdout_line!(
                "report {} of collection {} for {}: {} asset(s), {} drive(s)",
                r.id,
                r.collection,
                r.customer,
                r.summary.assets,
                r.summary.drives
            )?;
        }
        crate::stdout_line!(
            "{}",
            if report.valid {
                "VALID: the report is genuine and untouched"
            } else {
                "INVALID: do not rely on this report"
            }
        )?;
    }
    Ok(if report.valid {
        Status::Success
    } else {
        Status::Failure
    })
}

/// Prints one line per check: `ok` or `FAIL`, its name and what it found.
fn print_checks(checks: &[CheckItem]) -> std::io::Result<()> {
    for c in checks {
        crate::stdout_line!(
            "{} {:<15} {}",
            if c.ok { "ok  " } else { "FAIL" },
            c.name,
            c.detail
        )?;
    }
    Ok(())
}
