//! Gathers what the audit needs from SQLite (the custody log, every asset's stored state and
//! its drives' latest results, every stored certificate) and applies the rules of
//! `register::audit`.

use std::collections::HashMap;

use crate::register::db::{Db, params};
use base64::Engine;
use ed25519_dalek::Signature;

use super::signed::Kind;
use super::{custody, rows, views};
use crate::certificate::computer::ComputerRecord;
use crate::certificate::keys::{PublicKey, TrustStore, parse_public};
use crate::certificate::record::Record;
use crate::register::audit::{
    AssetFacts, ChainEntry, Finding, check_chains, check_states, state_after, state_from_results,
};
use crate::register::trust::check_trust;
use crate::register::*;

/// Audits the register; see `register::audit`.
pub(super) fn audit(conn: &dyn Db, p: &str, keys: &TrustStore) -> Result<Audit, RegisterError> {
    let log = custody::audit(conn, p)?;

    // The state each asset's custody log ends in.
    let mut logged: HashMap<String, Result<AssetState, String>> = HashMap::new();
    let events = rows(
        conn,
        p,
        "SELECT asset_tag, kind, detail FROM events WHERE asset_tag IS NOT NULL ORDER BY seq",
        params![],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        },
    )?;
    // The assets whose receipt the log records (goods-in, the station that wiped it, or an
    // import written before assets were booked as expected).
    let mut received: std::collections::HashSet<String> = std::collections::HashSet::new();
    for (tag, kind, detail) in events {
        let detail = serde_json::from_str(&detail).unwrap_or(serde_json::Value::Null);
        if kind == "received" {
            received.insert(tag.clone());
        }
        if let Some(state) = state_after(&kind, &detail) {
            logged.insert(tag, state);
        }
    }

    // Each drive's latest result, by asset.
    let mut results: HashMap<i64, Vec<Option<String>>> = HashMap::new();
    for (asset_id, result) in rows(
        conn,
        p,
        "SELECT m.asset_id, (SELECT c.result FROM certificates c WHERE c.media_id = m.id
                  ORDER BY c.issued_at DESC, c.received_at DESC LIMIT 1)
         FROM media m",
        params![],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?)),
    )? {
        results.entry(asset_id).or_default().push(result);
    }
    // Each computer asset's latest computer certificate result.
    let mut computer: HashMap<i64, String> = HashMap::new();
    for (asset_id, result) in rows(
        conn,
        p,
        "SELECT asset_id, result FROM computer_certificates WHERE asset_id IS NOT NULL
         ORDER BY issued_at, received_at",
        params![],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)),
    )? {
        computer.insert(asset_id, result);
    }
    let assets = rows(
        conn,
        p,
        "SELECT id, tag, state FROM assets ORDER BY tag",
        params![],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        },
    )?;
    let facts: Vec<AssetFacts> = assets
        .into_iter()
        .map(|(id, tag, stored)| {
            let logged = logged.remove(&tag);
            let destroyed = matches!(logged, Some(Ok(AssetState::Destroyed)));
            let latest: Vec<Option<&str>> = results
                .get(&id)
                .map(|r| r.iter().map(|x| x.as_deref()).collect())
                .unwrap_or_default();
            AssetFacts {
                from_certificates: state_from_results(
                    destroyed,
                    received.contains(&tag),
                    &latest,
                    computer.get(&id).map(String::as_str),
                ),
                stored: AssetState::parse(&stored),
                logged,
                tag,
            }
        })
        .collect();
    let mut findings = check_states(&facts);

    // Every certificate: its stored columns against its signed record, its signature where the
    // key is known, and its place in its station's chain.
    let mut known: HashMap<String, PublicKey> = keys
        .keys()
        .iter()
        .map(|k| (k.key_id.clone(), k.key))
        .collect();
    let stations = views::stations(conn, p)?;
    for s in &stations {
        if let Ok(k) = parse_public(&s.public_key_pem, std::path::Path::new(&s.name)) {
            known.insert(s.key_id.clone(), k);
        }
    }
    let mut chain = Vec::new();
    let count = audit_kind::<Record>(conn, p, &known, &mut findings, &mut chain)?
        + audit_kind::<ComputerRecord>(conn, p, &known, &mut findings, &mut chain)?;
    findings.extend(check_chains(&chain));
    findings.extend(check_trust(&chain, &stations));
    Ok(Audit::combine(log, facts.len(), count, findings))
}

