//! Full read-back: every byte of the drive read and compared with the pattern of the last pass.
//!
//! Two workers each read every other buffer and check it themselves, so one buffer is always in
//! flight while the other is compared, with no hand-off between threads in the hot loop (a
//! reader thread feeding a checker measured slower than this on the benchmark). Mismatches are
//! located per 4 KiB block and merged afterwards.
//!
//! A passing full check proves the drive holds exactly the pattern, so the sample regions'
//! hashes (for the certificate's digest, re-checkable later with `wipeproof verify --drive`) are
//! then computed from the pattern rather than by hashing every region as it streams by.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::check::{Check, CheckRecord};
use super::outcome::VerifyMode;
use super::plan::SamplePlan;
use super::region_hash::{Hash, plan_digest};
use super::sample::{MAX_REPORTED, Mismatch, differing_span, read_with_retries};
use crate::device::{AlignedBuf, Target};
use crate::erase::engine::{ErrorRange, is_gone};
use crate::erase::{Event, Pattern, Sink, StopFlag};

/// Buffer size of each worker.
const CHUNK: usize = 8 << 20;
/// Workers, i.e. reads in flight.
const WORKERS: u64 = 2;

/// The result of a full read-back.
#[derive(Debug, Clone, Default)]
pub struct FullResult {
    pub bytes_read: u64,
    pub mismatches: Vec<Mismatch>,
    pub mismatch_count: u64,
    pub mismatched_bytes: u64,
    pub unreadable: Vec<ErrorRange>,
    /// Hashes of the plan's regions (known only when the check passed).
    pub sample_hashes: Vec<Option<Hash>>,
    pub interrupted: bool,
    pub gone: Option<String>,
}

impl FullResult {
    pub fn passed(&self) -> bool {
        !self.interrupted
            && self.gone.is_none()
            && self.mismatch_count == 0
            && self.unreadable.is_empty()
    }
}

/// What one worker found.
#[derive(Default)]
struct Findings {
    /// Differing ranges `(start, end)` in drive offsets, in order.
    ranges: Vec<(u64, u64)>,
    mismatched_bytes: u64,
    unreadable: Vec<ErrorRange>,
}

/// Reads all of `target` back and compares it with `pattern`, the pattern of step `step`: the
/// full check of a pass.
pub fn verify_full(
    target: &Target,
    pattern: &Pattern,
    plan: &SamplePlan,
    step: u32,
    sink: &dyn Sink,
    stop: &StopFlag,
) -> Check {
    let r = read_full(target, pattern, plan, sink, stop);
    let digest = r
        .sample_hashes
        .iter()
        .copied()
        .collect::<Option<Vec<Hash>>>()
        .map(|h| hex::encode(plan_digest(&plan.regions, &h)));
    let record = CheckRecord {
        step,
        mode: VerifyMode::Full,
        bytes_read: r.bytes_read,
        passed: r.passed(),
        interrupted: r.interrupted,
        mismatch_count: r.mismatch_count,
        mismatches: r.mismatches,
        unreadable: r.unreadable,
        digest,
        before_digest: None,
        detail: r.gone.clone(),
    };
    Check::read_back(record, r.gone)
}

