//! The station layer: the workflow of wiping drives, shared by every front-end (`wipe`, the
//! terminal UI, the headless station).
//!
//! * [`request`]: what the operator asks for, validated into a [`request::WipeRequest`].
//! * [`context`]: the [`context::StationContext`] built once from the state directory.
//! * [`prepare`]: guard and plan drives, with no side effects.
//! * [`session`]: start drives at any time, stop one or all; [`recorder`] turns each finished
//!   wipe into a certificate, a register entry and an outbox row.
//! * [`events`]: one event stream per station; [`jsonl`], [`progress`] and [`tui`] are sinks.
//! * [`monitor`]: drives appearing and going while the station runs; [`live`] runs a station.
//! * [`job`], [`firmware`]: one drive's wipe; [`checkpoint`]: what lets it resume.
//! * [`store`]: the checkpoint directory, sealed with the station's key; [`resume`]: which
//!   checkpoint belongs to a drive, proved by its content; [`unclean`]: the record of a wipe
//!   whose process was killed, made before its checkpoint is set aside.
//! * [`signals`]: SIGINT, SIGTERM and SIGHUP stop a session cleanly.
//! * [`computer`]: the computer as the asset (`station.host_is_asset`): its drives, and the
//!   computer certificate once they have all ended.

pub mod checkpoint;
pub mod computer;
pub mod context;
pub mod events;
pub mod firmware;
pub mod job;
pub mod jsonl;
pub mod live;
pub mod monitor;
pub mod prepare;
pub mod progress;
pub mod recorder;
pub mod request;
pub mod resume;
pub mod session;
pub mod signals;
pub mod store;
pub mod tui;
pub mod unclean;

use crate::device::DriveInfo;
use crate::erase::{Sink, StopFlag};
use firmware::FirmwareJob;
use job::{Finished, Job};

/// Why a wipe could not be prepared or recorded. Each names the drive or file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StationError {
    /// The request contradicts itself or the drive's state.
    #[error("{0}")]
    Request(String),
    /// Drives the guard or their capabilities refused; nothing was erased.
    #[error("nothing was erased")]
    Refused(Vec<String>),
    #[error(transparent)]
    Register(#[from] crate::register::RegisterError),
    #[error(transparent)]
    Checkpoint(#[from] checkpoint::CheckpointError),
    #[error(transparent)]
    Key(#[from] crate::certificate::keys::KeyError),
    /// The system could not do what was needed (no randomness, no worker thread).
    #[error("{0}")]
    Environment(String),
}

/// One drive's work: an overwrite or a firmware erase.
pub enum Work {
    Overwrite(Job),
    Firmware(FirmwareJob),
}

impl Work {
    pub fn drive(&self) -> &DriveInfo {
        match self {
            Work::Overwrite(j) => j.drive(),
            Work::Firmware(j) => j.drive(),
        }
    }

    /// The bytes an overwrite writes and reads in all; `None` for a firmware erase, whose
    /// drive reports its own progress.
    pub fn work_bytes(&self) -> Option<u64> {
        match self {
            Work::Overwrite(j) => Some(j.work_bytes()),
            Work::Firmware(_) => None,
        }
    }

    pub fn run(self, sink: &dyn Sink, stop: &StopFlag) -> Finished {
        match self {
            Work::Overwrite(j) => j.run(sink, stop),
            Work::Firmware(j) => j.run(sink, stop),
        }
    }
}
