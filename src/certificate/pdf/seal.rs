//! The PDF signature of certificates and reports: PAdES baseline B-B (ETSI EN 319 142-1).
//!
//! A signature field on page 1 (an invisible widget, listed in the catalog's `/AcroForm`) holds
//! the signature dictionary: `/Filter /Adobe.PPKLite`, `/SubFilter /ETSI.CAdES.detached`, the
//! signing time `/M` (the document's own issue time), `/ByteRange` (the whole file but the
//! `/Contents` string) and `/Contents`, a CMS SignedData (RFC 5652) over those bytes: SHA-256,
//! ECDSA P-256, the station's X.509 certificate, and the signed attributes content-type,
//! message-digest and signing-certificate-v2 (RFC 5035). The file is written once: the
//! renderer reserves `/Contents` (zeros) and a `/ByteRange` wide enough, saves, writes the
//! byte range into its place, hashes, and fills `/Contents`. It is one revision, with no
//! incremental update.
//!
//! ECDSA here is deterministic (RFC 6979), so a station renders the same bytes for the same
//! document; a verifier, who has no private key, redraws the file with `/Contents` left as
//! zeros, compares every other byte, and checks `/Contents` cryptographically ([`verify`]).

use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence};
use lopdf::{Dictionary, Document, Object, ObjectId, StringFormat, dictionary};
use sha2::{Digest, Sha256};
use signature::Verifier;
use spki::AlgorithmIdentifierOwned;
use x509_cert::attr::Attribute;
use x509_cert::certificate::Certificate;

use super::PdfError;
use crate::certificate::authority;
use crate::certificate::x509::{self, PdfSigner};

/// Bytes reserved for the CMS signature (about 1.2 KiB is used).
pub const CONTENTS_LEN: usize = 8192;
/// Written where the byte range goes until it is known: ten digits each.
const RANGE_PLACEHOLDER: i64 = 9_999_999_999;
/// The name of the signature field.
const FIELD_NAME: &str = "wipeproof";

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const ID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const ID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");

/// How a PDF is signed.
#[derive(Clone, Copy)]
pub enum Seal<'a> {
    /// No signature field (labels; certificates made before PDF signatures).
    None,
    /// The signature field with `/Contents` left as zeros: what a verifier redraws.
    Reserved { signed_at: &'a str },
    /// Signed with the station's PDF key.
    Signed {
        signed_at: &'a str,
        signer: &'a PdfSigner,
    },
}

impl Seal<'_> {
    fn signed_at(&self) -> Option<&str> {
        match self {
            Seal::None => None,
            Seal::Reserved { signed_at } | Seal::Signed { signed_at, .. } => Some(signed_at),
        }
    }
}

/// ESSCertIDv2 (RFC 5035) with the default hash algorithm (SHA-256) and no issuer serial.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2 {
    cert_hash: OctetString,
}

/// SigningCertificateV2 (RFC 5035) without policies.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
}

/// A PDF date (`D:20261128172052Z`) from an RFC 3339 UTC time (`2026-11-28T17:20:52Z`).
fn pdf_date(rfc3339: &str) -> String {
    let digits: String = rfc3339
        .chars()
        .take_while(|c| *c != '.' && *c != 'Z' && *c != '+')
        .filter(char::is_ascii_digit)
        .collect();
    format!("D:{digits}Z")
}

