//! Checkpoints of wipes in progress, so an interrupted wipe resumes where it stopped.
//!
//! A checkpoint is written (atomically, fsynced) every few seconds while a pass runs, always
//! after the drive itself was synced up to the recorded offset. It holds the wipe's plan, the
//! sampling seed, the steps and checks done so far, and for a random pass the hashes of the
//! sample regions already written (never the keystream key: that stays in memory).

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::erase::OverwritePlan;
use crate::erase::engine::ErrorPolicy;
use crate::erase::firmware::hidden::HiddenArea;
use crate::verify::outcome::{Check, Step, VerifySpec};
use crate::verify::region_hash::Hash;

/// Current checkpoint format.
pub const VERSION: u32 = 1;

/// Which drive a checkpoint belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveKey {
    pub path: String,
    pub serial: Option<String>,
    pub model: Option<String>,
    pub size_bytes: u64,
    /// The size once a hidden area (HPA, AMA) was restored. Restoring is volatile: until the
    /// drive is power-cycled it shows this size, afterwards `size_bytes` again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_size_bytes: Option<u64>,
}

impl DriveKey {
    /// Whether `other` is the same drive: same serial and size (a drive may move to another
    /// bay), or the same path and size when there is no serial. The size may be the one seen
    /// before or after a hidden area was restored.
    pub fn matches(&self, other: &DriveKey) -> bool {
        if self.size_bytes != other.size_bytes && self.native_size_bytes != Some(other.size_bytes) {
            return false;
        }
        match (&self.serial, &other.serial) {
            (Some(a), Some(b)) => a == b,
            _ => self.path == other.path,
        }
    }
}

/// What phase the current pass is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PassPhase {
    Write,
    Verify,
}

/// Where the wipe stood.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// 1-based step number.
    pub step: u32,
    pub phase: PassPhase,
    /// Durable up to this offset (write phase).
    pub offset: u64,
    /// Expected hashes of sample regions written so far by a random pass (index, hex).
    pub region_hashes: Vec<(usize, String)>,
}

impl Position {
    pub fn known_hashes(&self) -> Vec<(usize, Hash)> {
        self.region_hashes
            .iter()
            .filter_map(|(i, h)| {
                let v = hex::decode(h).ok()?;
                Some((*i, v.try_into().ok()?))
            })
            .collect()
    }

    pub fn encode_hashes(known: &[(usize, Hash)]) -> Vec<(usize, String)> {
        known.iter().map(|(i, h)| (*i, hex::encode(h))).collect()
    }
}

/// A wipe in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub version: u32,
    /// Id of the wipe (the certificate takes it).
    pub id: String,
    pub drive: DriveKey,
    pub plan: OverwritePlan,
    pub verify: VerifySpec,
    pub on_error: ErrorPolicy,
    /// Sampling seed, hex.
    pub seed: String,
    pub started_at: String,
    pub steps: Vec<Step>,
    pub checks: Vec<Check>,
    pub position: Option<Position>,
    /// Hidden areas found when the wipe started (a resumed wipe may find them already gone).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hidden_areas: Vec<HiddenArea>,
}

