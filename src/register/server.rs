//! The central register over HTTP (JSON under `/api/v1`), serving the register in its own state
//! directory to many stations.
//!
//! Writes come from stations and are signed; reads need an API token.
//!
//! * `POST /api/v1/certificates`: a station's signed certificate (the JSON it wrote). Accepted
//!   only if it verifies under an enrolled station's key, the record's `station_id` is the name
//!   that key is enrolled under, and, if the station was revoked, it is in the station's chain
//!   up to the certificate named at revocation;
//!   then linked to its asset (tag, else serial, else the review list) and the asset retired by
//!   the usual rule. `201` stored, `200` already stored (the same certificate), `409` a
//!   different certificate is stored under this id, `403` unknown, revoked or misnamed
//!   station, `422` invalid or misdated (before the station's enrolment or its predecessor),
//!   `425` a revoked station's backlog certificate that can be taken only after the one
//!   named at revocation (`register::trust`).
//! * `POST /api/v1/events`: a station's signed custody event (`register::station_event`), by
//!   the same rules; idempotent by event id.
//! * `GET /api/v1/assets[?collection=&state=]`, `GET /api/v1/assets/{tag}`,
//!   `GET /api/v1/unmatched`, `GET /api/v1/stations`: with `Authorization: Bearer TOKEN` (a
//!   token of `wipeproof tokens add` or `wipeproof users token`) or a signed-in session's
//!   cookie (`401` without). `GET /api/v1/health` is open.
//! * The web pages (`super::web`): signed in with `POST /login`.
//!
//! Every route, with who may use it, is in `super::web::routes::ROUTES`; the router is built
//! from that list only.
//!
//! With a certificate and key ([`ServeOptions::tls`]) it serves HTTPS (rustls, TLS 1.2 and
//! 1.3), without them plain HTTP.
//!
//! A client that sends its TLS handshake, request head or body too slowly (a "slowloris") is
//! cut off after the read timeout: the handshake by a timer around it, the head by HTTP/1's
//! header read timer, the body by the handler.
//!
//! Intake, reports and the other commands work on the same register with `--home` pointing at
//! the server's state directory (SQLite in WAL mode takes both at once), or with the same
//! `--database postgres://...`. Requests run on a small pool of open registers
//! (`register::pool`), always on blocking threads.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::pool::Pool;
use super::station_event::SignedEvent;
use super::tls::ServerTls;
use super::{AssetFilter, AssetState, Register, RegisterError, StationView};
use crate::certificate::check::verify_bytes;
use crate::certificate::issue::SignedCertificate;
use crate::certificate::keys::{TrustStore, parse_public};
use crate::certificate::strict_json;

/// Largest request body accepted (a certificate is a few kilobytes).
const MAX_BODY: usize = 1 << 20;

/// How the server treats its clients.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Time allowed to complete the TLS handshake, to send a request's head, and again its
    /// body.
    pub read_timeout: Duration,
    /// HTTPS with this certificate and key; `None`: plain HTTP.
    pub tls: Option<ServerTls>,
    /// What the web pages need beyond the register.
    pub web: super::web::WebSettings,
}

impl ServeOptions {
    /// Whether clients reach the server over HTTPS (the session cookie is then `Secure`).
    pub fn https(&self) -> bool {
        self.tls.is_some()
    }
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            read_timeout: Duration::from_secs(10),
            tls: None,
            web: Default::default(),
        }
    }
}

#[derive(Clone)]
pub(super) struct AppState {
    pub(super) registers: Arc<Pool>,
    pub(super) read_timeout: Duration,
    pub(super) secure_cookies: bool,
    pub(super) web: Arc<super::web::WebSettings>,
}

/// The SHA-256 (hex) under which a read token is stored.
pub fn token_sha256(token: &str) -> String {
    super::accounts::secret_sha256(token)
}

pub(super) fn unauthorized(message: &str) -> Response {
    let mut r = json_error(StatusCode::UNAUTHORIZED, message);
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"wipeproof\""),
    );
    r
}

/// Runs the read `f` (the route's guard has let the request in: `web::auth`).
async fn read(
    state: &AppState,
    f: impl FnOnce(&mut dyn Register) -> Response + Send + 'static,
) -> Response {
    with_register(state, f).await.unwrap_or_else(|r| r)
}

/// Reads a request body within the read timeout.
pub(super) async fn read_body(state: &AppState, body: Body) -> Result<Bytes, Response> {
    match tokio::time::timeout(state.read_timeout, axum::body::to_bytes(body, MAX_BODY)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(_)) => Err(json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the body is too large or was cut off; a certificate is a few kilobytes",
        )),
        Err(_) => {
            let mut r = json_error(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the body did not arrive within {} s",
                    state.read_timeout.as_secs_f64()
                ),
            );
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            Err(r)
        }
    }
}

