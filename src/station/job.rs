//! One drive's overwrite wipe, from plan to outcome: passes, verification, checkpoints and
//! resume. This is the flow of ARCHITECTURE.md for overwrite methods; firmware methods and the
//! certificate hang off the same [`Finished`] value.

use crate::certificate::record::MethodInfo;
use crate::device::{DriveInfo, Target};
use crate::erase::engine::{self, ErrorPolicy, PassEnd, PassOptions};
use crate::erase::firmware::hidden::HiddenArea;
use crate::erase::{Event, OverwritePlan, Pattern, Phase, Sink, StopFlag};
use crate::timestamp;
use crate::verify::full::verify_full;
use crate::verify::outcome::{
    Check, Evidence, Outcome, PlanSummary, Step, StepAction, StepStatus, VerifyMode, VerifySpec,
};
use crate::verify::plan::{PlanParams, SamplePlan};
use crate::verify::sample::{Expected, verify_plan};

use super::checkpoint::{Checkpoint, CheckpointStore, Hex32, PassPhase, Position};
use super::resume::{drive_key, take_fingerprint};

/// What to run on a drive.
#[derive(Debug, Clone)]
pub struct WipeSpec {
    pub plan: OverwritePlan,
    pub verify: VerifySpec,
    pub on_error: ErrorPolicy,
}

/// A finished (or stopped) wipe of one drive.
#[derive(Debug, Clone)]
pub struct Finished {
    /// Id of the wipe (stable across resumes).
    pub wipe_id: String,
    pub drive: DriveInfo,
    /// The method as the certificate describes it.
    pub method: MethodInfo,
    /// Hidden areas found (and what was done about them).
    pub hidden_areas: Vec<HiddenArea>,
    pub started_at: String,
    pub ended_at: String,
    pub outcome: Outcome,
    /// Where the wipe's checkpoint is, if it keeps one.
    pub(crate) checkpoints: Option<CheckpointStore>,
}

impl Finished {
    /// Call once the result is recorded durably (certificate written): a finished wipe's
    /// checkpoint is removed; an incomplete one's stays for `--resume`.
    pub fn settle(&self) {
        if let Some(store) = &self.checkpoints
            && self.outcome.result() != crate::verify::WipeResult::Incomplete
            && let Ok(id) = uuid::Uuid::parse_str(&self.wipe_id)
        {
            store.remove(&id);
        }
    }
}

/// A wipe of one open drive.
pub struct Job {
    target: Target,
    drive: DriveInfo,
    state: Checkpoint,
    checkpoints: CheckpointStore,
    pass_opts: PassOptions,
    problems: Vec<String>,
    /// Checks read by this process. A checkpoint holds none: what a resumed wipe's PASS
    /// depends on is read again.
    checks: Vec<Check>,
}

impl Job {
    /// A new wipe with a fresh id and sampling seed.
    pub fn new(
        target: Target,
        drive: DriveInfo,
        spec: WipeSpec,
        checkpoints: CheckpointStore,
        pass_opts: PassOptions,
    ) -> Result<Job, String> {
        let seed = crate::verify::plan::random_seed()
            .map_err(|e| format!("the OS random number generator failed: {e}"))?;
        let steps = spec
            .plan
            .passes
            .iter()
            .enumerate()
            .map(|(i, p)| Step::new(i as u32 + 1, StepAction::Overwrite { pattern: p.clone() }))
            .collect();
        let state = Checkpoint {
            version: super::checkpoint::VERSION,
            id: uuid::Uuid::new_v4(),
            drive: drive_key(&target, &drive),
            plan: spec.plan,
            verify: spec.verify,
            on_error: spec.on_error,
            seed: Hex32(seed),
            started_at: timestamp::now(),
            steps,
            position: None,
            fingerprint: Vec::new(),
            hidden_areas: Vec::new(),
            stopped_cleanly: false,
            seal: None,
        };
        Ok(Job {
            target,
            drive,
            state,
            checkpoints,
            pass_opts: PassOptions {
                on_error: spec.on_error,
                ..pass_opts
            },
            problems: Vec::new(),
            checks: Vec::new(),
        })
    }

