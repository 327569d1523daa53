//! A wipe found after an unclean stop: its process was killed (or crashed, or the station lost
//! power), so it left a checkpoint but no certificate. Before a new wipe of the drive sets that
//! checkpoint aside, the interrupted attempt is recorded like any other: an INCOMPLETE
//! certificate (signed, in the register, queued for the central register, with its custody
//! event) saying it was found after an unclean stop and what had been done by then.
//!
//! A process that stops a wipe itself (a signal, a failure, the end) marks its checkpoint
//! ([`Checkpoint::stopped_cleanly`]) before it certifies the outcome, so only a checkpoint
//! without that mark is recorded here; the checkpoint is sealed, so nobody else can add or
//! remove the mark. A running wipe's checkpoint is never taken for a stopped one: the new wipe
//! holds the drive's exclusive locks, which a running wipe of it would hold instead.
//!
//! The outcome is made by [`Outcome::conclude`] from the checkpoint's steps, with no checks
//! (a checkpoint holds no proof), then [`Outcome::with_interruption`]: it is never PASS.

use std::path::Path;

use crate::certificate::record::MethodInfo;
use crate::device::DriveInfo;
use crate::timestamp;
use crate::verify::outcome::{Evidence, Outcome, Step, StepStatus};

use super::checkpoint::{Checkpoint, PassPhase};
use super::job::Finished;

/// Whether `cp` was left by a process that did not stop its wipe cleanly.
pub fn stopped_uncleanly(cp: &Checkpoint) -> bool {
    !cp.stopped_cleanly
}

/// The interrupted attempt of `cp`, on `drive` (the drive the checkpoint was proved to belong
/// to), as a finished wipe to record. `dir` is the checkpoint directory: the time its file was
/// last written is the last moment the wipe is known to have run.
pub fn attempt(cp: &Checkpoint, drive: DriveInfo, dir: &Path) -> Finished {
    let last_written = std::fs::metadata(Checkpoint::file(dir, &cp.id))
        .and_then(|m| m.modified())
        .map(|t| timestamp::format(t.into()))
        .ok();
    let found = timestamp::now();
    let steps = steps_done(cp);
    let reason = reason(cp, &steps, last_written.as_deref(), &found);
    let evidence = Evidence {
        spec: cp.verify,
        verify_passes: cp.plan.verify_passes,
        plan: None,
        checks: Vec::new(),
    };
    let outcome = Outcome::conclude(steps, evidence, Vec::new()).with_interruption(reason);
    Finished {
        wipe_id: cp.id.to_string(),
        drive,
        method: MethodInfo::overwrite(&cp.plan),
        hidden_areas: cp.hidden_areas.clone(),
        started_at: cp.started_at.clone(),
        ended_at: last_written.unwrap_or(found),
        outcome,
        // The checkpoint is set aside by the new wipe, not by recording this attempt.
        checkpoints: None,
    }
}

/// The checkpoint's steps, the one it stopped in counted up to its durable offset (a running
/// pass adds its bytes to the step only when it ends).
fn steps_done(cp: &Checkpoint) -> Vec<Step> {
    let mut steps = cp.steps.clone();
    if let Some(p) = &cp.position
        && p.phase == PassPhase::Write
        && let Some(step) = steps.get_mut(p.step as usize - 1)
        && step.status == StepStatus::Interrupted
    {
        let from = step.resumed_at.last().copied().unwrap_or(0);
        step.bytes_written += p.offset.saturating_sub(from);
        step.stopped_at = Some(p.offset);
    }
    for step in steps
        .iter_mut()
        .filter(|s| s.status == StepStatus::Interrupted)
    {
        step.notes
            .push("found interrupted after an unclean stop of the wipe's process".into());
    }
    steps
}

/// What the certificate says first: an unclean stop, when, and what had been done by then.
fn reason(cp: &Checkpoint, steps: &[Step], last_written: Option<&str>, found: &str) -> String {
    let completed = steps
        .iter()
        .filter(|s| s.status == StepStatus::Completed)
        .count();
    let written: u64 = steps.iter().map(|s| s.bytes_written).sum();
    let at = match &cp.position {
        Some(p) if p.phase == PassPhase::Write => {
            format!(
                "; pass {} was being written, durable up to byte {}",
                p.step, p.offset
            )
        }
        Some(p) => format!("; pass {} was being verified", p.step),
        None => String::new(),
    };
    let last = last_written
        .map(|t| format!("its last checkpoint was written {t} and "))
        .unwrap_or_default();
    format!(
        "found after an unclean stop: the process running this wipe ended without recording it \
         (it was killed, crashed or lost power); {last}was found {found} when the drive was \
         wiped again. By then {completed} of {} passes were completed and {written} bytes \
         written{at}",
        steps.len()
    )
}

#[cfg(test)]
mod tests {
    use super::super::checkpoint::tests::cp;
    use super::*;
    use crate::verify::WipeResult;

    #[test]
    fn an_unclean_stop_is_incomplete_and_says_what_was_done() {
        let mut c = cp(Some("SN1"), "/dev/sdb");
        c.steps[0].status = StepStatus::Interrupted;
        c.steps[0].bytes_written = 0;
        assert!(stopped_uncleanly(&c));
        let steps = steps_done(&c);
        assert_eq!(steps[0].bytes_written, 4096);
        let why = reason(
            &c,
            &steps,
            Some("2026-01-01T00:00:05Z"),
            "2026-01-02T00:00:00Z",
        );
        assert!(why.starts_with("found after an unclean stop"), "{why}");
        assert!(
            why.contains("0 of 1 passes were completed and 4096 bytes written; pass 1"),
            "{why}"
        );
        let evidence = Evidence {
            spec: c.verify,
            verify_passes: c.plan.verify_passes,
            plan: None,
            checks: Vec::new(),
        };
        let outcome = Outcome::conclude(steps, evidence, Vec::new()).with_interruption(why);
        assert_eq!(outcome.result(), WipeResult::Incomplete);
        assert!(outcome.failure_reasons()[0].starts_with("found after an unclean stop"));
        c.stopped_cleanly = true;
        assert!(!stopped_uncleanly(&c));
    }
}
