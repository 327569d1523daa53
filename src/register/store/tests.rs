//! The register's own tests, each run on SQLite and on PostgreSQL (a throwaway cluster, see
//! `register::postgres::test_cluster`).

use super::*;
use crate::register::accounts::{AccountError, LoginOutcome, Role};
use crate::register::postgres::{PostgresRegister, test_cluster};
use crate::register::sqlite::SqliteRegister;

#[derive(Debug, Clone, Copy)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A register on one backend that a test may open as often as it likes.
struct Place {
    _dir: Option<tempfile::TempDir>,
    location: Location,
}

impl Place {
    fn new(backend: Backend) -> Place {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let location = Location::Sqlite(dir.path().join("register.sqlite"));
                Place {
                    _dir: Some(dir),
                    location,
                }
            }
            Backend::Postgres => Place {
                _dir: None,
                location: Location::Postgres(test_cluster::database()),
            },
        }
    }

    fn open(&self) -> Box<dyn Register> {
        self.location.open().expect("open the register")
    }

    /// The schema version the register is at.
    fn version(&self) -> i64 {
        match &self.location {
            Location::Sqlite(path) => SqliteRegister::open(path).expect("open").store.version(),
            Location::Postgres(url) => PostgresRegister::connect(url)
                .expect("open")
                .store
                .version(),
        }
    }
}

/// Runs each named test (a `fn(Backend)`) once per backend.
macro_rules! on_each_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(super::Backend::Sqlite) })*
        }
        mod postgres {
            $(#[test] fn $name() { super::$name(super::Backend::Postgres) })*
        }
    };
}

#[path = "custody_tests.rs"]
mod custody;

#[path = "computer_tests.rs"]
mod computer;

#[path = "tally_tests.rs"]
mod tally;

on_each_backend!(
    reopening_keeps_data_and_runs_no_migration_twice,
    a_failed_write_leaves_nothing_behind,
    a_collection_belongs_to_one_customer,
    a_station_event_is_stored_once_and_waits_for_its_asset,
    registers_opened_at_once_migrate_once,
    concurrent_writers_keep_one_custody_chain_and_store_each_certificate_once,
    a_removed_user_loses_tokens_and_sessions,
    an_expired_session_is_gone,
    failures_count_per_name_since_its_last_success_and_per_address,
    search_matches_any_part_of_a_tag_serial_or_customer_literally,
    a_station_name_with_control_characters_is_refused,
    a_manifest_of_more_rows_than_a_statement_takes_is_booked_whole_in_order,
    serials_held_by_finished_assets_are_found_in_one_read,
);

fn row(line: u64, tag: &str, serial: &str) -> ManifestRow {
    ManifestRow {
        line,
        asset_tag: tag.into(),
        serial: serial.into(),
        asset_type: Some("laptop".into()),
        make: None,
        model: None,
        customer_ref: None,
        media_serials: vec![format!("{serial}-D1")],
        extra: Default::default(),
    }
}

