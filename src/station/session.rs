//! A wipe session: drives start at any time, each on its own worker with its own stop flag;
//! one drive or all can be stopped; every finished wipe is recorded (certificate, register)
//! on its worker before it is reported, and everything that happens goes to one event stream.

use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::erase::StopFlag;

use super::events::{DriveSink, StationSink, What, emit};
use super::prepare::Prepared;
use super::recorder::{Delivered, Recorder};

/// Where a drive's record goes: the asset it belongs to and the media's destination.
#[derive(Debug, Clone)]
pub struct Disposition {
    pub asset: Option<String>,
    pub destination: crate::certificate::record::Destination,
    /// The person who started this wipe, when the station's screen signed one in; `None`:
    /// `station.operator` (or `--operator`).
    pub operator: Option<String>,
    /// The computer the drive is inside, when that computer is the asset.
    pub host: Option<crate::certificate::computer::Host>,
    /// The operator confirmed wiping a drive of an asset already retired or destroyed
    /// (`wipe --rewipe`, `R` on the screen): its certificate says it is a rewipe.
    pub rewipe: bool,
}

struct Worker {
    label: String,
    stop: StopFlag,
    /// Set when the drive was unplugged during its wipe: the wipe then ends FAIL.
    gone: Arc<Mutex<Option<String>>>,
    handle: Option<JoinHandle<Delivered>>,
}

/// A running session.
pub struct Session {
    recorder: Arc<Recorder>,
    sink: Arc<dyn StationSink>,
    all: StopFlag,
    workers: Mutex<Vec<Worker>>,
}

/// A drive's wipe as it ended: recorded, or the worker crashed (named, never dropped).
pub type Ended = (String, Result<Delivered, String>);

impl Session {
    pub fn new(recorder: Recorder, sink: Arc<dyn StationSink>) -> Session {
        Session {
            recorder: Arc::new(recorder),
            sink,
            all: StopFlag::new(),
            workers: Mutex::new(Vec::new()),
        }
    }

    /// The recorder (and through it the station's context).
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// The session's own stop flag: setting it (a signal handler does) stops every drive.
    pub fn stop_flag(&self) -> &StopFlag {
        &self.all
    }

    /// Makes SIGINT, SIGTERM and SIGHUP stop every drive (each ends INCOMPLETE with its
    /// certificate) instead of killing the process.
    pub fn stop_on_signals(&self) -> std::io::Result<()> {
        super::signals::stop_on_signals(&self.all)
    }

    fn workers(&self) -> MutexGuard<'_, Vec<Worker>> {
        self.workers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records the attempt an unclean stop left in `old` (see [`super::unclean`]) and says so.
    /// False if it could not be certified: its checkpoint then stays, to be recorded next time.
    fn record_unclean(
        &self,
        label: &str,
        old: &super::checkpoint::Checkpoint,
        drive: &crate::device::DriveInfo,
        disposition: &Disposition,
    ) -> bool {
        let dir = self.recorder.context().checkpoints.dir().to_path_buf();
        let attempt = super::unclean::attempt(old, drive.clone(), &dir);
        // The checkpoint does not say who started the killed attempt: the station's operator
        // is named, not the person starting this wipe.
        let killed = Disposition {
            operator: None,
            rewipe: false,
            ..disposition.clone()
        };
        let delivered = self.recorder.record(attempt, &killed);
        let notice = |message| {
            emit(
                self.sink.as_ref(),
                label,
                What::Engine(crate::erase::Event::Notice { message }),
            )
        };
        let issued = match delivered.issued {
            Ok(i) => i,
            Err(e) => {
                notice(format!(
                    "wipe {} (started {}) was found stopped uncleanly (its process was killed, \
                     crashed or lost power) and cannot be recorded ({e}); its checkpoint stays \
                     and is recorded when the drive is next wiped",
                    old.id, old.started_at
                ));
                return false;
            }
        };
        let registered = match &delivered.register_error {
            Some(e) => format!("; the register could not store it ({e})"),
            None => String::new(),
        };
        notice(format!(
            "wipe {} (started {}) was found stopped uncleanly (its process was killed, \
             crashed or lost power): recorded as {} in {}{registered}",
            old.id,
            old.started_at,
            issued.record.sanitization.result.as_str(),
            issued.pdf.display()
        ));
        true
    }

