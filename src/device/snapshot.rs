//! One scan of sysfs that describes every block device: its number, partitions, holders,
//! slaves, read-only flag, and what a dm or md device is.
//!
//! The guard's stack and holder facts are derived from a [`Snapshot`] instead of walking
//! `/sys/block` again for every drive: `list`, a wipe of many drives and the station take one
//! scan and bring only what can have changed up to date ([`Snapshot::refresh_names`] for disks
//! that came or went, [`Snapshot::refresh_disk`] for one disk's own directory). Reading sysfs
//! costs a path walk per attribute; a full scan is a few hundred of them on a machine with
//! a dozen loop devices, so it is done once per `list`, once per wipe run, and once per
//! periodic look of the station ([`full_scans`] counts them).

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use super::sysfs::{BlockName, DevNum, Sysfs, natural_key};

static FULL_SCANS: AtomicU64 = AtomicU64::new(0);
static DISK_RESCANS: AtomicU64 = AtomicU64::new(0);

/// How many full scans of `/sys/block` this process has taken.
pub fn full_scans() -> u64 {
    FULL_SCANS.load(Ordering::Relaxed)
}

/// How many single disks this process has scanned again after a full scan.
pub fn disk_rescans() -> u64 {
    DISK_RESCANS.load(Ordering::Relaxed)
}

/// A partition of a disk, as sysfs showed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartEntry {
    pub name: String,
    pub dev: Option<DevNum>,
    /// Devices built on the partition (its `holders/`).
    pub holders: Vec<String>,
}

/// A whole disk (or dm, md, loop device), as sysfs showed it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskEntry {
    pub dev: Option<DevNum>,
    pub partitions: Vec<PartEntry>,
    pub holders: Vec<String>,
    pub slaves: Vec<String>,
    pub read_only: bool,
    /// `dm/uuid` and `dm/name`, for a device-mapper device.
    pub dm: Option<(String, Option<String>)>,
    /// `md/level`, for an md array.
    pub md_level: Option<String>,
}

/// Every block device of a sysfs tree, read in one pass.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// By kernel name.
    disks: BTreeMap<String, DiskEntry>,
    /// Names in natural order (`loop2` before `loop10`).
    order: Vec<String>,
}

impl Snapshot {
    /// Scans every disk of `sysfs` now.
    pub fn take(sysfs: &Sysfs) -> Snapshot {
        FULL_SCANS.fetch_add(1, Ordering::Relaxed);
        let mut snap = Snapshot::default();
        for name in sysfs.disks() {
            if let Some(entry) = scan_disk(sysfs, &name) {
                snap.disks.insert(name, entry);
            }
        }
        snap.reorder();
        snap
    }

    fn reorder(&mut self) {
        self.order = self.disks.keys().cloned().collect();
        self.order.sort_by_key(|a| natural_key(a));
    }

    /// Brings the list of disks up to date (one read of `/sys/block`): disks that appeared
    /// since are scanned, disks that went are dropped. Disks already known are not read again.
    pub fn refresh_names(&mut self, sysfs: &Sysfs) {
        let now = sysfs.disks();
        let before = self.disks.len();
        self.disks.retain(|name, _| now.contains(name));
        let mut changed = self.disks.len() != before;
        for name in now {
            if let std::collections::btree_map::Entry::Vacant(slot) = self.disks.entry(name) {
                DISK_RESCANS.fetch_add(1, Ordering::Relaxed);
                if let Some(entry) = scan_disk(sysfs, slot.key()) {
                    slot.insert(entry);
                    changed = true;
                }
            }
        }
        if changed {
            self.reorder();
        }
    }

    /// Reads one disk's directory again (its number, partitions, holders, slaves, flags), or
    /// drops it if it is gone.
    pub fn refresh_disk(&mut self, sysfs: &Sysfs, name: &str) {
        DISK_RESCANS.fetch_add(1, Ordering::Relaxed);
        let known = self.disks.contains_key(name);
        match scan_disk(sysfs, name) {
            Some(entry) => {
                self.disks.insert(name.to_string(), entry);
            }
            None => {
                self.disks.remove(name);
            }
        }
        if known != self.disks.contains_key(name) {
            self.reorder();
        }
    }

