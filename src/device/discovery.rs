//! Drive discovery: every whole-disk block device, with identity, geometry and the guard's
//! verdict, as `wipeproof list` shows it.

use std::path::Path;

use serde::Serialize;

use super::capabilities::Capabilities;
use super::cow::CowFilesystem;
use super::guard::Guard;
use super::guard_context::GuardContext;
use super::health::{self, Health};
use super::identity::{self, IdentifyOptions, Identity, Media, Transport};
use super::sysfs::{BlockName, Sysfs};
use super::target::{Target, TargetKind};
use super::verdict::{self, Probe, Verdict};

/// One drive as `list` reports it. The JSON field names are a stable contract.
#[derive(Debug, Clone, Serialize)]
pub struct DriveInfo {
    pub path: String,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub firmware: Option<String>,
    pub wwn: Option<String>,
    pub transport: Transport,
    pub media: Media,
    pub size_bytes: u64,
    pub logical_sector_size: u32,
    pub physical_sector_size: u32,
    pub removable: bool,
    pub read_only: bool,
    pub protected: bool,
    pub protected_reason: Option<String>,
    /// Another process (or the kernel for one) holds the drive, exclusively or with a lock, as a
    /// wipe in progress does, so a wipe would be refused: `{"pid", "program", "reason"}`, the
    /// holder when it is known and the wipe's own words after the drive's path; `null` if not.
    pub busy: Option<Busy>,
    /// What the drive's own commands can do (ATA security and sanitize, NVMe format and
    /// sanitize, SCSI sanitize, hidden areas); `null` where the drive cannot be asked.
    pub capabilities: Option<Capabilities>,
    /// The firmware erase methods the drive supports (filled in by the erase layer's rules).
    pub firmware_methods: Vec<String>,
    /// The drive's own health report (SMART), read when the drive was described.
    pub health: Health,
    /// The copy-on-write filesystem holding an image file opened with `--allow-cow`: only the
    /// file is overwritten, earlier copies of its data may survive. Not part of `list`'s JSON.
    #[serde(skip)]
    pub copy_on_write: Option<CowFilesystem>,
    /// Manufacturer, when the drive or its bus names one; not part of `list`'s JSON.
    #[serde(skip)]
    pub vendor: Option<String>,
    /// Kernel name (e.g. `sda`); not part of the JSON contract.
    #[serde(skip)]
    pub disk: Option<String>,
    /// Identify data read from the drive, if any.
    #[serde(skip)]
    pub identity: Identity,
}

/// Who holds a drive, and what the wipe would say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Busy {
    /// The holder's process id, when it is known.
    pub pid: Option<u32>,
    /// The holder's program name (`/proc/PID/comm`), when it is known.
    pub program: Option<String>,
    /// Why a wipe would be refused, after the drive's path (`is in use by ...`).
    pub reason: String,
}

impl DriveInfo {
    /// Judges the drive by the wipe's own checks ([`verdict::judge`]) and takes the verdict as
    /// its state. A look that could not be made leaves the guard's verdict as it was.
    pub fn judge(&mut self, sysfs: &Sysfs, guard: &Guard, probe: Probe) {
        let Some(disk) = self.disk.clone() else {
            return;
        };
        let name = BlockName {
            disk: disk.clone(),
            partition: None,
        };
        let Some(devnum) = sysfs.devnum(&name) else {
            return;
        };
        if let Some(v) = verdict::judge(&disk, devnum, guard, probe) {
            self.set_verdict(v);
        }
    }

    /// Takes a verdict as the drive's state: protected with the guard's reasons, busy with the
    /// holder, or neither.
    pub fn set_verdict(&mut self, verdict: Verdict) {
        (self.protected, self.protected_reason, self.busy) = match verdict {
            Verdict::Ready => (false, None, None),
            Verdict::Protected { reason } => (true, Some(reason), None),
            Verdict::Busy { reason, holder } => (
                false,
                None,
                Some(Busy {
                    pid: holder.as_ref().and_then(|h| h.pid),
                    program: holder.and_then(|h| h.program),
                    reason,
                }),
            ),
        };
    }

    /// Why a wipe of the drive would be refused (protected or busy); `None` if it would not.
    pub fn refusal(&self) -> Option<&str> {
        self.protected_reason
            .as_deref()
            .or(self.busy.as_ref().map(|b| b.reason.as_str()))
    }
}

