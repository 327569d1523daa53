//! The outcome of a wipe: what each step did, what verification found, and the result.
//!
//! ARCHITECTURE.md invariant 2 lives here: [`Outcome::conclude`] is the only way to make an
//! [`Outcome`], and it gives PASS only when every step completed without error, every pass the
//! method requires to be verified was verified by a [`Check`] (a proof only the code that read
//! the drive can make, see [`super::check`]), every check passed, and the last step's check read
//! the drive's final state. Which passes need a check follows from the steps and the method's
//! rule (the last pass, or every pass), never from a list a caller hands in. Interrupted or
//! unverified work is INCOMPLETE; errors and mismatches are FAIL. An `Outcome` cannot be
//! deserialized, and a [`CheckRecord`] loaded from a file never counts as a check, so a PASS
//! cannot be conjured from a file either.

use serde::{Deserialize, Serialize};

pub use super::check::{Check, CheckRecord};
use super::plan::{ALGORITHM, SamplePlan, format_ppm};
use crate::erase::engine::ErrorRange;
use crate::erase::{PassPattern, VerifyPasses};

/// The overall result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum WipeResult {
    Pass,
    Fail,
    Incomplete,
}

impl WipeResult {
    pub fn as_str(&self) -> &'static str {
        match self {
            WipeResult::Pass => "PASS",
            WipeResult::Fail => "FAIL",
            WipeResult::Incomplete => "INCOMPLETE",
        }
    }

    /// The result a register or record spells as `s` (PASS, FAIL, INCOMPLETE).
    pub fn parse(s: &str) -> Option<WipeResult> {
        [WipeResult::Pass, WipeResult::Fail, WipeResult::Incomplete]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    Completed,
    Interrupted,
    Failed,
    NotStarted,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StepAction {
    /// An overwrite pass.
    Overwrite { pattern: PassPattern },
    /// A command executed by the drive's firmware.
    Firmware { command: String, detail: String },
}

impl StepAction {
    pub fn describe(&self) -> String {
        match self {
            StepAction::Overwrite { pattern } => format!("overwrite {}", pattern.describe()),
            StepAction::Firmware { command, .. } => command.clone(),
        }
    }
}

/// One step of a wipe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// 1-based.
    pub number: u32,
    pub action: StepAction,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub bytes_written: u64,
    pub status: StepStatus,
    /// Ranges that could not be written.
    pub errors: Vec<ErrorRange>,
    /// Offsets at which the step was resumed after an interruption.
    pub resumed_at: Vec<u64>,
    /// Where an interrupted step stopped (durable up to here).
    pub stopped_at: Option<u64>,
    pub notes: Vec<String>,
}

impl Step {
    pub fn new(number: u32, action: StepAction) -> Step {
        Step {
            number,
            action,
            started_at: None,
            ended_at: None,
            bytes_written: 0,
            status: StepStatus::NotStarted,
            errors: Vec::new(),
            resumed_at: Vec::new(),
            stopped_at: None,
            notes: Vec::new(),
        }
    }
}

/// Verification modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerifyMode {
    None,
    Sample,
    Full,
    /// Sample regions hashed before a firmware erase and compared after it.
    Fingerprint,
}

/// The verification a user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifySpec {
    pub mode: VerifyMode,
    /// Sample coverage in parts per million (also used for the sample digest of a full check).
    pub coverage_ppm: u32,
}

