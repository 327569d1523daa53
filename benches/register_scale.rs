//! The central register at scale: `cargo bench --bench register_scale [-- --assets N
//! --certificates M --backend sqlite|postgres]` (as root for PostgreSQL: a throwaway cluster).
//!
//! Fills a register with N assets (default 1,000,000) in collections of 100,000, each with one
//! drive, through the register's intake (`import_manifest`, what `intake import` calls once the
//! CSV is read), and M certificates (default N) of those drives, chained and signed by one
//! enrolled station, through `receive_certificate` (what `POST /api/v1/certificates` calls once
//! the signature is checked), so each is matched by serial and retires its asset. Then starts
//! `wipeproof serve` on it and measures what a compliance officer opens, with a read token:
//! a collection's first page and one in its middle, a search by serial and one by the customer's
//! name (which every asset matches), an asset's page, and
//! the API's asset list at an offset: p50 and p99 latency and bytes per answer, and the
//! database's size. Runs on SQLite and PostgreSQL unless `--backend` names one. With `--hold`
//! it keeps the filled register (and its server) until Enter is pressed, to look at queries.

#[path = "../src/register/postgres/test_cluster.rs"]
mod pg_cluster;

#[path = "common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Server, certificates, seed_certificate};
use wipeproof::certificate::issue::SignedCertificate;
use wipeproof::certificate::keys::{StationKey, public_pem};
use wipeproof::register::{Actor, Location, ManifestRow, Register};

/// Assets per collection.
const COLLECTION: usize = 100_000;
/// Requests per measured page.
const REQUESTS: usize = 40;

struct Settings {
    assets: usize,
    certificates: usize,
    backends: Vec<String>,
}

