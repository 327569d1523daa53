//! The central register over HTTP (JSON under `/api/v1`), serving the register in its own state
//! directory to many stations.
//!
//! * `POST /api/v1/certificates`: a station's signed certificate (the JSON it wrote). Accepted
//!   only if it verifies under an enrolled station's key; then linked to its asset (tag, else
//!   serial, else the review list) and the asset retired by the usual rule. `201` stored, `200`
//!   already stored (same certificate id), `403` unknown station, `422` invalid.
//! * `GET /api/v1/assets[?collection=&state=]`, `GET /api/v1/assets/{tag}`,
//!   `GET /api/v1/unmatched`, `GET /api/v1/stations`, `GET /api/v1/health`.
//!
//! Intake, reports and the other commands work on the same register with `--home` pointing at
//! the server's state directory (SQLite in WAL mode takes both at once).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::sqlite::SqliteRegister;
use super::{Actor, AssetFilter, AssetState, Register};
use crate::certificate::check::verify_bytes;
use crate::certificate::issue::SignedCertificate;
use crate::certificate::keys::{TrustStore, parse_public};
use crate::certificate::strict_json;

/// Largest request body accepted (a certificate is a few kilobytes).
const MAX_BODY: usize = 1 << 20;

#[derive(Clone)]
struct AppState {
    register: Arc<Mutex<SqliteRegister>>,
}

fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, axum::Json(json!({ "error": message.into() }))).into_response()
}

/// Runs `f` on the register off the async threads.
async fn with_register<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut SqliteRegister) -> T + Send + 'static,
) -> Result<T, Response> {
    let register = state.register.clone();
    tokio::task::spawn_blocking(move || {
        let mut guard = register.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    })
    .await
    .map_err(|e| {
        json_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("register task failed: {e}"),
        )
    })
}

async fn receive_certificate(State(state): State<AppState>, body: Bytes) -> Response {
    if body.len() > MAX_BODY {
        return json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "a certificate is far smaller than that",
        );
    }
    let body = body.to_vec();
    let result = with_register(&state, move |reg| -> Response {
        let stations = match reg.stations() {
            Ok(s) => s,
            Err(e) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        };
        // Who sent it? Only enrolled stations may store certificates here.
        let claimed = strict_json::value_from_slice(&body).ok().and_then(|v| {
            v.pointer("/record/key_id")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
        let Some(claimed) = claimed else {
            return json_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "the body is not a wipeproof certificate (no record.key_id)",
            );
        };
        if !stations.iter().any(|s| s.key_id == claimed) {
            return json_error(
                StatusCode::FORBIDDEN,
                format!(
                    "station key {claimed} is not enrolled here; enroll it on the register with \
                     `wipeproof stations add PUBKEY.pem` (the station's `wipeproof keys export`)"
                ),
            );
        }
        let mut trust = TrustStore::default();
        for s in &stations {
            if let Ok(k) = parse_public(&s.public_key_pem, std::path::Path::new(&s.name)) {
                trust.add(k, format!("station {}", s.name).into());
            }
        }
        let report = match verify_bytes(&body, "request", &trust, None) {
            Ok(r) => r,
            Err(e) => return json_error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
        };
        if !report.valid {
            let failed: Vec<&str> = report
                .checks
                .iter()
                .filter(|c| !c.ok)
                .map(|c| c.detail.as_str())
                .collect();
            return json_error(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("the certificate does not verify: {}", failed.join("; ")),
            );
        }
        let cert: SignedCertificate = match strict_json::from_slice(&body) {
            Ok(c) => c,
            Err(e) => return json_error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
        };
        let station = stations
            .iter()
            .find(|s| s.key_id == cert.record.key_id)
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let actor = Actor {
            name: cert.record.performed_by.operator.clone(),
            station,
        };
        let document = String::from_utf8_lossy(&body).into_owned();
        match reg.record_certificate(&cert, &document, None, false, &actor) {
            Ok(linked) => {
                let status = if linked.new {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                };
                let mut v = serde_json::to_value(&linked).unwrap_or(Value::Null);
                v["status"] = json!(if linked.new {
                    "stored"
                } else {
                    "already stored"
                });
                (status, axum::Json(v)).into_response()
            }
            Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    })
    .await;
    result.unwrap_or_else(|r| r)
}

#[derive(Deserialize)]
struct ListQuery {
    collection: Option<String>,
    state: Option<String>,
}

async fn list_assets(State(state): State<AppState>, Query(q): Query<ListQuery>) -> Response {
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
    let filter = AssetFilter {
        collection: q.collection,
        state: filter_state,
    };
    with_register(&state, move |reg| match reg.list_assets(&filter) {
        Ok(assets) => axum::Json(json!({ "assets": assets })).into_response(),
        Err(e @ super::RegisterError::UnknownCollection(_)) => {
            json_error(StatusCode::NOT_FOUND, e.to_string())
        }
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    })
    .await
    .unwrap_or_else(|r| r)
}

async fn show_asset(State(state): State<AppState>, Path(tag): Path<String>) -> Response {
    with_register(&state, move |reg| match reg.asset(&tag) {
        Ok(Some(a)) => axum::Json(a).into_response(),
        Ok(None) => json_error(StatusCode::NOT_FOUND, format!("no asset {tag}")),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    })
    .await
    .unwrap_or_else(|r| r)
}

async fn unmatched(State(state): State<AppState>) -> Response {
    with_register(&state, |reg| match reg.unmatched() {
        Ok(u) => axum::Json(json!({ "unmatched": u })).into_response(),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    })
    .await
    .unwrap_or_else(|r| r)
}

async fn stations(State(state): State<AppState>) -> Response {
    with_register(&state, |reg| match reg.stations() {
        Ok(s) => axum::Json(json!({ "stations": s })).into_response(),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    })
    .await
    .unwrap_or_else(|r| r)
}

async fn health() -> Response {
    axum::Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") })).into_response()
}

/// The HTTP routes over a register.
fn router(register: SqliteRegister) -> Router {
    let state = AppState {
        register: Arc::new(Mutex::new(register)),
    };
    Router::new()
        .route("/api/v1/health", get(health))
        .route("/api/v1/certificates", post(receive_certificate))
        .route("/api/v1/assets", get(list_assets))
        .route("/api/v1/assets/{tag}", get(show_asset))
        .route("/api/v1/unmatched", get(unmatched))
        .route("/api/v1/stations", get(stations))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source}; is another server using the port?")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("the server stopped: {0}")]
    Runtime(std::io::Error),
}

/// Serves `register` on `addr` until SIGINT or SIGTERM. `ready` is called with the bound
/// address once the server accepts connections.
pub fn serve(
    register: SqliteRegister,
    addr: SocketAddr,
    ready: impl FnOnce(SocketAddr),
) -> Result<(), ServeError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ServeError::Bind { addr, source })?;
        let bound = listener.local_addr().map_err(ServeError::Runtime)?;
        ready(bound);
        axum::serve(listener, router(register))
            .with_graceful_shutdown(async {
                let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending::<()>().await } } => {}
                }
            })
            .await
            .map_err(ServeError::Runtime)
    })
}
