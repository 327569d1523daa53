//! Reading a collection's custody (`collections list|show`), and the register's [`Custody`]
//! operations: each writes in one transaction through `collections` and queues its station
//! event for the central register in the same transaction.

use crate::register::collection::*;
use crate::register::db::{Db, DbError, Row, params};
use crate::register::station_event::{Action, StationEvent};
use crate::timestamp::now;

use super::{SqlRegister, Store, collections, rows, station_events};
use crate::register::*;

/// A collection with its counts, read from the counts the database keeps (see
/// `lookup::tallies`): a handful of rows whatever the collection's size.
const LIST_SQL: &str = "
SELECT co.id, co.code, cu.name, co.state,
       CAST(SUM(CASE WHEN t.key = 'assets' THEN t.n ELSE 0 END) AS BIGINT),
       CAST(SUM(CASE WHEN t.key = 'received' THEN t.n ELSE 0 END) AS BIGINT),
       CAST(SUM(CASE WHEN t.key = 'unaccounted' THEN t.n ELSE 0 END) AS BIGINT),
       (SELECT COUNT(*) FROM collection_extras e WHERE e.collection_id = co.id),
       CAST(SUM(CASE WHEN t.key = 'state:retired' THEN t.n ELSE 0 END) AS BIGINT),
       CAST(SUM(CASE WHEN t.key = 'state:failed' THEN t.n ELSE 0 END) AS BIGINT),
       CAST(SUM(CASE WHEN t.key = 'state:destroyed' THEN t.n ELSE 0 END) AS BIGINT)
FROM collections co JOIN customers cu ON cu.id = co.customer_id
LEFT JOIN collection_tallies t ON t.collection_id = co.id";

fn view_from_row(r: &Row) -> Result<(i64, CollectionView), DbError> {
    let n =
        |i: usize| -> Result<u64, DbError> { Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0) as u64) };
    let state: String = r.get(3)?;
    Ok((
        r.get(0)?,
        CollectionView {
            collection: r.get(1)?,
            customer: r.get(2)?,
            state: CollectionState::parse(&state).unwrap_or(CollectionState::Booked),
            assets: n(4)?,
            received: n(5)?,
            unaccounted: n(6)?,
            extras: n(7)?,
            retired: n(8)?,
            failed: n(9)?,
            destroyed: n(10)?,
            steps: Vec::new(),
        },
    ))
}

/// Every collection with its counts, by code.
pub(super) fn list(conn: &dyn Db, p: &str) -> Result<Vec<CollectionView>, RegisterError> {
    let found = rows(
        conn,
        p,
        &format!("{LIST_SQL} GROUP BY co.id, co.code, cu.name, co.state ORDER BY co.code"),
        params![],
        view_from_row,
    )?;
    Ok(found.into_iter().map(|(_, v)| v).collect())
}

/// One collection with its steps, missing assets and extras.
pub(super) fn custody(conn: &dyn Db, p: &str, code: &str) -> Result<CustodyRecord, RegisterError> {
    let (id, view) = view(conn, p, code)?;
    Ok(CustodyRecord {
        view,
        missing: collections::missing(conn, p, id)?,
        extra: collections::extras(conn, p, id)?,
        destroyed: destroyed(conn, p, id)?,
    })
}

/// The destruction of each destroyed asset of the collection `id`, from the custody log (an
/// asset is destroyed once: a second destruction is refused).
fn destroyed(conn: &dyn Db, p: &str, id: i64) -> Result<Vec<Destruction>, RegisterError> {
    rows(
        conn,
        p,
        "SELECT e.asset_tag, e.at, e.actor, e.detail FROM events e
         JOIN assets a ON a.tag = e.asset_tag
         WHERE a.collection_id = ?1 AND a.state = 'destroyed' AND e.kind = 'destroyed'
         ORDER BY e.seq",
        params![id],
        |r| {
            let detail: serde_json::Value =
                serde_json::from_str(&r.get::<_, String>(3)?).unwrap_or_default();
            let text = |k: &str| detail[k].as_str().unwrap_or_default().to_string();
            let at = detail["at_station"]
                .as_str()
                .map(str::to_string)
                .unwrap_or(r.get(1)?);
            Ok(Destruction {
                asset_tag: r.get(0)?,
                method: text("method"),
                witness: text("witness"),
                at,
                by: r.get(2)?,
            })
        },
    )
}

