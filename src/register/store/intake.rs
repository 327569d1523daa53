//! Writing intake and disposal: a customer's manifest booked into a collection (its assets
//! expected until goods-in receives them), and the physical destruction of an asset. Each runs inside the caller's transaction.

use crate::register::db::{Db, params};

use super::{collections, custody, db};
use crate::register::collection::CollectionState;
use crate::register::*;

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
    // Tags already in the register reject the whole file, naming each line. (Every statement
    // is prepared once per connection: a manifest may hold 100,000 rows.)
    let mut problems = Vec::new();
    for row in rows {
        let found: Option<String> = tx
            .query_opt(
                "SELECT co.code FROM assets a JOIN collections co ON co.id = a.collection_id WHERE a.tag = ?1",
                params![row.asset_tag],
                |r| r.get(0),
            )
            .map_err(db(p))?;
        if let Some(code) = found {
            problems.push(manifest_row::ManifestProblem {
                line: row.line,
                column: Some("asset_tag".into()),
                message: format!(
                    "asset_tag {} is already in the register (collection {code})",
                    row.asset_tag
                ),
            });
        }
    }
    if !problems.is_empty() {
        return Err(RegisterError::Manifest { problems });
    }
    for row in rows {
        let extra = serde_json::to_string(&row.extra).unwrap_or_else(|_| "{}".into());
        let asset_id: i64 = tx
            .query_row(
                "INSERT INTO assets (collection_id, tag, serial, type, make, model, customer_ref, extra, state, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'expected', ?9, ?9) RETURNING id",
                params![
                    collection_id,
                    row.asset_tag,
                    row.serial,
                    row.asset_type,
                    row.make,
                    row.model,
                    row.customer_ref,
                    extra,
                    now
                ],
                |r| r.get(0),
            )
            .map_err(db(p))?;
        for s in &row.media_serials {
            tx.execute(
                "INSERT INTO media (asset_id, serial) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                params![asset_id, s],
            )
            .map_err(db(p))?;
        }
        custody::append(
            tx,
            p,
            actor,
            Some(&row.asset_tag),
            "booked",
            serde_json::json!({
                "customer": customer,
                "collection": collection,
                "serial": row.serial,
                "manifest_line": row.line,
                "media_serials": row.media_serials,
            }),
        )?;
    }
    collections::step(
        tx,
        p,
        (collection_id, collection),
        CollectionState::Booked,
        serde_json::json!({ "assets": rows.len() }),
        (actor, &now),
    )?;
    Ok(rows.len())
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
