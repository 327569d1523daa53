//! The web pages' lookups (plain, portable SQL: `LOWER(..) LIKE` for any case, `ESCAPE` for
//! literal wildcards).

use crate::register::db::params;

use super::views::{SUMMARY_SQL, summary_from_row};
use super::{SqlRegister, Store, db, rows};
use crate::register::lookup::*;
use crate::register::{AssetSummary, RegisterError};

impl<S: Store> Lookup for SqlRegister<S> {
    fn search_assets(&self, query: &str, limit: usize) -> Result<Vec<AssetSummary>, RegisterError> {
        let pattern = like_pattern(query.trim());
        let sql = format!(
            "{SUMMARY_SQL}
             WHERE LOWER(a.tag) LIKE ?1 ESCAPE '\\' OR LOWER(a.serial) LIKE ?1 ESCAPE '\\'
                OR LOWER(cu.name) LIKE ?1 ESCAPE '\\' OR LOWER(a.customer_ref) LIKE ?1 ESCAPE '\\'
                OR a.id IN (SELECT m.asset_id FROM media m WHERE LOWER(m.serial) LIKE ?1 ESCAPE '\\')
             ORDER BY a.tag LIMIT ?2"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.store
            .read(&mut |conn, p| rows(conn, p, &sql, params![pattern, limit], summary_from_row))
    }

    fn stored_certificate(&self, id: &str) -> Result<Option<StoredCertificate>, RegisterError> {
        self.store.read(&mut |conn, p| {
            conn.query_opt(
                "SELECT c.id, a.tag, c.key_id, c.document
                 FROM certificates c LEFT JOIN assets a ON a.id = c.asset_id WHERE c.id = ?1",
                params![id],
                |r| {
                    Ok(StoredCertificate {
                        id: r.get(0)?,
                        asset_tag: r.get(1)?,
                        key_id: r.get(2)?,
                        document: r.get(3)?,
                    })
                },
            )
            .map_err(db(p))
        })
    }

    fn collections(&self) -> Result<Vec<CollectionProgress>, RegisterError> {
        self.store.read(&mut |conn, p| {
            rows(
                conn,
                p,
                "SELECT co.code, cu.name, COUNT(a.id),
                        SUM(CASE WHEN a.state = 'received' THEN 1 ELSE 0 END),
                        SUM(CASE WHEN a.state = 'retired' THEN 1 ELSE 0 END),
                        SUM(CASE WHEN a.state = 'failed' THEN 1 ELSE 0 END),
                        SUM(CASE WHEN a.state = 'destroyed' THEN 1 ELSE 0 END)
                 FROM collections co JOIN customers cu ON cu.id = co.customer_id
                 LEFT JOIN assets a ON a.collection_id = co.id
                 GROUP BY co.code, cu.name ORDER BY co.code",
                params![],
                |r| {
                    let n = |i: usize| -> Result<u64, crate::register::db::DbError> {
                        Ok(r.get::<_, Option<i64>>(i)?.unwrap_or(0) as u64)
                    };
                    Ok(CollectionProgress {
                        collection: r.get(0)?,
                        customer: r.get(1)?,
                        assets: n(2)?,
                        received: n(3)?,
                        retired: n(4)?,
                        failed: n(5)?,
                        destroyed: n(6)?,
                    })
                },
            )
        })
    }

    fn station_activity(&self) -> Result<Vec<StationActivity>, RegisterError> {
        self.store.read(&mut |conn, p| {
            rows(
                conn,
                p,
                "SELECT s.key_id,
                        (SELECT MAX(c.received_at) FROM certificates c
                          WHERE c.key_id = s.key_id AND c.enrolled_as IS NOT NULL),
                        (SELECT MAX(e.received_at) FROM station_events e WHERE e.key_id = s.key_id),
                        (SELECT COUNT(*) FROM certificates c WHERE c.key_id = s.key_id)
                 FROM stations s ORDER BY s.key_id",
                params![],
                |r| {
                    let certificate: Option<String> = r.get(1)?;
                    let event: Option<String> = r.get(2)?;
                    Ok(StationActivity {
                        key_id: r.get(0)?,
                        last_seen: certificate.into_iter().chain(event).max(),
                        certificates: r.get::<_, i64>(3)? as u64,
                    })
                },
            )
        })
    }

    fn last_certificate(
        &self,
        serial: &str,
        model: Option<&str>,
    ) -> Result<Option<LastCertificate>, RegisterError> {
        let model = model.unwrap_or("");
        self.store.read(&mut |conn, p| {
            conn.query_opt(
                "SELECT id, result, method, issued_at FROM certificates
                 WHERE serial = ?1 AND COALESCE(model, '') = ?2
                 ORDER BY issued_at DESC, id DESC LIMIT 1",
                params![serial, model],
                |r| {
                    Ok(LastCertificate {
                        id: r.get(0)?,
                        result: r.get(1)?,
                        method: r.get(2)?,
                        issued_at: r.get(3)?,
                    })
                },
            )
            .map_err(db(p))
        })
    }
}
