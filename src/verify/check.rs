//! A check of a pass: the proof that this process read the drive back and compared.
//!
//! DESIGN invariant 2 rests on this type, the way a verified handshake rests on a type that only
//! the verifier can make. A [`Check`] has no public constructor, cannot be deserialized and has
//! no mutable fields: the only code that makes one is the code in this module's siblings that
//! has just read the drive ([`super::sample::verify_plan`], [`super::full::verify_full`],
//! [`super::fingerprint::verify_changed`]). What a certificate or a checkpoint says about a
//! check is a [`CheckRecord`]: a description, which proves nothing and never turns back into a
//! `Check`. So a file, however it was edited, can never supply the proof a PASS needs.

use serde::{Deserialize, Serialize};

use super::outcome::VerifyMode;
use super::sample::Mismatch;
use crate::erase::engine::ErrorRange;

/// What a check found, as a certificate records it (a description, not a proof).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckRecord {
    /// The step checked.
    pub step: u32,
    pub mode: VerifyMode,
    pub bytes_read: u64,
    pub passed: bool,
    pub interrupted: bool,
    pub mismatch_count: u64,
    pub mismatches: Vec<Mismatch>,
    pub unreadable: Vec<ErrorRange>,
    /// Digest over the read-back hashes of the sample regions (hex), if they were all read.
    pub digest: Option<String>,
    /// For a firmware erase: the digest of the same regions before the command.
    #[serde(default)]
    pub before_digest: Option<String>,
    pub detail: Option<String>,
}

/// Proof that the drive was read back by this process and compared with what it should hold.
#[derive(Debug, Clone)]
pub struct Check {
    record: CheckRecord,
    /// The drive went away while it was read.
    gone: Option<String>,
}

impl Check {
    /// Made only by the functions of the verify layer that read the drive.
    pub(super) fn read_back(record: CheckRecord, gone: Option<String>) -> Check {
        Check { record, gone }
    }

    /// What the check found.
    pub fn record(&self) -> &CheckRecord {
        &self.record
    }

    /// The step checked.
    pub fn step(&self) -> u32 {
        self.record.step
    }

    /// Whether everything read matched.
    pub fn passed(&self) -> bool {
        self.record.passed
    }

    /// Whether the read stopped on request before the end.
    pub fn interrupted(&self) -> bool {
        self.record.interrupted
    }

    /// Why the drive could no longer be read, if it went away.
    pub fn gone(&self) -> Option<&str> {
        self.gone.as_deref()
    }
}
