//! Who talks to the register: the enrolled stations (key, when enrolled, last heard from,
//! revoked) and, for admins, the accounts.

use axum::extract::{Query, State};
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::super::paging::{PAGE_ROWS, page_number, pager};
use super::super::state::{AppState, with_register};
use super::auth::Signed;
use super::layout::{self, badge};
use crate::register::{Page, Paged};

/// `?page=N` of a list page.
#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<String>,
}

/// `GET /stations[?page=N]`, by name.
pub async fn stations(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<PageQuery>,
) -> Response {
    let number = page_number(query.page.as_deref());
    let found = with_register(&state, |reg| {
        Ok::<_, crate::register::RegisterError>((reg.stations()?, reg.station_activity()?))
    })
    .await;
    let (stations, activity) = match found {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => return layout::failed(&signed, e),
        Err(r) => return r,
    };
    let stations = Paged::slice(stations, Page::numbered(number, PAGE_ROWS));
    layout::page(
        &signed,
        "Stations",
        html! {
            p.muted { "Stations enrolled with " code { "wipeproof stations add" } "; only their signed certificates and custody events are accepted." }
            @if stations.total == 0 {
                p.muted { "No station is enrolled yet." }
            } @else {
                div.scroll { table.cards {
                    thead { tr { th { "Station" } th { "Key id" } th { "Enrolled" } th { "Last seen" }
                                 th { "Certificates" } th { "Status" } } }
                    tbody { @for s in &stations.items {
                        @let a = activity.iter().find(|a| a.key_id == s.key_id);
                        tr {
                            td data-label="Station" { (s.name)
                                @if !s.earlier_names.is_empty() {
                                    br; span.muted { "earlier " (s.earlier_names.join(", ")) }
                                } }
                            td.mono.key data-label="Key id" { (s.key_id) }
                            td data-label="Enrolled" { (layout::when(&s.enrolled_at)) }
                            td data-label="Last seen" { @match a.and_then(|a| a.last_seen.as_deref()) {
                                Some(at) => (layout::when(at)),
                                None => span.muted { "never" },
                            } }
                            td data-label="Certificates" { (a.map(|a| a.certificates).unwrap_or(0)) }
                            td data-label="Status" { @if let Some(at) = &s.revoked_at {
                                (badge("revoked")) " " span.muted { "since " (layout::when(at)) }
                            } @else { (badge("active")) } }
                        }
                    } }
                } }
                (pager("/stations?", number, stations.total, stations.items.len()))
            }
        },
    )
}

/// `GET /users[?page=N]` (admin), by name.
pub async fn users(
    State(state): State<AppState>,
    signed: Signed,
    Query(query): Query<PageQuery>,
) -> Response {
    let number = page_number(query.page.as_deref());
    let users = match with_register(&state, |reg| reg.users()).await {
        Ok(Ok(u)) => u,
        Ok(Err(e)) => return layout::failed(&signed, e),
        Err(r) => return r,
    };
    let users = Paged::slice(users, Page::numbered(number, PAGE_ROWS));
    layout::page(
        &signed,
        "Accounts",
        html! {
            p.muted { "Accounts are managed on the register with "
                code { "wipeproof users add|list|remove|token" } "." }
            div.scroll { table.cards {
                thead { tr { th { "Name" } th { "Role" } th { "Created" } th { "API tokens" } th { "Last sign-in" } } }
                tbody { @for u in &users.items { tr {
                    td data-label="Name" { (u.name) } td data-label="Role" { (u.role.as_str()) } td data-label="Created" { (layout::when(&u.created_at)) }
                    td data-label="API tokens" { (u.tokens) }
                    td data-label="Last sign-in" { @match &u.last_sign_in { Some(at) => (layout::when(at)), None => span.muted { "never" } } }
                } } }
            } }
            (pager("/users?", number, users.total, users.items.len()))
        },
    )
}
