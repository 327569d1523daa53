//! The central register's JSON API under `/api/v1`: stations send signed certificates and
//! custody events; scripts and people with a token read assets, the review list and the
//! enrolled stations, a page at a time (`limit`, `offset`; answered with `total` and `next`,
//! `super::paging`); load balancers ask `health`, which asks the database. Who may call
//! each route is in `super::routes::ROUTES`.

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use std::time::Duration;

use super::paging::{api_answer, api_page};
use super::state::{AppState, json_error, logged, read, read_body, with_register};
use crate::certificate::check::verify_bytes;
use crate::certificate::computer::ComputerRecord;
use crate::certificate::issue::SignedCertificate;
use crate::certificate::keys::{TrustStore, parse_public};
use crate::certificate::record::Record;
use crate::certificate::signable::Signable;
use crate::certificate::strict_json::{self, StrictJsonError};
use crate::register::station_event::SignedEvent;
use crate::register::{
    AssetFilter, AssetState, Linked, Page, Paged, Register, RegisterError, StationView,
};

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
    // A renamed station's key answers to its earlier names too (recorded by a rename it
    // signed, see `receive_rename`): what it issued before keeps arriving under them.
    if !station.answers_to(claimed_station) {
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

/// The enrolled stations, if `body` is a certificate (a drive's or a computer's) that verifies
/// under the key of one of them; the answer that refuses it otherwise.
fn verified_stations(
    reg: &mut dyn crate::register::Register,
    body: &[u8],
) -> Result<Vec<StationView>, Box<Response>> {
    let stations = reg
        .stations()
        .map_err(|e| Box::new(json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())))?;
    // Who sent it? Only enrolled stations may store certificates here.
    let claimed = strict_json::value_from_slice(body).ok().and_then(|v| {
        v.pointer("/record/key_id")
            .and_then(Value::as_str)
            .map(str::to_string)
    });
    let Some(claimed) = claimed else {
        return Err(Box::new(json_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "the body is not a wipeproof certificate (no record.key_id)",
        )));
    };
    if !stations.iter().any(|s| s.key_id == claimed) {
        return Err(Box::new(json_error(
            StatusCode::FORBIDDEN,
            format!(
                "station key {claimed} is not enrolled here; enroll it on the register with \
                 `wipeproof stations add PUBKEY.pem` (the station's `wipeproof keys export`)"
            ),
        )));
    }
    let mut trust = TrustStore::default();
    for s in &stations {
        if let Ok(k) = parse_public(&s.public_key_pem, std::path::Path::new(&s.name)) {
            trust.add(k, format!("station {}", s.name).into());
        }
    }
    let report = verify_bytes(body, "request", &trust, None)
        .map_err(|e| Box::new(json_error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())))?;
    if !report.valid {
        let failed: Vec<&str> = report
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.detail.as_str())
            .collect();
        return Err(Box::new(json_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("the certificate does not verify: {}", failed.join("; ")),
        )));
    }
    Ok(stations)
}

/// The answer to a stored (`201`) or already stored (`200`) certificate.
fn stored_answer(linked: Linked) -> Response {
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

/// What differs between the two kinds of signed record a station posts: how a body that is
/// not one is answered, and how the register takes one.
trait Posted: Signable + Send + 'static {
    /// Why `body` is not one of these (answered `422`).
    fn unreadable(e: StrictJsonError) -> String;
    /// Stores `cert` (the body `document`) from the station enrolled as `station`.
    fn receive(
        reg: &mut dyn Register,
        cert: &SignedCertificate<Self>,
        document: &str,
        station: &str,
    ) -> Result<Linked, RegisterError>;
}

impl Posted for Record {
    fn unreadable(e: StrictJsonError) -> String {
        e.to_string()
    }
    fn receive(
        reg: &mut dyn Register,
        cert: &SignedCertificate,
        document: &str,
        station: &str,
    ) -> Result<Linked, RegisterError> {
        reg.receive_certificate(cert, document, station)
    }
}

impl Posted for ComputerRecord {
    fn unreadable(e: StrictJsonError) -> String {
        format!("not a computer certificate: {e}; a drive's goes to /api/v1/certificates")
    }
    fn receive(
        reg: &mut dyn Register,
        cert: &SignedCertificate<ComputerRecord>,
        document: &str,
        station: &str,
    ) -> Result<Linked, RegisterError> {
        reg.receive_computer(cert, document, station)
    }
}

