//! Who a drive is: model, serial, firmware revision and world wide name.
//!
//! A live system often runs no udev daemon, so identity comes from the first source that has
//! it: udev properties, then sysfs (`device/model`, `device/serial`, `vpd_pg80`, `wwid`, ...),
//! then the drive itself (ATA IDENTIFY DEVICE through SG_IO, NVMe Identify Controller through
//! the admin passthrough ioctl). SATA drives ask the drive first because the SCSI translation
//! in sysfs truncates ATA model names to 16 characters and firmware revisions to 4.

use std::path::Path;
use std::time::Duration;

use super::ata::{self, AtaCommand};
use super::nvme::{self, AdminCommand};
use super::scsi;
use super::sysfs::Sysfs;
use super::transport::{DataPhase, LinuxDevice, NvmeTransport, ScsiTransport};

/// What bus a drive hangs off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Sata,
    Sas,
    Scsi,
    Nvme,
    Usb,
    Mmc,
    Virtio,
    Loop,
    /// A regular file holding a disk image.
    File,
    Other,
}

impl Transport {
    pub fn as_str(&self) -> &'static str {
        match self {
            Transport::Sata => "sata",
            Transport::Sas => "sas",
            Transport::Scsi => "scsi",
            Transport::Nvme => "nvme",
            Transport::Usb => "usb",
            Transport::Mmc => "mmc",
            Transport::Virtio => "virtio",
            Transport::Loop => "loop",
            Transport::File => "file",
            Transport::Other => "other",
        }
    }
}

/// What kind of storage medium it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Media {
    Hdd,
    Ssd,
    Nvme,
    Flash,
    Virtual,
}

impl Media {
    pub fn as_str(&self) -> &'static str {
        match self {
            Media::Hdd => "hdd",
            Media::Ssd => "ssd",
            Media::Nvme => "nvme",
            Media::Flash => "flash",
            Media::Virtual => "virtual",
        }
    }
}

/// A drive's identity; fields the drive does not report are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// Manufacturer, where the drive or bus names one (SCSI/USB vendor, udev ID_VENDOR).
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub firmware: Option<String>,
    pub wwn: Option<String>,
    /// IDENTIFY DEVICE data, when it was read (SATA drives).
    pub ata: Option<ata::AtaIdentify>,
    /// Identify Controller data, when it was read (NVMe drives).
    pub nvme: Option<nvme::IdentifyController>,
}

impl Identity {
    /// Fills each missing field from `other`.
    fn or(mut self, other: Identity) -> Identity {
        self.vendor = self.vendor.or(other.vendor);
        self.model = self.model.or(other.model);
        self.serial = self.serial.or(other.serial);
        self.firmware = self.firmware.or(other.firmware);
        self.wwn = self.wwn.or(other.wwn);
        self.ata = self.ata.or(other.ata);
        self.nvme = self.nvme.or(other.nvme);
        self
    }

    fn complete(&self) -> bool {
        self.model.is_some() && self.serial.is_some() && self.firmware.is_some()
    }
}

/// Works out the transport of a disk from its kernel name and sysfs position.
pub fn transport_of(sysfs: &Sysfs, disk: &str) -> Transport {
    if disk.starts_with("loop") {
        return Transport::Loop;
    }
    if disk.starts_with("nvme") {
        return Transport::Nvme;
    }
    if disk.starts_with("mmcblk") {
        return Transport::Mmc;
    }
    let path = sysfs
        .device_path(disk)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let has_segment = |prefix: &str| {
        path.split('/').any(|seg| {
            seg.strip_prefix(prefix)
                .is_some_and(|rest| rest.chars().next().is_some_and(|c| c.is_ascii_digit()))
        })
    };
    if has_segment("usb") {
        return Transport::Usb;
    }
    if sysfs.driver(disk).as_deref() == Some("virtio_blk") || has_segment("virtio") {
        return Transport::Virtio;
    }
    if has_segment("ata") {
        return Transport::Sata;
    }
    if path.contains("/end_device-") || path.contains("/expander-") {
        return Transport::Sas;
    }
    if disk.starts_with("sd") {
        return Transport::Scsi;
    }
    Transport::Other
}

