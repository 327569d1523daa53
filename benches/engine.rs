//! Throughput of the overwrite engine and verification beside `dd` on the same RAM-backed loop
//! devices, in one run, as ratios (README.md "Performance").
//!
//! Run as root: `cargo bench --bench engine` (size with WIPEPROOF_BENCH_MIB, default 1024).
//! `cargo bench --bench engine -- keystream` prints only the in-memory figures (the keystream
//! of each generator this CPU can run, and BLAKE3); it needs neither root nor a loop device.
//! Each comparison runs dd and wipeproof back to back five times and reports medians; the
//! in-memory generator and hash figures are the best of three.
//!
//! Many drives: 8 loop devices of 256 MiB (WIPEPROOF_BENCH_DRIVES, WIPEPROOF_BENCH_DRIVE_MIB),
//! written by 8 `dd` processes in parallel, then by one wipeproof process with a worker per
//! drive (this benchmark run again as a child process, so that its peak memory, VmHWM, is its
//! own).

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use wipeproof::device::{GuardContext, Target};
use wipeproof::erase::engine::{PassOptions, write_pass};
use wipeproof::erase::keystream::Generator;
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

impl Loop {
    /// A loop device over a new file of `size` bytes in /dev/shm, filled once so that every
    /// run writes over allocated pages.
    fn new(name: &str, size: u64) -> Loop {
        let file = format!("/dev/shm/wipeproof-bench-{}-{name}.img", std::process::id());
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
        dd(&[
            "if=/dev/zero",
            &format!("of={}", lo.dev),
            "bs=4M",
            "oflag=direct",
        ]);
        lo
    }
}

/// Runs `dd` with `args` (and `status=none`) without waiting.
fn dd_spawn(args: &[&str]) -> Child {
    Command::new("dd")
        .args(args)
        .arg("status=none")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("dd runs")
}

/// The process's peak resident memory in KiB (VmHWM).
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The child process of the many-drives comparison: one worker per device, each opening its
/// drive through the guard and writing one pass; prints the peak memory.
fn many_child(spec: &str) {
    let (pattern, devs) = spec.split_once(':').expect("pattern:devices");
    let ctx = GuardContext::new(vec![], None);
    let stop = StopFlag::new();
    std::thread::scope(|scope| {
        for dev in devs.split(',') {
            let (ctx, stop) = (&ctx, &stop);
            scope.spawn(move || {
                let t = Target::open_for_erase(std::path::Path::new(dev), ctx).expect("open");
                let p = match pattern {
                    "zero" => Pattern::Constant(0),
                    _ => Pattern::Random(Keystream::random().expect("rng")),
                };
                pass(&t, &p, stop);
            });
        }
    });
    println!("peak_kib {}", peak_kib());
}

