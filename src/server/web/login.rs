//! Signing in and out.
//!
//! `POST /login` (form fields `username`, `password`) checks the password against its Argon2id
//! hash and starts a session: a random 256-bit id in an `HttpOnly`, `SameSite=Strict` cookie
//! (`Secure` over TLS), stored as its SHA-256 with an expiry. An unknown name and a wrong
//! password get the same answer after the same work.
//!
//! Failed sign-ins are rate-limited per name and per client address: after
//! [`FREE_PER_USER`] failures for a name (since its last sign-in) or [`FREE_PER_CLIENT`] from
//! an address within [`WINDOW_SECS`], each further attempt must wait twice as long as the one
//! before (2 s, 4 s, ... at most [`MAX_WAIT_SECS`]); attempts in that time are refused without
//! looking at the password. Every attempt is a row in the register (`login_attempts`), and a
//! failed or refused one also a line on the server's standard error naming the user and the
//! address.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use maud::html;
use serde::Deserialize;
use time::OffsetDateTime;

use super::super::secrets::{new_secret, secret_sha256, verify_password};
use super::super::state::{AppState, with_register};
use super::auth::{ClientAddr, SESSION_COOKIE, Signed, cookie, local_path, see_other};
use super::layout;
use crate::register::accounts::{LoginOutcome, RecentFailures};

/// Failures for one name before sign-ins for it are slowed down.
pub const FREE_PER_USER: u64 = 5;
/// Failures from one address (of any names) before sign-ins from it are slowed down.
pub const FREE_PER_CLIENT: u64 = 20;
/// How far back failures count.
pub const WINDOW_SECS: i64 = 15 * 60;
/// The longest wait between attempts.
pub const MAX_WAIT_SECS: i64 = 15 * 60;

/// Seconds to wait after the latest of `failures` failures, when `free` are let through.
fn wait_secs(failures: u64, free: u64) -> i64 {
    if failures < free {
        return 0;
    }
    let doublings = (failures - free + 1).min(20) as u32;
    (1i64 << doublings).min(MAX_WAIT_SECS)
}

