//! Throughput of the overwrite engine and verification beside `dd` on the same RAM-backed loop
//! device, in one run, as ratios (README.md "Performance").
//!
//! Run as root: `cargo bench --bench engine` (size with WIPEPROOF_BENCH_MIB, default 1024).
//! Each comparison runs dd and wipeproof back to back five times and reports medians; the
//! in-memory generator and hash figures are the best of three.

use std::process::Command;
use std::time::{Duration, Instant};

use wipeproof::device::{GuardContext, Target};
use wipeproof::erase::engine::{PassOptions, write_pass};
use wipeproof::erase::pattern::Keystream;
use wipeproof::erase::{NullSink, Pattern, StopFlag};
use wipeproof::verify::full::read_full;
use wipeproof::verify::plan::{PlanParams, SamplePlan};
use wipeproof::verify::sample::{Expected, read_plan};

const RUNS: usize = 3;

struct Loop {
    dev: String,
    file: String,
}

impl Drop for Loop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").args(["-d", &self.dev]).status();
        let _ = std::fs::remove_file(&self.file);
    }
}

fn best(mut f: impl FnMut() -> Duration) -> Duration {
    (0..RUNS).map(|_| f()).min().unwrap_or_default()
}

fn dd(args: &[&str]) -> Duration {
    let t = Instant::now();
    let out = Command::new("dd")
        .args(args)
        .arg("status=none")
        .output()
        .expect("dd runs");
    let took = t.elapsed();
    // dd reports "No space left on device" at the end of a block device: that is success here.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() || err.contains("No space left"),
        "dd failed: {err}"
    );
    took
}

