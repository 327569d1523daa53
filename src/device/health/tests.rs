//! Tests of the health readers over SMART pages saved from QEMU's IDE disk and NVMe controller
//! (`tests/fixtures/smart/README.md`), altered copies of them, and a drive answering the real
//! ATA PASS-THROUGH and admin commands with them.

use std::path::Path;
use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::device::ata::fixture::IdentifyBuilder;
use crate::device::nvme::{AdminCommand, Completion};
use crate::device::transport::{DataPhase, ScsiReply, TransportError};

fn page(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/smart")
            .join(name),
    )
    .unwrap()
}

/// Sets byte 511 so the page sums to zero again.
fn fix_checksum(p: &mut [u8]) {
    p[511] = 0;
    let sum = p.iter().fold(0u8, |s, b| s.wrapping_add(*b));
    p[511] = sum.wrapping_neg();
}

/// Where attribute `id`'s 12-byte entry starts.
fn entry(p: &[u8], id: u8) -> usize {
    (0..30).map(|i| 2 + 12 * i).find(|&at| p[at] == id).unwrap()
}

#[test]
fn qemus_ide_disk_is_healthy_with_its_power_on_hours() {
    let attrs = ata::decode_data(&page("qemu-ide-smart-data.bin")).unwrap();
    let thresholds = ata::decode_thresholds(&page("qemu-ide-smart-thresholds.bin")).unwrap();
    assert_eq!(attrs.len(), 7, "{attrs:?}");
    assert_eq!(thresholds.get(&1), Some(&6));
    let h = ata::judge(&attrs, &thresholds, Some(false));
    assert_eq!(h.verdict, Verdict::Ok, "{h:?}");
    assert_eq!(h.source.as_deref(), Some("ata-smart"));
    assert_eq!(h.power_on_hours, Some(1));
    assert!(
        h.attributes
            .contains(&HealthAttribute::new("Reallocated_Sector_Ct", 0, None)),
        "{h:?}"
    );
}

#[test]
fn reallocated_sectors_warn_and_a_crossed_threshold_fails() {
    let thresholds = ata::decode_thresholds(&page("qemu-ide-smart-thresholds.bin")).unwrap();
    let mut p = page("qemu-ide-smart-data.bin");
    let at = entry(&p, 5);
    p[at + 5] = 8; // raw: 8 reallocated sectors
    fix_checksum(&mut p);
    let h = ata::judge(&ata::decode_data(&p).unwrap(), &thresholds, Some(false));
    assert_eq!(h.verdict, Verdict::Warning, "{h:?}");
    assert!(
        h.reasons.iter().any(|r| r == "8 reallocated sectors"),
        "{h:?}"
    );

    // Raw_Read_Error_Rate (pre-failure) falls to its threshold of 6.
    let at = entry(&p, 1);
    p[at + 3] = 6;
    fix_checksum(&mut p);
    let h = ata::judge(&ata::decode_data(&p).unwrap(), &thresholds, Some(false));
    assert_eq!(h.verdict, Verdict::Failing, "{h:?}");
    assert!(
        h.attributes.contains(&HealthAttribute::new(
            "Raw_Read_Error_Rate (normalised)",
            6,
            Some(6)
        )),
        "{h:?}"
    );
    // The drive's own status alone also fails it.
    let healthy = ata::decode_data(&page("qemu-ide-smart-data.bin")).unwrap();
    let h = ata::judge(&healthy, &thresholds, Some(true));
    assert_eq!(h.verdict, Verdict::Failing);
}

#[test]
fn broken_ata_pages_are_refused() {
    let mut p = page("qemu-ide-smart-data.bin");
    p[100] ^= 1;
    assert_eq!(ata::decode_data(&p), Err(ata::SmartPageError::Checksum));
    assert_eq!(
        ata::decode_data(&p[..300]),
        Err(ata::SmartPageError::Length(300))
    );
    // An all-zero page sums to zero but says nothing.
    let zeros = vec![0u8; 512];
    let h = ata::judge(
        &ata::decode_data(&zeros).unwrap(),
        &Default::default(),
        None,
    );
    assert_eq!(h.verdict, Verdict::Unknown);
}

#[test]
fn qemus_nvme_log_is_healthy() {
    let log = nvme::decode(&page("qemu-nvme-smart-log.bin")).unwrap();
    assert_eq!(log.temperature_kelvin, 323);
    let h = nvme::judge(&log);
    assert_eq!(h.verdict, Verdict::Ok, "{h:?}");
    assert_eq!(h.power_on_hours, Some(0));
    assert_eq!(h.temperature_celsius, Some(50));
    assert_eq!(h.source.as_deref(), Some("nvme-smart-log"));
}

