//! File locks on a drive or image file: wipeproof's own, and who holds the others.
//!
//! A wipe holds two locks on the descriptor it writes through. A BSD `flock` (`LOCK_EX`) keeps a
//! second wipeproof out (and udev, by its block-device locking convention); `list` finds it in
//! `/proc/locks` and shows the drive as busy with the holder's process id. An open file
//! description write lock over the whole file (`F_OFD_SETLK`) conflicts with the POSIX and OFD
//! byte-range locks other programs hold, such as qemu on its disk images. Both are taken without
//! waiting: a lock held by anyone else refuses the wipe, naming the holder when the kernel says.

use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

use serde::Serialize;

use super::facts::FileId;
use super::sysfs::DevNum;

/// The kind of a lock in `/proc/locks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockKind {
    /// BSD `flock`.
    Flock,
    /// POSIX record lock (`fcntl(F_SETLK)`, `lockf`).
    Posix,
    /// Open file description lock (`fcntl(F_OFD_SETLK)`).
    Ofd,
    /// Leases and delegations.
    Other,
}

/// One lock from `/proc/locks`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockEntry {
    pub kind: LockKind,
    pub write: bool,
    /// The holder's process id; `None` for OFD locks (the kernel shows -1) and holders outside
    /// this process's PID namespace (0).
    pub pid: Option<u32>,
    pub file: FileId,
}

/// Parses `/proc/locks`. Lines for waiting requests (`->`) and malformed lines are skipped.
pub fn parse_proc_locks(text: &str) -> Vec<LockEntry> {
    text.lines().filter_map(parse_lock_line).collect()
}

fn parse_lock_line(line: &str) -> Option<LockEntry> {
    // 1: POSIX  ADVISORY  WRITE 1139 00:1a:1234 0 EOF
    let line = line.strip_prefix("lock:").unwrap_or(line);
    let mut fields = line.split_whitespace();
    let _id = fields.next()?.strip_suffix(':')?;
    let kind = match fields.next()? {
        "->" => return None,
        "FLOCK" => LockKind::Flock,
        "POSIX" => LockKind::Posix,
        "OFDLCK" => LockKind::Ofd,
        _ => LockKind::Other,
    };
    let _advisory = fields.next()?;
    let write = fields.next()? == "WRITE";
    let pid: i64 = fields.next()?.parse().ok()?;
    let mut id = fields.next()?.split(':');
    let major = u32::from_str_radix(id.next()?, 16).ok()?;
    let minor = u32::from_str_radix(id.next()?, 16).ok()?;
    let ino = id.next()?.parse().ok()?;
    Some(LockEntry {
        kind,
        write,
        pid: u32::try_from(pid).ok().filter(|p| *p > 0),
        file: FileId {
            dev: DevNum { major, minor },
            ino,
        },
    })
}

/// Who holds a lock that is in the way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holder {
    /// The process id, when the kernel shows it.
    pub pid: Option<u32>,
    /// The program's name (`/proc/PID/comm`).
    pub program: Option<String>,
    #[serde(skip)]
    pub kind: Option<LockKind>,
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            Some(LockKind::Flock) => "a flock",
            Some(LockKind::Posix) => "a POSIX lock",
            Some(LockKind::Ofd) => "an OFD lock (as qemu holds on its disks)",
            _ => "a lock",
        };
        let who = match (&self.program, self.pid) {
            (Some(program), Some(pid)) => format!("{program} (pid {pid})"),
            (None, Some(pid)) => format!("process {pid}"),
            _ => "another program".into(),
        };
        match self.kind {
            // Found among its open files, not by a lock.
            None => write!(f, "{who}"),
            Some(_) => write!(f, "{who}, with {what}"),
        }
    }
}

/// The locks on a file, read from `/proc/locks` now. OFD locks carry no process id there; their
/// holders are looked up in `/proc/*/fdinfo`.
pub fn holders(file: FileId) -> Vec<Holder> {
    let text = std::fs::read_to_string("/proc/locks").unwrap_or_default();
    holders_in(&parse_proc_locks(&text), file)
}

fn holders_in(locks: &[LockEntry], file: FileId) -> Vec<Holder> {
    let mut out: Vec<Holder> = Vec::new();
    for lock in locks.iter().filter(|l| l.file == file) {
        let pid = match lock.pid {
            Some(pid) => Some(pid),
            None if lock.kind == LockKind::Ofd => ofd_holder(file),
            None => None,
        };
        let holder = Holder {
            pid,
            program: pid.and_then(program_of),
            kind: Some(lock.kind),
        };
        if !out.contains(&holder) {
            out.push(holder);
        }
    }
    out
}

/// The first process with a descriptor holding an OFD lock on `file`.
fn ofd_holder(file: FileId) -> Option<u32> {
    processes().find_map(|(pid, dir)| {
        let fds = std::fs::read_dir(dir.join("fdinfo")).ok()?;
        let holds = fds.flatten().any(|fd| {
            std::fs::read_to_string(fd.path()).is_ok_and(|text| {
                text.lines()
                    .filter(|l| l.starts_with("lock:"))
                    .filter_map(parse_lock_line)
                    .any(|l| l.file == file && l.kind == LockKind::Ofd)
            })
        });
        holds.then_some(pid)
    })
}

