//! GLPI, `apirest.php`.
//!
//! `GET initSession` with `Authorization: user_token TOKEN` (and `App-Token` when configured)
//! opens a session; every later request carries `Session-Token`; `GET killSession` ends it.
//! The item (a `Computer` by default) is found by inventory number (`otherserial`) or name
//! equal to the asset tag, or by serial; else the hard drive item (`Item_DeviceHardDrive`) with
//! the drive's serial names the item it is in. Lists are read with
//! `GET /ITEMTYPE?searchText[FIELD]=VALUE` (a "contains" match, so the exact value is then
//! picked). Every request sends `X-GLPI-Sanitized-Content: false` (GLPI 10 answers strings
//! HTML-encoded without it) and every string read is decoded as well, so a name with `&` or
//! `<` matches. Lists GLPI pages (`range`, 15 rows by default, `Content-Range: a-b/total`) are
//! read to their end. The State is looked up by name (`GET /State`); the PDF is a Document
//! (`POST /Document`, multipart `uploadManifest` JSON and `filename[0]`) linked to the item
//! (`POST /Document_Item`), and `PUT /ITEMTYPE/ID` sets `states_id`, read back after. GLPI
//! creates the Document even when it refuses the file, saying so only in `upload_result`:
//! such a Document is purged and the certificate stays pending with GLPI's reason. Before
//! uploading, a Document named after the certificate is looked for, so a retry after a
//! time-out links the one already there instead of uploading again (one without a file is
//! purged and uploaded again). GLPI answers errors as `["ERROR_CODE", "message"]` with a 4xx
//! status; both are shown. A missing right on one item (`ERROR_RIGHT_MISSING`, 401) keeps
//! that certificate pending; a refused session or token stops the connector.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::delivery::{Connector, Outcome, Plan};
use super::http::{Answer, Call, Http, Multipart, escape, unescape_html};

/// Rows asked for per page of a list.
const PAGE: u64 = 50;
use super::{ConnectorError, ConnectorSettings, Delivery};

/// A GLPI instance.
pub(crate) struct Glpi {
    http: Http,
    base: String,
    user_token: String,
    app_token: Option<String>,
    item_type: String,
    session: Option<String>,
    /// State ids by name, looked up once per sync.
    states: HashMap<String, u64>,
}

enum Failure {
    Connector(ConnectorError),
    /// About this item only: the delivery stays pending.
    Item(String),
}

impl From<ConnectorError> for Failure {
    fn from(e: ConnectorError) -> Failure {
        Failure::Connector(e)
    }
}

