//! A fake Snipe-IT (REST API v1) that answers as Snipe-IT's own source does
//! (grokability/snipe-it v8.x), for the connector's contract tests:
//!
//! * `routes/api.php`: `hardware/bytag/{any}` and `byserial/{any}` take `.*`, so a tag may
//!   hold `/`; a `%2F` never gets there: Apache (`AllowEncodedSlashes Off`, its default)
//!   answers it with its own HTML 404.
//! * `Exceptions/Handler.php`: `unauthenticated()` answers 401
//!   `{"error": "Unauthorized or unauthenticated."}`; `invalidJson()` (form request validation)
//!   answers 200 `{"status": "error", "messages": {field: [...]}}`; an unknown route 404
//!   `{"status": "error", "messages": "404 endpoint not found"}`; a policy refusal
//!   (company scoping) goes to Laravel's own render: 403 `{"message": "This action is
//!   unauthorized."}`.
//! * `RouteServiceProvider::configureRateLimiting`: `API_THROTTLE_PER_MINUTE` calls per user,
//!   then 429 with `Retry-After` and `{"status": "error", "messages": "Too many requests. Try
//!   again in N seconds.", "retryAfter": N}` (the window is scalable for tests).
//! * `Traits/MayContainCustomFields::withValidator`: a custom field not in the asset model's
//!   fieldset refuses the whole PATCH (`custom_field_not_found_on_model`).
//! * `Api/AssetsController::update` saves only: a checked-out asset stays assigned;
//!   `checkin` clears `assigned_to` and sets `status_id`, and refuses an asset not checked out
//!   (`checkin.already_checked_in`). `show`/`showByTag` answer the transformer's view
//!   (`status_label` object, `assigned_to` object or null); `update` the flat model.
//! * `Api/UploadedFilesController::index` (v8.1.17 on) answers `{"total", "rows"}` with
//!   `search` over file name and note; before it, `Api/AssetFilesController::list` answered
//!   `{"status": "success", "payload": [...]}` and ignored the query.
//! * `UploadFileRequest::handleFile` stores `PREFIX-RANDOM8-SLUG.ext`.
//! * `StatuslabelsTransformer` escapes names with `e()`; `StatuslabelsController::index`
//!   filters `name` exactly and `search` by "contains".

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::fake_http::{Reply, Request};

pub const TOKEN: &str = "snipe-token-0123456789";

/// Snipe-IT's side: assets (flat, as stored), status labels, uploaded files.
pub struct Snipe {
    pub assets: Vec<Value>,
    pub labels: Vec<Value>,
    /// (asset id, stored file name, note, content).
    pub files: Vec<(u64, String, String, Vec<u8>)>,
    /// Pause the answer to the next upload (after storing it), to time the client out.
    pub stall_upload: Option<Duration>,
    /// Custom fields with a format that refuses any value (Snipe-IT validates them on PATCH).
    pub strict_fields: Vec<String>,
    /// The custom fields that exist, and those in the assets' model fieldset.
    pub custom_fields: Vec<String>,
    pub fieldset: Vec<String>,
    /// Files answered as before v8.1.17 (`AssetFilesController::list`).
    pub old_files_api: bool,
    /// Assets the token's user may not see (another company).
    pub forbidden: Vec<u64>,
    /// Calls allowed per window, the window, and the current window's start and count.
    pub throttle: Option<(u32, Duration)>,
    window: Option<(Instant, u32)>,
    /// Answers sent with 429.
    pub throttled: u32,
}

const FIELD: &str = "_snipeit_wipe_certificate_5";

impl Snipe {
    pub fn new() -> Snipe {
        Snipe {
            assets: vec![
                json!({"id": 11, "asset_tag": "ACME-1", "serial": "LAP-1", "assigned_to": null}),
                json!({"id": 12, "asset_tag": "ACME-2", "serial": "SRV-2", "assigned_to": null}),
            ],
            labels: vec![
                json!({"id": 1, "name": "Ready to Deploy", "type": "deployable"}),
                json!({"id": 4, "name": "Wiped", "type": "archived"}),
                json!({"id": 5, "name": "Destroyed", "type": "archived"}),
                json!({"id": 6, "name": "In Repair", "type": "undeployable"}),
            ],
            files: Vec::new(),
            stall_upload: None,
            strict_fields: Vec::new(),
            custom_fields: vec![FIELD.into()],
            fieldset: vec![FIELD.into()],
            old_files_api: false,
            forbidden: Vec::new(),
            throttle: None,
            window: None,
            throttled: 0,
        }
    }

    pub fn asset(&self, id: u64) -> &Value {
        self.assets.iter().find(|a| a["id"] == id).unwrap()
    }

