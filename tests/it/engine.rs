//! The wipe flow through the library, where a test can step in at an exact moment: a drive
//! changed between writing and verification, and a random pass stopped mid-way and resumed.

use std::sync::Mutex;

use wipeproof::certificate::keys::StationKey;
use wipeproof::device::discovery::describe_target;
use wipeproof::device::{GuardContext, Target};
use wipeproof::erase::engine::{ErrorPolicy, PassOptions};
use wipeproof::erase::{Event, OverwritePlan, Phase, Sink, StopFlag};
use wipeproof::station::checkpoint::CheckpointStore;
use wipeproof::station::job::{Job, WipeSpec};
use wipeproof::station::resume::drive_key;
use wipeproof::verify::WipeResult;
use wipeproof::verify::outcome::VerifySpec;

use crate::support::*;

/// Runs an action once, when verification starts.
struct OnVerify<F: Fn() + Send + Sync> {
    action: F,
    done: Mutex<bool>,
}

impl<F: Fn() + Send + Sync> Sink for OnVerify<F> {
    fn event(&self, event: Event) {
        if let Event::PhaseStarted {
            phase: Phase::Verify { .. },
            ..
        } = event
        {
            let mut done = self.done.lock().unwrap();
            if !*done {
                *done = true;
                (self.action)();
            }
        }
    }
}

/// Stops the wipe once a pass has written past `at` bytes.
struct StopAt {
    at: u64,
    stop: StopFlag,
}

impl Sink for StopAt {
    fn event(&self, event: Event) {
        if let Event::Progress { done } = event
            && done >= self.at
        {
            self.stop.stop();
        }
    }
}

/// A checkpoint store in `dir` sealed with the key of a station made for the test.
fn store(dir: &std::path::Path) -> CheckpointStore {
    let keys = dir.join("keys");
    let (key, _) = StationKey::load_or_init(&keys).unwrap();
    CheckpointStore::new(dir, &key)
}

fn job(lo: &LoopDev, dir: &std::path::Path, method: &str, verify: &str) -> Job {
    let ctx = GuardContext::new(vec![], None);
    let t = Target::open_for_erase(&lo.dev, &ctx).unwrap();
    let info = describe_target(&t, &ctx);
    let spec = WipeSpec {
        plan: OverwritePlan::build(method, 1, false, None).unwrap(),
        verify: VerifySpec::parse(verify).unwrap(),
        on_error: ErrorPolicy::Continue,
    };
    Job::new(t, info, spec, store(dir), PassOptions::default()).unwrap()
}

#[test]
fn full_verification_catches_a_single_changed_block() {
    let dir = tempfile::tempdir().unwrap();
    let lo = LoopDev::new("fullchg", 32 << 20, 512);
    let backing = lo.backing.clone();
    let sink = OnVerify {
        action: move || write_range(&backing, 12_345_678, b"still here"),
        done: Mutex::new(false),
    };
    let f = job(&lo, dir.path(), "zero", "full").run(&sink, &StopFlag::new());
    assert_eq!(f.outcome.result(), WipeResult::Fail);
    let check = &f.outcome.verification().checks[0];
    assert_eq!(check.mismatches[0].offset, 12_345_678);
    assert_eq!(check.mismatches[0].len, 10);
    assert!(f.outcome.failure_reasons()[0].contains("12345678"));
}

#[test]
fn sample_verification_catches_a_change_covering_a_few_subsections() {
    let dir = tempfile::tempdir().unwrap();
    let size = 64u64 << 20;
    let lo = LoopDev::new("samplechg", size, 512);
    let backing = lo.backing.clone();
    // 0.4% of the drive: four subsections' worth, wherever they fall.
    let sink = OnVerify {
        action: move || write_range(&backing, size / 2, &vec![0x5Au8; (size / 250) as usize]),
        done: Mutex::new(false),
    };
    let f = job(&lo, dir.path(), "random", "sample").run(&sink, &StopFlag::new());
    assert_eq!(f.outcome.result(), WipeResult::Fail);
    let check = &f.outcome.verification().checks[0];
    assert!(check.mismatch_count >= 2, "{check:?}");
    let first = check.mismatches[0].offset;
    assert!(
        first >= size / 2 && first < size / 2 + size / 250,
        "{first}"
    );
}

#[test]
fn untouched_drive_passes_sample_verification() {
    let dir = tempfile::tempdir().unwrap();
    let lo = LoopDev::new("samplepass", 64 << 20, 4096);
    let f = job(&lo, dir.path(), "random", "sample:5")
        .run(&wipeproof::erase::NullSink, &StopFlag::new());
    assert_eq!(
        f.outcome.result(),
        WipeResult::Pass,
        "{:?}",
        f.outcome.failure_reasons()
    );
    let plan = f.outcome.verification().plan.as_ref().unwrap();
    assert!(plan.region_count >= 2);
    assert!(f.outcome.verification().final_digest().is_some());
}

#[test]
fn random_pass_stopped_mid_way_resumes_from_its_checkpoint_to_pass() {
    let dir = tempfile::tempdir().unwrap();
    let lo = LoopDev::new("randresume", 64 << 20, 512);
    let stop = StopFlag::new();
    let sink = StopAt {
        at: 24 << 20,
        stop: stop.clone(),
    };
    let first = job(&lo, dir.path(), "random", "sample").run(&sink, &stop);
    assert_eq!(first.outcome.result(), WipeResult::Incomplete);
    let stopped = first.outcome.steps()[0].stopped_at.unwrap();
    assert!((24 << 20..64 << 20).contains(&stopped), "{stopped}");

    let ctx = GuardContext::new(vec![], None);
    let t = Target::open_for_erase(&lo.dev, &ctx).unwrap();
    let info = describe_target(&t, &ctx);
    let key = drive_key(&t, &info);
    let (_, cp) = store(dir.path())
        .scan()
        .unwrap()
        .newest_for(&key)
        .cloned()
        .unwrap();
    assert_eq!(cp.id.to_string(), first.wipe_id);
    let second = Job::resume(t, info, cp, store(dir.path()), PassOptions::default())
        .run(&wipeproof::erase::NullSink, &StopFlag::new());
    assert_eq!(
        second.outcome.result(),
        WipeResult::Pass,
        "{:?}",
        second.outcome.failure_reasons()
    );
    let step = &second.outcome.steps()[0];
    assert_eq!(step.resumed_at.len(), 1);
    let resumed = step.resumed_at[0];
    assert!(
        resumed > 0 && resumed <= stopped,
        "resumed at {resumed}, stopped at {stopped}"
    );
    // Both runs together wrote about one drive's worth, not a restart's worth more.
    assert!(
        step.bytes_written < (64 << 20) + (8 << 20),
        "{}",
        step.bytes_written
    );
    assert_eq!(surviving_blocks(&lo.backing), 0);
    // The checkpoint stays until the result is recorded, then goes.
    let found = || store(dir.path()).scan().unwrap().newest_for(&key).is_some();
    assert!(found());
    second.settle();
    assert!(!found());
}
