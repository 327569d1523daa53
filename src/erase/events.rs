//! How work reports to whoever started it, and how it is told to stop.
//!
//! The engine pushes [`Event`]s to a [`Sink`] the caller implements (a progress bar, plain log
//! lines, a terminal UI, a JSON stream), the way ripgrep's searcher pushes matches; the engine
//! knows none of them. A [`StopFlag`] set by a signal handler makes every loop return within one
//! buffer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// What a phase of work is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Phase {
    /// Overwrite pass `pass` (1-based) of `passes`.
    Write {
        pass: usize,
        passes: usize,
        pattern: String,
    },
    /// Reading back after pass `pass` (1-based).
    Verify { pass: usize, mode: String },
    /// Hashing sample regions before a firmware command.
    Fingerprint,
    /// A firmware sanitize command running in the drive.
    Firmware { command: String },
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Phase::Write {
                pass,
                passes,
                pattern,
            } => write!(f, "pass {pass}/{passes} ({pattern})"),
            Phase::Verify { pass, mode } => write!(f, "verify pass {pass} ({mode})"),
            Phase::Fingerprint => write!(f, "fingerprint"),
            Phase::Firmware { command } => write!(f, "{command}"),
        }
    }
}

impl Phase {
    /// Whether `done` and `total` of this phase count bytes; a firmware command's count
    /// [`FIRMWARE_PROGRESS_TOTAL`]ths of the work instead.
    pub fn counts_bytes(&self) -> bool {
        !matches!(self, Phase::Firmware { .. })
    }
}

/// The `total` of a firmware command's phase: drives report progress in 65536ths (ATA SANITIZE
/// STATUS, the NVMe Sanitize Status log, SCSI sense-key specific progress), and it is passed on
/// as they report it, not rescaled.
pub const FIRMWARE_PROGRESS_TOTAL: u64 = 65536;

/// One thing that happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A phase began; `total` units of work (bytes, or [`FIRMWARE_PROGRESS_TOTAL`] for a
    /// firmware command, see [`Phase::counts_bytes`]), of which `done` are already done (a
    /// resumed pass).
    PhaseStarted { phase: Phase, done: u64, total: u64 },
    /// Work done so far in the current phase.
    Progress { done: u64 },
    /// The current phase ended.
    PhaseFinished { ok: bool },
    /// A read or write failed for good at this byte range.
    IoError {
        offset: u64,
        len: u64,
        message: String,
    },
    /// Something the operator should know (a retry, a restarted pass, an estimate).
    Notice { message: String },
}

/// Receives events. Implementations must be cheap: `Progress` comes once per buffer.
pub trait Sink: Send + Sync {
    fn event(&self, event: Event);
}

/// A sink that drops everything.
pub struct NullSink;

impl Sink for NullSink {
    fn event(&self, _: Event) {}
}

/// Cooperative cancellation shared by the signal handler and every worker.
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn new() -> StopFlag {
        StopFlag::default()
    }

    /// The flag itself, for `signal_hook::flag::register`.
    pub fn shared(&self) -> Arc<AtomicBool> {
        self.0.clone()
    }

    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