/// Every process this one can see: its id and `/proc/PID`. The one walk of `/proc` that
/// finding a lock's holder, a writer and an opener share.
fn processes() -> impl Iterator<Item = (u32, std::path::PathBuf)> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| Some((entry.file_name().to_str()?.parse().ok()?, entry.path())))
}

/// [`processes`] other than this one.
fn other_processes() -> impl Iterator<Item = (u32, std::path::PathBuf)> {
    let me = std::process::id();
    processes().filter(move |(pid, _)| *pid != me)
}

/// Who holds something found among a process's open files (no lock says so).
fn open_by(pid: u32) -> Holder {
    Holder {
        pid: Some(pid),
        program: program_of(pid),
        kind: None,
    }
}

fn program_of(pid: u32) -> Option<String> {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    let comm = comm.trim();
    (!comm.is_empty()).then(|| comm.to_string())
}

/// Takes wipeproof's locks on an open drive or image: `flock(LOCK_EX)` and a whole-file OFD
/// write lock, without waiting. `Err(None)` if something else holds a conflicting lock (the
/// caller names it with [`holders`]), `Err(Some(e))` if locking itself failed.
pub fn lock_for_erase(file: &File) -> Result<(), Option<io::Error>> {
    // SAFETY: flock on a valid descriptor.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let e = io::Error::last_os_error();
        return Err((e.raw_os_error() != Some(libc::EWOULDBLOCK)).then_some(e));
    }
    let lock = libc::flock {
        l_type: libc::F_WRLCK as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    };
    // SAFETY: F_OFD_SETLK reads one struct flock through the pointer.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_OFD_SETLK, &lock) } != 0 {
        let e = io::Error::last_os_error();
        // Let go of the flock again, so the lock in the way is the only one left to name.
        // SAFETY: flock on a valid descriptor.
        unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_UN) };
        let conflict = matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EACCES));
        return Err((!conflict).then_some(e));
    }
    Ok(())
}

/// The other processes that hold `file` open for writing, found among every process's open
/// files (`/proc/PID/fd`, with the access mode from `/proc/PID/fdinfo`). A FUSE filesystem
/// served from an image file (`fusefat -o rw+ fat.img mnt`) is one: the kernel knows no loop
/// device or mount over the file, only the serving process does.
pub fn writers(file: FileId) -> Vec<Holder> {
    other_processes()
        .filter(|(_, dir)| writes(dir, file))
        .map(|(pid, _)| open_by(pid))
        .collect()
}

/// The processes of [`writers`] that still hold `file` open for writing a moment later. A
/// process that forks copies every descriptor of its parent until it runs its new program
/// (the copies are close-on-exec): a program that wrote the file a moment ago and is starting
/// another (a shell, a test harness) shows as a writer for that instant only. A FUSE server
/// or a virtual machine holds the file for as long as it runs.
pub fn lasting_writers(file: FileId) -> Vec<Holder> {
    let first = writers(file);
    if first.is_empty() {
        return first;
    }
    std::thread::sleep(std::time::Duration::from_millis(250));
    writers(file)
        .into_iter()
        .filter(|h| first.iter().any(|f| f.pid == h.pid))
        .collect()
}

/// Whether the process at `/proc/PID` has a descriptor open for writing on `file`.
fn writes(proc_dir: &Path, file: FileId) -> bool {
    let Ok(fds) = std::fs::read_dir(proc_dir.join("fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        let same = std::fs::metadata(fd.path()).is_ok_and(|m| FileId::of(&m) == file);
        same && std::fs::read_to_string(proc_dir.join("fdinfo").join(fd.file_name()))
            .is_ok_and(|info| fdinfo_writes(&info))
    })
}

/// Whether an `fdinfo` text's `flags:` (octal) open the file for writing.
fn fdinfo_writes(info: &str) -> bool {
    info.lines()
        .find_map(|l| l.strip_prefix("flags:"))
        .and_then(|f| i64::from_str_radix(f.trim(), 8).ok())
        .is_some_and(|flags| {
            let mode = flags & i64::from(libc::O_ACCMODE);
            mode == i64::from(libc::O_WRONLY) || mode == i64::from(libc::O_RDWR)
        })
}

