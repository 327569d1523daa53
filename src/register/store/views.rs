//! Reading the register: asset lookups and views, the review list, the outbox, stations and
//! the lines of a customer report. Every function also works inside a write transaction.

use crate::register::db::{Db, DbError, Row, ToValue, params};

use super::{db, rows};
use crate::register::*;

pub(super) fn summary_from_row(r: &Row) -> Result<AssetSummary, DbError> {
    Ok(AssetSummary {
        asset_tag: r.get("tag")?,
        serial: r.get("serial")?,
        asset_type: r.get("type")?,
        make: r.get("make")?,
        model: r.get("model")?,
        customer_ref: r.get("customer_ref")?,
        customer: r.get("customer")?,
        collection: r.get("collection")?,
        state: AssetState::parse(&r.get::<_, String>("state")?).unwrap_or(AssetState::Received),
        media_count: r.get::<_, i64>("media_count")? as u64,
        certificate_count: r.get::<_, i64>("certificate_count")? as u64,
        updated_at: r.get("updated_at")?,
    })
}

pub(super) const SUMMARY_SQL: &str = "
SELECT a.tag, a.serial, a.type, a.make, a.model, a.customer_ref, a.state, a.updated_at,
       cu.name AS customer, co.code AS collection,
       (SELECT COUNT(*) FROM media m WHERE m.asset_id = a.id) AS media_count,
       (SELECT COUNT(*) FROM certificates c WHERE c.asset_id = a.id) AS certificate_count
FROM assets a
JOIN collections co ON co.id = a.collection_id
JOIN customers cu ON cu.id = co.customer_id";

pub(super) fn matched_by(s: &str) -> MatchedBy {
    match s {
        "tag" => MatchedBy::Tag,
        "serial" => MatchedBy::Serial,
        "person" => MatchedBy::Person,
        _ => MatchedBy::Unmatched,
    }
}

/// The asset a drive belongs to: by tag if given, else by asset serial, else by media serial.
pub(super) fn find_asset(
    conn: &dyn Db,
    p: &str,
    tag: Option<&str>,
    serial: Option<&str>,
) -> Result<Option<AssetRef>, RegisterError> {
    let by = |sql: &str, key: &str, how: MatchedBy| -> Result<Option<AssetRef>, RegisterError> {
        conn.query_opt(sql, params![key], |r| {
            Ok(AssetRef {
                asset_tag: r.get(0)?,
                customer: r.get(1)?,
                collection: r.get(2)?,
                state: AssetState::parse(&r.get::<_, String>(3)?).unwrap_or(AssetState::Received),
                matched_by: how,
            })
        })
        .map_err(db(p))
    };
    const BASE: &str = "SELECT a.tag, cu.name, co.code, a.state FROM assets a
            JOIN collections co ON co.id = a.collection_id JOIN customers cu ON cu.id = co.customer_id";
    if let Some(t) = tag.filter(|t| !t.is_empty()) {
        return by(&format!("{BASE} WHERE a.tag = ?1"), t, MatchedBy::Tag);
    }
    if let Some(s) = serial.filter(|s| !s.is_empty()) {
        if let Some(a) = by(
            &format!("{BASE} WHERE a.serial = ?1 ORDER BY a.id LIMIT 1"),
            s,
            MatchedBy::Serial,
        )? {
            return Ok(Some(a));
        }
        return by(
            &format!(
                "{BASE} JOIN media m ON m.asset_id = a.id WHERE m.serial = ?1 ORDER BY a.id LIMIT 1"
            ),
            s,
            MatchedBy::Serial,
        );
    }
    Ok(None)
}

/// The result of each drive's latest certificate (`None`: not wiped yet) of an asset.
pub(super) fn latest_results(
    conn: &dyn Db,
    p: &str,
    asset_id: i64,
) -> Result<Vec<Option<String>>, RegisterError> {
    rows(
        conn,
        p,
        "SELECT (SELECT c.result FROM certificates c WHERE c.media_id = m.id
                  ORDER BY c.issued_at DESC, c.received_at DESC LIMIT 1)
         FROM media m WHERE m.asset_id = ?1",
        params![asset_id],
        |r| r.get(0),
    )
}

/// Whether the register holds the certificate `id`.
pub(super) fn has_certificate(conn: &dyn Db, p: &str, id: &str) -> Result<bool, RegisterError> {
    conn.query_opt(
        "SELECT 1 FROM certificates WHERE id = ?1",
        params![id],
        |_| Ok(()),
    )
    .map(|o| o.is_some())
    .map_err(db(p))
}

