//! The central register for operators and at scale, over real HTTP on 127.0.0.1: the health
//! check follows the database, unknown API paths and missing reports answer `404`, and lists
//! come a page at a time; each on SQLite and on PostgreSQL.

use serde_json::Value;

use crate::support::*;
use crate::web::{Cred, PASSWORD, get, register, sign_in};

on_each_backend!(
    operators_get_a_health_check_that_follows_the_database_and_json_404s,
    lists_come_a_page_at_a_time_with_their_total,
);

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn operators_get_a_health_check_that_follows_the_database_and_json_404s(backend: Backend) {
    let home = register(backend);
    let server = Server::start(&home);
    let url = &server.url;
    let health = get(url, "/api/v1/health", Cred::None);
    assert_eq!(health.status, 200, "{}", health.body);
    assert_eq!(json(&health.body)["database"], "ok", "{}", health.body);

    // An API path that is no route answers in JSON, signed in or not; a page path in HTML.
    let cookie = sign_in(url, "ann", PASSWORD);
    for cred in [Cred::None, Cred::Cookie(&cookie)] {
        for path in ["/api/v1/nothing", "/api/v1", "/api/v1/assets/ACME-1/more"] {
            let r = get(url, path, cred);
            assert_eq!(r.status, 404, "{path}: {}", r.body);
            assert!(
                json(&r.body)["error"]
                    .as_str()
                    .unwrap()
                    .contains("no API at"),
                "{path}: {}",
                r.body
            );
        }
    }
    let page = get(url, "/nothing", Cred::Cookie(&cookie));
    assert_eq!(page.status, 404);
    assert!(page.body.starts_with("<!DOCTYPE html>"), "{}", page.body);

    // The report of a collection that does not exist is not found, not a conflict.
    for path in [
        "/collections/NOPE/report.pdf",
        "/collections/NOPE/report.json",
    ] {
        let r = get(url, path, Cred::Cookie(&cookie));
        assert_eq!(r.status, 404, "{path}: {}", r.body);
        assert!(r.body.contains("no collection NOPE"), "{}", r.body);
    }

    let Some(database) = home.database.clone() else {
        return;
    };
    // The database stops taking connections and drops the server's: the health check says so.
    let name = database.rsplit('/').next().unwrap().to_string();
    let admin = database.replacen(&format!("/{name}"), "/postgres", 1);
    let mut pg = ::postgres::Client::connect(&admin, ::postgres::NoTls).unwrap();
    pg.batch_execute(&format!(
        "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false;
         SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}';"
    ))
    .unwrap();
    let down = get(url, "/api/v1/health", Cred::None);
    assert_eq!(down.status, 503, "{}", down.body);
    let v = json(&down.body);
    assert_eq!(v["database"], "unavailable", "{v}");
    let why = v["error"].as_str().unwrap();
    assert!(why.contains("the database does not answer"), "{why}");
    assert!(
        !why.contains("127.0.0.1"),
        "the database's host is told: {why}"
    );
    // Once it takes connections again, the server connects again and is healthy.
    pg.batch_execute(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"))
        .unwrap();
    let up = get(url, "/api/v1/health", Cred::None);
    assert_eq!(up.status, 200, "{}", up.body);
}

/// Follows `next` from `path` to the end; every page's items under `key`, and the totals.
fn every_page(url: &str, path: &str, key: &str, token: &str) -> (Vec<Value>, Vec<u64>) {
    let (mut items, mut totals) = (Vec::new(), Vec::new());
    let mut next = Some(path.to_string());
    while let Some(path) = next {
        let r = get(url, &path, Cred::Bearer(token));
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        let v = json(&r.body);
        items.extend(v[key].as_array().unwrap().iter().cloned());
        totals.push(v["total"].as_u64().unwrap());
        next = v["next"].as_str().map(str::to_string);
        assert!(totals.len() < 20, "next never ends: {v}");
    }
    (items, totals)
}

