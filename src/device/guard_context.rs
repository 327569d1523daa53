//! [`GuardContext`]: what the guard needs beyond the system itself (the paths wipeproof writes
//! to), and the one scan of sysfs that every look of a run shares.
//!
//! A full look ([`GuardContext::guard`], for `list` and the station's periodic look) scans every
//! block device. The looks that follow reuse that scan ([`crate::device::snapshot`]) and bring
//! up to date only what can have changed for the drive at hand:
//!
//! * right before and right after a drive is opened for erasure ([`GuardContext::guard_for`]):
//!   the list of disks (one read of `/sys/block`, new disks read in full), the drive's own
//!   directory (partitions, holders, slaves, read-only), then the directory of every device
//!   the drive's stack reaches, again until nothing new is reached; and every fact the guard
//!   reads outside sysfs (the mount table, swap, what each loop device stands on, the state
//!   and export paths) is read again in full. So a drive that was mounted, built on (LVM, md,
//!   dm), given a loop device or partitions, or swapped on since the scan is refused as if the
//!   scan had been made that instant;
//! * after hot-plug events ([`GuardContext::guard_after`]): the disks the events name.
//!
//! Which whole disk a device number is, is asked of the kernel each time
//! ([`GuardContext::disk_of`], `/sys/dev/block/MAJ:MIN`), never taken from a kept scan.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use super::facts::SystemFacts;
use super::guard::Guard;
use super::snapshot::Snapshot;
use super::stack::{Node, Stack};
use super::sysfs::{BlockName, DevNum, Sysfs};

/// What the guard needs to know beyond the system itself: the paths wipeproof writes to; and
/// the scan of sysfs its looks share (clones share it too).
#[derive(Debug, Clone)]
pub struct GuardContext {
    pub sysfs: Sysfs,
    /// The state directory and certificate directory.
    pub state_paths: Vec<PathBuf>,
    /// The export medium, if configured.
    pub export: Option<PathBuf>,
    /// An image file on a copy-on-write filesystem may be wiped (`--allow-cow`); its target
    /// then says so, and so does its certificate.
    pub allow_cow: bool,
    scan: Arc<Mutex<Option<Snapshot>>>,
}

impl GuardContext {
    /// Context for the running system with the given protected paths.
    pub fn new(state_paths: Vec<PathBuf>, export: Option<PathBuf>) -> GuardContext {
        GuardContext::at(Sysfs::system(), state_paths, export)
    }

    /// Context for a sysfs tree at another root (tests).
    pub fn at(sysfs: Sysfs, state_paths: Vec<PathBuf>, export: Option<PathBuf>) -> GuardContext {
        GuardContext {
            sysfs,
            state_paths,
            export,
            allow_cow: false,
            scan: Arc::default(),
        }
    }

    /// The same context, allowing (or not) image files on copy-on-write filesystems.
    pub fn allowing_cow(mut self, allow: bool) -> GuardContext {
        self.allow_cow = allow;
        self
    }

    /// Computes the guard's verdict for every disk now, from a new scan of every block device;
    /// the scan is kept for the looks that follow.
    pub fn guard(&self) -> Guard {
        let snap = Snapshot::take(&self.sysfs);
        let facts = self.facts(&snap);
        let guard = Guard::of(&snap, &facts);
        *self.kept() = Some(snap);
        guard
    }

    /// The guard's verdict on `target` (a drive by device number, an image file by identity)
    /// as the system stands now: the kept scan (a new one if there is none) with everything
    /// that bears on `target` read again, and the facts read now. Only `check(target)` of the
    /// result is current; other disks' verdicts may be as old as the scan.
    pub fn guard_for(&self, target: Node) -> Guard {
        let mut kept = self.kept();
        let snap = kept.get_or_insert_with(|| Snapshot::take(&self.sysfs));
        snap.refresh_names(&self.sysfs);
        let facts = self.facts(snap);
        refresh_around(snap, &self.sysfs, &facts, target);
        Guard::of(snap, &facts)
    }

    /// The guard's verdict for every disk after hot-plug events about `disks`: those are read
    /// again (and disks that came or went), the rest of the kept scan stands; the facts are
    /// read now. Without a kept scan, a full one.
    pub fn guard_after(&self, disks: &[&str]) -> Guard {
        let mut kept = self.kept();
        let Some(snap) = kept.as_mut() else {
            drop(kept);
            return self.guard();
        };
        snap.refresh_names(&self.sysfs);
        for disk in disks {
            snap.refresh_disk(&self.sysfs, disk);
        }
        let facts = self.facts(snap);
        Guard::of(snap, &facts)
    }

    /// Which disk or partition the device number `dev` is, asked of the kernel now
    /// (`/sys/dev/block/MAJ:MIN` names it). A sysfs tree without that directory (a test's)
    /// is scanned instead.
    pub fn disk_of(&self, dev: DevNum) -> Option<BlockName> {
        let link = self.sysfs.root().join("dev/block").join(dev.to_string());
        if !self.sysfs.root().join("dev/block").is_dir() {
            return Snapshot::take(&self.sysfs).name_of(dev);
        }
        let real = std::fs::canonicalize(link).ok()?;
        let name = real.file_name()?.to_str()?.to_string();
        if !real.join("partition").is_file() {
            return Some(BlockName {
                disk: name,
                partition: None,
            });
        }
        let disk = real.parent()?.file_name()?.to_str()?.to_string();
        Some(BlockName {
            disk,
            partition: Some(name),
        })
    }

    fn facts(&self, snap: &Snapshot) -> SystemFacts {
        SystemFacts::gather(&self.sysfs, snap, &self.state_paths, self.export.as_deref())
    }

    fn kept(&self) -> MutexGuard<'_, Option<Snapshot>> {
        // A look that panicked left at worst a scan partly brought up to date, which the next
        // look brings up to date again.
        self.scan.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Reads again the directory of the disk of `target` and of every disk its stack reaches (up:
/// partitions, holders, loop devices over it; down: what it is built on), until no new disk is
/// reached, so that the stack the guard follows from `target` is the one in sysfs now.
fn refresh_around(snap: &mut Snapshot, sysfs: &Sysfs, facts: &SystemFacts, target: Node) {
    let mut read = BTreeSet::new();
    if let Node::Block(dev) = target {
        match snap.name_of(dev) {
            Some(name) => {
                snap.refresh_disk(sysfs, &name.disk);
                read.insert(name.disk);
            }
            // Not in the scan: something changed that a look at one disk cannot place.
            None => {
                *snap = Snapshot::take(sysfs);
                return;
            }
        }
    }
    loop {
        let stack = Stack::build(snap, facts);
        let reached: BTreeSet<String> = stack
            .affected(target)
            .into_iter()
            .chain(stack.beneath(target))
            .filter_map(|node| match node {
                Node::Block(dev) => stack.name(dev).map(|b| b.disk.clone()),
                Node::File(_) => None,
            })
            .filter(|disk| !read.contains(disk))
            .collect();
        if reached.is_empty() {
            return;
        }
        for disk in reached {
            snap.refresh_disk(sysfs, &disk);
            read.insert(disk);
        }
    }
}

#[cfg(test)]
#[path = "guard_context_tests.rs"]
mod tests;
