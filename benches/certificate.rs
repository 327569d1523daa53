//! How long issuing (sign, render, write durably) and verifying a certificate take, in
//! milliseconds: `cargo bench --bench certificate`. Medians of 50 runs.

use std::time::{Duration, Instant};

use wipeproof::certificate::check::verify_file;
use wipeproof::certificate::issue::issue;
use wipeproof::certificate::keys::{StationKey, TrustStore};
use wipeproof::certificate::record::{
    Destination, Issuable, IssueContext, MethodInfo, Organisation, PerformedBy, WipeFacts,
};
use wipeproof::device::identity::{Identity, Media, Transport};
use wipeproof::device::{DriveInfo, GuardContext, Target};
use wipeproof::erase::engine::{ErrorPolicy, PassOptions};
use wipeproof::erase::{NullSink, OverwritePlan, StopFlag};
use wipeproof::station::checkpoint::CheckpointStore;
use wipeproof::station::job::{Job, WipeSpec};
use wipeproof::verify::WipeResult;
use wipeproof::verify::outcome::{VerifyMode, VerifySpec};

const RUNS: usize = 50;

fn median(mut v: Vec<Duration>) -> f64 {
    v.sort();
    v[v.len() / 2].as_secs_f64() * 1e3
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let key = StationKey::init(&dir.path().join("keys"), false).expect("key");
    let trust = TrustStore::load(&dir.path().join("keys")).expect("trust");
    let plan = OverwritePlan::build("dod-3pass", 1, false, None).expect("plan");
    let drive = DriveInfo {
        path: "/dev/sdb".into(),
        vendor: None,
        model: Some("Samsung SSD 870 EVO 1TB".into()),
        serial: Some("S6PUNX0R123456A".into()),
        firmware: Some("SVT02B6Q".into()),
        wwn: Some("0x5002538f41234567".into()),
        transport: Transport::Sata,
        media: Media::Ssd,
        size_bytes: 1_000_204_886_016,
        logical_sector_size: 512,
        physical_sector_size: 512,
        removable: false,
        read_only: false,
        protected: false,
        protected_reason: None,
        busy: None,
        capabilities: None,
        firmware_methods: vec![],
        health: wipeproof::device::health::Health::unknown("not read in this benchmark"),
        copy_on_write: None,
        disk: Some("sdb".into()),
        identity: Identity::default(),
    };
    // A real wipe of a small image file gives the outcome: a PASS can only come from a drive
    // that was read back.
    let image = dir.path().join("drive.img");
    std::fs::write(&image, vec![0x5Au8; 8 << 20]).expect("image");
    let target = Target::open_for_erase(&image, &GuardContext::new(vec![], None)).expect("open");
    let image_drive = DriveInfo {
        path: image.display().to_string(),
        size_bytes: 8 << 20,
        ..drive.clone()
    };
    let spec = WipeSpec {
        plan: plan.clone(),
        verify: VerifySpec {
            mode: VerifyMode::Sample,
            coverage_ppm: 100_000,
        },
        on_error: ErrorPolicy::Continue,
    };
    let finished = Job::new(
        target,
        image_drive,
        spec,
        CheckpointStore::new(dir.path().join("checkpoints"), &key),
        PassOptions::default(),
    )
    .expect("job")
    .run(&NullSink, &StopFlag::new());
    let outcome = finished.outcome;
    assert_eq!(outcome.result(), WipeResult::Pass);
    let ctx = IssueContext {
        organisation: Organisation {
            name: "Greenfield IT Recycling Ltd".into(),
            address: "Unit 4, Canal Works, Leeds".into(),
        },
        performed_by: PerformedBy {
            operator: "Jane Doe".into(),
            station_id: "bay-3".into(),
        },
        destination: Destination::Reuse,
        customer: Some("Acme Insurance plc".into()),
        collection: Some("COL-1".into()),
        asset_tags: vec!["ACME-1".into()],
        host: None,
        rewipe: None,
    };
    let certs = dir.path().join("certificates");
    let mut issued_times = Vec::new();
    let mut last = None;
    for _ in 0..RUNS {
        // Each a wipe of its own: a second final certificate for one wipe is never issued.
        let wipe_id = uuid::Uuid::new_v4().to_string();
        let t = Instant::now();
        let issuable = Issuable::from_wipe(
            WipeFacts {
                wipe_id: &wipe_id,
                drive: &drive,
                method: MethodInfo::overwrite(&plan),
                hidden_areas: vec![],
                started_at: "2026-11-28T10:00:00Z",
                ended_at: "2026-11-28T11:00:00Z",
                outcome: &outcome,
            },
            &ctx,
        );
        last = Some(issue(issuable, &key, &certs).expect("issue"));
        issued_times.push(t.elapsed());
    }
    let issued = last.expect("issued");
    let mut pdf_times = Vec::new();
    let mut json_times = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        assert!(
            verify_file(&issued.pdf, &trust, None)
                .expect("verify")
                .valid
        );
        pdf_times.push(t.elapsed());
        let t = Instant::now();
        assert!(
            verify_file(&issued.json, &trust, None)
                .expect("verify")
                .valid
        );
        json_times.push(t.elapsed());
    }
    println!("certificate benchmark, median of {RUNS} runs:");
    println!(
        "  issue (sign, render PDF, write PDF and JSON with fsync): {:.2} ms",
        median(issued_times)
    );
    println!(
        "  verify PDF (signature, text, drawing, bytes):            {:.2} ms",
        median(pdf_times)
    );
    println!(
        "  verify JSON:                                            {:.2} ms",
        median(json_times)
    );
}
