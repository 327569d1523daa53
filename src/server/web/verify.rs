//! Verify a certificate or a customer's collection report: upload its PDF or JSON, see every
//! check `wipeproof verify` makes, each with its name, ok or failed, and what it found. The same
//! library functions check it (`report::verify_report_bytes` for a report, else
//! `certificate::check::verify_bytes`), against the register's trust store (its `keys/trusted`
//! and every enrolled station). Nothing is stored.

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};

use super::super::state::{AppState, with_register};
use super::auth::Signed;
use super::layout::{self, badge, checks_table};
use crate::certificate::check::{Report, verify_bytes};
use crate::certificate::record::{Organisation, PerformedBy, Record};
use crate::report::{CollectionReport, ReportVerdict, verify_report_bytes};

/// Largest upload: the largest certificate PDF read, and room for the form around it.
pub const MAX_UPLOAD: usize = crate::certificate::pdf::MAX_PDF_BYTES + (64 << 10);

/// The upload form.
fn upload_form(signed: &Signed) -> Markup {
    html! {
        form.card method="post" action="/verify" enctype="multipart/form-data" {
            @if let Some(csrf) = &signed.csrf {
                input type="hidden" name="csrf" value=(csrf);
            }
            label for="certificate" { "Certificate or collection report (PDF or JSON)" }
            input #certificate type="file" name="certificate" accept=".pdf,.json,application/pdf,application/json" required;
            button type="submit" { "Verify" }
        }
    }
}

/// `GET /verify`.
pub async fn form(signed: Signed) -> Response {
    layout::page(
        &signed,
        "Verify a certificate or report",
        html! {
            p {
                "Choose a certificate's or a customer's collection report's PDF or JSON file. "
                "The register checks its signature, whether the signing station is trusted "
                "here, and, for a PDF, that every word and drawing on its pages is what the "
                "signed record says. Nothing is stored."
            }
            (upload_form(&signed))
        },
    )
}

/// What every certificate, a drive's or a computer's, says of who made it, when and for whom.
pub(super) struct Made<'a> {
    pub id: &'a str,
    /// The result as the page words it.
    pub result: &'a str,
    pub issued_at: &'a str,
    pub performed_by: &'a PerformedBy,
    pub organisation: &'a Organisation,
    pub asset_tags: &'a [String],
    pub key_id: &'a str,
}

/// A certificate's facts: its id and result (a plain word unless `verified`), then `what` it
/// is about, then who made it, when and for which asset.
pub(super) fn facts(m: &Made<'_>, verified: bool, what: Markup) -> Markup {
    html! {
        dl.facts {
            dt { "Certificate" } dd.mono { (m.id) }
            dt { "Result" } dd {
                @if verified { (badge(m.result)) }
                @else { (m.result) " (claimed)" }
            }
            (what)
            dt { "Issued" } dd { (layout::when(m.issued_at)) }
            dt { "Station" } dd { (m.performed_by.station_id) ", operator " (m.performed_by.operator) }
            dt { "Organisation" } dd {
                @if m.organisation.name.is_empty() { span.muted { "not named" } } @else { (m.organisation.name) }
            }
            @if !m.asset_tags.is_empty() {
                dt { "Asset" } dd {
                    @for (i, tag) in m.asset_tags.iter().enumerate() {
                        @if i > 0 { ", " }
                        a href={ "/assets/" (super::auth::path_segment(tag)) } { (tag) }
                    }
                }
            }
            dt { "Signing key" } dd.mono { (m.key_id) }
        }
    }
}

/// What the record says, as facts; the result is shown as a plain word unless `verified`.
pub(super) fn record_facts(r: &Record, verified: bool) -> Markup {
    let made = Made {
        id: &r.id,
        result: r.sanitization.result.as_str(),
        issued_at: &r.issued_at,
        performed_by: &r.performed_by,
        organisation: &r.organisation,
        asset_tags: &r.asset_tags,
        key_id: &r.key_id,
    };
    facts(
        &made,
        verified,
        html! {
            dt { "Drive" } dd {
                (r.media.model.as_deref().unwrap_or("unknown model")) ", serial "
                span.mono { (r.media.serial.as_deref().unwrap_or("unknown")) }
            }
            dt { "Method" } dd { (r.sanitization.method_title) " (" code { (r.sanitization.method) } ")" }
        },
    )
}

/// What a collection report says, as facts.
fn report_facts(r: &CollectionReport) -> Markup {
    html! {
        dl.facts {
            dt { "Report" } dd.mono { (r.id) }
            dt { "Customer" } dd { (r.customer) }
            dt { "Collection" } dd {
                a href={ "/collections/" (super::auth::path_segment(&r.collection)) } { (r.collection) }
            }
            dt { "Assets" } dd { (r.summary.assets) ", " (r.summary.drives) " drive(s)" }
            dt { "Issued" } dd { (layout::when(&r.issued_at)) }
            dt { "Signed by" } dd { (r.station_id) ", operator " (r.operator) }
            dt { "Signing key" } dd.mono { (r.key_id) }
        }
    }
}

/// The verdict of a report, as a banner.
pub(super) fn verdict(report: &Report) -> Markup {
    verdict_of(report, "certificate")
}

/// The verdict of a check of a `what` ("certificate", "report"), as a banner.
fn verdict_of(report: &Report, what: &str) -> Markup {
    let failed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.as_str())
        .collect();
    html! {
        @if report.valid {
            p.notice.good { span.verdict { "Valid" } br; "The " (what) " is genuine and untouched: every check passed." }
        } @else {
            p.notice.bad {
                span.verdict { "Not valid" } br;
                "Do not rely on this " (what) ". Failed: "
                @for (i, name) in failed.iter().enumerate() {
                    @if i > 0 { ", " }
                    code { (name) }
                }
                "."
            }
        }
    }
}