fn settings() -> Settings {
    let args: Vec<String> = std::env::args().collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let number = |name: &str| {
        value(name).map(|v| {
            v.replace('_', "")
                .parse::<usize>()
                .unwrap_or_else(|_| panic!("{name} {v}: give a whole number"))
        })
    };
    let assets = number("--assets").unwrap_or(1_000_000);
    Settings {
        assets,
        certificates: number("--certificates").unwrap_or(assets).min(assets),
        backends: match value("--backend") {
            Some(b) => vec![b],
            None => vec!["sqlite".into(), "postgres".into()],
        },
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let s = settings();
    let seed = seed_certificate();
    for backend in &s.backends {
        let home = tempfile::Builder::new()
            .prefix("wipeproof-scale-")
            .tempdir_in("/dev/shm")
            .expect("temp dir");
        let location = match backend.as_str() {
            "sqlite" => Location::Sqlite(home.path().join("register.sqlite")),
            _ => Location::Postgres(pg_cluster::database()),
        };
        let mut register = location.open().expect("open the register");
        println!(
            "{backend}: {} assets, {} certificates",
            s.assets, s.certificates
        );
        fill(&mut *register, &seed, &s);
        let token = "wpr_register_scale_benchmark_token";
        register
            .add_token("bench", &wipeproof::server::token_sha256(token), &actor())
            .expect("token");
        let size = database_size(&*register, &location);
        drop(register);
        println!("  database: {:.0} MB", size as f64 / 1e6);
        let server = Server::start(home.path(), &location);
        measure(&server.url, token, s.assets);
        if std::env::args().any(|a| a == "--hold") {
            println!(
                "  held: {location:?} served at {}; press Enter to drop it",
                server.url
            );
            let _ = std::io::stdin().read_line(&mut String::new());
        }
    }
}

fn actor() -> Actor {
    Actor {
        name: "bench".into(),
        station: "central".into(),
    }
}

/// Books the assets in, then receives the certificates; prints how long each took.
fn fill(register: &mut dyn Register, seed: &SignedCertificate, s: &Settings) {
    let started = Instant::now();
    for (c, first) in (0..s.assets).step_by(COLLECTION).enumerate() {
        let rows: Vec<ManifestRow> = (first..(first + COLLECTION).min(s.assets))
            .map(|i| ManifestRow {
                line: (i - first + 2) as u64,
                asset_tag: format!("TAG-{i:07}"),
                serial: format!("SN-{i:07}"),
                asset_type: Some("laptop".into()),
                make: Some("Lenovo".into()),
                model: Some("ThinkPad T14".into()),
                customer_ref: Some(format!("PO-{}", i / 1000)),
                media_serials: vec![format!("DRV-{i:03}")],
                extra: Default::default(),
            })
            .collect();
        let collection = format!("COL-{c:04}");
        let t = Instant::now();
        register
            .import_manifest("Bench Ltd", &collection, &rows, &actor())
            .expect("intake");
        println!(
            "  intake {collection}: {} rows in {:.2} s",
            rows.len(),
            t.elapsed().as_secs_f64()
        );
    }
    println!("  intake: {:.1} s in all", started.elapsed().as_secs_f64());
    let key = StationKey::generate().expect("key");
    let pem = public_pem(&key.verifying_key()).expect("pem");
    register
        .enroll_station(&key.key_id(), "bay-01", &pem, &actor())
        .expect("enroll");
    let made = certificates(seed, "bay-01", &key, s.certificates, Some("DRV"));
    let started = Instant::now();
    for (_, json) in &made {
        let cert: SignedCertificate = serde_json::from_str(json).expect("certificate");
        register
            .receive_certificate(&cert, json, "bay-01")
            .expect("receive");
    }
    let took = started.elapsed().as_secs_f64();
    println!(
        "  certificates: {} in {took:.1} s, {:.0}/s",
        made.len(),
        made.len() as f64 / took
    );
}

/// The register's size on disk (SQLite: the file and its log) or in the database.
fn database_size(register: &dyn Register, location: &Location) -> u64 {
    let _ = register;
    match location {
        Location::Sqlite(path) => ["", "-wal"]
            .iter()
            .filter_map(|s| std::fs::metadata(format!("{}{s}", path.display())).ok())
            .map(|m| m.len())
            .sum(),
        Location::Postgres(url) => {
            let mut c = postgres::Client::connect(url, postgres::NoTls).expect("connect");
            let n: i64 = c
                .query_one("SELECT pg_database_size(current_database())", &[])
                .expect("size")
                .get(0);
            n as u64
        }
    }
}

/// The address of a measured page's `i`th request.
type PathOf = Box<dyn Fn(usize) -> String>;

/// p50 and p99 latency and bytes of each page a compliance officer opens.
fn measure(url: &str, token: &str, assets: usize) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(120)))
        .build()
        .into();
    let some = move |i: usize| (i * 7919 + 13) % assets;
    let middle = COLLECTION.min(assets) / 100 / 2;
    let pages: Vec<(&str, PathOf)> = vec![
        (
            "collection page 1",
            Box::new(|_| "/collections/COL-0000".to_string()),
        ),
        (
            "collection page (middle)",
            Box::new(move |_| format!("/collections/COL-0000?page={}", middle.max(1))),
        ),
        (
            "search by serial",
            Box::new(move |i| format!("/assets?q=SN-{:07}", some(i))),
        ),
        (
            "search by customer (all match)",
            Box::new(|_| "/assets?q=bench".to_string()),
        ),
        (
            "asset page",
            Box::new(move |i| format!("/assets/TAG-{:07}", some(i))),
        ),
        (
            "API assets, 100 at an offset",
            Box::new(move |i| {
                format!(
                    "/api/v1/assets?collection=COL-0000&limit=100&offset={}",
                    some(i) % COLLECTION.min(assets)
                )
            }),
        ),
    ];
    for (name, path) in pages {
        let mut times = Vec::with_capacity(REQUESTS);
        let mut bytes = 0;
        for i in 0..REQUESTS {
            let t = Instant::now();
            let mut r = agent
                .get(&format!("{url}{}", path(i)))
                .header("Authorization", &format!("Bearer {token}"))
                .call()
                .expect("request");
            assert_eq!(r.status().as_u16(), 200, "{name}: {}", path(i));
            bytes = r
                .body_mut()
                .with_config()
                .limit(1 << 30)
                .read_to_vec()
                .expect("body")
                .len();
            times.push(t.elapsed());
        }
        times.sort();
        let at = |q: f64| times[((times.len() as f64 * q).ceil() as usize).saturating_sub(1)];
        println!(
            "  {name:<32} p50 {:>7.1} ms  p99 {:>7.1} ms  {:>7.1} kB",
            at(0.50).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3,
            bytes as f64 / 1e3
        );
    }
}
