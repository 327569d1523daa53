//! Tests of the guard on sysfs-shaped trees: the stacks a disk hides behind, both ways and
//! several levels deep.

use super::super::facts::LoopInfo;
use super::super::mounts::SwapEntry;
use super::super::sysfs::fixture;
use super::*;

fn mount(dev: &str, mp: &str, fs: &str, source: &str, opts: &str) -> MountEntry {
    let d = DevNum::parse(dev).unwrap();
    MountEntry {
        major: d.major,
        minor: d.minor,
        mount_point: mp.into(),
        fs_type: fs.into(),
        source: source.into(),
        super_options: opts.into(),
    }
}

fn dn(s: &str) -> DevNum {
    DevNum::parse(s).unwrap()
}

fn file_loop(name: &str, file: &str, dev: &str, ino: u64) -> (String, LoopInfo) {
    let backing = Backing::File(FileId { dev: dn(dev), ino });
    (name.to_string(), loop_info(file, Some(backing)))
}

fn block_loop(name: &str, backing: &str) -> (String, LoopInfo) {
    let file = format!("/dev/{name}-backing");
    let info = loop_info(&file, Some(Backing::Block(dn(backing))));
    (name.to_string(), info)
}

fn loop_info(file: &str, backing: Option<Backing>) -> LoopInfo {
    LoopInfo {
        file: file.into(),
        backing,
    }
}

/// sda: system disk with / on sda2 and /boot on sda1; sdb: LVM member; sdc: data disk with
/// a mounted partition; sdd: swap; sde: free; sdf: read-only; loop0 over a file on sdc1.
fn system() -> (tempfile::TempDir, Sysfs, SystemFacts) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for (name, dev) in [
        ("sda", "8:0"),
        ("sdb", "8:16"),
        ("sdc", "8:32"),
        ("sdd", "8:48"),
        ("sde", "8:64"),
        ("sdf", "8:80"),
        ("loop0", "7:0"),
    ] {
        let ro = if name == "sdf" { "1" } else { "0" };
        fixture::disk(root, name, dev, &[("ro", ro)]);
    }
    fixture::disk(
        root,
        "loop0",
        "7:0",
        &[("ro", "0"), ("loop/backing_file", "/data/x.img")],
    );
    fixture::partition(root, "sda", "sda1", "8:1");
    fixture::partition(root, "sda", "sda2", "8:2");
    fixture::partition(root, "sdc", "sdc1", "8:33");
    fixture::partition(root, "sdd", "sdd1", "8:49");
    fixture::disk(
        root,
        "dm-0",
        "253:0",
        &[("dm/uuid", "LVM-xyz"), ("dm/name", "vg-data")],
    );
    fixture::hold(root, "sdb", "dm-0");
    let facts = SystemFacts {
        mounts: vec![
            mount("8:2", "/", "ext4", "/dev/sda2", "rw"),
            mount("8:1", "/boot", "vfat", "/dev/sda1", "rw"),
            mount("0:21", "/proc", "proc", "proc", "rw"),
            mount("8:33", "/data", "ext4", "/dev/sdc1", "rw"),
        ],
        swaps: vec![(
            SwapEntry {
                path: "/dev/sdd1".into(),
                kind: "partition".into(),
            },
            Some(Backing::Block(dn("8:49"))),
        )],
        loops: [file_loop("loop0", "/data/x.img", "8:33", 12)].into(),
        ..SystemFacts::default()
    };
    let sysfs = Sysfs::at(root);
    (dir, sysfs, facts)
}

#[test]
fn system_disk_mounted_swap_held_and_read_only_are_protected() {
    let (_dir, sysfs, facts) = system();
    let guard = Guard::compute(&sysfs, &facts);
    let sda = guard.reason("sda").unwrap();
    assert!(
        sda.contains("holds the running system (/dev/sda2 is mounted on /)"),
        "{sda}"
    );
    assert!(guard.protections("sda").iter().all(Protection::is_system));
    let sdb = guard.reason("sdb").unwrap();
    assert!(
        sdb.contains("held by /dev/dm-0 (LVM logical volume vg-data)"),
        "{sdb}"
    );
    let sdc = guard.reason("sdc").unwrap();
    assert!(
        sdc.contains("/dev/sdc1 is mounted on /data: unmount it first"),
        "{sdc}"
    );
    let sdd = guard.reason("sdd").unwrap();
    assert!(sdd.contains("/dev/sdd1 is active swap"), "{sdd}");
    assert_eq!(guard.reason("sde"), None);
    assert!(guard.reason("sdf").unwrap().contains("read-only"));
    // The loop device's file lives on sdc, but writing it harms nothing else.
    assert_eq!(guard.reason("loop0"), None);
}