    /// Continues an interrupted wipe. Get `state` from [`super::resume::claim`], which proves
    /// that the drive is the one the wipe started on.
    pub fn resume(
        target: Target,
        drive: DriveInfo,
        mut state: Checkpoint,
        checkpoints: CheckpointStore,
        pass_opts: PassOptions,
    ) -> Job {
        let on_error = state.on_error;
        // Running again: until this process stops it cleanly, the checkpoint says it did not.
        state.stopped_cleanly = false;
        restart_if_proof_is_lost(&mut state);
        Job {
            target,
            drive,
            state,
            checkpoints,
            pass_opts: PassOptions {
                on_error,
                ..pass_opts
            },
            problems: Vec::new(),
            checks: Vec::new(),
        }
    }

    /// The wipe's id.
    pub fn id(&self) -> String {
        self.state.id.to_string()
    }

    /// The drive being wiped.
    pub fn drive(&self) -> &DriveInfo {
        &self.drive
    }

    /// The bytes the whole wipe writes and reads (every pass and its verification, sampled
    /// reads estimated from the coverage): what its progress and time left are measured by.
    pub fn work_bytes(&self) -> u64 {
        let size = self.target.geometry().size_bytes;
        let passes = self.state.plan.passes.len();
        let check = match self.state.verify.mode {
            VerifyMode::None => 0,
            VerifyMode::Full => size,
            _ => (size as u128 * self.state.verify.coverage_ppm as u128 / 1_000_000) as u64,
        };
        let checks = (0..passes).filter(|i| self.state.plan.verifies(*i)).count() as u64;
        passes as u64 * size + checks * check
    }

    fn save(&mut self, sink: &dyn Sink) {
        if let Err(e) = self.checkpoints.save(&self.state) {
            sink.event(Event::Notice {
                message: format!("{e}; an interruption now could not be resumed"),
            });
        }
    }

    /// Runs the wipe to its end, or until `stop` is set.
    pub fn run(mut self, sink: &dyn Sink, stop: &StopFlag) -> Finished {
        // ATA drives first get back what a Host Protected Area hides, so the overwrite
        // reaches it.
        if matches!(
            self.drive.transport,
            crate::device::Transport::Sata
                | crate::device::Transport::Sas
                | crate::device::Transport::Scsi
                | crate::device::Transport::Usb
        ) {
            let caps = super::firmware::capabilities_of(&self.target, self.drive.transport);
            let found = super::firmware::restore_hidden_areas(
                &mut self.target,
                &mut self.drive,
                &caps,
                sink,
            );
            if !found.is_empty() {
                // A resume after a power cycle finds the area again: the first finding stands.
                if self.state.hidden_areas.is_empty() {
                    self.state.hidden_areas = found;
                }
                if self.state.drive.size_bytes != self.drive.size_bytes {
                    self.state.drive.native_size_bytes = Some(self.drive.size_bytes);
                }
            }
        }
        let geometry = self.target.geometry();
        // A wipe that started with the hidden area restored must go on over the same bytes: its
        // positions and sample plan are for the native size.
        if let Some(native) = self.state.drive.native_size_bytes
            && geometry.size_bytes != native
        {
            self.problems.push(format!(
                "{} now shows {} bytes, but this wipe started over {native} bytes with its hidden \
                 area restored, and restoring it failed this time; start a new wipe \
                 (wipeproof wipe without --resume)",
                self.drive.path, geometry.size_bytes
            ));
            return self.finish(None, sink);
        }
        let seed = self.state.seed.0;
        let plan = match SamplePlan::build(PlanParams {
            size_bytes: geometry.size_bytes,
            sector_size: geometry.logical_sector_size,
            coverage_ppm: self.state.verify.coverage_ppm,
            seed,
        }) {
            Ok(p) => p,
            Err(e) => {
                self.problems
                    .push(format!("cannot build the sampling plan: {e}"));
                return self.finish(None, sink);
            }
        };
        self.save(sink);
        let passes = self.state.plan.passes.clone();
        for (idx, spec) in passes.iter().enumerate() {
            if stop.is_stopped() {
                break;
            }
            if !self.run_pass(idx, spec, &plan, sink, stop) {
                break;
            }
        }
        self.finish(Some(&plan), sink)
    }

