//! A drive is bound to an asset only if nothing in the register says it belongs elsewhere: the
//! manifest's serials and earlier certificates against `wipe --asset` and `assets link`,
//! `--relink` as a custody event, and a serial coming back in a new manifest.

use serde_json::Value;

use crate::support::*;

const MANIFEST: &str = "asset_tag,serial,media_serials\nTAG-A,LAP-A,DRIVEA\nTAG-B,LAP-B,DRIVEB\n";

/// A disk image whose serial (its file name) is `serial`.
fn disk(dir: &tempfile::TempDir, serial: &str) -> std::path::PathBuf {
    let p = dir.path().join(format!("{serial}.img"));
    write_pattern(&p, 1 << 20);
    p
}

fn events_of(home: &Home, tag: &str) -> Vec<Value> {
    let (code, a) = home.json(&["assets", "show", tag, "--json"]);
    assert_eq!(code, 0, "{a}");
    a["events"].as_array().unwrap().clone()
}

#[test]
fn a_drive_the_manifest_gives_another_asset_is_not_bound_without_relink() {
    let home = Home::new();
    assert!(
        import_manifest(&home, MANIFEST, "Acme", "COL-1")
            .status
            .success()
    );
    let dir = tempfile::tempdir_in("/dev/shm").unwrap();
    let drive_a = disk(&dir, "DRIVEA");
    let before = file_digest(&drive_a);
    let wipe = |extra: &[&str]| {
        let mut args = vec![
            "wipe",
            drive_a.to_str().unwrap(),
            "--method",
            "zero",
            "--yes",
        ];
        args.extend_from_slice(extra);
        home.run(&args)
    };
    let out = wipe(&["--asset", "TAG-B"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("TAG-A") && err.contains("TAG-B") && err.contains("--relink"),
        "{err}"
    );
    assert_eq!(file_digest(&drive_a), before, "the drive was erased");

    // With --relink it is bound, and the custody log says who moved it from where.
    let out = wipe(&["--asset", "TAG-B", "--relink", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let relinked: Vec<Value> = events_of(&home, "TAG-B")
        .into_iter()
        .filter(|e| e["kind"] == "relinked")
        .collect();
    assert_eq!(relinked.len(), 1, "{relinked:?}");
    let detail = relinked[0].to_string();
    assert!(
        detail.contains("TAG-A") && detail.contains("DRIVEA"),
        "{detail}"
    );

    // TAG-B (still holding the unwiped DRIVEB) is destroyed; the drive's serial coming back
    // in a new manifest is reported.
    let out = home.run(&[
        "assets",
        "destroy",
        "TAG-B",
        "--method",
        "shredded",
        "--witness",
        "B. Jones",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = import_manifest(
        &home,
        "asset_tag,serial,media_serials\nTAG-C,LAP-C,DRIVEA\n",
        "Acme",
        "COL-2",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("line 2") && err.contains("DRIVEA") && err.contains("TAG-B"),
        "{err}"
    );
    assert!(err.contains("destroyed"), "{err}");
}

#[test]
fn assets_link_refuses_a_drive_tied_to_another_asset_unless_relink() {
    let home = Home::new();
    assert!(
        import_manifest(&home, MANIFEST, "Acme", "COL-1")
            .status
            .success()
    );
    // A drive nothing knows: its certificate waits in the review list.
    let dir = tempfile::tempdir_in("/dev/shm").unwrap();
    let (code, v) = home.json(&[
        "wipe",
        disk(&dir, "DRIVEZ").to_str().unwrap(),
        "--method",
        "zero",
        "--yes",
        "--json",
    ]);
    assert_eq!(code, 0, "{v}");
    let id = only_drive(&v)["certificate_id"]
        .as_str()
        .unwrap()
        .to_string();
    // Then the register learns the drive is TAG-A's (as a corrected manifest would say).
    home.sql_execute(
        "INSERT INTO media (asset_id, serial) SELECT id, 'DRIVEZ' FROM assets WHERE tag = 'TAG-A'",
    );
    let out = home.run(&["assets", "link", &id, "TAG-B"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("TAG-A") && err.contains("TAG-B"), "{err}");
    let out = home.run(&["assets", "link", &id, "TAG-B", "--relink"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        events_of(&home, "TAG-B")
            .iter()
            .any(|e| e["kind"] == "relinked" && e.to_string().contains("TAG-A")),
        "{:?}",
        events_of(&home, "TAG-B")
    );
}
