//! Storing a certificate: link it to its asset (by tag, else serial, else the review list),
//! queue it in the outbox, log it, and move the asset to the state its drives' results give.
//! Storing the same certificate twice changes nothing (the certificate id is the key).

use rusqlite::{OptionalExtension, Transaction, params};

use super::{custody, db, views};
use crate::register::*;

/// Stores `cert` inside the caller's transaction; see the module doc.
pub(super) fn record_certificate(
    tx: &Transaction<'_>,
    p: &str,
    cert: &SignedCertificate,
    document: &str,
    asset_tag: Option<&str>,
    outbox: bool,
    actor: &Actor,
) -> Result<Linked, RegisterError> {
    let r = &cert.record;
    let serial = r.media.serial.clone().filter(|s| !s.is_empty());
    // Tag given with the wipe, else the tags in the certificate, else the serial.
    let mut target = None;
    let tags: Vec<&str> = asset_tag
        .into_iter()
        .chain(r.asset_tags.iter().map(String::as_str))
        .collect();
    for t in tags {
        if let Some(a) = views::find_asset(tx, p, Some(t), None)? {
            target = Some(a);
            break;
        }
    }
    if target.is_none() {
        target = views::find_asset(tx, p, None, serial.as_deref())?;
    }

    let existing: Option<(Option<String>, String)> = tx
                .query_row(
                    "SELECT a.tag, c.matched_by FROM certificates c LEFT JOIN assets a ON a.id = c.asset_id WHERE c.id = ?1",
                    [&r.id],
                    |row| Ok((row.get(0)?, row.get(1)?)),
                )
                .optional()
                .map_err(db(p))?;
    if let Some((tag, how)) = existing {
        let state = match &tag {
            Some(t) => tx
                .query_row("SELECT state FROM assets WHERE tag = ?1", [t], |row| {
                    row.get::<_, String>(0)
                })
                .optional()
                .map_err(db(p))?
                .and_then(|s| AssetState::parse(&s)),
            None => None,
        };
        return Ok(Linked {
            certificate_id: r.id.clone(),
            asset_tag: tag,
            matched_by: views::matched_by(&how),
            asset_state: state,
            new: false,
        });
    }
    let now = crate::timestamp::now();
    let (asset_id, media_id, how) = match &target {
        Some(a) => {
            let asset_id: i64 = tx
                .query_row(
                    "SELECT id FROM assets WHERE tag = ?1",
                    [&a.asset_tag],
                    |row| row.get(0),
                )
                .map_err(db(p))?;
            let media_serial = serial
                .clone()
                .unwrap_or_else(|| format!("unknown-{}", r.id));
            tx.execute(
                "INSERT OR IGNORE INTO media (asset_id, serial) VALUES (?1, ?2)",
                params![asset_id, media_serial],
            )
            .map_err(db(p))?;
            tx.execute(
                        "UPDATE media SET model = COALESCE(?3, model), size_bytes = ?4 WHERE asset_id = ?1 AND serial = ?2",
                        params![asset_id, media_serial, r.media.model, r.media.size_bytes as i64],
                    )
                    .map_err(db(p))?;
            let media_id: i64 = tx
                .query_row(
                    "SELECT id FROM media WHERE asset_id = ?1 AND serial = ?2",
                    params![asset_id, media_serial],
                    |row| row.get(0),
                )
                .map_err(db(p))?;
            (Some(asset_id), Some(media_id), a.matched_by)
        }
        None => (None, None, MatchedBy::Unmatched),
    };
    let how_str = match how {
        MatchedBy::Tag => "tag",
        MatchedBy::Serial => "serial",
        MatchedBy::Unmatched => "unmatched",
    };
    tx.execute(
                "INSERT INTO certificates (id, asset_id, media_id, station_id, key_id, serial, model, result, method,
                                           issued_at, record_sha256, matched_by, document, received_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    r.id,
                    asset_id,
                    media_id,
                    r.performed_by.station_id,
                    r.key_id,
                    serial,
                    r.media.model,
                    r.sanitization.result.as_str(),
                    r.sanitization.method,
                    r.issued_at,
                    cert.signature.record_sha256,
                    how_str,
                    document,
                    now
                ],
            )
            .map_err(db(p))?;
    if outbox {
        tx.execute(
            "INSERT INTO outbox (certificate_id, created_at) VALUES (?1, ?2)",
            params![r.id, now],
        )
        .map_err(db(p))?;
    }
    let tag = target.as_ref().map(|a| a.asset_tag.clone());
    custody::append(
        tx,
        p,
        actor,
        tag.as_deref(),
        "certificate",
        serde_json::json!({
            "certificate_id": r.id,
            "result": r.sanitization.result.as_str(),
            "method": r.sanitization.method,
            "serial": serial,
            "station": r.performed_by.station_id,
            "matched_by": how_str,
        }),
    )?;
    let mut state = None;
    if let (Some(asset_id), Some(tag)) = (asset_id, &tag) {
        let before: String = tx
            .query_row(
                "SELECT state FROM assets WHERE id = ?1",
                [asset_id],
                |row| row.get(0),
            )
            .map_err(db(p))?;
        let after = derive_state(tx, p, asset_id)?;
        tx.execute(
            "UPDATE assets SET state = ?2, updated_at = ?3 WHERE id = ?1",
            params![asset_id, after.as_str(), now],
        )
        .map_err(db(p))?;
        if before != after.as_str() {
            custody::append(
                tx,
                p,
                actor,
                Some(tag),
                "state",
                serde_json::json!({ "from": before, "to": after.as_str(), "certificate_id": r.id }),
            )?;
        }
        state = Some(after);
    }
    Ok(Linked {
        certificate_id: r.id.clone(),
        asset_tag: tag,
        matched_by: how,
        asset_state: state,
        new: true,
    })
}

/// The state an asset should be in given its drives' latest results.
fn derive_state(
    tx: &Transaction<'_>,
    path: &str,
    asset_id: i64,
) -> Result<AssetState, RegisterError> {
    let current: String = tx
        .query_row("SELECT state FROM assets WHERE id = ?1", [asset_id], |r| {
            r.get(0)
        })
        .map_err(db(path))?;
    let current = AssetState::parse(&current).unwrap_or(AssetState::Received);
    if current == AssetState::Destroyed {
        return Ok(current);
    }
    let mut stmt = tx
        .prepare(
            "SELECT m.id,
                    (SELECT c.result FROM certificates c WHERE c.media_id = m.id
                      ORDER BY c.issued_at DESC, c.received_at DESC LIMIT 1)
             FROM media m WHERE m.asset_id = ?1",
        )
        .map_err(db(path))?;
    let results: Vec<Option<String>> = stmt
        .query_map([asset_id], |r| r.get(1))
        .map_err(db(path))?
        .collect::<Result<_, _>>()
        .map_err(db(path))?;
    if results.iter().any(|r| r.as_deref() == Some("FAIL")) {
        return Ok(AssetState::Failed);
    }
    if !results.is_empty() && results.iter().all(|r| r.as_deref() == Some("PASS")) {
        return Ok(AssetState::Retired);
    }
    // Some drives not wiped yet, or only interrupted: as it was, unless it had failed and a
    // drive now passed (then it is back to waiting for the rest).
    Ok(match current {
        AssetState::Retired | AssetState::Failed => AssetState::Received,
        s => s,
    })
}
