//! The safety guard: which drives and image files must never be erased, and why (ARCHITECTURE.md,
//! invariant 1).
//!
//! The guard is computed from facts about the running system (mount table, active swap, loop
//! devices, the paths wipeproof itself writes to) and the sysfs device tree. Each fact protects
//! one node of the [`Stack`] (a block device by number, a file by `(st_dev, st_ino)`); a target
//! is refused when writing it would change any protected node, found by following the stack
//! through partitions, dm/md devices, loop devices over block devices and over files, the files
//! of a filesystem, and overlay filesystems (the mounts holding `lowerdir`/`upperdir`), any
//! number of levels deep and in both directions.
//!
//! It is consulted by `list` (to show what is protected) and, unskippably, by
//! [`crate::device::Target::open_for_erase`], on the device number or inode of the descriptor it
//! holds open.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::facts::{Backing, FileId};
pub use super::facts::{ProtectedPath, SystemFacts};
use super::mounts::MountEntry;
use super::snapshot::Snapshot;
use super::stack::{Node, Stack};
use super::sysfs::{DevNum, Sysfs};

/// Mount points whose disks hold the running system.
const SYSTEM_MOUNT_POINTS: &[&str] = &["/", "/boot", "/boot/efi", "/efi", "/usr"];

/// Mount points where live systems (Debian live, dracut, casper, archiso, our own image) keep the
/// medium they booted from.
const LIVE_MEDIUM_MOUNT_POINTS: &[&str] = &[
    "/run/live/medium",
    "/lib/live/mount/medium",
    "/run/initramfs/live",
    "/run/initramfs/isoscan",
    "/cdrom",
    "/run/archiso/bootmnt",
    "/run/wipeproof/medium",
];

/// Why a drive must not be erased. Each says what holds it and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protection {
    /// Holds `/`, `/boot` or `/boot/efi` of the running system.
    SystemDisk {
        device: String,
        mount_point: PathBuf,
    },
    /// The live medium this system booted from.
    LiveMedium {
        device: String,
        mount_point: PathBuf,
    },
    /// Holds wipeproof's own state directory (certificates, keys, register).
    StateDirectory { path: PathBuf },
    /// Is, or stands on, a file inside the state directory (by identity: also a hard link).
    StateFile { file: PathBuf },
    /// Holds the configured export medium.
    ExportMedium { path: PathBuf },
    /// The disk or one of its partitions is mounted.
    Mounted {
        device: String,
        mount_point: PathBuf,
    },
    /// A device of a mounted multi-device filesystem (btrfs) that no mount this process sees
    /// names.
    FilesystemMember {
        device: String,
        kind: String,
        uuid: String,
    },
    /// The disk or one of its partitions is active swap.
    Swap { device: String },
    /// A swap file on the disk is active.
    SwapFile { file: PathBuf },
    /// A loop device stands on it (a block device or an image file).
    LoopOver {
        backing: String,
        loop_device: String,
    },
    /// Another block device (LVM, md, dm-crypt) is built on it.
    Held {
        device: String,
        holder: String,
        description: String,
    },
    /// The kernel reports the device read-only.
    ReadOnly,
    /// A loop device whose backing file wipeproof cannot identify.
    Unresolvable { device: String, detail: String },
}

impl Protection {
    /// True for refusals that concern the running system itself (never overridable).
    pub fn is_system(&self) -> bool {
        matches!(
            self,
            Protection::SystemDisk { .. }
                | Protection::LiveMedium { .. }
                | Protection::StateDirectory { .. }
                | Protection::StateFile { .. }
                | Protection::ExportMedium { .. }
        )
    }
}

