//! How long booking in a large manifest takes: `cargo bench --bench intake`. A manifest of
//! 100,000 assets (the most one may hold) is read, then imported into a fresh SQLite register
//! (one transaction with a custody event per asset). Medians of 3 runs, in seconds.

use std::time::{Duration, Instant};

use wipeproof::intake::manifest::{self, MAX_ROWS};
use wipeproof::register::sqlite::SqliteRegister;
use wipeproof::register::{Actor, Register};

const RUNS: usize = 3;

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64()
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let mut text = String::from("Asset Tag;Serial;Category;Manufacturer;Model;Location\r\n");
    for i in 0..MAX_ROWS {
        text.push_str(&format!(
            "ACME-{i:06};SN{i:010};Laptops;Lenovo;\"ThinkPad T14; Gen 2\";Leeds floor {}\r\n",
            i % 7
        ));
    }
    let options = manifest::ReadOptions {
        columns: manifest::ColumnMap::profile(manifest::Profile::SnipeIt),
    };
    let actor = Actor {
        name: "bench".into(),
        station: "bench".into(),
    };
    let (mut read, mut import) = (Vec::new(), Vec::new());
    for run in 0..RUNS {
        let started = Instant::now();
        let rows = manifest::parse_with(text.as_bytes(), &options).expect("manifest");
        read.push(started.elapsed());
        assert_eq!(rows.len(), MAX_ROWS);

        let dir = tempfile::tempdir().expect("temp dir");
        let mut register =
            SqliteRegister::open(&dir.path().join("register.sqlite")).expect("register");
        let started = Instant::now();
        let n = register
            .import_manifest("Acme", &format!("COL-{run}"), &rows, &actor)
            .expect("import");
        import.push(started.elapsed());
        assert_eq!(n, MAX_ROWS);
    }
    println!(
        "intake of {MAX_ROWS} rows ({:.1} MB): read {:.2} s, import {:.2} s, total {:.2} s",
        text.len() as f64 / 1e6,
        median(read.clone()),
        median(import.clone()),
        median(read) + median(import)
    );
}