impl VerifySpec {
    /// Parses `none`, `full`, `sample` or `sample:PCT`.
    pub fn parse(s: &str) -> Result<VerifySpec, String> {
        let default = 100_000;
        match s.trim() {
            "none" => Ok(VerifySpec {
                mode: VerifyMode::None,
                coverage_ppm: default,
            }),
            "full" => Ok(VerifySpec {
                mode: VerifyMode::Full,
                coverage_ppm: default,
            }),
            "sample" => Ok(VerifySpec {
                mode: VerifyMode::Sample,
                coverage_ppm: default,
            }),
            other => match other.strip_prefix("sample:") {
                Some(pct) => super::plan::parse_percent(pct)
                    .map(|ppm| VerifySpec {
                        mode: VerifyMode::Sample,
                        coverage_ppm: ppm,
                    })
                    .ok_or_else(|| {
                        format!("`{pct}`: sample coverage must be a percentage above 0 and at most 100, e.g. sample:10")
                    }),
                None => Err(format!(
                    "`{other}`: expected none, sample, sample:PCT (e.g. sample:10) or full"
                )),
            },
        }
    }

    pub fn describe(&self) -> String {
        match self.mode {
            VerifyMode::None => "none".into(),
            VerifyMode::Full => "full".into(),
            VerifyMode::Sample | VerifyMode::Fingerprint => format!(
                "sample:{}",
                format_ppm(self.coverage_ppm).trim_end_matches('%')
            ),
        }
    }
}

/// The sampling plan as recorded: enough to rebuild it exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSummary {
    pub algorithm: String,
    pub seed: String,
    pub size_bytes: u64,
    pub sector_size: u32,
    pub requested_coverage_ppm: u32,
    pub coverage_ppm: u32,
    pub subsections: u64,
    pub regions_per_subsection: u64,
    pub region_size: u64,
    pub region_count: u64,
}

impl PlanSummary {
    pub fn of(plan: &SamplePlan) -> PlanSummary {
        PlanSummary {
            algorithm: ALGORITHM.into(),
            seed: hex::encode(plan.params.seed),
            size_bytes: plan.params.size_bytes,
            sector_size: plan.params.sector_size,
            requested_coverage_ppm: plan.params.coverage_ppm,
            coverage_ppm: plan.coverage_ppm(),
            subsections: plan.subsections,
            regions_per_subsection: plan.regions_per_subsection,
            region_size: plan.region_size,
            region_count: plan.regions.len() as u64,
        }
    }
}

/// All verification of a wipe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verification {
    pub spec: VerifySpec,
    pub verify_passes: VerifyPasses,
    pub plan: Option<PlanSummary>,
    pub checks: Vec<CheckRecord>,
}

/// What verification of a wipe produced in this process: what was asked, and the checks made.
#[derive(Debug, Clone)]
pub struct Evidence {
    pub spec: VerifySpec,
    pub verify_passes: VerifyPasses,
    pub plan: Option<PlanSummary>,
    /// Checks read by this process (a check from an earlier run cannot be carried over).
    pub checks: Vec<Check>,
}

impl Verification {
    /// The digest of the final state of the drive (from the last check), if any.
    pub fn final_digest(&self) -> Option<&str> {
        self.checks.last().and_then(|c| c.digest.as_deref())
    }
}

/// The concluded outcome of a wipe. See the module docs for the rules.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    result: WipeResult,
    steps: Vec<Step>,
    verification: Verification,
    failure_reasons: Vec<String>,
}

