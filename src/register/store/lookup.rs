//! The web pages' lookups (plain, portable SQL: `LOWER(..) LIKE` for any case, `ESCAPE` for
//! literal wildcards).

use crate::register::db::params;

use super::views::{SUMMARY_SQL, report_lines, summary_from_row};
use super::{SqlRegister, Store, db, rows};
use crate::register::db::{Db, Dialect, ToValue};
use crate::register::lookup::*;
use crate::register::{AssetSummary, RegisterError};

/// The collections of customers whose name matches `?1` (a small table: customers, then
/// their collections).
const CUSTOMER_COLLECTIONS: &str = "SELECT xo.id FROM collections xo
    JOIN customers xu ON xu.id = xo.customer_id WHERE LOWER(xu.name) LIKE ?1 ESCAPE '\\'";

/// What a search matches (`?1` is the pattern): the asset's tag, serial, customer, customer
/// reference, or a drive's serial; SQLite tests them all in one scan of the assets.
const SEARCH_ONE_SCAN: &str =
    "(LOWER(a.tag) LIKE ?1 ESCAPE '\\' OR LOWER(a.serial) LIKE ?1 ESCAPE '\\'
    OR LOWER(cu.name) LIKE ?1 ESCAPE '\\' OR LOWER(a.customer_ref) LIKE ?1 ESCAPE '\\'
    OR a.id IN (SELECT m.asset_id FROM media m WHERE LOWER(m.serial) LIKE ?1 ESCAPE '\\'))";

/// The assets whose tag, serial, customer reference or a drive's serial matches, on SQLite
/// through the trigram indexes of migration 12 (`asset_search`, `media_search`), when the
/// pattern has three characters or more and no wildcard to take literally: the index finds
/// the candidates, the register's own `LOWER(..) LIKE` decides.
const TRIGRAM_MATCHES: &str =
    "SELECT rowid / 4 FROM asset_search WHERE text LIKE ?1 AND LOWER(text) LIKE ?1 ESCAPE '\\'
    UNION SELECT m.asset_id FROM media m WHERE m.id IN (
        SELECT rowid FROM media_search WHERE text LIKE ?1 AND LOWER(text) LIKE ?1 ESCAPE '\\')";

/// Whether SQLite's trigram indexes can serve a search for `query`: three characters at
/// least (a trigram), and none that the pattern escapes (the index's LIKE takes no ESCAPE).
fn trigrams_serve(query: &str) -> bool {
    query.chars().count() >= 3 && !query.contains(['%', '_', '\\'])
}

/// The same on PostgreSQL: one arm per column, so each uses its own trigram index
/// (migrations 11 and 13) rather than one scan testing all.
const INDEX_MATCHES: &str = "SELECT id FROM assets WHERE LOWER(tag) LIKE ?1 ESCAPE '\\'
    UNION SELECT id FROM assets WHERE LOWER(serial) LIKE ?1 ESCAPE '\\'
    UNION SELECT id FROM assets WHERE LOWER(customer_ref) LIKE ?1 ESCAPE '\\'
    UNION SELECT asset_id FROM media WHERE LOWER(serial) LIKE ?1 ESCAPE '\\'";

/// How a search finds its page and its count.
struct SearchSql {
    page: String,
    count: String,
}

impl SearchSql {
    /// A search whose every match is in one scan (`SEARCH_ONE_SCAN`).
    fn one_scan() -> SearchSql {
        SearchSql {
            page: format!(
                "{SUMMARY_SQL} WHERE {SEARCH_ONE_SCAN} ORDER BY a.tag LIMIT ?2 OFFSET ?3"
            ),
            count: format!(
                "SELECT COUNT(*) FROM assets a JOIN collections co ON co.id = a.collection_id
                 JOIN customers cu ON cu.id = co.customer_id WHERE {SEARCH_ONE_SCAN}"
            ),
        }
    }

