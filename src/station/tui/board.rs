//! What the terminal UI shows: one row per drive, kept up to date from the station's events,
//! plus a log of what happened. No terminal code here, so it is tested on its own.

use std::collections::VecDeque;
use std::time::Instant;

use crate::erase::Event;
use crate::station::events::{StationEvent, What};
use crate::station::progress::format_duration;
use crate::verify::WipeResult;

/// How many log lines are kept.
const LOG_LINES: usize = 200;

/// Where a drive is in its life at the station.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Ready,
    Protected,
    /// Another program holds it (or the kernel for one): a wipe would be refused.
    Busy,
    /// An automatic wipe starts at this instant unless cancelled.
    Scheduled(Instant),
    Running,
    Ended(WipeResult),
    Refused,
    Removed,
}

/// One drive's row.
#[derive(Debug, Clone)]
pub struct DriveRow {
    pub path: String,
    /// Where it is plugged in (port, slot, a loop device's file), or empty.
    pub location: String,
    pub model: String,
    pub serial: String,
    pub size_bytes: u64,
    pub transport: String,
    pub protected_reason: Option<String>,
    /// Why a wipe would be refused because someone else holds the drive.
    pub busy_reason: Option<String>,
    pub firmware_methods: Vec<String>,
    /// The drive's health, one line (`health ok (ATA SMART), 1 power-on hours`).
    pub health: String,
    pub asset_tag: Option<String>,
    /// The asset's state in the register (`retired`, `destroyed`, ...), when known.
    pub asset_state: Option<String>,
    pub state: State,
    /// The method chosen (or running).
    pub method: Option<String>,
    pub phase: String,
    pub done: u64,
    pub total: u64,
    phase_started: Option<Instant>,
    phase_start_done: u64,
    /// Bytes the whole wipe writes and reads, when the station knows them (overwrites).
    work_total: Option<u64>,
    /// Bytes of the phases before the current one.
    work_before: u64,
    /// When the wipe started, and the whole-wipe bytes done then (a resume starts part-way).
    wipe_started: Option<(Instant, u64)>,
    /// The wipe's average speed, frozen when it ended.
    pub final_rate: Option<f64>,
    pub failure_reasons: Vec<String>,
    pub certificate_id: Option<String>,
    /// When the shown result was issued, for a result the register held from before.
    pub issued_at: Option<String>,
}

impl DriveRow {
    fn new(info: &crate::device::DriveInfo, location: Option<&String>) -> DriveRow {
        DriveRow {
            path: info.path.clone(),
            location: location.cloned().unwrap_or_default(),
            model: info.model.clone().unwrap_or_else(|| "-".into()),
            serial: info.serial.clone().unwrap_or_else(|| "-".into()),
            size_bytes: info.size_bytes,
            transport: info.transport.as_str().into(),
            protected_reason: info.protected_reason.clone(),
            busy_reason: info.busy.as_ref().map(|b| b.reason.clone()),
            firmware_methods: info.firmware_methods.clone(),
            health: info.health.summary(),
            asset_tag: None,
            asset_state: None,
            state: if info.protected {
                State::Protected
            } else if info.busy.is_some() {
                State::Busy
            } else {
                State::Ready
            },
            method: None,
            phase: String::new(),
            done: 0,
            total: 0,
            phase_started: None,
            phase_start_done: 0,
            work_total: None,
            work_before: 0,
            wipe_started: None,
            final_rate: None,
            failure_reasons: Vec::new(),
            certificate_id: None,
            issued_at: None,
        }
    }

    /// Why a wipe of the drive would be refused (protected or busy), if it would be.
    pub fn refusal(&self) -> Option<&String> {
        self.protected_reason.as_ref().or(self.busy_reason.as_ref())
    }

    /// Bytes of the whole wipe done so far.
    fn work_done(&self) -> u64 {
        self.work_before + self.done
    }

