//! [`Target`]: an open block device or image file, and the only way to write to one.
//!
//! [`Target::open_for_erase`] opens the drive first (`O_EXCL` for a block device, `O_NOFOLLOW`),
//! takes its locks, and only then asks the guard, about the device number or inode behind the
//! descriptor: no code path can write to a protected drive (ARCHITECTURE.md, invariant 1), and no name
//! swapped in between can point the wipe at another one. All data moves through [`Target::read_at`] and [`Target::write_at`], which use `O_DIRECT`
//! so what is verified was read from the drive, not from the page cache.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::cow::{self, CowFilesystem};
use super::facts::FileId;
use super::guard::Protection;
pub use super::guard_context::GuardContext;
use super::ioctl;
use super::locks::{self, Holder};
use super::stack::Node;
use super::sysfs::DevNum;
use super::verdict::{busy_error, open_patiently, refuse_if_protected, take_locks};

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
        "{path} is in use by another program{} (open exclusively, mounted, or part of a \
         RAID/LVM stack); stop that use and try again",
        .holder.as_ref().map(|h| format!(" ({h})")).unwrap_or_default()
    )]
    Busy {
        path: PathBuf,
        holder: Option<Holder>,
    },
    #[error("refusing to erase {path}: it is read-only; remove the write protection first")]
    ReadOnly { path: PathBuf },
    #[error(
        "{path} is locked by {}; wait for it to finish, or stop it, and try again",
        .holder.as_ref().map_or_else(|| "another program".to_string(), ToString::to_string)
    )]
    Locked {
        path: PathBuf,
        holder: Option<Holder>,
    },
    #[error(
        "refusing to erase {path}: {holder} holds it open for writing (a filesystem served from \
         it, such as a FUSE mount of fusefat, or a program or virtual machine using it); \
         unmount it or stop that program, then try again"
    )]
    OpenForWriting { path: PathBuf, holder: String },
    #[error(
        "refusing to erase {path}: it is on {filesystem}, a copy-on-write filesystem, where \
         overwriting a file leaves earlier copies of its data (in snapshots, reflinked copies and \
         blocks not yet reused) on the device; erase the drive that holds the filesystem \
         instead, or give --allow-cow to wipe the file all the same (its certificate then says \
         the sanitisation is logical only)"
    )]
    CopyOnWrite {
        path: PathBuf,
        filesystem: CowFilesystem,
    },
    #[error(
        "{path} changed while it was being opened (renamed or replaced); nothing was written: try again"
    )]
    Changed { path: PathBuf },
    #[error("{path} is empty (0 bytes); there is nothing to erase")]
    Empty { path: PathBuf },
    #[error("{path}: {op} failed: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        source: io::Error,
    },
}

/// The guard's reasons as the wipe says them, each after "it".
pub(super) fn join_reasons(reasons: &[Protection]) -> String {
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
    /// The copy-on-write filesystem holding an image file that was allowed anyway.
    cow: Option<CowFilesystem>,
}

impl Target {
    /// Opens a drive or image file for erasure, then lets the guard decide on what was opened.
    ///
    /// The path is resolved once and opened without following a last symbolic link
    /// (`O_NOFOLLOW`), a block device exclusively (`O_EXCL`), so nothing can mount or claim it
    /// during the wipe. Every check then runs on the descriptor: the device number or
    /// `(st_dev, st_ino)` from `fstat`, its locks, the guard's verdict for that node. What the
    /// target reports (its path, its disk) is what the descriptor holds, so a name swapped
    /// between the check and the open cannot send the wipe to another drive.
    pub fn open_for_erase(path: &Path, ctx: &GuardContext) -> Result<Target, TargetError> {
        let opened = open_node(path, true, ctx)?;
        // Asked now, on what the descriptor is: the kept scan brought up to date for it.
        let guard = ctx.guard_for(opened.node);
        match opened.node {
            Node::Block(devnum) => {
                let disk = whole_disk(path, devnum, ctx)?;
                let dev_path = PathBuf::from(format!("/dev/{disk}"));
                take_locks(&dev_path, &opened.file, opened.id)?;
                refuse_if_protected(&dev_path, &guard, opened.node)?;
                if ioctl::read_only(&opened.file).unwrap_or(false) {
                    return Err(TargetError::ReadOnly { path: dev_path });
                }
                block_target(dev_path, disk, devnum, opened.file)
            }
            Node::File(id) => {
                let real = opened.display_path();
                take_locks(&real, &opened.file, id)?;
                refuse_if_protected(&real, &guard, opened.node)?;
                if let Some(holder) = locks::lasting_writers(id).first() {
                    return Err(TargetError::OpenForWriting {
                        path: real,
                        holder: holder.to_string(),
                    });
                }
                let cow = cow::of_file(&opened.file).map_err(|e| io_err(&real, "fstatfs", e))?;
                if let Some(filesystem) = cow
                    && !ctx.allow_cow
                {
                    return Err(TargetError::CopyOnWrite {
                        path: real,
                        filesystem,
                    });
                }
                let mut target = image_target(real, opened.file, id, true)?;
                target.cow = cow;
                Ok(target)
            }
        }
    }

