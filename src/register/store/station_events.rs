//! Station events in SQLite: on a station, the event outbox (queued in the transaction that
//! records the event, sent by `sync`); on the central register, every event received, keyed by
//! id, and applied to its asset when the asset (and the certificate it names) are here.

use crate::register::db::{Db, params};

use super::{certificates, collections, custody, db, rows, views};
use crate::register::station_event::{Action, SignedEvent, StationEvent};
use crate::register::*;

/// Queues an event this register recorded, for the central register.
pub(super) fn queue(tx: &dyn Db, p: &str, event: &StationEvent) -> Result<(), RegisterError> {
    let text = serde_json::to_string(event).map_err(|e| RegisterError::Database {
        path: p.into(),
        message: format!("cannot write custody event {}: {e}", event.id),
    })?;
    tx.execute(
        "INSERT INTO event_outbox (id, event, created_at) VALUES (?1, ?2, ?3)",
        params![event.id, text, crate::timestamp::now()],
    )
    .map_err(db(p))?;
    Ok(())
}

/// Events not yet sent, oldest first.
pub(super) fn pending(conn: &dyn Db, p: &str) -> Result<Vec<EventOutboxItem>, RegisterError> {
    let found = rows(
        conn,
        p,
        "SELECT id, event, attempts, last_error FROM event_outbox
         WHERE sent_at IS NULL ORDER BY created_at, id",
        params![],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        },
    )?;
    found
        .into_iter()
        .map(|(id, text, attempts, last_error)| {
            let event = serde_json::from_str(&text).map_err(|e| RegisterError::Database {
                path: p.into(),
                message: format!("event outbox entry {id} is not a custody event ({e}); the register was edited by hand"),
            })?;
            Ok(EventOutboxItem {
                event,
                attempts: attempts as u64,
                last_error,
            })
        })
        .collect()
}

/// Records one attempt to send an event: sent, or failed with `error`.
pub(super) fn mark(
    tx: &dyn Db,
    p: &str,
    id: &str,
    error: Option<&str>,
) -> Result<(), RegisterError> {
    let now = crate::timestamp::now();
    let sql = match error {
        None => {
            "UPDATE event_outbox SET sent_at = ?2, attempts = attempts + 1, last_attempt_at = ?2,
             last_error = ?3 WHERE id = ?1"
        }
        Some(_) => {
            "UPDATE event_outbox SET attempts = attempts + 1, last_attempt_at = ?2, last_error = ?3
             WHERE id = ?1"
        }
    };
    tx.execute(sql, params![id, now, error]).map_err(db(p))?;
    Ok(())
}

/// Central register: stores a verified event from the station enrolled as `enrolled_as`, and
/// applies it if it can.
pub(super) fn receive(
    tx: &dyn Db,
    p: &str,
    signed: &SignedEvent,
    document: &str,
    enrolled_as: &str,
) -> Result<EventReceipt, RegisterError> {
    let event = &signed.event;
    let sha = event
        .sha256()
        .map_err(|e| RegisterError::BadEvent(e.to_string()))?;
    let held: Option<String> = tx
        .query_opt(
            "SELECT sha256 FROM station_events WHERE id = ?1",
            params![&event.id],
            |r| r.get(0),
        )
        .map_err(db(p))?;
    match held {
        Some(h) if h == sha => return Ok(EventReceipt::Already),
        Some(_) => {
            return Err(RegisterError::EventConflict {
                id: event.id.clone(),
            });
        }
        None => {}
    }
    tx.execute(
        "INSERT INTO station_events (id, key_id, enrolled_as, sha256, document, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![
            event.id,
            signed.signature.key_id,
            enrolled_as,
            sha,
            document,
            crate::timestamp::now()
        ],
    )
    .map_err(db(p))?;
    if apply(tx, p, event, enrolled_as)? {
        Ok(EventReceipt::Applied)
    } else {
        Ok(EventReceipt::Waiting)
    }
}

