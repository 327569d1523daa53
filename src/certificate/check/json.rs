//! The checks only a JSON certificate has: its envelope read strictly (exactly `record` and
//! `signature`, nothing repeated), its signature block agreeing with the record, and whether the
//! file is byte for byte what wipeproof writes for the signed record.

use super::*;

/// The envelope of a JSON certificate: exactly the members `record` and `signature`, the
/// signature block with exactly its four members, nothing repeated anywhere. The record stays a
/// JSON value here: the signature covers its canonical form, and the schema check reads it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Envelope {
    pub(super) record: serde_json::Value,
    pub(super) signature: SignatureBlock,
}

pub(super) fn read_envelope(bytes: &[u8]) -> Result<Envelope, String> {
    strict_json::from_slice::<Envelope>(bytes).map_err(|e| {
        format!("not a strictly formed JSON certificate ({e}); a certificate has exactly the members `record` and `signature`, each once")
    })
}

/// The JSON file this version writes for a signed record.
fn issued_json<R: Signable>(record: &R, signature: &[u8]) -> Option<Vec<u8>> {
    let sha = record.signed_sha256().ok()?;
    let mut json = serde_json::to_vec_pretty(&SignedCertificate {
        record: record.clone(),
        signature: SignatureBlock {
            algorithm: "Ed25519".into(),
            key_id: record.key_id().to_string(),
            value: base64::engine::general_purpose::STANDARD.encode(signature),
            record_sha256: sha,
        },
    })
    .ok()?;
    json.push(b'\n');
    Some(json)
}

/// The `file` check of a JSON certificate. What counts is the signed record, read strictly;
/// the layout of the file (indentation, member order) carries no meaning, so a re-indented file
/// stays valid and the check says plainly which of the two it found.
pub(super) fn check_json_file<R: Signable>(
    report: &mut Report,
    bytes: &[u8],
    record: &R,
    block: &SignatureBlock,
    signature: &[u8],
) {
    let sha = record.signed_sha256().unwrap_or_default();
    check_signature_block(report, block, record.key_id(), &sha);
    if !passed(report, "signature") {
        report.push(
            "file",
            false,
            "not compared with the issued file: the signature does not cover this record",
        );
        return;
    }
    match issued_json(record, signature) {
        Some(issued) if issued == bytes => report.push(
            "file",
            true,
            "byte-identical to the file wipeproof writes for this signed record",
        ),
        Some(issued) => report.push(
            "file",
            true,
            format!(
                "not byte-identical to the file wipeproof {} writes for this signed record (first difference at byte {}): re-indented, re-saved or written by another version; it was read strictly (no repeated or unknown members), so the signed record is what counts",
                env!("CARGO_PKG_VERSION"),
                first_difference(&issued, bytes)
            ),
        ),
        None => report.push(
            "file",
            false,
            "the signed record cannot be written out again for comparison",
        ),
    }
}

fn check_signature_block(report: &mut Report, block: &SignatureBlock, key_id: &str, sha: &str) {
    let mut problems = Vec::new();
    if block.algorithm != "Ed25519" {
        problems.push(format!("algorithm is {:?}, not Ed25519", block.algorithm));
    }
    if block.key_id != key_id {
        problems.push("its key id differs from the record's".to_string());
    }
    if block.record_sha256 != sha {
        problems.push("its record hash differs from the record's".to_string());
    }
    if problems.is_empty() {
        report.push(
            "signature_block",
            true,
            "algorithm, key id and record hash agree with the record",
        );
    } else {
        report.push(
            "signature_block",
            false,
            format!("the signature block: {}", problems.join("; ")),
        );
    }
}
