//! A collection's custody on each backend: assets booked as expected, received by a scan or by
//! the station that wiped them, reconciled, resolved, closed; a register written before this
//! migrates with its assets received; a station's custody events applied by a central register.

use super::*;
use crate::register::collection::*;

on_each_backend!(
    booked_assets_are_expected_until_a_certificate_receives_and_retires_them,
    goods_in_scans_are_answered_reconciled_and_resolved,
    a_register_written_before_custody_migrates_its_assets_as_received,
    a_stations_custody_events_reach_the_central_register,
);

fn booked_assets_are_expected_until_a_certificate_receives_and_retires_them(backend: Backend) {
    let mut reg = Place::new(backend).open();
    reg.import_manifest(
        "Acme",
        "COL-1",
        &[row(2, "A-1", "S1"), row(3, "A-2", "S2")],
        &clerk(),
    )
    .expect("import");
    let a = reg.asset("A-1").expect("read").expect("A-1");
    assert_eq!(a.summary.state, AssetState::Expected);
    assert_eq!(a.events[0].kind, "booked");
    assert_eq!(
        reg.custody("COL-1").expect("custody").view.state,
        CollectionState::Booked
    );
    // A PASS for A-1's drive, never scanned at goods-in: received by the station, retired.
    let (cert, doc) = certificate("c-1", "S1-D1", "bay-1");
    let linked = reg
        .record_certificate(&cert, &doc, None, false, &clerk())
        .expect("record");
    assert_eq!(linked.asset_state, Some(AssetState::Retired));
    let a = reg.asset("A-1").expect("read").expect("A-1");
    let receipt = a
        .events
        .iter()
        .find(|e| e.kind == "received")
        .expect("a receipt");
    assert_eq!(receipt.detail["by_certificate"], "c-1");
    assert_eq!(receipt.detail["from"], "expected");
    let r = reg.reconcile("COL-1", &clerk()).expect("reconcile");
    assert_eq!((r.expected, r.received, r.unresolved), (2, 1, 1));
    assert_eq!(r.missing[0].asset_tag, "A-2");
    let audit = reg.audit().expect("audit");
    assert!(audit.ok, "{:?}", audit.problems);
}

fn goods_in_scans_are_answered_reconciled_and_resolved(backend: Backend) {
    let mut reg = Place::new(backend).open();
    let rows: Vec<ManifestRow> = (1..=4)
        .map(|i| row(i + 1, &format!("A-{i}"), &format!("S{i}")))
        .collect();
    reg.import_manifest("Acme", "COL-1", &rows, &clerk())
        .expect("import");
    reg.import_manifest("Acme", "COL-2", &[row(2, "B-1", "SB")], &clerk())
        .expect("import");
    let pickup = Pickup {
        driver: "Dan Driver".into(),
        vehicle: "AB12 CDE".into(),
        seals: vec!["SEAL-1".into(), "SEAL-2".into()],
        count: Some(4),
    };
    reg.collect("COL-1", &pickup, &clerk()).expect("collect");
    let again = reg.collect("COL-1", &pickup, &clerk());
    assert!(
        matches!(&again, Err(RegisterError::Custody { message, .. }) if message.contains("already")),
        "{again:?}"
    );
    let mut scan = |s: &str| reg.receive_scan("COL-1", s, &clerk()).expect("scan");
    assert_eq!(
        scan("A-1"),
        Scan::Received {
            asset_tag: "A-1".into()
        }
    );
    assert!(matches!(scan("A-1"), Scan::AlreadyReceived { asset_tag, .. } if asset_tag == "A-1"));
    assert_eq!(
        scan("S2"),
        Scan::Received {
            asset_tag: "A-2".into()
        },
        "by serial"
    );
    assert!(matches!(scan("S2-D1"), Scan::AlreadyReceived { asset_tag, .. } if asset_tag == "A-2"));
    assert_eq!(
        scan("B-1"),
        Scan::OtherCollection {
            asset_tag: "B-1".into(),
            collection: "COL-2".into()
        }
    );
    assert_eq!(scan("DRIVE-X9"), Scan::Extra);
    assert_eq!(scan("DRIVE-X9"), Scan::ExtraAgain);
    assert_eq!(
        reg.asset("B-1").expect("read").expect("B-1").summary.state,
        AssetState::Expected,
        "a scan of another collection records nothing"
    );

    let r = reg.reconcile("COL-1", &clerk()).expect("reconcile");
    assert_eq!((r.expected, r.received, r.unresolved), (4, 2, 2));
    let missing: Vec<&str> = r.missing.iter().map(|m| m.asset_tag.as_str()).collect();
    assert_eq!(missing, ["A-3", "A-4"]);
    assert_eq!(r.extra[0].scanned, "DRIVE-X9");

    let refused = |r: Result<(), RegisterError>, what: &str| {
        assert!(
            matches!(&r, Err(RegisterError::Custody { message, .. }) if message.contains(what)),
            "{r:?}"
        );
    };
    let boss = admin();
    refused(
        reg.resolve_missing("COL-1", "A-1", Reason::Withdrawn, None, &boss),
        "not missing",
    );
    refused(
        reg.resolve_missing("COL-1", "A-4", Reason::Lost, None, &boss),
        "incident",
    );
    refused(
        reg.resolve_missing("COL-1", "B-1", Reason::Lost, Some("x"), &boss),
        "not on its manifest",
    );
    reg.resolve_missing("COL-1", "A-3", Reason::Withdrawn, None, &boss)
        .expect("withdrawn");
    refused(
        reg.resolve_missing("COL-1", "A-3", Reason::Found, None, &boss),
        "resolved already",
    );
    reg.resolve_missing("COL-1", "A-4", Reason::Lost, Some("INC-77"), &boss)
        .expect("lost");
    let r = reg.reconcile("COL-1", &clerk()).expect("reconcile again");
    assert_eq!(r.unresolved, 0);
    let lost = &r.missing[1];
    let resolution = lost.resolution.as_ref().expect("resolved");
    assert_eq!(
        (
            resolution.reason,
            resolution.note.as_deref(),
            resolution.by.as_str()
        ),
        (Reason::Lost, Some("INC-77"), "root")
    );

    let record = reg.custody("COL-1").expect("custody");
    assert_eq!(record.view.state, CollectionState::Reconciled);
    let steps: Vec<&str> = record.view.steps.iter().map(|s| s.step.as_str()).collect();
    assert_eq!(
        steps,
        [
            "booked",
            "collected",
            "received",
            "reconciled",
            "reconciled"
        ]
    );
    assert_eq!(record.view.steps[1].detail["seals"][1], "SEAL-2");
    assert_eq!(
        (
            record.view.received,
            record.view.unaccounted,
            record.view.extras
        ),
        (2, 0, 1)
    );
    let listed = reg.collection_list().expect("list");
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[1].state, CollectionState::Booked);

    reg.close_collection("COL-1", &clerk()).expect("close");
    reg.close_collection("COL-1", &clerk())
        .expect("closing twice changes nothing");
    let closed = reg.receive_scan("COL-1", "A-3", &clerk());
    assert!(
        matches!(&closed, Err(RegisterError::Custody { message, .. }) if message.contains("closed")),
        "{closed:?}"
    );
    let audit = reg.audit().expect("audit");
    assert!(audit.ok, "{:?}", audit.problems);
}

