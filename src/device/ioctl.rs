//! Block-device ioctls: size, sector sizes and read-only flag.

use std::os::fd::AsRawFd;

nix::ioctl_read!(blk_getsize64, 0x12, 114, u64);
nix::ioctl_read_bad!(blk_ssz_get, 0x1268, libc::c_int);
nix::ioctl_read_bad!(blk_pbsz_get, 0x127B, libc::c_uint);
nix::ioctl_read_bad!(blk_ro_get, 0x125E, libc::c_int);

/// Size of the block device in bytes.
pub fn size_bytes(fd: &impl AsRawFd) -> nix::Result<u64> {
    let mut size = 0u64;
    // SAFETY: the kernel writes one u64 through the pointer.
    unsafe { blk_getsize64(fd.as_raw_fd(), &mut size) }?;
    Ok(size)
}

/// Logical sector size in bytes.
pub fn logical_sector_size(fd: &impl AsRawFd) -> nix::Result<u32> {
    let mut v: libc::c_int = 0;
    // SAFETY: the kernel writes one int through the pointer.
    unsafe { blk_ssz_get(fd.as_raw_fd(), &mut v) }?;
    Ok(v.max(0) as u32)
}

/// Physical sector size in bytes.
pub fn physical_sector_size(fd: &impl AsRawFd) -> nix::Result<u32> {
    let mut v: libc::c_uint = 0;
    // SAFETY: the kernel writes one unsigned int through the pointer.
    unsafe { blk_pbsz_get(fd.as_raw_fd(), &mut v) }?;
    Ok(v)
}

/// Whether the kernel has the device read-only.
pub fn read_only(fd: &impl AsRawFd) -> nix::Result<bool> {
    let mut v: libc::c_int = 0;
    // SAFETY: the kernel writes one int through the pointer.
    unsafe { blk_ro_get(fd.as_raw_fd(), &mut v) }?;
    Ok(v != 0)
}
