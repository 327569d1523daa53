//! Verifying a certificate, as a PDF or as JSON, optionally against the drive itself.
//!
//! Checks, each reported with what it found:
//!
//! * `format`: the file is a wipeproof certificate (else the whole check is an error, exit 2);
//! * `schema`: the record follows schema v1;
//! * `signature`: the Ed25519 signature covers the record's canonical bytes;
//! * `trusted_key`: the signing key is in the trust store (or given with `--trust`);
//! * PDF only: `embedded_files` (record.json, record.sig and certificate.json agree),
//!   `visible_text` (the words on the pages, read through their fonts' encodings, are exactly
//!   those the signed record renders to with the file's layout, and every character of the
//!   record can be shown), `page_content` (every drawing operation too, and nothing added),
//!   `pdf_structure` (one revision, and every object a viewer reads is what the renderer
//!   writes, whichever version made the file), `pdf_signature` (the PAdES signature viewers
//!   check is valid, covers the whole file, and its certificate names the record's key);
//! * JSON only: `signature_block` (its key id and record hash are the record's);
//! * `file`: whether the file is byte for byte what this signed record renders to, saying
//!   which it found (a re-indented JSON stays valid: it is read strictly; a re-saved PDF does
//!   not, as only the issued bytes vouch for what a viewer shows).
//! * with a drive: `drive_identity`, `drive_content` (the published sample regions read now hash
//!   to the certified digest) and `drive_pattern` (fresh random regions, or every byte with
//!   `--full`, hold the final pattern, where it can be recomputed); the report says how much of
//!   the drive was read.
//!
//! The PDF's own checks are in `page`, the drive's in `drive`; this file reads the file, checks
//! what PDF and JSON share, and gathers the report.

use std::path::Path;

use base64::Engine;
use ed25519_dalek::{Signature, VerifyingKey};
use serde::Serialize;
use sha2::{Digest, Sha256};

mod drive;
mod json;
mod page;
pub(crate) mod signature;
pub(crate) mod structure;

pub use drive::{DriveCheck, DriveRead};

use super::canonical;
use super::computer::ComputerRecord;
use super::issue::{SignatureBlock, SignedCertificate, render_pdf_as};
use super::keys::{PublicKey, TrustStore, parse_public, public_pem};
use super::pdf::{self, ParsedPdf};
use super::record::Record;
use super::signable::Signable;
use super::strict_json;
use crate::device::Target;
use crate::erase::{NullSink, StopFlag};
use crate::verify::plan::{PlanParams, SamplePlan};
use crate::verify::sample::{Expected, read_plan};

/// One check and its finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckItem {
    pub name: String,
    pub ok: bool,
    pub detail: String,
}

/// The verdict on a certificate.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub valid: bool,
    pub checks: Vec<CheckItem>,
    /// With `--drive`: how much of the drive was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drive: Option<DriveRead>,
    #[serde(skip)]
    pub record: Option<Record>,
    /// The record of a computer certificate.
    #[serde(skip)]
    pub computer: Option<ComputerRecord>,
}

impl Report {
    /// The verdict on a file that could not be checked at all: one failed `format` check
    /// saying why.
    pub fn unreadable(why: impl std::fmt::Display) -> Report {
        Report {
            valid: false,
            checks: vec![CheckItem {
                name: "format".into(),
                ok: false,
                detail: why.to_string(),
            }],
            drive: None,
            record: None,
            computer: None,
        }
    }

    fn push(&mut self, name: &str, ok: bool, detail: impl Into<String>) {
        self.checks.push(CheckItem {
            name: name.into(),
            ok,
            detail: detail.into(),
        });
        self.valid = self.checks.iter().all(|c| c.ok);
    }
}

/// Why a certificate could not be checked at all (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a wipeproof certificate: {reason}")]
    NotCertificate { path: String, reason: String },
    #[error("cannot read the drive {path}: {reason}")]
    Drive { path: String, reason: String },
}

/// Largest certificate file read.
const MAX_FILE: u64 = pdf::MAX_PDF_BYTES as u64;

