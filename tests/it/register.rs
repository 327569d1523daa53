//! The asset register: intake, lifecycle on certificates, the review list, destruction, the
//! custody log, reports and labels; and the central register over HTTP on 127.0.0.1 with
//! offline stations, retries, crashes and concurrent stations.

use serde_json::Value;

use crate::support::*;

on_each_backend!(
    intake_reads_bom_crlf_and_quoted_commas,
    a_rejected_manifest_changes_nothing_and_names_the_line,
    snipeit_and_glpi_exports_import_with_a_profile_or_a_map,
    a_manifest_with_control_characters_in_a_tag_is_refused,
    signed_inputs_are_checked_and_a_finished_assets_drive_is_not_wiped,
    pass_retires_fail_marks_failed_and_two_drives_retire_only_together,
    an_unknown_asset_tag_stops_the_wipe_and_an_unmatched_drive_is_kept_for_review,
    destruction_is_recorded_and_the_event_chain_detects_an_edited_row,
    report_and_labels,
    an_offline_station_syncs_later_and_the_central_register_retires_its_assets,
    the_same_certificate_sent_twice_is_stored_once,
    a_station_never_enrolled_is_refused_and_changes_nothing,
    killing_the_server_mid_sync_loses_and_duplicates_nothing,
    two_stations_syncing_at_once_both_land,
    a_different_certificate_under_a_known_id_is_a_conflict_and_the_real_station_says_so,
    a_station_is_who_it_was_enrolled_as_and_revocation_stops_only_later_certificates,
    reads_need_a_token,
    half_sent_requests_are_cut_off,
    certificates_and_custody_events_reach_the_central_register_whatever_the_order,
    an_edited_state_or_a_missing_certificate_fails_the_audit_and_no_report_is_signed,
);

pub(crate) const MANIFEST: &str = "\u{feff}asset_tag,serial,type,make,model,customer_ref,location,media_serials\r\n\
ACME-1,LAP-1,laptop,Lenovo,\"ThinkPad T14, Gen 2\",PO-1,\"Leeds, floor 2\",\r\n\
ACME-2,SRV-2,server,Dell,R640,PO-1,Leeds,SRV2-D1;SRV2-D2\r\n\
ACME-3,LAP-3,laptop,HP,EliteBook,PO-2,York,\r\n";

pub(crate) fn asset(home: &Home, tag: &str) -> Value {
    let (code, v) = home.json(&["assets", "show", tag, "--json"]);
    assert_eq!(code, 0, "{v}");
    v
}

pub(crate) fn wipe(home: &Home, path: &std::path::Path, extra: &[&str]) -> (i32, Value) {
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

fn intake_reads_bom_crlf_and_quoted_commas(backend: Backend) {
    let home = Home::on(backend);
    let out = import_manifest(&home, MANIFEST, "Acme Insurance", "COL-1");
    assert!(out.status.success(), "{}", stderr(&out));
    let (code, list) = home.json(&["assets", "list", "--collection", "COL-1", "--json"]);
    assert_eq!(code, 0);
    let assets = list["assets"].as_array().unwrap();
    assert_eq!(assets.len(), 3);
    assert_eq!(assets[0]["asset_tag"], "ACME-1");
    assert_eq!(assets[0]["model"], "ThinkPad T14, Gen 2");
    assert_eq!(assets[0]["state"], "expected", "booked, not received yet");
    let a = asset(&home, "ACME-1");
    assert_eq!(a["extra"]["location"], "Leeds, floor 2");
    assert_eq!(a["customer"], "Acme Insurance");
    assert_eq!(a["events"][0]["kind"], "booked");
    assert_eq!(asset(&home, "ACME-2")["media"].as_array().unwrap().len(), 2);
}

fn a_rejected_manifest_changes_nothing_and_names_the_line(backend: Backend) {
    let home = Home::on(backend);
    let bad = "asset_tag,serial\nX-1,S1\nX-2,\nX-1,S3\n";
    let out = import_manifest(&home, bad, "Acme Insurance", "COL-9");
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
    assert!(
        import_manifest(&home, MANIFEST, "Acme Insurance", "COL-1")
            .status
            .success()
    );
    let second = "asset_tag,serial\nNEW-1,N1\nACME-2,N2\n";
    let out = import_manifest(&home, second, "Acme Insurance", "COL-2");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("line 3, column asset_tag: asset_tag ACME-2 is already in the register (collection COL-1)"), "{}", stderr(&out));
    let (_, list) = home.json(&["assets", "list", "--json"]);
    assert_eq!(
        list["assets"].as_array().unwrap().len(),
        3,
        "NEW-1 was not imported"
    );
}

