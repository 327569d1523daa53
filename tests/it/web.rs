//! The central register's accounts, sign-in and web pages over real HTTP on 127.0.0.1 (no
//! browser here; `web_browser` drives one): every route without credentials, the sign-in rate
//! limit and its log, roles, and the cross-site checks of forms; each on SQLite and on
//! PostgreSQL.

use serde_json::Value;
use wipeproof::server::routes::{Access, Method, ROUTES};

use crate::support::*;

on_each_backend!(
    every_page_and_read_needs_a_session_or_a_token,
    failed_sign_ins_are_slowed_down_logged_and_answered_alike,
    roles_decide_who_gets_reports_accounts_and_verification,
    forms_need_this_sites_origin_and_the_sessions_token,
    odd_input_gets_an_answer_and_the_server_stops_cleanly,
);

pub const MANIFEST: &str = "asset_tag,serial,type,make,model,customer_ref,media_serials\n\
ACME-1,LAP-1,laptop,Lenovo,ThinkPad T14,PO-1,\n\
ACME-2,SRV-2,server,Dell,R640,PO-1,SRV2-D1;SRV2-D2\n";

pub const PASSWORD: &str = "correct horse battery staple";

/// A register with the manifest imported, its own signing key, and accounts `ann`
/// (compliance), `tom` (technician) and `ada` (admin).
pub fn register(backend: Backend) -> Home {
    let home = Home::on(backend);
    let out = import_manifest(&home, MANIFEST, "Acme Insurance", "COL-1");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(home.run(&["keys", "init"]).status.success());
    for (name, role) in [
        ("ann", "compliance"),
        ("tom", "technician"),
        ("ada", "admin"),
    ] {
        add_user(&home, name, role, PASSWORD);
    }
    home
}

