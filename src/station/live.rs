//! A running station: drives come and go, the operator (or the unattended rule) starts and
//! stops wipes, and every change goes to the event stream. The terminal UI and the headless
//! front-end both drive a [`Live`] and differ only in how they show it.
//!
//! The unattended rule: with an automatic method, a drive that appears after the station
//! started and is not protected is wiped after a delay the operator can cancel. Drives present
//! at start are only shown, unless the settings opt in.
//!
//! The station keeps the rules of `wipe`: a drive of an asset already retired or destroyed is
//! shown as such and is wiped neither by the operator's ordinary start nor by the unattended
//! rule; only an explicit rewipe wipes it again. An asset tag the operator links belongs to
//! the drive (serial, WWN, size), not to its path: it goes when the drive goes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::device::DriveInfo;
use crate::verify::WipeResult;

use super::StationError;
use super::computer::Computer;
use super::context::StationContext;
use super::events::{StationSink, What, emit};
use super::monitor::{Change, Monitor};
use super::prepare::{Planned, asset_of, check_asset, is_finished, open, plan};
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

/// A drive as the station tells one from another: the same serial, WWN and size are the same
/// drive, wherever it is plugged in.
#[derive(Debug, Clone)]
struct DriveKey {
    serial: Option<String>,
    wwn: Option<String>,
    size_bytes: u64,
}

impl DriveKey {
    fn of(d: &DriveInfo) -> DriveKey {
        DriveKey {
            serial: d.serial.clone(),
            wwn: d.wwn.clone(),
            size_bytes: d.size_bytes,
        }
    }

    /// Whether `d` is this drive. What one description of a drive lacks (a WWN udev did not
    /// report) does not make it another drive; what both name must agree.
    fn is(&self, d: &DriveInfo) -> bool {
        let agree = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        };
        self.size_bytes == d.size_bytes
            && agree(&self.serial, &d.serial)
            && agree(&self.wwn, &d.wwn)
    }
}

/// An asset tag the operator linked, and the drive it was linked to.
struct Binding {
    tag: String,
    drive: DriveKey,
}

/// Whether the unattended work is done: a wipe has ended and nothing has run or waited to run
/// for `after`. Every front-end asks it the same way, so `station.poweroff_when_done` means
/// the same on the screen as headless.
#[derive(Debug, Clone)]
pub struct WhenIdle {
    after: Duration,
    since: Option<Instant>,
}

impl WhenIdle {
    pub fn new(after: Duration) -> WhenIdle {
        WhenIdle { after, since: None }
    }

    /// Starts the wait again (an operator pressed a key: someone is there).
    pub fn reset(&mut self) {
        self.since = None;
    }

    /// How long until the work counts as done, if it is done apart from the wait.
    pub fn left(&mut self, live: &Live) -> Option<Duration> {
        if live.tally().0 == 0 || live.busy() {
            self.since = None;
            return None;
        }
        let since = *self.since.get_or_insert_with(Instant::now);
        Some(self.after.saturating_sub(since.elapsed()))
    }

    /// Whether the work is done and the wait is over.
    pub fn done(&mut self, live: &Live) -> bool {
        self.left(live).is_some_and(|l| l.is_zero())
    }
}