    /// Fraction of the whole wipe done (every pass and its verification), 0.0 to 1.0; of the
    /// current phase for a firmware erase, whose drive reports only that.
    pub fn fraction(&self) -> f64 {
        let (done, total) = match self.work_total {
            Some(t) if t > 0 => (self.work_done(), t),
            _ => (self.done, self.total),
        };
        if total == 0 {
            return 0.0;
        }
        (done as f64 / total as f64).clamp(0.0, 1.0)
    }

    /// Bytes per second: now while the wipe runs, its average once it has ended.
    pub fn rate(&self) -> f64 {
        if let Some(r) = self.final_rate {
            return r;
        }
        if self.state != State::Running {
            return 0.0;
        }
        let Some(t) = self.phase_started else {
            return 0.0;
        };
        let secs = t.elapsed().as_secs_f64();
        if secs < 0.2 {
            return 0.0;
        }
        self.done.saturating_sub(self.phase_start_done) as f64 / secs
    }

    /// The whole wipe's average speed so far.
    fn average_rate(&self) -> f64 {
        let Some((t, from)) = self.wipe_started else {
            return 0.0;
        };
        let secs = t.elapsed().as_secs_f64();
        if secs < 0.5 {
            return 0.0;
        }
        self.work_done().saturating_sub(from) as f64 / secs
    }

    /// Time left for the whole wipe, as `h:mm:ss`, or `-`.
    pub fn eta(&self) -> String {
        if self.state != State::Running {
            return "-".into();
        }
        let (left, rate) = match self.work_total {
            Some(t) => (t.saturating_sub(self.work_done()), self.average_rate()),
            None => (self.total.saturating_sub(self.done), self.rate()),
        };
        if rate <= 0.0 {
            return "-".into();
        }
        format_duration(left as f64 / rate)
    }

    /// The asset's tag and state when it is retired or destroyed: its drive is wiped again
    /// only by an explicit rewipe.
    pub fn finished_asset(&self) -> Option<(&str, &str)> {
        match (&self.asset_tag, self.asset_state.as_deref()) {
            (Some(tag), Some(state @ ("retired" | "destroyed"))) => Some((tag, state)),
            _ => None,
        }
    }

    /// The state as a short word for the table.
    pub fn state_text(&self) -> String {
        match &self.state {
            State::Ready => match self.finished_asset() {
                Some((_, state)) => state.to_uppercase(),
                None => "ready".into(),
            },
            State::Protected => "PROTECTED".into(),
            State::Busy => "busy".into(),
            State::Scheduled(at) => format!(
                "auto {}s",
                at.saturating_duration_since(Instant::now()).as_secs() + 1
            ),
            State::Running => {
                if self.phase.is_empty() {
                    "starting".into()
                } else {
                    short_phase(&self.phase)
                }
            }
            State::Ended(r) => r.as_str().into(),
            State::Refused => "refused".into(),
            State::Removed => "removed".into(),
        }
    }
}

/// `pass 1/3 (0x00)` -> `pass 1/3`; `verify pass 1 (sample 10%)` -> `verify 1`.
fn short_phase(phase: &str) -> String {
    let base = phase.split(" (").next().unwrap_or(phase);
    base.replace("verify pass", "verify")
}

/// Every drive the station has seen, and the log.
#[derive(Debug, Default)]
pub struct Board {
    pub rows: Vec<DriveRow>,
    pub log: VecDeque<String>,
}

impl Board {
    fn row(&mut self, path: &str) -> Option<&mut DriveRow> {
        self.rows.iter_mut().find(|r| r.path == path)
    }

    /// Adds a line to the log.
    pub fn note(&mut self, line: String) {
        if self.log.len() == LOG_LINES {
            self.log.pop_front();
        }
        self.log.push_back(line);
    }

