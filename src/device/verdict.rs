//! The wipe's verdict on a drive nobody is wiping yet: what `list` and the station show.
//!
//! [`crate::device::Target::open_for_erase`] refuses a drive for the guard's reasons (mounted,
//! held by RAID, LVM or dm, swap, the running system, read-only, a member of a mounted btrfs...),
//! for an exclusive open by someone else (`O_EXCL` fails with `EBUSY`), and for a lock another
//! program holds. [`check_disk`] runs the same checks through the same functions
//! ([`refuse_if_protected`], [`busy_error`], the same [`TargetError`]s), without writing:
//!
//! * the guard's reasons, always;
//! * the locks of other processes, from `/proc/locks`, always (nothing is opened for them);
//! * an exclusive open only when asked ([`Probe::Exclusive`]): the device is opened read-only
//!   with `O_EXCL` and closed at once. For that instant a `mount` or `mkfs` of the same device
//!   by someone else fails as busy, so it is done only when a person asks (`list`), when a drive
//!   appears at a station, and right before the station starts or schedules a wipe of it; never
//!   in the station's periodic look.
//!
//! A wipe that opens a drive while a probe holds it waits for the probe ([`open_patiently`]).

use std::fs::File;
use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use super::facts::FileId;
use super::guard::Guard;
use super::locks::{self, Holder};
use super::stack::Node;
use super::sysfs::DevNum;
use super::target::{TargetError, io_err, join_reasons, open_with};

/// How long a conflicting lock or exclusive open may take to go away before the drive is called
/// locked or busy. A child process forked by another thread of this process (a connector's
/// request, `poweroff`, a station's helper) shares every open file of the parent until it runs
/// `exec`, so the locks of a drive just closed outlive it by that instant; and a `list` or a
/// station probing the drive holds it exclusively for an instant. A wipe that opens the drive
/// then waits for them, not fails. A real holder (another wipe, a VM, a filesystem) holds for
/// far longer.
pub const PATIENCE: Duration = Duration::from_millis(500);

/// Whether [`check_disk`] opens the drive exclusively for an instant to see who holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// Open read-only with `O_EXCL`, close at once.
    Exclusive,
    /// Open nothing: the guard and the locks only.
    None,
}

/// What the wipe would say of a drive now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The wipe would go ahead (as far as was looked).
    Ready,
    /// The guard refuses it; its reasons, each after "it", as the wipe says them.
    Protected { reason: String },
    /// Another program (or the kernel for one) holds it, exclusively or with a lock; the wipe's
    /// words after the drive's path.
    Busy {
        reason: String,
        holder: Option<Holder>,
    },
}

impl Verdict {
    /// The verdict a refusal of the wipe gives. `None` when the look itself could not be made
    /// (no permission to open the drive, or it went away): nothing is known beyond the guard.
    pub fn of(path: &Path, result: &Result<(), TargetError>) -> Option<Verdict> {
        let Err(e) = result else {
            return Some(Verdict::Ready);
        };
        let words = || {
            let text = e.to_string();
            let prefix = format!("{} ", path.display());
            text.strip_prefix(&prefix).unwrap_or(&text).to_string()
        };
        Some(match e {
            TargetError::Refused { reasons, .. } => Verdict::Protected {
                reason: join_reasons(reasons),
            },
            TargetError::Busy { holder, .. } | TargetError::Locked { holder, .. } => {
                Verdict::Busy {
                    reason: words(),
                    holder: holder.clone(),
                }
            }
            _ => return None,
        })
    }
}

/// The wipe's checks on the whole disk `path` (device number `devnum`) that need no writing:
/// the guard's reasons, an exclusive open if `probe` asks for one, the locks of other processes.
pub fn check_disk(
    path: &Path,
    devnum: DevNum,
    guard: &Guard,
    probe: Probe,
) -> Result<(), TargetError> {
    refuse_if_protected(path, guard, Node::Block(devnum))?;
    if probe == Probe::Exclusive {
        match open_with(path, false, libc::O_NOFOLLOW | libc::O_EXCL) {
            Ok(file) => drop(file),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => {
                return Err(busy_error(path, devnum, guard));
            }
            // Not allowed to open it (not root): the other checks still say what they can.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) => {}
            Err(e) => return Err(io_err(path, "open", e)),
        }
    }
    let me = std::process::id();
    let id = std::fs::metadata(path)
        .map(|m| FileId::of(&m))
        .map_err(|e| io_err(path, "stat", e))?;
    if let Some(holder) = locks::holders(id)
        .into_iter()
        .find(|h| h.pid.is_some_and(|pid| pid != me))
    {
        return Err(TargetError::Locked {
            path: path.into(),
            holder: Some(holder),
        });
    }
    Ok(())
}

/// [`check_disk`] as a verdict for the kernel name `disk`; `None` if the look could not be made.
pub fn judge(disk: &str, devnum: DevNum, guard: &Guard, probe: Probe) -> Option<Verdict> {
    let path = Path::new("/dev").join(disk);
    Verdict::of(&path, &check_disk(&path, devnum, guard, probe))
}

/// Refuses `node` with the guard's reasons, if it has any.
pub(super) fn refuse_if_protected(
    path: &Path,
    guard: &Guard,
    node: Node,
) -> Result<(), TargetError> {
    let reasons = guard.check(node);
    if reasons.is_empty() {
        Ok(())
    } else {
        Err(TargetError::Refused {
            path: path.into(),
            reasons,
        })
    }
}

/// The error for a block device someone else holds exclusively. Nothing was opened, so this only
/// chooses the words: the guard's reasons (mounted, swap, held) if it has any, else who holds
/// it: a lock's holder (another wipe), else a process that has it open.
pub(super) fn busy_error(path: &Path, devnum: DevNum, guard: &Guard) -> TargetError {
    let reasons = guard.check(Node::Block(devnum));
    if !reasons.is_empty() {
        return TargetError::Refused {
            path: path.into(),
            reasons,
        };
    }
    let locked = std::fs::metadata(path)
        .ok()
        .and_then(|m| locks::holders(FileId::of(&m)).into_iter().next());
    TargetError::Busy {
        path: path.into(),
        holder: locked.or_else(|| locks::openers(devnum).into_iter().next()),
    }
}

/// Takes wipeproof's locks on the open descriptor, waiting [`PATIENCE`] for a conflicting one
/// to go away, or names who holds one in the way.
pub(super) fn take_locks(path: &Path, file: &File, id: FileId) -> Result<(), TargetError> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match locks::lock_for_erase(file) {
            Ok(()) => return Ok(()),
            Err(Some(e)) => return Err(io_err(path, "lock", e)),
            Err(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(None) => {
                return Err(TargetError::Locked {
                    path: path.into(),
                    holder: locks::holders(id).into_iter().next(),
                });
            }
        }
    }
}

/// Opens `path` with `flags`; an exclusive open that finds the device busy is tried again for
/// [`PATIENCE`] (a probe holds it for an instant), unless a lock shows that another wipe holds it.
pub(super) fn open_patiently(path: &Path, write: bool, flags: i32) -> io::Result<File> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match open_with(path, write, flags) {
            Err(e)
                if e.raw_os_error() == Some(libc::EBUSY)
                    && flags & libc::O_EXCL != 0
                    && Instant::now() < deadline
                    && !locked_by_anyone(path) =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

fn locked_by_anyone(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !locks::holders(FileId::of(&m)).is_empty())
}
