//! A station renamed in its settings keeps syncing: what it issued under its earlier name, and
//! everything queued behind it, reaches the central register, each certificate under the name
//! it was issued with, whichever of the two names the key was enrolled under.

use crate::register::{MANIFEST, asset, disk_named, station_claiming, wipe};
use crate::support::*;

on_each_backend!(
    a_renamed_station_enrolled_under_its_new_name_delivers_its_backlog,
    a_renamed_station_enrolled_under_its_old_name_is_renamed_and_delivers,
    a_station_cannot_take_a_name_another_key_holds,
);

/// A station that wipes ACME-1's drive and records ACME-2's destruction as `vm`, then is
/// renamed `bay-1` in its settings; the central register imports the manifest.
fn renamed_station_with_backlog(central: &Home, enrolled_as: &str) -> Home {
    assert!(
        import_manifest(central, MANIFEST, "Acme Insurance", "COL-1")
            .status
            .success()
    );
    let bay = station_claiming(central, enrolled_as, "vm", true);
    assert!(
        import_manifest(&bay, MANIFEST, "Acme Insurance", "COL-1")
            .status
            .success()
    );
    let dir = tempfile::tempdir_in("/dev/shm").unwrap();
    assert_eq!(wipe(&bay, &disk_named(&dir, "LAP-1"), &[]).0, 0);
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
    set_station_id(&bay, "bay-1");
    // A wipe after the rename: issued as bay-1.
    assert_eq!(wipe(&bay, &disk_named(&dir, "LAP-3"), &[]).0, 0);
    bay
}

fn issued_as(central: &Home, tag: &str) -> Vec<String> {
    asset(central, tag)["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["station_id"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn everything_arrived(central: &Home, bay: &Home, url: &str) {
    let (code, v) = bay.json(&["sync", "--register", url, "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["sent"].as_array().unwrap().len(), 2, "{v}");
    assert_eq!(v["events_sent"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["renamed"][0], "vm -> bay-1", "{v}");
    assert_eq!(asset(central, "ACME-1")["state"], "retired");
    assert_eq!(asset(central, "ACME-2")["state"], "destroyed");
    assert_eq!(asset(central, "ACME-3")["state"], "retired");
    // Each certificate keeps the name it was issued under.
    assert_eq!(issued_as(central, "ACME-1"), ["vm"]);
    assert_eq!(issued_as(central, "ACME-3"), ["bay-1"]);
    // The register shows both names of the one key.
    let (code, s) = central.json(&["stations", "list", "--json"]);
    assert_eq!(code, 0);
    let stations = s["stations"].as_array().unwrap();
    assert_eq!(stations.len(), 1, "{s}");
    assert_eq!(stations[0]["name"], "bay-1");
    assert_eq!(stations[0]["earlier_names"], serde_json::json!(["vm"]));
    let listed = central.run(&["stations", "list"]);
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("bay-1 (earlier vm)"),
        "{}",
        String::from_utf8_lossy(&listed.stdout)
    );
    // A second sync has nothing left, and the audit holds.
    let (code, v) = bay.json(&["sync", "--register", url, "--json"]);
    assert_eq!(code, 0, "{v}");
    assert!(v["sent"].as_array().unwrap().is_empty(), "{v}");
    let (code, audit) = central.json(&["assets", "audit", "--json"]);
    assert_eq!(code, 0, "{audit}");
}

fn a_renamed_station_enrolled_under_its_new_name_delivers_its_backlog(backend: Backend) {
    let central = Home::on(backend);
    let bay = renamed_station_with_backlog(&central, "bay-1");
    let server = Server::start(&central);
    everything_arrived(&central, &bay, &server.url);
}

fn a_renamed_station_enrolled_under_its_old_name_is_renamed_and_delivers(backend: Backend) {
    let central = Home::on(backend);
    let bay = renamed_station_with_backlog(&central, "vm");
    let server = Server::start(&central);
    everything_arrived(&central, &bay, &server.url);
    assert_eq!(central.sql_count("SELECT COUNT(*) FROM station_names"), 1);
}

fn a_station_cannot_take_a_name_another_key_holds(backend: Backend) {
    let central = Home::on(backend);
    // Another key is enrolled as vm: bay-1's key may not claim it.
    let _other = station_claiming(&central, "vm", "vm", true);
    let bay = renamed_station_with_backlog(&central, "bay-1");
    let server = Server::start(&central);
    let (code, v) = bay.json(&["sync", "--register", &server.url, "--json"]);
    assert_eq!(code, 1, "{v}");
    let unsent = v["unsent"].to_string();
    assert!(
        unsent.contains("station name vm") && unsent.contains("held here by another key"),
        "{v}"
    );
    // Nothing issued as vm is taken, and the key is not given the name.
    assert_ne!(asset(&central, "ACME-1")["state"], "retired");
    assert_ne!(asset(&central, "ACME-2")["state"], "destroyed");
    assert_eq!(central.sql_count("SELECT COUNT(*) FROM station_names"), 0);
}
