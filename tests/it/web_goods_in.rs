//! The goods-in page's JSON endpoint over real HTTP (no browser; `web_browser` types scans
//! into the page): who may scan, the CSRF token and the site's origin, each answer as
//! `intake receive --json` gives it, an over-long scan refused with nothing recorded; and a
//! missing asset resolved from the collection's page by the admin role only, as a custody
//! event naming who. On SQLite and on PostgreSQL.

use serde_json::{Value, json};

use crate::support::*;
use crate::web::{Cred, PASSWORD, add_user, agent, csrf_of, get, post_form, register, sign_in};

on_each_backend!(
    goods_in_scans_are_answered_as_intake_receive_answers_them,
    only_an_admin_resolves_a_missing_asset_from_the_page,
);

/// A second collection, COL-2, whose asset ACME-3 is on no van yet.
const OTHER: &str = "asset_tag,serial,type\nACME-3,DESK-3,desktop\n";

/// A register as `web::register` makes it, with COL-2 and `ian` of the intake role.
fn desk(backend: Backend) -> Home {
    let home = register(backend);
    let out = import_manifest(&home, OTHER, "Acme Insurance", "COL-2");
    assert!(out.status.success(), "{}", stderr(&out));
    add_user(&home, "ian", "intake", PASSWORD);
    home
}

/// The answer of `POST /collections/COL/scans`: status and body (JSON, or `Null`).
fn post_scan(
    url: &str,
    collection: &str,
    cookie: &str,
    csrf: Option<&str>,
    origin: Option<&str>,
    body: &[u8],
) -> (u16, Value) {
    let mut req = agent()
        .post(&format!("{url}/collections/{collection}/scans"))
        .header("Cookie", &format!("wipeproof_session={cookie}"))
        .header("Content-Type", "application/json");
    if let Some(c) = csrf {
        req = req.header("X-CSRF-Token", c);
    }
    if let Some(o) = origin {
        req = req.header("Origin", o);
    }
    match req.send(body) {
        Ok(mut r) => {
            let status = r.status().as_u16();
            let text = r.body_mut().read_to_string().unwrap_or_default();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        }
        // The server may answer a body it will not read and close before the client has sent
        // it all: no answer is read then.
        Err(e) => panic!("POST {collection}/scans: {e}"),
    }
}

fn scan_body(scan: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({ "scan": scan })).unwrap()
}

