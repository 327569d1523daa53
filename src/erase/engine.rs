//! The overwrite engine: one pass of a pattern over a target, at the speed of the drive.
//!
//! * `O_DIRECT` writes from aligned buffers of a few MiB (through [`Target`]).
//! * Periodic patterns (constant, repeating) are one pre-filled buffer, reused for every write;
//!   the buffer length is a multiple of the period, so the phase never shifts.
//! * Random passes are generated on a helper thread into a small ring of buffers while the
//!   current one is written, so generation and writing overlap, as long as a core would
//!   otherwise idle: the process runs at most one helper fewer than it has cores
//!   ([`HelperSlot`]). Other passes generate each buffer just before writing it, on the writing
//!   thread. With every core busy (many fast drives), a helper only adds a thread switch and a
//!   buffer's trip out of the cache per write; with a core idle, it hides generation entirely.
//! * The tail of a target that is not a multiple of the buffer is written exactly.
//! * Failed writes are retried, then narrowed down to the failing ranges, which are recorded;
//!   the pass goes on (or aborts, by policy). A target that disappears ends the pass.
//! * Every few seconds the target is synced and the caller gets a checkpoint offset: everything
//!   before it is durable on the drive.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::events::{Event, Sink, StopFlag};
use super::pattern::Pattern;
use crate::device::{AlignedBuf, Target, TargetKind};

/// Default buffer size: large enough that per-call overhead vanishes, small enough for many
/// drives in parallel.
pub const DEFAULT_CHUNK: usize = 4 << 20;

/// What to do when a range cannot be written even after retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorPolicy {
    /// Record the range and go on; the drive ends FAIL with the ranges listed.
    Continue,
    /// Stop this drive at the first persistent error.
    Abort,
}

impl std::str::FromStr for ErrorPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "continue" => Ok(ErrorPolicy::Continue),
            "abort" => Ok(ErrorPolicy::Abort),
            _ => Err(format!("`{s}`: expected `continue` or `abort`")),
        }
    }
}

/// Tuning of a pass.
#[derive(Debug, Clone, Copy)]
pub struct PassOptions {
    /// Buffer size in bytes (rounded to the sector size and the pattern period).
    pub chunk: usize,
    /// Attempts after the first for a failing write.
    pub retries: u32,
    pub on_error: ErrorPolicy,
    /// How often the target is synced and a checkpoint offered.
    pub checkpoint_every: Duration,
}

impl Default for PassOptions {
    fn default() -> Self {
        PassOptions {
            chunk: DEFAULT_CHUNK,
            retries: 3,
            on_error: ErrorPolicy::Continue,
            checkpoint_every: Duration::from_secs(3),
        }
    }
}

/// A byte range that failed for good.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorRange {
    pub offset: u64,
    pub len: u64,
    pub error: String,
}

/// How a pass ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassEnd {
    /// Every byte was written (possibly with recorded error ranges) and synced.
    Completed,
    /// Stopped on request; everything before `offset` is durable.
    Interrupted { offset: u64 },
    /// Stopped at a persistent error under [`ErrorPolicy::Abort`].
    Aborted { offset: u64, reason: String },
    /// The drive went away.
    Gone { offset: u64, reason: String },
}

/// What one pass did.
#[derive(Debug, Clone)]
pub struct PassReport {
    pub end: PassEnd,
    pub bytes_written: u64,
    pub errors: Vec<ErrorRange>,
}

/// The buffer size for a pattern on a target: a multiple of the sector size and of the
/// pattern's period, near `wanted`.
pub fn chunk_size(target: &Target, pattern: &Pattern, wanted: usize) -> usize {
    let align = target.alignment() as usize;
    let period = pattern.period().max(1);
    let unit = lcm(align, period);
    (wanted / unit).max(1) * unit
}

