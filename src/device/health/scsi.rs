//! SCSI drive health (SAS drives, USB bridges that speak plain SCSI): the log pages LOG SENSE
//! reads (SCSI Primary Commands, SPC-4), judged into a [`Health`]. Which pages the drive keeps comes from its
//! Supported Log Pages page (00h); of those, wipeproof reads:
//!
//! * Informational Exceptions (2Fh, SPC-4): the drive's own failure prediction, the
//!   additional sense code it would report (5Dh FAILURE PREDICTION THRESHOLD EXCEEDED, 0Bh
//!   WARNING, 00h none pending);
//! * Temperature (0Dh, SPC-4): the current temperature in °C;
//! * Start-Stop Cycle Counter (0Eh, SPC-4): accumulated start-stop and load-unload
//!   cycles, and the counts specified over the device's lifetime;
//! * Self-Test Results (10h, SPC-4): the last twenty self-tests, newest first;
//! * Solid State Media (11h, SCSI Block Commands, SBC-3): the percentage used endurance indicator;
//! * Background Scan Results (15h, SBC-3): its status parameter carries the accumulated
//!   power-on minutes.
//!
//! Pages come from the drive and are untrusted: every length is checked against what arrived,
//! a parameter cut short is not read, and decoding never panics.

use std::time::Duration;

use super::{Health, HealthAttribute, Verdict};
use crate::device::sense::Sense;
use crate::device::transport::{DataPhase, ScsiTransport};

/// LOG SENSE operation code.
const LOG_SENSE: u8 = 0x4D;
/// Page control 01b in CDB byte 2: cumulative values.
const CUMULATIVE: u8 = 0x40;
/// What is asked of the drive per page: every page read here fits (the self-test results page
/// is 404 bytes); a longer one (background scan results with many entries) arrives cut short,
/// which the decoder takes.
const ALLOCATION: u16 = 1024;

/// Log page codes.
pub mod page {
    pub const SUPPORTED: u8 = 0x00;
    pub const TEMPERATURE: u8 = 0x0D;
    pub const START_STOP: u8 = 0x0E;
    pub const SELF_TEST: u8 = 0x10;
    pub const SOLID_STATE_MEDIA: u8 = 0x11;
    pub const BACKGROUND_SCAN: u8 = 0x15;
    pub const INFORMATIONAL_EXCEPTIONS: u8 = 0x2F;
}

/// The pages read after the supported list, in this order.
const WANTED: [u8; 6] = [
    page::INFORMATIONAL_EXCEPTIONS,
    page::TEMPERATURE,
    page::START_STOP,
    page::SELF_TEST,
    page::SOLID_STATE_MEDIA,
    page::BACKGROUND_SCAN,
];

/// The LOG SENSE CDB for cumulative values of `page` (subpage 0), from the first parameter.
pub fn log_sense_cdb(page: u8, alloc: u16) -> [u8; 10] {
    let [hi, lo] = alloc.to_be_bytes();
    [
        LOG_SENSE,
        0,
        CUMULATIVE | (page & 0x3F),
        0,
        0,
        0,
        0,
        hi,
        lo,
        0,
    ]
}

/// A log page that cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogPageError {
    #[error("the log page is {0} bytes, shorter than its 4-byte header")]
    Short(usize),
    #[error("the drive answered log page {got:02X}h when asked for page {asked:02X}h")]
    OtherPage { asked: u8, got: u8 },
}

/// One log parameter (SPC-4, log parameter format): its code and its value bytes, whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parameter<'a> {
    pub code: u16,
    pub value: &'a [u8],
}

impl Parameter<'_> {
    /// The big-endian number in value bytes `at..at + len` (len up to 8); `None` if the
    /// parameter is shorter.
    fn number(&self, at: usize, len: usize) -> Option<u64> {
        let bytes = self.value.get(at..at.checked_add(len)?)?;
        (len <= 8).then(|| bytes.iter().fold(0u64, |acc, b| acc << 8 | *b as u64))
    }
}

