//! Where a drive is plugged in, as a technician finds it on the machine: the ATA port, the
//! USB port path, the NVMe drive's PCI slot, the SCSI address, or a loop device's backing
//! file. Read from sysfs (the resolved path of the disk's directory shows the bus it hangs
//! off); `None` when sysfs names no such place.

use std::path::Path;

use super::sysfs::Sysfs;

/// The place of `disk` (e.g. `sda`), as a short label: `ata3`, `usb 1-2.3`, `pci 01:00.0`,
/// `scsi 2:0:1:0`, `file disk.img`.
pub fn of_disk(sysfs: &Sysfs, disk: &str) -> Option<String> {
    if let Some(backing) = sysfs.attr(disk, "loop/backing_file") {
        let name = Path::new(backing.trim_end_matches(" (deleted)"))
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or(backing);
        return Some(format!("file {name}"));
    }
    let path = sysfs.device_path(disk)?;
    from_device_path(&path.to_string_lossy())
}

/// The place named by a disk's resolved sysfs path, e.g.
/// `/sys/devices/pci0000:00/0000:00:1f.2/ata3/host2/target2:0:0/2:0:0:0/block/sda` -> `ata3`.
pub fn from_device_path(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').collect();
    // A USB port path (`1-2.3`): the deepest one is the port the drive is in.
    if let Some(port) = parts.iter().rev().find(|p| is_usb_port(p)) {
        return Some(format!("usb {port}"));
    }
    if let Some(ata) = parts.iter().rev().find(|p| is_numbered(p, "ata")) {
        return Some((*ata).to_string());
    }
    if parts.contains(&"nvme")
        && let Some(pci) = parts.iter().rev().find(|p| is_pci(p))
    {
        return Some(format!("pci {}", short_pci(pci)));
    }
    if let Some(hctl) = parts.iter().rev().find(|p| is_hctl(p)) {
        return Some(format!("scsi {hctl}"));
    }
    parts
        .iter()
        .rev()
        .find(|p| is_pci(p))
        .map(|pci| format!("pci {}", short_pci(pci)))
}

fn is_numbered(part: &str, prefix: &str) -> bool {
    part.strip_prefix(prefix)
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// `1-2`, `1-2.3`, `3-1.4.2` (bus, then port numbers); never an interface (`1-2:1.0`).
fn is_usb_port(part: &str) -> bool {
    let Some((bus, ports)) = part.split_once('-') else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    digits(bus) && ports.split('.').all(digits)
}

/// `0000:00:1f.2`: domain, bus, device.function.
fn is_pci(part: &str) -> bool {
    let b = part.as_bytes();
    b.len() == 12
        && b[4] == b':'
        && b[7] == b':'
        && b[10] == b'.'
        && part
            .bytes()
            .enumerate()
            .all(|(i, c)| matches!(i, 4 | 7 | 10) || c.is_ascii_hexdigit())
}

/// `0000:01:00.0` -> `01:00.0` (the domain is 0000 on nearly every machine).
fn short_pci(pci: &str) -> &str {
    pci.strip_prefix("0000:").unwrap_or(pci)
}

/// `2:0:1:0`: host, channel, target, LUN.
fn is_hctl(part: &str) -> bool {
    let n: Vec<&str> = part.split(':').collect();
    n.len() == 4
        && n.iter()
            .all(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_bus_names_its_place() {
        let cases = [
            (
                "/sys/devices/pci0000:00/0000:00:1f.2/ata3/host2/target2:0:0/2:0:0:0/block/sda",
                "ata3",
            ),
            (
                "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2.3/1-2.3:1.0/host6/target6:0:0/6:0:0:0/block/sdb",
                "usb 1-2.3",
            ),
            (
                "/sys/devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0/nvme0n1",
                "pci 3d:00.0",
            ),
            (
                "/sys/devices/pci0000:00/0000:00:03.0/0000:02:00.0/host0/port-0:1/end_device-0:1/target0:0:1/0:0:1:0/block/sdc",
                "scsi 0:0:1:0",
            ),
            (
                "/sys/devices/pci0000:00/0000:00:05.0/virtio2/block/vdb",
                "pci 00:05.0",
            ),
        ];
        for (path, want) in cases {
            assert_eq!(from_device_path(path).as_deref(), Some(want), "{path}");
        }
        assert_eq!(from_device_path("/sys/devices/virtual/block/loop0"), None);
    }

    #[test]
    fn a_loop_device_is_where_its_backing_file_is() {
        let dir = tempfile::tempdir().unwrap();
        super::super::sysfs::fixture::disk(
            dir.path(),
            "loop3",
            "7:3",
            &[("loop/backing_file", "/dev/shm/bay-7.img"), ("size", "8")],
        );
        let sysfs = Sysfs::at(dir.path());
        assert_eq!(of_disk(&sysfs, "loop3").as_deref(), Some("file bay-7.img"));
    }
}
