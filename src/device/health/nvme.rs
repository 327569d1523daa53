//! The NVMe SMART / Health Information log (log page 02h, NVM Express Base Specification 2.0
//! figure 207): critical warning, temperature, spare, endurance used, power-on hours, power
//! cycles, media and data integrity errors, judged into a [`Health`].
//!
//! The page comes from the controller and is untrusted: its length is checked and decoding
//! never panics.

use super::{Health, HealthAttribute, Verdict};

/// Log identifier and length of the page.
pub const LOG_ID: u8 = 0x02;
pub const LOG_LEN: usize = 512;

/// Critical warning bits (byte 0).
mod warn {
    pub const SPARE_BELOW_THRESHOLD: u8 = 1 << 0;
    pub const TEMPERATURE: u8 = 1 << 1;
    pub const RELIABILITY_DEGRADED: u8 = 1 << 2;
    pub const READ_ONLY: u8 = 1 << 3;
    pub const VOLATILE_BACKUP_FAILED: u8 = 1 << 4;
    pub const PMR_READ_ONLY: u8 = 1 << 5;
}

/// The fields of the log that the verdict and the certificate use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmartLog {
    pub critical_warning: u8,
    /// Composite temperature, kelvin (0: not reported).
    pub temperature_kelvin: u16,
    pub available_spare: u8,
    pub available_spare_threshold: u8,
    pub percentage_used: u8,
    pub data_units_read: u128,
    pub data_units_written: u128,
    pub power_cycles: u128,
    pub power_on_hours: u128,
    pub unsafe_shutdowns: u128,
    pub media_errors: u128,
    pub error_log_entries: u128,
}

/// The log page was too short.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the SMART / Health log is {0} bytes, expected 512")]
pub struct LogLength(pub usize);

/// Decodes the page.
pub fn decode(page: &[u8]) -> Result<SmartLog, LogLength> {
    if page.len() < LOG_LEN {
        return Err(LogLength(page.len()));
    }
    let u128_at = |at: usize| {
        let mut b = [0u8; 16];
        b.copy_from_slice(&page[at..at + 16]);
        u128::from_le_bytes(b)
    };
    Ok(SmartLog {
        critical_warning: page[0],
        temperature_kelvin: u16::from_le_bytes([page[1], page[2]]),
        available_spare: page[3],
        available_spare_threshold: page[4],
        percentage_used: page[5],
        data_units_read: u128_at(32),
        data_units_written: u128_at(48),
        power_cycles: u128_at(112),
        power_on_hours: u128_at(128),
        unsafe_shutdowns: u128_at(144),
        media_errors: u128_at(160),
        error_log_entries: u128_at(176),
    })
}

/// A counter as a record carries it: capped at 2^53 - 1 (canonical JSON).
fn clamp(v: u128) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX).min(super::MAX_SAFE)
}

/// The verdict: failing when the controller warns of spare below threshold, degraded
/// reliability, read-only media or a failed volatile backup; a warning for temperature, media
/// errors or the rated endurance used up.
pub fn judge(log: &SmartLog) -> Health {
    let cw = log.critical_warning;
    let mut reasons = Vec::new();
    let failing_bits = [
        (
            warn::SPARE_BELOW_THRESHOLD,
            "available spare is below its threshold",
        ),
        (
            warn::RELIABILITY_DEGRADED,
            "reliability is degraded by media errors",
        ),
        (warn::READ_ONLY, "the media is read-only"),
        (
            warn::VOLATILE_BACKUP_FAILED,
            "the volatile memory backup failed",
        ),
        (
            warn::PMR_READ_ONLY,
            "the persistent memory region is read-only",
        ),
    ];
    let mut failing = false;
    for (bit, what) in failing_bits {
        if cw & bit != 0 {
            failing = true;
            reasons.push(format!("critical warning: {what}"));
        }
    }
    let mut warning = false;
    if cw & warn::TEMPERATURE != 0 {
        warning = true;
        reasons.push("critical warning: temperature outside its thresholds".into());
    }
    if log.media_errors > 0 {
        warning = true;
        reasons.push(format!(
            "{} media and data integrity errors",
            log.media_errors
        ));
    }
    if log.percentage_used >= 100 {
        warning = true;
        reasons.push(format!(
            "{} % of the rated endurance used",
            log.percentage_used
        ));
    }
    if reasons.is_empty() {
        reasons.push("no critical warning, no media errors".into());
    }
    Health {
        verdict: if failing {
            Verdict::Failing
        } else if warning {
            Verdict::Warning
        } else {
            Verdict::Ok
        },
        source: Some("nvme-smart-log".into()),
        power_on_hours: Some(clamp(log.power_on_hours)),
        power_cycles: Some(clamp(log.power_cycles)),
        temperature_celsius: (log.temperature_kelvin >= 273)
            .then(|| (log.temperature_kelvin - 273) as u64),
        percentage_used: Some(log.percentage_used as u64),
        attributes: vec![
            HealthAttribute::new("critical_warning", cw as u64, None),
            HealthAttribute::new(
                "available_spare",
                log.available_spare as u64,
                Some(log.available_spare_threshold as u64),
            ),
            HealthAttribute::new("percentage_used", log.percentage_used as u64, None),
            HealthAttribute::new("media_errors", clamp(log.media_errors), None),
        ],
        reasons,
    }
}
