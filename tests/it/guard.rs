//! The guard on real loop devices: refused devices are named with a reason and left untouched.
//!
//! The stacks are real: loop devices over loop devices, partitions, swap and files on mounted
//! filesystems; images reached through hard links, bind mounts and symbolic links; locks held
//! by other programs. Where a refusal is checked through the binary, the bytes under the stack
//! are compared before and after.

use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wipeproof::device::{GuardContext, Protection, Target, TargetError, TargetKind};

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
    assert!(matches!(err, TargetError::Refused { .. }), "{err}");
    assert!(
        err.to_string().contains(&format!(
            "{} is a loop device over {}",
            lo.dev.display(),
            lo.backing.display()
        )),
        "{err}"
    );
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
    // Whatever holds / on this machine, found without the guard's help and never hard-coded.
    // It is only read about: the guard's verdict is checked, nothing opens the disk.
    let disk = system_disk();
    let guard = ctx().guard();
    let protections = guard.protections(&disk);
    assert!(
        protections.iter().any(|p| matches!(
            p,
            Protection::SystemDisk { mount_point, .. } if mount_point == Path::new("/")
        )),
        "/dev/{disk} holds / but the guard gives {protections:?}"
    );
    let reason = guard.reason(&disk).unwrap_or_default();
    assert!(reason.contains("holds the running system"), "{reason}");
}

