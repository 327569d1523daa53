//! `wipeproof list` on the real system.

use crate::support::*;

fn drive<'a>(json: &'a serde_json::Value, path: &str) -> &'a serde_json::Value {
    json["drives"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"] == path)
        .unwrap_or_else(|| panic!("{path} not listed: {json}"))
}

#[test]
fn lists_loop_devices_with_their_geometry_and_the_system_disk_as_protected() {
    let home = Home::new();
    let small = LoopDev::new("list512", 8 << 20, 512);
    let big = LoopDev::new("list4k", 16 << 20, 4096);
    let (code, json) = home.json(&["list", "--json"]);
    assert_eq!(code, 0);

    let d = drive(&json, small.dev.to_str().unwrap());
    assert_eq!(d["size_bytes"], 8 << 20);
    assert_eq!(d["logical_sector_size"], 512);
    assert_eq!(d["transport"], "loop");
    assert_eq!(d["media"], "virtual");
    assert_eq!(d["protected"], false);
    assert_eq!(d["protected_reason"], serde_json::Value::Null);
    let stem = small.backing.file_stem().unwrap().to_str().unwrap();
    assert_eq!(d["serial"], stem);

    let d = drive(&json, big.dev.to_str().unwrap());
    assert_eq!(d["size_bytes"], 16 << 20);
    assert_eq!(d["logical_sector_size"], 4096);
    assert_eq!(d["physical_sector_size"], 4096);

    // The disk holding / is protected and says why.
    let system: Vec<_> = json["drives"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| {
            d["protected_reason"]
                .as_str()
                .is_some_and(|r| r.contains("holds the running system"))
        })
        .collect();
    assert!(
        !system.is_empty(),
        "no drive marked as the system disk: {json}"
    );
    assert!(system.iter().all(|d| d["protected"] == true));

    // No partitions are listed: the kernel says which block devices are partitions (a
    // `partition` file in sysfs), whatever their names look like. A partitioned loop device
    // is attached, so there is one to leave out.
    let parted = LoopDev::with_partscan("listparts", 16 << 20, 512);
    let part = partition(&parted, 512);
    let (code, json) = home.json(&["list", "--json"]);
    assert_eq!(code, 0);
    drive(&json, parted.dev.to_str().unwrap());
    for d in json["drives"].as_array().unwrap() {
        let p = d["path"].as_str().unwrap();
        let name = p.strip_prefix("/dev/").unwrap_or(p);
        assert!(
            !std::path::Path::new("/sys/class/block")
                .join(name)
                .join("partition")
                .exists(),
            "the partition {p} is listed as a drive (made {})",
            part.display()
        );
    }

    // The table names the drives too.
    let out = home.run(&["list"]);
    assert!(out.status.success());
    assert!(stdout(&out).contains(small.dev.to_str().unwrap()));
    assert!(stdout(&out).contains("PROTECTED"));
}

#[test]
fn mounted_partition_shows_in_list_with_its_reason() {
    let home = Home::new();
    let lo = LoopDev::with_partscan("listpart", 64 << 20, 512);
    let part = partition(&lo, 512);
    let m = Mounted::new(&part);
    let (_, json) = home.json(&["list", "--json"]);
    let d = drive(&json, lo.dev.to_str().unwrap());
    assert_eq!(d["protected"], true);
    let reason = d["protected_reason"].as_str().unwrap();
    let expect = format!(
        "{} is mounted on {}: unmount it first",
        part.display(),
        m.dir.path().display()
    );
    assert!(reason.contains(&expect), "{reason}");
    // The partition itself is not a drive.
    let parts: Vec<_> = json["drives"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["path"] == part.to_str().unwrap())
        .collect();
    assert!(parts.is_empty());
}
