//! Verifying a collection report, PDF or JSON, the way certificates are verified.
//!
//! Checks, each reported with what it found: `format`, `schema` (report v2, strict: no unknown
//! or repeated members), `signature` (Ed25519, strict, over the report's canonical bytes),
//! `trusted_key`, `summary` (the signed counts are those of the signed lines); for JSON
//! `signature_block`; for PDF `embedded_files`, `visible_text` (every word on the pages is what
//! the signed report renders to, read through each font's encoding or ToUnicode map with the
//! certificate checks' reader), `page_content` (every drawing operation, nothing added),
//! `pdf_structure` (one revision, every object a viewer reads is the renderer's),
//! `pdf_signature` (the PAdES signature viewers check) and `file` (byte for byte but the PDF
//! signature's `/Contents`, when made by this version).

use std::path::Path;

use base64::Engine;
use ed25519_dalek::Signature;
use sha2::{Digest, Sha256};

use super::{
    CollectionReport, LAYOUT, ReportSignature, SCHEMA, SignedReport, layout, render_report_pdf,
    report_json, summarise,
};
use crate::certificate::check::{CheckError, CheckItem, Report, signature, structure};
use crate::certificate::keys::TrustStore;
use crate::certificate::pdf::{self, ParsedPdf};

/// The verdict on a report, and the report when its schema could be read.
#[derive(Debug, Clone)]
pub struct ReportVerdict {
    pub verdict: Report,
    pub report: Option<CollectionReport>,
}

fn push(v: &mut Report, name: &str, ok: bool, detail: impl Into<String>) {
    v.checks.push(CheckItem {
        name: name.into(),
        ok,
        detail: detail.into(),
    });
    v.valid = v.checks.iter().all(|c| c.ok);
}

/// Verifies the file at `path` if it is a collection report; `Ok(None)` if it is not one (it
/// may be a certificate).
pub fn verify_report_file(
    path: &Path,
    trust: &TrustStore,
) -> Result<Option<ReportVerdict>, CheckError> {
    let shown = path.display().to_string();
    let read_err = |source| CheckError::Read {
        path: shown.clone(),
        source,
    };
    let len = std::fs::metadata(path).map_err(read_err)?.len();
    if len > pdf::MAX_PDF_BYTES as u64 {
        return Ok(None);
    }
    let bytes = std::fs::read(path).map_err(read_err)?;
    verify_report_bytes(&bytes, &shown, trust)
}

