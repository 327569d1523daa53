//! What the kernel tells without the raw tables: the DMI fields it decoded
//! (`/sys/class/dmi/id`, readable by anyone, serials by root only) and the batteries of the
//! power supply class (`/sys/class/power_supply/*`, capacities in µWh or µAh).

use std::path::Path;

use super::placeholder::{clean, clean_uuid};
use super::{Baseboard, Battery, Bios, Chassis, Inventory, Source, System};

fn attr(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name)).ok()
}

fn field(dir: &Path, name: &str) -> Option<String> {
    clean(attr(dir, name))
}

fn number(dir: &Path, name: &str) -> Option<u64> {
    attr(dir, name)?.trim().parse().ok()
}

/// SMBIOS chassis types (DSP0134 7.4.1) the kernel gives as a number.
fn chassis_type_name(code: u64) -> Option<&'static str> {
    const NAMES: [&str; 37] = [
        "",
        "Other",
        "Unknown",
        "Desktop",
        "LowProfileDesktop",
        "PizzaBox",
        "MiniTower",
        "Tower",
        "Portable",
        "Laptop",
        "Notebook",
        "HandHeld",
        "DockingStation",
        "AllInOne",
        "SubNotebook",
        "SpaceSaving",
        "LunchBox",
        "MainServerChassis",
        "ExpansionChassis",
        "SubChassis",
        "BusExpansionChassis",
        "PeripheralChassis",
        "RaidChassis",
        "RackMountChassis",
        "SealedCasePC",
        "MultiSystemChassis",
        "CompactPci",
        "AdvancedTca",
        "Blade",
        "BladeEnclosure",
        "Tablet",
        "Convertible",
        "Detachable",
        "IoTGateway",
        "EmbeddedPc",
        "MiniPc",
        "StickPc",
    ];
    let name = *NAMES.get(usize::try_from(code & 0x7f).ok()?)?;
    (!matches!(name, "" | "Other" | "Unknown")).then_some(name)
}

/// The kernel's decoded DMI fields; `None` if the directory is not there.
pub fn read_dmi_id(dir: &Path) -> Option<Inventory> {
    if !dir.is_dir() {
        return None;
    }
    let f = |name: &str| field(dir, name);
    let mut inv = Inventory::empty(Source::DmiId);
    inv.system = System {
        manufacturer: f("sys_vendor"),
        product: f("product_name"),
        version: f("product_version"),
        serial: f("product_serial"),
        uuid: clean_uuid(attr(dir, "product_uuid")),
        sku: f("product_sku"),
        family: f("product_family"),
    };
    inv.baseboard = Baseboard {
        manufacturer: f("board_vendor"),
        product: f("board_name"),
        version: f("board_version"),
        serial: f("board_serial"),
        asset_tag: f("board_asset_tag"),
    };
    inv.chassis = Chassis {
        manufacturer: f("chassis_vendor"),
        chassis_type: number(dir, "chassis_type")
            .and_then(chassis_type_name)
            .map(String::from),
        version: f("chassis_version"),
        serial: f("chassis_serial"),
        asset_tag: f("chassis_asset_tag"),
        sku: None,
    };
    inv.bios = Bios {
        vendor: f("bios_vendor"),
        version: f("bios_version"),
        date: f("bios_date"),
    };
    Some(inv)
}

/// Every power supply of type `Battery`, sorted by name.
pub fn read_batteries(dir: &Path) -> Vec<Battery> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<Battery> = entries
        .filter_map(Result::ok)
        .filter(|e| attr(&e.path(), "type").is_some_and(|t| t.trim() == "Battery"))
        .map(|e| battery(&e.file_name().to_string_lossy(), &e.path()))
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn battery(name: &str, dir: &Path) -> Battery {
    // The kernel reports µWh and µAh; a zero means the battery did not say.
    let milli = |n: &str| number(dir, n).filter(|v| *v > 0).map(|v| v / 1000);
    let design_mwh = milli("energy_full_design");
    let full_mwh = milli("energy_full");
    let design_mah = milli("charge_full_design");
    let full_mah = milli("charge_full");
    let health_percent = match (design_mwh, full_mwh, design_mah, full_mah) {
        (Some(d), Some(f), _, _) | (None, None, Some(d), Some(f)) => {
            (f.saturating_mul(100)).checked_div(d)
        }
        _ => None,
    };
    Battery {
        name: name.to_string(),
        manufacturer: field(dir, "manufacturer"),
        model: field(dir, "model_name"),
        serial: field(dir, "serial_number"),
        technology: field(dir, "technology"),
        design_capacity_mwh: design_mwh,
        full_capacity_mwh: full_mwh,
        design_capacity_mah: design_mah,
        full_capacity_mah: full_mah,
        // Many batteries report 0 when they do not count cycles: 0 reads as absent.
        cycle_count: number(dir, "cycle_count").filter(|c| *c > 0),
        health_percent,
    }
}
