//! A customer's manifest is untrusted: any bytes give rows or problems, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wipeproof::register::manifest::parse;

fuzz_target!(|data: &[u8]| {
    let _ = parse(data);
});
