//! The safety guard: which drives must never be erased, and why (ARCHITECTURE.md, invariant 1).
//!
//! The guard is computed from facts about the running system (mount table, active swap, the
//! paths wipeproof itself writes to) and the sysfs device tree. It follows the chains a disk can
//! hide behind: partitions, device-mapper and md stacks (`slaves`), loop devices (the disk that
//! holds the backing file) and overlay filesystems (the mounts holding `lowerdir`/`upperdir`).
//!
//! It is consulted by `list` (to show what is protected) and, unskippably, by
//! [`crate::device::Target::open_for_erase`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use super::mounts::{MountEntry, SwapEntry, parse_mountinfo, parse_swaps};
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
    /// Another block device (LVM, md, dm-crypt) is built on it.
    Held {
        device: String,
        holder: String,
        description: String,
    },
    /// The kernel reports the device read-only.
    ReadOnly,
    /// The device is a loop device whose backing file wipeproof cannot see.
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

/// Facts about the running system that the guard needs, gathered from `/proc` and `stat`.
#[derive(Debug, Clone, Default)]
pub struct SystemFacts {
    /// The mount table; for mounts with an anonymous device number (btrfs) whose source is a
    /// block device node, the number is the node's.
    pub mounts: Vec<MountEntry>,
    /// Active swap areas with the device number they live on (the device itself for a swap
    /// partition, the filesystem's device for a swap file).
    pub swaps: Vec<(SwapEntry, Option<DevNum>)>,
    /// The device numbers holding each loop device's backing file, by loop name.
    pub loop_backing: HashMap<String, DevNum>,
    /// Paths wipeproof writes to, with the kind of protection and the device holding them.
    pub protected_paths: Vec<(ProtectedPath, DevNum)>,
}

/// A path wipeproof itself needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtectedPath {
    StateDirectory(PathBuf),
    ExportMedium(PathBuf),
}

impl SystemFacts {
    /// Reads the facts of the running system. `state_paths` are the state directory (and its
    /// certificate directory); `export` the export medium, if configured.
    pub fn gather(sysfs: &Sysfs, state_paths: &[PathBuf], export: Option<&Path>) -> SystemFacts {
        let mounts_text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut mounts = parse_mountinfo(&mounts_text);
        for m in &mut mounts {
            if m.major == 0
                && m.source.starts_with("/dev/")
                && let Some(dev) = block_rdev(Path::new(&m.source))
            {
                m.major = dev.major;
                m.minor = dev.minor;
            }
        }
        let swaps_text = std::fs::read_to_string("/proc/swaps").unwrap_or_default();
        let swaps = parse_swaps(&swaps_text)
            .into_iter()
            .map(|s| {
                let dev = block_rdev(&s.path).or_else(|| path_dev(&s.path));
                (s, dev)
            })
            .collect();
        let mut loop_backing = HashMap::new();
        for disk in sysfs.disks() {
            if disk.starts_with("loop")
                && let Some(file) = sysfs.attr(&disk, "loop/backing_file")
                && let Some(dev) = path_dev(Path::new(file.trim_end_matches(" (deleted)")))
            {
                loop_backing.insert(disk, dev);
            }
        }
        let mut protected_paths = Vec::new();
        for p in state_paths {
            // The certificate directory usually lives inside the state directory: one refusal
            // per filesystem is enough to say why.
            if let Some(dev) = path_dev(p)
                && !protected_paths.iter().any(|(_, seen)| *seen == dev)
            {
                protected_paths.push((ProtectedPath::StateDirectory(p.clone()), dev));
            }
        }
        if let Some(p) = export
            && let Some(dev) = path_dev(p)
        {
            protected_paths.push((ProtectedPath::ExportMedium(p.to_path_buf()), dev));
        }
        SystemFacts {
            mounts,
            swaps,
            loop_backing,
            protected_paths,
        }
    }
}

/// The device number of the filesystem holding `path` (its `st_dev`).
pub fn path_dev(path: &Path) -> Option<DevNum> {
    nix::sys::stat::stat(path)
        .ok()
        .map(|st| DevNum::from_raw(st.st_dev))
}

