//! Checking a drive against its certificate: is it the drive the certificate names, do its
//! published sample regions read now hash to the certified digest, and does the rest of the
//! drive still hold what the final pass wrote?
//!
//! The published regions alone prove little: anyone can read their offsets from the
//! certificate and change the drive everywhere else. So, wherever the final pattern can be
//! recomputed (a constant or repeating pattern; not a random keystream, whose key is never
//! kept, nor a firmware erase), the drive is also read at fresh regions chosen now from the OS
//! RNG, at the certificate's coverage, and compared with the pattern; `--full` compares every
//! byte instead. The report says how many bytes of the drive were read.

use super::*;
use crate::erase::{PassPattern, Pattern};
use crate::verify::full::read_full;
use crate::verify::outcome::{StepAction, WipeResult};
use crate::verify::plan::random_seed;

/// A drive to check a certificate against.
#[derive(Debug, Clone, Copy)]
pub struct DriveCheck<'a> {
    pub path: &'a Path,
    /// Compare every byte with the final pattern, not only fresh random regions.
    pub full: bool,
}

/// How much of the drive was read, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DriveRead {
    pub device: String,
    pub size_bytes: u64,
    /// Bytes read in all (published regions, fresh regions or the whole drive).
    pub bytes_read: u64,
    /// Bytes of the certificate's published sample regions read.
    pub published_bytes: u64,
    /// Bytes compared with the final pattern (fresh regions, or the whole drive with `--full`).
    pub pattern_bytes: u64,
    pub full: bool,
}

impl DriveRead {
    /// A line for people: how much was read, in bytes and percent.
    pub fn describe(&self) -> String {
        let percent = if self.size_bytes == 0 {
            0.0
        } else {
            self.bytes_read.min(self.size_bytes) as f64 * 100.0 / self.size_bytes as f64
        };
        format!(
            "read {} of {} bytes of {} ({percent:.2}%{})",
            self.bytes_read,
            self.size_bytes,
            self.device,
            if self.full { ", the whole drive" } else { "" }
        )
    }
}

/// The pattern every byte of the drive holds if the certificate is true, when it can be
/// recomputed; else why not.
fn final_pattern(record: &Record) -> Result<Pattern, String> {
    if record.sanitization.result != WipeResult::Pass {
        return Err(format!(
            "the certificate's result is {}, so it does not claim the whole drive holds the final pattern",
            record.sanitization.result.as_str()
        ));
    }
    match record.sanitization.steps.last().map(|s| &s.action) {
        Some(StepAction::Overwrite { pattern }) => match pattern {
            PassPattern::Constant { .. } | PassPattern::Repeating { .. } => Pattern::new(pattern)
                .map_err(|e| format!("the final pattern cannot be made: {e}")),
            PassPattern::Random => Err(
                "the final pass wrote a random keystream whose key is not kept, so it cannot be recomputed".into(),
            ),
        },
        Some(StepAction::Firmware { command, .. }) => Err(format!(
            "the drive's firmware erased it ({command}), so what it reads back cannot be recomputed"
        )),
        None => Err("the certificate records no steps".into()),
    }
}

