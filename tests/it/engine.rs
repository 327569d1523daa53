//! The wipe flow through the library, where a test can step in at an exact moment: a drive
//! changed between writing and verification, and a random pass stopped mid-way or in its
//! verification and resumed.

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

/// Resumes the newest interrupted wipe of `lo` from its checkpoint in `dir`.
fn resume(lo: &LoopDev, dir: &std::path::Path, first: &wipeproof::station::job::Finished) -> Job {
    let ctx = GuardContext::new(vec![], None);
    let t = Target::open_for_erase(&lo.dev, &ctx).unwrap();
    let info = describe_target(&t, &ctx);
    let key = drive_key(&t, &info);
    let (_, cp) = store(dir)
        .scan()
        .unwrap()
        .newest_for(&key)
        .cloned()
        .unwrap();
    assert_eq!(cp.id.to_string(), first.wipe_id);
    Job::resume(t, info, cp, store(dir), PassOptions::default())
}

/// Whether a checkpoint of `lo`'s wipe is in `dir`.
fn has_checkpoint(lo: &LoopDev, dir: &std::path::Path) -> bool {
    let ctx = GuardContext::new(vec![], None);
    let t = Target::open_read(&lo.dev).unwrap();
    let key = drive_key(&t, &describe_target(&t, &ctx));
    store(dir).scan().unwrap().newest_for(&key).is_some()
}

#[test]
fn random_pass_stopped_mid_way_resumes_at_its_checkpoint_with_the_same_keystream() {
    // Sample and full verification alike: the keystream is sealed in the checkpoint, so the
    // pass goes on where it stopped and is verified as one pass.
    for verify in ["sample", "full"] {
        let dir = tempfile::tempdir().unwrap();
        let size = 64u64 << 20;
        let lo = LoopDev::new(&format!("randresume-{verify}"), size, 512);
        let stop = StopFlag::new();
        let sink = StopAt {
            at: 24 << 20,
            stop: stop.clone(),
        };
        let first = job(&lo, dir.path(), "random", verify).run(&sink, &stop);
        assert_eq!(first.outcome.result(), WipeResult::Incomplete, "{verify}");
        let stopped = first.outcome.steps()[0].stopped_at.unwrap();
        assert!((24 << 20..size).contains(&stopped), "{verify}: {stopped}");
        let written_first = lo.bytes_written();
        assert!(written_first >= stopped, "{verify}: {written_first}");

        let second =
            resume(&lo, dir.path(), &first).run(&wipeproof::erase::NullSink, &StopFlag::new());
        // The drive itself says the resume wrote only what was left.
        assert_eq!(
            lo.bytes_written() - written_first,
            size - stopped,
            "{verify}: bytes the resume wrote to the device"
        );
        assert_eq!(
            second.outcome.result(),
            WipeResult::Pass,
            "{verify}: {:?}",
            second.outcome.failure_reasons()
        );
        let step = &second.outcome.steps()[0];
        assert_eq!(
            step.resumed_at,
            [stopped],
            "{verify}: resumed exactly where it stopped"
        );
        // Both runs together wrote the drive once.
        assert_eq!(step.bytes_written, size, "{verify}");
        assert_eq!(surviving_blocks(&lo.backing), 0, "{verify}");
        // The checkpoint stays until the result is recorded, then goes.
        assert!(has_checkpoint(&lo, dir.path()), "{verify}");
        second.settle();
        assert!(!has_checkpoint(&lo, dir.path()), "{verify}");
    }
}

#[test]
fn random_pass_stopped_in_its_verification_is_verified_on_resume_not_written_again() {
    for verify in ["sample", "full"] {
        let dir = tempfile::tempdir().unwrap();
        let size = 32u64 << 20;
        let lo = LoopDev::new(&format!("randverify-{verify}"), size, 4096);
        let stop = StopFlag::new();
        let on_verify = stop.clone();
        let sink = OnVerify {
            action: move || on_verify.stop(),
            done: Mutex::new(false),
        };
        let first = job(&lo, dir.path(), "random", verify).run(&sink, &stop);
        assert_eq!(first.outcome.result(), WipeResult::Incomplete, "{verify}");
        assert_eq!(first.outcome.steps()[0].bytes_written, size, "{verify}");
        let written_first = lo.bytes_written();
        assert!(written_first >= size, "{verify}: {written_first}");

        let second =
            resume(&lo, dir.path(), &first).run(&wipeproof::erase::NullSink, &StopFlag::new());
        // The drive itself says nothing was written on resume.
        assert_eq!(
            lo.bytes_written(),
            written_first,
            "{verify}: the resume wrote to the device"
        );
        assert_eq!(
            second.outcome.result(),
            WipeResult::Pass,
            "{verify}: {:?}",
            second.outcome.failure_reasons()
        );
        assert_eq!(
            second.outcome.steps()[0].bytes_written,
            size,
            "{verify}: the pass was not written again"
        );
        let check = &second.outcome.verification().checks[0];
        assert!(check.passed && check.bytes_read > 0, "{verify}: {check:?}");
    }
}