/// A log page (SPC-4, log page format): page code, and the bytes of its parameters that arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogPage<'a> {
    pub code: u8,
    pub subpage: u8,
    /// The parameter bytes: at most PAGE LENGTH, and only what arrived.
    pub body: &'a [u8],
    /// PAGE LENGTH says more than arrived.
    pub truncated: bool,
}

impl<'a> LogPage<'a> {
    /// The page header (byte 0: DS, SPF, PAGE CODE; byte 1: SUBPAGE CODE; bytes 2-3: PAGE
    /// LENGTH) over the bytes that arrived.
    pub fn parse(bytes: &'a [u8]) -> Result<LogPage<'a>, LogPageError> {
        let [b0, subpage, l0, l1, ..] = *bytes else {
            return Err(LogPageError::Short(bytes.len()));
        };
        let length = u16::from_be_bytes([l0, l1]) as usize;
        let end = 4usize.saturating_add(length);
        Ok(LogPage {
            code: b0 & 0x3F,
            subpage,
            body: bytes.get(4..end.min(bytes.len())).unwrap_or_default(),
            truncated: end > bytes.len(),
        })
    }

    /// The page, if it is the one asked for.
    pub fn parse_as(bytes: &'a [u8], asked: u8) -> Result<LogPage<'a>, LogPageError> {
        let p = LogPage::parse(bytes)?;
        if p.code != asked {
            return Err(LogPageError::OtherPage { asked, got: p.code });
        }
        Ok(p)
    }

    /// The parameters whose header and value arrived whole, in page order. Each step moves
    /// on by at least the 4-byte header, so the walk ends within `body.len() / 4` steps.
    pub fn parameters(&self) -> impl Iterator<Item = Parameter<'a>> + 'a {
        let body = self.body;
        let mut at = 0usize;
        std::iter::from_fn(move || {
            let header = body.get(at..at.checked_add(4)?)?;
            let len = header[3] as usize;
            let value = body.get(at + 4..at + 4 + len)?;
            at += 4 + len;
            Some(Parameter {
                code: u16::from_be_bytes([header[0], header[1]]),
                value,
            })
        })
    }

    /// The first parameter with `code`.
    pub fn parameter(&self, code: u16) -> Option<Parameter<'a>> {
        self.parameters().find(|p| p.code == code)
    }
}

/// The Supported Log Pages page (00h, SPC-4): one page code per byte after the header.
pub fn supported_pages(bytes: &[u8]) -> Result<Vec<u8>, LogPageError> {
    let p = LogPage::parse_as(bytes, page::SUPPORTED)?;
    Ok(p.body.iter().map(|b| b & 0x3F).collect())
}

/// What the pages say, each field only where the drive offered it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScsiLogs {
    /// Informational Exceptions parameter 0000h: ASC and ASCQ of the pending exception (00h
    /// none).
    pub exception: Option<(u8, u8)>,
    /// Temperature parameter 0000h (FFh: the drive cannot report it, read as absent).
    pub temperature_celsius: Option<u8>,
    /// Start-Stop Cycle Counter: accumulated start-stop cycles and the lifetime specified.
    pub start_stop: Option<Cycles>,
    pub load_unload: Option<Cycles>,
    /// The newest self-test that ran to its end (results 0h, 4h-7h).
    pub last_self_test: Option<SelfTest>,
    /// Solid State Media parameter 0001h: percentage used endurance indicator.
    pub percentage_used: Option<u8>,
    /// Background Scan Results parameter 0000h: accumulated power-on minutes.
    pub power_on_minutes: Option<u64>,
}

/// An accumulated cycle count and the count specified over the device's lifetime (0 when the
/// device does not say).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cycles {
    pub accumulated: u64,
    pub specified: u64,
}

/// One parameter of the Self-Test Results page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SelfTest {
    /// SELF-TEST RESULTS (byte 4 bits 3-0).
    pub result: u8,
    /// ACCUMULATED POWER ON HOURS when it ran.
    pub power_on_hours: u64,
}

impl SelfTest {
    /// Results 4h-7h: the self-test completed with a segment that failed.
    pub fn failed(&self) -> bool {
        (4..=7).contains(&self.result)
    }
}

