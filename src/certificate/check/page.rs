//! The checks only a PDF certificate has: its embedded files agree, its visible text and every
//! drawing operation are exactly what the signed record renders to with the layout the file was
//! made with, its structure is what the renderer writes (`structure`), and (for a file made by
//! this version) every byte is.

use super::super::issue::LayoutVersion;
use super::super::layout::describe_unshowable;
use super::*;
use super::{signature, structure};

pub(super) fn check_pdf<R: Signable>(
    report: &mut Report,
    bytes: &[u8],
    parsed: &ParsedPdf,
    record: &R,
    canonical: &[u8],
    signature: &[u8],
    key: Option<&VerifyingKey>,
) {
    let sha = hex::encode(Sha256::digest(canonical));
    let sig_b64 = base64::engine::general_purpose::STANDARD.encode(signature);

    // Embedded files agree with each other.
    let mut problems = Vec::new();
    match parsed.attachments.get("certificate.json") {
        Some(json) => match strict_json::from_slice::<SignedCertificate<R>>(json) {
            Ok(c) => {
                if c.signature.algorithm != "Ed25519" || c.signature.key_id != record.key_id() {
                    problems.push("certificate.json names another algorithm or key");
                }
                if &c.record != record {
                    problems.push("certificate.json holds a different record than record.json");
                }
                if c.signature.value != sig_b64 {
                    problems.push("certificate.json holds a different signature than record.sig");
                }
                if c.signature.record_sha256 != sha {
                    problems.push("certificate.json states a different record hash");
                }
            }
            Err(_) => problems.push("certificate.json is not a valid certificate"),
        },
        None => problems.push("certificate.json is missing"),
    }
    if problems.is_empty() {
        report.push(
            "embedded_files",
            true,
            "record.json, record.sig and certificate.json agree",
        );
    } else {
        report.push("embedded_files", false, problems.join("; "));
    }

    // The words on the pages, as a viewer reads them, against the layout the file was made with.
    let doc = structure::load(bytes);
    let version = doc
        .as_ref()
        .map(structure::layout_version)
        .map(|drawn| record.layout_version(drawn))
        .unwrap_or(record.layout_version(LayoutVersion::V2));
    let (expected, cannot_show) = (
        record.pages(version, &sha, &sig_b64),
        record.unshowable(version),
    );
    let expected_texts: Vec<Vec<&str>> = expected.iter().map(|p| p.texts()).collect();
    let shown = doc
        .as_ref()
        .map_err(Clone::clone)
        .and_then(structure::page_texts);
    let text_problem = if !cannot_show.is_empty() {
        Some(format!(
            "the page cannot show what is signed: {}",
            describe_unshowable(&cannot_show)
        ))
    } else {
        match &shown {
            Err(e) => Some(format!("the page text cannot be read: {e}")),
            Ok(shown) if shown.len() != expected_texts.len() => Some(format!(
                "the PDF has {} page(s); the signed record renders to {}",
                shown.len(),
                expected_texts.len()
            )),
            Ok(shown) => expected_texts
                .iter()
                .zip(shown)
                .enumerate()
                .find_map(|(i, (want, got))| {
                    let n = want.len().max(got.len());
                    (0..n).find_map(|j| {
                        let w = want.get(j).copied();
                        let g = got.get(j).map(String::as_str);
                        (w != g).then(|| {
                            format!(
                                "page {}, text {}: the PDF shows {:?} where the signed record says {:?}",
                                i + 1,
                                j + 1,
                                g.unwrap_or("(nothing)"),
                                w.unwrap_or("(nothing)")
                            )
                        })
                    })
                }),
        }
    };
    match text_problem {
        None => report.push(
            "visible_text",
            true,
            "every word on the pages is what the signed record renders to",
        ),
        Some(p) => report.push("visible_text", false, p),
    }

    // Every drawing operation, and nothing extra.
    let pem = key.and_then(|k| public_pem(k).ok()).unwrap_or_default();
    // The certificate.json this record and signature make (not the one in the file: the
    // redrawing must not take anything from the file being checked).
    let json = serde_json::to_vec_pretty(&SignedCertificate {
        record: record.clone(),
        signature: SignatureBlock {
            algorithm: "Ed25519".into(),
            key_id: record.key_id().to_string(),
            value: sig_b64.clone(),
            record_sha256: sha.clone(),
        },
    })
    .map(|mut v| {
        v.push(b'\n');
        v
    })
    .unwrap_or_default();
    let seal = signature::redraw_seal(doc.as_ref().ok(), record.issued_at());
    let redrawn = render_pdf_as(
        version, record, canonical, signature, &sha, &json, &pem, seal,
    )
    .ok()
    .and_then(|b| pdf::parse(&b).ok().map(|p| (b, p)));
    match &redrawn {
        Some((_, p)) => match parsed.drawing_matches(p, "a certificate") {
            Ok(()) => report.push(
                "page_content",
                true,
                "every drawing operation matches the signed record's rendering",
            ),
            Err(detail) => report.push("page_content", false, detail),
        },
        None => report.push(
            "page_content",
            false,
            "the signed record cannot be redrawn for comparison",
        ),
    }

    // One revision, and every object a viewer reads is what the renderer writes.
    let structure = match (&doc, &redrawn) {
        (Err(e), _) => Err(format!("the PDF cannot be read: {e}")),
        (_, None) => Err("the signed record cannot be redrawn for comparison".to_string()),
        (Ok(doc), Some((b, _))) => structure::one_revision(bytes, doc).and_then(|()| {
            let again = structure::load(b)?;
            structure::same_as_redrawn(doc, &again)
        }),
    };
    match structure {
        Ok(()) => report.push(
            "pdf_structure",
            true,
            format!(
                "one revision; pages, fonts, encodings, resources and boxes are what layout {} writes",
                match version {
                    LayoutVersion::V1 => 1,
                    LayoutVersion::V2 => 2,
                    LayoutVersion::V3 => 3,
                }
            ),
        ),
        Err(e) => report.push("pdf_structure", false, e),
    }

    // The PDF signature that viewers check.
    let (ok, detail) = signature::check(bytes, doc.as_ref(), record.key_id(), R::WHAT);
    report.push("pdf_signature", ok, detail);

    // The whole file.
    check_pdf_file(
        report,
        bytes,
        doc.as_ref().ok(),
        record.tool_version(),
        redrawn.as_ref().map(|(b, _)| b.as_slice()),
    );
}