fn snipeit_and_glpi_exports_import_with_a_profile_or_a_map(backend: Backend) {
    let home = Home::on(backend);
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

fn a_manifest_with_control_characters_in_a_tag_is_refused(backend: Backend) {
    let home = Home::on(backend);
    let out = import_manifest(
        &home,
        "asset_tag,serial\nA-1,S1\nA\u{1b}[2J-2,S2\n",
        "Acme Insurance",
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

fn signed_inputs_are_checked_and_a_finished_assets_drive_is_not_wiped(backend: Backend) {
    let home = Home::on(backend);
    assert!(
        import_manifest(&home, MANIFEST, "Acme Insurance", "COL-1")
            .status
            .success()
    );
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
    let (code, v) = wipe(&home, &d2_path, &[]);
    assert_eq!(code, 0);
    assert_eq!(asset(&home, "ACME-2")["state"], "retired");
    let first: serde_json::Value = serde_json::from_slice(
        &std::fs::read(only_drive(&v)["certificate_json"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert!(
        first["record"]["sanitization"].get("rewipe").is_none(),
        "{first}"
    );
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
    // The certificate says it is a rewipe, and of what; an ordinary wipe's says nothing.
    assert_eq!(
        cert["record"]["sanitization"]["rewipe"]["asset_state"], "retired",
        "{cert}"
    );
    let _ = std::fs::remove_file(&d1_path);
    let _ = std::fs::remove_file(&d2_path);
}

fn pass_retires_fail_marks_failed_and_two_drives_retire_only_together(backend: Backend) {
    let home = Home::on(backend);
    assert!(
        import_manifest(&home, MANIFEST, "Acme Insurance", "COL-1")
            .status
            .success()
    );
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

fn an_unknown_asset_tag_stops_the_wipe_and_an_unmatched_drive_is_kept_for_review(backend: Backend) {
    let home = Home::on(backend);
    assert!(
        import_manifest(&home, MANIFEST, "Acme Insurance", "COL-1")
            .status
            .success()
    );
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

fn destruction_is_recorded_and_the_event_chain_detects_an_edited_row(backend: Backend) {
    let home = Home::on(backend);
    assert!(
        import_manifest(&home, MANIFEST, "Acme Insurance", "COL-1")
            .status
            .success()
    );
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
    home.sql_execute(
        "UPDATE events SET detail = replace(detail, 'B. Jones', 'Nobody') WHERE kind = 'destroyed'",
    );
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
    home.sql_execute("DELETE FROM events WHERE seq = (SELECT MAX(seq) FROM events)");
    let (code, audit) = home.json(&["assets", "audit", "--json"]);
    assert_eq!(code, 1);
    assert!(audit["problems"].to_string().contains("removed"), "{audit}");
}

fn report_and_labels(backend: Backend) {
    let home = Home::on(backend);
    // ACME-4 is a laptop the station runs on (the saved QEMU laptop's tables): its two drives
    // are wiped and it gets a computer certificate.
    let manifest = format!("{MANIFEST}ACME-4,5CG1234XYZ,laptop,HP,EliteBook 840 G8,PO-2,York,\r\n");
    assert!(
        import_manifest(&home, &manifest, "Acme Insurance", "COL-1")
            .status
            .success()
    );
    let disk = ShmFile::with_pattern("rep", 4 << 20);
    assert_eq!(wipe(&home, &disk.path, &["--asset", "ACME-1"]).0, 0);
    let t = crate::station::token("rep");
    let plugs = [
        crate::station::Plug::new(&t, "a", 8 << 20),
        crate::station::Plug::new(&t, "b", 8 << 20),
    ];
    let events = crate::computer::run_station(&home, &format!("*{t}*"), "true");
    let computer = events
        .iter()
        .find(|v| v["event"] == "computer_certified")
        .unwrap_or_else(|| panic!("no computer certificate: {events:#?}"));
    assert_eq!(computer["asset_tag"], "ACME-4", "{computer}");
    let computer_id = computer["certificate_id"].as_str().unwrap().to_string();
    let drive_ids: Vec<(String, String)> = plugs
        .iter()
        .map(|p| {
            let certified = events
                .iter()
                .find(|v| v["drive"] == p.path().as_str() && v["event"] == "certified")
                .unwrap_or_else(|| panic!("{} not certified: {events:#?}", p.path()));
            let json = certified["certificate_json"].as_str().unwrap();
            let cert: Value =
                serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
            (
                cert["record"]["media"]["serial"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                cert["record"]["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
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
    let (code, v) = home.json(&[
        "report",
        "COL-1",
        "--json",
        "--set",
        "organisation.address=1 Example Road, Exampletown",
    ]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["summary"]["assets"], 4);
    assert_eq!(v["summary"]["by_state"]["retired"], 2);
    let pdf = v["pdf"].as_str().unwrap();
    let text = std::process::Command::new("pdftotext")
        .args([pdf, "-"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("ACME-1") && text.contains("PASS"), "{text}");
    // Layout 2: the asset's make and model, the day each drive was wiped, and how, by whom
    // witnessed and when an asset was destroyed.
    let signed: Value =
        serde_json::from_slice(&std::fs::read(v["json"].as_str().unwrap()).unwrap()).unwrap();
    let report = &signed["report"];
    assert_eq!(report["layout"], 2, "{report}");
    let wiped = &report["lines"][0];
    assert_eq!(wiped["asset_tag"], "ACME-1");
    assert_eq!(wiped["make"], "Lenovo");
    assert_eq!(wiped["model"], "ThinkPad T14, Gen 2");
    assert_eq!(wiped["drive_model"], "Disk image file");
    let day = wiped["wiped_at"].as_str().unwrap()[..10].to_string();
    let destroyed = &report["custody"]["destroyed"][0];
    assert_eq!(destroyed["asset_tag"], "ACME-3");
    assert_eq!(destroyed["method"], "shredded");
    assert_eq!(destroyed["witness"], "B. Jones");
    // Destroyed (or wiped) under the recycler's hands, an asset goods-in never scanned was
    // evidently received; only ACME-2 is missing.
    let missing: Vec<&str> = report["custody"]["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["asset_tag"].as_str().unwrap())
        .collect();
    assert_eq!(missing, ["ACME-2"], "{report}");
    // The laptop, with its computer certificate and the drives it lists.
    let computers = report["computers"].as_array().expect("computers listed");
    assert_eq!(computers.len(), 1, "{report:#}");
    let c = &computers[0];
    assert_eq!(c["asset_tag"], "ACME-4");
    assert_eq!(c["manufacturer"], "HP");
    assert_eq!(c["serial"], "5CG1234XYZ");
    assert_eq!(c["chassis_asset_tag"], "ACME-LT-0042");
    assert_eq!(c["certificate_id"], computer_id.as_str());
    assert_eq!(c["result"], "PASS");
    let mut listed: Vec<(String, String)> = c["drives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["result"], "PASS", "{d}");
            (
                d["serial"].as_str().unwrap().to_string(),
                d["certificate_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    listed.sort();
    let mut wanted = drive_ids.clone();
    wanted.sort();
    assert_eq!(listed, wanted);
    let product = c["product"].as_str().unwrap();
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("Computers"), "{text}");
    assert!(product.starts_with("HP "), "{product}");
    assert!(
        words.contains("HP EliteBook") && !words.contains("HP HP"),
        "{product} not in {text}"
    );
    for shown in [
        "5CG1234XYZ",
        "chassis tag ACME-LT-0042",
        "drive 1",
        "drive 2",
        &computer_id[..8],
    ]
    .into_iter()
    .map(String::from)
    .chain(drive_ids.iter().map(|(_, id)| id[..8].to_string()))
    {
        assert!(text.contains(&shown), "{shown} not in the report: {text}");
    }
    for (serial, _) in &drive_ids {
        // A serial too long for its column keeps both ends.
        let (head, tail) = (&serial[..6], &serial[serial.len() - 4..]);
        assert!(
            text.lines().any(|l| l.contains(head) && l.contains(tail)),
            "{serial} not in the report: {text}"
        );
    }
    for words in [
        "Lenovo ThinkPad",
        day.as_str(),
        "Destroyed assets",
        "shredded",
        "B. Jones",
    ] {
        assert!(text.contains(words), "{words} not in the report: {text}");
    }
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
            assert!(
                names.contains(&"visible_text") && names.contains(&"pdf_structure"),
                "{names:?}"
            );
        }
    }
    // The report separates a drive's result from its asset's state, names the level and the
    // organisation's address, and has no placeholders.
    assert!(text.contains("State") && text.contains("Level"), "{text}");
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
    assert_eq!(pages.as_deref(), Some("4"), "a label per asset: {info}");
}

/// A station: its own state directory, enrolled (or not) with a central register.
pub(crate) fn station(central: &Home, name: &str, enroll: bool) -> Home {
    station_claiming(central, name, name, enroll)
}

/// A station whose `station.id` is `claims`, enrolled (or not) as `name`.
pub(crate) fn station_claiming(central: &Home, name: &str, claims: &str, enroll: bool) -> Home {
    let s = Home::new();
    assert!(s.run(&["keys", "init"]).status.success());
    set_station_id(&s, claims);
    if enroll {
        let pem = s.path().join("station.pem");
        std::fs::write(&pem, s.run(&["keys", "export"]).stdout).unwrap();
        let out = central.run(&["stations", "add", pem.to_str().unwrap(), "--name", name]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    s
}

fn central_count(central: &Home, sql: &str) -> i64 {
    central.sql_count(sql)
}

fn an_offline_station_syncs_later_and_the_central_register_retires_its_assets(backend: Backend) {
    let central = Home::on(backend);
    assert!(
        import_manifest(&central, MANIFEST, "Acme Insurance", "COL-1")
            .status
            .success()
    );
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

fn the_same_certificate_sent_twice_is_stored_once(backend: Backend) {
    let central = Home::on(backend);
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

fn a_station_never_enrolled_is_refused_and_changes_nothing(backend: Backend) {
    let central = Home::on(backend);
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

/// A proxy on 127.0.0.1 in front of `url` (`http://127.0.0.1:PORT`) that waits 150 ms before
/// passing on each piece a client sends, and returns its own URL. Its threads end with their
/// connections; the listener's thread lives as long as the test process.
fn slow_proxy(url: &str) -> String {
    use std::io::{Read, Write};
    use std::net::{Shutdown, TcpListener, TcpStream};
    let target = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { break };
            let Ok(server) = TcpStream::connect(&target) else {
                continue;
            };
            let (mut from_client, mut to_server) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 1 << 16];
                loop {
                    match from_client.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            std::thread::sleep(std::time::Duration::from_millis(150));
                            if to_server.write_all(&buf[..n]).is_err() {
                                break;
                            }
                        }
                    }
                }
                let _ = to_server.shutdown(Shutdown::Write);
            });
            let (mut from_server, mut to_client) = (server, client);
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut from_server, &mut to_client);
                let _ = to_client.shutdown(Shutdown::Both);
            });
        }
    });
    format!("http://{addr}")
}

fn killing_the_server_mid_sync_loses_and_duplicates_nothing(backend: Backend) {
    const TOTAL: usize = 12;
    let central = Home::on(backend);
    // Twelve assets, each with the drive the station wipes (images named by serial), so that
    // every certificate also retires an asset: a custody event and a state change apiece.
    let mut manifest = String::from("asset_tag,serial\n");
    for i in 0..TOTAL {
        manifest.push_str(&format!("KILL-{i},KSER-{i}\n"));
    }
    let out = import_manifest(&central, &manifest, "Acme Insurance", "COL-K");
    assert!(out.status.success(), "{}", stderr(&out));
    let bay = station(&central, "bay-1", true);
    let dir = tempfile::tempdir_in("/dev/shm").unwrap();
    let paths: Vec<String> = (0..TOTAL)
        .map(|i| {
            let disk = dir.path().join(format!("KSER-{i}.img"));
            write_pattern(&disk, 1 << 20);
            disk.to_str().unwrap().to_string()
        })
        .collect();
    let mut args = vec!["wipe", "--method", "zero", "--yes"];
    args.extend(paths.iter().map(String::as_str));
    assert!(bay.run(&args).status.success());
    let mut server = Server::start(&central);
    // Each request reaches the server through a proxy that holds it back a little, so the
    // sync of twelve certificates lasts long enough for the kill to land in the middle of it
    // whatever the backend's speed.
    let url = slow_proxy(&server.url);
    let sync = std::thread::spawn({
        let cmd = bay.command(&["sync", "--register", &url, "--json"]);
        move || {
            let mut cmd = cmd;
            cmd.output().unwrap()
        }
    });
    // Crash the server as soon as the first certificate has landed.
    let started = std::time::Instant::now();
    while central_count(&central, "SELECT COUNT(*) FROM certificates") == 0 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "no certificate landed within 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    server.kill();
    let stored = central_count(&central, "SELECT COUNT(*) FROM certificates");
    assert!(
        (1..TOTAL as i64).contains(&stored),
        "the kill did not land mid-sync: {stored} of {TOTAL} stored"
    );
    let first = sync.join().unwrap();
    assert_eq!(
        first.status.code(),
        Some(1),
        "unsent certificates must fail the sync: {}",
        String::from_utf8_lossy(&first.stdout)
    );
    // The station also lost its record of what was acknowledged (as if it crashed too): the
    // next sync sends every certificate again, the stored ones included.
    assert_eq!(
        bay.sql_execute("UPDATE outbox SET sent_at = NULL"),
        TOTAL as u64
    );
    // The server comes back (same register); the station syncs again.
    let server = Server::start(&central);
    let (code, v) = bay.json(&["sync", "--register", &server.url, "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(
        v["already"].as_array().unwrap().len(),
        stored as usize,
        "{v}"
    );
    assert_eq!(
        central_count(&central, "SELECT COUNT(*) FROM certificates"),
        TOTAL as i64
    );
    // Nothing twice where a retry could add a row: one custody event per certificate, one
    // state change per asset (to retired), one medium per asset.
    let logged: Vec<String> = central
        .sql_column("SELECT detail FROM events WHERE kind = 'certificate'")
        .iter()
        .map(|d| {
            let d: Value = serde_json::from_str(d).unwrap();
            d["certificate_id"].as_str().unwrap().to_string()
        })
        .collect();
    let distinct: std::collections::BTreeSet<_> = logged.iter().collect();
    assert_eq!((logged.len(), distinct.len()), (TOTAL, TOTAL), "{logged:?}");
    let changed = central.sql_column("SELECT asset_tag FROM events WHERE kind = 'state'");
    let distinct: std::collections::BTreeSet<_> = changed.iter().collect();
    assert_eq!(
        (changed.len(), distinct.len()),
        (TOTAL, TOTAL),
        "{changed:?}"
    );
    assert_eq!(
        central_count(
            &central,
            "SELECT COUNT(*) FROM assets WHERE state = 'retired'"
        ),
        TOTAL as i64
    );
    assert_eq!(
        central_count(&central, "SELECT COUNT(*) FROM media"),
        TOTAL as i64
    );
    let (code, audit) = central.json(&["assets", "audit", "--json"]);
    assert_eq!(code, 0, "{audit}");
}

fn two_stations_syncing_at_once_both_land(backend: Backend) {
    let central = Home::on(backend);
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

/// A disk image in /dev/shm whose name (so its serial) is `serial`; removed with its directory.
pub(crate) fn disk_named(dir: &tempfile::TempDir, serial: &str) -> std::path::PathBuf {
    let p = dir.path().join(format!("{serial}.img"));
    write_pattern(&p, 1 << 20);
    p
}

/// POSTs `body` as JSON to `path` on the register at `url`: the status and the answer.
pub(crate) fn post(url: &str, path: &str, body: &[u8]) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent
        .post(&format!("{url}{path}"))
        .header("Content-Type", "application/json")
        .send(body)
        .unwrap();
    let status = r.status().as_u16();
    (status, r.body_mut().read_to_string().unwrap_or_default())
}

fn get(url: &str, path: &str, token: Option<&str>) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut req = agent.get(&format!("{url}{path}"));
    if let Some(t) = token {
        req = req.header("Authorization", &format!("Bearer {t}"));
    }
    let mut r = req.call().unwrap();
    let status = r.status().as_u16();
    let body = r.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn a_different_certificate_under_a_known_id_is_a_conflict_and_the_real_station_says_so(
    backend: Backend,
) {
    use base64::Engine;
    use wipeproof::certificate::issue::{SignatureBlock, SignedCertificate};
    use wipeproof::certificate::keys::StationKey;

    let central = Home::on(backend);
    let bay1 = station(&central, "bay-1", true);
    let bay4 = station(&central, "bay-4", true);
    let disk = ShmFile::with_pattern("squat", 1 << 20);
    let (code, v) = wipe(&bay1, &disk.path, &[]);
    assert_eq!(code, 0, "{v}");
    let real = std::fs::read(only_drive(&v)["certificate_json"].as_str().unwrap()).unwrap();
    let real_id = only_drive(&v)["certificate_id"]
        .as_str()
        .unwrap()
        .to_string();

    // bay-4, enrolled and honest about its own name, signs a certificate of its own under the
    // id of bay-1's certificate, before bay-1 has synced.
    let key = StationKey::load(&bay4.path().join("keys")).unwrap();
    let mut forged: SignedCertificate = serde_json::from_slice(&real).unwrap();
    forged.record.key_id = key.key_id();
    forged.record.performed_by.station_id = "bay-4".into();
    forged.record.media.serial = Some("SOMETHING-ELSE".into());
    let canonical = forged.record.canonical_bytes().unwrap();
    forged.signature = SignatureBlock {
        algorithm: "Ed25519".into(),
        key_id: key.key_id(),
        value: base64::engine::general_purpose::STANDARD.encode(key.sign(&canonical).to_bytes()),
        record_sha256: forged.record.sha256().unwrap(),
    };
    let mut forged_doc = serde_json::to_vec_pretty(&forged).unwrap();
    forged_doc.push(b'\n');
    let server = Server::start(&central);
    let (status, body) = post(&server.url, "/api/v1/certificates", &forged_doc);
    assert_eq!(status, 201, "{body}");

    // The genuine certificate is not "already there": it is a conflict, named.
    let (status, body) = post(&server.url, "/api/v1/certificates", &real);
    assert_eq!(status, 409, "{body}");
    let out = bay1.run(&["sync", "--register", &server.url, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("CONFLICT") && err.contains(&real_id), "{err}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["already"].as_array().unwrap().is_empty(), "{report}");
    assert_eq!(report["conflicts"][0][0], real_id.as_str());
    // It stays pending: the next sync says so again.
    let out = bay1.run(&["sync", "--register", &server.url]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("CONFLICT"), "{}", stderr(&out));
    assert_eq!(
        central_count(&central, "SELECT COUNT(*) FROM certificates"),
        1
    );
    // Sending the same certificate twice is still fine.
    assert_eq!(
        post(&server.url, "/api/v1/certificates", &forged_doc).0,
        200
    );
}

fn a_station_is_who_it_was_enrolled_as_and_revocation_stops_only_later_certificates(
    backend: Backend,
) {
    let central = Home::on(backend);
    assert!(
        import_manifest(&central, MANIFEST, "Acme Insurance", "COL-1")
            .status
            .success()
    );
    // Enrolled as bay-4, it claims to be bay-1 in its records.
    let liar = station_claiming(&central, "bay-4", "bay-1", true);
    let disk = ShmFile::with_pattern("liar", 1 << 20);
    assert_eq!(wipe(&liar, &disk.path, &[]).0, 0);
    let server = Server::start(&central);
    let out = liar.run(&["sync", "--register", &server.url]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("enrolled here as bay-4"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        central_count(&central, "SELECT COUNT(*) FROM certificates"),
        0
    );

    // Enrolling the same key again under another name is refused; the name stays.
    let pem = liar.path().join("station.pem");
    let out = central.run(&["stations", "add", pem.to_str().unwrap(), "--name", "bay-1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("already enrolled as station bay-4"),
        "{}",
        stderr(&out)
    );
    let (_, st) = central.json(&["stations", "list", "--json"]);
    assert_eq!(st["stations"][0]["name"], "bay-4");
    // A station with no certificates here can be removed.
    let out = central.run(&["stations", "remove", "bay-4"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (_, st) = central.json(&["stations", "list", "--json"]);
    assert!(st["stations"].as_array().unwrap().is_empty(), "{st}");

    // bay-2 syncs a certificate, is revoked, then wipes again.
    let bay2 = station(&central, "bay-2", true);
    let dir = tempfile::tempdir_in("/dev/shm").unwrap();
    assert_eq!(wipe(&bay2, &disk_named(&dir, "LAP-1"), &[]).0, 0);
    let (code, v) = bay2.json(&["sync", "--register", &server.url, "--json"]);
    assert_eq!(code, 0, "{v}");
    let out = central.run(&["stations", "revoke", "bay-2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Revocation is after the first certificate's second; the next one is signed later.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(wipe(&bay2, &disk_named(&dir, "LAP-3"), &[]).0, 0);
    let out = bay2.run(&["sync", "--register", &server.url]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("revoked"), "{}", stderr(&out));
    assert_eq!(
        central_count(&central, "SELECT COUNT(*) FROM certificates"),
        1
    );
    // The earlier certificate stays, and says why it is still valid.
    let a = asset(&central, "ACME-1");
    assert_eq!(a["state"], "retired");
    let c = &a["certificates"][0];
    assert_eq!(c["enrolled_as"], "bay-2");
    assert!(c["station_revoked_at"].is_string(), "{c}");
    assert!(c["note"].as_str().unwrap().contains("stays valid"), "{c}");
    let token = stdout(&central.run(&["tokens", "add", "auditor"]));
    let (status, api) = get(&server.url, "/api/v1/assets/ACME-1", Some(token.trim()));
    assert_eq!(status, 200);
    assert_eq!(api["certificates"][0]["note"], c["note"]);
    // A revoked station with certificates cannot be removed (its certificates need its key).
    let out = central.run(&["stations", "remove", "bay-2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("revoke"), "{}", stderr(&out));
}

/// Reads from `stream` until the server closes it; the time that took, or `None` if it was
/// still open after `limit`.
fn time_until_closed(
    stream: &mut std::net::TcpStream,
    limit: std::time::Duration,
) -> (Option<std::time::Duration>, String) {
    use std::io::Read;
    let start = std::time::Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while start.elapsed() < limit {
        stream
            .set_read_timeout(Some(
                limit
                    .saturating_sub(start.elapsed())
                    .max(std::time::Duration::from_millis(10)),
            ))
            .unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return (Some(start.elapsed()), String::from_utf8_lossy(&seen).into()),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return (Some(start.elapsed()), String::from_utf8_lossy(&seen).into()),
        }
    }
    (None, String::from_utf8_lossy(&seen).into())
}

fn reads_need_a_token(backend: Backend) {
    let central = Home::on(backend);
    assert!(
        import_manifest(&central, MANIFEST, "Acme Insurance", "COL-1")
            .status
            .success()
    );
    let server = Server::start(&central);
    for path in [
        "/api/v1/assets",
        "/api/v1/assets/ACME-1",
        "/api/v1/unmatched",
        "/api/v1/stations",
    ] {
        let (status, body) = get(&server.url, path, None);
        assert_eq!(status, 401, "{path} without a token: {body}");
        assert_eq!(get(&server.url, path, Some("wpt_guess")).0, 401, "{path}");
    }
    assert_eq!(get(&server.url, "/api/v1/health", None).0, 200);

    let out = central.run(&["tokens", "add", "auditor"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let token = stdout(&out).trim().to_string();
    assert!(token.len() >= 32, "{token}");
    let (status, list) = get(&server.url, "/api/v1/assets", Some(&token));
    assert_eq!(status, 200);
    assert_eq!(list["assets"].as_array().unwrap().len(), 3);
    for path in [
        "/api/v1/assets/ACME-1",
        "/api/v1/unmatched",
        "/api/v1/stations",
    ] {
        assert_eq!(get(&server.url, path, Some(&token)).0, 200, "{path}");
    }
    // Only the token's hash is kept.
    let stored = central.sql_texts("SELECT name, sha256 FROM api_tokens");
    use sha2::Digest;
    assert_eq!(
        stored,
        [
            "auditor".to_string(),
            hex::encode(sha2::Sha256::digest(token.as_bytes()))
        ]
    );
    if backend == Backend::Sqlite {
        let raw = std::fs::read(central.path().join("register.sqlite")).unwrap();
        assert!(
            !raw.windows(token.len()).any(|w| w == token.as_bytes()),
            "the token itself is stored"
        );
    }
    let (_, tokens) = central.json(&["tokens", "list", "--json"]);
    assert_eq!(tokens["tokens"][0]["name"], "auditor");
    assert!(
        central
            .run(&["tokens", "remove", "auditor"])
            .status
            .success()
    );
    assert_eq!(get(&server.url, "/api/v1/assets", Some(&token)).0, 401);
}

fn half_sent_requests_are_cut_off(backend: Backend) {
    use std::io::Write;
    use std::time::Duration;

    let central = Home::on(backend);
    let server = Server::start_with(&central, &["--read-timeout", "1"]);
    let addr = server.url.trim_start_matches("http://").to_string();
    // Connected, then silence: closed after the read timeout.
    let mut silent = std::net::TcpStream::connect(&addr).unwrap();
    let (closed, _) = time_until_closed(&mut silent, Duration::from_secs(5));
    let closed = closed.expect("a silent client must not keep the connection open");
    assert!(closed < Duration::from_secs(4), "closed after {closed:?}");

    // Half a request head, then silence: the server hangs up after its 1 s read timeout.
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let (closed, _) = time_until_closed(&mut slow, Duration::from_secs(5));
    let closed = closed.expect("a half-sent head must not keep the connection open");
    assert!(closed < Duration::from_secs(4), "closed after {closed:?}");
    // A whole head but half the body it announced: cut off too.
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.write_all(
        b"POST /api/v1/certificates HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"record\":",
    )
    .unwrap();
    let (closed, seen) = time_until_closed(&mut slow, Duration::from_secs(5));
    let closed = closed.expect("a half-sent body must not keep the connection open");
    assert!(closed < Duration::from_secs(4), "closed after {closed:?}");
    assert!(seen.starts_with("HTTP/1.1 408"), "{seen}");
    // The server still serves everyone else.
    assert_eq!(get(&server.url, "/api/v1/health", None).0, 200);
}

fn certificates_and_custody_events_reach_the_central_register_whatever_the_order(backend: Backend) {
    let central = Home::on(backend);
    let bay = station(&central, "bay-1", true);
    // The station books the collection in; the central register has not yet.
    assert!(
        import_manifest(&bay, MANIFEST, "Acme Insurance", "COL-1")
            .status
            .success()
    );
    let dir = tempfile::tempdir_in("/dev/shm").unwrap();
    // LAP-1 is ACME-1's drive; ODD-7 matches nothing and needs a person.
    assert_eq!(wipe(&bay, &disk_named(&dir, "LAP-1"), &[]).0, 0);
    let (code, v) = wipe(&bay, &disk_named(&dir, "ODD-7"), &[]);
    assert_eq!(code, 0);
    let odd = only_drive(&v)["certificate_json"]
        .as_str()
        .unwrap()
        .to_string();
    let odd_id = only_drive(&v)["certificate_id"]
        .as_str()
        .unwrap()
        .to_string();
    // By file or by id: the person links ODD-7's certificate to ACME-3.
    let out = bay.run(&["assets", "link", &odd, "ACME-3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(asset(&bay, "ACME-3")["state"], "retired");
    let a3 = asset(&bay, "ACME-3");
    assert_eq!(a3["certificates"][0]["matched_by"], "person");
    assert!(
        a3["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "linked" && e["detail"]["certificate_id"] == odd_id.as_str())
    );
    let out = bay.run(&["assets", "link", &odd_id, "ACME-2"]);
    assert_eq!(out.status.code(), Some(2), "one certificate, one asset");
    let out = bay.run(&[
        "assets",
        "destroy",
        "ACME-2",
        "--method",
        "shredded",
        "--witness",
        "B. Jones",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));

    // Everything reaches the central register before its assets do.
    let server = Server::start(&central);
    let (code, v) = bay.json(&["sync", "--register", &server.url, "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["sent"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(v["events_sent"].as_array().unwrap().len(), 2, "{v}");
    let (_, u) = central.json(&["assets", "unmatched", "--json"]);
    assert_eq!(u["unmatched"].as_array().unwrap().len(), 2, "{u}");

    // The collection is imported centrally: the waiting certificates and events find their
    // assets, and the central register says what the station says.
    assert!(
        import_manifest(&central, MANIFEST, "Acme Insurance", "COL-1")
            .status
            .success()
    );
    for tag in ["ACME-1", "ACME-2", "ACME-3"] {
        assert_eq!(
            asset(&central, tag)["state"],
            asset(&bay, tag)["state"],
            "{tag}"
        );
    }
    assert_eq!(asset(&central, "ACME-1")["state"], "retired");
    assert_eq!(asset(&central, "ACME-2")["state"], "destroyed");
    assert_eq!(asset(&central, "ACME-3")["state"], "retired");
    let a2 = asset(&central, "ACME-2");
    let destroyed = a2["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "destroyed")
        .cloned()
        .unwrap();
    assert_eq!(destroyed["detail"]["witness"], "B. Jones");
    assert_eq!(destroyed["station"], "bay-1");
    let (_, u) = central.json(&["assets", "unmatched", "--json"]);
    assert!(u["unmatched"].as_array().unwrap().is_empty(), "{u}");
    let (code, audit) = central.json(&["assets", "audit", "--json"]);
    assert_eq!(code, 0, "{audit}");

    // Nothing is left to send, and nothing is stored twice.
    let (code, v) = bay.json(&["sync", "--register", &server.url, "--json"]);
    assert_eq!(code, 0, "{v}");
    assert!(
        v["sent"].as_array().unwrap().is_empty() && v["events_sent"].as_array().unwrap().is_empty()
    );
    assert_eq!(
        central_count(&central, "SELECT COUNT(*) FROM station_events"),
        2
    );
    // An event destroyed later, when the asset is already central, applies at once.
    let out = bay.run(&[
        "assets",
        "destroy",
        "ACME-1",
        "--method",
        "punched",
        "--witness",
        "C. Lee",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let (code, v) = bay.json(&["sync", "--register", &server.url, "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(asset(&central, "ACME-1")["state"], "destroyed");
}

fn an_edited_state_or_a_missing_certificate_fails_the_audit_and_no_report_is_signed(
    backend: Backend,
) {
    let home = Home::on(backend);
    assert!(
        import_manifest(&home, MANIFEST, "Acme Insurance", "COL-1")
            .status
            .success()
    );
    let dir = tempfile::tempdir_in("/dev/shm").unwrap();
    for serial in ["LAP-1", "X-1", "X-2"] {
        assert_eq!(wipe(&home, &disk_named(&dir, serial), &[]).0, 0);
    }
    let (code, audit) = home.json(&["assets", "audit", "--json"]);
    assert_eq!(code, 0, "{audit}");
    assert_eq!(audit["certificates"], 3);

    // ACME-3 was never wiped; someone marks it retired in the database.
    home.sql_execute("UPDATE assets SET state = 'retired' WHERE tag = 'ACME-3'");
    let (code, audit) = home.json(&["assets", "audit", "--json"]);
    assert_eq!(code, 1, "{audit}");
    assert!(
        audit["problems"].to_string().contains("asset ACME-3"),
        "{audit}"
    );
    assert_eq!(audit["problem_assets"], serde_json::json!(["ACME-3"]));
    let reports = home.path().join("reports");
    let out = home.run(&["report", "COL-1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("not signed") && stderr(&out).contains("ACME-3"),
        "{}",
        stderr(&out)
    );
    let written = std::fs::read_dir(&reports).map(|d| d.count()).unwrap_or(0);
    assert_eq!(written, 0, "no report may be written");

    // Put it back: the audit passes again. Then remove the middle certificate of the chain.
    home.sql_execute("UPDATE assets SET state = 'expected' WHERE tag = 'ACME-3'");
    assert_eq!(home.json(&["assets", "audit", "--json"]).0, 0);
    let middle = home
        .sql_texts("SELECT id FROM certificates WHERE serial = 'X-1'")
        .remove(0);
    home.sql_execute(&format!(
        "DELETE FROM outbox WHERE certificate_id = '{middle}'"
    ));
    home.sql_execute(&format!("DELETE FROM certificates WHERE id = '{middle}'"));
    let (code, audit) = home.json(&["assets", "audit", "--json"]);
    assert_eq!(code, 1, "{audit}");
    assert!(
        audit["problems"].to_string().contains(&middle)
            && audit["problems"].to_string().contains("missing"),
        "{audit}"
    );
}

#[test]
fn register_commands_act_on_the_database_they_are_given() {
    let home = Home::new();
    let elsewhere = tempfile::tempdir_in("/dev/shm").unwrap();
    let file = elsewhere.path().join("central.sqlite");
    let url = format!("sqlite:{}", file.display());
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(dir.path(), "manifest.csv", MANIFEST);
    let out = home.run(&[
        "intake",
        "import",
        m.to_str().unwrap(),
        "--customer",
        "Acme Insurance",
        "--collection",
        "COL-1",
        "--database",
        &url,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(file.is_file());
    let (code, v) = home.json(&["assets", "list", "--json", "--database", &url]);
    assert_eq!(code, 0);
    assert_eq!(v["assets"].as_array().unwrap().len(), 3);
    let (_, v) = home.json(&["assets", "list", "--json"]);
    assert!(v["assets"].as_array().unwrap().is_empty(), "{v}");
    let (code, audit) = home.json(&["assets", "audit", "--json", "--database", &url]);
    assert_eq!(code, 0, "{audit}");
    assert_eq!(audit["assets"], 3);
    // A PostgreSQL register that is not there is named, without its password.
    let out = home.run(&[
        "assets",
        "list",
        "--database",
        "postgres://clerk:s3cret@127.0.0.1:1/wipeproof",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("postgres://clerk:***@127.0.0.1:1/wipeproof")
            && err.contains("cannot connect"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "{err}");
    let out = home.run(&[
        "assets",
        "list",
        "--database",
        "mysql://db.example/wipeproof",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("sqlite:PATH or postgres://"),
        "{}",
        stderr(&out)
    );
}