fn lcm(a: usize, b: usize) -> usize {
    fn gcd(a: usize, b: usize) -> usize {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    a / gcd(a, b) * b
}

/// Writes `pattern` over `[from, size)` of the target.
///
/// `checkpoint` is called with durable offsets every `opts.checkpoint_every`.
pub fn write_pass(
    target: &Target,
    pattern: &Pattern,
    from: u64,
    opts: &PassOptions,
    sink: &dyn Sink,
    stop: &StopFlag,
    checkpoint: &mut dyn FnMut(u64),
) -> PassReport {
    let helper = if pattern.is_periodic() {
        None
    } else {
        HelperSlot::take(&HELPERS, helper_slots())
    };
    let generation = match helper {
        Some(_) => Generation::Helper,
        None => Generation::InPlace,
    };
    let report = pass_with(
        target, pattern, from, opts, sink, stop, checkpoint, generation,
    );
    drop(helper);
    report
}

/// Where a random pass's buffers are generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Generation {
    /// On a helper thread, while the previous buffer is written.
    Helper,
    /// On the writing thread, just before each write.
    InPlace,
}

// The arguments of `write_pass`, and how to generate.
#[allow(clippy::too_many_arguments)]
fn pass_with(
    target: &Target,
    pattern: &Pattern,
    from: u64,
    opts: &PassOptions,
    sink: &dyn Sink,
    stop: &StopFlag,
    checkpoint: &mut dyn FnMut(u64),
    generation: Generation,
) -> PassReport {
    let chunk = chunk_size(target, pattern, opts.chunk);
    let mut writer = Writer {
        target,
        opts,
        sink,
        errors: Vec::new(),
        written: 0,
        last_sync: Instant::now(),
    };
    let end = if pattern.is_periodic() {
        let mut buf = AlignedBuf::zeroed(chunk);
        pattern.fill(from, &mut buf);
        writer.run(from, chunk, stop, checkpoint, |_, len, _| {
            Some(BufRef::Borrowed(&buf[..len]))
        })
    } else if generation == Generation::Helper {
        generated_pass(&mut writer, pattern, from, chunk, stop, checkpoint)
    } else {
        // Generated in place: the one buffer comes back from each write before the next
        // generation overwrites it.
        let mut spare = Some(AlignedBuf::zeroed(chunk));
        writer.run(from, chunk, stop, checkpoint, |offset, len, used| {
            let mut buf = used.or_else(|| spare.take())?;
            pattern.fill(offset, &mut buf[..len]);
            Some(BufRef::Owned(buf, len))
        })
    };
    PassReport {
        end,
        bytes_written: writer.written,
        errors: writer.errors,
    }
}

enum BufRef<'a> {
    /// A pre-filled buffer the pass reuses (periodic patterns).
    Borrowed(&'a [u8]),
    /// A generated buffer and the length to write; handed back for reuse after the write.
    Owned(AlignedBuf, usize),
}

/// How many helper threads may generate random passes at once in this process: one fewer than
/// the cores it may run on, so that writers and the kernel keep a core.
fn helper_slots() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .saturating_sub(1)
}

/// Helper threads generating random passes now, process-wide.
static HELPERS: AtomicUsize = AtomicUsize::new(0);

/// The right to run a generator helper thread for one pass, counted in `count`; given back
/// on drop.
struct HelperSlot {
    count: &'static AtomicUsize,
}

impl HelperSlot {
    /// A slot if fewer than `max` are taken.
    fn take(count: &'static AtomicUsize, max: usize) -> Option<HelperSlot> {
        count
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| HelperSlot { count })
    }
}