    /// A search no customer's name matches: the few assets the indexes find (`matches`),
    /// read by id and sorted.
    fn narrow(matches: &str) -> SearchSql {
        SearchSql {
            page: format!(
                "{SUMMARY_SQL} WHERE a.id IN ({matches}) ORDER BY a.tag LIMIT ?2 OFFSET ?3"
            ),
            count: format!("SELECT COUNT(*) FROM assets a WHERE a.id IN ({matches})"),
        }
    }

    /// A search that matches customers' names, so whole collections: the assets are read in
    /// tag order and each tested, which finds a page of a million matches at once, where
    /// gathering and sorting them took 5 s on PostgreSQL (`+` keeps SQLite from gathering
    /// them through the indexes instead). Counted from the collections' kept counts, plus
    /// the other matches outside them.
    fn broad(matches: &str) -> SearchSql {
        SearchSql {
            page: format!(
                "{SUMMARY_SQL} WHERE +a.collection_id IN ({CUSTOMER_COLLECTIONS})
                 OR +a.id IN ({matches}) ORDER BY a.tag LIMIT ?2 OFFSET ?3"
            ),
            count: format!(
                "SELECT CAST((SELECT COALESCE(SUM(n), 0) FROM collection_tallies
                    WHERE key = 'assets' AND collection_id IN ({CUSTOMER_COLLECTIONS}))
                  + (SELECT COUNT(*) FROM assets a WHERE a.id IN ({matches})
                    AND a.collection_id NOT IN ({CUSTOMER_COLLECTIONS})) AS BIGINT)"
            ),
        }
    }
}

/// The single count a query returns.
fn count_of(
    conn: &dyn Db,
    p: &str,
    sql: &str,
    params: &[&dyn ToValue],
) -> Result<u64, RegisterError> {
    let n: Option<i64> = conn.query_opt(sql, params, |r| r.get(0)).map_err(db(p))?;
    Ok(n.unwrap_or(0).max(0) as u64)
}

/// The counts the database keeps for the collection `id` (table `collection_tallies`, kept by
/// triggers on every write: see the migration's notes in `register::sqlite::tallies`), by key.
pub(super) fn tallies(
    conn: &dyn Db,
    p: &str,
    id: i64,
) -> Result<Vec<(String, u64)>, RegisterError> {
    rows(
        conn,
        p,
        "SELECT key, n FROM collection_tallies WHERE collection_id = ?1",
        params![id],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64)),
    )
}

/// How far the collection `id` has come: its assets by state.
fn progress(
    conn: &dyn Db,
    p: &str,
    id: i64,
    collection: String,
    customer: String,
) -> Result<CollectionProgress, RegisterError> {
    let mut c = CollectionProgress {
        collection,
        customer,
        assets: 0,
        expected: 0,
        received: 0,
        retired: 0,
        failed: 0,
        destroyed: 0,
    };
    for (key, n) in tallies(conn, p, id)? {
        let Some(state) = key.strip_prefix("state:") else {
            continue;
        };
        c.assets += n;
        match state {
            "expected" => c.expected += n,
            "received" => c.received += n,
            "retired" => c.retired += n,
            "failed" => c.failed += n,
            "destroyed" => c.destroyed += n,
            _ => {}
        }
    }
    Ok(c)
}

/// The drives of the collection `id` by the result of their latest certificate.
fn drive_counts(conn: &dyn Db, p: &str, id: i64) -> Result<DriveCounts, RegisterError> {
    let mut d = DriveCounts::default();
    for (key, n) in tallies(conn, p, id)? {
        let Some(result) = key.strip_prefix("drives:") else {
            continue;
        };
        d.drives += n;
        match result {
            "PASS" => d.pass += n,
            "FAIL" => d.fail += n,
            "INCOMPLETE" => d.incomplete += n,
            _ => d.not_wiped += n,
        }
    }
    Ok(d)
}