/// Reads all of `target` and compares it with `pattern`.
pub fn read_full(
    target: &Target,
    pattern: &Pattern,
    plan: &SamplePlan,
    sink: &dyn Sink,
    stop: &StopFlag,
) -> FullResult {
    let size = target.geometry().size_bytes;
    let align = target.alignment() as usize;
    let chunk = (CHUNK / align).max(1) * align;
    let chunks = size.div_ceil(chunk as u64);
    let done = AtomicU64::new(0);
    let abort = AtomicBool::new(false);
    let gone: Mutex<Option<String>> = Mutex::new(None);
    // A periodic pattern whose period divides the buffer has the same expected bytes in every
    // buffer; fill them once per worker.
    let period = pattern.period();
    let fixed = period > 0 && chunk.is_multiple_of(period);

    let findings: Vec<Findings> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let (done, abort, gone) = (&done, &abort, &gone);
                scope.spawn(move || {
                    let mut f = Findings::default();
                    let mut buf = AlignedBuf::zeroed(chunk);
                    // The expected bytes: a whole buffer of a periodic pattern, filled once, or
                    // one piece of a generated pattern at a time.
                    let mut want = vec![0u8; if fixed { chunk } else { PIECE.min(chunk) }];
                    if fixed {
                        pattern.fill(0, &mut want);
                    }
                    let mut i = w;
                    while i < chunks && !abort.load(Ordering::Relaxed) {
                        if stop.is_stopped() {
                            abort.store(true, Ordering::Relaxed);
                            break;
                        }
                        let offset = i * chunk as u64;
                        let len = (size - offset).min(chunk as u64) as usize;
                        let data = &mut buf[..len];
                        match read_with_retries(target, data, offset) {
                            Ok(()) => check(&mut f, offset, data, &mut want, pattern, fixed),
                            Err(e) if is_gone(target, &e) => {
                                if let Ok(mut g) = gone.lock() {
                                    g.get_or_insert(format!(
                                        "{} disappeared while reading offset {offset}: {e}",
                                        target.path().display()
                                    ));
                                }
                                abort.store(true, Ordering::Relaxed);
                                break;
                            }
                            Err(e) => f.unreadable.push(ErrorRange {
                                offset,
                                len: len as u64,
                                error: e.to_string(),
                            }),
                        }
                        let total = done.fetch_add(len as u64, Ordering::Relaxed) + len as u64;
                        sink.event(Event::Progress { done: total });
                        i += WORKERS;
                    }
                    f
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });

    let mut result = FullResult {
        bytes_read: done.load(Ordering::Relaxed),
        gone: gone.into_inner().ok().flatten(),
        ..Default::default()
    };
    result.interrupted = result.gone.is_none() && result.bytes_read < size;
    let mut ranges: Vec<(u64, u64)> = Vec::new();
    for f in findings {
        ranges.extend(f.ranges);
        result.mismatched_bytes += f.mismatched_bytes;
        result.unreadable.extend(f.unreadable);
    }
    ranges.sort_unstable();
    result.unreadable.sort_by_key(|u| u.offset);
    // Ranges found by different workers meet at buffer boundaries: merge them.
    let mut merged: Vec<(u64, u64)> = Vec::with_capacity(ranges.len());
    for (start, end) in ranges {
        match merged.last_mut() {
            Some(last) if last.1 == start => last.1 = end,
            _ => merged.push((start, end)),
        }
    }
    result.mismatch_count = merged.len() as u64;
    let what = pattern.spec().describe();
    result.mismatches = merged
        .iter()
        .take(MAX_REPORTED)
        .map(|&(start, end)| Mismatch {
            offset: start,
            len: end - start,
            detail: format!("bytes differ from the expected pattern ({what})"),
        })
        .collect();
    result.sample_hashes = if result.passed() {
        expected_region_hashes(plan, pattern)
    } else {
        vec![None; plan.regions.len()]
    };
    result
}

/// Size of the pieces a generated pattern is compared in (they stay in cache).
const PIECE: usize = 64 << 10;

/// Checks one buffer against the pattern and records where it differs.
fn check(f: &mut Findings, offset: u64, data: &[u8], want: &mut [u8], p: &Pattern, fixed: bool) {
    match p {
        // One stream through memory instead of two.
        Pattern::Constant(b) => {
            if !all_equal(data, *b) {
                want.fill(*b);
                locate(f, offset, data, want);
            }
        }
        _ if fixed => {
            if data != &want[..data.len()] {
                locate(f, offset, data, &want[..data.len()]);
            }
        }
        // The random pattern: the keystream is regenerated in registers and compared as it
        // comes, touching only the data read; only a piece that differs is generated into
        // memory to find where.
        Pattern::Random(ks) => {
            for (k, d) in data.chunks(PIECE).enumerate() {
                let at = offset + (k * PIECE) as u64;
                if !ks.matches(at, d) {
                    let w = &mut want[..d.len()];
                    p.fill(at, w);
                    locate(f, at, d, w);
                }
            }
        }
        // Other generated patterns: generate and compare in small pieces that stay in cache.
        _ => {
            for (k, d) in data.chunks(PIECE).enumerate() {
                let at = offset + (k * PIECE) as u64;
                let w = &mut want[..d.len()];
                p.fill(at, w);
                if d != &w[..] {
                    locate(f, at, d, w);
                }
            }
        }
    }
}

