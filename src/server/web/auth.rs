//! Who is asking, and may they: the guard in front of every route.
//!
//! A request is signed in by `Authorization: Bearer TOKEN` (a person's token of `users token`,
//! or a read token of `tokens add`) or by the session cookie `POST /login` set. Only SHA-256
//! hashes of both are stored, so they are looked up by hash and never compared in the clear.
//!
//! Forms that change something are protected against cross-site requests three ways, none of
//! which needs JavaScript: the cookie is `SameSite=Strict`, the browser's `Origin` (or
//! `Referer`) must be this site, and the form carries the session's CSRF token (compared in
//! constant time). The sign-in form, which has no session and so no token, is taken only with
//! an `Origin` or `Referer` of this site: one with neither is refused.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::super::secrets::{Principal, secret_sha256};
use super::super::state::{AppState, json_error, unauthorized, with_register};
use super::layout;
pub use super::signed::Signed;
use crate::register::accounts::Permission;

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: the health check, the sign-in page, the stylesheet.
    Open,
    /// Anyone from this site's own pages (`Origin`/`Referer` checked): `POST /login`.
    SignIn,
    /// A station: the body is signed by an enrolled station's key (checked by the handler).
    Station,
    /// `/api/v1` reads: a bearer token or a session; `401` without.
    Api(Permission),
    /// A page: a session or a bearer token; without, a `303` redirect to the sign-in page.
    Page(Permission),
    /// A form of a page that is sent (`POST`): as a page, and from this site only, with the
    /// session's CSRF token in the form (checked by the handler).
    Form(Permission),
}

/// The name of the session cookie.
pub const SESSION_COOKIE: &str = "wipeproof_session";

/// The client's address (`unknown` when the server was not given it).
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_else(|| "unknown".into()),
        ))
    }
}

/// The value of the cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// Whether a browser says the request comes from a page of this site: its `Origin`, or
/// failing that its `Referer`, names the host the request was sent to. A request with
/// neither passes here: a form of a page carries the session's CSRF token as well, and a
/// script sends a bearer token; the sign-in form, which has no session yet, needs
/// [`says_same_origin`].
pub fn same_origin(headers: &HeaderMap) -> bool {
    let says_nothing =
        !headers.contains_key(header::ORIGIN) && !headers.contains_key(header::REFERER);
    says_nothing || says_same_origin(headers)
}

/// Whether the request's `Origin` (or `Referer`) names this site; `false` with neither.
pub fn says_same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let authority_of = |url: &str| -> Option<String> {
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))?;
        Some(rest.split('/').next().unwrap_or("").to_ascii_lowercase())
    };
    let claimed = match headers.get(header::ORIGIN) {
        // A page opened from a file or a sandbox says `null`: not this site.
        Some(origin) => origin.to_str().ok().and_then(authority_of),
        None => match headers.get(header::REFERER) {
            Some(referer) => referer.to_str().ok().and_then(authority_of),
            None => return false,
        },
    };
    claimed.is_some_and(|c| c == host.to_ascii_lowercase())
}

/// Who the request's token or cookie belongs to, with the session's CSRF token.
async fn identify(state: &AppState, headers: &HeaderMap) -> Result<Option<Signed>, Response> {
    let token = bearer(headers).map(secret_sha256);
    let session = cookie(headers, SESSION_COOKIE).map(secret_sha256);
    if token.is_none() && session.is_none() {
        return Ok(None);
    }
    with_register(state, move |reg| -> Result<Option<Signed>, String> {
        if let Some(hash) = token {
            if let Some((name, role)) = reg.user_of_token(&hash).map_err(|e| e.to_string())? {
                return Ok(Some(Signed {
                    principal: Principal::User { name, role },
                    csrf: None,
                }));
            }
            if let Some(name) = reg.token_name(&hash).map_err(|e| e.to_string())? {
                return Ok(Some(Signed {
                    principal: Principal::ReadToken { name },
                    csrf: None,
                }));
            }
            // A wrong token is not rescued by a cookie.
            return Ok(None);
        }
        let Some(hash) = session else {
            return Ok(None);
        };
        let found = reg
            .session(&hash, &crate::timestamp::now())
            .map_err(|e| e.to_string())?;
        Ok(found.map(|s| Signed {
            principal: Principal::User {
                name: s.user,
                role: s.role,
            },
            csrf: Some(s.csrf),
        }))
    })
    .await?
    .map_err(|e| json_error(StatusCode::INTERNAL_SERVER_ERROR, e))
}

/// Where the sign-in page sends a person back to: a path of this site only.
pub fn local_path(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(char::is_control);
    ok.then_some(next)
}