fn gbps(bytes: u64, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e9
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if !nix::unistd::geteuid().is_root() {
        eprintln!("the engine benchmark needs root (it attaches a loop device); skipped");
        return;
    }
    let mib: u64 = std::env::var("WIPEPROOF_BENCH_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let size = mib << 20;
    let file = format!("/dev/shm/wipeproof-bench-{}.img", std::process::id());
    std::fs::File::create(&file)
        .and_then(|f| f.set_len(size))
        .expect("create backing file");
    let out = Command::new("losetup")
        .args(["-f", "--show", &file])
        .output()
        .expect("losetup runs");
    assert!(out.status.success(), "losetup failed");
    let lo = Loop {
        dev: String::from_utf8_lossy(&out.stdout).trim().to_string(),
        file,
    };
    // Fill the file once so every run writes over allocated pages.
    dd(&[
        "if=/dev/zero",
        &format!("of={}", lo.dev),
        "bs=4M",
        "oflag=direct",
    ]);

    let ctx = GuardContext::new(vec![], None);
    let target = Target::open_for_erase(std::path::Path::new(&lo.dev), &ctx).expect("open");
    let stop = StopFlag::new();
    let opts = PassOptions::default();
    let plan = SamplePlan::build(PlanParams {
        size_bytes: size,
        sector_size: target.geometry().logical_sector_size,
        coverage_ppm: 100_000,
        seed: [9; 32],
    })
    .expect("plan");

    // dd needs the device too: our exclusive handle is dropped around each dd run. Each round
    // runs dd and then ours back to back, so both see the same machine; the ratio reported is
    // the median over the rounds.
    drop(target);
    let dd_write = || {
        dd(&[
            "if=/dev/zero",
            &format!("of={}", lo.dev),
            "bs=4M",
            "oflag=direct",
        ])
    };
    let dd_read = || {
        dd(&[
            &format!("if={}", lo.dev),
            "of=/dev/null",
            "bs=4M",
            "iflag=direct",
        ])
    };
    let open = || Target::open_for_erase(std::path::Path::new(&lo.dev), &ctx).expect("open");
    let zero = Pattern::Constant(0);
    let random = Pattern::Random(Keystream::random().expect("rng"));

    let zero_pass = rounds(dd_write, || {
        let t = open();
        let start = Instant::now();
        write_pass(&t, &zero, 0, &opts, &NullSink, &stop, None, &mut |_| {});
        start.elapsed()
    });
    let full_zero = rounds(dd_read, || {
        let t = open();
        let start = Instant::now();
        assert!(read_full(&t, &zero, &plan, &NullSink, &stop).passed());
        start.elapsed()
    });
    let sample_zero = rounds(dd_read, || {
        let t = open();
        let start = Instant::now();
        assert!(read_plan(&t, &plan, Expected::Pattern(&zero), &NullSink, &stop).passed());
        start.elapsed()
    });
    let random_pass = rounds(dd_write, || {
        let t = open();
        let start = Instant::now();
        write_pass(&t, &random, 0, &opts, &NullSink, &stop, None, &mut |_| {});
        start.elapsed()
    });
    let full_random = rounds(dd_read, || {
        let t = open();
        let start = Instant::now();
        assert!(read_full(&t, &random, &plan, &NullSink, &stop).passed());
        start.elapsed()
    });

    // Per-core generator and hash throughput, in memory.
    let mut buf = vec![0u8; 64 << 20];
    let ks = Keystream::random().expect("rng");
    let keystream = best(|| {
        let t = Instant::now();
        for i in 0..4u64 {
            ks.fill(i * buf.len() as u64, &mut buf);
        }
        t.elapsed()
    });
    let blake = best(|| {
        let t = Instant::now();
        for _ in 0..4 {
            std::hint::black_box(blake3::hash(&buf));
        }
        t.elapsed()
    });
    let mem = 4 * buf.len() as u64;

    println!(
        "wipeproof engine benchmark: {mib} MiB RAM-backed loop device {}, {ROUNDS} rounds of dd then wipeproof",
        lo.dev
    );
    println!(
        "{:<34} {:>10} {:>10} {:>12}",
        "what", "dd GB/s", "ours GB/s", "ours/dd"
    );
    let row = |name: &str, r: &Round, bytes: u64| {
        println!(
            "{name:<34} {:>10.2} {:>10.2} {:>11.2}x",
            gbps(size, r.dd),
            gbps(bytes, r.ours),
            r.ratio
        );
    };
    row("zero pass (vs dd write)", &zero_pass, size);
    row("random pass (vs dd write)", &random_pass, size);
    row("full verify, zero (vs dd read)", &full_zero, size);
    row("full verify, random (vs dd read)", &full_random, size);
    println!(
        "{:<34} {:>10.2} {:>10.2} {:>11.2}x  ({} regions, {:.1}% of the drive; ratio of times)",
        "sample verify 10% (vs dd read all)",
        gbps(size, sample_zero.dd),
        gbps(plan.bytes(), sample_zero.ours),
        sample_zero.ratio,
        plan.regions.len(),
        plan.coverage_ppm() as f64 / 1e4
    );
    println!(
        "keystream (AES-128-CTR), one core: {:.2} GB/s",
        gbps(mem, keystream)
    );
    println!(
        "BLAKE3, one core:                  {:.2} GB/s",
        gbps(mem, blake)
    );
}

/// Medians of `ROUNDS` back-to-back runs of dd and of ours.
struct Round {
    dd: Duration,
    ours: Duration,
    /// dd time / our time: above 1 means faster than dd.
    ratio: f64,
}

const ROUNDS: usize = 5;

fn rounds(mut dd: impl FnMut() -> Duration, mut ours: impl FnMut() -> Duration) -> Round {
    let mut dds = Vec::new();
    let mut our = Vec::new();
    let mut ratios = Vec::new();
    for _ in 0..ROUNDS {
        let a = dd();
        let b = ours();
        ratios.push(a.as_secs_f64() / b.as_secs_f64());
        dds.push(a);
        our.push(b);
    }
    dds.sort();
    our.sort();
    ratios.sort_by(f64::total_cmp);
    Round {
        dd: dds[ROUNDS / 2],
        ours: our[ROUNDS / 2],
        ratio: ratios[ROUNDS / 2],
    }
}
