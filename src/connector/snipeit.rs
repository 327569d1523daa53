//! Snipe-IT, REST API v1: `Authorization: Bearer TOKEN`, `Accept: application/json`.
//!
//! The asset is found by tag (`GET /api/v1/hardware/bytag/{tag}`), else by serial
//! (`GET /api/v1/hardware/byserial/{serial}`); both routes take the rest of the path, so a `/`
//! in a tag goes as it is. The PDF goes to `POST /api/v1/hardware/{id}/files` (multipart
//! `file[]` and `notes`), once: the asset's files (`GET /api/v1/hardware/{id}/files`, answered
//! `{"rows": [...]}` since v8.1.17 and `{"payload": [...]}` before) are read first and a file
//! naming the certificate id is not sent again, and read after to see that Snipe-IT keeps it.
//! The status label is looked up by name (`GET /api/v1/statuslabels?name=`, names come back
//! HTML-escaped) and must be of type `archived`. An asset still checked out is checked in with
//! that status (`POST /api/v1/hardware/{id}/checkin`), since an update alone leaves it
//! assigned; `PATCH /api/v1/hardware/{id}` sets the status and the custom field, and the
//! status alone when Snipe-IT refuses only the field (e.g. not in the model's fieldset). The
//! asset is read back: only a status Snipe-IT shows, on an asset no longer assigned, counts.
//! Snipe-IT answers many errors with HTTP 200 and `{"status": "error", "messages": ...}`:
//! those are failures, and their messages are shown. A 403 is about that asset only; a 429 is
//! waited out (see `http`).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::delivery::{Connector, Outcome, Plan};
use super::http::{Answer, Call, Http, Multipart, escape, escape_keep_slash, unescape_html};
use super::{ConnectorError, ConnectorSettings, Delivery};

/// A Snipe-IT instance.
pub(crate) struct SnipeIt {
    http: Http,
    base: String,
    token: String,
    /// Custom field for the certificate id and result, if configured.
    certificate_field: Option<String>,
    /// Status label ids by name, looked up once per sync.
    labels: HashMap<String, u64>,
}

/// Why a Snipe-IT answer is not a success.
enum Failure {
    Connector(ConnectorError),
    /// About this asset only (unknown, refused): the delivery stays pending.
    Item(String),
}

impl From<ConnectorError> for Failure {
    fn from(e: ConnectorError) -> Failure {
        Failure::Connector(e)
    }
}

fn json_body(v: &Value) -> Option<(String, Vec<u8>)> {
    Some(("application/json".into(), v.to_string().into_bytes()))
}

impl SnipeIt {
    pub fn new(settings: &ConnectorSettings, token: String) -> SnipeIt {
        SnipeIt {
            http: Http::new(&settings.name, settings.timeout()),
            base: settings.url.trim_end_matches('/').to_string(),
            token,
            certificate_field: settings.certificate_field.clone(),
            labels: HashMap::new(),
        }
    }

