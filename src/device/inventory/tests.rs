//! Tests of the inventory over real tables saved from QEMU (`tests/fixtures/smbios/README.md`
//! says how they were made) and over broken copies of them.

use std::path::{Path, PathBuf};

use proptest::prelude::*;

use super::smbios::{decode, sound_length};
use super::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/smbios")
        .join(name)
}

fn tables(name: &str) -> (Vec<u8>, Vec<u8>) {
    let dir = fixture(name);
    (
        std::fs::read(dir.join("smbios_entry_point")).unwrap(),
        std::fs::read(dir.join("DMI")).unwrap(),
    )
}

fn paths(name: &str) -> Paths {
    let dir = fixture(name);
    Paths {
        tables: dir.clone(),
        dmi_id: dir.join("dmi-id"),
        power_supply: dir.join("no-power-supply"),
    }
}

fn s(v: &str) -> Option<String> {
    Some(v.into())
}

fn laptop_system() -> System {
    System {
        manufacturer: s("HP"),
        product: s("HP EliteBook 840 G8 Notebook PC"),
        version: s("SBKPF"),
        serial: s("5CG1234XYZ"),
        uuid: s("4c4c4544-0042-3510-8052-b4c04f4e3132"),
        sku: s("3C6F4EA#ABU"),
        family: s("103C_5336AN HP EliteBook"),
    }
}

#[test]
fn a_laptops_tables_give_its_identity() {
    let inv = read_from(&paths("qemu-laptop"));
    assert_eq!(inv.source, Source::Smbios);
    assert_eq!(inv.smbios_version.as_deref(), Some("2.8"));
    assert!(inv.problems.is_empty(), "{:?}", inv.problems);
    assert_eq!(inv.system, laptop_system());
    assert_eq!(
        inv.baseboard,
        Baseboard {
            manufacturer: s("HP"),
            product: s("880D"),
            version: s("KBC Version 30.48.00"),
            serial: s("PXYZB0CRH1234A"),
            // "Base Board Asset Tag" is a placeholder.
            asset_tag: None,
        }
    );
    assert_eq!(inv.chassis.serial.as_deref(), Some("5CG1234XYZ"));
    assert_eq!(inv.chassis.asset_tag.as_deref(), Some("ACME-LT-0042"));
    assert_eq!(inv.chassis.manufacturer.as_deref(), Some("HP"));
    // QEMU always says "Other": not a type.
    assert_eq!(inv.chassis.chassis_type, None);
    assert_eq!(
        inv.bios,
        Bios {
            vendor: s("Insyde Corp."),
            version: s("F.42"),
            date: s("03/14/2024"),
        }
    );
    assert_eq!(inv.processors.len(), 1, "{:?}", inv.processors);
    let cpu = &inv.processors[0];
    assert_eq!(
        cpu.model.as_deref(),
        Some("11th Gen Intel(R) Core(TM) i5-1145G7 @ 2.60GHz")
    );
    assert_eq!(cpu.manufacturer.as_deref(), Some("Intel(R) Corporation"));
    assert_eq!(cpu.socket.as_deref(), Some("CPU 0"));
    assert!(cpu.cores.is_some() && cpu.threads.is_some(), "{cpu:?}");
    assert_eq!(
        inv.memory,
        vec![MemoryModule {
            slot: s("DIMM 0"),
            bank: s("Bank 0"),
            size_bytes: Some(512 << 20),
            memory_type: s("RAM"),
            speed_mts: Some(3200),
            manufacturer: s("Samsung"),
            serial: s("36F1A2B3"),
            part_number: s("M471A1K43DB1-CWE"),
        }]
    );
}

#[test]
fn firmware_placeholders_read_as_absent() {
    let inv = read_from(&paths("qemu-placeholders"));
    assert_eq!(inv.source, Source::Smbios);
    assert_eq!(inv.smbios_version.as_deref(), Some("3.0"));
    assert_eq!(
        inv.system,
        System {
            version: s("pc-q35-7.2"),
            ..System::default()
        }
    );
    assert_eq!(inv.chassis.manufacturer, None);
    assert_eq!(inv.chassis.serial, None);
    assert_eq!(inv.chassis.asset_tag, None);
    assert_eq!(inv.bios.vendor.as_deref(), Some("SeaBIOS"));
}

#[test]
fn without_tables_the_kernels_fields_are_read() {
    let mut p = paths("qemu-laptop");
    p.tables = fixture("no-such-dir");
    let inv = read_from(&p);
    assert_eq!(inv.source, Source::DmiId);
    assert_eq!(inv.system, laptop_system());
    assert_eq!(inv.chassis.asset_tag.as_deref(), Some("ACME-LT-0042"));
    assert_eq!(inv.bios.version.as_deref(), Some("F.42"));
    assert!(inv.processors.is_empty() && inv.memory.is_empty());

    let mut p = paths("qemu-placeholders");
    p.tables = fixture("no-such-dir");
    let inv = read_from(&p);
    assert_eq!(inv.system.serial, None);
    assert_eq!(inv.system.manufacturer, None);
    assert_eq!(inv.chassis.asset_tag, None);
}

#[test]
fn without_smbios_everything_is_absent() {
    let none = fixture("no-such-dir");
    let inv = read_from(&Paths {
        tables: none.clone(),
        dmi_id: none.clone(),
        power_supply: none,
    });
    assert_eq!(inv, Inventory::empty(Source::None));
    let json = serde_json::to_value(&inv).unwrap();
    assert_eq!(json["system"], serde_json::json!({}));
    assert_eq!(json["source"], "none");
}