impl Outcome {
    /// Decides the result from what happened. `problems` are failures found outside steps and
    /// checks (a drive that vanished, a hidden area that could not be removed).
    pub fn conclude(steps: Vec<Step>, evidence: Evidence, problems: Vec<String>) -> Outcome {
        let mut fail = problems;
        let mut incomplete = Vec::new();
        if steps.is_empty() {
            incomplete.push("no erase step was run".to_string());
        }
        for s in &steps {
            let what = s.action.describe();
            for e in &s.errors {
                fail.push(format!(
                    "step {} ({what}) could not write {} bytes at offset {}: {}",
                    s.number, e.len, e.offset, e.error
                ));
            }
            match s.status {
                StepStatus::Completed => {}
                StepStatus::Failed => {
                    let why = s.notes.last().cloned().unwrap_or_else(|| "failed".into());
                    fail.push(format!("step {} ({what}) failed: {why}", s.number));
                }
                StepStatus::Interrupted => incomplete.push(format!(
                    "step {} ({what}) was interrupted{}",
                    s.number,
                    s.stopped_at
                        .map(|o| format!(" at offset {o}"))
                        .unwrap_or_default()
                )),
                StepStatus::NotStarted => {
                    incomplete.push(format!("step {} ({what}) was not run", s.number))
                }
            }
        }
        if evidence.spec.mode == VerifyMode::None {
            incomplete.push(
                "not verified (--verify none): without read-back there is no proof of erasure"
                    .into(),
            );
        }
        for c in evidence.checks.iter().map(Check::record) {
            if c.mismatch_count > 0 {
                let first = c
                    .mismatches
                    .iter()
                    .take(5)
                    .map(|m| format!("{} (+{} bytes)", m.offset, m.len))
                    .collect::<Vec<_>>()
                    .join(", ");
                fail.push(format!(
                    "verification of step {} found {} mismatching range(s); first at offsets {first}",
                    c.step, c.mismatch_count
                ));
            }
            for u in &c.unreadable {
                fail.push(format!(
                    "verification of step {} could not read {} bytes at offset {}: {}",
                    c.step, u.len, u.offset, u.error
                ));
            }
            if !c.passed && c.mismatch_count == 0 && c.unreadable.is_empty() {
                if c.interrupted {
                    incomplete.push(format!("verification of step {} was interrupted", c.step));
                } else {
                    fail.push(format!(
                        "verification of step {} failed: {}",
                        c.step,
                        c.detail.clone().unwrap_or_else(|| "see the check".into())
                    ));
                }
            }
        }
        if evidence.spec.mode != VerifyMode::None {
            for n in required_checks(&steps, evidence.verify_passes) {
                if !evidence.checks.iter().any(|c| c.step() == n) {
                    incomplete.push(format!("step {n} was not verified"));
                }
            }
            // Whatever the method asks, a PASS stands on a passing read of what the drive holds
            // now: the check of the last step.
            if let Some(last) = steps.last()
                && !evidence
                    .checks
                    .iter()
                    .any(|c| c.step() == last.number && c.passed() && c.record().bytes_read > 0)
                && fail.is_empty()
                && incomplete.is_empty()
            {
                incomplete.push(format!(
                    "the final state of the drive (step {}) was not read back",
                    last.number
                ));
            }
        }
        let verification = Verification {
            spec: evidence.spec,
            verify_passes: evidence.verify_passes,
            plan: evidence.plan,
            checks: evidence.checks.iter().map(|c| c.record().clone()).collect(),
        };
        let (result, failure_reasons) = if !fail.is_empty() {
            fail.extend(incomplete);
            (WipeResult::Fail, fail)
        } else if !incomplete.is_empty() {
            (WipeResult::Incomplete, incomplete)
        } else {
            (WipeResult::Pass, Vec::new())
        };
        Outcome {
            result,
            steps,
            verification,
            failure_reasons,
        }
    }

    pub fn result(&self) -> WipeResult {
        self.result
    }
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }
    pub fn verification(&self) -> &Verification {
        &self.verification
    }
    pub fn failure_reasons(&self) -> &[String] {
        &self.failure_reasons
    }

    /// The same outcome with a failure found outside the steps (the drive was unplugged while
    /// it was being wiped): FAIL, with this reason first, as [`Outcome::conclude`] would give
    /// with it among its problems. It can only make a result worse, never PASS.
    pub fn with_problem(mut self, reason: String) -> Outcome {
        self.failure_reasons.insert(0, reason);
        self.result = WipeResult::Fail;
        self
    }
}

impl Outcome {
    /// The same outcome with a reason why the wipe did not end, first: INCOMPLETE, or FAIL if it
    /// already was. Like [`Outcome::with_problem`] it can only make a result worse, never PASS.
    pub fn with_interruption(mut self, reason: String) -> Outcome {
        self.failure_reasons.insert(0, reason);
        if self.result != WipeResult::Fail {
            self.result = WipeResult::Incomplete;
        }
        self
    }
}