/// The `file` check of a PDF: is it byte for byte what this signed record renders to? It says
/// which of three things it found: the issued file; another file (re-saved by a tool or edited:
/// the fonts, encodings and structure a viewer uses are vouched for only byte for byte, so this
/// fails); or a file made by another version, which this one cannot re-render.
fn check_pdf_file(
    report: &mut Report,
    bytes: &[u8],
    doc: Option<&lopdf::Document>,
    tool_version: &str,
    redrawn: Option<&[u8]>,
) {
    let ours = tool_version == env!("CARGO_PKG_VERSION");
    let same = redrawn.map(|b| signature::same_bytes_but_signature(bytes, doc, b));
    match (same, ours) {
        (_, _) if !passed(report, "signature") => report.push(
            "file",
            false,
            "not compared with the issued file: the signature does not cover this record",
        ),
        (Some(Ok(())), true) => report.push(
            "file",
            true,
            "byte-identical to the PDF this signed record renders to (but the PDF signature's \
             /Contents, which only the station's key makes: checked by pdf_signature)",
        ),
        (Some(Err(at)), true) => report.push(
            "file",
            false,
            format!(
                "not byte-identical to the PDF this signed record renders to (first difference at byte {}): re-saved (by qpdf, a viewer's Save As, ...) or edited. What a viewer shows depends on fonts and structure that only the issued bytes vouch for; the embedded signed record may still be genuine: check the JSON certificate or the embedded record as certificates/README.md says, or ask the issuer for the original",
                at
            ),
        ),
        (_, false) => report.push(
            "file",
            true,
            format!(
                "not compared byte for byte: made by wipeproof {}, this is {}, which renders differently; the text and drawing checks above apply",
                tool_version,
                env!("CARGO_PKG_VERSION")
            ),
        ),
        (None, true) => report.push(
            "file",
            false,
            "the signed record cannot be redrawn for comparison",
        ),
    }
}