    /// Starts wiping a prepared drive now.
    pub fn start(&self, prepared: Prepared, disposition: Disposition) {
        let Prepared {
            label,
            work,
            method,
            replaces,
        } = prepared;
        let ctx = self.recorder.context();
        // A fresh wipe replaces an interrupted one only once it really starts, and one whose
        // process was killed only once that attempt is on record.
        if let Some(old) = replaces {
            let recorded = !super::unclean::stopped_uncleanly(&old)
                || self.record_unclean(&label, &old, work.drive(), &disposition);
            if recorded {
                ctx.checkpoints.remove(&old.id);
            }
        }
        let work_bytes = work.work_bytes();
        let wipe_id = match &work {
            super::Work::Overwrite(j) => Some(j.id().to_string()),
            super::Work::Firmware(_) => None,
        };
        emit(
            self.sink.as_ref(),
            &label,
            What::Started {
                method: method.clone(),
                wipe_id,
                work_bytes,
            },
        );
        let stop = self.all.child();
        let gone: Arc<Mutex<Option<String>>> = Arc::default();
        let handle = {
            let (stop, gone) = (stop.clone(), gone.clone());
            let (sink, recorder, label) = (self.sink.clone(), self.recorder.clone(), label.clone());
            std::thread::Builder::new()
                .name(format!("wipe {label}"))
                .spawn(move || {
                    let drive_sink = DriveSink::new(&label, sink.clone());
                    let mut finished = work.run(&drive_sink, &stop);
                    let unplugged = gone.lock().unwrap_or_else(|p| p.into_inner()).take();
                    if let Some(reason) = unplugged {
                        finished.outcome = finished.outcome.with_problem(reason);
                    }
                    emit(
                        sink.as_ref(),
                        &label,
                        What::Finished {
                            result: finished.outcome.result(),
                            failure_reasons: finished.outcome.failure_reasons().to_vec(),
                        },
                    );
                    let delivered = recorder.record(finished, &disposition);
                    report(sink.as_ref(), &label, &delivered);
                    delivered
                })
        };
        let handle = match handle {
            Ok(h) => Some(h),
            Err(e) => {
                emit(
                    self.sink.as_ref(),
                    &label,
                    What::Failed {
                        reason: format!(
                            "cannot start a worker for {label} ({e}); nothing was erased"
                        ),
                    },
                );
                None
            }
        };
        self.workers().push(Worker {
            label,
            stop,
            gone,
            handle,
        });
    }

    /// Whether `label`'s wipe is running.
    pub fn is_running(&self, label: &str) -> bool {
        self.workers()
            .iter()
            .any(|w| w.label == label && w.handle.as_ref().is_some_and(|h| !h.is_finished()))
    }

    /// Labels of the drives being wiped now.
    pub fn running(&self) -> Vec<String> {
        self.workers()
            .iter()
            .filter(|w| w.handle.as_ref().is_some_and(|h| !h.is_finished()))
            .map(|w| w.label.clone())
            .collect()
    }

    /// Stops one drive's wipe (it ends INCOMPLETE, with its certificate). False if it is not
    /// running.
    pub fn stop(&self, label: &str) -> bool {
        let workers = self.workers();
        let mut found = false;
        for w in workers.iter().filter(|w| w.label == label) {
            w.stop.stop();
            found = true;
        }
        found
    }

    /// Stops every drive.
    pub fn stop_all(&self) {
        self.all.stop();
    }

    /// The drive was unplugged during its wipe: it is stopped and ends FAIL with `reason`.
    pub fn unplugged(&self, label: &str, reason: String) {
        for w in self.workers().iter().filter(|w| w.label == label) {
            *w.gone.lock().unwrap_or_else(|p| p.into_inner()) = Some(reason.clone());
            w.stop.stop();
        }
    }

    /// Collects the wipes that have ended since the last call.
    pub fn reap(&self) -> Vec<Ended> {
        let done: Vec<Worker> = {
            let mut workers = self.workers();
            let (done, still): (Vec<Worker>, Vec<Worker>) = std::mem::take(&mut *workers)
                .into_iter()
                .partition(|w| w.handle.as_ref().is_none_or(|h| h.is_finished()));
            *workers = still;
            done
        };
        done.into_iter().filter_map(join).collect()
    }

    /// Waits for every wipe to end; results in the order the drives were started.
    pub fn join_all(&self) -> Vec<Ended> {
        let all = std::mem::take(&mut *self.workers());
        all.into_iter().filter_map(join).collect()
    }
}

fn join(mut w: Worker) -> Option<Ended> {
    let handle = w.handle.take()?;
    let result = handle.join().map_err(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "unknown cause".into());
        format!(
            "the worker for {} crashed ({why}); its wipe is not certified, run it again",
            w.label
        )
    });
    Some((w.label, result))
}

/// Tells the stream what became of a finished wipe's record.
fn report(sink: &dyn StationSink, label: &str, d: &Delivered) {
    match &d.issued {
        Ok(i) => emit(
            sink,
            label,
            What::Certified {
                certificate_id: i.record.id.clone(),
                pdf: i.pdf.display().to_string(),
                json: i.json.display().to_string(),
            },
        ),
        Err(e) => emit(
            sink,
            label,
            What::Failed {
                reason: format!("NO CERTIFICATE was written: {e}"),
            },
        ),
    }
    if let Some(l) = &d.linked {
        emit(
            sink,
            label,
            What::Registered {
                asset_tag: l.asset_tag.clone(),
                asset_state: l.asset_state.map(|s| s.as_str().to_string()),
                matched_by: l.matched_by,
            },
        );
    }
    if let Some(e) = &d.register_error {
        emit(
            sink,
            label,
            What::Failed {
                reason: format!(
                    "the certificate is written but the register could not store it ({e}); \
                     it will be picked up from the certificate directory next time"
                ),
            },
        );
    }
}