/// A station at work.
pub struct Live {
    session: Session,
    monitor: Monitor,
    sink: Arc<dyn StationSink>,
    auto: Auto,
    /// Automatic wipes waiting for their delay, by drive path.
    scheduled: BTreeMap<String, Instant>,
    /// Asset tags the operator linked, by the drive's path now (each bound to its drive).
    tags: HashMap<String, Binding>,
    /// Drives that were there when the station started.
    existing: HashSet<String>,
    /// How many wipes ended, and how many of those passed.
    ended: usize,
    passed: usize,
    /// The person signed in at the station's screen: each wipe started from now names them.
    operator: Option<String>,
    /// The computer the station runs on, when it is the asset (`station.host_is_asset`).
    computer: Option<Computer>,
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
        let host_is_asset = ctx.state.config.station.host_is_asset;
        let session = Session::new(ctx.recorder()?, sink.clone());
        let (monitor, present, warning) = Monitor::start(guard, scope.only);
        let computer = Computer::at_start(
            host_is_asset,
            crate::config::on_live_image(),
            &present,
            super::computer::read_inventory,
        );
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
            operator: None,
            computer,
        };
        if let Some(w) = warning {
            crate::stderr_line!("wipeproof: {w}");
        }
        for d in present {
            live.existing.insert(d.path.clone());
            let schedule = live.auto.existing;
            live.appeared(d, true, schedule);
        }
        // A computer with no drive gets its certificate now: no storage found.
        live.certify_computer();
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
        // A drive the wipe would refuse (protected, or held by another program) is never
        // scheduled.
        let protected = d.refusal().is_some();
        if self.tags.get(&path).is_some_and(|b| !b.drive.is(&d)) {
            self.tags.remove(&path);
        }
        let finished = self.look_up(&d);
        let location = self.location(&d);
        emit(
            self.sink.as_ref(),
            &path,
            What::Appeared {
                info: Box::new(d),
                existing,
                location,
            },
        );
        if let Some(known) = finished.1 {
            emit(self.sink.as_ref(), &path, known);
        }
        if let (Some(_), true, false, Some(why)) =
            (&self.auto.method, schedule, protected, &finished.0)
        {
            emit(
                self.sink.as_ref(),
                &path,
                What::Failed {
                    reason: format!(
                        "{why}; it is not wiped automatically. To wipe it again, select it on \
                         the station's screen and press s, then R, or run `wipeproof wipe --rewipe`"
                    ),
                },
            );
            return;
        }
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

    fn location(&self, d: &DriveInfo) -> Option<String> {
        let sysfs = &self.session.recorder().context().guard.sysfs;
        d.disk
            .as_deref()
            .and_then(|disk| crate::device::location::of_disk(sysfs, disk))
    }

    /// What the register knows about a drive: the refusal of a finished asset's drive (if it
    /// is one) and the event that shows the asset and the latest certificate (if any).
    fn look_up(&self, d: &DriveInfo) -> (Option<String>, Option<What>) {
        let ctx = self.session.recorder().context();
        let tag = self.tags.get(&d.path).map(|b| b.tag.as_str());
        // A register that cannot answer now refuses nothing here: a start asks it again.
        let asset = asset_of(ctx, tag, d, true).ok().flatten();
        let last = d.serial.as_deref().and_then(|serial| {
            ctx.register()
                .last_certificate(serial, d.model.as_deref())
                .ok()
                .flatten()
        });
        let finished = asset
            .as_ref()
            .and_then(|a| a.may_wipe(&d.path, false).err())
            .map(|e| {
                e.to_string()
                    .replace("; to wipe it all the same, add --rewipe", "")
            });
        let known = (asset.is_some() || last.is_some()).then(|| What::Known {
            asset_tag: asset.as_ref().map(|a| a.asset_tag.clone()),
            asset_state: asset.as_ref().map(|a| a.state.as_str().to_string()),
            last,
        });
        (finished, known)
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
                Change::Guarded(d) => self.guarded(d),
                Change::Removed(path) => {
                    self.scheduled.remove(&path);
                    // A tag belongs to the drive: another drive here later starts unbound.
                    self.tags.remove(&path);
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
            // Judged once more, exclusively, right before: another program may have taken it.
            if let Some((d, changed)) = self.monitor.recheck(&path) {
                let refused = d.refusal().is_some();
                if changed {
                    self.guarded(d);
                }
                if refused {
                    continue;
                }
            }
            if let Some(method) = self.auto.method.clone() {
                let _ = self.start_wipe(&path, &method, false);
            }
        }
        let ended = self.session.reap();
        self.count(&ended);
        ended
    }

    /// The verdict on a present drive changed: one the wipe would now refuse loses its
    /// schedule, and the stream shows it as it is.
    fn guarded(&mut self, d: DriveInfo) {
        if d.refusal().is_some() {
            self.cancel(&d.path);
        }
        emit(
            self.sink.as_ref(),
            &d.path.clone(),
            What::Appeared {
                existing: self.existing.contains(&d.path),
                location: self.location(&d),
                info: Box::new(d),
            },
        );
    }

    fn count(&mut self, ended: &[Ended]) {
        for (path, r) in ended {
            if let (Some(c), Ok(d)) = (&mut self.computer, r)
                && let Ok(issued) = &d.issued
            {
                c.ended(path, &issued.record);
            }
            self.ended += 1;
            if let Ok(d) = r
                && d.finished.outcome.result() == WipeResult::Pass
                && d.issued.is_ok()
            {
                self.passed += 1;
            }
        }
        self.certify_computer();
    }

    /// Issues the computer certificate once every drive of the computer has ended.
    fn certify_computer(&mut self) {
        let Some(c) = &mut self.computer else {
            return;
        };
        let Some(records) = c.due() else {
            return;
        };
        let done = self
            .session
            .recorder()
            .record_computer(&c.inventory, &records);
        let what = match &done {
            Ok(done) => What::ComputerCertified {
                certificate_id: done.issued.record.id.clone(),
                result: done.issued.record.result.as_str().to_string(),
                pdf: done.issued.pdf.display().to_string(),
                json: done.issued.json.display().to_string(),
                asset_tag: done.linked.as_ref().and_then(|l| l.asset_tag.clone()),
                asset_state: done
                    .linked
                    .as_ref()
                    .and_then(|l| l.asset_state.map(|s| s.as_str().to_string())),
            },
            Err(reason) => What::Failed {
                reason: reason.clone(),
            },
        };
        emit(self.sink.as_ref(), "computer", what);
        if let Ok(done) = &done
            && let Some(e) = &done.register_error
        {
            let reason = format!(
                "computer certificate {} is written ({}) but the register could not store it: {e}; \
                 the next `wipeproof sync` stores it once the register can be written",
                done.issued.record.id,
                done.issued.json.display()
            );
            emit(self.sink.as_ref(), "computer", What::Failed { reason });
        }
    }

    /// Starts wiping `path` with `method` now. The refusal, if any, also goes to the stream.
    /// `rewipe`: the operator confirmed wiping a drive of an asset already retired or
    /// destroyed (as `wipe --rewipe`); without it such a drive is refused.
    pub fn start_wipe(&mut self, path: &str, method: &str, rewipe: bool) -> Result<(), String> {
        self.scheduled.remove(path);
        let result = self.try_start(path, method, rewipe);
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

    fn try_start(&mut self, path: &str, method: &str, rewipe: bool) -> Result<(), String> {
        if self.session.stop_flag().is_stopped() {
            return Err(format!("{path} was not started: the station is stopping"));
        }
        if self.session.is_running(path) {
            return Err(format!("{path} is already being wiped"));
        }
        let ctx = self.session.recorder().context();
        let mut options = WipeOptions::with_method(method);
        options.asset = self.tags.get(path).map(|b| b.tag.clone());
        options.rewipe = rewipe;
        let request =
            WipeRequest::validate(&options, &ctx.state.config).map_err(|e| e.to_string())?;
        let (target, info) = open(ctx, Path::new(path), false)?;
        if let Some(b) = self.tags.get(path)
            && !b.drive.is(&info)
        {
            let tag = b.tag.clone();
            self.tags.remove(path);
            return Err(format!(
                "{path} is not the drive asset {tag} was linked to (another drive is there now); \
                 nothing was erased. Link its tag again (t), then start it"
            ));
        }
        check_asset(ctx, request.asset.as_deref()).map_err(|e| e.to_string())?;
        let asset = match asset_of(ctx, request.asset.as_deref(), &info, rewipe) {
            Ok(a) => a,
            Err(StationError::Register(e)) if is_finished(&e) => {
                return Err(format!(
                    "{}; nothing was erased. To wipe it again, press s, then R (a rewipe)",
                    e.to_string()
                        .replace("; to wipe it all the same, add --rewipe", "")
                ));
            }
            Err(e) => return Err(e.to_string()),
        };
        let host = self.computer.as_ref().and_then(|c| c.host_of(&info));
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
        if let Some(a) = asset.filter(|a| a.may_wipe(path, false).is_err()) {
            emit(
                self.sink.as_ref(),
                path,
                What::Engine(crate::erase::Event::Notice {
                    message: format!(
                        "a rewipe: asset {} is {}; the operator confirmed wiping its drive again",
                        a.asset_tag,
                        a.state.as_str()
                    ),
                }),
            );
        }
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
                operator: self.operator.clone(),
                host: host.cloned(),
                rewipe: request.rewipe,
            },
        );
        Ok(())
    }

    /// Signs `name` in: the wipes started from now name them as the operator. Refused (with
    /// the reason) when it is empty or holds characters an identifier may not.
    pub fn sign_in(&mut self, name: &str) -> Result<(), String> {
        if name.trim().is_empty() {
            return Err("type your name (or scan your badge), then Enter".into());
        }
        // The rule `station.operator` is held to in the settings file, so a name the file
        // takes is taken here too.
        let operator = crate::config::Operator::new(name).map_err(|e| e.to_string())?;
        self.operator = Some(operator.to_string());
        Ok(())
    }

    /// The person signed in, if any.
    pub fn operator(&self) -> Option<&str> {
        self.operator.as_deref()
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
        let Some(drive) = self.monitor.drive(path).cloned() else {
            return Err(format!("{path} is not here any more; nothing was linked"));
        };
        let ctx = self.session.recorder().context();
        check_asset(ctx, Some(tag)).map_err(|e| e.to_string())?;
        let asset = asset_of(ctx, Some(tag), &drive, true).map_err(|e| e.to_string())?;
        self.tags.insert(
            path.to_string(),
            Binding {
                tag: tag.to_string(),
                drive: DriveKey::of(&drive),
            },
        );
        emit(
            self.sink.as_ref(),
            path,
            What::Tagged {
                asset_tag: tag.to_string(),
                asset_state: asset.map(|a| a.state.as_str().to_string()),
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