/// Verifies report bytes (PDF or JSON); `Ok(None)` if they are not a report.
pub fn verify_report_bytes(
    bytes: &[u8],
    name: &str,
    trust: &TrustStore,
) -> Result<Option<ReportVerdict>, CheckError> {
    let not_report = |reason: String| CheckError::NotCertificate {
        path: name.into(),
        reason,
    };
    let mut v = Report {
        valid: true,
        checks: Vec::new(),
        record: None,
        computer: None,
        drive: None,
    };
    // What the file holds: the signed bytes, the signature, and (JSON) its signature block.
    let (signed_bytes, signature, block, parsed) = if bytes.starts_with(b"%PDF-") {
        let Ok(parsed) = pdf::parse(bytes) else {
            return Ok(None);
        };
        let Some(report_json) = parsed.attachments.get("report.json").cloned() else {
            return Ok(None);
        };
        let sig = parsed
            .attachments
            .get("report.sig")
            .cloned()
            .ok_or_else(|| not_report("the PDF has report.json but no report.sig".into()))?;
        push(&mut v, "format", true, "PDF with an embedded signed report");
        (report_json, sig, None, Some(parsed))
    } else {
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) else {
            return Ok(None);
        };
        if value.get("report").is_none() {
            return Ok(None);
        }
        let signed: SignedReport = match serde_json::from_slice(bytes) {
            Ok(s) => s,
            Err(e) => {
                push(&mut v, "format", true, "JSON report (report and signature)");
                push(
                    &mut v,
                    "schema",
                    false,
                    format!("not a report of {SCHEMA}: {e}"),
                );
                return Ok(Some(ReportVerdict {
                    verdict: v,
                    report: None,
                }));
            }
        };
        push(&mut v, "format", true, "JSON report (report and signature)");
        let canonical = signed.report.canonical_bytes().unwrap_or_default();
        let sig = base64::engine::general_purpose::STANDARD
            .decode(&signed.signature.value)
            .unwrap_or_default();
        (canonical, sig, Some(signed.signature), None)
    };

    // Schema: strict, from the signed bytes themselves.
    let report = match serde_json::from_slice::<CollectionReport>(&signed_bytes) {
        Ok(r) if r.schema == SCHEMA && r.layout.is_some_and(|l| !(2..=LAYOUT).contains(&l)) => {
            push(
                &mut v,
                "schema",
                false,
                format!(
                    "the report says page layout {}, this tool draws layouts 1 to {LAYOUT}; verify it with a newer wipeproof",
                    r.layout.unwrap_or_default()
                ),
            );
            None
        }
        Ok(r) if r.schema == SCHEMA => {
            let layout = r.layout.unwrap_or(1);
            push(
                &mut v,
                "schema",
                true,
                format!("report follows {SCHEMA}, page layout {layout}"),
            );
            Some(r)
        }
        Ok(r) => {
            push(
                &mut v,
                "schema",
                false,
                format!(
                    "schema is `{}`, this tool reads `{SCHEMA}`; check an older report's signature with openssl as certificates/README.md shows",
                    r.schema
                ),
            );
            None
        }
        Err(e) => {
            push(
                &mut v,
                "schema",
                false,
                format!("not a report of {SCHEMA}: {e}"),
            );
            None
        }
    };
    let Some(report) = report else {
        return Ok(Some(ReportVerdict {
            verdict: v,
            report: None,
        }));
    };

    // Signature and trust.
    let trusted = trust.get(&report.key_id);
    let sig = <[u8; 64]>::try_from(signature.as_slice())
        .ok()
        .map(|b| Signature::from_bytes(&b));
    match (&sig, trusted) {
        (None, _) => push(
            &mut v,
            "signature",
            false,
            format!(
                "the signature is {} bytes, not a 64-byte Ed25519 signature",
                signature.len()
            ),
        ),
        (Some(_), None) => push(
            &mut v,
            "signature",
            false,
            format!(
                "no trusted public key with id {} to check the signature; give the station's key with --trust FILE",
                report.key_id
            ),
        ),
        (Some(s), Some(t)) => match t.key.verify(&signed_bytes, s) {
            Ok(()) => push(
                &mut v,
                "signature",
                true,
                format!(
                    "Ed25519 signature over the report is valid (key {})",
                    report.key_id
                ),
            ),
            Err(_) => push(
                &mut v,
                "signature",
                false,
                "the signature does not match the report: the report or the signature was changed",
            ),
        },
    }
    match trusted {
        Some(t) => push(
            &mut v,
            "trusted_key",
            true,
            format!("key {} is trusted ({})", t.key_id, t.source.display()),
        ),
        None => push(
            &mut v,
            "trusted_key",
            false,
            format!(
                "key {} is not in the trust store; add the station's public key with --trust FILE if you trust it",
                report.key_id
            ),
        ),
    }
    let canonical = report.canonical_bytes().unwrap_or_default();
    if canonical != signed_bytes {
        push(
            &mut v,
            "canonical",
            false,
            "the signed bytes are not the canonical form of the report",
        );
    }
    if summarise(&report.lines) == report.summary {
        push(
            &mut v,
            "summary",
            true,
            format!(
                "the counts are those of the {} signed line(s)",
                report.lines.len()
            ),
        );
    } else {
        push(
            &mut v,
            "summary",
            false,
            "the summary's counts differ from the report's own lines",
        );
    }

    let sha = hex::encode(Sha256::digest(&canonical));
    let sig_b64 = base64::engine::general_purpose::STANDARD.encode(&signature);
    match (&block, &parsed) {
        (Some(block), _) => {
            check_block(&mut v, block, &report, &sha);
            check_json_file(&mut v, bytes, &report, block);
        }
        (None, Some(parsed)) => check_pdf(
            &mut v, bytes, parsed, &report, &canonical, &signature, &sha, &sig_b64,
        ),
        (None, None) => {}
    }
    Ok(Some(ReportVerdict {
        verdict: v,
        report: Some(report),
    }))
}

fn check_block(v: &mut Report, block: &ReportSignature, report: &CollectionReport, sha: &str) {
    let mut problems = Vec::new();
    if block.algorithm != "Ed25519" {
        problems.push(format!("algorithm is {:?}, not Ed25519", block.algorithm));
    }
    if block.key_id != report.key_id {
        problems.push("its key id differs from the report's".to_string());
    }
    if block.report_sha256 != sha {
        problems.push("its report hash differs from the report's".to_string());
    }
    if problems.is_empty() {
        push(
            v,
            "signature_block",
            true,
            "algorithm, key id and report hash agree with the report",
        );
    } else {
        push(
            v,
            "signature_block",
            false,
            format!("the signature block: {}", problems.join("; ")),
        );
    }
}

fn check_json_file(
    v: &mut Report,
    bytes: &[u8],
    report: &CollectionReport,
    block: &ReportSignature,
) {
    let as_issued = report_json(&SignedReport {
        report: report.clone(),
        signature: block.clone(),
    })
    .ok();
    match as_issued {
        Some(b) if b == bytes => push(v, "file", true, "the file is byte for byte as issued"),
        _ => push(
            v,
            "file",
            true,
            "the file's layout differs from how wipeproof writes it (re-saved or re-indented); the checks above cover its content",
        ),
    }
}

