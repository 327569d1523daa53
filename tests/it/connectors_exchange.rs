//! Recorded exchanges: for one certificate per system, the exact requests the connector sends
//! and the answers the real server's code gives them (status, headers, body), kept in
//! `tests/fixtures/connectors/*-exchange.json`. The answers are replayed in order and the
//! requests compared, so any change to what the connector sends shows up as a diff of the
//! fixture. `WIPEPROOF_RECORD_EXCHANGES=1` writes the requests seen into the fixture instead
//! (the answers stay as written): review that diff before committing it.

use std::path::PathBuf;

use serde_json::{Map, Value, json};
use wipeproof::connector::ConnectorKind;

use crate::connectors_held::{Bench, cert_id};
use crate::fake_http::{FakeServer, Reply, Request};

/// The headers the connectors set themselves (the HTTP client's own are left out).
const KEPT: [&str; 6] = [
    "accept",
    "app-token",
    "authorization",
    "content-type",
    "session-token",
    "x-glpi-sanitized-content",
];

struct Replay {
    answers: Vec<Value>,
    seen: Vec<Value>,
}

fn replay(r: &mut Replay, request: &Request) -> Reply {
    let i = r.seen.len();
    r.seen.push(normalized(request));
    let Some(answer) = r.answers.get(i) else {
        return Reply::json(
            500,
            json!({"message": format!("the recorded exchange has no answer #{}", i + 1)}),
        );
    };
    let status = answer["status"].as_u64().unwrap_or(500) as u16;
    let mut reply = Reply::json(status, answer["body"].clone());
    for (k, v) in answer["headers"].as_object().into_iter().flatten() {
        reply = reply.header(k, v.as_str().unwrap_or(""));
    }
    reply
}

/// A request as the fixture keeps it: multipart boundaries and file bytes left out.
fn normalized(r: &Request) -> Value {
    let mut headers = Map::new();
    for name in KEPT {
        if let Some(v) = r.header(name) {
            let v = v.split(';').next().unwrap_or(v).trim();
            headers.insert(name.into(), v.into());
        }
    }
    let query: Map<String, Value> = r
        .query
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let body = if r.body.is_empty() {
        Value::Null
    } else if r
        .header("content-type")
        .is_some_and(|t| t.starts_with("multipart/"))
    {
        let parts = r
            .multipart()
            .into_iter()
            .map(|(name, filename, content)| match filename {
                Some(f) => json!({"name": name, "filename": f, "bytes": content.len()}),
                None => json!({"name": name, "text": String::from_utf8_lossy(&content)}),
            });
        Value::Array(parts.collect())
    } else {
        serde_json::from_slice(&r.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&r.body).into()))
    };
    json!({"method": r.method, "path": r.path, "query": query, "headers": headers, "body": body})
}

fn fixture(name: &str) -> (PathBuf, Value) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/connectors")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    (path, serde_json::from_str(&text).unwrap())
}

/// Replays `name`'s answers to one certificate's delivery through `kind`'s connector and
/// compares the requests sent with the recorded ones.
fn exchange(name: &str, kind: ConnectorKind) {
    let (path, mut doc) = fixture(name);
    let steps = doc["exchange"].as_array().unwrap().clone();
    let answers = steps.iter().map(|s| s["response"].clone()).collect();
    let server = FakeServer::start(
        Replay {
            answers,
            seen: Vec::new(),
        },
        replay,
    );
    let bench = Bench::new();
    let settings = bench.settings(kind, &server.url);
    let (report, _) = bench.run(
        &settings,
        &[bench.certificate(&cert_id(1), "ACME-1", "LAP-1")],
    );
    let seen = server.state.lock().unwrap().seen.clone();
    if std::env::var_os("WIPEPROOF_RECORD_EXCHANGES").is_some() {
        let steps = doc["exchange"].as_array_mut().unwrap();
        steps.resize(seen.len(), json!({"request": null, "response": null}));
        for (step, request) in steps.iter_mut().zip(seen) {
            step["request"] = request;
        }
        let text = serde_json::to_string_pretty(&doc).unwrap() + "\n";
        std::fs::write(&path, text).unwrap();
        return;
    }
    let want: Vec<Value> = steps.iter().map(|s| s["request"].clone()).collect();
    assert_eq!(
        serde_json::to_string_pretty(&seen).unwrap(),
        serde_json::to_string_pretty(&want).unwrap(),
        "the requests differ from {}",
        path.display()
    );
    assert_eq!(report.sent.len(), 1, "{report:?}");
}

#[test]
fn snipeit_one_certificate_sends_exactly_the_recorded_requests() {
    exchange("snipeit-exchange.json", ConnectorKind::Snipeit);
}

#[test]
fn glpi_one_certificate_sends_exactly_the_recorded_requests() {
    exchange("glpi-exchange.json", ConnectorKind::Glpi);
}