/// Errors reading or writing checkpoints.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot write checkpoint {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read checkpoint directory {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Checkpoint {
    /// The file of a checkpoint in `dir`.
    pub fn file(dir: &Path, id: &str) -> PathBuf {
        dir.join(format!("{id}.json"))
    }

    /// Writes the checkpoint atomically and durably.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, CheckpointError> {
        let path = Self::file(dir, &self.id);
        crate::durable::create_dir_all_mode(dir, 0o700).map_err(|source| {
            CheckpointError::Write {
                path: path.clone(),
                source,
            }
        })?;
        let json = serde_json::to_vec_pretty(self).unwrap_or_default();
        crate::durable::write_atomic(&path, &json).map_err(|source| CheckpointError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }

    /// Finds the checkpoint for a drive. Unreadable or foreign files are skipped.
    pub fn find(dir: &Path, drive: &DriveKey) -> Result<Option<Checkpoint>, CheckpointError> {
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(CheckpointError::Dir {
                    path: dir.into(),
                    source,
                });
            }
        };
        let mut found: Vec<Checkpoint> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .filter_map(|e| fs::read(e.path()).ok())
            .filter_map(|b| serde_json::from_slice::<Checkpoint>(&b).ok())
            .filter(|c| c.version == VERSION && c.drive.matches(drive))
            .collect();
        found.sort_by(|a, b| a.started_at.cmp(&b.started_at));
        Ok(found.pop())
    }

    /// Removes the checkpoint file (the wipe finished).
    pub fn remove(dir: &Path, id: &str) {
        let _ = fs::remove_file(Self::file(dir, id));
        let _ = crate::durable::sync_dir(dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::outcome::VerifyMode;

    fn cp(id: &str, serial: Option<&str>, path: &str) -> Checkpoint {
        Checkpoint {
            version: VERSION,
            id: id.into(),
            drive: DriveKey {
                path: path.into(),
                serial: serial.map(Into::into),
                model: None,
                size_bytes: 1 << 20,
                native_size_bytes: None,
            },
            plan: OverwritePlan::build("zero", 1, false, None).unwrap(),
            verify: VerifySpec {
                mode: VerifyMode::Sample,
                coverage_ppm: 100_000,
            },
            on_error: ErrorPolicy::Continue,
            seed: "00".repeat(32),
            started_at: "2026-01-01T00:00:00Z".into(),
            steps: vec![],
            checks: vec![],
            position: Some(Position {
                step: 1,
                phase: PassPhase::Write,
                offset: 4096,
                region_hashes: Position::encode_hashes(&[(3, [7; 32])]),
            }),
            hidden_areas: vec![],
        }
    }

    #[test]
    fn save_find_by_serial_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let c = cp("a", Some("SN1"), "/dev/sdb");
        c.save(dir.path()).unwrap();
        cp("b", Some("SN2"), "/dev/sdc").save(dir.path()).unwrap();
        std::fs::write(dir.path().join("junk.json"), b"{not json").unwrap();
        // The drive moved to another bay: found by serial.
        let moved = DriveKey {
            path: "/dev/sdd".into(),
            ..c.drive.clone()
        };
        let got = Checkpoint::find(dir.path(), &moved).unwrap().unwrap();
        assert_eq!(got, c);
        assert_eq!(got.position.unwrap().known_hashes(), [(3, [7; 32])]);
        Checkpoint::remove(dir.path(), "a");
        assert!(Checkpoint::find(dir.path(), &moved).unwrap().is_none());
    }

    #[test]
    fn without_serial_the_path_must_match() {
        let a = DriveKey {
            path: "/dev/loop0".into(),
            serial: None,
            model: None,
            size_bytes: 10,
            native_size_bytes: None,
        };
        let b = DriveKey {
            path: "/dev/loop1".into(),
            ..a.clone()
        };
        assert!(!a.matches(&b));
        assert!(a.matches(&a.clone()));
    }

    #[test]
    fn a_drive_matches_with_its_hidden_area_restored_or_back() {
        let key = DriveKey {
            path: "/dev/sdb".into(),
            serial: Some("SN1".into()),
            model: None,
            size_bytes: 900 * 512,
            native_size_bytes: Some(1000 * 512),
        };
        let seen = |size_bytes| DriveKey {
            size_bytes,
            native_size_bytes: None,
            ..key.clone()
        };
        // Before a power cycle the drive still shows its native size; after, the HPA is back.
        assert!(key.matches(&seen(1000 * 512)));
        assert!(key.matches(&seen(900 * 512)));
        assert!(!key.matches(&seen(950 * 512)));
    }

    #[test]
    fn checkpoints_of_earlier_builds_still_load() {
        // Written before hidden areas were kept: the new fields default.
        let mut value = serde_json::to_value(cp("a", Some("SN1"), "/dev/sdb")).unwrap();
        let obj = value.as_object_mut().unwrap();
        obj.remove("hidden_areas");
        obj["drive"]
            .as_object_mut()
            .unwrap()
            .remove("native_size_bytes");
        let back: Checkpoint = serde_json::from_value(value).unwrap();
        assert!(back.hidden_areas.is_empty() && back.drive.native_size_bytes.is_none());
    }
}
