//! Carrying out a firmware method: the command sequence, its safety net, and polling the drive
//! until it is done.
//!
//! Status is decoded here, never trusted from exit codes: an ATA command is done only if the
//! returned status register has neither ERR nor DF, an NVMe command only if its completion
//! status is zero, a SCSI command only if its sense data say so. Long operations are polled
//! (ATA SANITIZE STATUS EXT, NVMe Sanitize Status log, SCSI REQUEST SENSE) and their progress
//! goes to the same sink as overwrite progress.

use std::time::{Duration, Instant};

use super::policy::Technique;
use super::{CommandSet, FirmwareMethod};
use crate::device::ata::{self, AtaCommand, SanitizeStatus};
use crate::device::capabilities::{Capabilities, Transports, ata_exec};
use crate::device::identity::read_ata_identify;
use crate::device::nvme::{AdminCommand, SanitizeAction, SanitizeLog, SecureErase};
use crate::device::scsi;
use crate::device::sense::{Sense, key};
use crate::device::transport::{DataPhase, NvmeTransport, ScsiTransport};
use crate::erase::{Event, FIRMWARE_PROGRESS_TOTAL, Phase, Sink, StopFlag};

/// How a firmware run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStatus {
    /// The drive reports the operation completed without error.
    Completed,
    /// The drive refused or failed it.
    Failed(String),
    /// Stopped before the drive reported completion.
    Interrupted(String),
}

/// What a firmware run did.
#[derive(Debug, Clone)]
pub struct FirmwareRun {
    pub status: RunStatus,
    /// What happened, step by step, for the certificate and the log.
    pub notes: Vec<String>,
}

/// Timing of polling (tests use short intervals).
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    pub poll: Duration,
    /// Give up waiting after this long (the drive's own estimate raises it).
    pub max_wait: Duration,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            poll: Duration::from_secs(2),
            max_wait: Duration::from_secs(48 * 3600),
        }
    }
}

const SHORT: Duration = Duration::from_secs(30);

/// Runs `m` on the drive. The capability check has passed already.
pub fn run(
    m: &FirmwareMethod,
    caps: &Capabilities,
    t: &mut Transports<'_>,
    opts: &RunOptions,
    sink: &dyn Sink,
    stop: &StopFlag,
) -> FirmwareRun {
    let mut notes = Vec::new();
    sink.event(Event::PhaseStarted {
        phase: Phase::Firmware {
            command: m.command.to_string(),
        },
        done: 0,
        total: FIRMWARE_PROGRESS_TOTAL,
    });
    let status = match m.set {
        CommandSet::Ata => match t.scsi.as_deref_mut() {
            Some(dev) => match m.technique {
                Technique::AtaSecurityErase | Technique::AtaEnhancedSecurityErase => {
                    security_erase(
                        dev,
                        caps,
                        m.technique == Technique::AtaEnhancedSecurityErase,
                        &mut notes,
                        sink,
                    )
                }
                tech => ata_sanitize(dev, tech, opts, &mut notes, sink, stop),
            },
            None => RunStatus::Failed("no ATA pass-through to the drive".into()),
        },
        CommandSet::Nvme => match t.nvme.as_deref_mut() {
            Some(dev) => match m.technique {
                Technique::FormatUserDataErase | Technique::FormatCryptoErase => {
                    nvme_format(dev, caps, t.nsid, m.technique, &mut notes)
                }
                tech => nvme_sanitize(dev, tech, opts, &mut notes, sink, stop),
            },
            None => RunStatus::Failed("no NVMe admin access to the drive".into()),
        },
        CommandSet::Scsi => match t.scsi.as_deref_mut() {
            Some(dev) => scsi_sanitize(dev, m.technique, opts, &mut notes, sink, stop),
            None => RunStatus::Failed("no SCSI access to the drive".into()),
        },
    };
    sink.event(Event::PhaseFinished {
        ok: status == RunStatus::Completed,
    });
    FirmwareRun { status, notes }
}

