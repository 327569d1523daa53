//! Copy-on-write filesystems: where overwriting an image file does not overwrite its old data.
//!
//! btrfs, bcachefs and ZFS write every change to new blocks (the old ones stay in snapshots, in
//! reflinked copies, and on the device until reused); XFS does the same for blocks shared
//! through reflinks; an overlay filesystem copies a file of a lower layer up on its first
//! write and leaves the lower one as it was. Wiping a file there is a logical sanitisation
//! only. [`of_file`] tells, from the open descriptor (`fstatfs`, and for XFS its geometry), which
//! of these holds a file.

use std::fmt;
use std::os::fd::{AsFd, AsRawFd};

/// A filesystem on which overwriting a file may leave earlier copies of its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CowFilesystem {
    Btrfs,
    Bcachefs,
    Zfs,
    /// XFS with reflinks enabled (files can share blocks).
    XfsReflink,
    Overlay,
}

impl CowFilesystem {
    /// The filesystem's name as a certificate and a refusal show it.
    pub fn name(self) -> &'static str {
        match self {
            CowFilesystem::Btrfs => "btrfs",
            CowFilesystem::Bcachefs => "bcachefs",
            CowFilesystem::Zfs => "zfs",
            CowFilesystem::XfsReflink => "xfs with reflink",
            CowFilesystem::Overlay => "overlay",
        }
    }

    /// The filesystem a `statfs` type (`f_type`) names, if it is copy-on-write by its nature;
    /// XFS is decided by [`of_file`], which asks the filesystem whether reflinks are on.
    pub fn from_magic(magic: u64) -> Option<CowFilesystem> {
        match magic {
            BTRFS_SUPER_MAGIC => Some(CowFilesystem::Btrfs),
            BCACHEFS_SUPER_MAGIC => Some(CowFilesystem::Bcachefs),
            ZFS_SUPER_MAGIC => Some(CowFilesystem::Zfs),
            OVERLAYFS_SUPER_MAGIC => Some(CowFilesystem::Overlay),
            _ => None,
        }
    }
}

impl fmt::Display for CowFilesystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

const BTRFS_SUPER_MAGIC: u64 = 0x9123_683E;
const BCACHEFS_SUPER_MAGIC: u64 = 0xCA45_1A4E;
const ZFS_SUPER_MAGIC: u64 = 0x2FC1_2FC1;
const OVERLAYFS_SUPER_MAGIC: u64 = 0x794C_7630;
const XFS_SUPER_MAGIC: u64 = 0x5846_5342;

/// `XFS_FSOP_GEOM_FLAGS_REFLINK`: files can share blocks.
const XFS_FSOP_GEOM_FLAGS_REFLINK: u32 = 1 << 20;
/// Offset of `flags` in `struct xfs_fsop_geom` (the same in its v4 and v5 layouts).
const XFS_GEOM_FLAGS_OFFSET: usize = 92;

// XFS_IOC_FSGEOMETRY (v5, 256 bytes) and XFS_IOC_FSGEOMETRY_V4 (112 bytes), for older kernels.
nix::ioctl_read!(xfs_fsgeometry_v5, b'X', 126, [u8; 256]);
nix::ioctl_read!(xfs_fsgeometry_v4, b'X', 124, [u8; 112]);

/// The copy-on-write filesystem that holds the open file, or `None` if overwriting it replaces
/// its data in place (or the filesystem cannot be asked). XFS counts only when its geometry says
/// reflinks are on.
pub fn of_file(file: &impl AsFd) -> std::io::Result<Option<CowFilesystem>> {
    let stat = nix::sys::statfs::fstatfs(file).map_err(std::io::Error::from)?;
    // f_type is a signed word on some targets: the magic is its low 32 bits.
    let magic = (stat.filesystem_type().0 as u64) & 0xFFFF_FFFF;
    if magic == XFS_SUPER_MAGIC {
        return Ok(xfs_reflink(file).then_some(CowFilesystem::XfsReflink));
    }
    Ok(CowFilesystem::from_magic(magic))
}

/// Whether the XFS filesystem holding `file` has reflinks on; `false` if it cannot say.
fn xfs_reflink(file: &impl AsFd) -> bool {
    let fd = file.as_fd().as_raw_fd();
    let mut v5 = [0u8; 256];
    // SAFETY: the kernel writes at most the 256 bytes the request's size names.
    let flags = if unsafe { xfs_fsgeometry_v5(fd, &mut v5) }.is_ok() {
        geometry_flags(&v5)
    } else {
        let mut v4 = [0u8; 112];
        // SAFETY: as above, 112 bytes.
        match unsafe { xfs_fsgeometry_v4(fd, &mut v4) } {
            Ok(_) => geometry_flags(&v4),
            Err(_) => return false,
        }
    };
    flags & XFS_FSOP_GEOM_FLAGS_REFLINK != 0
}

fn geometry_flags(geom: &[u8]) -> u32 {
    let mut word = [0u8; 4];
    word.copy_from_slice(&geom[XFS_GEOM_FLAGS_OFFSET..XFS_GEOM_FLAGS_OFFSET + 4]);
    u32::from_ne_bytes(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magics_name_the_copy_on_write_filesystems_and_nothing_else() {
        assert_eq!(
            CowFilesystem::from_magic(0x9123683E),
            Some(CowFilesystem::Btrfs)
        );
        assert_eq!(
            CowFilesystem::from_magic(0xCA451A4E),
            Some(CowFilesystem::Bcachefs)
        );
        assert_eq!(
            CowFilesystem::from_magic(0x2FC12FC1),
            Some(CowFilesystem::Zfs)
        );
        assert_eq!(
            CowFilesystem::from_magic(0x794C7630),
            Some(CowFilesystem::Overlay)
        );
        // ext4, tmpfs, and XFS by its magic alone (decided by its geometry).
        for other in [0xEF53, 0x0102_1994, XFS_SUPER_MAGIC] {
            assert_eq!(CowFilesystem::from_magic(other), None, "{other:#x}");
        }
    }

    #[test]
    fn the_reflink_flag_is_read_from_the_geometry_flags_word() {
        let mut geom = [0u8; 112];
        geom[XFS_GEOM_FLAGS_OFFSET..XFS_GEOM_FLAGS_OFFSET + 4]
            .copy_from_slice(&(XFS_FSOP_GEOM_FLAGS_REFLINK | 1).to_ne_bytes());
        assert_ne!(geometry_flags(&geom) & XFS_FSOP_GEOM_FLAGS_REFLINK, 0);
        geom[XFS_GEOM_FLAGS_OFFSET..XFS_GEOM_FLAGS_OFFSET + 4].copy_from_slice(&1u32.to_ne_bytes());
        assert_eq!(geometry_flags(&geom) & XFS_FSOP_GEOM_FLAGS_REFLINK, 0);
    }

    #[test]
    fn a_file_in_the_temporary_directory_is_judged_without_error() {
        let f = tempfile::tempfile().unwrap();
        of_file(&f).unwrap();
    }
}
