//! The custody log: an append-only list of events (who, what, when, where), each carrying the
//! hash of the one before, so an edited or deleted event breaks the chain.
//!
//! An event's hash is the SHA-256 of the canonical JSON (see `certificate::canonical`) of its
//! fields and the previous hash. The register also keeps the head (last sequence number and
//! hash), so cutting events off the end is detected too.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::certificate::canonical;

/// The hash before the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One custody event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub station: String,
    pub asset_tag: Option<String>,
    pub kind: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of an event's content and its predecessor's hash (the `hash` field is ignored).
pub fn hash(e: &Event) -> String {
    let value = serde_json::json!({
        "seq": e.seq,
        "at": e.at,
        "actor": e.actor,
        "station": e.station,
        "asset_tag": e.asset_tag,
        "kind": e.kind,
        "detail": e.detail,
        "prev_hash": e.prev_hash,
    });
    let bytes = canonical::to_bytes(&value).unwrap_or_default();
    hex::encode(Sha256::digest(&bytes))
}

/// What an audit of the log found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Audit {
    pub events: usize,
    pub ok: bool,
    pub problems: Vec<String>,
}

/// Checks a log (in sequence order) against its recorded head.
pub fn audit(events: &[Event], head: Option<(i64, String)>) -> Audit {
    let mut problems = Vec::new();
    let mut prev = GENESIS.to_string();
    let mut expected_seq = 1;
    for e in events {
        if e.seq != expected_seq {
            problems.push(format!(
                "event {} follows event {}: {} event(s) are missing",
                e.seq,
                expected_seq - 1,
                e.seq - expected_seq
            ));
        }
        if e.prev_hash != prev {
            problems.push(format!(
                "event {} does not link to the event before it",
                e.seq
            ));
        }
        if hash(e) != e.hash {
            problems.push(format!(
                "event {} ({}) was changed after it was written",
                e.seq, e.kind
            ));
        }
        prev = e.hash.clone();
        expected_seq = e.seq + 1;
    }
    match head {
        Some((seq, h)) => {
            let last = events.last().map(|e| (e.seq, e.hash.clone()));
            if last != Some((seq, h.clone())) && !(seq == 0 && events.is_empty()) {
                problems.push(format!(
                    "the log ends at event {} but the register recorded event {seq} as the last: events were removed",
                    last.map(|l| l.0).unwrap_or(0)
                ));
            }
        }
        None if !events.is_empty() => problems.push("the log's head record is missing".into()),
        None => {}
    }
    Audit {
        events: events.len(),
        ok: problems.is_empty(),
        problems,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<Event> {
        let mut prev = GENESIS.to_string();
        (1..=n)
            .map(|seq| {
                let mut e = Event {
                    seq,
                    at: format!("2026-01-01T00:00:{seq:02}Z"),
                    actor: "ann".into(),
                    station: "bay-1".into(),
                    asset_tag: Some("A-1".into()),
                    kind: "intake".into(),
                    detail: "{}".into(),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = hash(&e);
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    #[test]
    fn intact_chain_passes() {
        let c = chain(5);
        let head = Some((5, c[4].hash.clone()));
        assert!(audit(&c, head).ok);
        assert!(audit(&[], Some((0, GENESIS.into()))).ok);
    }

    #[test]
    fn edits_deletions_and_truncation_are_found() {
        let c = chain(5);
        let head = Some((5, c[4].hash.clone()));
        let mut edited = c.clone();
        edited[2].actor = "mallory".into();
        let a = audit(&edited, head.clone());
        assert!(!a.ok && a.problems[0].contains("event 3"), "{a:?}");
        let mut deleted = c.clone();
        deleted.remove(1);
        assert!(!audit(&deleted, head.clone()).ok);
        let truncated = c[..4].to_vec();
        let a = audit(&truncated, head);
        assert!(!a.ok && a.problems[0].contains("removed"), "{a:?}");
    }
}
