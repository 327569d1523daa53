//! The certificate layer: the signed record of a wipe, its PDF, and their verification.
//!
//! * [`record`]: the record (schema v1) and [`record::Issuable`], the only signable form.
//! * [`canonical`]: the canonical JSON bytes a signature covers.
//! * [`strict_json`]: reading certificate JSON with no repeated or unknown members.
//! * [`keys`]: the station's Ed25519 key and the trust store.
//! * [`layout`], [`page`], [`fonts`], [`pdf`]: the PDF a person reads, drawn from the record
//!   (layout 3); [`v2`] layout 2 and [`v1`] with [`winansi`] layout 1, kept to verify the
//!   certificates made with them.
//! * [`issue`]: sign, render and write a certificate durably.
//! * [`check`]: verify a certificate (PDF or JSON), optionally against the drive.
//! * [`signable`]: what drive and computer certificates share (signing, PDF, chain, checks);
//!   [`computer`] and [`computer_layout`]: the computer certificate.

pub mod authority;
pub mod canonical;
pub mod check;
pub mod computer;
pub mod computer_layout;
pub mod fonts;
pub mod issue;
pub mod keys;
pub mod layout;
pub mod page;
pub mod pdf;
pub mod record;
pub mod signable;
pub mod strict_json;
pub mod v1;
pub mod v2;
pub mod winansi;
pub mod x509;