impl Drop for HelperSlot {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Runs a random pass: a helper thread fills buffers while this thread writes.
fn generated_pass(
    writer: &mut Writer<'_>,
    pattern: &Pattern,
    from: u64,
    chunk: usize,
    stop: &StopFlag,
    checkpoint: &mut dyn FnMut(u64),
) -> PassEnd {
    let size = writer.target.geometry().size_bytes;
    const RING: usize = 3;
    let (full_tx, full_rx) = mpsc::sync_channel::<(u64, AlignedBuf, usize)>(RING);
    let (free_tx, free_rx) = mpsc::channel::<AlignedBuf>();
    for _ in 0..RING {
        // The receiver lives until the end of this function.
        let _ = free_tx.send(AlignedBuf::zeroed(chunk));
    }
    std::thread::scope(|scope| {
        let gen_stop = stop.clone();
        scope.spawn(move || {
            let mut offset = from;
            while offset < size && !gen_stop.is_stopped() {
                let Ok(mut buf) = free_rx.recv() else { return };
                let len = (size - offset).min(chunk as u64) as usize;
                pattern.fill(offset, &mut buf[..len]);
                if full_tx.send((offset, buf, len)).is_err() {
                    return;
                }
                offset += len as u64;
            }
        });
        let end = writer.run(from, chunk, stop, checkpoint, |offset, _len, used| {
            if let Some(b) = used {
                // The generator may have finished; then the buffer is simply dropped.
                let _ = free_tx.send(b);
            }
            let (got, buf, len) = full_rx.recv().ok()?;
            debug_assert_eq!(got, offset);
            Some(BufRef::Owned(buf, len))
        });
        // Unblock the generator if it waits for a free buffer or a slot.
        drop(free_tx);
        drop(full_rx);
        end
    })
}

struct Writer<'a> {
    target: &'a Target,
    opts: &'a PassOptions,
    sink: &'a dyn Sink,
    errors: Vec<ErrorRange>,
    written: u64,
    last_sync: Instant,
}