/// The steps whose verification the method requires: every step, or the last one.
fn required_checks(steps: &[Step], verify_passes: VerifyPasses) -> Vec<u32> {
    match verify_passes {
        VerifyPasses::All => steps.iter().map(|s| s.number).collect(),
        VerifyPasses::Last => steps.last().map(|s| s.number).into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(n: u32, status: StepStatus) -> Step {
        let mut s = Step::new(
            n,
            StepAction::Overwrite {
                pattern: PassPattern::Constant { byte: 0 },
            },
        );
        s.status = status;
        s
    }

    fn record(n: u32, passed: bool) -> CheckRecord {
        CheckRecord {
            step: n,
            mode: VerifyMode::Sample,
            bytes_read: 1,
            passed,
            interrupted: false,
            mismatch_count: 0,
            mismatches: vec![],
            unreadable: vec![],
            digest: Some("00".into()),
            before_digest: None,
            detail: None,
        }
    }

    fn check(n: u32, passed: bool) -> Check {
        Check::read_back(record(n, passed), None)
    }

    fn verification(mode: VerifyMode, checks: Vec<Check>) -> Evidence {
        Evidence {
            spec: VerifySpec {
                mode,
                coverage_ppm: 100_000,
            },
            verify_passes: VerifyPasses::Last,
            plan: None,
            checks,
        }
    }

    #[test]
    fn pass_needs_completed_steps_and_passed_required_checks() {
        let o = Outcome::conclude(
            vec![
                step(1, StepStatus::Completed),
                step(2, StepStatus::Completed),
            ],
            verification(VerifyMode::Sample, vec![check(2, true)]),
            vec![],
        );
        assert_eq!(o.result(), WipeResult::Pass, "{:?}", o.failure_reasons());
    }

    #[test]
    fn the_method_not_the_caller_decides_which_checks_are_required() {
        let two = || {
            vec![
                step(1, StepStatus::Completed),
                step(2, StepStatus::Completed),
            ]
        };
        // Every pass verified: a check of the last pass alone is not enough.
        let mut e = verification(VerifyMode::Sample, vec![check(2, true)]);
        e.verify_passes = VerifyPasses::All;
        let o = Outcome::conclude(two(), e, vec![]);
        assert_eq!(o.result(), WipeResult::Incomplete);
        assert!(o.failure_reasons()[0].contains("step 1 was not verified"));
        // The last pass verified: a check of an earlier pass does not read the final state.
        let o = Outcome::conclude(
            two(),
            verification(VerifyMode::Sample, vec![check(1, true)]),
            vec![],
        );
        assert_eq!(o.result(), WipeResult::Incomplete);
        assert!(o.failure_reasons()[0].contains("step 2 was not verified"));
    }

    #[test]
    fn a_check_that_read_nothing_is_no_proof_of_the_final_state() {
        let mut r = record(1, true);
        r.bytes_read = 0;
        let o = Outcome::conclude(
            vec![step(1, StepStatus::Completed)],
            verification(VerifyMode::Sample, vec![Check::read_back(r, None)]),
            vec![],
        );
        assert_eq!(o.result(), WipeResult::Incomplete);
        assert!(
            o.failure_reasons()[0].contains("final state"),
            "{:?}",
            o.failure_reasons()
        );
    }

    #[test]
    fn missing_or_interrupted_verification_is_incomplete_never_pass() {
        let o = Outcome::conclude(
            vec![step(1, StepStatus::Completed)],
            verification(VerifyMode::Sample, vec![]),
            vec![],
        );
        assert_eq!(o.result(), WipeResult::Incomplete);
        let mut c = record(1, false);
        c.interrupted = true;
        let c = Check::read_back(c, None);
        let o = Outcome::conclude(
            vec![step(1, StepStatus::Completed)],
            verification(VerifyMode::Sample, vec![c]),
            vec![],
        );
        assert_eq!(o.result(), WipeResult::Incomplete);
        let o = Outcome::conclude(
            vec![step(1, StepStatus::Completed)],
            verification(VerifyMode::None, vec![]),
            vec![],
        );
        assert_eq!(o.result(), WipeResult::Incomplete);
        assert!(o.failure_reasons()[0].contains("--verify none"));
    }

    #[test]
    fn interrupted_or_unrun_step_is_incomplete() {
        for status in [StepStatus::Interrupted, StepStatus::NotStarted] {
            let o = Outcome::conclude(
                vec![step(1, status)],
                verification(VerifyMode::Sample, vec![check(1, true)]),
                vec![],
            );
            assert_eq!(o.result(), WipeResult::Incomplete);
        }
        let o = Outcome::conclude(vec![], verification(VerifyMode::Sample, vec![]), vec![]);
        assert_eq!(o.result(), WipeResult::Incomplete);
    }

    #[test]
    fn write_errors_mismatches_and_problems_are_fail() {
        let mut s = step(1, StepStatus::Completed);
        s.errors.push(ErrorRange {
            offset: 4096,
            len: 512,
            error: "Input/output error".into(),
        });
        let o = Outcome::conclude(
            vec![s],
            verification(VerifyMode::Sample, vec![check(1, true)]),
            vec![],
        );
        assert_eq!(o.result(), WipeResult::Fail);
        assert!(o.failure_reasons()[0].contains("offset 4096"));

        let mut c = record(1, false);
        c.mismatch_count = 1;
        c.mismatches.push(super::super::sample::Mismatch {
            offset: 123,
            len: 1,
            detail: String::new(),
        });
        let c = Check::read_back(c, None);
        let o = Outcome::conclude(
            vec![step(1, StepStatus::Completed)],
            verification(VerifyMode::Sample, vec![c]),
            vec![],
        );
        assert_eq!(o.result(), WipeResult::Fail);
        assert!(o.failure_reasons()[0].contains("123"));

        let o = Outcome::conclude(
            vec![step(1, StepStatus::Completed)],
            verification(VerifyMode::Sample, vec![check(1, true)]),
            vec!["drive vanished".into()],
        );
        assert_eq!(o.result(), WipeResult::Fail);
    }

    #[test]
    fn an_interruption_makes_a_pass_incomplete_and_leaves_a_fail_fail() {
        let pass = Outcome::conclude(
            vec![step(1, StepStatus::Completed)],
            verification(VerifyMode::Sample, vec![check(1, true)]),
            vec![],
        );
        assert_eq!(pass.result(), WipeResult::Pass);
        let o = pass.with_interruption("found after an unclean stop".into());
        assert_eq!(o.result(), WipeResult::Incomplete);
        assert_eq!(o.failure_reasons(), ["found after an unclean stop"]);
        let fail = Outcome::conclude(
            vec![step(1, StepStatus::Completed)],
            verification(VerifyMode::Sample, vec![check(1, true)]),
            vec!["drive vanished".into()],
        );
        let o = fail.with_interruption("stopped".into());
        assert_eq!(o.result(), WipeResult::Fail);
        assert_eq!(o.failure_reasons()[0], "stopped");
    }

    #[test]
    fn verify_spec_parsing() {
        assert_eq!(VerifySpec::parse("sample").unwrap().coverage_ppm, 100_000);
        assert_eq!(
            VerifySpec::parse("sample:2.5").unwrap().coverage_ppm,
            25_000
        );
        assert_eq!(VerifySpec::parse("full").unwrap().mode, VerifyMode::Full);
        assert_eq!(
            VerifySpec::parse("sample:2.5").unwrap().describe(),
            "sample:2.50"
        );
        assert!(VerifySpec::parse("sample:0").is_err());
        assert!(VerifySpec::parse("partial").is_err());
    }
}