/// Intake writes 500 rows to a statement: 1,234 rows (three statements, the last short) keep
/// each asset with its own drives, one chained custody event each, and a later manifest
/// repeating two of them is refused naming exactly those lines.
fn a_manifest_of_more_rows_than_a_statement_takes_is_booked_whole_in_order(backend: Backend) {
    let place = Place::new(backend);
    let mut reg = place.open();
    // Past a statement's rows on both backends (500 a statement on SQLite, 10,000 with
    // arrays on PostgreSQL), and past the size that refreshes PostgreSQL's statistics.
    let n = super::intake::COLUMN_CHUNK as u64 + 234;
    let rows: Vec<ManifestRow> = (0..n)
        .map(|i| {
            let mut r = row(i + 2, &format!("A-{i:05}"), &format!("S{i}"));
            r.media_serials = match i % 7 {
                0 => vec![],
                _ => vec![format!("S{i}-D1"), format!("S{i}-D2")],
            };
            r.make = (i % 3 == 0).then(|| format!("Make {i}"));
            r
        })
        .collect();
    let before = reg.audit().expect("audit").events;
    assert_eq!(
        reg.import_manifest("Acme", "COL-1", &rows, &clerk())
            .expect("import"),
        n as usize
    );
    for i in [
        0,
        1,
        499,
        500,
        501,
        999,
        1000,
        5000,
        9999,
        10000,
        10001,
        n - 1,
    ] {
        let a = reg
            .asset(&format!("A-{i:05}"))
            .expect("read")
            .unwrap_or_else(|| panic!("A-{i:05} booked"));
        assert_eq!(a.summary.serial, format!("S{i}"));
        assert_eq!(a.summary.make, (i % 3 == 0).then(|| format!("Make {i}")));
        let mut serials: Vec<&str> = a.media.iter().map(|m| m.serial.as_str()).collect();
        serials.sort();
        let want: Vec<String> = match i % 7 {
            0 => vec![],
            _ => vec![format!("S{i}-D1"), format!("S{i}-D2")],
        };
        assert_eq!(serials, want, "A-{i:05}'s drives");
        let booked: Vec<_> = a.events.iter().filter(|e| e.kind == "booked").collect();
        assert_eq!(booked.len(), 1, "A-{i:05}");
        assert_eq!(booked[0].detail["manifest_line"], i + 2);
    }
    let audit = reg.audit().expect("audit");
    assert!(audit.ok, "{:?}", audit.problems);
    // One event per asset and the collection's booking step.
    assert!(audit.events >= before + n as usize, "{} events", audit.events);
    if let Location::Postgres(url) = &place.location {
        let mut client = ::postgres::Client::connect(url, ::postgres::NoTls).expect("connect");
        let described: i64 = client
            .query_one(
                "SELECT COUNT(*) FROM pg_stats WHERE tablename = 'assets' AND attname = 'tag'",
                &[],
            )
            .expect("statistics")
            .get(0);
        assert_eq!(
            described, 1,
            "the intake left the assets without statistics"
        );
    }
    let again = vec![
        row(2, "B-1", "T1"),
        row(3, "A-00600", "T2"),
        row(4, "B-2", "T3"),
        row(5, "A-01233", "T4"),
    ];
    match reg.import_manifest("Acme", "COL-2", &again, &clerk()) {
        Err(RegisterError::Manifest { problems }) => {
            let lines: Vec<u64> = problems.iter().map(|p| p.line).collect();
            assert_eq!(lines, [3, 5], "{problems:?}");
        }
        other => panic!("a repeated tag must refuse the manifest: {other:?}"),
    }
    assert!(reg.asset("B-1").expect("read").is_none());
}

/// A manifest's serials (asset and drive serials, more than one statement takes) checked at
/// once against retired or destroyed assets: only those are named, with their state.
fn serials_held_by_finished_assets_are_found_in_one_read(backend: Backend) {
    let mut reg = Place::new(backend).open();
    reg.import_manifest(
        "Acme",
        "COL-1",
        &[
            row(2, "A-1", "S1"),
            row(3, "A-2", "S2"),
            row(4, "A-3", "S3"),
        ],
        &clerk(),
    )
    .expect("import");
    reg.destroy("A-1", "shredded", "B. Jones", &clerk())
        .expect("destroy");
    let mut asked: Vec<String> = (0..1200).map(|i| format!("X{i}")).collect();
    asked.extend(["S1", "S1-D1", "S2", "S2-D1", ""].map(String::from));
    let asked: Vec<&str> = asked.iter().map(String::as_str).collect();
    let found = reg.finished_serial_owners(&asked).expect("read");
    assert_eq!(
        found,
        [
            ("S1".to_string(), "A-1".to_string(), AssetState::Destroyed),
            (
                "S1-D1".to_string(),
                "A-1".to_string(),
                AssetState::Destroyed
            ),
        ]
    );
}

fn clerk() -> Actor {
    Actor {
        name: "clerk".into(),
        station: "desk-1".into(),
    }
}