    /// Writes and, if required, verifies one pass. Returns false when the wipe must stop.
    fn run_pass(
        &mut self,
        idx: usize,
        spec: &crate::erase::PassPattern,
        plan: &SamplePlan,
        sink: &dyn Sink,
        stop: &StopFlag,
    ) -> bool {
        let number = idx as u32 + 1;
        let total = self.state.plan.passes.len();
        let size = self.target.geometry().size_bytes;
        let mode = self.state.verify.mode;
        let verify_this = mode != VerifyMode::None && self.state.plan.verifies(idx);
        let step_done = self.state.steps[idx].status == StepStatus::Completed;
        let check_done = self
            .checks
            .iter()
            .any(|c| c.step() == number && !c.interrupted());
        if step_done && (!verify_this || check_done) {
            return true;
        }
        let position = self.state.position.clone().filter(|p| p.step == number);
        // A random pass that was started goes on with the keystream it started with, sealed in
        // its checkpoint; any other pass gets a fresh pattern.
        let stored = position.as_ref().and_then(|p| p.keystream.clone());
        let (pattern, mut sealed) = match stored {
            Some(sealed) if matches!(spec, crate::erase::PassPattern::Random) => (
                Pattern::Random(self.checkpoints.open_keystream(&sealed)),
                Some(sealed),
            ),
            _ => match Pattern::new(spec) {
                Ok(p) => (p, None),
                Err(e) => {
                    self.problems.push(e.to_string());
                    return false;
                }
            },
        };
        let random = !pattern.is_periodic();

        // Decide where writing starts (None: the pass is written, only verification is left).
        let mut write_from = None;
        if !step_done {
            let resume_at = position
                .as_ref()
                .filter(|p| p.phase == PassPhase::Write)
                .map(|p| p.offset)
                .unwrap_or(0);
            let from = if random && resume_at > 0 && sealed.is_none() {
                sink.event(Event::Notice {
                    message: format!(
                        "pass {number} (random) restarts from the beginning: its checkpoint \
                         holds no keystream to continue with"
                    ),
                });
                0
            } else {
                resume_at
            };
            write_from = Some(from);
        } else if random && verify_this && sealed.is_none() {
            sink.event(Event::Notice {
                message: format!(
                    "pass {number} (random) is written again: its checkpoint holds no keystream \
                     to verify it against"
                ),
            });
            let step = &mut self.state.steps[idx];
            step.status = StepStatus::NotStarted;
            step.notes
                .push("rewritten after an interruption during verification".into());
            write_from = Some(0);
        }
        if let (Pattern::Random(keystream), None) = (&pattern, &sealed) {
            match self.checkpoints.seal_keystream(keystream) {
                Ok(s) => sealed = Some(s),
                Err(e) => sink.event(Event::Notice {
                    message: format!(
                        "cannot keep the keystream of pass {number} in the checkpoint ({e}); \
                         should this wipe be interrupted, the pass is written again from its \
                         first byte"
                    ),
                }),
            }
        }

        if let Some(from) = write_from {
            let step = &mut self.state.steps[idx];
            if step.started_at.is_none() || from == 0 {
                step.started_at = Some(timestamp::now());
            }
            if from > 0 {
                step.resumed_at.push(from);
            }
            step.status = StepStatus::Interrupted;
            sink.event(Event::PhaseStarted {
                phase: Phase::Write {
                    pass: number as usize,
                    passes: total,
                    pattern: spec.describe(),
                },
                done: from,
                total: size,
            });
            let report = {
                let state = &mut self.state;
                let store = &self.checkpoints;
                let target = &self.target;
                let mut on_checkpoint = |offset: u64| {
                    // What the drive holds just before `offset` (synced) binds the checkpoint
                    // to this drive. If it cannot be read, the last fingerprint stays: it no
                    // longer matches once overwritten, and a resume is then refused, never
                    // continued on the wrong drive.
                    match take_fingerprint(target, offset) {
                        Ok(fp) if !fp.is_empty() => state.fingerprint = fp,
                        Ok(_) => {}
                        Err(e) => sink.event(Event::Notice {
                            message: format!(
                                "cannot read back what was written before offset {offset} ({e})"
                            ),
                        }),
                    }
                    if state.fingerprint.is_empty() {
                        // Nothing this wipe wrote could be read back: the first pass stopped
                        // before its first byte (a signal right after the first checkpoint),
                        // or the read failed. A write position would then name writes that
                        // no resume can recognise the drive by, so none is recorded; writes
                        // that were made are still recorded, and a resume refuses them.
                        state.position = None;
                        if offset > 0 {
                            state.steps[idx].stopped_at = Some(offset);
                        }
                        if let Err(e) = store.save(state) {
                            sink.event(Event::Notice {
                                message: format!("{e}; an interruption now could not be resumed"),
                            });
                        }
                        return;
                    }
                    state.steps[idx].stopped_at = Some(offset);
                    state.position = Some(Position {
                        step: number,
                        phase: PassPhase::Write,
                        offset,
                        keystream: sealed.clone(),
                    });
                    if let Err(e) = store.save(state) {
                        sink.event(Event::Notice {
                            message: format!("{e}; an interruption now could not be resumed"),
                        });
                    }
                };
                engine::write_pass(
                    &self.target,
                    &pattern,
                    from,
                    &self.pass_opts,
                    sink,
                    stop,
                    &mut on_checkpoint,
                )
            };
            let step = &mut self.state.steps[idx];
            step.bytes_written += report.bytes_written;
            step.errors.extend(report.errors);
            step.ended_at = Some(timestamp::now());
            let ok = matches!(report.end, PassEnd::Completed);
            sink.event(Event::PhaseFinished { ok });
            match report.end {
                PassEnd::Completed => {
                    step.status = StepStatus::Completed;
                    step.stopped_at = None;
                }
                PassEnd::Interrupted { offset } => {
                    step.status = StepStatus::Interrupted;
                    // Stopped before the first byte of a wipe that has written nothing: there
                    // is no write to record (and none a fingerprint could bind).
                    if offset > 0 || !self.state.fingerprint.is_empty() {
                        step.stopped_at = Some(offset);
                    }
                    return false;
                }
                PassEnd::Aborted { reason, .. } => {
                    step.status = StepStatus::Failed;
                    step.notes.push(reason);
                    return false;
                }
                PassEnd::Gone { reason, offset } => {
                    step.status = StepStatus::Failed;
                    step.stopped_at = Some(offset);
                    step.notes.push(reason.clone());
                    self.problems.push(reason);
                    return false;
                }
            }
        }

        if !verify_this {
            return true;
        }
        // Without a fingerprint of what the pass wrote, a position could not be checked on
        // resume (see `on_checkpoint`): the checkpoint then records the writes only.
        self.state.position = (!self.state.fingerprint.is_empty()).then_some(Position {
            step: number,
            phase: PassPhase::Verify,
            offset: size,
            keystream: sealed,
        });
        self.save(sink);
        let check = self.verify_pass(number, &pattern, plan, sink, stop);
        self.checks.retain(|c| c.step() != number);
        // Go on only after a passing check: a failed one already decides FAIL.
        let go_on = check.passed();
        self.checks.push(check);
        // The pattern (and a random pass's key) is dropped, and zeroized, here.
        drop(pattern);
        go_on
    }