impl Glpi {
    pub fn new(
        settings: &ConnectorSettings,
        user_token: String,
        app_token: Option<String>,
    ) -> Glpi {
        Glpi {
            http: Http::new(&settings.name, settings.timeout()),
            base: settings.url.trim_end_matches('/').to_string(),
            user_token,
            app_token,
            item_type: settings.item_type().to_string(),
            session: None,
            states: HashMap::new(),
        }
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        auth: (&'static str, String),
        body: Option<(String, Vec<u8>)>,
    ) -> Result<Answer, Failure> {
        let mut headers = vec![
            auth,
            ("Accept", "application/json".to_string()),
            ("X-GLPI-Sanitized-Content", "false".to_string()),
        ];
        if let Some(app) = &self.app_token {
            headers.push(("App-Token", app.clone()));
        }
        let answer = self.http.send(Call {
            method,
            url: format!("{}/{path}", self.base),
            headers,
            body,
        })?;
        let what = format!("{method} {}", path.split('?').next().unwrap_or(path));
        match answer.status {
            200..=299 => Ok(answer),
            // API::messageRightError: a right missing on this item (entity, profile) is 401 too.
            401 if code(&answer) == Some("ERROR_RIGHT_MISSING") => Err(Failure::Item(format!(
                "GLPI: {what} answered 401: {}; give the API user's profile that right on the item's entity",
                message(&answer)
            ))),
            401 => Err(Failure::Connector(ConnectorError::Unauthorized {
                connector: self.http.name.clone(),
                message: format!("{what} answered 401: {}", message(&answer)),
            })),
            500..=599 => Err(Failure::Connector(ConnectorError::Unreachable {
                connector: self.http.name.clone(),
                message: format!("{what} answered {}: {}", answer.status, message(&answer)),
            })),
            s => Err(Failure::Item(format!(
                "GLPI: {what} answered {s}: {}",
                message(&answer)
            ))),
        }
    }

    /// A request in the session (opened on first use).
    fn call(
        &mut self,
        method: &str,
        path: &str,
        body: Option<(String, Vec<u8>)>,
    ) -> Result<Answer, Failure> {
        let session = match &self.session {
            Some(s) => s.clone(),
            None => {
                let a = self
                    .send(
                        "GET",
                        "initSession",
                        ("Authorization", format!("user_token {}", self.user_token)),
                        None,
                    )
                    .map_err(|e| match e {
                        // initSession refuses a bad token or App-Token with 400 as well as 401.
                        Failure::Item(m) => Failure::Connector(ConnectorError::Unauthorized {
                            connector: self.http.name.clone(),
                            message: m,
                        }),
                        other => other,
                    })?;
                let token = a
                    .json
                    .get("session_token")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        Failure::Connector(ConnectorError::Setup {
                            connector: self.http.name.clone(),
                            message: format!("initSession gave no session_token: {}", message(&a)),
                        })
                    })?
                    .to_string();
                self.session = Some(token.clone());
                token
            }
        };
        self.send(method, path, ("Session-Token", session), body)
    }

    /// Items of `itemtype` whose `field` is exactly `value`.
    fn search(&mut self, itemtype: &str, field: &str, value: &str) -> Result<Vec<Value>, Failure> {
        let path = format!(
            "{itemtype}?{}={}&range=0-999",
            escape(&format!("searchText[{field}]")),
            escape(value)
        );
        let a = self.call("GET", &path, None)?;
        Ok(a.json
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|row| {
                row.get(field)
                    .and_then(Value::as_str)
                    .is_some_and(|v| unescape_html(v).eq_ignore_ascii_case(value))
            })
            .collect())
    }

    /// Every row of a list GLPI answers in pages (`GET path?range=a-b`, 206 and
    /// `Content-Range: a-b/total` while more is left, `API::getItems`).
    fn list_all(&mut self, path: &str) -> Result<Vec<Value>, Failure> {
        let mut rows = Vec::new();
        let sep = if path.contains('?') { '&' } else { '?' };
        loop {
            let start = rows.len() as u64;
            let page = format!("{path}{sep}range={start}-{}", start + PAGE - 1);
            let a = match self.call("GET", &page, None) {
                // Asked past the end (the list shrank meanwhile): what was read is all.
                Err(Failure::Item(m)) if start > 0 && m.contains("ERROR_RANGE_EXCEED_TOTAL") => {
                    return Ok(rows);
                }
                other => other?,
            };
            let got = a.json.as_array().cloned().unwrap_or_default();
            let total = a
                .header("content-range")
                .and_then(|r| r.rsplit('/').next())
                .and_then(|t| t.trim().parse::<u64>().ok());
            let empty = got.is_empty();
            rows.extend(got);
            match total {
                Some(total) if (rows.len() as u64) < total && !empty => continue,
                _ => return Ok(rows),
            }
        }
    }

    /// The item: (itemtype, id), or why it was not found.
    fn find(&mut self, d: &Delivery) -> Result<Result<(String, u64), String>, Failure> {
        let item_type = self.item_type.clone();
        let mut tries: Vec<(&str, String)> = Vec::new();
        if let Some(tag) = &d.asset_tag {
            tries.push(("otherserial", tag.clone()));
            tries.push(("name", tag.clone()));
        }
        if let Some(serial) = &d.asset_serial {
            tries.push(("serial", serial.clone()));
        }
        let mut said = Vec::new();
        for (field, value) in &tries {
            let rows = self.search(&item_type, field, value)?;
            let ids: Vec<u64> = rows
                .iter()
                .filter_map(|r| r.get("id").and_then(Value::as_u64))
                .collect();
            match ids.as_slice() {
                [id] => return Ok(Ok((item_type, *id))),
                [] => said.push(format!("no {item_type} with {field} {value}")),
                many => said.push(format!(
                    "{} {item_type} items with {field} {value}",
                    many.len()
                )),
            }
        }
        if let Some(drive) = &d.drive_serial {
            let rows = self.search("Item_DeviceHardDrive", "serial", drive)?;
            let holders: Vec<(String, u64)> = rows
                .iter()
                .filter_map(|r| {
                    Some((
                        r.get("itemtype")?.as_str()?.to_string(),
                        r.get("items_id")?.as_u64()?,
                    ))
                })
                .filter(|(_, id)| *id > 0)
                .collect();
            match holders.as_slice() {
                [one] => return Ok(Ok(one.clone())),
                [] => said.push(format!("no hard drive with serial {drive}")),
                many => said.push(format!("{} hard drives with serial {drive}", many.len())),
            }
        }
        if said.is_empty() {
            said.push("the certificate names no asset tag or serial".into());
        }
        Ok(Err(format!(
            "the asset is not in GLPI ({}); add it there, the certificate stays pending",
            said.join("; ")
        )))
    }

    fn state(&mut self, name: &str) -> Result<u64, Failure> {
        if let Some(id) = self.states.get(name) {
            return Ok(*id);
        }
        // All States, matched here: a name with `&` or `<` is stored encoded by GLPI 10, so
        // a searchText for it could miss.
        let rows = self.list_all("State")?;
        let id = rows
            .iter()
            .find(|r| {
                ["name", "completename"].iter().any(|k| {
                    r.get(*k)
                        .and_then(Value::as_str)
                        .is_some_and(|v| unescape_html(v).eq_ignore_ascii_case(name))
                })
            })
            .and_then(|r| r.get("id"))
            .and_then(Value::as_u64)
            .ok_or_else(|| {
                Failure::Connector(ConnectorError::Setup {
                    connector: self.http.name.clone(),
                    message: format!(
                        "GLPI has no State named \"{name}\"; create it (Setup > Dropdowns > Statuses of items) or fix retired_status/destroyed_status"
                    ),
                })
            })?;
        self.states.insert(name.to_string(), id);
        Ok(id)
    }

    /// The Document of certificate `cert`, uploaded unless one with its file is there:
    /// (id, what was done), or why there is none.
    fn document(
        &mut self,
        cert: &str,
        pdf: &std::path::Path,
    ) -> Result<Result<(u64, String), String>, Failure> {
        let doc_name = format!("wipeproof certificate {cert}");
        for row in self.search("Document", "name", &doc_name)? {
            let Some(id) = row.get("id").and_then(Value::as_u64) else {
                continue;
            };
            let has_file = row
                .get("filename")
                .and_then(Value::as_str)
                .is_some_and(|f| !f.is_empty());
            if has_file {
                return Ok(Ok((id, format!("document {id} already there"))));
            }
            // A Document whose file GLPI refused earlier: it shows nothing, so it goes.
            self.purge(id)?;
        }
        let data = std::fs::read(pdf)
            .map_err(|e| Failure::Item(format!("cannot read {}: {e}", pdf.display())))?;
        let filename = super::delivery::upload_name(cert);
        let manifest = json!({"input": {"name": doc_name, "_filename": [filename]}});
        let body = Multipart::new()
            .text("uploadManifest", &manifest.to_string())
            .file("filename[0]", &filename, "application/pdf", &data)
            .finish();
        let a = self.call("POST", "Document", Some(body))?;
        let id = a.json.get("id").and_then(Value::as_u64).ok_or_else(|| {
            Failure::Item(format!("GLPI: POST Document gave no id: {}", message(&a)))
        })?;
        if let Some(why) = upload_error(&a.json) {
            self.purge(id)?;
            return Ok(Err(format!(
                "GLPI refused the file {filename}: {why}; the empty Document {id} it created was removed. Check GLPI's document types (PDF allowed) and PHP's upload_max_filesize and post_max_size; the certificate stays pending"
            )));
        }
        Ok(Ok((id, format!("document {id} uploaded"))))
    }

    /// Purges a Document (`DELETE Document/ID?force_purge=true`).
    fn purge(&mut self, id: u64) -> Result<(), Failure> {
        self.call("DELETE", &format!("Document/{id}?force_purge=true"), None)?;
        Ok(())
    }

    /// Links `document` to the item unless a link is there; whether one was made.
    fn link(&mut self, itemtype: &str, item: u64, document: u64) -> Result<bool, Failure> {
        let links = self.list_all(&format!("{itemtype}/{item}/Document_Item"))?;
        let linked = links
            .iter()
            .any(|r| r.get("documents_id").and_then(Value::as_u64) == Some(document));
        if linked {
            return Ok(false);
        }
        let body =
            json!({"input": {"documents_id": document, "itemtype": itemtype, "items_id": item}});
        self.call(
            "POST",
            "Document_Item",
            Some(("application/json".into(), body.to_string().into_bytes())),
        )?;
        Ok(true)
    }

    /// Sets the State and reads the item back: `Err` says how GLPI differs.
    fn set_state(
        &mut self,
        itemtype: &str,
        item: u64,
        (name, id): (&str, u64),
    ) -> Result<Result<(), String>, Failure> {
        // A refused update is 400 ["ERROR_GLPI_UPDATE", message] (API::updateItems): a failure.
        let body = json!({"input": {"states_id": id}});
        self.call(
            "PUT",
            &format!("{itemtype}/{item}"),
            Some(("application/json".into(), body.to_string().into_bytes())),
        )?;
        let a = self.call("GET", &format!("{itemtype}/{item}"), None)?;
        let shown = a.json.get("states_id").and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        });
        if shown != Some(id) {
            return Ok(Err(format!(
                "GLPI {itemtype} {item} does not show State {name} after the update (states_id {}); it is tried again at the next sync",
                shown
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| "none".into())
            )));
        }
        Ok(Ok(()))
    }

    fn deliver_inner(&mut self, d: &Delivery, plan: &Plan) -> Result<Outcome, Failure> {
        let state = match &plan.status {
            Some(name) => Some((name.clone(), self.state(name)?)),
            None => None,
        };
        let (itemtype, item) = match self.find(d)? {
            Ok(found) => found,
            Err(why) => return Ok(Outcome::Pending(why)),
        };
        let mut done = Vec::new();
        if let (Some(pdf), Some(cert)) = (&plan.upload, &d.certificate_id) {
            let document = match self.document(cert, pdf)? {
                Ok((id, what)) => {
                    done.push(what);
                    id
                }
                Err(why) => return Ok(Outcome::Pending(why)),
            };
            if self.link(&itemtype, item, document)? {
                done.push(format!("linked to {itemtype} {item}"));
            }
        }
        if let Some((name, id)) = &state {
            if let Err(why) = self.set_state(&itemtype, item, (name, *id))? {
                return Ok(Outcome::Pending(why));
            }
            done.push(format!("state {name}"));
        }
        done.extend(plan.notes.iter().cloned());
        Ok(Outcome::Done(format!(
            "GLPI {itemtype} {item}: {}",
            done.join("; ")
        )))
    }
}

