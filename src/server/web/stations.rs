//! Who talks to the register: the enrolled stations (key, when enrolled, last heard from,
//! revoked) and, for admins, the accounts.

use axum::extract::State;
use axum::response::Response;
use maud::html;

use super::super::state::{AppState, with_register};
use super::auth::Signed;
use super::layout::{self, badge};

/// `GET /stations`.
pub async fn stations(State(state): State<AppState>, signed: Signed) -> Response {
    let found = with_register(&state, |reg| {
        Ok::<_, crate::register::RegisterError>((reg.stations()?, reg.station_activity()?))
    })
    .await;
    let (stations, activity) = match found {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => return layout::failed(&signed, e),
        Err(r) => return r,
    };
    layout::page(
        &signed,
        "Stations",
        html! {
            p.muted { "Stations enrolled with " code { "wipeproof stations add" } "; only their signed certificates and custody events are accepted." }
            @if stations.is_empty() {
                p.muted { "No station is enrolled yet." }
            } @else {
                div.scroll { table.cards {
                    thead { tr { th { "Station" } th { "Key id" } th { "Enrolled" } th { "Last seen" }
                                 th { "Certificates" } th { "Status" } } }
                    tbody { @for s in &stations {
                        @let a = activity.iter().find(|a| a.key_id == s.key_id);
                        tr {
                            td data-label="Station" { (s.name) }
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
            }
        },
    )
}

/// `GET /users` (admin).
pub async fn users(State(state): State<AppState>, signed: Signed) -> Response {
    let users = match with_register(&state, |reg| reg.users()).await {
        Ok(Ok(u)) => u,
        Ok(Err(e)) => return layout::failed(&signed, e),
        Err(r) => return r,
    };
    layout::page(
        &signed,
        "Accounts",
        html! {
            p.muted { "Accounts are managed on the register with "
                code { "wipeproof users add|list|remove|token" } "." }
            div.scroll { table.cards {
                thead { tr { th { "Name" } th { "Role" } th { "Created" } th { "API tokens" } th { "Last sign-in" } } }
                tbody { @for u in &users { tr {
                    td data-label="Name" { (u.name) } td data-label="Role" { (u.role.as_str()) } td data-label="Created" { (layout::when(&u.created_at)) }
                    td data-label="API tokens" { (u.tokens) }
                    td data-label="Last sign-in" { @match &u.last_sign_in { Some(at) => (layout::when(at)), None => span.muted { "never" } } }
                } } }
            } }
        },
    )
}