pub fn add_user(home: &Home, name: &str, role: &str, password: &str) {
    let out = run_with_stdin(
        home,
        &["users", "add", name, "--role", role, "--password-stdin"],
        &format!("{password}\n"),
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

/// An HTTP client that follows no redirects and treats no status as an error.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

/// A response: status, `Location`, `Set-Cookie`, body.
pub struct Reply {
    pub status: u16,
    pub location: Option<String>,
    pub set_cookie: Option<String>,
    pub retry_after: Option<String>,
    pub body: String,
}

fn reply(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
    let mut r = r.unwrap();
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (location, set_cookie, retry_after) = (
        header("location"),
        header("set-cookie"),
        header("retry-after"),
    );
    Reply {
        status: r.status().as_u16(),
        location,
        set_cookie,
        retry_after,
        body: r.body_mut().read_to_string().unwrap_or_default(),
    }
}

/// How a request proves who sends it.
#[derive(Clone, Copy)]
pub enum Cred<'a> {
    None,
    Cookie(&'a str),
    Bearer(&'a str),
}

pub fn get(url: &str, path: &str, cred: Cred<'_>) -> Reply {
    let mut req = agent().get(&format!("{url}{path}"));
    match cred {
        Cred::None => {}
        Cred::Cookie(c) => req = req.header("Cookie", &format!("wipeproof_session={c}")),
        Cred::Bearer(t) => req = req.header("Authorization", &format!("Bearer {t}")),
    }
    reply(req.call())
}

/// Posts a form, with `origin` as the browser's `Origin` if given.
pub fn post_form(
    url: &str,
    path: &str,
    cred: Cred<'_>,
    origin: Option<&str>,
    fields: &[(&str, &str)],
) -> Reply {
    let mut req = agent().post(&format!("{url}{path}"));
    match cred {
        Cred::None => {}
        Cred::Cookie(c) => req = req.header("Cookie", &format!("wipeproof_session={c}")),
        Cred::Bearer(t) => req = req.header("Authorization", &format!("Bearer {t}")),
    }
    if let Some(o) = origin {
        req = req.header("Origin", o);
    }
    reply(req.send_form(fields.iter().copied()))
}

/// Signs in and returns the session cookie's value.
pub fn sign_in(url: &str, user: &str, password: &str) -> String {
    let r = post_form(
        url,
        "/login",
        Cred::None,
        Some(url),
        &[("username", user), ("password", password)],
    );
    assert_eq!(r.status, 303, "sign-in of {user}: {}", r.body);
    let cookie = r.set_cookie.expect("a session cookie");
    cookie
        .strip_prefix("wipeproof_session=")
        .and_then(|c| c.split(';').next())
        .expect("the session cookie")
        .to_string()
}

/// The CSRF token in a page's forms.
pub fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[at..].split('"').next().unwrap().to_string()
}

fn every_page_and_read_needs_a_session_or_a_token(backend: Backend) {
    let home = register(backend);
    let server = Server::start(&home);
    let url = &server.url;
    let mut checked = 0;
    for route in ROUTES {
        let path = route.example;
        let call = |cred: Cred<'_>| match route.method {
            Method::Get => get(url, path, cred),
            Method::Post => post_form(url, path, cred, None, &[("csrf", "x")]),
        };
        match route.access {
            Access::Open | Access::SignIn | Access::Station => continue,
            Access::Api(_) => {
                for cred in [
                    Cred::None,
                    Cred::Bearer("wpu_guess"),
                    Cred::Cookie("0123456789abcdef"),
                ] {
                    let r = call(cred);
                    assert_eq!(r.status, 401, "{path}: {}", r.body);
                }
            }
            Access::Page(_) | Access::Form(_) => {
                for cred in [
                    Cred::None,
                    Cred::Cookie("0123456789abcdef"),
                    Cred::Bearer("wpu_guess"),
                ] {
                    let r = call(cred);
                    assert_eq!(r.status, 303, "{path}: {}", r.body);
                    let to = r.location.unwrap_or_default();
                    assert!(to.starts_with("/login"), "{path} redirects to {to}");
                }
            }
        }
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} routes checked");
    // A page comes back to where it was after signing in.
    let r = get(url, "/assets/ACME-1", Cred::None);
    assert_eq!(r.location.as_deref(), Some("/login?next=/assets/ACME-1"));
    assert_eq!(get(url, "/api/v1/health", Cred::None).status, 200);
    assert_eq!(get(url, "/login", Cred::None).status, 200);

    // Signed in (as an admin, who may do everything), the same doors open: each gives what it
    // must, the example certificate being one that does not exist.
    let cookie = sign_in(url, "ada", PASSWORD);
    let mut opened = 0;
    for route in ROUTES.iter().filter(|r| r.method == Method::Get) {
        if matches!(route.access, Access::Page(_) | Access::Api(_)) {
            let want = signed_in_status(route.example);
            let r = get(url, route.example, Cred::Cookie(&cookie));
            assert_eq!(r.status, want, "{} signed in: {}", route.example, r.body);
            opened += 1;
        }
    }
    assert!(opened >= 15, "only {opened} routes opened");
    assert_eq!(
        get(url, "/assets/ACME-1", Cred::Cookie(&cookie)).status,
        200
    );
}

/// The status an admin's session must get from the page or read `example` of [`ROUTES`].
fn signed_in_status(example: &str) -> u16 {
    const UNKNOWN_CERTIFICATE: &str = "/certificates/00000000-0000-0000-0000-000000000000";
    match example {
        e if e.starts_with(UNKNOWN_CERTIFICATE) => 404,
        "/api/v1/assets"
        | "/api/v1/assets/ACME-1"
        | "/api/v1/unmatched"
        | "/api/v1/stations"
        | "/"
        | "/assets?q=ACME"
        | "/assets/ACME-1"
        | "/collections/COL-1"
        | "/collections/COL-1/report.pdf"
        | "/collections/COL-1/report.json"
        | "/collections/COL-1/goods-in"
        | "/verify"
        | "/stations"
        | "/trust"
        | "/users" => 200,
        other => panic!("no status is expected for {other}: add the route to signed_in_status"),
    }
}

fn failed_sign_ins_are_slowed_down_logged_and_answered_alike(backend: Backend) {
    let home = register(backend);
    let server = Server::start(&home);
    let url = &server.url;
    let attempt = |user: &str, password: &str| {
        post_form(
            url,
            "/login",
            Cred::None,
            Some(url),
            &[("username", user), ("password", password)],
        )
    };
    // An unknown name and a wrong password get the same answer.
    let unknown = attempt("nobody", "whatever it is");
    let wrong = attempt("ann", "not the password");
    assert_eq!((unknown.status, wrong.status), (401, 401));
    assert!(
        wrong
            .body
            .contains("The user name or the password is wrong.")
    );
    assert_eq!(
        unknown.body.replace("nobody", ""),
        wrong.body.replace("ann", "")
    );
    for _ in 0..4 {
        assert_eq!(attempt("ann", "not the password").status, 401);
    }
    // Five failures: even the right password must wait now, and is not tried.
    let refused = attempt("ann", PASSWORD);
    assert_eq!(refused.status, 429, "{}", refused.body);
    let wait: u64 = refused.retry_after.unwrap().parse().unwrap();
    assert!((1..=3).contains(&wait), "{wait}");
    assert!(refused.set_cookie.is_none());
    // Another name is not held up by ann's failures (the address has a higher limit of its own).
    assert_eq!(attempt("tom", PASSWORD).status, 303);

    // The log names the user and the address, on standard error and in the register.
    // The refusal came after the five failures: once it is read, so are they.
    let refused = server.wait_logged("sign-in refused for user \"ann\" from 127.0.0.1", 1);
    assert_eq!(refused.len(), 1, "{refused:?}");
    let lines = server.logged("sign-in failed for user \"ann\" from 127.0.0.1");
    assert_eq!(lines.len(), 5, "{lines:?}");
    let count = |outcome: &str| {
        home.sql_count(&format!(
            "SELECT COUNT(*) FROM login_attempts \
             WHERE username = 'ann' AND client = '127.0.0.1' AND outcome = '{outcome}'"
        ))
    };
    assert_eq!((count("failed"), count("refused")), (5, 1));

    // Once the wait is over, the right password signs in.
    std::thread::sleep(std::time::Duration::from_secs(wait + 1));
    let ok = attempt("ann", PASSWORD);
    assert_eq!(ok.status, 303, "{}", ok.body);
    let cookie = ok.set_cookie.unwrap();
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie}");
    }
    // Only the session id's hash is stored.
    let id = cookie
        .strip_prefix("wipeproof_session=")
        .and_then(|c| c.split(';').next())
        .unwrap();
    assert_eq!(id.len(), 64, "256 bits, hex");
    let stored = |sql: &str| home.sql_count(sql);
    assert_eq!(
        stored(&format!(
            "SELECT COUNT(*) FROM web_sessions WHERE sha256 = '{id}'"
        )),
        0,
        "the session id is stored"
    );
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(id.as_bytes()));
    assert_eq!(
        stored(&format!(
            "SELECT COUNT(*) FROM web_sessions WHERE sha256 = '{hash}'"
        )),
        1
    );
    assert_eq!(
        stored("SELECT COUNT(*) FROM users WHERE password_hash NOT LIKE '$argon2id$%'"),
        0,
        "a password is stored other than as an Argon2id hash"
    );
    if home.database.is_none() {
        // Nowhere in the file either, not even in pages the write-ahead log still holds.
        let raw = std::fs::read(home.path().join("register.sqlite")).unwrap();
        let wal = std::fs::read(home.path().join("register.sqlite-wal")).unwrap_or_default();
        for bytes in [&raw, &wal] {
            assert!(
                !bytes.windows(id.len()).any(|w| w == id.as_bytes()),
                "the session id is stored"
            );
            assert!(
                !bytes
                    .windows(PASSWORD.len())
                    .any(|w| w == PASSWORD.as_bytes()),
                "the password is stored"
            );
        }
    }
}

