//! Checkpoints of wipes in progress, so an interrupted wipe resumes where it stopped.
//!
//! A checkpoint is written (atomically, fsynced) every few seconds while a pass runs, always
//! after the drive itself was synced up to the recorded offset. It holds the wipe's plan, the
//! sampling seed, the steps done so far, the identity of the drive, a fingerprint of content
//! the wipe wrote, and for a random pass its keystream secret, encrypted under a key derived from
//! the station's signing key ([`SealedKeystream`]): the pass continues with the same keystream
//! and is verified against it, in full or by sample, as if it had never stopped.
//!
//! A checkpoint is a file anyone with access to the state directory can edit, so it holds no
//! proof: no verification result is kept in it (a resumed wipe reads the drive again, see
//! [`crate::verify::check`]). It is sealed with a key derived from the station's signing key (see
//! [`super::store`]), and a file whose seal does not match, that does not parse into exactly this
//! shape, or whose plan is not what its method makes, is refused by name rather than read with
//! defaults.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::erase::OverwritePlan;
use crate::erase::engine::ErrorPolicy;
use crate::erase::firmware::hidden::HiddenArea;
use crate::verify::outcome::{Step, VerifySpec};

pub use super::store::{CheckpointStore, Damaged, Scan};

/// Current checkpoint format. Version 1 kept the hashes of a random pass's sample regions instead
/// of its sealed keystream; such a checkpoint is refused, and the drive is wiped anew.
pub const VERSION: u32 = 2;

/// 32 bytes written as 64 hex digits (a sampling seed, a BLAKE3 hash); anything else in the
/// file is an error, never a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hex32(pub [u8; 32]);

impl Serialize for Hex32 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for Hex32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Hex32, D::Error> {
        let text = String::deserialize(d)?;
        let bytes = hex::decode(&text)
            .map_err(|e| serde::de::Error::custom(format!("`{text}` is not hex: {e}")))?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|v: Vec<u8>| {
            serde::de::Error::custom(format!(
                "expected 32 bytes (64 hex digits), got {}",
                v.len()
            ))
        })?;
        Ok(Hex32(bytes))
    }
}

/// A file's identity on its filesystem: device and inode number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

/// Which drive a checkpoint belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriveKey {
    pub path: String,
    pub serial: Option<String>,
    pub model: Option<String>,
    /// World Wide Name, when the drive reports one: the strongest identity a drive has.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wwn: Option<String>,
    /// For an image file: its device and inode (a file of the same name is another file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileId>,
    pub size_bytes: u64,
    /// The size once a hidden area (HPA, AMA) was restored. Restoring is volatile: until the
    /// drive is power-cycled it shows this size, afterwards `size_bytes` again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_size_bytes: Option<u64>,
}

impl DriveKey {
    /// Whether `other` may be the same drive, by the strongest identity both have: the WWN, else
    /// for image files device and inode, else serial (and model) and size (a drive may move to
    /// another bay), else the path and size. The size may be the one seen before or after a
    /// hidden area was restored. Where this identity is weak (no WWN, a serial that is only a
    /// file name, or none), the content fingerprint decides (see [`super::resume`]).
    pub fn matches(&self, other: &DriveKey) -> bool {
        if self.size_bytes != other.size_bytes && self.native_size_bytes != Some(other.size_bytes) {
            return false;
        }
        if let (Some(a), Some(b)) = (&self.wwn, &other.wwn) {
            return a == b;
        }
        if self.file.is_some() || other.file.is_some() {
            return self.file == other.file;
        }
        if let (Some(a), Some(b)) = (&self.model, &other.model)
            && a != b
        {
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
    /// A random pass's keystream secret, sealed (see [`SealedKeystream`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keystream: Option<SealedKeystream>,
}

/// A random pass's keystream secret, encrypted: XORed with the keyed BLAKE3 of `nonce` under a
/// key derived from the station's signing key (see [`super::store`]). Only the station that
/// wrote it can open it; an edit breaks the checkpoint's seal.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedKeystream {
    pub nonce: Hex32,
    pub secret: Hex32,
}

impl std::fmt::Debug for SealedKeystream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedKeystream(..)")
    }
}

/// One region of a content fingerprint: where, how long, and the BLAKE3 hash of what the drive
/// held there when the checkpoint was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FingerprintRegion {
    pub offset: u64,
    pub len: u64,
    pub blake3: Hex32,
}