/// The enrolled station with this key, if it may still send under the name `claimed_station`;
/// why it is refused (403) otherwise. A revoked station's certificates are judged by the
/// register (`register::trust`: its own chain up to the one named at revocation); anything
/// else of a revoked station is refused, whatever date it bears (the station writes it).
fn admit<'a>(
    stations: &'a [StationView],
    key_id: &str,
    what: &str,
    chained: bool,
    claimed_station: &str,
) -> Result<&'a StationView, String> {
    let Some(station) = stations.iter().find(|s| s.key_id == key_id) else {
        return Err(format!(
            "station key {key_id} is not enrolled here; enroll it on the register with \
                 `wipeproof stations add PUBKEY.pem` (the station's `wipeproof keys export`)"
        ));
    };
    if let Some(revoked) = &station.revoked_at
        && !chained
    {
        return Err(format!(
            "{what} comes from station {} ({key_id}), which was revoked at {revoked}; it is \
             refused, whatever date it bears",
            station.name
        ));
    }
    if station.name != claimed_station {
        return Err(format!(
            "{what} says it comes from station {claimed_station}, but its key is enrolled here as {}; \
                 set station.id = \"{}\" on that station, or enroll it under its own name",
            station.name, station.name
        ));
    }
    Ok(station)
}

/// The status of a register error from a station's write.
fn write_error(e: RegisterError) -> Response {
    let status = match &e {
        RegisterError::CertificateConflict { .. }
        | RegisterError::EventConflict { .. }
        | RegisterError::LinkedElsewhere { .. } => StatusCode::CONFLICT,
        RegisterError::BadCertificate(_) | RegisterError::BadEvent(_) => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        RegisterError::Revoked(_) => StatusCode::FORBIDDEN,
        // 425 Too Early: a revoked station's backlog arrives newest first; send it again.
        RegisterError::NotYet(_) => StatusCode::from_u16(425).unwrap_or(StatusCode::CONFLICT),
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    json_error(status, e.to_string())
}

pub(super) fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    let message = message.into();
    let message = if status == StatusCode::INTERNAL_SERVER_ERROR {
        internal_error(&message)
    } else {
        message
    };
    (status, axum::Json(json!({ "error": message }))).into_response()
}

/// Logs what went wrong inside the register (which names the database, its host and user) on
/// the server's standard error, under a reference; the client gets only the reference. Anyone
/// may cause an error, signed in or not, and none of that is theirs to read.
pub(super) fn internal_error(message: &str) -> String {
    let reference = uuid::Uuid::new_v4().simple().to_string();
    let reference = &reference[..12];
    crate::stderr_line!("wipeproof: serve: error {reference}: {message}");
    format!(
        "the register could not answer (error {reference}); its log says what happened under \
         that reference"
    )
}

/// Runs `f` on the register off the async threads.
pub(super) async fn with_register<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut dyn Register) -> T + Send + 'static,
) -> Result<T, Response> {
    let registers = state.registers.clone();
    tokio::task::spawn_blocking(move || f(&mut *registers.take()))
        .await
        .map_err(|e| {
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("register task failed: {e}"),
            )
        })
}

pub(super) async fn receive_certificate(State(state): State<AppState>, body: Body) -> Response {
    let body = match read_body(&state, body).await {
        Ok(b) => b.to_vec(),
        Err(r) => return r,
    };
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
        // The station is who its key is enrolled as, never what the record claims.
        let station = match admit(
            &stations,
            &cert.record.key_id,
            &format!("certificate {}", cert.record.id),
            true,
            &cert.record.performed_by.station_id,
        ) {
            Ok(s) => s.name.clone(),
            Err(why) => return json_error(StatusCode::FORBIDDEN, why),
        };
        let document = String::from_utf8_lossy(&body).into_owned();
        match reg.receive_certificate(&cert, &document, &station) {
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
            Err(e) => write_error(e),
        }
    })
    .await;
    result.unwrap_or_else(|r| r)
}

