//! Image files on a copy-on-write filesystem (a real btrfs on a loop device over /dev/shm):
//! `wipe` refuses them, because a snapshot or the device itself keeps earlier copies of the
//! data; with `--allow-cow` the wipe runs and its certificate says it was logical only.

use std::path::Path;
use std::process::Command;

use crate::support::*;

/// A btrfs subvolume holding a pattern-filled image, and a read-only snapshot of it taken
/// before any wipe. Everything is unmounted and detached on drop, also when a test fails.
struct CowImage {
    image: std::path::PathBuf,
    snapshot_image: std::path::PathBuf,
    // Dropped in this order: the mount, then the loop device under it.
    _mount: Mounted,
    _lo: LoopDev,
}

impl CowImage {
    fn new(stem: &str) -> CowImage {
        let lo = LoopDev::new(stem, 256 << 20, 512);
        let mount = Mounted::btrfs(&lo.dev);
        let root = mount.dir.path();
        let vol = root.join("vol");
        sh(
            "btrfs",
            &["-q", "subvolume", "create", vol.to_str().unwrap()],
        );
        let image = vol.join("disk.img");
        write_pattern(&image, 8 << 20);
        let snap = root.join("snap");
        sh(
            "btrfs",
            &[
                "-q",
                "subvolume",
                "snapshot",
                "-r",
                vol.to_str().unwrap(),
                snap.to_str().unwrap(),
            ],
        );
        sh("sync", &[]);
        CowImage {
            snapshot_image: snap.join("disk.img"),
            image,
            _mount: mount,
            _lo: lo,
        }
    }
}

fn pdf_words(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .args([pdf.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) is installed by .ci/setup");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

const LOGICAL_ONLY: &str = "logical sanitisation only: earlier copies of this file may survive \
                            on the device (copy-on-write filesystem btrfs)";

#[test]
fn an_image_on_btrfs_is_refused_and_with_allow_cow_certified_as_logical_only() {
    let cow = CowImage::new("cow-btrfs");
    let image = cow.image.to_str().unwrap();
    let before = file_digest(&cow.image);
    let home = Home::new();

    let out = home.run(&["wipe", image, "--yes"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for needle in [
        image,
        "it is on btrfs, a copy-on-write filesystem",
        "--allow-cow",
        "nothing was erased",
    ] {
        assert!(err.contains(needle), "expected {needle:?} in: {err}");
    }
    assert_eq!(
        file_digest(&cow.image),
        before,
        "the refused image was written"
    );

    let out = home.run(&["wipe", image, "--allow-cow", "--yes", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let drive = only_drive(&json);
    assert_eq!(drive["result"], "PASS", "{json}");
    assert_eq!(surviving_blocks(&cow.image), 0);
    // What the certificate warns of: the snapshot still holds the plaintext.
    assert!(
        surviving_blocks(&cow.snapshot_image) > 0,
        "the snapshot lost its data"
    );

    let record_path = drive["certificate_json"].as_str().unwrap();
    let signed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(record_path).unwrap()).unwrap();
    let logical = &signed["record"]["sanitization"]["logical_only"];
    assert_eq!(logical["filesystem"], "btrfs", "{signed}");
    assert_eq!(logical["note"], LOGICAL_ONLY, "{signed}");
    assert_eq!(crate::schema::errors_of(&signed), Vec::<String>::new());

    let pdf = drive["certificate_pdf"].as_str().unwrap();
    let words = pdf_words(Path::new(pdf));
    for needle in [
        LOGICAL_ONLY,
        "Logical only: earlier copies of the file may survive on the device",
    ] {
        assert!(
            words.contains(needle),
            "missing {needle:?} in the PDF: {words}"
        );
    }
    for cert in [record_path, pdf] {
        let (code, report) = home.json(&["verify", cert, "--json"]);
        assert_eq!(code, 0, "{cert}: {report}");
        assert_eq!(report["valid"], true, "{cert}: {report}");
    }
}

#[test]
fn an_image_on_tmpfs_is_wiped_without_allow_cow_and_its_certificate_has_no_scope() {
    let file = ShmFile::with_pattern("not-cow", 4 << 20);
    let home = Home::new();
    let out = home.run(&["wipe", file.path.to_str().unwrap(), "--yes", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let drive = only_drive(&json);
    let text = std::fs::read_to_string(drive["certificate_json"].as_str().unwrap()).unwrap();
    assert!(!text.contains("logical_only"), "{text}");
    let words = pdf_words(Path::new(drive["certificate_pdf"].as_str().unwrap()));
    assert!(!words.contains("logical sanitisation"), "{words}");
}

#[test]
fn an_image_on_xfs_is_refused_with_reflinks_on_and_wiped_with_them_off() {
    for reflink in [true, false] {
        let lo = LoopDev::new("cow-xfs", 320 << 20, 512);
        let mount = Mounted::xfs(&lo.dev, reflink);
        let image = mount.dir.path().join("disk.img");
        write_pattern(&image, 4 << 20);
        let home = Home::new();
        let out = home.run(&["wipe", image.to_str().unwrap(), "--yes"]);
        let err = stderr(&out);
        if reflink {
            assert_eq!(out.status.code(), Some(2), "{err}");
            assert!(
                err.contains("it is on xfs with reflink, a copy-on-write filesystem"),
                "{err}"
            );
            assert_eq!(
                surviving_blocks(&image),
                1024,
                "the refused image was written"
            );
        } else {
            assert_eq!(out.status.code(), Some(0), "{err}");
            assert_eq!(surviving_blocks(&image), 0);
        }
        drop(mount);
    }
}
