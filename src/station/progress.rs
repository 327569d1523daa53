//! Progress display for a wipe session: one [`Sink`] per drive.
//!
//! On a terminal each drive gets a progress bar (bytes, MB/s, ETA); otherwise plain lines are
//! printed every few seconds, so logs of an unattended station stay readable. Everything goes to
//! stderr: stdout is for results.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::erase::{Event, Phase, Sink};

use super::events::{StationEvent, StationSink, What};

/// How progress is shown.
pub enum Progress {
    Bars(MultiProgress),
    Lines { every: Duration },
    Quiet,
}

impl Progress {
    /// Bars on a terminal, lines otherwise.
    pub fn auto() -> Progress {
        if std::io::stderr().is_terminal() {
            Progress::Bars(MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))
        } else {
            Progress::Lines {
                every: Duration::from_secs(5),
            }
        }
    }

    /// A sink for one drive, labelled e.g. `/dev/sdb`.
    pub fn drive(&self, label: &str) -> Arc<dyn Sink> {
        match self {
            Progress::Bars(mp) => {
                let bar = mp.add(ProgressBar::new(0));
                bar.set_style(bar_style(true));
                bar.set_prefix(label.to_string());
                Arc::new(BarSink {
                    bar,
                    label: label.to_string(),
                })
            }
            Progress::Lines { every } => Arc::new(LineSink {
                label: label.to_string(),
                every: *every,
                state: Mutex::new(LineState::default()),
            }),
            Progress::Quiet => Arc::new(crate::erase::NullSink),
        }
    }
}

struct BarSink {
    bar: ProgressBar,
    label: String,
}

impl Sink for BarSink {
    fn event(&self, event: Event) {
        match event {
            Event::PhaseStarted { phase, done, total } => {
                self.bar.reset();
                self.bar.set_style(bar_style(phase.counts_bytes()));
                self.bar.set_length(total);
                self.bar.set_position(done);
                self.bar.set_message(phase.to_string());
            }
            Event::Progress { done } => self.bar.set_position(done),
            Event::PhaseFinished { .. } => {}
            Event::IoError {
                offset,
                len,
                message,
            } => self.bar.println(format!(
                "{}: {len} bytes at offset {offset} failed: {message}",
                self.label
            )),
            Event::Notice { message } => self.bar.println(format!("{}: {message}", self.label)),
        }
    }
}