/// ATA SECURITY ERASE UNIT with a temporary password, never leaving the drive locked.
fn security_erase(
    dev: &mut dyn ScsiTransport,
    caps: &Capabilities,
    enhanced: bool,
    notes: &mut Vec<String>,
    sink: &dyn Sink,
) -> RunStatus {
    let estimate = caps.ata.as_ref().and_then(|a| {
        if enhanced {
            a.security.enhanced_erase_minutes
        } else {
            a.security.erase_minutes
        }
    });
    if let Some(min) = estimate {
        sink.event(Event::Notice {
            message: format!("the drive estimates {min} minutes for the security erase"),
        });
    }
    // The erase can take the drive's estimate and more; allow twice that, at least two hours.
    let erase_timeout =
        Duration::from_secs(estimate.map(|m| m as u64 * 120).unwrap_or(0).max(2 * 3600));
    let mut block = ata::password_block(ata::TEMP_PASSWORD, false);
    if let Err(e) = ata_exec(
        dev,
        &AtaCommand::security_set_password(),
        DataPhase::ToDevice(&block),
        SHORT,
    ) {
        return RunStatus::Failed(format!(
            "SECURITY SET PASSWORD failed ({e}); nothing on the drive was changed"
        ));
    }
    notes.push("temporary user password set (SECURITY SET PASSWORD)".into());
    let erased = ata_exec(
        dev,
        &AtaCommand::security_erase_prepare(),
        DataPhase::None,
        SHORT,
    )
    .and_then(|_| {
        block = ata::password_block(ata::TEMP_PASSWORD, enhanced);
        ata_exec(
            dev,
            &AtaCommand::security_erase_unit(),
            DataPhase::ToDevice(&block),
            erase_timeout,
        )
    });
    match erased {
        Ok(_) => {
            notes.push(format!(
                "SECURITY ERASE UNIT ({}) completed; the drive cleared the password itself",
                if enhanced { "enhanced" } else { "normal" }
            ));
            // A conforming drive disables security after the erase; make sure.
            if read_ata_identify(dev).is_some_and(|id| id.security.enabled) {
                disable_password(dev, notes);
            }
            RunStatus::Completed
        }
        Err(e) => {
            notes.push(format!("the security erase failed: {e}"));
            disable_password(dev, notes);
            RunStatus::Failed(format!("SECURITY ERASE PREPARE/UNIT failed: {e}"))
        }
    }
}

/// Removes the temporary password; says loudly if the drive stays locked.
fn disable_password(dev: &mut dyn ScsiTransport, notes: &mut Vec<String>) {
    let block = ata::password_block(ata::TEMP_PASSWORD, false);
    match ata_exec(dev, &AtaCommand::security_disable_password(), DataPhase::ToDevice(&block), SHORT) {
        Ok(_) => notes.push("temporary password removed (SECURITY DISABLE PASSWORD); the drive is not locked".into()),
        Err(e) => notes.push(format!(
            "COULD NOT REMOVE THE TEMPORARY PASSWORD ({e}): the drive may be locked with the user \
             password \"wipeproof\"; unlock it with `hdparm --user-master u --security-disable wipeproof`"
        )),
    }
}

fn ata_sanitize(
    dev: &mut dyn ScsiTransport,
    tech: Technique,
    opts: &RunOptions,
    notes: &mut Vec<String>,
    sink: &dyn Sink,
    stop: &StopFlag,
) -> RunStatus {
    let cmd = match tech {
        Technique::SanitizeCryptoErase => AtaCommand::sanitize_crypto(),
        Technique::SanitizeBlockErase => AtaCommand::sanitize_block(),
        _ => AtaCommand::sanitize_overwrite(0),
    };
    if let Err(e) = ata_exec(dev, &cmd, DataPhase::None, SHORT) {
        return RunStatus::Failed(format!("the drive refused SANITIZE: {e}"));
    }
    notes.push("SANITIZE started".into());
    let started = Instant::now();
    loop {
        if stop.is_stopped() {
            return interrupted_sanitize();
        }
        match ata_exec(
            dev,
            &AtaCommand::sanitize_status(false),
            DataPhase::None,
            SHORT,
        ) {
            Ok(r) => {
                let s = SanitizeStatus::decode(r.count, r.lba);
                if s.in_progress {
                    sink.event(Event::Progress {
                        done: s.progress as u64,
                    });
                } else if s.completed_without_error {
                    sink.event(Event::Progress {
                        done: FIRMWARE_PROGRESS_TOTAL,
                    });
                    notes.push("SANITIZE STATUS: completed without error".into());
                    return RunStatus::Completed;
                } else {
                    return RunStatus::Failed(
                        "SANITIZE STATUS reports the operation did not complete without error"
                            .into(),
                    );
                }
            }
            // The drive aborts SANITIZE STATUS with the failure reason when the operation failed.
            Err(e) => return RunStatus::Failed(format!("SANITIZE failed: {e}")),
        }
        if started.elapsed() > opts.max_wait {
            return RunStatus::Failed(format!("SANITIZE still running after {:?}", opts.max_wait));
        }
        std::thread::sleep(opts.poll);
    }
}

