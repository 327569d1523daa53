//! A uevent message is untrusted bytes from a socket: any input gives an event or an error,
//! never a panic, and a disk name it yields is always a plain kernel name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wipeproof::device::hotplug::parse_kernel;

fuzz_target!(|data: &[u8]| {
    if let Ok(event) = parse_kernel(data)
        && let Some(disk) = event.disk()
    {
        assert!(!disk.contains('/') && disk != "." && disk != "..");
    }
});
