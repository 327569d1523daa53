//! The custody log in SQLite: appending an event (chained to the one before) and reading the
//! chain back for an audit. The chain rule itself lives in `register::events`.

use crate::register::db::{Db, Dialect, IntColumn, TextColumn, ToValue, params};

use super::intake::{CHUNK, COLUMN_CHUNK};
use super::{db, rows};
use crate::register::events::{self, Audit, Event, GENESIS};
use crate::register::{Actor, RegisterError};

/// Appends an event to the log inside a transaction.
pub(super) fn append(
    tx: &dyn Db,
    path: &str,
    actor: &Actor,
    asset_tag: Option<&str>,
    kind: &str,
    detail: serde_json::Value,
) -> Result<(), RegisterError> {
    let (seq, prev): (i64, String) = tx
        .query_row(
            "SELECT seq, hash FROM event_head WHERE id = 1",
            params![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(db(path))?;
    let mut e = Event {
        seq: seq + 1,
        at: crate::timestamp::now(),
        actor: actor.name.clone(),
        station: actor.station.clone(),
        asset_tag: asset_tag.map(str::to_string),
        kind: kind.to_string(),
        detail: detail.to_string(),
        prev_hash: prev,
        hash: String::new(),
    };
    e.hash = events::hash(&e);
    tx.execute(
        "INSERT INTO events (seq, at, actor, station, asset_tag, kind, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            e.seq,
            e.at,
            e.actor,
            e.station,
            e.asset_tag,
            e.kind,
            e.detail,
            e.prev_hash,
            e.hash
        ],
    )
    .map_err(db(path))?;
    tx.execute(
        "UPDATE event_head SET seq = ?1, hash = ?2 WHERE id = 1",
        params![e.seq, e.hash],
    )
    .map_err(db(path))?;
    Ok(())
}

/// An event to append with [`append_all`].
pub(super) struct NewEvent<'a> {
    pub asset_tag: Option<&'a str>,
    pub kind: &'a str,
    pub detail: serde_json::Value,
}

/// Events appended at once to the log (reading its head once and writing the events 500 to
/// a statement on SQLite, 10,000 on PostgreSQL): what [`append`] does for each, for the thousands of events one manifest makes.
pub(super) fn append_all<'a>(
    tx: &dyn Db,
    path: &str,
    actor: &Actor,
    new: impl Iterator<Item = NewEvent<'a>>,
) -> Result<(), RegisterError> {
    let (mut seq, mut prev): (i64, String) = tx
        .query_row(
            "SELECT seq, hash FROM event_head WHERE id = 1",
            params![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(db(path))?;
    let at = crate::timestamp::now();
    let mut chained = Vec::new();
    for n in new {
        seq += 1;
        let mut e = Event {
            seq,
            at: at.clone(),
            actor: actor.name.clone(),
            station: actor.station.clone(),
            asset_tag: n.asset_tag.map(str::to_string),
            kind: n.kind.to_string(),
            detail: n.detail.to_string(),
            prev_hash: prev,
            hash: String::new(),
        };
        e.hash = events::hash(&e);
        prev = e.hash.clone();
        chained.push(e);
    }
    let Some(last) = chained.last() else {
        return Ok(());
    };
    match tx.dialect() {
        Dialect::Postgres => insert_by_column(tx, path, &chained)?,
        Dialect::Sqlite => insert_by_row(tx, path, &chained)?,
    }
    tx.execute(
        "UPDATE event_head SET seq = ?1, hash = ?2 WHERE id = 1",
        params![last.seq, last.hash],
    )
    .map_err(db(path))?;
    Ok(())
}

/// Events written a chunk of rows a statement, one parameter a field (SQLite).
fn insert_by_row(tx: &dyn Db, path: &str, chained: &[Event]) -> Result<(), RegisterError> {
    for chunk in chained.chunks(CHUNK) {
        let tuples = (0..chunk.len())
            .map(|i| {
                let n = 9 * i;
                format!(
                    "(?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{})",
                    n + 1,
                    n + 2,
                    n + 3,
                    n + 4,
                    n + 5,
                    n + 6,
                    n + 7,
                    n + 8,
                    n + 9
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let values: Vec<&dyn ToValue> = chunk
            .iter()
            .flat_map(|e| {
                [
                    &e.seq as &dyn ToValue,
                    &e.at,
                    &e.actor,
                    &e.station,
                    &e.asset_tag,
                    &e.kind,
                    &e.detail,
                    &e.prev_hash,
                    &e.hash,
                ]
            })
            .collect();
        tx.execute(
            &format!(
                "INSERT INTO events (seq, at, actor, station, asset_tag, kind, detail, prev_hash, hash)
                 VALUES {tuples}"
            ),
            &values,
        )
        .map_err(db(path))?;
    }
    Ok(())
}

/// Events written on PostgreSQL with each column bound as one array (see
/// `intake::insert_assets_by_column`): an intake books 100,000 at once.
fn insert_by_column(tx: &dyn Db, path: &str, chained: &[Event]) -> Result<(), RegisterError> {
    for chunk in chained.chunks(COLUMN_CHUNK) {
        let text = |f: &dyn Fn(&Event) -> Option<&str>| TextColumn(chunk.iter().map(f).collect());
        let seqs = IntColumn(chunk.iter().map(|e| e.seq).collect());
        let columns = [
            text(&|e| Some(e.at.as_str())),
            text(&|e| Some(e.actor.as_str())),
            text(&|e| Some(e.station.as_str())),
            text(&|e| e.asset_tag.as_deref()),
            text(&|e| Some(e.kind.as_str())),
            text(&|e| Some(e.detail.as_str())),
            text(&|e| Some(e.prev_hash.as_str())),
            text(&|e| Some(e.hash.as_str())),
        ];
        let [at, actor, station, tag, kind, detail, prev, hash] = &columns;
        tx.execute(
            "INSERT INTO events (seq, at, actor, station, asset_tag, kind, detail, prev_hash, hash)
             SELECT * FROM unnest(?1::bigint[], ?2::text[], ?3::text[], ?4::text[], ?5::text[],
                 ?6::text[], ?7::text[], ?8::text[], ?9::text[])",
            params![seqs, at, actor, station, tag, kind, detail, prev, hash],
        )
        .map_err(db(path))?;
    }
    Ok(())
}

/// Reads the whole log and its head, and checks the chain.
pub(super) fn audit(conn: &dyn Db, p: &str) -> Result<Audit, RegisterError> {
    let events = rows(
        conn,
        p,
        "SELECT seq, at, actor, station, asset_tag, kind, detail, prev_hash, hash FROM events ORDER BY seq",
        params![],
        |r| {
            Ok(Event {
                seq: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                station: r.get(3)?,
                asset_tag: r.get(4)?,
                kind: r.get(5)?,
                detail: r.get(6)?,
                prev_hash: r.get(7)?,
                hash: r.get(8)?,
            })
        },
    )?;
    let head: Option<(i64, String)> = conn
        .query_opt(
            "SELECT seq, hash FROM event_head WHERE id = 1",
            params![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(db(p))?;
    let head = head.map(|(s, h)| {
        if s == 0 {
            (0, GENESIS.to_string())
        } else {
            (s, h)
        }
    });
    Ok(events::audit(&events, head))
}
