//! Progress display for a wipe session: one [`Sink`] per drive.
//!
//! On a terminal each drive gets a progress bar (bytes, MB/s, ETA); otherwise plain lines are
//! printed every few seconds, so logs of an unattended station stay readable. Everything goes to
//! stderr: stdout is for results.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::erase::{Event, Phase, Sink};

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