pub(super) fn check_drive(
    report: &mut Report,
    drive: &DriveCheck<'_>,
    record: &Record,
) -> Result<(), CheckError> {
    let shown = drive.path.display().to_string();
    let pattern = final_pattern(record);
    if drive.full
        && let Err(why) = &pattern
    {
        return Err(CheckError::Drive {
            path: shown,
            reason: format!(
                "--full compares every byte with the final pattern, but {why}; run without --full to compare the certificate's sample regions"
            ),
        });
    }
    let target = Target::open_read(drive.path).map_err(|e| CheckError::Drive {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let geometry = target.geometry();
    let mut read = DriveRead {
        device: shown.clone(),
        size_bytes: geometry.size_bytes,
        bytes_read: 0,
        published_bytes: 0,
        pattern_bytes: 0,
        full: drive.full,
    };
    check_identity(report, &target, record, &shown);
    read.published_bytes = check_published_regions(report, &target, record, &shown)?;
    read.pattern_bytes = match pattern {
        Ok(p) if geometry.size_bytes == record.media.size_bytes => {
            check_pattern(report, &target, record, &p, drive.full, &shown)?
        }
        Ok(_) => {
            report.push(
                "drive_pattern",
                false,
                format!("{shown} is not the size the certificate names, so it was not compared with the final pattern"),
            );
            0
        }
        Err(why) => {
            report.push(
                "drive_pattern",
                true,
                format!(
                    "not compared with the final pattern: {why}; only the published sample regions were read, and anyone can read their offsets from the certificate"
                ),
            );
            0
        }
    };
    read.bytes_read = if drive.full {
        read.pattern_bytes
    } else {
        read.published_bytes + read.pattern_bytes
    };
    report.drive = Some(read);
    Ok(())
}

fn check_identity(report: &mut Report, target: &Target, record: &Record, shown: &str) {
    let geometry = target.geometry();
    let ctx = crate::device::GuardContext::new(vec![], None);
    let info = crate::device::discovery::describe_target(target, &ctx);
    let m = &record.media;
    let mut problems = Vec::new();
    if geometry.size_bytes != m.size_bytes {
        problems.push(format!(
            "{shown} has {} bytes, the certificate {}",
            geometry.size_bytes, m.size_bytes
        ));
    }
    if let (Some(a), Some(b)) = (&info.serial, &m.serial)
        && a != b
    {
        problems.push(format!("{shown} has serial {a}, the certificate {b}"));
    }
    if problems.is_empty() {
        report.push(
            "drive_identity",
            true,
            format!(
                "{shown}: serial {}, {} bytes, as certified",
                info.serial.as_deref().unwrap_or("-"),
                geometry.size_bytes
            ),
        );
    } else {
        report.push("drive_identity", false, problems.join("; "));
    }
}

/// Re-reads the certificate's own sample regions; returns the bytes read.
fn check_published_regions(
    report: &mut Report,
    target: &Target,
    record: &Record,
    shown: &str,
) -> Result<u64, CheckError> {
    let geometry = target.geometry();
    let v = &record.verification;
    let (Some(plan), Some(digest)) = (&v.plan, v.final_digest()) else {
        report.push(
            "drive_content",
            false,
            "the certificate records no sample digest to compare the drive with",
        );
        return Ok(0);
    };
    let seed: Option<[u8; 32]> = hex::decode(&plan.seed).ok().and_then(|s| s.try_into().ok());
    let Some(seed) = seed else {
        report.push(
            "drive_content",
            false,
            "the certificate's sample seed is not 32 bytes of hex",
        );
        return Ok(0);
    };
    let built = SamplePlan::build(PlanParams {
        size_bytes: plan.size_bytes,
        sector_size: plan.sector_size,
        coverage_ppm: plan.requested_coverage_ppm,
        seed,
    });
    let built = match built {
        Ok(p)
            if p.regions.len() as u64 == plan.region_count
                && plan.size_bytes == geometry.size_bytes =>
        {
            p
        }
        Ok(_) => {
            report.push(
                "drive_content",
                false,
                "the sampling plan cannot be rebuilt for this drive (size or plan differ)",
            );
            return Ok(0);
        }
        Err(e) => {
            report.push(
                "drive_content",
                false,
                format!("the certificate's sampling plan is invalid: {e}"),
            );
            return Ok(0);
        }
    };
    let r = read_plan(
        target,
        &built,
        Expected::Nothing,
        &NullSink,
        &StopFlag::new(),
    );
    if let Some(g) = r.gone {
        return Err(CheckError::Drive {
            path: shown.into(),
            reason: g,
        });
    }
    let now = hex::encode(r.digest(&built));
    if !r.unreadable.is_empty() {
        report.push(
            "drive_content",
            false,
            format!(
                "{} region(s) of {shown} could not be read",
                r.unreadable.len()
            ),
        );
    } else if now == digest {
        report.push(
            "drive_content",
            true,
            format!(
                "the certificate's {} published sample regions ({} bytes) read from {shown} hash to the certified digest",
                built.regions.len(),
                r.bytes_read
            ),
        );
    } else {
        report.push(
            "drive_content",
            false,
            format!(
                "the certificate's {} published sample regions read from {shown} do not hash to the certified digest: the drive changed since it was certified",
                built.regions.len()
            ),
        );
    }
    Ok(r.bytes_read)
}

/// Compares fresh random regions (or, with `full`, every byte) with the final pattern; returns
/// the bytes compared.
fn check_pattern(
    report: &mut Report,
    target: &Target,
    record: &Record,
    pattern: &Pattern,
    full: bool,
    shown: &str,
) -> Result<u64, CheckError> {
    let geometry = target.geometry();
    let described = pattern.spec().describe();
    let coverage_ppm = record
        .verification
        .plan
        .as_ref()
        .map(|p| p.requested_coverage_ppm)
        .filter(|&c| c > 0)
        .unwrap_or(DEFAULT_FRESH_COVERAGE_PPM);
    let seed = random_seed().map_err(|e| CheckError::Drive {
        path: shown.into(),
        reason: format!("the OS random number generator failed: {e}"),
    })?;
    let plan = SamplePlan::build(PlanParams {
        size_bytes: geometry.size_bytes,
        sector_size: geometry.logical_sector_size,
        coverage_ppm,
        seed,
    })
    .map_err(|e| CheckError::Drive {
        path: shown.into(),
        reason: format!("no sampling plan fits this drive: {e}"),
    })?;
    let stop = StopFlag::new();
    let (bytes_read, mismatch_count, first, unreadable, gone) = if full {
        let r = read_full(target, pattern, &plan, &NullSink, &stop);
        let first = r.mismatches.first().map(|m| m.offset);
        (
            r.bytes_read,
            r.mismatch_count,
            first,
            r.unreadable.len(),
            r.gone,
        )
    } else {
        let r = read_plan(target, &plan, Expected::Pattern(pattern), &NullSink, &stop);
        let first = r.mismatches.first().map(|m| m.offset);
        (
            r.bytes_read,
            r.mismatch_count,
            first,
            r.unreadable.len(),
            r.gone,
        )
    };
    if let Some(g) = gone {
        return Err(CheckError::Drive {
            path: shown.into(),
            reason: g,
        });
    }
    let what = if full {
        format!("every byte of {shown} ({bytes_read} bytes)")
    } else {
        format!(
            "{} fresh regions of {shown} ({bytes_read} bytes), chosen now with a seed from the OS random number generator,",
            plan.regions.len()
        )
    };
    if unreadable > 0 {
        report.push(
            "drive_pattern",
            false,
            format!("{unreadable} range(s) of {shown} could not be read"),
        );
    } else if mismatch_count == 0 {
        report.push(
            "drive_pattern",
            true,
            format!("{what} read {described}, as the final pass wrote"),
        );
    } else {
        report.push(
            "drive_pattern",
            false,
            format!(
                "{what} hold {mismatch_count} range(s) that are not {described}, the final pattern, first at byte {}: the drive changed since it was certified",
                first.unwrap_or(0)
            ),
        );
    }
    Ok(bytes_read)
}

/// Coverage of the fresh regions when the certificate has no plan (10%).
const DEFAULT_FRESH_COVERAGE_PPM: u32 = 100_000;
