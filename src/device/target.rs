//! [`Target`]: an open block device or image file, and the only way to write to one.
//!
//! [`Target::open_for_erase`] runs the guard before it opens anything and again after the device
//! is held open with `O_EXCL`, so no code path can write to a protected drive (ARCHITECTURE.md,
//! invariant 1). All data moves through [`Target::read_at`] and [`Target::write_at`], which use `O_DIRECT`
//! so what is verified was read from the drive, not from the page cache.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::guard::{Guard, Protection, SystemFacts};
use super::ioctl;
use super::sysfs::{DevNum, Sysfs};

/// Sector size assumed for image files.
pub const IMAGE_SECTOR_SIZE: u32 = 512;

/// Errors opening or using a target. Each names the drive or file and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("{path}: no such drive or file; run `wipeproof list` to see the drives")]
    NotFound { path: PathBuf },
    #[error("{path} is {what}, not a drive or image file; run `wipeproof list` to see the drives")]
    NotADrive { path: PathBuf, what: &'static str },
    #[error(
        "{path} is a partition of /dev/{disk}; wipeproof erases whole drives: give /dev/{disk}"
    )]
    Partition { path: PathBuf, disk: String },
    #[error(
        "{path} is not a drive this system knows (no entry in /sys/block); is it still attached?"
    )]
    UnknownDevice { path: PathBuf },
    #[error("refusing to erase {path}: it {}", join_reasons(.reasons))]
    Refused {
        path: PathBuf,
        reasons: Vec<Protection>,
    },
    #[error(
        "{path} is in use by another program (open exclusively, mounted, or part of a RAID/LVM \
         stack); stop that use and try again"
    )]
    Busy { path: PathBuf },
    #[error("refusing to erase {path}: it is read-only; remove the write protection first")]
    ReadOnly { path: PathBuf },
    #[error(
        "refusing to erase image {path}: it is attached to {loop_device}; wipe {loop_device} \
         instead, or detach it first (losetup -d {loop_device})"
    )]
    AttachedImage { path: PathBuf, loop_device: String },
    #[error(
        "refusing to erase image {path}: it is an active swap file; run `swapoff {path}` first"
    )]
    SwapImage { path: PathBuf },
    #[error("refusing to erase {path}: it is inside wipeproof's state directory {state}")]
    InsideState { path: PathBuf, state: PathBuf },
    #[error("{path} is locked by another wipeproof process; wait for it to finish")]
    Locked { path: PathBuf },
    #[error("{path} is empty (0 bytes); there is nothing to erase")]
    Empty { path: PathBuf },
    #[error("{path}: {op} failed: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        source: io::Error,
    },
}

fn join_reasons(reasons: &[Protection]) -> String {
    reasons
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; it ")
}

/// What a target is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TargetKind {
    /// A whole-disk block device, with its kernel name (e.g. `sda`) and device number.
    BlockDevice { disk: String, devnum: DevNum },
    /// A regular file holding a disk image.
    ImageFile,
}

/// Size and sector sizes of a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Geometry {
    pub size_bytes: u64,
    pub logical_sector_size: u32,
    pub physical_sector_size: u32,
}

impl Geometry {
    /// Number of logical sectors (rounded down for image files of odd size).
    pub fn sectors(&self) -> u64 {
        self.size_bytes / self.logical_sector_size.max(1) as u64
    }
}

/// What the guard needs to know beyond the system itself: the paths wipeproof writes to.
#[derive(Debug, Clone)]
pub struct GuardContext {
    pub sysfs: Sysfs,
    /// The state directory and certificate directory.
    pub state_paths: Vec<PathBuf>,
    /// The export medium, if configured.
    pub export: Option<PathBuf>,
}

impl GuardContext {
    /// Context for the running system with the given protected paths.
    pub fn new(state_paths: Vec<PathBuf>, export: Option<PathBuf>) -> GuardContext {
        GuardContext {
            sysfs: Sysfs::system(),
            state_paths,
            export,
        }
    }

    /// Computes the guard's verdict for every disk now.
    pub fn guard(&self) -> Guard {
        let facts = SystemFacts::gather(&self.sysfs, &self.state_paths, self.export.as_deref());
        Guard::compute(&self.sysfs, &facts)
    }
}

/// An open drive or image file.
#[derive(Debug)]
pub struct Target {
    path: PathBuf,
    kind: TargetKind,
    geometry: Geometry,
    /// The main descriptor, `O_DIRECT` when the filesystem allows it.
    file: File,
    /// A buffered descriptor for bytes `O_DIRECT` cannot reach: the tail of an image file whose
    /// size is not a multiple of the sector size, or everything if `O_DIRECT` is unsupported.
    buffered: Option<File>,
    direct: bool,
}