impl fmt::Display for Protection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protection::SystemDisk {
                device,
                mount_point,
            } => write!(
                f,
                "holds the running system ({device} is mounted on {}); the system disk is never erased",
                mount_point.display()
            ),
            Protection::LiveMedium {
                device,
                mount_point,
            } => write!(
                f,
                "is the live medium this station booted from ({device} on {}); it is never erased",
                mount_point.display()
            ),
            Protection::StateDirectory { path } => write!(
                f,
                "holds wipeproof's state directory {} (certificates are written there); \
                 point WIPEPROOF_HOME at another drive to erase this one",
                path.display()
            ),
            Protection::StateFile { file } => write!(
                f,
                "is or stands on {}, a file of wipeproof's state directory (by another name \
                 or a hard link); it is never erased",
                file.display()
            ),
            Protection::LoopOver {
                backing,
                loop_device,
            } => write!(
                f,
                "is in use: {loop_device} is a loop device over {backing}: detach it first \
                 (`losetup -d {loop_device}`)"
            ),
            Protection::ExportMedium { path } => write!(
                f,
                "holds the export medium {} (paths.export in the config); it is never erased",
                path.display()
            ),
            Protection::Mounted {
                device,
                mount_point,
            } => write!(
                f,
                "is in use: {device} is mounted on {}: unmount it first",
                mount_point.display()
            ),
            Protection::FilesystemMember { device, kind, uuid } => write!(
                f,
                "is in use: {device} is a device of the mounted {kind} filesystem {uuid}: \
                 unmount it first"
            ),
            Protection::Swap { device } => {
                write!(
                    f,
                    "is in use: {device} is active swap: run `swapoff {device}` first"
                )
            }
            Protection::SwapFile { file } => write!(
                f,
                "holds the active swap file {}: run `swapoff {}` first",
                file.display(),
                file.display()
            ),
            Protection::Held {
                device,
                holder,
                description,
            } => write!(
                f,
                "is in use: {device} is held by /dev/{holder} ({description}): deactivate it \
                 first (vgchange -an, mdadm --stop or cryptsetup close)"
            ),
            Protection::ReadOnly => write!(
                f,
                "is read-only: remove the write protection (switch, or `blockdev --setrw`) first"
            ),
            Protection::Unresolvable { device, detail } => {
                write!(f, "cannot be checked: {device} {detail}")
            }
        }
    }
}

/// A fact that protects one node; `user` is the device that uses the node (a holder, a loop
/// device over it), which does not count against a target built on that very device.
#[derive(Debug, Clone)]
struct Fact {
    protection: Protection,
    user: Option<DevNum>,
}

/// The guard's verdict for every disk of the system, and for any node on request.
#[derive(Debug, Default)]
pub struct Guard {
    stack: Stack,
    facts: HashMap<Node, Vec<Fact>>,
    read_only: HashSet<DevNum>,
    state: StateFiles,
    by_disk: BTreeMap<String, Vec<Protection>>,
}

impl Guard {
    /// Computes protections for every disk from a new scan of sysfs and the system facts.
    pub fn compute(sysfs: &Sysfs, facts: &SystemFacts) -> Guard {
        Guard::of(&Snapshot::take(sysfs), facts)
    }

    /// Computes protections for every disk from one scan of sysfs and the system facts.
    pub fn of(sysfs: &Snapshot, facts: &SystemFacts) -> Guard {
        let stack = Stack::build(sysfs, facts);
        let mut guard = Guard {
            state: StateFiles::new(&facts.state_roots),
            ..Guard::default()
        };

        for m in &facts.mounts {
            let mp = m.mount_point.to_string_lossy();
            let system = SYSTEM_MOUNT_POINTS.contains(&mp.as_ref());
            let live = LIVE_MEDIUM_MOUNT_POINTS.contains(&mp.as_ref());
            for dev in mount_devices(m, facts) {
                let device = stack.dev_path(dev);
                let mount_point = m.mount_point.clone();
                let protection = if system {
                    Protection::SystemDisk {
                        device,
                        mount_point,
                    }
                } else if live {
                    Protection::LiveMedium {
                        device,
                        mount_point,
                    }
                } else {
                    Protection::Mounted {
                        device,
                        mount_point,
                    }
                };
                guard.add(Node::Block(dev), protection, None);
            }
        }

        for fs in &facts.multi_device {
            // Mounted where this process cannot see it (another mount namespace): still held.
            let seen = facts.mounts.iter().any(|m| {
                fs.members.contains(&DevNum {
                    major: m.major,
                    minor: m.minor,
                })
            });
            for member in fs.members.iter().filter(|_| !seen) {
                let protection = Protection::FilesystemMember {
                    device: stack.dev_path(*member),
                    kind: fs.kind.clone(),
                    uuid: fs.uuid.clone(),
                };
                guard.add(Node::Block(*member), protection, None);
            }
        }

        for (swap, backing) in &facts.swaps {
            match backing {
                Some(Backing::Block(dev)) => {
                    let device = stack.dev_path(*dev);
                    guard.add(Node::Block(*dev), Protection::Swap { device }, None);
                }
                Some(Backing::File(file)) => {
                    let protection = Protection::SwapFile {
                        file: swap.path.clone(),
                    };
                    guard.add(Node::File(*file), protection, None);
                }
                None => {}
            }
        }

        for (path, dev) in &facts.protected_paths {
            let protection = match path {
                ProtectedPath::StateDirectory(p) => Protection::StateDirectory { path: p.clone() },
                ProtectedPath::ExportMedium(p) => Protection::ExportMedium { path: p.clone() },
            };
            guard.add(Node::Block(*dev), protection, None);
        }

        let mut loops: Vec<_> = facts.loops.iter().collect();
        loops.sort_by_key(|(name, _)| *name);
        for (name, info) in loops {
            let Some(lo) = sysfs.disk_devnum(name) else {
                continue;
            };
            let loop_device = format!("/dev/{name}");
            match info.backing {
                Some(Backing::File(file)) => {
                    let protection = Protection::LoopOver {
                        backing: info.file.display().to_string(),
                        loop_device,
                    };
                    guard.add(Node::File(file), protection, Some(lo));
                }
                Some(Backing::Block(dev)) => {
                    let protection = Protection::LoopOver {
                        backing: stack.dev_path(dev),
                        loop_device,
                    };
                    guard.add(Node::Block(dev), protection, Some(lo));
                }
                None => {
                    let protection = Protection::Unresolvable {
                        device: loop_device,
                        detail: format!(
                            "stands on {}, which cannot be found, so wipeproof cannot tell \
                             what else it would overwrite; detach and re-attach it",
                            info.file.display()
                        ),
                    };
                    guard.add(Node::Block(lo), protection, None);
                }
            }
        }

        let mut devices: Vec<_> = sysfs.index().into_iter().collect();
        devices.sort_by_key(|(num, _)| *num);
        for (num, dev) in devices {
            for holder in sysfs.holders(&dev) {
                let Some(h) = sysfs.disk_devnum(holder) else {
                    continue;
                };
                let description = sysfs.describe_holder(holder);
                let protection = Protection::Held {
                    device: format!("/dev/{}", dev.name()),
                    holder: holder.clone(),
                    description,
                };
                guard.add(Node::Block(num), protection, Some(h));
            }
            if dev.partition.is_none() && sysfs.read_only(&dev.disk) {
                guard.read_only.insert(num);
            }
        }

        guard.stack = stack;
        for disk in sysfs.disks() {
            if let Some(num) = sysfs.disk_devnum(disk) {
                let list = guard.check(Node::Block(num));
                if !list.is_empty() {
                    guard.by_disk.insert(disk.to_string(), list);
                }
            }
        }
        guard
    }

