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
//!
//! Every public key read from outside (a trust store file, `--trust`, `stations add`, a
//! register's enrolled stations, the key embedded in a PDF) becomes a [`PublicKey`] through
//! [`PublicKey::from_verifying_key`], which refuses keys of small order (such as the identity
//! point: under it one fixed signature "verifies" for every message) and non-canonical
//! encodings. [`PublicKey::verify`] is Ed25519 with the strict checks (`verify_strict`), so no
//! weak key or malleable signature is accepted anywhere.

use std::fs;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, SignatureError, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::x509::PdfSigner;
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
    #[error(
        "{path} holds a weak Ed25519 public key ({reason}); no station makes such a key, and with it a forged signature would verify: ask for the station's real key (`wipeproof keys export`)"
    )]
    WeakPublic { path: PathBuf, reason: WeakKey },
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

/// Why a public key is unfit to verify anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WeakKey {
    #[error("it is a point of small order")]
    SmallOrder,
    #[error("its encoding is not canonical")]
    NonCanonical,
}

/// An Ed25519 public key fit to verify certificates: of large order and canonically encoded.
/// The only ways to get one are [`PublicKey::from_verifying_key`] (which checks) and a station's
/// own key, so holding one proves the check was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// Checks a key read from anywhere outside this station.
    pub fn from_verifying_key(key: VerifyingKey) -> Result<PublicKey, WeakKey> {
        if key.is_weak() {
            return Err(WeakKey::SmallOrder);
        }
        // The point re-encoded must give the same 32 bytes: a non-canonical encoding would give
        // one point two key ids.
        if key.to_edwards().compress().to_bytes() != key.to_bytes() {
            return Err(WeakKey::NonCanonical);
        }
        Ok(PublicKey(key))
    }

    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }

    /// The key id (`SHA256:` and hex).
    pub fn key_id(&self) -> String {
        key_id(&self.0)
    }

    /// Strict Ed25519 verification of `signature` over `message` (`verify_strict`: small-order
    /// keys and signature points, and non-canonical scalars, are refused).
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), SignatureError> {
        self.0.verify_strict(message, signature)
    }
}

/// The first `PUBLIC KEY` block of PEM text (`keys export` prints the station's certificate
/// after it); the whole text if it has none, for the parser to say what is wrong.
fn public_key_block(text: &str) -> &str {
    const END: &str = "-----END PUBLIC KEY-----";
    match (text.find("-----BEGIN PUBLIC KEY-----"), text.find(END)) {
        (Some(begin), Some(end)) if begin < end => &text[begin..end + END.len()],
        _ => text.trim(),
    }
}

/// Parses a public key from PEM text (the first public key block: what `keys export` prints,
/// with the certificate after it, is read as it is), refusing weak keys. Every reader of public
/// keys (trust store, `--trust`, `stations add`, the register's stations, a PDF's embedded key)
/// uses this.
pub fn parse_public(text: &str, path: &Path) -> Result<PublicKey, KeyError> {
    let block = public_key_block(text);
    let key = VerifyingKey::from_public_key_pem(block).map_err(|e| KeyError::BadPublic {
        path: path.into(),
        message: e.to_string(),
    })?;
    PublicKey::from_verifying_key(key).map_err(|reason| KeyError::WeakPublic {
        path: path.into(),
        reason,
    })
}

