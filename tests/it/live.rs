//! The live USB image, end to end: `bootable/test` builds the image around the binary cargo
//! built for this test run and boots it in QEMU three times (UEFI with Secure Boot enforced,
//! twice, then BIOS), unattended, with an NVMe and a SATA drive full of random data. The script
//! checks the kernel's Secure Boot and lockdown lines, that both drives read back as zeros, that
//! every certificate on the stick verifies against the stick's `station.pem` and says PASS,
//! that the second boot signs with the same key, that suspend to RAM and resume work under
//! lockdown, and that nothing on the stick changed outside its state partition.
//!
//! Software emulation (TCG): about a minute per boot on a 2-core machine.

use std::process::Command;

use crate::support::require_root;

#[test]
fn live_image_boots_with_secure_boot_wipes_unattended_and_powers_off() {
    require_root();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/bootable/test");
    let out = Command::new(script)
        .args(["--binary", env!("CARGO_BIN_EXE_wipeproof")])
        .output()
        .expect("bootable/test runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "bootable/test failed ({}):\n{stderr}",
        out.status
    );
    assert!(stderr.contains("bootable/test: passed"), "{stderr}");
    // The figures the README quotes.
    if let Some(line) = stderr.lines().find(|l| l.contains("passed:")) {
        eprintln!("{line}");
    }
}
