//! The PDF reader on hostile input: attachments, pages and operations, never a panic and never
//! unbounded work. Inputs are also tried as a PDF header followed by the data, so the fuzzer
//! reaches the parser, and as the body of a small PDF whose /EmbeddedFiles name tree and page
//! tree the data can shape, so the bounded tree walks are reached directly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wipeproof::certificate::pdf::parse;

/// A PDF whose catalog points at objects 2 (page tree) and 3 (name tree), followed by the data
/// as further objects, so the data decides what the trees hold and how they link.
fn with_trees(data: &[u8]) -> Vec<u8> {
    let mut pdf = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 3 0 R >> >>\nendobj\n".to_vec();
    pdf.extend_from_slice(data);
    pdf.extend_from_slice(b"\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");
    pdf
}

fuzz_target!(|data: &[u8]| {
    let _ = parse(data);
    let mut with_header = b"%PDF-1.7\n".to_vec();
    with_header.extend_from_slice(data);
    let _ = parse(&with_header);
    let _ = parse(&with_trees(data));
});
