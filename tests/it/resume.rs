//! `wipe --resume` as an attacker or a careless technician would use it: another drive with the
//! same name, a checkpoint edited by hand or at random, a crash between the certificate and the
//! checkpoint's removal, a damaged checkpoint or chain head. The interrupted wipe is made
//! through the library (stopped at an exact byte); everything after runs the built binary.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{Value, json};
use wipeproof::certificate::keys::StationKey;
use wipeproof::device::discovery::describe_target;
use wipeproof::device::{GuardContext, Target};
use wipeproof::erase::engine::{ErrorPolicy, PassOptions};
use wipeproof::erase::{Event, NullSink, OverwritePlan, Phase, Sink, StopFlag};
use wipeproof::station::checkpoint::{Checkpoint, CheckpointStore};
use wipeproof::station::job::{Job, WipeSpec};
use wipeproof::station::resume::{Resumable, claim};
use wipeproof::verify::WipeResult;
use wipeproof::verify::outcome::VerifySpec;

use crate::support::*;

/// Stops a wipe once pass `pass` has written `at` bytes (with `at` 0: as the pass starts,
/// before its first byte).
struct StopInPass {
    pass: usize,
    at: u64,
    current: AtomicUsize,
    stop: StopFlag,
}

impl Sink for StopInPass {
    fn event(&self, event: Event) {
        match event {
            Event::PhaseStarted {
                phase: Phase::Write { pass, .. },
                ..
            } => {
                self.current.store(pass, Ordering::SeqCst);
                if pass == self.pass && self.at == 0 {
                    self.stop.stop()
                }
            }
            Event::Progress { done }
                if done >= self.at && self.current.load(Ordering::SeqCst) == self.pass =>
            {
                self.stop.stop()
            }
            _ => {}
        }
    }
}

/// The checkpoint store of `home`, sealed with its station key (made here if it has none yet,
/// where the binary will find it).
fn store(home: &Home) -> CheckpointStore {
    let (key, _) = StationKey::load_or_init(&home.path().join("keys")).unwrap();
    CheckpointStore::new(home.path().join("checkpoints"), &key)
}

/// Interrupts a wipe of `path` with `method` (sample verification) once pass `pass` has written
/// `at` bytes, as Ctrl-C would; returns its checkpoint file.
fn interrupt(store: &CheckpointStore, path: &Path, method: &str, pass: usize, at: u64) -> PathBuf {
    let ctx = GuardContext::new(vec![], None);
    let target = Target::open_for_erase(path, &ctx).unwrap();
    let info = describe_target(&target, &ctx);
    let spec = WipeSpec {
        plan: OverwritePlan::build(method, 1, false, None).unwrap(),
        verify: VerifySpec::parse("sample").unwrap(),
        on_error: ErrorPolicy::Continue,
    };
    let stop = StopFlag::new();
    let sink = StopInPass {
        pass,
        at,
        current: AtomicUsize::new(0),
        stop: stop.clone(),
    };
    let opts = PassOptions {
        chunk: 1 << 20,
        ..PassOptions::default()
    };
    let finished = Job::new(target, info, spec, store.clone(), opts)
        .unwrap()
        .run(&sink, &stop);
    assert_eq!(finished.outcome.result(), WipeResult::Incomplete);
    store.dir().join(format!("{}.json", finished.wipe_id))
}

/// A file named `name` in a directory of its own in /dev/shm, with the test pattern.
fn same_name(dir: &tempfile::TempDir, name: &str, size: u64) -> PathBuf {
    let path = dir.path().join(name);
    write_pattern(&path, size);
    path
}

fn shm_dir() -> tempfile::TempDir {
    tempfile::tempdir_in("/dev/shm").unwrap()
}

fn resume(home: &Home, dev: &Path) -> std::process::Output {
    home.run(&["wipe", "--resume", dev.to_str().unwrap(), "--yes", "--json"])
}

