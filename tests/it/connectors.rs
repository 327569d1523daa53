//! Connectors to the customer's asset system: contract tests against a fake Snipe-IT on
//! 127.0.0.1 that answers as Snipe-IT's REST API v1 does (Bearer token, JSON only,
//! `{"status": "error"}` with HTTP 200, multipart `file[]` uploads stored under a new name),
//! driven through the real binary: wipes of files in /dev/shm, `sync`, `assets show`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::fake_http::FakeServer;
use crate::fake_snipeit::{Snipe, TOKEN, snipe};
use crate::support::*;

on_each_backend!(
    snipeit_retires_the_asset_attaches_the_pdf_once_and_a_second_sync_sends_nothing,
    snipeit_wrong_token_sends_nothing_and_the_right_one_later_sends_it,
    snipeit_unknown_asset_stays_pending_with_snipeits_message_until_it_is_added,
    snipeit_timeout_after_the_upload_does_not_upload_twice,
    snipeit_incomplete_is_not_retired_and_a_destroyed_asset_gets_the_destroyed_label,
    snipeit_a_deployable_label_is_refused_before_anything_is_sent,
    snipeit_an_asset_with_a_drive_not_yet_wiped_gets_the_file_but_keeps_its_status,
    sync_only_names_one_connector_and_a_token_in_the_config_is_refused,
    snipeit_a_refused_update_answered_with_200_stays_pending_and_the_retry_does_not_upload_again,
);

const MANIFEST: &str = "asset_tag,serial,type,media_serials\n\
ACME-1,LAP-1,laptop,\n\
ACME-2,SRV-2,server,SRV2-D1;SRV2-D2\n";

/// A station with the manifest imported and `connector` appended to its config.
pub fn station_with(backend: Backend, connector: &str) -> Home {
    let home = Home::on(backend);
    let out = import_manifest(&home, MANIFEST, "Acme", "COL-1");
    assert!(out.status.success(), "{}", stderr(&out));
    let path = home.path().join("wipeproof.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(connector);
    std::fs::write(&path, text).unwrap();
    home
}

fn snipe_config(url: &str, extra: &str) -> String {
    format!(
        "\n[[connector]]\nname = \"acme-snipeit\"\nkind = \"snipeit\"\nurl = \"{url}\"\n\
         token_env = \"ACME_SNIPEIT_TOKEN\"\nretired_status = \"Wiped\"\n\
         destroyed_status = \"Destroyed\"\ncertificate_field = \"_snipeit_wipe_certificate_5\"\n{extra}"
    )
}

/// Wipes a file named after a drive serial (the file's name is its serial); returns the
/// certificate id.
pub fn wipe_serial(home: &Home, serial: &str, extra: &[&str]) -> String {
    let dir = tempfile::tempdir_in("/dev/shm").unwrap();
    let disk = dir.path().join(format!("{serial}.img"));
    write_pattern(&disk, 4 << 20);
    let mut args = vec![
        "wipe",
        disk.to_str().unwrap(),
        "--method",
        "zero",
        "--yes",
        "--json",
    ];
    args.extend_from_slice(extra);
    let (code, v) = home.json(&args);
    // Exit 0 for a PASS, 1 for a certificate of FAIL or INCOMPLETE (`--verify none`); never a
    // wipe that went wrong some other way.
    let drive = only_drive(&v);
    let expected = if drive["result"] == "PASS" { 0 } else { 1 };
    assert_eq!(code, expected, "{v}");
    if !extra.contains(&"none") {
        assert_eq!(drive["result"], "PASS", "{v}");
    }
    drive["certificate_id"].as_str().unwrap().to_string()
}

/// `sync` with the token in the environment; exit code and JSON.
pub fn sync(home: &Home, token: &str, extra: &[&str]) -> (i32, Value, String) {
    let mut args = vec!["sync", "--json"];
    args.extend_from_slice(extra);
    let out = home
        .command(&args)
        .env("ACME_SNIPEIT_TOKEN", token)
        .env("ACME_GLPI_TOKEN", token)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", stderr(&out)));
    (out.status.code().unwrap_or(-1), v, stderr(&out))
}

pub fn connector<'a>(v: &'a Value, name: &str) -> &'a Value {
    v["connectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no connector {name} in {v}"))
}