/// Informational Exceptions parameter 0000h: ASC in byte 4, ASCQ in byte 5 (parameter length
/// at least 03h).
pub fn decode_exceptions(bytes: &[u8]) -> Result<Option<(u8, u8)>, LogPageError> {
    let p = LogPage::parse_as(bytes, page::INFORMATIONAL_EXCEPTIONS)?;
    Ok(p.parameter(0)
        .and_then(|v| Some((*v.value.first()?, *v.value.get(1)?))))
}

/// Temperature parameter 0000h: TEMPERATURE in byte 5 (value byte 1); FFh means the drive
/// cannot report it.
pub fn decode_temperature(bytes: &[u8]) -> Result<Option<u8>, LogPageError> {
    let p = LogPage::parse_as(bytes, page::TEMPERATURE)?;
    Ok(p.parameter(0)
        .and_then(|v| v.value.get(1).copied())
        .filter(|t| *t != 0xFF))
}

/// Start-Stop Cycle Counter parameters 0003h-0006h, 4-byte counters each: specified and
/// accumulated start-stop cycles, specified and accumulated load-unload cycles.
pub fn decode_start_stop(bytes: &[u8]) -> Result<(Option<Cycles>, Option<Cycles>), LogPageError> {
    let p = LogPage::parse_as(bytes, page::START_STOP)?;
    let counter = |code: u16| p.parameter(code).and_then(|v| v.number(0, 4));
    let cycles = |specified: u16, accumulated: u16| {
        counter(accumulated).map(|accumulated| Cycles {
            accumulated,
            specified: counter(specified).unwrap_or(0),
        })
    };
    Ok((cycles(0x0003, 0x0004), cycles(0x0005, 0x0006)))
}

/// Self-Test Results parameters 0001h-0014h (newest first), 10h bytes each: SELF-TEST CODE and
/// RESULTS in value byte 0, SELF-TEST NUMBER in byte 1, ACCUMULATED POWER ON HOURS in bytes
/// 2-3. The newest that ran to its end; an unused parameter (all zero) and one in progress
/// (Fh) or aborted (1h-3h) are passed over.
pub fn decode_self_tests(bytes: &[u8]) -> Result<Option<SelfTest>, LogPageError> {
    let p = LogPage::parse_as(bytes, page::SELF_TEST)?;
    let mut tests: Vec<(u16, SelfTest)> = p
        .parameters()
        .filter(|v| (0x0001..=0x0014).contains(&v.code))
        .filter(|v| v.value.len() >= 4 && v.value[..4].iter().any(|b| *b != 0))
        .filter_map(|v| {
            let t = SelfTest {
                result: v.value[0] & 0x0F,
                power_on_hours: v.number(2, 2)?,
            };
            (t.result == 0 || t.failed()).then_some((v.code, t))
        })
        .collect();
    tests.sort_by_key(|(code, _)| *code);
    Ok(tests.first().map(|(_, t)| *t))
}

/// Solid State Media parameter 0001h: PERCENTAGE USED ENDURANCE INDICATOR in value byte 3.
pub fn decode_solid_state(bytes: &[u8]) -> Result<Option<u8>, LogPageError> {
    let p = LogPage::parse_as(bytes, page::SOLID_STATE_MEDIA)?;
    Ok(p.parameter(0x0001).and_then(|v| v.value.get(3).copied()))
}

/// Background Scan Results parameter 0000h (Background Scan Status): ACCUMULATED POWER ON
/// MINUTES in value bytes 0-3.
pub fn decode_power_on_minutes(bytes: &[u8]) -> Result<Option<u64>, LogPageError> {
    let p = LogPage::parse_as(bytes, page::BACKGROUND_SCAN)?;
    Ok(p.parameter(0).and_then(|v| v.number(0, 4)))
}

