//! The fixed cost of each drive of a batch: 1, 8 and 24 tiny loop devices (16 MiB over files in
//! /dev/shm) wiped in one process, each on its own thread as the station runs them, three
//! ways: opened through the guard and described (identity, health), as a wipe prepares it;
//! then also one zero pass; then also a 10% sample verification. With the drives this small,
//! the time is what is paid per drive besides writing, and the preparation should not grow
//! with the number of drives beside it (README.md "Performance").
//!
//! Run as root: `cargo bench --bench tiny_drives` (WIPEPROOF_BENCH_TINY_MIB sets the size,
//! WIPEPROOF_BENCH_TINY_COUNTS the batch sizes, default `1,8,24`). Each batch runs five times
//! in a child process of its own (this benchmark again), so that its peak memory
//! (`getrusage` maxrss) and CPU time are its own; the figures are medians.

use std::process::Command;
use std::time::{Duration, Instant};

use wipeproof::device::discovery::describe_target;
use wipeproof::device::{GuardContext, Target};
use wipeproof::erase::engine::{PassOptions, write_pass};
use wipeproof::erase::{NullSink, Pattern, StopFlag};
use wipeproof::verify::plan::{PlanParams, SamplePlan};
use wipeproof::verify::sample::{Expected, read_plan};

const RUNS: usize = 5;

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

impl Loop {
    fn new(index: usize, size: u64) -> Loop {
        let file = format!(
            "/dev/shm/wipeproof-bench-tiny-{}-{index}.img",
            std::process::id()
        );
        std::fs::File::create(&file)
            .and_then(|f| f.set_len(size))
            .expect("create backing file");
        let out = Command::new("losetup")
            .args(["-f", "--show", &file])
            .output()
            .expect("losetup runs");
        let lo = Loop {
            dev: String::from_utf8_lossy(&out.stdout).trim().to_string(),
            file,
        };
        assert!(out.status.success() && !lo.dev.is_empty(), "losetup failed");
        lo
    }
}

/// How much of a wipe each drive gets.
#[derive(Clone, Copy, PartialEq, PartialOrd)]
enum Depth {
    /// Opened through the guard and described: the fixed cost of preparing a drive.
    Prepare,
    /// And one zero pass.
    Pass,
    /// And a 10% sample verification (2002 regions at least, whatever the drive's size).
    Verify,
}

impl Depth {
    const ALL: [Depth; 3] = [Depth::Prepare, Depth::Pass, Depth::Verify];

    fn name(self) -> &'static str {
        match self {
            Depth::Prepare => "prepare",
            Depth::Pass => "pass",
            Depth::Verify => "verify",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Depth::Prepare => "guard + open + describe",
            Depth::Pass => "... + zero pass",
            Depth::Verify => "... + 10% sample verify",
        }
    }
}

/// The child: wipes every device of `devs` (comma-separated), a thread each, with one guard
/// context, as deep as `depth`; prints its time, CPU seconds and peak memory.
fn child(spec: &str) {
    let (depth, devs) = spec.split_once(':').expect("depth:devices");
    let depth = Depth::ALL
        .into_iter()
        .find(|d| d.name() == depth)
        .expect("a depth");
    let start = Instant::now();
    let ctx = GuardContext::new(vec![], None);
    let stop = StopFlag::new();
    std::thread::scope(|scope| {
        for dev in devs.split(',') {
            let (ctx, stop) = (&ctx, &stop);
            scope.spawn(move || wipe_one(dev, ctx, stop, depth));
        }
    });
    let took = start.elapsed();
    // SAFETY: getrusage fills one struct rusage through the pointer.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_SELF is always valid.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    println!(
        "tiny {} {} {}",
        took.as_secs_f64(),
        secs(usage.ru_utime) + secs(usage.ru_stime),
        usage.ru_maxrss
    );
}

