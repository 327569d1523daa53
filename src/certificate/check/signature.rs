//! The PDF signature's checks, shared by certificates and collection reports: `pdf_signature`
//! (the PAdES signature is valid, covers the whole file but its own `/Contents`, and its
//! certificate names the key that signed the embedded record) and the byte comparison of a
//! signed file with its redrawing, where `/Contents` is the one part a verifier cannot re-create
//! (it has no private key) and is checked cryptographically instead.

use lopdf::Document;

use crate::certificate::pdf::Seal;
use crate::certificate::pdf::seal;

/// Whether the file has a signature field: a verifier redraws it with the field reserved.
pub(crate) fn redraw_seal<'a>(doc: Option<&Document>, signed_at: &'a str) -> Seal<'a> {
    match doc.and_then(seal::signature_dictionary) {
        Some(_) => Seal::Reserved { signed_at },
        None => Seal::None,
    }
}

/// The `pdf_signature` check of a file whose embedded record `key_id` signed: `(ok, detail)`.
/// `what` names the document ("certificate", "report").
pub(crate) fn check(
    bytes: &[u8],
    doc: Result<&Document, &String>,
    key_id: &str,
    what: &str,
) -> (bool, String) {
    let doc = match doc {
        Ok(d) => d,
        Err(e) => return (false, format!("the PDF cannot be read: {e}")),
    };
    match seal::verify(bytes, doc) {
        Err(e) => (false, format!("the PDF signature is not valid: {e}")),
        Ok(None) => (
            true,
            format!(
                "the PDF carries no PDF signature (made before wipeproof signed PDFs, or drawn by a \
                 register, which holds no station's key); the Ed25519 signature of the embedded \
                 record vouches for the {what}"
            ),
        ),
        Ok(Some(v)) if v.appended > 0 => (
            false,
            format!(
                "{} bytes were appended after the PDF was signed (an incremental update): the \
                 signature does not cover the whole document, and a viewer shows the changed one",
                v.appended
            ),
        ),
        Ok(Some(v)) if v.key_id.as_deref() != Some(key_id) => (
            false,
            format!(
                "the PDF signature is valid, but its certificate ({}) names {} where the embedded \
                 record was signed by {key_id}",
                v.subject,
                v.key_id.as_deref().unwrap_or("no station key")
            ),
        ),
        Ok(Some(v)) => (
            true,
            format!(
                "PAdES signature (ECDSA P-256, CMS, SHA-256) is valid and covers the whole file \
                 but its own /Contents; signed by \"{}\", whose certificate names the key that \
                 signed the record; {}",
                v.subject,
                chain(&v)
            ),
        ),
    }
}

/// Compares a file with its redrawing, leaving out the signature's `/Contents` (the same place
/// in both, or the files differ there too): `Err` is the first byte that differs.
pub(crate) fn same_bytes_but_signature(
    file: &[u8],
    doc: Option<&Document>,
    redrawn: &[u8],
) -> Result<(), usize> {
    let first_difference = |a: &[u8], b: &[u8]| {
        a.iter()
            .zip(b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()))
    };
    let hole = doc.and_then(|d| seal::contents_hole(file, d));
    match hole {
        Some((a, b)) if file.len() == redrawn.len() => {
            let (f, r) = (file, redrawn);
            if f[..a] != r[..a] {
                return Err(first_difference(&f[..a], &r[..a]));
            }
            if f[b..] != r[b..] {
                return Err(b + first_difference(&f[b..], &r[b..]));
            }
            // The reserved place is there in the redrawing too.
            if r[a] != b'<' || r[b - 1] != b'>' {
                return Err(a);
            }
            Ok(())
        }
        _ if file == redrawn => Ok(()),
        _ => Err(first_difference(file, redrawn)),
    }
}

/// The certificate chain of a valid signature, in words.
fn chain(v: &seal::Verified) -> String {
    match &v.issuer {
        None => "the certificate is self-signed (trust the station's certificate, from \
                 `wipeproof keys export`)"
            .into(),
        Some(ca) => format!(
            "the certificate is issued by CA \"{}\" (CA certificate SHA-256 {}), carried in the \
             signature (trust that CA's certificate, from its register's /api/v1/ca.pem)",
            ca.subject, ca.sha256
        ),
    }
}
