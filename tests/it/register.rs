//! The asset register: intake, lifecycle on certificates, the review list, destruction, the
//! custody log, reports and labels; and the central register over HTTP on 127.0.0.1 with
//! offline stations, retries, crashes and concurrent stations.

use serde_json::Value;

use crate::support::*;

const MANIFEST: &str = "\u{feff}asset_tag,serial,type,make,model,customer_ref,location,media_serials\r\n\
ACME-1,LAP-1,laptop,Lenovo,\"ThinkPad T14, Gen 2\",PO-1,\"Leeds, floor 2\",\r\n\
ACME-2,SRV-2,server,Dell,R640,PO-1,Leeds,SRV2-D1;SRV2-D2\r\n\
ACME-3,LAP-3,laptop,HP,EliteBook,PO-2,York,\r\n";

fn import(home: &Home, text: &str, collection: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(dir.path(), "manifest.csv", text);
    home.run(&[
        "intake",
        "import",
        m.to_str().unwrap(),
        "--customer",
        "Acme Insurance",
        "--collection",
        collection,
    ])
}

fn asset(home: &Home, tag: &str) -> Value {
    let (code, v) = home.json(&["assets", "show", tag, "--json"]);
    assert_eq!(code, 0, "{v}");
    v
}

fn wipe(home: &Home, path: &std::path::Path, extra: &[&str]) -> (i32, Value) {
    let mut args = vec![
        "wipe",
        path.to_str().unwrap(),
        "--method",
        "zero",
        "--yes",
        "--json",
    ];
    args.extend_from_slice(extra);
    home.json(&args)
}

#[test]
fn intake_reads_bom_crlf_and_quoted_commas() {
    let home = Home::new();
    let out = import(&home, MANIFEST, "COL-1");
    assert!(out.status.success(), "{}", stderr(&out));
    let (code, list) = home.json(&["assets", "list", "--collection", "COL-1", "--json"]);
    assert_eq!(code, 0);
    let assets = list["assets"].as_array().unwrap();
    assert_eq!(assets.len(), 3);
    assert_eq!(assets[0]["asset_tag"], "ACME-1");
    assert_eq!(assets[0]["model"], "ThinkPad T14, Gen 2");
    assert_eq!(assets[0]["state"], "received");
    let a = asset(&home, "ACME-1");
    assert_eq!(a["extra"]["location"], "Leeds, floor 2");
    assert_eq!(a["customer"], "Acme Insurance");
    assert_eq!(a["events"][0]["kind"], "received");
    assert_eq!(asset(&home, "ACME-2")["media"].as_array().unwrap().len(), 2);
}

#[test]
fn a_rejected_manifest_changes_nothing_and_names_the_line() {
    let home = Home::new();
    let bad = "asset_tag,serial\nX-1,S1\nX-2,\nX-1,S3\n";
    let out = import(&home, bad, "COL-9");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("line 3, column serial: serial is empty"),
        "{err}"
    );
    assert!(
        err.contains("line 4, column asset_tag: asset_tag X-1 appears again"),
        "{err}"
    );
    assert!(err.contains("nothing was imported"), "{err}");
    let out = home.run(&["assets", "list", "--collection", "COL-9"]);
    assert_eq!(out.status.code(), Some(2), "the collection does not exist");

    // A tag already in the register rejects the whole second file.
    assert!(import(&home, MANIFEST, "COL-1").status.success());
    let second = "asset_tag,serial\nNEW-1,N1\nACME-2,N2\n";
    let out = import(&home, second, "COL-2");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("line 3, column asset_tag: asset_tag ACME-2 is already in the register (collection COL-1)"), "{}", stderr(&out));
    let (_, list) = home.json(&["assets", "list", "--json"]);
    assert_eq!(
        list["assets"].as_array().unwrap().len(),
        3,
        "NEW-1 was not imported"
    );
}

