//! Hidden areas of ATA drives: a Host Protected Area (or an Accessible Max Address limit) and a
//! Device Configuration Overlay hide sectors from the host, and so from an overwrite.
//!
//! Before any erase the native capacity is restored where that is safe: an HPA with a
//! volatile SET MAX ADDRESS (it returns at the next power cycle, after the wipe), an AMA limit
//! with SET ACCESSIBLE MAX ADDRESS. A DCO is reported, not removed: DEVICE CONFIGURATION
//! RESTORE is permanent and some drives do not survive it. Every finding goes on the
//! certificate, and a Purge claim with a hidden area left is FAIL.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::device::ata::AtaCommand;
use crate::device::capabilities::{AtaCapabilities, ata_exec};
use crate::device::identity::read_ata_identify;
use crate::device::transport::{DataPhase, ScsiTransport};

/// A hidden area found on the media and what was done about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HiddenArea {
    /// `HPA`, `DCO` or `AMA`.
    pub kind: String,
    /// Sectors hidden when found.
    pub sectors: u64,
    /// `removed` or `not-removable`.
    pub action: String,
    pub detail: String,
}

impl HiddenArea {
    /// Whether sectors are still hidden.
    pub fn remains(&self) -> bool {
        self.action != "removed"
    }
}

const TIMEOUT: Duration = Duration::from_secs(30);

/// Finds hidden areas and restores the native capacity where safe.
pub fn restore(dev: &mut dyn ScsiTransport, caps: &AtaCapabilities) -> Vec<HiddenArea> {
    let mut found = Vec::new();
    let hidden = caps.hpa_sectors();
    if hidden > 0 {
        let native = caps.native_max_sectors.unwrap_or(caps.user_sectors);
        let kind = if caps.ama_supported { "AMA" } else { "HPA" };
        let result = if caps.ama_supported {
            ata_exec(
                dev,
                &AtaCommand::set_accessible_max_ext(native - 1),
                DataPhase::None,
                TIMEOUT,
            )
        } else {
            // SET MAX ADDRESS must directly follow READ NATIVE MAX ADDRESS.
            ata_exec(
                dev,
                &AtaCommand::read_native_max_ext(),
                DataPhase::None,
                TIMEOUT,
            )
            .and_then(|_| {
                ata_exec(
                    dev,
                    &AtaCommand::set_max_ext(native - 1, false),
                    DataPhase::None,
                    TIMEOUT,
                )
            })
        };
        let now = read_ata_identify(dev).map(|id| id.user_sectors);
        let (action, detail) = match (result, now) {
            (Ok(_), Some(n)) if n == native => (
                "removed",
                if caps.ama_supported {
                    format!("accessible max address restored to the native {native} sectors")
                } else {
                    format!(
                        "native capacity of {native} sectors restored until the next power cycle (volatile SET MAX ADDRESS)"
                    )
                },
            ),
            (Ok(_), n) => (
                "not-removable",
                format!(
                    "the drive accepted the new max address but reports {} sectors, not the native {native}",
                    n.map(|v| v.to_string()).unwrap_or_else(|| "unknown".into())
                ),
            ),
            (Err(e), _) => (
                "not-removable",
                format!("the drive refused to restore its native capacity: {e}"),
            ),
        };
        found.push(HiddenArea {
            kind: kind.into(),
            sectors: hidden,
            action: action.into(),
            detail,
        });
    }
    let dco = caps.dco_sectors();
    if dco > 0 {
        found.push(HiddenArea {
            kind: "DCO".into(),
            sectors: dco,
            action: "not-removable".into(),
            detail: "a Device Configuration Overlay hides these sectors; DEVICE CONFIGURATION RESTORE \
                     is permanent and not done automatically: restore it with hdparm --dco-restore, \
                     or destroy the drive"
                .into(),
        });
    }
    found
}