fn lists_come_a_page_at_a_time_with_their_total(backend: Backend) {
    let home = register(backend);
    let mut manifest = String::from("asset_tag,serial,type,media_serials\n");
    for i in 0..250 {
        manifest.push_str(&format!("BULK-{i:04},SN-{i:04},laptop,SN-{i:04}-D1\n"));
    }
    let out = import_manifest(&home, &manifest, "Bulk Ltd", "COL-2");
    assert!(out.status.success(), "{}", stderr(&out));
    let token = stdout(&home.run(&["tokens", "add", "dashboard"]))
        .trim()
        .to_string();
    let server = Server::start(&home);
    let url = &server.url;

    // The API: 100 by default, `next` until the end, every asset once and in tag order.
    let first = json(&get(url, "/api/v1/assets?collection=COL-2", Cred::Bearer(&token)).body);
    assert_eq!(first["total"], 250, "{first}");
    assert_eq!(first["assets"].as_array().unwrap().len(), 100);
    assert_eq!(
        first["next"], "/api/v1/assets?collection=COL-2&limit=100&offset=100",
        "{first}"
    );
    let (assets, totals) = every_page(
        url,
        "/api/v1/assets?collection=COL-2&limit=60",
        "assets",
        &token,
    );
    assert_eq!(totals, [250; 5]);
    let tags: Vec<&str> = assets
        .iter()
        .map(|a| a["asset_tag"].as_str().unwrap())
        .collect();
    let expected: Vec<String> = (0..250).map(|i| format!("BULK-{i:04}")).collect();
    assert_eq!(tags, expected);
    let (all, _) = every_page(url, "/api/v1/assets?limit=1000", "assets", &token);
    assert_eq!(all.len(), 252, "both collections");
    for bad in ["limit=0", "limit=1001", "limit=ten", "offset=-1"] {
        let r = get(url, &format!("/api/v1/assets?{bad}"), Cred::Bearer(&token));
        assert_eq!(r.status, 400, "{bad}: {}", r.body);
        assert!(json(&r.body)["error"].is_string(), "{}", r.body);
    }
    for (path, key) in [
        ("/api/v1/unmatched", "unmatched"),
        ("/api/v1/stations", "stations"),
    ] {
        let v = json(&get(url, path, Cred::Bearer(&token)).body);
        assert_eq!(
            (v["total"].as_u64(), v["next"].is_null()),
            (Some(0), true),
            "{v}"
        );
        assert!(v[key].is_array(), "{v}");
    }

    // The pages: the counts are over the whole collection, the rows a page at a time.
    let cookie = sign_in(url, "ann", PASSWORD);
    let page = get(url, "/collections/COL-2", Cred::Cookie(&cookie));
    assert_eq!(page.status, 200);
    assert!(page.body.contains("0 of 250 assets done"), "{}", page.body);
    assert!(page.body.contains("250 drive(s)"), "{}", page.body);
    assert!(page.body.contains("Rows 1–100 of 250"), "{}", page.body);
    assert!(page.body.contains("href=\"/collections/COL-2?page=2\""));
    assert!(page.body.contains("BULK-0099") && !page.body.contains("BULK-0100"));
    let last = get(url, "/collections/COL-2?page=3", Cred::Cookie(&cookie));
    assert!(last.body.contains("Rows 201–250 of 250"), "{}", last.body);
    assert!(last.body.contains("BULK-0249") && !last.body.contains("BULK-0199"));
    let found = get(url, "/assets?q=bulk-01", Cred::Cookie(&cookie));
    assert!(found.body.contains("100 asset(s) match"), "{}", found.body);
    assert!(!found.body.contains("Rows "), "one page: {}", found.body);
    let found = get(url, "/assets?q=bulk&page=2", Cred::Cookie(&cookie));
    assert!(found.body.contains("Rows 101–200 of 250"), "{}", found.body);
    assert!(found.body.contains("href=\"/assets?q=bulk&amp;page=3\""));
    let home_page = get(url, "/", Cred::Cookie(&cookie));
    assert!(home_page.body.contains("COL-2"), "{}", home_page.body);
}

/// A station of its own, enrolled on `central` as `name`.
fn enrolled_station(central: &Home, name: &str) -> Home {
    let s = Home::new();
    assert!(s.run(&["keys", "init"]).status.success());
    set_station_id(&s, name);
    let pem = s.path().join("station.pem");
    std::fs::write(&pem, s.run(&["keys", "export"]).stdout).unwrap();
    let out = central.run(&["stations", "add", pem.to_str().unwrap(), "--name", name]);
    assert!(out.status.success(), "{}", stderr(&out));
    s
}

#[test]
fn two_servers_on_one_database_keep_one_custody_chain() {
    let central = register(Backend::Postgres);
    let stations: Vec<Home> = ["bay-a", "bay-b", "bay-c"]
        .iter()
        .map(|n| enrolled_station(&central, n))
        .collect();
    let disks: Vec<ShmFile> = (0..12)
        .map(|i| ShmFile::with_pattern(&format!("two-servers-{i}"), 1 << 20))
        .collect();
    for (i, d) in disks.iter().enumerate() {
        let out = stations[i % 3].run(&[
            "wipe",
            d.path.to_str().unwrap(),
            "--method",
            "zero",
            "--yes",
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let servers = [Server::start(&central), Server::start(&central)];
    // Every station sends everything to both servers at once: each certificate races itself.
    let syncs: Vec<_> = stations
        .iter()
        .flat_map(|s| servers.iter().map(move |server| (s, server)))
        .map(|(s, server)| {
            let mut c = s.command(&["sync", "--register", &server.url]);
            std::thread::spawn(move || c.output().unwrap())
        })
        .collect();
    for t in syncs {
        let out = t.join().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    assert_eq!(central.sql_count("SELECT COUNT(*) FROM certificates"), 12);
    assert_eq!(
        central.sql_count("SELECT COUNT(*) FROM events WHERE kind = 'certificate'"),
        12,
        "each certificate's custody event once"
    );
    let (code, audit) = central.json(&["assets", "audit", "--json"]);
    assert_eq!((code, &audit["ok"]), (0, &Value::Bool(true)), "{audit}");

    // A session begun on one server is valid on the other; both answer their health check.
    let cookie = sign_in(&servers[0].url, "ann", PASSWORD);
    for server in &servers {
        assert_eq!(get(&server.url, "/", Cred::Cookie(&cookie)).status, 200);
        assert_eq!(get(&server.url, "/api/v1/health", Cred::None).status, 200);
    }
    let (_, unmatched) = central.json(&["assets", "unmatched", "--json"]);
    assert_eq!(
        unmatched["unmatched"].as_array().map(Vec::len),
        Some(12),
        "{unmatched}"
    );
}