    /// Sends a request; HTTP errors are failures, a 200 answer is returned as it is.
    fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<(String, Vec<u8>)>,
    ) -> Result<Answer, Failure> {
        let answer = self.http.send(Call {
            method,
            url: format!("{}{path}", self.base),
            headers: vec![
                ("Authorization", format!("Bearer {}", self.token)),
                ("Accept", "application/json".into()),
            ],
            body,
        })?;
        let what = format!("{method} {}", path.split('?').next().unwrap_or(path));
        match answer.status {
            200..=299 => Ok(answer),
            401 => Err(Failure::Connector(ConnectorError::Unauthorized {
                connector: self.http.name.clone(),
                message: format!("{what} answered 401: {}", short(&answer)),
            })),
            403 => Err(Failure::Item(format!(
                "Snipe-IT: {what} answered 403: {}; the token's user may not see or change this asset (its permissions, or the asset belongs to another company)",
                short(&answer)
            ))),
            500..=599 => Err(Failure::Connector(ConnectorError::Unreachable {
                connector: self.http.name.clone(),
                message: format!("{what} answered {}: {}", answer.status, short(&answer)),
            })),
            s => Err(Failure::Item(format!(
                "Snipe-IT: {what} answered {s}: {}",
                short(&answer)
            ))),
        }
    }

    /// As [`SnipeIt::send`], and an error answered with 200 is a failure too.
    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<(String, Vec<u8>)>,
    ) -> Result<Answer, Failure> {
        let answer = self.send(method, path, body)?;
        match error_messages(&answer.json) {
            Some(messages) => Err(Failure::Item(format!(
                "Snipe-IT: {method} {}: {messages}",
                path.split('?').next().unwrap_or(path)
            ))),
            None => Ok(answer),
        }
    }

    /// The asset (id and what Snipe-IT says of it): by tag, else by the asset's serial, else
    /// by the drive's serial.
    fn find(&self, d: &Delivery) -> Result<Result<(u64, Value), String>, Failure> {
        let mut said = Vec::new();
        if let Some(tag) = &d.asset_tag {
            let path = format!("/api/v1/hardware/bytag/{}", escape_keep_slash(tag));
            match self.call("GET", &path, None) {
                Ok(a) => {
                    if let Some(id) = a.json.get("id").and_then(Value::as_u64) {
                        return Ok(Ok((id, a.json)));
                    }
                    said.push(format!("tag {tag}: no asset id in the answer"));
                }
                Err(Failure::Item(m)) => said.push(format!("tag {tag}: {m}")),
                Err(e) => return Err(e),
            }
        }
        let serials = [d.asset_serial.as_ref(), d.drive_serial.as_ref()];
        let mut tried = Vec::new();
        for serial in serials.into_iter().flatten() {
            if tried.contains(&serial) {
                continue;
            }
            tried.push(serial);
            let path = format!("/api/v1/hardware/byserial/{}", escape_keep_slash(serial));
            match self.call("GET", &path, None) {
                Ok(a) => {
                    let rows = a.json.get("rows").and_then(Value::as_array);
                    let found: Vec<(u64, Value)> = rows
                        .map(|r| {
                            r.iter()
                                .filter_map(|x| Some((x.get("id")?.as_u64()?, x.clone())))
                                .collect()
                        })
                        .unwrap_or_default();
                    match found.len() {
                        1 => return Ok(Ok(found[0].clone())),
                        0 => said.push(format!("serial {serial}: no asset")),
                        n => said.push(format!(
                            "serial {serial}: {n} assets have it; give the asset tag"
                        )),
                    }
                }
                Err(Failure::Item(m)) => said.push(format!("serial {serial}: {m}")),
                Err(e) => return Err(e),
            }
        }
        if said.is_empty() {
            said.push("the certificate names no asset tag or serial".into());
        }
        Ok(Err(format!(
            "the asset is not in Snipe-IT ({}); add it there, the certificate stays pending",
            said.join("; ")
        )))
    }

    /// Whether the asset has a file naming `certificate_id`. Snipe-IT stores an upload as
    /// `PREFIX-RANDOM-SLUG.pdf` (`UploadFileRequest::handleFile`), the slug of the name sent.
    fn has_file(&self, asset: u64, certificate_id: &str) -> Result<bool, Failure> {
        let path = format!(
            "/api/v1/hardware/{asset}/files?search={}",
            escape(certificate_id)
        );
        let a = self.call("GET", &path, None)?;
        let rows = a
            .json
            .get("rows")
            .or_else(|| a.json.get("payload"))
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let slugged = slug(certificate_id);
        Ok(rows.iter().any(|f| {
            ["filename", "name", "note", "notes"].iter().any(|k| {
                f.get(*k).and_then(Value::as_str).is_some_and(|s| {
                    let s = unescape_html(s);
                    s.contains(certificate_id) || s.contains(&slugged)
                })
            })
        }))
    }

    fn label(&mut self, name: &str) -> Result<u64, Failure> {
        if let Some(id) = self.labels.get(name) {
            return Ok(*id);
        }
        let a = self.call(
            "GET",
            &format!("/api/v1/statuslabels?name={}", escape(name)),
            None,
        )?;
        let rows = a
            .json
            .get("rows")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let found = rows.iter().find(|r| {
            r.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| unescape_html(n).eq_ignore_ascii_case(name))
        });
        let setup = |message: String| {
            Failure::Connector(ConnectorError::Setup {
                connector: self.http.name.clone(),
                message,
            })
        };
        let Some(label) = found else {
            return Err(setup(format!(
                "Snipe-IT has no status label named \"{name}\"; create it (type Archived) or fix retired_status/destroyed_status"
            )));
        };
        let kind = label.get("type").and_then(Value::as_str).unwrap_or("");
        if !kind.eq_ignore_ascii_case("archived") {
            return Err(setup(format!(
                "Snipe-IT status label \"{name}\" is of type {kind}, not archived; a wiped or destroyed asset must not be deployable: change the label's type"
            )));
        }
        let id = label
            .get("id")
            .and_then(Value::as_u64)
            .ok_or_else(|| setup(format!("Snipe-IT status label \"{name}\" has no id")))?;
        self.labels.insert(name.to_string(), id);
        Ok(id)
    }

    /// Attaches the PDF unless the asset has it; `Err` holds why it is not there.
    fn attach(
        &self,
        asset: u64,
        pdf: &std::path::Path,
        cert: &str,
    ) -> Result<Result<&'static str, String>, Failure> {
        if self.has_file(asset, cert)? {
            return Ok(Ok("certificate already attached"));
        }
        let data = std::fs::read(pdf)
            .map_err(|e| Failure::Item(format!("cannot read {}: {e}", pdf.display())))?;
        let filename = super::delivery::upload_name(cert);
        let body = Multipart::new()
            .file("file[]", &filename, "application/pdf", &data)
            .text("notes", &format!("wipeproof certificate {cert}"))
            .finish();
        self.call(
            "POST",
            &format!("/api/v1/hardware/{asset}/files"),
            Some(body),
        )?;
        if !self.has_file(asset, cert)? {
            return Ok(Err(format!(
                "Snipe-IT took the upload of {filename} to asset {asset} but does not list it among the asset's files; it is tried again at the next sync"
            )));
        }
        Ok(Ok("certificate attached"))
    }

    /// Sets the status and the custom field with one PATCH. When Snipe-IT refuses only the
    /// custom field (unknown, not in the model's fieldset, wrong format: the whole PATCH is
    /// refused), the status is set alone and the field's refusal is returned.
    fn update(
        &self,
        asset: u64,
        status: Option<u64>,
        field: Option<(&str, &str)>,
    ) -> Result<Option<String>, Failure> {
        let mut patch = Map::new();
        if let Some(id) = status {
            patch.insert("status_id".into(), id.into());
        }
        if let Some((name, value)) = field {
            patch.insert(name.into(), value.into());
        }
        if patch.is_empty() {
            return Ok(None);
        }
        let path = format!("/api/v1/hardware/{asset}");
        let a = self.send("PATCH", &path, json_body(&Value::Object(patch)))?;
        let Some(messages) = error_messages(&a.json) else {
            return Ok(None);
        };
        let only_field = field.is_some_and(|(name, _)| {
            a.json
                .get("messages")
                .and_then(Value::as_object)
                .is_some_and(|m| m.keys().all(|k| k == name))
        });
        if !only_field {
            return Err(Failure::Item(format!("Snipe-IT: PATCH {path}: {messages}")));
        }
        if let Some(id) = status {
            self.call("PATCH", &path, json_body(&json!({ "status_id": id })))?;
        }
        Ok(Some(messages))
    }

    /// What Snipe-IT shows of the asset now: `Err` says how it differs from `status`.
    fn check(&self, asset: u64, status: (&str, u64)) -> Result<Result<(), String>, Failure> {
        let a = self.call("GET", &format!("/api/v1/hardware/{asset}"), None)?;
        let shown = a.json.pointer("/status_label/id").and_then(Value::as_u64);
        let assigned = a.json.get("assigned_to").filter(|v| !v.is_null());
        if let Some(who) = assigned {
            let name = who.get("name").and_then(Value::as_str).unwrap_or("someone");
            return Ok(Err(format!(
                "Snipe-IT asset {asset} is still checked out to {}; check it in, the certificate stays pending",
                unescape_html(name)
            )));
        }
        if shown != Some(status.1) {
            return Ok(Err(format!(
                "Snipe-IT asset {asset} does not show status {} after the update (it shows {}); it is tried again at the next sync",
                status.0,
                a.json
                    .pointer("/status_label/name")
                    .and_then(Value::as_str)
                    .map(unescape_html)
                    .unwrap_or_else(|| "none".into())
            )));
        }
        Ok(Ok(()))
    }
}

