//! The host's inventory: what computer the drives are in. System, baseboard, chassis and BIOS
//! identity, processors and memory modules from the firmware's SMBIOS tables
//! (`/sys/firmware/dmi/tables`), falling back to what the kernel decoded of them
//! (`/sys/class/dmi/id`), and batteries from `/sys/class/power_supply`.
//!
//! Everything here comes from firmware and is untrusted input: the tables are parsed with
//! bounds checks (the `smbios-lib` crate, over a structure walk that stops at the first broken
//! structure), and a firmware placeholder ("To Be Filled By O.E.M.", "Default string",
//! "0123456789", an all-zero or all-FF UUID) is reported as absent, never as a serial.
//! `dmidecode` is never run.
//!
//! * [`smbios`]: the tables to an [`Inventory`].
//! * [`sysfs`]: the kernel's decoded DMI fields and the batteries.
//! * [`placeholder`]: which firmware strings mean "nothing here".

pub mod placeholder;
pub mod smbios;
pub mod sysfs;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Where the inventory's fields came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// The raw SMBIOS tables (`/sys/firmware/dmi/tables`).
    Smbios,
    /// The kernel's decoded fields (`/sys/class/dmi/id`); no processors or memory.
    DmiId,
    /// Neither: a virtual machine without tables, a container.
    None,
}

/// The computer itself (SMBIOS type 1).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct System {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
}

/// The main board (SMBIOS type 2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseboard {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_tag: Option<String>,
}

/// The case (SMBIOS type 3): its serial and asset tag are what a sticker on it says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chassis {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    /// `Notebook`, `Desktop`, ... as SMBIOS names it; absent for "Other" and "Unknown".
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub chassis_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asset_tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
}

/// The firmware (SMBIOS type 0).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bios {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// As the firmware writes it (usually MM/DD/YYYY).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
}

/// One processor socket (SMBIOS type 4).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Processor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cores: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_speed_mhz: Option<u16>,
}

/// One installed memory module (SMBIOS type 17); empty slots are not listed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemoryModule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// `DDR4`, `LPDDR5`, ... as SMBIOS names it.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub memory_type: Option<String>,
    /// Megatransfers per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_mts: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_number: Option<String>,
}

/// One battery, as the kernel's power supply class reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Battery {
    /// The kernel's name (`BAT0`).
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub technology: Option<String>,
    /// Capacity when new and now, in mWh (batteries that report energy) ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design_capacity_mwh: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_capacity_mwh: Option<u64>,
    /// ... or in mAh (batteries that report charge).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub design_capacity_mah: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_capacity_mah: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycle_count: Option<u64>,
    /// Full capacity as a percentage of design capacity (rounded down).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_percent: Option<u64>,
}

/// The host, as far as its firmware and kernel tell. A field the firmware leaves empty or
/// fills with a placeholder is absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    pub source: Source,
    /// `3.0`, from the entry point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smbios_version: Option<String>,
    pub system: System,
    pub baseboard: Baseboard,
    pub chassis: Chassis,
    pub bios: Bios,
    pub processors: Vec<Processor>,
    pub memory: Vec<MemoryModule>,
    pub batteries: Vec<Battery>,
    /// What could not be read and why (a broken table, an unreadable file).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<String>,
}

impl Inventory {
    /// An inventory with nothing in it.
    pub fn empty(source: Source) -> Inventory {
        Inventory {
            source,
            smbios_version: None,
            system: System::default(),
            baseboard: Baseboard::default(),
            chassis: Chassis::default(),
            bios: Bios::default(),
            processors: Vec::new(),
            memory: Vec::new(),
            batteries: Vec::new(),
            problems: Vec::new(),
        }
    }
}

/// A computer's make and product in one phrase, the make left out when the product already
/// names it (`HP` and `HP EliteBook 840 G8` give `HP EliteBook 840 G8`); `None` without either.
pub fn make_and_model(make: Option<&str>, product: Option<&str>) -> Option<String> {
    match (make, product) {
        (Some(m), Some(p)) if !p.to_lowercase().starts_with(&m.to_lowercase()) => {
            Some(format!("{m} {p}"))
        }
        (_, Some(p)) => Some(p.to_string()),
        (m, None) => m.map(str::to_string),
    }
}

/// Where to read from: the running system's files, or a copy of them (tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// Holds `smbios_entry_point` and `DMI`.
    pub tables: PathBuf,
    /// The kernel's decoded fields.
    pub dmi_id: PathBuf,
    /// One directory per power supply.
    pub power_supply: PathBuf,
}

impl Default for Paths {
    fn default() -> Paths {
        Paths {
            tables: "/sys/firmware/dmi/tables".into(),
            dmi_id: "/sys/class/dmi/id".into(),
            power_supply: "/sys/class/power_supply".into(),
        }
    }
}

/// Reads the running system's inventory.
pub fn read() -> Inventory {
    read_from(&Paths::default())
}

/// Reads an inventory: the SMBIOS tables if they are there and readable (reading them needs
/// root), else the kernel's decoded fields, else nothing; batteries in every case.
pub fn read_from(paths: &Paths) -> Inventory {
    let mut problems = Vec::new();
    let mut inventory = match read_tables(&paths.tables) {
        Ok(Some((entry, table))) => smbios::decode(&entry, &table),
        Ok(None) => {
            sysfs::read_dmi_id(&paths.dmi_id).unwrap_or_else(|| Inventory::empty(Source::None))
        }
        Err(e) => {
            problems.push(e);
            sysfs::read_dmi_id(&paths.dmi_id).unwrap_or_else(|| Inventory::empty(Source::None))
        }
    };
    inventory.problems.splice(0..0, problems);
    inventory.batteries = sysfs::read_batteries(&paths.power_supply);
    inventory
}

/// Reads a saved copy of the tables directory (`smbios_entry_point` and `DMI`) alone.
pub fn read_saved_tables(dir: &Path) -> Inventory {
    match read_tables(dir) {
        Ok(Some((entry, table))) => smbios::decode(&entry, &table),
        Ok(None) => {
            let mut inv = Inventory::empty(Source::None);
            inv.problems.push(format!(
                "{} holds no smbios_entry_point and DMI files: give a copy of \
                 /sys/firmware/dmi/tables",
                dir.display()
            ));
            inv
        }
        Err(e) => {
            let mut inv = Inventory::empty(Source::None);
            inv.problems.push(e);
            inv
        }
    }
}

/// The bytes of `smbios_entry_point` and of `DMI`.
type EntryAndTable = (Vec<u8>, Vec<u8>);

/// The entry point and table bytes; `None` when the system has no tables.
fn read_tables(dir: &Path) -> Result<Option<EntryAndTable>, String> {
    let entry_path = dir.join("smbios_entry_point");
    let table_path = dir.join("DMI");
    let read = |p: &Path| match std::fs::read(p) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!(
            "cannot read {}: {e} (reading the SMBIOS tables needs root; the kernel's decoded \
             fields were used instead)",
            p.display()
        )),
    };
    match (read(&entry_path)?, read(&table_path)?) {
        (Some(entry), Some(table)) => Ok(Some((entry, table))),
        _ => Ok(None),
    }
}

#[cfg(test)]
mod tests;