/// Records the differing ranges of `data` against `want`, located per 4 KiB block.
fn locate(f: &mut Findings, offset: u64, data: &[u8], want: &[u8]) {
    const BLOCK: usize = 4096;
    for (i, (d, w)) in data.chunks(BLOCK).zip(want.chunks(BLOCK)).enumerate() {
        if d == w {
            continue;
        }
        let (lo, hi) = differing_span(d, w);
        f.mismatched_bytes += d.iter().zip(w).filter(|(a, b)| a != b).count() as u64;
        let start = offset + (i * BLOCK + lo) as u64;
        let end = offset + (i * BLOCK + hi) as u64 + 1;
        match f.ranges.last_mut() {
            Some(last) if last.1 == start => last.1 = end,
            _ => f.ranges.push((start, end)),
        }
    }
}

/// Whether every byte of `data` is `byte`, a word at a time (the compiler vectorizes it).
pub fn all_equal(data: &[u8], byte: u8) -> bool {
    let word = u64::from_ne_bytes([byte; 8]);
    let (blocks, rest) = data.as_chunks::<64>();
    for block in blocks {
        let mut acc = 0u64;
        for w in block.as_chunks::<8>().0 {
            acc |= u64::from_ne_bytes(*w) ^ word;
        }
        if acc != 0 {
            return false;
        }
    }
    rest.iter().all(|&b| b == byte)
}