/// Why a form could not be read, with its status (`413` when it is too large).
fn form_error(e: axum::extract::multipart::MultipartError) -> (StatusCode, String) {
    (
        e.status(),
        format!(
            "the form could not be read ({}); a certificate is at most {} MiB",
            e.body_text(),
            crate::certificate::pdf::MAX_PDF_BYTES >> 20
        ),
    )
}

/// Reads the form: the CSRF token and the file (its name and bytes).
async fn read_form(
    mut multipart: Multipart,
) -> Result<(Option<String>, Option<(String, Vec<u8>)>), (StatusCode, String)> {
    let mut csrf = None;
    let mut file = None;
    while let Some(field) = multipart.next_field().await.map_err(form_error)? {
        match field.name() {
            Some("csrf") => csrf = Some(field.text().await.map_err(form_error)?),
            Some("certificate") => {
                let name = field.file_name().unwrap_or("certificate").to_string();
                let bytes = field.bytes().await.map_err(form_error)?;
                file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    Ok((csrf, file))
}

/// `POST /verify`.
pub async fn upload(
    State(state): State<AppState>,
    signed: Signed,
    multipart: Multipart,
) -> Response {
    let read = tokio::time::timeout(state.read_timeout, read_form(multipart)).await;
    let (csrf, file) = match read {
        Ok(Ok(form)) => form,
        Ok(Err((status, why))) => {
            return layout::error_page(Some(&signed), status, "Nothing verified", &why);
        }
        Err(_) => {
            return layout::error_page(
                Some(&signed),
                StatusCode::REQUEST_TIMEOUT,
                "Nothing verified",
                &format!(
                    "the file did not arrive within {} s; try again",
                    state.read_timeout.as_secs_f64()
                ),
            );
        }
    };
    if !signed.form_token_ok(csrf.as_deref()) {
        return layout::refused_cross_site();
    }
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return layout::error_page(
            Some(&signed),
            StatusCode::BAD_REQUEST,
            "Nothing verified",
            "No file was sent: choose a certificate's PDF or JSON file.",
        );
    };
    let stations = match with_register(&state, |reg| reg.stations()).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return layout::failed(&signed, e),
        Err(r) => return r,
    };
    let trust = match super::trust_store(&state.web, &stations) {
        Ok(t) => t,
        Err(e) => return layout::failed(&signed, e),
    };
    let shown = name.clone();
    let checked = tokio::task::spawn_blocking(move || {
        // A collection report is checked by its own checks, as `wipeproof verify` does.
        match verify_report_bytes(&bytes, &shown, &trust) {
            Ok(Some(verdict)) => Checked::Report(Box::new(verdict)),
            Ok(None) => Checked::Certificate(Box::new(
                verify_bytes(&bytes, &shown, &trust, None).unwrap_or_else(Report::unreadable),
            )),
            Err(e) => Checked::Certificate(Box::new(Report::unreadable(&e))),
        }
    })
    .await;
    let report = match checked {
        Ok(Checked::Certificate(r)) => *r,
        Ok(Checked::Report(v)) => return report_page(&signed, &name, &v),
        Err(e) => return layout::failed(&signed, e),
    };
    let held = match &report.record {
        Some(r) => {
            let id = r.id.clone();
            with_register(&state, move |reg| reg.stored_certificate(&id))
                .await
                .ok()
                .and_then(Result::ok)
                .flatten()
        }
        None => None,
    };
    layout::page(
        &signed,
        "Verification",
        html! {
            p.muted { "File: " span.mono { (name) } }
            (verdict(&report))
            h2 { "Checks" }
            (checks_table(&report.checks))
            @if let Some(r) = &report.record {
                @if report.valid {
                    h2 { "What the certificate says" }
                } @else {
                    h2 { "What the file claims" }
                    p.notice.bad { "Unverified: these are the file's own words, which the checks above do not back." }
                }
                (record_facts(r, report.valid))
                @if let Some(h) = &held {
                    @if report.valid {
                        p { "The register holds this certificate: "
                            a href={ "/certificates/" (super::auth::path_segment(&h.id)) } { "open it" } "." }
                    } @else {
                        p { "The register holds a certificate with this id: "
                            a href={ "/certificates/" (super::auth::path_segment(&h.id)) } { "open it" }
                            " to compare." }
                    }
                } @else {
                    p.muted { "The register holds no certificate with this id." }
                }
            }
            h2.noprint { "Verify another" }
            (upload_form(&signed))
        },
    )
}

/// What an upload was checked as.
enum Checked {
    Certificate(Box<Report>),
    Report(Box<ReportVerdict>),
}

/// The page of a checked collection report.
fn report_page(signed: &Signed, name: &str, v: &ReportVerdict) -> Response {
    let report = &v.verdict;
    layout::page(
        signed,
        "Verification",
        html! {
            p.muted { "File: " span.mono { (name) } " (a collection report)" }
            (verdict_of(report, "report"))
            h2 { "Checks" }
            (checks_table(&report.checks))
            @if let Some(r) = &v.report {
                @if report.valid {
                    h2 { "What the report says" }
                } @else {
                    h2 { "What the file claims" }
                    p.notice.bad { "Unverified: these are the file's own words, which the checks above do not back." }
                }
                (report_facts(r))
            }
            h2.noprint { "Verify another" }
            (upload_form(signed))
        },
    )
}
