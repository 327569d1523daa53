//! A read-only view of the kernel's block devices in sysfs (`/sys/block`).
//!
//! The root is a parameter so the guard's logic can be tested against a directory tree built to
//! look like sysfs; production code uses [`Sysfs::system`].

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// A device number, `(major, minor)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DevNum {
    pub major: u32,
    pub minor: u32,
}

impl DevNum {
    /// From a raw `dev_t`.
    pub fn from_raw(dev: u64) -> DevNum {
        DevNum {
            major: libc::major(dev),
            minor: libc::minor(dev),
        }
    }

    /// Parses sysfs's `MAJ:MIN` form.
    pub fn parse(s: &str) -> Option<DevNum> {
        let (major, minor) = s.trim().split_once(':')?;
        Some(DevNum {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }
}

impl std::fmt::Display for DevNum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.major, self.minor)
    }
}

/// A block device known to sysfs: a whole disk, or a partition of one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlockName {
    /// The whole disk's kernel name, e.g. `sda`.
    pub disk: String,
    /// The partition's kernel name, e.g. `sda1`, if this is a partition.
    pub partition: Option<String>,
}

impl BlockName {
    /// The kernel name of this device (the partition's if it is one).
    pub fn name(&self) -> &str {
        self.partition.as_deref().unwrap_or(&self.disk)
    }
}

/// Handle on a sysfs tree.
#[derive(Debug, Clone)]
pub struct Sysfs {
    root: PathBuf,
}

impl Sysfs {
    /// The running system's sysfs at `/sys`.
    pub fn system() -> Sysfs {
        Sysfs::at("/sys")
    }

    /// A sysfs-shaped tree at `root` (its `block/` directory lists the disks).
    pub fn at(root: impl Into<PathBuf>) -> Sysfs {
        Sysfs { root: root.into() }
    }

    /// The root of the tree, e.g. `/sys`.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The directory of a whole disk, e.g. `/sys/block/sda`.
    pub fn disk_dir(&self, disk: &str) -> PathBuf {
        self.root.join("block").join(disk)
    }

    /// The directory of a device given by name.
    pub fn dir(&self, dev: &BlockName) -> PathBuf {
        match &dev.partition {
            Some(p) => self.disk_dir(&dev.disk).join(p),
            None => self.disk_dir(&dev.disk),
        }
    }