/// Checks every stored record of kind `K` (its stored columns against its signed record, its
/// signature where its key is in `known`) into `findings`, and adds it to `chain`, the
/// stations' chains that drive and computer certificates share. Returns how many there are.
fn audit_kind<K: Kind>(
    conn: &dyn Db,
    p: &str,
    known: &HashMap<String, PublicKey>,
    findings: &mut Vec<Finding>,
    chain: &mut Vec<ChainEntry>,
) -> Result<usize, RegisterError> {
    let stored = stored_rows::<K>(conn, p)?;
    let count = stored.len();
    let what = K::WHAT;
    for (id, result, stored_sha, document, tag, received_at) in stored {
        let tags = || tag.clone().into_iter().collect::<Vec<_>>();
        let mut problem = |message: String| findings.push(Finding::new(message, tags()));
        let cert = match serde_json::from_str::<SignedCertificate<K>>(&document) {
            Ok(c) => c,
            Err(e) => {
                problem(format!(
                    "{what} {id}: the stored document is not a {what} ({e})"
                ));
                continue;
            }
        };
        let r = &cert.record;
        let (Ok(sha), Ok(canonical)) = (r.signed_sha256(), r.signed_bytes()) else {
            problem(format!(
                "{what} {id}: the stored record has no canonical form"
            ));
            continue;
        };
        if r.id() != id || sha != stored_sha {
            problem(format!(
                "{what} {id}: the stored record (id {}, record hash {sha}) is not the one \
                 registered (record hash {stored_sha}): the stored certificate was changed",
                r.id()
            ));
        }
        if r.result() != result {
            problem(format!(
                "{what} {id}: the register says {result} but the signed record says {}",
                r.result()
            ));
        }
        if let Some(key) = known.get(r.key_id())
            && !signature_holds(key, &canonical, &cert.signature.value)
        {
            problem(format!(
                "{what} {id}: its signature does not verify under the key {}",
                r.key_id()
            ));
        }
        chain.push(ChainEntry {
            id,
            station_id: r.performed_by().station_id.clone(),
            key_id: r.key_id().to_string(),
            record_sha256: sha,
            previous: r.previous().cloned(),
            asset_tag: tag,
            issued_at: r.issued_at().to_string(),
            received_at,
        });
    }
    Ok(count)
}

/// Whether `signature_b64` is a strict Ed25519 signature of `message` under `key`.
fn signature_holds(key: &PublicKey, message: &[u8], signature_b64: &str) -> bool {
    base64::engine::general_purpose::STANDARD
        .decode(signature_b64)
        .ok()
        .and_then(|b| <[u8; 64]>::try_from(b.as_slice()).ok())
        .map(|b| Signature::from_bytes(&b))
        .is_some_and(|s| key.verify(message, &s).is_ok())
}

/// A stored record as the audit reads it: id, result, record hash, document, asset tag and
/// arrival.
type StoredRow = (String, String, String, String, Option<String>, String);

/// Every stored record of kind `K`, by issue time.
fn stored_rows<K: Kind>(conn: &dyn Db, p: &str) -> Result<Vec<StoredRow>, RegisterError> {
    rows(
        conn,
        p,
        &format!(
            "SELECT c.id, c.result, c.record_sha256, c.document, a.tag, c.received_at
             FROM {} c LEFT JOIN assets a ON a.id = c.asset_id ORDER BY c.issued_at, c.id",
            K::TABLE
        ),
        params![],
        |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        },
    )
}
