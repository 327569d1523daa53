//! The embedded register: one SQLite file (WAL mode, versioned migrations).
//!
//! Every operation runs in one transaction, so the register survives a crash at any point: a
//! certificate, its asset link, its custody events and its outbox entry are stored together or
//! not at all.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::events::{self, Audit, Event, GENESIS};
use super::*;

/// Migrations by `user_version`; each runs once, in a transaction.
const MIGRATIONS: &[(i64, &str)] = &[(
    1,
    "
CREATE TABLE customers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE collections (
    id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers(id),
    code TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL
);
CREATE TABLE assets (
    id INTEGER PRIMARY KEY,
    collection_id INTEGER NOT NULL REFERENCES collections(id),
    tag TEXT NOT NULL UNIQUE,
    serial TEXT NOT NULL,
    type TEXT,
    make TEXT,
    model TEXT,
    customer_ref TEXT,
    extra TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX assets_serial ON assets(serial);
CREATE TABLE media (
    id INTEGER PRIMARY KEY,
    asset_id INTEGER NOT NULL REFERENCES assets(id),
    serial TEXT NOT NULL,
    model TEXT,
    size_bytes INTEGER,
    UNIQUE (asset_id, serial)
);
CREATE INDEX media_serial ON media(serial);
CREATE TABLE certificates (
    id TEXT PRIMARY KEY,
    asset_id INTEGER REFERENCES assets(id),
    media_id INTEGER REFERENCES media(id),
    station_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    serial TEXT,
    model TEXT,
    result TEXT NOT NULL,
    method TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    record_sha256 TEXT NOT NULL,
    matched_by TEXT NOT NULL,
    document TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX certificates_asset ON certificates(asset_id);
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    station TEXT NOT NULL,
    asset_tag TEXT,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE event_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO event_head (id, seq, hash) VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
CREATE TABLE outbox (
    certificate_id TEXT PRIMARY KEY REFERENCES certificates(id),
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_attempt_at TEXT,
    sent_at TEXT
);
CREATE TABLE stations (
    key_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    public_key TEXT NOT NULL,
    enrolled_at TEXT NOT NULL
);
",
)];

/// The SQLite register.
pub struct SqliteRegister {
    conn: Connection,
    path: String,
}

impl SqliteRegister {
    /// Opens (creating and migrating) the register at `path`.
    pub fn open(path: &Path) -> Result<SqliteRegister, RegisterError> {
        let shown = path.display().to_string();
        let db = |e: rusqlite::Error| RegisterError::Database {
            path: shown.clone(),
            message: e.to_string(),
        };
        let conn = Connection::open(path).map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
        let mut reg = SqliteRegister { conn, path: shown };
        reg.migrate()?;
        Ok(reg)
    }

    fn err(&self, e: rusqlite::Error) -> RegisterError {
        RegisterError::Database {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    fn migrate(&mut self) -> Result<(), RegisterError> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        for (v, sql) in MIGRATIONS {
            if *v <= version {
                continue;
            }
            let path = self.path.clone();
            let db = |e: rusqlite::Error| RegisterError::Database {
                path: path.clone(),
                message: format!("migration {v}: {e}"),
            };
            let tx = self.conn.transaction().map_err(db)?;
            tx.execute_batch(sql).map_err(db)?;
            tx.pragma_update(None, "user_version", v).map_err(db)?;
            tx.commit().map_err(db)?;
        }
        Ok(())
    }

    /// Runs `f` in a transaction, committing only if it succeeds.
    fn write<T>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, RegisterError>,
    ) -> Result<T, RegisterError> {
        let path = self.path.clone();
        let db = |e: rusqlite::Error| RegisterError::Database {
            path: path.clone(),
            message: e.to_string(),
        };
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let out = f(&tx)?;
        tx.commit().map_err(db)?;
        Ok(out)
    }
}

fn db(path: &str) -> impl Fn(rusqlite::Error) -> RegisterError + '_ {
    move |e| RegisterError::Database {
        path: path.to_string(),
        message: e.to_string(),
    }
}

/// Appends an event to the log inside a transaction.
fn log(
    tx: &Transaction<'_>,
    path: &str,
    actor: &Actor,
    asset_tag: Option<&str>,
    kind: &str,
    detail: serde_json::Value,
) -> Result<(), RegisterError> {
    let (seq, prev): (i64, String) = tx
        .query_row("SELECT seq, hash FROM event_head WHERE id = 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
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

fn summary_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AssetSummary> {
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

const SUMMARY_SQL: &str = "
SELECT a.tag, a.serial, a.type, a.make, a.model, a.customer_ref, a.state, a.updated_at,
       cu.name AS customer, co.code AS collection,
       (SELECT COUNT(*) FROM media m WHERE m.asset_id = a.id) AS media_count,
       (SELECT COUNT(*) FROM certificates c WHERE c.asset_id = a.id) AS certificate_count
FROM assets a
JOIN collections co ON co.id = a.collection_id
JOIN customers cu ON cu.id = co.customer_id";

fn matched_by(s: &str) -> MatchedBy {
    match s {
        "tag" => MatchedBy::Tag,
        "serial" => MatchedBy::Serial,
        _ => MatchedBy::Unmatched,
    }
}

impl Register for SqliteRegister {
    fn import_manifest(
        &mut self,
        customer: &str,
        collection: &str,
        rows: &[ManifestRow],
        actor: &Actor,
    ) -> Result<usize, RegisterError> {
        let path = self.path.clone();
        let p = path.as_str();
        self.write(|tx| {
            let now = crate::timestamp::now();
            tx.execute(
                "INSERT OR IGNORE INTO customers (name, created_at) VALUES (?1, ?2)",
                params![customer, now],
            )
            .map_err(db(p))?;
            let customer_id: i64 = tx
                .query_row("SELECT id FROM customers WHERE name = ?1", [customer], |r| r.get(0))
                .map_err(db(p))?;
            let existing: Option<(i64, String)> = tx
                .query_row(
                    "SELECT co.customer_id, cu.name FROM collections co
                     JOIN customers cu ON cu.id = co.customer_id WHERE co.code = ?1",
                    [collection],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
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
                        "INSERT INTO collections (customer_id, code, created_at) VALUES (?1, ?2, ?3)",
                        params![customer_id, collection, now],
                    )
                    .map_err(db(p))?;
                }
            }
            let collection_id: i64 = tx
                .query_row("SELECT id FROM collections WHERE code = ?1", [collection], |r| r.get(0))
                .map_err(db(p))?;
            // Tags already in the register reject the whole file, naming each line.
            let mut problems = Vec::new();
            {
                let mut stmt = tx
                    .prepare("SELECT co.code FROM assets a JOIN collections co ON co.id = a.collection_id WHERE a.tag = ?1")
                    .map_err(db(p))?;
                for row in rows {
                    let found: Option<String> = stmt
                        .query_row([&row.asset_tag], |r| r.get(0))
                        .optional()
                        .map_err(db(p))?;
                    if let Some(code) = found {
                        problems.push(manifest::ManifestProblem {
                            line: row.line,
                            column: Some("asset_tag".into()),
                            message: format!(
                                "asset_tag {} is already in the register (collection {code})",
                                row.asset_tag
                            ),
                        });
                    }
                }
            }
            if !problems.is_empty() {
                return Err(RegisterError::Manifest { problems });
            }
            for row in rows {
                let extra = serde_json::to_string(&row.extra).unwrap_or_else(|_| "{}".into());
                tx.execute(
                    "INSERT INTO assets (collection_id, tag, serial, type, make, model, customer_ref, extra, state, created_at, updated_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'received', ?9, ?9)",
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
                )
                .map_err(db(p))?;
                let asset_id = tx.last_insert_rowid();
                for s in &row.media_serials {
                    tx.execute(
                        "INSERT OR IGNORE INTO media (asset_id, serial) VALUES (?1, ?2)",
                        params![asset_id, s],
                    )
                    .map_err(db(p))?;
                }
                log(
                    tx,
                    p,
                    actor,
                    Some(&row.asset_tag),
                    "received",
                    serde_json::json!({
                        "customer": customer,
                        "collection": collection,
                        "serial": row.serial,
                        "manifest_line": row.line,
                        "media_serials": row.media_serials,
                    }),
                )?;
            }
            Ok(rows.len())
        })
    }

    fn find_asset(
        &self,
        tag: Option<&str>,
        serial: Option<&str>,
    ) -> Result<Option<AssetRef>, RegisterError> {
        let p = self.path.as_str();
        let by =
            |sql: &str, key: &str, how: MatchedBy| -> Result<Option<AssetRef>, RegisterError> {
                self.conn
                    .query_row(sql, [key], |r| {
                        Ok(AssetRef {
                            asset_tag: r.get(0)?,
                            customer: r.get(1)?,
                            collection: r.get(2)?,
                            state: AssetState::parse(&r.get::<_, String>(3)?)
                                .unwrap_or(AssetState::Received),
                            matched_by: how,
                        })
                    })
                    .optional()
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

    fn record_certificate(
        &mut self,
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
            if let Some(a) = self.find_asset(Some(t), None)? {
                target = Some(a);
                break;
            }
        }
        if target.is_none() {
            target = self.find_asset(None, serial.as_deref())?;
        }
        let path = self.path.clone();
        let p = path.as_str();
        self.write(|tx| {
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
                        .query_row("SELECT state FROM assets WHERE tag = ?1", [t], |row| row.get::<_, String>(0))
                        .optional()
                        .map_err(db(p))?
                        .and_then(|s| AssetState::parse(&s)),
                    None => None,
                };
                return Ok(Linked {
                    certificate_id: r.id.clone(),
                    asset_tag: tag,
                    matched_by: matched_by(&how),
                    asset_state: state,
                    new: false,
                });
            }
            let now = crate::timestamp::now();
            let (asset_id, media_id, how) = match &target {
                Some(a) => {
                    let asset_id: i64 = tx
                        .query_row("SELECT id FROM assets WHERE tag = ?1", [&a.asset_tag], |row| row.get(0))
                        .map_err(db(p))?;
                    let media_serial = serial.clone().unwrap_or_else(|| format!("unknown-{}", r.id));
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
            log(
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
                    .query_row("SELECT state FROM assets WHERE id = ?1", [asset_id], |row| row.get(0))
                    .map_err(db(p))?;
                let after = derive_state(tx, p, asset_id)?;
                tx.execute(
                    "UPDATE assets SET state = ?2, updated_at = ?3 WHERE id = ?1",
                    params![asset_id, after.as_str(), now],
                )
                .map_err(db(p))?;
                if before != after.as_str() {
                    log(
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
        })
    }

    fn has_certificate(&self, id: &str) -> Result<bool, RegisterError> {
        self.conn
            .query_row("SELECT 1 FROM certificates WHERE id = ?1", [id], |_| Ok(()))
            .optional()
            .map(|o| o.is_some())
            .map_err(|e| self.err(e))
    }

    fn list_assets(&self, filter: &AssetFilter) -> Result<Vec<AssetSummary>, RegisterError> {
        let sql = format!(
            "{SUMMARY_SQL} WHERE (?1 IS NULL OR co.code = ?1) AND (?2 IS NULL OR a.state = ?2) ORDER BY co.code, a.tag"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(
                params![filter.collection, filter.state.map(|s| s.as_str())],
                summary_from_row,
            )
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        if rows.is_empty()
            && let Some(c) = &filter.collection
        {
            let known: Option<i64> = self
                .conn
                .query_row("SELECT id FROM collections WHERE code = ?1", [c], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(|e| self.err(e))?;
            if known.is_none() {
                return Err(RegisterError::UnknownCollection(c.clone()));
            }
        }
        Ok(rows)
    }

    fn asset(&self, tag: &str) -> Result<Option<AssetView>, RegisterError> {
        let e = |x| self.err(x);
        let found: Option<(i64, AssetSummary, String)> = self
            .conn
            .query_row(
                &format!("SELECT a.id AS id, a.extra AS extra, q.* FROM ({SUMMARY_SQL} WHERE a.tag = ?1) q JOIN assets a ON a.tag = q.tag"),
                [tag],
                |r| Ok((r.get("id")?, summary_from_row(r)?, r.get("extra")?)),
            )
            .optional()
            .map_err(e)?;
        let Some((id, summary, extra)) = found else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare(
                "SELECT m.serial, m.model, m.size_bytes,
                        (SELECT c.result FROM certificates c WHERE c.media_id = m.id ORDER BY c.issued_at DESC, c.received_at DESC LIMIT 1),
                        (SELECT c.id FROM certificates c WHERE c.media_id = m.id ORDER BY c.issued_at DESC, c.received_at DESC LIMIT 1)
                 FROM media m WHERE m.asset_id = ?1 ORDER BY m.serial",
            )
            .map_err(e)?;
        let media = stmt
            .query_map([id], |r| {
                Ok(MediaView {
                    serial: r.get(0)?,
                    model: r.get(1)?,
                    size_bytes: r.get::<_, Option<i64>>(2)?.map(|v| v as u64),
                    result: r.get(3)?,
                    certificate_id: r.get(4)?,
                })
            })
            .map_err(e)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(e)?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, serial, method, result, issued_at, station_id, matched_by FROM certificates
                 WHERE asset_id = ?1 ORDER BY issued_at, received_at",
            )
            .map_err(e)?;
        let certificates = stmt
            .query_map([id], |r| {
                Ok(CertificateView {
                    id: r.get(0)?,
                    serial: r.get(1)?,
                    method: r.get(2)?,
                    result: r.get(3)?,
                    issued_at: r.get(4)?,
                    station_id: r.get(5)?,
                    matched_by: matched_by(&r.get::<_, String>(6)?),
                })
            })
            .map_err(e)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(e)?;
        let mut stmt = self
            .conn
            .prepare("SELECT seq, at, actor, station, kind, detail FROM events WHERE asset_tag = ?1 ORDER BY seq")
            .map_err(e)?;
        let events = stmt
            .query_map([tag], |r| {
                Ok(EventView {
                    seq: r.get(0)?,
                    at: r.get(1)?,
                    actor: r.get(2)?,
                    station: r.get(3)?,
                    kind: r.get(4)?,
                    detail: serde_json::from_str(&r.get::<_, String>(5)?)
                        .unwrap_or(serde_json::Value::Null),
                })
            })
            .map_err(e)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(e)?;
        Ok(Some(AssetView {
            summary,
            extra: serde_json::from_str(&extra).unwrap_or(serde_json::json!({})),
            media,
            certificates,
            events,
        }))
    }

    fn unmatched(&self) -> Result<Vec<UnmatchedView>, RegisterError> {
        let e = |x| self.err(x);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, serial, model, result, issued_at, station_id FROM certificates
                 WHERE asset_id IS NULL ORDER BY issued_at",
            )
            .map_err(e)?;
        stmt.query_map([], |r| {
            Ok(UnmatchedView {
                certificate_id: r.get(0)?,
                serial: r.get(1)?,
                model: r.get(2)?,
                result: r.get(3)?,
                issued_at: r.get(4)?,
                station_id: r.get(5)?,
            })
        })
        .map_err(e)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(e)
    }

    fn destroy(
        &mut self,
        tag: &str,
        method: &str,
        witness: &str,
        actor: &Actor,
    ) -> Result<(), RegisterError> {
        let path = self.path.clone();
        let p = path.as_str();
        self.write(|tx| {
            let state: Option<String> = tx
                .query_row("SELECT state FROM assets WHERE tag = ?1", [tag], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(db(p))?;
            match state.as_deref() {
                None => return Err(RegisterError::UnknownAsset(tag.into())),
                Some("destroyed") => return Err(RegisterError::AlreadyDestroyed(tag.into())),
                _ => {}
            }
            tx.execute(
                "UPDATE assets SET state = 'destroyed', updated_at = ?2 WHERE tag = ?1",
                params![tag, crate::timestamp::now()],
            )
            .map_err(db(p))?;
            log(
                tx,
                p,
                actor,
                Some(tag),
                "destroyed",
                serde_json::json!({ "method": method, "witness": witness, "from": state }),
            )
        })
    }

    fn audit(&self) -> Result<Audit, RegisterError> {
        let e = |x| self.err(x);
        let mut stmt = self
            .conn
            .prepare("SELECT seq, at, actor, station, asset_tag, kind, detail, prev_hash, hash FROM events ORDER BY seq")
            .map_err(e)?;
        let events = stmt
            .query_map([], |r| {
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
            })
            .map_err(e)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(e)?;
        let head: Option<(i64, String)> = self
            .conn
            .query_row("SELECT seq, hash FROM event_head WHERE id = 1", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()
            .map_err(e)?;
        let head = head.map(|(s, h)| {
            if s == 0 {
                (0, GENESIS.to_string())
            } else {
                (s, h)
            }
        });
        Ok(events::audit(&events, head))
    }

    fn pending(&self) -> Result<Vec<OutboxItem>, RegisterError> {
        let e = |x| self.err(x);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT o.certificate_id, c.document, o.attempts, o.last_error FROM outbox o
                 JOIN certificates c ON c.id = o.certificate_id
                 WHERE o.sent_at IS NULL ORDER BY o.created_at, o.certificate_id",
            )
            .map_err(e)?;
        stmt.query_map([], |r| {
            Ok(OutboxItem {
                certificate_id: r.get(0)?,
                document: r.get(1)?,
                attempts: r.get::<_, i64>(2)? as u64,
                last_error: r.get(3)?,
            })
        })
        .map_err(e)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(e)
    }

    fn mark_sent(&mut self, certificate_id: &str) -> Result<(), RegisterError> {
        let path = self.path.clone();
        self.write(|tx| {
            tx.execute(
                "UPDATE outbox SET sent_at = ?2, attempts = attempts + 1, last_attempt_at = ?2, last_error = NULL
                 WHERE certificate_id = ?1",
                params![certificate_id, crate::timestamp::now()],
            )
            .map_err(db(&path))?;
            Ok(())
        })
    }

    fn mark_failed(&mut self, certificate_id: &str, error: &str) -> Result<(), RegisterError> {
        let path = self.path.clone();
        self.write(|tx| {
            tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_attempt_at = ?2, last_error = ?3
                 WHERE certificate_id = ?1",
                params![certificate_id, crate::timestamp::now(), error],
            )
            .map_err(db(&path))?;
            Ok(())
        })
    }

    fn enroll_station(
        &mut self,
        key_id: &str,
        name: &str,
        pem: &str,
        actor: &Actor,
    ) -> Result<(), RegisterError> {
        let path = self.path.clone();
        let p = path.as_str();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO stations (key_id, name, public_key, enrolled_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (key_id) DO UPDATE SET name = excluded.name",
                params![key_id, name, pem, crate::timestamp::now()],
            )
            .map_err(db(p))?;
            log(tx, p, actor, None, "station", serde_json::json!({ "key_id": key_id, "name": name }))
        })
    }

    fn stations(&self) -> Result<Vec<StationView>, RegisterError> {
        let e = |x| self.err(x);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT key_id, name, enrolled_at, public_key FROM stations ORDER BY name, key_id",
            )
            .map_err(e)?;
        stmt.query_map([], |r| {
            Ok(StationView {
                key_id: r.get(0)?,
                name: r.get(1)?,
                enrolled_at: r.get(2)?,
                public_key_pem: r.get(3)?,
            })
        })
        .map_err(e)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(e)
    }

    fn collection_lines(
        &self,
        collection: &str,
    ) -> Result<(String, Vec<ReportLine>), RegisterError> {
        let e = |x| self.err(x);
        let customer: Option<String> = self
            .conn
            .query_row(
                "SELECT cu.name FROM collections co JOIN customers cu ON cu.id = co.customer_id WHERE co.code = ?1",
                [collection],
                |r| r.get(0),
            )
            .optional()
            .map_err(e)?;
        let Some(customer) = customer else {
            return Err(RegisterError::UnknownCollection(collection.into()));
        };
        let mut stmt = self
            .conn
            .prepare(
                "SELECT a.tag, a.serial, a.type, a.state, m.serial,
                        c.method, c.result, c.id
                 FROM assets a
                 JOIN collections co ON co.id = a.collection_id
                 LEFT JOIN media m ON m.asset_id = a.id
                 LEFT JOIN certificates c ON c.id = (
                     SELECT c2.id FROM certificates c2 WHERE c2.media_id = m.id
                     ORDER BY c2.issued_at DESC, c2.received_at DESC LIMIT 1)
                 WHERE co.code = ?1
                 ORDER BY a.tag, m.serial",
            )
            .map_err(e)?;
        let lines = stmt
            .query_map([collection], |r| {
                Ok(ReportLine {
                    asset_tag: r.get(0)?,
                    asset_serial: r.get(1)?,
                    asset_type: r.get(2)?,
                    state: AssetState::parse(&r.get::<_, String>(3)?)
                        .unwrap_or(AssetState::Received),
                    drive_serial: r.get(4)?,
                    method: r.get(5)?,
                    result: r.get(6)?,
                    certificate_id: r.get(7)?,
                })
            })
            .map_err(e)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(e)?;
        Ok((customer, lines))
    }
}
