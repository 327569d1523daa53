//! A state directory on FAT, as on the live image's stick: no hard links, and through FUSE no
//! rename flags either. Keys and certificates are written create-new all the same, and a second
//! writer never replaces the first.
//!
//! The host kernel here has no vfat driver, so FAT is mounted with `fusefat` (installed by
//! `.ci/setup`); the live-image test covers the kernel's vfat.

use std::path::{Path, PathBuf};
use std::process::Command;

use wipeproof::durable::{WriteOptions, write_atomic_with};

use crate::support::*;

/// A FAT filesystem in an image file in /dev/shm, mounted through FUSE; unmounted and removed
/// on drop.
struct FuseFat {
    image: PathBuf,
    dir: tempfile::TempDir,
}

impl FuseFat {
    fn new(stem: &str) -> FuseFat {
        require_root();
        let image = shm_path(stem);
        let _ = std::fs::remove_file(&image);
        sh("truncate", &["-s", "64M", image.to_str().unwrap()]);
        // No volume label: fusefat would list it as a file.
        sh("mkfs.vfat", &[image.to_str().unwrap()]);
        let dir = tempfile::Builder::new()
            .prefix("wipeproof-fat-")
            .tempdir()
            .unwrap();
        let fat = FuseFat { image, dir };
        sh(
            "fusefat",
            &[
                "-o",
                "rw+",
                fat.image.to_str().unwrap(),
                fat.dir.path().to_str().unwrap(),
            ],
        );
        fat
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for FuseFat {
    fn drop(&mut self) {
        let _ = Command::new("fusermount")
            .args(["-u", self.dir.path().to_str().unwrap()])
            .status();
        let _ = std::fs::remove_file(&self.image);
    }
}

#[test]
fn create_new_on_fat_writes_once_and_never_replaces() {
    let fat = FuseFat::new("fat-durable.img");
    let file = fat.path().join("key.pem");
    let opts = WriteOptions {
        mode: 0o600,
        create_new: true,
    };
    // Before: the link fails (EPERM) and so does RENAME_NOREPLACE (EINVAL), and the write
    // failed with "Invalid argument".
    write_atomic_with(&file, b"first", opts).unwrap();
    let again = write_atomic_with(&file, b"second", opts).unwrap_err();
    assert_eq!(again.kind(), std::io::ErrorKind::AlreadyExists);
    assert_eq!(std::fs::read(&file).unwrap(), b"first");
    let names: Vec<String> = std::fs::read_dir(fat.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        vec!["key.pem".to_string()],
        "no temporary file is left"
    );
}

#[test]
fn a_station_keeps_its_key_and_certificates_on_fat() {
    let fat = FuseFat::new("fat-station.img");
    let home = Home::inside(fat.path());
    let out = home.run(&["keys", "init"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let id = stdout(&out).trim().to_string();
    let out = home.run(&["keys", "init"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(stdout(&home.run(&["keys", "show"])).trim(), id);

    // The register stays in /dev/shm: SQLite's WAL needs shared memory maps, which FUSE does
    // not give (the kernel's vfat on the live image does).
    let register = tempfile::tempdir_in("/dev/shm").unwrap();
    let database = format!(
        "sqlite:{}",
        register.path().join("register.sqlite").display()
    );
    let img = ShmFile::with_pattern("fat-station-drive.img", 4 << 20);
    let (code, json) = home.json(&[
        "--database",
        &database,
        "wipe",
        img.path.to_str().unwrap(),
        "--method",
        "zero",
        "--yes",
        "--json",
    ]);
    assert_eq!(code, 0, "{json}");
    let pdf = only_drive(&json)["certificate_pdf"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(pdf.starts_with(fat.path().to_str().unwrap()), "{pdf}");
    let (code, report) = home.json(&["verify", &pdf, "--json"]);
    assert_eq!(code, 0, "{report}");
}

#[test]
fn an_image_behind_a_mounted_fuse_filesystem_is_not_wiped() {
    let fat = FuseFat::new("fat-mounted.img");
    std::fs::write(fat.path().join("live.txt"), b"still mounted").unwrap();
    let home = Home::new();
    let out = home.run(&[
        "wipe",
        fat.image.to_str().unwrap(),
        "--method",
        "zero",
        "--yes",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("fusefat (pid") && err.contains("open for writing"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(fat.path().join("live.txt")).unwrap(),
        b"still mounted"
    );
}
