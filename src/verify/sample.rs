//! Reading the regions of a sampling plan back from a drive, hashing each with BLAKE3 and
//! comparing with what should be there.
//!
//! What "should be there" is either the pattern itself (then a mismatch is located to the byte;
//! a random pass's keystream is regenerated from its key, after a resume too), or nothing at all
//! (a fingerprint taken before a firmware erase).

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use super::check::{Check, CheckRecord};
use super::outcome::VerifyMode;
use super::plan::{Region, SamplePlan};
use super::region_hash::{Hash, plan_digest};
use crate::device::{AlignedBuf, Target};
use crate::erase::engine::{ErrorRange, is_gone};
use crate::erase::{Event, Pattern, Sink, StopFlag};

/// Largest single read.
const READ_CHUNK: usize = 4 << 20;
/// Mismatches kept in detail; the count covers all.
pub const MAX_REPORTED: usize = 32;

/// What the regions should contain.
pub enum Expected<'a> {
    Pattern(&'a Pattern),
    Nothing,
}

/// A region (or part of one) that does not hold what it should.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mismatch {
    /// First differing byte when known, else the region's start.
    pub offset: u64,
    /// Bytes from `offset` to the last differing byte (or the region's length).
    pub len: u64,
    pub detail: String,
}

/// The result of reading a plan.
#[derive(Debug, Clone, Default)]
pub struct SampleResult {
    /// Hash of each region as read (None where unreadable or not reached).
    pub hashes: Vec<Option<Hash>>,
    pub bytes_read: u64,
    /// Mismatching regions (the first [`MAX_REPORTED`]).
    pub mismatches: Vec<Mismatch>,
    pub mismatch_count: u64,
    pub unreadable: Vec<ErrorRange>,
    /// Stopped on request before every region was read.
    pub interrupted: bool,
    /// The drive went away.
    pub gone: Option<String>,
    /// Whether each region held one byte value throughout (a blank region says nothing about
    /// whether an erase changed it).
    pub uniform: Vec<bool>,
}

impl SampleResult {
    /// Digest over all region hashes (unreadable regions count as all-zero hashes).
    pub fn digest(&self, plan: &SamplePlan) -> Hash {
        let hashes: Vec<Hash> = self.hashes.iter().map(|h| h.unwrap_or([0; 32])).collect();
        plan_digest(&plan.regions, &hashes)
    }

    /// True when every region was read and matched.
    pub fn passed(&self) -> bool {
        !self.interrupted
            && self.gone.is_none()
            && self.mismatch_count == 0
            && self.unreadable.is_empty()
            && self.hashes.iter().all(Option::is_some)
    }
}

/// Reads in flight at once: sample regions are small, so one at a time would leave the drive
/// idle between them (NVMe and RAM-backed devices above all). The readers take batches in
/// ascending order, so the reads in flight are close together on the drive.
const READERS: usize = 4;

/// Regions smaller than this are read in batches of consecutive regions up to this many bytes:
/// one hand-off and one progress event per batch instead of per region.
const BATCH_BYTES: u64 = 1 << 20;

/// The order regions are read in: batches of consecutive regions, in ascending offset order.
///
/// Readers take the batches one after the other, so the drive is read front to back (a hard
/// disk seeks forward once across the platter, not back and forth), whatever order the plan's
/// regions were given in.
pub fn schedule(regions: &[Region]) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..regions.len()).collect();
    order.sort_by_key(|&i| regions[i].offset);
    let mut batches: Vec<Vec<usize>> = Vec::new();
    let mut bytes = 0u64;
    for i in order {
        let len = regions[i].len;
        match batches.last_mut() {
            Some(batch) if bytes + len <= BATCH_BYTES => {
                batch.push(i);
                bytes += len;
            }
            _ => {
                batches.push(vec![i]);
                bytes = len;
            }
        }
    }
    batches
}

/// What reading one region found.
struct RegionReport {
    index: usize,
    hash: Option<Hash>,
    bytes_read: u64,
    mismatch: Option<Mismatch>,
    unreadable: Vec<ErrorRange>,
    gone: Option<String>,
    uniform: bool,
}

