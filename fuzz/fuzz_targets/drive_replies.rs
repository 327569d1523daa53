//! Decoders of what drives send back (IDENTIFY data, sense data, VPD pages, READ CAPACITY):
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wipeproof::device::{ata, nvme, scsi, sense};

fuzz_target!(|data: &[u8]| {
    let _ = ata::decode_identify(data);
    let _ = nvme::decode_identify_controller(data);
    let _ = nvme::decode_identify_namespace(data);
    let _ = sense::Sense::parse(data);
    let _ = scsi::decode_unit_serial(data);
    let _ = scsi::decode_naa(data);
    let _ = scsi::decode_capacity_16(data);
    let mut padded = data.to_vec();
    padded.resize(512, 0);
    let _ = ata::decode_identify(&padded);
    padded.resize(4096, 0);
    let _ = nvme::decode_identify_controller(&padded);
    let _ = nvme::decode_identify_namespace(&padded);
});