fn goods_in_scans_are_answered_as_intake_receive_answers_them(backend: Backend) {
    let home = desk(backend);
    let server = Server::start(&home);
    let url = &server.url;
    let ian = sign_in(url, "ian", PASSWORD);
    let page = get(url, "/collections/COL-1/goods-in", Cred::Cookie(&ian));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"scan\""), "{}", page.body);
    assert!(page.body.contains("src=\"/goods-in.js\""), "{}", page.body);
    let csrf = csrf_of(&page.body);
    // The collection's page links to it for those who receive.
    let col = get(url, "/collections/COL-1", Cred::Cookie(&ian));
    assert!(
        col.body.contains("href=\"/collections/COL-1/goods-in\""),
        "{}",
        col.body
    );
    let scan = |s: &str| post_scan(url, "COL-1", &ian, Some(&csrf), Some(url), &scan_body(s));
    let events = || home.sql_count("SELECT COUNT(*) FROM events");

    let (status, a) = scan("ACME-1");
    assert_eq!(status, 200, "{a}");
    assert_eq!(
        a,
        json!({"outcome": "received", "asset_tag": "ACME-1", "scanned": "ACME-1",
               "message": "received ACME-1"})
    );
    let (_, a) = scan(" ACME-1 ");
    assert_eq!(
        (&a["outcome"], &a["asset_tag"]),
        (&"already_received".into(), &"ACME-1".into()),
        "{a}"
    );
    assert!(
        a["message"]
            .as_str()
            .unwrap()
            .starts_with("already received ACME-1"),
        "{a}"
    );
    // A drive's serial names its asset.
    let (_, a) = scan("SRV2-D1");
    assert_eq!(
        (&a["outcome"], &a["asset_tag"]),
        (&"received".into(), &"ACME-2".into()),
        "{a}"
    );
    let before = events();
    let (_, a) = scan("ACME-3");
    assert_eq!(
        (&a["outcome"], &a["collection"]),
        (&"other_collection".into(), &"COL-2".into()),
        "{a}"
    );
    assert!(
        a["message"]
            .as_str()
            .unwrap()
            .contains("belongs to collection COL-2"),
        "{a}"
    );
    assert_eq!(events(), before, "a tag of another collection is recorded");
    let (_, a) = scan("UNLISTED-7");
    assert_eq!(
        (&a["outcome"], &a["scanned"]),
        (&"extra".into(), &"UNLISTED-7".into()),
        "{a}"
    );
    assert!(
        a["message"]
            .as_str()
            .unwrap()
            .contains("not on this manifest: recorded as an extra of COL-1"),
        "{a}"
    );
    assert_eq!(scan("UNLISTED-7").1["outcome"], "extra_again");

    // Refused, nothing recorded: an empty scan, one over the command's limit of 256 bytes, a
    // control character, and a body far beyond any scan (cut off unread).
    let before = events();
    assert_eq!(scan("   ").1["outcome"], "empty");
    let (status, a) = scan(&"7".repeat(257));
    assert_eq!((status, &a["outcome"]), (200, &"refused".into()), "{a}");
    assert!(
        a["message"].as_str().unwrap().contains("at most 256"),
        "{a}"
    );
    assert_eq!(scan("A\u{1b}1").1["outcome"], "refused");
    let huge = scan_body(&"8".repeat(10 << 20));
    let (status, a) = post_scan(url, "COL-1", &ian, Some(&csrf), Some(url), &huge);
    assert_eq!((status, &a["outcome"]), (413, &"refused".into()), "{a}");
    assert!(
        a["message"].as_str().unwrap().contains("nothing recorded"),
        "{a}"
    );
    assert_eq!(events(), before, "a refused scan is recorded");
    assert_eq!(home.sql_count("SELECT COUNT(*) FROM collection_extras"), 1);

    // Who may scan: not without the session's CSRF token or from another site, not a viewer
    // (compliance, technician), not someone signed out; nothing is recorded for any of them.
    let body = scan_body("FORGED-1");
    let (status, _) = post_scan(url, "COL-1", &ian, None, Some(url), &body);
    assert_eq!(status, 403, "no CSRF token");
    let (status, _) = post_scan(url, "COL-1", &ian, Some("0000"), Some(url), &body);
    assert_eq!(status, 403, "a wrong CSRF token");
    let (status, _) = post_scan(
        url,
        "COL-1",
        &ian,
        Some(&csrf),
        Some("http://evil.example"),
        &body,
    );
    assert_eq!(status, 403, "from another site");
    for viewer in ["ann", "tom"] {
        let cookie = sign_in(url, viewer, PASSWORD);
        let page = get(url, "/collections/COL-1/goods-in", Cred::Cookie(&cookie));
        assert_eq!(page.status, 403, "{viewer} opens the goods-in page");
        let theirs = csrf_of(&get(url, "/", Cred::Cookie(&cookie)).body);
        let (status, a) = post_scan(url, "COL-1", &cookie, Some(&theirs), Some(url), &body);
        assert_eq!(status, 403, "{viewer} scans: {a}");
        let col = get(url, "/collections/COL-1", Cred::Cookie(&cookie));
        assert!(
            !col.body.contains("/goods-in\""),
            "{viewer} is shown the link"
        );
    }
    let (status, _) = post_scan(
        url,
        "COL-1",
        "0123456789abcdef",
        Some(&csrf),
        Some(url),
        &body,
    );
    assert_eq!(status, 303, "signed out");
    assert_eq!(events(), before, "a refused request is recorded");
    // An unknown collection.
    let (status, a) = post_scan(url, "COL-9", &ian, Some(&csrf), Some(url), &body);
    assert_eq!(status, 404, "{a}");

    // The register holds each receipt once, named after who scanned.
    let (code, c) = home.json(&["collections", "show", "COL-1", "--json"]);
    assert_eq!(code, 0, "{c}");
    assert_eq!(
        (c["received"].as_u64(), c["extras"].as_u64()),
        (Some(2), Some(1)),
        "{c}"
    );
    assert_eq!(c["state"], "received");
    assert_eq!(
        home.sql_count(
            "SELECT COUNT(*) FROM events WHERE kind = 'received' AND actor = 'ian' \
             AND asset_tag IN ('ACME-1', 'ACME-2')"
        ),
        2
    );
    let (code, r) = home.json(&["intake", "reconcile", "COL-1", "--json"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["extra"][0]["by"], "ian");
}

