//! Finding assets and their certificates: the start page (search and collections), search
//! results, an asset's page (state, drives, certificates, custody events), a certificate's page
//! (what it says, a computer certificate's drives with links to theirs (`super::computer`), and
//! its verification, checked again now) and its PDF and JSON downloads.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use maud::{Markup, html};
use serde::Deserialize;

use super::super::paging::{PAGE_ROWS, page_number, pager};
use super::super::state::{AppState, with_register};
use super::auth::{Signed, path_segment};
use super::computer::{computer_drives, computer_facts};
use super::layout::{self, badge, checks_table};
use super::verify::{record_facts, verdict};
use crate::certificate::check::verify_bytes;
use crate::certificate::issue::{LayoutVersion, SignatureBlock, SignedCertificate, render_pdf_as};
use crate::certificate::keys::public_pem;
use crate::certificate::signable::Signable;
use crate::certificate::strict_json;
use crate::register::Page;
use crate::register::lookup::StoredCertificate;

/// Runs a read on the register; a failure becomes an error page.
async fn lookup<T: Send + 'static, E: std::fmt::Display + Send + 'static>(
    state: &AppState,
    signed: &Signed,
    f: impl FnOnce(&mut dyn crate::register::Register) -> Result<T, E> + Send + 'static,
) -> Result<T, Response> {
    match with_register(state, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(layout::failed(signed, e)),
        Err(r) => Err(r),
    }
}

fn search_form(q: &str) -> Markup {
    html! {
        form.inline method="get" action="/assets" role="search" {
            input type="search" name="q" value=(q) aria-label="Asset tag, serial or customer"
                placeholder="Asset tag, serial number or customer" required;
            button type="submit" { "Search" }
        }
    }
}

/// `?page=N` of a list page.
#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<String>,
}

/// `GET /[?page=N]`: search, and the collections with their progress, a page at a time.
pub async fn home(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<PageQuery>,
) -> Response {
    let number = page_number(query.page.as_deref());
    let found = lookup(&state, &signed, move |reg| {
        reg.collections(Page::numbered(number, PAGE_ROWS))
    });
    let collections = match found.await {
        Ok(c) => c,
        Err(r) => return r,
    };
    layout::page(
        &signed,
        "Assets and certificates",
        html! {
            (search_form(""))
            h2 { "Collections" }
            @if collections.total == 0 {
                p.muted { "No collection has been booked in yet (" code { "wipeproof intake import" } ")." }
            } @else {
                div.scroll { table.cards {
                    thead { tr { th { "Collection" } th { "Customer" } th { "Assets" } th { "Retired" }
                                 th { "Received" } th { "Failed" } th { "Destroyed" } } }
                    tbody { @for c in &collections.items { tr {
                        td data-label="Collection" { a href={ "/collections/" (path_segment(&c.collection)) } { (c.collection) } }
                        td data-label="Customer" { (c.customer) }
                        td data-label="Assets" { (c.assets) } td data-label="Retired" { (c.retired) }
                        td data-label="Expected" { (c.expected) } td data-label="Received" { (c.received) }
                        td data-label="Failed" { (c.failed) } td data-label="Destroyed" { (c.destroyed) }
                    } } }
                } }
                (pager("/?", number, collections.total, collections.items.len()))
            }
        },
    )
}

#[derive(Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
    page: Option<String>,
}

