//! Any bytes given to `wipeproof verify` (as a PDF or as JSON): an answer or an error, never a
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wipeproof::certificate::check::verify_bytes;
use wipeproof::certificate::keys::TrustStore;

fuzz_target!(|data: &[u8]| {
    let trust = TrustStore::default();
    let _ = verify_bytes(data, "fuzz", &trust, None);
});
