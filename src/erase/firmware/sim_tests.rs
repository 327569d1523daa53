//! Firmware methods against the simulated drives: the real encoders, decoders and orchestration.

use std::sync::Mutex;
use std::time::Duration;

use super::policy::{MediaClass, Policy};
use super::run::{FirmwareRun, RunOptions, RunStatus, run};
use super::sim::{SimAta, SimNvme, SimScsi};
use super::{check_supported, choose_purge, find, hidden};
use crate::device::Transport;
use crate::device::capabilities::{Capabilities, Transports, read_capabilities};
use crate::device::transport::{NvmeTransport, ScsiTransport};
use crate::erase::{Event, Sink, StopFlag};

const FAST: RunOptions = RunOptions {
    poll: Duration::from_millis(1),
    max_wait: Duration::from_secs(10),
};

#[derive(Default)]
struct Recorder(Mutex<Vec<Event>>);

impl Sink for Recorder {
    fn event(&self, e: Event) {
        self.0.lock().unwrap().push(e);
    }
}

/// Records events and raises the stop flag at the first progress report.
struct StopOnProgress {
    stop: StopFlag,
    seen: Recorder,
}

impl Sink for StopOnProgress {
    fn event(&self, e: Event) {
        if matches!(e, Event::Progress { .. }) {
            self.stop.stop();
        }
        self.seen.event(e);
    }
}

/// A simulated SATA or SCSI drive as the transports the real code takes.
fn scsi(sim: &mut dyn ScsiTransport) -> Transports<'_> {
    Transports {
        scsi: Some(sim),
        nvme: None,
        nsid: 0,
    }
}

/// A simulated NVMe drive (namespace 1) as the transports the real code takes.
fn nvme(sim: &mut dyn NvmeTransport) -> Transports<'_> {
    Transports {
        scsi: None,
        nvme: Some(sim),
        nsid: 1,
    }
}

/// Runs the method `name` as the station would, without checking support first (so a test can
/// see what the drive itself does with a command).
fn run_method(t: &mut Transports<'_>, caps: &Capabilities, name: &str) -> FirmwareRun {
    let Some(m) = find(name) else {
        panic!("no firmware method {name}");
    };
    run(m, caps, t, &FAST, &Recorder::default(), &StopFlag::new())
}

fn ata_caps(sim: &mut SimAta) -> Capabilities {
    read_capabilities(&mut scsi(sim), Transport::Sata)
}

fn run_ata(sim: &mut SimAta, name: &str, stop: &StopFlag) -> (FirmwareRun, Vec<Event>) {
    let caps = ata_caps(sim);
    let m = find(name).unwrap();
    check_supported(m, &caps).unwrap();
    let rec = Recorder::default();
    let r = run(m, &caps, &mut scsi(sim), &FAST, &rec, stop);
    (r, rec.0.into_inner().unwrap())
}

#[test]
fn ata_security_erase_sets_prepares_erases_and_leaves_no_password() {
    let mut sim = SimAta::new(1000);
    let (r, _) = run_ata(&mut sim, "ata-secure-erase", &StopFlag::new());
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.notes);
    assert!(sim.password.is_none() && !sim.locked);
    assert!(sim.data.iter().all(|&b| b == 0));
    let order: Vec<u8> = sim
        .log
        .iter()
        .copied()
        .filter(|c| [0xF1, 0xF3, 0xF4].contains(c))
        .collect();
    assert_eq!(order, [0xF1, 0xF3, 0xF4]);
    let (r, _) = run_ata(&mut sim, "ata-enhanced-secure-erase", &StopFlag::new());
    assert_eq!(r.status, RunStatus::Completed);
    assert!(sim.data.iter().all(|&b| b == 0xA5));
}

#[test]
fn frozen_or_locked_drives_are_refused_before_any_command_is_sent() {
    let mut sim = SimAta::new(1000);
    sim.frozen = true;
    let caps = ata_caps(&mut sim);
    let err = check_supported(find("ata-secure-erase").unwrap(), &caps).unwrap_err();
    assert!(
        err.reason.contains("frozen") && err.reason.contains("suspend"),
        "{}",
        err.reason
    );
    assert!(
        !sim.log.iter().any(|c| [0xF1, 0xF3, 0xF4, 0xF6].contains(c)),
        "{:?}",
        sim.log
    );
    let mut sim = SimAta::new(1000);
    sim.password = Some(b"someone".to_vec());
    sim.locked = true;
    let caps = ata_caps(&mut sim);
    let err = check_supported(find("ata-secure-erase").unwrap(), &caps).unwrap_err();
    assert!(err.reason.contains("locked"), "{}", err.reason);
}