/// A register at schema version 4 (before assets were booked as expected), with one asset
/// imported and its `received` event, made by hand on the backend.
fn old_register(place: &Place) {
    let mut event = crate::register::events::Event {
        seq: 1,
        at: "2026-01-01T00:00:00Z".into(),
        actor: "clerk".into(),
        station: "desk-1".into(),
        asset_tag: Some("OLD-1".into()),
        kind: "received".into(),
        detail: r#"{"collection":"OLD"}"#.into(),
        prev_hash: crate::register::events::GENESIS.into(),
        hash: String::new(),
    };
    event.hash = crate::register::events::hash(&event);
    let data = format!(
        "INSERT INTO customers (id, name, created_at) VALUES (1, 'Acme', '2026-01-01T00:00:00Z');
         INSERT INTO collections (id, customer_id, code, created_at) VALUES (1, 1, 'OLD', '2026-01-01T00:00:00Z');
         INSERT INTO assets (id, collection_id, tag, serial, state, created_at, updated_at)
             VALUES (1, 1, 'OLD-1', 'S-OLD', 'received', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');
         INSERT INTO events (seq, at, actor, station, asset_tag, kind, detail, prev_hash, hash)
             VALUES (1, '{}', 'clerk', 'desk-1', 'OLD-1', 'received', '{}', '{}', '{}');
         UPDATE event_head SET seq = 1, hash = '{}' WHERE id = 1;",
        event.at, event.detail, event.prev_hash, event.hash, event.hash
    );
    match &place.location {
        Location::Sqlite(path) => {
            let conn = rusqlite::Connection::open(path).expect("open");
            for (v, sql) in crate::register::sqlite::schema::MIGRATIONS {
                if *v <= 4 {
                    conn.execute_batch(sql).expect("migration");
                }
            }
            conn.pragma_update(None, "user_version", 4)
                .expect("version");
            conn.execute_batch(&data).expect("old rows");
        }
        Location::Postgres(url) => {
            let mut client = ::postgres::Client::connect(url, ::postgres::NoTls).expect("connect");
            client
                .batch_execute(
                    "CREATE TABLE schema_version (version BIGINT PRIMARY KEY, applied_at TEXT NOT NULL)",
                )
                .expect("schema_version");
            for (v, sql) in crate::register::postgres::schema::MIGRATIONS {
                if *v <= 4 {
                    client.batch_execute(sql).expect("migration");
                    client
                        .execute(
                            "INSERT INTO schema_version (version, applied_at) VALUES ($1, 'then')",
                            &[v],
                        )
                        .expect("version");
                }
            }
            client.batch_execute(&data).expect("old rows");
        }
    }
}

fn a_register_written_before_custody_migrates_its_assets_as_received(backend: Backend) {
    let place = Place::new(backend);
    old_register(&place);
    let mut reg = place.open();
    assert_eq!(
        place.version(),
        13,
        "every migration ran, custody (6) among them"
    );
    let a = reg.asset("OLD-1").expect("read").expect("OLD-1");
    assert_eq!(a.summary.state, AssetState::Received);
    let record = reg.custody("OLD").expect("custody");
    assert_eq!(record.view.state, CollectionState::Received);
    assert_eq!((record.view.received, record.view.unaccounted), (1, 0));
    assert!(reg.audit().expect("audit").ok);
    // Its scan says it was received at import; a PASS retires it as before.
    assert!(matches!(
        reg.receive_scan("OLD", "OLD-1", &clerk()).expect("scan"),
        Scan::AlreadyReceived { at, .. } if at == "2026-01-01T00:00:00Z"
    ));
    let (cert, doc) = certificate("c-old", "S-OLD", "bay-1");
    let linked = reg
        .record_certificate(&cert, &doc, None, false, &clerk())
        .expect("record");
    assert_eq!(linked.asset_state, Some(AssetState::Retired));
    let audit = reg.audit().expect("audit");
    assert!(audit.ok, "{:?}", audit.problems);
}

fn a_stations_custody_events_reach_the_central_register(backend: Backend) {
    use crate::certificate::keys::StationKey;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut station = SqliteRegister::open(&dir.path().join("station.sqlite")).expect("station");
    let mut central = Place::new(backend).open();
    let rows = [
        row(2, "A-1", "S1"),
        row(3, "A-2", "S2"),
        row(4, "A-3", "S3"),
    ];
    station
        .import_manifest("Acme", "COL-1", &rows, &clerk())
        .expect("station import");
    let desk = Actor {
        name: "Gail".into(),
        station: "goods-in".into(),
    };
    let pickup = Pickup {
        driver: "Dan".into(),
        vehicle: "AB12 CDE".into(),
        seals: vec!["SEAL-9".into()],
        count: None,
    };
    station.collect("COL-1", &pickup, &desk).expect("collect");
    station.receive_scan("COL-1", "A-1", &desk).expect("scan");
    station
        .receive_scan("COL-1", "EXTRA-1", &desk)
        .expect("scan");
    station.reconcile("COL-1", &desk).expect("reconcile");
    station
        .resolve_missing("COL-1", "A-3", Reason::Withdrawn, Some("kept by IT"), &desk)
        .expect("resolve");
    let key = StationKey::generate().expect("key");
    let send = |central: &mut Box<dyn Register>, station: &mut SqliteRegister| {
        let mut receipts = Vec::new();
        for item in station.pending_events().expect("pending") {
            let signed = item.event.clone().sign(&key).expect("sign");
            let doc = serde_json::to_string(&signed).expect("json");
            receipts.push(
                central
                    .receive_event(&signed, &doc, "goods-in")
                    .expect("receive"),
            );
            station.mark_event_sent(&item.event.id).expect("sent");
        }
        receipts
    };
    // The collection is not on the central register yet: every event waits for it.
    let receipts = send(&mut central, &mut station);
    assert_eq!(receipts.len(), 5);
    assert!(
        receipts.iter().all(|r| *r == EventReceipt::Waiting),
        "{receipts:?}"
    );
    central
        .import_manifest("Acme", "COL-1", &rows, &clerk())
        .expect("central import");
    let record = central.custody("COL-1").expect("custody");
    assert_eq!(record.view.state, CollectionState::Reconciled);
    assert_eq!((record.view.received, record.view.extras), (1, 1));
    // The station's steps keep the station's times and order; the central register's own
    // booking is dated when it imported the manifest, which may be later.
    let steps: Vec<&str> = record
        .view
        .steps
        .iter()
        .map(|s| s.step.as_str())
        .filter(|s| *s != "booked")
        .collect();
    assert_eq!(steps, ["collected", "received", "reconciled"]);
    assert_eq!(record.view.steps[1].actor, "Gail");
    assert_eq!(record.view.steps[1].station, "goods-in");
    let withdrawn = record
        .missing
        .iter()
        .find(|m| m.asset_tag == "A-3")
        .and_then(|m| m.resolution.clone())
        .expect("A-3 resolved");
    assert_eq!(withdrawn.reason, Reason::Withdrawn);
    assert_eq!(record.view.unaccounted, 1, "A-2 is still unaccounted for");
    // Closing at the station reaches the central register at once.
    station.close_collection("COL-1", &desk).expect("close");
    assert_eq!(send(&mut central, &mut station), [EventReceipt::Applied]);
    assert_eq!(
        central.custody("COL-1").expect("custody").view.state,
        CollectionState::Closed
    );
    let audit = central.audit().expect("audit");
    assert!(audit.ok, "{:?}", audit.problems);
}