/// Works out the medium from the transport and what the drive says about rotation.
pub fn media_of(sysfs: &Sysfs, disk: &str, transport: Transport, id: &Identity) -> Media {
    let rotational = sysfs.attr(disk, "queue/rotational").as_deref() == Some("1");
    match transport {
        Transport::Loop | Transport::Virtio | Transport::File => Media::Virtual,
        Transport::Nvme => Media::Nvme,
        Transport::Mmc => Media::Flash,
        Transport::Usb if !rotational => Media::Flash,
        _ => {
            let solid = id.ata.as_ref().map(|a| a.is_solid_state());
            match solid {
                Some(true) => Media::Ssd,
                Some(false) if id.ata.as_ref().and_then(|a| a.rotation_rate).is_some() => {
                    Media::Hdd
                }
                _ if rotational => Media::Hdd,
                _ => Media::Ssd,
            }
        }
    }
}

/// How much effort identification may spend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdentifyOptions {
    /// Read udev's database (only meaningful for the real `/sys`).
    pub udev: bool,
    /// Send identify commands to the drive (needs permission to open it).
    pub drive_commands: bool,
}

/// Identifies a whole disk.
pub fn identify(
    sysfs: &Sysfs,
    disk: &str,
    transport: Transport,
    opts: IdentifyOptions,
) -> Identity {
    if transport == Transport::Loop {
        return loop_identity(sysfs, disk);
    }
    let mut id = if opts.udev {
        udev_identity(disk)
    } else {
        Identity::default()
    };
    let dev_path = Path::new("/dev").join(disk);
    // For SATA the drive's own answer is more complete than sysfs; use it first.
    if opts.drive_commands && transport == Transport::Sata {
        id = ata_identity(&dev_path).or(id);
    }
    id = id.or(sysfs_identity(sysfs, disk, transport));
    if opts.drive_commands && !id.complete() {
        match transport {
            Transport::Nvme => id = id.or(nvme_identity(&dev_path)),
            Transport::Sata => {}
            Transport::Sas | Transport::Scsi | Transport::Usb => {
                id = id.or(ata_identity(&dev_path)).or(scsi_identity(&dev_path))
            }
            _ => {}
        }
    }
    id
}

fn loop_identity(sysfs: &Sysfs, disk: &str) -> Identity {
    let backing = sysfs.attr(disk, "loop/backing_file");
    Identity {
        model: Some("Loop device".into()),
        serial: backing.as_deref().and_then(file_serial),
        ..Identity::default()
    }
}

/// The serial of an image file: its file name without the extension (so a manifest's serial
/// can name the image).
pub fn file_serial(path: &str) -> Option<String> {
    Path::new(path.trim_end_matches(" (deleted)"))
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| !s.is_empty())
}

fn udev_identity(disk: &str) -> Identity {
    let Ok(dev) = udev::Device::from_subsystem_sysname("block".into(), disk.into()) else {
        return Identity::default();
    };
    let prop = |k: &str| {
        dev.property_value(k)
            .map(|v| v.to_string_lossy().trim().to_string())
            .filter(|v| !v.is_empty())
    };
    Identity {
        vendor: prop("ID_VENDOR_ENC")
            .map(|m| decode_udev_escapes(&m).trim().to_string())
            .filter(|v| !v.is_empty() && v != "ATA"),
        model: prop("ID_MODEL_ENC")
            .map(|m| decode_udev_escapes(&m).trim().to_string())
            .or_else(|| prop("ID_MODEL").map(|m| m.replace('_', " "))),
        serial: prop("ID_SERIAL_SHORT"),
        firmware: prop("ID_REVISION"),
        wwn: prop("ID_WWN_WITH_EXTENSION").or_else(|| prop("ID_WWN")),
        ..Identity::default()
    }
}