fn reopening_keeps_data_and_runs_no_migration_twice(backend: Backend) {
    let place = Place::new(backend);
    let mut reg = place.open();
    reg.import_manifest("Acme", "COL-1", &[row(2, "A-1", "S1")], &clerk())
        .expect("import");
    drop(reg);
    let reg = place.open();
    assert_eq!(
        place.version(),
        13,
        "every migration, the customer reference's search index (13) the last"
    );
    let asset = reg.asset("A-1").expect("read").expect("asset A-1 kept");
    assert_eq!(asset.summary.state, AssetState::Expected);
    assert_eq!(asset.media.len(), 1);
    assert!(reg.audit().expect("audit").ok);
}

fn a_failed_write_leaves_nothing_behind(backend: Backend) {
    let mut reg = Place::new(backend).open();
    reg.import_manifest("Acme", "COL-1", &[row(2, "A-1", "S1")], &clerk())
        .expect("first import");
    // The second file repeats A-1 on line 3: the whole file is refused, B-1 included, and
    // neither the new collection nor a custody event is left behind.
    let err = reg
        .import_manifest(
            "Acme",
            "COL-2",
            &[row(2, "B-1", "S2"), row(3, "A-1", "S3")],
            &clerk(),
        )
        .expect_err("duplicate tag must refuse the file");
    assert!(err.to_string().contains("line 3"), "{err}");
    assert!(reg.asset("B-1").expect("read").is_none());
    let listed = reg.list_assets(&AssetFilter {
        collection: Some("COL-2".into()),
        state: None,
    });
    assert!(
        matches!(listed, Err(RegisterError::UnknownCollection(_))),
        "{listed:?}"
    );
    let audit = reg.audit().expect("audit");
    assert!(audit.ok);
    assert_eq!(audit.events, 2, "A-1 booked, and its collection");
}

fn a_collection_belongs_to_one_customer(backend: Backend) {
    let mut reg = Place::new(backend).open();
    reg.import_manifest("Acme", "COL-1", &[row(2, "A-1", "S1")], &clerk())
        .expect("import");
    let err = reg
        .import_manifest("Other Ltd", "COL-1", &[row(2, "O-1", "S9")], &clerk())
        .expect_err("another customer's collection");
    assert!(matches!(err, RegisterError::CollectionCustomer { .. }));
    assert!(reg.asset("O-1").expect("read").is_none());
}

fn a_station_event_is_stored_once_and_waits_for_its_asset(backend: Backend) {
    use crate::certificate::keys::StationKey;
    use crate::register::station_event::{Action, StationEvent};

    let mut reg = Place::new(backend).open();
    let key = StationKey::generate().expect("key");
    let event = StationEvent::new(
        "bay-1",
        "Ann",
        "A-1",
        Action::Destroyed {
            method: "shredded".into(),
            witness: "Bob".into(),
        },
    );
    let signed = event.clone().sign(&key).expect("sign");
    let doc = serde_json::to_string(&signed).expect("json");
    // A-1 is not here yet: stored, waiting; the same event again changes nothing.
    assert_eq!(
        reg.receive_event(&signed, &doc, "bay-1").expect("receive"),
        EventReceipt::Waiting
    );
    assert_eq!(
        reg.receive_event(&signed, &doc, "bay-1").expect("again"),
        EventReceipt::Already
    );
    // Another event under the same id is a conflict, and is not stored.
    let mut other = event.clone();
    other.action = Action::Destroyed {
        method: "shredded".into(),
        witness: "Mallory".into(),
    };
    let other = other.sign(&key).expect("sign");
    let other_doc = serde_json::to_string(&other).expect("json");
    assert!(matches!(
        reg.receive_event(&other, &other_doc, "bay-1"),
        Err(RegisterError::EventConflict { .. })
    ));
    // The intake import that brings A-1 applies it.
    reg.import_manifest("Acme", "COL-1", &[row(2, "A-1", "S1")], &clerk())
        .expect("import");
    let a = reg.asset("A-1").expect("read").expect("A-1");
    assert_eq!(a.summary.state, AssetState::Destroyed);
    let destroyed = a
        .events
        .iter()
        .find(|e| e.kind == "destroyed")
        .expect("event");
    assert_eq!(destroyed.detail["witness"], "Bob");
    assert_eq!(destroyed.station, "bay-1");
    assert!(reg.audit().expect("audit").ok);
}