/// What an asset filter selects (`?1` the collection, `?2` the state; NULL for any).
const FILTER: &str =
    "(CAST(?1 AS TEXT) IS NULL OR co.code = ?1) AND (CAST(?2 AS TEXT) IS NULL OR a.state = ?2)";

/// Assets matching the filter, by collection and tag.
pub(super) fn list_assets(
    conn: &dyn Db,
    p: &str,
    filter: &AssetFilter,
) -> Result<Vec<AssetSummary>, RegisterError> {
    let sql = format!("{SUMMARY_SQL} WHERE {FILTER} ORDER BY co.code, a.tag");
    let found = rows(
        conn,
        p,
        &sql,
        params![filter.collection, filter.state.map(|s| s.as_str())],
        summary_from_row,
    )?;
    if found.is_empty() {
        known_collection(conn, p, filter)?;
    }
    Ok(found)
}

/// One page of the assets matching the filter, by collection and tag, and how many match.
///
/// Neither the page nor the total reads more rows than the page shows: the total is the sum
/// of the counts the database keeps per collection (`lookup::tallies`), which also say in
/// which collection the page's first row lies and how far into it, and each collection's rows
/// are read by its (collection, tag) or (collection, state, tag) index from there. An offset
/// deep into a collection of a million assets walks that index, never the table.
pub(super) fn assets_page(
    conn: &dyn Db,
    p: &str,
    filter: &AssetFilter,
    page: Page,
) -> Result<Paged<AssetSummary>, RegisterError> {
    let (limit, offset) = page.sql();
    let state = filter.state.map(|s| s.as_str());
    let key = match state {
        Some(s) => format!("state:{s}"),
        None => "assets".to_string(),
    };
    let counts: Vec<(i64, i64)> = rows(
        conn,
        p,
        "SELECT co.id, COALESCE(t.n, 0) FROM collections co
         LEFT JOIN collection_tallies t ON t.collection_id = co.id AND t.key = ?1
         WHERE CAST(?2 AS TEXT) IS NULL OR co.code = ?2
         ORDER BY co.code",
        params![key, filter.collection],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if counts.is_empty() {
        known_collection(conn, p, filter)?;
    }
    let total: i64 = counts.iter().map(|(_, n)| (*n).max(0)).sum();
    let mut ids: Vec<i64> = Vec::new();
    let mut skip = offset;
    for (collection, n) in counts {
        let wanted = limit - ids.len() as i64;
        if wanted <= 0 {
            break;
        }
        if skip >= n {
            skip -= n;
            continue;
        }
        let sql = match state {
            Some(_) => {
                "SELECT id FROM assets WHERE collection_id = ?1 AND state = ?4
                        ORDER BY tag LIMIT ?2 OFFSET ?3"
            }
            None => {
                "SELECT id FROM assets WHERE collection_id = ?1 AND CAST(?4 AS TEXT) IS NULL
                     ORDER BY tag LIMIT ?2 OFFSET ?3"
            }
        };
        ids.extend(rows(
            conn,
            p,
            sql,
            params![collection, wanted, skip, state],
            |r| r.get::<_, i64>(0),
        )?);
        skip = 0;
    }
    let items = if ids.is_empty() {
        Vec::new()
    } else {
        let marks: Vec<String> = (1..=ids.len()).map(|i| format!("?{i}")).collect();
        let values: Vec<&dyn ToValue> = ids.iter().map(|id| id as &dyn ToValue).collect();
        rows(
            conn,
            p,
            &format!(
                "{SUMMARY_SQL} WHERE a.id IN ({}) ORDER BY co.code, a.tag",
                marks.join(", ")
            ),
            &values,
            summary_from_row,
        )?
    };
    Ok(Paged {
        total: total.max(0) as u64,
        items,
    })
}

/// [`RegisterError::UnknownCollection`] if the filter names a collection the register lacks.
fn known_collection(conn: &dyn Db, p: &str, filter: &AssetFilter) -> Result<(), RegisterError> {
    let Some(c) = &filter.collection else {
        return Ok(());
    };
    let known: Option<i64> = conn
        .query_opt(
            "SELECT id FROM collections WHERE code = ?1",
            params![c],
            |r| r.get(0),
        )
        .map_err(db(p))?;
    match known {
        Some(_) => Ok(()),
        None => Err(RegisterError::UnknownCollection(c.clone())),
    }
}

/// One asset with its drives, certificates and custody events.
pub(super) fn asset(conn: &dyn Db, p: &str, tag: &str) -> Result<Option<AssetView>, RegisterError> {
    let found: Option<(i64, AssetSummary, String)> = conn
            .query_opt(
                &format!("SELECT a.id AS id, a.extra AS extra, q.* FROM ({SUMMARY_SQL} WHERE a.tag = ?1) q JOIN assets a ON a.tag = q.tag"),
                params![tag],
                |r| Ok((r.get("id")?, summary_from_row(r)?, r.get("extra")?)),
            )
            .map_err(db(p))?;
    let Some((id, summary, extra)) = found else {
        return Ok(None);
    };
    let media = rows(conn, p, "SELECT m.serial, m.model, m.size_bytes,
                        (SELECT c.result FROM certificates c WHERE c.media_id = m.id ORDER BY c.issued_at DESC, c.received_at DESC LIMIT 1),
                        (SELECT c.id FROM certificates c WHERE c.media_id = m.id ORDER BY c.issued_at DESC, c.received_at DESC LIMIT 1)
                 FROM media m WHERE m.asset_id = ?1 ORDER BY m.serial", params![id], |r| {
            Ok(MediaView {
                serial: r.get(0)?,
                model: r.get(1)?,
                size_bytes: r.get::<_, Option<i64>>(2)?.map(|v| v as u64),
                result: r.get(3)?,
                certificate_id: r.get(4)?,
            })
        })?;
    let certificates = rows(
        conn,
        p,
        "SELECT c.id, c.serial, c.method, c.result, c.issued_at, c.station_id, c.matched_by,
                c.enrolled_as, s.revoked_at
         FROM certificates c LEFT JOIN stations s ON s.key_id = c.key_id
         WHERE c.asset_id = ?1 ORDER BY c.issued_at, c.received_at",
        params![id],
        |r| {
            let enrolled_as: Option<String> = r.get(7)?;
            let station_revoked_at: Option<String> = r.get(8)?;
            let issued_at: String = r.get(4)?;
            let note = station_revoked_at.as_ref().map(|at| {
                format!(
                    "station {} was revoked at {at}; this certificate was signed before that, at {issued_at}, and stays valid",
                    enrolled_as.as_deref().unwrap_or("(unnamed)")
                )
            });
            Ok(CertificateView {
                id: r.get(0)?,
                serial: r.get(1)?,
                method: r.get(2)?,
                result: r.get(3)?,
                issued_at,
                station_id: r.get(5)?,
                matched_by: matched_by(&r.get::<_, String>(6)?),
                enrolled_as,
                station_revoked_at,
                note,
            })
        },
    )?;
    let events = rows(
        conn,
        p,
        "SELECT seq, at, actor, station, kind, detail FROM events WHERE asset_tag = ?1 ORDER BY seq",
        params![tag],
        |r| {
            Ok(EventView {
                seq: r.get(0)?,
                at: r.get(1)?,
                actor: r.get(2)?,
                station: r.get(3)?,
                kind: r.get(4)?,
                detail: serde_json::from_str(&r.get::<_, String>(5)?)
                    .unwrap_or(serde_json::Value::Null),
            })
        },
    )?;
    Ok(Some(AssetView {
        summary,
        extra: serde_json::from_str(&extra).unwrap_or(serde_json::json!({})),
        media,
        certificates,
        computers: super::computers::of_asset(conn, p, id)?,
        events,
    }))
}

