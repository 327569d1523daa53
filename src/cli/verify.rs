//! `wipeproof verify`: is a certificate genuine and untouched, and is the drive still as
//! certified?

use std::path::PathBuf;

use clap::Args;

use super::Status;
use super::output::print_json;
use crate::certificate::check::{CheckItem, Report, verify_file};
use crate::certificate::keys::TrustStore;
use crate::config::StateDir;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The certificate: the PDF, or the JSON written beside it.
    #[arg(value_name = "CERT.pdf|CERT.json")]
    certificate: PathBuf,
    /// Re-read the certificate's sample regions from this drive and compare their digest.
    #[arg(long, value_name = "DEVICE")]
    drive: Option<PathBuf>,
    /// Trust this public key (PEM) for this run, in addition to the trust store.
    #[arg(long, value_name = "KEYFILE")]
    trust: Vec<PathBuf>,
    /// Print {"valid": bool, "checks": [{"name", "ok", "detail"}]} on stdout.
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
    let report = match verify_file(&args.certificate, &trust, args.drive.as_deref()) {
        Ok(r) => r,
        Err(e) => {
            if args.json {
                print_json(&Report {
                    valid: false,
                    checks: vec![CheckItem {
                        name: "format".into(),
                        ok: false,
                        detail: e.to_string(),
                    }],
                    record: None,
                })?;
            }
            crate::stderr_line!("wipeproof: could not check: {e}");
            return Ok(Status::Error);
        }
    };
    if args.json {
        print_json(&report)?;
    } else {
        for c in &report.checks {
            crate::stdout_line!(
                "{} {:<15} {}",
                if c.ok { "ok  " } else { "FAIL" },
                c.name,
                c.detail
            )?;
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
