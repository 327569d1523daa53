//! A fake GLPI `apirest.php` that answers as GLPI's own source does (glpi-project/glpi 10 and
//! 11), for the connector's contract tests:
//!
//! * `src/Api/APIRest.php`: initSession with `Authorization: user_token` and `App-Token`,
//!   `Session-Token` afterwards; `returnSanitizedContent()`: strings are answered as stored
//!   (GLPI 10 stores `& < >` as `&#38; &#60; &#62;`) unless `X-GLPI-Sanitized-Content: false`.
//! * `src/Api/API.php`: errors `["ERROR_CODE", "message"]`; `getItems` (and the sub-item list
//!   `getSubItems` uses) answers `range` 0-14 by default, 206 and `Content-Range: a-b/total`
//!   while more is left, 400 `ERROR_RANGE_EXCEED_TOTAL` past the end; `createItems` answers
//!   201 `{"id", "message", "upload_result"}` and a refused add 400 `ERROR_GLPI_ADD`;
//!   `updateItems` answers 200 `[{"ID": true, "message": ""}]` and a refused single update
//!   400 `["ERROR_GLPI_UPDATE", message]`; `messageRightError` is 401 `ERROR_RIGHT_MISSING`.
//! * `Document::prepareInputForAdd`: a refused upload (too big, type not allowed) still
//!   creates the Document, without a file; the refusal is only in `upload_result`.
//! * `Document_Item::prepareInputForAdd`: a second link of the same document to the same item
//!   is refused.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::fake_http::{Reply, Request};

pub const USER_TOKEN: &str = "glpi-user-token-42";
pub const APP_TOKEN: &str = "glpi-app-token-7";

/// GLPI's side; strings are kept as GLPI 10 stores them (sanitized).
pub struct Glpi {
    pub sessions: HashSet<String>,
    pub opened: usize,
    pub killed: usize,
    pub computers: Vec<Value>,
    pub drives: Vec<Value>,
    pub states: Vec<Value>,
    /// Documents: id, name, file name ("" when GLPI refused the file), content.
    pub documents: Vec<(u64, String, String, Vec<u8>)>,
    pub links: Vec<Value>,
    pub stall_upload: Option<Duration>,
    /// Files larger than this are refused (PHP's upload_max_filesize).
    pub max_upload: Option<usize>,
    /// Updates of items are refused with this message.
    pub refuse_update: Option<String>,
    /// Computers the API user has no right on.
    pub no_right: Vec<u64>,
    /// Document ids purged.
    pub purged: Vec<u64>,
}

impl Glpi {
    pub fn new() -> Glpi {
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
            max_upload: None,
            refuse_update: None,
            no_right: Vec::new(),
            purged: Vec::new(),
        }
    }

    pub fn computer(&self, id: u64) -> &Value {
        self.computers.iter().find(|c| c["id"] == id).unwrap()
    }
}

/// GLPI 10's `Sanitizer::encodeHtmlSpecialChars`.
pub fn sanitize(s: &str) -> String {
    s.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
}

fn unsanitize(s: &str) -> String {
    s.replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
}

/// A row as answered: decoded when the client asked for raw content.
fn shown(row: &Value, r: &Request) -> Value {
    if r.header("x-glpi-sanitized-content") != Some("false") {
        return row.clone();
    }
    match row {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| match v {
                    Value::String(s) => (k.clone(), Value::String(unsanitize(s))),
                    other => (k.clone(), other.clone()),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

pub fn glpi_error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(status, json!([code, message]))
}

/// `API::getItems`: `searchText[FIELD]` (contains, on the stored value), then `range`.
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
                    .is_some_and(|s| s.to_lowercase().contains(&sanitize(v).to_lowercase()))
            })
        })
        .cloned()
        .collect();
    page(found, r)
}

fn page(rows: Vec<Value>, r: &Request) -> Reply {
    let range = r.query.get("range").cloned().unwrap_or("0-14".into());
    let (start, end) = range.split_once('-').unwrap_or(("0", "14"));
    let (start, end): (usize, usize) = (start.parse().unwrap_or(0), end.parse().unwrap_or(14));
    let total = rows.len();
    if start > total {
        return glpi_error(
            400,
            "ERROR_RANGE_EXCEED_TOTAL",
            "Provided range exceed total count of data",
        );
    }
    let last = end.min(total.saturating_sub(1));
    let part: Vec<Value> = rows
        .iter()
        .skip(start)
        .take(end + 1 - start)
        .map(|row| shown(row, r))
        .collect();
    let status = if part.len() < total { 206 } else { 200 };
    Reply::json(status, Value::Array(part))
        .header("Content-Range", format!("{start}-{last}/{total}"))
        .header("Accept-Range", "Computer 1000")
}

