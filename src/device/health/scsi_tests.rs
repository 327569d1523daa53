//! Tests of the SCSI log page readers over page images built byte by byte after the layouts
//! the standards give (each builder names its page and where its bytes come from), broken
//! copies of them (cut short, lengths past the end, another page), and a simulated SAS drive
//! answering LOG SENSE with them.

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::device::health::read_ata;
use crate::device::transport::{ScsiReply, TransportError};

/// A log page: header (SPC-4 log page format: byte 0 PAGE CODE in bits 5-0, byte 1 SUBPAGE
/// CODE, bytes 2-3 PAGE LENGTH, big-endian, the bytes after the header) and its parameters.
fn log_page(code: u8, params: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = params.concat();
    let mut p = vec![code, 0];
    p.extend_from_slice(&(body.len() as u16).to_be_bytes());
    p.extend(body);
    p
}

/// A log parameter (SPC-4 log parameter format: bytes 0-1 PARAMETER CODE, byte 2 control
/// bits, byte 3 PARAMETER LENGTH, then the value). Control 03h: binary format and linking, as
/// drives set it for counters.
fn param(code: u16, value: &[u8]) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(&[0x03, value.len() as u8]);
    p.extend_from_slice(value);
    p
}

/// Supported Log Pages (00h, SPC-4): no parameters, one page code per byte.
fn supported(codes: &[u8]) -> Vec<u8> {
    let mut p = vec![0x00, 0x00];
    p.extend_from_slice(&(codes.len() as u16).to_be_bytes());
    p.extend_from_slice(codes);
    p
}

/// Informational Exceptions (2Fh, SPC-4) parameter 0000h: ASC, ASCQ, most recent temperature
/// reading (parameter length 03h as the minimum the standard allows, vendor bytes after it
/// where drives add them).
fn exceptions(asc: u8, ascq: u8) -> Vec<u8> {
    log_page(0x2F, &[param(0x0000, &[asc, ascq, 36])])
}

/// Temperature (0Dh, SPC-4): parameter 0000h (byte 4 reserved, byte 5 TEMPERATURE °C) and
/// 0001h the reference temperature.
fn temperature(celsius: u8) -> Vec<u8> {
    log_page(
        0x0D,
        &[param(0x0000, &[0, celsius]), param(0x0001, &[0, 60])],
    )
}

/// Start-Stop Cycle Counter (0Eh, SPC-4): 0001h date of manufacture (YYYYWW, ASCII), 0002h
/// accounting date, 0003h-0006h 4-byte counters: specified and accumulated start-stop cycles,
/// specified and accumulated load-unload cycles.
fn start_stop(specified: u32, accumulated: u32, lu_specified: u32, lu: u32) -> Vec<u8> {
    log_page(
        0x0E,
        &[
            param(0x0001, b"201952"),
            param(0x0002, b"      "),
            param(0x0003, &specified.to_be_bytes()),
            param(0x0004, &accumulated.to_be_bytes()),
            param(0x0005, &lu_specified.to_be_bytes()),
            param(0x0006, &lu.to_be_bytes()),
        ],
    )
}

/// Self-Test Results (10h, SPC-4): twenty parameters 0001h-0014h of 10h bytes, newest first:
/// byte 4 SELF-TEST CODE (bits 7-5) and RESULTS (bits 3-0), byte 5 SELF-TEST NUMBER, bytes 6-7
/// ACCUMULATED POWER ON HOURS, bytes 8-15 ADDRESS OF FIRST FAILURE, bytes 16-18 sense key,
/// ASC, ASCQ; unused ones all zero. `tests` are (results, power-on hours), newest first.
fn self_tests(tests: &[(u8, u16)]) -> Vec<u8> {
    let params: Vec<Vec<u8>> = (0..20u16)
        .map(|i| {
            let mut v = vec![0u8; 16];
            if let Some(&(result, hours)) = tests.get(i as usize) {
                v[0] = 0x20 | result; // background short self-test
                v[1] = 1;
                v[2..4].copy_from_slice(&hours.to_be_bytes());
                if (4..=7).contains(&result) {
                    v[4..12].copy_from_slice(&0x1234u64.to_be_bytes());
                    v[12..15].copy_from_slice(&[0x03, 0x11, 0x00]); // unrecovered read error
                }
            }
            param(i + 1, &v)
        })
        .collect();
    log_page(0x10, &params)
}

/// Solid State Media (11h, SBC-3): parameter 0001h, 3 reserved bytes then PERCENTAGE USED
/// ENDURANCE INDICATOR.
fn solid_state(used: u8) -> Vec<u8> {
    log_page(0x11, &[param(0x0001, &[0, 0, 0, used])])
}

