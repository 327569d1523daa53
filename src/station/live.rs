//! A running station: drives come and go, the operator (or the unattended rule) starts and
//! stops wipes, and every change goes to the event stream. The terminal UI and the headless
//! front-end both drive a [`Live`] and differ only in how they show it.
//!
//! The unattended rule: with an automatic method, a drive that appears after the station
//! started and is not protected is wiped after a delay the operator can cancel. Drives present
//! at start are only shown, unless the settings opt in.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::device::DriveInfo;
use crate::verify::WipeResult;

use super::StationError;
use super::context::StationContext;
use super::events::{StationSink, What, emit};
use super::monitor::{Change, Monitor};
use super::prepare::{Planned, check_asset, open, plan};
use super::request::{WipeOptions, WipeRequest};
use super::session::{Disposition, Ended, Session};

/// The unattended rule.
#[derive(Debug, Clone, Default)]
pub struct Auto {
    /// The method for drives that appear; `None`: the operator starts every wipe.
    pub method: Option<String>,
    pub delay: Duration,
    /// Also wipe drives present at start.
    pub existing: bool,
}

/// Which drives a station looks after.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Glob patterns matched against a drive's path, serial and model; empty: every drive.
    pub only: Vec<String>,
}

/// A station at work.
pub struct Live {
    session: Session,
    monitor: Monitor,
    sink: Arc<dyn StationSink>,
    auto: Auto,
    /// Automatic wipes waiting for their delay, by drive path.
    scheduled: BTreeMap<String, Instant>,
    /// Asset tags the operator linked, by drive path.
    tags: HashMap<String, String>,
    /// Drives that were there when the station started.
    existing: HashSet<String>,
    /// How many wipes ended, and how many of those passed.
    ended: usize,
    passed: usize,
}

impl Live {
    /// Starts the station: loads the key, lists the drives present, starts watching.
    pub fn start(
        ctx: StationContext,
        auto: Auto,
        scope: Scope,
        sink: Arc<dyn StationSink>,
    ) -> Result<Live, StationError> {
        if let Some(m) = &auto.method {
            // A bad automatic method is refused now, not when the first drive appears.
            WipeRequest::validate(&WipeOptions::with_method(m), &ctx.state.config)?;
        }
        let guard = ctx.guard.clone();
        let session = Session::new(ctx.recorder()?, sink.clone());
        let (monitor, present, warning) = Monitor::start(guard, scope.only);
        let mut live = Live {
            session,
            monitor,
            sink,
            auto,
            scheduled: BTreeMap::new(),
            tags: HashMap::new(),
            existing: HashSet::new(),
            ended: 0,
            passed: 0,
        };
        if let Some(w) = warning {
            crate::stderr_line!("wipeproof: {w}");
        }
        for d in present {
            live.existing.insert(d.path.clone());
            let schedule = live.auto.existing;
            live.appeared(d, true, schedule);
        }
        Ok(live)
    }

    /// The session (stop flags, signals).
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The drive at `path`, if present.
    pub fn drive(&self, path: &str) -> Option<&DriveInfo> {
        self.monitor.drive(path)
    }

    /// Whether anything runs or waits to run.
    pub fn busy(&self) -> bool {
        !self.scheduled.is_empty() || !self.session.running().is_empty()
    }

    /// Wipes that ended, and how many passed.
    pub fn tally(&self) -> (usize, usize) {
        (self.ended, self.passed)
    }

    fn appeared(&mut self, d: DriveInfo, existing: bool, schedule: bool) {
        let path = d.path.clone();
        let protected = d.protected;
        emit(
            self.sink.as_ref(),
            &path,
            What::Appeared {
                info: Box::new(d),
                existing,
            },
        );
        if let (Some(method), true, false) = (&self.auto.method, schedule, protected) {
            self.scheduled
                .insert(path.clone(), Instant::now() + self.auto.delay);
            emit(
                self.sink.as_ref(),
                &path,
                What::Scheduled {
                    method: method.clone(),
                    seconds: self.auto.delay.as_secs(),
                },
            );
        }
    }

    /// Waits up to `timeout` for something to happen and acts on it. Returns the wipes that
    /// ended meanwhile.
    pub fn tick(&mut self, timeout: Duration) -> Vec<Ended> {
        let stopping = self.session.stop_flag().is_stopped();
        for change in self.monitor.poll(timeout) {
            match change {
                Change::Appeared(d) => {
                    let schedule = !stopping;
                    self.appeared(d, false, schedule)
                }
                Change::Guarded(d) => {
                    if d.protected {
                        self.cancel(&d.path);
                    }
                    emit(
                        self.sink.as_ref(),
                        &d.path.clone(),
                        What::Appeared {
                            existing: self.existing.contains(&d.path),
                            info: Box::new(d),
                        },
                    );
                }
                Change::Removed(path) => {
                    self.scheduled.remove(&path);
                    if self.session.is_running(&path) {
                        self.session.unplugged(
                            &path,
                            format!(
                                "{path} disappeared during the wipe (unplugged); plug it in again and wipe it again"
                            ),
                        );
                    }
                    emit(self.sink.as_ref(), &path, What::Removed);
                }
            }
        }
        // A busy loop device that was detached stays until it is closed: it is gone for us.
        for path in self.session.running() {
            if self.monitor.detached(&path) {
                self.session.unplugged(
                    &path,
                    format!(
                        "{path} disappeared during the wipe (detached); attach it again and wipe it again"
                    ),
                );
            }
        }
        if stopping {
            self.scheduled.clear();
        }
        let due: Vec<String> = self
            .scheduled
            .iter()
            .filter(|(_, at)| **at <= Instant::now())
            .map(|(p, _)| p.clone())
            .collect();
        for path in due {
            self.scheduled.remove(&path);
            if let Some(method) = self.auto.method.clone() {
                let _ = self.start_wipe(&path, &method);
            }
        }
        let ended = self.session.reap();
        self.count(&ended);
        ended
    }

