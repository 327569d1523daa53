//! The checkpoint directory: sealed writes, reads that check the seal, and a scan that names
//! every file it cannot use.
//!
//! A checkpoint is sealed with a keyed BLAKE3 under a key derived from the station's Ed25519 key
//! (its deterministic signature over a fixed text, hashed), so the seal needs no key file of its
//! own and nobody without the signing key can make a checkpoint this station will resume.
//!
//! A random pass's keystream secret is kept in its checkpoint encrypted under a second key
//! derived the same way: XORed with the keyed BLAKE3 of a random nonce stored beside it
//! ([`SealedKeystream`]). Whoever reads the state directory learns nothing of it; whoever edits
//! it breaks the seal.

use std::fs;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::checkpoint::{Checkpoint, CheckpointError, DriveKey, Hex32, SealedKeystream};
use crate::certificate::keys::StationKey;
use crate::erase::keystream::{Keystream, KeystreamError, KeystreamSecret};

/// A checkpoint file that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damaged {
    pub path: PathBuf,
    pub why: String,
}

/// What is in a checkpoint directory.
#[derive(Debug, Default)]
pub struct Scan {
    /// Checkpoints that parsed and are consistent, with their files.
    pub checkpoints: Vec<(PathBuf, Checkpoint)>,
    /// Files that did not.
    pub damaged: Vec<Damaged>,
}

impl Scan {
    /// The newest checkpoint whose drive key matches `drive`.
    pub fn newest_for(&self, drive: &DriveKey) -> Option<&(PathBuf, Checkpoint)> {
        self.checkpoints
            .iter()
            .filter(|(_, c)| c.drive.matches(drive))
            .max_by(|a, b| a.1.started_at.cmp(&b.1.started_at))
    }
}

/// The checkpoint directory and the key that seals the checkpoints in it (see the module docs).
#[derive(Clone)]
pub struct CheckpointStore {
    dir: PathBuf,
    key: [u8; 32],
    keystream_key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for CheckpointStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckpointStore")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl CheckpointStore {
    /// The store in `dir`, sealed with a key derived from `station`.
    pub fn new(dir: impl Into<PathBuf>, station: &StationKey) -> CheckpointStore {
        let signature = station
            .sign(b"wipeproof checkpoint seal, version 1")
            .to_bytes();
        CheckpointStore {
            dir: dir.into(),
            key: blake3::derive_key("wipeproof 2026 checkpoint seal v1", &signature),
            keystream_key: Zeroizing::new(blake3::derive_key(
                "wipeproof 2026 checkpoint keystream secret v1",
                &signature,
            )),
        }
    }

    /// `keystream`'s secret, encrypted for a checkpoint of this store (see the module docs).
    pub fn seal_keystream(&self, keystream: &Keystream) -> Result<SealedKeystream, KeystreamError> {
        let mut nonce = [0u8; 32];
        getrandom::fill(&mut nonce).map_err(|e| KeystreamError::Rng(e.to_string()))?;
        let mut secret = *keystream.secret().as_bytes();
        xor(&mut secret, &self.keystream_pad(&nonce));
        Ok(SealedKeystream {
            nonce: Hex32(nonce),
            secret: Hex32(secret),
        })
    }

    /// The keystream whose secret `sealed` holds. A checkpoint's seal was checked when it was
    /// read, so the secret is the one this station stored.
    pub fn open_keystream(&self, sealed: &SealedKeystream) -> Keystream {
        let mut secret = Zeroizing::new(sealed.secret.0);
        xor(&mut secret, &self.keystream_pad(&sealed.nonce.0));
        Keystream::from_secret(&KeystreamSecret::from_bytes(secret))
    }

    fn keystream_pad(&self, nonce: &[u8; 32]) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(*blake3::keyed_hash(&self.keystream_key, nonce).as_bytes())
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn seal_of(&self, cp: &Checkpoint) -> Result<blake3::Hash, serde_json::Error> {
        let mut unsealed = cp.clone();
        unsealed.seal = None;
        Ok(blake3::keyed_hash(
            &self.key,
            &serde_json::to_vec(&unsealed)?,
        ))
    }

    /// Seals and writes a checkpoint atomically and durably.
    pub fn save(&self, cp: &Checkpoint) -> Result<PathBuf, CheckpointError> {
        let path = Checkpoint::file(&self.dir, &cp.id);
        let write_err = |source| CheckpointError::Write {
            path: path.clone(),
            source,
        };
        crate::durable::create_dir_all_mode(&self.dir, 0o700).map_err(write_err)?;
        let mut sealed = cp.clone();
        sealed.seal = Some(Hex32(
            *self
                .seal_of(cp)
                .map_err(|e| write_err(std::io::Error::other(e)))?
                .as_bytes(),
        ));
        let json =
            serde_json::to_vec_pretty(&sealed).map_err(|e| write_err(std::io::Error::other(e)))?;
        crate::durable::write_atomic(&path, &json).map_err(write_err)?;
        Ok(path)
    }

    /// Parses a checkpoint (see [`Checkpoint::parse`]) and checks its seal.
    pub fn read(&self, bytes: &[u8]) -> Result<Checkpoint, String> {
        let cp = Checkpoint::parse(bytes)?;
        let Some(seal) = cp.seal else {
            return Err("it has no seal, so it cannot be told from one written by hand".into());
        };
        let expected = self.seal_of(&cp).map_err(|e| e.to_string())?;
        // blake3::Hash compares in constant time.
        if expected != blake3::Hash::from_bytes(seal.0) {
            return Err(
                "it was changed after this station wrote it (its seal does not match)".into(),
            );
        }
        Ok(cp)
    }