    fn add(&mut self, node: Node, protection: Protection, user: Option<DevNum>) {
        let list = self.facts.entry(node).or_default();
        if !list
            .iter()
            .any(|f| f.protection == protection && f.user == user)
        {
            list.push(Fact { protection, user });
        }
    }

    /// Everything that forbids writing `target` (a block device by number, an image file by
    /// identity), system reasons first; empty if it may be erased. Writing a device changes
    /// what it stands on and what stands on it: a fact on any of those refuses it, except that
    /// a device built on another (a dm device, a loop device) is not refused because it is
    /// itself what holds that other device.
    pub fn check(&self, target: Node) -> Vec<Protection> {
        let beneath: HashSet<DevNum> = self
            .stack
            .beneath(target)
            .into_iter()
            .filter_map(|n| match n {
                Node::Block(d) => Some(d),
                Node::File(_) => None,
            })
            .collect();
        let mut out: Vec<Protection> = Vec::new();
        let mut push = |p: Protection| {
            if !out.contains(&p) {
                out.push(p);
            }
        };
        for node in self.stack.affected(target) {
            for fact in self.facts.get(&node).into_iter().flatten() {
                if fact.user.is_some_and(|u| beneath.contains(&u)) {
                    continue;
                }
                push(fact.protection.clone());
            }
            if let Node::File(file) = node
                && let Some(path) = self.state.find(file)
            {
                push(Protection::StateFile { file: path });
            }
        }
        if let Node::Block(dev) = target
            && self.read_only.contains(&dev)
        {
            push(Protection::ReadOnly);
        }
        out.sort_by_key(|p| !p.is_system());
        out
    }

    /// The stack the guard decided on.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }

    /// The protections of a disk by kernel name (empty if it may be erased), system reasons
    /// first.
    pub fn protections(&self, disk: &str) -> &[Protection] {
        self.by_disk.get(disk).map(Vec::as_slice).unwrap_or(&[])
    }

    /// All reasons for a disk as one sentence, system reasons first; `None` if unprotected.
    pub fn reason(&self, disk: &str) -> Option<String> {
        let list = self.protections(disk);
        if list.is_empty() {
            return None;
        }
        Some(
            list.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )
    }
}