    /// `AssetsTransformer::transformAsset`: the status as an object, names escaped.
    fn view(&self, asset: &Value) -> Value {
        let mut v = asset.clone();
        let status = asset["status_id"].as_u64().unwrap_or(1);
        let label = self.labels.iter().find(|l| l["id"] == status).unwrap();
        v["status_label"] = json!({"id": status, "name": e(label["name"].as_str().unwrap()),
            "status_type": label["type"], "status_meta": label["type"]});
        v.as_object_mut().unwrap().remove("status_id");
        v
    }

    /// `ThrottleRequests` with the limiter of `configureRateLimiting`: `None` lets it through.
    fn throttle(&mut self) -> Option<Reply> {
        let (limit, window) = self.throttle?;
        let now = Instant::now();
        let (start, count) = match self.window {
            Some((start, count)) if now.duration_since(start) < window => (start, count),
            _ => (now, 0),
        };
        if count >= limit {
            self.throttled += 1;
            let left = window.saturating_sub(now.duration_since(start));
            let retry = left.as_secs() + u64::from(left.subsec_nanos() > 0);
            return Some(
                Reply::json(
                    429,
                    json!({"status": "error", "messages": format!("Too many requests. Try again in {retry} seconds."), "status_code": 429, "retryAfter": retry}),
                )
                .header("Retry-After", retry)
                .header("X-RateLimit-Limit", limit)
                .header("X-RateLimit-Remaining", 0),
            );
        }
        self.window = Some((start, count + 1));
        None
    }
}

/// Laravel's `e()`.
pub fn e(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#039;")
}

/// `Helper::formatStandardApiResponse('error', null, $messages)`, answered with 200.
pub fn error(messages: Value) -> Reply {
    Reply::json(
        200,
        json!({"status": "error", "messages": messages, "payload": null}),
    )
}

fn success(messages: &str, payload: Value) -> Reply {
    Reply::json(
        200,
        json!({"status": "success", "messages": messages, "payload": payload}),
    )
}

/// Laravel's `Str::slug` of an ASCII name.
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

pub fn snipe(s: &mut Snipe, r: &Request) -> Reply {
    if r.raw_path.to_ascii_lowercase().contains("%2f") {
        return Reply::html(
            404,
            "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>",
        );
    }
    if r.header("accept") != Some("application/json") {
        // Without it Snipe-IT treats the call as a browser's and redirects to the login page.
        return Reply::json(302, json!({}));
    }
    if r.header("authorization") != Some(&format!("Bearer {TOKEN}")) {
        return Reply::json(401, json!({"error": "Unauthorized or unauthenticated."}));
    }
    if let Some(reply) = s.throttle() {
        return reply;
    }
    let path = r.path.trim_start_matches('/');
    if let Some(tag) = path.strip_prefix("api/v1/hardware/bytag/") {
        return by_tag(s, tag);
    }
    if let Some(serial) = path.strip_prefix("api/v1/hardware/byserial/") {
        let rows: Vec<Value> = s
            .assets
            .iter()
            .filter(|a| a["serial"] == serial)
            .map(|a| s.view(a))
            .collect();
        return if rows.is_empty() {
            error(json!("Asset does not exist."))
        } else {
            Reply::json(200, json!({"total": rows.len(), "rows": rows}))
        };
    }
    let segments: Vec<&str> = path.split('/').collect();
    let asset_id = |id: &str| id.parse::<u64>().unwrap_or(0);
    if let ["api", "v1", "hardware", id, ..] = segments.as_slice()
        && s.forbidden.contains(&asset_id(id))
    {
        return Reply::json(403, json!({"message": "This action is unauthorized."}));
    }
    match (r.method.as_str(), segments.as_slice()) {
        ("GET", ["api", "v1", "hardware", id, "files"]) => files(s, asset_id(id), r),
        ("POST", ["api", "v1", "hardware", id, "files"]) => upload(s, asset_id(id), r),
        ("GET", ["api", "v1", "statuslabels"]) => labels(s, r),
        ("GET", ["api", "v1", "hardware", id]) => {
            match s.assets.iter().find(|a| a["id"] == asset_id(id)) {
                Some(a) => Reply::json(200, s.view(a)),
                None => error(json!("Asset does not exist.")),
            }
        }
        ("POST", ["api", "v1", "hardware", id, "checkin"]) => checkin(s, asset_id(id), r),
        ("PATCH", ["api", "v1", "hardware", id]) => update(s, asset_id(id), r),
        _ => Reply::json(
            404,
            json!({"status": "error", "messages": "404 endpoint not found"}),
        ),
    }
}

fn by_tag(s: &Snipe, tag: &str) -> Reply {
    match s.assets.iter().find(|a| a["asset_tag"] == tag) {
        Some(a) if s.forbidden.contains(&a["id"].as_u64().unwrap()) => {
            Reply::json(403, json!({"message": "This action is unauthorized."}))
        }
        Some(a) => Reply::json(200, s.view(a)),
        None => error(json!("Asset does not exist.")),
    }
}

