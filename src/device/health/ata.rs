//! ATA SMART: the READ DATA and READ THRESHOLDS pages (ATA8-ACS, SFF-8035i: 30 attribute
//! entries of 12 bytes from byte 2, a checksum in byte 511) and RETURN STATUS (its LBA mid/high
//! registers say whether a threshold is exceeded), judged into a [`Health`].
//!
//! The pages come from the drive and are untrusted: lengths and checksums are checked and
//! decoding never panics.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Health, HealthAttribute, Verdict};
use crate::device::ata::{AtaCommand, Protocol};
use crate::device::capabilities::ata_exec;
use crate::device::transport::{DataPhase, ScsiTransport};

/// The SMART command and its feature codes.
const SMART: u8 = 0xB0;
const READ_DATA: u16 = 0xD0;
const READ_THRESHOLDS: u16 = 0xD1;
const RETURN_STATUS: u16 = 0xDA;
/// LBA mid 4Fh and high C2h, as every SMART command carries; C24Fh becomes 2CF4h when a
/// threshold is exceeded.
const SMART_LBA: u64 = 0xC2_4F00;
const EXCEEDED_LBA: u64 = 0x2C_F400;

/// Attributes whose raw value counts damage: any non-zero count is a warning.
const DAMAGE_COUNTS: [(u8, &str); 4] = [
    (5, "reallocated sectors"),
    (187, "reported uncorrectable errors"),
    (197, "sectors pending reallocation"),
    (198, "offline uncorrectable sectors"),
];

/// One attribute of the READ DATA page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute {
    pub id: u8,
    pub flags: u16,
    /// Normalised value now and at its worst (1..253, higher is better).
    pub current: u8,
    pub worst: u8,
    /// The vendor's 48-bit raw value.
    pub raw: u64,
}

impl Attribute {
    /// Pre-failure attribute (flag bit 0): below its threshold, failure is imminent.
    pub fn prefailure(&self) -> bool {
        self.flags & 1 != 0
    }
}

/// Errors reading a SMART page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmartPageError {
    #[error("the SMART page is {0} bytes, expected 512")]
    Length(usize),
    #[error("the SMART page fails its checksum (byte 511)")]
    Checksum,
}

fn check_page(page: &[u8]) -> Result<(), SmartPageError> {
    if page.len() != 512 {
        return Err(SmartPageError::Length(page.len()));
    }
    if page.iter().fold(0u8, |s, b| s.wrapping_add(*b)) != 0 {
        return Err(SmartPageError::Checksum);
    }
    Ok(())
}

/// The attribute entries of a READ DATA page (entries with id 0 are empty).
pub fn decode_data(page: &[u8]) -> Result<Vec<Attribute>, SmartPageError> {
    check_page(page)?;
    Ok(page[2..2 + 30 * 12]
        .chunks_exact(12)
        .filter(|e| e[0] != 0)
        .map(|e| Attribute {
            id: e[0],
            flags: u16::from_le_bytes([e[1], e[2]]),
            current: e[3],
            worst: e[4],
            raw: e[5..11]
                .iter()
                .rev()
                .fold(0u64, |acc, b| acc << 8 | *b as u64),
        })
        .collect())
}

/// Threshold per attribute id of a READ THRESHOLDS page.
pub fn decode_thresholds(page: &[u8]) -> Result<BTreeMap<u8, u8>, SmartPageError> {
    check_page(page)?;
    Ok(page[2..2 + 30 * 12]
        .chunks_exact(12)
        .filter(|e| e[0] != 0)
        .map(|e| (e[0], e[1]))
        .collect())
}

/// The name smartmontools gives an attribute, for the common ones.
pub fn name(id: u8) -> String {
    let known = match id {
        1 => "Raw_Read_Error_Rate",
        3 => "Spin_Up_Time",
        4 => "Start_Stop_Count",
        5 => "Reallocated_Sector_Ct",
        7 => "Seek_Error_Rate",
        9 => "Power_On_Hours",
        10 => "Spin_Retry_Count",
        12 => "Power_Cycle_Count",
        177 => "Wear_Leveling_Count",
        184 => "End-to-End_Error",
        187 => "Reported_Uncorrect",
        188 => "Command_Timeout",
        190 => "Airflow_Temperature_Cel",
        194 => "Temperature_Celsius",
        196 => "Reallocated_Event_Count",
        197 => "Current_Pending_Sector",
        198 => "Offline_Uncorrectable",
        199 => "UDMA_CRC_Error_Count",
        231 => "SSD_Life_Left",
        233 => "Media_Wearout_Indicator",
        _ => return format!("Attribute_{id}"),
    };
    known.into()
}

