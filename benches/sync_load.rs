//! The central register under load: `cargo bench --bench sync_load` (as root: the PostgreSQL
//! run makes a throwaway cluster with `pg_createcluster`). 20 enrolled stations send 50
//! certificates each, all at once, to one `wipeproof serve` on 127.0.0.1, the way `sync` does
//! (one `POST /api/v1/certificates` after another, in chain order). Run once on SQLite and
//! once on PostgreSQL; prints throughput (certificates/s) and the p50 and p99 latency of a
//! request, and checks that the register then holds exactly the 1,000 certificates sent, each
//! once, with a clean audit.
//!
//! The certificates are made once: one real certificate is issued by `wipeproof wipe` of a
//! small image file, and each station's 50 are that record with their own ids and serials,
//! chained and signed with the station's key through the library.

#[path = "../src/register/postgres/test_cluster.rs"]
mod pg_cluster;

use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use base64::Engine;
use wipeproof::certificate::issue::{SignatureBlock, SignedCertificate};
use wipeproof::certificate::keys::{StationKey, public_pem};
use wipeproof::certificate::record::ChainLink;
use wipeproof::register::{Actor, Location};

const STATIONS: usize = 20;
const EACH: usize = 50;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let seed = seed_certificate();
    for backend in ["sqlite", "postgres"] {
        let home = tempfile::Builder::new()
            .prefix("wipeproof-bench-")
            .tempdir_in("/dev/shm")
            .expect("temp dir");
        let location = match backend {
            "sqlite" => Location::Sqlite(home.path().join("register.sqlite")),
            _ => Location::Postgres(pg_cluster::database()),
        };
        let stations = enroll(&location);
        let batches: Vec<Vec<(String, String)>> = stations
            .iter()
            .map(|(name, key)| certificates(&seed, name, key))
            .collect();
        let server = Server::start(home.path(), &location);
        let started = Instant::now();
        let latencies = send_all(&server.url, batches.clone());
        let elapsed = started.elapsed();
        drop(server);
        check(&location, &batches);
        report(backend, elapsed, latencies);
    }
}

/// One genuine certificate, issued by the binary from a 1 MiB image file.
fn seed_certificate() -> SignedCertificate {
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

/// Enrolls 20 new station keys.
fn enroll(location: &Location) -> Vec<(String, StationKey)> {
    let mut register = location.open().expect("open the register");
    let admin = Actor {
        name: "bench".into(),
        station: "central".into(),
    };
    (0..STATIONS)
        .map(|s| {
            let key = StationKey::generate().expect("key");
            let name = format!("bay-{s:02}");
            let pem = public_pem(&key.verifying_key()).expect("pem");
            register
                .enroll_station(&key.key_id(), &name, &pem, &admin)
                .expect("enroll");
            (name, key)
        })
        .collect()
}

/// A station's 50 certificates (id, JSON), chained and signed by its key.
fn certificates(
    seed: &SignedCertificate,
    station: &str,
    key: &StationKey,
) -> Vec<(String, String)> {
    let mut previous: Option<ChainLink> = None;
    (0..EACH)
        .map(|i| {
            let mut record = seed.record.clone();
            record.id = uuid::Uuid::new_v4().to_string();
            record.wipe_id = uuid::Uuid::new_v4().to_string();
            record.media.serial = Some(format!("{station}-drive-{i:03}"));
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
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(home: &Path, location: &Location) -> Server {
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

/// Every station sends its certificates at once; the latency of every request.
fn send_all(url: &str, batches: Vec<Vec<(String, String)>>) -> Vec<Duration> {
    let start = Arc::new(Barrier::new(batches.len()));
    let senders: Vec<_> = batches
        .into_iter()
        .map(|batch| {
            let (url, start) = (url.to_string(), start.clone());
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(60)))
                    .build()
                    .into();
                start.wait();
                batch
                    .iter()
                    .map(|(id, json)| {
                        let sent = Instant::now();
                        let response = agent
                            .post(&format!("{url}/api/v1/certificates"))
                            .header("Content-Type", "application/json")
                            .send(json.as_bytes())
                            .expect("request");
                        let status = response.status().as_u16();
                        assert_eq!(status, 201, "certificate {id}");
                        sent.elapsed()
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    senders
        .into_iter()
        .flat_map(|s| s.join().expect("station thread"))
        .collect()
}

/// Exactly the certificates sent, each once, and a clean audit.
fn check(location: &Location, batches: &[Vec<(String, String)>]) {
    let register = location.open().expect("open the register");
    let audit = register.audit().expect("audit");
    assert_eq!(
        audit.certificates,
        STATIONS * EACH,
        "certificates in the register"
    );
    assert!(audit.ok, "{:?}", audit.problems);
    for (id, _) in batches.iter().flatten() {
        assert!(register.has_certificate(id).expect("read"), "{id} was lost");
    }
}

fn report(backend: &str, elapsed: Duration, mut latencies: Vec<Duration>) {
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1)];
    println!(
        "{backend:>8}: {} certificates from {STATIONS} stations in {:.2} s: {:.0} certificates/s, \
         latency p50 {:.1} ms, p99 {:.1} ms; register holds exactly {} (audit ok)",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        STATIONS * EACH
    );
}