pub fn glpi(g: &mut Glpi, r: &Request) -> Reply {
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
    if let ["Computer", id, ..] = segments.as_slice()
        && g.no_right.contains(&id.parse().unwrap_or(0))
    {
        return glpi_error(
            401,
            "ERROR_RIGHT_MISSING",
            "You don't have permission to perform this action.",
        );
    }
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
        ("GET", ["Computer", id]) => match g
            .computers
            .iter()
            .find(|c| c["id"] == id.parse::<u64>().unwrap_or(0))
        {
            Some(c) => Reply::json(200, shown(c, r)),
            None => glpi_error(404, "ERROR_ITEM_NOT_FOUND", "Item not found"),
        },
        ("GET", ["Computer", id, "Document_Item"]) => {
            let id: u64 = id.parse().unwrap_or(0);
            let rows: Vec<Value> = g
                .links
                .iter()
                .filter(|l| l["itemtype"] == "Computer" && l["items_id"] == id)
                .cloned()
                .collect();
            page(rows, r)
        }
        ("POST", ["Document"]) => add_document(g, r),
        ("DELETE", ["Document", id]) => {
            let id: u64 = id.parse().unwrap_or(0);
            g.documents.retain(|d| d.0 != id);
            g.purged.push(id);
            Reply::json(200, json!([{ id.to_string(): true, "message": "" }]))
        }
        ("POST", ["Document_Item"]) => add_link(g, r),
        ("PUT", ["Computer", id]) => update(g, id.parse().unwrap_or(0), r),
        _ => glpi_error(
            400,
            "ERROR_RESOURCE_NOT_FOUND_NOR_COMMONDBTM",
            "resource not found",
        ),
    }
}

fn add_document(g: &mut Glpi, r: &Request) -> Reply {
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
    let id = 100 + g.documents.len() as u64 + g.purged.len() as u64;
    let name = sanitize(manifest["input"]["name"].as_str().unwrap_or(""));
    let size = file.2.len();
    let refused = g.max_upload.is_some_and(|max| size > max);
    let entry = if refused {
        // Document::prepareInputForAdd finds no moved file: the Document has none.
        g.documents
            .push((id, name.clone(), String::new(), Vec::new()));
        json!({"name": wanted, "size": size, "type": "application/pdf", "error": "File is too big"})
    } else {
        g.documents
            .push((id, name.clone(), wanted.clone(), file.2.clone()));
        json!({"name": wanted, "size": size, "type": "application/pdf", "url": format!("/files/_tmp/{wanted}")})
    };
    Reply::json(
        201,
        json!({"id": id, "message": format!("Item successfully added: {}", unsanitize(&name)), "upload_result": {"filename": [entry]}}),
    )
    .delayed(g.stall_upload.take())
}

fn add_link(g: &mut Glpi, r: &Request) -> Reply {
    let input = serde_json::from_slice::<Value>(&r.body).unwrap_or(Value::Null)["input"].clone();
    if input["documents_id"].as_u64().is_none() || input["items_id"].as_u64().is_none() {
        return glpi_error(400, "ERROR_GLPI_ADD", "missing documents_id or items_id");
    }
    if g.links.iter().any(|l| {
        l["documents_id"] == input["documents_id"]
            && l["itemtype"] == input["itemtype"]
            && l["items_id"] == input["items_id"]
    }) {
        return glpi_error(400, "ERROR_GLPI_ADD", "");
    }
    let id = 500 + g.links.len() as u64;
    g.links.push(input);
    Reply::json(201, json!({"id": id, "message": ""}))
}

fn update(g: &mut Glpi, id: u64, r: &Request) -> Reply {
    let input = serde_json::from_slice::<Value>(&r.body).unwrap_or(Value::Null)["input"].clone();
    let Some(c) = g.computers.iter_mut().find(|c| c["id"] == id) else {
        return glpi_error(400, "ERROR_GLPI_UPDATE", "Item not found");
    };
    if let Some(why) = &g.refuse_update {
        return glpi_error(400, "ERROR_GLPI_UPDATE", why);
    }
    if let Value::Object(map) = input {
        for (k, v) in map {
            c[k] = v;
        }
    }
    Reply::json(200, json!([{ id.to_string(): true, "message": "" }]))
}
