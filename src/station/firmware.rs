//! One drive's firmware erase, from capability check to outcome: hidden areas restored,
//! sample regions fingerprinted, the command run and polled, the regions read again and
//! compared, and the drive's own completion status weighed in.

use crate::certificate::record::MethodInfo;
use crate::device::capabilities::{Capabilities, Transports, read_capabilities};
use crate::device::transport::LinuxDevice;
use crate::device::{DriveInfo, Target, TargetKind, Transport};
use crate::erase::events::Event;
use crate::erase::firmware::hidden::{self, HiddenArea};
use crate::erase::firmware::policy::{MediaClass, Policy};
use crate::erase::firmware::run::{RunOptions, RunStatus, run};
use crate::erase::firmware::{self, FirmwareMethod, media_class};
use crate::erase::{Level, Phase, Sink, StopFlag, VerifyPasses};
use crate::timestamp;
use crate::verify::fingerprint::verify_changed;
use crate::verify::outcome::{
    Check, Evidence, Outcome, PlanSummary, Step, StepAction, StepStatus, VerifyMode, VerifySpec,
};
use crate::verify::plan::{PlanParams, SamplePlan, random_seed};
use crate::verify::sample::{Expected, read_plan};

use super::job::Finished;

/// Opens the command transports of an open drive (they share its exclusive handle).
pub fn open_transports(target: &Target) -> Option<(LinuxDevice, LinuxDevice, u32)> {
    if !matches!(target.kind(), TargetKind::BlockDevice { .. }) {
        return None;
    }
    let scsi = LinuxDevice::from_fd(target.raw_fd()).ok()?;
    let nvme = LinuxDevice::from_fd(target.raw_fd()).ok()?;
    let nsid = nvme.nvme_namespace_id().unwrap_or(1);
    Some((scsi, nvme, nsid))
}

/// Reads what an open drive can do (nothing for image files and loop devices).
pub fn capabilities_of(target: &Target, transport: Transport) -> Capabilities {
    match open_transports(target) {
        Some((mut scsi, mut nvme, nsid)) => {
            let mut t = Transports {
                scsi: Some(&mut scsi),
                nvme: Some(&mut nvme),
                nsid,
            };
            read_capabilities(&mut t, transport)
        }
        None => Capabilities::default(),
    }
}

/// Restores hidden areas of an ATA drive before an erase, then makes the kernel see the
/// native capacity, and `drive` says the size now erased. Returns the findings for the
/// certificate.
pub fn restore_hidden_areas(
    target: &mut Target,
    drive: &mut DriveInfo,
    caps: &Capabilities,
    sink: &dyn Sink,
) -> Vec<HiddenArea> {
    let Some(ata) = &caps.ata else {
        return Vec::new();
    };
    let Some((mut dev, _, _)) = open_transports(target) else {
        return Vec::new();
    };
    let found = hidden::restore(&mut dev, ata);
    for h in &found {
        sink.event(Event::Notice {
            message: format!(
                "{} hides {} sectors: {} ({})",
                h.kind, h.sectors, h.action, h.detail
            ),
        });
    }
    if found.iter().any(|h| !h.remains())
        && let TargetKind::BlockDevice { disk, .. } = target.kind().clone()
    {
        // The kernel caches the capacity: have it read the drive's again.
        let rescan = std::path::Path::new("/sys/block")
            .join(&disk)
            .join("device/rescan");
        let _ = std::fs::write(rescan, "1");
        if let Err(e) = target.refresh_geometry() {
            sink.event(Event::Notice {
                message: format!("could not re-read the capacity after restoring it: {e}"),
            });
        }
        drive.size_bytes = target.geometry().size_bytes;
    }
    found
}

/// A firmware erase, ready to run: the method is resolved and the drive supports it.
pub struct FirmwareJob {
    target: Target,
    drive: DriveInfo,
    method: &'static FirmwareMethod,
    policy: Policy,
    media: MediaClass,
    caps: Capabilities,
    verify: VerifySpec,
    run_opts: RunOptions,
}

impl FirmwareJob {
    /// Resolves `method` (a firmware method name or `purge`) for this drive and checks the
    /// drive offers it. `Err` is a refusal to show the operator; nothing was sent to the drive
    /// but identify commands.
    pub fn prepare(
        target: Target,
        drive: DriveInfo,
        method: &str,
        policy: Policy,
        verify: VerifySpec,
    ) -> Result<FirmwareJob, String> {
        let caps = capabilities_of(&target, drive.transport);
        let media = media_class(drive.media);
        let m = if method == firmware::PURGE {
            firmware::choose_purge(&caps, media, policy).map_err(|advice| {
                format!("refusing to erase {} with purge: {advice}", drive.path)
            })?
        } else {
            firmware::find(method).ok_or_else(|| format!("unknown firmware method {method}"))?
        };
        if let Err(u) = firmware::check_supported(m, &caps) {
            return Err(format!(
                "refusing to erase {} with {}: {}; the drive was not touched",
                drive.path, m.name, u.reason
            ));
        }
        Ok(FirmwareJob {
            target,
            drive,
            method: m,
            policy,
            media,
            caps,
            verify,
            run_opts: RunOptions::default(),
        })
    }