    /// Applies one event.
    pub fn apply(&mut self, e: &StationEvent) {
        let path = e.drive.as_str();
        match &e.what {
            What::Appeared {
                info,
                existing,
                location,
            } => {
                let row = DriveRow::new(info, location.as_ref());
                match self.row(path) {
                    Some(r) => {
                        // The same drive (seen again by the guard) keeps its tag and state;
                        // another drive in the same place starts afresh.
                        let same = r.serial == row.serial && r.size_bytes == row.size_bytes;
                        let busy = matches!(r.state, State::Running | State::Scheduled(_));
                        let old = std::mem::replace(r, row);
                        if same {
                            r.asset_tag = old.asset_tag.clone();
                            r.asset_state = old.asset_state.clone();
                            if r.refusal().is_none()
                                && (busy || matches!(old.state, State::Ended(_)))
                            {
                                r.restore_progress(old);
                            }
                        }
                    }
                    None => {
                        let busy = info.busy.as_ref().map(|b| &b.reason);
                        let line = match (&info.protected_reason, busy, existing) {
                            (Some(why), _, _) => format!("{path} is protected: {why}"),
                            (None, Some(why), _) => format!("{path} is busy: {why}"),
                            (None, None, true) => format!("{path} is here"),
                            (None, None, false) => format!("{path} appeared"),
                        };
                        self.rows.push(row);
                        self.note(line);
                    }
                }
            }
            What::Known {
                asset_tag,
                asset_state,
                last,
            } => self.known(path, asset_tag, asset_state, last.as_ref()),
            What::Removed => {
                if let Some(r) = self.row(path) {
                    if !matches!(r.state, State::Ended(_)) {
                        r.state = State::Removed;
                    }
                    r.phase.clear();
                    // A tag belongs to the drive, not to the place it was in.
                    r.asset_tag = None;
                    r.asset_state = None;
                }
                self.note(format!("{path} was removed"));
            }
            What::Scheduled { method, seconds } => {
                if let Some(r) = self.row(path) {
                    r.state =
                        State::Scheduled(Instant::now() + std::time::Duration::from_secs(*seconds));
                    r.method = Some(method.clone());
                }
                self.note(format!(
                    "{path}: {method} starts in {seconds} s (c cancels)"
                ));
            }
            What::Cancelled => {
                if let Some(r) = self.row(path) {
                    r.state = State::Ready;
                }
                self.note(format!("{path}: automatic wipe cancelled"));
            }
            What::Started {
                method, work_bytes, ..
            } => {
                if let Some(r) = self.row(path) {
                    r.state = State::Running;
                    r.method = Some(method.clone());
                    r.phase.clear();
                    r.done = 0;
                    r.total = 0;
                    r.work_total = *work_bytes;
                    r.work_before = 0;
                    r.wipe_started = None;
                    r.final_rate = None;
                    r.failure_reasons.clear();
                    r.certificate_id = None;
                    r.issued_at = None;
                }
                self.note(format!("{path}: {method} started"));
            }
            What::Engine(ev) => self.engine(path, ev),
            What::Finished {
                result,
                failure_reasons,
            } => {
                if let Some(r) = self.row(path) {
                    r.state = State::Ended(*result);
                    r.failure_reasons = failure_reasons.clone();
                    if *result == WipeResult::Pass {
                        r.done = r.total;
                        if let Some(t) = r.work_total {
                            r.work_before = t.saturating_sub(r.done);
                        }
                    }
                    // The speed stops where the wipe stopped: its average over the wipe.
                    r.final_rate = Some(r.average_rate());
                }
                self.note(format!("{path}: {}", result.as_str()));
                for why in failure_reasons.iter().take(3) {
                    self.note(format!("  {why}"));
                }
            }
            What::Certified { certificate_id, .. } => {
                if let Some(r) = self.row(path) {
                    r.certificate_id = Some(certificate_id.clone());
                }
                self.note(format!("{path}: certificate {certificate_id}"));
            }
            What::Registered {
                asset_tag,
                asset_state,
                ..
            } => {
                if let Some(r) = self.row(path)
                    && asset_tag.is_some()
                {
                    r.asset_tag = asset_tag.clone();
                    r.asset_state = asset_state.clone();
                }
                if let (Some(tag), Some(state)) = (asset_tag, asset_state) {
                    self.note(format!("{path}: asset {tag} is {state}"));
                }
            }
            What::Tagged {
                asset_tag,
                asset_state,
            } => {
                if let Some(r) = self.row(path) {
                    r.asset_tag = Some(asset_tag.clone());
                    r.asset_state = asset_state.clone();
                }
                self.note(format!("{path}: linked to asset {asset_tag}"));
            }
            What::ComputerCertified {
                certificate_id,
                result,
                ..
            } => {
                self.note(format!(
                    "computer certificate {certificate_id}: {}",
                    result.replace('_', " ")
                ));
            }
            What::Failed { reason } => {
                if let Some(r) = self.row(path)
                    && matches!(r.state, State::Ready | State::Scheduled(_))
                {
                    r.state = State::Refused;
                }
                self.note(format!("{path}: {reason}"));
            }
        }
    }