/// Verifies the certificate in `path`.
pub fn verify_file(
    path: &Path,
    trust: &TrustStore,
    drive: Option<&DriveCheck<'_>>,
) -> Result<Report, CheckError> {
    let shown = path.display().to_string();
    let read_err = |source| CheckError::Read {
        path: shown.clone(),
        source,
    };
    let len = std::fs::metadata(path).map_err(read_err)?.len();
    if len > MAX_FILE {
        return Err(CheckError::NotCertificate {
            path: shown,
            reason: format!("{len} bytes is far larger than any certificate"),
        });
    }
    let bytes = std::fs::read(path).map_err(|source| CheckError::Read {
        path: shown.clone(),
        source,
    })?;
    verify_bytes(&bytes, &shown, trust, drive)
}

/// Verifies certificate bytes (PDF if they start with `%PDF-`, else JSON).
pub fn verify_bytes(
    bytes: &[u8],
    name: &str,
    trust: &TrustStore,
    drive: Option<&DriveCheck<'_>>,
) -> Result<Report, CheckError> {
    let not_cert = |reason: String| CheckError::NotCertificate {
        path: name.into(),
        reason,
    };
    let mut report = Report {
        valid: true,
        checks: Vec::new(),
        drive: None,
        record: None,
        computer: None,
    };
    let pdf_parsed;
    let mut json_block = None;
    let (signed_bytes, signature, embedded_key, record_value) = if bytes.starts_with(b"%PDF-") {
        let parsed = pdf::parse(bytes).map_err(|e| not_cert(e.to_string()))?;
        let record_json = parsed
            .attachments
            .get("record.json")
            .ok_or_else(|| not_cert("the PDF has no embedded record.json".into()))?
            .clone();
        let sig = parsed
            .attachments
            .get("record.sig")
            .ok_or_else(|| not_cert("the PDF has no embedded record.sig".into()))?
            .clone();
        let value = strict_json::value_from_slice(&record_json)
            .map_err(|e| not_cert(format!("its record.json is not strict JSON: {e}")))?;
        let key = parsed.attachments.get("signing-key.pem").and_then(|k| {
            parse_public(&String::from_utf8_lossy(k), Path::new("signing-key.pem")).ok()
        });
        report.push("format", true, "PDF with an embedded signed record");
        pdf_parsed = Some(parsed);
        (record_json, sig, key, value)
    } else {
        std::str::from_utf8(bytes).map_err(|_| not_cert("neither a PDF nor UTF-8 JSON".into()))?;
        let envelope = json::read_envelope(bytes).map_err(not_cert)?;
        let sig = base64::engine::general_purpose::STANDARD
            .decode(&envelope.signature.value)
            .unwrap_or_default();
        let canonical = canonical::to_bytes(&envelope.record)
            .map_err(|e| not_cert(format!("the record has no canonical form: {e}")))?;
        report.push(
            "format",
            true,
            "JSON certificate (record and signature), read strictly: no repeated or unknown members",
        );
        pdf_parsed = None;
        json_block = Some(envelope.signature);
        (canonical, sig, None, envelope.record)
    };

    let signed = Signed {
        bytes,
        signed_bytes: &signed_bytes,
        signature: &signature,
        embedded_key,
        pdf: pdf_parsed.as_ref(),
        json_block: json_block.as_ref(),
    };
    let computer = record_value.get("schema").and_then(|s| s.as_str())
        == Some(super::computer::COMPUTER_SCHEMA);
    if computer {
        report.computer = check_record::<ComputerRecord>(&mut report, record_value, &signed, trust);
        if let Some(d) = drive {
            report.push(
                "drive_identity",
                false,
                format!(
                    "{} was not checked: a computer certificate covers several drives; check \
                     each drive against its own certificate (listed on this one) with --drive",
                    d.path.display()
                ),
            );
        }
        return Ok(report);
    }
    let record = check_record::<Record>(&mut report, record_value, &signed, trust);
    // The drive.
    if let (Some(drive), Some(r)) = (drive, &record) {
        drive::check_drive(&mut report, drive, r)?;
    }
    report.record = record;
    Ok(report)
}

/// What was read of a certificate file, whatever its record.
struct Signed<'a> {
    bytes: &'a [u8],
    signed_bytes: &'a [u8],
    signature: &'a [u8],
    embedded_key: Option<PublicKey>,
    pdf: Option<&'a ParsedPdf>,
    json_block: Option<&'a SignatureBlock>,
}

