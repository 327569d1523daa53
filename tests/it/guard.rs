//! The guard on real loop devices: refused devices are named with a reason and left untouched.

use std::os::unix::fs::OpenOptionsExt;

use wipeproof::device::{GuardContext, Target, TargetError};

use crate::support::*;

fn ctx() -> GuardContext {
    GuardContext::new(vec![], None)
}

#[test]
fn free_loop_devices_open_for_erase_with_their_geometry() {
    for sector in [512u32, 4096] {
        let lo = LoopDev::new("free", 8 << 20, sector);
        let t = Target::open_for_erase(&lo.dev, &ctx()).unwrap();
        assert_eq!(t.geometry().size_bytes, 8 << 20);
        assert_eq!(t.geometry().logical_sector_size, sector);
        // Held with O_EXCL: a second erase handle is refused as busy.
        let err = Target::open_for_erase(&lo.dev, &ctx()).unwrap_err();
        assert!(matches!(err, TargetError::Busy { .. }), "{err}");
    }
}

#[test]
fn mounted_device_is_refused_and_unchanged() {
    let lo = LoopDev::new("mounted", 32 << 20, 512);
    let m = Mounted::new(&lo.dev);
    let before = lo.digest();
    let err = Target::open_for_erase(&lo.dev, &ctx()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, TargetError::Refused { .. }), "{msg}");
    assert!(
        msg.contains(&format!(
            "{} is mounted on {}",
            lo.dev.display(),
            m.dir.path().display()
        )),
        "{msg}"
    );
    assert!(msg.contains("unmount it first"), "{msg}");
    assert_eq!(lo.digest(), before);
}

#[test]
fn device_with_a_mounted_partition_is_refused() {
    let lo = LoopDev::with_partscan("partmounted", 64 << 20, 512);
    let part = partition(&lo, 512);
    let _m = Mounted::new(&part);
    let before = lo.digest();
    let err = Target::open_for_erase(&lo.dev, &ctx()).unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("{} is mounted on", part.display())),
        "{err}"
    );
    assert_eq!(lo.digest(), before);
    // The partition itself is not a target either.
    let err = Target::open_for_erase(&part, &ctx()).unwrap_err();
    assert!(matches!(err, TargetError::Partition { .. }), "{err}");
}

#[test]
fn active_swap_is_refused() {
    let lo = LoopDev::new("swap", 32 << 20, 512);
    let _s = Swap::on(&lo.dev);
    let err = Target::open_for_erase(&lo.dev, &ctx()).unwrap_err();
    assert!(
        err.to_string().contains("is active swap: run `swapoff"),
        "{err}"
    );
}

#[test]
fn device_held_open_exclusively_by_another_user_is_refused_and_unchanged() {
    let lo = LoopDev::new("held", 8 << 20, 512);
    let before = lo.digest();
    let _holder = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_EXCL)
        .open(&lo.dev)
        .unwrap();
    let err = Target::open_for_erase(&lo.dev, &ctx()).unwrap_err();
    assert!(matches!(err, TargetError::Busy { .. }), "{err}");
    assert!(
        err.to_string().contains("in use by another program"),
        "{err}"
    );
    assert_eq!(lo.digest(), before);
}

#[test]
fn read_only_device_is_refused() {
    let lo = LoopDev::read_only("ro", 8 << 20);
    let err = Target::open_for_erase(&lo.dev, &ctx()).unwrap_err();
    assert!(err.to_string().contains("read-only"), "{err}");
}

#[test]
fn image_file_attached_to_a_loop_device_is_refused() {
    let lo = LoopDev::new("attached", 8 << 20, 512);
    let err = Target::open_for_erase(&lo.backing, &ctx()).unwrap_err();
    assert!(matches!(err, TargetError::AttachedImage { .. }), "{err}");
    assert!(err.to_string().contains(&lo.dev.display().to_string()));
}

#[test]
fn device_holding_the_state_directory_is_refused() {
    let lo = LoopDev::new("statedir", 32 << 20, 512);
    let m = Mounted::new(&lo.dev);
    let state = m.dir.path().join("wipeproof");
    std::fs::create_dir_all(&state).unwrap();
    let ctx = GuardContext::new(vec![state.clone()], None);
    let guard = ctx.guard();
    let reason = guard.reason(&lo.name()).unwrap();
    assert!(
        reason.contains("holds wipeproof's state directory"),
        "{reason}"
    );
}

#[test]
fn the_system_disk_is_refused() {
    // Whatever holds / on this machine: found through the mount table, never hard-coded.
    let st = nix::sys::stat::stat("/").unwrap();
    let dev = wipeproof::device::sysfs::DevNum::from_raw(st.st_dev);
    let sysfs = wipeproof::device::sysfs::Sysfs::system();
    let Some(name) = sysfs.index().get(&dev).cloned() else {
        eprintln!("/ is not on a block device here; nothing to check");
        return;
    };
    let path = std::path::PathBuf::from(format!("/dev/{}", name.disk));
    let err = Target::open_for_erase(&path, &ctx()).unwrap_err();
    assert!(
        err.to_string().contains("holds the running system"),
        "{err}"
    );
}