/// Adds the signature dictionary, its field (an invisible widget on page 1) and the catalog's
/// `/AcroForm`, as `seal` says. Returns the signature dictionary's id.
pub(super) fn add_field(doc: &mut Document, seal: &Seal<'_>) -> Result<Option<ObjectId>, PdfError> {
    let Some(signed_at) = seal.signed_at() else {
        return Ok(None);
    };
    let build = |e: lopdf::Error| PdfError::Build(e.to_string());
    let range = Object::Array(vec![
        Object::Integer(0),
        Object::Integer(RANGE_PLACEHOLDER),
        Object::Integer(RANGE_PLACEHOLDER),
        Object::Integer(RANGE_PLACEHOLDER),
    ]);
    let sig = doc.add_object(dictionary! {
        "Type" => "Sig",
        "Filter" => "Adobe.PPKLite",
        "SubFilter" => "ETSI.CAdES.detached",
        "M" => Object::String(pdf_date(signed_at).into_bytes(), StringFormat::Literal),
        "ByteRange" => range,
        "Contents" => Object::String(vec![0; CONTENTS_LEN], StringFormat::Hexadecimal),
    });
    let first_page = *doc
        .get_pages()
        .values()
        .next()
        .ok_or_else(|| PdfError::Build("the document has no page to sign on".into()))?;
    let widget = doc.add_object(dictionary! {
        "Type" => "Annot",
        "Subtype" => "Widget",
        "FT" => "Sig",
        "T" => Object::String(FIELD_NAME.as_bytes().to_vec(), StringFormat::Literal),
        "F" => 132,
        "Rect" => vec![0.into(), 0.into(), 0.into(), 0.into()],
        "P" => first_page,
        "V" => sig,
    });
    doc.get_dictionary_mut(first_page)
        .map_err(build)?
        .set("Annots", vec![Object::Reference(widget)]);
    doc.catalog_mut().map_err(build)?.set(
        "AcroForm",
        dictionary! { "Fields" => vec![Object::Reference(widget)], "SigFlags" => 3 },
    );
    Ok(Some(sig))
}

/// Position of `needle` in `hay` at or after `from`.
fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// After the file is saved: writes the byte range into its place and, when signing, the CMS
/// signature into `/Contents`.
pub(super) fn finish(bytes: &mut [u8], sig: ObjectId, seal: &Seal<'_>) -> Result<(), PdfError> {
    let fail = |what: &str| PdfError::Build(format!("cannot place the PDF signature: {what}"));
    let doc = Document::load_mem(bytes).map_err(|e| PdfError::Build(e.to_string()))?;
    let offset = match doc.reference_table.get(sig.0) {
        Some(lopdf::xref::XrefEntry::Normal { offset, .. }) => *offset as usize,
        _ => {
            return Err(fail(
                "the signature dictionary is not in the cross-reference table",
            ));
        }
    };
    let end = find(bytes, b"endobj", offset).ok_or_else(|| fail("no endobj"))?;
    let range_key = find(&bytes[..end], b"/ByteRange", offset).ok_or_else(|| fail("no range"))?;
    let open = find(&bytes[..end], b"[", range_key).ok_or_else(|| fail("no range array"))?;
    let close = find(&bytes[..end], b"]", open).ok_or_else(|| fail("no range array end"))?;
    let contents = find(&bytes[..end], b"/Contents", offset).ok_or_else(|| fail("no contents"))?;
    let start = find(&bytes[..end], b"<", contents).ok_or_else(|| fail("no contents string"))?;
    let stop = find(&bytes[..end], b">", start).ok_or_else(|| fail("no contents end"))? + 1;
    let range = format!("0 {start} {stop} {}", bytes.len() - stop);
    let width = close - open - 1;
    if range.len() > width {
        return Err(fail("the byte range does not fit"));
    }
    bytes[open + 1..close].copy_from_slice(format!("{range:width$}").as_bytes());
    if let Seal::Signed { signer, .. } = seal {
        let mut hash = Sha256::new();
        hash.update(&bytes[..start]);
        hash.update(&bytes[stop..]);
        let cms = signed_data(signer, &hash.finalize())
            .map_err(|e| PdfError::Build(format!("cannot encode the PDF signature: {e}")))?;
        let hex = hex::encode_upper(&cms);
        if hex.len() > stop - start - 2 {
            return Err(fail("the signature is larger than the space reserved"));
        }
        bytes[start + 1..start + 1 + hex.len()].copy_from_slice(hex.as_bytes());
    }
    Ok(())
}

