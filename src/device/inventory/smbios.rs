//! The SMBIOS tables (DMTF DSP0134) to an [`Inventory`]: the entry point gives the version and
//! the table's length, a structure walk checks every structure's bounds (its formatted length,
//! its strings up to the double NUL) and stops at the first broken one, saying where, and
//! `smbios-lib` decodes the structures of the sound part.

use smbioslib::{
    CoreCount, CoreCount2, MemorySize, MemorySizeExtended, MemorySpeed, MemorySpeedExtended,
    ProcessorSpeed, SMBiosBaseboardInformation, SMBiosData, SMBiosEntryPoint32, SMBiosEntryPoint64,
    SMBiosInformation, SMBiosMemoryDevice, SMBiosProcessorInformation, SMBiosString,
    SMBiosSystemChassisInformation, SMBiosSystemInformation, SMBiosVersion, SystemUuidData,
    ThreadCount, ThreadCount2,
};

use super::placeholder::{clean, clean_uuid};
use super::{Baseboard, Bios, Chassis, Inventory, MemoryModule, Processor, Source, System};

/// Structure type of the end-of-table marker.
const END_OF_TABLE: u8 = 127;

/// What the entry point says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryPoint {
    pub major: u8,
    pub minor: u8,
    pub docrev: u8,
    /// The table's exact length (2.x) or its maximum (3.x).
    pub table_len: usize,
}

/// Reads a 32-bit (`_SM_`) or 64-bit (`_SM3_`) entry point, checksums included.
pub fn entry_point(bytes: &[u8]) -> Result<EntryPoint, String> {
    if bytes.starts_with(b"_SM3_") {
        let e = SMBiosEntryPoint64::try_from(bytes.to_vec())
            .map_err(|e| format!("the SMBIOS 3 entry point is damaged: {e}"))?;
        return Ok(EntryPoint {
            major: e.major_version(),
            minor: e.minor_version(),
            docrev: e.docrev(),
            table_len: e.structure_table_maximum_size() as usize,
        });
    }
    if bytes.starts_with(b"_SM_") {
        let e = SMBiosEntryPoint32::try_from(bytes.to_vec())
            .map_err(|e| format!("the SMBIOS entry point is damaged: {e}"))?;
        return Ok(EntryPoint {
            major: e.major_version(),
            minor: e.minor_version(),
            docrev: 0,
            table_len: e.structure_table_length() as usize,
        });
    }
    Err("the SMBIOS entry point has no _SM_ or _SM3_ anchor".into())
}

/// The length of the sound part of `table`: whole structures up to and including the
/// end-of-table marker, and the reason it stopped early, if it did.
pub fn sound_length(table: &[u8]) -> (usize, Option<String>) {
    let mut at = 0usize;
    while at < table.len() {
        let Some(header) = table.get(at..at + 4) else {
            return (
                at,
                Some(format!(
                    "the table ends inside a structure header at byte {at}"
                )),
            );
        };
        let (kind, len) = (header[0], header[1] as usize);
        if len < 4 {
            return (
                at,
                Some(format!(
                    "the structure of type {kind} at byte {at} claims {len} bytes, fewer than its header"
                )),
            );
        }
        let Some(rest) = table.get(at + len..) else {
            return (
                at,
                Some(format!(
                    "the structure of type {kind} at byte {at} claims {len} bytes, past the table's end"
                )),
            );
        };
        let Some(strings_end) = rest.windows(2).position(|w| w == [0, 0]) else {
            return (
                at,
                Some(format!(
                    "the strings of the structure of type {kind} at byte {at} run past the table's end"
                )),
            );
        };
        at += len + strings_end + 2;
        if kind == END_OF_TABLE {
            return (at, None);
        }
    }
    (at, None)
}

/// Decodes the tables. A broken entry point or structure is reported in `problems`; whatever
/// stood before the break is still read.
pub fn decode(entry: &[u8], table: &[u8]) -> Inventory {
    let mut inv = Inventory::empty(Source::Smbios);
    let ep = match entry_point(entry) {
        Ok(ep) => Some(ep),
        Err(e) => {
            inv.problems.push(e);
            None
        }
    };
    let mut table = table;
    if let Some(ep) = ep {
        inv.smbios_version = Some(format!("{}.{}", ep.major, ep.minor));
        if ep.table_len < table.len() {
            table = &table[..ep.table_len];
        }
    }
    let (sound, problem) = sound_length(table);
    if let Some(p) = problem {
        inv.problems.push(format!(
            "the SMBIOS table is damaged: {p}; read up to there"
        ));
    }
    let version = ep.map(|ep| SMBiosVersion {
        major: ep.major,
        minor: ep.minor,
        revision: ep.docrev,
    });
    let data = SMBiosData::from_vec_and_version(table[..sound].to_vec(), version);
    fill(&mut inv, &data);
    inv
}