/// The error GLPI put in `upload_result` for a refused file (`{"filename": [{"name": ...,
/// "error": "..."}]}`), if any.
fn upload_error(json: &Value) -> Option<String> {
    let result = json.get("upload_result")?.as_object()?;
    let errors: Vec<String> = result
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|f| {
            let error = f.get("error")?;
            let text = error
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| error.to_string());
            let name = f.get("name").and_then(Value::as_str).unwrap_or("file");
            Some(format!("{name}: {text}"))
        })
        .collect();
    (!errors.is_empty()).then(|| errors.join("; "))
}

/// The error code of a `["ERROR_CODE", ...]` answer.
fn code(a: &Answer) -> Option<&str> {
    a.json.as_array()?.first()?.as_str()
}

impl Connector for Glpi {
    fn deliver(&mut self, d: &Delivery, plan: &Plan) -> Result<Outcome, ConnectorError> {
        match self.deliver_inner(d, plan) {
            Ok(o) => Ok(o),
            Err(Failure::Item(m)) => Ok(Outcome::Pending(m)),
            Err(Failure::Connector(e)) => Err(e),
        }
    }

    fn close(&mut self) {
        if let Some(session) = self.session.take() {
            // Nothing depends on it: a session GLPI keeps expires by itself.
            let _ = self.send("GET", "killSession", ("Session-Token", session), None);
        }
    }
}

/// GLPI's error text: `["ERROR_CODE", "message"]`, else the body's start.
fn message(a: &Answer) -> String {
    match &a.json {
        Value::Array(parts) if !parts.is_empty() => parts
            .iter()
            .map(|p| {
                p.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| p.to_string())
            })
            .collect::<Vec<_>>()
            .join(": "),
        _ => a.text.chars().take(200).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glpi_errors_show_code_and_message() {
        let a = Answer {
            status: 401,
            headers: Vec::new(),
            json: json!([
                "ERROR_GLPI_LOGIN_USER_TOKEN",
                "parameter user_token seems invalid"
            ]),
            text: String::new(),
        };
        assert_eq!(
            message(&a),
            "ERROR_GLPI_LOGIN_USER_TOKEN: parameter user_token seems invalid"
        );
    }
}
