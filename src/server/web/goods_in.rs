//! The goods-in page of a collection, for the intake desk: a scan field that keeps its focus,
//! and a list where each scan is answered as it is made, without the page being loaded again.
//! The page's one script (`/goods-in.js`) sends each scan to `POST /collections/{code}/scans`
//! in the order it was typed, one request at a time, and shows the JSON answer. The answer is
//! `intake receive --json`'s, made by the same function (`crate::intake::goods_in::answer`).
//!
//! Scanning needs the role intake (or admin); the request carries the session's CSRF token in
//! the header `X-CSRF-Token` and must come from this site (the guard's form checks).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;

use super::super::state::{AppState, json_error, with_register};
use super::auth::{Signed, path_segment};
use super::layout;
use crate::intake::goods_in::{self, Answer};
use crate::intake::scans::{Line, MAX_SCAN};
use crate::register::RegisterError;
use crate::register::collection::CollectionState;

/// The largest body `POST .../scans` keeps: a scan of [`MAX_SCAN`] bytes, escaped in JSON,
/// with room to spare. A longer body is refused, and nothing is recorded.
pub const MAX_SCAN_BODY: usize = 16 * 1024;

/// The header that carries the session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// `GET /collections/{code}/goods-in`.
pub async fn page(
    State(state): State<AppState>,
    signed: Signed,
    Path(code): Path<String>,
) -> Response {
    let wanted = code.clone();
    let v = match with_register(&state, move |reg| reg.collection_view(&wanted)).await {
        Ok(Ok(r)) => r,
        Ok(Err(e @ RegisterError::UnknownCollection(_))) => {
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
    let closed = v.state == CollectionState::Closed;
    layout::page_scripted(
        &signed,
        &format!("Goods-in: collection {code}"),
        html! {
            p {
                "Customer: " strong { (v.customer) } ". "
                a href=(base) { "Back to the collection" }
            }
            ul.counts {
                li { b { (v.assets) } "on the manifest" }
                li { b { (v.received) } "received before this page was opened" }
                li { b { (v.unaccounted) } "not received yet" }
                li { b { (v.extras) } "extras" }
            }
            @if closed {
                p.notice.bad { "This collection is closed (its report was issued): nothing more can be received into it." }
            } @else {
                form #scan-form .scan autocomplete="off"
                    data-endpoint={ (base) "/scans" } data-csrf=[signed.csrf.as_deref()] {
                    label for="scan" { "Scan an asset's label or a serial, then Enter" }
                    div.scanline {
                        input #scan type="text" name="scan" autofocus spellcheck="false"
                            autocapitalize="off";
                        button type="submit" { "Record" }
                    }
                    p.muted #scan-state aria-live="polite" { "Ready." }
                }
                noscript { p.notice.bad { "This page needs JavaScript to send the scans; on a machine without it, use "
                    code { "wipeproof intake receive " (code) } "." } }
                h2 { "Scans on this page" }
                ol #answers .answers reversed {}
            }
        },
        "/goods-in.js",
    )
}

/// The body of `POST .../scans`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScanBody {
    scan: String,
}

/// `POST /collections/{code}/scans` with `{"scan": "..."}`: records the scan and answers it
/// as `intake receive --json` does (`200` for every answered scan, refused ones included).
pub async fn scan(
    State(state): State<AppState>,
    signed: Signed,
    Path(code): Path<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    if !signed.form_token_ok(sent) {
        return json_error(
            StatusCode::FORBIDDEN,
            "the scan did not carry this session's CSRF token: load the goods-in page again",
        );
    }
    let bytes = match tokio::time::timeout(state.read_timeout, read_scan(body)).await {
        Ok(Body::Kept(b)) => b,
        Ok(Body::TooLong { bytes }) => return too_long(bytes),
        Ok(Body::Failed) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                "the scan was cut off: send it again",
            );
        }
        Err(_) => return json_error(StatusCode::REQUEST_TIMEOUT, "the scan did not arrive"),
    };
    let line = match serde_json::from_slice::<ScanBody>(&bytes) {
        Ok(b) => Line::of(b.scan.as_bytes()),
        Err(e) => {
            return json_error(
                StatusCode::BAD_REQUEST,
                format!("the body must be {{\"scan\": \"TAG or serial\"}}: {e}"),
            );
        }
    };
    let actor = signed.principal.actor(&state.web.station_id);
    let collection = code.clone();
    let answered = with_register(&state, move |reg| {
        goods_in::answer(reg, &collection, &line, &actor)
    })
    .await;
    match answered {
        Ok(Ok(answer)) => axum::Json(answer).into_response(),
        Ok(Err(e @ RegisterError::UnknownCollection(_))) => {
            json_error(StatusCode::NOT_FOUND, e.to_string())
        }
        Ok(Err(e @ RegisterError::Custody { .. })) => {
            json_error(StatusCode::CONFLICT, e.to_string())
        }
        Ok(Err(e)) => json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(r) => r,
    }
}

/// A body of `POST .../scans`, as read.
enum Body {
    Kept(Vec<u8>),
    /// Longer than [`MAX_SCAN_BODY`]: read to its end (up to [`DRAIN`]) and dropped.
    TooLong {
        bytes: u64,
    },
    Failed,
}

/// How much of an over-long body is read and dropped, so that the client, still sending it,
/// reads the refusal; beyond this the connection is closed.
const DRAIN: u64 = 16 << 20;

/// Reads a body of at most [`MAX_SCAN_BODY`] bytes; a longer one is read on and dropped piece
/// by piece, never held.
async fn read_scan(mut body: axum::body::Body) -> Body {
    use axum::body::HttpBody;
    let mut kept = Vec::new();
    let mut bytes: u64 = 0;
    loop {
        let frame = std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await;
        let data = match frame {
            None => break,
            Some(Err(_)) => return Body::Failed,
            Some(Ok(f)) => match f.into_data() {
                Ok(d) => d,
                Err(_) => continue,
            },
        };
        bytes += data.len() as u64;
        if bytes > DRAIN {
            return Body::TooLong { bytes };
        }
        if bytes <= MAX_SCAN_BODY as u64 {
            kept.extend_from_slice(&data);
        } else {
            kept = Vec::new();
        }
    }
    if bytes > MAX_SCAN_BODY as u64 {
        Body::TooLong { bytes }
    } else {
        Body::Kept(kept)
    }
}

/// The answer to a body longer than any scan: refused, as `intake receive` refuses such a
/// line, and nothing recorded.
fn too_long(bytes: u64) -> Response {
    let answer = Answer {
        outcome: goods_in::Outcome::Refused { outcome: "refused" },
        scanned: None,
        message: format!(
            "refused: a scan of {bytes} bytes or more is no tag or serial (at most {MAX_SCAN}); nothing recorded"
        ),
    };
    (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(answer)).into_response()
}

/// `GET /goods-in.js`: the goods-in page's script.
pub async fn script() -> Response {
    let mut r = SCRIPT.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=3600"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    r
}

const SCRIPT: &str = include_str!("goods_in.js");