/// Certificates of drives that matched no asset, for review, by issue time: all of them, or
/// one page and how many there are.
pub(super) fn unmatched(
    conn: &dyn Db,
    p: &str,
    page: Option<Page>,
) -> Result<Paged<UnmatchedView>, RegisterError> {
    const SQL: &str = "SELECT id, serial, model, result, issued_at, station_id FROM certificates
                       WHERE asset_id IS NULL ORDER BY issued_at, id";
    let (limit, offset) = page.map(|p| p.sql()).unwrap_or_default();
    let bounds: [&dyn crate::register::db::ToValue; 2] = [&limit, &offset];
    let (sql, bound): (String, &[&dyn crate::register::db::ToValue]) = match page {
        None => (SQL.to_string(), &[]),
        Some(_) => (format!("{SQL} LIMIT ?1 OFFSET ?2"), &bounds),
    };
    let items = rows(conn, p, &sql, bound, |r| {
        Ok(UnmatchedView {
            certificate_id: r.get(0)?,
            serial: r.get(1)?,
            model: r.get(2)?,
            result: r.get(3)?,
            issued_at: r.get(4)?,
            station_id: r.get(5)?,
        })
    })?;
    let total = match page {
        None => items.len() as u64,
        Some(_) => conn
            .query_opt(
                "SELECT COUNT(*) FROM certificates WHERE asset_id IS NULL",
                params![],
                |r| r.get::<_, i64>(0),
            )
            .map_err(db(p))?
            .unwrap_or(0)
            .max(0) as u64,
    };
    Ok(Paged { total, items })
}

