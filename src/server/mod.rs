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
//! * `POST /api/v1/stations/rename`: a station's signed word that its key signed under an
//!   earlier name (`Action::Renamed`); from then on the key answers to both names.
//! * `GET /api/v1/ca.pem`, `GET /api/v1/crl` (open) and `GET /api/v1/stations/{key_id}/certificate`
//!   (a station's own certificate under the register's CA): see [`ca`](self).
//! * `GET /api/v1/assets[?collection=&state=]`, `GET /api/v1/assets/{tag}`,
//!   `GET /api/v1/unmatched`, `GET /api/v1/stations`: with `Authorization: Bearer TOKEN` (a
//!   token of `wipeproof tokens add` or `wipeproof users token`) or a signed-in session's
//!   cookie (`401` without). `GET /api/v1/health` is open.
//! * The web pages ([`web`]): signed in with `POST /login`.
//!
//! Every route, with who may use it, is in [`routes::ROUTES`]; the router is built from that
//! list only, in [`routes`], the one file that knows both the pages and the API.
//!
//! * [`state`](self): what every handler shares (the pool, bounded bodies, JSON errors); the
//!   pages and the API use it, it uses neither.
//! * [`api`]: the `/api/v1` handlers. [`web`]: the pages. [`paging`]: lists a page at a time, in
//!   both. [`secrets`]: password hashes, tokens,
//!   sessions, and who made a request. [`pool`]: the open registers lent to requests.
//!   [`tls`]: HTTPS.
//!
//! Only this folder knows axum, hyper, tokio and the TLS server side.
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
//! ([`pool`]), always on blocking threads.

pub mod api;
mod ca;
pub mod paging;
pub mod pool;
pub mod routes;
pub mod secrets;
mod state;
pub mod tls;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;

use pool::Pool;
pub use state::token_sha256;
use state::{AppState, MAX_BODY};
use tls::ServerTls;

/// How the server treats its clients.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Time allowed to complete the TLS handshake, to send a request's head, and again its
    /// body.
    pub read_timeout: Duration,
    /// HTTPS with this certificate and key; `None`: plain HTTP.
    pub tls: Option<ServerTls>,
    /// What the web pages need beyond the register.
    pub web: web::WebSettings,
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

/// The HTTP routes over a register: those of `routes::ROUTES`, each behind its guard.
fn router(registers: Pool, opts: ServeOptions) -> Router {
    let state = AppState {
        registers: Arc::new(registers),
        read_timeout: opts.read_timeout,
        secure_cookies: opts.https(),
        web: Arc::new(opts.web),
    };
    routes::router(state, MAX_BODY)
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