/// One collection with its counts and steps (its id too).
fn view(conn: &dyn Db, p: &str, code: &str) -> Result<(i64, CollectionView), RegisterError> {
    let found = rows(
        conn,
        p,
        &format!("{LIST_SQL} WHERE co.code = ?1 GROUP BY co.id, co.code, cu.name, co.state"),
        params![code],
        view_from_row,
    )?;
    let Some((id, mut view)) = found.into_iter().next() else {
        return Err(RegisterError::UnknownCollection(code.into()));
    };
    view.steps = rows(
        conn,
        p,
        "SELECT step, at, actor, station, detail FROM collection_steps
         WHERE collection_id = ?1
         ORDER BY at, CASE step WHEN 'booked' THEN 0 WHEN 'collected' THEN 1
                  WHEN 'received' THEN 2 WHEN 'reconciled' THEN 3 ELSE 4 END, id",
        params![id],
        |r| {
            Ok(Step {
                step: CollectionState::parse(&r.get::<_, String>(0)?)
                    .unwrap_or(CollectionState::Booked),
                at: r.get(1)?,
                actor: r.get(2)?,
                station: r.get(3)?,
                detail: serde_json::from_str(&r.get::<_, String>(4)?)
                    .unwrap_or(serde_json::Value::Null),
            })
        },
    )?;
    Ok((id, view))
}

/// A station event about the whole collection (no asset tag).
fn collection_event(actor: &Actor, action: Action) -> StationEvent {
    StationEvent::new(&actor.station, &actor.name, "", action)
}

impl<S: Store> Custody for SqlRegister<S> {
    fn collection_list(&self) -> Result<Vec<CollectionView>, RegisterError> {
        self.store.read(&mut |db, path| list(db, path))
    }

    fn custody(&self, collection: &str) -> Result<CustodyRecord, RegisterError> {
        self.store
            .read(&mut |db, path| custody(db, path, collection))
    }

    fn collection_view(&self, collection: &str) -> Result<CollectionView, RegisterError> {
        self.store
            .read(&mut |db, path| Ok(view(db, path, collection)?.1))
    }

    fn collect(
        &mut self,
        collection: &str,
        pickup: &Pickup,
        actor: &Actor,
    ) -> Result<(), RegisterError> {
        self.store.write(&mut |tx, path| {
            collections::collect(tx, path, collection, pickup, (actor, &now()))?;
            let event = collection_event(
                actor,
                Action::Collected {
                    collection: collection.into(),
                    driver: pickup.driver.clone(),
                    vehicle: pickup.vehicle.clone(),
                    seals: pickup.seals.clone(),
                    count: pickup.count,
                },
            );
            station_events::queue(tx, path, &event)
        })
    }

    fn receive_scan(
        &mut self,
        collection: &str,
        scanned: &str,
        actor: &Actor,
    ) -> Result<Scan, RegisterError> {
        self.store.write(&mut |tx, path| {
            let scan = collections::scan(tx, path, collection, scanned, (actor, &now()))?;
            let (c, s) = (collection.to_string(), scanned.to_string());
            let event = match &scan {
                Scan::Received { asset_tag } => Some(StationEvent::new(
                    &actor.station,
                    &actor.name,
                    asset_tag,
                    Action::Received {
                        collection: c,
                        scanned: s,
                    },
                )),
                Scan::Extra => Some(collection_event(
                    actor,
                    Action::Extra {
                        collection: c,
                        scanned: s,
                    },
                )),
                _ => None,
            };
            if let Some(event) = event {
                station_events::queue(tx, path, &event)?;
            }
            Ok(scan)
        })
    }

    fn reconcile(
        &mut self,
        collection: &str,
        actor: &Actor,
    ) -> Result<Reconciliation, RegisterError> {
        self.store.write(&mut |tx, path| {
            let r = collections::reconcile(tx, path, collection, (actor, &now()))?;
            let event = collection_event(
                actor,
                Action::Reconciled {
                    collection: collection.into(),
                    expected: r.expected,
                    received: r.received,
                    missing: r.missing.iter().map(|m| m.asset_tag.clone()).collect(),
                    extra: r.extra.iter().map(|e| e.scanned.clone()).collect(),
                },
            );
            station_events::queue(tx, path, &event)?;
            Ok(r)
        })
    }

    fn resolve_missing(
        &mut self,
        collection: &str,
        asset_tag: &str,
        reason: Reason,
        note: Option<&str>,
        actor: &Actor,
    ) -> Result<(), RegisterError> {
        self.store.write(&mut |tx, path| {
            collections::resolve(
                tx,
                path,
                (asset_tag, collection),
                reason,
                note,
                (actor, &now()),
            )?;
            let event = StationEvent::new(
                &actor.station,
                &actor.name,
                asset_tag,
                Action::Resolved {
                    collection: collection.into(),
                    reason: reason.as_str().into(),
                    note: note.map(str::to_string),
                },
            );
            station_events::queue(tx, path, &event)
        })
    }

    fn close_collection(&mut self, collection: &str, actor: &Actor) -> Result<(), RegisterError> {
        self.store.write(&mut |tx, path| {
            if collections::close(tx, path, collection, (actor, &now()))? {
                let event = collection_event(
                    actor,
                    Action::Closed {
                        collection: collection.into(),
                    },
                );
                station_events::queue(tx, path, &event)?;
            }
            Ok(())
        })
    }
}