/// The checks every signed record gets: schema, signature, trust, canonical form, and the
/// PDF's or the JSON file's own checks.
fn check_record<R: Signable>(
    report: &mut Report,
    record_value: serde_json::Value,
    signed: &Signed<'_>,
    trust: &TrustStore,
) -> Option<R> {
    let (signed_bytes, signature) = (signed.signed_bytes, signed.signature);
    // Schema.
    let record = match R::from_value(record_value) {
        Ok(r) => {
            report.push("schema", true, format!("record follows {}", R::SCHEMA));
            Some(r)
        }
        Err(e) => {
            report.push("schema", false, e.to_string());
            None
        }
    };

    // Signature and trust.
    let claimed_key_id = record
        .as_ref()
        .map(|r| r.key_id().to_string())
        .unwrap_or_default();
    let sig = <[u8; 64]>::try_from(signature)
        .ok()
        .map(|b| Signature::from_bytes(&b));
    let trusted = trust.get(&claimed_key_id);
    let key: Option<PublicKey> = trusted
        .map(|t| t.key)
        .or_else(|| signed.embedded_key.filter(|k| k.key_id() == claimed_key_id));
    match (&sig, &key) {
        (None, _) => report.push(
            "signature",
            false,
            format!(
                "the signature is {} bytes, not a 64-byte Ed25519 signature",
                signature.len()
            ),
        ),
        (Some(_), None) => report.push(
            "signature",
            false,
            format!("no public key with id {claimed_key_id} is at hand to check the signature"),
        ),
        (Some(s), Some(k)) => match k.verify(signed_bytes, s) {
            Ok(()) => report.push(
                "signature",
                true,
                format!("Ed25519 signature over the record is valid (key {claimed_key_id})"),
            ),
            Err(_) => report.push(
                "signature",
                false,
                "the signature does not match the record: the record or the signature was changed",
            ),
        },
    }
    match trusted {
        Some(t) => report.push(
            "trusted_key",
            true,
            format!("key {} is trusted ({})", t.key_id, t.source.display()),
        ),
        None => report.push(
            "trusted_key",
            false,
            format!(
                "key {claimed_key_id} is not in the trust store; add the station's public key with --trust FILE if you trust it"
            ),
        ),
    }
    if let Some(r) = &record
        && !signed_bytes.is_empty()
    {
        let canonical_ok = r.signed_bytes().map(|c| c == signed_bytes).unwrap_or(false);
        if !canonical_ok {
            report.push(
                "canonical",
                false,
                "the signed bytes are not the canonical form of the record",
            );
        }
    }

    // The PDF's own content.
    if let (Some(parsed), Some(r)) = (signed.pdf, &record) {
        page::check_pdf(
            report,
            signed.bytes,
            parsed,
            r,
            signed_bytes,
            signature,
            key.as_ref().map(PublicKey::verifying_key),
        );
    }

    // A JSON certificate: its signature block, and whether it is byte for byte as issued.
    if let (Some(block), Some(r)) = (signed.json_block, &record) {
        json::check_json_file(report, signed.bytes, r, block, signature);
    }
    record
}

/// Whether the check `name` was made and passed.
fn passed(report: &Report, name: &str) -> bool {
    report.checks.iter().any(|c| c.name == name && c.ok)
}

/// The first byte at which two files differ.
fn first_difference(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()))
}

#[cfg(test)]
mod tests {
    use super::super::issue::{Rendered, sign_and_render};
    use super::super::keys::StationKey;
    use super::super::record::Issuable;
    use super::super::record::tests::sample_record;
    use super::*;
    use proptest::prelude::*;
    use std::sync::OnceLock;

    struct Fixture {
        rendered: Rendered,
        trust: TrustStore,
    }

