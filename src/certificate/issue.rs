//! Issuing a certificate: sign the record, draw the PDF, and write both durably before anyone
//! is told the wipe is done (ARCHITECTURE.md, invariant 3).
//!
//! Certificates of one station form a hash chain: each record names the previous certificate's
//! id and record hash. The chain head lives in `chain.json` in the certificate directory and is
//! updated under an exclusive lock, so parallel wipes (threads or processes) chain in order. A
//! chain head that cannot be read stops issuing: starting a new chain would fork it.
//!
//! One wipe gets one final certificate: a PASS or FAIL certificate for a `wipe_id` that already
//! has one is not issued again (a crash between writing it and removing the wipe's checkpoint
//! must not certify the same wipe twice); the one on disk is returned. INCOMPLETE certificates
//! record interruptions and may precede the final one.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::{Deserialize, Serialize};

use super::keys::{StationKey, public_pem};
use super::layout::describe_unshowable;
use super::pdf::{A4_MM, Attachment, PdfInfo, Seal, Typeset, render_with};
use super::record::{ChainLink, Issuable, Record, RecordError};
use super::signable::{Signable, serial_part};
use super::x509::PdfSigner;
use crate::durable::{WriteOptions, create_dir_all_mode, write_atomic, write_atomic_with};
use crate::verify::WipeResult;

/// Name of the chain head file in the certificate directory.
pub const CHAIN_FILE: &str = "chain.json";

/// The signature block of a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureBlock {
    /// Always `Ed25519`.
    pub algorithm: String,
    pub key_id: String,
    /// The signature over the record's canonical bytes, base64.
    pub value: String,
    /// Hex SHA-256 of the record's canonical bytes.
    pub record_sha256: String,
}

/// A signed certificate as JSON: the record and its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedCertificate<R = Record> {
    pub record: R,
    pub signature: SignatureBlock,
}

/// Errors issuing a certificate.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(
        "cannot write certificate {path}: {source}; the wipe is done but not certified, free the space or fix the directory and wipe again"
    )]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot lock the certificate chain {path}: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the certificate chain head {path} cannot be read ({why}); no certificate is issued, because a new chain would fork the station's chain: restore the file from a backup (it names the newest certificate's id and record_sha256)"
    )]
    Chain { path: PathBuf, why: String },
    #[error("cannot read the certificate directory {path}: {source}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot draw the certificate PDF: {0}")]
    Pdf(#[from] super::pdf::PdfError),
    #[error("{0}")]
    Key(#[from] super::keys::KeyError),
    #[error(
        "the certificate cannot show {0}: no font of the certificate has these characters. \
         Change the value (the organisation or operator in wipeproof.toml or --operator, the \
         customer or asset tag in the register) to characters it can show; the wipe is done but \
         not certified"
    )]
    Unshowable(String),
}

/// The page layouts certificates have been drawn with. Verification draws a certificate again
/// with the layout it was made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutVersion {
    /// Until wipeproof 0.1.0: the PDF standard fonts in WinAnsiEncoding (`super::v1`).
    V1,
    /// Embedded Unicode faces, text wrapped inside its box, sections over as many pages as
    /// they need (`super::v2`; wipeproof 0.1.x).
    V2,
    /// One page for a drive with up to three passes, sections kept with their headings, an
    /// Appendix G validation block (`super::layout`); the record says `"layout": 3`.
    V3,
}

/// Everything that makes up one certificate, in memory.
pub struct Rendered<R = Record> {
    pub record: R,
    /// The canonical record bytes (what was signed).
    pub canonical: Vec<u8>,
    pub signature: [u8; 64],
    pub record_sha256: String,
    /// The JSON certificate (record and signature), pretty-printed.
    pub json: Vec<u8>,
    pub pdf: Vec<u8>,
}

/// An issued certificate and where it was written.
#[derive(Debug, Clone)]
pub struct Issued<R = Record> {
    pub record: R,
    pub record_sha256: String,
    pub pdf: PathBuf,
    pub json: PathBuf,
    /// The JSON certificate as written.
    pub document: String,
    /// Whether this certificate was issued earlier for the same wipe (and not again now).
    pub earlier: bool,
}

impl<R: Signable> Issued<R> {
    /// The certificate as a value.
    pub fn signed(&self) -> Result<SignedCertificate<R>, RecordError> {
        serde_json::from_str(&self.document).map_err(|e| RecordError::Json(e.to_string()))
    }
}

/// Renders the PDF of a signed record with the current layout.
pub fn render_pdf<R: Signable>(
    record: &R,
    canonical: &[u8],
    signature: &[u8],
    record_sha256: &str,
    json: &[u8],
    public_key_pem: &str,
    signer: &PdfSigner,
) -> Result<Vec<u8>, super::pdf::PdfError> {
    let seal = Seal::Signed {
        signed_at: record.issued_at(),
        signer,
    };
    render_pdf_as(
        record.layout_version(LayoutVersion::V2),
        record,
        canonical,
        signature,
        record_sha256,
        json,
        public_key_pem,
        seal,
    )
}

