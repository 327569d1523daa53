//! Page-aligned byte buffers for `O_DIRECT` I/O.
//!
//! `O_DIRECT` needs the buffer address, the file offset and the length to be multiples of the
//! device's logical sector size; a 4096-byte aligned allocation satisfies every sector size in
//! use (512 and 4096).

use std::alloc::{self, Layout};
use std::ops::{Deref, DerefMut};
use std::ptr::NonNull;

/// Alignment of every buffer, in bytes.
pub const ALIGN: usize = 4096;

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
        let cap = len.div_ceil(ALIGN).max(1) * ALIGN;
        let layout = Layout::from_size_align(cap, ALIGN).expect("buffer size overflows");
        // SAFETY: layout has non-zero size.
        let raw = unsafe { alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(raw).unwrap_or_else(|| alloc::handle_alloc_error(layout));
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
        let cap = self.len.div_ceil(ALIGN).max(1) * ALIGN;
        // Same computation as in `zeroed`, which succeeded.
        Layout::from_size_align(cap, ALIGN).expect("layout was valid at allocation")
    }
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
        for len in [1, 512, 4096, 4097, 4 << 20] {
            let buf = AlignedBuf::filled(len, 0xAB);
            assert_eq!(buf.as_ptr() as usize % ALIGN, 0);
            assert_eq!(buf.len(), len);
            assert!(buf.iter().all(|&b| b == 0xAB));
        }
        assert_eq!(AlignedBuf::zeroed(0).len(), 0);
    }
}
