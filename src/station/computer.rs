//! The computer as the asset (`station.host_is_asset`): which drives belong to the computer
//! the station runs on, the inventory their certificates carry, and the computer certificate
//! issued once every one of them has ended.
//!
//! The drives of the computer are those present when the station started that the setting
//! takes (`true`: all of them; `auto`: on the live image, those not on USB), never a
//! protected one (the boot medium) and never one plugged in later. Their certificates carry
//! the computer's system, chassis and BIOS identity, and a drive with no asset tag is linked
//! to the asset registered under the chassis asset tag or the system serial. When each has a
//! certificate of a wipe that ended, the station issues one computer certificate listing
//! them; with none at all, one that says no storage was found.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::certificate::computer::Host;
use crate::certificate::record::Record;
use crate::config::HostIsAsset;
use crate::device::inventory::{self, Inventory};
use crate::device::{DriveInfo, Transport};

/// Environment variable naming a saved copy of `/sys/firmware/dmi/tables` to read the
/// computer's inventory from instead of this computer's (tests; a saved dump).
pub const TABLES_ENV: &str = "WIPEPROOF_SMBIOS_TABLES";

/// Reads the inventory of the computer the station runs on (or of the tables [`TABLES_ENV`]
/// names).
pub fn read_inventory() -> Inventory {
    match std::env::var_os(TABLES_ENV) {
        Some(dir) => inventory::read_saved_tables(&PathBuf::from(dir)),
        None => inventory::read(),
    }
}

/// A drive of the computer: how to tell it is still the same drive, and how its wipe ended.
struct Member {
    serial: Option<String>,
    size_bytes: u64,
    ended: Option<Record>,
}

/// The computer, when it is the asset.
pub struct Computer {
    pub inventory: Inventory,
    pub host: Host,
    members: BTreeMap<String, Member>,
    issued: bool,
}

impl Computer {
    /// The computer of a station that started with `present`, if the setting makes it the
    /// asset (`live_image`: whether the station runs on the live image).
    pub fn at_start(
        setting: HostIsAsset,
        live_image: bool,
        present: &[DriveInfo],
        inventory: impl FnOnce() -> Inventory,
    ) -> Option<Computer> {
        if !setting.may_hold(live_image) {
            return None;
        }
        let members = present
            .iter()
            .filter(|d| !d.protected)
            .filter(|d| setting.holds(live_image, true, d.transport == Transport::Usb))
            .map(|d| {
                (
                    d.path.clone(),
                    Member {
                        serial: d.serial.clone(),
                        size_bytes: d.size_bytes,
                        ended: None,
                    },
                )
            })
            .collect();
        let inventory = inventory();
        Some(Computer {
            host: Host::of(&inventory),
            inventory,
            members,
            issued: false,
        })
    }

    /// The host, when the drive `d` at `path` is one of the computer's.
    pub fn host_of(&self, d: &DriveInfo) -> Option<&Host> {
        let m = self.members.get(&d.path)?;
        (m.serial == d.serial && m.size_bytes == d.size_bytes).then_some(&self.host)
    }

    /// Notes that the wipe of the drive at `path` ended with the certificate `record`.
    pub fn ended(&mut self, path: &str, record: &Record) {
        if let Some(m) = self.members.get_mut(path)
            && m.serial == record.media.serial
            && record.host.is_some()
        {
            m.ended = Some(record.clone());
        }
    }

    /// The drives' certificates, once every drive of the computer has ended and the computer
    /// certificate has not been issued yet; marks it issued.
    pub fn due(&mut self) -> Option<Vec<Record>> {
        if self.issued || self.members.values().any(|m| m.ended.is_none()) {
            return None;
        }
        self.issued = true;
        Some(
            self.members
                .values()
                .filter_map(|m| m.ended.clone())
                .collect(),
        )
    }

    /// Whether a drive of the computer has not ended yet.
    pub fn waiting(&self) -> bool {
        !self.issued && self.members.values().any(|m| m.ended.is_none())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drive(path: &str, transport: Transport, protected: bool) -> DriveInfo {
        DriveInfo {
            path: path.into(),
            model: Some("Samsung SSD 870 EVO 1TB".into()),
            serial: Some(format!("S-{path}")),
            firmware: None,
            wwn: None,
            transport,
            media: crate::device::Media::Ssd,
            size_bytes: 1_000_204_886_016,
            logical_sector_size: 512,
            physical_sector_size: 512,
            removable: false,
            read_only: false,
            protected,
            protected_reason: protected.then(|| "holds the running system".into()),
            capabilities: None,
            firmware_methods: vec![],
            health: crate::device::health::Health::unknown("not read in this test"),
            copy_on_write: None,
            busy: None,
            vendor: None,
            disk: None,
            identity: Default::default(),
        }
    }

    #[test]
    fn the_computers_drives_are_those_present_at_start_that_the_setting_takes() {
        let present = [
            drive("/dev/sda", Transport::Sata, false),
            drive("/dev/sdb", Transport::Usb, false),
            drive("/dev/sdc", Transport::Sata, true),
        ];
        let empty = || Inventory::empty(inventory::Source::None);
        assert!(Computer::at_start(HostIsAsset::False, true, &present, empty).is_none());
        assert!(Computer::at_start(HostIsAsset::Auto, false, &present, empty).is_none());
        let auto = Computer::at_start(HostIsAsset::Auto, true, &present, empty).unwrap();
        assert_eq!(auto.members.keys().collect::<Vec<_>>(), ["/dev/sda"]);
        let all = Computer::at_start(HostIsAsset::True, false, &present, empty).unwrap();
        assert_eq!(
            all.members.keys().collect::<Vec<_>>(),
            ["/dev/sda", "/dev/sdb"]
        );
        // Another drive in the same place is not the computer's.
        let mut other = present[0].clone();
        other.serial = Some("SWAPPED".into());
        assert!(auto.host_of(&present[0]).is_some());
        assert!(auto.host_of(&other).is_none());
    }

    #[test]
    fn the_certificate_is_due_once_every_drive_ended_and_only_once() {
        let present = [
            drive("/dev/sda", Transport::Sata, false),
            drive("/dev/sdb", Transport::Nvme, false),
        ];
        let empty = || Inventory::empty(inventory::Source::None);
        let mut c = Computer::at_start(HostIsAsset::True, false, &present, empty).unwrap();
        let mut r = crate::certificate::record::tests::sample_record();
        r.host = Some(c.host.clone());
        r.media.serial = Some("S-/dev/sda".into());
        c.ended("/dev/sda", &r);
        assert!(c.due().is_none() && c.waiting());
        r.media.serial = Some("S-/dev/sdb".into());
        c.ended("/dev/sdb", &r);
        assert_eq!(c.due().map(|v| v.len()), Some(2));
        assert!(c.due().is_none() && !c.waiting());
        // No drive at all: due at once (no storage found).
        let mut none = Computer::at_start(HostIsAsset::True, false, &[], empty).unwrap();
        assert_eq!(none.due().map(|v| v.len()), Some(0));
    }
}