/// Renders the PDF of a signed record with a given layout and PDF signature; verification uses
/// it to redraw a certificate the way it was made (with the signature's place reserved).
#[allow(clippy::too_many_arguments)]
pub fn render_pdf_as<R: Signable>(
    version: LayoutVersion,
    record: &R,
    canonical: &[u8],
    signature: &[u8],
    record_sha256: &str,
    json: &[u8],
    public_key_pem: &str,
    seal: Seal<'_>,
) -> Result<Vec<u8>, super::pdf::PdfError> {
    let sig_b64 = base64::engine::general_purpose::STANDARD.encode(signature);
    let pages = record.pages(version, record_sha256, &sig_b64);
    let typeset = match version {
        LayoutVersion::V1 => Typeset::Standard,
        LayoutVersion::V2 | LayoutVersion::V3 => Typeset::Embedded,
    };
    let title = record.pdf_title();
    let info = PdfInfo {
        title: &title,
        author: record.author(),
        id_seed: record_sha256,
        seal,
    };
    let files = [
        Attachment {
            name: "record.json",
            mime: "application/json",
            description: "The signed record: canonical JSON, the exact bytes the signature covers",
            data: canonical,
        },
        Attachment {
            name: "record.sig",
            mime: "application/octet-stream",
            description: "Ed25519 signature of record.json (64 raw bytes)",
            data: signature,
        },
        Attachment {
            name: "certificate.json",
            mime: "application/json",
            description: "The record and its signature, as wipeproof writes them beside the PDF",
            data: json,
        },
        Attachment {
            name: "signing-key.pem",
            mime: "application/x-pem-file",
            description: "The public key that signed (trust it only if it matches a key you hold)",
            data: public_key_pem.as_bytes(),
        },
    ];
    render_with(&pages, A4_MM, typeset, &info, &files)
}

/// Signs and renders a record (no files written).
pub fn sign_and_render(
    issuable: Issuable,
    key: &StationKey,
    previous: Option<ChainLink>,
) -> Result<Rendered, IssueError> {
    sign_and_render_record(issuable.into_record(), key, previous)
}

/// Signs and renders any signed record of the station (no files written).
pub fn sign_and_render_record<R: Signable>(
    mut record: R,
    key: &StationKey,
    previous: Option<ChainLink>,
) -> Result<Rendered<R>, IssueError> {
    record.seal(key.key_id(), previous);
    let cannot_show = record.unshowable(record.layout_version(LayoutVersion::V2));
    if !cannot_show.is_empty() {
        return Err(IssueError::Unshowable(describe_unshowable(&cannot_show)));
    }
    let canonical = record.signed_bytes()?;
    let signature = key.sign(&canonical).to_bytes();
    let record_sha256 = record.signed_sha256()?;
    let signed = SignedCertificate {
        record: record.clone(),
        signature: SignatureBlock {
            algorithm: "Ed25519".into(),
            key_id: key.key_id(),
            value: base64::engine::general_purpose::STANDARD.encode(signature),
            record_sha256: record_sha256.clone(),
        },
    };
    let mut json =
        serde_json::to_vec_pretty(&signed).map_err(|e| RecordError::Json(e.to_string()))?;
    json.push(b'\n');
    let pem = public_pem(&key.verifying_key())?;
    let pdf = render_pdf(
        &record,
        &canonical,
        &signature,
        &record_sha256,
        &json,
        &pem,
        key.pdf_signer(),
    )?;
    Ok(Rendered {
        record,
        canonical,
        signature,
        record_sha256,
        json,
        pdf,
    })
}

/// Signs, renders and writes a certificate into `dir`, linking it into the station's chain.
pub fn issue(issuable: Issuable, key: &StationKey, dir: &Path) -> Result<Issued, IssueError> {
    let record = issuable.into_record();
    issue_record(record, key, dir, |record| {
        if record.sanitization.result == WipeResult::Incomplete {
            return Ok(None);
        }
        find_final(
            dir,
            &record.wipe_id,
            record.media.serial.as_deref(),
            &key.verifying_key(),
        )
    })
}