/// The files of the state directory by identity, read on first need: only a file on the same
/// filesystem as a state path can be one of them (a hard link never crosses filesystems).
#[derive(Debug, Default)]
struct StateFiles {
    roots: Vec<(PathBuf, DevNum)>,
    files: OnceLock<HashMap<FileId, PathBuf>>,
}

impl StateFiles {
    fn new(roots: &[PathBuf]) -> StateFiles {
        use std::os::unix::fs::MetadataExt;
        StateFiles {
            roots: roots
                .iter()
                .filter_map(|r| {
                    let meta = std::fs::metadata(r).ok()?;
                    Some((r.clone(), DevNum::from_raw(meta.dev())))
                })
                .collect(),
            files: OnceLock::new(),
        }
    }

    fn find(&self, file: FileId) -> Option<PathBuf> {
        if !self.roots.iter().any(|(_, dev)| *dev == file.dev) {
            return None;
        }
        let files = self.files.get_or_init(|| {
            let mut walk = Walk::default();
            for (root, _) in &self.roots {
                // The state paths themselves may be symbolic links; nothing below them is
                // followed.
                if let Ok(meta) = std::fs::metadata(root) {
                    walk.visit(root, &meta, 0);
                }
            }
            walk.files
        });
        files.get(&file).cloned()
    }
}

/// Every regular file below the state paths by identity, each directory once (the certificate
/// directory is usually inside the state directory).
#[derive(Default)]
struct Walk {
    files: HashMap<FileId, PathBuf>,
    dirs: HashSet<FileId>,
}

impl Walk {
    fn visit(&mut self, path: &Path, meta: &std::fs::Metadata, depth: usize) {
        let id = FileId::of(meta);
        if meta.is_file() {
            self.files.entry(id).or_insert_with(|| path.to_path_buf());
            return;
        }
        if !meta.is_dir() || depth > 16 || !self.dirs.insert(id) {
            return;
        }
        let Ok(entries) = std::fs::read_dir(path) else {
            return;
        };
        for entry in entries.flatten() {
            let child = entry.path();
            if let Ok(meta) = std::fs::symlink_metadata(&child) {
                self.visit(&child, &meta, depth + 1);
            }
        }
    }
}

/// The block devices a mount stands on, following overlay layers to the mounts that hold them,
/// and a multi-device filesystem (btrfs RAID) from the device the mount table names to every
/// device it spans.
fn mount_devices(mount: &MountEntry, facts: &SystemFacts) -> Vec<DevNum> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    mount_walk(mount, &facts.mounts, &mut out, &mut seen, 0);
    let named = out.clone();
    for dev in named {
        for member in facts
            .members_with(dev)
            .map(|m| &m.members)
            .into_iter()
            .flatten()
        {
            if !out.contains(member) {
                out.push(*member);
            }
        }
    }
    out
}

fn mount_walk(
    mount: &MountEntry,
    mounts: &[MountEntry],
    out: &mut Vec<DevNum>,
    seen: &mut HashSet<PathBuf>,
    depth: usize,
) {
    if depth > 8 || !seen.insert(mount.mount_point.clone()) {
        return;
    }
    if mount.major != 0 {
        let dev = DevNum {
            major: mount.major,
            minor: mount.minor,
        };
        if !out.contains(&dev) {
            out.push(dev);
        }
        return;
    }
    if mount.fs_type != "overlay" {
        return;
    }
    for layer in overlay_layers(&mount.super_options) {
        if let Some(holder) = containing_mount(mounts, &layer) {
            mount_walk(holder, mounts, out, seen, depth + 1);
        }
    }
}

/// The directories an overlay mount is built from.
fn overlay_layers(options: &str) -> Vec<PathBuf> {
    let mut layers = Vec::new();
    for opt in options.split(',') {
        if let Some((key, value)) = opt.split_once('=') {
            match key {
                "lowerdir" | "lowerdir+" | "datadir+" => layers.extend(
                    value
                        .split(':')
                        .filter(|s| !s.is_empty())
                        .map(PathBuf::from),
                ),
                "upperdir" => layers.push(PathBuf::from(value)),
                _ => {}
            }
        }
    }
    layers
}

/// The mount that contains `path` (longest mount point that is a prefix of it; the last such
/// mount wins, as in the kernel's stacking).
fn containing_mount<'m>(mounts: &'m [MountEntry], path: &Path) -> Option<&'m MountEntry> {
    mounts
        .iter()
        .filter(|m| path.starts_with(&m.mount_point))
        .max_by_key(|m| m.mount_point.components().count())
}

#[cfg(test)]
#[path = "guard_tests.rs"]
mod tests;