    /// Opens a drive or image file read-only (for verification); no guard is needed to read.
    pub fn open_read(path: &Path) -> Result<Target, TargetError> {
        let ctx = GuardContext::new(vec![], None);
        let opened = open_node(path, false, &ctx)?;
        match opened.node {
            Node::Block(devnum) => {
                let disk = whole_disk(path, devnum, &ctx)?;
                let dev_path = PathBuf::from(format!("/dev/{disk}"));
                block_target(dev_path, disk, devnum, opened.file)
            }
            Node::File(id) => {
                let real = opened.display_path();
                image_target(real, opened.file, id, false)
            }
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

    /// The copy-on-write filesystem of an image file opened for erasure with `allow_cow`:
    /// overwriting the file may leave earlier copies of its data on the device.
    pub fn copy_on_write(&self) -> Option<CowFilesystem> {
        self.cow
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

/// A drive or image file held open, with what `fstat` says it is.
struct OpenNode {
    file: File,
    /// The resolved path that was opened.
    real: PathBuf,
    node: Node,
    id: FileId,
}

impl OpenNode {
    /// The name of the open file as the kernel sees it now (`/proc/self/fd`), which follows a
    /// rename; the resolved path if the file has no name any more.
    fn display_path(&self) -> PathBuf {
        std::fs::read_link(format!("/proc/self/fd/{}", self.file.as_raw_fd()))
            .ok()
            .filter(|p| p.is_absolute() && !p.to_string_lossy().ends_with(" (deleted)"))
            .unwrap_or_else(|| self.real.clone())
    }
}

/// Resolves `path` once, opens it (`O_NOFOLLOW`; for writing a block device also `O_EXCL`) and
/// says what the descriptor is. A path that is neither a block device nor a regular file is
/// refused before it is opened; one that turns into another kind of file between that look and
/// the open is refused after.
fn open_node(path: &Path, write: bool, ctx: &GuardContext) -> Result<OpenNode, TargetError> {
    let not_found = |e: io::Error| match e.kind() {
        io::ErrorKind::NotFound => TargetError::NotFound { path: path.into() },
        _ => io_err(path, "resolve", e),
    };
    let real = std::fs::canonicalize(path).map_err(not_found)?;
    let before = std::fs::symlink_metadata(&real).map_err(not_found)?;
    let block = kind_of(path, &before)?;
    // A device the guard already refuses is not even opened for writing (the system disk, a
    // mounted one). This look can only refuse: what may be erased is decided on the descriptor.
    if write && block {
        let devnum = DevNum::from_raw(before.rdev());
        whole_disk(path, devnum, ctx)?;
        let node = Node::Block(devnum);
        refuse_if_protected(path, &ctx.guard_for(node), node)?;
    }
    let exclusive = if write && block { libc::O_EXCL } else { 0 };
    let file = open_patiently(&real, write, libc::O_NOFOLLOW | exclusive).map_err(|e| {
        match e.raw_os_error() {
            Some(libc::ELOOP) => TargetError::Changed { path: path.into() },
            Some(libc::EBUSY) => busy_at(path, &real, ctx),
            Some(libc::EROFS) | Some(libc::EACCES) | Some(libc::EPERM) if write => {
                TargetError::ReadOnly { path: path.into() }
            }
            _ => io_err(path, "open", e),
        }
    })?;
    let meta = file.metadata().map_err(|e| io_err(path, "fstat", e))?;
    if kind_of(path, &meta)? != block {
        return Err(TargetError::Changed { path: path.into() });
    }
    let id = FileId::of(&meta);
    let node = if block {
        Node::Block(DevNum::from_raw(meta.rdev()))
    } else {
        Node::File(id)
    };
    Ok(OpenNode {
        file,
        real,
        node,
        id,
    })
}

/// Whether `meta` is a block device (`true`) or a regular file (`false`); anything else is not
/// a target.
fn kind_of(path: &Path, meta: &std::fs::Metadata) -> Result<bool, TargetError> {
    let ft = meta.file_type();
    if ft.is_block_device() {
        Ok(true)
    } else if ft.is_file() {
        Ok(false)
    } else {
        let what = if ft.is_dir() {
            "a directory"
        } else if ft.is_char_device() {
            "a character device"
        } else if ft.is_symlink() {
            "a symbolic link that changed while it was being opened"
        } else {
            "a special file"
        };
        Err(TargetError::NotADrive {
            path: path.into(),
            what,
        })
    }
}

/// The error for a block device someone else holds exclusively, by the path it was opened by.
fn busy_at(path: &Path, real: &Path, ctx: &GuardContext) -> TargetError {
    let Ok(meta) = std::fs::metadata(real) else {
        return TargetError::Busy {
            path: path.into(),
            holder: None,
        };
    };
    let devnum = DevNum::from_raw(meta.rdev());
    if let Err(e) = whole_disk(path, devnum, ctx) {
        return e;
    }
    busy_error(path, devnum, &ctx.guard_for(Node::Block(devnum)))
}

/// The kernel name of the whole disk with device number `devnum`; a partition or a number the
/// kernel does not know is refused.
fn whole_disk(path: &Path, devnum: DevNum, ctx: &GuardContext) -> Result<String, TargetError> {
    let name = ctx
        .disk_of(devnum)
        .ok_or_else(|| TargetError::UnknownDevice { path: path.into() })?;
    if name.partition.is_some() {
        return Err(TargetError::Partition {
            path: path.into(),
            disk: name.disk.clone(),
        });
    }
    Ok(name.disk.clone())
}

/// Asks for `O_DIRECT` on an open descriptor; `false` if the filesystem does not support it.
fn set_direct(path: &Path, file: &File) -> Result<bool, TargetError> {
    // SAFETY: F_GETFL/F_SETFL on a valid descriptor.
    let flags = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFL) };
    if flags < 0 {
        return Err(io_err(path, "fcntl", io::Error::last_os_error()));
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETFL, flags | libc::O_DIRECT) } == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EINVAL) {
        Ok(false)
    } else {
        Err(io_err(path, "fcntl", e))
    }
}