    /// Kernel names of all whole disks, in natural order.
    pub fn disks(&self) -> impl Iterator<Item = &str> {
        self.order.iter().map(String::as_str)
    }

    /// One disk's entry by kernel name.
    pub fn disk(&self, name: &str) -> Option<&DiskEntry> {
        self.disks.get(name)
    }

    /// The device number of a whole disk by kernel name.
    pub fn disk_devnum(&self, name: &str) -> Option<DevNum> {
        self.disks.get(name)?.dev
    }

    /// Maps every disk and partition's device number to its name.
    pub fn index(&self) -> HashMap<DevNum, BlockName> {
        let mut map = HashMap::new();
        for (disk, entry) in &self.disks {
            if let Some(n) = entry.dev {
                map.insert(
                    n,
                    BlockName {
                        disk: disk.clone(),
                        partition: None,
                    },
                );
            }
            for part in &entry.partitions {
                if let Some(n) = part.dev {
                    map.insert(
                        n,
                        BlockName {
                            disk: disk.clone(),
                            partition: Some(part.name.clone()),
                        },
                    );
                }
            }
        }
        map
    }

    /// The name of the disk or partition with device number `dev`.
    pub fn name_of(&self, dev: DevNum) -> Option<BlockName> {
        self.disks.iter().find_map(|(disk, entry)| {
            if entry.dev == Some(dev) {
                return Some(BlockName {
                    disk: disk.clone(),
                    partition: None,
                });
            }
            let part = entry.partitions.iter().find(|p| p.dev == Some(dev))?;
            Some(BlockName {
                disk: disk.clone(),
                partition: Some(part.name.clone()),
            })
        })
    }

    /// Devices that hold a disk or partition, by kernel name.
    pub fn holders(&self, dev: &BlockName) -> &[String] {
        let Some(entry) = self.disks.get(&dev.disk) else {
            return &[];
        };
        match &dev.partition {
            None => &entry.holders,
            Some(p) => entry
                .partitions
                .iter()
                .find(|e| &e.name == p)
                .map(|e| e.holders.as_slice())
                .unwrap_or(&[]),
        }
    }

    /// Devices a disk is built on, by kernel name.
    pub fn slaves(&self, disk: &str) -> &[String] {
        self.disks
            .get(disk)
            .map(|e| e.slaves.as_slice())
            .unwrap_or(&[])
    }

    /// Whether the kernel reports the disk read-only.
    pub fn read_only(&self, disk: &str) -> bool {
        self.disks.get(disk).is_some_and(|e| e.read_only)
    }

    /// A human description of a holder device: LVM, dm-crypt, md RAID or device-mapper.
    pub fn describe_holder(&self, holder: &str) -> String {
        let entry = self.disks.get(holder);
        if let Some((uuid, name)) = entry.and_then(|e| e.dm.as_ref()) {
            let name = name.clone().unwrap_or_else(|| holder.into());
            let kind = if uuid.starts_with("LVM-") {
                "LVM logical volume"
            } else if uuid.starts_with("CRYPT-") {
                "dm-crypt mapping"
            } else {
                "device-mapper device"
            };
            return format!("{kind} {name}");
        }
        if let Some(level) = entry.and_then(|e| e.md_level.as_ref()) {
            return format!("md {level} array {holder}");
        }
        if holder.starts_with("dm-") {
            return format!("device-mapper device {holder}");
        }
        holder.to_string()
    }
}