    /// Kernel names of all whole disks, sorted naturally (`sda` before `sdb`, `loop2` before
    /// `loop10`).
    pub fn disks(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.root.join("block"))
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        names.sort_by_key(|a| natural_key(a));
        names
    }

    /// Reads an attribute file below the disk's directory, trimmed; `None` if absent or empty.
    pub fn attr(&self, disk: &str, rel: &str) -> Option<String> {
        read_trimmed(&self.disk_dir(disk).join(rel))
    }

    /// Reads an attribute file below a device's directory (disk or partition).
    pub fn dev_attr(&self, dev: &BlockName, rel: &str) -> Option<String> {
        read_trimmed(&self.dir(dev).join(rel))
    }

    /// Reads a binary attribute (e.g. `device/vpd_pg80`).
    pub fn attr_bytes(&self, disk: &str, rel: &str) -> Option<Vec<u8>> {
        fs::read(self.disk_dir(disk).join(rel)).ok()
    }

    /// Reads a numeric attribute.
    pub fn attr_u64(&self, disk: &str, rel: &str) -> Option<u64> {
        self.attr(disk, rel)?.parse().ok()
    }

    /// The partitions of a disk, sorted naturally.
    pub fn partitions(&self, disk: &str) -> Vec<String> {
        let dir = self.disk_dir(disk);
        // Only subdirectories can be partitions: the listing's file type says which entries
        // are, without a stat of each attribute file.
        let mut parts: Vec<String> = fs::read_dir(&dir)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .filter(|e| e.path().join("partition").is_file())
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default();
        parts.sort_by_key(|a| natural_key(a));
        parts
    }

    /// Devices that hold this one (LVM, md, dm-crypt, ...), by kernel name.
    pub fn holders(&self, dev: &BlockName) -> Vec<String> {
        list_dir(&self.dir(dev).join("holders"))
    }

    /// Devices this one is built on (for dm and md devices), by kernel name.
    pub fn slaves(&self, disk: &str) -> Vec<String> {
        list_dir(&self.disk_dir(disk).join("slaves"))
    }

    /// Every mounted btrfs filesystem (`fs/btrfs/UUID`, present only while it is mounted) with
    /// the kernel names of the block devices it spans (`fs/btrfs/UUID/devices/NAME`).
    pub fn btrfs_filesystems(&self) -> Vec<(String, Vec<String>)> {
        let Ok(entries) = fs::read_dir(self.root.join("fs/btrfs")) else {
            return Vec::new();
        };
        let mut out: Vec<(String, Vec<String>)> = entries
            .flatten()
            .filter(|e| e.path().join("devices").is_dir())
            .filter_map(|e| {
                let uuid = e.file_name().into_string().ok()?;
                let mut members = list_dir(&e.path().join("devices"));
                members.sort_by_key(|a| natural_key(a));
                Some((uuid, members))
            })
            .collect();
        out.sort();
        out
    }

    /// The device number of a disk or partition.
    pub fn devnum(&self, dev: &BlockName) -> Option<DevNum> {
        DevNum::parse(&self.dev_attr(dev, "dev")?)
    }

    /// The resolved path of the disk's sysfs directory (it shows the bus the disk hangs off,
    /// e.g. `/sys/devices/pci0000:00/.../ata1/host0/.../block/sda`).
    pub fn device_path(&self, disk: &str) -> Option<PathBuf> {
        fs::canonicalize(self.disk_dir(disk)).ok()
    }

    /// The driver bound to the disk's parent device (`device/driver`), e.g. `virtio_blk`.
    pub fn driver(&self, disk: &str) -> Option<String> {
        let link = fs::read_link(self.disk_dir(disk).join("device/driver")).ok()?;
        link.file_name()?.to_str().map(str::to_string)
    }

    /// A human description of a holder device: LVM, dm-crypt, md RAID or device-mapper.
    pub fn describe_holder(&self, holder: &str) -> String {
        if let Some(uuid) = self.attr(holder, "dm/uuid") {
            let name = self
                .attr(holder, "dm/name")
                .unwrap_or_else(|| holder.into());
            let kind = if uuid.starts_with("LVM-") {
                "LVM logical volume"
            } else if uuid.starts_with("CRYPT-") {
                "dm-crypt mapping"
            } else {
                "device-mapper device"
            };
            return format!("{kind} {name}");
        }
        if let Some(level) = self.attr(holder, "md/level") {
            return format!("md {level} array {holder}");
        }
        if holder.starts_with("dm-") {
            return format!("device-mapper device {holder}");
        }
        holder.to_string()
    }

    /// Maps every disk and partition's device number to its name.
    pub fn index(&self) -> HashMap<DevNum, BlockName> {
        let mut map = HashMap::new();
        for disk in self.disks() {
            let whole = BlockName {
                disk: disk.clone(),
                partition: None,
            };
            if let Some(n) = self.devnum(&whole) {
                map.insert(n, whole);
            }
            for part in self.partitions(&disk) {
                let dev = BlockName {
                    disk: disk.clone(),
                    partition: Some(part),
                };
                if let Some(n) = self.devnum(&dev) {
                    map.insert(n, dev);
                }
            }
        }
        map
    }
}

pub(super) fn read_trimmed(path: &Path) -> Option<String> {
    let bytes = fs::read(path).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    let trimmed = text.trim_matches(|c: char| c.is_whitespace() || c == '\0');
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

pub(super) fn list_dir(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| e.file_name().into_string().ok())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Sort key that orders embedded numbers by value: `loop2` < `loop10`.
pub(super) fn natural_key(s: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            let mut num = c.to_digit(10).unwrap_or(0) as u64;
            while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                num = num.saturating_mul(10).saturating_add(d as u64);
                chars.next();
            }
            out.push((std::mem::take(&mut text), num));
        } else {
            text.push(c);
        }
    }
    out.push((text, 0));
    out
}