#[test]
fn another_image_file_with_the_same_name_and_size_is_refused() {
    let home = Home::new();
    let (dir_a, dir_b) = (shm_dir(), shm_dir());
    let a = same_name(&dir_a, "disk.img", 16 << 20);
    let b = same_name(&dir_b, "disk.img", 16 << 20);
    interrupt(&store(&home), &a, "zero", 1, 8 << 20);
    let before = file_digest(&b);
    let out = resume(&home, &b);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no interrupted wipe of"),
        "{}",
        stderr(&out)
    );
    assert_eq!(file_digest(&b), before, "the other file was written to");
    // The drive the wipe started on still resumes, to PASS.
    let out = resume(&home, &a);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(surviving_blocks(&a), 0);
}

#[test]
fn a_loop_device_over_another_file_of_the_same_name_is_refused() {
    let home = Home::new();
    let (dir_a, dir_b) = (shm_dir(), shm_dir());
    let attach = |dir: &tempfile::TempDir| {
        let backing = same_name(dir, "disk.img", 16 << 20);
        let out = std::process::Command::new("losetup")
            .args(["-f", "--show", backing.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        LoopDev::attached(
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()),
            backing,
        )
    };
    let a = attach(&dir_a);
    let b = attach(&dir_b);
    interrupt(&store(&home), &a.dev, "zero", 1, 8 << 20);
    let before = b.digest();
    let out = resume(&home, &b.dev);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("refusing to resume wipe"), "{err}");
    assert!(err.contains("does not hold what the wipe wrote"), "{err}");
    assert_eq!(b.digest(), before, "the other drive was written to");
    let out = resume(&home, &a.dev);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(surviving_blocks(&a.backing), 0);
}

#[test]
fn a_wipe_stopped_before_its_first_byte_leaves_a_checkpoint_that_resumes() {
    // A signal that lands between the first checkpoint and the first write stops the pass at
    // offset 0: nothing is written yet, so there is no content to fingerprint either.
    let home = Home::new();
    let dir = shm_dir();
    let image = same_name(&dir, "disk.img", 16 << 20);
    let store = store(&home);
    let checkpoint = interrupt(&store, &image, "gutmann", 1, 0);
    let scan = store.scan().unwrap();
    assert!(scan.damaged.is_empty(), "{:?}", scan.damaged);
    let cp = Checkpoint::parse(&fs::read(&checkpoint).unwrap()).unwrap();
    assert!(
        cp.position.is_none() || !cp.fingerprint.is_empty(),
        "a write position without a fingerprint: {cp:?}"
    );
    let out = resume(&home, &image);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(surviving_blocks(&image), 0);
    // A later pass stopped before its first byte still holds the earlier pass's content.
    let image = same_name(&dir, "second.img", 16 << 20);
    let checkpoint = interrupt(&store, &image, "dod-3pass", 2, 0);
    let cp = Checkpoint::parse(&fs::read(&checkpoint).unwrap()).unwrap();
    assert!(!cp.fingerprint.is_empty(), "{cp:?}");
    let out = resume(&home, &image);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(surviving_blocks(&image), 0);
}

/// A passing sample check of step `step`, as an old checkpoint would have held it.
fn forged_check(step: u64) -> Value {
    json!({
        "step": step, "mode": "sample", "bytes_read": 1_048_576, "passed": true,
        "interrupted": false, "mismatch_count": 0, "mismatches": [], "unreadable": [],
        "digest": "ab".repeat(32), "before_digest": null, "detail": null
    })
}

/// Marks every step of a checkpoint done and verified.
fn claim_everything_done(v: &mut Value) {
    let steps = v["steps"].as_array_mut().unwrap();
    let last = steps.len() as u64;
    for s in steps {
        s["status"] = "completed".into();
        s["stopped_at"] = Value::Null;
    }
    v["checks"] = json!([forged_check(last)]);
    if v["position"].is_object() {
        v["position"]["phase"] = "verify".into();
        v["position"]["step"] = last.into();
    }
}

