//! `wipeproof inventory`: the computer the station runs on, from its firmware's SMBIOS tables
//! and the kernel's battery reports. Absent fields are absent, never guessed.

use std::path::PathBuf;

use clap::Args;

use super::Status;
use super::output::print_json;
use crate::device::inventory::{self, Inventory, Source};

#[derive(Debug, Args)]
pub struct InventoryArgs {
    /// Print one JSON document on stdout.
    #[arg(long)]
    json: bool,
    /// Read a saved copy of /sys/firmware/dmi/tables (the files smbios_entry_point and DMI)
    /// instead of this computer's.
    #[arg(long, value_name = "DIR")]
    tables: Option<PathBuf>,
}

pub fn run(args: &InventoryArgs) -> anyhow::Result<Status> {
    let inv = match &args.tables {
        Some(dir) => inventory::read_saved_tables(dir),
        None => inventory::read(),
    };
    for p in &inv.problems {
        crate::stderr_line!("wipeproof: {p}");
    }
    if args.json {
        print_json(&inv)?;
        return Ok(Status::Success);
    }
    crate::stdout_text!("{}", render(&inv))?;
    Ok(Status::Success)
}

/// `label: value` lines for the fields that are present.
fn lines(out: &mut String, title: &str, fields: &[(&str, Option<String>)]) {
    let present: Vec<_> = fields
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect();
    if present.is_empty() {
        return;
    }
    out.push_str(title);
    out.push('\n');
    for (k, v) in present {
        out.push_str(&format!("  {k:<14}{v}\n"));
    }
}

/// A memory module's size as its label says it: `16 GiB`, `512 MiB`.
fn memory_size(bytes: u64) -> String {
    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;
    if bytes >= GIB && bytes.is_multiple_of(GIB) {
        format!("{} GiB", bytes / GIB)
    } else {
        format!("{} MiB", bytes / MIB)
    }
}

/// The inventory as text for people.
fn render(inv: &Inventory) -> String {
    let mut out = String::new();
    match inv.source {
        Source::Smbios => out.push_str(&format!(
            "Source: SMBIOS {}\n",
            inv.smbios_version.as_deref().unwrap_or("(version unknown)")
        )),
        Source::DmiId => out.push_str(
            "Source: the kernel's DMI fields (the SMBIOS tables could not be read; \
             processors and memory are not listed)\n",
        ),
        Source::None => out.push_str(
            "This computer has no SMBIOS tables (a virtual machine or a container): \
             no system, board, chassis or BIOS fields.\n",
        ),
    }
    let s = &inv.system;
    lines(
        &mut out,
        "System",
        &[
            ("manufacturer", s.manufacturer.clone()),
            ("product", s.product.clone()),
            ("version", s.version.clone()),
            ("serial", s.serial.clone()),
            ("uuid", s.uuid.clone()),
            ("sku", s.sku.clone()),
            ("family", s.family.clone()),
        ],
    );
    let b = &inv.baseboard;
    lines(
        &mut out,
        "Baseboard",
        &[
            ("manufacturer", b.manufacturer.clone()),
            ("product", b.product.clone()),
            ("version", b.version.clone()),
            ("serial", b.serial.clone()),
            ("asset tag", b.asset_tag.clone()),
        ],
    );
    let c = &inv.chassis;
    lines(
        &mut out,
        "Chassis",
        &[
            ("manufacturer", c.manufacturer.clone()),
            ("type", c.chassis_type.clone()),
            ("version", c.version.clone()),
            ("serial", c.serial.clone()),
            ("asset tag", c.asset_tag.clone()),
            ("sku", c.sku.clone()),
        ],
    );
    let bios = &inv.bios;
    lines(
        &mut out,
        "BIOS",
        &[
            ("vendor", bios.vendor.clone()),
            ("version", bios.version.clone()),
            ("date", bios.date.clone()),
        ],
    );
    for p in &inv.processors {
        lines(
            &mut out,
            "Processor",
            &[
                ("socket", p.socket.clone()),
                ("manufacturer", p.manufacturer.clone()),
                ("model", p.model.clone()),
                ("cores", p.cores.map(|n| n.to_string())),
                ("threads", p.threads.map(|n| n.to_string())),
                ("max speed", p.max_speed_mhz.map(|n| format!("{n} MHz"))),
            ],
        );
    }
    for m in &inv.memory {
        lines(
            &mut out,
            "Memory",
            &[
                ("slot", m.slot.clone()),
                ("bank", m.bank.clone()),
                ("size", m.size_bytes.map(memory_size)),
                ("type", m.memory_type.clone()),
                ("speed", m.speed_mts.map(|n| format!("{n} MT/s"))),
                ("manufacturer", m.manufacturer.clone()),
                ("serial", m.serial.clone()),
                ("part number", m.part_number.clone()),
            ],
        );
    }
    for bat in &inv.batteries {
        let capacity = |d: Option<u64>, unit: &str| d.map(|v| format!("{v} {unit}"));
        lines(
            &mut out,
            &format!("Battery {}", bat.name),
            &[
                ("manufacturer", bat.manufacturer.clone()),
                ("model", bat.model.clone()),
                ("serial", bat.serial.clone()),
                ("technology", bat.technology.clone()),
                (
                    "design",
                    capacity(bat.design_capacity_mwh, "mWh")
                        .or(capacity(bat.design_capacity_mah, "mAh")),
                ),
                (
                    "full",
                    capacity(bat.full_capacity_mwh, "mWh")
                        .or(capacity(bat.full_capacity_mah, "mAh")),
                ),
                ("cycles", bat.cycle_count.map(|n| n.to_string())),
                ("health", bat.health_percent.map(|n| format!("{n} %"))),
            ],
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_smbios_says_so_and_shows_no_fields() {
        let text = render(&Inventory::empty(Source::None));
        assert!(text.contains("no SMBIOS tables"), "{text}");
        assert!(!text.contains("System"), "{text}");
    }
}