/// The station's signing keys: Ed25519 for records, P-256 and its certificate for PDFs.
pub struct StationKey {
    signing: SigningKey,
    pdf: PdfSigner,
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
        let signing = SigningKey::from_bytes(&seed);
        let pdf = PdfSigner::generate(&key_id(&signing.verifying_key()))?;
        Ok(StationKey { signing, pdf })
    }

    /// The key and certificate that sign PDFs.
    pub fn pdf_signer(&self) -> &PdfSigner {
        &self.pdf
    }

    /// The same, to install a certificate a register's CA issued ([`PdfSigner::install_issued`]).
    pub fn pdf_signer_mut(&mut self) -> &mut PdfSigner {
        &mut self.pdf
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// The public key. A key derived from a secret scalar is never of small order, so this needs
    /// no check.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.signing.verifying_key())
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
        let pdf = PdfSigner::load_or_create(dir, &key_id(&signing.verifying_key()))?;
        Ok(StationKey { signing, pdf })
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
        TrustStore::add_to_dir(dir, &key.public_key())?;
        // A new Ed25519 key needs a certificate naming it: the PDF key is made anew too.
        key.pdf.write(dir, true)?;
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
    pub key: PublicKey,
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

    pub fn add(&mut self, key: PublicKey, source: PathBuf) {
        let id = key.key_id();
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
    pub fn add_to_dir(keys_dir: &Path, key: &PublicKey) -> Result<PathBuf, KeyError> {
        let dir = keys_dir.join(TRUSTED_DIR);
        create_dir_all_mode(&dir, 0o755).map_err(|source| KeyError::Write {
            path: dir.clone(),
            source,
        })?;
        let id = key.key_id();
        let short = id.trim_start_matches("SHA256:");
        let path = dir.join(format!("{}.pem", &short[..16.min(short.len())]));
        write_atomic(&path, public_pem(key.verifying_key())?.as_bytes()).map_err(|source| {
            KeyError::Write {
                path: path.clone(),
                source,
            }
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

    /// The eight points of small order (the torsion subgroup), as Ed25519 public key bytes.
    pub(crate) fn small_order_points() -> Vec<[u8; 32]> {
        [
            // the identity (order 1)
            "0100000000000000000000000000000000000000000000000000000000000000",
            // order 2 (y = -1)
            "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
            // order 4 (y = 0, both signs of x)
            "0000000000000000000000000000000000000000000000000000000000000000",
            "0000000000000000000000000000000000000000000000000000000000000080",
            // order 8
            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
            "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
            "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        ]
        .iter()
        .map(|h| {
            let bytes: [u8; 32] = hex::decode(h).unwrap().try_into().unwrap();
            assert!(VerifyingKey::from_bytes(&bytes).is_ok(), "{h} is a point");
            bytes
        })
        .collect()
    }

    /// The PEM (SubjectPublicKeyInfo) of raw Ed25519 public key bytes, valid or not.
    pub(crate) fn pem_of(bytes: &[u8; 32]) -> String {
        use base64::Engine;
        let mut der = hex::decode("302a300506032b6570032100").unwrap();
        der.extend_from_slice(bytes);
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n")
    }

    #[test]
    fn weak_public_keys_are_refused_by_every_reader() {
        let dir = tempfile::tempdir().unwrap();
        let points = small_order_points();
        assert_eq!(points.len(), 8);
        for (i, bytes) in points.iter().enumerate() {
            let err = parse_public(&pem_of(bytes), Path::new("weak.pem")).unwrap_err();
            assert!(
                matches!(err, KeyError::WeakPublic { .. }) && err.to_string().contains("weak.pem"),
                "point {i}: {err}"
            );
            // A trust store file, as `verify --trust` and `keys trust` read it.
            let file = dir.path().join(format!("weak{i}.pem"));
            fs::write(&file, pem_of(bytes)).unwrap();
            let mut store = TrustStore::default();
            assert!(store.add_file(&file).is_err(), "point {i}");
            assert!(store.keys().is_empty());
        }
        // In the trust directory, a weak key is an error, not a silently trusted key.
        let keys = dir.path().join("keys");
        fs::create_dir_all(keys.join(TRUSTED_DIR)).unwrap();
        fs::write(keys.join(TRUSTED_DIR).join("x.pem"), pem_of(&points[0])).unwrap();
        assert!(matches!(
            TrustStore::load(&keys),
            Err(KeyError::WeakPublic { .. })
        ));
    }

    #[test]
    fn non_canonical_encodings_are_refused() {
        // y = p + 2 (p = 2^255 - 19) encodes the same point as y = 2 if it decodes at all; a
        // key must have one encoding only. Try every small non-canonical y that decodes.
        let mut refused = 0;
        for extra in 0u8..19 {
            let mut bytes = [0xffu8; 32];
            bytes[0] = 0xed + extra; // p + extra, little-endian, below 2^255
            bytes[31] = 0x7f;
            if let Ok(k) = VerifyingKey::from_bytes(&bytes) {
                assert!(PublicKey::from_verifying_key(k).is_err(), "y = p + {extra}");
                refused += 1;
            }
        }
        assert!(refused > 0, "no non-canonical encoding decoded");
    }

    #[test]
    fn the_identity_key_forges_under_plain_verify_and_fails_strict_verification() {
        // With A the identity, R = identity and s = 0 satisfy [s]B = R + [k]A for every
        // message: the forgery the weak-key check and `verify_strict` exist to stop.
        let identity = small_order_points()
            .into_iter()
            .find(|b| b[0] == 1 && b[1..].iter().all(|&x| x == 0))
            .unwrap();
        let key = VerifyingKey::from_bytes(&identity).unwrap();
        let mut sig = [0u8; 64];
        sig[0] = 1;
        let sig = Signature::from_bytes(&sig);
        for message in [&b"any record"[..], b"another record"] {
            assert!(key.verify(message, &sig).is_ok(), "the forgery works");
            assert!(key.verify_strict(message, &sig).is_err());
        }
        assert_eq!(PublicKey::from_verifying_key(key), Err(WeakKey::SmallOrder));
        // A genuine key passes the check and verifies strictly.
        let station = StationKey::generate().unwrap();
        let public = PublicKey::from_verifying_key(station.verifying_key()).unwrap();
        assert!(public.verify(b"m", &station.sign(b"m")).is_ok());
        assert!(public.verify(b"n", &station.sign(b"m")).is_err());
    }
}
