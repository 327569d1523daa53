//! Verifying a firmware erase: the seeded sample regions are hashed before the command and read
//! again after it (`O_DIRECT`), and no region that held varied data may still hold it.
//!
//! Zeros are never required: after a cryptographic erase a drive returns whatever its old
//! ciphertext decrypts to under a new key. A region that was blank before (one byte value
//! throughout) proves nothing either way and is only counted.

use super::check::{Check, CheckRecord};
use super::outcome::VerifyMode;
use super::plan::SamplePlan;
use super::region_hash::plan_digest;
use super::sample::{Expected, MAX_REPORTED, Mismatch, SampleResult, read_plan};
use crate::device::Target;
use crate::erase::{Sink, StopFlag};

/// What comparing the two readings found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comparison {
    pub regions: u64,
    /// Regions that held varied data before.
    pub varied: u64,
    /// Regions that were blank before.
    pub uniform: u64,
    /// Varied regions that are unchanged after (the first [`MAX_REPORTED`]).
    pub unchanged: Vec<Mismatch>,
    pub unchanged_count: u64,
    /// Regions that could not be read in either reading.
    pub unreadable: u64,
    pub before_digest: String,
    pub after_digest: String,
}

impl Comparison {
    pub fn passed(&self) -> bool {
        self.unchanged_count == 0 && self.unreadable == 0
    }

    /// One line for the certificate.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{} regions compared before and after: {} held varied data, {} of them unchanged; {} were blank before",
            self.regions, self.varied, self.unchanged_count, self.uniform
        );
        if self.varied == 0 {
            s.push_str(
                " (no region held varied data, so the comparison proves nothing; the drive's \
                 completion status is the evidence)",
            );
        }
        if self.unreadable > 0 {
            s.push_str(&format!("; {} unreadable", self.unreadable));
        }
        s
    }
}

/// Reads the regions of `plan` again after the firmware erase of step `step` and compares them
/// with `before`, the reading taken before the command: the check of a firmware erase.
pub fn verify_changed(
    target: &Target,
    plan: &SamplePlan,
    before: &SampleResult,
    step: u32,
    sink: &dyn Sink,
    stop: &StopFlag,
) -> Check {
    let after = read_plan(target, plan, Expected::Nothing, sink, stop);
    let c = compare(plan, before, &after);
    let record = CheckRecord {
        step,
        mode: VerifyMode::Fingerprint,
        bytes_read: before.bytes_read + after.bytes_read,
        passed: c.passed() && !after.interrupted && after.gone.is_none(),
        interrupted: after.interrupted,
        mismatch_count: c.unchanged_count,
        mismatches: c.unchanged.clone(),
        unreadable: after.unreadable.clone(),
        digest: after
            .hashes
            .iter()
            .all(Option::is_some)
            .then(|| c.after_digest.clone()),
        before_digest: Some(c.before_digest.clone()),
        detail: Some(c.summary()),
    };
    Check::read_back(record, after.gone)
}

/// Compares the readings before and after the erase.
pub fn compare(plan: &SamplePlan, before: &SampleResult, after: &SampleResult) -> Comparison {
    let mut c = Comparison {
        regions: plan.regions.len() as u64,
        varied: 0,
        uniform: 0,
        unchanged: Vec::new(),
        unchanged_count: 0,
        unreadable: 0,
        before_digest: hex::encode(plan_digest(
            &plan.regions,
            &before
                .hashes
                .iter()
                .map(|h| h.unwrap_or([0; 32]))
                .collect::<Vec<_>>(),
        )),
        after_digest: hex::encode(after.digest(plan)),
    };
    for (i, region) in plan.regions.iter().enumerate() {
        let (Some(b), Some(a)) = (
            before.hashes.get(i).copied().flatten(),
            after.hashes.get(i).copied().flatten(),
        ) else {
            c.unreadable += 1;
            continue;
        };
        if before.uniform.get(i).copied().unwrap_or(false) {
            c.uniform += 1;
            continue;
        }
        c.varied += 1;
        if a == b {
            c.unchanged_count += 1;
            if c.unchanged.len() < MAX_REPORTED {
                c.unchanged.push(Mismatch {
                    offset: region.offset,
                    len: region.len,
                    detail: "still holds exactly what it held before the erase".into(),
                });
            }
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::super::plan::{PlanParams, SamplePlan};
    use super::super::sample::{Expected, read_plan};
    use super::*;
    use crate::device::Target;
    use crate::erase::{NullSink, StopFlag};

    #[test]
    fn changed_unchanged_and_blank_regions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.img");
        let size = 8usize << 20;
        let mut data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        // The last MiB blank.
        data[size - (1 << 20)..].fill(0);
        std::fs::write(&path, &data).unwrap();
        let plan = SamplePlan::build(PlanParams {
            size_bytes: size as u64,
            sector_size: 512,
            coverage_ppm: 100_000,
            seed: [3; 32],
        })
        .unwrap();
        let t = Target::open_read(&path).unwrap();
        let before = read_plan(&t, &plan, Expected::Nothing, &NullSink, &StopFlag::new());
        // "Erase" everything but region 4.
        let keep = plan.regions[4];
        let mut erased = vec![0xEEu8; size];
        erased[keep.offset as usize..keep.end() as usize]
            .copy_from_slice(&data[keep.offset as usize..keep.end() as usize]);
        std::fs::write(&path, &erased).unwrap();
        let t = Target::open_read(&path).unwrap();
        let after = read_plan(&t, &plan, Expected::Nothing, &NullSink, &StopFlag::new());
        let c = compare(&plan, &before, &after);
        assert!(!c.passed());
        assert_eq!(c.unchanged_count, 1);
        assert_eq!(c.unchanged[0].offset, keep.offset);
        assert!(c.uniform >= 1, "the blank last MiB");
        assert_eq!(c.varied + c.uniform, c.regions);
        assert_ne!(c.before_digest, c.after_digest);
    }
}
