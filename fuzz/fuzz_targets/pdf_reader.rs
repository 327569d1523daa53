//! The PDF reader on hostile input: attachments, pages and operations, never a panic. Inputs
//! are also tried as a PDF header followed by the data, so the fuzzer reaches the parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wipeproof::certificate::pdf::parse;

fuzz_target!(|data: &[u8]| {
    let _ = parse(data);
    let mut with_header = b"%PDF-1.7\n".to_vec();
    with_header.extend_from_slice(data);
    let _ = parse(&with_header);
});
