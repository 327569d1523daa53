//! Any bytes given to `wipeproof verify` (as a PDF or as JSON): an answer or an error, never a
//! panic, and never "valid": the trust store is empty, so no signature can be trusted.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wipeproof::certificate::check::verify_bytes;
use wipeproof::certificate::keys::TrustStore;

fuzz_target!(|data: &[u8]| {
    let trust = TrustStore::default();
    if let Ok(report) = verify_bytes(data, "fuzz", &trust, None) {
        assert!(
            !report.valid,
            "valid with an empty trust store: {:?}",
            report.checks
        );
    }
});