/// A wipe in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub version: u32,
    /// Id of the wipe (the certificate takes it).
    pub id: uuid::Uuid,
    pub drive: DriveKey,
    pub plan: OverwritePlan,
    pub verify: VerifySpec,
    pub on_error: ErrorPolicy,
    /// Sampling seed.
    pub seed: Hex32,
    pub started_at: String,
    pub steps: Vec<Step>,
    pub position: Option<Position>,
    /// Regions the wipe had written just before the checkpoint, read back and hashed: on resume
    /// they are read again, so a checkpoint only continues on the drive that holds them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fingerprint: Vec<FingerprintRegion>,
    /// Hidden areas found when the wipe started (a resumed wipe may find them already gone).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hidden_areas: Vec<HiddenArea>,
    /// Set when the process running the wipe stopped it and went on to record its outcome (a
    /// certificate). A checkpoint without it was left by a process that did not stop cleanly
    /// (killed, crashed, power lost): its attempt has no record yet, and gets one before the
    /// checkpoint is set aside (see [`super::unclean`]).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped_cleanly: bool,
    /// Keyed BLAKE3 of everything above, under a key only the station's signing key gives (see
    /// [`CheckpointStore`]): a checkpoint changed by anyone else is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<Hex32>,
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
    pub fn file(dir: &Path, id: &uuid::Uuid) -> PathBuf {
        dir.join(format!("{id}.json"))
    }

    /// Parses a checkpoint file's bytes and checks that it is consistent: the format version,
    /// a plan that is exactly what its method makes, one step per pass in order, a position
    /// inside the plan and the drive, a coverage that is a percentage.
    pub fn parse(bytes: &[u8]) -> Result<Checkpoint, String> {
        let cp: Checkpoint = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if cp.version != VERSION {
            // Not damaged: another release wrote it, and its wipe cannot be continued here.
            let by = if cp.version < VERSION {
                "an earlier"
            } else {
                "a newer"
            };
            return Err(format!(
                "it was written by {by} wipeproof, in checkpoint format {}; this one reads \
                 format version {VERSION} only and cannot continue that wipe",
                cp.version
            ));
        }
        let plan = &cp.plan;
        let rebuilt = OverwritePlan::build(
            &plan.method,
            plan.rounds,
            plan.blank,
            Some(plan.verify_passes),
        )
        .map_err(|e| e.to_string())?;
        if rebuilt != *plan {
            return Err(format!(
                "its plan is not what method {} makes (passes or verification were changed)",
                plan.method
            ));
        }
        if cp.steps.len() != plan.passes.len()
            || cp.steps.iter().enumerate().any(|(i, s)| {
                s.number != i as u32 + 1
                    || s.action
                        != (crate::verify::outcome::StepAction::Overwrite {
                            pattern: plan.passes[i].clone(),
                        })
            })
        {
            return Err("its steps do not match the passes of its plan".into());
        }
        if cp.verify.coverage_ppm == 0 || cp.verify.coverage_ppm > 1_000_000 {
            return Err(format!(
                "sample coverage of {} ppm is not a percentage",
                cp.verify.coverage_ppm
            ));
        }
        let largest = cp
            .drive
            .size_bytes
            .max(cp.drive.native_size_bytes.unwrap_or(0));
        if let Some(p) = &cp.position
            && (p.step == 0 || p.step as usize > cp.steps.len() || p.offset > largest)
        {
            return Err(format!(
                "its position (step {}, offset {}) is outside the plan or the drive",
                p.step, p.offset
            ));
        }
        if cp
            .steps
            .iter()
            .any(|s| s.bytes_written > 0 || s.stopped_at.is_some())
            && cp.position.is_some()
            && cp.fingerprint.is_empty()
        {
            return Err(
                "it records writes but no fingerprint of the written content, so the \
                 drive cannot be recognised"
                    .into(),
            );
        }
        if cp
            .fingerprint
            .iter()
            .any(|r| r.len == 0 || r.offset.saturating_add(r.len) > largest)
        {
            return Err("its content fingerprint lies outside the drive".into());
        }
        Ok(cp)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::verify::outcome::{StepAction, VerifyMode};

    fn key(serial: Option<&str>, path: &str) -> DriveKey {
        DriveKey {
            path: path.into(),
            serial: serial.map(Into::into),
            model: None,
            wwn: None,
            file: None,
            size_bytes: 1 << 20,
            native_size_bytes: None,
        }
    }

    pub(crate) fn cp(serial: Option<&str>, path: &str) -> Checkpoint {
        let plan = OverwritePlan::build("zero", 1, false, None).unwrap();
        let mut step = Step::new(
            1,
            StepAction::Overwrite {
                pattern: plan.passes[0].clone(),
            },
        );
        step.bytes_written = 4096;
        Checkpoint {
            version: VERSION,
            id: uuid::Uuid::new_v4(),
            drive: key(serial, path),
            plan,
            verify: VerifySpec {
                mode: VerifyMode::Sample,
                coverage_ppm: 100_000,
            },
            on_error: ErrorPolicy::Continue,
            seed: Hex32([5; 32]),
            started_at: "2026-01-01T00:00:00Z".into(),
            steps: vec![step],
            position: Some(Position {
                step: 1,
                phase: PassPhase::Write,
                offset: 4096,
                keystream: Some(SealedKeystream {
                    nonce: Hex32([3; 32]),
                    secret: Hex32([7; 32]),
                }),
            }),
            fingerprint: vec![FingerprintRegion {
                offset: 0,
                len: 4096,
                blake3: Hex32([9; 32]),
            }],
            hidden_areas: vec![],
            stopped_cleanly: false,
            seal: None,
        }
    }

    fn json(c: &Checkpoint) -> serde_json::Value {
        serde_json::to_value(c).unwrap()
    }

    fn parse(v: &serde_json::Value) -> Result<Checkpoint, String> {
        Checkpoint::parse(&serde_json::to_vec(v).unwrap())
    }

    #[test]
    fn without_serial_the_path_must_match() {
        let a = key(None, "/dev/loop0");
        let b = key(None, "/dev/loop1");
        assert!(!a.matches(&b));
        assert!(a.matches(&a.clone()));
    }

    #[test]
    fn wwn_and_file_identity_outrank_serial_and_path() {
        let mut a = key(Some("SN1"), "/dev/sdb");
        let mut b = a.clone();
        a.wwn = Some("0x5000c500a1b2c3d4".into());
        b.wwn = Some("0x5000c500a1b2c3d5".into());
        assert!(!a.matches(&b), "same serial and bay, another WWN");
        let mut f = key(Some("disk"), "/srv/a/disk.img");
        let mut g = f.clone();
        f.file = Some(FileId { dev: 1, ino: 2 });
        g.file = Some(FileId { dev: 1, ino: 3 });
        assert!(!f.matches(&g), "same name and size, another inode");
        g.file = f.file;
        g.path = "/srv/b/disk.img".into();
        assert!(f.matches(&g), "the same file by another path");
    }

    #[test]
    fn a_drive_matches_with_its_hidden_area_restored_or_back() {
        let key = DriveKey {
            size_bytes: 900 * 512,
            native_size_bytes: Some(1000 * 512),
            ..key(Some("SN1"), "/dev/sdb")
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
        // Written before hidden areas were kept, with the verification results it used to
        // hold (now ignored: a resumed wipe reads the drive again).
        let mut value = json(&cp(Some("SN1"), "/dev/sdb"));
        let obj = value.as_object_mut().unwrap();
        obj.remove("hidden_areas");
        obj.insert("checks".into(), serde_json::json!([]));
        obj["drive"]
            .as_object_mut()
            .unwrap()
            .remove("native_size_bytes");
        let back = parse(&value).unwrap();
        assert!(back.hidden_areas.is_empty() && back.drive.native_size_bytes.is_none());
    }

    #[test]
    fn damaged_checkpoints_are_refused_with_the_reason_never_defaulted() {
        let good = json(&cp(Some("SN1"), "/dev/sdb"));
        assert!(parse(&good).is_ok());
        type Edit = Box<dyn Fn(&mut serde_json::Value)>;
        let edits: Vec<(&str, Edit)> = vec![
            ("hex", Box::new(|v| v["seed"] = "zz".repeat(32).into())),
            ("32 bytes", Box::new(|v| v["seed"] = "00".into())),
            (
                "missing field",
                Box::new(|v| {
                    v.as_object_mut().unwrap().remove("seed");
                }),
            ),
            ("UUID", Box::new(|v| v["id"] = "../../etc/passwd".into())),
            ("version", Box::new(|v| v["version"] = 7.into())),
            (
                "plan",
                Box::new(|v| v["plan"]["passes"][0]["byte"] = 0xAA.into()),
            ),
            (
                "steps",
                Box::new(|v| {
                    v["steps"].as_array_mut().unwrap().clear();
                }),
            ),
            (
                "percentage",
                Box::new(|v| v["verify"]["coverage_ppm"] = 0.into()),
            ),
            (
                "position",
                Box::new(|v| v["position"]["offset"] = (1u64 << 40).into()),
            ),
            (
                "fingerprint",
                Box::new(|v| {
                    v.as_object_mut().unwrap().remove("fingerprint");
                }),
            ),
            (
                "hex",
                Box::new(|v| v["position"]["keystream"]["secret"] = "x".into()),
            ),
            (
                "no fingerprint of the written content, so the drive cannot be recognised",
                Box::new(|v| v["fingerprint"] = serde_json::json!([])),
            ),
        ];
        for (what, edit) in edits {
            let mut v = good.clone();
            edit(&mut v);
            let err = parse(&v).expect_err(what);
            assert!(err.contains(what), "{what}: {err}");
        }
        assert!(Checkpoint::parse(b"{\"version\": 1").is_err());
    }
}