fn block_target(
    path: PathBuf,
    disk: String,
    devnum: DevNum,
    file: File,
) -> Result<Target, TargetError> {
    if !set_direct(&path, &file)? {
        return Err(io_err(
            &path,
            "O_DIRECT",
            io::Error::from_raw_os_error(libc::EINVAL),
        ));
    }
    let geometry = block_geometry(&path, &file)?;
    Ok(Target {
        path,
        kind: TargetKind::BlockDevice { disk, devnum },
        geometry,
        file,
        buffered: None,
        direct: true,
        cow: None,
    })
}

fn image_target(path: PathBuf, file: File, id: FileId, write: bool) -> Result<Target, TargetError> {
    let size = file.metadata().map_err(|e| io_err(&path, "stat", e))?.len();
    if size == 0 {
        return Err(TargetError::Empty { path });
    }
    // A second, buffered descriptor of the same file (reopened through the first, and checked)
    // for what O_DIRECT cannot reach: the tail of an odd-sized image.
    let direct = set_direct(&path, &file)?;
    let buffered = if direct && size % IMAGE_SECTOR_SIZE as u64 != 0 {
        let again = open_with(
            Path::new(&format!("/proc/self/fd/{}", file.as_raw_fd())),
            write,
            0,
        )
        .map_err(|e| io_err(&path, "reopen", e))?;
        let meta = again.metadata().map_err(|e| io_err(&path, "fstat", e))?;
        if FileId::of(&meta) != id {
            return Err(TargetError::Changed { path });
        }
        Some(again)
    } else {
        None
    };
    Ok(Target {
        path,
        kind: TargetKind::ImageFile,
        geometry: Geometry {
            size_bytes: size,
            logical_sector_size: IMAGE_SECTOR_SIZE,
            physical_sector_size: 4096,
        },
        file,
        buffered,
        direct,
        cow: None,
    })
}

pub(super) fn open_with(path: &Path, write: bool, flags: i32) -> io::Result<File> {
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

pub(super) fn io_err(path: &Path, op: &'static str, source: io::Error) -> TargetError {
    TargetError::Io {
        path: path.into(),
        op,
        source,
    }
}

#[cfg(test)]
#[path = "target_tests.rs"]
mod tests;