/// The additional sense codes of an informational exception (SPC-4's ASC/ASCQ assignments).
fn exception_words(asc: u8, ascq: u8) -> String {
    match asc {
        0x5D => format!("failure prediction threshold exceeded (ASC/ASCQ 5Dh/{ascq:02X}h)"),
        0x0B => format!("warning (ASC/ASCQ 0Bh/{ascq:02X}h)"),
        _ => format!("ASC/ASCQ {asc:02X}h/{ascq:02X}h"),
    }
}

/// A cycle count at or past what is specified over the device's lifetime.
fn worn(c: Option<Cycles>) -> Option<Cycles> {
    c.filter(|c| c.specified > 0 && c.accumulated >= c.specified)
}

/// The verdict:
/// * failing: the drive predicts its failure (Informational Exceptions ASC 5Dh, FAILURE
///   PREDICTION THRESHOLD EXCEEDED in SPC-4's ASC/ASCQ assignments);
/// * warning: any other pending informational exception (0Bh WARNING, ...), the newest
///   self-test that ran to its end failed a segment (SELF-TEST
///   RESULTS 4h-7h), 100 % or
///   more of the endurance used (SBC-3: 100 is the estimated device life consumed), or as many
///   start-stop or load-unload cycles as specified over the device's lifetime;
/// * ok: none of these, and the drive's own failure prediction was read;
/// * unknown: none of these, but the drive keeps no Informational Exceptions page, so nothing
///   said whether it predicts a failure (an `ok` would be a guess).
pub fn judge(logs: &ScsiLogs) -> Health {
    let mut health = Health {
        verdict: Verdict::Ok,
        source: Some("scsi-log-pages".into()),
        power_on_hours: logs.power_on_minutes.map(|m| m / 60),
        power_cycles: None,
        temperature_celsius: logs.temperature_celsius.map(u64::from),
        percentage_used: logs.percentage_used.map(u64::from),
        attributes: Vec::new(),
        reasons: Vec::new(),
    };
    let raised = exception(&mut health, logs.exception);
    let failing = raised == Verdict::Failing;
    let mut warning = raised == Verdict::Warning;
    warning |= self_test(&mut health, logs.last_self_test);
    warning |= wear(&mut health, logs);
    health.verdict = if failing {
        Verdict::Failing
    } else if warning {
        Verdict::Warning
    } else if logs.exception.is_none() {
        health.reasons.push(
            "the drive keeps no Informational Exceptions log page: its own failure prediction \
             was not read"
                .into(),
        );
        Verdict::Unknown
    } else {
        health
            .reasons
            .push("no informational exception pending, no failed self-test".into());
        Verdict::Ok
    };
    health
}

/// The pending informational exception: failing when it predicts a failure (5Dh), a warning
/// for any other, ok for none (or no page).
fn exception(health: &mut Health, exception: Option<(u8, u8)>) -> Verdict {
    let Some((asc, ascq)) = exception else {
        return Verdict::Ok;
    };
    for (name, value) in [
        ("informational_exception_asc", asc),
        ("informational_exception_ascq", ascq),
    ] {
        health
            .attributes
            .push(HealthAttribute::new(name, value as u64, None));
    }
    if asc == 0 {
        return Verdict::Ok;
    }
    health.reasons.push(format!(
        "informational exception: {}",
        exception_words(asc, ascq)
    ));
    if asc == 0x5D {
        Verdict::Failing
    } else {
        Verdict::Warning
    }
}

/// The last finished self-test: whether it failed.
fn self_test(health: &mut Health, last: Option<SelfTest>) -> bool {
    let Some(t) = last else {
        return false;
    };
    health.attributes.push(HealthAttribute::new(
        "last_self_test_result",
        t.result as u64,
        None,
    ));
    if t.failed() {
        health.reasons.push(format!(
            "the last self-test failed (result {:X}h, at {} power-on hours)",
            t.result, t.power_on_hours
        ));
    }
    t.failed()
}