impl Target {
    /// Opens a drive or image file for erasure, after the guard has cleared it.
    ///
    /// Block devices are opened `O_EXCL`, so nothing can mount or claim them during the wipe,
    /// and the guard is asked again once the device is held. Image files are locked with
    /// `flock` against a second wipeproof process.
    pub fn open_for_erase(path: &Path, ctx: &GuardContext) -> Result<Target, TargetError> {
        match classify(path)? {
            Classified::Block(devnum) => {
                let disk = whole_disk(path, devnum, &ctx.sysfs)?;
                check_guard(path, &disk, ctx)?;
                let file =
                    open_with(path, true, libc::O_DIRECT | libc::O_EXCL).map_err(|e| {
                        match e.raw_os_error() {
                            Some(libc::EBUSY) => TargetError::Busy { path: path.into() },
                            Some(libc::EROFS) | Some(libc::EACCES) | Some(libc::EPERM) => {
                                TargetError::ReadOnly { path: path.into() }
                            }
                            _ => io_err(path, "open", e),
                        }
                    })?;
                // Held exclusively now: nothing can mount it from here on. Ask again, in case
                // something did between the first check and the open.
                check_guard(path, &disk, ctx)?;
                if ioctl::read_only(&file).unwrap_or(false) {
                    return Err(TargetError::ReadOnly { path: path.into() });
                }
                let geometry = block_geometry(path, &file)?;
                Ok(Target {
                    path: path.into(),
                    kind: TargetKind::BlockDevice { disk, devnum },
                    geometry,
                    file,
                    buffered: None,
                    direct: true,
                })
            }
            Classified::File => {
                check_image(path, ctx)?;
                let target = open_image(path, true)?;
                lock_exclusive(&target.file)
                    .map_err(|_| TargetError::Locked { path: path.into() })?;
                Ok(target)
            }
        }
    }

    /// Opens a drive or image file read-only (for verification); no guard is needed to read.
    pub fn open_read(path: &Path) -> Result<Target, TargetError> {
        match classify(path)? {
            Classified::Block(devnum) => {
                let sysfs = Sysfs::system();
                let disk = whole_disk(path, devnum, &sysfs)?;
                let file = open_with(path, false, libc::O_DIRECT)
                    .map_err(|e| io_err(path, "open for reading", e))?;
                let geometry = block_geometry(path, &file)?;
                Ok(Target {
                    path: path.into(),
                    kind: TargetKind::BlockDevice { disk, devnum },
                    geometry,
                    file,
                    buffered: None,
                    direct: true,
                })
            }
            Classified::File => open_image(path, false),
        }
    }

    /// The path the target was opened by.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Block device or image file.
    pub fn kind(&self) -> &TargetKind {
        &self.kind
    }

    /// Size and sector sizes.
    pub fn geometry(&self) -> Geometry {
        self.geometry
    }

    /// Re-reads the size and sector sizes (after a hidden area was restored).
    pub fn refresh_geometry(&mut self) -> Result<(), TargetError> {
        if matches!(self.kind, TargetKind::BlockDevice { .. }) {
            self.geometry = block_geometry(&self.path, &self.file)?;
        }
        Ok(())
    }

    /// Whether I/O bypasses the page cache.
    pub fn is_direct(&self) -> bool {
        self.direct
    }

    /// The alignment (bytes) that offsets and lengths of [`Self::read_at`] and
    /// [`Self::write_at`] must keep, except for a request that ends exactly at the end of the
    /// target.
    pub fn alignment(&self) -> u64 {
        self.geometry.logical_sector_size.max(1) as u64
    }