impl Connector for SnipeIt {
    fn deliver(&mut self, d: &Delivery, plan: &Plan) -> Result<Outcome, ConnectorError> {
        match self.deliver_inner(d, plan) {
            Ok(o) => Ok(o),
            Err(Failure::Item(m)) => Ok(Outcome::Pending(m)),
            Err(Failure::Connector(e)) => Err(e),
        }
    }
}

impl SnipeIt {
    fn deliver_inner(&mut self, d: &Delivery, plan: &Plan) -> Result<Outcome, Failure> {
        // The label is checked before anything is sent, so a wrong label sends nothing.
        let status = match &plan.status {
            Some(name) => Some((name.clone(), self.label(name)?)),
            None => None,
        };
        let (asset, found) = match self.find(d)? {
            Ok(found) => found,
            Err(why) => return Ok(Outcome::Pending(why)),
        };
        let mut done = Vec::new();
        if let (Some(pdf), Some(cert)) = (&plan.upload, &d.certificate_id) {
            match self.attach(asset, pdf, cert)? {
                Ok(what) => done.push(what.to_string()),
                Err(why) => return Ok(Outcome::Pending(why)),
            }
        }
        let mut status_left = status.as_ref().map(|s| s.1);
        if let (Some((_, id)), Some(who)) = (&status, checked_out(&found)) {
            let cert = d.certificate_id.as_deref().unwrap_or(&d.subject);
            let note = format!("wipeproof certificate {cert}: drives wiped, checked in");
            self.call(
                "POST",
                &format!("/api/v1/hardware/{asset}/checkin"),
                json_body(&json!({"status_id": id, "note": note})),
            )?;
            done.push(format!("checked in from {who}"));
            status_left = None;
        }
        let field = match (&plan.field, &self.certificate_field) {
            (Some(value), Some(name)) => Some((name.as_str(), value.as_str())),
            _ => None,
        };
        let refused = self.update(asset, status_left, field)?;
        if let Some((name, id)) = &status {
            if let Err(why) = self.check(asset, (name, *id))? {
                return Ok(Outcome::Pending(why));
            }
            done.push(format!("status {name}"));
        }
        if let (Some(why), Some((name, _))) = (refused, field) {
            return Ok(Outcome::Pending(format!(
                "Snipe-IT asset {asset}: {}; but the custom field {name} was refused: {why}; add the field to the asset model's fieldset (or fix its format, or change certificate_field), the certificate stays pending",
                done.join("; ")
            )));
        }
        if let Some((name, value)) = field {
            done.push(format!("{name} = {value}"));
        }
        done.extend(plan.notes.iter().cloned());
        Ok(Outcome::Done(format!(
            "Snipe-IT asset {asset}: {}",
            done.join("; ")
        )))
    }
}