/// A bar in bytes and MB/s for overwrite and read-back, in percent for a firmware command.
fn bar_style(bytes: bool) -> ProgressStyle {
    let template = if bytes {
        "{prefix:.bold} {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}"
    } else {
        "{prefix:.bold} {msg} [{bar:30}] {percent}% ETA {eta}"
    };
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl Drop for BarSink {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

#[derive(Default)]
struct LineState {
    phase: Option<Phase>,
    total: u64,
    start_done: u64,
    done: u64,
    started: Option<Instant>,
    last: Option<Instant>,
}

struct LineSink {
    label: String,
    every: Duration,
    state: Mutex<LineState>,
}

impl LineSink {
    fn line(&self, s: &LineState) -> String {
        let phase = s.phase.as_ref().map(|p| p.to_string()).unwrap_or_default();
        let pct = if s.total > 0 {
            s.done as f64 * 100.0 / s.total as f64
        } else {
            0.0
        };
        let elapsed = s.started.map(|t| t.elapsed().as_secs_f64()).unwrap_or(0.0);
        let moved = s.done.saturating_sub(s.start_done);
        let rate = if elapsed > 0.0 {
            moved as f64 / elapsed
        } else {
            0.0
        };
        let eta = if rate > 0.0 {
            format_duration((s.total.saturating_sub(s.done)) as f64 / rate)
        } else {
            "-".into()
        };
        if s.phase.as_ref().is_none_or(Phase::counts_bytes) {
            format!(
                "wipeproof: {}: {phase} {pct:.1}% {:.1} MB/s ETA {eta}",
                self.label,
                rate / 1e6
            )
        } else {
            // A firmware command's progress is a fraction of its work, not bytes.
            format!("wipeproof: {}: {phase} {pct:.1}% ETA {eta}", self.label)
        }
    }
}

impl Sink for LineSink {
    fn event(&self, event: Event) {
        let Ok(mut s) = self.state.lock() else { return };
        match event {
            Event::PhaseStarted { phase, done, total } => {
                crate::stderr_line!("wipeproof: {}: {phase} started", self.label);
                *s = LineState {
                    phase: Some(phase),
                    total,
                    start_done: done,
                    done,
                    started: Some(Instant::now()),
                    last: Some(Instant::now()),
                };
            }
            Event::Progress { done } => {
                s.done = done;
                if s.last.is_none_or(|t| t.elapsed() >= self.every) {
                    s.last = Some(Instant::now());
                    crate::stderr_line!("{}", self.line(&s));
                }
            }
            Event::PhaseFinished { ok } => {
                let phase = s.phase.as_ref().map(|p| p.to_string()).unwrap_or_default();
                let elapsed = s.started.map(|t| t.elapsed().as_secs_f64()).unwrap_or(0.0);
                crate::stderr_line!(
                    "wipeproof: {}: {phase} {} in {}",
                    self.label,
                    if ok { "done" } else { "ended with problems" },
                    format_duration(elapsed)
                );
            }
            Event::IoError {
                offset,
                len,
                message,
            } => crate::stderr_line!(
                "wipeproof: {}: {len} bytes at offset {offset} failed: {message}",
                self.label
            ),
            Event::Notice { message } => {
                crate::stderr_line!("wipeproof: {}: {message}", self.label)
            }
        }
    }
}

/// The progress display as a station sink: a bar (or log lines) for each drive from the
/// moment it starts, fed by the engine's events.
pub struct ProgressSink {
    progress: Progress,
    drives: Mutex<HashMap<String, Arc<dyn Sink>>>,
}

impl ProgressSink {
    pub fn new(progress: Progress) -> ProgressSink {
        ProgressSink {
            progress,
            drives: Mutex::new(HashMap::new()),
        }
    }

    /// Clears the bars (before the summary is printed).
    pub fn finish(&self) {
        self.drives
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

impl StationSink for ProgressSink {
    fn event(&self, e: &StationEvent) {
        let mut drives = self.drives.lock().unwrap_or_else(|p| p.into_inner());
        match &e.what {
            What::Started { .. } => {
                drives.insert(e.drive.clone(), self.progress.drive(&e.drive));
            }
            What::Engine(ev) => {
                if let Some(sink) = drives.get(&e.drive) {
                    sink.event(ev.clone());
                }
            }
            _ => {}
        }
    }
}

/// The station's events as lines for people on stderr: drives coming and going, wipes
/// starting and ending, certificates, refusals and notices (progress is left to the JSON
/// stream or the screen).
pub struct StationLog;

impl StationSink for StationLog {
    fn event(&self, e: &StationEvent) {
        let d = &e.drive;
        let line = match &e.what {
            What::Appeared { info, existing, .. } => match (&info.protected_reason, &info.busy) {
                (Some(why), _) => format!("{d} is protected: {why}"),
                (None, Some(busy)) => format!("{d} is busy: {}", busy.reason),
                (None, None) => format!(
                    "{d} {}: {} {} ({})",
                    if *existing { "is here" } else { "appeared" },
                    info.model.as_deref().unwrap_or("-"),
                    info.serial.as_deref().unwrap_or("-"),
                    human_size(info.size_bytes)
                ),
            },
            What::Known {
                asset_tag,
                asset_state,
                last,
            } => {
                let asset = match (asset_tag, asset_state) {
                    (Some(t), Some(s)) => format!("asset {t} ({s})"),
                    (Some(t), None) => format!("asset {t}"),
                    _ => "no asset".into(),
                };
                match last {
                    Some(c) => format!(
                        "{d}: {asset}; last wiped {} {} (certificate {})",
                        c.issued_at, c.result, c.id
                    ),
                    None if asset_tag.is_some() => format!("{d}: {asset}"),
                    None => return,
                }
            }
            What::Removed => format!("{d} was removed"),
            What::Scheduled { method, seconds } => {
                format!("{d}: {method} starts in {seconds} s unless cancelled")
            }
            What::Cancelled => format!("{d}: automatic wipe cancelled"),
            What::Started { method, .. } => format!("{d}: {method} started"),
            What::Engine(Event::Notice { message }) => format!("{d}: {message}"),
            What::Engine(Event::IoError {
                offset,
                len,
                message,
            }) => format!("{d}: {len} bytes at offset {offset} failed: {message}"),
            What::Engine(_) => return,
            What::Finished {
                result,
                failure_reasons,
            } => {
                let mut s = format!("{d}: {}", result.as_str());
                for r in failure_reasons {
                    s.push_str(&format!("\n    {r}"));
                }
                s
            }
            What::Certified { pdf, .. } => format!("{d}: certificate {pdf}"),
            What::Registered { .. } => return,
            What::Tagged { asset_tag, .. } => format!("{d}: linked to asset {asset_tag}"),
            What::ComputerCertified {
                result,
                pdf,
                asset_tag,
                asset_state,
                ..
            } => format!(
                "computer certificate {pdf}: {}{}",
                result.replace('_', " "),
                match (asset_tag, asset_state) {
                    (Some(t), Some(s)) => format!("; asset {t} is {s}"),
                    _ => String::new(),
                }
            ),
            What::Failed { reason } => format!("{d}: {reason}"),
        };
        crate::stderr_line!("wipeproof: {line}");
    }
}

/// A size in decimal units as drive makers print them, e.g. `1.00 TB`, `64.0 MB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: &[&str] = &["B", "kB", "MB", "GB", "TB", "PB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else if value >= 100.0 {
        format!("{value:.0} {}", UNITS[unit])
    } else if value >= 10.0 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.2} {}", UNITS[unit])
    }
}

/// `h:mm:ss`.
pub fn format_duration(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_after(phase: Phase, total: u64, done: u64) -> String {
        let sink = LineSink {
            label: "/dev/nvme0n1".into(),
            every: Duration::from_secs(5),
            state: Mutex::new(LineState::default()),
        };
        sink.event(Event::PhaseStarted {
            phase,
            done: 0,
            total,
        });
        let mut s = sink.state.lock().unwrap();
        s.done = done;
        sink.line(&s)
    }

    #[test]
    fn firmware_progress_is_a_fraction_of_the_command_not_bytes() {
        let total = crate::erase::FIRMWARE_PROGRESS_TOTAL;
        let line = line_after(
            Phase::Firmware {
                command: "NVMe Sanitize (crypto erase)".into(),
            },
            total,
            total / 4,
        );
        assert!(line.contains(" 25.0% "), "{line}");
        assert!(!line.contains("MB/s"), "{line}");
        let line = line_after(
            Phase::Write {
                pass: 1,
                passes: 1,
                pattern: "0x00".into(),
            },
            1 << 30,
            1 << 29,
        );
        assert!(line.contains(" 50.0% "), "{line}");
        assert!(line.contains("MB/s"), "{line}");
    }

    #[test]
    fn durations() {
        assert_eq!(format_duration(0.4), "0:00:00");
        assert_eq!(format_duration(3725.0), "1:02:05");
    }
}