#[test]
fn a_failed_erase_removes_the_temporary_password_so_the_drive_is_never_left_locked() {
    let mut sim = SimAta::new(1000);
    sim.erase_unit_fails = true;
    let before = sim.data.clone();
    let (r, _) = run_ata(&mut sim, "ata-secure-erase", &StopFlag::new());
    assert!(matches!(r.status, RunStatus::Failed(_)));
    assert!(sim.password.is_none(), "password left set");
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("temporary password removed")),
        "{:?}",
        r.notes
    );
    assert_eq!(sim.data, before);

    // If even disabling fails, the operator is told exactly what to do.
    let mut sim = SimAta::new(1000);
    sim.erase_unit_fails = true;
    sim.disable_fails = true;
    let (r, _) = run_ata(&mut sim, "ata-secure-erase", &StopFlag::new());
    assert!(
        r.notes
            .iter()
            .any(|n| n.contains("COULD NOT REMOVE") && n.contains("--security-disable wipeproof")),
        "{:?}",
        r.notes
    );

    // A refused SET PASSWORD changes nothing.
    let mut sim = SimAta::new(1000);
    sim.fail_next = Some(0xF1);
    let (r, _) = run_ata(&mut sim, "ata-secure-erase", &StopFlag::new());
    match r.status {
        RunStatus::Failed(why) => {
            assert!(why.contains("nothing on the drive was changed"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    assert!(sim.password.is_none());
}

#[test]
fn ata_sanitize_is_polled_to_completion_with_progress() {
    for (name, fill) in [
        ("ata-sanitize-block", 0xFF),
        ("ata-sanitize-crypto", 0x5C),
        ("ata-sanitize-overwrite", 0),
    ] {
        let mut sim = SimAta::new(1000);
        let (r, events) = run_ata(&mut sim, name, &StopFlag::new());
        assert_eq!(r.status, RunStatus::Completed, "{name}: {:?}", r.notes);
        assert!(sim.data.iter().all(|&b| b == fill), "{name}");
        let progress: Vec<u64> = events
            .iter()
            .filter_map(|e| match e {
                Event::Progress { done } => Some(*done),
                _ => None,
            })
            .collect();
        assert!(
            progress.len() >= 3 && progress.windows(2).all(|w| w[0] <= w[1]),
            "{progress:?}"
        );
        assert_eq!(
            *progress.last().unwrap(),
            crate::erase::FIRMWARE_PROGRESS_TOTAL
        );
    }
}

#[test]
fn a_drive_reporting_failed_sanitize_is_a_failure_not_a_pass() {
    let mut sim = SimAta::new(1000);
    sim.sanitize_failed = true;
    let (r, _) = run_ata(&mut sim, "ata-sanitize-block", &StopFlag::new());
    assert!(matches!(r.status, RunStatus::Failed(_)), "{:?}", r.status);
}

#[test]
fn power_loss_mid_sanitize_is_interrupted_and_the_drive_carries_on() {
    let mut sim = SimAta::new(1000);
    // The power goes once the drive reports the sanitize under way (its first progress).
    let stop = StopFlag::new();
    let sink = StopOnProgress {
        stop: stop.clone(),
        seen: Recorder::default(),
    };
    let caps = ata_caps(&mut sim);
    let m = find("ata-sanitize-crypto").unwrap();
    let r = run(m, &caps, &mut scsi(&mut sim), &FAST, &sink, &stop);
    assert!(
        matches!(r.status, RunStatus::Interrupted(ref why) if why.contains("carries on")),
        "{:?}",
        r.status
    );
    let progress: Vec<u64> = (sink.seen.0.into_inner().unwrap().into_iter())
        .filter_map(|e| match e {
            Event::Progress { done } => Some(done),
            _ => None,
        })
        .collect();
    assert!(
        progress.len() == 1 && progress[0] < crate::erase::FIRMWARE_PROGRESS_TOTAL,
        "stopped at the first progress, mid-sanitize: {progress:?}"
    );
    sim.power_cycle();
    assert!(
        sim.sanitize_polls_left.is_some(),
        "the sanitize survives the power cycle"
    );
    // A new SANITIZE is refused while one runs.
    let caps = ata_caps(&mut sim);
    let r = run_method(&mut scsi(&mut sim), &caps, "ata-sanitize-block");
    assert!(
        matches!(r.status, RunStatus::Failed(ref why) if why.contains("refused")),
        "{:?}",
        r.status
    );
}

#[test]
fn nvme_format_and_sanitize() {
    let mut sim = SimNvme::new();
    let caps = read_capabilities(&mut nvme(&mut sim), Transport::Nvme);
    assert!(check_supported(find("nvme-format-erase").unwrap(), &caps).is_ok());
    assert!(check_supported(find("nvme-format-crypto").unwrap(), &caps).is_err());
    assert!(check_supported(find("nvme-sanitize-crypto").unwrap(), &caps).is_err());
    let r = run_method(&mut nvme(&mut sim), &caps, "nvme-format-erase");
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.notes);
    assert!(sim.data.iter().all(|&b| b == 0));
    // SES 001b in CDW10 bits 11:9.
    assert!(
        sim.commands
            .iter()
            .any(|(op, cdw10)| *op == 0x80 && (cdw10 >> 9) & 7 == 1)
    );

    let mut sim = SimNvme::new();
    sim.sanicap = 0b111;
    let caps = read_capabilities(&mut nvme(&mut sim), Transport::Nvme);
    let m = choose_purge(&caps, MediaClass::Flash, Policy::Nist80088Rev2).unwrap();
    assert_eq!(m.name, "nvme-sanitize-crypto");
    let r = run_method(&mut nvme(&mut sim), &caps, m.name);
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.notes);
    assert!(sim.data.iter().all(|&b| b == 0x3C));

    sim.sanitize_fails = true;
    let r = run_method(&mut nvme(&mut sim), &caps, "nvme-sanitize-block");
    assert!(
        matches!(r.status, RunStatus::Failed(ref why) if why.contains("failed")),
        "{:?}",
        r.status
    );
}

#[test]
fn a_format_during_a_sanitize_is_refused_with_the_specifications_status() {
    let mut sim = SimNvme::new();
    let caps = read_capabilities(&mut nvme(&mut sim), Transport::Nvme);
    // A sanitize started earlier (by another tool, or before a power cycle) still runs.
    sim.sanitize_polls_left = Some(3);
    let before = sim.data.clone();
    let r = run_method(&mut nvme(&mut sim), &caps, "nvme-format-erase");
    // Generic status 0x1D is Sanitize In Progress (NVMe Base 2.0), with Do Not Retry.
    assert_eq!(
        r.status,
        RunStatus::Failed("Format NVM failed: sanitize in progress (SCT 0x0, SC 0x1d)".into())
    );
    assert_eq!(sim.data, before);
}

#[test]
fn scsi_sanitize_polls_request_sense() {
    let mut sim = SimScsi::new();
    let caps = read_capabilities(&mut scsi(&mut sim), Transport::Sas);
    assert!(caps.ata.is_none());
    let s = caps.scsi.unwrap();
    assert!(s.sanitize_crypto && s.sanitize_overwrite && !s.sanitize_block);
    assert_eq!((s.logical_blocks, s.block_length), (Some(64), Some(512)));
    assert!(s.reads_zeros_after_unmap);
    assert!(check_supported(find("scsi-sanitize-block").unwrap(), &caps).is_err());
    let r = run_method(&mut scsi(&mut sim), &caps, "scsi-sanitize-crypto");
    assert_eq!(r.status, RunStatus::Completed, "{:?}", r.notes);
    sim.fails = true;
    let r = run_method(&mut scsi(&mut sim), &caps, "scsi-sanitize-overwrite");
    assert!(
        matches!(r.status, RunStatus::Failed(ref why) if why.contains("SANITIZE COMMAND FAILED")),
        "{:?}",
        r.status
    );
}

#[test]
fn hpa_is_removed_volatilely_and_a_dco_is_reported() {
    let mut sim = SimAta::new(900);
    sim.native_sectors = 1000;
    sim.dco_sectors = 1200;
    let caps = ata_caps(&mut sim);
    let a = caps.ata.as_ref().unwrap();
    assert_eq!(a.hpa_sectors(), 100);
    assert_eq!(a.dco_sectors(), 200);
    let found = hidden::restore(&mut sim, a);
    assert_eq!(found.len(), 2);
    assert_eq!(
        (found[0].kind.as_str(), found[0].action.as_str()),
        ("HPA", "removed")
    );
    assert!(found[0].detail.contains("until the next power cycle"));
    assert_eq!(sim.sectors, 1000);
    assert_eq!(
        (found[1].kind.as_str(), found[1].action.as_str()),
        ("DCO", "not-removable")
    );
    assert!(found[1].remains() && !found[0].remains());

    // A drive that refuses: the HPA stays and says so.
    let mut sim = SimAta::new(900);
    sim.native_sectors = 1000;
    sim.dco_sectors = 1000;
    sim.fail_next = Some(0x37);
    let caps = ata_caps(&mut sim);
    let found = hidden::restore(&mut sim, caps.ata.as_ref().unwrap());
    assert_eq!(found[0].action, "not-removable");
    assert_eq!(sim.sectors, 900);
}

#[test]
fn purge_on_an_ata_ssd_picks_crypto_scramble_and_refuses_without_sanitize() {
    let mut sim = SimAta::new(1000);
    let caps = ata_caps(&mut sim);
    assert_eq!(
        choose_purge(&caps, MediaClass::Flash, Policy::Nist80088Rev2)
            .unwrap()
            .name,
        "ata-sanitize-crypto"
    );
    sim.sanitize = (false, false, false);
    let caps = ata_caps(&mut sim);
    // Security erase is Clear on flash under Rev. 2, so there is no Purge.
    let advice = choose_purge(&caps, MediaClass::Flash, Policy::Nist80088Rev2).unwrap_err();
    assert!(
        advice.contains("ata-enhanced-secure-erase") && advice.contains("(Clear)"),
        "{advice}"
    );
    // On a magnetic drive the enhanced security erase is Purge.
    assert_eq!(
        choose_purge(&caps, MediaClass::Magnetic, Policy::Nist80088Rev2)
            .unwrap()
            .name,
        "ata-enhanced-secure-erase"
    );
}