/// Who the asset is checked out to, if it is (`assigned_to` of the asset as found).
fn checked_out(asset: &Value) -> Option<String> {
    let who = asset.get("assigned_to").filter(|v| !v.is_null())?;
    Some(
        who.get("name")
            .and_then(Value::as_str)
            .map(unescape_html)
            .unwrap_or_else(|| who.to_string()),
    )
}

/// Laravel's `str_slug` of an ASCII name: lower case, runs of anything else one `-`.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// The messages of a `{"status": "error", "messages": ...}` answer.
fn error_messages(json: &Value) -> Option<String> {
    if json.get("status").and_then(Value::as_str) != Some("error") {
        return None;
    }
    let m = json.get("messages").or_else(|| json.get("message"));
    Some(match m {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| match v {
                Value::Array(list) => format!(
                    "{k}: {}",
                    list.iter()
                        .map(|x| x
                            .as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| x.to_string()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Value::String(s) => format!("{k}: {s}"),
                other => format!("{k}: {other}"),
            })
            .collect::<Vec<_>>()
            .join("; "),
        Some(other) => other.to_string(),
        None => "error without a message".into(),
    })
}

/// The start of an answer, for messages.
fn short(a: &Answer) -> String {
    let said = ["messages", "message", "error"]
        .iter()
        .find_map(|k| a.json.get(*k).filter(|v| !v.is_null()));
    if let Some(m) = said {
        return m
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| m.to_string());
    }
    a.text.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_answers_with_status_200_are_read() {
        let v: Value = serde_json::json!({"status": "error", "messages": "Asset does not exist.", "payload": null});
        assert_eq!(error_messages(&v).as_deref(), Some("Asset does not exist."));
        let v: Value = serde_json::json!({"status": "error", "messages": {"status_id": ["The selected status id is invalid."]}});
        assert_eq!(
            error_messages(&v).as_deref(),
            Some("status_id: The selected status id is invalid.")
        );
        let ok: Value = serde_json::json!({"status": "success", "messages": "Asset updated"});
        assert_eq!(error_messages(&ok), None);
        assert_eq!(
            error_messages(&serde_json::json!({"id": 4, "asset_tag": "A"})),
            None
        );
    }
}
