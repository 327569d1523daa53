//! Writing intake and disposal: a customer's manifest booked into a collection (its assets
//! expected until goods-in receives them), and the physical destruction of an asset. Each runs inside the caller's transaction.

use std::collections::HashMap;

use crate::register::db::{Db, Dialect, IntColumn, TextColumn, ToValue, params};

use super::{collections, custody, db, rows as rows_of};
use crate::register::collection::CollectionState;
use crate::register::*;

/// Rows of a manifest written by one statement (9 values a row at most: far below either
/// database's limit on a statement's parameters).
pub(super) const CHUNK: usize = 500;

/// `count` groups of `width` numbered placeholders, `(?a, ?b), (...)` (or a flat list when
/// `width` is 1), numbered from `first + 1`.
pub(super) fn placeholders(count: usize, width: usize, first: usize) -> String {
    (0..count)
        .map(|i| {
            let group = (1..=width)
                .map(|j| format!("?{}", first + i * width + j))
                .collect::<Vec<_>>()
                .join(", ");
            if width == 1 {
                group
            } else {
                format!("({group})")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Books a manifest's rows into `collection` (created if new) for `customer`. A tag already in
/// the register rejects the whole manifest, naming each line.
pub(super) fn import_manifest(
    tx: &dyn Db,
    p: &str,
    customer: &str,
    collection: &str,
    rows: &[ManifestRow],
    actor: &Actor,
) -> Result<usize, RegisterError> {
    let now = crate::timestamp::now();
    tx.execute(
        "INSERT INTO customers (name, created_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        params![customer, now],
    )
    .map_err(db(p))?;
    let customer_id: i64 = tx
        .query_row(
            "SELECT id FROM customers WHERE name = ?1",
            params![customer],
            |r| r.get(0),
        )
        .map_err(db(p))?;
    let existing: Option<(i64, String)> = tx
        .query_opt(
            "SELECT co.customer_id, cu.name FROM collections co
                     JOIN customers cu ON cu.id = co.customer_id WHERE co.code = ?1",
            params![collection],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map_err(db(p))?;
    match existing {
        Some((cid, name)) if cid != customer_id => {
            return Err(RegisterError::CollectionCustomer {
                collection: collection.into(),
                existing: name,
                requested: customer.into(),
            });
        }
        Some(_) => {}
        None => {
            tx.execute(
                "INSERT INTO collections (customer_id, code, created_at, state) VALUES (?1, ?2, ?3, 'booked')",
                params![customer_id, collection, now],
            )
            .map_err(db(p))?;
        }
    }
    let collection_id: i64 = tx
        .query_row(
            "SELECT id FROM collections WHERE code = ?1",
            params![collection],
            |r| r.get(0),
        )
        .map_err(db(p))?;
    // Tags already in the register reject the whole file, naming each line. A manifest may
    // hold 100,000 rows: every statement below takes a chunk of rows at once, so that a
    // database across a network is not asked once per row.
    let mut known = std::collections::HashMap::new();
    for chunk in rows.chunks(CHUNK) {
        let tags: Vec<&dyn ToValue> = chunk.iter().map(|r| &r.asset_tag as &dyn ToValue).collect();
        let found: Vec<(String, String)> = rows_of(
            tx,
            p,
            &format!(
                "SELECT a.tag, co.code FROM assets a JOIN collections co ON co.id = a.collection_id
                 WHERE a.tag IN ({})",
                placeholders(chunk.len(), 1, 0)
            ),
            &tags,
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        known.extend(found);
    }
    let problems: Vec<manifest_row::ManifestProblem> = rows
        .iter()
        .filter_map(|row| {
            known
                .get(&row.asset_tag)
                .map(|code| manifest_row::ManifestProblem {
                    line: row.line,
                    column: Some("asset_tag".into()),
                    message: format!(
                        "asset_tag {} is already in the register (collection {code})",
                        row.asset_tag
                    ),
                })
        })
        .collect();
    if !problems.is_empty() {
        return Err(RegisterError::Manifest { problems });
    }
    let extras: Vec<String> = rows
        .iter()
        .map(|row| serde_json::to_string(&row.extra).unwrap_or_else(|_| "{}".into()))
        .collect();
    let ids = match tx.dialect() {
        Dialect::Postgres => insert_assets_by_column(tx, p, collection_id, &now, rows, &extras)?,
        Dialect::Sqlite => insert_assets_by_row(tx, p, collection_id, &now, rows, &extras)?,
    };
    let media: Vec<(i64, &String)> = rows
        .iter()
        .flat_map(|row| {
            let id = ids.get(&row.asset_tag).copied().unwrap_or_default();
            row.media_serials.iter().map(move |s| (id, s))
        })
        .collect();
    match tx.dialect() {
        Dialect::Postgres => insert_media_by_column(tx, p, &media)?,
        Dialect::Sqlite => insert_media_by_row(tx, p, &media)?,
    }
    let booked = rows.iter().map(|row| custody::NewEvent {
        asset_tag: Some(row.asset_tag.as_str()),
        kind: "booked",
        detail: serde_json::json!({
            "customer": customer,
            "collection": collection,
            "serial": row.serial,
            "manifest_line": row.line,
            "media_serials": row.media_serials,
        }),
    });
    custody::append_all(tx, p, actor, booked)?;
    collections::step(
        tx,
        p,
        (collection_id, collection),
        CollectionState::Booked,
        serde_json::json!({ "assets": rows.len() }),
        (actor, &now),
    )?;
    refresh_statistics(tx, p, rows.len())?;
    Ok(rows.len())
}

/// Manifests at least this long refresh PostgreSQL's statistics of the tables they filled.
const STATISTICS_AFTER: usize = 5_000;

/// After a large intake, PostgreSQL's planner still believes the tables as they were until
/// autovacuum gets to them. On a fresh register its guesses for a column without statistics
/// (an equality matches 1 row in 200) make the next manifest's check of 500 tags at once a
/// scan of every asset per statement (measured: the second collection of 100,000 rows ran
/// for minutes), and the match of a certificate's serial a walk of the primary key. ANALYZE
/// samples the tables inside this transaction, which sees its own rows. It costs 0.5 to
/// 1.6 s at a million assets, so it runs only while the statistics describe fewer than four
/// times the rows this manifest added (or none): older statistics of a larger register still
/// plan well, since the planner scales them to the table's size. SQLite's planner uses the
/// indexes without this.
fn refresh_statistics(tx: &dyn Db, p: &str, rows: usize) -> Result<(), RegisterError> {
    if rows < STATISTICS_AFTER || tx.dialect() != Dialect::Postgres {
        return Ok(());
    }
    // -1 until the table was first analyzed or vacuumed; what the rest of the tables hold
    // follows the assets.
    let described: i64 = tx
        .query_row(
            "SELECT CAST(reltuples AS BIGINT) FROM pg_class WHERE oid = CAST('assets' AS regclass)",
            params![],
            |r| r.get(0),
        )
        .map_err(db(p))?;
    let added = i64::try_from(rows).unwrap_or(i64::MAX);
    if described >= 0 && described >= added.saturating_mul(4) {
        return Ok(());
    }
    tx.execute("ANALYZE assets, media, events", params![])
        .map_err(db(p))?;
    Ok(())
}

/// Records the physical destruction of the asset `tag`, witnessed by `witness`.
pub(super) fn destroy(
    tx: &dyn Db,
    p: &str,
    tag: &str,
    method: &str,
    witness: &str,
    actor: &Actor,
) -> Result<(), RegisterError> {
    let state: Option<String> = tx
        .query_opt(
            "SELECT state FROM assets WHERE tag = ?1",
            params![tag],
            |r| r.get(0),
        )
        .map_err(db(p))?;
    match state.as_deref() {
        None => return Err(RegisterError::UnknownAsset(tag.into())),
        Some("destroyed") => return Err(RegisterError::AlreadyDestroyed(tag.into())),
        _ => {}
    }
    // Never scanned at goods-in, yet destroyed here under a witness: it was evidently there.
    super::collections::receive_by_handling(
        tx,
        p,
        tag,
        serde_json::json!({
            "by_destruction": method,
            "note": "received by its destruction; goods-in never scanned it",
        }),
        actor,
    )?;
    tx.execute(
        "UPDATE assets SET state = 'destroyed', updated_at = ?2 WHERE tag = ?1",
        params![tag, crate::timestamp::now()],
    )
    .map_err(db(p))?;
    custody::append(
        tx,
        p,
        actor,
        Some(tag),
        "destroyed",
        serde_json::json!({ "method": method, "witness": witness, "from": state }),
    )
}

/// The assets of a manifest inserted a chunk of rows a statement, one parameter a field
/// (SQLite, in the process: parameters cost nothing); their ids by tag.
fn insert_assets_by_row(
    tx: &dyn Db,
    p: &str,
    collection_id: i64,
    now: &str,
    rows: &[ManifestRow],
    extras: &[String],
) -> Result<HashMap<String, i64>, RegisterError> {
    let mut ids = HashMap::new();
    for (chunk, extras) in rows.chunks(CHUNK).zip(extras.chunks(CHUNK)) {
        let mut values: Vec<&dyn ToValue> = vec![&collection_id, &now];
        for (row, extra) in chunk.iter().zip(extras) {
            values.extend([
                &row.asset_tag as &dyn ToValue,
                &row.serial,
                &row.asset_type,
                &row.make,
                &row.model,
                &row.customer_ref,
                extra,
            ]);
        }
        let tuples = (0..chunk.len())
            .map(|i| {
                let n = 3 + 7 * i;
                format!(
                    "(?1, ?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{}, 'expected', ?2, ?2)",
                    n,
                    n + 1,
                    n + 2,
                    n + 3,
                    n + 4,
                    n + 5,
                    n + 6
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let inserted: Vec<(String, i64)> = rows_of(
            tx,
            p,
            &format!(
                "INSERT INTO assets (collection_id, tag, serial, type, make, model, customer_ref, extra, state, created_at, updated_at)
                 VALUES {tuples} RETURNING tag, id"
            ),
            &values,
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        ids.extend(inserted);
    }
    Ok(ids)
}

/// Rows a statement when each column is bound as one array (PostgreSQL).
pub(super) const COLUMN_CHUNK: usize = 10_000;

/// The assets of a manifest inserted on PostgreSQL with each column bound as one array and
/// read back with `unnest`: 100,000 rows bound one parameter a field (3,500 a statement, 200
/// statements) took twice the time the same rows take in one `INSERT .. SELECT`, the rest
/// spent binding and planning; their ids by tag.
fn insert_assets_by_column(
    tx: &dyn Db,
    p: &str,
    collection_id: i64,
    now: &str,
    rows: &[ManifestRow],
    extras: &[String],
) -> Result<HashMap<String, i64>, RegisterError> {
    let mut ids = HashMap::new();
    for (chunk, extras) in rows.chunks(COLUMN_CHUNK).zip(extras.chunks(COLUMN_CHUNK)) {
        let column =
            |f: &dyn Fn(&ManifestRow) -> Option<&str>| TextColumn(chunk.iter().map(f).collect());
        let columns = [
            column(&|r| Some(r.asset_tag.as_str())),
            column(&|r| Some(r.serial.as_str())),
            column(&|r| r.asset_type.as_deref()),
            column(&|r| r.make.as_deref()),
            column(&|r| r.model.as_deref()),
            column(&|r| r.customer_ref.as_deref()),
            TextColumn(extras.iter().map(|e| Some(e.as_str())).collect()),
        ];
        let [tags, serials, types, makes, models, refs, extra] = &columns;
        let inserted: Vec<(String, i64)> = rows_of(
            tx,
            p,
            "INSERT INTO assets (collection_id, tag, serial, type, make, model, customer_ref, extra, state, created_at, updated_at)
             SELECT ?1, t.tag, t.serial, t.type, t.make, t.model, t.customer_ref, t.extra, 'expected', ?2, ?2
             FROM unnest(?3::text[], ?4::text[], ?5::text[], ?6::text[], ?7::text[], ?8::text[], ?9::text[])
                 AS t(tag, serial, type, make, model, customer_ref, extra)
             RETURNING tag, id",
            params![collection_id, now, tags, serials, types, makes, models, refs, extra],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        ids.extend(inserted);
    }
    Ok(ids)
}

/// The drives of a manifest's assets, a chunk of rows a statement (SQLite).
fn insert_media_by_row(
    tx: &dyn Db,
    p: &str,
    media: &[(i64, &String)],
) -> Result<(), RegisterError> {
    for chunk in media.chunks(CHUNK) {
        let values: Vec<&dyn ToValue> = chunk
            .iter()
            .flat_map(|(id, serial)| [id as &dyn ToValue, serial as &dyn ToValue])
            .collect();
        tx.execute(
            &format!(
                "INSERT INTO media (asset_id, serial) VALUES {} ON CONFLICT DO NOTHING",
                placeholders(chunk.len(), 2, 0)
            ),
            &values,
        )
        .map_err(db(p))?;
    }
    Ok(())
}

/// The same on PostgreSQL, each column bound as one array.
fn insert_media_by_column(
    tx: &dyn Db,
    p: &str,
    media: &[(i64, &String)],
) -> Result<(), RegisterError> {
    for chunk in media.chunks(COLUMN_CHUNK) {
        let assets = IntColumn(chunk.iter().map(|(id, _)| *id).collect());
        let serials = TextColumn(chunk.iter().map(|(_, s)| Some(s.as_str())).collect());
        tx.execute(
            "INSERT INTO media (asset_id, serial)
             SELECT * FROM unnest(?1::bigint[], ?2::text[]) ON CONFLICT DO NOTHING",
            params![assets, serials],
        )
        .map_err(db(p))?;
    }
    Ok(())
}
