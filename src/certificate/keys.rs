//! The station's signing key and the trust store of public keys.
//!
//! The key is Ed25519, generated from the OS RNG, stored as PKCS#8 PEM with mode 0600 (written
//! atomically, never over an existing key without `--force`). It is zeroized in memory when
//! dropped and never printed. Its key id is `SHA256:` followed by the hex SHA-256 of the public
//! key's DER SubjectPublicKeyInfo, which anyone can recompute with
//! `openssl pkey -pubin -in key.pem -outform DER | sha256sum`.
//!
//! A certificate verifies only under a key in the trust store (`keys/trusted/*.pem` in the
//! state directory, which holds the station's own key) or given with `--trust` for one run.

use std::fs;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::durable::{WriteOptions, create_dir_all_mode, write_atomic, write_atomic_with};

/// File name of the station's private key in the keys directory.
pub const PRIVATE_KEY_FILE: &str = "station-key.pem";
/// File name of the station's public key in the keys directory.
pub const PUBLIC_KEY_FILE: &str = "station-public-key.pem";
/// Subdirectory of trusted public keys.
pub const TRUSTED_DIR: &str = "trusted";

/// Errors with keys. Each names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "a station key already exists at {0}; keep it, or pass --force to replace it (certificates signed with the old key then need its public key to verify)"
    )]
    Exists(PathBuf),
    #[error("no station key at {0}; run `wipeproof keys init`")]
    Missing(PathBuf),
    #[error("cannot read key {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write key {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a PKCS#8 Ed25519 private key in PEM form: {message}")]
    BadPrivate { path: PathBuf, message: String },
    #[error(
        "{path} is not an Ed25519 public key in PEM form (SubjectPublicKeyInfo, as `wipeproof keys export` writes): {message}"
    )]
    BadPublic { path: PathBuf, message: String },
    #[error("the OS random number generator failed: {0}")]
    Rng(String),
    #[error("cannot encode the key: {0}")]
    Encode(String),
}

/// The key id of a public key: `SHA256:` and the hex SHA-256 of its DER SubjectPublicKeyInfo.
pub fn key_id(key: &VerifyingKey) -> String {
    let der = key
        .to_public_key_der()
        .map(|d| d.as_bytes().to_vec())
        .unwrap_or_else(|_| key.to_bytes().to_vec());
    format!("SHA256:{}", hex::encode(Sha256::digest(&der)))
}

/// A public key as PEM (SubjectPublicKeyInfo), which `openssl pkey -pubin` reads.
pub fn public_pem(key: &VerifyingKey) -> Result<String, KeyError> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|e| KeyError::Encode(e.to_string()))
}

/// Parses a public key from PEM text.
pub fn parse_public(text: &str, path: &Path) -> Result<VerifyingKey, KeyError> {
    VerifyingKey::from_public_key_pem(text.trim()).map_err(|e| KeyError::BadPublic {
        path: path.into(),
        message: e.to_string(),
    })
}

/// The station's signing key.
pub struct StationKey {
    signing: SigningKey,
}

impl std::fmt::Debug for StationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StationKey({})", self.key_id())
    }
}

impl StationKey {
    /// A new key from the OS RNG.
    pub fn generate() -> Result<StationKey, KeyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(&mut seed[..]).map_err(|e| KeyError::Rng(e.to_string()))?;
        Ok(StationKey {
            signing: SigningKey::from_bytes(&seed),
        })
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    pub fn key_id(&self) -> String {
        key_id(&self.verifying_key())
    }

    /// Signs `message` (the canonical bytes of a record).
    pub fn sign(&self, message: &[u8]) -> Signature {
        self.signing.sign(message)
    }

    /// The key file of a keys directory.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(PRIVATE_KEY_FILE)
    }

    /// Loads the station key from `dir`.
    pub fn load(dir: &Path) -> Result<StationKey, KeyError> {
        let path = Self::path(dir);
        let text = match fs::read_to_string(&path) {
            Ok(t) => Zeroizing::new(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(KeyError::Missing(path));
            }
            Err(source) => return Err(KeyError::Read { path, source }),
        };
        let signing =
            SigningKey::from_pkcs8_pem(text.trim()).map_err(|e| KeyError::BadPrivate {
                path: path.clone(),
                message: e.to_string(),
            })?;
        Ok(StationKey { signing })
    }

    /// Creates a key in `dir` (refusing to replace one unless `force`), writes its public key
    /// beside it and adds that to the trust store.
    pub fn init(dir: &Path, force: bool) -> Result<StationKey, KeyError> {
        let path = Self::path(dir);
        create_dir_all_mode(dir, 0o700).map_err(|source| KeyError::Write {
            path: dir.into(),
            source,
        })?;
        if !force && path.exists() {
            return Err(KeyError::Exists(path));
        }
        let key = Self::generate()?;
        let pem = key
            .signing
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| KeyError::Encode(e.to_string()))?;
        let opts = WriteOptions {
            mode: 0o600,
            create_new: !force,
        };
        write_atomic_with(&path, pem.as_bytes(), opts).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                KeyError::Exists(path.clone())
            } else {
                KeyError::Write {
                    path: path.clone(),
                    source,
                }
            }
        })?;
        let public = public_pem(&key.verifying_key())?;
        let pub_path = dir.join(PUBLIC_KEY_FILE);
        write_atomic(&pub_path, public.as_bytes()).map_err(|source| KeyError::Write {
            path: pub_path,
            source,
        })?;
        TrustStore::add_to_dir(dir, &key.verifying_key())?;
        Ok(key)
    }

    /// Loads the key, creating it first if there is none. The flag says whether it was created.
    pub fn load_or_init(dir: &Path) -> Result<(StationKey, bool), KeyError> {
        match Self::load(dir) {
            Ok(k) => Ok((k, false)),
            Err(KeyError::Missing(_)) => match Self::init(dir, false) {
                Ok(k) => Ok((k, true)),
                // Another process created it in between: use theirs.
                Err(KeyError::Exists(_)) => Ok((Self::load(dir)?, false)),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        }
    }
}