/// Background Scan Results (15h, SBC-3): parameter 0000h Background Scan Status, 0Ch bytes:
/// bytes 4-7 ACCUMULATED POWER ON MINUTES, byte 8 reserved, byte 9 BACKGROUND SCAN STATUS,
/// bytes 10-11 NUMBER OF BACKGROUND SCANS PERFORMED, 12-13 BACKGROUND SCAN PROGRESS, 14-15
/// NUMBER OF BACKGROUND MEDIUM SCANS PERFORMED; then one medium scan parameter (0001h, 14h
/// bytes).
fn background_scan(minutes: u32) -> Vec<u8> {
    let mut status = minutes.to_be_bytes().to_vec();
    status.extend_from_slice(&[0, 0, 0, 12, 0, 0, 0, 12]);
    log_page(0x15, &[param(0x0000, &status), param(0x0001, &[0u8; 20])])
}

/// A healthy SAS hard disk's pages.
fn healthy_disk() -> BTreeMap<u8, Vec<u8>> {
    BTreeMap::from([
        (
            0x00,
            supported(&[0x00, 0x02, 0x03, 0x0D, 0x0E, 0x10, 0x15, 0x2F]),
        ),
        (0x2F, exceptions(0, 0)),
        (0x0D, temperature(34)),
        (0x0E, start_stop(50_000, 412, 600_000, 1_870)),
        (0x10, self_tests(&[(0, 41_200), (0, 40_000)])),
        (0x15, background_scan(2_474_700)),
    ])
}

fn logs_of(pages: &BTreeMap<u8, Vec<u8>>) -> ScsiLogs {
    let mut logs = ScsiLogs::default();
    for (p, bytes) in pages {
        decode_into(&mut logs, *p, bytes).unwrap();
    }
    logs
}

#[test]
fn a_healthy_sas_disk_is_ok_with_its_power_on_hours() {
    let pages = healthy_disk();
    assert_eq!(
        supported_pages(&pages[&0]).unwrap(),
        [0x00, 0x02, 0x03, 0x0D, 0x0E, 0x10, 0x15, 0x2F]
    );
    let logs = logs_of(&pages);
    assert_eq!(logs.exception, Some((0, 0)));
    assert_eq!(logs.temperature_celsius, Some(34));
    assert_eq!(
        logs.start_stop,
        Some(Cycles {
            accumulated: 412,
            specified: 50_000
        })
    );
    assert_eq!(
        logs.last_self_test,
        Some(SelfTest {
            result: 0,
            power_on_hours: 41_200
        })
    );
    assert_eq!(logs.power_on_minutes, Some(2_474_700));
    let h = judge(&logs);
    assert_eq!(h.verdict, Verdict::Ok, "{h:?}");
    assert_eq!(h.source.as_deref(), Some("scsi-log-pages"));
    assert_eq!(h.power_on_hours, Some(41_245));
    assert_eq!(h.temperature_celsius, Some(34));
    assert_eq!(
        h.power_cycles, None,
        "start-stop cycles are not power cycles"
    );
    assert!(
        h.attributes.contains(&HealthAttribute::new(
            "accumulated_start_stop_cycles",
            412,
            Some(50_000)
        )),
        "{h:?}"
    );
}

#[test]
fn a_predicted_failure_fails_and_a_warning_warns() {
    let mut pages = healthy_disk();
    pages.insert(0x2F, exceptions(0x5D, 0x10));
    let h = judge(&logs_of(&pages));
    assert_eq!(h.verdict, Verdict::Failing, "{h:?}");
    assert!(
        h.reasons[0].contains("failure prediction threshold exceeded (ASC/ASCQ 5Dh/10h)"),
        "{h:?}"
    );
    pages.insert(0x2F, exceptions(0x0B, 0x01));
    let h = judge(&logs_of(&pages));
    assert_eq!(h.verdict, Verdict::Warning, "{h:?}");
    assert!(h.reasons[0].contains("warning (ASC/ASCQ 0Bh/01h)"), "{h:?}");
}

#[test]
fn the_newest_finished_self_test_decides() {
    let mut pages = healthy_disk();
    // Newest: failed in its second segment.
    pages.insert(0x10, self_tests(&[(6, 41_300), (0, 41_200)]));
    let h = judge(&logs_of(&pages));
    assert_eq!(h.verdict, Verdict::Warning, "{h:?}");
    assert!(
        h.reasons
            .iter()
            .any(|r| r == "the last self-test failed (result 6h, at 41300 power-on hours)"),
        "{h:?}"
    );
    // A failure followed by a pass, or hidden behind one in progress (Fh) and one aborted
    // (1h): the newest that ran to its end counts.
    pages.insert(0x10, self_tests(&[(0, 41_300), (5, 41_200)]));
    assert_eq!(judge(&logs_of(&pages)).verdict, Verdict::Ok);
    pages.insert(0x10, self_tests(&[(0xF, 41_400), (1, 41_300), (7, 41_200)]));
    let logs = logs_of(&pages);
    assert_eq!(logs.last_self_test.map(|t| t.result), Some(7));
    assert_eq!(judge(&logs).verdict, Verdict::Warning);
    // No self-test ever run: twenty zero parameters.
    pages.insert(0x10, self_tests(&[]));
    assert_eq!(logs_of(&pages).last_self_test, None);
}