/// How many seconds the next attempt must still wait, if any.
fn retry_after(recent: &RecentFailures, now: OffsetDateTime) -> Option<i64> {
    let pending = |count: u64, last: &Option<String>, free: u64| -> i64 {
        let wait = wait_secs(count, free);
        match last.as_deref().and_then(crate::timestamp::parse) {
            Some(last) if wait > 0 => {
                // The record keeps whole seconds: the failure happened before the end of the
                // second it names, so the wait counts from there. What is left is said rounded
                // up: 0.9 s left is one second to wait, not none.
                let left = last + time::Duration::seconds(1 + wait) - now;
                let whole = left.whole_seconds();
                if left > time::Duration::seconds(whole) {
                    whole + 1
                } else {
                    whole
                }
            }
            _ => 0,
        }
    };
    let wait = pending(recent.user, &recent.user_last, FREE_PER_USER).max(pending(
        recent.client,
        &recent.client_last,
        FREE_PER_CLIENT,
    ));
    (wait > 0).then_some(wait)
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// The sign-in form, with a message above it.
fn sign_in_page(status: StatusCode, next: Option<&str>, message: Option<&str>) -> Response {
    let next = next.and_then(local_path);
    layout::page_with(
        status,
        None,
        "Sign in",
        html! {
            form.card method="post" action="/login" {
                @if let Some(m) = message {
                    p.notice.bad role="alert" { (m) }
                }
                label for="username" { "User name" }
                input #username type="text" name="username" autocomplete="username"
                    autocapitalize="none" spellcheck="false" required maxlength="64" autofocus;
                label for="password" { "Password" }
                input #password type="password" name="password" autocomplete="current-password"
                    required maxlength="1024";
                @if let Some(n) = next {
                    input type="hidden" name="next" value=(n);
                }
                button type="submit" { "Sign in" }
            }
            p.muted {
                "Accounts are made on the register with "
                code { "wipeproof users add NAME --role ROLE --password-stdin" } "."
            }
        },
    )
}

/// `GET /login`.
pub async fn page(Query(q): Query<NextQuery>) -> Response {
    sign_in_page(StatusCode::OK, q.next.as_deref(), None)
}

#[derive(Deserialize)]
pub struct SignInForm {
    username: String,
    password: String,
    next: Option<String>,
}

/// The `Set-Cookie` value of a session (or of its removal, with `max_age` 0).
fn session_cookie(value: &str, max_age: u64, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// Logs a failed or refused attempt on standard error (the register has its row).
fn log_line(outcome: LoginOutcome, user: &str, client: &str, detail: &str) {
    crate::stderr_line!(
        "wipeproof: sign-in {} for user {user:?} from {client}: {detail}",
        outcome.as_str()
    );
}

/// `POST /login`.
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return sign_in_page(
            StatusCode::BAD_REQUEST,
            None,
            Some("Send the sign-in form with a user name and a password."),
        );
    };
    let next = form
        .next
        .as_deref()
        .and_then(local_path)
        .map(str::to_string);
    let user: String = form.username.trim().chars().take(64).collect();
    let now = OffsetDateTime::now_utc();
    let since = crate::timestamp::format(now - time::Duration::seconds(WINDOW_SECS));
    let lookup = {
        let (user, client) = (user.clone(), client.clone());
        with_register(&state, move |reg| {
            Ok::<_, String>((
                reg.recent_failures(&user, &client, &since)
                    .map_err(|e| e.to_string())?,
                reg.credentials(&user).map_err(|e| e.to_string())?,
            ))
        })
        .await
    };
    let (recent, credentials) = match lookup {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => return failed(&e),
        Err(r) => return r,
    };
    let record = |outcome: LoginOutcome| {
        let (user, client) = (user.clone(), client.clone());
        with_register(&state, move |reg| reg.log_login(&user, &client, outcome))
    };
    if let Some(wait) = retry_after(&recent, now) {
        log_line(
            LoginOutcome::Refused,
            &user,
            &client,
            &format!(
                "{} failure(s) for this name, {} from this address in {} min; next attempt in {wait} s",
                recent.user,
                recent.client,
                WINDOW_SECS / 60
            ),
        );
        if let Ok(Err(e)) = record(LoginOutcome::Refused).await {
            crate::stderr_line!("wipeproof: cannot log the sign-in attempt: {e}");
        }
        let mut r = sign_in_page(
            StatusCode::TOO_MANY_REQUESTS,
            next.as_deref(),
            Some(&format!(
                "Too many failed sign-ins for this name or from this address. Try again in {wait} seconds."
            )),
        );
        if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    // Argon2 takes a while by design: off the async threads, without holding the register.
    let role = credentials.as_ref().map(|(role, _)| *role);
    let password = form.password;
    let verified = tokio::task::spawn_blocking(move || {
        verify_password(&password, credentials.as_ref().map(|(_, phc)| phc.as_str()))
    })
    .await
    .unwrap_or(false);
    let (true, Some(_role)) = (verified, role) else {
        log_line(
            LoginOutcome::Failed,
            &user,
            &client,
            &format!(
                "wrong user name or password ({} earlier failure(s) for this name)",
                recent.user
            ),
        );
        if let Ok(Err(e)) = record(LoginOutcome::Failed).await {
            crate::stderr_line!("wipeproof: cannot log the sign-in attempt: {e}");
        }
        return sign_in_page(
            StatusCode::UNAUTHORIZED,
            next.as_deref(),
            Some("The user name or the password is wrong."),
        );
    };
    let (id, csrf) = match (new_secret(""), new_secret("")) {
        (Ok(id), Ok(csrf)) => (id, csrf),
        (Err(e), _) | (_, Err(e)) => return failed(&e.to_string()),
    };
    let lifetime = state.web.session_lifetime;
    let expires = crate::timestamp::format(now + lifetime);
    let started = {
        let (hash, user, client) = (secret_sha256(&id), user.clone(), client.clone());
        with_register(&state, move |reg| {
            reg.start_session(&hash, &user, &csrf, &expires)?;
            reg.log_login(&user, &client, LoginOutcome::Ok)
        })
        .await
    };
    match started {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return failed(&e.to_string()),
        Err(r) => return r,
    }
    let mut r = see_other(next.as_deref().unwrap_or("/"));
    if let Ok(v) = HeaderValue::from_str(&session_cookie(
        &id,
        lifetime.as_secs(),
        state.secure_cookies,
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

fn failed(why: &str) -> Response {
    let said = super::super::state::internal_error(why);
    layout::error_page(
        None,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Sign-in failed",
        &format!("The register could not sign you in: {said}. Try again."),
    )
}

#[derive(Deserialize)]
pub struct CsrfForm {
    pub csrf: Option<String>,
}

/// `POST /logout`: ends the session and removes its cookie.
pub async fn sign_out(
    State(state): State<AppState>,
    signed: Signed,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let sent = form.ok().and_then(|Form(f)| f.csrf);
    if !signed.form_token_ok(sent.as_deref()) {
        return layout::refused_cross_site();
    }
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        let hash = secret_sha256(id);
        if let Ok(Err(e)) = with_register(&state, move |reg| reg.end_session(&hash)).await {
            return failed(&e.to_string());
        }
    }
    let mut r = see_other("/login");
    if let Ok(v) = HeaderValue::from_str(&session_cookie("", 0, state.secure_cookies)) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_after_the_free_failures_up_to_the_cap() {
        assert_eq!(wait_secs(4, 5), 0);
        assert_eq!(wait_secs(5, 5), 2);
        assert_eq!(wait_secs(6, 5), 4);
        assert_eq!(wait_secs(100, 5), MAX_WAIT_SECS);
        let now = OffsetDateTime::now_utc();
        let recent = RecentFailures {
            user: 5,
            user_last: Some(crate::timestamp::format(now)),
            client: 5,
            client_last: Some(crate::timestamp::format(now)),
        };
        assert!(retry_after(&recent, now).is_some_and(|w| w <= 3 && w > 0));
        let later = now + time::Duration::seconds(4);
        assert_eq!(retry_after(&recent, later), None);
        // Many names tried from one address: the address waits, whatever name comes next.
        let spray = RecentFailures {
            user: 0,
            user_last: None,
            client: FREE_PER_CLIENT,
            client_last: Some(crate::timestamp::format(now)),
        };
        assert!(retry_after(&spray, now).is_some());
        let few = RecentFailures {
            client: FREE_PER_CLIENT - 1,
            ..spray
        };
        assert_eq!(retry_after(&few, now), None);
    }

    #[test]
    fn a_wait_is_never_cut_short_by_the_record_keeping_whole_seconds() {
        // The record keeps whole seconds: a failure at 12:00:00.950 is stored as 12:00:00.
        // 1.1 s after it, 0.9 s of the 2 s wait are left, and the attempt must be refused.
        let failed_at = crate::timestamp::parse("2026-12-06T12:00:00.950Z").unwrap();
        let recent = RecentFailures {
            user: FREE_PER_USER,
            user_last: Some(crate::timestamp::format(failed_at)),
            client: FREE_PER_USER,
            client_last: Some(crate::timestamp::format(failed_at)),
        };
        for after_ms in [0, 500, 1100, 1900] {
            let now = failed_at + time::Duration::milliseconds(after_ms);
            let wait = retry_after(&recent, now);
            assert!(
                wait.is_some_and(|w| w >= 1),
                "{after_ms} ms after: {wait:?}"
            );
        }
        // A wait is said in whole seconds, rounded up, and is over at most a second late.
        let over = failed_at + time::Duration::milliseconds(3000);
        assert_eq!(retry_after(&recent, over), None);
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_over_tls() {
        let c = session_cookie("abc", 60, false);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Path=/"));
        assert!(!c.contains("Secure"));
        assert!(session_cookie("abc", 60, true).ends_with("; Secure"));
    }
}