/// The kernel name of the disk that holds `/`: the device number `/` is on, or else the block
/// device the mount table names as its source (btrfs and others give `/` an anonymous number).
/// A machine where neither is a disk cannot run this test, and says so.
fn system_disk() -> String {
    use wipeproof::device::sysfs::{DevNum, Sysfs};
    let index = Sysfs::system().index();
    let root = nix::sys::stat::stat("/").unwrap();
    if let Some(name) = index.get(&DevNum::from_raw(root.st_dev)) {
        return name.disk.clone();
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let mounts = wipeproof::device::mounts::parse_mountinfo(&mountinfo);
    let source = mounts
        .iter()
        .rev()
        .find(|m| m.mount_point == Path::new("/"))
        .map(|m| m.source.clone())
        .unwrap_or_default();
    if let Ok(node) = nix::sys::stat::stat(source.as_str())
        && node.st_mode & libc::S_IFMT == libc::S_IFBLK
        && let Some(name) = index.get(&DevNum::from_raw(node.st_rdev))
    {
        return name.disk.clone();
    }
    panic!(
        "cannot find the disk that holds / (its device {}:{} is no block device, and its mount \
         source {source:?} none either): run this test on a machine booted from a disk",
        libc::major(root.st_dev),
        libc::minor(root.st_dev)
    );
}

/// Runs `wipeproof wipe PATH --yes` and checks it refused with exit 2 and named `reason`.
fn wipe_is_refused(target: &Path, reason: &str) {
    let home = Home::new();
    let out = home.run(&["wipe", target.to_str().unwrap(), "--yes"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(reason), "expected {reason:?} in: {err}");
}

fn refusal(path: &Path) -> String {
    match Target::open_for_erase(path, &ctx()) {
        Ok(t) => panic!("{} was opened for erasure: {:?}", path.display(), t.kind()),
        Err(e) => {
            assert!(matches!(e, TargetError::Refused { .. }), "{e}");
            e.to_string()
        }
    }
}

fn mounted_on(dev: &Path, m: &Mounted) -> String {
    format!("{} is mounted on {}", dev.display(), m.dir.path().display())
}

#[test]
fn a_loop_over_a_mounted_loop_device_is_refused_and_the_filesystem_is_intact() {
    let lower = LoopDev::new("stack-lower", 32 << 20, 512);
    let m = Mounted::new(&lower.dev);
    std::fs::write(m.dir.path().join("keep"), b"precious").unwrap();
    sh("sync", &[]);
    let upper = StackedLoop::over(&lower.dev);
    let before = lower.digest();
    wipe_is_refused(&upper.dev, &mounted_on(&lower.dev, &m));
    assert_eq!(lower.digest(), before);
    assert_eq!(
        std::fs::read(m.dir.path().join("keep")).unwrap(),
        b"precious"
    );
}

#[test]
fn a_loop_over_a_mounted_partition_or_active_swap_is_refused() {
    let disk = LoopDev::with_partscan("stack-part", 64 << 20, 512);
    let part = partition(&disk, 512);
    let m = Mounted::new(&part);
    let over_part = StackedLoop::over(&part);
    let msg = refusal(&over_part.dev);
    assert!(msg.contains(&mounted_on(&part, &m)), "{msg}");

    let swap = LoopDev::new("stack-swap", 32 << 20, 512);
    let _s = Swap::on(&swap.dev);
    let over_swap = StackedLoop::over(&swap.dev);
    let before = swap.digest();
    wipe_is_refused(
        &over_swap.dev,
        &format!("{} is active swap", swap.dev.display()),
    );
    assert_eq!(swap.digest(), before);
}

#[test]
fn stacks_three_levels_deep_are_refused_from_the_top_and_from_the_bottom() {
    // Down: C over B over A, A mounted.
    let a = LoopDev::new("deep-a", 32 << 20, 512);
    let ma = Mounted::new(&a.dev);
    let b = StackedLoop::over(&a.dev);
    let c = StackedLoop::over(&b.dev);
    for dev in [&b.dev, &c.dev] {
        let msg = refusal(dev);
        assert!(msg.contains(&mounted_on(&a.dev, &ma)), "{msg}");
    }
    // Up: Z over Y over X, Z mounted; nothing holds X exclusively, so only the guard stops it.
    let x = LoopDev::new("deep-x", 32 << 20, 512);
    let y = StackedLoop::over(&x.dev);
    let z = StackedLoop::over(&y.dev);
    let mz = Mounted::new(&z.dev);
    sh("sync", &[]);
    let before = x.digest();
    wipe_is_refused(&x.dev, &mounted_on(&z.dev, &mz));
    let msg = refusal(&y.dev);
    assert!(msg.contains(&mounted_on(&z.dev, &mz)), "{msg}");
    assert_eq!(x.digest(), before);
}

#[test]
fn a_filesystem_still_holding_a_mounted_loop_file_is_refused_after_a_lazy_unmount() {
    let outer = LoopDev::new("lazy-outer", 64 << 20, 512);
    let mo = Mounted::new(&outer.dev);
    let image = mo.dir.path().join("inner.img");
    write_pattern(&image, 16 << 20);
    let inner = StackedLoop::over(&image);
    let mi = Mounted::new(&inner.dev);
    // The outer filesystem leaves the mount table but lives on under the inner loop device.
    sh("umount", &["-l", mo.dir.path().to_str().unwrap()]);
    sh("sync", &[]);
    let before = outer.digest();
    wipe_is_refused(&outer.dev, &mounted_on(&inner.dev, &mi));
    assert_eq!(outer.digest(), before);
}

#[test]
fn a_second_loop_over_an_attached_and_mounted_image_is_refused() {
    let first = LoopDev::new("second", 32 << 20, 512);
    let m = Mounted::new(&first.dev);
    sh("sync", &[]);
    let second = StackedLoop::over(&first.backing);
    let before = first.digest();
    wipe_is_refused(&second.dev, &mounted_on(&first.dev, &m));
    assert_eq!(first.digest(), before);
    // A loop device alone over its image is free.
    let alone = LoopDev::new("alone", 8 << 20, 512);
    drop(Target::open_for_erase(&alone.dev, &ctx()).unwrap());
}

#[test]
fn an_attached_image_is_refused_through_a_hard_link_and_a_bind_mount() {
    let lo = LoopDev::new("aliased", 32 << 20, 512);
    let m = Mounted::new(&lo.dev);
    sh("sync", &[]);
    let before = lo.digest();
    let hard = Link::hard(&lo.backing, "aliased-hard");
    wipe_is_refused(&hard.path, &mounted_on(&lo.dev, &m));
    let bind = BindMount::of(&lo.backing, "aliased-bind");
    let msg = refusal(&bind.path);
    assert!(msg.contains(&mounted_on(&lo.dev, &m)), "{msg}");
    assert_eq!(lo.digest(), before);
}

#[test]
fn hard_links_to_the_register_and_the_key_are_refused_and_left_intact() {
    let home = Home::new();
    let out = home.run(&["keys", "init"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = home.run(&["assets", "list", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let register = home.path().join("register.sqlite");
    let key = std::fs::read_dir(home.path().join("keys"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_file())
        .expect("keys init wrote a key file");
    for file in [&register, &key] {
        let before = file_digest(file);
        let link = Link::hard(file, "state-link");
        let out = home.run(&["wipe", link.path.to_str().unwrap(), "--yes"]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains("a file of wipeproof's state directory"),
            "{}: {err}",
            file.display()
        );
        assert_eq!(file_digest(file), before, "{}", file.display());
    }
}

#[test]
fn a_symlink_swapped_during_the_open_never_yields_a_target_other_than_the_one_described() {
    let free = LoopDev::new("swap-free", 8 << 20, 512);
    let disk = LoopDev::with_partscan("swap-part", 16 << 20, 512);
    let part = partition(&disk, 512);
    let free_rdev = std::fs::metadata(&free.dev).unwrap().rdev();
    let link = Link::symbolic(&free.dev, "flip");
    let flip_to = |target: &Path| {
        let tmp = link.path.with_extension("next");
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(target, &tmp).unwrap();
        std::fs::rename(&tmp, &link.path).unwrap();
    };
    let stop = std::sync::atomic::AtomicBool::new(false);
    let (mut opened, mut refused, mut changed, mut wrong, mut other) = (0, 0, 0, None, None);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                flip_to(&part);
                std::thread::sleep(Duration::from_micros(300));
                flip_to(&free.dev);
                std::thread::sleep(Duration::from_micros(300));
            }
        });
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(4) && opened < 200 && wrong.is_none() {
            match Target::open_for_erase(&link.path, &ctx()) {
                Ok(t) => {
                    opened += 1;
                    // SAFETY: fstat on the target's own open descriptor.
                    let mut st: libc::stat = unsafe { std::mem::zeroed() };
                    let held =
                        (unsafe { libc::fstat(t.raw_fd(), &mut st) } == 0).then_some(st.st_rdev);
                    let disk = match t.kind() {
                        TargetKind::BlockDevice { disk, .. } => disk.clone(),
                        TargetKind::ImageFile => String::new(),
                    };
                    if held != Some(free_rdev)
                        || t.path() != free.dev.as_path()
                        || disk != free.name()
                    {
                        wrong = Some(format!(
                            "{} ({disk}) described, device {held:?} held, {free_rdev} expected",
                            t.path().display()
                        ));
                    }
                }
                // The partition is refused as one; a swap seen mid-open is said so. Anything
                // else is not what this race should give.
                Err(TargetError::Partition { .. }) => refused += 1,
                Err(TargetError::Changed { .. }) => changed += 1,
                Err(e) => {
                    other.get_or_insert(e.to_string());
                }
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    assert_eq!(
        wrong, None,
        "a target held another device than it described"
    );
    assert_eq!(other, None, "an open failed for another reason");
    assert!(
        opened > 0 && refused > 0,
        "opened {opened}, refused as a partition {refused}, changed {changed}"
    );
    let _ = disk;
}

/// Polls until `check` holds, for up to ten seconds.
fn wait_for(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process, killed (by its own id) and reaped on drop.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn has_lock_on(path: &Path) -> bool {
    let meta = std::fs::metadata(path).unwrap();
    let needle = format!(
        "{:02x}:{:02x}:{} ",
        libc::major(meta.dev()),
        libc::minor(meta.dev()),
        meta.ino()
    );
    std::fs::read_to_string("/proc/locks")
        .unwrap()
        .contains(&needle)
}

#[test]
fn an_image_under_a_posix_lock_or_held_by_qemu_is_refused() {
    // A POSIX record lock on one byte, as `lockf` takes it, from another open of the file.
    let image = ShmFile::with_pattern("posix-locked", 4 << 20);
    let holder = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&image.path)
        .unwrap();
    let lock = libc::flock {
        l_type: libc::F_RDLCK as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 200,
        l_len: 1,
        l_pid: 0,
    };
    // SAFETY: F_SETLK with a valid descriptor and struct.
    assert_eq!(
        unsafe { libc::fcntl(holder.as_raw_fd(), libc::F_SETLK, &lock) },
        0
    );
    let err = Target::open_for_erase(&image.path, &ctx()).unwrap_err();
    assert!(matches!(err, TargetError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("a POSIX lock"), "{err}");
    drop(holder);

    // qemu holds OFD locks on the disks it has open.
    let disk = ShmFile::with_pattern("qemu-disk", 4 << 20);
    let before = file_digest(&disk.path);
    let qemu = Child(
        Command::new("qemu-system-x86_64")
            .args(["-S", "-nodefaults", "-display", "none", "-machine", "none"])
            .arg("-drive")
            .arg(format!(
                "file={},format=raw,if=none,id=d0",
                disk.path.display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("qemu-system-x86_64 (installed by .ci/setup)"),
    );
    wait_for("qemu to lock its disk", || has_lock_on(&disk.path));
    let home = Home::new();
    let out = home.run(&["wipe", disk.path.to_str().unwrap(), "--yes"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(&format!("(pid {})", qemu.0.id())) && err.contains("OFD lock"),
        "{err}"
    );
    assert_eq!(file_digest(&disk.path), before);
}

#[test]
fn list_shows_a_drive_another_wipeproof_is_wiping_as_busy_with_its_pid() {
    let lo = LoopDev::new("busy", 8 << 20, 512);
    let before = lo.digest();
    let home = Home::new();
    // A wipe waiting for its confirmation already holds the drive.
    let mut wipe = Child(
        home.command(&["wipe", lo.dev.to_str().unwrap()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = wipe.0.id();
    let drive = |json: &serde_json::Value| {
        json["drives"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["path"] == lo.dev.to_str().unwrap())
            .cloned()
            .unwrap_or_default()
    };
    // The look that finds the wipe holding the drive is the one checked: a look made while
    // the wipe is still opening the drive sees it free.
    let mut seen = serde_json::Value::Null;
    wait_for("the wipe to hold the drive", || {
        let (_, json) = home.json(&["list", "--json"]);
        seen = drive(&json);
        !seen["busy"].is_null()
    });
    let d = seen;
    assert_eq!(d["busy"]["pid"], pid, "{d}");
    assert_eq!(d["busy"]["program"], "wipeproof", "{d}");
    let table = stdout(&home.run(&["list"]));
    let row = table
        .lines()
        .find(|l| l.starts_with(lo.dev.to_str().unwrap()))
        .unwrap_or_default();
    assert!(
        row.contains(&format!("busy (wipeproof, pid {pid})")),
        "{table}"
    );
    // A second wipe is refused and names the first.
    let err = Target::open_for_erase(&lo.dev, &ctx()).unwrap_err();
    assert!(err.to_string().contains(&format!("pid {pid}")), "{err}");
    // Declining ends the first wipe; nothing was written.
    drop(wipe.0.stdin.take());
    let _ = wipe.0.wait();
    assert_eq!(lo.digest(), before);
}