#[cfg(test)]
pub(crate) mod fixture {
    //! Builds sysfs-shaped trees for tests.
    use std::fs;
    use std::path::Path;

    /// Adds a disk with attributes `(relative path, content)`.
    pub fn disk(root: &Path, name: &str, dev: &str, attrs: &[(&str, &str)]) {
        let dir = root.join("block").join(name);
        fs::create_dir_all(dir.join("holders")).unwrap();
        fs::create_dir_all(dir.join("slaves")).unwrap();
        fs::write(dir.join("dev"), format!("{dev}\n")).unwrap();
        for (rel, value) in attrs {
            let p = dir.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, format!("{value}\n")).unwrap();
        }
    }

    /// Adds a partition to a disk.
    pub fn partition(root: &Path, disk: &str, name: &str, dev: &str) {
        let dir = root.join("block").join(disk).join(name);
        fs::create_dir_all(dir.join("holders")).unwrap();
        fs::write(dir.join("dev"), format!("{dev}\n")).unwrap();
        fs::write(dir.join("partition"), "1\n").unwrap();
    }

    /// Adds a mounted btrfs filesystem spanning `members` (kernel names).
    pub fn btrfs(root: &Path, uuid: &str, members: &[&str]) {
        let dir = root.join("fs/btrfs").join(uuid).join("devices");
        fs::create_dir_all(&dir).unwrap();
        for m in members {
            fs::write(dir.join(m), "").unwrap();
        }
    }

    /// Records that `holder` holds `held` (a disk, or `disk/part`), and `held` is its slave.
    pub fn hold(root: &Path, held: &str, holder: &str) {
        let held_dir = root.join("block").join(held);
        fs::create_dir_all(held_dir.join("holders")).unwrap();
        fs::write(held_dir.join("holders").join(holder), "").unwrap();
        let slave = held.rsplit('/').next().unwrap();
        let slaves = root.join("block").join(holder).join("slaves");
        fs::create_dir_all(&slaves).unwrap();
        fs::write(slaves.join(slave), "").unwrap();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_of_disk_names() {
        let mut v = vec![
            "loop10", "loop2", "sdb", "sda", "nvme0n1", "nvme10n1", "nvme2n1",
        ];
        v.sort_by_key(|a| natural_key(a));
        assert_eq!(
            v,
            [
                "loop2", "loop10", "nvme0n1", "nvme2n1", "nvme10n1", "sda", "sdb"
            ]
        );
    }

    #[test]
    fn reads_disks_partitions_holders_and_index() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fixture::disk(root, "sda", "8:0", &[("size", "2048"), ("ro", "0")]);
        fixture::partition(root, "sda", "sda1", "8:1");
        fixture::partition(root, "sda", "sda2", "8:2");
        fixture::disk(
            root,
            "dm-0",
            "253:0",
            &[("dm/uuid", "LVM-abc"), ("dm/name", "vg-root")],
        );
        fixture::hold(root, "sda/sda2", "dm-0");
        let sysfs = Sysfs::at(root);
        assert_eq!(sysfs.disks(), ["dm-0", "sda"]);
        assert_eq!(sysfs.partitions("sda"), ["sda1", "sda2"]);
        assert_eq!(sysfs.attr_u64("sda", "size"), Some(2048));
        let sda2 = BlockName {
            disk: "sda".into(),
            partition: Some("sda2".into()),
        };
        assert_eq!(sysfs.holders(&sda2), ["dm-0"]);
        assert_eq!(sysfs.slaves("dm-0"), ["sda2"]);
        assert_eq!(sysfs.describe_holder("dm-0"), "LVM logical volume vg-root");
        let index = sysfs.index();
        assert_eq!(index[&DevNum { major: 8, minor: 2 }], sda2);
        assert_eq!(index.len(), 4);
    }

    #[test]
    fn devnum_parse_rejects_junk() {
        assert_eq!(
            DevNum::parse("8:16\n"),
            Some(DevNum {
                major: 8,
                minor: 16
            })
        );
        assert_eq!(DevNum::parse("8"), None);
        assert_eq!(DevNum::parse("a:b"), None);
    }
}