    /// Reads every checkpoint in the directory: the usable ones, and the damaged files by name.
    pub fn scan(&self) -> Result<Scan, CheckpointError> {
        let dir = &self.dir;
        // A write that crashed leaves its temporary file; none is younger than a minute.
        crate::leftovers::remove_temporaries(dir, std::time::Duration::from_secs(60));
        let entries = match fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Scan::default()),
            Err(source) => {
                return Err(CheckpointError::Dir {
                    path: dir.into(),
                    source,
                });
            }
        };
        let mut scan = Scan::default();
        for entry in entries {
            let entry = entry.map_err(|source| CheckpointError::Dir {
                path: dir.into(),
                source,
            })?;
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || !name.ends_with(".json") {
                continue;
            }
            let parsed = fs::read(&path)
                .map_err(|e| format!("cannot read it: {e}"))
                .and_then(|bytes| self.read(&bytes));
            match parsed {
                Ok(cp) => scan.checkpoints.push((path, cp)),
                Err(why) => scan.damaged.push(Damaged { path, why }),
            }
        }
        scan.damaged.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(scan)
    }

    /// Removes a checkpoint (its wipe finished, or was superseded).
    pub fn remove(&self, id: &uuid::Uuid) {
        let _ = fs::remove_file(Checkpoint::file(&self.dir, id));
        let _ = crate::durable::sync_dir(&self.dir);
    }
}

fn xor(into: &mut [u8; 32], pad: &[u8; 32]) {
    for (b, p) in into.iter_mut().zip(pad) {
        *b ^= p;
    }
}

#[cfg(test)]
mod tests {
    use super::super::checkpoint::tests::cp;
    use super::*;

    fn store(dir: &Path) -> CheckpointStore {
        CheckpointStore::new(dir, &StationKey::generate().unwrap())
    }

    #[test]
    fn save_scan_by_serial_and_remove() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let c = cp(Some("SN1"), "/dev/sdb");
        store.save(&c).unwrap();
        store.save(&cp(Some("SN2"), "/dev/sdc")).unwrap();
        std::fs::write(dir.path().join("junk.json"), b"{not json").unwrap();
        // The drive moved to another bay: found by serial.
        let moved = DriveKey {
            path: "/dev/sdd".into(),
            ..c.drive.clone()
        };
        let scan = store.scan().unwrap();
        let (_, got) = scan.newest_for(&moved).unwrap();
        assert_eq!(got.seal.map(|_| ()), Some(()));
        assert_eq!(
            Checkpoint {
                seal: None,
                ..got.clone()
            },
            c
        );
        // The damaged file is named, not skipped in silence.
        assert_eq!(scan.damaged.len(), 1);
        assert!(scan.damaged[0].path.ends_with("junk.json"));
        store.remove(&c.id);
        let scan = store.scan().unwrap();
        assert!(scan.newest_for(&moved).is_none());
    }

    #[test]
    fn a_checkpoint_changed_outside_the_station_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let path = store.save(&cp(Some("SN1"), "/dev/sdb")).unwrap();
        let sealed = std::fs::read(&path).unwrap();
        assert!(store.read(&sealed).is_ok());
        // One value changed, however plausible.
        let mut v: serde_json::Value = serde_json::from_slice(&sealed).unwrap();
        v["position"]["offset"] = 8192.into();
        let err = store.read(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(err.contains("seal does not match"), "{err}");
        // No seal, or another station's.
        v.as_object_mut().unwrap().remove("seal");
        let err = store.read(&serde_json::to_vec(&v).unwrap()).unwrap_err();
        assert!(err.contains("no seal"), "{err}");
        let other = CheckpointStore::new(dir.path(), &StationKey::generate().unwrap());
        assert!(other.read(&sealed).is_err());
    }

    #[test]
    fn a_sealed_keystream_opens_to_the_same_bytes_only_at_its_station() {
        let dir = tempfile::tempdir().unwrap();
        let key = StationKey::generate().unwrap();
        let store = CheckpointStore::new(dir.path(), &key);
        let keystream = Keystream::random().unwrap();
        let sealed = store.seal_keystream(&keystream).unwrap();
        let bytes = |k: &Keystream| {
            let mut b = vec![0u8; 1000];
            k.fill(77, &mut b);
            b
        };
        let expect = bytes(&keystream);
        // The same station, also through a store made again from its key (a restart).
        assert_eq!(bytes(&store.open_keystream(&sealed)), expect);
        let restarted = CheckpointStore::new(dir.path(), &key);
        assert_eq!(bytes(&restarted.open_keystream(&sealed)), expect);
        // The secret is not in what is stored, and sealing again uses another nonce.
        let secret = hex::encode(keystream.secret().as_bytes());
        let text = serde_json::to_string(&sealed).unwrap();
        assert!(!text.contains(&secret) && !text.contains(&secret[..32]));
        assert!(!text.contains(&secret[32..]));
        let again = store.seal_keystream(&keystream).unwrap();
        assert_ne!(again.nonce, sealed.nonce);
        assert_ne!(again.secret, sealed.secret);
        // Another station cannot open it.
        let other = CheckpointStore::new(dir.path(), &StationKey::generate().unwrap());
        assert_ne!(bytes(&other.open_keystream(&sealed)), expect);
        assert_eq!(format!("{sealed:?}"), "SealedKeystream(..)");
    }
}