#[test]
fn root_on_dm_over_partition_protects_the_disk_below() {
    let (dir, _, mut facts) = system();
    let root = dir.path();
    fixture::disk(root, "sdg", "8:96", &[("ro", "0")]);
    fixture::partition(root, "sdg", "sdg1", "8:97");
    fixture::disk(
        root,
        "dm-1",
        "253:1",
        &[("dm/uuid", "CRYPT-LUKS2-1"), ("dm/name", "root")],
    );
    fixture::hold(root, "sdg/sdg1", "dm-1");
    facts.mounts = vec![mount("253:1", "/", "ext4", "/dev/mapper/root", "rw")];
    let guard = Guard::compute(&Sysfs::at(root), &facts);
    let sdg = guard.reason("sdg").unwrap();
    assert!(
        sdg.starts_with("holds the running system (/dev/dm-1 is mounted on /)"),
        "{sdg}"
    );
    assert!(sdg.contains("/dev/sdg1 is held by /dev/dm-1"), "{sdg}");
    assert!(sdg.contains("dm-crypt mapping root"), "{sdg}");
}

#[test]
fn every_device_of_a_mounted_multi_device_btrfs_is_protected_as_mounted() {
    // A btrfs RAID1 over sdi and a partition of sdj, mounted through sdi (the only device the
    // mount table names, under an anonymous number that facts map to sdi); a second one over
    // sdk and sdl mounted as / ; a third over sdm and sdn that this process sees no mount of.
    let (dir, _, mut facts) = system();
    let root = dir.path();
    for (name, dev) in [
        ("sdi", "8:128"),
        ("sdj", "8:144"),
        ("sdk", "8:160"),
        ("sdl", "8:176"),
        ("sdm", "8:192"),
        ("sdn", "8:208"),
    ] {
        fixture::disk(root, name, dev, &[("ro", "0")]);
    }
    fixture::partition(root, "sdj", "sdj1", "8:145");
    fixture::btrfs(root, "0b5e1d2a", &["sdi", "sdj1"]);
    fixture::btrfs(root, "7c0ffee0", &["sdk", "sdl"]);
    fixture::btrfs(root, "deadbeef", &["sdm", "sdn"]);
    let sysfs = Sysfs::at(root);
    facts.multi_device =
        super::super::facts::multi_device(&sysfs, &super::super::snapshot::Snapshot::take(&sysfs));
    assert_eq!(facts.multi_device.len(), 3, "{:?}", facts.multi_device);
    assert_eq!(facts.multi_device[0].members, [dn("8:128"), dn("8:145")]);
    facts
        .mounts
        .push(mount("8:128", "/srv/pool", "btrfs", "/dev/sdi", "rw"));
    facts.mounts[0] = mount("8:160", "/", "btrfs", "/dev/sdk", "rw");
    let guard = Guard::compute(&sysfs, &facts);
    let sdj = guard.reason("sdj").unwrap();
    assert!(
        sdj.contains("/dev/sdj1 is mounted on /srv/pool: unmount it first"),
        "{sdj}"
    );
    assert!(
        guard
            .reason("sdi")
            .unwrap()
            .contains("/dev/sdi is mounted on /srv/pool")
    );
    let sdl = guard.reason("sdl").unwrap();
    assert!(
        sdl.contains("holds the running system (/dev/sdl is mounted on /)"),
        "{sdl}"
    );
    assert!(guard.protections("sdl").iter().all(Protection::is_system));
    for disk in ["sdm", "sdn"] {
        let why = guard.reason(disk).unwrap();
        assert!(
            why.contains(&format!(
                "/dev/{disk} is a device of the mounted btrfs filesystem deadbeef"
            )),
            "{why}"
        );
    }
}

