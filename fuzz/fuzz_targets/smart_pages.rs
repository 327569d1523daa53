//! The SMART parsers: ATA READ DATA and READ THRESHOLDS pages, the NVMe SMART / Health log and
//! the SCSI log pages, judged into a verdict: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wipeproof::device::health::{ata, nvme, scsi};

fuzz_target!(|data: &[u8]| {
    let _ = nvme::decode(data).map(|log| nvme::judge(&log));
    // As every SCSI log page read, and as each with its page code set, so the parameters of
    // each are walked; then the whole judged.
    let mut logs = scsi::ScsiLogs::default();
    let _ = scsi::supported_pages(data);
    for p in [0x0D, 0x0E, 0x10, 0x11, 0x15, 0x2F] {
        let _ = scsi::decode_into(&mut logs, p, data);
        let mut page = data.to_vec();
        if let Some(b) = page.first_mut() {
            *b = p;
        }
        let _ = scsi::decode_into(&mut logs, p, &page);
    }
    let _ = scsi::judge(&logs);
    let _ = ata::decode_data(data);
    let _ = ata::decode_thresholds(data);
    // As whole pages with good checksums, so the attributes are read and judged.
    let mut pages = data.to_vec();
    pages.resize(1024, 0);
    let (d, t) = pages.split_at_mut(512);
    for p in [&mut *d, &mut *t] {
        p[511] = 0;
        let sum = p.iter().fold(0u8, |s, b| s.wrapping_add(*b));
        p[511] = sum.wrapping_neg();
    }
    if let (Ok(attrs), Ok(thresholds)) = (ata::decode_data(d), ata::decode_thresholds(t)) {
        let exceeded = data.first().map(|b| b & 1 == 1);
        let _ = ata::judge(&attrs, &thresholds, exceeded);
    }
});