    fn verify_pass(
        &mut self,
        number: u32,
        pattern: &Pattern,
        plan: &SamplePlan,
        sink: &dyn Sink,
        stop: &StopFlag,
    ) -> Check {
        let spec = self.state.verify;
        let size = self.target.geometry().size_bytes;
        let check = match spec.mode {
            VerifyMode::Full => {
                sink.event(Event::PhaseStarted {
                    phase: Phase::Verify {
                        pass: number as usize,
                        mode: "full".into(),
                    },
                    done: 0,
                    total: size,
                });
                verify_full(&self.target, pattern, plan, number, sink, stop)
            }
            _ => {
                sink.event(Event::PhaseStarted {
                    phase: Phase::Verify {
                        pass: number as usize,
                        mode: spec.describe(),
                    },
                    done: 0,
                    total: plan.bytes(),
                });
                verify_plan(
                    &self.target,
                    plan,
                    Expected::Pattern(pattern),
                    number,
                    sink,
                    stop,
                )
            }
        };
        sink.event(Event::PhaseFinished { ok: check.passed() });
        if let Some(g) = check.gone() {
            self.problems.push(g.to_string());
        }
        check
    }

    fn finish(mut self, plan: Option<&SamplePlan>, sink: &dyn Sink) -> Finished {
        let mode = self.state.verify.mode;
        let evidence = Evidence {
            spec: self.state.verify,
            verify_passes: self.state.plan.verify_passes,
            plan: plan
                .filter(|_| mode != VerifyMode::None)
                .map(PlanSummary::of),
            checks: std::mem::take(&mut self.checks),
        };
        let outcome = Outcome::conclude(
            self.state.steps.clone(),
            evidence,
            std::mem::take(&mut self.problems),
        );
        // The checkpoint stays until the result is on record (see `Finished::settle`): a crash
        // before the certificate is written must not lose a finished wipe. It says this process
        // stopped the wipe and records it (a killed process leaves no such mark, see
        // `super::unclean`).
        self.state.stopped_cleanly = true;
        self.save(sink);
        Finished {
            wipe_id: self.state.id.to_string(),
            drive: self.drive,
            method: MethodInfo::overwrite(&self.state.plan),
            hidden_areas: self.state.hidden_areas,
            started_at: self.state.started_at,
            ended_at: timestamp::now(),
            outcome,
            checkpoints: Some(self.checkpoints),
        }
    }
}

/// A wipe whose every pass must be verified can only resume while no verified pass has been
/// overwritten by the next: a check made before the interruption is not carried over (the file
/// that would carry it proves nothing), and the content it read is gone. Such a wipe starts
/// again from its first pass, with the same id and seed.
fn restart_if_proof_is_lost(state: &mut Checkpoint) {
    if state.verify.mode == VerifyMode::None
        || state.plan.verify_passes != crate::erase::VerifyPasses::All
    {
        return;
    }
    let overwritten = state.steps.iter().enumerate().any(|(i, s)| {
        s.status == StepStatus::Completed
            && state.steps[i + 1..]
                .iter()
                .any(|later| later.status != StepStatus::NotStarted || later.bytes_written > 0)
    });
    if !overwritten {
        return;
    }
    for step in &mut state.steps {
        let mut fresh = Step::new(step.number, step.action.clone());
        fresh.notes = std::mem::take(&mut step.notes);
        if fresh.number == 1 {
            fresh.notes.push(
                "the wipe restarted here after an interruption: the verification of a pass \
                 cannot be read again once a later pass has overwritten it"
                    .into(),
            );
        }
        *step = fresh;
    }
    state.position = None;
}