fn only_an_admin_resolves_a_missing_asset_from_the_page(backend: Backend) {
    let home = desk(backend);
    let server = Server::start(&home);
    let url = &server.url;
    let ian = sign_in(url, "ian", PASSWORD);
    let ada = sign_in(url, "ada", PASSWORD);
    // ACME-3 never arrived: not received yet, then, once goods-in has reconciled the
    // collection, flagged on its page.
    let page = get(url, "/collections/COL-2", Cred::Cookie(&ian));
    assert!(
        page.body.contains("1 asset(s) not received yet"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("unaccounted for"), "{}", page.body);
    let out = home.run(&["intake", "reconcile", "COL-2"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let page = get(url, "/collections/COL-2", Cred::Cookie(&ian));
    assert!(
        page.body.contains("1 asset(s) unaccounted for"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("action=\"/collections/COL-2/resolve\""));
    let resolve = |cookie: &str, csrf: &str, reason: &str, note: &str| {
        post_form(
            url,
            "/collections/COL-2/resolve",
            Cred::Cookie(cookie),
            Some(url),
            &[
                ("csrf", csrf),
                ("asset", "ACME-3"),
                ("reason", reason),
                ("note", note),
            ],
        )
    };
    let theirs = csrf_of(&page.body);
    assert_eq!(
        resolve(&ian, &theirs, "withdrawn", "").status,
        403,
        "intake resolves"
    );

    let page = get(url, "/collections/COL-2", Cred::Cookie(&ada));
    assert!(
        page.body.contains("action=\"/collections/COL-2/resolve\""),
        "{}",
        page.body
    );
    let csrf = csrf_of(&page.body);
    assert_eq!(
        resolve(&ada, "0000", "withdrawn", "").status,
        403,
        "no CSRF token"
    );
    let r = resolve(&ada, &csrf, "lost", " ");
    assert_eq!(r.status, 400, "lost without a note: {}", r.body);
    assert!(
        r.body.contains("needs a note naming the incident"),
        "{}",
        r.body
    );
    let r = resolve(&ada, &csrf, "stolen", "");
    assert_eq!(r.status, 400, "{}", r.body);
    let r = resolve(&ada, &csrf, "withdrawn", "customer kept it, call of 3 Dec");
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some("/collections/COL-2#custody"));
    // Once only.
    let r = resolve(&ada, &csrf, "found", "");
    assert_eq!(r.status, 409, "{}", r.body);

    let page = get(url, "/collections/COL-2", Cred::Cookie(&ian));
    assert!(!page.body.contains("unaccounted for"), "{}", page.body);
    assert!(
        page.body
            .contains("withdrawn by the customer; resolved by ada"),
        "{}",
        page.body
    );
    let (code, r) = home.json(&["intake", "reconcile", "COL-2", "--json"]);
    assert_eq!(code, 0, "{r}");
    let resolution = &r["missing"][0]["resolution"];
    assert_eq!(
        (
            &resolution["reason"],
            &resolution["by"],
            &resolution["note"]
        ),
        (
            &"withdrawn".into(),
            &"ada".into(),
            &"customer kept it, call of 3 Dec".into()
        ),
        "{r}"
    );
    assert_eq!(
        home.sql_count(
            "SELECT COUNT(*) FROM events WHERE asset_tag = 'ACME-3' AND actor = 'ada' \
             AND kind = 'resolved'"
        ),
        1,
        "the custody event names who resolved it"
    );
}