/// `GET /assets?q=[&page=N]`: assets by tag, serial (the asset's or a drive's) or customer, a
/// page at a time by tag.
pub async fn search(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<SearchQuery>,
) -> Response {
    let q: String = query
        .q
        .unwrap_or_default()
        .trim()
        .chars()
        .take(200)
        .collect();
    if q.is_empty() {
        return layout::page(&signed, "Search", search_form(""));
    }
    let number = page_number(query.page.as_deref());
    let needle = q.clone();
    let found = match lookup(&state, &signed, move |reg| {
        reg.search_assets(&needle, Page::numbered(number, PAGE_ROWS))
    })
    .await
    {
        Ok(f) => f,
        Err(r) => return r,
    };
    let base = format!("/assets?q={}&", path_segment(&q));
    layout::page(
        &signed,
        "Search",
        html! {
            (search_form(&q))
            p.muted {
                @if found.total == 0 { "No asset matches " }
                @else { (found.total) " asset(s) match " }
                "“" (q) "” (asset tag, serial number, a drive's serial, customer or customer reference)."
            }
            @if !found.items.is_empty() {
                div.scroll { table.cards {
                    thead { tr { th { "Asset" } th { "Serial" } th { "What" } th { "Customer" }
                                 th { "Collection" } th { "State" } th { "Drives" } th { "Certificates" } } }
                    tbody { @for a in &found.items { tr {
                        td data-label="Asset" { a href={ "/assets/" (path_segment(&a.asset_tag)) } { (a.asset_tag) } }
                        td.mono data-label="Serial" { (a.serial) }
                        td data-label="What" { (describe(a.asset_type.as_deref(), a.make.as_deref(), a.model.as_deref())) }
                        td data-label="Customer" { (a.customer) }
                        td data-label="Collection" { a href={ "/collections/" (path_segment(&a.collection)) } { (a.collection) } }
                        td data-label="State" { (badge(a.state.as_str())) }
                        td data-label="Drives" { (a.media_count) }
                        td data-label="Certificates" { (a.certificate_count) }
                    } } }
                } }
            }
            (pager(&base, number, found.total, found.items.len()))
        },
    )
}

/// "laptop, Lenovo ThinkPad" from what the manifest gave.
fn describe(kind: Option<&str>, make: Option<&str>, model: Option<&str>) -> String {
    let product: Vec<&str> = [make, model].into_iter().flatten().collect();
    match (kind, product.is_empty()) {
        (Some(k), false) => format!("{k}, {}", product.join(" ")),
        (Some(k), true) => k.to_string(),
        (None, false) => product.join(" "),
        (None, true) => "-".into(),
    }
}