fn algorithm(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, der::Error> {
    Ok(Attribute {
        oid,
        values: SetOfVec::try_from(vec![value])?,
    })
}

/// The CMS SignedData (as a ContentInfo, DER) over a document whose SHA-256 is `digest`.
fn signed_data(signer: &PdfSigner, digest: &[u8]) -> Result<Vec<u8>, der::Error> {
    let cert = signer.certificate();
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(Sha256::digest(signer.certificate_der()).to_vec())?,
        }],
    };
    let attrs: SetOfVec<Attribute> = SetOfVec::try_from(vec![
        attribute(ID_CONTENT_TYPE, Any::encode_from(&ID_DATA)?)?,
        attribute(
            ID_MESSAGE_DIGEST,
            Any::encode_from(&OctetString::new(digest.to_vec())?)?,
        )?,
        attribute(ID_SIGNING_CERTIFICATE_V2, Any::encode_from(&ess)?)?,
    ])?;
    let signature = signer.sign(&attrs.to_der()?);
    let info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: cert.tbs_certificate().issuer().clone(),
            serial_number: cert.tbs_certificate().serial_number().clone(),
        }),
        digest_alg: algorithm(ID_SHA256),
        signed_attrs: Some(attrs),
        signature_algorithm: algorithm(ECDSA_WITH_SHA256),
        signature: OctetString::new(signature)?,
        unsigned_attrs: None,
    };
    let data = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![algorithm(ID_SHA256)])?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: None,
        },
        certificates: Some(CertificateSet::try_from(
            std::iter::once(cert)
                .chain(signer.issuer())
                .map(|c| CertificateChoices::Certificate(c.clone()))
                .collect::<Vec<_>>(),
        )?),
        crls: None,
        signer_infos: SignerInfos::try_from(vec![info])?,
    };
    ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&data)?,
    }
    .to_der()
}

/// The signature dictionary of a PDF: the catalog's `/AcroForm` signature field's `/V`.
pub fn signature_dictionary(doc: &Document) -> Option<&Dictionary> {
    let catalog = doc.catalog().ok()?;
    let form = doc.get_dict_in_dict(catalog, b"AcroForm").ok()?;
    let fields = form.get(b"Fields").and_then(|f| doc.dereference(f)).ok()?.1;
    fields.as_array().ok()?.iter().find_map(|f| {
        let field = doc.dereference(f).ok()?.1.as_dict().ok()?;
        (field.get(b"FT").and_then(Object::as_name).ok() == Some(b"Sig"))
            .then(|| doc.get_dict_in_dict(field, b"V").ok())
            .flatten()
    })
}

/// Whether every key of `dict` is one of `allowed`.
fn only_keys(dict: &Dictionary, allowed: &[&[u8]]) -> bool {
    dict.iter().all(|(k, _)| allowed.contains(&k.as_slice()))
}

/// An invisible signature widget as [`add_field`] writes it: no appearance, no action, no area.
fn is_signature_widget(doc: &Document, widget: &Object) -> bool {
    let Ok((_, Object::Dictionary(w))) = doc.dereference(widget) else {
        return false;
    };
    let name = |k: &[u8]| w.get(k).and_then(Object::as_name).ok();
    let zero_area = w
        .get(b"Rect")
        .and_then(Object::as_array)
        .is_ok_and(|r| r.len() == 4 && r.iter().all(|v| v.as_float().is_ok_and(|f| f == 0.0)));
    only_keys(
        w,
        &[b"Type", b"Subtype", b"FT", b"T", b"F", b"Rect", b"P", b"V"],
    ) && name(b"Subtype") == Some(b"Widget")
        && name(b"FT") == Some(b"Sig")
        && zero_area
}

