//! What the register's benchmarks share: a genuine seed certificate issued by the binary,
//! certificates made from it for many stations (chained, signed), and `wipeproof serve` on a
//! free port of 127.0.0.1.

#![allow(dead_code)]

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use base64::Engine;
use wipeproof::certificate::issue::{SignatureBlock, SignedCertificate};
use wipeproof::certificate::keys::StationKey;
use wipeproof::certificate::record::ChainLink;
use wipeproof::register::Location;

/// One genuine certificate, issued by the binary from a 1 MiB image file.
pub fn seed_certificate() -> SignedCertificate {
    let home = tempfile::tempdir_in("/dev/shm").expect("temp dir");
    // Beside the state directory, not in it: the guard never erases the state directory's files.
    let images = tempfile::tempdir_in("/dev/shm").expect("temp dir");
    let image = images.path().join("seed.img");
    std::fs::write(&image, vec![0x5a; 1 << 20]).expect("image");
    let out = Command::new(env!("CARGO_BIN_EXE_wipeproof"))
        .args([
            "wipe",
            image.to_str().expect("path"),
            "--method",
            "zero",
            "--yes",
            "--json",
        ])
        .env("WIPEPROOF_HOME", home.path())
        .env_remove("WIPEPROOF_DATABASE")
        .output()
        .expect("run wipeproof wipe");
    assert!(
        out.status.success(),
        "wipe of the seed image failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = std::fs::read_dir(home.path().join("certificates"))
        .expect("certificates")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "json") && !p.ends_with("chain.json"))
        .expect("a certificate JSON");
    serde_json::from_slice(&std::fs::read(json).expect("read")).expect("certificate")
}

/// `count` certificates of a station (id, JSON), chained and signed by its key, each for the
/// drive `{serial}-{i}` (`serial` defaults to `{station}-drive`).
pub fn certificates(
    seed: &SignedCertificate,
    station: &str,
    key: &StationKey,
    count: usize,
    serial: Option<&str>,
) -> Vec<(String, String)> {
    let mut previous: Option<ChainLink> = None;
    let serial = serial
        .map(str::to_string)
        .unwrap_or_else(|| format!("{station}-drive"));
    (0..count)
        .map(|i| {
            let mut record = seed.record.clone();
            record.id = uuid::Uuid::new_v4().to_string();
            // Issued now: a register refuses a certificate dated before its station's enrolment.
            record.issued_at = wipeproof::timestamp::now();
            record.wipe_id = uuid::Uuid::new_v4().to_string();
            record.media.serial = Some(format!("{serial}-{i:03}"));
            record.asset_tags = Vec::new();
            record.performed_by.station_id = station.into();
            record.key_id = key.key_id();
            record.previous = previous.take();
            let canonical = record.canonical_bytes().expect("canonical");
            let record_sha256 = record.sha256().expect("sha256");
            previous = Some(ChainLink {
                id: record.id.clone(),
                record_sha256: record_sha256.clone(),
            });
            let signed = SignedCertificate {
                signature: SignatureBlock {
                    algorithm: "Ed25519".into(),
                    key_id: key.key_id(),
                    value: base64::engine::general_purpose::STANDARD
                        .encode(key.sign(&canonical).to_bytes()),
                    record_sha256,
                },
                record,
            };
            let json = serde_json::to_string_pretty(&signed).expect("json");
            (signed.record.id, json)
        })
        .collect()
}

/// `wipeproof serve` on a free port of 127.0.0.1; killed on drop.
pub struct Server {
    child: Child,
    pub url: String,
}

impl Server {
    pub fn start(home: &Path, location: &Location) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_wipeproof"));
        command
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("WIPEPROOF_HOME", home)
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        match location {
            Location::Postgres(url) => command.env("WIPEPROOF_DATABASE", url),
            Location::Sqlite(_) => command.env_remove("WIPEPROOF_DATABASE"),
        };
        let mut child = command.spawn().expect("start wipeproof serve");
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = std::io::BufReader::new(stderr).lines();
        let url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(i) = line.find("http://") {
                        break line[i..]
                            .split_whitespace()
                            .next()
                            .unwrap_or("")
                            .to_string();
                    }
                }
                _ => {
                    let _ = child.kill();
                    panic!("the server did not start");
                }
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Server { child, url }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