fn files(s: &Snipe, id: u64, r: &Request) -> Reply {
    let rows = s
        .files
        .iter()
        .enumerate()
        .filter(|(_, f)| f.0 == id)
        .map(|(i, f)| json!({"id": i + 1, "filename": f.1, "url": format!("/uploads/{}", f.1), "note": f.2}));
    if s.old_files_api {
        let payload: Vec<Value> = rows.collect();
        return success("File(s) successfully uploaded", Value::Array(payload));
    }
    let search = r.query.get("search").cloned().unwrap_or_default();
    let rows: Vec<Value> = rows
        .filter(|f| {
            ["filename", "note"]
                .iter()
                .any(|k| f[*k].as_str().unwrap_or("").contains(&search))
        })
        .collect();
    Reply::json(200, json!({"total": rows.len(), "rows": rows}))
}

fn upload(s: &mut Snipe, id: u64, r: &Request) -> Reply {
    if !s.assets.iter().any(|a| a["id"] == id) {
        return error(json!("Asset does not exist."));
    }
    let parts = r.multipart();
    let note = parts
        .iter()
        .find(|p| p.0 == "notes")
        .map(|p| String::from_utf8_lossy(&p.2).into_owned())
        .unwrap_or_default();
    let files: Vec<_> = parts.iter().filter(|p| p.0 == "file[]").collect();
    if files.is_empty() {
        return error(json!("No files were submitted."));
    }
    let (prefix, note) = if s.old_files_api {
        (format!("hardware-{id}"), e(&note))
    } else {
        (format!("asset-{id}"), note)
    };
    for f in files {
        let original = f.1.clone().unwrap_or_default();
        let stem = original.strip_suffix(".pdf").unwrap_or(&original);
        let stored = format!("{prefix}-{:08}-{}.pdf", s.files.len() + 1, slug(stem));
        s.files.push((id, stored, note.clone(), f.2.clone()));
    }
    success("File successfully uploaded", Value::Null).delayed(s.stall_upload.take())
}

fn labels(s: &Snipe, r: &Request) -> Reply {
    let search = r.query.get("search").map(|v| v.to_lowercase());
    let name = r.query.get("name");
    let rows: Vec<Value> = s
        .labels
        .iter()
        .filter(|l| {
            let n = l["name"].as_str().unwrap();
            search.as_ref().is_none_or(|q| n.to_lowercase().contains(q))
                && name.is_none_or(|q| n == q)
        })
        .map(|l| json!({"id": l["id"], "name": e(l["name"].as_str().unwrap()), "type": l["type"]}))
        .collect();
    Reply::json(200, json!({"total": rows.len(), "rows": rows}))
}

fn checkin(s: &mut Snipe, id: u64, r: &Request) -> Reply {
    let input = serde_json::from_slice::<Value>(&r.body).unwrap_or(Value::Null);
    let Some(asset) = s.assets.iter_mut().find(|a| a["id"] == id) else {
        return error(json!("Asset not found"));
    };
    if asset["assigned_to"].is_null() {
        return error(json!("That asset is already checked in."));
    }
    asset["assigned_to"] = Value::Null;
    if let Some(status) = input.get("status_id").filter(|v| !v.is_null()) {
        asset["status_id"] = status.clone();
    }
    let tag = asset["asset_tag"].clone();
    success("Asset checked in successfully.", json!({"asset_tag": tag}))
}

fn update(s: &mut Snipe, id: u64, r: &Request) -> Reply {
    let Ok(Value::Object(input)) = serde_json::from_slice::<Value>(&r.body) else {
        return Reply::json(
            422,
            json!({"status": "error", "messages": "Invalid JSON", "payload": null}),
        );
    };
    if let Some(status) = input.get("status_id")
        && !s.labels.iter().any(|l| l["id"] == *status)
    {
        return error(json!({"status_id": ["The selected status id is invalid."]}));
    }
    let mut refused = serde_json::Map::new();
    for key in input.keys().filter(|k| k.starts_with("_snipeit_")) {
        let why = if !s.custom_fields.contains(key) {
            "This field does not seem to exist, please double check your custom field names."
        } else if !s.fieldset.contains(key) {
            "This field seems to exist, but is not available on this Asset Model's fieldset."
        } else if s.strict_fields.contains(key) {
            "The field format is invalid."
        } else {
            continue;
        };
        refused.insert(key.clone(), json!([why]));
    }
    if !refused.is_empty() {
        return error(Value::Object(refused));
    }
    let Some(asset) = s.assets.iter_mut().find(|a| a["id"] == id) else {
        return error(json!("Asset does not exist."));
    };
    for (k, v) in input {
        asset[k] = v;
    }
    success("Asset updated successfully.", asset.clone())
}
