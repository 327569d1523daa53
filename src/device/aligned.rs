//! Page-aligned byte buffers for `O_DIRECT` I/O.
//!
//! `O_DIRECT` needs the buffer address, the file offset and the length to be multiples of the
//! device's logical sector size; a 4096-byte aligned allocation satisfies every sector size in
//! use (512 and 4096).
//!
//! Buffers of 2 MiB and more are aligned to 2 MiB and asked to be backed by huge pages before
//! they are first touched. Every `O_DIRECT` write pins the buffer's pages for the transfer, and
//! a 4 MiB buffer is then 2 pages instead of 1024; generating into it misses the TLB far less.
//! Where the kernel has no huge page to give (or transparent huge pages are off), the buffer is
//! made of ordinary pages, as before.

use std::alloc::{self, Layout};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// Alignment of every buffer, in bytes.
pub const ALIGN: usize = 4096;

/// The size of a huge page on x86-64, and the alignment of buffers at least that large.
const HUGE_PAGE: usize = 2 << 20;

/// A zero-initialised, heap-allocated, [`ALIGN`]-aligned byte buffer.
pub struct AlignedBuf {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: AlignedBuf owns its allocation exclusively, like Vec<u8>.
unsafe impl Send for AlignedBuf {}
// SAFETY: shared references only give out &[u8].
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// Allocates `len` zero bytes (rounded up to a multiple of [`ALIGN`] internally).
    ///
    /// # Panics
    /// If the allocation fails (out of memory), like `Vec`.
    pub fn zeroed(len: usize) -> AlignedBuf {
        let layout = layout_for(len);
        if layout.align() < HUGE_PAGE {
            // SAFETY: layout has non-zero size.
            let raw = unsafe { alloc::alloc_zeroed(layout) };
            let ptr = NonNull::new(raw).unwrap_or_else(|| alloc::handle_alloc_error(layout));
            return AlignedBuf { ptr, len };
        }
        // SAFETY: layout has non-zero size.
        let raw = unsafe { alloc::alloc(layout) };
        let ptr = NonNull::new(raw).unwrap_or_else(|| alloc::handle_alloc_error(layout));
        // SAFETY: the range is this allocation, which nothing else references. The advice only
        // changes which pages back it (an error, say huge pages off, leaves ordinary pages), and
        // the bytes are written below, after the advice, so they fault in huge pages if any.
        unsafe {
            libc::madvise(ptr.as_ptr().cast(), layout.size(), libc::MADV_HUGEPAGE);
            std::ptr::write_bytes(ptr.as_ptr(), 0, layout.size());
        }
        AlignedBuf { ptr, len }
    }

    /// A buffer filled with one byte value.
    pub fn filled(len: usize, byte: u8) -> AlignedBuf {
        let mut buf = AlignedBuf::zeroed(len);
        if byte != 0 {
            buf.fill(byte);
        }
        buf
    }

    fn layout(&self) -> Layout {
        // Same computation as in `zeroed`, which succeeded.
        layout_for(self.len)
    }
}

/// The allocation for a buffer of `len` bytes: whole pages, whole huge pages from 2 MiB on.
fn layout_for(len: usize) -> Layout {
    let align = if len >= HUGE_PAGE { HUGE_PAGE } else { ALIGN };
    let cap = len.div_ceil(align).max(1) * align;
    Layout::from_size_align(cap, align).expect("buffer size overflows")
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        // SAFETY: allocated in `zeroed` with the same layout.
        unsafe { alloc::dealloc(self.ptr.as_ptr(), self.layout()) }
    }
}

impl Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: ptr is valid for len initialised bytes for the lifetime of self.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: ptr is valid for len initialised bytes and uniquely borrowed.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl std::fmt::Debug for AlignedBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AlignedBuf({} bytes)", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_and_sized() {
        for len in [1, 512, 4096, 4097, (2 << 20) - 1, 2 << 20, (4 << 20) + 512] {
            let buf = AlignedBuf::filled(len, 0xAB);
            assert_eq!(buf.as_ptr() as usize % ALIGN, 0);
            assert_eq!(buf.len(), len);
            assert!(buf.iter().all(|&b| b == 0xAB));
            assert!(AlignedBuf::zeroed(len).iter().all(|&b| b == 0), "{len}");
        }
        assert_eq!(AlignedBuf::zeroed(0).len(), 0);
        assert_eq!(AlignedBuf::zeroed(4 << 20).as_ptr() as usize % HUGE_PAGE, 0);
    }
}
