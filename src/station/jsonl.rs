//! The headless front-end's sink: one JSON object per line, each with `"event"` and `"drive"`.
//!
//! Progress is sent at most once a second per drive (and whenever a phase starts), so a
//! supervising service reads a steady, small stream from 24 drives at once.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::events::{StationEvent, StationSink, What};
use crate::erase::Event;

/// How often progress of one drive is written.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

#[derive(Default)]
struct DriveState {
    phase: String,
    total: u64,
    last: Option<Instant>,
}

/// Writes events as JSON lines.
pub struct JsonLines<W: Write + Send> {
    out: Mutex<(W, HashMap<String, DriveState>)>,
}

impl<W: Write + Send> JsonLines<W> {
    pub fn new(out: W) -> JsonLines<W> {
        JsonLines {
            out: Mutex::new((out, HashMap::new())),
        }
    }

    /// The writer back (tests).
    pub fn into_inner(self) -> W {
        self.out.into_inner().unwrap_or_else(|p| p.into_inner()).0
    }
}

/// The JSON object for one event, or `None` for progress that is not due yet.
fn line(e: &StationEvent, state: &mut DriveState) -> Option<Value> {
    let mut v = match &e.what {
        What::Appeared {
            info,
            existing,
            location,
        } => json!({
            "event": "appeared",
            "existing": existing,
            "location": location,
            "model": info.model,
            "serial": info.serial,
            "size_bytes": info.size_bytes,
            "transport": info.transport,
            "protected": info.protected,
            "protected_reason": info.protected_reason,
            "busy": info.busy,
            "firmware_methods": info.firmware_methods,
        }),
        What::Known {
            asset_tag,
            asset_state,
            last,
        } => json!({
            "event": "known",
            "asset_tag": asset_tag,
            "asset_state": asset_state,
            "last_certificate": last,
        }),
        What::Removed => json!({"event": "removed"}),
        What::Scheduled { method, seconds } => {
            json!({"event": "scheduled", "method": method, "seconds": seconds})
        }
        What::Cancelled => json!({"event": "cancelled"}),
        What::Started {
            method,
            wipe_id,
            work_bytes,
        } => {
            json!({"event": "started", "method": method, "wipe_id": wipe_id, "work_bytes": work_bytes})
        }
        What::Engine(Event::PhaseStarted { phase, done, total }) => {
            state.phase = phase.to_string();
            state.total = *total;
            state.last = Some(Instant::now());
            json!({"event": "phase", "phase": state.phase, "done": done, "total": total})
        }
        What::Engine(Event::Progress { done }) => {
            if state.last.is_some_and(|t| t.elapsed() < PROGRESS_EVERY) {
                return None;
            }
            state.last = Some(Instant::now());
            json!({"event": "progress", "phase": state.phase, "done": done, "total": state.total})
        }
        What::Engine(Event::PhaseFinished { ok }) => {
            json!({"event": "phase_finished", "phase": state.phase, "ok": ok})
        }
        What::Engine(Event::IoError {
            offset,
            len,
            message,
        }) => json!({"event": "io_error", "offset": offset, "len": len, "message": message}),
        What::Engine(Event::Notice { message }) => json!({"event": "notice", "message": message}),
        What::Finished {
            result,
            failure_reasons,
        } => json!({"event": "finished", "result": result, "failure_reasons": failure_reasons}),
        What::Certified {
            certificate_id,
            pdf,
            json,
        } => json!({
            "event": "certified",
            "certificate_id": certificate_id,
            "certificate_pdf": pdf,
            "certificate_json": json,
        }),
        What::Registered {
            asset_tag,
            asset_state,
            matched_by,
        } => json!({
            "event": "registered",
            "asset_tag": asset_tag,
            "asset_state": asset_state,
            "matched_by": matched_by,
        }),
        What::Tagged {
            asset_tag,
            asset_state,
        } => json!({"event": "tagged", "asset_tag": asset_tag, "asset_state": asset_state}),
        What::ComputerCertified {
            certificate_id,
            result,
            pdf,
            json,
            asset_tag,
            asset_state,
        } => json!({
            "event": "computer_certified",
            "certificate_id": certificate_id,
            "result": result,
            "certificate_pdf": pdf,
            "certificate_json": json,
            "asset_tag": asset_tag,
            "asset_state": asset_state,
        }),
        What::Failed { reason } => json!({"event": "failed", "reason": reason}),
    };
    v["drive"] = Value::String(e.drive.clone());
    Some(v)
}

impl<W: Write + Send> StationSink for JsonLines<W> {
    fn event(&self, e: &StationEvent) {
        let mut guard = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let (out, states) = &mut *guard;
        let state = states.entry(e.drive.clone()).or_default();
        if let Some(v) = line(e, state) {
            // A closed stdout (the supervisor went away) must not stop the wipes.
            let _ = writeln!(out, "{v}").and_then(|_| out.flush());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::erase::Phase;
    use crate::verify::WipeResult;

    fn ev(what: What) -> StationEvent {
        StationEvent {
            drive: "/dev/loop7".into(),
            what,
        }
    }

    #[test]
    fn every_line_is_one_object_with_event_and_drive_and_progress_is_throttled() {
        let sink = JsonLines::new(Vec::new());
        sink.event(&ev(What::Started {
            method: "zero".into(),
            wipe_id: Some("w1".into()),
            work_bytes: Some(200),
        }));
        sink.event(&ev(What::Engine(Event::PhaseStarted {
            phase: Phase::Write {
                pass: 1,
                passes: 1,
                pattern: "0x00".into(),
            },
            done: 0,
            total: 100,
        })));
        for done in 1..50 {
            sink.event(&ev(What::Engine(Event::Progress { done })));
        }
        sink.event(&ev(What::Finished {
            result: WipeResult::Pass,
            failure_reasons: vec![],
        }));
        let text = String::from_utf8(sink.into_inner()).unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let events: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
        // Progress right after the phase started is not due yet.
        assert_eq!(events, ["started", "phase", "finished"]);
        assert!(lines.iter().all(|l| l["drive"] == "/dev/loop7"));
        assert_eq!(lines[2]["result"], "PASS");
        assert_eq!(lines[1]["phase"], "pass 1/1 (0x00)");
    }
}