fn interrupted_sanitize() -> RunStatus {
    RunStatus::Interrupted(
        "stopped while the drive was sanitizing; the drive carries on by itself (a sanitize \
         survives even a power cycle): run the wipe again to confirm the result"
            .into(),
    )
}

fn nvme_format(
    dev: &mut dyn NvmeTransport,
    caps: &Capabilities,
    nsid: u32,
    tech: Technique,
    notes: &mut Vec<String>,
) -> RunStatus {
    let Some(n) = &caps.nvme else {
        return RunStatus::Failed("no NVMe capabilities".into());
    };
    let ses = if tech == Technique::FormatCryptoErase {
        SecureErase::Cryptographic
    } else {
        SecureErase::UserData
    };
    if n.format_all_namespaces {
        notes.push("the controller formats all namespaces together (FNA)".into());
    }
    let cmd = AdminCommand::format_nvm(nsid, n.lba_format, ses);
    // Format blocks until done; allow hours for large drives.
    match dev.admin(&cmd, &mut [], Duration::from_secs(6 * 3600)) {
        Ok(c) if c.is_success() => {
            notes.push(format!(
                "Format NVM (namespace {nsid}, LBA format {}, SES {}) completed: {}",
                n.lba_format,
                ses as u8,
                c.describe()
            ));
            RunStatus::Completed
        }
        Ok(c) => RunStatus::Failed(format!("Format NVM failed: {}", c.describe())),
        Err(e) => RunStatus::Failed(format!("Format NVM could not be sent: {e}")),
    }
}

fn nvme_sanitize(
    dev: &mut dyn NvmeTransport,
    tech: Technique,
    opts: &RunOptions,
    notes: &mut Vec<String>,
    sink: &dyn Sink,
    stop: &StopFlag,
) -> RunStatus {
    let action = match tech {
        Technique::SanitizeCryptoErase => SanitizeAction::CryptoErase,
        Technique::SanitizeBlockErase => SanitizeAction::BlockErase,
        _ => SanitizeAction::Overwrite,
    };
    match dev.admin(&AdminCommand::sanitize(action, 0), &mut [], SHORT) {
        Ok(c) if c.is_success() => notes.push("Sanitize started".into()),
        Ok(c) => {
            return RunStatus::Failed(format!("the controller refused Sanitize: {}", c.describe()));
        }
        Err(e) => return RunStatus::Failed(format!("Sanitize could not be sent: {e}")),
    }
    let started = Instant::now();
    let mut estimated = false;
    loop {
        if stop.is_stopped() {
            return interrupted_sanitize();
        }
        let mut log = vec![0u8; 512];
        let c = match dev.admin(
            &AdminCommand::get_log_page(SanitizeLog::LOG_ID, 512),
            &mut log,
            SHORT,
        ) {
            Ok(c) => c,
            Err(e) => {
                return RunStatus::Failed(format!("reading the Sanitize Status log failed: {e}"));
            }
        };
        if !c.is_success() {
            return RunStatus::Failed(format!(
                "reading the Sanitize Status log failed: {}",
                c.describe()
            ));
        }
        let Some(l) = SanitizeLog::decode(&log) else {
            return RunStatus::Failed("the Sanitize Status log is too short".into());
        };
        if !estimated {
            estimated = true;
            let est = match action {
                SanitizeAction::Overwrite => l.estimates[0],
                SanitizeAction::BlockErase => l.estimates[1],
                _ => l.estimates[2],
            };
            if let Some(s) = est {
                sink.event(Event::Notice {
                    message: format!("the drive estimates {s} seconds for the sanitize"),
                });
            }
        }
        match l.status {
            SanitizeLog::IN_PROGRESS => sink.event(Event::Progress {
                done: l.progress as u64,
            }),
            SanitizeLog::COMPLETED | SanitizeLog::COMPLETED_NO_DEALLOCATE => {
                sink.event(Event::Progress {
                    done: FIRMWARE_PROGRESS_TOTAL,
                });
                notes.push(format!(
                    "Sanitize Status log: completed{}",
                    if l.global_data_erased {
                        ", global data erased"
                    } else {
                        ""
                    }
                ));
                return RunStatus::Completed;
            }
            SanitizeLog::FAILED => {
                return RunStatus::Failed(
                    "the Sanitize Status log reports the sanitize failed".into(),
                );
            }
            other => {
                return RunStatus::Failed(format!(
                    "the Sanitize Status log reports status {other}, not a completed sanitize"
                ));
            }
        }
        if started.elapsed() > opts.max_wait {
            return RunStatus::Failed(format!("Sanitize still running after {:?}", opts.max_wait));
        }
        std::thread::sleep(opts.poll);
    }
}

