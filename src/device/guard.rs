//! The safety guard: which drives and image files must never be erased, and why (DESIGN
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
use super::stack::{Node, Stack};
use super::sysfs::{BlockName, DevNum, Sysfs};

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
    /// Computes protections for every disk from sysfs and the system facts.
    pub fn compute(sysfs: &Sysfs, facts: &SystemFacts) -> Guard {
        let stack = Stack::build(sysfs, facts);
        let mut guard = Guard {
            state: StateFiles::new(&facts.state_roots),
            ..Guard::default()
        };

        for m in &facts.mounts {
            let mp = m.mount_point.to_string_lossy();
            let system = SYSTEM_MOUNT_POINTS.contains(&mp.as_ref());
            let live = LIVE_MEDIUM_MOUNT_POINTS.contains(&mp.as_ref());
            for dev in mount_devices(m, &facts.mounts) {
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

        for (name, info) in &facts.loops {
            let Some(lo) = disk_devnum(sysfs, name) else {
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

        for (num, dev) in sysfs.index() {
            for holder in sysfs.holders(&dev) {
                let Some(h) = disk_devnum(sysfs, &holder) else {
                    continue;
                };
                let description = sysfs.describe_holder(&holder);
                let protection = Protection::Held {
                    device: format!("/dev/{}", dev.name()),
                    holder,
                    description,
                };
                guard.add(Node::Block(num), protection, Some(h));
            }
            if dev.partition.is_none() && sysfs.attr(&dev.disk, "ro").as_deref() == Some("1") {
                guard.read_only.insert(num);
            }
        }

        guard.stack = stack;
        for disk in sysfs.disks() {
            if let Some(num) = disk_devnum(sysfs, &disk) {
                let list = guard.check(Node::Block(num));
                if !list.is_empty() {
                    guard.by_disk.insert(disk, list);
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

/// The device number of a whole disk by kernel name.
fn disk_devnum(sysfs: &Sysfs, disk: &str) -> Option<DevNum> {
    sysfs.devnum(&BlockName {
        disk: disk.to_string(),
        partition: None,
    })
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
            let mut map = HashMap::new();
            for (root, _) in &self.roots {
                collect_files(root, 0, &mut map);
            }
            map
        });
        files.get(&file).cloned()
    }
}

/// Every regular file below `dir` by identity (symbolic links are not followed: what they
/// point to is not in the state directory).
fn collect_files(dir: &Path, depth: usize, out: &mut HashMap<FileId, PathBuf>) {
    let Ok(meta) = std::fs::symlink_metadata(dir) else {
        return;
    };
    if meta.is_file() {
        out.entry(FileId::of(&meta))
            .or_insert_with(|| dir.to_path_buf());
        return;
    }
    if !meta.is_dir() || depth > 16 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        collect_files(&entry.path(), depth + 1, out);
    }
}

/// The block devices a mount stands on, following overlay layers to the mounts that hold them.
fn mount_devices(mount: &MountEntry, mounts: &[MountEntry]) -> Vec<DevNum> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    mount_walk(mount, mounts, &mut out, &mut seen, 0);
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
mod tests {
    use super::super::facts::LoopInfo;
    use super::super::mounts::SwapEntry;
    use super::super::sysfs::fixture;
    use super::*;

    fn mount(dev: &str, mp: &str, fs: &str, source: &str, opts: &str) -> MountEntry {
        let d = DevNum::parse(dev).unwrap();
        MountEntry {
            major: d.major,
            minor: d.minor,
            mount_point: mp.into(),
            fs_type: fs.into(),
            source: source.into(),
            super_options: opts.into(),
        }
    }

    fn dn(s: &str) -> DevNum {
        DevNum::parse(s).unwrap()
    }

    fn file_loop(name: &str, file: &str, dev: &str, ino: u64) -> (String, LoopInfo) {
        let backing = Backing::File(FileId { dev: dn(dev), ino });
        (name.to_string(), loop_info(file, Some(backing)))
    }

    fn block_loop(name: &str, backing: &str) -> (String, LoopInfo) {
        let file = format!("/dev/{name}-backing");
        let info = loop_info(&file, Some(Backing::Block(dn(backing))));
        (name.to_string(), info)
    }

    fn loop_info(file: &str, backing: Option<Backing>) -> LoopInfo {
        LoopInfo {
            file: file.into(),
            backing,
        }
    }

    /// sda: system disk with / on sda2 and /boot on sda1; sdb: LVM member; sdc: data disk with
    /// a mounted partition; sdd: swap; sde: free; sdf: read-only; loop0 over a file on sdc1.
    fn system() -> (tempfile::TempDir, Sysfs, SystemFacts) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (name, dev) in [
            ("sda", "8:0"),
            ("sdb", "8:16"),
            ("sdc", "8:32"),
            ("sdd", "8:48"),
            ("sde", "8:64"),
            ("sdf", "8:80"),
            ("loop0", "7:0"),
        ] {
            let ro = if name == "sdf" { "1" } else { "0" };
            fixture::disk(root, name, dev, &[("ro", ro)]);
        }
        fixture::disk(
            root,
            "loop0",
            "7:0",
            &[("ro", "0"), ("loop/backing_file", "/data/x.img")],
        );
        fixture::partition(root, "sda", "sda1", "8:1");
        fixture::partition(root, "sda", "sda2", "8:2");
        fixture::partition(root, "sdc", "sdc1", "8:33");
        fixture::partition(root, "sdd", "sdd1", "8:49");
        fixture::disk(
            root,
            "dm-0",
            "253:0",
            &[("dm/uuid", "LVM-xyz"), ("dm/name", "vg-data")],
        );
        fixture::hold(root, "sdb", "dm-0");
        let facts = SystemFacts {
            mounts: vec![
                mount("8:2", "/", "ext4", "/dev/sda2", "rw"),
                mount("8:1", "/boot", "vfat", "/dev/sda1", "rw"),
                mount("0:21", "/proc", "proc", "proc", "rw"),
                mount("8:33", "/data", "ext4", "/dev/sdc1", "rw"),
            ],
            swaps: vec![(
                SwapEntry {
                    path: "/dev/sdd1".into(),
                    kind: "partition".into(),
                },
                Some(Backing::Block(dn("8:49"))),
            )],
            loops: [file_loop("loop0", "/data/x.img", "8:33", 12)].into(),
            ..SystemFacts::default()
        };
        let sysfs = Sysfs::at(root);
        (dir, sysfs, facts)
    }

    #[test]
    fn system_disk_mounted_swap_held_and_read_only_are_protected() {
        let (_dir, sysfs, facts) = system();
        let guard = Guard::compute(&sysfs, &facts);
        let sda = guard.reason("sda").unwrap();
        assert!(
            sda.contains("holds the running system (/dev/sda2 is mounted on /)"),
            "{sda}"
        );
        assert!(guard.protections("sda").iter().all(Protection::is_system));
        let sdb = guard.reason("sdb").unwrap();
        assert!(
            sdb.contains("held by /dev/dm-0 (LVM logical volume vg-data)"),
            "{sdb}"
        );
        let sdc = guard.reason("sdc").unwrap();
        assert!(
            sdc.contains("/dev/sdc1 is mounted on /data: unmount it first"),
            "{sdc}"
        );
        let sdd = guard.reason("sdd").unwrap();
        assert!(sdd.contains("/dev/sdd1 is active swap"), "{sdd}");
        assert_eq!(guard.reason("sde"), None);
        assert!(guard.reason("sdf").unwrap().contains("read-only"));
        // The loop device's file lives on sdc, but writing it harms nothing else.
        assert_eq!(guard.reason("loop0"), None);
    }

    #[test]
    fn root_on_dm_over_partition_protects_the_disk_below() {
        let (dir, _, mut facts) = system();
        let root = dir.path();
        fixture::disk(root, "sdg", "8:96", &[("ro", "0")]);
        fixture::partition(root, "sdg", "sdg1", "8:97");
        fixture::disk(
            root,
            "dm-1",
            "253:1",
            &[("dm/uuid", "CRYPT-LUKS2-1"), ("dm/name", "root")],
        );
        fixture::hold(root, "sdg/sdg1", "dm-1");
        facts.mounts = vec![mount("253:1", "/", "ext4", "/dev/mapper/root", "rw")];
        let guard = Guard::compute(&Sysfs::at(root), &facts);
        let sdg = guard.reason("sdg").unwrap();
        assert!(
            sdg.starts_with("holds the running system (/dev/dm-1 is mounted on /)"),
            "{sdg}"
        );
        assert!(sdg.contains("/dev/sdg1 is held by /dev/dm-1"), "{sdg}");
        assert!(sdg.contains("dm-crypt mapping root"), "{sdg}");
    }

    #[test]
    fn live_overlay_root_protects_the_boot_medium_through_the_squashfs_loop() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fixture::disk(root, "sdh", "8:112", &[("ro", "0")]);
        fixture::partition(root, "sdh", "sdh1", "8:113");
        fixture::disk(
            root,
            "loop7",
            "7:7",
            &[("loop/backing_file", "/run/live/medium/live/fs.squashfs")],
        );
        let facts = SystemFacts {
            mounts: vec![
                mount("8:113", "/run/live/medium", "iso9660", "/dev/sdh1", "ro"),
                mount(
                    "7:7",
                    "/run/live/rootfs/fs.squashfs",
                    "squashfs",
                    "/dev/loop7",
                    "ro",
                ),
                mount("0:30", "/run/live/overlay", "tmpfs", "tmpfs", "rw"),
                mount(
                    "0:31",
                    "/",
                    "overlay",
                    "overlay",
                    "rw,lowerdir=/run/live/rootfs/fs.squashfs/,upperdir=/run/live/overlay/rw,workdir=/run/live/overlay/work",
                ),
            ],
            swaps: vec![],
            loops: [file_loop(
                "loop7",
                "/run/live/medium/live/fs.squashfs",
                "8:113",
                40,
            )]
            .into(),
            ..SystemFacts::default()
        };
        let guard = Guard::compute(&Sysfs::at(root), &facts);
        let sdh = guard.reason("sdh").unwrap();
        assert!(sdh.contains("holds the running system"), "{sdh}");
        assert!(sdh.contains("live medium"), "{sdh}");
        assert!(guard.reason("loop7").unwrap().contains("running system"));
    }

    #[test]
    fn state_directory_and_swap_file_protect_their_disk() {
        let (_dir, sysfs, mut facts) = system();
        facts.protected_paths = vec![(
            ProtectedPath::StateDirectory("/data/wipeproof".into()),
            dn("8:33"),
        )];
        facts.swaps.push((
            SwapEntry {
                path: "/data/swapfile".into(),
                kind: "file".into(),
            },
            Some(Backing::File(FileId {
                dev: dn("8:33"),
                ino: 77,
            })),
        ));
        let guard = Guard::compute(&sysfs, &facts);
        let sdc = guard.reason("sdc").unwrap();
        assert!(
            sdc.starts_with("holds wipeproof's state directory /data/wipeproof"),
            "{sdc}"
        );
        assert!(sdc.contains("swap file /data/swapfile"), "{sdc}");
    }

    fn add_loops(root: &Path, numbers: &[u32]) {
        for n in numbers {
            fixture::disk(root, &format!("loop{n}"), &format!("7:{n}"), &[("ro", "0")]);
        }
    }

    #[test]
    fn a_loop_device_over_a_block_device_stands_on_that_device_not_on_dev() {
        let (dir, _, mut facts) = system();
        let root = dir.path();
        add_loops(root, &[1, 2, 3, 4]);
        facts.loops.extend([
            block_loop("loop1", "8:0"),
            block_loop("loop2", "8:33"),
            block_loop("loop3", "8:49"),
            block_loop("loop4", "8:64"),
        ]);
        let guard = Guard::compute(&Sysfs::at(root), &facts);
        let loop1 = guard.reason("loop1").unwrap();
        assert!(
            loop1.starts_with("holds the running system (/dev/sda2 is mounted on /)"),
            "{loop1}"
        );
        let loop2 = guard.reason("loop2").unwrap();
        assert!(loop2.contains("/dev/sdc1 is mounted on /data"), "{loop2}");
        let loop3 = guard.reason("loop3").unwrap();
        assert!(loop3.contains("/dev/sdd1 is active swap"), "{loop3}");
        // A loop device over a free disk may be erased; the disk under it may not while it is.
        assert_eq!(guard.reason("loop4"), None);
        let sde = guard.reason("sde").unwrap();
        assert!(
            sde.contains("/dev/loop4 is a loop device over /dev/sde: detach it first"),
            "{sde}"
        );
    }

    #[test]
    fn stacks_three_levels_deep_are_followed_down_and_up() {
        let (dir, _, mut facts) = system();
        let root = dir.path();
        add_loops(root, &[1, 2, 3, 4, 5, 6]);
        // Down: loop1 over loop2 over loop3, and loop3 is mounted.
        // Up: loop4 over loop5 over loop6, and loop4 is mounted.
        facts.loops.extend([
            block_loop("loop1", "7:2"),
            block_loop("loop2", "7:3"),
            block_loop("loop4", "7:5"),
            block_loop("loop5", "7:6"),
        ]);
        facts
            .mounts
            .push(mount("7:3", "/mnt/low", "ext4", "/dev/loop3", "rw"));
        facts
            .mounts
            .push(mount("7:4", "/mnt/high", "ext4", "/dev/loop4", "rw"));
        let guard = Guard::compute(&Sysfs::at(root), &facts);
        for disk in ["loop1", "loop2", "loop3"] {
            let r = guard.reason(disk).unwrap_or_default();
            assert!(
                r.contains("/dev/loop3 is mounted on /mnt/low"),
                "{disk}: {r}"
            );
        }
        for disk in ["loop4", "loop5", "loop6"] {
            let r = guard.reason(disk).unwrap_or_default();
            assert!(
                r.contains("/dev/loop4 is mounted on /mnt/high"),
                "{disk}: {r}"
            );
        }
    }

    #[test]
    fn a_second_loop_over_an_attached_image_is_refused_and_a_lone_one_is_not() {
        let (dir, _, mut facts) = system();
        let root = dir.path();
        add_loops(root, &[1, 2, 3]);
        facts.loops.extend([
            file_loop("loop1", "/dev/shm/a.img", "0:40", 50),
            file_loop("loop2", "/dev/shm/a-link.img", "0:40", 50),
            file_loop("loop3", "/dev/shm/b.img", "0:40", 51),
        ]);
        facts
            .mounts
            .push(mount("7:1", "/mnt/a", "ext4", "/dev/loop1", "rw"));
        let guard = Guard::compute(&Sysfs::at(root), &facts);
        let loop2 = guard.reason("loop2").unwrap();
        assert!(loop2.contains("/dev/loop1 is mounted on /mnt/a"), "{loop2}");
        assert!(
            loop2.contains("/dev/loop1 is a loop device over /dev/shm/a.img"),
            "{loop2}"
        );
        assert_eq!(guard.reason("loop3"), None);
        // The image itself, by identity, whatever its name.
        let image = FileId {
            dev: dn("0:40"),
            ino: 50,
        };
        let refusals = guard.check(Node::File(image));
        assert!(
            refusals
                .iter()
                .any(|p| p.to_string().contains("/dev/loop1 is mounted on /mnt/a")),
            "{refusals:?}"
        );
    }

    #[test]
    fn a_filesystem_holding_the_file_of_a_mounted_loop_is_refused_without_a_mount_of_its_own() {
        // sde's filesystem was unmounted lazily; a file on it still backs loop1, mounted.
        let (dir, _, mut facts) = system();
        let root = dir.path();
        add_loops(root, &[1]);
        facts
            .loops
            .extend([file_loop("loop1", "/inner.img", "8:64", 9)]);
        facts
            .mounts
            .push(mount("7:1", "/mnt/inner", "ext4", "/dev/loop1", "rw"));
        let guard = Guard::compute(&Sysfs::at(root), &facts);
        let sde = guard.reason("sde").unwrap();
        assert!(sde.contains("/dev/loop1 is mounted on /mnt/inner"), "{sde}");
        assert!(
            sde.contains("/dev/loop1 is a loop device over /inner.img"),
            "{sde}"
        );
    }

    #[test]
    fn a_dm_device_is_free_on_its_own_members_but_not_on_shared_ones() {
        let (dir, _, _) = system();
        let root = dir.path();
        let sysfs = Sysfs::at(root);
        let (_, _, facts) = system();
        // dm-0 alone on sdb: what holds sdb is dm-0 itself.
        assert_eq!(Guard::compute(&sysfs, &facts).reason("dm-0"), None);
        fixture::disk(
            root,
            "dm-2",
            "253:2",
            &[("dm/uuid", "LVM-abc"), ("dm/name", "vg-other")],
        );
        fixture::hold(root, "sdb", "dm-2");
        let dm0 = Guard::compute(&sysfs, &facts).reason("dm-0").unwrap();
        assert!(
            dm0.contains("/dev/sdb is held by /dev/dm-2 (LVM logical volume vg-other)"),
            "{dm0}"
        );
    }

    #[test]
    fn overlay_layers_are_parsed() {
        assert_eq!(
            overlay_layers("rw,lowerdir=/a:/b,upperdir=/u/rw,workdir=/w"),
            [PathBuf::from("/a"), "/b".into(), "/u/rw".into()]
        );
    }
}