fn roles_decide_who_gets_reports_accounts_and_verification(backend: Backend) {
    let home = register(backend);
    let server = Server::start(&home);
    let url = &server.url;
    let tom = sign_in(url, "tom", PASSWORD);
    let ann = sign_in(url, "ann", PASSWORD);
    let ada = sign_in(url, "ada", PASSWORD);
    for path in ["/users", "/collections/COL-1/report.pdf"] {
        assert_eq!(get(url, path, Cred::Cookie(&tom)).status, 403, "{path}");
    }
    assert_eq!(get(url, "/users", Cred::Cookie(&ann)).status, 403);
    let users = get(url, "/users", Cred::Cookie(&ada));
    assert_eq!(users.status, 200);
    assert!(users.body.contains("technician"), "{}", users.body);

    // A compliance officer downloads the signed report; it verifies as `wipeproof report`'s do.
    let mut r = agent()
        .get(&format!("{url}/collections/COL-1/report.pdf"))
        .header("Cookie", &format!("wipeproof_session={ann}"))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let pdf = r
        .body_mut()
        .with_config()
        .limit(32 << 20)
        .read_to_vec()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let out = home.run(&["verify", file.to_str().unwrap(), "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true, "{v}");

    // A person's API token can do what the person may; a read token only reads.
    let token = stdout(&home.run(&["users", "token", "tom"]))
        .trim()
        .to_string();
    assert!(token.starts_with("wpu_") && token.len() == 68, "{token}");
    let listed = get(url, "/api/v1/assets", Cred::Bearer(&token));
    assert_eq!(listed.status, 200);
    let v: Value = serde_json::from_str(&listed.body).unwrap();
    assert_eq!(v["assets"].as_array().unwrap().len(), 2);
    assert_eq!(get(url, "/verify", Cred::Bearer(&token)).status, 200);
    assert_eq!(
        get(url, "/collections/COL-1/report.json", Cred::Bearer(&token)).status,
        403
    );
    let read = stdout(&home.run(&["tokens", "add", "dashboard"]))
        .trim()
        .to_string();
    assert_eq!(get(url, "/assets?q=LAP", Cred::Bearer(&read)).status, 200);
    assert_eq!(get(url, "/verify", Cred::Bearer(&read)).status, 403);

    // Removing a person ends their sessions and tokens at once.
    assert!(home.run(&["users", "remove", "tom"]).status.success());
    assert_eq!(get(url, "/", Cred::Cookie(&tom)).status, 303);
    assert_eq!(get(url, "/api/v1/assets", Cred::Bearer(&token)).status, 401);
    let (code, list) = home.json(&["users", "list", "--json"]);
    assert_eq!(code, 0);
    let names: Vec<&str> = list["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ada", "ann"]);
    assert!(list["users"][1]["last_sign_in"].is_string(), "{list}");
}

fn forms_need_this_sites_origin_and_the_sessions_token(backend: Backend) {
    let home = register(backend);
    let server = Server::start(&home);
    let url = &server.url;
    // A sign-in form posted from another site is refused before the password is looked at.
    let r = post_form(
        url,
        "/login",
        Cred::None,
        Some("http://evil.example"),
        &[("username", "ann"), ("password", PASSWORD)],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.set_cookie.is_none());
    // So is one that does not say where it comes from (it has no CSRF token to check).
    let r = post_form(
        url,
        "/login",
        Cred::None,
        None,
        &[("username", "ann"), ("password", PASSWORD)],
    );
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.set_cookie.is_none());

    let cookie = sign_in(url, "ann", PASSWORD);
    let page = get(url, "/", Cred::Cookie(&cookie));
    let csrf = csrf_of(&page.body);
    // Without the session's token, or from another site, signing out is refused.
    let r = post_form(url, "/logout", Cred::Cookie(&cookie), None, &[]);
    assert_eq!(r.status, 403);
    let r = post_form(
        url,
        "/logout",
        Cred::Cookie(&cookie),
        None,
        &[("csrf", "0000")],
    );
    assert_eq!(r.status, 403);
    let r = post_form(
        url,
        "/logout",
        Cred::Cookie(&cookie),
        Some("http://evil.example"),
        &[("csrf", &csrf)],
    );
    assert_eq!(r.status, 403);
    assert_eq!(get(url, "/", Cred::Cookie(&cookie)).status, 200);
    // With it, from this site: signed out, and the cookie opens nothing any more.
    let r = post_form(
        url,
        "/logout",
        Cred::Cookie(&cookie),
        Some(url),
        &[("csrf", &csrf)],
    );
    assert_eq!(r.status, 303);
    assert!(r.set_cookie.unwrap().contains("Max-Age=0"));
    assert_eq!(get(url, "/", Cred::Cookie(&cookie)).status, 303);
    // An upload larger than any certificate is cut off.
    let cookie = sign_in(url, "ann", PASSWORD);
    let csrf = csrf_of(&get(url, "/verify", Cred::Cookie(&cookie)).body);
    let mut body = format!(
        "--B\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --B\r\nContent-Disposition: form-data; name=\"certificate\"; filename=\"big.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n%PDF-"
    )
    .into_bytes();
    body.resize(body.len() + (17 << 20), b'x');
    body.extend_from_slice(b"\r\n--B--\r\n");
    let r = reply(
        agent()
            .post(&format!("{url}/verify"))
            .header("Cookie", &format!("wipeproof_session={cookie}"))
            .header("Content-Type", "multipart/form-data; boundary=B")
            .send(&body[..]),
    );
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(r.body.contains("at most 16 MiB"), "{}", r.body);

    // Short passwords are refused when the account is made.
    let out = run_with_stdin(
        &home,
        &["users", "add", "eve", "--role", "admin", "--password-stdin"],
        "short\n",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("too short"), "{}", stderr(&out));
}