/// Hashes of every plan region as the pattern fills it.
fn expected_region_hashes(plan: &SamplePlan, pattern: &Pattern) -> Vec<Option<Hash>> {
    let mut piece = vec![0u8; 1 << 20];
    let mut by_len: std::collections::HashMap<u64, Hash> = std::collections::HashMap::new();
    plan.regions
        .iter()
        .map(|r| {
            // A constant pattern's region hash depends only on the length.
            if let (Pattern::Constant(_), Some(h)) = (pattern, by_len.get(&r.len)) {
                return Some(*h);
            }
            let mut hasher = blake3::Hasher::new();
            let mut at = r.offset;
            while at < r.end() {
                let n = (r.end() - at).min(piece.len() as u64) as usize;
                pattern.fill(at, &mut piece[..n]);
                hasher.update(&piece[..n]);
                at += n as u64;
            }
            let h = *hasher.finalize().as_bytes();
            by_len.insert(r.len, h);
            Some(h)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::plan::PlanParams;
    use super::*;
    use crate::erase::NullSink;
    use crate::erase::pattern::Keystream;

    fn plan(size: u64) -> SamplePlan {
        SamplePlan::build(PlanParams {
            size_bytes: size,
            sector_size: 512,
            coverage_ppm: 100_000,
            seed: [4; 32],
        })
        .unwrap()
    }

    #[test]
    fn finds_every_changed_range() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.img");
        let size = (19 << 20) + 4096;
        let ks = Keystream::from_key([1; 16], [2; 16]);
        let mut data = vec![0u8; size];
        ks.fill(0, &mut data);
        data[5_000_000] ^= 0xff;
        data[8_000_000] ^= 0x01;
        data[8_000_001] ^= 0x01;
        // A range across the boundary of two 8 MiB buffers (two workers).
        for b in &mut data[(8 << 20) - 10..(8 << 20) + 10] {
            *b ^= 0x80;
        }
        std::fs::write(&path, &data).unwrap();
        let t = Target::open_read(&path).unwrap();
        let p = Pattern::Random(ks);
        let r = read_full(&t, &p, &plan(size as u64), &NullSink, &StopFlag::new());
        assert!(!r.passed());
        assert_eq!(r.bytes_read, size as u64);
        assert_eq!(r.mismatch_count, 3, "{:?}", r.mismatches);
        assert_eq!(r.mismatched_bytes, 23);
        assert_eq!(r.mismatches[0].offset, 5_000_000);
        assert_eq!(
            (r.mismatches[1].offset, r.mismatches[1].len),
            (8_000_000, 2)
        );
        assert_eq!(
            (r.mismatches[2].offset, r.mismatches[2].len),
            ((8 << 20) - 10, 20)
        );
        assert!(r.sample_hashes.iter().all(Option::is_none));
    }

    #[test]
    fn a_single_flipped_byte_is_found_anywhere_in_a_random_pass() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.img");
        // Two whole buffers (one per worker), then a tail that is not a whole piece.
        let size = 2 * CHUNK + 3 * 4096 + 512;
        let ks = Keystream::from_key([5; 16], [6; 16]);
        let mut data = vec![0u8; size];
        ks.fill(0, &mut data);
        let p = Pattern::Random(ks);
        let plan = plan(size as u64);
        for at in [
            0,
            511,
            512,
            PIECE - 1,
            PIECE,
            CHUNK - 1,
            CHUNK,
            CHUNK + PIECE,
            2 * CHUNK - 1,
            2 * CHUNK,
            size - 512,
            size - 1,
        ] {
            data[at] ^= 0x04;
            std::fs::write(&path, &data).unwrap();
            data[at] ^= 0x04;
            let t = Target::open_read(&path).unwrap();
            let r = read_full(&t, &p, &plan, &NullSink, &StopFlag::new());
            assert!(!r.passed(), "flip at {at}");
            assert_eq!(r.mismatch_count, 1, "flip at {at}: {:?}", r.mismatches);
            assert_eq!(
                (r.mismatches[0].offset, r.mismatches[0].len),
                (at as u64, 1)
            );
            assert_eq!(r.mismatched_bytes, 1);
        }
        std::fs::write(&path, &data).unwrap();
        let t = Target::open_read(&path).unwrap();
        assert!(read_full(&t, &p, &plan, &NullSink, &StopFlag::new()).passed());
    }

    #[test]
    fn passing_check_gives_the_hashes_of_the_regions_as_read() {
        for p in [
            Pattern::Constant(0x33),
            Pattern::Random(Keystream::from_key([3; 16], [1; 16])),
        ] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("d.img");
            let mut data = vec![0u8; (5 << 20) + 512];
            p.fill(0, &mut data);
            std::fs::write(&path, &data).unwrap();
            let plan = plan(data.len() as u64);
            let t = Target::open_read(&path).unwrap();
            let r = read_full(&t, &p, &plan, &NullSink, &StopFlag::new());
            assert!(r.passed(), "{r:?}");
            for (region, h) in plan.regions.iter().zip(&r.sample_hashes) {
                let slice = &data[region.offset as usize..region.end() as usize];
                assert_eq!(h.unwrap(), *blake3::hash(slice).as_bytes());
            }
        }
    }

    #[test]
    fn all_equal_checks_every_byte() {
        let mut v = vec![7u8; 1000];
        assert!(all_equal(&v, 7));
        for i in [0, 63, 64, 500, 999] {
            v[i] = 8;
            assert!(!all_equal(&v, 7), "{i}");
            v[i] = 7;
        }
        assert!(all_equal(&[], 1));
    }

    #[test]
    fn stop_interrupts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.img");
        std::fs::write(&path, vec![0u8; 3 << 20]).unwrap();
        let t = Target::open_read(&path).unwrap();
        let stop = StopFlag::new();
        stop.stop();
        let r = read_full(&t, &Pattern::Constant(0), &plan(3 << 20), &NullSink, &stop);
        assert!(r.interrupted && !r.passed());
    }
}