/// Whether the catalog's `/AcroForm` holds only invisible signature fields.
pub fn is_signature_form(doc: &Document, catalog: &Dictionary) -> bool {
    let Ok(form) = doc.get_dict_in_dict(catalog, b"AcroForm") else {
        return false;
    };
    let fields = form.get(b"Fields").and_then(|f| doc.dereference(f));
    only_keys(form, &[b"Fields", b"SigFlags"])
        && matches!(fields, Ok((_, Object::Array(f))) if f.iter().all(|w| is_signature_widget(doc, w)))
}

/// Whether a page's annotations are only invisible signature widgets.
pub fn only_signature_widgets(doc: &Document, page: &Dictionary) -> bool {
    match page.get(b"Annots").and_then(|a| doc.dereference(a)) {
        Ok((_, Object::Array(a))) => a.iter().all(|w| is_signature_widget(doc, w)),
        _ => false,
    }
}

/// The CA that issued a signer's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuer {
    /// The CA certificate's subject.
    pub subject: String,
    /// The SHA-256 fingerprint (hex) of the CA certificate, to compare with the one trusted.
    pub sha256: String,
}

/// What a valid PDF signature says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The certificate's subject.
    pub subject: String,
    /// The Ed25519 key id the certificate names, if it names one.
    pub key_id: Option<String>,
    /// The certificate, DER.
    pub certificate: Vec<u8>,
    /// The CA that issued the certificate (its certificate travels in the signature); `None`:
    /// self-signed.
    pub issuer: Option<Issuer>,
    /// Bytes of the file after the signed range (an incremental update appended later).
    pub appended: usize,
}

/// The part of the file the signature cannot cover: the `/Contents` string, from its `<` to
/// after its `>`, as the byte range states it (`None`: no signature, or a range that is not
/// one hole in the file).
pub fn contents_hole(bytes: &[u8], doc: &Document) -> Option<(usize, usize)> {
    let sig = signature_dictionary(doc)?;
    let range = sig.get(b"ByteRange").ok()?.as_array().ok()?;
    let n: Vec<usize> = range
        .iter()
        .map(|o| o.as_i64().ok().and_then(|v| usize::try_from(v).ok()))
        .collect::<Option<_>>()?;
    let [0, a, b, c] = n[..] else { return None };
    let end = b.checked_add(c)?;
    (a < b && end <= bytes.len() && bytes[a] == b'<' && bytes[b - 1] == b'>').then_some((a, b))
}

/// Checks the PDF signature of `bytes`: `Ok(None)` if the file has none, an error saying what
/// is wrong, or what the valid signature says.
pub fn verify(bytes: &[u8], doc: &Document) -> Result<Option<Verified>, String> {
    let Some(sig) = signature_dictionary(doc) else {
        return Ok(None);
    };
    let name = |k: &[u8]| sig.get(k).and_then(Object::as_name).ok();
    if name(b"SubFilter") != Some(b"ETSI.CAdES.detached") {
        return Err("the signature is not a PAdES one (/SubFilter /ETSI.CAdES.detached)".into());
    }
    let (a, b) = contents_hole(bytes, doc).ok_or(
        "the signature's /ByteRange does not cover the file around its /Contents".to_string(),
    )?;
    let contents = match sig.get(b"Contents") {
        Ok(Object::String(s, _)) => s,
        _ => return Err("the signature has no /Contents string".into()),
    };
    // The string as the renderer writes it (upper-case hex, no spaces): another spelling of the
    // same bytes is an edit no signature covers.
    if bytes[a + 1..b - 1] != *hex::encode_upper(contents).as_bytes() {
        return Err(
            "the signature's /Contents is not the string its byte range leaves out, written as \
             wipeproof writes it"
                .into(),
        );
    }
    let range = sig
        .get(b"ByteRange")
        .ok()
        .and_then(|r| r.as_array().ok())
        .and_then(|r| r.get(3)?.as_i64().ok())
        .unwrap_or(0) as usize;
    let mut hash = Sha256::new();
    hash.update(&bytes[..a]);
    hash.update(&bytes[b..b + range]);
    let (cert, issuer) = check_cms(der_prefix(contents)?, &hash.finalize())?;
    let certificate = cert.to_der().map_err(|e| e.to_string())?;
    let issuer = match issuer {
        None => None,
        Some(ca) => Some(Issuer {
            subject: ca.tbs_certificate().subject().to_string(),
            sha256: hex::encode(Sha256::digest(ca.to_der().map_err(|e| e.to_string())?)),
        }),
    };
    Ok(Some(Verified {
        subject: cert.tbs_certificate().subject().to_string(),
        key_id: x509::named_key_id(&cert),
        certificate,
        issuer,
        appended: bytes.len() - (b + range),
    }))
}