/// Signs, renders and writes any signed record into `dir`, linking it into the station's
/// chain, unless `earlier` (asked under the chain's lock) finds it issued already.
pub fn issue_record<R: Signable>(
    record: R,
    key: &StationKey,
    dir: &Path,
    earlier: impl FnOnce(&R) -> Result<Option<Issued<R>>, IssueError>,
) -> Result<Issued<R>, IssueError> {
    create_dir_all_mode(dir, 0o755).map_err(|source| IssueError::Write {
        path: dir.into(),
        source,
    })?;
    let chain_path = dir.join(CHAIN_FILE);
    let _lock = ChainLock::acquire(&dir.join(".chain.lock"))?;
    // Every write into this directory happens under the lock: a temporary file now is a crash's.
    crate::leftovers::remove_temporaries(dir, std::time::Duration::ZERO);
    if let Some(issued) = earlier(&record)? {
        return Ok(issued);
    }
    let previous = read_chain(&chain_path)?;
    let rendered = sign_and_render_record(record, key, previous)?;
    let stem = rendered.record.file_stem();
    let json_path = dir.join(format!("{stem}.json"));
    let pdf_path = dir.join(format!("{stem}.pdf"));
    let new = WriteOptions {
        mode: 0o644,
        create_new: true,
    };
    write_atomic_with(&json_path, &rendered.json, new).map_err(|source| IssueError::Write {
        path: json_path.clone(),
        source,
    })?;
    write_atomic_with(&pdf_path, &rendered.pdf, new).map_err(|source| IssueError::Write {
        path: pdf_path.clone(),
        source,
    })?;
    let head = ChainLink {
        id: rendered.record.id().to_string(),
        record_sha256: rendered.record_sha256.clone(),
    };
    let head_json =
        serde_json::to_vec_pretty(&head).map_err(|e| RecordError::Json(e.to_string()))?;
    write_atomic(&chain_path, &head_json).map_err(|source| IssueError::Write {
        path: chain_path,
        source,
    })?;
    Ok(Issued {
        record: rendered.record,
        record_sha256: rendered.record_sha256,
        pdf: pdf_path,
        json: json_path,
        document: String::from_utf8_lossy(&rendered.json).into_owned(),
        earlier: false,
    })
}

/// The head of the station's chain in certificate directory `dir`: `None` only before the
/// station's first certificate. Callers check it before erasing anything, so a chain that
/// cannot be continued stops a wipe before it starts rather than after.
pub fn chain_head(dir: &Path) -> Result<Option<ChainLink>, IssueError> {
    read_chain(&dir.join(CHAIN_FILE))
}

/// The chain head; `None` only for a station's first certificate (no head and no certificate).
fn read_chain(path: &Path) -> Result<Option<ChainLink>, IssueError> {
    let chain_err = |why: String| IssueError::Chain {
        path: path.into(),
        why,
    };
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| chain_err(format!("not a chain head: {e}"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let dir = path.parent().unwrap_or(Path::new("."));
            match certificate_files(dir)?.into_iter().next() {
                Some(cert) => Err(chain_err(format!(
                    "it is missing, but {} and perhaps more certificates are there",
                    cert.display()
                ))),
                None => Ok(None),
            }
        }
        Err(e) => Err(chain_err(e.to_string())),
    }
}

/// The JSON certificates in `dir` (not the chain head, not temporaries), sorted by name.
fn certificate_files(dir: &Path) -> Result<Vec<PathBuf>, IssueError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(IssueError::Dir {
                path: dir.into(),
                source,
            });
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".json") && !n.starts_with('.') && n != CHAIN_FILE)
        })
        .collect();
    files.sort();
    Ok(files)
}

/// The final (PASS or FAIL) certificate that `key` signed in `dir` for wipe `wipe_id` of the
/// drive with `serial`, if any. Only files named for that serial are read; files that are not
/// certificates, or not signed by `key`, are passed over: a file is never taken for a
/// certificate on its word.
pub fn find_final(
    dir: &Path,
    wipe_id: &str,
    serial: Option<&str>,
    key: &ed25519_dalek::VerifyingKey,
) -> Result<Option<Issued>, IssueError> {
    let named = format!("-{}-", serial_part(serial));
    let files = certificate_files(dir)?;
    for json in files.into_iter().filter(|p| {
        p.file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.contains(&named))
    }) {
        let Ok(document) = std::fs::read_to_string(&json) else {
            continue;
        };
        let Ok(signed) = serde_json::from_str::<SignedCertificate>(&document) else {
            continue;
        };
        if signed.record.wipe_id != wipe_id || !signed_by(&signed, key) {
            continue;
        }
        let record = signed.record;
        if record.wipe_id != wipe_id || record.sanitization.result == WipeResult::Incomplete {
            continue;
        }
        return Ok(Some(Issued {
            record_sha256: signed.signature.record_sha256,
            pdf: json.with_extension("pdf"),
            json,
            record,
            document,
            earlier: true,
        }));
    }
    Ok(None)
}

/// Whether `key` made the signature of `signed` over its record.
fn signed_by(signed: &SignedCertificate, key: &ed25519_dalek::VerifyingKey) -> bool {
    let Ok(canonical) = signed.record.canonical_bytes() else {
        return false;
    };
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(&signed.signature.value)
    else {
        return false;
    };
    let Ok(signature) = ed25519_dalek::Signature::from_slice(&bytes) else {
        return false;
    };
    key.verify_strict(&canonical, &signature).is_ok()
}

/// An exclusive `flock` held for the life of the value.
struct ChainLock {
    _file: File,
}

impl ChainLock {
    fn acquire(path: &Path) -> Result<ChainLock, IssueError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|source| IssueError::Lock {
                path: path.into(),
                source,
            })?;
        // SAFETY: flock on a descriptor we own; blocks until the lock is free.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc != 0 {
            return Err(IssueError::Lock {
                path: path.into(),
                source: std::io::Error::last_os_error(),
            });
        }
        Ok(ChainLock { _file: file })
    }
}