/// Reads one disk's directory: one listing of it tells its partitions (subdirectories with a
/// `partition` file) and whether it is a dm or md device, so only the attributes it has are
/// opened.
fn scan_disk(sysfs: &Sysfs, name: &str) -> Option<DiskEntry> {
    let dir = sysfs.disk_dir(name);
    // Subdirectories only (the listing's file type, no stat): partitions, holders, slaves,
    // and `dm` or `md` where the disk is one.
    let subdirs: Vec<String> = fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            e.file_type().ok()?.is_dir().then_some(())?;
            e.file_name().into_string().ok()
        })
        .collect();
    let has = |n: &str| subdirs.iter().any(|e| e == n);
    let attr = |rel: &str| read_trimmed(&dir.join(rel));
    let mut partitions: Vec<PartEntry> = subdirs
        .iter()
        .filter(|e| dir.join(e).join("partition").is_file())
        .map(|p| {
            let pdir = dir.join(p);
            PartEntry {
                name: p.clone(),
                dev: read_trimmed(&pdir.join("dev")).and_then(|d| DevNum::parse(&d)),
                holders: list_dir(&pdir.join("holders")),
            }
        })
        .collect();
    partitions.sort_by_key(|p| natural_key(&p.name));
    Some(DiskEntry {
        dev: attr("dev").and_then(|d| DevNum::parse(&d)),
        partitions,
        holders: list_dir(&dir.join("holders")),
        slaves: list_dir(&dir.join("slaves")),
        read_only: attr("ro").as_deref() == Some("1"),
        dm: if has("dm") {
            attr("dm/uuid").map(|uuid| (uuid, attr("dm/name")))
        } else {
            None
        },
        md_level: if has("md") { attr("md/level") } else { None },
    })
}

fn read_trimmed(path: &Path) -> Option<String> {
    super::sysfs::read_trimmed(path)
}

fn list_dir(dir: &Path) -> Vec<String> {
    super::sysfs::list_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::super::sysfs::fixture;
    use super::*;

    fn tree() -> (tempfile::TempDir, Sysfs) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fixture::disk(root, "sda", "8:0", &[("size", "2048"), ("ro", "0")]);
        fixture::partition(root, "sda", "sda1", "8:1");
        fixture::partition(root, "sda", "sda2", "8:2");
        fixture::disk(root, "sdb", "8:16", &[("ro", "1")]);
        fixture::disk(
            root,
            "dm-0",
            "253:0",
            &[("dm/uuid", "LVM-abc"), ("dm/name", "vg-root")],
        );
        fixture::disk(root, "md0", "9:0", &[("md/level", "raid1")]);
        fixture::disk(root, "loop10", "7:10", &[]);
        fixture::disk(root, "loop2", "7:2", &[]);
        fixture::hold(root, "sda/sda2", "dm-0");
        let sysfs = Sysfs::at(root);
        (dir, sysfs)
    }

    #[test]
    fn one_scan_says_what_sysfs_says() {
        let (_dir, sysfs) = tree();
        let snap = Snapshot::take(&sysfs);
        assert_eq!(
            snap.disks().collect::<Vec<_>>(),
            ["dm-0", "loop2", "loop10", "md0", "sda", "sdb"]
        );
        assert_eq!(snap.index(), sysfs.index());
        let sda2 = BlockName {
            disk: "sda".into(),
            partition: Some("sda2".into()),
        };
        assert_eq!(snap.holders(&sda2), sysfs.holders(&sda2));
        assert_eq!(snap.slaves("dm-0"), sysfs.slaves("dm-0"));
        for name in ["dm-0", "md0", "sda", "loop2"] {
            assert_eq!(snap.describe_holder(name), sysfs.describe_holder(name));
        }
        assert!(snap.read_only("sdb") && !snap.read_only("sda"));
        assert_eq!(snap.name_of(DevNum { major: 8, minor: 2 }), Some(sda2));
    }

    #[test]
    fn refreshes_bring_one_disk_or_the_names_up_to_date() {
        let (dir, sysfs) = tree();
        let root = dir.path();
        let mut snap = Snapshot::take(&sysfs);
        // A new holder of sdb and a new disk appear; loop2 goes.
        fixture::disk(root, "dm-1", "253:1", &[("dm/uuid", "CRYPT-x")]);
        fixture::hold(root, "sdb", "dm-1");
        fs::remove_dir_all(root.join("block/loop2")).unwrap();
        snap.refresh_names(&sysfs);
        assert!(snap.disk("dm-1").is_some() && snap.disk("loop2").is_none());
        let sdb = BlockName {
            disk: "sdb".into(),
            partition: None,
        };
        assert!(snap.holders(&sdb).is_empty(), "sdb was not read again");
        snap.refresh_disk(&sysfs, "sdb");
        assert_eq!(snap.holders(&sdb), ["dm-1"]);
        assert_eq!(snap.describe_holder("dm-1"), "dm-crypt mapping dm-1");
    }
}
