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
    pub model: String,
    pub serial: String,
    pub size_bytes: u64,
    pub transport: String,
    pub protected_reason: Option<String>,
    pub firmware_methods: Vec<String>,
    /// The drive's health, one line (`health ok (ATA SMART), 1 power-on hours`).
    pub health: String,
    pub asset_tag: Option<String>,
    pub state: State,
    /// The method chosen (or running).
    pub method: Option<String>,
    pub phase: String,
    pub done: u64,
    pub total: u64,
    phase_started: Option<Instant>,
    phase_start_done: u64,
    pub failure_reasons: Vec<String>,
    pub certificate_id: Option<String>,
}

impl DriveRow {
    /// Fraction of the current phase done, 0.0 to 1.0.
    pub fn fraction(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        (self.done as f64 / self.total as f64).clamp(0.0, 1.0)
    }

    /// Bytes per second in the current phase.
    pub fn rate(&self) -> f64 {
        let Some(t) = self.phase_started else {
            return 0.0;
        };
        let secs = t.elapsed().as_secs_f64();
        if secs < 0.2 {
            return 0.0;
        }
        self.done.saturating_sub(self.phase_start_done) as f64 / secs
    }

    /// Time left in the current phase, as `h:mm:ss`, or `-`.
    pub fn eta(&self) -> String {
        let rate = self.rate();
        if self.state != State::Running || rate <= 0.0 {
            return "-".into();
        }
        format_duration(self.total.saturating_sub(self.done) as f64 / rate)
    }

    /// The state as a short word for the table.
    pub fn state_text(&self) -> String {
        match &self.state {
            State::Ready => "ready".into(),
            State::Protected => "PROTECTED".into(),
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
            What::Appeared { info, existing } => {
                let state = if info.protected {
                    State::Protected
                } else {
                    State::Ready
                };
                let row = DriveRow {
                    path: info.path.clone(),
                    model: info.model.clone().unwrap_or_else(|| "-".into()),
                    serial: info.serial.clone().unwrap_or_else(|| "-".into()),
                    size_bytes: info.size_bytes,
                    transport: info.transport.as_str().into(),
                    protected_reason: info.protected_reason.clone(),
                    firmware_methods: info.firmware_methods.clone(),
                    health: info.health.summary(),
                    asset_tag: None,
                    state,
                    method: None,
                    phase: String::new(),
                    done: 0,
                    total: 0,
                    phase_started: None,
                    phase_start_done: 0,
                    failure_reasons: Vec::new(),
                    certificate_id: None,
                };
                match self.row(path) {
                    Some(r) => {
                        let keep_tag = r.asset_tag.take();
                        let busy = matches!(r.state, State::Running | State::Scheduled(_));
                        let old_state = r.state.clone();
                        *r = DriveRow {
                            asset_tag: keep_tag,
                            ..row
                        };
                        if busy && r.protected_reason.is_none() {
                            r.state = old_state;
                        }
                    }
                    None => {
                        let line = match (&info.protected_reason, existing) {
                            (Some(why), _) => format!("{path} is protected: {why}"),
                            (None, true) => format!("{path} is here"),
                            (None, false) => format!("{path} appeared"),
                        };
                        self.rows.push(row);
                        self.note(line);
                    }
                }
            }
            What::Removed => {
                if let Some(r) = self.row(path) {
                    if !matches!(r.state, State::Ended(_)) {
                        r.state = State::Removed;
                    }
                    r.phase.clear();
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
            What::Started { method, .. } => {
                if let Some(r) = self.row(path) {
                    r.state = State::Running;
                    r.method = Some(method.clone());
                    r.phase.clear();
                    r.done = 0;
                    r.total = 0;
                    r.failure_reasons.clear();
                    r.certificate_id = None;
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
                    }
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
                if let (Some(tag), Some(state)) = (asset_tag, asset_state) {
                    self.note(format!("{path}: asset {tag} is {state}"));
                }
            }
            What::Tagged { asset_tag } => {
                if let Some(r) = self.row(path) {
                    r.asset_tag = Some(asset_tag.clone());
                }
                self.note(format!("{path}: linked to asset {asset_tag}"));
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
                    r.phase = phase.to_string();
                    r.done = *done;
                    r.total = *total;
                    r.phase_started = Some(Instant::now());
                    r.phase_start_done = *done;
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