impl<S: Store> Lookup for SqlRegister<S> {
    fn search_assets(&self, query: &str, page: Page) -> Result<Paged<AssetSummary>, RegisterError> {
        let pattern = like_pattern(query.trim());
        let (limit, offset) = page.sql();
        self.store.read(&mut |conn, p| {
            let matches = match conn.dialect() {
                Dialect::Sqlite if trigrams_serve(query.trim()) => Some(TRIGRAM_MATCHES),
                Dialect::Sqlite => None,
                Dialect::Postgres => Some(INDEX_MATCHES),
            };
            let sql = match matches {
                None => SearchSql::one_scan(),
                Some(matches) => {
                    let customers = format!("SELECT 1 WHERE EXISTS ({CUSTOMER_COLLECTIONS})");
                    if count_of(conn, p, &customers, params![pattern])? > 0 {
                        SearchSql::broad(matches)
                    } else {
                        SearchSql::narrow(matches)
                    }
                }
            };
            let items = rows(
                conn,
                p,
                &sql.page,
                params![pattern, limit, offset],
                summary_from_row,
            )?;
            // A page that is not full ends the list (a scanned serial's one match): its total
            // is known without matching the pattern a second time.
            let short = (items.len() as i64) < limit && (offset == 0 || !items.is_empty());
            let total = if short {
                offset.max(0) as u64 + items.len() as u64
            } else {
                count_of(conn, p, &sql.count, params![pattern])?
            };
            Ok(Paged { total, items })
        })
    }