fn odd_input_gets_an_answer_and_the_server_stops_cleanly(backend: Backend) {
    let home = register(backend);
    let mut server = Server::start(&home);
    let url = server.url.clone();
    let cookie = sign_in(&url, "ann", PASSWORD);
    // A NUL anywhere (PostgreSQL cannot hold one) is an empty search or an unknown asset, not a
    // server error; a failed sign-in with one is refused like any other.
    let search = get(&url, "/assets?q=a%00b", Cred::Cookie(&cookie));
    assert_eq!(search.status, 200, "{}", search.body);
    for path in ["/assets/%00", "/collections/%00", "/certificates/x%00"] {
        assert_eq!(get(&url, path, Cred::Cookie(&cookie)).status, 404, "{path}");
    }
    let login = post_form(
        &url,
        "/login",
        Cred::None,
        Some(&url),
        &[("username", "a\0n"), ("password", "not the password")],
    );
    assert_eq!(login.status, 401, "{}", login.body);
    // The search lists the asset with a link to its page.
    let found = get(&url, "/assets?q=ACME-1", Cred::Cookie(&cookie));
    assert!(
        found.body.contains("href=\"/assets/ACME-1\""),
        "{}",
        found.body
    );

    // SIGTERM ends it with status 0 (PostgreSQL's client used to panic closing inside the
    // server's runtime, and abort); all it wrote, read to the end, has no panic in it.
    let pid = nix::unistd::Pid::from_raw(server.child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = server.child.wait().unwrap();
    let log = server.stopped_log();
    assert!(status.success(), "{status:?}: {log:?}");
    assert!(!log.iter().any(|l| l.contains("panicked")), "{log:?}");

    // A port in use is named, not a panic.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = home.run(&["serve", "--listen", &addr]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot listen"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}
