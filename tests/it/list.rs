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
    // A loop device has no SMART: its health is unknown, never a guess.
    assert_eq!(d["health"]["verdict"], "unknown", "{d}");
    assert_eq!(d["health"]["reasons"][0], "a loop device has no SMART");
    assert!(d["health"].get("power_on_hours").is_none(), "{d}");

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

/// A drive's row in `list`'s table.
fn table_row(home: &Home, path: &str) -> String {
    let table = stdout(&home.run(&["list"]));
    table
        .lines()
        .find(|l| l.starts_with(&format!("{path} ")))
        .unwrap_or_else(|| panic!("{path} not in the table:\n{table}"))
        .to_string()
}

#[test]
fn a_drive_another_program_holds_exclusively_is_busy_in_list_with_the_reason_the_wipe_gives() {
    let home = Home::new();
    let lo = LoopDev::new("listexcl", 8 << 20, 512);
    let path = lo.dev.to_str().unwrap();
    let before = lo.digest();
    let holder = ExclusiveHolder::of(&lo.dev);
    let pid = holder.pid();

    let (code, json) = home.json(&["list", "--json"]);
    assert_eq!(code, 0);
    let d = drive(&json, path);
    assert_eq!(d["protected"], false, "{d}");
    assert_eq!(d["busy"]["pid"], pid, "{d}");
    assert_eq!(d["busy"]["program"], "python3", "{d}");
    let reason = d["busy"]["reason"].as_str().unwrap_or_default().to_string();
    assert!(
        reason.contains(&format!(
            "is in use by another program (python3 (pid {pid}))"
        )),
        "{d}"
    );
    let row = table_row(&home, path);
    assert!(row.contains(&format!("busy (python3, pid {pid})")), "{row}");
    assert!(!row.contains("ready"), "{row}");

    // The wipe refuses it in the same words, and writes nothing.
    let out = home.run(&["wipe", path, "--yes"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("{path} {reason}")),
        "{reason:?} not in: {err}"
    );
    assert_eq!(lo.digest(), before);

    // Let go, it is ready again.
    drop(holder);
    let (_, json) = home.json(&["list", "--json"]);
    let d = drive(&json, path);
    assert!(d["busy"].is_null(), "{d}");
    assert_eq!(d["protected"], false, "{d}");
}

#[test]
fn both_devices_of_a_mounted_btrfs_raid1_are_protected_in_list_as_the_wipe_says() {
    let home = Home::new();
    let first = LoopDev::new("listbtrfs1", 128 << 20, 512);
    let second = LoopDev::new("listbtrfs2", 128 << 20, 512);
    let fs = BtrfsRaid1::over(&first.dev, &second.dev);
    let (_, json) = home.json(&["list", "--json"]);
    for lo in [&first, &second] {
        let path = lo.dev.to_str().unwrap();
        let d = drive(&json, path);
        assert_eq!(d["protected"], true, "{d}");
        assert!(d["busy"].is_null(), "{d}");
        let reason = d["protected_reason"].as_str().unwrap().to_string();
        let expect = format!(
            "{path} is mounted on {}: unmount it first",
            fs.dir.path().display()
        );
        assert!(reason.contains(&expect), "{reason}");
        assert!(table_row(&home, path).contains("PROTECTED"));
        let before = lo.digest();
        let out = home.run(&["wipe", path, "--yes"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!("refusing to erase {path}: it {reason}")),
            "{reason:?} not in: {err}"
        );
        assert_eq!(lo.digest(), before);
    }
}

#[test]
fn a_wipe_opening_a_drive_while_list_looks_at_it_waits_for_the_look_and_goes_ahead() {
    use std::os::unix::fs::MetadataExt;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
    use wipeproof::device::sysfs::DevNum;
    use wipeproof::device::verdict::{self, Probe};
    use wipeproof::device::{GuardContext, Target};
    let lo = LoopDev::new("listrace", 8 << 20, 512);
    let devnum = DevNum::from_raw(std::fs::metadata(&lo.dev).unwrap().rdev());
    let ctx = GuardContext::new(vec![], None);
    let guard = ctx.guard();
    let stop = AtomicBool::new(false);
    let looks = AtomicU32::new(0);
    std::thread::scope(|s| {
        // `list` looks at the drive over and over: each look holds it exclusively an instant.
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                let _ = verdict::check_disk(&lo.dev, devnum, &guard, Probe::Exclusive);
                looks.fetch_add(1, Ordering::Relaxed);
            }
        });
        // At least 50 opens, and as many as it takes for the looks to outnumber them (an open
        // that shares the run's scan is faster than a look): the two must overlap often.
        let mut refused = Vec::new();
        let mut opens = 0u32;
        while opens < 50 || (looks.load(Ordering::Relaxed) <= opens && opens < 5000) {
            if let Err(e) = Target::open_for_erase(&lo.dev, &ctx) {
                refused.push(e.to_string());
            }
            opens += 1;
        }
        stop.store(true, Ordering::Relaxed);
        let looks = looks.load(Ordering::Relaxed);
        assert!(
            refused.is_empty(),
            "{} of {opens} opens refused: {refused:?}",
            refused.len()
        );
        assert!(looks > opens, "only {looks} looks for {opens} opens");
    });
}