/// Decodes udev's `\xNN` escapes (used in `ID_MODEL_ENC`).
pub fn decode_udev_escapes(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && bytes.get(i + 1) == Some(&b'x')
            && i + 4 <= bytes.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 2..i + 4], 16)
        {
            out.push(v);
            i += 4;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn sysfs_identity(sysfs: &Sysfs, disk: &str, transport: Transport) -> Identity {
    let a = |rel: &str| sysfs.attr(disk, rel);
    match transport {
        Transport::Nvme => Identity {
            model: a("device/model"),
            serial: a("device/serial"),
            firmware: a("device/firmware_rev"),
            wwn: a("wwid").or_else(|| a("eui")).or_else(|| a("nguid")),
            ..Identity::default()
        },
        Transport::Mmc => Identity {
            model: a("device/name"),
            serial: a("device/serial"),
            firmware: a("device/fwrev"),
            ..Identity::default()
        },
        Transport::Virtio => Identity {
            model: Some("VirtIO block device".into()),
            serial: a("serial"),
            ..Identity::default()
        },
        _ => {
            let vendor = a("device/vendor").filter(|v| v != "ATA");
            let model = a("device/model").map(|m| match &vendor {
                Some(v) => format!("{v} {m}"),
                None => m,
            });
            let serial = sysfs
                .attr_bytes(disk, "device/vpd_pg80")
                .and_then(|p| scsi::decode_unit_serial(&p))
                .or_else(|| a("device/serial"));
            let wwn = a("device/wwid")
                .and_then(|w| {
                    w.strip_prefix("naa.")
                        .map(|h| format!("0x{}", h.to_lowercase()))
                })
                .or_else(|| {
                    sysfs
                        .attr_bytes(disk, "device/vpd_pg83")
                        .and_then(|p| scsi::decode_naa(&p))
                });
            Identity {
                vendor,
                model,
                serial,
                firmware: a("device/rev"),
                wwn,
                ..Identity::default()
            }
        }
    }
}

const IDENTIFY_TIMEOUT: Duration = Duration::from_secs(10);

fn ata_identity(dev_path: &Path) -> Identity {
    let Ok(mut dev) = LinuxDevice::open(dev_path, false) else {
        return Identity::default();
    };
    match read_ata_identify(&mut dev) {
        Some(id) => Identity {
            vendor: None,
            model: Some(id.model.clone()).filter(|s| !s.is_empty()),
            serial: Some(id.serial.clone()).filter(|s| !s.is_empty()),
            firmware: Some(id.firmware.clone()).filter(|s| !s.is_empty()),
            wwn: id.wwn.map(|w| format!("0x{w:016x}")),
            ata: Some(id),
            nvme: None,
        },
        None => Identity::default(),
    }
}

/// Sends IDENTIFY DEVICE through ATA PASS-THROUGH (16) and decodes the answer.
pub fn read_ata_identify(dev: &mut dyn ScsiTransport) -> Option<ata::AtaIdentify> {
    let mut data = vec![0u8; 512];
    let cdb = AtaCommand::identify().to_cdb16();
    let reply = dev
        .scsi(&cdb, DataPhase::FromDevice(&mut data), IDENTIFY_TIMEOUT)
        .ok()?;
    if !reply.is_good() {
        return None;
    }
    ata::decode_identify(&data).ok()
}

fn nvme_identity(dev_path: &Path) -> Identity {
    let Ok(mut dev) = LinuxDevice::open(dev_path, false) else {
        return Identity::default();
    };
    match read_nvme_identify(&mut dev) {
        Some(c) => Identity {
            vendor: None,
            model: Some(c.model.clone()).filter(|s| !s.is_empty()),
            serial: Some(c.serial.clone()).filter(|s| !s.is_empty()),
            firmware: Some(c.firmware.clone()).filter(|s| !s.is_empty()),
            wwn: None,
            ata: None,
            nvme: Some(c),
        },
        None => Identity::default(),
    }
}

/// Sends Identify Controller and decodes the answer.
pub fn read_nvme_identify(dev: &mut dyn NvmeTransport) -> Option<nvme::IdentifyController> {
    let mut data = vec![0u8; 4096];
    let c = dev
        .admin(
            &AdminCommand::identify_controller(),
            &mut data,
            IDENTIFY_TIMEOUT,
        )
        .ok()?;
    if !c.is_success() {
        return None;
    }
    nvme::decode_identify_controller(&data).ok()
}

fn scsi_identity(dev_path: &Path) -> Identity {
    let Ok(mut dev) = LinuxDevice::open(dev_path, false) else {
        return Identity::default();
    };
    let mut page = vec![0u8; 255];
    let cdb = scsi::inquiry_vpd(0x80, page.len() as u16);
    let serial = dev
        .scsi(&cdb, DataPhase::FromDevice(&mut page), IDENTIFY_TIMEOUT)
        .ok()
        .filter(|r| r.is_good())
        .and_then(|_| scsi::decode_unit_serial(&page));
    Identity {
        serial,
        ..Identity::default()
    }
}

#[cfg(test)]
mod tests {
    use super::super::sysfs::fixture;
    use super::*;

    #[test]
    fn udev_escapes() {
        assert_eq!(
            decode_udev_escapes("WDC\\x20WD40EFRX\\x2d68N"),
            "WDC WD40EFRX-68N"
        );
        assert_eq!(decode_udev_escapes("bad\\xZZ\\x"), "bad\\xZZ\\x");
    }

    #[test]
    fn file_serial_is_the_stem() {
        assert_eq!(
            file_serial("/dev/shm/SN-123.img").as_deref(),
            Some("SN-123")
        );
        assert_eq!(file_serial("/x/disk (deleted)").as_deref(), Some("disk"));
    }

    #[test]
    fn sysfs_identity_for_scsi_nvme_and_loop() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fixture::disk(
            root,
            "sdb",
            "8:16",
            &[
                ("device/vendor", "SEAGATE"),
                ("device/model", "ST4000NM0023"),
                ("device/rev", "0004"),
                ("device/wwid", "naa.5000C500A1B2C3D4"),
            ],
        );
        std::fs::write(
            root.join("block/sdb/device/vpd_pg80"),
            [
                0u8, 0x80, 0, 8, b'Z', b'1', b'Z', b'2', b'A', b'B', b'C', b' ',
            ],
        )
        .unwrap();
        fixture::disk(
            root,
            "nvme0n1",
            "259:0",
            &[
                ("device/model", "QEMU NVMe Ctrl"),
                ("device/serial", "deadbeef"),
                ("device/firmware_rev", "7.2.0"),
            ],
        );
        fixture::disk(
            root,
            "loop3",
            "7:3",
            &[("loop/backing_file", "/dev/shm/ASSET-9.img")],
        );
        let sysfs = Sysfs::at(root);
        let opts = IdentifyOptions {
            udev: false,
            drive_commands: false,
        };
        let sdb = identify(&sysfs, "sdb", Transport::Scsi, opts);
        assert_eq!(sdb.model.as_deref(), Some("SEAGATE ST4000NM0023"));
        assert_eq!(sdb.serial.as_deref(), Some("Z1Z2ABC"));
        assert_eq!(sdb.firmware.as_deref(), Some("0004"));
        assert_eq!(sdb.wwn.as_deref(), Some("0x5000c500a1b2c3d4"));
        let nvme = identify(&sysfs, "nvme0n1", Transport::Nvme, opts);
        assert_eq!(nvme.serial.as_deref(), Some("deadbeef"));
        assert_eq!(nvme.firmware.as_deref(), Some("7.2.0"));
        let lp = identify(&sysfs, "loop3", Transport::Loop, opts);
        assert_eq!(lp.serial.as_deref(), Some("ASSET-9"));
        assert_eq!(transport_of(&sysfs, "nvme0n1"), Transport::Nvme);
        assert_eq!(transport_of(&sysfs, "loop3"), Transport::Loop);
        assert_eq!(transport_of(&sysfs, "sdb"), Transport::Scsi);
    }
}