/// Endurance and lifetime cycle counts: whether any is used up.
fn wear(health: &mut Health, logs: &ScsiLogs) -> bool {
    let mut worn_out = false;
    if let Some(used) = logs.percentage_used {
        health
            .attributes
            .push(HealthAttribute::new("percentage_used", used as u64, None));
        if used >= 100 {
            worn_out = true;
            health
                .reasons
                .push(format!("{used} % of the rated endurance used"));
        }
    }
    for (name, cycles, what) in [
        (
            "accumulated_start_stop_cycles",
            logs.start_stop,
            "start-stop",
        ),
        (
            "accumulated_load_unload_cycles",
            logs.load_unload,
            "load-unload",
        ),
    ] {
        let Some(c) = cycles else { continue };
        let specified = (c.specified > 0).then_some(c.specified);
        health
            .attributes
            .push(HealthAttribute::new(name, c.accumulated, specified));
        if worn(cycles).is_some() {
            worn_out = true;
            health.reasons.push(format!(
                "{} {what} cycles, {} specified over the drive's lifetime",
                c.accumulated, c.specified
            ));
        }
    }
    worn_out
}

/// Sends LOG SENSE for `page`; the bytes that arrived, or why none did.
fn log_sense(dev: &mut dyn ScsiTransport, page: u8, timeout: Duration) -> Result<Vec<u8>, String> {
    let mut buf = vec![0u8; ALLOCATION as usize];
    let cdb = log_sense_cdb(page, ALLOCATION);
    let reply = dev
        .scsi(&cdb, DataPhase::FromDevice(&mut buf), timeout)
        .map_err(|e| e.to_string())?;
    if !reply.is_good() {
        return Err(match Sense::parse(&reply.sense) {
            Some(s) => s.describe(),
            None => format!("SCSI status 0x{:02x}", reply.status),
        });
    }
    let arrived = usize::try_from(reply.residual)
        .ok()
        .map_or(buf.len(), |r| buf.len().saturating_sub(r));
    buf.truncate(arrived);
    Ok(buf)
}

/// Reads the supported list, then each wanted page the drive offers, and judges them. A page
/// the drive refuses or garbles is left out and said in `reasons`.
pub fn read(dev: &mut dyn ScsiTransport, timeout: Duration) -> Health {
    let supported = match log_sense(dev, page::SUPPORTED, timeout) {
        Ok(bytes) => match supported_pages(&bytes) {
            Ok(list) => list,
            Err(e) => return Health::unknown(format!("the supported log pages list: {e}")),
        },
        Err(why) => {
            return Health::unknown(format!(
                "the drive refused LOG SENSE (it keeps no log pages, or the USB bridge does not \
                 pass the command): {why}"
            ));
        }
    };
    let offered: Vec<u8> = WANTED
        .into_iter()
        .filter(|p| supported.contains(p))
        .collect();
    if offered.is_empty() {
        return Health::unknown(
            "the drive keeps none of the log pages that tell its health (2Fh, 0Dh, 0Eh, 10h, \
             11h, 15h)",
        );
    }
    let mut logs = ScsiLogs::default();
    let mut problems = Vec::new();
    for p in offered {
        let bytes = match log_sense(dev, p, timeout) {
            Ok(b) => b,
            Err(why) => {
                problems.push(format!("log page {p:02X}h was refused: {why}"));
                continue;
            }
        };
        if let Err(e) = decode_into(&mut logs, p, &bytes) {
            problems.push(e.to_string());
        }
    }
    let mut health = judge(&logs);
    health.reasons.extend(problems);
    health
}

/// Decodes page `p` into `logs`.
pub fn decode_into(logs: &mut ScsiLogs, p: u8, bytes: &[u8]) -> Result<(), LogPageError> {
    match p {
        page::INFORMATIONAL_EXCEPTIONS => logs.exception = decode_exceptions(bytes)?,
        page::TEMPERATURE => logs.temperature_celsius = decode_temperature(bytes)?,
        page::START_STOP => (logs.start_stop, logs.load_unload) = decode_start_stop(bytes)?,
        page::SELF_TEST => logs.last_self_test = decode_self_tests(bytes)?,
        page::SOLID_STATE_MEDIA => logs.percentage_used = decode_solid_state(bytes)?,
        page::BACKGROUND_SCAN => logs.power_on_minutes = decode_power_on_minutes(bytes)?,
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
#[path = "scsi_tests.rs"]
mod tests;