    fn count(&mut self, ended: &[Ended]) {
        for (_, r) in ended {
            self.ended += 1;
            if let Ok(d) = r
                && d.finished.outcome.result() == WipeResult::Pass
                && d.issued.is_ok()
            {
                self.passed += 1;
            }
        }
    }

    /// Starts wiping `path` with `method` now. The refusal, if any, also goes to the stream.
    pub fn start_wipe(&mut self, path: &str, method: &str) -> Result<(), String> {
        self.scheduled.remove(path);
        let result = self.try_start(path, method);
        if let Err(reason) = &result {
            emit(
                self.sink.as_ref(),
                path,
                What::Failed {
                    reason: reason.clone(),
                },
            );
        }
        result
    }

    fn try_start(&mut self, path: &str, method: &str) -> Result<(), String> {
        if self.session.stop_flag().is_stopped() {
            return Err(format!("{path} was not started: the station is stopping"));
        }
        if self.session.is_running(path) {
            return Err(format!("{path} is already being wiped"));
        }
        let ctx = self.session.recorder().context();
        let mut options = WipeOptions::with_method(method);
        options.asset = self.tags.get(path).cloned();
        let request =
            WipeRequest::validate(&options, &ctx.state.config).map_err(|e| e.to_string())?;
        let (target, info) = open(ctx, Path::new(path))?;
        let prepared =
            match plan(ctx, &request, path.to_string(), target, info).map_err(|e| match e {
                StationError::Refused(why) => why.join("; "),
                other => other.to_string(),
            })? {
                Planned::Ready(p) => *p,
                Planned::Certified(c) => {
                    return Err(format!(
                        "{path}: its wipe was already certified ({})",
                        c.pdf.display()
                    ));
                }
            };
        if let Some(old) = &prepared.replaces {
            emit(
                self.sink.as_ref(),
                path,
                What::Engine(crate::erase::Event::Notice {
                    message: format!(
                        "an interrupted wipe (started {}) is discarded; this one starts over",
                        old.started_at
                    ),
                }),
            );
        }
        self.session.start(
            prepared,
            Disposition {
                asset: request.asset.clone(),
                destination: request.destination,
            },
        );
        Ok(())
    }

    /// Cancels a scheduled automatic wipe. False if none was scheduled.
    pub fn cancel(&mut self, path: &str) -> bool {
        let was = self.scheduled.remove(path).is_some();
        if was {
            emit(self.sink.as_ref(), path, What::Cancelled);
        }
        was
    }

    /// When the automatic wipe of `path` starts, if one is scheduled.
    pub fn scheduled_at(&self, path: &str) -> Option<Instant> {
        self.scheduled.get(path).copied()
    }

    /// Stops one drive's wipe (INCOMPLETE, with its certificate) or cancels its schedule.
    pub fn stop(&mut self, path: &str) -> bool {
        self.cancel(path) || self.session.stop(path)
    }

    /// Stops everything: scheduled wipes are cancelled, running ones stopped.
    pub fn stop_all(&mut self) {
        let paths: Vec<String> = self.scheduled.keys().cloned().collect();
        for p in paths {
            self.cancel(&p);
        }
        self.session.stop_all();
    }

    /// Links an asset tag (as typed or scanned) to a drive: its certificate will name it.
    pub fn tag(&mut self, path: &str, tag: &str) -> Result<(), String> {
        let tag = tag.trim();
        if tag.is_empty() {
            return Err("the asset tag is empty".into());
        }
        if self.session.is_running(path) {
            return Err(format!(
                "{path} is being wiped; link the tag before starting the wipe"
            ));
        }
        check_asset(self.session.recorder().context(), Some(tag)).map_err(|e| e.to_string())?;
        self.tags.insert(path.to_string(), tag.to_string());
        emit(
            self.sink.as_ref(),
            path,
            What::Tagged {
                asset_tag: tag.to_string(),
            },
        );
        Ok(())
    }

    /// Waits for every running wipe to end (after a stop, each ends INCOMPLETE with its
    /// certificate).
    pub fn finish(&mut self) -> Vec<Ended> {
        self.scheduled.clear();
        let ended = self.session.join_all();
        self.count(&ended);
        ended
    }
}