/// Certificates not yet sent to the central register, oldest first.
pub(super) fn pending(conn: &dyn Db, p: &str) -> Result<Vec<OutboxItem>, RegisterError> {
    rows(
        conn,
        p,
        "SELECT certificate_id, document, attempts, last_error, computer FROM (
             SELECT o.certificate_id, c.document, o.attempts, o.last_error, o.created_at, CAST(0 AS BIGINT) AS computer
                 FROM outbox o JOIN certificates c ON c.id = o.certificate_id WHERE o.sent_at IS NULL
             UNION ALL
             SELECT o.certificate_id, c.document, o.attempts, o.last_error, o.created_at, CAST(1 AS BIGINT) AS computer
                 FROM computer_outbox o JOIN computer_certificates c ON c.id = o.certificate_id
                 WHERE o.sent_at IS NULL
         ) pending ORDER BY created_at, certificate_id",
        params![],
        |r| {
            Ok(OutboxItem {
                certificate_id: r.get(0)?,
                document: r.get(1)?,
                attempts: r.get::<_, i64>(2)? as u64,
                last_error: r.get(3)?,
                computer: r.get::<_, i64>(4)? == 1,
            })
        },
    )
}

/// The assets `serial` belongs to: an asset's own serial or a drive's (from its manifest or
/// an earlier certificate), by tag.
pub(super) fn serial_owners(
    conn: &dyn Db,
    p: &str,
    serial: &str,
) -> Result<Vec<String>, RegisterError> {
    if serial.is_empty() {
        return Ok(Vec::new());
    }
    rows(
        conn,
        p,
        "SELECT tag FROM assets WHERE serial = ?1
         UNION SELECT a.tag FROM assets a JOIN media m ON m.asset_id = a.id WHERE m.serial = ?1
         ORDER BY 1",
        params![serial],
        |r| r.get(0),
    )
}