#[test]
fn live_overlay_root_protects_the_boot_medium_through_the_squashfs_loop() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fixture::disk(root, "sdh", "8:112", &[("ro", "0")]);
    fixture::partition(root, "sdh", "sdh1", "8:113");
    fixture::disk(
        root,
        "loop7",
        "7:7",
        &[("loop/backing_file", "/run/live/medium/live/fs.squashfs")],
    );
    let facts = SystemFacts {
        mounts: vec![
            mount("8:113", "/run/live/medium", "iso9660", "/dev/sdh1", "ro"),
            mount(
                "7:7",
                "/run/live/rootfs/fs.squashfs",
                "squashfs",
                "/dev/loop7",
                "ro",
            ),
            mount("0:30", "/run/live/overlay", "tmpfs", "tmpfs", "rw"),
            mount(
                "0:31",
                "/",
                "overlay",
                "overlay",
                "rw,lowerdir=/run/live/rootfs/fs.squashfs/,upperdir=/run/live/overlay/rw,workdir=/run/live/overlay/work",
            ),
        ],
        swaps: vec![],
        loops: [file_loop(
            "loop7",
            "/run/live/medium/live/fs.squashfs",
            "8:113",
            40,
        )]
        .into(),
        ..SystemFacts::default()
    };
    let guard = Guard::compute(&Sysfs::at(root), &facts);
    let sdh = guard.reason("sdh").unwrap();
    assert!(sdh.contains("holds the running system"), "{sdh}");
    assert!(sdh.contains("live medium"), "{sdh}");
    assert!(guard.reason("loop7").unwrap().contains("running system"));
}

#[test]
fn state_directory_and_swap_file_protect_their_disk() {
    let (_dir, sysfs, mut facts) = system();
    facts.protected_paths = vec![(
        ProtectedPath::StateDirectory("/data/wipeproof".into()),
        dn("8:33"),
    )];
    facts.swaps.push((
        SwapEntry {
            path: "/data/swapfile".into(),
            kind: "file".into(),
        },
        Some(Backing::File(FileId {
            dev: dn("8:33"),
            ino: 77,
        })),
    ));
    let guard = Guard::compute(&sysfs, &facts);
    let sdc = guard.reason("sdc").unwrap();
    assert!(
        sdc.starts_with("holds wipeproof's state directory /data/wipeproof"),
        "{sdc}"
    );
    assert!(sdc.contains("swap file /data/swapfile"), "{sdc}");
}

fn add_loops(root: &Path, numbers: &[u32]) {
    for n in numbers {
        fixture::disk(root, &format!("loop{n}"), &format!("7:{n}"), &[("ro", "0")]);
    }
}

#[test]
fn a_loop_device_over_a_block_device_stands_on_that_device_not_on_dev() {
    let (dir, _, mut facts) = system();
    let root = dir.path();
    add_loops(root, &[1, 2, 3, 4]);
    facts.loops.extend([
        block_loop("loop1", "8:0"),
        block_loop("loop2", "8:33"),
        block_loop("loop3", "8:49"),
        block_loop("loop4", "8:64"),
    ]);
    let guard = Guard::compute(&Sysfs::at(root), &facts);
    let loop1 = guard.reason("loop1").unwrap();
    assert!(
        loop1.contains("holds the running system (/dev/sda2 is mounted on /)"),
        "{loop1}"
    );
    let loop2 = guard.reason("loop2").unwrap();
    assert!(loop2.contains("/dev/sdc1 is mounted on /data"), "{loop2}");
    let loop3 = guard.reason("loop3").unwrap();
    assert!(loop3.contains("/dev/sdd1 is active swap"), "{loop3}");
    // A loop device over a free disk may be erased; the disk under it may not while it is.
    assert_eq!(guard.reason("loop4"), None);
    let sde = guard.reason("sde").unwrap();
    assert!(
        sde.contains("/dev/loop4 is a loop device over /dev/sde: detach it first"),
        "{sde}"
    );
}

