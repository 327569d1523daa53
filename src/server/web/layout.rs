//! The skeleton every page shares (header, navigation, who is signed in, sign-out), the one
//! stylesheet, the error pages, and small pieces several pages draw (a result badge, a table of
//! verification checks).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::super::secrets::Principal;
use super::signed::Signed;
use crate::certificate::check::CheckItem;
use crate::register::accounts::Permission;

/// The headers of every page: no scripts, no frames, nothing cached, no sniffing.
fn secure(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A page with `status`.
pub fn page_with(
    status: StatusCode,
    signed: Option<&Signed>,
    title: &str,
    body: Markup,
) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · wipeproof register" }
                link rel="stylesheet" href="/style.css";
            }
            body {
                header.top {
                    a.brand href="/" { "wipeproof register" }
                    @if let Some(s) = signed {
                        nav {
                            a href="/" { "Search" }
                            a href="/verify" { "Verify a certificate or report" }
                            a href="/stations" { "Stations" }
                            a href="/trust" { "Trust" }
                            @if s.principal.may(Permission::ManageUsers) {
                                a href="/users" { "Accounts" }
                            }
                        }
                        div.who {
                            span { (s.principal.name()) " · " (role_name(&s.principal)) }
                            @if let Some(csrf) = &s.csrf {
                                form method="post" action="/logout" {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button.link type="submit" { "Sign out" }
                                }
                            }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    };
    let mut r = (status, markup.into_string()).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure(r)
}

/// A page (200).
pub fn page(signed: &Signed, title: &str, body: Markup) -> Response {
    page_with(StatusCode::OK, Some(signed), title, body)
}

/// A page (200) that runs the register's own script `script` (a path of this site) and may
/// send requests to this site: the goods-in page. Every other page runs no script.
pub fn page_scripted(signed: &Signed, title: &str, body: Markup, script: &str) -> Response {
    let body = html! { (body) script src=(script) defer {} };
    let mut r = page_with(StatusCode::OK, Some(signed), title, body);
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; \
             img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    r
}

fn role_name(p: &Principal) -> &'static str {
    match p {
        Principal::User { role, .. } => role.as_str(),
        Principal::ReadToken { .. } => "read token",
    }
}

/// An error page that says what went wrong and what to do.
pub fn error_page(signed: Option<&Signed>, status: StatusCode, title: &str, why: &str) -> Response {
    page_with(
        status,
        signed,
        title,
        html! {
            p.notice.bad { (why) }
            p { a href="/" { "Back to the search" } }
        },
    )
}

/// A server-side failure (the register could not be read), as a page.
pub fn failed(signed: &Signed, why: impl std::fmt::Display) -> Response {
    let said = super::super::state::internal_error(&why.to_string());
    error_page(
        Some(signed),
        StatusCode::INTERNAL_SERVER_ERROR,
        "The register could not answer",
        &format!(
            "{}. Try again; if it persists, tell whoever runs it.",
            capitalize(&said)
        ),
    )
}

/// `s` with its first letter in capitals.
fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A form sent from another site (or a sandboxed page): refused.
pub fn refused_cross_site() -> Response {
    error_page(
        None,
        StatusCode::FORBIDDEN,
        "Refused",
        "This form was not sent from a page of this register. Open the register's own page \
         and send it from there.",
    )
}

/// Any path no route serves.
pub async fn not_found() -> Response {
    error_page(
        None,
        StatusCode::NOT_FOUND,
        "Not found",
        "There is no page at this address.",
    )
}

/// A timestamp of the register (`2026-11-28T17:20:52Z`) for people: `2026-11-28 17:20:52 UTC`,
/// kept on one line.
pub fn when(ts: &str) -> Markup {
    let shown = match ts.strip_suffix('Z') {
        Some(t) => format!("{} UTC", t.replacen('T', " ", 1)),
        None => ts.to_string(),
    };
    html! { time.nowrap datetime=(ts) { (shown) } }
}

/// A PASS/FAIL/INCOMPLETE or asset state badge.
pub fn badge(word: &str) -> Markup {
    let class = match word.to_ascii_lowercase().as_str() {
        "pass" | "retired" | "ok" | "valid" | "active" => "good",
        "fail" | "failed" | "invalid" | "revoked" => "bad",
        _ => "neutral",
    };
    html! { span class={ "badge " (class) } { (word) } }
}

/// The table of a verification's checks: name, ok or FAILED, what it found.
pub fn checks_table(checks: &[CheckItem]) -> Markup {
    html! {
        div.scroll {
            table.checks {
                thead { tr { th { "Check" } th { "Result" } th { "What it found" } } }
                tbody {
                    @for c in checks {
                        tr class=(if c.ok { "ok" } else { "failed" }) {
                            td { code { (c.name) } }
                            td { (badge(if c.ok { "ok" } else { "FAILED" })) }
                            td { (c.detail) }
                        }
                    }
                }
            }
        }
    }
}

/// `GET /style.css`.
pub async fn stylesheet() -> Response {
    let mut r = STYLE.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("max-age=3600"),
    );
    r
}

