//! The SMBIOS reader (`wipeproof inventory`): any entry point and table bytes give an inventory,
//! with what could not be read in its problems, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wipeproof::device::inventory::smbios;

fuzz_target!(|data: &[u8]| {
    // The first byte says how many of the following bytes are the entry point.
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let n = (n as usize).min(rest.len());
    let (entry, table) = rest.split_at(n);
    let _ = smbios::decode(entry, table);
    let _ = smbios::sound_length(table);
    // The same table behind a valid SMBIOS 3.0 entry point, so the structures are walked.
    let mut ep = *b"_SM3_\0\x18\x03\x00\x00\x01\x00\0\0\0\0\0\0\0\0\0\0\0\0";
    ep[12..16].copy_from_slice(&(table.len() as u32).to_le_bytes());
    let sum = ep.iter().fold(0u8, |s, b| s.wrapping_add(*b));
    ep[5] = sum.wrapping_neg();
    let _ = smbios::decode(&ep, table);
});
