//! The GLPI connector: contract tests against a fake GLPI `apirest.php` on 127.0.0.1 that
//! answers as GLPI's REST API does (initSession with a user token and App-Token, Session-Token
//! afterwards, `["ERROR_CODE", "message"]` errors, `searchText` lists, Document upload as
//! multipart `uploadManifest` + `filename[0]`, Document_Item links, killSession).

use std::time::Duration;

use serde_json::json;

use crate::connectors::{connector, station_with, sync, wipe_serial};
use crate::fake_glpi::{APP_TOKEN, Glpi, USER_TOKEN, glpi};
use crate::fake_http::FakeServer;
use crate::support::*;

on_each_backend!(
    glpi_sets_the_state_and_links_one_document_and_a_second_sync_sends_nothing,
    glpi_wrong_user_token_is_told_with_glpis_error_and_sends_nothing,
    glpi_timeout_after_the_upload_links_the_document_already_there,
    glpi_finds_the_computer_by_its_hard_drive_and_an_unknown_one_stays_pending,
);

fn glpi_config(url: &str, extra: &str) -> String {
    format!(
        "\n[[connector]]\nname = \"acme-glpi\"\nkind = \"glpi\"\nurl = \"{url}/apirest.php\"\n\
         token_env = \"ACME_GLPI_TOKEN\"\napp_token_file = \"APP\"\nretired_status = \"Wiped\"\n\
         destroyed_status = \"Destroyed\"\n{extra}"
    )
}

/// A station whose GLPI App-Token is in a file.
fn glpi_station(backend: Backend, url: &str, extra: &str) -> (Home, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let app = dir.path().join("app-token");
    std::fs::write(&app, format!("{APP_TOKEN}\n")).unwrap();
    let home = station_with(
        backend,
        &glpi_config(url, extra).replace("\"APP\"", &format!("{:?}", app)),
    );
    (home, dir)
}

fn glpi_sets_the_state_and_links_one_document_and_a_second_sync_sends_nothing(backend: Backend) {
    let server = FakeServer::start(Glpi::new(), glpi);
    let (home, _app) = glpi_station(backend, &server.url, "");
    let cert = wipe_serial(&home, "LAP-1", &[]);
    let (code, v, err) = sync(&home, USER_TOKEN, &[]);
    assert_eq!(code, 0, "{v}\n{err}");
    assert_eq!(
        connector(&v, "acme-glpi")["sent"].as_array().unwrap().len(),
        1,
        "{v}"
    );
    {
        let g = server.state.lock().unwrap();
        assert_eq!(g.documents.len(), 1);
        let (doc, name, file, content) = &g.documents[0];
        assert!(name.contains(&cert), "{name}");
        assert!(file.contains(&cert), "{file}");
        assert!(content.starts_with(b"%PDF"));
        assert_eq!(
            g.links,
            vec![json!({"documents_id": doc, "itemtype": "Computer", "items_id": 7})]
        );
        assert_eq!(
            g.computer(7)["states_id"],
            3,
            "found by inventory number ACME-1, now Wiped"
        );
        assert_eq!((g.opened, g.killed), (1, 1), "one session, closed");
    }
    let (_, a) = home.json(&["assets", "show", "ACME-1", "--json"]);
    assert_eq!(a["connectors"][0]["state"], "done", "{a}");
    server.clear_log();
    let (code, _, _) = sync(&home, USER_TOKEN, &[]);
    assert_eq!(code, 0);
    assert_eq!(
        server.requests(),
        Vec::<String>::new(),
        "not even a session"
    );
}

fn glpi_wrong_user_token_is_told_with_glpis_error_and_sends_nothing(backend: Backend) {
    let server = FakeServer::start(Glpi::new(), glpi);
    let (home, _app) = glpi_station(backend, &server.url, "");
    wipe_serial(&home, "LAP-1", &[]);
    let (code, v, _) = sync(&home, "not-the-token", &[]);
    assert_eq!(code, 1);
    let stop = connector(&v, "acme-glpi")["error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(stop.contains("the token was refused"), "{stop}");
    assert!(
        stop.contains("ERROR_GLPI_LOGIN_USER_TOKEN: parameter user_token seems invalid"),
        "{stop}"
    );
    let g = server.state.lock().unwrap();
    assert!(g.documents.is_empty());
    assert_eq!(g.computer(7)["states_id"], 1);
}

fn glpi_timeout_after_the_upload_links_the_document_already_there(backend: Backend) {
    let mut fake = Glpi::new();
    fake.stall_upload = Some(Duration::from_secs(4));
    let server = FakeServer::start(fake, glpi);
    let (home, _app) = glpi_station(backend, &server.url, "timeout_seconds = 1\n");
    wipe_serial(&home, "LAP-1", &[]);
    let (code, v, _) = sync(&home, USER_TOKEN, &[]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(server.state.lock().unwrap().documents.len(), 1);
    assert!(server.state.lock().unwrap().links.is_empty());
    let (code, v, _) = sync(&home, USER_TOKEN, &[]);
    assert_eq!(code, 0, "{v}");
    let message = connector(&v, "acme-glpi")["sent"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("already there"), "{message}");
    let g = server.state.lock().unwrap();
    assert_eq!(g.documents.len(), 1, "uploaded once");
    assert_eq!(g.links.len(), 1);
    assert_eq!(g.computer(7)["states_id"], 3);
}

fn glpi_finds_the_computer_by_its_hard_drive_and_an_unknown_one_stays_pending(backend: Backend) {
    let mut fake = Glpi::new();
    fake.computers
        .push(json!({"id": 9, "name": "spare", "serial": "", "otherserial": "", "states_id": 1}));
    let server = FakeServer::start(fake, glpi);
    let (home, _app) = glpi_station(backend, &server.url, "");
    // No asset in the register has these drives: the certificates are unmatched here.
    let loose = wipe_serial(&home, "LOOSE-D1", &[]);
    let stray = wipe_serial(&home, "STRAY-D9", &[]);
    let (code, v, _) = sync(&home, USER_TOKEN, &[]);
    assert_eq!(code, 1, "{v}");
    let c = connector(&v, "acme-glpi");
    assert_eq!(c["sent"][0]["subject"], loose.as_str(), "{c}");
    assert_eq!(c["pending"][0]["subject"], stray.as_str(), "{c}");
    let why = c["pending"][0]["message"].as_str().unwrap();
    assert!(why.contains("no hard drive with serial STRAY-D9"), "{why}");
    let g = server.state.lock().unwrap();
    assert_eq!(g.computer(9)["states_id"], 3);
    assert_eq!(g.links[0]["items_id"], 9);
}
