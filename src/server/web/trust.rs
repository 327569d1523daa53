//! The Trust page: what an auditor needs to check a certificate or report without this
//! register: the register's own public key (which signs the reports it hands out), its CA
//! certificate (the one certificate to trust for every enrolled station's PDF signature), the
//! revocation list, and how to check a PDF with `pdfsig`, a PDF reader or `wipeproof verify`.

use axum::extract::State;
use axum::response::Response;
use maud::html;

use super::super::state::AppState;
use super::auth::Signed;
use super::layout;
use crate::certificate::keys::{StationKey, public_pem};

/// `GET /trust`.
pub async fn page(State(state): State<AppState>, signed: Signed) -> Response {
    let web = &state.web;
    let register_key = web
        .keys_dir
        .as_deref()
        .and_then(|dir| StationKey::load(dir).ok())
        .and_then(|k| Some((k.key_id(), public_pem(&k.verifying_key()).ok()?)));
    let ca = web.authority.as_deref().map(|ca| {
        use sha2::Digest;
        let der = der::Encode::to_der(ca.certificate()).unwrap_or_default();
        (
            ca.subject(),
            hex::encode_upper(sha2::Sha256::digest(der)),
            ca.certificate_pem().unwrap_or_default(),
        )
    });
    layout::page(
        &signed,
        "Trust",
        html! {
            p { "Every certificate and collection report carries two signatures: an Ed25519 "
                "signature of its embedded record, which " code { "wipeproof verify" } " checks, and a "
                "PDF signature (PAdES, ECDSA P-256) that PDF readers and " code { "pdfsig" } " check. "
                "Stations enrolled here sign their PDFs with a certificate issued by this register's "
                "certificate authority: trust the CA's certificate once, and every station's "
                "documents verify." }
            h2 { "Certificate authority" }
            @match &ca {
                Some((subject, sha256, pem)) => {
                    dl.facts {
                        dt { "Subject" } dd.mono { (subject) }
                        dt { "SHA-256" } dd.mono.key { (sha256) }
                    }
                    p { a href="/api/v1/ca.pem" download="wipeproof-ca.pem" { "Download the CA certificate (PEM)" }
                        " · " a href="/api/v1/crl" download="wipeproof.crl" { "Revocation list (CRL, DER)" } }
                    @if let Some(url) = &web.crl_url {
                        p.muted { "Certificates issued here name their revocation list at " span.mono { (url) } "." }
                    }
                    pre.mono { (pem) }
                }
                None => p.muted { "This register has no certificate authority: stations sign with self-signed certificates." },
            }
            h2 { "The register's public key" }
            @match &register_key {
                Some((id, pem)) => {
                    p { "It signs the collection reports this register hands out. Key id " span.mono.key { (id) } }
                    pre.mono { (pem) }
                }
                None => p.muted { "This register has no signing key." },
            }
            h2 { "How to check a PDF" }
            ol {
                li { "With poppler: put the CA certificate in an NSS database and run " code { "pdfsig" } ":"
                    pre.mono { "mkdir nss && certutil -N -d sql:nss --empty-password\n"
                               "certutil -A -d sql:nss -n wipeproof-ca -t CT,C,C -i wipeproof-ca.pem\n"
                               "pdfsig -nssdir sql:nss CERTIFICATE.pdf" }
                    "It says " q { "Signature is Valid" } " and " q { "Certificate is Trusted" } "." }
                li { "In a PDF reader (Adobe Reader, Okular): add the CA certificate to its trusted "
                     "certificates (Adobe: Preferences, Signatures, Identities & Trusted Certificates, "
                     "Import, and trust it for signed documents); the signature panel then shows the "
                     "document signed by the station and unchanged since." }
                li { "With wipeproof: " code { "wipeproof verify CERTIFICATE.pdf" } " (with the station's "
                     "or this register's public key trusted, " code { "--trust KEY.pem" } ") checks the "
                     "signed record, every word on the pages and the PDF signature, and names the CA "
                     "that issued the signing certificate." }
                li { "Or upload it on the " a href="/verify" { "Verify" } " page (certificates and collection reports)." }
            }
        },
    )
}