/// Reads every region of `plan` back and compares each with what step `step` should have left:
/// the check of a pass by samples.
pub fn verify_plan(
    target: &Target,
    plan: &SamplePlan,
    expected: Expected<'_>,
    step: u32,
    sink: &dyn Sink,
    stop: &StopFlag,
) -> Check {
    let r = read_plan(target, plan, expected, sink, stop);
    let complete = r.hashes.iter().all(Option::is_some);
    let record = CheckRecord {
        step,
        mode: VerifyMode::Sample,
        bytes_read: r.bytes_read,
        passed: r.passed(),
        interrupted: r.interrupted,
        mismatch_count: r.mismatch_count,
        digest: complete.then(|| hex::encode(r.digest(plan))),
        mismatches: r.mismatches,
        unreadable: r.unreadable,
        before_digest: None,
        detail: r.gone.clone(),
    };
    Check::read_back(record, r.gone)
}

/// Reads every region of `plan` from `target`.
pub fn read_plan(
    target: &Target,
    plan: &SamplePlan,
    expected: Expected<'_>,
    sink: &dyn Sink,
    stop: &StopFlag,
) -> SampleResult {
    // One region (or a piece of a large one) at a time.
    let max = plan
        .regions
        .iter()
        .map(|r| r.len)
        .max()
        .unwrap_or(0)
        .min(READ_CHUNK as u64) as usize;
    let batches = schedule(&plan.regions);
    let next = AtomicUsize::new(0);
    let done = AtomicU64::new(0);
    let abort = AtomicBool::new(false);
    let expected = &expected;
    let batches = &batches;
    let mut reports: Vec<RegionReport> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..READERS.min(batches.len()))
            .map(|_| {
                let (next, done, abort) = (&next, &done, &abort);
                scope.spawn(move || {
                    let mut buf = AlignedBuf::zeroed(max);
                    let mut out = Vec::new();
                    'batches: while let Some(batch) =
                        batches.get(next.fetch_add(1, Ordering::Relaxed))
                    {
                        let mut bytes = 0;
                        for &index in batch {
                            if stop.is_stopped() || abort.load(Ordering::Relaxed) {
                                break 'batches;
                            }
                            let report =
                                read_region(target, index, plan.regions[index], &mut buf, expected);
                            bytes += report.bytes_read;
                            let gone = report.gone.is_some();
                            out.push(report);
                            if gone {
                                abort.store(true, Ordering::Relaxed);
                                break 'batches;
                            }
                        }
                        let total = done.fetch_add(bytes, Ordering::Relaxed) + bytes;
                        sink.event(Event::Progress { done: total });
                    }
                    out
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    });
    reports.sort_by_key(|r| r.index);
    let reached = reports.len();

    let mut result = SampleResult {
        hashes: vec![None; plan.regions.len()],
        uniform: vec![false; plan.regions.len()],
        ..Default::default()
    };
    for r in reports {
        result.uniform[r.index] = r.uniform;
        result.bytes_read += r.bytes_read;
        result.unreadable.extend(r.unreadable);
        if r.gone.is_some() && result.gone.is_none() {
            result.gone = r.gone;
        }
        if let Some(m) = r.mismatch {
            add_mismatch(&mut result, m);
        }
        result.hashes[r.index] = r.hash;
    }
    // Stopped before every region was read (unreadable ones were read, and failed).
    let read_all = reached == plan.regions.len();
    result.interrupted = result.gone.is_none() && !read_all;
    result
}

fn read_region(
    target: &Target,
    index: usize,
    region: Region,
    buf: &mut AlignedBuf,
    expected: &Expected<'_>,
) -> RegionReport {
    let mut report = RegionReport {
        index,
        hash: None,
        bytes_read: 0,
        mismatch: None,
        unreadable: Vec::new(),
        gone: None,
        uniform: true,
    };
    let mut first_byte: Option<u8> = None;
    let mut hasher = blake3::Hasher::new();
    let mut offset = region.offset;
    let mut first_bad: Option<u64> = None;
    let mut last_bad = 0u64;
    while offset < region.end() {
        let len = (region.end() - offset).min(buf.len() as u64) as usize;
        let piece = &mut buf[..len];
        if let Err(e) = read_with_retries(target, piece, offset) {
            if is_gone(target, &e) {
                report.gone = Some(format!(
                    "{} disappeared while reading offset {offset}: {e}",
                    target.path().display()
                ));
                return report;
            }
            report.unreadable.push(ErrorRange {
                offset,
                len: len as u64,
                error: e.to_string(),
            });
            offset += len as u64;
            continue;
        }
        hasher.update(piece);
        // Stops at the first differing 64 bytes, so it costs nothing on varied data.
        let b = *first_byte.get_or_insert(piece[0]);
        let same = super::full::all_equal(piece, b);
        report.uniform &= same;
        if let Expected::Pattern(p) = expected
            && !holds(p, offset, piece, same.then_some(b))
        {
            // Only now are the expected bytes written out, to find where they differ.
            let mut want = vec![0u8; len];
            p.fill(offset, &mut want);
            let (lo, hi) = differing_span(piece, &want);
            first_bad.get_or_insert(offset + lo as u64);
            last_bad = offset + hi as u64;
        }
        report.bytes_read += len as u64;
        offset += len as u64;
    }
    if let (Some(first), Expected::Pattern(p)) = (first_bad, expected) {
        report.mismatch = Some(Mismatch {
            offset: first,
            len: last_bad + 1 - first,
            detail: format!(
                "bytes differ from the expected pattern ({})",
                p.spec().describe()
            ),
        });
    }
    if report.unreadable.is_empty() {
        report.hash = Some(*hasher.finalize().as_bytes());
    }
    report
}

/// Whether `data`, read at drive offset `offset`, holds the pattern; `uniform` is a byte that
/// every byte of `data` is known to equal (from the uniformity check), if one is.
fn holds(p: &Pattern, offset: u64, data: &[u8], uniform: Option<u8>) -> bool {
    match p {
        Pattern::Constant(b) => match uniform {
            Some(u) => u == *b,
            None => super::full::all_equal(data, *b),
        },
        Pattern::Random(ks) => ks.matches(offset, data),
        Pattern::Repeating(_) => {
            let mut want = [0u8; 4096];
            data.chunks(want.len()).enumerate().all(|(k, d)| {
                let w = &mut want[..d.len()];
                p.fill(offset + (k * 4096) as u64, w);
                d == &w[..]
            })
        }
    }
}

fn add_mismatch(result: &mut SampleResult, m: Mismatch) {
    result.mismatch_count += 1;
    if result.mismatches.len() < MAX_REPORTED {
        result.mismatches.push(m);
    }
}

/// First and last index where two equal-length slices differ (they must differ).
pub fn differing_span(a: &[u8], b: &[u8]) -> (usize, usize) {
    let lo = a.iter().zip(b).position(|(x, y)| x != y).unwrap_or(0);
    let hi = a.iter().zip(b).rposition(|(x, y)| x != y).unwrap_or(lo);
    (lo, hi)
}

/// Reads with a few retries; the last error if all fail.
pub fn read_with_retries(target: &Target, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    let mut last = None;
    for attempt in 0..4u64 {
        match target.read_at(buf, offset) {
            Ok(()) => return Ok(()),
            Err(e) => {
                if is_gone(target, &e) {
                    return Err(e);
                }
                last = Some(e);
                std::thread::sleep(Duration::from_millis(20 * attempt));
            }
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("read failed")))
}

#[cfg(test)]
mod tests {
    use super::super::plan::{PlanParams, Region};
    use super::*;
    use crate::erase::NullSink;

    fn setup(fill: u8) -> (tempfile::TempDir, std::path::PathBuf, SamplePlan) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.img");
        let size = 16 << 20;
        std::fs::write(&path, vec![fill; size]).unwrap();
        let plan = SamplePlan::build(PlanParams {
            size_bytes: size as u64,
            sector_size: 512,
            coverage_ppm: 100_000,
            seed: [2; 32],
        })
        .unwrap();
        (dir, path, plan)
    }

    #[test]
    fn clean_drive_passes_and_a_changed_region_is_located_to_the_byte() {
        let (_d, path, plan) = setup(0);
        let t = Target::open_read(&path).unwrap();
        let p = Pattern::Constant(0);
        let r = read_plan(
            &t,
            &plan,
            Expected::Pattern(&p),
            &NullSink,
            &StopFlag::new(),
        );
        assert!(r.passed(), "{r:?}");
        assert_eq!(r.bytes_read, plan.bytes());
        let digest = r.digest(&plan);

        // Change three bytes inside region 5.
        let reg = plan.regions[5];
        let mut data = std::fs::read(&path).unwrap();
        let at = (reg.offset + 100) as usize;
        data[at] = 1;
        data[at + 2] = 1;
        std::fs::write(&path, &data).unwrap();
        let t = Target::open_read(&path).unwrap();
        let r = read_plan(
            &t,
            &plan,
            Expected::Pattern(&p),
            &NullSink,
            &StopFlag::new(),
        );
        assert!(!r.passed());
        assert_eq!(r.mismatch_count, 1);
        assert_eq!(r.mismatches[0].offset, reg.offset + 100);
        assert_eq!(r.mismatches[0].len, 3);
        assert_ne!(r.digest(&plan), digest);
    }

    #[test]
    fn regions_are_read_in_ascending_order_and_small_ones_in_batches() {
        let plan = SamplePlan::build(PlanParams {
            size_bytes: 1 << 30,
            sector_size: 4096,
            coverage_ppm: 100_000,
            seed: [8; 32],
        })
        .unwrap();
        // Whatever order the regions come in.
        let mut regions = plan.regions.clone();
        regions.reverse();
        regions.swap(3, 700);
        let batches = schedule(&regions);
        let order: Vec<usize> = batches.iter().flatten().copied().collect();
        let mut seen = order.clone();
        seen.sort_unstable();
        assert_eq!(
            seen,
            (0..regions.len()).collect::<Vec<_>>(),
            "each region once"
        );
        assert!(
            order
                .windows(2)
                .all(|w| regions[w[0]].offset < regions[w[1]].offset),
            "ascending offsets"
        );
        for batch in &batches {
            let bytes: u64 = batch.iter().map(|&i| regions[i].len).sum();
            assert!(batch.len() == 1 || bytes <= BATCH_BYTES, "{bytes}");
        }
        // About 51 KiB regions: about 20 to a batch.
        assert!(batches.len() * 10 < regions.len(), "{}", batches.len());
    }

    #[test]
    fn a_difference_in_a_later_piece_of_a_large_region_is_located() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.img");
        let size = 2 * READ_CHUNK + (1 << 20);
        let plan = SamplePlan {
            params: PlanParams {
                size_bytes: size as u64,
                sector_size: 512,
                coverage_ppm: 1_000_000,
                seed: [0; 32],
            },
            regions: vec![Region {
                offset: 0,
                len: size as u64,
            }],
            subsections: 0,
            regions_per_subsection: 0,
            region_size: size as u64,
        };
        let zero = Pattern::Constant(0);
        // The first piece is uniform but not the pattern, the second holds the pattern, the
        // third differs in one byte.
        let mut data = vec![0u8; size];
        data[..READ_CHUNK].fill(0x11);
        data[2 * READ_CHUNK + 7] = 1;
        std::fs::write(&path, &data).unwrap();
        let t = Target::open_read(&path).unwrap();
        let r = read_plan(
            &t,
            &plan,
            Expected::Pattern(&zero),
            &NullSink,
            &StopFlag::new(),
        );
        assert_eq!(r.mismatch_count, 1);
        assert_eq!(
            (r.mismatches[0].offset, r.mismatches[0].len),
            (0, 2 * READ_CHUNK as u64 + 8)
        );
        assert!(!r.uniform[0]);
        data[..READ_CHUNK].fill(0);
        data[2 * READ_CHUNK + 7] = 0;
        std::fs::write(&path, &data).unwrap();
        let r = read_plan(
            &t,
            &plan,
            Expected::Pattern(&zero),
            &NullSink,
            &StopFlag::new(),
        );
        assert!(r.passed() && r.uniform[0], "{r:?}");
    }

    #[test]
    fn stop_interrupts() {
        let (_d, path, plan) = setup(0);
        let t = Target::open_read(&path).unwrap();
        let stop = StopFlag::new();
        stop.stop();
        let r = read_plan(&t, &plan, Expected::Nothing, &NullSink, &stop);
        assert!(r.interrupted && !r.passed());
    }
}
