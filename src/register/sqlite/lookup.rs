//! The web pages' lookups in the SQLite register (plain, portable SQL: `?N` parameters,
//! `LOWER(..) LIKE` for any case, `ESCAPE` for literal wildcards).

use rusqlite::OptionalExtension;

use super::views::{SUMMARY_SQL, summary_from_row};
use super::{SqliteRegister, db, rows};
use crate::register::lookup::*;
use crate::register::{AssetSummary, RegisterError};

impl Lookup for SqliteRegister {
    fn search_assets(&self, query: &str, limit: usize) -> Result<Vec<AssetSummary>, RegisterError> {
        let pattern = like_pattern(query.trim());
        let sql = format!(
            "{SUMMARY_SQL}
             WHERE LOWER(a.tag) LIKE ?1 ESCAPE '\\' OR LOWER(a.serial) LIKE ?1 ESCAPE '\\'
                OR LOWER(cu.name) LIKE ?1 ESCAPE '\\' OR LOWER(a.customer_ref) LIKE ?1 ESCAPE '\\'
                OR a.id IN (SELECT m.asset_id FROM media m WHERE LOWER(m.serial) LIKE ?1 ESCAPE '\\')
             ORDER BY a.tag LIMIT ?2"
        );
        rows(
            &self.conn,
            &self.path,
            &sql,
            rusqlite::params![pattern, limit as i64],
            summary_from_row,
        )
    }

    fn stored_certificate(&self, id: &str) -> Result<Option<StoredCertificate>, RegisterError> {
        self.conn
            .query_row(
                "SELECT c.id, a.tag, c.key_id, c.document
                 FROM certificates c LEFT JOIN assets a ON a.id = c.asset_id WHERE c.id = ?1",
                [id],
                |r| {
                    Ok(StoredCertificate {
                        id: r.get(0)?,
                        asset_tag: r.get(1)?,
                        key_id: r.get(2)?,
                        document: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(db(&self.path))
    }

    fn collections(&self) -> Result<Vec<CollectionProgress>, RegisterError> {
        rows(
            &self.conn,
            &self.path,
            "SELECT co.code, cu.name, COUNT(a.id),
                    SUM(CASE WHEN a.state = 'received' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN a.state = 'retired' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN a.state = 'failed' THEN 1 ELSE 0 END),
                    SUM(CASE WHEN a.state = 'destroyed' THEN 1 ELSE 0 END)
             FROM collections co JOIN customers cu ON cu.id = co.customer_id
             LEFT JOIN assets a ON a.collection_id = co.id
             GROUP BY co.code, cu.name ORDER BY co.code",
            [],
            |r| {
                let n = |i: usize| -> rusqlite::Result<u64> {
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
    }

    fn station_activity(&self) -> Result<Vec<StationActivity>, RegisterError> {
        rows(
            &self.conn,
            &self.path,
            "SELECT s.key_id,
                    (SELECT MAX(c.received_at) FROM certificates c
                      WHERE c.key_id = s.key_id AND c.enrolled_as IS NOT NULL),
                    (SELECT MAX(e.received_at) FROM station_events e WHERE e.key_id = s.key_id),
                    (SELECT COUNT(*) FROM certificates c WHERE c.key_id = s.key_id)
             FROM stations s ORDER BY s.key_id",
            [],
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_in_a_query_are_literal() {
        assert_eq!(like_pattern("A_1%"), "%a\\_1\\%%");
        let dir = tempfile::tempdir().unwrap();
        let mut reg = SqliteRegister::open(&dir.path().join("r.sqlite")).unwrap();
        use crate::register::{Actor, ManifestRow, Register};
        let row = |tag: &str, serial: &str| ManifestRow {
            line: 2,
            asset_tag: tag.into(),
            serial: serial.into(),
            asset_type: None,
            make: None,
            model: None,
            customer_ref: None,
            media_serials: vec![format!("{serial}-D1")],
            extra: Default::default(),
        };
        let actor = Actor {
            name: "a".into(),
            station: "s".into(),
        };
        reg.import_manifest(
            "Acme",
            "C1",
            &[row("AB-1", "S-100"), row("A_1", "S-200")],
            &actor,
        )
        .unwrap();
        let tags = |q: &str| -> Vec<String> {
            reg.search_assets(q, 10)
                .unwrap()
                .into_iter()
                .map(|a| a.asset_tag)
                .collect()
        };
        assert_eq!(tags("a_1"), ["A_1"]);
        assert_eq!(tags("s-200-d1"), ["A_1"], "a drive's serial");
        assert_eq!(tags("acme"), ["AB-1", "A_1"]);
        assert!(tags("nothing").is_empty());
        let c = reg.collections().unwrap();
        assert_eq!((c[0].assets, c[0].received), (2, 2));
    }
}
