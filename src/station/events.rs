//! The station's event stream: everything that happens to every drive, from the moment it
//! appears to its certificate, as one stream that every front-end consumes through a small
//! [`StationSink`] (JSON lines, the terminal UI, progress bars, a log).
//!
//! The engine's own [`crate::erase::Event`]s travel inside [`What::Engine`]; [`DriveSink`]
//! adapts the engine's per-drive sink to this stream.

use std::sync::{Arc, Mutex};

use crate::device::DriveInfo;
use crate::erase::{Event, Sink};
use crate::register::MatchedBy;
use crate::register::lookup::LastCertificate;
use crate::verify::WipeResult;

/// One thing that happened to one drive.
#[derive(Debug, Clone)]
pub struct StationEvent {
    /// The drive's path, e.g. `/dev/sdb`.
    pub drive: String,
    pub what: What,
}

/// What happened.
#[derive(Debug, Clone)]
pub enum What {
    /// A drive was found (at start or plugged in later), identified and guarded.
    Appeared {
        info: Box<DriveInfo>,
        /// True when the drive was there when the station started.
        existing: bool,
        /// Where it is plugged in (ATA port, USB port path, PCI slot, a loop device's file).
        location: Option<String>,
    },
    /// What the register already knows about a drive that appeared (or was tagged): the asset
    /// it belongs to and that asset's state, and the latest certificate issued for the drive.
    Known {
        asset_tag: Option<String>,
        asset_state: Option<String>,
        last: Option<LastCertificate>,
    },
    /// The drive is gone.
    Removed,
    /// An automatic wipe will start after `seconds` unless cancelled.
    Scheduled { method: String, seconds: u64 },
    /// A scheduled automatic wipe was cancelled.
    Cancelled,
    /// A wipe started.
    Started {
        method: String,
        wipe_id: Option<String>,
        /// Bytes the whole wipe writes and reads (every pass and its verification), for its
        /// progress; `None` for a firmware erase.
        work_bytes: Option<u64>,
    },
    /// Progress and notices from the engine.
    Engine(Event),
    /// The wipe ended with this result.
    Finished {
        result: WipeResult,
        failure_reasons: Vec<String>,
    },
    /// The certificate is written (PDF and JSON).
    Certified {
        certificate_id: String,
        pdf: String,
        json: String,
    },
    /// The register stored the certificate and linked it.
    Registered {
        asset_tag: Option<String>,
        asset_state: Option<String>,
        matched_by: MatchedBy,
    },
    /// An asset tag was linked to the drive by the operator.
    Tagged {
        asset_tag: String,
        /// The asset's state in the register (a retired asset's drive needs a rewipe).
        asset_state: Option<String>,
    },
    /// The computer certificate is written (the event's drive is `computer`): every drive of
    /// the computer that is the asset has ended.
    ComputerCertified {
        certificate_id: String,
        /// `PASS`, `FAIL` or `NO_STORAGE_FOUND`.
        result: String,
        pdf: String,
        json: String,
        asset_tag: Option<String>,
        asset_state: Option<String>,
    },
    /// Something went wrong that is not a wipe result: a refusal, a certificate that could
    /// not be written, a register error.
    Failed { reason: String },
}

/// Receives the station's events. Implementations must be cheap and must not block for long:
/// engine progress arrives once per buffer from every drive's worker.
pub trait StationSink: Send + Sync {
    fn event(&self, event: &StationEvent);
}

/// Sends each event to several sinks.
#[derive(Default, Clone)]
pub struct Fanout(Vec<Arc<dyn StationSink>>);

impl Fanout {
    pub fn new(sinks: Vec<Arc<dyn StationSink>>) -> Fanout {
        Fanout(sinks)
    }
}

impl StationSink for Fanout {
    fn event(&self, event: &StationEvent) {
        for s in &self.0 {
            s.event(event);
        }
    }
}

/// Collects events in memory (the terminal UI drains them between frames).
#[derive(Default)]
pub struct Queue(Mutex<Vec<StationEvent>>);

impl Queue {
    /// Takes every event collected so far.
    pub fn drain(&self) -> Vec<StationEvent> {
        let mut q = self.0.lock().unwrap_or_else(|p| p.into_inner());
        std::mem::take(&mut *q)
    }
}

impl StationSink for Queue {
    fn event(&self, event: &StationEvent) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(event.clone());
    }
}

/// The engine's sink for one drive: forwards its events into the station stream.
pub struct DriveSink {
    drive: String,
    out: Arc<dyn StationSink>,
}

impl DriveSink {
    pub fn new(drive: &str, out: Arc<dyn StationSink>) -> DriveSink {
        DriveSink {
            drive: drive.to_string(),
            out,
        }
    }
}

impl Sink for DriveSink {
    fn event(&self, event: Event) {
        self.out.event(&StationEvent {
            drive: self.drive.clone(),
            what: What::Engine(event),
        });
    }
}

/// Emits one event.
pub(crate) fn emit(sink: &dyn StationSink, drive: &str, what: What) {
    sink.event(&StationEvent {
        drive: drive.to_string(),
        what,
    });
}
