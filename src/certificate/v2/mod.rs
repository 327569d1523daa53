//! Layout 2, kept to verify the certificates drawn with it: the embedded Unicode faces, every
//! section flowing over as many pages as it needs. Nothing here may change.

mod layout;

pub use layout::layout;