#[test]
fn a_checkpoint_edited_to_say_done_and_verified_does_not_pass() {
    let home = Home::new();
    let store = store(&home);
    let img = ShmFile::with_pattern("edited", 16 << 20);
    let cp = interrupt(&store, &img.path, "zero", 1, 8 << 20);
    let mut v: Value = serde_json::from_slice(&fs::read(&cp).unwrap()).unwrap();
    claim_everything_done(&mut v);
    let edited = serde_json::to_vec(&v).unwrap();
    fs::write(&cp, &edited).unwrap();
    // Edited by hand: refused, the drive untouched.
    let before = file_digest(&img.path);
    let out = resume(&home, &img.path);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("seal does not match"),
        "{}",
        stderr(&out)
    );
    assert_eq!(file_digest(&img.path), before);
    // Even sealed by the station itself (as a build that kept verification results in its
    // checkpoints would have written it), the check it carries is not believed: the drive is
    // read, and what was never written fails.
    store.save(&Checkpoint::parse(&edited).unwrap()).unwrap();
    let out = resume(&home, &img.path);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = only_drive(&json);
    assert_eq!(d["result"], "FAIL", "{json}");
    assert!(
        d["failure_reasons"].to_string().contains("mismatching"),
        "{json}"
    );
    // The drive was read, not the file believed.
    assert!(
        d["verification"].as_str().unwrap().starts_with("sample "),
        "{json}"
    );
    assert!(surviving_blocks(&img.path) > 0);
}

#[test]
fn a_wipe_certified_before_its_checkpoint_was_removed_is_not_certified_again() {
    let home = Home::new();
    let img = ShmFile::with_pattern("once", 16 << 20);
    let cp = interrupt(&store(&home), &img.path, "zero", 1, 8 << 20);
    let saved = fs::read(&cp).unwrap();
    let out = resume(&home, &img.path);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let first: Value = serde_json::from_slice(&out.stdout).unwrap();
    let first = only_drive(&first).clone();
    let chain = home.path().join("certificates/chain.json");
    let head = fs::read(&chain).unwrap();
    // As if the station lost power after the certificate was written, before the checkpoint
    // was removed.
    fs::write(&cp, &saved).unwrap();
    let out = resume(&home, &img.path);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("already certified"),
        "{}",
        stderr(&out)
    );
    let second: Value = serde_json::from_slice(&out.stdout).unwrap();
    let second = only_drive(&second);
    assert_eq!(second["result"], "PASS");
    assert_eq!(second["certificate_id"], first["certificate_id"]);
    assert_eq!(second["wipe_id"], first["wipe_id"]);
    assert_eq!(fs::read(&chain).unwrap(), head, "the chain was forked");
    let finals = fs::read_dir(home.path().join("certificates"))
        .unwrap()
        .filter_map(|e| fs::read_to_string(e.unwrap().path()).ok())
        .filter(|t| t.contains(first["wipe_id"].as_str().unwrap()) && t.contains("\"PASS\""))
        .count();
    assert_eq!(finals, 1);
    assert!(!cp.exists(), "the certified wipe's checkpoint stays");
}

#[test]
fn a_damaged_checkpoint_is_refused_by_name() {
    let home = Home::new();
    let img = ShmFile::with_pattern("damaged", 16 << 20);
    let cp = interrupt(&store(&home), &img.path, "zero", 1, 8 << 20);
    let mut v: Value = serde_json::from_slice(&fs::read(&cp).unwrap()).unwrap();
    v["seed"] = "not a seed".into();
    fs::write(&cp, serde_json::to_vec(&v).unwrap()).unwrap();
    let before = file_digest(&img.path);
    let out = resume(&home, &img.path);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("checkpoint {} is damaged", cp.display())),
        "{err}"
    );
    assert_eq!(file_digest(&img.path), before);
}

#[test]
fn an_unreadable_chain_head_stops_the_wipe_and_leftover_temporaries_go() {
    let home = Home::new();
    let wipe = |img: &ShmFile| home.run(&["wipe", img.path.to_str().unwrap(), "--yes"]);
    let first = ShmFile::with_pattern("chain1", 4 << 20);
    assert_eq!(wipe(&first).status.code(), Some(0));
    let certs = home.path().join("certificates");
    let leftover = certs.join(".20261128T000000Z-x-0b7a8d1e.json.tmp-4242");
    fs::write(&leftover, b"half a certificate").unwrap();
    let second = ShmFile::with_pattern("chain2", 4 << 20);
    assert_eq!(wipe(&second).status.code(), Some(0));
    assert!(!leftover.exists(), "a crash's temporary file stays");

    let third = ShmFile::with_pattern("chain3", 4 << 20);
    let before = file_digest(&third.path);
    for damage in ["truncated", "missing"] {
        match damage {
            "truncated" => fs::write(certs.join("chain.json"), b"{\"id\": ").unwrap(),
            _ => fs::remove_file(certs.join("chain.json")).unwrap(),
        }
        let out = wipe(&third);
        assert_eq!(out.status.code(), Some(2), "{damage}: {}", stderr(&out));
        assert!(stderr(&out).contains("chain head"), "{}", stderr(&out));
        assert_eq!(file_digest(&third.path), before, "{damage}: erased anyway");
    }
}

