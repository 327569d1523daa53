//! A collection's page: how far its assets have come, a line per asset and drive, and the
//! signed report to download (drawn and signed by the same code as `wipeproof report`, once
//! the audit backs the register).

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::super::accounts::Permission;
use super::super::report::{
    Issuer, ReportError, SignedFiles, audited_lines, report_stem, sign_report, summarise,
};
use super::super::server::{AppState, with_register};
use super::auth::{Signed, path_segment};
use super::layout::{self, badge};
use crate::certificate::keys::{StationKey, TrustStore};

/// `GET /collections/{code}`.
pub async fn collection(
    State(state): State<AppState>,
    signed: Signed,
    Path(code): Path<String>,
) -> Response {
    let wanted = code.clone();
    let found = match with_register(&state, move |reg| reg.collection_lines(&wanted)).await {
        Ok(Ok(found)) => found,
        Ok(Err(e @ super::super::RegisterError::UnknownCollection(_))) => {
            return layout::error_page(
                Some(&signed),
                StatusCode::NOT_FOUND,
                "No such collection",
                &e.to_string(),
            );
        }
        Ok(Err(e)) => return layout::failed(&signed, e),
        Err(r) => return r,
    };
    let (customer, lines) = found;
    let summary = summarise(&lines);
    let state_count = |s: super::super::AssetState| summary.by_state.get(&s).copied().unwrap_or(0);
    let base = format!("/collections/{}", path_segment(&code));
    let r = &summary.by_result;
    layout::page(
        &signed,
        &format!("Collection {code}"),
        html! {
            p { "Customer: " strong { (customer) } }
            @let done = state_count(super::super::AssetState::Retired) + state_count(super::super::AssetState::Destroyed);
            p {
                strong { (done) " of " (summary.assets) " assets done" }
                @if summary.assets > 0 { " (" (done * 100 / summary.assets) " %)" }
                ": retired or destroyed." br;
                progress value=(done) max=(summary.assets.max(1)) { (done) " of " (summary.assets) }
            }
            ul.counts {
                li { b { (summary.assets) } "assets" }
                li { b { (state_count(super::super::AssetState::Retired)) } "retired" }
                li { b { (state_count(super::super::AssetState::Expected)) } "expected, not received yet" }
                li { b { (state_count(super::super::AssetState::Received)) } "received, not yet done" }
                li { b { (state_count(super::super::AssetState::Failed)) } "failed" }
                li { b { (state_count(super::super::AssetState::Destroyed)) } "destroyed" }
            }
            p.muted {
                (summary.drives) " drive(s): " (r.pass) " passed, " (r.fail) " failed, "
                (r.incomplete) " incomplete, " (r.not_wiped) " not wiped yet."
            }
            h2 { "Signed report" }
            @if signed.principal.may(Permission::SignReport) {
                p.downloads {
                    a href={ (base) "/report.pdf" } download { "Download the report (PDF)" }
                    a href={ (base) "/report.json" } download { "Download the report (JSON)" }
                }
                p.muted { "Each download is a report of the collection as it stands now, signed by the register; "
                    code { "wipeproof verify" } " checks it." }
            } @else {
                p.muted { "Signed reports are handed out to the admin and compliance roles." }
            }
            h2 { "Assets and drives" }
            div.scroll { table.cards {
                thead { tr { th { "Asset" } th { "Type" } th { "State" } th { "Drive" } th { "Method" }
                             th { "Result" } th { "Certificate" } } }
                tbody { @for l in &lines { tr {
                    td data-label="Asset" { a href={ "/assets/" (path_segment(&l.asset_tag)) } { (l.asset_tag) } }
                    td data-label="Type" { (l.asset_type.as_deref().unwrap_or("-")) }
                    td data-label="State" { (badge(l.state.as_str())) }
                    td.mono data-label="Drive" { (l.drive_serial.as_deref().unwrap_or("-")) }
                    td data-label="Method" { @if let Some(m) = &l.method { code { (m) } } @else { "-" } }
                    td data-label="Result" { @if let Some(res) = &l.result { (badge(res.as_str())) } @else { span.muted { "not wiped" } } }
                    td data-label="Certificate" { @if let Some(id) = &l.certificate_id {
                        a.mono href={ "/certificates/" (path_segment(id)) } { (id.split('-').next().unwrap_or(id)) }
                    } @else { "-" } }
                } } }
            } }
        },
    )
}

/// Signs the report of `code` now, for `signed`.
async fn signed_report(
    state: &AppState,
    signed: &Signed,
    code: String,
) -> Result<SignedFiles, Response> {
    let Some(keys_dir) = state.web.keys_dir.clone() else {
        return Err(layout::error_page(
            Some(signed),
            StatusCode::SERVICE_UNAVAILABLE,
            "No report",
            "This register signs no reports: it was started without a state directory's keys.",
        ));
    };
    let web = state.web.clone();
    let operator = signed.principal.name().to_string();
    let made = with_register(state, move |reg| -> Result<SignedFiles, String> {
        let key = StationKey::load(&keys_dir).map_err(|e| {
            format!(
                "the register has no signing key ({e}); make one on it with `wipeproof keys init`"
            )
        })?;
        let trust = TrustStore::load(&keys_dir).map_err(|e| e.to_string())?;
        let contents = audited_lines(&*reg, &code, &trust).map_err(|e| match e {
            ReportError::Register(super::super::RegisterError::UnknownCollection(c)) => {
                format!("there is no collection {c}")
            }
            other => other.to_string(),
        })?;
        sign_report(
            contents,
            &code,
            &Issuer {
                organisation: &web.organisation,
                station_id: &web.station_id,
                operator: &operator,
                key: &key,
            },
        )
        .map_err(|e| e.to_string())
    })
    .await?;
    made.map_err(|why| layout::error_page(Some(signed), StatusCode::CONFLICT, "No report", &why))
}

fn download(bytes: Vec<u8>, mime: &'static str, filename: String) -> Response {
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// `GET /collections/{code}/report.pdf`.
pub async fn report_pdf(
    State(state): State<AppState>,
    signed: Signed,
    Path(code): Path<String>,
) -> Response {
    match signed_report(&state, &signed, code).await {
        Ok(files) => download(
            files.pdf,
            "application/pdf",
            format!("{}.pdf", report_stem(&files.signed.report)),
        ),
        Err(r) => r,
    }
}

/// `GET /collections/{code}/report.json`.
pub async fn report_json(
    State(state): State<AppState>,
    signed: Signed,
    Path(code): Path<String>,
) -> Response {
    match signed_report(&state, &signed, code).await {
        Ok(files) => download(
            files.json,
            "application/json",
            format!("{}.json", report_stem(&files.signed.report)),
        ),
        Err(r) => r,
    }
}
