//! Suspend to RAM and resume: how a station unfreezes ATA security.
//!
//! Most BIOSes send SECURITY FREEZE LOCK to every SATA drive at boot, and a frozen drive refuses
//! SECURITY ERASE UNIT and SANITIZE until its next power cycle. Suspending the machine to RAM
//! cuts the drives' power and the BIOS does not run again on resume, so drives come back
//! unfrozen. The real-time clock's wake alarm brings the station back by itself, so this works
//! on an unattended station with nobody to press a key. The kernel's lockdown under Secure Boot
//! forbids hibernation, not suspend to RAM.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where the kernel's power and RTC controls live (a different root in tests).
#[derive(Debug, Clone)]
pub struct PowerControls {
    /// `/sys/power`.
    pub power: PathBuf,
    /// The RTC whose alarm wakes the machine, `/sys/class/rtc/rtc0`.
    pub rtc: PathBuf,
}

impl Default for PowerControls {
    fn default() -> Self {
        PowerControls {
            power: PathBuf::from("/sys/power"),
            rtc: PathBuf::from("/sys/class/rtc/rtc0"),
        }
    }
}

/// Why the station could not suspend and resume.
#[derive(Debug, thiserror::Error)]
pub enum PowerError {
    #[error(
        "this machine offers no suspend to RAM ({path} lists {offered:?}); unfreeze the drive by unplugging and replugging its power while the station runs"
    )]
    NoSuspend { path: PathBuf, offered: String },
    #[error(
        "this machine has no real-time clock wake alarm ({path}); without it nothing would wake the station: suspend it by hand and press the power button to resume"
    )]
    NoWakeAlarm { path: PathBuf },
    #[error("cannot write {value:?} to {path}: {source}; are you root?")]
    Write {
        path: PathBuf,
        value: String,
        source: io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
}

/// What a suspend and resume took.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Slept {
    /// From the write to `/sys/power/state` until it returned (suspend, sleep and resume).
    pub elapsed_ms: u64,
    /// The sleep state used: `deep` (S3) or what the machine offers.
    pub deep: bool,
}

impl PowerControls {
    /// Suspends the machine to RAM, with the RTC alarm set to wake it after `wake_after`, and
    /// returns once it has resumed. Drives lose power while the machine sleeps.
    pub fn suspend_and_resume(&self, wake_after: Duration) -> Result<Slept, PowerError> {
        let state_path = self.power.join("state");
        let offered = read(&state_path)?;
        if !offered.split_whitespace().any(|s| s == "mem") {
            return Err(PowerError::NoSuspend {
                path: state_path,
                offered: offered.trim().to_string(),
            });
        }
        let alarm = self.rtc.join("wakealarm");
        if !alarm.exists() {
            return Err(PowerError::NoWakeAlarm { path: alarm });
        }
        // Deep sleep (S3) powers the drives off; s2idle may not.
        let mem_sleep = self.power.join("mem_sleep");
        let deep = match fs::read_to_string(&mem_sleep) {
            Ok(modes)
                if modes
                    .split_whitespace()
                    .any(|m| m.trim_matches(['[', ']']) == "deep") =>
            {
                write(&mem_sleep, "deep")?;
                true
            }
            _ => false,
        };
        // An alarm already set must be cleared before a new one is accepted.
        write(&alarm, "0")?;
        write(&alarm, &format!("+{}", wake_after.as_secs().max(1)))?;
        let start = Instant::now();
        write(&state_path, "mem")?;
        Ok(Slept {
            elapsed_ms: start.elapsed().as_millis() as u64,
            deep,
        })
    }
}

fn read(path: &Path) -> Result<String, PowerError> {
    fs::read_to_string(path).map_err(|source| PowerError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn write(path: &Path, value: &str) -> Result<(), PowerError> {
    fs::write(path, value).map_err(|source| PowerError::Write {
        path: path.to_path_buf(),
        value: value.to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake sysfs tree: the files are plain files, so the writes land in them.
    fn controls(
        state: &str,
        mem_sleep: Option<&str>,
        rtc: bool,
    ) -> (tempfile::TempDir, PowerControls) {
        let dir = tempfile::tempdir().unwrap();
        let power = dir.path().join("power");
        let rtc_dir = dir.path().join("rtc0");
        fs::create_dir_all(&power).unwrap();
        fs::create_dir_all(&rtc_dir).unwrap();
        fs::write(power.join("state"), state).unwrap();
        if let Some(m) = mem_sleep {
            fs::write(power.join("mem_sleep"), m).unwrap();
        }
        if rtc {
            fs::write(rtc_dir.join("wakealarm"), "").unwrap();
        }
        (
            dir,
            PowerControls {
                power,
                rtc: rtc_dir,
            },
        )
    }

    #[test]
    fn suspends_with_deep_sleep_and_a_wake_alarm() {
        let (_dir, c) = controls("freeze mem disk\n", Some("s2idle [deep]\n"), true);
        let slept = c.suspend_and_resume(Duration::from_secs(5)).unwrap();
        assert!(slept.deep);
        assert_eq!(fs::read_to_string(c.power.join("state")).unwrap(), "mem");
        assert_eq!(
            fs::read_to_string(c.power.join("mem_sleep")).unwrap(),
            "deep"
        );
        assert_eq!(fs::read_to_string(c.rtc.join("wakealarm")).unwrap(), "+5");
    }

    #[test]
    fn refuses_without_suspend_to_ram_or_wake_alarm_and_touches_nothing() {
        let (_dir, c) = controls("freeze\n", None, true);
        let err = c.suspend_and_resume(Duration::from_secs(5)).unwrap_err();
        assert!(matches!(err, PowerError::NoSuspend { .. }), "{err}");
        assert!(err.to_string().contains("replugging"), "{err}");
        assert_eq!(fs::read_to_string(c.rtc.join("wakealarm")).unwrap(), "");

        let (_dir, c) = controls("freeze mem\n", None, false);
        let err = c.suspend_and_resume(Duration::from_secs(5)).unwrap_err();
        assert!(matches!(err, PowerError::NoWakeAlarm { .. }), "{err}");
        assert_eq!(
            fs::read_to_string(c.power.join("state")).unwrap(),
            "freeze mem\n"
        );
    }
}