#[test]
fn endurance_and_lifetime_cycles_used_up_warn() {
    let mut pages = healthy_disk();
    pages.insert(0x11, solid_state(42));
    let h = judge(&logs_of(&pages));
    assert_eq!((h.verdict, h.percentage_used), (Verdict::Ok, Some(42)));
    pages.insert(0x11, solid_state(100));
    let h = judge(&logs_of(&pages));
    assert_eq!(h.verdict, Verdict::Warning, "{h:?}");
    assert!(
        h.reasons
            .contains(&"100 % of the rated endurance used".to_string())
    );

    let mut pages = healthy_disk();
    pages.insert(0x0E, start_stop(50_000, 50_000, 0, 9_999_999));
    let h = judge(&logs_of(&pages));
    assert_eq!(h.verdict, Verdict::Warning, "{h:?}");
    assert_eq!(
        h.reasons,
        ["50000 start-stop cycles, 50000 specified over the drive's lifetime"],
        "an unspecified lifetime (0) is no limit"
    );
}

#[test]
fn without_the_informational_exceptions_page_ok_is_unknown() {
    let mut pages = healthy_disk();
    pages.remove(&0x2F);
    let h = judge(&logs_of(&pages));
    assert_eq!(h.verdict, Verdict::Unknown, "{h:?}");
    assert_eq!(h.source.as_deref(), Some("scsi-log-pages"));
    assert_eq!(h.power_on_hours, Some(41_245), "what was read is kept");
    // A failed self-test still warns without it.
    pages.insert(0x10, self_tests(&[(4, 1)]));
    assert_eq!(judge(&logs_of(&pages)).verdict, Verdict::Warning);
}

#[test]
fn broken_pages_are_read_up_to_the_damage() {
    // Shorter than the header; another page than asked.
    assert_eq!(LogPage::parse(&[0x2F, 0, 0]), Err(LogPageError::Short(3)));
    assert_eq!(
        decode_exceptions(&temperature(30)),
        Err(LogPageError::OtherPage {
            asked: 0x2F,
            got: 0x0D
        })
    );
    // PAGE LENGTH past the end: the whole parameters that arrived are read.
    let mut t = temperature(41);
    t[3] = 0xFF;
    let p = LogPage::parse(&t).unwrap();
    assert!(p.truncated);
    assert_eq!(decode_temperature(&t), Ok(Some(41)));
    // Cut inside parameter 0000h's value: not read.
    let cut = &exceptions(0x5D, 0x10)[..9];
    assert_eq!(decode_exceptions(cut), Ok(None));
    // A PARAMETER LENGTH past the end of the page: that parameter and none after it.
    let mut ss = start_stop(50_000, 412, 600_000, 1_870);
    let at = 4 + 10 + 10 + 8; // parameter 0004h's header
    ss[at + 3] = 0xFF;
    assert_eq!(decode_start_stop(&ss), Ok((None, None)));
    // PAGE LENGTH shorter than the parameters: the rest is not the page's.
    let mut bs = background_scan(600);
    bs[2..4].copy_from_slice(&6u16.to_be_bytes());
    assert_eq!(decode_power_on_minutes(&bs), Ok(None));
    // Too short a value for its field; temperature FFh is "not available".
    let short = log_page(0x11, &[param(0x0001, &[0, 0])]);
    assert_eq!(decode_solid_state(&short), Ok(None));
    assert_eq!(decode_temperature(&temperature(0xFF)), Ok(None));
    // A page of zero-length parameters walks to its end.
    let zeros = log_page(0x10, &vec![param(0x0001, &[]); 300]);
    assert_eq!(decode_self_tests(&zeros), Ok(None));
}

/// A SAS drive: no ATA PASS-THROUGH, LOG SENSE answered from `pages` (cut to the allocation
/// length, the residual set), any other page or command ILLEGAL REQUEST.
struct SasDrive {
    pages: BTreeMap<u8, Vec<u8>>,
    asked: Vec<[u8; 10]>,
}