#[test]
fn nvme_warnings_and_failures() {
    let mut p = page("qemu-nvme-smart-log.bin");
    p[160] = 3; // media errors
    p[128] = 0x10;
    p[129] = 0x27; // 10000 power-on hours
    let h = nvme::judge(&nvme::decode(&p).unwrap());
    assert_eq!(h.verdict, Verdict::Warning, "{h:?}");
    assert_eq!(h.power_on_hours, Some(10000));
    p[0] = 0x04; // reliability degraded
    let h = nvme::judge(&nvme::decode(&p).unwrap());
    assert_eq!(h.verdict, Verdict::Failing, "{h:?}");
    assert!(h.reasons[0].contains("reliability"), "{h:?}");
    // Counters beyond what a record carries exactly are capped.
    p[128..144].copy_from_slice(&[0xff; 16]);
    let h = nvme::judge(&nvme::decode(&p).unwrap());
    assert_eq!(h.power_on_hours, Some((1 << 53) - 1));
    assert_eq!(nvme::decode(&p[..100]), Err(nvme::LogLength(100)));
}

/// An ATA drive behind SAT that answers IDENTIFY and SMART with the saved QEMU pages, or
/// aborts SMART.
struct Drive {
    smart: bool,
}

fn sense(error: u8, status: u8, lba: u64) -> Vec<u8> {
    let l = lba.to_le_bytes();
    vec![
        0x72, 0x01, 0x00, 0x1d, 0, 0, 0, 14, 0x09, 0x0c, 0x01, error, 0, 0, l[3], l[0], l[4], l[1],
        l[5], l[2], 0x40, status,
    ]
}

impl ScsiTransport for Drive {
    fn scsi(
        &mut self,
        cdb: &[u8],
        data: DataPhase<'_>,
        _timeout: Duration,
    ) -> Result<ScsiReply, TransportError> {
        let reply = |sense: Vec<u8>| ScsiReply {
            status: 2,
            driver_status: 8,
            sense,
            ..ScsiReply::default()
        };
        let (command, feature) = (cdb[14], cdb[4]);
        let bytes = match (command, feature) {
            (0xEC, _) => IdentifyBuilder::new().model("SIM").build(),
            (0xB0, _) if !self.smart => return Ok(reply(sense(0x04, 0x51, 0))),
            (0xB0, 0xD0) => page("qemu-ide-smart-data.bin"),
            (0xB0, 0xD1) => page("qemu-ide-smart-thresholds.bin"),
            (0xB0, 0xDA) => return Ok(reply(sense(0, 0x50, 0x2C_F400))),
            _ => return Ok(reply(sense(0x04, 0x51, 0))),
        };
        if let DataPhase::FromDevice(buf) = data {
            buf[..512].copy_from_slice(&bytes[..512]);
        }
        Ok(ScsiReply::default())
    }
}

#[test]
fn an_ata_drive_is_asked_through_pass_through() {
    let h = read_ata(&mut Drive { smart: true });
    // Its pages are healthy, but RETURN STATUS says a threshold is exceeded.
    assert_eq!(h.verdict, Verdict::Failing, "{h:?}");
    assert_eq!(h.power_on_hours, Some(1));
    let h = read_ata(&mut Drive { smart: false });
    assert_eq!(h.verdict, Verdict::Unknown, "{h:?}");
    assert!(h.reasons[0].contains("refused SMART READ DATA"), "{h:?}");
}

struct Controller(Vec<u8>);

impl NvmeTransport for Controller {
    fn admin(
        &mut self,
        cmd: &AdminCommand,
        data: &mut [u8],
        _timeout: Duration,
    ) -> Result<Completion, TransportError> {
        assert_eq!(
            (cmd.opcode, cmd.cdw10 & 0xff, cmd.data_len),
            (0x02, 0x02, 512)
        );
        data[..512].copy_from_slice(&self.0);
        Ok(Completion::default())
    }
}

#[test]
fn an_nvme_drive_is_asked_for_log_page_2() {
    let h = read_nvme(&mut Controller(page("qemu-nvme-smart-log.bin")));
    assert_eq!(h.verdict, Verdict::Ok, "{h:?}");
}

#[test]
fn drives_without_smart_are_unknown() {
    for t in [Transport::Loop, Transport::File, Transport::Virtio] {
        let h = read_for_disk(Path::new("/nonexistent"), t);
        assert_eq!(h.verdict, Verdict::Unknown);
        assert_eq!(h.power_on_hours, None);
    }
    let json = serde_json::to_value(Health::unknown("a loop device has no SMART")).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"verdict": "unknown", "attributes": [],
                           "reasons": ["a loop device has no SMART"]})
    );
}

proptest! {
    #[test]
    fn any_pages_decode_and_judge_without_panicking(
        data in proptest::collection::vec(any::<u8>(), 0..600),
        thresholds in proptest::collection::vec(any::<u8>(), 512..=512),
    ) {
        let _ = nvme::decode(&data).map(|l| nvme::judge(&l));
        let mut d = data.clone();
        d.resize(512, 0);
        fix_checksum(&mut d);
        let mut t = thresholds;
        fix_checksum(&mut t);
        let attrs = ata::decode_data(&d).unwrap();
        let th = ata::decode_thresholds(&t).unwrap();
        let _ = ata::judge(&attrs, &th, None);
    }
}
