//! The verify layer: proving that an erase did what it claims.
//!
//! * [`plan`]: seeded, stratified sampling plans (NIST SP 800-88 4.7.2).
//! * [`region_hash`]: the hash of a region and the digest over a whole plan.
//! * [`sample`]: reading a plan back and comparing.
//! * [`full`]: reading every byte back and comparing.
//! * [`check`]: the proof that a pass was read back (only the reading code makes one).
//! * [`outcome`]: the result of a wipe; the only place a PASS can come from.

pub mod check;
pub mod fingerprint;
pub mod full;
pub mod outcome;
pub mod plan;
pub mod region_hash;
pub mod sample;

pub use outcome::{Outcome, WipeResult};
pub use plan::{PlanParams, SamplePlan};