#[test]
fn snipeit_and_glpi_exports_import_with_a_profile_or_a_map() {
    let home = Home::new();
    let dir = tempfile::tempdir().unwrap();
    let snipeit = manifest(
        dir.path(),
        "snipeit.csv",
        "ID,Company,Asset Name,Asset Tag,Model,Category,Manufacturer,Serial,Location\r\n\
         1,Acme,FIN-04,ACME-10,Latitude 7420,Laptops,Dell,5XK2JH3,Leeds\r\n",
    );
    let run = |path: &std::path::Path, collection: &str, extra: &[&str]| {
        let mut args = vec![
            "intake",
            "import",
            path.to_str().unwrap(),
            "--customer",
            "Acme Insurance",
            "--collection",
            collection,
        ];
        args.extend_from_slice(extra);
        home.run(&args)
    };
    // Without a profile the error names the columns it found.
    let out = run(&snipeit, "COL-S", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no `asset_tag` column; found 9 column(s) separated by commas: ID, Company, Asset Name, Asset Tag"),
        "{}",
        stderr(&out)
    );
    let out = run(&snipeit, "COL-S", &["--profile", "snipeit"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let a = asset(&home, "ACME-10");
    assert_eq!(a["serial"], "5XK2JH3");
    assert_eq!(a["type"], "Laptops");
    assert_eq!(a["make"], "Dell");
    assert_eq!(a["extra"]["location"], "Leeds");

    // GLPI exports are semicolon separated.
    let glpi = manifest(
        dir.path(),
        "glpi.csv",
        "Name;Entity;Manufacturer;Serial number;Type;Model;Inventory number\n\
         PC-0042;Root entity;HP;CZC1234XYZ;Desktop;EliteDesk 800 G4;INV-0042\n",
    );
    let out = run(&glpi, "COL-G", &["--profile", "glpi"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(asset(&home, "INV-0042")["model"], "EliteDesk 800 G4");

    // Columns named one by one; a mapped column that is not there is named.
    let own = manifest(
        dir.path(),
        "own.csv",
        "Tag\tSerial No\tKind\nOWN-1\tSN-1\tserver\n",
    );
    let out = run(
        &own,
        "COL-O",
        &[
            "--map",
            "asset_tag=Tag,serial=Serial No,type=Kind,model=Model",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no `Model` column (for model); found 3 column(s) separated by tabs: Tag, Serial No, Kind"),
        "{}",
        stderr(&out)
    );
    let out = run(
        &own,
        "COL-O",
        &["--map", "asset_tag=Tag,serial=Serial No,type=Kind"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(asset(&home, "OWN-1")["type"], "server");
    let out = run(&own, "COL-X", &["--map", "tag=Tag"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--map: `tag` is not a field"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_manifest_with_control_characters_in_a_tag_is_refused() {
    let home = Home::new();
    let out = import(
        &home,
        "asset_tag,serial\nA-1,S1\nA\u{1b}[2J-2,S2\n",
        "COL-C",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .contains("line 3, column asset_tag: asset_tag holds the control character U+001B"),
        "{}",
        stderr(&out)
    );
    assert_eq!(home.run(&["assets", "show", "A-1"]).status.code(), Some(2));
}

#[test]
fn signed_inputs_are_checked_and_a_finished_assets_drive_is_not_wiped() {
    let home = Home::new();
    assert!(import(&home, MANIFEST, "COL-1").status.success());
    let disk = ShmFile::with_pattern("finished", 4 << 20);
    let before = file_digest(&disk.path);
    let refused = |args: &[&str], says: &str| {
        let mut all = vec!["wipe", disk.path.to_str().unwrap(), "--yes"];
        all.extend_from_slice(args);
        let out = home.run(&all);
        assert_eq!(out.status.code(), Some(2), "{all:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{all:?}: {}", stderr(&out));
        assert_eq!(file_digest(&disk.path), before, "{all:?} erased the drive");
    };
    refused(
        &["--destination", "landfill"],
        "`landfill` is not a destination; use reuse, resale, recycle or destroy",
    );
    refused(&["--destination", ""], "is not a destination");
    refused(&["--operator", ""], "station.operator is empty");
    refused(&["--operator", "  "], "station.operator is empty");
    refused(
        &["--set", "defaults.destination=landfill"],
        "reuse, resale, recycle or destroy",
    );

    // A destroyed asset's drive is refused, by tag or by serial, unless --rewipe.
    assert!(
        home.run(&[
            "assets",
            "destroy",
            "ACME-1",
            "--method",
            "shredded",
            "--witness",
            "B. Jones"
        ])
        .status
        .success()
    );
    refused(
        &["--asset", "ACME-1"],
        "belongs to asset ACME-1, which the register records as destroyed",
    );
    let d1 = ShmFile::with_pattern("SRV2-D1", 4 << 20);
    let d1_path = d1.path.with_file_name("SRV2-D1.img");
    std::fs::rename(&d1.path, &d1_path).unwrap();
    let (code, _) = wipe(&home, &d1_path, &[]);
    assert_eq!(code, 0);
    let d2_path = d1_path.with_file_name("SRV2-D2.img");
    std::fs::write(&d2_path, vec![7u8; 4 << 20]).unwrap();
    let (code, _) = wipe(&home, &d2_path, &[]);
    assert_eq!(code, 0);
    assert_eq!(asset(&home, "ACME-2")["state"], "retired");
    // ACME-2 is retired: its drive (matched by serial) is not wiped again without --rewipe.
    std::fs::write(&d2_path, vec![9u8; 4 << 20]).unwrap();
    let out = home.run(&["wipe", d2_path.to_str().unwrap(), "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("belongs to asset ACME-2, which the register records as retired")
            && stderr(&out).contains("--rewipe"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(&d2_path).unwrap(), vec![9u8; 4 << 20]);
    let (code, v) = wipe(&home, &d2_path, &["--rewipe", "--destination", "recycle"]);
    assert_eq!(code, 0, "{v}");
    let cert: serde_json::Value = serde_json::from_slice(
        &std::fs::read(only_drive(&v)["certificate_json"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert_eq!(cert["record"]["destination"], "recycle");
    let _ = std::fs::remove_file(&d1_path);
    let _ = std::fs::remove_file(&d2_path);
}

#[test]
fn pass_retires_fail_marks_failed_and_two_drives_retire_only_together() {
    let home = Home::new();
    assert!(import(&home, MANIFEST, "COL-1").status.success());
    // ACME-1: one drive, named by tag.
    let disk = ShmFile::with_pattern("acme1-disk", 4 << 20);
    let (code, v) = wipe(&home, &disk.path, &["--asset", "ACME-1"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(only_drive(&v)["asset_tag"], "ACME-1");
    let a = asset(&home, "ACME-1");
    assert_eq!(a["state"], "retired");
    assert_eq!(a["certificates"].as_array().unwrap().len(), 1);
    assert!(
        a["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "state" && e["detail"]["to"] == "retired")
    );

    // ACME-2: its drives' serials are in the manifest; they are matched without a tag.
    let d1 = ShmFile::with_pattern("SRV2-D1", 4 << 20);
    let d1_path = d1.path.with_file_name("SRV2-D1.img");
    std::fs::rename(&d1.path, &d1_path).unwrap();
    let (code, v) = wipe(&home, &d1_path, &[]);
    assert_eq!(code, 0);
    assert_eq!(only_drive(&v)["asset_tag"], "ACME-2");
    assert_eq!(
        asset(&home, "ACME-2")["state"],
        "received",
        "one of two drives"
    );
    let d2_path = d1_path.with_file_name("SRV2-D2.img");
    std::fs::write(&d2_path, vec![7u8; 4 << 20]).unwrap();
    let (code, _) = wipe(&home, &d2_path, &[]);
    assert_eq!(code, 0);
    assert_eq!(asset(&home, "ACME-2")["state"], "retired");
    let _ = std::fs::remove_file(&d1_path);
    let _ = std::fs::remove_file(&d2_path);

    // ACME-3: a drive with write errors fails, and the asset is failed (it can be wiped again).
    let fs = SmallTmpfs::new("2m");
    let bad = fs.loop_dev(8 << 20);
    let (code, v) = wipe(&home, &bad.dev, &["--asset", "ACME-3"]);
    assert_eq!(code, 1, "{v}");
    assert_eq!(asset(&home, "ACME-3")["state"], "failed");
    drop(bad);
}

#[test]
fn an_unknown_asset_tag_stops_the_wipe_and_an_unmatched_drive_is_kept_for_review() {
    let home = Home::new();
    assert!(import(&home, MANIFEST, "COL-1").status.success());
    let disk = ShmFile::with_pattern("NOBODY-KNOWS", 4 << 20);
    let before = file_digest(&disk.path);
    let out = home.run(&[
        "wipe",
        disk.path.to_str().unwrap(),
        "--asset",
        "NOPE-1",
        "--yes",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no asset with tag NOPE-1"),
        "{}",
        stderr(&out)
    );
    assert_eq!(file_digest(&disk.path), before);

    let (code, _) = wipe(&home, &disk.path, &[]);
    assert_eq!(code, 0);
    let (_, v) = home.json(&["assets", "unmatched", "--json"]);
    let list = v["unmatched"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    let stem = disk.path.file_stem().unwrap().to_str().unwrap();
    assert_eq!(list[0]["serial"], stem);
}

#[test]
fn destruction_is_recorded_and_the_event_chain_detects_an_edited_row() {
    let home = Home::new();
    assert!(import(&home, MANIFEST, "COL-1").status.success());
    let out = home.run(&[
        "assets",
        "destroy",
        "ACME-3",
        "--method",
        "shredded",
        "--witness",
        "B. Jones",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let a = asset(&home, "ACME-3");
    assert_eq!(a["state"], "destroyed");
    let last = a["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["kind"], "destroyed");
    assert_eq!(last["detail"]["witness"], "B. Jones");
    assert_eq!(
        home.run(&[
            "assets",
            "destroy",
            "ACME-3",
            "--method",
            "x",
            "--witness",
            "y"
        ])
        .status
        .code(),
        Some(2)
    );

    let (code, audit) = home.json(&["assets", "audit", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(audit["ok"], true);
    // Someone edits the register behind wipeproof's back.
    let db = rusqlite::Connection::open(home.path().join("register.sqlite")).unwrap();
    db.execute(
        "UPDATE events SET detail = replace(detail, 'B. Jones', 'Nobody') WHERE kind = 'destroyed'",
        [],
    )
    .unwrap();
    drop(db);
    let (code, audit) = home.json(&["assets", "audit", "--json"]);
    assert_eq!(code, 1);
    assert!(
        audit["problems"][0]
            .as_str()
            .unwrap()
            .contains("was changed after it was written"),
        "{audit}"
    );
    // And deleting the last event is found too.
    let db = rusqlite::Connection::open(home.path().join("register.sqlite")).unwrap();
    db.execute(
        "DELETE FROM events WHERE seq = (SELECT MAX(seq) FROM events)",
        [],
    )
    .unwrap();
    drop(db);
    let (code, audit) = home.json(&["assets", "audit", "--json"]);
    assert_eq!(code, 1);
    assert!(audit["problems"].to_string().contains("removed"), "{audit}");
}

#[test]
fn report_and_labels() {
    let home = Home::new();
    assert!(import(&home, MANIFEST, "COL-1").status.success());
    let disk = ShmFile::with_pattern("rep", 4 << 20);
    assert_eq!(wipe(&home, &disk.path, &["--asset", "ACME-1"]).0, 0);
    let (code, v) = home.json(&[
        "report",
        "COL-1",
        "--json",
        "--set",
        "organisation.address=1 Example Road, Exampletown",
    ]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["summary"]["assets"], 3);
    assert_eq!(v["summary"]["by_state"]["retired"], 1);
    let pdf = v["pdf"].as_str().unwrap();
    let text = std::process::Command::new("pdftotext")
        .args([pdf, "-"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("ACME-1") && text.contains("PASS"), "{text}");
    // The report's signature checks out with openssl like a certificate's.
    let dir = tempfile::tempdir().unwrap();
    assert!(
        std::process::Command::new("pdfdetach")
            .args(["-saveall", "-o", dir.path().to_str().unwrap(), pdf])
            .status()
            .unwrap()
            .success()
    );
    let key = dir.path().join("k.pem");
    std::fs::write(&key, home.run(&["keys", "export"]).stdout).unwrap();
    let ok = std::process::Command::new("openssl")
        .args([
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            key.to_str().unwrap(),
            "-rawin",
            "-in",
        ])
        .arg(dir.path().join("report.json"))
        .arg("-sigfile")
        .arg(dir.path().join("report.sig"))
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );

    // `verify` knows a report, PDF or JSON, and runs a report's checks on it.
    let json = v["json"].as_str().unwrap();
    for file in [pdf, json] {
        let (code, verdict) = home.json(&["verify", file, "--json"]);
        assert_eq!(code, 0, "{file}: {verdict}");
        assert_eq!(verdict["valid"], true);
        let names: Vec<&str> = verdict["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"signature") && names.contains(&"summary"),
            "{names:?}"
        );
        if file == pdf {
            assert!(names.contains(&"visible_text"), "{names:?}");
        }
    }
    // The report separates a drive's result from its asset's state, names the level and the
    // organisation's address, and has no placeholders.
    assert!(
        text.contains("Asset state") && text.contains("Level"),
        "{text}"
    );
    assert!(
        text.contains("Clear") && text.contains("not wiped"),
        "{text}"
    );
    assert!(text.contains("1 Example Road"), "{text}");
    assert!(!text.contains("below") && !text.contains("none"), "{text}");
    // An edited line in the JSON, or a word changed on the page, does not verify.
    let edited = dir.path().join("edited.json");
    std::fs::write(
        &edited,
        std::fs::read_to_string(json)
            .unwrap()
            .replacen("\"PASS\"", "\"FAIL\"", 1),
    )
    .unwrap();
    let (code, verdict) = home.json(&["verify", edited.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1, "{verdict}");
    let mut bytes = std::fs::read(pdf).unwrap();
    let at = bytes
        .windows(b"Acme Insurance".len())
        .position(|w| w == b"Acme Insurance")
        .expect("the customer's name is on the page");
    bytes[at] = b'X';
    let edited = dir.path().join("edited.pdf");
    std::fs::write(&edited, &bytes).unwrap();
    let (code, verdict) = home.json(&["verify", edited.to_str().unwrap(), "--json"]);
    assert_eq!(code, 1, "{verdict}");
    assert!(verdict.to_string().contains("Xcme Insurance"), "{verdict}");

    let labels = dir.path().join("labels.pdf");
    let out = home.run(&[
        "intake",
        "labels",
        "COL-1",
        "--out",
        labels.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let info = std::process::Command::new("pdfinfo")
        .arg(&labels)
        .output()
        .unwrap();
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    let pages = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .map(|n| n.trim().to_string());
    assert_eq!(pages.as_deref(), Some("3"), "{info}");
}

/// A station: its own state directory, enrolled (or not) with a central register.
fn station(central: &Home, name: &str, enroll: bool) -> Home {
    let s = Home::new();
    assert!(s.run(&["keys", "init"]).status.success());
    if enroll {
        let pem = s.path().join("station.pem");
        std::fs::write(&pem, s.run(&["keys", "export"]).stdout).unwrap();
        let out = central.run(&["stations", "add", pem.to_str().unwrap(), "--name", name]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    s
}

fn central_count(central: &Home, sql: &str) -> i64 {
    let db = rusqlite::Connection::open(central.path().join("register.sqlite")).unwrap();
    db.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn an_offline_station_syncs_later_and_the_central_register_retires_its_assets() {
    let central = Home::new();
    assert!(import(&central, MANIFEST, "COL-1").status.success());
    let bay = station(&central, "bay-1", true);
    // Offline all day: wipes only. The image is named after the laptop's drive serial.
    let dir = tempfile::tempdir_in("/dev/shm").unwrap();
    let disk = dir.path().join("LAP-1.img");
    write_pattern(&disk, 4 << 20);
    let (code, _) = wipe(&bay, &disk, &[]);
    assert_eq!(code, 0);
    // The server comes up; the station syncs.
    let server = Server::start(&central);
    let (code, v) = bay.json(&["sync", "--register", &server.url, "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["sent"].as_array().unwrap().len(), 1);
    let (code, a) = central.json(&["assets", "show", "ACME-1", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(
        a["state"], "retired",
        "matched by the drive's serial LAP-1: {a}"
    );
    // Nothing is pending any more.
    let (code, v) = bay.json(&["sync", "--register", &server.url, "--json"]);
    assert_eq!(code, 0);
    assert!(v["sent"].as_array().unwrap().is_empty());
}

#[test]
fn the_same_certificate_sent_twice_is_stored_once() {
    let central = Home::new();
    let bay = station(&central, "bay-1", true);
    let disk = ShmFile::with_pattern("twice", 4 << 20);
    let (_, v) = wipe(&bay, &disk.path, &[]);
    let doc = std::fs::read(only_drive(&v)["certificate_json"].as_str().unwrap()).unwrap();
    let server = Server::start(&central);
    let post = || {
        ureq::post(&format!("{}/api/v1/certificates", server.url))
            .header("Content-Type", "application/json")
            .send(&doc[..])
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(post(), 201);
    assert_eq!(post(), 200);
    assert_eq!(
        central_count(&central, "SELECT COUNT(*) FROM certificates"),
        1
    );
    // The station's own outbox still has it: a sync now is told it is already there.
    let (code, v) = bay.json(&["sync", "--register", &server.url, "--json"]);
    assert_eq!(code, 0);
    assert_eq!(v["already"].as_array().unwrap().len(), 1);
    assert_eq!(
        central_count(&central, "SELECT COUNT(*) FROM certificates"),
        1
    );
}

#[test]
fn a_station_never_enrolled_is_refused_and_changes_nothing() {
    let central = Home::new();
    let stranger = station(&central, "stranger", false);
    let disk = ShmFile::with_pattern("stranger", 4 << 20);
    assert_eq!(wipe(&stranger, &disk.path, &[]).0, 0);
    let server = Server::start(&central);
    let events_before = central_count(&central, "SELECT COUNT(*) FROM events");
    let out = stranger.run(&["sync", "--register", &server.url]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is not enrolled here"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        central_count(&central, "SELECT COUNT(*) FROM certificates"),
        0
    );
    assert_eq!(
        central_count(&central, "SELECT COUNT(*) FROM events"),
        events_before
    );
}

#[test]
fn killing_the_server_mid_sync_loses_and_duplicates_nothing() {
    let central = Home::new();
    let bay = station(&central, "bay-1", true);
    let disks: Vec<ShmFile> = (0..12)
        .map(|i| ShmFile::with_pattern(&format!("k{i}"), 1 << 20))
        .collect();
    let mut args = vec!["wipe", "--method", "zero", "--yes"];
    let paths: Vec<String> = disks
        .iter()
        .map(|d| d.path.to_str().unwrap().to_string())
        .collect();
    args.extend(paths.iter().map(String::as_str));
    assert!(bay.run(&args).status.success());
    let mut server = Server::start(&central);
    let url = server.url.clone();
    let sync = std::thread::spawn({
        let cmd = bay.command(&["sync", "--register", &url, "--json"]);
        move || {
            let mut cmd = cmd;
            cmd.output().unwrap()
        }
    });
    // Let some certificates land, then crash the server.
    for _ in 0..500 {
        if central_count(&central, "SELECT COUNT(*) FROM certificates") >= 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    server.kill();
    let first = sync.join().unwrap();
    let stored = central_count(&central, "SELECT COUNT(*) FROM certificates");
    assert!(stored >= 1, "nothing landed before the crash");
    if stored < 12 {
        assert_eq!(
            first.status.code(),
            Some(1),
            "unsent certificates must fail the sync"
        );
    }
    // The server comes back (same register); the station syncs again.
    let server = Server::start(&central);
    let (code, v) = bay.json(&["sync", "--register", &server.url, "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        central_count(&central, "SELECT COUNT(*) FROM certificates"),
        12
    );
    assert_eq!(
        central_count(&central, "SELECT COUNT(DISTINCT id) FROM certificates"),
        12
    );
    let (code, audit) = central.json(&["assets", "audit", "--json"]);
    assert_eq!(code, 0, "{audit}");
}

#[test]
fn two_stations_syncing_at_once_both_land() {
    let central = Home::new();
    let a = station(&central, "bay-a", true);
    let b = station(&central, "bay-b", true);
    let disks: Vec<ShmFile> = (0..8)
        .map(|i| ShmFile::with_pattern(&format!("two{i}"), 1 << 20))
        .collect();
    for (i, d) in disks.iter().enumerate() {
        let s = if i % 2 == 0 { &a } else { &b };
        assert!(
            s.run(&[
                "wipe",
                d.path.to_str().unwrap(),
                "--method",
                "zero",
                "--yes"
            ])
            .status
            .success()
        );
    }
    let server = Server::start(&central);
    let ta = std::thread::spawn({
        let mut c = a.command(&["sync", "--register", &server.url]);
        move || c.output().unwrap()
    });
    let tb = std::thread::spawn({
        let mut c = b.command(&["sync", "--register", &server.url]);
        move || c.output().unwrap()
    });
    assert!(ta.join().unwrap().status.success());
    assert!(tb.join().unwrap().status.success());
    assert_eq!(
        central_count(&central, "SELECT COUNT(*) FROM certificates"),
        8
    );
    let (_, st) = central.json(&["stations", "list", "--json"]);
    assert_eq!(st["stations"].as_array().unwrap().len(), 2);
}
