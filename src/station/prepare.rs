//! Preparing a wipe: each drive opened through the guard (exclusively), identified, and
//! planned for the request, with nothing written. Either every drive of a batch is ready or
//! the batch is refused whole.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::device::discovery::describe_target;
use crate::device::{DriveInfo, Target};
use crate::erase::firmware;

use super::StationError;
use super::Work;
use super::checkpoint::Checkpoint;
use super::context::StationContext;
use super::firmware::FirmwareJob;
use super::job::{Job, WipeSpec};
use super::request::{Erasure, WipeRequest};
use super::resume::{self, Resumable};
use crate::certificate::issue::Issued;
use crate::register::{AssetRef, RegisterError};

/// One drive, ready to wipe.
pub struct Prepared {
    /// How the operator named the drive (the label of its progress and events).
    pub label: String,
    pub work: Work,
    /// The method that will run (a `purge` resolved to the drive's strongest).
    pub method: String,
    /// An interrupted wipe of this drive that a fresh start will discard.
    pub replaces: Option<Checkpoint>,
}

impl Prepared {
    pub fn drive(&self) -> &DriveInfo {
        self.work.drive()
    }
}

/// Opens a drive through the guard and identifies it; an image file on a copy-on-write
/// filesystem only if `allow_cow`. `Err` is the guard's refusal.
pub fn open(
    ctx: &StationContext,
    path: &Path,
    allow_cow: bool,
) -> Result<(Target, DriveInfo), String> {
    let guard = ctx.guard.clone().allowing_cow(allow_cow);
    let target = Target::open_for_erase(path, &guard).map_err(|e| e.to_string())?;
    let mut info = describe_target(&target, &ctx.guard);
    firmware::annotate(&mut info);
    Ok((target, info))
}

/// A drive planned: work to run, or (on resume) a wipe that a crash left certified but not
/// cleared, which is reported with its certificate and never issued again.
pub enum Planned {
    Ready(Box<Prepared>),
    Certified(Box<Issued>),
}

/// Plans one opened drive. `Err` is a refusal to show the operator (nothing was written).
pub fn plan(
    ctx: &StationContext,
    request: &WipeRequest,
    label: String,
    target: Target,
    info: DriveInfo,
) -> Result<Planned, StationError> {
    let checkpoints = ctx.checkpoints.clone();
    match &request.erasure {
        Erasure::Resume { method } => {
            let found = resume::claim(
                &checkpoints,
                &ctx.certificates,
                &ctx.station_key,
                &target,
                &info,
            )
            .map_err(|e| StationError::Request(e.to_string()))?;
            let cp = match found {
                Resumable::Continue(cp) => cp,
                Resumable::Certified {
                    checkpoint,
                    certificate,
                } => {
                    crate::stderr_line!(
                        "wipeproof: {}: wipe {} was already certified {} ({}); that certificate \
                         stands, none is issued again",
                        info.path,
                        checkpoint.id,
                        certificate.record.sanitization.result.as_str(),
                        certificate.pdf.display()
                    );
                    checkpoints.remove(&checkpoint.id);
                    return Ok(Planned::Certified(certificate));
                }
            };
            if let Some(m) = method
                && *m != cp.plan.method
            {
                return Err(StationError::Request(format!(
                    "{} was being wiped with {}, not {m}; resume without --method, or start over",
                    info.path, cp.plan.method
                )));
            }
            let method = cp.plan.method.clone();
            let job = Job::resume(target, info, cp, checkpoints, request.pass_opts);
            Ok(Planned::Ready(Box::new(Prepared {
                label,
                work: Work::Overwrite(job),
                method,
                replaces: None,
            })))
        }
        Erasure::Firmware {
            method,
            policy,
            verify,
        } => {
            let job = FirmwareJob::prepare(target, info, method, *policy, *verify)
                .map_err(|why| StationError::Refused(vec![why]))?;
            Ok(Planned::Ready(Box::new(Prepared {
                label,
                method: job.method().name.to_string(),
                work: Work::Firmware(job),
                replaces: None,
            })))
        }
        Erasure::Overwrite { plan, verify } => {
            let replaces = resume::superseded(&checkpoints, &target, &info)
                .map_err(|e| StationError::Request(e.to_string()))?;
            let spec = WipeSpec {
                plan: plan.clone(),
                verify: *verify,
                on_error: request.on_error,
            };
            let job = Job::new(target, info, spec, checkpoints, request.pass_opts)
                .map_err(StationError::Environment)?;
            Ok(Planned::Ready(Box::new(Prepared {
                label,
                work: Work::Overwrite(job),
                method: plan.method.clone(),
                replaces,
            })))
        }
    }
}