/// Of `serials`, those held by a retired or destroyed asset (its own serial or a drive's):
/// (serial, tag, state), by serial then tag; 500 serials to a statement.
pub(super) fn finished_serial_owners(
    conn: &dyn Db,
    p: &str,
    serials: &[&str],
) -> Result<Vec<(String, String, AssetState)>, RegisterError> {
    let mut found = Vec::new();
    let serials: Vec<&str> = serials.iter().copied().filter(|s| !s.is_empty()).collect();
    for chunk in serials.chunks(super::intake::CHUNK) {
        let list = super::intake::placeholders(chunk.len(), 1, 0);
        let values: Vec<&dyn crate::register::db::ToValue> = chunk
            .iter()
            .map(|s| s as &dyn crate::register::db::ToValue)
            .collect();
        found.extend(rows(
            conn,
            p,
            &format!(
                "SELECT serial, tag, state FROM assets
                 WHERE serial IN ({list}) AND state IN ('retired', 'destroyed')
                 UNION SELECT m.serial, a.tag, a.state FROM assets a JOIN media m ON m.asset_id = a.id
                 WHERE m.serial IN ({list}) AND a.state IN ('retired', 'destroyed')"
            ),
            &values,
            |r| {
                let state: String = r.get(2)?;
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    AssetState::parse(&state).unwrap_or(AssetState::Retired),
                ))
            },
        )?);
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// The enrolled stations, each with the names it signed under before its present one.
pub(super) fn stations(conn: &dyn Db, p: &str) -> Result<Vec<StationView>, RegisterError> {
    let earlier: Vec<(String, String)> = rows(
        conn,
        p,
        "SELECT key_id, name FROM station_names ORDER BY recorded_at, name",
        params![],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let mut stations = enrolled_stations(conn, p)?;
    for s in &mut stations {
        s.earlier_names = earlier
            .iter()
            .filter(|(key_id, _)| *key_id == s.key_id)
            .map(|(_, name)| name.clone())
            .collect();
    }
    Ok(stations)
}

fn enrolled_stations(conn: &dyn Db, p: &str) -> Result<Vec<StationView>, RegisterError> {
    rows(
        conn,
        p,
        "SELECT key_id, name, enrolled_at, public_key, revoked_at, accept_through
         FROM stations ORDER BY name, key_id",
        params![],
        |r| {
            Ok(StationView {
                key_id: r.get(0)?,
                name: r.get(1)?,
                enrolled_at: r.get(2)?,
                public_key_pem: r.get(3)?,
                revoked_at: r.get(4)?,
                accept_through: r.get(5)?,
                earlier_names: Vec::new(),
            })
        },
    )
}

/// A collection's customer and one line per asset and drive, for the customer report.
pub(super) fn collection_lines(
    conn: &dyn Db,
    p: &str,
    collection: &str,
) -> Result<(String, Vec<ReportLine>), RegisterError> {
    let customer: Option<String> = conn
            .query_opt(
                "SELECT cu.name FROM collections co JOIN customers cu ON cu.id = co.customer_id WHERE co.code = ?1",
                params![collection],
                |r| r.get(0),
            )
            .map_err(db(p))?;
    let Some(customer) = customer else {
        return Err(RegisterError::UnknownCollection(collection.into()));
    };
    let lines = report_lines(
        conn,
        p,
        "co.code = ?1 ORDER BY a.tag, m.serial",
        params![collection],
    )?;
    Ok((customer, lines))
}

/// A drive's make and model in one phrase, the make left out when the model already names it.
fn drive_make_and_model(make: Option<String>, model: Option<String>) -> Option<String> {
    match (make, model) {
        (Some(make), Some(model)) if !model.to_lowercase().starts_with(&make.to_lowercase()) => {
            Some(format!("{make} {model}"))
        }
        (_, Some(model)) => Some(model),
        (make, None) => make,
    }
}

/// Report lines (one per asset and drive, with the drive's latest certificate) of the assets
/// that `condition` (over `a`, `co`, `m`; with its `ORDER BY`) selects.
pub(super) fn report_lines(
    conn: &dyn Db,
    p: &str,
    condition: &str,
    params: &[&dyn crate::register::db::ToValue],
) -> Result<Vec<ReportLine>, RegisterError> {
    let level = conn
        .dialect()
        .json_text("c.document", &["record", "sanitization", "level"]);
    let drive_make = conn
        .dialect()
        .json_text("c.document", &["record", "media", "manufacturer"]);
    rows(
        conn,
        p,
        &format!(
            "SELECT a.tag, a.serial, a.type, a.state, m.serial,
                        c.method, c.result, c.id, {level},
                        a.make, a.model, COALESCE(c.model, m.model), c.issued_at, {drive_make}
                 FROM assets a
                 JOIN collections co ON co.id = a.collection_id
                 LEFT JOIN media m ON m.asset_id = a.id
                 LEFT JOIN certificates c ON c.id = (
                     SELECT c2.id FROM certificates c2 WHERE c2.media_id = m.id
                     ORDER BY c2.issued_at DESC, c2.received_at DESC LIMIT 1)
                 WHERE {condition}"
        ),
        params,
        |r| {
            Ok(ReportLine {
                asset_tag: r.get(0)?,
                asset_serial: r.get(1)?,
                asset_type: r.get(2)?,
                state: AssetState::parse(&r.get::<_, String>(3)?).unwrap_or(AssetState::Received),
                drive_serial: r.get(4)?,
                method: r.get(5)?,
                level: r
                    .get::<_, Option<String>>(8)?
                    .and_then(|l| serde_json::from_value(l.into()).ok()),
                result: r
                    .get::<_, Option<String>>(6)?
                    .and_then(|w| serde_json::from_value(w.into()).ok()),
                certificate_id: r.get(7)?,
                make: r.get(9)?,
                model: r.get(10)?,
                drive_model: drive_make_and_model(r.get(13)?, r.get(11)?),
                wiped_at: r.get(12)?,
            })
        },
    )
}
