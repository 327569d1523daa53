//! The SMART parsers: ATA READ DATA and READ THRESHOLDS pages and the NVMe SMART / Health log,
//! judged into a verdict: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wipeproof::device::health::{ata, nvme};

fuzz_target!(|data: &[u8]| {
    let _ = nvme::decode(data).map(|log| nvme::judge(&log));
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
