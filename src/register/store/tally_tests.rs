//! The counts the database keeps per collection (`collection_tallies`, migration 11) stay equal
//! to a count of the rows themselves through every kind of write: intake, certificates
//! (PASS, FAIL, a later PASS, one linked by hand from the review list), goods-in scans, a
//! resolution, a destruction, on each backend.

use super::*;
use crate::register::collection::*;
use crate::register::db::params;
use crate::verify::outcome::WipeResult;

on_each_backend!(counts_kept_by_the_database_match_the_rows_after_every_kind_of_write);

/// Every collection's counts from the rows (what the pages computed before migration 11),
/// and as kept, by (collection code, key), zero counts left out.
/// (collection code, key, count) rows.
type Counts = Vec<(String, String, i64)>;

fn recounted_and_kept(place: &Place) -> (Counts, Counts) {
    const RECOUNT: &str = "
        SELECT code, key, SUM(d) FROM (
            SELECT co.code, 'assets' AS key, 1 AS d FROM assets a JOIN collections co ON co.id = a.collection_id
            UNION ALL SELECT co.code, 'state:' || a.state, 1 FROM assets a JOIN collections co ON co.id = a.collection_id
            UNION ALL SELECT co.code, 'received', 1 FROM assets a JOIN collections co ON co.id = a.collection_id
                WHERE a.received_at IS NOT NULL
            UNION ALL SELECT co.code, 'unaccounted', 1 FROM assets a JOIN collections co ON co.id = a.collection_id
                WHERE a.received_at IS NULL AND a.resolution IS NULL
            UNION ALL SELECT co.code, 'drives:' || COALESCE((SELECT c.result FROM certificates c
                    WHERE c.media_id = m.id ORDER BY c.issued_at DESC, c.received_at DESC LIMIT 1), 'none'), 1
                FROM media m JOIN assets a ON a.id = m.asset_id JOIN collections co ON co.id = a.collection_id
        ) t GROUP BY code, key ORDER BY code, key";
    const KEPT: &str = "SELECT co.code, t.key, t.n FROM collection_tallies t
        JOIN collections co ON co.id = t.collection_id WHERE t.n <> 0 ORDER BY co.code, t.key";
    let read = |sql: &'static str| {
        let f = &mut |conn: &dyn Db, p: &str| {
            rows(conn, p, sql, params![], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)?))
            })
        };
        match &place.location {
            Location::Sqlite(path) => SqliteRegister::open(path).expect("open").store.read(f),
            Location::Postgres(url) => PostgresRegister::connect(url).expect("open").store.read(f),
        }
        .expect("read the counts")
    };
    (read(RECOUNT), read(KEPT))
}

fn counts_kept_by_the_database_match_the_rows_after_every_kind_of_write(backend: Backend) {
    let place = Place::new(backend);
    let mut reg = place.open();
    let check = |place: &Place, after: &str| {
        let (recounted, kept) = recounted_and_kept(place);
        assert_eq!(kept, recounted, "after {after}");
    };
    let rows: Vec<ManifestRow> = (1..=6)
        .map(|i| row(i + 1, &format!("A-{i}"), &format!("S{i}")))
        .collect();
    reg.import_manifest("Acme", "COL-1", &rows, &clerk())
        .expect("import");
    reg.import_manifest("Acme", "COL-2", &[row(2, "B-1", "SB")], &clerk())
        .expect("import");
    check(&place, "intake");

    let (pass, doc) = certificate("c-1", "S1-D1", "bay-1");
    reg.record_certificate(&pass, &doc, None, false, &clerk())
        .expect("PASS");
    let (fail, doc) = certificate_with("c-2", "S2-D1", "bay-1", |r| {
        r.sanitization.result = WipeResult::Fail;
        r.sanitization.failure_reasons = vec!["a sample region read back wrong".into()];
        r.verification.checks[0].passed = false;
    });
    reg.record_certificate(&fail, &doc, None, false, &clerk())
        .expect("FAIL");
    check(&place, "a PASS and a FAIL");
    let (again, doc) = certificate_with("c-3", "S2-D1", "bay-1", |r| {
        r.issued_at = "2026-11-29T09:00:00Z".into();
    });
    reg.record_certificate(&again, &doc, None, false, &clerk())
        .expect("a later PASS");
    check(&place, "a later PASS of the failed drive");

    let (stray, doc) = certificate("c-4", "UNKNOWN-SERIAL", "bay-1");
    reg.record_certificate(&stray, &doc, None, false, &clerk())
        .expect("unmatched");
    check(&place, "a certificate matching no asset");
    reg.link_certificate("c-4", "B-1", false, &clerk())
        .expect("link");
    check(&place, "a certificate linked by hand");

    reg.receive_scan("COL-1", "A-3", &clerk()).expect("scan");
    reg.receive_scan("COL-1", "NOT-BOOKED", &clerk())
        .expect("an extra");
    reg.reconcile("COL-1", &clerk()).expect("reconcile");
    reg.resolve_missing("COL-1", "A-4", Reason::Withdrawn, None, &clerk())
        .expect("resolve");
    reg.destroy("A-5", "shredded", "Bob", &clerk())
        .expect("destroy");
    check(&place, "goods-in, a resolution and a destruction");

    // What the pages read: the counts, not the rows.
    let view = reg.custody("COL-1").expect("custody").view;
    assert_eq!(
        (view.assets, view.received, view.retired, view.destroyed),
        (6, 4, 2, 1),
        "{view:?}"
    );
    let page = reg
        .collection_page("COL-1", Page::numbered(1, 2))
        .expect("page");
    assert_eq!(
        (page.drives.drives, page.drives.pass, page.drives.fail),
        (6, 2, 0),
        "{:?}",
        page.drives
    );
    assert_eq!((page.progress.assets, page.progress.destroyed), (6, 1));

    // The assets' pages find their first row through the counts, across collections.
    let tags = |filter: &AssetFilter, page: Page| {
        let listed = reg.assets_page(filter, page).expect("page");
        let tags: Vec<String> = listed.items.into_iter().map(|a| a.asset_tag).collect();
        (listed.total, tags)
    };
    let all = AssetFilter::default();
    assert_eq!(
        tags(&all, Page::numbered(3, 3)),
        (7, vec!["B-1".to_string()])
    );
    assert_eq!(
        tags(&all, Page::numbered(3, 2)),
        (7, vec!["A-5".to_string(), "A-6".to_string()])
    );
    let retired = AssetFilter {
        collection: None,
        state: Some(AssetState::Retired),
    };
    assert_eq!(tags(&retired, Page::numbered(1, 10)).1, ["A-1", "A-2"]);
    assert_eq!(
        tags(&retired, Page::numbered(2, 1)),
        (2, vec!["A-2".to_string()])
    );
    let second = AssetFilter {
        collection: Some("COL-2".into()),
        state: None,
    };
    assert_eq!(
        tags(&second, Page::numbered(1, 10)),
        (1, vec!["B-1".to_string()])
    );
    let unknown = AssetFilter {
        collection: Some("NOPE".into()),
        state: None,
    };
    assert!(matches!(
        reg.assets_page(&unknown, Page::numbered(1, 10)),
        Err(RegisterError::UnknownCollection(_))
    ));
    assert!(reg.audit().expect("audit").ok);
}
