//! One scan of sysfs per run: a wipe of many drives scans every block device a constant number
//! of times, not once or more per drive; and a drive that changes after the scan is still
//! refused as if the scan had been made the instant it is opened.

use wipeproof::device::{GuardContext, Protection, Target, TargetError};

use crate::support::*;

/// The counts the binary prints with `WIPEPROOF_DEBUG_SCANS` set: full scans, disks read again.
fn scans(stderr: &str) -> (u64, u64) {
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("wipeproof: debug: "))
        .unwrap_or_else(|| panic!("no debug line in: {stderr}"));
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

#[test]
fn a_wipe_of_eight_drives_scans_sysfs_a_constant_number_of_times() {
    let home = Home::new();
    let drives: Vec<LoopDev> = (0..8)
        .map(|i| LoopDev::new(&format!("scan{i}"), 4 << 20, 512))
        .collect();
    let mut args = vec!["wipe", "--method", "zero", "--yes", "--json"];
    args.extend(drives.iter().map(|d| d.dev.to_str().unwrap()));
    let out = home
        .command(&args)
        .env("WIPEPROOF_DEBUG_SCANS", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{json} {stderr}");
    let results = json["drives"].as_array().unwrap();
    assert_eq!(results.len(), 8);
    assert!(results.iter().all(|d| d["result"] == "PASS"), "{json}");
    let (full, disks) = scans(&stderr);
    assert!(
        (1..=2).contains(&full),
        "{full} full scans of /sys/block for 8 drives: {stderr}"
    );
    // Each drive's own directory (and what its stack reaches, nothing here) read again before
    // and after each of its two opens: a few per drive, never all of them per drive.
    assert!(disks <= 8 * 8, "{disks} disks read again for 8 drives");
}

#[test]
fn a_loop_device_attached_over_a_drive_after_the_scan_refuses_it() {
    let lo = LoopDev::new("scanover", 1 << 20, 512);
    let ctx = GuardContext::new(vec![], None);
    assert!(ctx.guard().protections(&lo.name()).is_empty());
    let over = StackedLoop::over(&lo.dev);
    match Target::open_for_erase(&lo.dev, &ctx) {
        Err(TargetError::Refused { reasons, .. }) => assert!(
            reasons.iter().any(|p| matches!(
                p,
                Protection::LoopOver { loop_device, .. } if *loop_device == over.dev.display().to_string()
            )),
            "{reasons:?}"
        ),
        other => panic!("{} was not refused: {other:?}", lo.dev.display()),
    }
    drop(over);
    assert!(Target::open_for_erase(&lo.dev, &ctx).is_ok());
}

#[test]
fn a_drive_mounted_after_the_scan_is_refused() {
    let lo = LoopDev::new("scanmnt", 32 << 20, 512);
    let ctx = GuardContext::new(vec![], None);
    assert!(ctx.guard().protections(&lo.name()).is_empty());
    let mounted = Mounted::new(&lo.dev);
    let err = Target::open_for_erase(&lo.dev, &ctx).unwrap_err();
    assert!(
        matches!(&err, TargetError::Refused { reasons, .. }
            if reasons.iter().any(|p| matches!(p, Protection::Mounted { .. }))),
        "{err}"
    );
    drop(mounted);
}
