//! What every handler of the central register shares: the state (the pool of open registers and
//! the settings), running work on a register off the async threads, reading a bounded body, and
//! the JSON error answers. The pages (`super::web`) and the API (`super::api`) use it; it uses
//! neither.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::pool::Pool;
use crate::register::Register;

/// Largest request body accepted (a certificate is a few kilobytes).
pub(super) const MAX_BODY: usize = 1 << 20;

#[derive(Clone)]
pub(super) struct AppState {
    pub(super) registers: Arc<Pool>,
    pub(super) read_timeout: Duration,
    pub(super) secure_cookies: bool,
    pub(super) web: Arc<super::web::WebSettings>,
}

/// The SHA-256 (hex) under which a read token is stored.
pub fn token_sha256(token: &str) -> String {
    super::secrets::secret_sha256(token)
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
pub(super) async fn read(
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
    let reference = logged(message);
    format!(
        "the register could not answer (error {reference}); its log says what happened under \
         that reference"
    )
}

/// Logs `message` on the server's standard error under a new reference, and returns it.
pub(super) fn logged(message: &str) -> String {
    let reference = uuid::Uuid::new_v4().simple().to_string();
    let reference = &reference[..12];
    crate::stderr_line!("wipeproof: serve: error {reference}: {message}");
    reference.to_string()
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