fn snipeit_retires_the_asset_attaches_the_pdf_once_and_a_second_sync_sends_nothing(
    backend: Backend,
) {
    let server = FakeServer::start(Snipe::new(), snipe);
    let home = station_with(backend, &snipe_config(&server.url, ""));
    let cert = wipe_serial(&home, "LAP-1", &[]);
    let (code, v, err) = sync(&home, TOKEN, &[]);
    assert_eq!(code, 0, "{v}\n{err}");
    let c = connector(&v, "acme-snipeit");
    assert_eq!(c["sent"].as_array().unwrap().len(), 1, "{c}");
    assert_eq!(c["sent"][0]["subject"], cert.as_str());
    {
        let s = server.state.lock().unwrap();
        assert_eq!(s.files.len(), 1);
        let (asset, stored, note, content) = &s.files[0];
        assert_eq!(*asset, 11, "found by the tag ACME-1");
        assert!(
            stored.ends_with(&format!("-wipeproof-certificate-{cert}.pdf")),
            "{stored}"
        );
        assert!(note.contains(&cert), "{note}");
        assert!(content.starts_with(b"%PDF"), "the certificate PDF itself");
        let a = s.asset(11);
        assert_eq!(a["status_id"], 4, "the Wiped label: {a}");
        assert_eq!(
            a["_snipeit_wipe_certificate_5"],
            format!("{cert} PASS").as_str()
        );
    }
    let (code, a) = home.json(&["assets", "show", "ACME-1", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(a["connectors"][0]["state"], "done", "{a}");
    assert_eq!(a["connectors"][0]["connector"], "acme-snipeit");
    // The second sync sends nothing: not a single request.
    server.clear_log();
    let (code, v, err) = sync(&home, TOKEN, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        connector(&v, "acme-snipeit")["sent"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(server.requests(), Vec::<String>::new());
    assert_eq!(server.state.lock().unwrap().files.len(), 1);
}

fn snipeit_wrong_token_sends_nothing_and_the_right_one_later_sends_it(backend: Backend) {
    let server = FakeServer::start(Snipe::new(), snipe);
    let home = station_with(backend, &snipe_config(&server.url, ""));
    wipe_serial(&home, "LAP-1", &[]);
    let (code, v, err) = sync(&home, "wrong-token", &[]);
    assert_eq!(code, 1, "{v}");
    let c = connector(&v, "acme-snipeit");
    let stop = c["error"].as_str().unwrap();
    assert!(stop.contains("the token was refused"), "{stop}");
    assert!(stop.contains("Unauthorized or unauthenticated."), "{stop}");
    assert!(err.contains("stopped: connector acme-snipeit"), "{err}");
    assert!(server.state.lock().unwrap().files.is_empty());
    // The token is never written anywhere the register keeps.
    let (_, a) = home.json(&["assets", "show", "ACME-1", "--json"]);
    assert_eq!(a["connectors"][0]["state"], "pending", "{a}");
    assert!(!a.to_string().contains("wrong-token"));
    let (code, v, _) = sync(&home, TOKEN, &[]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(server.state.lock().unwrap().files.len(), 1);
}

fn snipeit_unknown_asset_stays_pending_with_snipeits_message_until_it_is_added(backend: Backend) {
    let mut snipe_it = Snipe::new();
    snipe_it.assets.retain(|a| a["asset_tag"] != "ACME-1");
    let server = FakeServer::start(snipe_it, snipe);
    let home = station_with(backend, &snipe_config(&server.url, ""));
    let cert = wipe_serial(&home, "LAP-1", &[]);
    let (code, v, err) = sync(&home, TOKEN, &[]);
    assert_eq!(code, 1, "pending work fails the sync: {v}");
    let pending = &connector(&v, "acme-snipeit")["pending"][0];
    assert_eq!(pending["subject"], cert.as_str());
    let message = pending["message"].as_str().unwrap();
    assert!(message.contains("Asset does not exist."), "{message}");
    assert!(message.contains("tag ACME-1"), "{message}");
    assert!(err.contains(&format!("pending {cert}")), "{err}");
    let (_, a) = home.json(&["assets", "show", "ACME-1", "--json"]);
    assert_eq!(a["connectors"][0]["state"], "pending");
    assert!(
        a["connectors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Asset does not exist."),
        "{a}"
    );
    let text = stdout(&home.run(&["assets", "show", "ACME-1"]));
    assert!(text.contains("connector acme-snipeit"), "{text}");
    assert!(server.state.lock().unwrap().files.is_empty());
    // The customer adds it (under another tag; its serial matches): the next sync sends it.
    server.state.lock().unwrap().assets.push(
        json!({"id": 31, "asset_tag": "CUST-77", "serial": "LAP-1", "status_label": {"id": 1}}),
    );
    let (code, v, _) = sync(&home, TOKEN, &[]);
    assert_eq!(code, 0, "{v}");
    let s = server.state.lock().unwrap();
    assert_eq!(s.files.len(), 1);
    assert_eq!(s.files[0].0, 31);
    assert_eq!(s.asset(31)["status_id"], 4);
}

fn snipeit_timeout_after_the_upload_does_not_upload_twice(backend: Backend) {
    let mut snipe_it = Snipe::new();
    snipe_it.stall_upload = Some(Duration::from_secs(4));
    let server = FakeServer::start(snipe_it, snipe);
    let home = station_with(backend, &snipe_config(&server.url, "timeout_seconds = 1\n"));
    let cert = wipe_serial(&home, "LAP-1", &[]);
    let (code, v, _) = sync(&home, TOKEN, &[]);
    assert_eq!(code, 1, "{v}");
    let c = connector(&v, "acme-snipeit");
    assert!(c["error"].as_str().unwrap().contains("cannot reach"), "{c}");
    // Snipe-IT stored the file; the station did not hear back.
    assert_eq!(server.state.lock().unwrap().files.len(), 1);
    assert_eq!(
        server.state.lock().unwrap().asset(11)["status_id"],
        Value::Null
    );
    let (code, v, _) = sync(&home, TOKEN, &[]);
    assert_eq!(code, 0, "{v}");
    let sent = &connector(&v, "acme-snipeit")["sent"][0];
    assert!(
        sent["message"]
            .as_str()
            .unwrap()
            .contains("already attached"),
        "{sent}"
    );
    let s = server.state.lock().unwrap();
    assert_eq!(s.files.len(), 1, "uploaded once");
    assert_eq!(s.asset(11)["status_id"], 4);
    assert_eq!(
        s.asset(11)["_snipeit_wipe_certificate_5"],
        format!("{cert} PASS").as_str()
    );
}

fn snipeit_incomplete_is_not_retired_and_a_destroyed_asset_gets_the_destroyed_label(
    backend: Backend,
) {
    let server = FakeServer::start(Snipe::new(), snipe);
    let home = station_with(backend, &snipe_config(&server.url, ""));
    let cert = wipe_serial(&home, "LAP-1", &["--verify", "none"]);
    let (code, v, err) = sync(&home, TOKEN, &[]);
    assert_eq!(code, 0, "{v}");
    let skipped = &connector(&v, "acme-snipeit")["skipped"][0];
    assert_eq!(skipped["subject"], cert.as_str());
    let why = skipped["message"].as_str().unwrap();
    assert!(why.contains("result INCOMPLETE: nothing sent"), "{why}");
    assert!(err.contains("not sent"), "{err}");
    assert_eq!(
        server.requests(),
        Vec::<String>::new(),
        "nothing sent at all"
    );
    // The laptop is shredded instead.
    let out = home.run(&[
        "assets",
        "destroy",
        "ACME-1",
        "--method",
        "shredded",
        "--witness",
        "J. Doe",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (code, v, _) = sync(&home, TOKEN, &[]);
    assert_eq!(code, 0, "{v}");
    let sent = connector(&v, "acme-snipeit")["sent"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(sent.len(), 1, "{v}");
    assert_eq!(sent[0]["subject"], "destroyed:ACME-1");
    let s = server.state.lock().unwrap();
    assert_eq!(s.asset(11)["status_id"], 5, "the Destroyed label");
    assert!(s.files.is_empty());
}

fn snipeit_a_deployable_label_is_refused_before_anything_is_sent(backend: Backend) {
    let server = FakeServer::start(Snipe::new(), snipe);
    let home = station_with(
        backend,
        &snipe_config(&server.url, "").replace("\"Wiped\"", "\"In Repair\""),
    );
    wipe_serial(&home, "LAP-1", &[]);
    let (code, v, _) = sync(&home, TOKEN, &[]);
    assert_eq!(code, 1);
    let stop = connector(&v, "acme-snipeit")["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        stop.contains("\"In Repair\" is of type undeployable, not archived"),
        "{stop}"
    );
    assert!(server.state.lock().unwrap().files.is_empty());
}

fn snipeit_an_asset_with_a_drive_not_yet_wiped_gets_the_file_but_keeps_its_status(
    backend: Backend,
) {
    let server = FakeServer::start(Snipe::new(), snipe);
    let home = station_with(backend, &snipe_config(&server.url, ""));
    wipe_serial(&home, "SRV2-D1", &[]);
    let (code, v, _) = sync(&home, TOKEN, &[]);
    assert_eq!(code, 0, "{v}");
    let message = connector(&v, "acme-snipeit")["sent"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("status left as it is"), "{message}");
    {
        let s = server.state.lock().unwrap();
        assert_eq!(s.files.len(), 1);
        assert_eq!(s.asset(12)["status_id"], Value::Null);
    }
    // The second drive passes: the server is retired now.
    wipe_serial(&home, "SRV2-D2", &[]);
    let (code, _, _) = sync(&home, TOKEN, &[]);
    assert_eq!(code, 0);
    let s = server.state.lock().unwrap();
    assert_eq!(s.files.len(), 2);
    assert_eq!(s.asset(12)["status_id"], 4);
}

fn sync_only_names_one_connector_and_a_token_in_the_config_is_refused(backend: Backend) {
    let server = FakeServer::start(Snipe::new(), snipe);
    let home = station_with(backend, &snipe_config(&server.url, ""));
    wipe_serial(&home, "LAP-1", &[]);
    let out = home.run(&["sync", "--only", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--only nope: no [[connector]] of that name"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("acme-snipeit"), "{}", stderr(&out));
    let (code, v, _) = sync(&home, TOKEN, &["--only", "acme-snipeit"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        connector(&v, "acme-snipeit")["sent"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // A token written into the file is refused at load, naming the connector.
    let path = home.path().join("wipeproof.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("token_env = \"ACME_SNIPEIT_TOKEN\"", "token = \"abc\""),
    )
    .unwrap();
    let out = home.run(&["assets", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("[[connector]] acme-snipeit: `token` is not accepted"),
        "{}",
        stderr(&out)
    );
}

fn snipeit_a_refused_update_answered_with_200_stays_pending_and_the_retry_does_not_upload_again(
    backend: Backend,
) {
    let mut snipe_it = Snipe::new();
    snipe_it.strict_fields = vec!["_snipeit_wipe_certificate_5".into()];
    let server = FakeServer::start(snipe_it, snipe);
    let home = station_with(backend, &snipe_config(&server.url, ""));
    let cert = wipe_serial(&home, "LAP-1", &[]);
    let (code, v, _) = sync(&home, TOKEN, &[]);
    assert_eq!(code, 1, "an error answered with HTTP 200 is a failure: {v}");
    let pending = &connector(&v, "acme-snipeit")["pending"][0];
    let message = pending["message"].as_str().unwrap();
    assert!(
        message.contains("_snipeit_wipe_certificate_5: The field format is invalid."),
        "{message}"
    );
    // The status does not wait for the field.
    assert_eq!(server.state.lock().unwrap().asset(11)["status_id"], 4);
    // The customer fixes the field's format; the retry sets it without a second upload.
    server.state.lock().unwrap().strict_fields.clear();
    let (code, v, _) = sync(&home, TOKEN, &[]);
    assert_eq!(code, 0, "{v}");
    let s = server.state.lock().unwrap();
    assert_eq!(s.files.len(), 1);
    assert_eq!(
        s.asset(11)["_snipeit_wipe_certificate_5"],
        format!("{cert} PASS").as_str()
    );
}

#[test]
fn snipeit_a_throttled_sync_waits_as_retry_after_says_and_tells_it() {
    // RouteServiceProvider::configureRateLimiting: 429 with Retry-After once the calls of the
    // window are spent (3 a second here, so one certificate meets it).
    let mut fake = Snipe::new();
    fake.throttle = Some((3, Duration::from_secs(1)));
    let server = FakeServer::start(fake, snipe);
    let home = station_with(Backend::Sqlite, &snipe_config(&server.url, ""));
    wipe_serial(&home, "LAP-1", &[]);
    let (code, v, err) = sync(&home, TOKEN, &[]);
    assert_eq!(code, 0, "{v}\n{err}");
    assert!(err.contains("connector acme-snipeit: "), "{err}");
    assert!(
        err.contains(
            "answered 429 Too Many Requests; waiting 1 s as its Retry-After says, then going on"
        ),
        "{err}"
    );
    let s = server.state.lock().unwrap();
    assert!(s.throttled > 0);
    assert_eq!(s.files.len(), 1);
    assert_eq!(s.asset(11)["status_id"], 4);
}