/// A size in bytes for people (decimal units, as drives are sold).
fn size(bytes: Option<u64>) -> String {
    let Some(b) = bytes else {
        return "-".into();
    };
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = b as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// `GET /assets/{tag}`.
pub async fn asset(
    State(state): State<AppState>,
    signed: Signed,
    Path(tag): Path<String>,
) -> Response {
    let wanted = tag.clone();
    let found = match lookup(&state, &signed, move |reg| reg.asset(&wanted)).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some(a) = found else {
        return layout::error_page(
            Some(&signed),
            StatusCode::NOT_FOUND,
            "No such asset",
            &format!(
                "The register has no asset with tag {tag}. Search by serial or customer instead."
            ),
        );
    };
    let s = &a.summary;
    layout::page(
        &signed,
        &format!("Asset {}", s.asset_tag),
        html! {
            dl.facts {
                dt { "State" } dd { (badge(s.state.as_str())) }
                dt { "Serial" } dd.mono { (s.serial) }
                dt { "What" } dd { (describe(s.asset_type.as_deref(), s.make.as_deref(), s.model.as_deref())) }
                dt { "Customer" } dd { (s.customer)
                    @if let Some(r) = &s.customer_ref { " (reference " (r) ")" } }
                dt { "Collection" } dd { a href={ "/collections/" (path_segment(&s.collection)) } { (s.collection) } }
                dt { "Updated" } dd { (layout::when(&s.updated_at)) }
            }
            h2 { "Drives" }
            @if a.media.is_empty() {
                p.muted { "The manifest listed no drives; certificates are matched by the asset's serial." }
            } @else {
                div.scroll { table.cards {
                    thead { tr { th { "Serial" } th { "Model" } th { "Size" } th { "Latest result" } th { "Certificate" } } }
                    tbody { @for m in &a.media { tr {
                        td.mono data-label="Serial" { (m.serial) }
                        td data-label="Model" { (m.model.as_deref().unwrap_or("-")) }
                        td data-label="Size" { (size(m.size_bytes)) }
                        td data-label="Latest result" { @if let Some(r) = &m.result { (badge(r)) } @else { span.muted { "not wiped" } } }
                        td data-label="Certificate" { @if let Some(id) = &m.certificate_id {
                            a.mono href={ "/certificates/" (path_segment(id)) } { (short_id(id)) }
                        } @else { "-" } }
                    } } }
                } }
            }
            @if !a.computers.is_empty() {
                h2 { "Computer certificates" }
                div.scroll { table.cards {
                    thead { tr { th { "Certificate" } th { "Computer" } th { "Drives" } th { "Result" }
                                 th { "Issued" } th { "Station" } th { "Download" } } }
                    tbody { @for c in &a.computers { tr {
                        td data-label="Certificate" { a.mono href={ "/certificates/" (path_segment(&c.id)) } { (short_id(&c.id)) } }
                        td.mono data-label="Computer" { (c.serial.as_deref().unwrap_or("-")) }
                        td data-label="Drives" { (c.drives) }
                        td data-label="Result" { (badge(&c.result)) }
                        td data-label="Issued" { (layout::when(&c.issued_at)) }
                        td data-label="Station" { (c.station_id) }
                        td data-label="Download" { span.downloads {
                            a href={ "/certificates/" (path_segment(&c.id)) "/pdf" } download { "PDF" }
                            a href={ "/certificates/" (path_segment(&c.id)) "/json" } download { "JSON" }
                        } }
                    } } }
                } }
            }
            h2 { "Certificates" }
            @if a.certificates.is_empty() {
                p.muted { "No certificate yet." }
            } @else {
                div.scroll { table.cards {
                    thead { tr { th { "Certificate" } th { "Drive" } th { "Method" } th { "Result" }
                                 th { "Issued" } th { "Station" } th { "Download" } } }
                    tbody { @for c in &a.certificates { tr {
                        td data-label="Certificate" { a.mono href={ "/certificates/" (path_segment(&c.id)) } { (short_id(&c.id)) } }
                        td.mono data-label="Drive" { (c.serial.as_deref().unwrap_or("-")) }
                        td data-label="Method" { code { (c.method) } }
                        td data-label="Result" { (badge(&c.result)) }
                        td data-label="Issued" { (layout::when(&c.issued_at)) }
                        td data-label="Station" { (c.station_id)
                             // Issued under an earlier name of the station (renamed since).
                             @if let Some(now) = c.enrolled_as.as_deref().filter(|n| *n != c.station_id) {
                                 " " span.muted { "(now " (now) ")" } }
                             @if let Some(n) = &c.note { br; span.muted { (n) } } }
                        td data-label="Download" { span.downloads {
                            a href={ "/certificates/" (path_segment(&c.id)) "/pdf" } download { "PDF" }
                            a href={ "/certificates/" (path_segment(&c.id)) "/json" } download { "JSON" }
                        } }
                    } } }
                } }
            }
            h2 { "Custody" }
            div.scroll { table.cards {
                thead { tr { th { "#" } th { "When" } th { "What" } th { "Who" } th { "Where" } th { "Details" } } }
                tbody { @for e in &a.events { tr {
                    td data-label="#" { (e.seq) } td data-label="When" { (layout::when(&e.at)) } td data-label="What" { (e.kind) } td data-label="Who" { (e.actor) } td data-label="Where" { (e.station) }
                    td.details data-label="Details" { span.mono { (details(&e.detail)) } }
                } } }
            } }
        },
    )
}

/// The first block of a certificate id: enough to tell them apart in a table.
fn short_id(id: &str) -> &str {
    id.split('-').next().filter(|s| s.len() >= 8).unwrap_or(id)
}

/// An event's details as `key: value` pairs.
fn details(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join(", "),
        serde_json::Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A stored certificate and the register's trust store, or the page that says why not.
async fn load(
    state: &AppState,
    signed: &Signed,
    id: String,
) -> Result<(StoredCertificate, crate::certificate::keys::TrustStore), Response> {
    let wanted = id.clone();
    let (found, stations) = lookup(state, signed, move |reg| {
        Ok::<_, crate::register::RegisterError>((reg.stored_certificate(&wanted)?, reg.stations()?))
    })
    .await?;
    let Some(found) = found else {
        return Err(layout::error_page(
            Some(signed),
            StatusCode::NOT_FOUND,
            "No such certificate",
            &format!("The register holds no certificate {id}."),
        ));
    };
    let trust = super::trust_store(&state.web, &stations).map_err(|e| layout::failed(signed, e))?;
    Ok((found, trust))
}

/// `GET /certificates/{id}`: what it says, and its verification, checked now.
pub async fn certificate(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Response {
    let (stored, trust) = match load(&state, &signed, id).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let doc = stored.document.clone();
    let name = format!("certificate {}", stored.id);
    let report = match tokio::task::spawn_blocking(move || {
        verify_bytes(doc.as_bytes(), &name, &trust, None)
    })
    .await
    {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return layout::failed(&signed, e),
        Err(e) => return layout::failed(&signed, e),
    };
    // A computer certificate's drives: which of their certificates this register holds.
    let drive_ids: Vec<String> = report
        .computer
        .iter()
        .flat_map(|c| c.drives.iter().map(|d| d.certificate_id.clone()))
        .collect();
    let held = match lookup(&state, &signed, move |reg| {
        let mut held = std::collections::HashSet::new();
        for id in drive_ids {
            if reg.stored_certificate(&id)?.is_some() {
                held.insert(id);
            }
        }
        Ok::<_, crate::register::RegisterError>(held)
    })
    .await
    {
        Ok(held) => held,
        Err(r) => return r,
    };
    let base = format!("/certificates/{}", path_segment(&stored.id));
    let title = if report.computer.is_some() {
        "Computer certificate"
    } else {
        "Certificate"
    };
    layout::page(
        &signed,
        title,
        html! {
            p.downloads.noprint {
                a href={ (base) "/pdf" } download { "Download the PDF" }
                a href={ (base) "/json" } download { "Download the JSON" }
                @if let Some(tag) = &stored.asset_tag {
                    a href={ "/assets/" (path_segment(tag)) } { "Asset " (tag) }
                }
            }
            @if let Some(r) = &report.record { (record_facts(r, report.valid)) }
            @if let Some(c) = &report.computer {
                (computer_facts(c, report.valid))
                (computer_drives(c, &held))
            }
            h2 { "Verification of the stored certificate" }
            (verdict(&report))
            (checks_table(&report.checks))
        },
    )
}

/// A download: `bytes` as `filename`.
fn download(bytes: Vec<u8>, mime: &'static str, filename: &str) -> Response {
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

/// A certificate id as a file name (ids are UUIDs; anything else is replaced).
fn file_stem(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `GET /certificates/{id}/json`: the signed JSON as the station wrote it.
pub async fn certificate_json(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Response {
    match load(&state, &signed, id).await {
        Ok((stored, _)) => download(
            stored.document.into_bytes(),
            "application/json",
            &format!("certificate-{}.json", file_stem(&stored.id)),
        ),
        Err(r) => r,
    }
}

/// `GET /certificates/{id}/pdf`: the PDF drawn again from the signed record, with the layout
/// it was made with: the pages and embedded files of the PDF the station wrote, without its PDF
/// signature (only the station's key makes that).
pub async fn certificate_pdf(
    State(state): State<AppState>,
    signed: Signed,
    Path(id): Path<String>,
) -> Response {
    let (stored, trust) = match load(&state, &signed, id).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let stem = file_stem(&stored.id);
    let drawn = tokio::task::spawn_blocking(move || draw_pdf(&stored, &trust)).await;
    match drawn {
        Ok(Ok(pdf)) => download(pdf, "application/pdf", &format!("certificate-{stem}.pdf")),
        Ok(Err(why)) => layout::error_page(
            Some(&signed),
            StatusCode::UNPROCESSABLE_ENTITY,
            "No PDF",
            &format!(
                "The PDF cannot be drawn: {why}. The JSON certificate is the signed record itself: download that."
            ),
        ),
        Err(e) => layout::failed(&signed, e),
    }
}

/// Draws the PDF of a stored certificate (its signing key must be known here: the PDF
/// carries it).
fn draw_pdf(
    stored: &StoredCertificate,
    trust: &crate::certificate::keys::TrustStore,
) -> Result<Vec<u8>, String> {
    match strict_json::from_slice::<SignedCertificate>(stored.document.as_bytes()) {
        Ok(cert) => draw_signed(&cert, trust),
        Err(e) => match strict_json::from_slice::<
            SignedCertificate<crate::certificate::computer::ComputerRecord>,
        >(stored.document.as_bytes())
        {
            Ok(computer) => draw_signed(&computer, trust),
            Err(_) => Err(e.to_string()),
        },
    }
}

/// Draws the PDF of a signed record, drive or computer certificate.
fn draw_signed<R: Signable>(
    cert: &SignedCertificate<R>,
    trust: &crate::certificate::keys::TrustStore,
) -> Result<Vec<u8>, String> {
    let key_id = cert.record.key_id();
    let key = trust
        .get(key_id)
        .ok_or_else(|| format!("its signing key {key_id} is neither enrolled nor trusted here"))?;
    let pem = public_pem(key.key.verifying_key()).map_err(|e| e.to_string())?;
    let canonical = cert.record.signed_bytes().map_err(|e| e.to_string())?;
    let signature = base64::engine::general_purpose::STANDARD
        .decode(&cert.signature.value)
        .map_err(|e| format!("its signature is not base64: {e}"))?;
    let sha = cert.record.signed_sha256().map_err(|e| e.to_string())?;
    // The certificate.json a station embeds: the record and signature, pretty-printed.
    let mut json = serde_json::to_vec_pretty(&SignedCertificate {
        record: cert.record.clone(),
        signature: SignatureBlock {
            algorithm: "Ed25519".into(),
            key_id: key_id.to_string(),
            value: cert.signature.value.clone(),
            record_sha256: sha.clone(),
        },
    })
    .map_err(|e| e.to_string())?;
    json.push(b'\n');
    let version = cert
        .record
        .layout_version(layout_of(cert.record.tool_version()));
    render_pdf_as(
        version,
        &cert.record,
        &canonical,
        &signature,
        &sha,
        &json,
        &pem,
        // The register holds no station's PDF key: its drawing carries no PDF signature (the
        // embedded record's Ed25519 signature vouches for it).
        crate::certificate::pdf::Seal::None,
    )
    .map_err(|e| e.to_string())
}

/// The page layout a wipeproof version drew its PDFs with: layout 1 (standard fonts) before
/// 0.1.0, layout 2 (embedded faces) since.
fn layout_of(tool_version: &str) -> LayoutVersion {
    let numbers: Vec<u64> = tool_version
        .split(['.', '-', '+'])
        .take(3)
        .map(|n| n.parse().unwrap_or(0))
        .collect();
    if numbers.as_slice() < [0, 1, 0].as_slice() {
        LayoutVersion::V1
    } else {
        LayoutVersion::V2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_before_0_1_0_drew_layout_1() {
        assert_eq!(layout_of("0.0.9"), LayoutVersion::V1);
        assert_eq!(layout_of("0.1.0"), LayoutVersion::V2);
        assert_eq!(layout_of("0.10.2"), LayoutVersion::V2);
        assert_eq!(layout_of("1.0.0-rc.1"), LayoutVersion::V2);
    }
}
