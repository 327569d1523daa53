//! Layout 1, kept to verify the certificates drawn with it: the PDF standard fonts Helvetica,
//! Helvetica-Bold and Courier in WinAnsiEncoding. Nothing here may change; the fixture
//! certificates in `tests/fixtures/certificate-0.0.9` prove that it does not.

mod layout;
mod writer;

pub use layout::layout;