/// A trusted public key and where it came from.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    pub key_id: String,
    pub key: VerifyingKey,
    pub source: PathBuf,
}

/// Public keys whose certificates verify.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    keys: Vec<TrustedKey>,
}

impl TrustStore {
    /// Loads `keys/trusted/*.pem` from the keys directory (missing directory: empty store).
    /// Unreadable files are errors: a trust store that silently drops keys would mislead.
    pub fn load(keys_dir: &Path) -> Result<TrustStore, KeyError> {
        let dir = keys_dir.join(TRUSTED_DIR);
        let mut store = TrustStore::default();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(store),
            Err(source) => return Err(KeyError::Read { path: dir, source }),
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "pem"))
            .collect();
        paths.sort();
        for p in paths {
            store.add_file(&p)?;
        }
        Ok(store)
    }

    /// Adds a public key file (for one run: `verify --trust FILE`).
    pub fn add_file(&mut self, path: &Path) -> Result<(), KeyError> {
        let text = fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: path.into(),
            source,
        })?;
        let key = parse_public(&text, path)?;
        self.add(key, path.to_path_buf());
        Ok(())
    }

    pub fn add(&mut self, key: VerifyingKey, source: PathBuf) {
        let id = key_id(&key);
        if !self.keys.iter().any(|k| k.key_id == id) {
            self.keys.push(TrustedKey {
                key_id: id,
                key,
                source,
            });
        }
    }

    /// The trusted key with this id.
    pub fn get(&self, key_id: &str) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| k.key_id == key_id)
    }

    pub fn keys(&self) -> &[TrustedKey] {
        &self.keys
    }

    /// Writes a public key into the trust store of a keys directory.
    pub fn add_to_dir(keys_dir: &Path, key: &VerifyingKey) -> Result<PathBuf, KeyError> {
        let dir = keys_dir.join(TRUSTED_DIR);
        create_dir_all_mode(&dir, 0o755).map_err(|source| KeyError::Write {
            path: dir.clone(),
            source,
        })?;
        let id = key_id(key);
        let short = id.trim_start_matches("SHA256:");
        let path = dir.join(format!("{}.pem", &short[..16.min(short.len())]));
        write_atomic(&path, public_pem(key)?.as_bytes()).map_err(|source| KeyError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Verifier;

    #[test]
    fn init_writes_a_private_key_0600_and_trusts_its_public_key() {
        let dir = tempfile::tempdir().unwrap();
        let key = StationKey::init(dir.path(), false).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(StationKey::path(dir.path()))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let loaded = StationKey::load(dir.path()).unwrap();
        assert_eq!(loaded.key_id(), key.key_id());
        let sig = loaded.sign(b"record");
        assert!(key.verifying_key().verify(b"record", &sig).is_ok());
        let store = TrustStore::load(dir.path()).unwrap();
        assert!(store.get(&key.key_id()).is_some());
        assert!(key.key_id().starts_with("SHA256:") && key.key_id().len() == 7 + 64);
        // The debug form names the key id, never the secret.
        assert!(format!("{key:?}").contains("SHA256:"));
    }

    #[test]
    fn init_refuses_to_replace_a_key_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let first = StationKey::init(dir.path(), false).unwrap();
        assert!(matches!(
            StationKey::init(dir.path(), false),
            Err(KeyError::Exists(_))
        ));
        assert_eq!(
            StationKey::load(dir.path()).unwrap().key_id(),
            first.key_id()
        );
        let second = StationKey::init(dir.path(), true).unwrap();
        assert_ne!(second.key_id(), first.key_id());
    }

    #[test]
    fn bad_key_files_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            StationKey::load(dir.path()),
            Err(KeyError::Missing(_))
        ));
        fs::write(StationKey::path(dir.path()), "not a key").unwrap();
        let err = StationKey::load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("PKCS#8"), "{err}");
        let bad = dir.path().join("x.pem");
        fs::write(
            &bad,
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        )
        .unwrap();
        let mut store = TrustStore::default();
        assert!(store.add_file(&bad).is_err());
    }
}