pub(super) async fn receive_event(State(state): State<AppState>, body: Body) -> Response {
    let body = match read_body(&state, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let signed = match SignedEvent::parse(&body) {
        Ok(s) => s,
        Err(e) => return json_error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    };
    with_register(&state, move |reg| -> Response {
        let stations = match reg.stations() {
            Ok(s) => s,
            Err(e) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        };
        let e = &signed.event;
        let station = match admit(
            &stations,
            &signed.signature.key_id,
            &format!("custody event {}", e.id),
            false,
            &e.station_id,
        ) {
            Ok(s) => s,
            Err(why) => return json_error(StatusCode::FORBIDDEN, why),
        };
        let key = match parse_public(&station.public_key_pem, std::path::Path::new(&station.name)) {
            Ok(k) => k,
            Err(err) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
        };
        if let Err(err) = signed.verify(key.verifying_key()) {
            return json_error(StatusCode::UNPROCESSABLE_ENTITY, err.to_string());
        }
        let document = String::from_utf8_lossy(&body).into_owned();
        match reg.receive_event(&signed, &document, &station.name) {
            Ok(receipt) => {
                let status = match receipt {
                    super::EventReceipt::Already => StatusCode::OK,
                    _ => StatusCode::CREATED,
                };
                (status, axum::Json(json!({ "id": e.id, "status": receipt }))).into_response()
            }
            Err(err) => write_error(err),
        }
    })
    .await
    .unwrap_or_else(|r| r)
}

#[derive(Deserialize)]
pub(super) struct ListQuery {
    collection: Option<String>,
    state: Option<String>,
}

pub(super) async fn list_assets(
    State(state): State<AppState>,
    Query(q): Query<ListQuery>,
) -> Response {
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
    read(&state, move |reg| match reg.list_assets(&filter) {
        Ok(assets) => axum::Json(json!({ "assets": assets })).into_response(),
        Err(e @ RegisterError::UnknownCollection(_)) => {
            json_error(StatusCode::NOT_FOUND, e.to_string())
        }
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    })
    .await
}

pub(super) async fn show_asset(State(state): State<AppState>, Path(tag): Path<String>) -> Response {
    read(&state, move |reg| match reg.asset(&tag) {
        Ok(Some(a)) => axum::Json(a).into_response(),
        Ok(None) => json_error(StatusCode::NOT_FOUND, format!("no asset {tag}")),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    })
    .await
}

pub(super) async fn unmatched(State(state): State<AppState>) -> Response {
    read(&state, |reg| match reg.unmatched() {
        Ok(u) => axum::Json(json!({ "unmatched": u })).into_response(),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    })
    .await
}

pub(super) async fn stations(State(state): State<AppState>) -> Response {
    read(&state, |reg| match reg.stations() {
        Ok(s) => axum::Json(json!({ "stations": s })).into_response(),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    })
    .await
}

pub(super) async fn health() -> Response {
    axum::Json(json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") })).into_response()
}

/// The HTTP routes over a register: those of `web::routes::ROUTES`, each behind its guard.
fn router(registers: Pool, opts: ServeOptions) -> Router {
    let state = AppState {
        registers: Arc::new(registers),
        read_timeout: opts.read_timeout,
        secure_cookies: opts.https(),
        web: Arc::new(opts.web),
    };
    super::web::routes::router(state, MAX_BODY)
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

/// Serves the registers of `registers` on `addr` until SIGINT or SIGTERM. `ready` is called with the bound
/// address once the server accepts connections.
pub fn serve(
    registers: Pool,
    addr: SocketAddr,
    opts: ServeOptions,
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
        let timeout = opts.read_timeout;
        let tls = opts.tls.as_ref().map(ServerTls::acceptor);
        let app = router(registers, opts);
        let stop = stop_signal();
        tokio::pin!(stop);
        loop {
            let (stream, peer) = tokio::select! {
                _ = &mut stop => return Ok(()),
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    // Out of file descriptors and the like: wait, the clients will retry.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            // The client's address, for the sign-in rate limit and its log.
            let service = hyper_util::service::TowerToHyperService::new(
                app.clone()
                    .layer(axum::Extension(axum::extract::ConnectInfo(peer))),
            );
            let tls = tls.clone();
            // A client that goes away or times out ends only its own connection.
            tokio::spawn(async move {
                match tls {
                    None => serve_connection(stream, service, timeout).await,
                    Some(acceptor) => {
                        // The handshake is read under the same timer as a request head: a
                        // client that connects and stays silent is cut off.
                        if let Ok(Ok(stream)) =
                            tokio::time::timeout(timeout, acceptor.accept(stream)).await
                        {
                            serve_connection(stream, service, timeout).await;
                        }
                    }
                }
            });
        }
    })
}

/// Serves HTTP/1 requests on one connection, cutting off a client that is slow to send a
/// request head.
async fn serve_connection<S>(
    stream: S,
    service: hyper_util::service::TowerToHyperService<Router>,
    read_timeout: Duration,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(read_timeout);
    let _ = http
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
        .await;
}

/// Resolves on SIGINT or SIGTERM.
async fn stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async {
            match term.as_mut() {
                Some(t) => { t.recv().await; }
                None => std::future::pending::<()>().await,
            }
        } => {}
    }
}