/// One pass as a wipe writes it.
fn pass(t: &Target, p: &Pattern, stop: &StopFlag) {
    let r = write_pass(
        t,
        p,
        0,
        &PassOptions::default(),
        &NullSink,
        stop,
        &mut |_| {},
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
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
    if std::env::args().skip(1).any(|a| a == "keystream") {
        return in_memory();
    }
    if !nix::unistd::geteuid().is_root() {
        eprintln!(
            "the engine benchmark needs root (it attaches a loop device); skipped \
             (`-- keystream` runs the in-memory part alone)"
        );
        return;
    }
    if let Ok(spec) = std::env::var("WIPEPROOF_BENCH_CHILD") {
        return many_child(&spec);
    }
    let env = |name: &str, default: u64| -> u64 {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let mib = env("WIPEPROOF_BENCH_MIB", 1024);
    let size = mib << 20;
    let lo = Loop::new("one", size);
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
        write_pass(&t, &zero, 0, &opts, &NullSink, &stop, &mut |_| {});
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
        pass(&t, &random, &stop);
        start.elapsed()
    });
    let random_and_full = rounds(
        || dd_write() + dd_read(),
        || {
            let t = open();
            let start = Instant::now();
            pass(&t, &random, &stop);
            assert!(read_full(&t, &random, &plan, &NullSink, &stop).passed());
            start.elapsed()
        },
    );
    let full_random = rounds(dd_read, || {
        let t = open();
        let start = Instant::now();
        assert!(read_full(&t, &random, &plan, &NullSink, &stop).passed());
        start.elapsed()
    });

    // Many drives at once: 8 parallel dd against one process with a worker per drive.
    let drives = env("WIPEPROOF_BENCH_DRIVES", 8) as usize;
    let drive_size = env("WIPEPROOF_BENCH_DRIVE_MIB", 256) << 20;
    let loops: Vec<Loop> = (0..drives)
        .map(|i| Loop::new(&format!("many{i}"), drive_size))
        .collect();
    let devs: Vec<&str> = loops.iter().map(|l| l.dev.as_str()).collect();
    let dd_all = || {
        let t = Instant::now();
        let children: Vec<Child> = devs
            .iter()
            .map(|d| dd_spawn(&["if=/dev/zero", &format!("of={d}"), "bs=4M", "oflag=direct"]))
            .collect();
        for c in children {
            let out = c.wait_with_output().expect("dd runs");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() || err.contains("No space left"),
                "dd failed: {err}"
            );
        }
        t.elapsed()
    };
    let peak = std::cell::Cell::new(0u64);
    let ours_all = |pattern: &str| {
        let t = Instant::now();
        let exe = std::env::current_exe().expect("own path");
        let out = Command::new(exe)
            .env(
                "WIPEPROOF_BENCH_CHILD",
                format!("{pattern}:{}", devs.join(",")),
            )
            .output()
            .expect("child runs");
        let took = t.elapsed();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "child failed: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let kib: u64 = text
            .lines()
            .find_map(|l| l.strip_prefix("peak_kib "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        peak.set(peak.get().max(kib));
        took
    };
    let cpu = [(); 4].map(|_| CpuUse::default());
    let many_zero = rounds(
        || cpu[0].during(dd_all),
        || cpu[1].during(|| ours_all("zero")),
    );
    let many_random = rounds(
        || cpu[2].during(dd_all),
        || cpu[3].during(|| ours_all("random")),
    );
    let total = drive_size * drives as u64;
    drop(loops);

    println!(
        "wipeproof engine benchmark: {mib} MiB RAM-backed loop device {}, {ROUNDS} rounds of dd then wipeproof; \
         {drives} devices of {} MiB for the many-drives rows",
        lo.dev,
        drive_size >> 20
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
    row(
        "random + full verify (vs dd w + r)",
        &Round {
            dd: random_and_full.dd / 2,
            ours: random_and_full.ours / 2,
            ratio: random_and_full.ratio,
        },
        size,
    );
    println!(
        "{:<34} {:>10.2} {:>10.2} {:>11.2}x  ({} regions, {:.1}% of the drive; ratio of times)",
        "sample verify 10% (vs dd read all)",
        gbps(size, sample_zero.dd),
        gbps(plan.bytes(), sample_zero.ours),
        sample_zero.ratio,
        plan.regions.len(),
        plan.coverage_ppm() as f64 / 1e4
    );
    let many_row = |name: &str, r: &Round| {
        println!(
            "{name:<34} {:>10.2} {:>10.2} {:>11.2}x",
            gbps(total, r.dd),
            gbps(total, r.ours),
            r.ratio
        );
    };
    many_row(
        &format!("{drives} drives zero (vs {drives} dd)"),
        &many_zero,
    );
    many_row(
        &format!("{drives} drives random (vs {drives} dd)"),
        &many_random,
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "CPU busy over all {cores} cores while {drives} drives ran (kernel's copy included): \
         zero {:.0}% dd, {:.0}% ours; random {:.0}% dd, {:.0}% ours",
        cpu[0].percent(),
        cpu[1].percent(),
        cpu[2].percent(),
        cpu[3].percent()
    );
    println!(
        "peak memory of the {drives}-drive process: {:.1} MiB, {:.1} MiB per drive",
        peak.get() as f64 / 1024.0,
        peak.get() as f64 / 1024.0 / drives as f64
    );
    in_memory();
}

/// Per-core throughput in memory: the keystream as a wipe generates it (the widest generator
/// the CPU has), then each generator this CPU can run, then BLAKE3. Best of three, 256 MiB
/// each: through a 64 MiB buffer (memory bandwidth counts) and, for the generators, through
/// one 256 KiB buffer that stays in the core's cache (the generator alone).
fn in_memory() {
    let mut buf = vec![0u8; 64 << 20];
    let mem = 4 * buf.len() as u64;
    let mut time_fill = |ks: &Keystream, piece: usize| {
        let took = best(|| {
            let t = Instant::now();
            for (i, b) in std::iter::repeat_n(0..piece, buf.len() / piece * 4).enumerate() {
                ks.fill((i * piece) as u64, &mut buf[b]);
            }
            t.elapsed()
        });
        gbps(mem, took)
    };
    let ks = Keystream::random().expect("rng");
    println!(
        "keystream (AES-128-CTR), one core: {:.2} GB/s ({})",
        time_fill(&ks, 64 << 20),
        ks.generator().name()
    );
    for g in Generator::ALL.into_iter().rev() {
        let label = format!("  generator {}:", g.name());
        match Keystream::from_key_with([7; 16], [9; 16], g) {
            Some(ks) => println!(
                "{label:<35} {:.2} GB/s; {:.2} GB/s in cache",
                time_fill(&ks, 64 << 20),
                time_fill(&ks, 256 << 10)
            ),
            None => println!("{label:<35} not on this CPU"),
        }
    }
    let blake = best(|| {
        let t = Instant::now();
        for _ in 0..4 {
            std::hint::black_box(blake3::hash(&buf));
        }
        t.elapsed()
    });
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

/// How busy the whole machine's CPUs were while some runs went (from `/proc/stat`, so the
/// kernel's copies into the loop devices' backing files count too): tells a run limited by
/// CPU from one limited by memory or by waiting.
#[derive(Default)]
struct CpuUse {
    busy: std::cell::Cell<u64>,
    total: std::cell::Cell<u64>,
}

impl CpuUse {
    /// Runs `f`, adding the machine's busy and total CPU ticks meanwhile.
    fn during(&self, f: impl FnOnce() -> Duration) -> Duration {
        let (b0, t0) = cpu_ticks();
        let took = f();
        let (b1, t1) = cpu_ticks();
        self.busy.set(self.busy.get() + b1.saturating_sub(b0));
        self.total.set(self.total.get() + t1.saturating_sub(t0));
        took
    }

    fn percent(&self) -> f64 {
        100.0 * self.busy.get() as f64 / self.total.get().max(1) as f64
    }
}

/// The machine's (busy, total) CPU ticks: the first line of `/proc/stat`, idle and iowait
/// counted as not busy.
fn cpu_ticks() -> (u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = ticks.iter().take(8).sum();
    let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
    (total - idle.min(total), total)
}

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