#[allow(clippy::too_many_arguments)]
fn check_pdf(
    v: &mut Report,
    bytes: &[u8],
    parsed: &ParsedPdf,
    report: &CollectionReport,
    canonical: &[u8],
    signature: &[u8],
    sha: &str,
    sig_b64: &str,
) {
    let names: Vec<&str> = parsed.attachments.keys().map(String::as_str).collect();
    if names == ["report.json", "report.sig"] {
        push(
            v,
            "embedded_files",
            true,
            "report.json and report.sig, nothing else",
        );
    } else {
        push(
            v,
            "embedded_files",
            false,
            format!(
                "the PDF embeds {}; a report embeds report.json and report.sig",
                names.join(", ")
            ),
        );
    }

    // The words on the pages, as a viewer reads them: each string through the encoding or
    // ToUnicode map of the font it is shown in, as the certificate's checks read them.
    let doc = structure::load(bytes);
    let expected = layout(report, sha, sig_b64);
    let shown = doc
        .as_ref()
        .map_err(Clone::clone)
        .and_then(structure::page_texts);
    let problem = match shown {
        Err(e) => Some(format!("the page text cannot be read: {e}")),
        Ok(shown) if shown.len() != expected.len() => Some(format!(
            "the PDF has {} page(s); the signed report renders to {}",
            shown.len(),
            expected.len()
        )),
        Ok(shown) => expected
            .iter()
            .zip(&shown)
            .enumerate()
            .find_map(|(i, (want, got))| {
                let want = want.texts();
                let n = want.len().max(got.len());
                (0..n).find_map(|j| {
                    let w = want.get(j).copied();
                    let g = got.get(j).map(String::as_str);
                    (w != g).then(|| {
                        format!(
                            "page {}, text {}: the PDF shows {:?} where the signed report says {:?}",
                            i + 1,
                            j + 1,
                            g.unwrap_or("(nothing)"),
                            w.unwrap_or("(nothing)")
                        )
                    })
                })
            }),
    };
    match problem {
        None => push(
            v,
            "visible_text",
            true,
            "every word on the pages is what the signed report renders to",
        ),
        Some(p) => push(v, "visible_text", false, p),
    }

    // Every drawing operation, nothing added, and (same version) every byte.
    let seal = signature::redraw_seal(doc.as_ref().ok(), &report.issued_at);
    let redrawn = render_report_pdf(report, canonical, signature, seal)
        .ok()
        .and_then(|b| pdf::parse(&b).ok().map(|p| (b, p)));
    let Some((redrawn_bytes, redrawn)) = redrawn else {
        push(
            v,
            "page_content",
            false,
            "the signed report cannot be redrawn for comparison",
        );
        return;
    };
    match parsed.drawing_matches(&redrawn, "a report") {
        Ok(()) => push(
            v,
            "page_content",
            true,
            "every drawing operation matches the signed report's rendering",
        ),
        Err(detail) => push(v, "page_content", false, detail),
    }
    // One revision, and every object a viewer reads is what the renderer writes.
    let structure = doc
        .as_ref()
        .map_err(|e| format!("the PDF cannot be read: {e}"))
        .and_then(|doc| {
            structure::one_revision(bytes, doc)?;
            let again = structure::load(&redrawn_bytes)?;
            structure::same_as_redrawn(doc, &again)
        });
    match structure {
        Ok(()) => push(
            v,
            "pdf_structure",
            true,
            "one revision; pages, fonts, encodings, resources and boxes are what the renderer writes",
        ),
        Err(e) => push(v, "pdf_structure", false, e),
    }
    // The PDF signature that viewers check.
    let (ok, detail) = signature::check(bytes, doc.as_ref(), &report.key_id, "report");
    push(v, "pdf_signature", ok, detail);
    let same = signature::same_bytes_but_signature(bytes, doc.as_ref().ok(), &redrawn_bytes);
    if report.tool.version != env!("CARGO_PKG_VERSION") {
        push(
            v,
            "file",
            true,
            format!(
                "not compared byte for byte: made by wipeproof {}, this is {}; the page checks above apply",
                report.tool.version,
                env!("CARGO_PKG_VERSION")
            ),
        );
    } else if same.is_ok() {
        push(
            v,
            "file",
            true,
            "the file is byte for byte the report this record renders to (but the PDF \
             signature's /Contents, which only the station's key makes: checked by pdf_signature)",
        );
    } else {
        let at = same.err().unwrap_or(0);
        push(
            v,
            "file",
            false,
            format!("the file differs from the report this record renders to, first at byte {at}"),
        );
    }
}