/// The redirect to the sign-in page, coming back to `uri` afterwards (a page that was read).
fn to_sign_in(parts_uri: &axum::http::Uri, back: bool) -> Response {
    let mut location = "/login".to_string();
    if back
        && let Some(pq) = parts_uri.path_and_query()
        && pq.as_str() != "/"
    {
        location.push_str("?next=");
        location.push_str(&percent_encode(pq.as_str()));
    }
    see_other(&location)
}

/// A `303 See Other` to `location`.
pub fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// Percent-encodes everything but unreserved characters and `/` (a path, as in `next=`).
pub fn percent_encode(s: &str) -> String {
    encode(s, true)
}

/// Percent-encodes one segment of a path: a tag, collection code or certificate id may hold a
/// `/`, which must not start another segment of the link.
pub fn path_segment(s: &str) -> String {
    encode(s, false)
}

fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The guard of a route: lets the request in (with [`Signed`] in its extensions) or answers
/// it.
pub(in crate::server) async fn guard(
    State((state, access)): State<(AppState, Access)>,
    mut req: Request,
    next: Next,
) -> Response {
    let (permission, page, form) = match access {
        Access::Open | Access::Station => return next.run(req).await,
        Access::SignIn => {
            // No session yet, so no CSRF token: the browser must say where the form was.
            if !says_same_origin(req.headers()) {
                return layout::refused_cross_site();
            }
            return next.run(req).await;
        }
        Access::Api(p) => (p, false, false),
        Access::Page(p) => (p, true, false),
        Access::Form(p) => (p, true, true),
    };
    if form && !same_origin(req.headers()) {
        return layout::refused_cross_site();
    }
    let signed = match identify(&state, req.headers()).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let Some(signed) = signed else {
        return if page {
            to_sign_in(req.uri(), !form)
        } else {
            unauthorized(
                "reading the register needs a token or a session: send `Authorization: Bearer \
                 TOKEN` with a token from `wipeproof users token NAME` (or `wipeproof tokens add \
                 NAME`) on the register, or sign in at /login",
            )
        };
    };
    if !signed.principal.may(permission) {
        let why = format!(
            "{} may not do this: {}",
            signed.principal.name(),
            match permission {
                Permission::Read => "read the register",
                Permission::Verify => "verify certificates here",
                Permission::SignReport =>
                    "have the register sign a collection report (admin and compliance may)",
                Permission::ManageUsers => "see the accounts (admin may)",
                Permission::Receive => "receive a collection at goods-in (intake and admin may)",
                Permission::ResolveMissing => "resolve a missing asset (admin may)",
            }
        );
        return if page {
            layout::error_page(Some(&signed), StatusCode::FORBIDDEN, "Not allowed", &why)
        } else {
            json_error(StatusCode::FORBIDDEN, why)
        };
    }
    req.extensions_mut().insert(signed);
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slash_in_a_tag_stays_inside_its_segment() {
        assert_eq!(path_segment("JOB/2 <x>"), "JOB%2F2%20%3Cx%3E");
        assert_eq!(percent_encode("/assets/A B"), "/assets/A%20B");
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn a_form_from_another_site_is_not_same_origin() {
        let host = ("host", "reg.example:7070");
        assert!(same_origin(&headers(&[
            host,
            ("origin", "http://reg.example:7070")
        ])));
        assert!(same_origin(&headers(&[
            host,
            ("origin", "https://REG.example:7070")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            ("origin", "http://evil.example")
        ])));
        assert!(!same_origin(&headers(&[host, ("origin", "null")])));
        assert!(!same_origin(&headers(&[
            host,
            ("origin", "http://reg.example:7070.evil.example")
        ])));
        assert!(same_origin(&headers(&[
            host,
            ("referer", "http://reg.example:7070/verify")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            ("referer", "http://evil.example/reg.example:7070/")
        ])));
        assert!(same_origin(&headers(&[host])));
        // The sign-in form has no CSRF token: a request that does not say where it comes from
        // is not taken as this site's.
        assert!(!says_same_origin(&headers(&[host])));
        assert!(says_same_origin(&headers(&[
            host,
            ("referer", "http://reg.example:7070/login")
        ])));
    }

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local_path("/assets/A-1?x=1"), Some("/assets/A-1?x=1"));
        for bad in [
            "//evil.example",
            "http://evil.example",
            "/\\evil",
            "evil",
            "/a\nb",
        ] {
            assert_eq!(local_path(bad), None, "{bad}");
        }
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let h = headers(&[(
            "cookie",
            "a=1; wipeproof_session=abc; x_wipeproof_session=z",
        )]);
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "b"), None);
    }
}
