//! A collection's page: how far its assets have come, its custody (`super::custody`), a line per
//! asset and drive (a page of assets at a time), and the signed report to download (drawn and signed by the same code as
//! `wipeproof report`, once the audit backs the register).

use std::collections::BTreeSet;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::super::paging::{PAGE_ROWS, page_number, pager};
use super::super::state::{AppState, with_register};
use super::auth::{Signed, path_segment};
use super::custody;
use super::layout::{self, badge};
use crate::certificate::keys::{StationKey, TrustStore};
use crate::register::Page;
use crate::register::accounts::Permission;
use crate::register::collection::CollectionState;
use crate::report::{Issuer, ReportError, SignedFiles, audited_lines, report_stem, sign_report};

/// `?page=N` of a collection's assets.
#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<String>,
}

/// `GET /collections/{code}[?page=N]`: the counts over the whole collection (computed by the
/// database) and a page of its assets with their drives.
pub async fn collection(
    State(state): State<AppState>,
    signed: Signed,
    Path(code): Path<String>,
    Query(query): Query<PageQuery>,
) -> Response {
    let wanted = code.clone();
    let number = page_number(query.page.as_deref());
    let page = Page::numbered(number, PAGE_ROWS);
    let read = with_register(&state, move |reg| {
        let found = reg.collection_page(&wanted, page)?;
        let view = reg.collection_view(&wanted)?;
        let missing = if view.state >= CollectionState::Reconciled {
            Some(reg.custody(&wanted)?.missing)
        } else {
            None
        };
        Ok::<_, crate::register::RegisterError>((found, (view, missing)))
    });
    let (found, (view, missing)) = match read.await {
        Ok(Ok(found)) => found,
        Ok(Err(e @ crate::register::RegisterError::UnknownCollection(_))) => {
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
    let base = format!("/collections/{}", path_segment(&code));
    let (c, d) = (&found.progress, &found.drives);
    let shown = found
        .lines
        .iter()
        .map(|l| &l.asset_tag)
        .collect::<BTreeSet<_>>()
        .len();
    layout::page(
        &signed,
        &format!("Collection {code}"),
        html! {
            p { "Customer: " strong { (c.customer) } }
            @let done = c.retired + c.destroyed;
            p {
                strong { (done) " of " (c.assets) " assets done" }
                @if c.assets > 0 { " (" (done * 100 / c.assets) " %)" }
                ": retired or destroyed." br;
                progress value=(done) max=(c.assets.max(1)) { (done) " of " (c.assets) }
            }
            ul.counts {
                li { b { (c.assets) } "assets" }
                li { b { (c.retired) } "retired" }
                li { b { (c.received) } "received, not yet done" }
                li { b { (c.failed) } "failed" }
                li { b { (c.destroyed) } "destroyed" }
            }
            p.muted {
                (d.drives) " drive(s): " (d.pass) " passed, " (d.fail) " failed, "
                (d.incomplete) " incomplete, " (d.not_wiped) " not wiped yet."
            }
            (custody::section(&signed, &view, missing.as_deref()))
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
                tbody { @for l in &found.lines { tr {
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
            (pager(&format!("{base}?"), number, c.assets, shown))
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
    let made = with_register(
        state,
        move |reg| -> Result<SignedFiles, (StatusCode, String)> {
            let conflict = |why: String| (StatusCode::CONFLICT, why);
            let key = StationKey::load(&keys_dir).map_err(|e| {
            conflict(format!(
                "the register has no signing key ({e}); make one on it with `wipeproof keys init`"
            ))
        })?;
            let trust = TrustStore::load(&keys_dir).map_err(|e| conflict(e.to_string()))?;
            let contents = audited_lines(&*reg, &code, &trust).map_err(|e| match e {
                ReportError::Register(crate::register::RegisterError::UnknownCollection(c)) => {
                    (StatusCode::NOT_FOUND, format!("there is no collection {c}"))
                }
                other => conflict(other.to_string()),
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
            .map_err(|e| conflict(e.to_string()))
        },
    )
    .await?;
    made.map_err(|(status, why)| layout::error_page(Some(signed), status, "No report", &why))
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