    /// The method that will run.
    pub fn method(&self) -> &'static FirmwareMethod {
        self.method
    }

    pub fn drive(&self) -> &DriveInfo {
        &self.drive
    }

    /// Runs the erase and concludes its outcome.
    pub fn run(mut self, sink: &dyn Sink, stop: &StopFlag) -> Finished {
        let started_at = timestamp::now();
        let wipe_id = uuid::Uuid::new_v4().to_string();
        let info = MethodInfo::firmware(self.method, self.policy, self.media);
        let hidden_areas =
            restore_hidden_areas(&mut self.target, &mut self.drive, &self.caps, sink);
        let mut problems = Vec::new();
        if info.level == Level::Purge {
            for h in hidden_areas.iter().filter(|h| h.remains()) {
                problems.push(format!(
                    "{} hides {} sectors that were not restored: a Purge cannot be claimed",
                    h.kind, h.sectors
                ));
            }
        }
        let mut step = Step::new(
            1,
            StepAction::Firmware {
                command: self.method.command.into(),
                detail: String::new(),
            },
        );
        let mut checks = Vec::new();
        let geometry = self.target.geometry();
        let plan = random_seed().map_err(|e| e.to_string()).and_then(|seed| {
            SamplePlan::build(PlanParams {
                size_bytes: geometry.size_bytes,
                sector_size: geometry.logical_sector_size,
                coverage_ppm: self.verify.coverage_ppm,
                seed,
            })
            .map_err(|e| e.to_string())
        });
        let plan = match plan {
            Ok(p) => Some(p),
            Err(e) => {
                problems.push(format!("cannot build the sampling plan: {e}"));
                None
            }
        };
        let verifying = self.verify.mode != VerifyMode::None;
        let before = match (&plan, verifying) {
            (Some(p), true) => {
                sink.event(Event::PhaseStarted {
                    phase: Phase::Fingerprint,
                    done: 0,
                    total: p.bytes(),
                });
                let r = read_plan(&self.target, p, Expected::Nothing, sink, stop);
                sink.event(Event::PhaseFinished {
                    ok: r.unreadable.is_empty(),
                });
                Some(r)
            }
            _ => None,
        };
        let stopped_early = stop.is_stopped() || before.as_ref().is_some_and(|b| b.interrupted);
        if !stopped_early && problems.is_empty() {
            step.started_at = Some(timestamp::now());
            let (mut scsi, mut nvme, nsid) = match open_transports(&self.target) {
                Some(t) => t,
                None => {
                    problems.push("cannot open the drive for commands".into());
                    return self.finish(
                        wipe_id,
                        info,
                        hidden_areas,
                        started_at,
                        step,
                        checks,
                        plan.as_ref(),
                        problems,
                    );
                }
            };
            let mut t = Transports {
                scsi: Some(&mut scsi),
                nvme: Some(&mut nvme),
                nsid,
            };
            let result = run(self.method, &self.caps, &mut t, &self.run_opts, sink, stop);
            step.ended_at = Some(timestamp::now());
            step.notes = result.notes.clone();
            if let StepAction::Firmware { detail, .. } = &mut step.action {
                *detail = result.notes.join("; ");
            }
            step.status = match &result.status {
                RunStatus::Completed => StepStatus::Completed,
                RunStatus::Failed(why) => {
                    step.notes.push(why.clone());
                    StepStatus::Failed
                }
                RunStatus::Interrupted(why) => {
                    step.notes.push(why.clone());
                    StepStatus::Interrupted
                }
            };
            if step.status == StepStatus::Completed {
                step.bytes_written = geometry.size_bytes;
            }
            if let (Some(p), Some(b), StepStatus::Completed) = (&plan, &before, step.status) {
                sink.event(Event::PhaseStarted {
                    phase: Phase::Verify {
                        pass: 1,
                        mode: "fingerprint".into(),
                    },
                    done: 0,
                    total: p.bytes(),
                });
                let check = verify_changed(&self.target, p, b, 1, sink, stop);
                sink.event(Event::PhaseFinished { ok: check.passed() });
                if let Some(g) = check.gone() {
                    problems.push(g.to_string());
                }
                checks.push(check);
            }
        }
        self.finish(
            wipe_id,
            info,
            hidden_areas,
            started_at,
            step,
            checks,
            plan.as_ref(),
            problems,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        self,
        wipe_id: String,
        method: MethodInfo,
        hidden_areas: Vec<HiddenArea>,
        started_at: String,
        step: Step,
        checks: Vec<Check>,
        plan: Option<&SamplePlan>,
        problems: Vec<String>,
    ) -> Finished {
        let verifying = self.verify.mode != VerifyMode::None;
        let evidence = Evidence {
            spec: self.verify,
            verify_passes: VerifyPasses::Last,
            plan: plan.filter(|_| verifying).map(PlanSummary::of),
            checks,
        };
        let outcome = Outcome::conclude(vec![step], evidence, problems);
        Finished {
            wipe_id,
            drive: self.drive,
            method,
            hidden_areas,
            started_at,
            ended_at: timestamp::now(),
            outcome,
            checkpoints: None,
        }
    }
}