/// A certificate of `serial` from station `station`, the first of its own key's chain.
fn certificate(id: &str, serial: &str, station: &str) -> (SignedCertificate, String) {
    certificate_with(id, serial, station, |_| {})
}

/// A certificate as [`certificate`] makes it, with `edit` applied to its record before signing.
fn certificate_with(
    id: &str,
    serial: &str,
    station: &str,
    edit: impl FnOnce(&mut crate::certificate::record::Record),
) -> (SignedCertificate, String) {
    use base64::Engine;
    let key = crate::certificate::keys::StationKey::generate().expect("key");
    let mut record = crate::certificate::record::tests::sample_record();
    record.id = id.into();
    record.wipe_id = format!("wipe-{id}");
    record.asset_tags = Vec::new();
    record.media.serial = Some(serial.into());
    record.performed_by.station_id = station.into();
    record.previous = None;
    edit(&mut record);
    record.key_id = key.key_id();
    let canonical = record.canonical_bytes().expect("canonical");
    let signature = key.sign(&canonical).to_bytes();
    let signed = SignedCertificate {
        signature: crate::certificate::issue::SignatureBlock {
            algorithm: "Ed25519".into(),
            key_id: key.key_id(),
            value: base64::engine::general_purpose::STANDARD.encode(signature),
            record_sha256: record.sha256().expect("sha256"),
        },
        record,
    };
    let document = serde_json::to_string(&signed).expect("json");
    (signed, document)
}

/// Servers (or a server and a command) that start together must not both create the tables.
fn registers_opened_at_once_migrate_once(backend: Backend) {
    let place = std::sync::Arc::new(Place::new(backend));
    let start = std::sync::Arc::new(std::sync::Barrier::new(6));
    let openers: Vec<_> = (0..6)
        .map(|_| {
            let (place, start) = (place.clone(), start.clone());
            std::thread::spawn(move || {
                start.wait();
                place.location.open().map(|_| ())
            })
        })
        .collect();
    for opener in openers {
        opener
            .join()
            .expect("thread")
            .expect("open while others open");
    }
    assert_eq!(
        place.version(),
        13,
        "every migration, the customer reference's search index (13) the last"
    );
}

/// Several connections writing at once (the server's pool): every certificate is stored once,
/// the one all of them send is new for exactly one, and the custody chain stays one chain.
fn concurrent_writers_keep_one_custody_chain_and_store_each_certificate_once(backend: Backend) {
    const WRITERS: usize = 6;
    const EACH: usize = 15;
    let place = std::sync::Arc::new(Place::new(backend));
    let mut reg = place.open();
    let rows: Vec<ManifestRow> = (0..WRITERS * EACH)
        .map(|i| row(i as u64 + 2, &format!("A-{i}"), &format!("S{i}")))
        .collect();
    reg.import_manifest("Acme", "COL-1", &rows, &clerk())
        .expect("import");
    let shared = std::sync::Arc::new(certificate("shared", "S-none", "bay"));
    let start = std::sync::Arc::new(std::sync::Barrier::new(WRITERS));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (place, shared, start) = (place.clone(), shared.clone(), start.clone());
            std::thread::spawn(move || {
                let mut reg = place.open();
                let (shared, shared_doc) = &*shared;
                start.wait();
                let mut shared_new = 0;
                for i in 0..EACH {
                    let n = w * EACH + i;
                    let (cert, doc) = certificate(&format!("c-{n}"), &format!("S{n}-D1"), "bay");
                    let linked = reg
                        .receive_certificate(&cert, &doc, "bay")
                        .expect("receive");
                    assert!(linked.new);
                    assert_eq!(linked.asset_state, Some(AssetState::Retired));
                    if i == EACH / 2 {
                        let linked = reg
                            .receive_certificate(shared, shared_doc, "bay")
                            .expect("receive the shared one");
                        shared_new += usize::from(linked.new);
                    }
                }
                shared_new
            })
        })
        .collect();
    let shared_new: usize = writers.into_iter().map(|w| w.join().expect("writer")).sum();
    assert_eq!(
        shared_new, 1,
        "the same certificate was new for more than one writer"
    );
    let audit = reg.audit().expect("audit");
    assert!(audit.ok, "{:?}", audit.problems);
    assert_eq!(audit.certificates, WRITERS * EACH + 1);
    // One custody event per intake row, certificate, receipt (by the certificate: goods-in
    // never scanned them) and state change, and the collection's booking, in one chain.
    assert_eq!(audit.events, (WRITERS * EACH) * 4 + 1 + 1);
    let retired = reg
        .list_assets(&AssetFilter {
            collection: None,
            state: Some(AssetState::Retired),
        })
        .expect("list");
    assert_eq!(retired.len(), WRITERS * EACH);
}

