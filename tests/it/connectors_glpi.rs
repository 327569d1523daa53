//! The GLPI connector: contract tests against a fake GLPI `apirest.php` on 127.0.0.1 that
//! answers as GLPI's REST API does (initSession with a user token and App-Token, Session-Token
//! afterwards, `["ERROR_CODE", "message"]` errors, `searchText` lists, Document upload as
//! multipart `uploadManifest` + `filename[0]`, Document_Item links, killSession).

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::connectors::{connector, station_with, sync, wipe_serial};
use crate::fake_http::{FakeServer, Reply, Request};
use crate::support::*;

on_each_backend!(
    glpi_sets_the_state_and_links_one_document_and_a_second_sync_sends_nothing,
    glpi_wrong_user_token_is_told_with_glpis_error_and_sends_nothing,
    glpi_timeout_after_the_upload_links_the_document_already_there,
    glpi_finds_the_computer_by_its_hard_drive_and_an_unknown_one_stays_pending,
);

const USER_TOKEN: &str = "glpi-user-token-42";
const APP_TOKEN: &str = "glpi-app-token-7";

/// GLPI's side.
struct Glpi {
    sessions: HashSet<String>,
    opened: usize,
    killed: usize,
    computers: Vec<Value>,
    drives: Vec<Value>,
    states: Vec<Value>,
    /// Documents: id, name, file name, content.
    documents: Vec<(u64, String, String, Vec<u8>)>,
    links: Vec<Value>,
    stall_upload: Option<Duration>,
}

impl Glpi {
    fn new() -> Glpi {
        Glpi {
            sessions: HashSet::new(),
            opened: 0,
            killed: 0,
            computers: vec![
                json!({"id": 7, "name": "pc-leeds-7", "serial": "LAP-1", "otherserial": "ACME-1", "states_id": 1}),
                json!({"id": 8, "name": "ACME-2", "serial": "SRV-2", "otherserial": "", "states_id": 1}),
            ],
            drives: vec![
                json!({"id": 70, "itemtype": "Computer", "items_id": 9, "serial": "LOOSE-D1"}),
            ],
            states: vec![
                json!({"id": 1, "name": "In use", "completename": "In use"}),
                json!({"id": 3, "name": "Wiped", "completename": "Wiped"}),
                json!({"id": 4, "name": "Destroyed", "completename": "Destroyed"}),
            ],
            documents: Vec::new(),
            links: Vec::new(),
            stall_upload: None,
        }
    }

    fn computer(&self, id: u64) -> &Value {
        self.computers.iter().find(|c| c["id"] == id).unwrap()
    }
}

fn glpi_error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(status, json!([code, message]))
}

fn list(rows: &[Value], r: &Request) -> Reply {
    let found: Vec<Value> = rows
        .iter()
        .filter(|row| {
            r.query.iter().all(|(k, v)| {
                let Some(field) = k
                    .strip_prefix("searchText[")
                    .and_then(|f| f.strip_suffix(']'))
                else {
                    return true;
                };
                row[field]
                    .as_str()
                    .is_some_and(|s| s.to_lowercase().contains(&v.to_lowercase()))
            })
        })
        .cloned()
        .collect();
    Reply::json(200, Value::Array(found))
}