    fn engine(&mut self, path: &str, ev: &Event) {
        match ev {
            Event::PhaseStarted { phase, done, total } => {
                if let Some(r) = self.row(path) {
                    r.next_phase(phase, *total);
                    r.phase = phase.to_string();
                    r.done = *done;
                    r.total = *total;
                    r.phase_started = Some(Instant::now());
                    r.phase_start_done = *done;
                    if r.wipe_started.is_none() && phase.counts_bytes() {
                        r.wipe_started = Some((Instant::now(), r.work_done()));
                    }
                }
            }
            Event::Progress { done } => {
                if let Some(r) = self.row(path) {
                    r.done = *done;
                }
            }
            Event::PhaseFinished { .. } => {}
            Event::IoError {
                offset,
                len,
                message,
            } => self.note(format!("{path}: {len} bytes at {offset} failed: {message}")),
            Event::Notice { message } => self.note(format!("{path}: {message}")),
        }
    }
}

impl DriveRow {
    /// Carries the result or the running wipe of the same drive over a fresh description.
    fn restore_progress(&mut self, old: DriveRow) {
        self.state = old.state;
        self.method = old.method;
        self.phase = old.phase;
        self.done = old.done;
        self.total = old.total;
        self.phase_started = old.phase_started;
        self.phase_start_done = old.phase_start_done;
        self.work_total = old.work_total;
        self.work_before = old.work_before;
        self.wipe_started = old.wipe_started;
        self.final_rate = old.final_rate;
        self.failure_reasons = old.failure_reasons;
        self.certificate_id = old.certificate_id;
        self.issued_at = old.issued_at;
    }

    /// Counts the phase that ended into the whole wipe as a new one starts. The first phase
    /// of a resumed wipe counts the passes before it as done.
    fn next_phase(&mut self, phase: &crate::erase::Phase, total: u64) {
        if !phase.counts_bytes() {
            return;
        }
        if self.wipe_started.is_none() {
            if let crate::erase::Phase::Write { pass, .. } = phase {
                self.work_before = (*pass as u64).saturating_sub(1) * total;
            }
        } else if !self.phase.is_empty() {
            self.work_before += self.total;
        }
        if let Some(t) = self.work_total {
            self.work_before = self.work_before.min(t);
        }
    }
}

impl Board {
    fn known(
        &mut self,
        path: &str,
        asset_tag: &Option<String>,
        asset_state: &Option<String>,
        last: Option<&crate::register::lookup::LastCertificate>,
    ) {
        let Some(r) = self.row(path) else { return };
        if asset_tag.is_some() {
            r.asset_tag = asset_tag.clone();
            r.asset_state = asset_state.clone();
        }
        if let Some(c) = last
            && r.state == State::Ready
            && let Some(result) = WipeResult::parse(&c.result)
        {
            r.state = State::Ended(result);
            r.method = Some(c.method.clone());
            r.certificate_id = Some(c.id.clone());
            r.issued_at = Some(c.issued_at.clone());
        }
        let asset = match (asset_tag, asset_state) {
            (Some(t), Some(s)) => format!("asset {t} ({s})"),
            (Some(t), None) => format!("asset {t}"),
            _ => "no asset".into(),
        };
        let line = match last {
            Some(c) => format!(
                "{path}: {asset}; wiped before: {} {} {}",
                c.result, c.method, c.issued_at
            ),
            None => format!("{path}: {asset}"),
        };
        self.note(line);
    }
}