// Accounts (`store::accounts`).

fn admin() -> Actor {
    Actor {
        name: "root".into(),
        station: "register".into(),
    }
}

fn a_removed_user_loses_tokens_and_sessions(backend: Backend) {
    let place = Place::new(backend);
    let mut reg = place.open();
    reg.add_user("ann", Role::Compliance, "$argon2id$x", &admin())
        .unwrap();
    assert!(matches!(
        reg.add_user("ann", Role::Admin, "$argon2id$y", &admin()),
        Err(AccountError::UserExists(_))
    ));
    reg.add_user_token("ann", "t1", &admin()).unwrap();
    reg.start_session("s1", "ann", "c1", "2999-01-01T00:00:00Z")
        .unwrap();
    assert_eq!(
        reg.user_of_token("t1").unwrap(),
        Some(("ann".into(), Role::Compliance))
    );
    let now = crate::timestamp::now();
    assert_eq!(reg.session("s1", &now).unwrap().unwrap().csrf, "c1");
    assert_eq!(reg.users().unwrap()[0].tokens, 1);
    reg.remove_user("ann", &admin()).unwrap();
    assert!(reg.user_of_token("t1").unwrap().is_none());
    assert!(reg.session("s1", &now).unwrap().is_none());
    assert!(matches!(
        reg.remove_user("ann", &admin()),
        Err(AccountError::UnknownUser(_))
    ));
    assert!(reg.audit().map(|a| a.ok).unwrap_or(false));
}

fn an_expired_session_is_gone(backend: Backend) {
    let place = Place::new(backend);
    let mut reg = place.open();
    reg.add_user("ann", Role::Intake, "$argon2id$x", &admin())
        .unwrap();
    reg.start_session("s1", "ann", "c1", "2026-01-01T00:00:10Z")
        .unwrap();
    assert!(reg.session("s1", "2026-01-01T00:00:09Z").unwrap().is_some());
    assert!(reg.session("s1", "2026-01-01T00:00:10Z").unwrap().is_none());
    // Removed, not only hidden.
    assert!(reg.session("s1", "2000-01-01T00:00:00Z").unwrap().is_none());
}

fn failures_count_per_name_since_its_last_success_and_per_address(backend: Backend) {
    let place = Place::new(backend);
    let mut reg = place.open();
    for _ in 0..3 {
        reg.log_login("ann", "10.0.0.1", LoginOutcome::Failed)
            .unwrap();
    }
    reg.log_login("bob", "10.0.0.1", LoginOutcome::Failed)
        .unwrap();
    let f = reg
        .recent_failures("ann", "10.0.0.1", "2000-01-01T00:00:00Z")
        .unwrap();
    assert_eq!((f.user, f.client), (3, 4));
    // Far in the future: nothing is recent.
    let f = reg
        .recent_failures("ann", "10.0.0.1", "2999-01-01T00:00:00Z")
        .unwrap();
    assert_eq!((f.user, f.client), (0, 0));
}

// The web pages' lookups (`store::lookup`).