    fn stored_certificate(&self, id: &str) -> Result<Option<StoredCertificate>, RegisterError> {
        self.store.read(&mut |conn, p| {
            conn.query_opt(
                "SELECT c.id, a.tag, c.key_id, c.document
                 FROM certificates c LEFT JOIN assets a ON a.id = c.asset_id WHERE c.id = ?1
                 UNION ALL
                 SELECT c.id, a.tag, c.key_id, c.document
                 FROM computer_certificates c LEFT JOIN assets a ON a.id = c.asset_id WHERE c.id = ?1
                 LIMIT 1",
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

    fn collections(&self, page: Page) -> Result<Paged<CollectionProgress>, RegisterError> {
        let (limit, offset) = page.sql();
        self.store.read(&mut |conn, p| {
            let found = rows(
                conn,
                p,
                "SELECT co.id, co.code, cu.name FROM collections co
                 JOIN customers cu ON cu.id = co.customer_id ORDER BY co.code LIMIT ?1 OFFSET ?2",
                params![limit, offset],
                |r| Ok((r.get::<_, i64>(0)?, r.get(1)?, r.get(2)?)),
            )?;
            let items = found
                .into_iter()
                .map(|(id, code, customer)| progress(conn, p, id, code, customer))
                .collect::<Result<_, _>>()?;
            let total = count_of(conn, p, "SELECT COUNT(*) FROM collections", params![])?;
            Ok(Paged { total, items })
        })
    }

    fn collection_page(&self, code: &str, page: Page) -> Result<CollectionPage, RegisterError> {
        let (limit, offset) = page.sql();
        self.store.read(&mut |conn, p| {
            let found: Option<(i64, String)> = conn
                .query_opt(
                    "SELECT co.id, cu.name FROM collections co
                     JOIN customers cu ON cu.id = co.customer_id WHERE co.code = ?1",
                    params![code],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(db(p))?;
            let Some((id, customer)) = found else {
                return Err(RegisterError::UnknownCollection(code.into()));
            };
            let progress = progress(conn, p, id, code.to_string(), customer)?;
            let drives = drive_counts(conn, p, id)?;
            let lines = report_lines(
                conn,
                p,
                "a.id IN (SELECT id FROM assets WHERE collection_id = ?1
                          ORDER BY tag LIMIT ?2 OFFSET ?3)
                 ORDER BY a.tag, m.serial",
                params![id, limit, offset],
            )?;
            Ok(CollectionPage {
                progress,
                drives,
                lines,
            })
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

    fn ping(&self) -> Result<(), RegisterError> {
        self.store.read(&mut |conn, p| {
            conn.query_opt("SELECT 1", params![], |r| r.get::<_, i64>(0))
                .map(|_| ())
                .map_err(db(p))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::register::Location;

    /// What SQLite's planner would do for a search, one step a line, each with the id of the
    /// step it is part of (0 for the query's own steps). SQLite plans the same
    /// whatever the tables hold (the register keeps no `sqlite_stat1`), so a small register
    /// shows the plan of a large one.
    fn plan_of_search(page_sql: &str) -> Vec<(i64, String)> {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("register.sqlite");
        drop(
            Location::Sqlite(path.clone())
                .open()
                .expect("a fresh register"),
        );
        let conn = rusqlite::Connection::open(&path).expect("open it again");
        let sql = format!("EXPLAIN QUERY PLAN {page_sql}");
        let mut statement = conn.prepare(&sql).expect("the search's SQL");
        statement
            .query_map(rusqlite::params!["%sn-0123456%", 100, 0], |r| {
                Ok((r.get::<_, i64>(1)?, r.get::<_, String>(3)?))
            })
            .expect("its plan")
            .collect::<Result<_, _>>()
            .expect("its steps")
    }

    #[test]
    fn a_search_through_the_trigram_indexes_walks_no_asset_or_drive_table() {
        let plan = plan_of_search(&SearchSql::narrow(TRIGRAM_MATCHES).page);
        // A SCAN walks a whole table; the assets (a, x) and drives (m) are the large ones.
        let walks: Vec<&String> = plan
            .iter()
            .map(|(_, step)| step)
            .filter(|step| {
                let mut words = step.split_whitespace();
                words.next() == Some("SCAN")
                    && matches!(words.next(), Some("a" | "x" | "m" | "assets" | "media"))
            })
            .collect();
        assert!(walks.is_empty(), "{walks:?} in {plan:#?}");
        assert!(
            plan.iter().any(|(_, s)| s.contains("asset_search")),
            "{plan:#?}"
        );
    }

    #[test]
    fn a_search_matching_a_customer_reads_assets_in_tag_order_without_gathering_them() {
        let plan = plan_of_search(&SearchSql::broad(TRIGRAM_MATCHES).page);
        // Sorting would gather every asset of the customer first (a million of them), where
        // reading in tag order stops at the page's end.
        let own: Vec<&str> = plan
            .iter()
            .filter(|(parent, _)| *parent == 0)
            .map(|(_, step)| step.as_str())
            .collect();
        assert_eq!(
            own.first(),
            Some(&"SCAN a USING INDEX sqlite_autoindex_assets_1"),
            "{plan:#?}"
        );
        assert!(!own.contains(&"USE TEMP B-TREE FOR ORDER BY"), "{plan:#?}");
    }

    #[test]
    fn a_search_on_postgresql_reads_an_index_for_every_asset_and_drive_column() {
        let url = crate::register::postgres::test_cluster::database();
        drop(
            Location::Postgres(url.clone())
                .open()
                .expect("a fresh register"),
        );
        let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        // Tables this small are read whole whatever indexes there are; forbidding that shows
        // which columns have no index, as a large register would find.
        client
            .batch_execute("SET enable_seqscan = off")
            .expect("set");
        let mut sql = format!("EXPLAIN {}", SearchSql::narrow(INDEX_MATCHES).page);
        for n in 1..=3 {
            sql = sql.replace(&format!("?{n}"), &format!("${n}"));
        }
        let plan: Vec<String> = client
            .query(&sql, &[&"%sn-0123456%", &100i64, &0i64])
            .expect("the search's plan")
            .iter()
            .map(|row| row.get::<_, String>(0))
            .collect();
        let reads: Vec<&String> = plan
            .iter()
            .filter(|l| l.contains("Seq Scan on assets") || l.contains("Seq Scan on media"))
            .collect();
        assert!(reads.is_empty(), "{reads:?} in {plan:#?}");
    }
}
