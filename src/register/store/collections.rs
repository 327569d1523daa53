//! Writing a collection's custody inside the caller's transaction: its steps (each a row of
//! `collection_steps` and a custody event), an asset's receipt, a scan at goods-in, the
//! reconciliation and a missing asset's resolution. The same functions apply a station's
//! events on the central register (`station_events`), so both registers agree.

use crate::register::collection::*;
use crate::register::db::{Db, params};

use super::{custody, db, rows};
use crate::register::*;

/// The id and state of the collection `code`.
pub(super) fn find(
    tx: &dyn Db,
    p: &str,
    code: &str,
) -> Result<Option<(i64, CollectionState)>, RegisterError> {
    let found: Option<(i64, String)> = tx
        .query_opt(
            "SELECT id, state FROM collections WHERE code = ?1",
            params![code],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(db(p))?;
    Ok(found.map(|(id, s)| {
        (
            id,
            CollectionState::parse(&s).unwrap_or(CollectionState::Booked),
        )
    }))
}

/// Like [`find`], but an unknown collection is an error.
pub(super) fn get(
    tx: &dyn Db,
    p: &str,
    code: &str,
) -> Result<(i64, CollectionState), RegisterError> {
    find(tx, p, code)?.ok_or_else(|| RegisterError::UnknownCollection(code.into()))
}

fn refused(code: &str, message: String) -> RegisterError {
    RegisterError::Custody {
        collection: code.into(),
        message,
    }
}

/// Records the step `step` of collection `code` (id `id`), taken by `actor` at `now` (on a
/// central register: when the station took it): a row of its steps, a custody event
/// `collection-STEP`, and its state moved forward to `step` (never back).
pub(super) fn step(
    tx: &dyn Db,
    p: &str,
    (id, code): (i64, &str),
    step: CollectionState,
    mut detail: serde_json::Value,
    (actor, now): (&Actor, &str),
) -> Result<(), RegisterError> {
    tx.execute(
        "INSERT INTO collection_steps (collection_id, step, at, actor, station, detail)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            id,
            step.as_str(),
            now,
            actor.name,
            actor.station,
            detail.to_string()
        ],
    )
    .map_err(db(p))?;
    detail["collection"] = serde_json::json!(code);
    custody::append(
        tx,
        p,
        actor,
        None,
        &format!("collection-{}", step.as_str()),
        detail,
    )?;
    let (_, state) = get(tx, p, code)?;
    if state < step {
        tx.execute(
            "UPDATE collections SET state = ?2 WHERE id = ?1",
            params![id, step.as_str()],
        )
        .map_err(db(p))?;
    }
    Ok(())
}

/// Records the pick-up of collection `code`; a collection is picked up once.
pub(super) fn collect(
    tx: &dyn Db,
    p: &str,
    code: &str,
    pickup: &Pickup,
    by: (&Actor, &str),
) -> Result<(), RegisterError> {
    let (id, state) = get(tx, p, code)?;
    let before: Option<String> = tx
        .query_opt(
            "SELECT at FROM collection_steps WHERE collection_id = ?1 AND step = 'collected'",
            params![id],
            |r| r.get(0),
        )
        .map_err(db(p))?;
    if let Some(at) = before {
        return Err(refused(
            code,
            format!(
                "its pick-up was recorded already, at {at}; `wipeproof collections show {code}` shows it"
            ),
        ));
    }
    if state == CollectionState::Closed {
        return Err(refused(
            code,
            "it is closed (its report was issued); a pick-up can no longer be recorded".into(),
        ));
    }
    let detail = serde_json::to_value(pickup).map_err(|e| refused(code, e.to_string()))?;
    step(tx, p, (id, code), CollectionState::Collected, detail, by)
}

