//! Tests of the kept scan: whatever changes in sysfs after it, on the drive or anywhere its
//! stack reaches, the look at that drive sees it.

use std::fs;
use std::path::Path;

use super::super::guard::Protection;
use super::super::mounts::MountEntry;
use super::super::sysfs::fixture;
use super::*;

fn dn(s: &str) -> DevNum {
    DevNum::parse(s).unwrap()
}

/// sda (system: / on sda1), sdb and sdc free, dm-0 built on sdb.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for (name, dev) in [("sda", "8:0"), ("sdb", "8:16"), ("sdc", "8:32")] {
        fixture::disk(root, name, dev, &[("ro", "0")]);
    }
    fixture::partition(root, "sda", "sda1", "8:1");
    fixture::disk(root, "dm-0", "253:0", &[("dm/uuid", "CRYPT-1")]);
    fixture::hold(root, "sdb", "dm-0");
    dir
}

fn root_on_sda1() -> SystemFacts {
    SystemFacts {
        mounts: vec![MountEntry {
            major: 8,
            minor: 1,
            mount_point: "/".into(),
            fs_type: "ext4".into(),
            source: "/dev/sda1".into(),
            super_options: "rw".into(),
        }],
        ..SystemFacts::default()
    }
}

/// The guard on `target` after the kept scan `snap` was brought up to date for it.
fn look(snap: &mut Snapshot, sysfs: &Sysfs, facts: &SystemFacts, target: &str) -> Vec<Protection> {
    snap.refresh_names(sysfs);
    let dev = snap.disk_devnum(target).unwrap();
    refresh_around(snap, sysfs, facts, Node::Block(dev));
    Guard::of(snap, facts).check(Node::Block(dev))
}

/// Moves dm device `dm` from the device it is built on to `to` (`dmsetup reload`).
fn reload(root: &Path, dm: &str, from: &str, to: &str) {
    let from_name = from.rsplit('/').next().unwrap();
    fs::remove_file(root.join("block").join(from).join("holders").join(dm)).unwrap();
    fs::remove_file(root.join("block").join(dm).join("slaves").join(from_name)).unwrap();
    fixture::hold(root, to, dm);
}

#[test]
fn a_holder_built_on_the_drive_after_the_scan_refuses_it() {
    let dir = tree();
    let sysfs = Sysfs::at(dir.path());
    let ctx = GuardContext::at(sysfs.clone(), vec![], None);
    assert!(ctx.guard().protections("sdc").is_empty());
    // After the scan: an md array on sdc, and a new partition of sdc held by LVM.
    fixture::disk(dir.path(), "md0", "9:0", &[("md/level", "raid1")]);
    fixture::hold(dir.path(), "sdc", "md0");
    let reasons = ctx
        .guard_for(Node::Block(dn("8:32")))
        .check(Node::Block(dn("8:32")));
    assert!(
        reasons.iter().any(|p| p
            .to_string()
            .contains("held by /dev/md0 (md raid1 array md0)")),
        "{reasons:?}"
    );
    fixture::partition(dir.path(), "sdb", "sdb1", "8:17");
    fixture::disk(
        dir.path(),
        "dm-1",
        "253:1",
        &[("dm/uuid", "LVM-x"), ("dm/name", "vg-a")],
    );
    fixture::hold(dir.path(), "sdb/sdb1", "dm-1");
    let ctx_b = ctx.guard_for(Node::Block(dn("8:16")));
    let reasons = ctx_b.check(Node::Block(dn("8:16")));
    assert!(
        reasons.iter().any(|p| p
            .to_string()
            .contains("/dev/sdb1 is held by /dev/dm-1 (LVM logical volume vg-a)")),
        "{reasons:?}"
    );
}

#[test]
fn a_device_below_the_drive_that_moves_after_the_scan_is_followed_to_its_new_place() {
    // dm-1 on dm-0 on sdb; after the scan, dm-0 is reloaded onto sda1, which holds /.
    let dir = tree();
    let root = dir.path();
    fixture::disk(root, "dm-1", "253:1", &[("dm/uuid", "CRYPT-2")]);
    fixture::hold(root, "dm-0", "dm-1");
    let sysfs = Sysfs::at(root);
    let facts = root_on_sda1();
    let mut snap = Snapshot::take(&sysfs);
    assert!(look(&mut snap.clone(), &sysfs, &facts, "dm-1").is_empty());
    reload(root, "dm-0", "sdb", "sda/sda1");
    // The kept scan alone still shows dm-0 on sdb.
    let dm1 = Node::Block(dn("253:1"));
    assert!(Guard::of(&snap, &facts).check(dm1).is_empty());
    let reasons = look(&mut snap, &sysfs, &facts, "dm-1");
    assert!(
        matches!(reasons.first(), Some(Protection::SystemDisk { .. })),
        "{reasons:?}"
    );
}

#[test]
fn a_partition_that_appears_and_is_mounted_after_the_scan_refuses_the_drive() {
    let dir = tree();
    let sysfs = Sysfs::at(dir.path());
    let mut snap = Snapshot::take(&sysfs);
    fixture::partition(dir.path(), "sdc", "sdc1", "8:33");
    let mut facts = root_on_sda1();
    facts.mounts.push(MountEntry {
        major: 8,
        minor: 33,
        mount_point: "/data".into(),
        fs_type: "ext4".into(),
        source: "/dev/sdc1".into(),
        super_options: "rw".into(),
    });
    let reasons = look(&mut snap, &sysfs, &facts, "sdc");
    assert!(
        reasons
            .iter()
            .any(|p| p.to_string().contains("/dev/sdc1 is mounted on /data")),
        "{reasons:?}"
    );
}

#[test]
fn a_disk_that_appears_after_the_scan_is_known_and_one_that_goes_is_forgotten() {
    let dir = tree();
    let sysfs = Sysfs::at(dir.path());
    let ctx = GuardContext::at(sysfs.clone(), vec![], None);
    let _ = ctx.guard();
    fixture::disk(dir.path(), "sdd", "8:48", &[("ro", "1")]);
    let sdd = Node::Block(dn("8:48"));
    assert_eq!(ctx.guard_for(sdd).check(sdd), [Protection::ReadOnly]);
    assert_eq!(
        ctx.disk_of(dn("8:48")).map(|b| b.disk),
        Some("sdd".to_string())
    );
    fs::remove_dir_all(dir.path().join("block/sdc")).unwrap();
    assert!(ctx.guard_after(&["sdc"]).protections("sdc").is_empty());
    assert_eq!(ctx.disk_of(dn("8:32")), None);
}