/// The other processes that hold the block device `dev` open, whatever the device node they
/// opened it by (from `/proc/PID/fd`): the holder of an exclusive open (`O_EXCL`) is one, and
/// the kernel names it nowhere else.
pub fn openers(dev: DevNum) -> Vec<Holder> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    other_processes()
        .filter(|(_, dir)| {
            let Ok(fds) = std::fs::read_dir(dir.join("fd")) else {
                return false;
            };
            fds.flatten().any(|fd| {
                std::fs::metadata(fd.path()).is_ok_and(|m| {
                    m.file_type().is_block_device() && DevNum::from_raw(m.rdev()) == dev
                })
            })
        })
        .map(|(pid, _)| open_by(pid))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A shell that holds `file` open for writing for `held` seconds, then lives on without it.
    fn holder(file: &Path, held: &str) -> std::process::Child {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "exec 3>>'{}'; sleep {held}; exec 3>&-; exec sleep 5",
                file.display()
            ))
            .spawn()
            .expect("sh")
    }

    #[test]
    fn a_writer_for_an_instant_is_not_a_lasting_one() {
        let dir = tempfile::tempdir_in("/dev/shm").expect("tempdir");
        let file = dir.path().join("image");
        std::fs::write(&file, b"x").expect("write");
        let id = FileId::of(&std::fs::metadata(&file).expect("meta"));
        let wait_held = |child: &std::process::Child| {
            let pid = Some(child.id());
            let t = std::time::Instant::now();
            while !writers(id).iter().any(|h| h.pid == pid) {
                assert!(t.elapsed().as_secs() < 5, "the shell never opened the file");
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        };
        // Held a moment only (a fork between its parent's write and its own program).
        let mut brief = holder(&file, "0.1");
        wait_held(&brief);
        assert!(lasting_writers(id).is_empty());
        let _ = brief.kill();
        let _ = brief.wait();
        // Held on: named.
        let mut lasting = holder(&file, "5");
        wait_held(&lasting);
        let found = lasting_writers(id);
        let _ = lasting.kill();
        let _ = lasting.wait();
        assert!(
            found.iter().any(|h| h.pid == Some(lasting.id())),
            "{found:?}"
        );
    }

    #[test]
    fn fdinfo_access_modes_are_read() {
        assert!(fdinfo_writes("pos:\t0\nflags:\t0100002\nmnt_id:\t30\n"));
        assert!(fdinfo_writes("flags:\t01\n"));
        assert!(!fdinfo_writes("pos:\t0\nflags:\t0100000\n"));
        assert!(!fdinfo_writes("pos:\t0\n"));
    }

    #[test]
    fn parses_proc_locks_lines_of_every_kind() {
        let text = "\
1: POSIX  ADVISORY  WRITE 1139 00:1a:1234 0 EOF
2: FLOCK  ADVISORY  WRITE 1125 fd:01:5678 0 EOF
2: -> FLOCK  ADVISORY  WRITE 1200 fd:01:5678 0 EOF
3: OFDLCK ADVISORY  READ  -1 00:05:99 100 100
4: LEASE  ACTIVE    READ  77 00:1a:1 0 EOF
garbage
";
        let locks = parse_proc_locks(text);
        assert_eq!(locks.len(), 4, "{locks:?}");
        assert_eq!(locks[0].kind, LockKind::Posix);
        assert_eq!(locks[0].pid, Some(1139));
        assert_eq!(
            locks[1].file,
            FileId {
                dev: DevNum {
                    major: 0xfd,
                    minor: 1
                },
                ino: 5678
            }
        );
        assert!(locks[1].write);
        assert_eq!(locks[2].kind, LockKind::Ofd);
        assert_eq!(locks[2].pid, None);
        assert!(!locks[2].write);
        assert_eq!(locks[3].kind, LockKind::Other);
    }

    #[test]
    fn posix_ofd_and_flock_locks_of_another_description_all_refuse() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk.img");
        std::fs::write(&path, vec![0u8; 4096]).unwrap();
        let open = || {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open(&path)
                .unwrap()
        };
        // A POSIX lock on one byte, as `lockf` takes it.
        let holder = open();
        let posix = libc::flock {
            l_type: libc::F_RDLCK as libc::c_short,
            l_whence: libc::SEEK_SET as libc::c_short,
            l_start: 100,
            l_len: 1,
            l_pid: 0,
        };
        // SAFETY: valid descriptor and struct.
        assert_eq!(
            unsafe { libc::fcntl(holder.as_raw_fd(), libc::F_SETLK, &posix) },
            0
        );
        assert!(matches!(lock_for_erase(&open()), Err(None)));
        drop(holder);
        // An OFD lock, as qemu takes them.
        let holder = open();
        // SAFETY: valid descriptor and struct.
        assert_eq!(
            unsafe { libc::fcntl(holder.as_raw_fd(), libc::F_OFD_SETLK, &posix) },
            0
        );
        assert!(matches!(lock_for_erase(&open()), Err(None)));
        drop(holder);
        // A flock.
        let holder = open();
        // SAFETY: valid descriptor.
        assert_eq!(unsafe { libc::flock(holder.as_raw_fd(), libc::LOCK_SH) }, 0);
        assert!(matches!(lock_for_erase(&open()), Err(None)));
        drop(holder);
        // Nothing held: both locks are taken, and keep a second taker out.
        let first = open();
        assert!(lock_for_erase(&first).is_ok());
        assert!(matches!(lock_for_erase(&open()), Err(None)));
    }
}
