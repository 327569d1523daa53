//! The station layer: a wipe session over many drives, each on its own worker, reporting
//! progress through sinks.
//!
//! * [`job`]: one drive's wipe from plan to outcome.
//! * [`checkpoint`]: what lets an interrupted wipe resume.
//! * [`progress`]: progress bars or log lines per drive.
//! * [`signals`]: SIGINT, SIGTERM and SIGHUP stop a session cleanly.

pub mod checkpoint;
pub mod firmware;
pub mod job;
pub mod progress;
pub mod signals;

use std::sync::Arc;

use crate::device::DriveInfo;
use crate::erase::{Sink, StopFlag};
use firmware::FirmwareJob;
use job::{Finished, Job};

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

    pub fn run(self, sink: &dyn Sink, stop: &StopFlag) -> Finished {
        match self {
            Work::Overwrite(j) => j.run(sink, stop),
            Work::Firmware(j) => j.run(sink, stop),
        }
    }
}

/// Runs jobs in parallel, one worker thread per drive. Each worker hands its finished wipe to
/// `deliver` (which records it: certificate, register) before it ends, so one drive's result
/// is safe on disk while others still run. Results come back in job order; a worker that
/// crashed is reported as an error naming its drive, never dropped.
pub fn run_parallel<T: Send>(
    jobs: Vec<(String, Work, Arc<dyn Sink>)>,
    stop: &StopFlag,
    deliver: &(dyn Fn(Finished) -> T + Sync),
) -> Vec<Result<T, String>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .into_iter()
            .map(|(label, job, sink)| {
                let stop = stop.clone();
                (
                    label,
                    scope.spawn(move || deliver(job.run(sink.as_ref(), &stop))),
                )
            })
            .collect();
        handles
            .into_iter()
            .map(|(label, h)| {
                h.join().map_err(|panic| {
                    let why = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "unknown cause".into());
                    format!("the worker for {label} crashed ({why}); its wipe is not certified, run it again")
                })
            })
            .collect()
    })
}