    fn fixture() -> &'static Fixture {
        static F: OnceLock<Fixture> = OnceLock::new();
        F.get_or_init(|| {
            let key = StationKey::generate().unwrap();
            let mut record = sample_record();
            record.tool.version = env!("CARGO_PKG_VERSION").into();
            let rendered =
                sign_and_render(Issuable::from_record_for_tests(record), &key, None).unwrap();
            let mut trust = TrustStore::default();
            trust.add(key.public_key(), "test".into());
            Fixture { rendered, trust }
        })
    }

    #[test]
    fn genuine_pdf_and_json_verify() {
        let f = fixture();
        for bytes in [&f.rendered.pdf, &f.rendered.json] {
            let r = verify_bytes(bytes, "t", &f.trust, None).unwrap();
            assert!(r.valid, "{:#?}", r.checks);
        }
        let pdf = verify_bytes(&f.rendered.pdf, "t", &f.trust, None).unwrap();
        let names: Vec<&str> = pdf.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "format",
                "schema",
                "signature",
                "trusted_key",
                "embedded_files",
                "visible_text",
                "page_content",
                "pdf_structure",
                "pdf_signature",
                "file"
            ]
        );
    }

    #[test]
    fn untrusted_key_does_not_verify_however_valid_the_signature() {
        let f = fixture();
        let r = verify_bytes(&f.rendered.pdf, "t", &TrustStore::default(), None).unwrap();
        assert!(!r.valid);
        let sig = r.checks.iter().find(|c| c.name == "signature").unwrap();
        assert!(
            sig.ok,
            "the embedded key still shows the signature is genuine"
        );
        let trust = r.checks.iter().find(|c| c.name == "trusted_key").unwrap();
        assert!(!trust.ok && trust.detail.contains("--trust"));
    }

    #[test]
    fn an_edited_json_field_or_signature_fails_the_signature_check() {
        let f = fixture();
        let mut v: serde_json::Value = serde_json::from_slice(&f.rendered.json).unwrap();
        v["record"]["media"]["serial"] = "S6PUNX0R999999A".into();
        let r = verify_bytes(&serde_json::to_vec(&v).unwrap(), "t", &f.trust, None).unwrap();
        let sig = r.checks.iter().find(|c| c.name == "signature").unwrap();
        assert!(!r.valid && !sig.ok, "{:#?}", r.checks);

        let mut v: serde_json::Value = serde_json::from_slice(&f.rendered.json).unwrap();
        let s = v["signature"]["value"].as_str().unwrap().to_string();
        let first = if s.starts_with('A') { 'B' } else { 'A' };
        let flipped: String = std::iter::once(first).chain(s.chars().skip(1)).collect();
        v["signature"]["value"] = flipped.into();
        let r = verify_bytes(&serde_json::to_vec(&v).unwrap(), "t", &f.trust, None).unwrap();
        assert!(!r.checks.iter().find(|c| c.name == "signature").unwrap().ok);
    }

    /// A layout 1 certificate (standard fonts, WinAnsi) of a record with characters that layout
    /// could not show: its page printed `?`, so it does not verify, and the check says why.
    #[test]
    fn a_page_that_cannot_show_the_record_does_not_verify() {
        use super::super::issue::{LayoutVersion, render_pdf_as};
        let f = fixture();
        let key = StationKey::generate().unwrap();
        let mut record = sample_record();
        record.organisation.name = "Łódź Recykling".into();
        // Certificates drawn with layouts 1 and 2 say `"layout": 1`.
        record.layout = 1;
        record.key_id = key.key_id();
        let canonical = record.canonical_bytes().unwrap();
        let signature = key.sign(&canonical).to_bytes();
        let sha = record.sha256().unwrap();
        let pem = public_pem(&key.verifying_key()).unwrap();
        let json = serde_json::to_vec_pretty(&SignedCertificate {
            record: record.clone(),
            signature: SignatureBlock {
                algorithm: "Ed25519".into(),
                key_id: key.key_id(),
                value: base64::engine::general_purpose::STANDARD.encode(signature),
                record_sha256: sha.clone(),
            },
        })
        .map(|mut v| {
            v.push(b'\n');
            v
        })
        .unwrap();
        let pdf = render_pdf_as(
            LayoutVersion::V1,
            &record,
            &canonical,
            &signature,
            &sha,
            &json,
            &pem,
            crate::certificate::pdf::Seal::None,
        )
        .unwrap();
        let mut trust = f.trust.clone();
        trust.add(key.public_key(), "test".into());
        let r = verify_bytes(&pdf, "t", &trust, None).unwrap();
        let text = r.checks.iter().find(|c| c.name == "visible_text").unwrap();
        assert!(!r.valid && !text.ok, "{:#?}", r.checks);
        assert!(text.detail.contains("U+0141"), "{}", text.detail);
        // The same record drawn with the current layout shows every character.
        let rendered =
            sign_and_render(Issuable::from_record_for_tests(record), &key, None).unwrap();
        let r = verify_bytes(&rendered.pdf, "t", &trust, None).unwrap();
        assert!(r.valid, "{:#?}", r.checks);
    }

    #[test]
    fn junk_is_an_error_not_a_panic() {
        let f = fixture();
        for junk in [
            &b""[..],
            b"{}",
            b"[1,2]",
            b"%PDF-1.7\n%%EOF",
            b"\xff\xfe",
            b"{\"record\":{}}",
        ] {
            match verify_bytes(junk, "junk", &f.trust, None) {
                Err(_) => {}
                Ok(r) => assert!(!r.valid),
            }
        }
        for cut in [1, 100, f.rendered.pdf.len() / 2, f.rendered.pdf.len() - 1] {
            let r = verify_bytes(&f.rendered.pdf[..cut], "cut", &f.trust, None);
            assert!(r.map(|r| !r.valid).unwrap_or(true), "truncated at {cut}");
        }
    }

    /// A certificate as an older wipeproof made it (signed now, claiming that version).
    fn old_fixture() -> &'static Fixture {
        static F: OnceLock<Fixture> = OnceLock::new();
        F.get_or_init(|| {
            let key = StationKey::generate().unwrap();
            let mut record = sample_record();
            record.tool.version = "0.0.9".into();
            let rendered =
                sign_and_render(Issuable::from_record_for_tests(record), &key, None).unwrap();
            let mut trust = TrustStore::default();
            trust.add(key.public_key(), "test".into());
            Fixture { rendered, trust }
        })
    }

    fn detail<'a>(r: &'a Report, name: &str) -> &'a CheckItem {
        r.checks
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no check {name}: {:#?}", r.checks))
    }

    /// Inserts `text` right after the first `{` of a JSON certificate.
    fn insert_first(json: &[u8], text: &str) -> Vec<u8> {
        let s = String::from_utf8(json.to_vec()).unwrap();
        s.replacen('{', &format!("{{{text}"), 1).into_bytes()
    }

    #[test]
    fn json_edits_a_lenient_reader_accepts_never_verify_whatever_version_made_the_file() {
        for f in [fixture(), old_fixture()] {
            let genuine = String::from_utf8(f.rendered.json.clone()).unwrap();
            let v: serde_json::Value = serde_json::from_str(&genuine).unwrap();
            let mut forged_record = v["record"].clone();
            forged_record["sanitization"]["result"] = "PASS".into();
            forged_record["media"]["serial"] = "OTHER".into();
            let edits: Vec<(&str, Vec<u8>)> = vec![
                (
                    "a second record member (first one forged)",
                    insert_first(genuine.as_bytes(), &format!("\"record\": {forged_record},")),
                ),
                (
                    "a repeated member inside the record",
                    genuine
                        .replacen(
                            "\"destination\": \"reuse\"",
                            "\"destination\": \"destroy\", \"destination\": \"reuse\"",
                            1,
                        )
                        .into_bytes(),
                ),
                (
                    "an extra envelope member",
                    insert_first(genuine.as_bytes(), "\"result\": \"PASS\","),
                ),
                (
                    "an extra member in the signature block",
                    genuine
                        .replacen("\"algorithm\"", "\"note\": \"x\", \"algorithm\"", 1)
                        .into_bytes(),
                ),
                (
                    "an unknown member deep in the record",
                    genuine
                        .replacen(
                            "\"type\": \"overwrite\"",
                            "\"type\": \"overwrite\", \"x\": 1",
                            1,
                        )
                        .into_bytes(),
                ),
                (
                    "trailing data",
                    format!("{genuine}{{\"record\": {forged_record}}}").into_bytes(),
                ),
            ];
            for (what, bytes) in edits {
                assert_ne!(bytes, f.rendered.json, "{what}: the edit did not apply");
                let valid = verify_bytes(&bytes, "edit", &f.trust, None)
                    .map(|r| r.valid)
                    .unwrap_or(false);
                assert!(!valid, "{what} verifies");
            }
        }
    }

    #[test]
    fn the_file_check_says_what_it_found() {
        for f in [fixture(), old_fixture()] {
            // As issued.
            let r = verify_bytes(&f.rendered.json, "t", &f.trust, None).unwrap();
            let file = detail(&r, "file");
            assert!(
                r.valid && file.ok && file.detail.starts_with("byte-identical"),
                "{file:?}"
            );
            // Re-indented: the same signed record, read strictly, so still valid; the check
            // says it is not the issued file.
            let v: serde_json::Value = serde_json::from_slice(&f.rendered.json).unwrap();
            let compact = serde_json::to_vec(&v).unwrap();
            let r = verify_bytes(&compact, "t", &f.trust, None).unwrap();
            let file = detail(&r, "file");
            assert!(r.valid, "{:#?}", r.checks);
            assert!(
                file.ok && file.detail.starts_with("not byte-identical"),
                "{file:?}"
            );
            // Edited: never called identical or as issued.
            let mut v = v;
            v["record"]["media"]["serial"] = "EDITED".into();
            let edited = serde_json::to_vec_pretty(&v).unwrap();
            let r = verify_bytes(&edited, "t", &f.trust, None).unwrap();
            let file = detail(&r, "file");
            assert!(!r.valid && !file.ok, "{file:?}");
            assert!(!file.detail.contains("byte-identical to"), "{file:?}");
        }
        // A re-saved PDF of this version: not byte-identical, and the check says re-saved.
        let f = fixture();
        let mut doc = lopdf::Document::load_mem(&f.rendered.pdf).unwrap();
        let mut resaved = Vec::new();
        doc.compress();
        doc.save_to(&mut resaved).unwrap();
        assert_ne!(resaved, f.rendered.pdf);
        let r = verify_bytes(&resaved, "t", &f.trust, None).unwrap();
        let file = detail(&r, "file");
        assert!(
            !file.ok
                && file.detail.starts_with("not byte-identical")
                && file.detail.contains("re-saved"),
            "{file:?}"
        );
        let r = verify_bytes(&f.rendered.pdf, "t", &f.trust, None).unwrap();
        assert!(detail(&r, "file").detail.starts_with("byte-identical"));
    }

    #[test]
    fn the_pdf_signature_is_checked_and_its_contents_spelt_only_one_way() {
        let f = fixture();
        let r = verify_bytes(&f.rendered.pdf, "t", &f.trust, None).unwrap();
        let sig = detail(&r, "pdf_signature");
        assert!(sig.ok && sig.detail.contains("PAdES"), "{sig:?}");
        // The same signature bytes in lower-case hex: no byte a signature covers changed, yet
        // the file is not the issued one, and it does not verify.
        let start = f
            .rendered
            .pdf
            .windows(10)
            .position(|w| w == b"/Contents<")
            .unwrap()
            + 10;
        let at = (start..start + 200)
            .find(|&i| (b'A'..=b'F').contains(&f.rendered.pdf[i]))
            .unwrap();
        let mut lower = f.rendered.pdf.clone();
        lower[at] = lower[at].to_ascii_lowercase();
        let r = verify_bytes(&lower, "t", &f.trust, None).unwrap();
        assert!(
            !r.valid && !detail(&r, "pdf_signature").ok,
            "{:#?}",
            r.checks
        );
        // A changed signature value fails as a signature that does not match.
        let mut other = f.rendered.pdf.clone();
        other[at] = if other[at] == b'A' { b'B' } else { b'A' };
        let r = verify_bytes(&other, "t", &f.trust, None).unwrap();
        assert!(
            !r.valid && !detail(&r, "pdf_signature").ok,
            "{:#?}",
            r.checks
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

        #[test]
        fn single_byte_edits_of_a_pdf_never_verify(pos in any::<prop::sample::Index>(), delta in 1u8..=255) {
            let f = fixture();
            let mut bytes = f.rendered.pdf.clone();
            let i = pos.index(bytes.len());
            bytes[i] = bytes[i].wrapping_add(delta);
            let valid = verify_bytes(&bytes, "edit", &f.trust, None).map(|r| r.valid).unwrap_or(false);
            prop_assert!(!valid, "an edit at byte {} still verifies", i);
        }

        /// A single-byte edit of a JSON certificate verifies only if it changed whitespace
        /// between tokens (the same JSON value, read strictly), and then the `file` check says
        /// the file is not the issued one.
        #[test]
        fn single_byte_edits_of_a_json_certificate_never_verify_unless_only_whitespace_changed(pos in any::<prop::sample::Index>(), delta in 1u8..=255) {
            let f = fixture();
            let mut bytes = f.rendered.json.clone();
            let i = pos.index(bytes.len());
            bytes[i] = bytes[i].wrapping_add(delta);
            if let Ok(r) = verify_bytes(&bytes, "edit", &f.trust, None)
                && r.valid
            {
                let same_value = strict_json::value_from_slice(&bytes).ok()
                    == strict_json::value_from_slice(&f.rendered.json).ok();
                prop_assert!(same_value, "an edit at byte {} changes the certificate and still verifies", i);
                let file = r.checks.iter().find(|c| c.name == "file");
                prop_assert!(
                    file.is_some_and(|c| c.detail.starts_with("not byte-identical")),
                    "an edit at byte {} is called the issued file", i
                );
            }
        }
    }
}