fn scsi_sanitize(
    dev: &mut dyn ScsiTransport,
    tech: Technique,
    opts: &RunOptions,
    notes: &mut Vec<String>,
    sink: &dyn Sink,
    stop: &StopFlag,
) -> RunStatus {
    let (sa, params) = match tech {
        Technique::SanitizeCryptoErase => (scsi::sanitize::CRYPTO_ERASE, Vec::new()),
        Technique::SanitizeBlockErase => (scsi::sanitize::BLOCK_ERASE, Vec::new()),
        _ => (
            scsi::sanitize::OVERWRITE,
            scsi::sanitize_overwrite_params([0; 4]),
        ),
    };
    let cdb = scsi::sanitize_cdb(sa, params.len() as u16);
    let data = if params.is_empty() {
        DataPhase::None
    } else {
        DataPhase::ToDevice(&params)
    };
    match dev.scsi(&cdb, data, SHORT) {
        Ok(r) if r.is_good() => notes.push("SANITIZE started (IMMED)".into()),
        Ok(r) => {
            let why = Sense::parse(&r.sense)
                .map(|s| s.describe())
                .unwrap_or_else(|| format!("status 0x{:02x}", r.status));
            return RunStatus::Failed(format!("the device refused SANITIZE: {why}"));
        }
        Err(e) => return RunStatus::Failed(format!("SANITIZE could not be sent: {e}")),
    }
    let started = Instant::now();
    loop {
        if stop.is_stopped() {
            return interrupted_sanitize();
        }
        std::thread::sleep(opts.poll);
        let mut sense = vec![0u8; 252];
        let reply = match dev.scsi(
            &scsi::request_sense(252),
            DataPhase::FromDevice(&mut sense),
            SHORT,
        ) {
            Ok(r) => r,
            Err(e) => return RunStatus::Failed(format!("REQUEST SENSE failed: {e}")),
        };
        if !reply.is_good() {
            return RunStatus::Failed("REQUEST SENSE was refused".into());
        }
        match Sense::parse(&sense) {
            Some(s) if s.key == key::NOT_READY && s.asc == 0x04 && s.ascq == 0x1b => {
                sink.event(Event::Progress {
                    done: s.progress.unwrap_or(0) as u64,
                });
            }
            Some(s) if s.asc == 0x31 && s.ascq == 0x03 => {
                return RunStatus::Failed("the device reports SANITIZE COMMAND FAILED".into());
            }
            Some(s) if s.key == key::NO_SENSE || s.key == key::RECOVERED_ERROR => {
                sink.event(Event::Progress {
                    done: FIRMWARE_PROGRESS_TOTAL,
                });
                notes.push("REQUEST SENSE: no sanitize in progress, no error: completed".into());
                return RunStatus::Completed;
            }
            None => {
                sink.event(Event::Progress {
                    done: FIRMWARE_PROGRESS_TOTAL,
                });
                notes.push("REQUEST SENSE: no sense data: completed".into());
                return RunStatus::Completed;
            }
            Some(s) => return RunStatus::Failed(format!("SANITIZE ended with {}", s.describe())),
        }
        if started.elapsed() > opts.max_wait {
            return RunStatus::Failed(format!("SANITIZE still running after {:?}", opts.max_wait));
        }
    }
}