/// Values an edit may put anywhere in a checkpoint.
fn replacement(i: usize, size: u64) -> Value {
    match i % 16 {
        0 => true.into(),
        1 => false.into(),
        2 => 0.into(),
        3 => size.into(),
        4 => (size / 2).into(),
        5 => u64::MAX.into(),
        6 => "completed".into(),
        7 => "verify".into(),
        8 => Value::Null,
        9 => "00".repeat(32).into(),
        10 => json!([]),
        11 => json!([forged_check(1)]),
        12 => "write".into(),
        13 => 1.into(),
        14 => json!({}),
        _ => "all".into(),
    }
}

/// Every path to a value in `v` (object keys and array indices).
fn paths(v: &Value, at: Vec<Value>, out: &mut Vec<Vec<Value>>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let mut p = at.clone();
                p.push(k.clone().into());
                paths(x, p, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let mut p = at.clone();
                p.push(i.into());
                paths(x, p, out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn set(v: &mut Value, path: &[Value], new: Value) {
    let mut cur = v;
    for key in path {
        let next = match key {
            Value::String(k) => cur.get_mut(k.as_str()),
            Value::Number(n) => n.as_u64().and_then(|i| cur.get_mut(i as usize)),
            _ => None,
        };
        match next {
            Some(x) => cur = x,
            None => return,
        }
    }
    *cur = new;
}

/// Random edits of a real checkpoint (a zero pass stopped half-way, and a DoD 3-pass wipe
/// stopped half-way through its random pass) never give PASS unless the resumed wipe read the
/// drive back and the drive really holds no byte of what was there before. An edited file is
/// refused by its seal; to test what lies behind the seal, each edit that still parses is sealed
/// again with the station's key (as someone holding that key could).
#[test]
fn random_edits_of_a_checkpoint_never_pass_without_the_drive_read() {
    let home = Home::new();
    let (station, _) = StationKey::load_or_init(&home.path().join("keys")).unwrap();
    let key = station.verifying_key();
    let certs = home.path().join("certificates");
    let size = 8u64 << 20;
    let img = ShmFile::with_pattern("fuzzed", size);
    let store = store(&home);
    let dir = store.dir().to_path_buf();
    let mut bases = Vec::new();
    for (method, pass) in [("zero", 1), ("dod-3pass", 3)] {
        write_pattern(&img.path, size);
        let cp = interrupt(&store, &img.path, method, pass, size / 2);
        bases.push((fs::read(&cp).unwrap(), fs::read(&img.path).unwrap()));
        fs::remove_file(&cp).unwrap();
    }
    let strategy = (
        0..bases.len(),
        proptest::collection::vec((any::<prop::sample::Index>(), 0..16usize), 1..5),
        any::<bool>(),
        prop::bool::weighted(0.9),
    );
    const CASES: u32 = 512;
    // Few edits get past the checks (about one in thirty), so the cases are drawn from a fixed
    // seed: the same edits every run, and a count of resumed ones that only changes when the
    // product does.
    let mut runner = TestRunner::new_with_rng(
        Config {
            cases: CASES,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    let (passes, resumed) = (AtomicUsize::new(0), AtomicUsize::new(0));
    // Resumes base `base` with `edits`; the outcome if the resume was not refused.
    let resume_edited =
        |base: usize, edits: &[(prop::sample::Index, usize)], claim_done: bool, reseal: bool| {
            let (json, content) = &bases[base];
            // The same file (same inode), back as it was when the wipe stopped.
            write_range(&img.path, 0, content);
            let mut v: Value = serde_json::from_slice(json).unwrap();
            if claim_done {
                claim_everything_done(&mut v);
            }
            for (at, value) in edits {
                let mut all = Vec::new();
                paths(&v, Vec::new(), &mut all);
                let path = all[at.index(all.len())].clone();
                set(&mut v, &path, replacement(*value, size));
            }
            let edited = serde_json::to_vec(&v).unwrap();
            fs::write(dir.join("edited.json"), &edited).unwrap();
            if reseal && let Ok(cp) = Checkpoint::parse(&edited) {
                store.save(&cp).unwrap();
                fs::remove_file(dir.join("edited.json")).unwrap();
            }
            let ctx = GuardContext::new(vec![], None);
            let target = Target::open_for_erase(&img.path, &ctx).unwrap();
            let info = describe_target(&target, &ctx);
            let found = claim(&store, &certs, &key, &target, &info);
            let result = match found {
                Ok(Resumable::Continue(cp)) => {
                    resumed.fetch_add(1, Ordering::Relaxed);
                    let f = Job::resume(target, info, cp, store.clone(), PassOptions::default())
                        .run(&NullSink, &StopFlag::new());
                    Some(f.outcome)
                }
                // Refused: the drive is left alone.
                _ => None,
            };
            for e in fs::read_dir(&dir).unwrap() {
                fs::remove_file(e.unwrap().path()).unwrap();
            }
            (v, result)
        };
    // Not vacuous: the checkpoint as the station wrote it resumes to PASS.
    for base in 0..bases.len() {
        let (_, outcome) = resume_edited(base, &[], false, true);
        assert_eq!(outcome.map(|o| o.result()), Some(WipeResult::Pass));
    }
    resumed.store(0, Ordering::Relaxed);
    runner
        .run(&strategy, |(base, edits, claim_done, reseal)| {
            let (v, result) = resume_edited(base, &edits, claim_done, reseal);
            if let Some(outcome) = result
                && outcome.result() == WipeResult::Pass
            {
                passes.fetch_add(1, Ordering::Relaxed);
                let last = outcome.verification().checks.last().cloned();
                prop_assert!(
                    last.as_ref().is_some_and(|c| c.passed && c.bytes_read > 0),
                    "PASS without reading the drive: {v}"
                );
                prop_assert_eq!(surviving_blocks(&img.path), 0, "PASS with data left: {}", v);
            }
            Ok::<(), TestCaseError>(())
        })
        .unwrap();
    let (passes, resumed) = (passes.into_inner(), resumed.into_inner());
    eprintln!(
        "of {CASES} edited checkpoints, {resumed} were resumed and {passes} of those gave PASS, \
         each with the drive read and wiped"
    );
    // Not vacuous for edits either: edited checkpoints get past the seal and the checks and
    // run (a product refusing everything edited would pass the checks above unseen), and some
    // of them PASS.
    assert!(
        resumed >= 4 && passes >= 1,
        "only {resumed} of {CASES} edited checkpoints resumed, {passes} to PASS"
    );
}

/// A checkpoint written by the previous release (format 1: hashes of the random pass's sample
/// regions, no keystream) cannot be continued. The refusal names the file, says that an earlier
/// wipeproof wrote it (it is not damaged or tampered with), and what to do; nothing is written.
#[test]
fn a_checkpoint_of_an_earlier_format_is_refused_as_such() {
    let home = Home::new();
    let store = store(&home);
    let img = ShmFile::with_pattern("format1", 16 << 20);
    let cp = interrupt(&store, &img.path, "random", 1, 8 << 20);
    let mut v: Value = serde_json::from_slice(&fs::read(&cp).unwrap()).unwrap();
    v["version"] = 1.into();
    let position = v["position"].as_object_mut().unwrap();
    position.remove("keystream");
    position.insert("region_hashes".into(), json!([[0, "ab".repeat(32)]]));
    fs::write(&cp, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    let before = file_digest(&img.path);
    let out = resume(&home, &img.path);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stderr(&out);
    assert!(text.contains(&cp.display().to_string()), "{text}");
    assert!(text.contains("format 1"), "{text}");
    assert!(text.contains("earlier wipeproof"), "{text}");
    assert!(text.contains("start a new wipe"), "{text}");
    assert_eq!(file_digest(&img.path), before, "written to");
}
