//! Facts about the running system that the guard decides on: the mount table, active swap, what
//! every loop device stands on, and the paths wipeproof itself needs.
//!
//! Everything is identified by number, never by name: a block device by its device number, a
//! file by `(st_dev, st_ino)`. A loop device's backing is asked from the loop driver
//! (`LOOP_GET_STATUS64`), which reports the file it really holds even after a rename, an unlink
//! or a lazy unmount; a backing file that is itself a block device counts as that device
//! (its `st_rdev`), not as the devtmpfs node that names it.

use std::collections::HashMap;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::mounts::{MountEntry, SwapEntry, parse_mountinfo, parse_swaps};
use super::snapshot::Snapshot;
use super::sysfs::{DevNum, Sysfs};

/// A file by identity: the device its filesystem lives on and its inode number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId {
    pub dev: DevNum,
    pub ino: u64,
}

impl FileId {
    /// The identity of an open or stat-ed file.
    pub fn of(meta: &std::fs::Metadata) -> FileId {
        FileId {
            dev: DevNum::from_raw(meta.dev()),
            ino: meta.ino(),
        }
    }
}

/// What a loop device or a swap area stands on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backing {
    /// A block device, by the device number it stands for (`st_rdev`).
    Block(DevNum),
    /// A regular file, by identity.
    File(FileId),
}

/// An attached loop device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoopInfo {
    /// The backing file's name as the kernel reports it (for messages only).
    pub file: PathBuf,
    /// What the loop device stands on; `None` if wipeproof cannot find out.
    pub backing: Option<Backing>,
}

/// Facts about the running system that the guard needs.
#[derive(Debug, Clone, Default)]
pub struct SystemFacts {
    /// The mount table; for mounts with an anonymous device number (btrfs) whose source is a
    /// block device node, the number is the node's.
    pub mounts: Vec<MountEntry>,
    /// Active swap areas with what they live on.
    pub swaps: Vec<(SwapEntry, Option<Backing>)>,
    /// Every attached loop device, by kernel name.
    pub loops: HashMap<String, LoopInfo>,
    /// Anonymous device numbers of filesystems (btrfs) mapped to the block device they are on.
    pub anon_devs: HashMap<DevNum, DevNum>,
    /// Paths wipeproof writes to, with the kind of protection and the device holding them.
    pub protected_paths: Vec<(ProtectedPath, DevNum)>,
    /// The state directory and the paths inside it: no file reachable from them (by identity,
    /// so also through a hard link) may be erased.
    pub state_roots: Vec<PathBuf>,
    /// Mounted filesystems that span several block devices (btrfs RAID and multi-device
    /// volumes): the mount table names one of them, the kernel holds them all.
    pub multi_device: Vec<MultiDevice>,
}

/// A mounted filesystem over several block devices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultiDevice {
    /// The filesystem type, e.g. `btrfs`.
    pub kind: String,
    /// The filesystem's UUID.
    pub uuid: String,
    /// Every block device it spans, by number.
    pub members: Vec<DevNum>,
}

/// A path wipeproof itself needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtectedPath {
    StateDirectory(PathBuf),
    ExportMedium(PathBuf),
}

impl SystemFacts {
    /// Reads the facts of the running system now. `state_paths` are the state directory and the
    /// paths it uses; `export` the export medium, if configured. The block devices are those
    /// of `snap` (bring its names up to date first); what each loop device stands on is asked
    /// now, of the loop driver.
    pub fn gather(
        sysfs: &Sysfs,
        snap: &Snapshot,
        state_paths: &[PathBuf],
        export: Option<&Path>,
    ) -> SystemFacts {
        let mounts_text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut mounts = parse_mountinfo(&mounts_text);
        let mut anon_devs = HashMap::new();
        for m in &mut mounts {
            if m.major == 0
                && m.source.starts_with("/dev/")
                && let Some(dev) = block_rdev(Path::new(&m.source))
            {
                anon_devs.insert(
                    DevNum {
                        major: m.major,
                        minor: m.minor,
                    },
                    dev,
                );
                m.major = dev.major;
                m.minor = dev.minor;
            }
        }
        let swaps_text = std::fs::read_to_string("/proc/swaps").unwrap_or_default();
        let swaps = parse_swaps(&swaps_text)
            .into_iter()
            .map(|s| {
                let backing = backing_of_path(&s.path);
                (s, backing)
            })
            .collect();
        let mut loops = HashMap::new();
        for disk in snap.disks().filter(|d| d.starts_with("loop")) {
            if let Some(file) = sysfs.attr(disk, "loop/backing_file") {
                let backing = snap
                    .disk_devnum(disk)
                    .and_then(|expected| loop_status(expected, disk))
                    .or_else(|| backing_of_path(Path::new(file.trim_end_matches(" (deleted)"))));
                loops.insert(
                    disk.to_string(),
                    LoopInfo {
                        file: PathBuf::from(file),
                        backing,
                    },
                );
            }
        }
        let map = |dev: DevNum| anon_devs.get(&dev).copied().unwrap_or(dev);
        let mut protected_paths = Vec::new();
        for p in state_paths {
            // The certificate directory usually lives inside the state directory: one refusal
            // per filesystem is enough to say why.
            if let Some(dev) = path_dev(p).map(map)
                && !protected_paths.iter().any(|(_, seen)| *seen == dev)
            {
                protected_paths.push((ProtectedPath::StateDirectory(p.clone()), dev));
            }
        }
        if let Some(p) = export
            && let Some(dev) = path_dev(p).map(map)
        {
            protected_paths.push((ProtectedPath::ExportMedium(p.to_path_buf()), dev));
        }
        SystemFacts {
            mounts,
            swaps,
            loops,
            anon_devs,
            protected_paths,
            state_roots: state_paths.to_vec(),
            multi_device: multi_device(sysfs, snap),
        }
    }

