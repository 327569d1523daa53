//! The strict JSON reader of certificates on any bytes: never a panic, and never a different
//! reading than serde_json's where it accepts (it only refuses more: repeated members).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wipeproof::certificate::issue::SignedCertificate;
use wipeproof::certificate::strict_json::{from_slice, value_from_slice};

fuzz_target!(|data: &[u8]| {
    if let Ok(strict) = value_from_slice(data) {
        let plain: serde_json::Value =
            serde_json::from_slice(data).expect("strict JSON is JSON to serde_json too");
        assert_eq!(strict, plain, "the strict reader read a different value");
    }
    let _ = from_slice::<SignedCertificate>(data);
});