fn text(s: SMBiosString) -> Option<String> {
    clean(s.ok())
}

fn fill(inv: &mut Inventory, data: &SMBiosData) {
    if let Some(b) = data.first::<SMBiosInformation<'_>>() {
        inv.bios = Bios {
            vendor: text(b.vendor()),
            version: text(b.version()),
            date: text(b.release_date()),
        };
    }
    if let Some(s) = data.first::<SMBiosSystemInformation<'_>>() {
        inv.system = System {
            manufacturer: text(s.manufacturer()),
            product: text(s.product_name()),
            version: text(s.version()),
            serial: text(s.serial_number()),
            uuid: match s.uuid() {
                Some(SystemUuidData::Uuid(u)) => clean_uuid(Some(u.to_string())),
                _ => None,
            },
            sku: text(s.sku_number()),
            family: text(s.family()),
        };
    }
    if let Some(b) = data.first::<SMBiosBaseboardInformation<'_>>() {
        inv.baseboard = Baseboard {
            manufacturer: text(b.manufacturer()),
            product: text(b.product()),
            version: text(b.version()),
            serial: text(b.serial_number()),
            asset_tag: text(b.asset_tag()),
        };
    }
    if let Some(c) = data.first::<SMBiosSystemChassisInformation<'_>>() {
        inv.chassis = Chassis {
            manufacturer: text(c.manufacturer()),
            chassis_type: c
                .chassis_type()
                .map(|t| format!("{:?}", t.value))
                .filter(|t| !matches!(t.as_str(), "Other" | "Unknown" | "None")),
            version: text(c.version()),
            serial: text(c.serial_number()),
            asset_tag: text(c.asset_tag_number()),
            sku: text(c.sku_number()),
        };
    }
    inv.processors = data
        .collect::<SMBiosProcessorInformation<'_>>()
        .iter()
        .filter(|p| p.status().is_none_or(|s| s.socket_populated()))
        .map(processor)
        .collect();
    inv.memory = data
        .collect::<SMBiosMemoryDevice<'_>>()
        .iter()
        .filter_map(memory_module)
        .collect();
}

fn processor(p: &SMBiosProcessorInformation<'_>) -> Processor {
    let cores = match (p.core_count(), p.core_count_2()) {
        (Some(CoreCount::SeeCoreCount2), Some(CoreCount2::Count(n))) => Some(n),
        (Some(CoreCount::Count(n)), _) => Some(n as u16),
        _ => None,
    };
    let threads = match (p.thread_count(), p.thread_count_2()) {
        (Some(ThreadCount::SeeThreadCount2), Some(ThreadCount2::Count(n))) => Some(n),
        (Some(ThreadCount::Count(n)), _) => Some(n as u16),
        _ => None,
    };
    Processor {
        socket: text(p.socket_designation()),
        manufacturer: text(p.processor_manufacturer()),
        model: text(p.processor_version()),
        cores: cores.filter(|n| *n > 0),
        threads: threads.filter(|n| *n > 0),
        max_speed_mhz: match p.max_speed() {
            Some(ProcessorSpeed::MHz(n)) if n > 0 => Some(n),
            _ => None,
        },
    }
}

/// One memory device, or `None` for an empty slot.
fn memory_module(m: &SMBiosMemoryDevice<'_>) -> Option<MemoryModule> {
    let size_bytes = match m.size()? {
        MemorySize::NotInstalled => return None,
        MemorySize::Unknown => None,
        MemorySize::Kilobytes(k) => Some(k as u64 * 1024),
        MemorySize::Megabytes(mb) => Some(mb as u64 * 1024 * 1024),
        MemorySize::SeeExtendedSize => match m.extended_size() {
            Some(MemorySizeExtended::Megabytes(mb)) => Some(mb as u64 * 1024 * 1024),
            _ => None,
        },
    };
    let speed_mts = match m.speed() {
        Some(MemorySpeed::MTs(n)) if n > 0 => Some(n as u32),
        Some(MemorySpeed::SeeExtendedSpeed) => match m.extended_speed() {
            Some(MemorySpeedExtended::MTs(n)) if n > 0 => Some(n),
            _ => None,
        },
        _ => None,
    };
    Some(MemoryModule {
        slot: text(m.device_locator()),
        bank: text(m.bank_locator()),
        size_bytes,
        memory_type: m
            .memory_type()
            .map(|t| format!("{:?}", t.value).to_ascii_uppercase())
            .filter(|t| !matches!(t.as_str(), "OTHER" | "UNKNOWN" | "NONE")),
        speed_mts,
        manufacturer: text(m.manufacturer()),
        serial: text(m.serial_number()),
        part_number: text(m.part_number()),
    })
}