/// Kernel names that are not drives: stacked devices, RAM disks, optical drives, floppies,
/// network block devices and eMMC boot/RPMB areas.
pub fn is_listed(name: &str) -> bool {
    const SKIP: &[&str] = &[
        "dm-", "md", "zram", "ram", "sr", "fd", "nbd", "zd", "rbd", "drbd",
    ];
    if SKIP.iter().any(|p| name.starts_with(p)) {
        return false;
    }
    !(name.starts_with("mmcblk") && (name.contains("boot") || name.contains("rpmb")))
}

/// Lists all drives of the system, each with the wipe's verdict: the system is looked at once
/// (one guard for every drive), and each drive is judged by the wipe's own checks, opened
/// exclusively for an instant ([`Probe::Exclusive`]) to see whether another program holds it.
pub fn discover(ctx: &GuardContext) -> Vec<DriveInfo> {
    let guard = ctx.guard();
    let opts = IdentifyOptions {
        udev: true,
        drive_commands: nix::unistd::geteuid().is_root(),
    };
    let mut drives = discover_in(&ctx.sysfs, &guard, opts);
    for d in &mut drives {
        d.judge(&ctx.sysfs, &guard, Probe::Exclusive);
    }
    drives
}

/// Lists the drives of a sysfs tree with a given guard verdict.
pub fn discover_in(sysfs: &Sysfs, guard: &Guard, opts: IdentifyOptions) -> Vec<DriveInfo> {
    sysfs
        .disks()
        .into_iter()
        .filter(|d| is_listed(d))
        .filter_map(|disk| describe_disk(sysfs, guard, &disk, opts))
        .collect()
}

/// Describes one whole disk by kernel name; `None` if it has no medium (size 0).
pub fn describe_disk(
    sysfs: &Sysfs,
    guard: &Guard,
    disk: &str,
    opts: IdentifyOptions,
) -> Option<DriveInfo> {
    let sectors_512 = sysfs.attr_u64(disk, "size")?;
    if sectors_512 == 0 {
        return None;
    }
    let transport = identity::transport_of(sysfs, disk);
    let id = identity::identify(sysfs, disk, transport, opts);
    let media = identity::media_of(sysfs, disk, transport, &id);
    let logical = sysfs
        .attr_u64(disk, "queue/logical_block_size")
        .unwrap_or(512) as u32;
    let physical = sysfs
        .attr_u64(disk, "queue/physical_block_size")
        .unwrap_or(logical as u64) as u32;
    let reason = guard
        .reason(disk)
        .map(|_| super::target::join_reasons(guard.protections(disk)));
    let capabilities = if opts.drive_commands {
        let caps =
            super::capabilities::read_for_disk(&std::path::Path::new("/dev").join(disk), transport);
        (!caps.is_empty()).then_some(caps)
    } else {
        None
    };
    let health = if opts.drive_commands
        || matches!(
            transport,
            Transport::Loop
                | Transport::Virtio
                | Transport::File
                | Transport::Mmc
                | Transport::Other
        ) {
        health::read_for_disk(&std::path::Path::new("/dev").join(disk), transport)
    } else {
        Health::unknown("reading a drive's health needs root")
    };
    Some(DriveInfo {
        path: format!("/dev/{disk}"),
        vendor: id.vendor.clone(),
        model: id.model.clone(),
        serial: id.serial.clone(),
        firmware: id.firmware.clone(),
        wwn: id.wwn.clone(),
        transport,
        media,
        // sysfs `size` counts 512-byte units whatever the sector size.
        size_bytes: sectors_512 * 512,
        logical_sector_size: logical,
        physical_sector_size: physical,
        removable: sysfs.attr(disk, "removable").as_deref() == Some("1"),
        read_only: sysfs.attr(disk, "ro").as_deref() == Some("1"),
        protected: reason.is_some(),
        protected_reason: reason,
        busy: None,
        capabilities,
        firmware_methods: Vec::new(),
        health,
        copy_on_write: None,
        disk: Some(disk.to_string()),
        identity: id,
    })
}