/// The DER value at the start of `padded` (the zeros after it are the reserve).
fn der_prefix(padded: &[u8]) -> Result<&[u8], String> {
    let bad = || "the signature's /Contents is not a DER-encoded CMS structure".to_string();
    let (&tag, rest) = padded.split_first().ok_or_else(bad)?;
    let (&first, rest) = rest.split_first().ok_or_else(bad)?;
    if tag != 0x30 {
        return Err(bad());
    }
    let (len, header) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 3 || rest.len() < n {
            return Err(bad());
        }
        let len = rest[..n].iter().fold(0usize, |v, &b| (v << 8) | b as usize);
        (len, 2 + n)
    };
    let end = header + len;
    if end > padded.len() || padded[end..].iter().any(|&b| b != 0) {
        return Err(bad());
    }
    Ok(&padded[..end])
}

/// Checks a CMS SignedData made as [`signed_data`] makes it over a document hashing to
/// `digest`; returns the signer's certificate and the CA certificate that issued it, if a CA
/// did.
fn check_cms(der: &[u8], digest: &[u8]) -> Result<(Certificate, Option<Certificate>), String> {
    let asn = |e: der::Error| format!("the CMS signature cannot be read: {e}");
    let info = ContentInfo::from_der(der).map_err(asn)?;
    if info.content_type != ID_SIGNED_DATA {
        return Err("the CMS structure is not SignedData".into());
    }
    let data: SignedData = info.content.decode_as().map_err(asn)?;
    let [signer] = data.signer_infos.0.as_slice() else {
        return Err("the CMS signature has other than one signer".into());
    };
    let certs: Vec<&Certificate> = data
        .certificates
        .as_ref()
        .map(|c| c.0.as_slice())
        .unwrap_or_default()
        .iter()
        .filter_map(|c| match c {
            CertificateChoices::Certificate(c) => Some(c),
            _ => None,
        })
        .collect();
    if certs.is_empty() || certs.len() > 2 {
        return Err(
            "the CMS signature does not carry the signer's certificate (and at most its CA's)"
                .into(),
        );
    }
    if signer.digest_alg.oid != ID_SHA256 || signer.signature_algorithm.oid != ECDSA_WITH_SHA256 {
        return Err("the CMS signature is not ECDSA with SHA-256".into());
    }
    let sid_of = |c: &Certificate| {
        SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: c.tbs_certificate().issuer().clone(),
            serial_number: c.tbs_certificate().serial_number().clone(),
        })
    };
    let cert = *certs
        .iter()
        .find(|c| sid_of(c) == signer.sid)
        .ok_or("the CMS signer is not a certificate it carries")?;
    let issuer = issuer_in(cert, &certs)?;
    let attrs = signer
        .signed_attrs
        .as_ref()
        .ok_or("the CMS signature has no signed attributes")?;
    let value = |oid: ObjectIdentifier| {
        attrs
            .iter()
            .find(|a| a.oid == oid)
            .and_then(|a| a.values.iter().next())
    };
    let content_type = value(ID_CONTENT_TYPE).and_then(|v| v.decode_as::<ObjectIdentifier>().ok());
    if content_type != Some(ID_DATA) {
        return Err("the CMS signature's content type is not data".into());
    }
    let signed_digest = value(ID_MESSAGE_DIGEST).and_then(|v| v.decode_as::<OctetString>().ok());
    if signed_digest.as_ref().map(OctetString::as_bytes) != Some(digest) {
        return Err(
            "the bytes the signature covers were changed after signing (their SHA-256 is not the signed one)"
                .into(),
        );
    }
    let cert_der = cert.to_der().map_err(asn)?;
    let ess = value(ID_SIGNING_CERTIFICATE_V2)
        .and_then(|v| v.decode_as::<SigningCertificateV2>().ok())
        .ok_or("the CMS signature has no signing-certificate-v2 attribute")?;
    let hash = Sha256::digest(&cert_der);
    if ess.certs.first().map(|c| c.cert_hash.as_bytes()) != Some(&hash[..]) {
        return Err("the signing-certificate-v2 attribute names another certificate".into());
    }
    let key = x509::p256_key(cert).ok_or("the signer's certificate has no P-256 key")?;
    let sig = p256::ecdsa::DerSignature::from_bytes(signer.signature.as_bytes())
        .map_err(|_| "the CMS signature value is not an ECDSA signature")?;
    key.verify(&attrs.to_der().map_err(asn)?, &sig)
        .map_err(|_| "the ECDSA signature does not match the signed attributes".to_string())?;
    Ok((cert.clone(), issuer))
}

