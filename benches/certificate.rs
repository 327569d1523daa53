//! How long issuing (sign, render, write durably) and verifying a certificate take, in
//! milliseconds: `cargo bench --bench certificate`. Medians of 50 runs.

use std::time::{Duration, Instant};

use wipeproof::certificate::check::verify_file;
use wipeproof::certificate::issue::issue;
use wipeproof::certificate::keys::{StationKey, TrustStore};
use wipeproof::certificate::record::{
    Issuable, IssueContext, MethodInfo, Organisation, PerformedBy, WipeFacts,
};
use wipeproof::device::DriveInfo;
use wipeproof::device::identity::{Identity, Media, Transport};
use wipeproof::erase::{OverwritePlan, PassPattern, VerifyPasses};
use wipeproof::verify::outcome::{
    Check, Outcome, Step, StepAction, StepStatus, Verification, VerifyMode, VerifySpec,
};

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
        disk: Some("sdb".into()),
        identity: Identity::default(),
    };
    let steps: Vec<Step> = plan
        .passes
        .iter()
        .enumerate()
        .map(|(i, p): (usize, &PassPattern)| {
            let mut s = Step::new(i as u32 + 1, StepAction::Overwrite { pattern: p.clone() });
            s.status = StepStatus::Completed;
            s.bytes_written = drive.size_bytes;
            s.started_at = Some("2026-11-28T10:00:00Z".into());
            s.ended_at = Some("2026-11-28T10:20:00Z".into());
            s
        })
        .collect();
    let verification = Verification {
        spec: VerifySpec {
            mode: VerifyMode::Sample,
            coverage_ppm: 100_000,
        },
        verify_passes: VerifyPasses::Last,
        plan: None,
        checks: vec![Check {
            step: 3,
            mode: VerifyMode::Sample,
            bytes_read: 100_000_000_000,
            passed: true,
            interrupted: false,
            mismatch_count: 0,
            mismatches: vec![],
            unreadable: vec![],
            digest: Some("ab".repeat(32)),
            before_digest: None,
            detail: None,
        }],
    };
    let outcome = Outcome::conclude(steps, verification, &[3], vec![]);
    let ctx = IssueContext {
        organisation: Organisation {
            name: "Greenfield IT Recycling Ltd".into(),
            address: "Unit 4, Canal Works, Leeds".into(),
        },
        performed_by: PerformedBy {
            operator: "Jane Doe".into(),
            station_id: "bay-3".into(),
        },
        destination: "reuse".into(),
        customer: Some("Acme Insurance plc".into()),
        collection: Some("COL-1".into()),
        asset_tags: vec!["ACME-1".into()],
    };
    let certs = dir.path().join("certificates");
    let mut issued_times = Vec::new();
    let mut last = None;
    for _ in 0..RUNS {
        let t = Instant::now();
        let issuable = Issuable::from_wipe(
            WipeFacts {
                wipe_id: "6a1f2e3d-4c5b-4a69-8786-958473625140",
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
