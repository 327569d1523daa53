//! Snipe-IT, REST API v1: `Authorization: Bearer TOKEN`, `Accept: application/json`.
//!
//! The asset is found by tag (`GET /api/v1/hardware/bytag/{tag}`), else by serial
//! (`GET /api/v1/hardware/byserial/{serial}`); the PDF goes to
//! `POST /api/v1/hardware/{id}/files` (multipart `file[]` and `notes`), once: the asset's files
//! (`GET /api/v1/hardware/{id}/files`) are read first and a file naming the certificate id is
//! not sent again. The status label is looked up by name (`GET /api/v1/statuslabels`) and must
//! be of type `archived`; `PATCH /api/v1/hardware/{id}` sets it with the custom field.
//! Snipe-IT answers many errors with HTTP 200 and `{"status": "error", "messages": ...}`:
//! those are failures, and their messages are shown.

use std::collections::HashMap;

use serde_json::Value;

use super::delivery::{Connector, Outcome, Plan};
use super::http::{Answer, Call, Http, Multipart, escape};
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

    fn call(
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
        let what = format!("{method} {path}");
        match answer.status {
            200..=299 => match error_messages(&answer.json) {
                Some(messages) => Err(Failure::Item(format!("Snipe-IT: {what}: {messages}"))),
                None => Ok(answer),
            },
            401 | 403 => Err(Failure::Connector(ConnectorError::Unauthorized {
                connector: self.http.name.clone(),
                message: format!("{what} answered {}: {}", answer.status, short(&answer)),
            })),
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

    /// The asset's id: by tag, else by the asset's serial, else by the drive's serial.
    fn find(&self, d: &Delivery) -> Result<Result<u64, String>, Failure> {
        let mut said = Vec::new();
        if let Some(tag) = &d.asset_tag {
            match self.call(
                "GET",
                &format!("/api/v1/hardware/bytag/{}", escape(tag)),
                None,
            ) {
                Ok(a) => {
                    if let Some(id) = a.json.get("id").and_then(Value::as_u64) {
                        return Ok(Ok(id));
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
            match self.call(
                "GET",
                &format!("/api/v1/hardware/byserial/{}", escape(serial)),
                None,
            ) {
                Ok(a) => {
                    let rows = a.json.get("rows").and_then(Value::as_array);
                    let ids: Vec<u64> = rows
                        .map(|r| {
                            r.iter()
                                .filter_map(|x| x.get("id").and_then(Value::as_u64))
                                .collect()
                        })
                        .unwrap_or_default();
                    match ids.as_slice() {
                        [id] => return Ok(Ok(*id)),
                        [] => said.push(format!("serial {serial}: no asset")),
                        many => said.push(format!(
                            "serial {serial}: {} assets have it; give the asset tag",
                            many.len()
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

    /// Whether the asset already has a file naming `certificate_id`.
    fn has_file(&self, asset: u64, certificate_id: &str) -> Result<bool, Failure> {
        let a = self.call("GET", &format!("/api/v1/hardware/{asset}/files"), None)?;
        let rows = a
            .json
            .get("rows")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        Ok(rows.iter().any(|f| {
            ["filename", "name", "note", "notes"].iter().any(|k| {
                f.get(*k)
                    .and_then(Value::as_str)
                    .is_some_and(|s| s.contains(certificate_id))
            })
        }))
    }

    fn label(&mut self, name: &str) -> Result<u64, Failure> {
        if let Some(id) = self.labels.get(name) {
            return Ok(*id);
        }
        let a = self.call(
            "GET",
            &format!("/api/v1/statuslabels?search={}", escape(name)),
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
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
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
        let asset = match self.find(d)? {
            Ok(id) => id,
            Err(why) => return Ok(Outcome::Pending(why)),
        };
        let mut done = Vec::new();
        if let (Some(pdf), Some(cert)) = (&plan.upload, &d.certificate_id) {
            if self.has_file(asset, cert)? {
                done.push("certificate already attached".to_string());
            } else {
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
                done.push("certificate attached".to_string());
            }
        }
        let mut patch = serde_json::Map::new();
        if let Some((name, id)) = &status {
            patch.insert("status_id".into(), (*id).into());
            done.push(format!("status {name}"));
        }
        if let (Some(value), Some(field)) = (&plan.field, &self.certificate_field) {
            patch.insert(field.clone(), value.clone().into());
            done.push(format!("{field} = {value}"));
        }
        if !patch.is_empty() {
            let body = serde_json::to_vec(&Value::Object(patch)).unwrap_or_default();
            self.call(
                "PATCH",
                &format!("/api/v1/hardware/{asset}"),
                Some(("application/json".into(), body)),
            )?;
        }
        done.extend(plan.notes.iter().cloned());
        Ok(Outcome::Done(format!(
            "Snipe-IT asset {asset}: {}",
            done.join("; ")
        )))
    }
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
    if let Some(m) = a.json.get("message").or_else(|| a.json.get("messages")) {
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