/// A batch of drives, prepared: the work to run, and wipes found already certified on resume.
pub struct Batch {
    pub drives: Vec<Prepared>,
    pub already_certified: Vec<Issued>,
}

/// Prepares a batch: each device named once, every drive cleared by the guard, the asset
/// known, every drive planned. A refusal of any drive refuses the batch, so nothing is erased.
pub fn prepare(
    ctx: &StationContext,
    request: &WipeRequest,
    devices: &[PathBuf],
) -> Result<Batch, StationError> {
    let mut seen = HashSet::new();
    for d in devices {
        let real = std::fs::canonicalize(d).unwrap_or_else(|_| d.clone());
        if !seen.insert(real) {
            return Err(StationError::Request(format!(
                "{} is given twice; name each drive once",
                d.display()
            )));
        }
    }
    let mut opened = Vec::new();
    let mut refusals = Vec::new();
    for d in devices {
        match open(ctx, d, request.allow_cow) {
            Ok((target, info)) => opened.push((d.display().to_string(), target, info)),
            Err(why) => refusals.push(why),
        }
    }
    if !refusals.is_empty() {
        return Err(StationError::Refused(refusals));
    }
    check_asset(ctx, request.asset.as_deref())?;
    // A drive of an asset already retired or destroyed is not wiped unless the request says so,
    // nor one the register ties to another asset than the one named.
    let mut refusals = Vec::new();
    for (_, _, info) in &opened {
        if let Err(e) = check_binding(ctx, request, &info.path, info.serial.as_deref()) {
            refusals.push(e.to_string());
        }
        match asset_of(ctx, request.asset.as_deref(), info, request.rewipe) {
            Ok(_) => {}
            Err(StationError::Register(e)) if is_finished(&e) => refusals.push(e.to_string()),
            Err(e) => return Err(e),
        }
    }
    if !refusals.is_empty() {
        return Err(StationError::Refused(refusals));
    }
    let mut prepared = Vec::new();
    let mut already_certified = Vec::new();
    for (label, target, info) in opened {
        match plan(ctx, request, label, target, info) {
            Ok(Planned::Ready(p)) => prepared.push(*p),
            Ok(Planned::Certified(c)) => already_certified.push(*c),
            Err(StationError::Refused(why)) => refusals.extend(why),
            Err(e) => return Err(e),
        }
    }
    if !refusals.is_empty() {
        return Err(StationError::Refused(refusals));
    }
    Ok(Batch {
        drives: prepared,
        already_certified,
    })
}

/// A drive whose serial the register ties to another asset (its manifest, or an earlier
/// certificate) is not bound to `request.asset` unless the request says `relink`.
pub fn check_binding(
    ctx: &StationContext,
    request: &WipeRequest,
    drive: &str,
    serial: Option<&str>,
) -> Result<(), StationError> {
    let (Some(tag), Some(serial)) = (request.asset.as_deref(), serial) else {
        return Ok(());
    };
    if request.relink {
        return Ok(());
    }
    let owners = ctx.register().serial_owners(serial)?;
    match owners.into_iter().find(|o| o != tag) {
        Some(owner) => Err(crate::register::RegisterError::BoundElsewhere {
            what: format!("drive {drive}"),
            serial: serial.into(),
            asset: tag.into(),
            owner,
            relink: "--relink",
        }
        .into()),
        None => Ok(()),
    }
}

/// An asset tag must be in the register before anything is erased for it.
pub fn check_asset(ctx: &StationContext, asset: Option<&str>) -> Result<(), StationError> {
    if let Some(tag) = asset
        && ctx.register().find_asset(Some(tag), None)?.is_none()
    {
        return Err(crate::register::RegisterError::UnknownAsset(tag.to_string()).into());
    }
    Ok(())
}

/// The asset a drive belongs to (by `tag`, else by the drive's serial), held to the rule every
/// front-end keeps: a drive of an asset already retired or recorded as destroyed is refused
/// ([`crate::register::RegisterError::AssetFinished`]) unless `rewipe` says the operator means
/// it.
pub fn asset_of(
    ctx: &StationContext,
    tag: Option<&str>,
    info: &DriveInfo,
    rewipe: bool,
) -> Result<Option<AssetRef>, StationError> {
    let found = ctx.register().find_asset(tag, info.serial.as_deref())?;
    if let Some(asset) = &found {
        asset.may_wipe(&info.path, rewipe)?;
    }
    Ok(found)
}

/// Whether `e` is the refusal of a finished (retired or destroyed) asset's drive.
pub fn is_finished(e: &RegisterError) -> bool {
    matches!(e, RegisterError::AssetFinished { .. })
}