    /// The members of the multi-device filesystem that includes `dev`, if it is one's.
    pub fn members_with(&self, dev: DevNum) -> Option<&MultiDevice> {
        self.multi_device.iter().find(|m| m.members.contains(&dev))
    }

    /// The block device a filesystem device number stands for (itself unless anonymous).
    pub fn fs_block(&self, dev: DevNum) -> DevNum {
        self.anon_devs.get(&dev).copied().unwrap_or(dev)
    }
}

/// The mounted btrfs filesystems (read from sysfs now) and the block devices each spans (by
/// the numbers `snap` knows them by).
pub fn multi_device(sysfs: &Sysfs, snap: &Snapshot) -> Vec<MultiDevice> {
    let filesystems = sysfs.btrfs_filesystems();
    if filesystems.is_empty() {
        return Vec::new();
    }
    let by_name: HashMap<String, DevNum> = snap
        .index()
        .into_iter()
        .map(|(num, name)| (name.name().to_string(), num))
        .collect();
    filesystems
        .into_iter()
        .map(|(uuid, names)| MultiDevice {
            kind: "btrfs".into(),
            uuid,
            members: names
                .iter()
                .filter_map(|n| by_name.get(n).copied())
                .collect(),
        })
        .collect()
}

/// The device number of the filesystem holding `path` (its `st_dev`).
pub fn path_dev(path: &Path) -> Option<DevNum> {
    std::fs::metadata(path)
        .ok()
        .map(|m| DevNum::from_raw(m.dev()))
}

/// The device number a block device node stands for (its `st_rdev`), if it is one.
pub fn block_rdev(path: &Path) -> Option<DevNum> {
    use std::os::unix::fs::FileTypeExt;
    let meta = std::fs::metadata(path).ok()?;
    meta.file_type()
        .is_block_device()
        .then(|| DevNum::from_raw(meta.rdev()))
}

/// What a path stands for: the block device a node names, or a regular file's identity.
fn backing_of_path(path: &Path) -> Option<Backing> {
    use std::os::unix::fs::FileTypeExt;
    let meta = std::fs::metadata(path).ok()?;
    if meta.file_type().is_block_device() {
        Some(Backing::Block(DevNum::from_raw(meta.rdev())))
    } else if meta.is_file() {
        Some(Backing::File(FileId::of(&meta)))
    } else {
        None
    }
}

/// `struct loop_info64` of `<linux/loop.h>`.
#[repr(C)]
struct LoopInfo64 {
    lo_device: u64,
    lo_inode: u64,
    lo_rdevice: u64,
    lo_offset: u64,
    lo_sizelimit: u64,
    lo_number: u32,
    lo_encrypt_type: u32,
    lo_encrypt_key_size: u32,
    lo_flags: u32,
    lo_file_name: [u8; 64],
    lo_crypt_name: [u8; 64],
    lo_encrypt_key: [u8; 32],
    lo_init: [u64; 2],
}

nix::ioctl_read_bad!(loop_get_status64, 0x4C05, LoopInfo64);

/// Asks the loop driver what a loop device stands on: the backing file's `st_dev` and
/// `st_ino`, or, when the backing file is a block device, its `st_rdev`. `None` when the device
/// node cannot be opened (not root) or is not the loop device sysfs names (`expected`).
fn loop_status(expected: DevNum, disk: &str) -> Option<Backing> {
    let node = Path::new("/dev").join(disk);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(&node)
        .ok()?;
    let meta = file.metadata().ok()?;
    if DevNum::from_raw(meta.rdev()) != expected {
        return None;
    }
    status_of(&file)
}

fn status_of(file: &File) -> Option<Backing> {
    // SAFETY: LoopInfo64 is plain old data; all-zero is a valid value.
    let mut info: LoopInfo64 = unsafe { std::mem::zeroed() };
    // SAFETY: the kernel fills one struct loop_info64 through the pointer.
    unsafe { loop_get_status64(file.as_raw_fd(), &mut info) }.ok()?;
    // The kernel encodes these with huge_encode_dev, which matches the C library's dev_t for
    // every device number it can hold.
    Some(if info.lo_rdevice != 0 {
        Backing::Block(DevNum::from_raw(info.lo_rdevice))
    } else {
        Backing::File(FileId {
            dev: DevNum::from_raw(info.lo_device),
            ino: info.lo_inode,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loop_info64_has_the_kernels_size() {
        // 5 u64, 4 u32, 64 + 64 + 32 bytes, 2 u64.
        assert_eq!(std::mem::size_of::<LoopInfo64>(), 232);
    }

    #[test]
    fn a_path_stands_for_a_file_by_identity_or_a_block_device_by_number() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.img");
        std::fs::write(&a, b"x").unwrap();
        let b = dir.path().join("b.img");
        std::fs::hard_link(&a, &b).unwrap();
        let Some(Backing::File(ida)) = backing_of_path(&a) else {
            panic!("a regular file is a file")
        };
        assert_eq!(backing_of_path(&b), Some(Backing::File(ida)));
        assert_eq!(backing_of_path(dir.path()), None);
    }
}