/// The verdict from the pages and the drive's overall status (`Some(true)`: RETURN STATUS says
/// a threshold is exceeded).
pub fn judge(attrs: &[Attribute], thresholds: &BTreeMap<u8, u8>, exceeded: Option<bool>) -> Health {
    if attrs.is_empty() {
        return Health::unknown("the drive's SMART page lists no attributes");
    }
    let raw = |id: u8| attrs.iter().find(|a| a.id == id).map(|a| a.raw);
    let mut health = Health {
        verdict: Verdict::Ok,
        source: Some("ata-smart".into()),
        // Power-on hours: vendors put other counters in the high bytes.
        power_on_hours: raw(9).map(|r| r & 0xFFFF_FFFF),
        power_cycles: raw(12),
        temperature_celsius: raw(194).or(raw(190)).map(|r| r & 0xFF),
        percentage_used: None,
        attributes: Vec::new(),
        reasons: Vec::new(),
    };
    let mut failing = exceeded == Some(true);
    let mut warning = false;
    if failing {
        health
            .reasons
            .push("the drive's SMART status says a threshold is exceeded".into());
    }
    for a in attrs {
        let Some(&t) = thresholds.get(&a.id).filter(|t| **t != 0) else {
            continue;
        };
        if a.current <= t {
            let kind = if a.prefailure() {
                failing = true;
                "pre-failure"
            } else {
                warning = true;
                "old-age"
            };
            health.reasons.push(format!(
                "{kind} attribute {} {} is at or below its threshold ({} <= {t})",
                a.id,
                name(a.id),
                a.current
            ));
            health.attributes.push(HealthAttribute::new(
                &format!("{} (normalised)", name(a.id)),
                a.current as u64,
                Some(t as u64),
            ));
        }
    }
    for (id, what) in DAMAGE_COUNTS {
        if let Some(r) = raw(id) {
            health
                .attributes
                .push(HealthAttribute::new(&name(id), r, None));
            if r > 0 {
                warning = true;
                health.reasons.push(format!("{r} {what}"));
            }
        }
    }
    health.verdict = if failing {
        Verdict::Failing
    } else if warning {
        Verdict::Warning
    } else {
        Verdict::Ok
    };
    if health.reasons.is_empty() {
        health
            .reasons
            .push("every attribute is above its threshold and no damage is counted".into());
    }
    health
}

fn smart(feature: u16, blocks: u16) -> AtaCommand {
    AtaCommand {
        command: SMART,
        features: feature,
        count: blocks,
        lba: SMART_LBA,
        device: 0,
        protocol: if blocks == 0 {
            Protocol::NonData
        } else {
            Protocol::PioDataIn
        },
        extend: false,
        blocks,
        check_condition: blocks == 0,
    }
}

/// Reads the pages and status from the drive and judges them.
pub fn read(dev: &mut dyn ScsiTransport, timeout: Duration) -> Health {
    let mut data = vec![0u8; 512];
    if let Err(e) = ata_exec(
        dev,
        &smart(READ_DATA, 1),
        DataPhase::FromDevice(&mut data),
        timeout,
    ) {
        return Health::unknown(format!(
            "the drive refused SMART READ DATA (SMART unsupported or disabled): {e}"
        ));
    }
    let attrs = match decode_data(&data) {
        Ok(a) => a,
        Err(e) => return Health::unknown(e.to_string()),
    };
    let mut page = vec![0u8; 512];
    let thresholds = ata_exec(
        dev,
        &smart(READ_THRESHOLDS, 1),
        DataPhase::FromDevice(&mut page),
        timeout,
    )
    .ok()
    .and_then(|_| decode_thresholds(&page).ok());
    let exceeded = ata_exec(dev, &smart(RETURN_STATUS, 0), DataPhase::None, timeout)
        .ok()
        .and_then(|r| match r.lba & 0xFF_FF00 {
            SMART_LBA => Some(false),
            EXCEEDED_LBA => Some(true),
            _ => None,
        });
    let mut health = judge(
        &attrs,
        thresholds.as_ref().unwrap_or(&BTreeMap::new()),
        exceeded,
    );
    if thresholds.is_none() {
        health
            .reasons
            .push("the thresholds page could not be read: attributes were not compared".into());
        // Neither the thresholds nor the drive's own status: an `ok` would be a guess.
        if exceeded.is_none() && health.verdict == Verdict::Ok {
            health.verdict = Verdict::Unknown;
        }
    }
    health
}