/// The device number a block device node stands for (its `st_rdev`), if it is one.
pub fn block_rdev(path: &Path) -> Option<DevNum> {
    let st = nix::sys::stat::stat(path).ok()?;
    (st.st_mode & libc::S_IFMT == libc::S_IFBLK).then(|| DevNum::from_raw(st.st_rdev))
}

/// The guard's verdict for every disk of the system.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    by_disk: BTreeMap<String, Vec<Protection>>,
}

impl Guard {
    /// Computes protections for every disk from sysfs and the system facts.
    pub fn compute(sysfs: &Sysfs, facts: &SystemFacts) -> Guard {
        let mut resolver = Resolver::new(sysfs, facts);
        let mut guard = Guard::default();

        for m in &facts.mounts {
            let mp = m.mount_point.to_string_lossy();
            let system = SYSTEM_MOUNT_POINTS.contains(&mp.as_ref());
            let live = LIVE_MEDIUM_MOUNT_POINTS.contains(&mp.as_ref());
            for (disk, via) in resolver.disks_under_mount(m) {
                let device = format!("/dev/{via}");
                let protection = if system {
                    Protection::SystemDisk {
                        device,
                        mount_point: m.mount_point.clone(),
                    }
                } else if live {
                    Protection::LiveMedium {
                        device,
                        mount_point: m.mount_point.clone(),
                    }
                } else {
                    Protection::Mounted {
                        device,
                        mount_point: m.mount_point.clone(),
                    }
                };
                guard.add(&disk, protection);
            }
        }

        for (swap, dev) in &facts.swaps {
            let Some(dev) = dev else { continue };
            for (disk, via) in resolver.disks_under(*dev) {
                let protection = if swap.kind == "file" {
                    Protection::SwapFile {
                        file: swap.path.clone(),
                    }
                } else {
                    Protection::Swap {
                        device: format!("/dev/{via}"),
                    }
                };
                guard.add(&disk, protection);
            }
        }

        for (path, dev) in &facts.protected_paths {
            for (disk, _) in resolver.disks_under(*dev) {
                let protection = match path {
                    ProtectedPath::StateDirectory(p) => {
                        Protection::StateDirectory { path: p.clone() }
                    }
                    ProtectedPath::ExportMedium(p) => Protection::ExportMedium { path: p.clone() },
                };
                guard.add(&disk, protection);
            }
        }

        for disk in sysfs.disks() {
            let whole = BlockName {
                disk: disk.clone(),
                partition: None,
            };
            let mut devices = vec![whole];
            devices.extend(sysfs.partitions(&disk).into_iter().map(|p| BlockName {
                disk: disk.clone(),
                partition: Some(p),
            }));
            for dev in &devices {
                for holder in sysfs.holders(dev) {
                    let description = sysfs.describe_holder(&holder);
                    guard.add(
                        &disk,
                        Protection::Held {
                            device: format!("/dev/{}", dev.name()),
                            holder,
                            description,
                        },
                    );
                }
            }
            if sysfs.attr(&disk, "ro").as_deref() == Some("1") {
                guard.add(&disk, Protection::ReadOnly);
            }
            if disk.starts_with("loop")
                && sysfs.attr(&disk, "loop/backing_file").is_some()
                && !facts.loop_backing.contains_key(&disk)
            {
                guard.add(
                    &disk,
                    Protection::Unresolvable {
                        device: format!("/dev/{disk}"),
                        detail: "has a backing file that cannot be found, so wipeproof cannot \
                                 tell which drive it lives on; detach and re-attach it"
                            .into(),
                    },
                );
            }
        }
        guard
    }

    fn add(&mut self, disk: &str, protection: Protection) {
        let list = self.by_disk.entry(disk.to_string()).or_default();
        if !list.contains(&protection) {
            list.push(protection);
        }
    }

    /// The protections of a disk (empty if it may be erased).
    pub fn protections(&self, disk: &str) -> &[Protection] {
        self.by_disk.get(disk).map(Vec::as_slice).unwrap_or(&[])
    }

