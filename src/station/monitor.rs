//! Which drives are there, kept up to date while the station runs: hot-plug events (kernel or
//! udev) say when to look, sysfs says what is there now, and the wipe's own checks
//! ([`verdict::judge`]) say which are protected or busy, as `list` shows them.
//!
//! A drive counts as present while its size is non-zero, so a loop device appears when it gets
//! a backing file and goes when it loses it. The events of one wait are looked at together,
//! and only the disks they name are read again from sysfs (the rest of the last scan stands,
//! [`GuardContext::guard_after`]); the mount table, swap and loop devices are read anew. A full
//! rescan every few seconds catches anything an overflowing event socket lost, and refreshes
//! the verdict (a drive mounted or locked after it appeared becomes protected or busy).
//!
//! Whether another program holds a drive open exclusively is seen only by opening it
//! exclusively, which for that instant makes a `mount` or `mkfs` of it fail: that is done when
//! the drive appears and again right before an automatic wipe of it starts ([`Monitor::recheck`]),
//! never in the periodic look, which keeps what the last such look found.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::device::discovery::{Busy, describe_disk, is_listed};
use crate::device::hotplug::{Action, Hotplug};
use crate::device::identity::IdentifyOptions;
use crate::device::stack::Node;
use crate::device::sysfs::BlockName;
use crate::device::verdict::Probe;
use crate::device::{DriveInfo, Guard, GuardContext};
use crate::erase::firmware;

/// How often everything is looked at again, events or not.
const RESCAN_EVERY: Duration = Duration::from_secs(2);

/// A change in the set of drives.
#[derive(Debug, Clone)]
pub enum Change {
    Appeared(DriveInfo),
    /// The verdict on a present drive changed (it was mounted or unmounted, locked or let go,
    /// found held by another program).
    Guarded(DriveInfo),
    /// The drive (by path) is gone.
    Removed(String),
}

struct Known {
    info: DriveInfo,
    /// A loop device's `autoclear` when it appeared (a detach of a busy loop device sets it).
    autoclear: Option<bool>,
    /// What sysfs said of the disk when it appeared: another drive at the same name (a loop
    /// device attached to another file between two looks) is another drive.
    mark: Mark,
    /// What the last exclusive look found: another program holding the drive open exclusively.
    /// The periodic look cannot see that, so it keeps this.
    exclusive: Option<Busy>,
}

/// The cheap sysfs facts that tell one drive at a name from the next: its size, and a loop
/// device's backing file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mark {
    size: u64,
    backing: Option<String>,
}

/// The drives present, and the events that change them.
pub struct Monitor {
    hotplug: Option<Hotplug>,
    guard: GuardContext,
    /// Glob patterns; when any are given, only drives whose path, serial or model matches
    /// one are watched (the rest are not this station's business).
    only: Vec<String>,
    known: BTreeMap<String, Known>,
    last_scan: Instant,
}

