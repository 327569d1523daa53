//! Drive health, read from the drive before it is wiped: ATA SMART (READ DATA, READ
//! THRESHOLDS and RETURN STATUS through ATA PASS-THROUGH, so also behind USB bridges that pass
//! it), the NVMe SMART / Health Information log (page 02h), and for drives that answer no ATA
//! command (SAS, USB bridges speaking plain SCSI) the SCSI log pages. Recyclers grade drives
//! for resale by it; a certificate says what it was.
//!
//! The verdict is `ok`, `warning`, `failing`, or `unknown` when the drive could not be asked or
//! did not answer: never a guess. A failing drive is still wiped and its certificate says so.
//!
//! * [`ata`]: SMART pages to attributes and a verdict.
//! * [`nvme`]: the SMART / Health log to a verdict.
//! * [`scsi`]: the SCSI log pages (LOG SENSE) to a verdict.

pub mod ata;
pub mod nvme;
pub mod scsi;

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::identity::{Transport, read_ata_identify};
use super::transport::{LinuxDevice, NvmeTransport, ScsiTransport};

const TIMEOUT: Duration = Duration::from_secs(15);

/// The largest integer a certificate record carries exactly (canonical JSON).
const MAX_SAFE: u64 = (1 << 53) - 1;

/// What the drive's own health reporting says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    Warning,
    Failing,
    Unknown,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warning => "warning",
            Verdict::Failing => "failing",
            Verdict::Unknown => "unknown",
        }
    }
}

/// One value that decided the verdict (or that a grader looks at first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthAttribute {
    pub name: String,
    pub value: u64,
    /// The drive's own threshold for this value, where it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<u64>,
}

impl HealthAttribute {
    pub fn new(name: &str, value: u64, threshold: Option<u64>) -> HealthAttribute {
        HealthAttribute {
            name: name.into(),
            value: value.min(MAX_SAFE),
            threshold: threshold.map(|t| t.min(MAX_SAFE)),
        }
    }
}

/// A drive's health as read before the wipe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Health {
    pub verdict: Verdict,
    /// `ata-smart`, `nvme-smart-log` or `scsi-log-pages`; absent when nothing was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_on_hours: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub power_cycles: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_celsius: Option<u64>,
    /// NVMe: the share of the rated endurance used (may pass 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentage_used: Option<u64>,
    /// The values that decide the verdict.
    pub attributes: Vec<HealthAttribute>,
    /// Why the verdict is what it is, in words; for `unknown`, why nothing could be read.
    pub reasons: Vec<String>,
}

impl Health {
    /// Nothing could be read, and why.
    pub fn unknown(why: impl Into<String>) -> Health {
        Health {
            verdict: Verdict::Unknown,
            source: None,
            power_on_hours: None,
            power_cycles: None,
            temperature_celsius: None,
            percentage_used: None,
            attributes: Vec::new(),
            reasons: vec![why.into()],
        }
    }
}

impl Health {
    /// One line for people: `health ok (ATA SMART), 1,234 power-on hours` or
    /// `health unknown: a loop device has no SMART`.
    pub fn summary(&self) -> String {
        let mut out = format!("health {}", self.verdict.as_str());
        match self.source.as_deref() {
            Some("ata-smart") => out.push_str(" (ATA SMART)"),
            Some("nvme-smart-log") => out.push_str(" (NVMe log)"),
            Some("scsi-log-pages") => out.push_str(" (SCSI log pages)"),
            _ => {}
        }
        if let Some(h) = self.power_on_hours {
            out.push_str(&format!(", {h} power-on hours"));
        }
        if self.verdict != Verdict::Ok
            && let Some(why) = self.reasons.first()
        {
            out.push_str(&format!(": {why}"));
        }
        out
    }
}

/// Reads the health of a whole disk by its device node (read-only open; only SMART reads and
/// LOG SENSE, which reads, are sent).
pub fn read_for_disk(dev_path: &Path, transport: Transport) -> Health {
    match transport {
        Transport::Loop => return Health::unknown("a loop device has no SMART"),
        Transport::File => return Health::unknown("an image file has no SMART"),
        Transport::Virtio => {
            return Health::unknown("a virtio disk does not pass SMART from its host");
        }
        Transport::Mmc => return Health::unknown("health of MMC and SD cards is not read"),
        Transport::Other => {
            return Health::unknown("the drive's bus offers no health commands wipeproof knows");
        }
        _ => {}
    }
    let mut dev = match LinuxDevice::open(dev_path, false) {
        Ok(dev) => dev,
        Err(e) => {
            return Health::unknown(format!(
                "cannot open {} to read its health: {e}",
                dev_path.display()
            ));
        }
    };
    if transport == Transport::Nvme {
        read_nvme(&mut dev)
    } else {
        read_ata(&mut dev)
    }
}

/// NVMe: the controller's SMART / Health log.
pub fn read_nvme(dev: &mut dyn NvmeTransport) -> Health {
    let mut page = vec![0u8; nvme::LOG_LEN];
    let cmd = super::nvme::AdminCommand::get_log_page(nvme::LOG_ID, nvme::LOG_LEN as u32);
    match dev.admin(&cmd, &mut page, TIMEOUT) {
        Ok(c) if c.is_success() => match nvme::decode(&page) {
            Ok(log) => nvme::judge(&log),
            Err(e) => Health::unknown(e.to_string()),
        },
        Ok(c) => Health::unknown(format!(
            "the drive refused the SMART / Health log: {}",
            c.describe()
        )),
        Err(e) => Health::unknown(format!("the SMART / Health log could not be read: {e}")),
    }
}

/// ATA (SATA, or behind a SAT bridge): SMART READ DATA, READ THRESHOLDS, RETURN STATUS. A
/// drive that answers no ATA command (a SAS or SCSI drive, or a USB bridge that does not pass
/// them) is asked for its SCSI log pages instead.
pub fn read_ata(dev: &mut dyn ScsiTransport) -> Health {
    if read_ata_identify(dev).is_none() {
        let health = scsi::read(dev, TIMEOUT);
        if health.source.is_some() {
            return health;
        }
        return Health::unknown(format!(
            "the drive does not answer ATA commands (a SCSI drive, or a USB bridge that does not \
             pass them), and {}",
            health.reasons.join("; ")
        ));
    }
    ata::read(dev, TIMEOUT)
}

#[cfg(test)]
mod tests;