/// The CA certificate among `certs` that issued `cert` (checked), `None` for a self-signed
/// one; an error for a certificate carried with it that did not sign it.
fn issuer_in(cert: &Certificate, certs: &[&Certificate]) -> Result<Option<Certificate>, String> {
    let others: Vec<&&Certificate> = certs.iter().filter(|c| **c != cert).collect();
    let self_signed = cert.tbs_certificate().issuer() == cert.tbs_certificate().subject();
    match others.as_slice() {
        [] if self_signed => Ok(None),
        [] => Err(format!(
            "the signer's certificate is issued by {}, whose certificate the signature does not carry",
            cert.tbs_certificate().issuer()
        )),
        [ca] if !self_signed && authority::signed_by(cert, ca) => Ok(Some((**ca).clone())),
        _ => {
            Err("the CMS signature carries a CA certificate that did not issue the signer's".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pdf_dates_come_from_rfc3339_times() {
        assert_eq!(pdf_date("2026-11-28T17:20:52Z"), "D:20261128172052Z");
        assert_eq!(pdf_date("2026-11-28T17:20:52.123Z"), "D:20261128172052Z");
    }

    #[test]
    fn the_cms_signature_verifies_and_any_change_fails() {
        let signer = PdfSigner::generate("SHA256:abcd").unwrap();
        let digest = Sha256::digest(b"document");
        let der = signed_data(&signer, &digest).unwrap();
        let (cert, issuer) = check_cms(&der, &digest).unwrap();
        assert!(issuer.is_none(), "self-signed");
        assert_eq!(x509::named_key_id(&cert).as_deref(), Some("SHA256:abcd"));
        // Deterministic (RFC 6979): the same document gives the same signature.
        assert_eq!(der, signed_data(&signer, &digest).unwrap());
        let other = Sha256::digest(b"documenT");
        let e = check_cms(&der, &other).unwrap_err();
        assert!(e.contains("changed after signing"), "{e}");
        let mut padded = der.clone();
        padded.extend([0; 100]);
        assert_eq!(der_prefix(&padded).unwrap(), &der[..]);
        padded.push(1);
        assert!(der_prefix(&padded).is_err());
        assert!(der.len() < CONTENTS_LEN / 2, "{} bytes", der.len());
        // A flipped bit in the signature value (the last bytes) fails.
        let mut bad = der.clone();
        let n = bad.len();
        bad[n - 3] ^= 1;
        assert!(check_cms(&bad, &digest).is_err());
    }
}