    /// All reasons for a disk as one sentence, system reasons first; `None` if unprotected.
    pub fn reason(&self, disk: &str) -> Option<String> {
        let mut list: Vec<&Protection> = self.protections(disk).iter().collect();
        if list.is_empty() {
            return None;
        }
        list.sort_by_key(|p| !p.is_system());
        Some(
            list.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join("; "),
        )
    }
}

/// Follows a device number down to the whole disks it lives on.
struct Resolver<'a> {
    sysfs: &'a Sysfs,
    facts: &'a SystemFacts,
    index: HashMap<DevNum, BlockName>,
    by_name: HashMap<String, BlockName>,
}

impl<'a> Resolver<'a> {
    fn new(sysfs: &'a Sysfs, facts: &'a SystemFacts) -> Self {
        let index = sysfs.index();
        let by_name = index
            .values()
            .map(|b| (b.name().to_string(), b.clone()))
            .collect();
        Resolver {
            sysfs,
            facts,
            index,
            by_name,
        }
    }

    /// Whole disks (with the device that led there, e.g. the partition) under a device number.
    fn disks_under(&mut self, dev: DevNum) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        if let Some(b) = self.index.get(&dev).cloned() {
            self.walk(&b, &mut out, &mut seen, 0);
        }
        out
    }

    fn walk(
        &self,
        dev: &BlockName,
        out: &mut Vec<(String, String)>,
        seen: &mut HashSet<String>,
        depth: usize,
    ) {
        if depth > 16 || !seen.insert(dev.name().to_string()) {
            return;
        }
        out.push((dev.disk.clone(), dev.name().to_string()));
        // A stacked device (dm, md) lives on its slaves.
        for slave in self.sysfs.slaves(&dev.disk) {
            if let Some(b) = self.by_name.get(&slave) {
                self.walk(b, out, seen, depth + 1);
            }
        }
        // A loop device lives on the disk holding its backing file.
        if let Some(backing) = self.facts.loop_backing.get(&dev.disk)
            && let Some(b) = self.index.get(backing)
        {
            self.walk(b, out, seen, depth + 1);
        }
    }

    /// Whole disks under a mount, following overlay layers to the mounts that hold them.
    fn disks_under_mount(&mut self, mount: &MountEntry) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut seen_mounts = HashSet::new();
        self.mount_walk(mount, &mut out, &mut seen_mounts, 0);
        out
    }

    fn mount_walk(
        &mut self,
        mount: &MountEntry,
        out: &mut Vec<(String, String)>,
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
            for d in self.disks_under(dev) {
                if !out.contains(&d) {
                    out.push(d);
                }
            }
            return;
        }
        if mount.fs_type != "overlay" {
            return;
        }
        for layer in overlay_layers(&mount.super_options) {
            if let Some(holder) = containing_mount(&self.facts.mounts, &layer).cloned() {
                self.mount_walk(&holder, out, seen, depth + 1);
            }
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
                Some(dn("8:49")),
            )],
            loop_backing: [("loop0".to_string(), dn("8:33"))].into(),
            protected_paths: vec![],
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
            sdg.starts_with("holds the running system (/dev/sdg1"),
            "{sdg}"
        );
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
            loop_backing: [("loop7".to_string(), dn("8:113"))].into(),
            protected_paths: vec![],
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
            Some(dn("8:33")),
        ));
        let guard = Guard::compute(&sysfs, &facts);
        let sdc = guard.reason("sdc").unwrap();
        assert!(
            sdc.starts_with("holds wipeproof's state directory /data/wipeproof"),
            "{sdc}"
        );
        assert!(sdc.contains("swap file /data/swapfile"), "{sdc}");
    }

    #[test]
    fn overlay_layers_are_parsed() {
        assert_eq!(
            overlay_layers("rw,lowerdir=/a:/b,upperdir=/u/rw,workdir=/w"),
            [PathBuf::from("/a"), "/b".into(), "/u/rw".into()]
        );
    }
}