impl Writer<'_> {
    /// The write loop. `next` yields the buffer for `(offset, len)`, getting back the previous
    /// owned buffer for reuse; `None` ends the pass early (the generator stopped).
    fn run<'b>(
        &mut self,
        from: u64,
        chunk: usize,
        stop: &StopFlag,
        checkpoint: &mut dyn FnMut(u64),
        mut next: impl FnMut(u64, usize, Option<AlignedBuf>) -> Option<BufRef<'b>>,
    ) -> PassEnd {
        let size = self.target.geometry().size_bytes;
        let mut offset = from;
        let mut recycle: Option<AlignedBuf> = None;
        while offset < size {
            if stop.is_stopped() {
                return self.interrupted(offset, checkpoint);
            }
            let len = (size - offset).min(chunk as u64) as usize;
            let Some(buf) = next(offset, len, recycle.take()) else {
                return self.interrupted(offset, checkpoint);
            };
            let data: &[u8] = match &buf {
                BufRef::Borrowed(b) => b,
                BufRef::Owned(b, n) => &b[..*n],
            };
            if let Err(end) = self.write_chunk(data, offset) {
                return end;
            }
            if let BufRef::Owned(b, _) = buf {
                recycle = Some(b);
            }
            offset += len as u64;
            self.written += len as u64;
            self.sink.event(Event::Progress { done: offset });
            if self.last_sync.elapsed() >= self.opts.checkpoint_every {
                if let Err(e) = self.target.sync() {
                    if let Some(end) = self.gone(offset, &e) {
                        return end;
                    }
                } else {
                    checkpoint(offset);
                }
                self.last_sync = Instant::now();
            }
        }
        match self.target.sync() {
            Ok(()) => {
                checkpoint(size);
                PassEnd::Completed
            }
            Err(e) => self.gone(size, &e).unwrap_or_else(|| {
                self.errors.push(ErrorRange {
                    offset: 0,
                    len: size,
                    error: format!("final flush (fdatasync) failed: {e}"),
                });
                PassEnd::Completed
            }),
        }
    }

    fn interrupted(&mut self, offset: u64, checkpoint: &mut dyn FnMut(u64)) -> PassEnd {
        if self.target.sync().is_ok() {
            checkpoint(offset);
        }
        PassEnd::Interrupted { offset }
    }

    /// Writes one buffer with retries; on persistent failure narrows down and records the
    /// failing ranges. `Err` ends the pass.
    fn write_chunk(&mut self, data: &[u8], offset: u64) -> Result<(), PassEnd> {
        let mut last = match self.target.write_at(data, offset) {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        for attempt in 1..=self.opts.retries {
            if let Some(end) = self.gone(offset, &last) {
                return Err(end);
            }
            self.sink.event(Event::Notice {
                message: format!(
                    "write of {} bytes at offset {offset} failed ({last}); retry {attempt}/{}",
                    data.len(),
                    self.opts.retries
                ),
            });
            std::thread::sleep(Duration::from_millis(20 * attempt as u64));
            match self.target.write_at(data, offset) {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
        }
        if let Some(end) = self.gone(offset, &last) {
            return Err(end);
        }
        if self.opts.on_error == ErrorPolicy::Abort {
            let reason = format!(
                "write of {} bytes at offset {offset} failed after {} retries: {last}",
                data.len(),
                self.opts.retries
            );
            self.record(offset, data.len() as u64, last.to_string());
            return Err(PassEnd::Aborted { offset, reason });
        }
        self.narrow_down(data, offset)
    }

    /// Writes a failed buffer in ever smaller pieces to find exactly which ranges fail.
    fn narrow_down(&mut self, data: &[u8], offset: u64) -> Result<(), PassEnd> {
        let sector = self.target.alignment() as usize;
        let block = (64 << 10).max(sector);
        let mut failed: Vec<ErrorRange> = Vec::new();
        for (i, piece) in data.chunks(block).enumerate() {
            let at = offset + (i * block) as u64;
            if self.target.write_at(piece, at).is_ok() {
                continue;
            }
            for (j, s) in piece.chunks(sector).enumerate() {
                let sat = at + (j * sector) as u64;
                if let Err(e) = self.target.write_at(s, sat) {
                    if let Some(end) = self.gone(sat, &e) {
                        return Err(end);
                    }
                    merge_into(&mut failed, sat, s.len() as u64, e.to_string());
                }
            }
        }
        for f in failed {
            self.record(f.offset, f.len, f.error);
        }
        Ok(())
    }

    /// Records a failed range (merged with the previous one when they touch) and reports it.
    fn record(&mut self, offset: u64, len: u64, error: String) {
        self.sink.event(Event::IoError {
            offset,
            len,
            message: error.clone(),
        });
        merge_into(&mut self.errors, offset, len, error);
    }

    /// If the error means the drive is gone, the pass end that says so.
    fn gone(&self, offset: u64, e: &io::Error) -> Option<PassEnd> {
        is_gone(self.target, e).then(|| PassEnd::Gone {
            offset,
            reason: format!(
                "{} disappeared at offset {offset} ({e}); check its cable and power, then wipe it again",
                self.target.path().display()
            ),
        })
    }
}

/// Appends a failed range, extending the last one when they touch and failed the same way.
fn merge_into(ranges: &mut Vec<ErrorRange>, offset: u64, len: u64, error: String) {
    if let Some(last) = ranges.last_mut()
        && last.offset + last.len == offset
        && last.error == error
    {
        last.len += len;
        return;
    }
    ranges.push(ErrorRange { offset, len, error });
}

/// Whether an I/O error means the drive has gone away (unplugged, dead, removed).
pub fn is_gone(target: &Target, e: &io::Error) -> bool {
    if matches!(e.raw_os_error(), Some(libc::ENODEV) | Some(libc::ENXIO)) {
        return true;
    }
    match target.kind() {
        TargetKind::BlockDevice { disk, .. } => {
            !std::path::Path::new("/sys/block").join(disk).exists() || !target.path().exists()
        }
        TargetKind::ImageFile => !target.path().exists(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::events::NullSink;
    use super::*;
    use crate::device::GuardContext;

    fn image(size: usize, fill: u8) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.img");
        std::fs::write(&path, vec![fill; size]).unwrap();
        (dir, path)
    }

    #[test]
    fn periodic_pass_writes_every_byte_including_an_odd_tail() {
        let size = 3 * 4096 + 1000;
        let (_d, path) = image(size, 0x5A);
        let t = Target::open_for_erase(&path, &GuardContext::new(vec![], None)).unwrap();
        let p = Pattern::Repeating(vec![1, 2, 3]);
        let opts = PassOptions {
            chunk: 8192,
            ..Default::default()
        };
        let mut checkpoints = vec![];
        let r = write_pass(&t, &p, 0, &opts, &NullSink, &StopFlag::new(), &mut |o| {
            checkpoints.push(o)
        });
        assert_eq!(r.end, PassEnd::Completed);
        assert_eq!(r.bytes_written, size as u64);
        assert_eq!(checkpoints.last(), Some(&(size as u64)));
        let data = std::fs::read(&path).unwrap();
        assert!(data.iter().enumerate().all(|(i, &b)| b == [1, 2, 3][i % 3]));
    }

    #[test]
    fn random_pass_matches_the_keystream_generated_either_way() {
        let size = 5 * 4096 + 512;
        for generation in [Generation::Helper, Generation::InPlace] {
            let (_d, path) = image(size, 0);
            let t = Target::open_for_erase(&path, &GuardContext::new(vec![], None)).unwrap();
            let ks = super::super::pattern::Keystream::from_key([3; 16], [4; 16]);
            let p = Pattern::Random(ks);
            let opts = PassOptions {
                chunk: 4096,
                ..Default::default()
            };
            let mut checkpoints = vec![];
            let r = pass_with(
                &t,
                &p,
                4096,
                &opts,
                &NullSink,
                &StopFlag::new(),
                &mut |o| checkpoints.push(o),
                generation,
            );
            assert_eq!(r.end, PassEnd::Completed, "{generation:?}");
            assert_eq!(r.bytes_written, (size - 4096) as u64, "{generation:?}");
            assert_eq!(checkpoints.last(), Some(&(size as u64)), "{generation:?}");
            let data = std::fs::read(&path).unwrap();
            let mut expect = vec![0u8; size - 4096];
            p.fill(4096, &mut expect);
            assert!(data[4096..] == expect[..], "{generation:?}: bytes differ");
            assert!(
                data[..4096].iter().all(|&b| b == 0),
                "{generation:?}: bytes before `from` untouched"
            );
        }
    }

    #[test]
    fn helper_threads_are_limited_and_given_back() {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let a = HelperSlot::take(&COUNT, 2).unwrap();
        let b = HelperSlot::take(&COUNT, 2).unwrap();
        assert!(
            HelperSlot::take(&COUNT, 2).is_none(),
            "a third helper over two slots"
        );
        drop(a);
        let c = HelperSlot::take(&COUNT, 2);
        assert!(c.is_some(), "a slot given back is free again");
        drop((b, c));
        assert_eq!(COUNT.load(Ordering::Acquire), 0);
        assert!(HelperSlot::take(&COUNT, 0).is_none(), "one core: no helper");
    }

    #[test]
    fn stop_flag_interrupts_with_a_durable_offset() {
        let (_d, path) = image(64 * 4096, 0x11);
        let t = Target::open_for_erase(&path, &GuardContext::new(vec![], None)).unwrap();
        let stop = StopFlag::new();
        stop.stop();
        let r = write_pass(
            &t,
            &Pattern::Constant(0),
            0,
            &PassOptions::default(),
            &NullSink,
            &stop,
            &mut |_| {},
        );
        assert_eq!(r.end, PassEnd::Interrupted { offset: 0 });
    }

    #[test]
    fn chunk_is_a_multiple_of_sector_and_period() {
        let (_d, path) = image(4096, 0);
        let t = Target::open_read(&path).unwrap();
        let c = chunk_size(&t, &Pattern::Repeating(vec![1, 2, 3]), DEFAULT_CHUNK);
        assert_eq!(c % 3, 0);
        assert_eq!(c % 512, 0);
        assert!(c <= DEFAULT_CHUNK && c > DEFAULT_CHUNK - 2048);
    }
}
