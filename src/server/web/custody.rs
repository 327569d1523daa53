//! A collection's custody on its page: where it stands, what goods-in has received and, once
//! it is reconciled, the assets unaccounted for (flagged) and how each missing one was resolved; a link to
//! the goods-in page for those who receive; and, for the admin role, a form per missing asset
//! to resolve it with a reason (`POST /collections/{code}/resolve`), recorded as a custody
//! event naming who resolved it, as `intake resolve` does.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::super::state::{AppState, with_register};
use super::auth::{Signed, path_segment, see_other};
use super::layout::{self, badge, when};
use crate::register::RegisterError;
use crate::register::accounts::Permission;
use crate::register::collection::{CollectionState, CollectionView, Missing, Reason};

/// The most missing assets a collection's page lists.
const SHOWN: usize = 200;

/// The custody section of the collection page of `view`; `missing` is read once the
/// collection is reconciled (before, every asset not yet received would be listed).
pub fn section(signed: &Signed, v: &CollectionView, missing: Option<&[Missing]>) -> Markup {
    let base = format!("/collections/{}", path_segment(&v.collection));
    let resolver = signed.principal.may(Permission::ResolveMissing);
    let open = v.state != CollectionState::Closed;
    html! {
        h2 #custody { "Custody" }
        p {
            "Stands at " (badge(v.state.as_str())) ": "
            strong { (v.received) " of " (v.assets) } " assets received, "
            (v.extras) " extra(s) scanned."
            @if signed.principal.may(Permission::Receive) && open {
                " " a href={ (base) "/goods-in" } { "Goods-in: scan this collection" }
            }
        }
        @match missing {
            None => {
                @if v.unaccounted > 0 {
                    p.muted { (v.unaccounted) " asset(s) not received yet. Once goods-in is done, "
                        code { "wipeproof intake reconcile " (v.collection) } " lists the missing ones here." }
                }
            }
            Some(missing) => {
                @if v.unaccounted > 0 {
                    p.notice.bad { strong { (v.unaccounted) " asset(s) unaccounted for" }
                        ": on the manifest, never received, not resolved." }
                }
                @if !missing.is_empty() { (missing_table(signed, &base, missing, resolver)) }
                @if missing.len() > SHOWN {
                    p.muted { "The first " (SHOWN) " of " (missing.len()) " are shown; "
                        code { "wipeproof intake reconcile " (v.collection) } " lists them all." }
                }
                @if !resolver && v.unaccounted > 0 {
                    p.muted { "A missing asset is resolved by the admin role." }
                }
            }
        }
    }
}

fn missing_table(signed: &Signed, base: &str, missing: &[Missing], resolver: bool) -> Markup {
    html! {
        div.scroll { table.missing {
            thead { tr { th { "Missing asset" } th { "Serial" } th { "Type" } th { "Resolution" } } }
            tbody { @for m in missing.iter().take(SHOWN) { tr {
                td { a href={ "/assets/" (path_segment(&m.asset_tag)) } { (m.asset_tag) } }
                td.mono { (m.serial) }
                td { (m.asset_type.as_deref().unwrap_or("-")) }
                td.resolve { @match &m.resolution {
                    Some(r) => {
                        (r.reason.describe()) "; resolved by " (r.by) ", " (when(&r.at))
                        @if let Some(n) = &r.note { br; span.muted { (n) } }
                    }
                    None if resolver => (resolve_form(signed, base, &m.asset_tag)),
                    None => { (badge("unaccounted for")) }
                } }
            } } }
        } }
    }
}

fn resolve_form(signed: &Signed, base: &str, tag: &str) -> Markup {
    html! {
        form.resolve method="post" action={ (base) "/resolve" } {
            @if let Some(csrf) = &signed.csrf { input type="hidden" name="csrf" value=(csrf); }
            input type="hidden" name="asset" value=(tag);
            select name="reason" aria-label={ "Why " (tag) " is accounted for" } {
                @for r in [Reason::Found, Reason::Withdrawn, Reason::Lost] {
                    option value=(r.as_str()) { (r.describe()) }
                }
            }
            input type="text" name="note" placeholder="note (lost: the incident)"
                aria-label={ "Note on " (tag) };
            button type="submit" { "Resolve" }
        }
    }
}

/// The resolve form.
#[derive(Deserialize)]
pub struct ResolveForm {
    csrf: Option<String>,
    asset: String,
    reason: String,
    note: Option<String>,
}

/// `POST /collections/{code}/resolve` (admin): resolves a missing asset with a reason, then
/// back to the collection's custody.
pub async fn resolve(
    State(state): State<AppState>,
    signed: Signed,
    Path(code): Path<String>,
    form: Result<Form<ResolveForm>, FormRejection>,
) -> Response {
    let refuse = |status: StatusCode, why: &str| {
        layout::error_page(Some(&signed), status, "Not resolved", why)
    };
    let Ok(Form(form)) = form else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The form is incomplete: send it from the collection's page.",
        );
    };
    if !signed.form_token_ok(form.csrf.as_deref()) {
        return layout::refused_cross_site();
    }
    let Some(reason) = Reason::parse(&form.reason) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The reason must be found, withdrawn or lost.",
        );
    };
    let note = form
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    if reason == Reason::Lost && note.is_none() {
        return refuse(
            StatusCode::BAD_REQUEST,
            &format!(
                "A lost asset ({}) needs a note naming the incident: go back and write it in the note.",
                form.asset
            ),
        );
    }
    let actor = signed.principal.actor(&state.web.station_id);
    let (collection, asset) = (code.clone(), form.asset.clone());
    let done = with_register(&state, move |reg| {
        reg.resolve_missing(&collection, &asset, reason, note.as_deref(), &actor)
    })
    .await;
    match done {
        Ok(Ok(())) => see_other(&format!("/collections/{}#custody", path_segment(&code))),
        Ok(Err(e @ (RegisterError::UnknownCollection(_) | RegisterError::UnknownAsset(_)))) => {
            refuse(StatusCode::NOT_FOUND, &e.to_string())
        }
        Ok(Err(e @ RegisterError::Custody { .. })) => refuse(StatusCode::CONFLICT, &e.to_string()),
        Ok(Err(e)) => layout::failed(&signed, e),
        Err(r) => r,
    }
}
