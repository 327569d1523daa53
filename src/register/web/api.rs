//! The API's reads (`/api/v1`, JSON): assets a page at a time by collection and state, one
//! asset with its drives, certificates and events, the review list, and the enrolled
//! stations. Lists take `limit` and `offset` and answer `total` and `next` ([`super::paging`]).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::super::server::{AppState, json_error, with_register};
use super::super::{AssetFilter, AssetState, Page, Paged, Register, RegisterError};
use super::paging::{api_answer, api_page};

/// Runs the read `f` (the route's guard has let the request in: `auth`).
async fn read(
    state: &AppState,
    f: impl FnOnce(&mut dyn Register) -> Response + Send + 'static,
) -> Response {
    with_register(state, f).await.unwrap_or_else(|r| r)
}

fn failed(e: RegisterError) -> Response {
    json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
}

/// A list's query: its page only.
#[derive(Deserialize)]
pub struct PageQuery {
    limit: Option<String>,
    offset: Option<String>,
}

impl PageQuery {
    fn page(&self) -> Result<Page, Response> {
        api_page(self.limit.as_deref(), self.offset.as_deref())
    }
}

#[derive(Deserialize)]
pub struct AssetsQuery {
    collection: Option<String>,
    state: Option<String>,
    #[serde(flatten)]
    page: PageQuery,
}

/// `GET /api/v1/assets[?collection=&state=&limit=&offset=]`, by collection and tag.
pub async fn list_assets(State(state): State<AppState>, Query(q): Query<AssetsQuery>) -> Response {
    let filter_state = match q.state.as_deref().map(AssetState::parse) {
        Some(None) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "state must be received, retired, failed or destroyed",
            );
        }
        Some(s) => s,
        None => None,
    };
    let page = match q.page.page() {
        Ok(p) => p,
        Err(r) => return r,
    };
    let filter = AssetFilter {
        collection: q.collection,
        state: filter_state,
    };
    read(&state, move |reg| match reg.assets_page(&filter, page) {
        Ok(assets) => api_answer(
            "assets",
            assets,
            page,
            "/api/v1/assets",
            &[
                ("collection", filter.collection.as_deref()),
                ("state", filter.state.map(|s| s.as_str())),
            ],
        ),
        Err(e @ RegisterError::UnknownCollection(_)) => {
            json_error(StatusCode::NOT_FOUND, e.to_string())
        }
        Err(e) => failed(e),
    })
    .await
}

/// `GET /api/v1/assets/{tag}`.
pub async fn show_asset(State(state): State<AppState>, Path(tag): Path<String>) -> Response {
    read(&state, move |reg| match reg.asset(&tag) {
        Ok(Some(a)) => axum::Json(a).into_response(),
        Ok(None) => json_error(StatusCode::NOT_FOUND, format!("no asset {tag}")),
        Err(e) => failed(e),
    })
    .await
}

/// `GET /api/v1/unmatched[?limit=&offset=]`, by issue time.
pub async fn unmatched(State(state): State<AppState>, Query(q): Query<PageQuery>) -> Response {
    let page = match q.page() {
        Ok(p) => p,
        Err(r) => return r,
    };
    read(&state, move |reg| match reg.unmatched_page(page) {
        Ok(u) => api_answer("unmatched", u, page, "/api/v1/unmatched", &[]),
        Err(e) => failed(e),
    })
    .await
}

/// `GET /api/v1/stations[?limit=&offset=]`, by name.
pub async fn stations(State(state): State<AppState>, Query(q): Query<PageQuery>) -> Response {
    let page = match q.page() {
        Ok(p) => p,
        Err(r) => return r,
    };
    read(&state, move |reg| match reg.stations() {
        Ok(s) => api_answer(
            "stations",
            Paged::slice(s, page),
            page,
            "/api/v1/stations",
            &[],
        ),
        Err(e) => failed(e),
    })
    .await
}