fn glpi(g: &mut Glpi, r: &Request) -> Reply {
    if r.header("app-token") != Some(APP_TOKEN) {
        return glpi_error(
            400,
            "ERROR_WRONG_APP_TOKEN_PARAMETER",
            "parameter app_token seems wrong",
        );
    }
    let path = r.path.strip_prefix("/apirest.php/").unwrap_or("");
    if path == "initSession" {
        if r.header("authorization") != Some(&format!("user_token {USER_TOKEN}")) {
            return glpi_error(
                401,
                "ERROR_GLPI_LOGIN_USER_TOKEN",
                "parameter user_token seems invalid",
            );
        }
        g.opened += 1;
        let token = format!("session-{}", g.opened);
        g.sessions.insert(token.clone());
        return Reply::json(200, json!({"session_token": token}));
    }
    let session = r.header("session-token").unwrap_or("").to_string();
    if !g.sessions.contains(&session) {
        return glpi_error(
            401,
            "ERROR_SESSION_TOKEN_INVALID",
            "session_token seems invalid",
        );
    }
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match (r.method.as_str(), segments.as_slice()) {
        ("GET", ["killSession"]) => {
            g.sessions.remove(&session);
            g.killed += 1;
            Reply::json(200, json!(true))
        }
        ("GET", ["Computer"]) => list(&g.computers, r),
        ("GET", ["Item_DeviceHardDrive"]) => list(&g.drives, r),
        ("GET", ["State"]) => list(&g.states, r),
        ("GET", ["Document"]) => {
            let rows: Vec<Value> = g
                .documents
                .iter()
                .map(|d| json!({"id": d.0, "name": d.1, "filename": d.2}))
                .collect();
            list(&rows, r)
        }
        ("GET", ["Computer", id, "Document_Item"]) => {
            let id: u64 = id.parse().unwrap_or(0);
            let rows: Vec<Value> = g
                .links
                .iter()
                .filter(|l| l["itemtype"] == "Computer" && l["items_id"] == id)
                .cloned()
                .collect();
            Reply::json(200, Value::Array(rows))
        }
        ("POST", ["Document"]) => {
            let parts = r.multipart();
            let Some(manifest) = parts.iter().find(|p| p.0 == "uploadManifest") else {
                return glpi_error(
                    400,
                    "ERROR_UPLOAD_FILE_TOO_BIG_POST_MAX_SIZE",
                    "no uploadManifest",
                );
            };
            let Ok(manifest) = serde_json::from_slice::<Value>(&manifest.2) else {
                return glpi_error(
                    400,
                    "ERROR_JSON_PAYLOAD_INVALID",
                    "JSON payload seems not valid",
                );
            };
            let wanted = manifest["input"]["_filename"][0]
                .as_str()
                .unwrap_or("")
                .to_string();
            let Some(file) = parts
                .iter()
                .find(|p| p.0 == "filename[0]" && p.1.as_deref() == Some(wanted.as_str()))
            else {
                return glpi_error(
                    400,
                    "ERROR_BAD_ARRAY",
                    "no file filename[0] named as in _filename",
                );
            };
            let id = 100 + g.documents.len() as u64;
            let name = manifest["input"]["name"].as_str().unwrap_or("").to_string();
            g.documents.push((id, name, wanted, file.2.clone()));
            Reply {
                status: 201,
                body: json!({"id": id, "message": "Document move succeeded.", "upload_result": {}}),
                delay: g.stall_upload.take(),
            }
        }
        ("POST", ["Document_Item"]) => {
            let input =
                serde_json::from_slice::<Value>(&r.body).unwrap_or(Value::Null)["input"].clone();
            if input["documents_id"].as_u64().is_none() || input["items_id"].as_u64().is_none() {
                return glpi_error(400, "ERROR_GLPI_ADD", "missing documents_id or items_id");
            }
            let id = 500 + g.links.len() as u64;
            g.links.push(input);
            Reply::json(201, json!({"id": id, "message": ""}))
        }
        ("PUT", ["Computer", id]) => {
            let id: u64 = id.parse().unwrap_or(0);
            let input =
                serde_json::from_slice::<Value>(&r.body).unwrap_or(Value::Null)["input"].clone();
            let Some(c) = g.computers.iter_mut().find(|c| c["id"] == id) else {
                return glpi_error(400, "ERROR_ITEM_NOT_FOUND", "Item not found");
            };
            if let Value::Object(map) = input {
                for (k, v) in map {
                    c[k] = v;
                }
            }
            Reply::json(200, json!([{ id.to_string(): true, "message": "" }]))
        }
        _ => glpi_error(
            400,
            "ERROR_RESOURCE_NOT_FOUND_NOR_COMMONDBTM",
            "resource not found",
        ),
    }
}

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
