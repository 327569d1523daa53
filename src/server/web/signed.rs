//! Who made a request that the guard (`super::auth`) let in: what every page is drawn for, so
//! the layout can name the person and each form can carry the session's CSRF token.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;

use super::super::secrets::{Principal, secrets_equal};
use super::super::state::json_error;

/// Who made a request the guard let in, and the CSRF token of their session (none for a
/// bearer token: a script's request carries no cookie a forged request could ride on).
#[derive(Debug, Clone)]
pub struct Signed {
    pub principal: Principal,
    pub csrf: Option<String>,
}

impl Signed {
    /// Whether a form's CSRF token is the session's.
    pub fn form_token_ok(&self, sent: Option<&str>) -> bool {
        match (&self.csrf, sent) {
            (None, _) => true,
            (Some(expected), Some(sent)) => secrets_equal(expected, sent),
            (Some(_), None) => false,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts.extensions.get::<Signed>().cloned().ok_or_else(|| {
            json_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "this route is not behind the guard; list it in server::routes::ROUTES",
            )
        })
    }
}