#[test]
fn stacks_three_levels_deep_are_followed_down_and_up() {
    let (dir, _, mut facts) = system();
    let root = dir.path();
    add_loops(root, &[1, 2, 3, 4, 5, 6]);
    // Down: loop1 over loop2 over loop3, and loop3 is mounted.
    // Up: loop4 over loop5 over loop6, and loop4 is mounted.
    facts.loops.extend([
        block_loop("loop1", "7:2"),
        block_loop("loop2", "7:3"),
        block_loop("loop4", "7:5"),
        block_loop("loop5", "7:6"),
    ]);
    facts
        .mounts
        .push(mount("7:3", "/mnt/low", "ext4", "/dev/loop3", "rw"));
    facts
        .mounts
        .push(mount("7:4", "/mnt/high", "ext4", "/dev/loop4", "rw"));
    let guard = Guard::compute(&Sysfs::at(root), &facts);
    for disk in ["loop1", "loop2", "loop3"] {
        let r = guard.reason(disk).unwrap_or_default();
        assert!(
            r.contains("/dev/loop3 is mounted on /mnt/low"),
            "{disk}: {r}"
        );
    }
    for disk in ["loop4", "loop5", "loop6"] {
        let r = guard.reason(disk).unwrap_or_default();
        assert!(
            r.contains("/dev/loop4 is mounted on /mnt/high"),
            "{disk}: {r}"
        );
    }
}

#[test]
fn a_second_loop_over_an_attached_image_is_refused_and_a_lone_one_is_not() {
    let (dir, _, mut facts) = system();
    let root = dir.path();
    add_loops(root, &[1, 2, 3]);
    facts.loops.extend([
        file_loop("loop1", "/dev/shm/a.img", "0:40", 50),
        file_loop("loop2", "/dev/shm/a-link.img", "0:40", 50),
        file_loop("loop3", "/dev/shm/b.img", "0:40", 51),
    ]);
    facts
        .mounts
        .push(mount("7:1", "/mnt/a", "ext4", "/dev/loop1", "rw"));
    let guard = Guard::compute(&Sysfs::at(root), &facts);
    let loop2 = guard.reason("loop2").unwrap();
    assert!(loop2.contains("/dev/loop1 is mounted on /mnt/a"), "{loop2}");
    assert!(
        loop2.contains("/dev/loop1 is a loop device over /dev/shm/a.img"),
        "{loop2}"
    );
    assert_eq!(guard.reason("loop3"), None);
    // The image itself, by identity, whatever its name.
    let image = FileId {
        dev: dn("0:40"),
        ino: 50,
    };
    let refusals = guard.check(Node::File(image));
    assert!(
        refusals
            .iter()
            .any(|p| p.to_string().contains("/dev/loop1 is mounted on /mnt/a")),
        "{refusals:?}"
    );
}

#[test]
fn a_filesystem_holding_the_file_of_a_mounted_loop_is_refused_without_a_mount_of_its_own() {
    // sde's filesystem was unmounted lazily; a file on it still backs loop1, mounted.
    let (dir, _, mut facts) = system();
    let root = dir.path();
    add_loops(root, &[1]);
    facts
        .loops
        .extend([file_loop("loop1", "/inner.img", "8:64", 9)]);
    facts
        .mounts
        .push(mount("7:1", "/mnt/inner", "ext4", "/dev/loop1", "rw"));
    let guard = Guard::compute(&Sysfs::at(root), &facts);
    let sde = guard.reason("sde").unwrap();
    assert!(sde.contains("/dev/loop1 is mounted on /mnt/inner"), "{sde}");
    assert!(
        sde.contains("/dev/loop1 is a loop device over /inner.img"),
        "{sde}"
    );
}

#[test]
fn a_dm_device_is_free_on_its_own_members_but_not_on_shared_ones() {
    let (dir, _, _) = system();
    let root = dir.path();
    let sysfs = Sysfs::at(root);
    let (_, _, facts) = system();
    // dm-0 alone on sdb: what holds sdb is dm-0 itself.
    assert_eq!(Guard::compute(&sysfs, &facts).reason("dm-0"), None);
    fixture::disk(
        root,
        "dm-2",
        "253:2",
        &[("dm/uuid", "LVM-abc"), ("dm/name", "vg-other")],
    );
    fixture::hold(root, "sdb", "dm-2");
    let dm0 = Guard::compute(&sysfs, &facts).reason("dm-0").unwrap();
    assert!(
        dm0.contains("/dev/sdb is held by /dev/dm-2 (LVM logical volume vg-other)"),
        "{dm0}"
    );
}

#[test]
fn overlay_layers_are_parsed() {
    assert_eq!(
        overlay_layers("rw,lowerdir=/a:/b,upperdir=/u/rw,workdir=/w"),
        [PathBuf::from("/a"), "/b".into(), "/u/rw".into()]
    );
}
