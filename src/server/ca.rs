//! The register's certificate authority over HTTP: its certificate (`GET /api/v1/ca.pem`, for
//! auditors' trust stores), its revocation list (`GET /api/v1/crl`, DER, signed by the CA,
//! listing the certificates of revoked or removed stations; the URL issued certificates name
//! when `register.public_url` is set), and a station's own certificate
//! (`GET /api/v1/stations/{key_id}/certificate`), which a station fetches at sync and checks
//! certifies its own key before it signs with it. The CA itself is `certificate::authority`.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::state::{AppState, json_error, read};

/// Answers `body` as `content_type`.
fn file(content_type: &'static str, body: Vec<u8>) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

fn no_ca() -> Response {
    json_error(
        StatusCode::NOT_FOUND,
        "this register has no certificate authority (it is made at the first `wipeproof serve` \
         in its state directory)",
    )
}

/// `GET /api/v1/ca.pem`: the CA certificate.
pub(super) async fn ca_pem(State(state): State<AppState>) -> Response {
    let Some(ca) = &state.web.authority else {
        return no_ca();
    };
    match ca.certificate_pem() {
        Ok(pem) => file("application/x-pem-file", pem.into_bytes()),
        Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// `GET /api/v1/crl`: the CRL, made now from the register.
pub(super) async fn crl(State(state): State<AppState>) -> Response {
    let Some(ca) = state.web.authority.clone() else {
        return no_ca();
    };
    read(&state, move |reg| {
        let issued = match reg.station_certificates() {
            Ok(c) => c,
            Err(e) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        };
        let revoked: Vec<(String, String)> = issued
            .into_iter()
            .filter_map(|c| Some((c.serial, c.revoked_at?)))
            .collect();
        match ca.crl(&revoked) {
            Ok(der) => file("application/pkix-crl", der),
            Err(e) => json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    })
    .await
}

/// `GET /api/v1/stations/{key_id}/certificate`: the newest certificate the CA issued the
/// enrolled station with this key id (`SHA256:` and hex, or the hex alone), with the CA's,
/// as `{"certificate": PEM, "ca": PEM}`. `404` when none was issued, `403` for a revoked
/// station.
pub(super) async fn station_certificate(
    State(state): State<AppState>,
    Path(key_id): Path<String>,
) -> Response {
    let Some(ca) = state.web.authority.clone() else {
        return no_ca();
    };
    let key_id = if key_id.starts_with("SHA256:") {
        key_id
    } else {
        format!("SHA256:{key_id}")
    };
    read(&state, move |reg| {
        let (stations, issued) = match (reg.stations(), reg.station_certificates()) {
            (Ok(s), Ok(c)) => (s, c),
            (Err(e), _) | (_, Err(e)) => {
                return json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string());
            }
        };
        let Some(station) = stations.iter().find(|s| s.key_id == key_id) else {
            return json_error(
                StatusCode::NOT_FOUND,
                format!("station key {key_id} is not enrolled here"),
            );
        };
        if let Some(at) = &station.revoked_at {
            return json_error(
                StatusCode::FORBIDDEN,
                format!("station {} was revoked at {at}", station.name),
            );
        }
        let ca_pem = match ca.certificate_pem() {
            Ok(p) => p,
            Err(e) => return json_error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        };
        match issued
            .into_iter()
            .rfind(|c| c.key_id == key_id && c.revoked_at.is_none())
        {
            Some(c) => {
                axum::Json(json!({ "certificate": c.certificate, "ca": ca_pem })).into_response()
            }
            None => json_error(
                StatusCode::NOT_FOUND,
                format!(
                    "the register's CA issued station {} no certificate; run `wipeproof stations \
                     certify {}` on the register",
                    station.name, station.name
                ),
            ),
        }
    })
    .await
}