const STYLE: &str = r#"
:root { --ink: #1d232b; --muted: #5b6570; --line: #d6dbe1; --bg: #f6f7f9; --accent: #1f5fa8;
        --good: #1d7a3c; --good-bg: #e4f4e9; --bad: #b3261e; --bad-bg: #fbe7e6;
        --warn: #8a5a00; --warn-bg: #fdf3dc; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); background: var(--bg); }
header.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem;
             padding: .75rem 1rem; background: #fff; border-bottom: 1px solid var(--line); }
.brand { font-weight: 700; color: var(--ink); text-decoration: none; }
nav { display: flex; flex-wrap: wrap; gap: .25rem 1rem; }
nav a { color: var(--accent); text-decoration: none; }
nav a:hover, a:hover { text-decoration: underline; }
.who { margin-left: auto; display: flex; align-items: center; gap: .75rem; color: var(--muted);
       font-size: .9rem; }
.who form { margin: 0; }
main { max-width: 64rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.15rem; margin: 1.75rem 0 .5rem; }
a { color: var(--accent); }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: .9em;
              overflow-wrap: anywhere; }
.scroll { overflow-x: auto; background: #fff; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: .45rem .65rem;
         border-bottom: 1px solid var(--line); }
th { font-size: .85rem; color: var(--muted); font-weight: 600; background: #fafbfc; }
tr:last-child td { border-bottom: 0; }
table.checks tr.failed td { background: var(--bad-bg); }
table.checks td:first-child, .nowrap { white-space: nowrap; }
table code, table .mono { overflow-wrap: normal; }
td.details { min-width: 16rem; }
td.details .mono, td.key { overflow-wrap: anywhere; }
progress { width: 100%; max-width: 28rem; height: .9rem; accent-color: var(--good); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; margin: 0;
           background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .75rem 1rem; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
.badge { display: inline-block; padding: 0 .5rem; border-radius: 999px; font-size: .85rem;
         font-weight: 600; white-space: nowrap; border: 1px solid currentColor; }
.badge.good { color: var(--good); background: var(--good-bg); }
.badge.bad { color: var(--bad); background: var(--bad-bg); }
.badge.neutral { color: var(--muted); background: #eef0f3; }
.notice { padding: .75rem 1rem; border-radius: 6px; border: 1px solid var(--line); background: #fff; }
.notice.good { border-color: var(--good); background: var(--good-bg); }
.notice.bad { border-color: var(--bad); background: var(--bad-bg); }
.verdict { font-size: 1.2rem; font-weight: 700; }
form.card, .card { background: #fff; border: 1px solid var(--line); border-radius: 6px;
                   padding: 1rem; max-width: 28rem; }
form.inline { display: flex; flex-wrap: wrap; gap: .5rem; max-width: 40rem; }
form.inline input[type=search] { flex: 1 1 14rem; }
label { display: block; font-weight: 600; margin: .5rem 0 .25rem; }
input[type=text], input[type=password], input[type=search], input[type=file] {
  width: 100%; padding: .5rem .6rem; font: inherit; border: 1px solid #b8c0c9; border-radius: 4px;
  background: #fff; }
button { font: inherit; padding: .5rem 1rem; border-radius: 4px; border: 1px solid var(--accent);
         background: var(--accent); color: #fff; cursor: pointer; }
button.link { padding: 0; border: 0; background: none; color: var(--accent); text-decoration: underline; }
.card button { margin-top: 1rem; }
.muted { color: var(--muted); }
.counts { display: flex; flex-wrap: wrap; gap: .75rem; margin: 0 0 1rem; padding: 0; list-style: none; }
.counts li { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: .5rem .9rem;
             min-width: 7rem; }
.counts b { display: block; font-size: 1.4rem; }
.downloads { display: flex; flex-wrap: wrap; gap: .5rem 1.25rem; }
form.scan { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 1rem;
            max-width: 40rem; }
form.scan label { margin-top: 0; }
.scanline { display: flex; gap: .5rem; }
.scanline input { flex: 1 1 auto; min-width: 0; font-size: 1.25rem;
                  font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
form.scan p { margin: .5rem 0 0; }
ol.answers { list-style: none; margin: 0; padding: 0; background: #fff; border: 1px solid var(--line);
             border-radius: 6px; }
ol.answers:empty { display: none; }
ol.answers li { display: grid; grid-template-columns: 9rem minmax(6rem, 14rem) minmax(0, 1fr);
                gap: .75rem; align-items: baseline; padding: .45rem .75rem;
                border-bottom: 1px solid var(--line); }
ol.answers li:last-child { border-bottom: 0; }
ol.answers li .badge { justify-self: start; }
ol.answers li.bad { background: var(--bad-bg); }
ol.answers li.warn { background: var(--warn-bg); }
ol.answers .scanned { overflow-wrap: anywhere; }
.badge.warn { color: var(--warn); background: var(--warn-bg); }
table.missing td.resolve { min-width: 18rem; }
form.resolve { display: flex; flex-wrap: wrap; gap: .4rem; align-items: center; margin: 0; }
form.resolve select, form.resolve input[type=text] { width: auto; flex: 1 1 8rem; padding: .3rem .4rem;
  font: inherit; font-size: .9rem; }
form.resolve button { padding: .3rem .75rem; font-size: .9rem; }
@media (max-width: 40rem) {
  body { font-size: 15px; }
  /* A row of a wide table becomes a card: each cell under its column's name. */
  table.cards thead { display: none; }
  table.cards, table.cards tbody, table.cards tr, table.cards td { display: block; width: 100%; }
  table.cards tr { border-bottom: 1px solid var(--line); padding: .35rem 0; }
  table.cards tr:last-child { border-bottom: 0; }
  table.cards td { border: 0; padding: .1rem .75rem; display: grid;
                   grid-template-columns: 7rem minmax(0, 1fr); gap: .75rem; min-width: 0; }
  table.cards td::before { content: attr(data-label); color: var(--muted); font-size: .85rem; }
  table.cards td > .badge { justify-self: start; }
  td.details { min-width: 0; }
  ol.answers li { grid-template-columns: minmax(0, 1fr); gap: .2rem; }
  .who { margin-left: 0; width: 100%; }
  dl.facts { grid-template-columns: 1fr; }
  dl.facts dt { margin-top: .4rem; }
}
@media print {
  header.top nav, .who, form, .noprint { display: none !important; }
  body { background: #fff; }
  .scroll, dl.facts, .counts li { border-color: #999; }
  a { color: inherit; text-decoration: none; }
}
"#;