/// What a wipe does with one drive besides recording it: open through the guard, describe,
/// one zero pass, a 10% sample verification.
fn wipe_one(dev: &str, ctx: &GuardContext, stop: &StopFlag, depth: Depth) {
    let target = Target::open_for_erase(std::path::Path::new(dev), ctx).expect("open");
    let info = describe_target(&target, ctx);
    assert!(info.size_bytes > 0);
    if depth == Depth::Prepare {
        return;
    }
    let zero = Pattern::Constant(0);
    let r = write_pass(
        &target,
        &zero,
        0,
        &PassOptions::default(),
        &NullSink,
        stop,
        &mut |_| {},
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    if depth == Depth::Pass {
        return;
    }
    let plan = SamplePlan::build(PlanParams {
        size_bytes: target.geometry().size_bytes,
        sector_size: target.geometry().logical_sector_size,
        coverage_ppm: 100_000,
        seed: [3; 32],
    })
    .expect("plan");
    assert!(read_plan(&target, &plan, Expected::Pattern(&zero), &NullSink, stop).passed());
}

/// One batch's medians: wall time, CPU seconds, peak KiB.
struct Figures {
    time: Duration,
    cpu: f64,
    peak_kib: u64,
}

fn batch(depth: Depth, devs: &[String]) -> Figures {
    let exe = std::env::current_exe().expect("own path");
    let mut times = Vec::new();
    let mut cpus = Vec::new();
    let mut peaks = Vec::new();
    for _ in 0..RUNS {
        let out = Command::new(&exe)
            .env(
                "WIPEPROOF_BENCH_TINY_CHILD",
                format!("{}:{}", depth.name(), devs.join(",")),
            )
            .output()
            .expect("child runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child failed: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let fields: Vec<f64> = text
            .lines()
            .find_map(|l| l.strip_prefix("tiny "))
            .expect("the child's figures")
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        times.push(Duration::from_secs_f64(fields[0]));
        cpus.push(fields[1]);
        peaks.push(fields[2] as u64);
    }
    times.sort();
    cpus.sort_by(f64::total_cmp);
    peaks.sort();
    Figures {
        time: times[RUNS / 2],
        cpu: cpus[RUNS / 2],
        peak_kib: peaks[RUNS / 2],
    }
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if !nix::unistd::geteuid().is_root() {
        eprintln!("the tiny-drives benchmark needs root (it attaches loop devices); skipped");
        return;
    }
    if let Ok(devs) = std::env::var("WIPEPROOF_BENCH_TINY_CHILD") {
        return child(&devs);
    }
    let mib: u64 = std::env::var("WIPEPROOF_BENCH_TINY_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let counts: Vec<usize> = std::env::var("WIPEPROOF_BENCH_TINY_COUNTS")
        .unwrap_or_else(|_| "1,8,24".into())
        .split(',')
        .filter_map(|v| v.trim().parse().ok())
        .collect();
    let most = counts.iter().copied().max().unwrap_or(1);
    let loops: Vec<Loop> = (0..most).map(|i| Loop::new(i, mib << 20)).collect();
    let devs: Vec<String> = loops.iter().map(|l| l.dev.clone()).collect();
    println!(
        "wipeproof tiny drives: {mib} MiB loop devices over /dev/shm, each opened through the \
         guard, described, zeroed and sample-verified on its own thread in one process; \
         medians of {RUNS} runs"
    );
    println!(
        "{:<24} {:>6} {:>9} {:>7} {:>9} {:>9} {:>9}",
        "each drive", "drives", "time ms", "vs 1", "CPU s/GB", "peak MiB", "ms/drive"
    );
    for depth in Depth::ALL {
        let mut one: Option<Duration> = None;
        for &n in &counts {
            let f = batch(depth, &devs[..n]);
            let base = *one.get_or_insert(f.time);
            let gb = (n as u64 * (mib << 20)) as f64 / 1e9;
            println!(
                "{:<24} {n:>6} {:>9.1} {:>6.2}x {:>9.2} {:>9.1} {:>9.1}",
                depth.label(),
                f.time.as_secs_f64() * 1e3,
                f.time.as_secs_f64() / base.as_secs_f64(),
                f.cpu / gb,
                f.peak_kib as f64 / 1024.0,
                f.time.as_secs_f64() * 1e3 / n as f64
            );
        }
    }
    drop(loops);
}