/// `POST /api/v1/certificates`: a station's certificate of a drive, verified (signature,
/// enrolled key), admitted by the chain and revocation rules of `register::trust`, then linked
/// to its asset. `201` stored, `200` already stored, `403`, `409`, `422` and `425`.
pub(super) async fn receive_certificate(State(state): State<AppState>, body: Body) -> Response {
    receive_signed::<Record>(state, body).await
}

/// `POST /api/v1/computers`: a station's computer certificate (`wipeproof/computer/v1`),
/// verified and admitted as a drive's certificate is (signature, enrolled key, the chain and
/// revocation rules of `register::trust`), then linked to the computer's asset, which a PASS
/// retires. `201` stored, `200` already stored, `403`, `409`, `422` and `425` as for
/// certificates.
pub(super) async fn receive_computer(State(state): State<AppState>, body: Body) -> Response {
    receive_signed::<ComputerRecord>(state, body).await
}

/// Takes a signed record of kind `K` from a station; see [`receive_certificate`].
async fn receive_signed<K: Posted>(state: AppState, body: Body) -> Response {
    let body = match read_body(&state, body).await {
        Ok(b) => b.to_vec(),
        Err(r) => return r,
    };
    let result = with_register(&state, move |reg| -> Response {
        let stations = match verified_stations(reg, &body) {
            Ok(s) => s,
            Err(r) => return *r,
        };
        let cert: SignedCertificate<K> = match strict_json::from_slice(&body) {
            Ok(c) => c,
            Err(e) => return json_error(StatusCode::UNPROCESSABLE_ENTITY, K::unreadable(e)),
        };
        let r = &cert.record;
        // The station is who its key is enrolled as, never what the record claims.
        let station = match admit(
            &stations,
            r.key_id(),
            &format!("{} {}", K::WHAT, r.id()),
            true,
            &r.performed_by().station_id,
        ) {
            Ok(s) => s.name.clone(),
            Err(why) => return json_error(StatusCode::FORBIDDEN, why),
        };
        let document = String::from_utf8_lossy(&body).into_owned();
        match K::receive(reg, &cert, &document, &station) {
            Ok(linked) => stored_answer(linked),
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
                    crate::register::EventReceipt::Already => StatusCode::OK,
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

/// `POST /api/v1/stations/rename`: a station's signed word that its key, enrolled here, signed
/// as `from` before and signs as the event's `station_id` now. `201` recorded, `200` known,
/// `403` unknown or revoked key, or a rename that names neither of the key's names, `409`
/// another key holds one of the names, `422` not a rename or a bad signature.
pub(super) async fn receive_rename(State(state): State<AppState>, body: Body) -> Response {
    let body = match read_body(&state, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let signed = match SignedEvent::parse(&body) {
        Ok(s) => s,
        Err(e) => return json_error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    };
    let crate::register::station_event::Action::Renamed { from } = &signed.event.action else {
        return json_error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "custody event {} is not a rename; send it to /api/v1/events",
                signed.event.id
            ),
        );
    };
    let (from, to) = (from.clone(), signed.event.station_id.clone());
    with_register(&state, move |reg| -> Response {
        let stations = match reg.stations() {
            Ok(s) => s,
            Err(e) => return failed(e),
        };
        let key_id = &signed.signature.key_id;
        let Some(station) = stations.iter().find(|s| &s.key_id == key_id) else {
            return json_error(
                StatusCode::FORBIDDEN,
                format!(
                    "the key {key_id} is not enrolled here; enroll it with `wipeproof stations add`"
                ),
            );
        };
        if let Some(revoked) = &station.revoked_at {
            return json_error(
                StatusCode::FORBIDDEN,
                format!(
                    "station {} ({key_id}) was revoked at {revoked}; it cannot be renamed",
                    station.name
                ),
            );
        }
        let key = match parse_public(&station.public_key_pem, std::path::Path::new(&station.name)) {
            Ok(k) => k,
            Err(err) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
        };
        if let Err(err) = signed.verify(key.verifying_key()) {
            return json_error(StatusCode::UNPROCESSABLE_ENTITY, err.to_string());
        }
        let actor = crate::register::Actor {
            name: signed.event.operator.clone(),
            station: station.name.clone(),
        };
        match reg.rename_station(key_id, &from, &to, &actor) {
            Ok(recorded) => {
                let status = if recorded {
                    StatusCode::CREATED
                } else {
                    StatusCode::OK
                };
                let body = json!({ "key_id": key_id, "from": from, "to": to,
                    "status": if recorded { "recorded" } else { "known" } });
                (status, axum::Json(body)).into_response()
            }
            Err(e @ RegisterError::StationNameHeld { .. }) => {
                json_error(StatusCode::CONFLICT, e.to_string())
            }
            Err(e @ RegisterError::RenameMismatch { .. }) => {
                json_error(StatusCode::FORBIDDEN, e.to_string())
            }
            Err(e @ RegisterError::BadStationName(_)) => {
                json_error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
            }
            Err(e) => failed(e),
        }
    })
    .await
    .unwrap_or_else(|r| r)
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
    /// The page asked for; a JSON `400` that says what is allowed otherwise.
    fn page(&self) -> Result<Page, Box<Response>> {
        api_page(self.limit.as_deref(), self.offset.as_deref())
            .map_err(|why| Box::new(json_error(StatusCode::BAD_REQUEST, why)))
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
pub(super) async fn list_assets(
    State(state): State<AppState>,
    Query(q): Query<AssetsQuery>,
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
    let page = match q.page.page() {
        Ok(p) => p,
        Err(r) => return *r,
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
pub(super) async fn show_asset(State(state): State<AppState>, Path(tag): Path<String>) -> Response {
    read(&state, move |reg| match reg.asset(&tag) {
        Ok(Some(a)) => axum::Json(a).into_response(),
        Ok(None) => json_error(StatusCode::NOT_FOUND, format!("no asset {tag}")),
        Err(e) => failed(e),
    })
    .await
}

/// `GET /api/v1/unmatched[?limit=&offset=]`, by issue time.
pub(super) async fn unmatched(
    State(state): State<AppState>,
    Query(q): Query<PageQuery>,
) -> Response {
    let page = match q.page() {
        Ok(p) => p,
        Err(r) => return *r,
    };
    read(&state, move |reg| match reg.unmatched_page(page) {
        Ok(u) => api_answer("unmatched", u, page, "/api/v1/unmatched", &[]),
        Err(e) => failed(e),
    })
    .await
}

/// `GET /api/v1/stations[?limit=&offset=]`, by name.
pub(super) async fn stations(
    State(state): State<AppState>,
    Query(q): Query<PageQuery>,
) -> Response {
    let page = match q.page() {
        Ok(p) => p,
        Err(r) => return *r,
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

/// How long the health check waits for the database (and for a free connection to it).
const HEALTH_TIMEOUT: Duration = Duration::from_secs(5);

/// `GET /api/v1/health`: `200` when the database answers a read, `503` with the reason when it
/// does not (or not within [`HEALTH_TIMEOUT`]), so a load balancer takes this server out of
/// its rotation. The reason leaves out the database's URL and host (anyone may ask); the
/// server's log has them under the reference.
pub(super) async fn health(State(state): State<AppState>) -> Response {
    let version = env!("CARGO_PKG_VERSION");
    let answer = tokio::time::timeout(HEALTH_TIMEOUT, with_register(&state, |reg| reg.ping()));
    let why = match answer.await {
        Ok(Ok(Ok(()))) => {
            return axum::Json(json!({ "status": "ok", "database": "ok", "version": version }))
                .into_response();
        }
        Ok(Ok(Err(e))) => {
            let detail = match &e {
                RegisterError::Database { message, .. } | RegisterError::Busy { message, .. } => {
                    message.clone()
                }
                other => other.to_string(),
            };
            let reference = logged(&e.to_string());
            format!(
                "the database does not answer: {detail} (error {reference} in the server's log)"
            )
        }
        Ok(Err(_)) => "the register's task failed; the server's log says why".to_string(),
        Err(_) => format!(
            "the database did not answer within {} s",
            HEALTH_TIMEOUT.as_secs()
        ),
    };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        axum::Json(json!({ "status": "unavailable", "database": "unavailable",
                           "error": why, "version": version })),
    )
        .into_response()
}