/// Applies the events that waited for their asset or certificate (after an intake import).
/// An event that still cannot apply, or that conflicts with what a person decided here,
/// keeps waiting.
pub(super) fn apply_waiting(tx: &dyn Db, p: &str) -> Result<usize, RegisterError> {
    let waiting = rows(
        tx,
        p,
        "SELECT enrolled_as, document FROM station_events WHERE applied_at IS NULL
         ORDER BY received_at, id",
        params![],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
    )?;
    let mut applied = 0;
    for (enrolled_as, document) in waiting {
        let Ok(signed) = SignedEvent::parse(document.as_bytes()) else {
            continue;
        };
        match apply(tx, p, &signed.event, &enrolled_as) {
            Ok(true) => applied += 1,
            Ok(false) | Err(RegisterError::LinkedElsewhere { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(applied)
}

/// Applies one event; `false` if its asset (or the certificate it links, or the collection it
/// is about) is not in this register yet.
fn apply(
    tx: &dyn Db,
    p: &str,
    event: &StationEvent,
    enrolled_as: &str,
) -> Result<bool, RegisterError> {
    let actor = Actor {
        name: event.operator.clone(),
        station: enrolled_as.into(),
    };
    let applied = match &event.action {
        Action::Destroyed { .. } | Action::Linked { .. } => apply_to_asset(tx, p, event, &actor)?,
        _ => apply_custody(tx, p, event, &actor)?,
    };
    if applied {
        tx.execute(
            "UPDATE station_events SET applied_at = ?2 WHERE id = ?1",
            params![event.id, crate::timestamp::now()],
        )
        .map_err(db(p))?;
    }
    Ok(applied)
}

/// Applies a destruction or a link to its asset.
fn apply_to_asset(
    tx: &dyn Db,
    p: &str,
    event: &StationEvent,
    actor: &Actor,
) -> Result<bool, RegisterError> {
    let state: Option<String> = tx
        .query_opt(
            "SELECT state FROM assets WHERE tag = ?1",
            params![&event.asset_tag],
            |r| r.get(0),
        )
        .map_err(db(p))?;
    let Some(state) = state else {
        return Ok(false);
    };
    match &event.action {
        Action::Destroyed { method, witness } => {
            // Destroyed already (recorded here, or by another station): nothing to change.
            if state != AssetState::Destroyed.as_str() {
                collections::receive_by_handling(
                    tx,
                    p,
                    &event.asset_tag,
                    serde_json::json!({
                        "by_destruction": method,
                        "event_id": event.id,
                        "note": "received by its destruction; goods-in never scanned it",
                    }),
                    actor,
                )?;
                tx.execute(
                    "UPDATE assets SET state = 'destroyed', updated_at = ?2 WHERE tag = ?1",
                    params![event.asset_tag, crate::timestamp::now()],
                )
                .map_err(db(p))?;
                custody::append(
                    tx,
                    p,
                    actor,
                    Some(&event.asset_tag),
                    "destroyed",
                    serde_json::json!({
                        "method": method,
                        "witness": witness,
                        "from": state,
                        "event_id": event.id,
                        "at_station": event.at,
                    }),
                )?;
            }
        }
        Action::Linked { certificate_id } => {
            if !views::has_certificate(tx, p, certificate_id)? {
                return Ok(false);
            }
            // The station's person decided, relinking if the drive was tied elsewhere.
            certificates::link_by_person(tx, p, certificate_id, &event.asset_tag, true, actor)?;
        }
        _ => return apply_custody(tx, p, event, actor),
    }
    Ok(true)
}

/// Applies a step of a collection's custody. What this register recorded itself stands: a
/// pick-up recorded twice, a receipt or resolution of an asset received or resolved here
/// already, a scan into a collection closed here, change nothing.
fn apply_custody(
    tx: &dyn Db,
    p: &str,
    event: &StationEvent,
    actor: &Actor,
) -> Result<bool, RegisterError> {
    let code = match &event.action {
        Action::Collected { collection, .. }
        | Action::Received { collection, .. }
        | Action::Extra { collection, .. }
        | Action::Reconciled { collection, .. }
        | Action::Resolved { collection, .. }
        | Action::Closed { collection } => collection.as_str(),
        Action::Destroyed { .. } | Action::Linked { .. } => {
            return apply_to_asset(tx, p, event, actor);
        }
        Action::Renamed { .. } => {
            return Err(RegisterError::BadEvent(format!(
                "event {}: a station's rename is not a custody event; it is sent to \
                 /api/v1/stations/rename",
                event.id
            )));
        }
    };
    let Some((id, _)) = collections::find(tx, p, code)? else {
        return Ok(false);
    };
    let tag = event.asset_tag.as_str();
    if !tag.is_empty() && views::find_asset(tx, p, Some(tag), None)?.is_none() {
        return Ok(false);
    }
    // The step is dated when the station took it.
    let by = (actor, event.at.as_str());
    let done = match &event.action {
        Action::Collected {
            driver,
            vehicle,
            seals,
            count,
            ..
        } => {
            let pickup = crate::register::collection::Pickup {
                driver: driver.clone(),
                vehicle: vehicle.clone(),
                seals: seals.clone(),
                count: *count,
            };
            collections::collect(tx, p, code, &pickup, by).map(|_| ())
        }
        Action::Received { scanned, .. } => {
            collections::receive_in(tx, p, (id, code), tag, scanned, by).map(|_| ())
        }
        Action::Extra { scanned, .. } => {
            collections::record_extra(tx, p, (id, code), scanned, by).map(|_| ())
        }
        Action::Reconciled {
            expected,
            received,
            missing,
            extra,
            ..
        } => collections::step(
            tx,
            p,
            (id, code),
            crate::register::collection::CollectionState::Reconciled,
            serde_json::json!({
                "expected": expected, "received": received, "missing": missing,
                "extra": extra, "event_id": event.id,
            }),
            by,
        ),
        Action::Resolved { reason, note, .. } => {
            match crate::register::collection::Reason::parse(reason) {
                Some(reason) => {
                    collections::resolve(tx, p, (tag, code), reason, note.as_deref(), by)
                }
                None => Err(RegisterError::BadEvent(format!(
                    "event {}: no such reason {reason}",
                    event.id
                ))),
            }
        }
        Action::Closed { .. } => collections::close(tx, p, code, by).map(|_| ()),
        Action::Destroyed { .. } | Action::Linked { .. } | Action::Renamed { .. } => Ok(()),
    };
    match done {
        Ok(()) | Err(RegisterError::Custody { .. }) => Ok(true),
        Err(e) => Err(e),
    }
}