    /// Reads exactly `buf.len()` bytes at `offset`. `buf` must come from an
    /// [`super::AlignedBuf`] (or be a sector-aligned slice of one).
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let (direct_len, _) = self.split(offset, buf.len())?;
        let (head, tail) = buf.split_at_mut(direct_len);
        if !head.is_empty() {
            read_exact_at(&self.file, head, offset)?;
        }
        if !tail.is_empty() {
            let fd = self.buffered.as_ref().unwrap_or(&self.file);
            read_exact_at(fd, tail, offset + direct_len as u64)?;
        }
        Ok(())
    }

    /// Writes all of `buf` at `offset`, with the same alignment rules as [`Self::read_at`].
    pub fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<()> {
        let (direct_len, _) = self.split(offset, buf.len())?;
        let (head, tail) = buf.split_at(direct_len);
        if !head.is_empty() {
            write_all_at(&self.file, head, offset)?;
        }
        if !tail.is_empty() {
            let fd = self.buffered.as_ref().unwrap_or(&self.file);
            write_all_at(fd, tail, offset + direct_len as u64)?;
        }
        Ok(())
    }

    /// Makes everything written so far durable (`fdatasync`; for a drive this also flushes its
    /// volatile write cache).
    pub fn sync(&self) -> io::Result<()> {
        nix::unistd::fdatasync(&self.file).map_err(io::Error::from)?;
        if let Some(b) = &self.buffered {
            nix::unistd::fdatasync(b).map_err(io::Error::from)?;
        }
        Ok(())
    }

    /// Raw descriptor, for drive commands (SG_IO, NVMe admin) in lower layers.
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        self.file.as_raw_fd()
    }

    /// How many leading bytes of a request go through the direct descriptor.
    fn split(&self, offset: u64, len: usize) -> io::Result<(usize, usize)> {
        let end = offset
            .checked_add(len as u64)
            .filter(|&e| e <= self.geometry.size_bytes)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "request of {len} bytes at offset {offset} runs past the end of {} ({} bytes)",
                        self.path.display(),
                        self.geometry.size_bytes
                    ),
                )
            })?;
        if !self.direct {
            return Ok((0, len));
        }
        let align = self.alignment();
        let aligned_end = self.geometry.size_bytes / align * align;
        if !offset.is_multiple_of(align) || (end % align != 0 && end != self.geometry.size_bytes) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "unaligned request ({len} bytes at {offset}) on {}; sector size {align}",
                    self.path.display()
                ),
            ));
        }
        let direct_end = end.min(aligned_end).max(offset);
        let direct_len = (direct_end - offset) as usize;
        Ok((direct_len, len - direct_len))
    }
}

enum Classified {
    Block(DevNum),
    File,
}

fn classify(path: &Path) -> Result<Classified, TargetError> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => TargetError::NotFound { path: path.into() },
        _ => io_err(path, "stat", e),
    })?;
    let ft = meta.file_type();
    if ft.is_block_device() {
        use std::os::unix::fs::MetadataExt;
        Ok(Classified::Block(DevNum::from_raw(meta.rdev())))
    } else if ft.is_file() {
        Ok(Classified::File)
    } else {
        let what = if ft.is_dir() {
            "a directory"
        } else if ft.is_char_device() {
            "a character device"
        } else {
            "a special file"
        };
        Err(TargetError::NotADrive {
            path: path.into(),
            what,
        })
    }
}

fn whole_disk(path: &Path, devnum: DevNum, sysfs: &Sysfs) -> Result<String, TargetError> {
    let index = sysfs.index();
    let name = index
        .get(&devnum)
        .ok_or_else(|| TargetError::UnknownDevice { path: path.into() })?;
    if name.partition.is_some() {
        return Err(TargetError::Partition {
            path: path.into(),
            disk: name.disk.clone(),
        });
    }
    Ok(name.disk.clone())
}

fn check_guard(path: &Path, disk: &str, ctx: &GuardContext) -> Result<(), TargetError> {
    let guard = ctx.guard();
    let reasons = guard.protections(disk);
    if reasons.is_empty() {
        return Ok(());
    }
    let mut reasons = reasons.to_vec();
    reasons.sort_by_key(|p| !p.is_system());
    Err(TargetError::Refused {
        path: path.into(),
        reasons,
    })
}

fn check_image(path: &Path, ctx: &GuardContext) -> Result<(), TargetError> {
    let canonical = std::fs::canonicalize(path).map_err(|e| io_err(path, "resolve", e))?;
    for disk in ctx.sysfs.disks() {
        if let Some(backing) = ctx.sysfs.attr(&disk, "loop/backing_file") {
            let backing = backing.trim_end_matches(" (deleted)");
            let same = std::fs::canonicalize(backing)
                .map(|b| b == canonical)
                .unwrap_or(false);
            if same {
                return Err(TargetError::AttachedImage {
                    path: path.into(),
                    loop_device: format!("/dev/{disk}"),
                });
            }
        }
    }
    let swaps =
        super::mounts::parse_swaps(&std::fs::read_to_string("/proc/swaps").unwrap_or_default());
    if swaps
        .iter()
        .any(|s| std::fs::canonicalize(&s.path).is_ok_and(|p| p == canonical))
    {
        return Err(TargetError::SwapImage { path: path.into() });
    }
    for state in &ctx.state_paths {
        if let Ok(state) = std::fs::canonicalize(state)
            && canonical.starts_with(&state)
        {
            return Err(TargetError::InsideState {
                path: path.into(),
                state,
            });
        }
    }
    Ok(())
}

