//! A checkpoint file is untrusted: any bytes give a checkpoint or a reason it is refused, never
//! a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wipeproof::station::checkpoint::Checkpoint;

fuzz_target!(|data: &[u8]| {
    let _ = Checkpoint::parse(data);
});