fn search_matches_any_part_of_a_tag_serial_or_customer_literally(backend: Backend) {
    let place = Place::new(backend);
    let mut reg = place.open();
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
        &[
            row("AB-1", "S-100"),
            row("A_1", "S-200"),
            row("ÜNI-日本-1", "SER-ÜNI"),
        ],
        &actor,
    )
    .unwrap();
    let tags = |q: &str| -> Vec<String> {
        reg.search_assets(q, Page::numbered(1, 10))
            .unwrap()
            .items
            .into_iter()
            .map(|a| a.asset_tag)
            .collect()
    };
    assert_eq!(tags("a_1"), ["A_1"]);
    assert_eq!(tags("s-200-d1"), ["A_1"], "a drive's serial");
    assert_eq!(tags("acme"), ["AB-1", "A_1", "ÜNI-日本-1"]);
    assert!(tags("nothing").is_empty());
    // Beyond ASCII a value matches as typed (and exactly itself), on both backends.
    assert_eq!(tags("ÜNI-日本-1"), ["ÜNI-日本-1"]);
    assert_eq!(tags("ser-Üni"), ["ÜNI-日本-1"]);
    // A NUL matches nothing, and is no error.
    assert!(tags("a\0b").is_empty());
    let c = reg.collections(Page::numbered(1, 10)).unwrap();
    assert_eq!(c.total, 1);
    assert_eq!((c.items[0].assets, c.items[0].expected), (3, 3));

    // A page at a time, with the total of the whole list, in a stable order.
    let page = |number| Page::numbered(number, 2);
    let second = reg.search_assets("acme", page(2)).unwrap();
    assert_eq!(second.total, 3);
    let tags: Vec<&str> = second.items.iter().map(|a| a.asset_tag.as_str()).collect();
    assert_eq!(tags, ["ÜNI-日本-1"]);
    let listed = reg.assets_page(&AssetFilter::default(), page(1)).unwrap();
    assert_eq!(listed.total, 3);
    let tags: Vec<&str> = listed.items.iter().map(|a| a.asset_tag.as_str()).collect();
    assert_eq!(tags, ["AB-1", "A_1"]);
    let c1 = reg.collection_page("C1", page(1)).unwrap();
    assert_eq!((c1.progress.assets, c1.progress.expected), (3, 3));
    assert_eq!((c1.drives.drives, c1.drives.not_wiped), (3, 3));
    let tags: Vec<&str> = c1.lines.iter().map(|l| l.asset_tag.as_str()).collect();
    assert_eq!(tags, ["AB-1", "A_1"]);
    let c1 = reg.collection_page("C1", page(2)).unwrap();
    assert_eq!(c1.lines.len(), 1);
    assert!(matches!(
        reg.collection_page("NOPE", page(1)),
        Err(RegisterError::UnknownCollection(_))
    ));
    assert!(matches!(
        reg.assets_page(
            &AssetFilter {
                collection: Some("NOPE".into()),
                state: None
            },
            page(1)
        ),
        Err(RegisterError::UnknownCollection(_))
    ));
    assert_eq!(reg.unmatched_page(page(1)).unwrap().total, 0);

    // A customer's name matches its collections' assets; other assets match as ever, and the
    // count is of both.
    reg.import_manifest(
        "Zenith",
        "C2",
        &[row("Z-1", "ACMEX-9"), row("Z-2", "S-300")],
        &actor,
    )
    .unwrap();
    let both = reg.search_assets("acme", page(2)).unwrap();
    assert_eq!(both.total, 4);
    let tags: Vec<&str> = both.items.iter().map(|a| a.asset_tag.as_str()).collect();
    assert_eq!(tags, ["Z-1", "ÜNI-日本-1"]);
    let zenith = reg.search_assets("zenith", page(1)).unwrap();
    assert_eq!(zenith.total, 2);
}

fn a_station_name_with_control_characters_is_refused(backend: Backend) {
    let place = Place::new(backend);
    let mut reg = place.open();
    let admin = clerk();
    for bad in ["", "bay\n5", "bay\u{1b}[31mRED", &"b".repeat(65)] {
        assert!(
            matches!(
                reg.enroll_station("k1", bad, "pem", &admin),
                Err(RegisterError::BadStationName(_))
            ),
            "{bad:?}"
        );
    }
    reg.enroll_station("k1", "bay-5 (Ünit 2)", "pem", &admin)
        .expect("a printable name");
    assert_eq!(reg.stations().expect("list").len(), 1);
}