/// Describes an open target (drive or image file) for a wipe.
pub fn describe_target(target: &Target, ctx: &GuardContext) -> DriveInfo {
    let geometry = target.geometry();
    match target.kind() {
        TargetKind::BlockDevice { disk, .. } => {
            let opts = IdentifyOptions {
                udev: true,
                drive_commands: nix::unistd::geteuid().is_root(),
            };
            // The target is held open exclusively by us; the guard has already cleared it.
            let mut info = describe_disk(&ctx.sysfs, &Guard::default(), disk, opts)
                .unwrap_or_else(|| image_like(target.path(), Transport::Other));
            info.path = target.path().display().to_string();
            info.size_bytes = geometry.size_bytes;
            info.logical_sector_size = geometry.logical_sector_size;
            info.physical_sector_size = geometry.physical_sector_size;
            info
        }
        TargetKind::ImageFile => {
            let mut info = image_like(target.path(), Transport::File);
            info.copy_on_write = target.copy_on_write();
            info.size_bytes = geometry.size_bytes;
            info.logical_sector_size = geometry.logical_sector_size;
            info.physical_sector_size = geometry.physical_sector_size;
            info
        }
    }
}

fn image_like(path: &Path, transport: Transport) -> DriveInfo {
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    DriveInfo {
        path: abs.display().to_string(),
        vendor: None,
        model: Some("Disk image file".into()),
        serial: identity::file_serial(&abs.to_string_lossy()),
        firmware: None,
        wwn: None,
        transport,
        media: Media::Virtual,
        size_bytes: 0,
        logical_sector_size: 512,
        physical_sector_size: 512,
        removable: false,
        read_only: false,
        protected: false,
        protected_reason: None,
        busy: None,
        capabilities: None,
        firmware_methods: Vec::new(),
        health: Health::unknown(match transport {
            Transport::File => "an image file has no SMART",
            _ => "the drive's health could not be read",
        }),
        copy_on_write: None,
        disk: None,
        identity: Identity::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::facts::{Backing, FileId, LoopInfo, SystemFacts};
    use super::super::sysfs::{DevNum, fixture};
    use super::*;

    #[test]
    fn lists_whole_disks_with_geometry_and_skips_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fixture::disk(
            root,
            "loop0",
            "7:0",
            &[
                ("size", "131072"),
                ("queue/logical_block_size", "4096"),
                ("queue/physical_block_size", "4096"),
                ("loop/backing_file", "/dev/shm/a.img"),
                ("ro", "0"),
                ("removable", "0"),
            ],
        );
        fixture::disk(root, "loop1", "7:1", &[("size", "0")]);
        fixture::disk(root, "zram0", "253:0", &[("size", "1024")]);
        fixture::disk(root, "dm-0", "254:0", &[("size", "1024")]);
        fixture::disk(root, "sr0", "11:0", &[("size", "1024")]);
        fixture::partition(root, "loop0", "loop0p1", "259:0");
        let sysfs = Sysfs::at(root);
        let facts = SystemFacts {
            loops: [(
                "loop0".to_string(),
                LoopInfo {
                    file: "/dev/shm/a.img".into(),
                    backing: Some(Backing::File(FileId {
                        dev: DevNum {
                            major: 0,
                            minor: 23,
                        },
                        ino: 7,
                    })),
                },
            )]
            .into(),
            ..SystemFacts::default()
        };
        let guard = Guard::compute(&sysfs, &facts);
        let opts = IdentifyOptions {
            udev: false,
            drive_commands: false,
        };
        let drives = discover_in(&sysfs, &guard, opts);
        assert_eq!(drives.len(), 1, "{drives:?}");
        let d = &drives[0];
        assert_eq!(d.path, "/dev/loop0");
        assert_eq!(d.size_bytes, 64 << 20);
        assert_eq!(
            (d.logical_sector_size, d.physical_sector_size),
            (4096, 4096)
        );
        assert_eq!(d.transport, Transport::Loop);
        assert_eq!(d.media, Media::Virtual);
        assert_eq!(d.serial.as_deref(), Some("a"));
        assert!(!d.protected);
        let json = serde_json::to_value(d).unwrap();
        let keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "busy",
                "capabilities",
                "firmware",
                "firmware_methods",
                "health",
                "logical_sector_size",
                "media",
                "model",
                "path",
                "physical_sector_size",
                "protected",
                "protected_reason",
                "read_only",
                "removable",
                "serial",
                "size_bytes",
                "transport",
                "wwn"
            ]
        );
    }
}
