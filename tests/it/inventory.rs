//! `wipeproof inventory`: a saved copy of a laptop's SMBIOS tables, and this machine's own
//! (a container or a VM without tables here: it says so and exits 0).

use std::path::Path;

use crate::support::*;

#[test]
fn a_saved_laptops_tables_are_read_with_placeholders_left_out() {
    let home = Home::new();
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/smbios/qemu-laptop"
    );
    let (code, json) = home.json(&["inventory", "--json", "--tables", dir]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["source"], "smbios");
    assert_eq!(json["system"]["serial"], "5CG1234XYZ");
    assert_eq!(
        json["system"]["uuid"],
        "4c4c4544-0042-3510-8052-b4c04f4e3132"
    );
    assert_eq!(json["chassis"]["asset_tag"], "ACME-LT-0042");
    // "Base Board Asset Tag" is a placeholder: absent, not a value.
    assert!(json["baseboard"].get("asset_tag").is_none(), "{json}");
    assert_eq!(json["memory"][0]["part_number"], "M471A1K43DB1-CWE");

    let out = home.run(&["inventory", "--tables", dir]);
    assert!(out.status.success());
    let text = stdout(&out);
    for needle in [
        "Source: SMBIOS 2.8",
        "5CG1234XYZ",
        "ACME-LT-0042",
        "512 MiB",
        "3200 MT/s",
    ] {
        assert!(text.contains(needle), "missing {needle}:\n{text}");
    }
}

#[test]
fn this_machines_inventory_exits_0_and_says_when_there_is_no_smbios() {
    let home = Home::new();
    let (code, json) = home.json(&["inventory", "--json"]);
    assert_eq!(code, 0, "{json}");
    let out = home.run(&["inventory"]);
    assert!(out.status.success(), "{}", stderr(&out));
    if !Path::new("/sys/firmware/dmi/tables/DMI").exists()
        && !Path::new("/sys/class/dmi/id").exists()
    {
        assert_eq!(json["source"], "none");
        assert_eq!(json["system"], serde_json::json!({}));
        assert!(
            stdout(&out).contains("no SMBIOS tables"),
            "{}",
            stdout(&out)
        );
    }
}