/// Records the receipt of the asset `tag` (of collection `code`) if it was not received
/// before: its state moves from expected to received (a destroyed or wiped asset keeps its
/// state) and a custody event `received` says how (`how`). `false` if it was received before.
pub(super) fn receive_asset(
    tx: &dyn Db,
    p: &str,
    tag: &str,
    code: &str,
    how: serde_json::Value,
    (actor, now): (&Actor, &str),
) -> Result<bool, RegisterError> {
    let found: Option<(Option<String>, String)> = tx
        .query_opt(
            "SELECT received_at, state FROM assets WHERE tag = ?1",
            params![tag],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(db(p))?;
    let Some((received_at, state)) = found else {
        return Err(RegisterError::UnknownAsset(tag.into()));
    };
    if received_at.is_some() {
        return Ok(false);
    }
    let to = if state == AssetState::Expected.as_str() {
        AssetState::Received.as_str()
    } else {
        state.as_str()
    };
    tx.execute(
        "UPDATE assets SET received_at = ?2, state = ?3, updated_at = ?2 WHERE tag = ?1",
        params![tag, now, to],
    )
    .map_err(db(p))?;
    let mut detail = serde_json::json!({ "collection": code, "from": state, "to": to });
    if let (Some(d), serde_json::Value::Object(h)) = (detail.as_object_mut(), how) {
        d.extend(h);
    }
    custody::append(tx, p, actor, Some(tag), "received", detail)?;
    Ok(true)
}

/// Records the receipt of the asset `tag` by what was done to it (`how`: a wipe, a
/// destruction) when goods-in never scanned it: it was evidently there. `false` if it was
/// received before.
pub(super) fn receive_by_handling(
    tx: &dyn Db,
    p: &str,
    tag: &str,
    how: serde_json::Value,
    actor: &Actor,
) -> Result<bool, RegisterError> {
    let code: Option<String> = tx
        .query_opt(
            "SELECT co.code FROM assets a JOIN collections co ON co.id = a.collection_id
             WHERE a.tag = ?1",
            params![tag],
            |r| r.get(0),
        )
        .map_err(db(p))?;
    let Some(code) = code else {
        return Err(RegisterError::UnknownAsset(tag.into()));
    };
    receive_asset(tx, p, tag, &code, how, (actor, &crate::timestamp::now()))
}

/// An asset found by a scan: its tag, collection and when it was received.
type Found = (String, String, Option<String>);

/// The asset a scan names: by tag, else by its serial, else by a drive's serial; an asset of
/// `code` first where a serial is on several.
fn scanned_asset(
    tx: &dyn Db,
    p: &str,
    code: &str,
    scanned: &str,
) -> Result<Option<Found>, RegisterError> {
    const BASE: &str = "SELECT a.tag, co.code, a.received_at FROM assets a
        JOIN collections co ON co.id = a.collection_id";
    let row = |r: &crate::register::db::Row| Ok((r.get(0)?, r.get(1)?, r.get(2)?));
    let by_tag = tx
        .query_opt(&format!("{BASE} WHERE a.tag = ?1"), params![scanned], row)
        .map_err(db(p))?;
    if by_tag.is_some() {
        return Ok(by_tag);
    }
    for sql in [
        format!(
            "{BASE} WHERE a.serial = ?1 ORDER BY CASE WHEN co.code = ?2 THEN 0 ELSE 1 END, a.id LIMIT 1"
        ),
        format!(
            "{BASE} JOIN media m ON m.asset_id = a.id WHERE m.serial = ?1
             ORDER BY CASE WHEN co.code = ?2 THEN 0 ELSE 1 END, a.id LIMIT 1"
        ),
    ] {
        let found = tx
            .query_opt(&sql, params![scanned, code], row)
            .map_err(db(p))?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

/// Records one scan at goods-in for collection `code`; see [`Scan`].
pub(super) fn scan(
    tx: &dyn Db,
    p: &str,
    code: &str,
    scanned: &str,
    by: (&Actor, &str),
) -> Result<Scan, RegisterError> {
    let (id, state) = get(tx, p, code)?;
    if state == CollectionState::Closed {
        return Err(refused(
            code,
            "it is closed (its report was issued); nothing more can be received into it".into(),
        ));
    }
    match scanned_asset(tx, p, code, scanned)? {
        Some((tag, other, _)) if other != code => Ok(Scan::OtherCollection {
            asset_tag: tag,
            collection: other,
        }),
        Some((tag, _, Some(at))) => Ok(Scan::AlreadyReceived { asset_tag: tag, at }),
        Some((tag, _, None)) => {
            receive_in(tx, p, (id, code), &tag, scanned, by)?;
            Ok(Scan::Received { asset_tag: tag })
        }
        None => {
            if record_extra(tx, p, (id, code), scanned, by)? {
                Ok(Scan::Extra)
            } else {
                Ok(Scan::ExtraAgain)
            }
        }
    }
}

/// Receives the asset `tag` of collection `code` by a scan at goods-in; the collection's first
/// scan records its step `received`. (A scan after the reconciliation receives the asset as
/// well: its reconciliation still names it missing, and the report says it came later.)
pub(super) fn receive_in(
    tx: &dyn Db,
    p: &str,
    (id, code): (i64, &str),
    tag: &str,
    scanned: &str,
    by: (&Actor, &str),
) -> Result<bool, RegisterError> {
    first_scan(tx, p, (id, code), scanned, by)?;
    receive_asset(
        tx,
        p,
        tag,
        code,
        serde_json::json!({ "scanned": scanned }),
        by,
    )
}

/// Records the step `received` at the collection's first scan. Whether a scan is the first
/// is read from the steps, not the state, so a central register that applies a station's
/// events in another order records the same steps.
fn first_scan(
    tx: &dyn Db,
    p: &str,
    (id, code): (i64, &str),
    scanned: &str,
    by: (&Actor, &str),
) -> Result<(), RegisterError> {
    let before: Option<i64> = tx
        .query_opt(
            "SELECT id FROM collection_steps WHERE collection_id = ?1 AND step = 'received'",
            params![id],
            |r| r.get(0),
        )
        .map_err(db(p))?;
    if before.is_some() {
        return Ok(());
    }
    step(
        tx,
        p,
        (id, code),
        CollectionState::Received,
        serde_json::json!({ "first_scan": scanned }),
        by,
    )
}

/// Records `scanned` as an extra of the collection; `false` if it was recorded before.
pub(super) fn record_extra(
    tx: &dyn Db,
    p: &str,
    (id, code): (i64, &str),
    scanned: &str,
    (actor, now): (&Actor, &str),
) -> Result<bool, RegisterError> {
    let inserted = tx
        .execute(
            "INSERT INTO collection_extras (collection_id, scanned, at, actor, station)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
            params![id, scanned, now, actor.name, actor.station],
        )
        .map_err(db(p))?;
    if inserted == 0 {
        return Ok(false);
    }
    first_scan(tx, p, (id, code), scanned, (actor, now))?;
    custody::append(
        tx,
        p,
        actor,
        None,
        "extra",
        serde_json::json!({ "collection": code, "scanned": scanned }),
    )?;
    Ok(true)
}

/// Compares what collection `code` expected with what arrived (read only).
pub(super) fn reconciliation(
    conn: &dyn Db,
    p: &str,
    code: &str,
) -> Result<Reconciliation, RegisterError> {
    let (id, _) = get(conn, p, code)?;
    let (expected, received): (i64, Option<i64>) = conn
        .query_row(
            "SELECT COUNT(*), SUM(CASE WHEN received_at IS NOT NULL THEN 1 ELSE 0 END)
             FROM assets WHERE collection_id = ?1",
            params![id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(db(p))?;
    let missing = missing(conn, p, id)?;
    let extra = extras(conn, p, id)?;
    Ok(Reconciliation {
        collection: code.into(),
        expected: expected as u64,
        received: received.unwrap_or(0) as u64,
        unresolved: missing.iter().filter(|m| m.resolution.is_none()).count() as u64,
        missing,
        extra,
    })
}

/// Assets of collection `id` not received, or resolved after they were found missing.
pub(super) fn missing(conn: &dyn Db, p: &str, id: i64) -> Result<Vec<Missing>, RegisterError> {
    rows(
        conn,
        p,
        "SELECT tag, serial, type, resolution, resolution_note, resolved_by, resolved_at
         FROM assets WHERE collection_id = ?1 AND (received_at IS NULL OR resolution IS NOT NULL)
         ORDER BY tag",
        params![id],
        |r| {
            let reason: Option<String> = r.get(3)?;
            let resolution = match reason.as_deref().and_then(Reason::parse) {
                Some(reason) => Some(Resolution {
                    reason,
                    note: r.get(4)?,
                    by: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
                    at: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
                }),
                None => None,
            };
            Ok(Missing {
                asset_tag: r.get(0)?,
                serial: r.get(1)?,
                asset_type: r.get(2)?,
                resolution,
            })
        },
    )
}

/// What goods-in scanned for collection `id` that no manifest lists.
pub(super) fn extras(conn: &dyn Db, p: &str, id: i64) -> Result<Vec<Extra>, RegisterError> {
    rows(
        conn,
        p,
        "SELECT scanned, at, actor FROM collection_extras WHERE collection_id = ?1 ORDER BY at, id",
        params![id],
        |r| {
            Ok(Extra {
                scanned: r.get(0)?,
                at: r.get(1)?,
                by: r.get(2)?,
            })
        },
    )
}

/// Reconciles collection `code` and records the result as its step `reconciled`.
pub(super) fn reconcile(
    tx: &dyn Db,
    p: &str,
    code: &str,
    by: (&Actor, &str),
) -> Result<Reconciliation, RegisterError> {
    let (id, _) = get(tx, p, code)?;
    let r = reconciliation(tx, p, code)?;
    step(
        tx,
        p,
        (id, code),
        CollectionState::Reconciled,
        summary(&r),
        by,
    )?;
    Ok(r)
}

/// The record a reconciliation leaves: counts, the missing tags, the extras as scanned.
pub(super) fn summary(r: &Reconciliation) -> serde_json::Value {
    serde_json::json!({
        "expected": r.expected,
        "received": r.received,
        "missing": r.missing.iter().map(|m| &m.asset_tag).collect::<Vec<_>>(),
        "extra": r.extra.iter().map(|e| &e.scanned).collect::<Vec<_>>(),
        "unresolved": r.unresolved,
    })
}

/// Resolves the missing asset `tag` of collection `code`: refused for an asset of another
/// collection, one that was received, or one resolved before.
pub(super) fn resolve(
    tx: &dyn Db,
    p: &str,
    (tag, code): (&str, &str),
    reason: Reason,
    note: Option<&str>,
    by: (&Actor, &str),
) -> Result<(), RegisterError> {
    let (id, _) = get(tx, p, code)?;
    let found: Option<(i64, Option<String>, Option<String>)> = tx
        .query_opt(
            "SELECT collection_id, received_at, resolution FROM assets WHERE tag = ?1",
            params![tag],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .map_err(db(p))?;
    let Some((cid, received_at, resolution)) = found else {
        return Err(RegisterError::UnknownAsset(tag.into()));
    };
    if cid != id {
        return Err(refused(code, format!("asset {tag} is not on its manifest")));
    }
    if let Some(r) = resolution {
        return Err(refused(
            code,
            format!("asset {tag} was resolved already ({r})"),
        ));
    }
    if let Some(at) = received_at {
        return Err(refused(
            code,
            format!("asset {tag} was received at {at}; it is not missing"),
        ));
    }
    if reason == Reason::Lost && note.is_none_or(|n| n.trim().is_empty()) {
        return Err(refused(
            code,
            format!("a lost asset ({tag}) needs a note naming the incident: add --note"),
        ));
    }
    mark_resolved(tx, p, (tag, code), reason, note, by)?;
    if reason == Reason::Found {
        receive_asset(
            tx,
            p,
            tag,
            code,
            serde_json::json!({ "resolution": "found" }),
            by,
        )?;
    }
    Ok(())
}

/// Writes a resolution and its custody event.
fn mark_resolved(
    tx: &dyn Db,
    p: &str,
    (tag, code): (&str, &str),
    reason: Reason,
    note: Option<&str>,
    (actor, now): (&Actor, &str),
) -> Result<(), RegisterError> {
    tx.execute(
        "UPDATE assets SET resolution = ?2, resolution_note = ?3, resolved_by = ?4, resolved_at = ?5
         WHERE tag = ?1",
        params![
            tag,
            reason.as_str(),
            note,
            actor.name,
            now
        ],
    )
    .map_err(db(p))?;
    custody::append(
        tx,
        p,
        actor,
        Some(tag),
        "resolved",
        serde_json::json!({ "collection": code, "reason": reason.as_str(), "note": note }),
    )
}

/// Records that the report of collection `code` was issued; `false` if it was closed before.
pub(super) fn close(
    tx: &dyn Db,
    p: &str,
    code: &str,
    by: (&Actor, &str),
) -> Result<bool, RegisterError> {
    let (id, state) = get(tx, p, code)?;
    if state == CollectionState::Closed {
        return Ok(false);
    }
    let r = reconciliation(tx, p, code)?;
    step(
        tx,
        p,
        (id, code),
        CollectionState::Closed,
        serde_json::json!({ "unresolved": r.unresolved }),
        by,
    )?;
    Ok(true)
}