impl Monitor {
    /// Starts watching and lists the drives present now. A watcher that cannot start is
    /// reported as a warning: rescans still find drives, only later.
    pub fn start(
        guard: GuardContext,
        only: Vec<String>,
    ) -> (Monitor, Vec<DriveInfo>, Option<String>) {
        let (hotplug, warning) = match Hotplug::open() {
            Ok(h) => (Some(h), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let mut m = Monitor {
            hotplug,
            guard,
            only,
            known: BTreeMap::new(),
            last_scan: Instant::now(),
        };
        let present = m
            .rescan()
            .into_iter()
            .filter_map(|c| match c {
                Change::Appeared(d) => Some(d),
                _ => None,
            })
            .collect();
        (m, present, warning)
    }

    /// The drive at `path`, if present.
    pub fn drive(&self, path: &str) -> Option<&DriveInfo> {
        self.known.get(disk_of(path)).map(|k| &k.info)
    }

    /// Waits up to `timeout` for changes.
    pub fn poll(&mut self, timeout: Duration) -> Vec<Change> {
        let events = match &mut self.hotplug {
            Some(h) => h.wait(timeout).unwrap_or_default(),
            None => {
                std::thread::sleep(timeout);
                Vec::new()
            }
        };
        let named: Vec<(&str, &Action)> = events
            .iter()
            .filter_map(|e| Some((e.disk()?, &e.action)))
            .filter(|(disk, _)| is_listed(disk))
            .collect();
        // One look for every event of the batch (24 drives plugged in at once are one batch):
        // the disks they name are read again, the rest of the kept scan stands.
        let looked_at: Vec<&str> = named
            .iter()
            .filter(|(_, action)| **action != Action::Remove)
            .map(|(disk, _)| *disk)
            .collect();
        let guard = (!looked_at.is_empty()).then(|| self.guard.guard_after(&looked_at));
        let mut changes = Vec::new();
        for (disk, action) in &named {
            match (action, &guard) {
                (Action::Remove, _) | (_, None) => changes.extend(self.gone(disk)),
                (_, Some(guard)) => changes.extend(self.look_at(disk, guard)),
            }
        }
        if self.last_scan.elapsed() >= RESCAN_EVERY {
            changes.extend(self.rescan());
        }
        changes
    }

    /// Looks at the drive at `path` again with the wipe's checks, opening it exclusively for an
    /// instant to see whether another program holds it: right before an automatic wipe of it
    /// starts. The drive as it is now (`None` if it is not known); whether its verdict changed.
    pub fn recheck(&mut self, path: &str) -> Option<(DriveInfo, bool)> {
        let disk = disk_of(path).to_string();
        let devnum = self.guard.sysfs.devnum(&BlockName {
            disk: disk.clone(),
            partition: None,
        })?;
        // Right before a wipe: this drive's stack read again, the facts read now.
        let guard = self.guard.guard_for(Node::Block(devnum));
        let sysfs = self.guard.sysfs.clone();
        let k = self.known.get_mut(&disk)?;
        let mut now = k.info.clone();
        now.judge(&sysfs, &guard, Probe::Exclusive);
        k.exclusive = now.busy.clone();
        let changed =
            (&now.protected_reason, &now.busy) != (&k.info.protected_reason, &k.info.busy);
        k.info = now;
        Some((k.info.clone(), changed))
    }

    /// Whether a busy loop device was detached (`losetup -d` sets its autoclear flag) since it
    /// appeared: it will vanish once it is closed.
    pub fn detached(&self, path: &str) -> bool {
        let disk = disk_of(path);
        let Some(known) = self.known.get(disk) else {
            return !std::path::Path::new(path).exists();
        };
        known.autoclear == Some(false) && self.autoclear(disk) == Some(true)
    }

    fn autoclear(&self, disk: &str) -> Option<bool> {
        self.guard
            .sysfs
            .attr(disk, "loop/autoclear")
            .map(|v| v == "1")
    }

    fn describe(&self, disk: &str, guard: &Guard) -> Option<DriveInfo> {
        let opts = IdentifyOptions {
            udev: true,
            drive_commands: nix::unistd::geteuid().is_root(),
        };
        let mut info = describe_disk(&self.guard.sysfs, guard, disk, opts)?;
        if !self.wanted(&info) {
            return None;
        }
        info.judge(&self.guard.sysfs, guard, Probe::Exclusive);
        firmware::annotate(&mut info);
        Some(info)
    }

    /// Looks at one disk after an event about it, with the guard's verdict after the event.
    fn look_at(&mut self, disk: &str, guard: &Guard) -> Vec<Change> {
        let present = self.guard.sysfs.attr_u64(disk, "size").unwrap_or(0) > 0;
        match (present, self.known.contains_key(disk)) {
            (true, false) => match self.describe(disk, guard) {
                Some(info) => {
                    let autoclear = self.autoclear(disk);
                    self.known.insert(
                        disk.to_string(),
                        Known {
                            exclusive: info.busy.clone(),
                            info: info.clone(),
                            autoclear,
                            mark: self.mark(disk),
                        },
                    );
                    vec![Change::Appeared(info)]
                }
                None => Vec::new(),
            },
            (false, true) => self.gone(disk),
            (true, true) if self.replaced(disk) => {
                let mut changes = self.gone(disk);
                changes.extend(self.look_at(disk, guard));
                changes
            }
            _ => Vec::new(),
        }
    }

    fn mark(&self, disk: &str) -> Mark {
        Mark {
            size: self.guard.sysfs.attr_u64(disk, "size").unwrap_or(0),
            backing: self.guard.sysfs.attr(disk, "loop/backing_file"),
        }
    }

    /// Whether the drive known at `disk` was replaced by another since it appeared.
    fn replaced(&self, disk: &str) -> bool {
        self.known
            .get(disk)
            .is_some_and(|k| k.mark != self.mark(disk))
    }

    fn gone(&mut self, disk: &str) -> Vec<Change> {
        match self.known.remove(disk) {
            Some(k) => vec![Change::Removed(k.info.path)],
            None => Vec::new(),
        }
    }

    /// Compares everything with sysfs and the guard now.
    fn rescan(&mut self) -> Vec<Change> {
        self.last_scan = Instant::now();
        let disks: Vec<String> = self
            .guard
            .sysfs
            .disks()
            .into_iter()
            .filter(|d| is_listed(d))
            .collect();
        let mut changes = Vec::new();
        let vanished: Vec<String> = self
            .known
            .keys()
            .filter(|k| !disks.contains(k))
            .cloned()
            .collect();
        for d in vanished {
            changes.extend(self.gone(&d));
        }
        let guard = self.guard.guard();
        for disk in &disks {
            let present = self.guard.sysfs.attr_u64(disk, "size").unwrap_or(0) > 0;
            if !present {
                changes.extend(self.gone(disk));
                continue;
            }
            if self.replaced(disk) {
                changes.extend(self.gone(disk));
            }
            let mark = self.mark(disk);
            match self.known.get_mut(disk) {
                Some(k) => {
                    let mut now = k.info.clone();
                    now.judge(&self.guard.sysfs, &guard, Probe::None);
                    if now.refusal().is_none() {
                        now.busy.clone_from(&k.exclusive);
                    }
                    if (&now.protected_reason, &now.busy)
                        != (&k.info.protected_reason, &k.info.busy)
                    {
                        k.info = now;
                        changes.push(Change::Guarded(k.info.clone()));
                    }
                }
                None => {
                    if let Some(info) = self.describe(disk, &guard) {
                        let autoclear = self.autoclear(disk);
                        self.known.insert(
                            disk.clone(),
                            Known {
                                exclusive: info.busy.clone(),
                                info: info.clone(),
                                autoclear,
                                mark,
                            },
                        );
                        changes.push(Change::Appeared(info));
                    }
                }
            }
        }
        changes
    }
}

impl Monitor {
    fn wanted(&self, info: &DriveInfo) -> bool {
        self.only.is_empty()
            || self.only.iter().any(|p| {
                [Some(&info.path), info.serial.as_ref(), info.model.as_ref()]
                    .into_iter()
                    .flatten()
                    .any(|s| glob_match(p, s))
            })
    }
}

/// Shell-style matching of `*` (any run of characters) and `?` (one character).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was, and the text position it currently stands for.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// `/dev/sdb` -> `sdb`.
fn disk_of(path: &str) -> &str {
    path.strip_prefix("/dev/").unwrap_or(path)
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("/dev/sd*", "/dev/sdb"));
        assert!(glob_match("WDC*", "WDC WD10EZEX"));
        assert!(glob_match("*-stn42-*", "wipeproof-test-1-3-stn42-a"));
        assert!(glob_match("a?c", "abc") && !glob_match("a?c", "ac"));
        assert!(!glob_match("/dev/sd*", "/dev/nvme0n1"));
        assert!(glob_match("*", "") && !glob_match("x", ""));
    }
}
