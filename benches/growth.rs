//! How the time of a few bounded tasks grows with their size: `cargo bench --bench growth`.
//! The tests only bound these against hangs; the claims about speed are measured here, each at
//! sizes doubling or growing tenfold, as the time per unit (flat is linear growth).
//!
//! * `manifest`: reading manifests of 12,500 to 100,000 rows (time per row).
//! * `pdf-tree`: a PDF name tree node that lists itself as its kid 10 to 100,000 times (the
//!   loop is an error at once, whatever its size).
//! * `shown`: as root, `wipeproof station --headless` with 1, 4 and 16 loop devices plugged in
//!   at once (over files in /dev/shm): the time until the last of them is shown.
//!
//! `cargo bench --bench growth -- manifest` runs one of them. Medians of 3 runs.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lopdf::{Document, Object, dictionary};
use wipeproof::certificate::pdf::tree::name_tree;
use wipeproof::intake::manifest::{self, MAX_ROWS};

const RUNS: usize = 3;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The median of `RUNS` timings of `f`.
fn timed(mut f: impl FnMut()) -> Duration {
    median(
        (0..RUNS)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn manifest_rows() {
    for rows in [MAX_ROWS / 8, MAX_ROWS / 4, MAX_ROWS / 2, MAX_ROWS] {
        let mut text = String::from("asset_tag,serial,type,make,model\r\n");
        for i in 0..rows {
            text.push_str(&format!(
                "ACME-{i:06},SN{i:08},laptop,Lenovo,ThinkPad T14\r\n"
            ));
        }
        let took = timed(|| {
            let read = manifest::parse(text.as_bytes()).expect("manifest");
            assert_eq!(read.len(), rows);
        });
        println!(
            "manifest: {rows:>7} rows in {:>8.1} ms, {:>6.0} ns per row",
            took.as_secs_f64() * 1e3,
            took.as_secs_f64() * 1e9 / rows as f64
        );
    }
}

fn pdf_tree() {
    for copies in [10, 100, 1_000, 10_000, 100_000] {
        let mut doc = Document::with_version("1.7");
        let node = doc.new_object_id();
        let kids: Vec<Object> = (0..copies).map(|_| Object::Reference(node)).collect();
        doc.objects
            .insert(node, Object::Dictionary(dictionary! { "Kids" => kids }));
        let outer = dictionary! { "Kids" => vec![Object::Reference(node)] };
        let took = timed(|| {
            assert!(name_tree(&doc, &outer).is_err(), "a loop must be an error");
        });
        println!(
            "pdf-tree: a node listing itself {copies:>6} times refused in {:>8.3} ms",
            took.as_secs_f64() * 1e3
        );
    }
}

/// Loop devices of one group, detached and removed on drop.
struct Plugged(Vec<(String, String)>);

impl Plugged {
    fn new(token: &str, group: usize, count: usize) -> Plugged {
        let mut made = Plugged(Vec::new());
        for i in 0..count {
            let file = format!("/dev/shm/wipeproof-bench-{token}-{group}-{i}.img");
            std::fs::File::create(&file)
                .and_then(|f| f.set_len(8 << 20))
                .expect("image file");
            let out = Command::new("losetup")
                .args(["-f", "--show", &file])
                .output()
                .expect("losetup");
            assert!(out.status.success(), "losetup: {out:?}");
            let dev = String::from_utf8_lossy(&out.stdout).trim().to_string();
            made.0.push((dev, file));
        }
        made
    }
}

impl Drop for Plugged {
    fn drop(&mut self) {
        for (dev, file) in &self.0 {
            let _ = Command::new("losetup").args(["-d", dev]).output();
            let _ = std::fs::remove_file(file);
        }
    }
}

fn drives_shown() {
    if !nix::unistd::geteuid().is_root() {
        println!("shown: skipped, it attaches loop devices and needs root");
        return;
    }
    let token = format!("{:08x}", std::process::id());
    let home = tempfile::tempdir_in("/dev/shm").expect("state directory");
    let mut station = Command::new(env!("CARGO_BIN_EXE_wipeproof"))
        .args([
            "station",
            "--headless",
            "--only",
            &format!("*bench-{token}*"),
        ])
        .env("WIPEPROOF_HOME", home.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("wipeproof station");
    // It is watching once it says so; what it says later is not read.
    let stderr = station.stderr.take().expect("stderr");
    let mut said = BufReader::new(stderr).lines();
    while !said
        .next()
        .and_then(Result::ok)
        .expect("the station said it is watching")
        .contains("is watching for drives")
    {}
    std::thread::spawn(move || said.for_each(drop));
    let (tx, rx) = std::sync::mpsc::channel::<serde_json::Value>();
    let stdout = station.stdout.take().expect("stdout");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line)
                && tx.send(v).is_err()
            {
                break;
            }
        }
    });
    let mut group = 0;
    for count in [1, 4, 16] {
        let mut runs = Vec::new();
        for _ in 0..RUNS {
            group += 1;
            let t = Instant::now();
            let plugged = Plugged::new(&token, group, count);
            let mut waiting: Vec<&str> = plugged.0.iter().map(|(d, _)| d.as_str()).collect();
            while !waiting.is_empty() {
                let v = rx
                    .recv_timeout(Duration::from_secs(60))
                    .expect("the station showed the drives within a minute");
                if v["event"] == "appeared" {
                    waiting.retain(|d| v["drive"] != *d);
                }
            }
            runs.push(t.elapsed());
        }
        println!(
            "shown: {count:>2} drives plugged in at once, the last shown after {:>7.0} ms",
            median(runs).as_secs_f64() * 1e3
        );
    }
    let _ = station.kill();
    let _ = station.wait();
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let wanted = |name: &str| {
        let names: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
        names.is_empty() || names.iter().any(|a| *a == name)
    };
    if wanted("manifest") {
        manifest_rows();
    }
    if wanted("pdf-tree") {
        pdf_tree();
    }
    if wanted("shown") {
        drives_shown();
    }
}
