//! The central register under load: `cargo bench --bench sync_load` (as root: the PostgreSQL
//! run makes a throwaway cluster with `pg_createcluster`). 20 enrolled stations send 50
//! certificates each, all at once, to `wipeproof serve` on 127.0.0.1, the way `sync` does
//! (one `POST /api/v1/certificates` after another, in chain order). Run on SQLite with one
//! server, and on PostgreSQL with 1, 2 and 4 servers on the one database (the stations spread
//! over them, as behind a load balancer); prints throughput (certificates/s) and the p50 and
//! p99 latency of a request, and checks that the register then holds exactly the 1,000
//! certificates sent, each once, with a clean audit (one custody chain).
//!
//! The certificates are made once: one real certificate is issued by `wipeproof wipe` of a
//! small image file, and each station's 50 are that record with their own ids and serials,
//! chained and signed with the station's key through the library.

#[path = "../src/register/postgres/test_cluster.rs"]
mod pg_cluster;

#[path = "common/mod.rs"]
mod common;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::{Server, certificates, seed_certificate};
use wipeproof::certificate::keys::{StationKey, public_pem};
use wipeproof::register::{Actor, Location};

const STATIONS: usize = 20;
const EACH: usize = 50;

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let seed = seed_certificate();
    for (backend, servers) in [
        ("sqlite", 1),
        ("postgres", 1),
        ("postgres", 2),
        ("postgres", 4),
    ] {
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
            .map(|(name, key)| certificates(&seed, name, key, EACH, None))
            .collect();
        let servers: Vec<Server> = (0..servers)
            .map(|_| Server::start(home.path(), &location))
            .collect();
        let urls: Vec<String> = servers.iter().map(|s| s.url.clone()).collect();
        let started = Instant::now();
        let latencies = send_all(&urls, batches.clone());
        let elapsed = started.elapsed();
        drop(servers);
        check(&location, &batches);
        report(backend, urls.len(), elapsed, latencies);
    }
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

/// Every station sends its certificates at once, station `i` to server `i % servers`; the
/// latency of every request.
fn send_all(urls: &[String], batches: Vec<Vec<(String, String)>>) -> Vec<Duration> {
    let start = Arc::new(Barrier::new(batches.len()));
    let senders: Vec<_> = batches
        .into_iter()
        .enumerate()
        .map(|(i, batch)| {
            let (url, start) = (urls[i % urls.len()].clone(), start.clone());
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

fn report(backend: &str, servers: usize, elapsed: Duration, mut latencies: Vec<Duration>) {
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() as f64 * q).ceil() as usize).saturating_sub(1)];
    println!(
        "{backend:>8}, {servers} server(s): {} certificates from {STATIONS} stations in {:.2} s: \
         {:.0} certificates/s, latency p50 {:.1} ms, p99 {:.1} ms; register holds exactly {} \
         (audit ok)",
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64(),
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        STATIONS * EACH
    );
}