fn open_image(path: &Path, write: bool) -> Result<Target, TargetError> {
    let (file, direct) = match open_with(path, write, libc::O_DIRECT) {
        Ok(f) => (f, true),
        // Some filesystems do not support O_DIRECT; fall back to buffered I/O plus fdatasync.
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => (
            open_with(path, write, 0).map_err(|e| io_err(path, "open", e))?,
            false,
        ),
        Err(e) => return Err(io_err(path, "open", e)),
    };
    let size = file.metadata().map_err(|e| io_err(path, "stat", e))?.len();
    if size == 0 {
        return Err(TargetError::Empty { path: path.into() });
    }
    let buffered = if direct && size % IMAGE_SECTOR_SIZE as u64 != 0 {
        Some(open_with(path, write, 0).map_err(|e| io_err(path, "open", e))?)
    } else {
        None
    };
    Ok(Target {
        path: path.into(),
        kind: TargetKind::ImageFile,
        geometry: Geometry {
            size_bytes: size,
            logical_sector_size: IMAGE_SECTOR_SIZE,
            physical_sector_size: 4096,
        },
        file,
        buffered,
        direct,
    })
}

fn open_with(path: &Path, write: bool, flags: i32) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(write)
        .custom_flags(flags | libc::O_CLOEXEC)
        .open(path)
}

fn block_geometry(path: &Path, file: &File) -> Result<Geometry, TargetError> {
    let size_bytes = ioctl::size_bytes(file).map_err(|e| io_err(path, "BLKGETSIZE64", e.into()))?;
    let logical =
        ioctl::logical_sector_size(file).map_err(|e| io_err(path, "BLKSSZGET", e.into()))?;
    let physical = ioctl::physical_sector_size(file).unwrap_or(logical);
    if size_bytes == 0 {
        return Err(TargetError::Empty { path: path.into() });
    }
    Ok(Geometry {
        size_bytes,
        logical_sector_size: logical.max(512),
        physical_sector_size: physical.max(logical),
    })
}

fn lock_exclusive(file: &File) -> io::Result<()> {
    // SAFETY: flock on a valid descriptor.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match file.read_at(buf, offset) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("unexpected end of device at offset {offset}"),
                ));
            }
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn write_all_at(file: &File, mut buf: &[u8], mut offset: u64) -> io::Result<()> {
    while !buf.is_empty() {
        match file.write_at(buf, offset) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    format!("device accepted no bytes at offset {offset}"),
                ));
            }
            Ok(n) => {
                buf = &buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn io_err(path: &Path, op: &'static str, source: io::Error) -> TargetError {
    TargetError::Io {
        path: path.into(),
        op,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::super::AlignedBuf;
    use super::*;

    fn ctx() -> GuardContext {
        GuardContext::new(vec![], None)
    }

    #[test]
    fn image_file_with_odd_size_round_trips_its_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("odd.img");
        std::fs::write(&path, vec![0x11u8; 8192 + 100]).unwrap();
        let t = Target::open_for_erase(&path, &ctx()).unwrap();
        assert_eq!(t.geometry().size_bytes, 8292);
        let mut buf = AlignedBuf::filled(8292, 0x22);
        t.write_at(&buf, 0).unwrap();
        t.sync().unwrap();
        buf.fill(0);
        t.read_at(&mut buf, 0).unwrap();
        assert!(buf.iter().all(|&b| b == 0x22));
        // A request past the end is refused, not truncated.
        let mut big = AlignedBuf::zeroed(8704);
        assert!(t.read_at(&mut big, 0).is_err());
        // An unaligned start is refused when O_DIRECT is in use.
        if t.is_direct() {
            assert!(t.write_at(&buf[..512], 100).is_err());
        }
    }

    #[test]
    fn second_erase_handle_on_an_image_is_locked_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.img");
        std::fs::write(&path, vec![0u8; 4096]).unwrap();
        let _first = Target::open_for_erase(&path, &ctx()).unwrap();
        let err = Target::open_for_erase(&path, &ctx()).unwrap_err();
        assert!(matches!(err, TargetError::Locked { .. }), "{err}");
    }

    #[test]
    fn directories_empty_files_and_missing_paths_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let err = Target::open_for_erase(dir.path(), &ctx()).unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
        let empty = dir.path().join("empty.img");
        std::fs::write(&empty, b"").unwrap();
        let err = Target::open_for_erase(&empty, &ctx()).unwrap_err();
        assert!(err.to_string().contains("is empty"), "{err}");
        let err = Target::open_for_erase(&dir.path().join("nope"), &ctx()).unwrap_err();
        assert!(matches!(err, TargetError::NotFound { .. }));
    }

    #[test]
    fn image_inside_the_state_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("register.sqlite");
        std::fs::write(&path, vec![1u8; 4096]).unwrap();
        let ctx = GuardContext::new(vec![dir.path().to_path_buf()], None);
        let err = Target::open_for_erase(&path, &ctx).unwrap_err();
        assert!(matches!(err, TargetError::InsideState { .. }), "{err}");
    }
}