/// Fixed-format sense: ILLEGAL REQUEST with `asc`/`ascq`.
fn illegal(asc: u8, ascq: u8) -> ScsiReply {
    let mut sense = vec![0u8; 18];
    sense[0] = 0x70;
    sense[2] = 0x05;
    sense[7] = 10;
    sense[12] = asc;
    sense[13] = ascq;
    ScsiReply {
        status: 2,
        driver_status: 8,
        sense,
        ..ScsiReply::default()
    }
}

impl ScsiTransport for SasDrive {
    fn scsi(
        &mut self,
        cdb: &[u8],
        data: DataPhase<'_>,
        _timeout: Duration,
    ) -> Result<ScsiReply, TransportError> {
        if cdb[0] != 0x4D {
            return Ok(illegal(0x20, 0x00));
        }
        let cdb: [u8; 10] = cdb.try_into().expect("LOG SENSE is 10 bytes");
        self.asked.push(cdb);
        assert_eq!(cdb[2] & 0xC0, 0x40, "cumulative values");
        let Some(page) = self.pages.get(&(cdb[2] & 0x3F)) else {
            return Ok(illegal(0x24, 0x00));
        };
        let DataPhase::FromDevice(buf) = data else {
            panic!("LOG SENSE reads");
        };
        let alloc = u16::from_be_bytes([cdb[7], cdb[8]]) as usize;
        let n = page.len().min(alloc).min(buf.len());
        buf[..n].copy_from_slice(&page[..n]);
        Ok(ScsiReply {
            residual: (buf.len() - n) as i32,
            ..ScsiReply::default()
        })
    }
}

#[test]
fn a_drive_without_ata_is_read_through_log_sense() {
    let mut drive = SasDrive {
        pages: healthy_disk(),
        asked: Vec::new(),
    };
    let h = read_ata(&mut drive);
    assert_eq!(h.verdict, Verdict::Ok, "{h:?}");
    assert_eq!(h.source.as_deref(), Some("scsi-log-pages"));
    assert_eq!(h.power_on_hours, Some(41_245));
    // The supported list first, then only the wanted pages it offers.
    let asked: Vec<u8> = drive.asked.iter().map(|c| c[2] & 0x3F).collect();
    assert_eq!(asked, [0x00, 0x2F, 0x0D, 0x0E, 0x10, 0x15]);
    assert_eq!(drive.asked[0], [0x4D, 0, 0x40, 0, 0, 0, 0, 0x04, 0x00, 0]);

    // A page listed but refused is said, and the others still count.
    drive.pages.remove(&0x0D);
    let h = read_ata(&mut drive);
    assert_eq!(h.verdict, Verdict::Ok, "{h:?}");
    assert_eq!(h.temperature_celsius, None);
    assert!(
        h.reasons
            .iter()
            .any(|r| r.starts_with("log page 0Dh was refused: illegal request")),
        "{h:?}"
    );
}

#[test]
fn a_drive_refusing_log_sense_or_keeping_no_health_page_is_unknown() {
    let mut none = SasDrive {
        pages: BTreeMap::new(),
        asked: Vec::new(),
    };
    let h = read_ata(&mut none);
    assert_eq!((h.verdict, h.source.as_deref()), (Verdict::Unknown, None));
    assert!(
        h.reasons[0].contains("does not answer ATA commands"),
        "{h:?}"
    );
    assert!(h.reasons[0].contains("refused LOG SENSE"), "{h:?}");
    assert!(h.reasons[0].contains("ASC/ASCQ 0x24/0x00"), "{h:?}");

    let mut bare = SasDrive {
        pages: BTreeMap::from([(0x00, supported(&[0x00, 0x02, 0x03]))]),
        asked: Vec::new(),
    };
    let h = read_ata(&mut bare);
    assert_eq!(h.verdict, Verdict::Unknown, "{h:?}");
    assert!(
        h.reasons[0].contains("keeps none of the log pages"),
        "{h:?}"
    );
    // A garbled supported list.
    bare.pages.insert(0x00, vec![0x0D, 0, 0, 0]);
    let h = read_ata(&mut bare);
    assert!(h.reasons[0].contains("answered log page 0Dh"), "{h:?}");
}

proptest! {
    #[test]
    fn any_log_page_decodes_and_judges_without_panicking(
        data in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let mut logs = ScsiLogs::default();
        for p in [0x00, 0x0D, 0x0E, 0x10, 0x11, 0x15, 0x2F] {
            // As the page it claims to be, and as each page in turn.
            let _ = decode_into(&mut logs, p, &data);
            let mut as_page = data.clone();
            if let Some(b) = as_page.first_mut() {
                *b = p;
            }
            let _ = decode_into(&mut logs, p, &as_page);
            let _ = supported_pages(&as_page);
        }
        let h = judge(&logs);
        prop_assert!(h.power_on_hours.is_none_or(|h| h <= u32::MAX as u64 / 60));
    }
}