#[test]
fn a_truncated_table_is_read_up_to_the_break() {
    let (entry, table) = tables("qemu-laptop");
    // Cut inside the chassis structure (type 3 at byte 0xfc): BIOS, system and board remain.
    let inv = decode(&entry, &table[..0x105]);
    assert_eq!(inv.system, laptop_system());
    assert_eq!(inv.baseboard.product.as_deref(), Some("880D"));
    assert_eq!(inv.chassis, Chassis::default());
    assert!(inv.processors.is_empty());
    assert_eq!(inv.problems.len(), 1, "{:?}", inv.problems);
    assert!(
        inv.problems[0].contains("type 3 at byte 252"),
        "{:?}",
        inv.problems
    );
}

#[test]
fn wrong_lengths_and_strings_past_the_end_stop_the_walk() {
    let (entry, table) = tables("qemu-laptop");
    // The system structure (type 1 at byte 0x36) claims fewer bytes than its header.
    let mut short = table.clone();
    short[0x37] = 2;
    let inv = decode(&entry, &short);
    assert_eq!(inv.bios.vendor.as_deref(), Some("Insyde Corp."));
    assert_eq!(inv.system, System::default());
    assert!(
        inv.problems[0].contains("fewer than its header"),
        "{:?}",
        inv.problems
    );
    // It claims more bytes than the table has.
    let mut long = table.clone();
    long[0x37] = 0xff;
    let cut = &long[..0x36 + 0x80];
    let inv = decode(&entry, cut);
    assert_eq!(inv.system, System::default());
    assert!(
        inv.problems[0].contains("past the table's end"),
        "{:?}",
        inv.problems
    );
    // The last structure's strings never end.
    let end = table.len();
    let unterminated: Vec<u8> = table[..end - 2]
        .iter()
        .copied()
        .chain([b'x', b'y'])
        .collect();
    let (len, problem) = sound_length(&unterminated);
    assert_eq!(len, 0x243);
    assert!(problem.unwrap().contains("type 127"));
    // A string index past the structure's strings is absent, not a panic.
    let mut bad_index = table.clone();
    bad_index[0x36 + 7] = 40; // system serial number: string 40 of 6
    let inv = decode(&entry, &bad_index);
    assert_eq!(inv.system.serial, None);
    assert_eq!(inv.system.manufacturer.as_deref(), Some("HP"));
}

#[test]
fn a_damaged_entry_point_is_reported_and_the_table_still_read() {
    let (mut entry, table) = tables("qemu-laptop");
    entry[4] ^= 0x55; // checksum
    let inv = decode(&entry, &table);
    assert_eq!(inv.smbios_version, None);
    assert!(
        inv.problems[0].contains("entry point is damaged"),
        "{:?}",
        inv.problems
    );
    assert_eq!(inv.system.serial.as_deref(), Some("5CG1234XYZ"));
    let inv = decode(b"garbage", &table);
    assert!(inv.problems[0].contains("anchor"), "{:?}", inv.problems);
}

#[test]
fn batteries_report_capacity_cycles_and_health() {
    let dir = tempfile::tempdir().unwrap();
    let write = |bat: &str, files: &[(&str, &str)]| {
        let d = dir.path().join(bat);
        std::fs::create_dir_all(&d).unwrap();
        for (name, value) in files {
            std::fs::write(d.join(name), format!("{value}\n")).unwrap();
        }
    };
    write(
        "BAT0",
        &[
            ("type", "Battery"),
            ("manufacturer", "LGC"),
            ("model_name", "5B10W13930"),
            ("serial_number", "1234"),
            ("technology", "Li-poly"),
            ("energy_full_design", "57000000"),
            ("energy_full", "45600000"),
            ("cycle_count", "312"),
        ],
    );
    write(
        "BAT1",
        &[
            ("type", "Battery"),
            ("charge_full_design", "4000000"),
            ("charge_full", "3000000"),
            ("cycle_count", "0"),
            ("serial_number", "To Be Filled By O.E.M."),
        ],
    );
    write("AC", &[("type", "Mains"), ("online", "1")]);
    let b = sysfs::read_batteries(dir.path());
    assert_eq!(b.len(), 2, "{b:?}");
    assert_eq!(b[0].name, "BAT0");
    assert_eq!(b[0].design_capacity_mwh, Some(57000));
    assert_eq!(b[0].full_capacity_mwh, Some(45600));
    assert_eq!(b[0].health_percent, Some(80));
    assert_eq!(b[0].cycle_count, Some(312));
    assert_eq!(b[0].serial.as_deref(), Some("1234"));
    assert_eq!(b[1].design_capacity_mah, Some(4000));
    assert_eq!(b[1].health_percent, Some(75));
    assert_eq!(b[1].cycle_count, None);
    assert_eq!(b[1].serial, None);
}

proptest! {
    #[test]
    fn any_bytes_decode_without_panicking(entry in proptest::collection::vec(any::<u8>(), 0..40),
                                          table in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode(&entry, &table);
    }

    #[test]
    fn any_damage_to_a_real_table_decodes_without_panicking(
        flips in proptest::collection::vec((0usize..585, any::<u8>()), 1..8),
        cut in 0usize..=585,
    ) {
        let (entry, mut table) = tables("qemu-laptop");
        for (at, v) in flips {
            table[at] = v;
        }
        table.truncate(cut);
        let _ = decode(&entry, &table);
    }
}
