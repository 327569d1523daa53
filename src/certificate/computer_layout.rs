//! The computer certificate's pages: a pure function from a signed computer record to pages,
//! drawn with the same writer, faces and rules as a drive's certificate (`layout`), so that
//! verification redraws it and compares word for word.
//!
//! Sections: who performed the sanitization; the computer (system, chassis, board, BIOS,
//! processors, memory, batteries, as the firmware reports them; absent fields are left out);
//! its drives with their certificates; disposition; result; signature.

use super::computer::{ComputerRecord, ComputerResult};
use super::fonts;
use super::layout::group;
use super::page::{Colour, Font, Item, LEFT, Page, RIGHT, TOP, Writer, fit, qr_modules};
use crate::device::inventory::Inventory;
use crate::verify::WipeResult;

const QR_SIZE: f32 = 78.0;
const QR_TOP: f32 = TOP + 6.0;

/// What the QR code holds: the certificate id and the record's SHA-256.
pub fn qr_payload(record: &ComputerRecord, record_sha256: &str) -> String {
    format!("WIPEPROOF-COMPUTER:{}:SHA256:{record_sha256}", record.id)
}

/// Lays out a computer certificate.
pub fn layout(r: &ComputerRecord, record_sha256: &str, signature_b64: &str) -> Vec<Page> {
    let mut w = Writer::new();
    header(&mut w, r);
    banner(&mut w, r);

    w.section("1. Person performing sanitization");
    w.row("Operator", &r.performed_by.operator);
    w.row("Station", &r.performed_by.station_id);
    w.row("Organisation", &or_unset(&r.organisation.name));
    w.row("Tool", &format!("{} {}", r.tool.name, r.tool.version));

    w.section("2. Computer");
    computer(&mut w, &r.inventory);

    w.section("3. Drives");
    drives(&mut w, r);

    w.section("4. Disposition");
    w.row("Customer", opt(r.customer.as_deref()));
    w.row("Collection", opt(r.collection.as_deref()));
    let tags = if r.asset_tags.is_empty() {
        "-".to_string()
    } else {
        r.asset_tags.join(", ")
    };
    w.row("Asset tags", &tags);

    w.section("5. Result");
    w.text(LEFT, 14.0, Font::Bold, colour(r.result), r.result.words());
    w.down(16.0);
    w.paragraph(explanation(r), Font::Regular, 9.0);

    w.section("6. Signature");
    w.mono_row("Key id", &r.key_id);
    w.mono_row("Record SHA-256", record_sha256);
    w.mono_row("Signature", signature_b64);
    match &r.previous {
        Some(p) => {
            w.mono_row("Previous certificate", &p.id);
            w.mono_row("Previous SHA-256", &p.record_sha256);
        }
        None => w.row("Previous certificate", "none (first of this station)"),
    }
    w.down(4.0);
    w.paragraph(
        "The signed record travels inside this PDF (record.json, record.sig). Verify with \
         `wipeproof verify` or with pdfdetach and openssl pkeyutl -verify -rawin; see \
         certificates/README.md. Each drive's own certificate records how it was sanitized.",
        Font::Regular,
        8.0,
    );
    let qr = qr_modules(&qr_payload(r, record_sha256));
    w.first_page().items.push(Item::Qr {
        x: RIGHT - QR_SIZE,
        y: QR_TOP - QR_SIZE,
        size: QR_SIZE,
        modules: qr,
    });
    w.finish(&format!("Computer certificate {}", r.id))
}

fn header(w: &mut Writer, r: &ComputerRecord) {
    let header_width = RIGHT - LEFT - QR_SIZE - 14.0;
    let name = or_unset(&r.organisation.name);
    let (size, _) = fit(&name, Font::Bold, 16.0, 11.0, header_width, 2);
    w.text_box(LEFT, header_width, size, Font::Bold, Colour::Black, &name);
    if !r.organisation.address.trim().is_empty() {
        w.down(4.0);
        w.text_box(
            LEFT,
            header_width,
            9.0,
            Font::Regular,
            Colour::Grey,
            &r.organisation.address,
        );
    }
    w.down(12.0);
    w.text_box(
        LEFT,
        header_width,
        17.0,
        Font::Bold,
        Colour::Black,
        "Certificate of Computer Sanitization",
    );
    w.down(6.0);
    w.text_box(
        LEFT,
        header_width,
        9.0,
        Font::Mono,
        Colour::Black,
        &format!("Computer certificate {}", r.id),
    );
    w.down(3.0);
    w.text_box(
        LEFT,
        header_width,
        9.0,
        Font::Regular,
        Colour::Grey,
        &format!("Issued {}", r.issued_at),
    );
    w.down(12.0);
    w.y = w.y.min(QR_TOP - QR_SIZE - 8.0);
}

fn banner(w: &mut Writer, r: &ComputerRecord) {
    let top = w.y;
    w.boxed(LEFT, top - 52.0, RIGHT - LEFT, 52.0, colour(r.result));
    let words = r.result.words();
    let (size, _) = fit(words, Font::Bold, 30.0, 14.0, 190.0, 1);
    w.text_at(
        LEFT + 14.0,
        top - 26.0 - size / 2.0,
        size,
        Font::Bold,
        Colour::White,
        words,
    );
    let side_x = LEFT + 14.0 + fonts::width(Font::Bold, size, words) + 18.0;
    let side_width = RIGHT - 10.0 - side_x;
    let passed = r
        .drives
        .iter()
        .filter(|d| d.result == WipeResult::Pass)
        .count();
    let heading = match r.result {
        ComputerResult::NoStorageFound => "No drive was found in this computer".to_string(),
        // The words of a signed page never change (`verify` redraws the page of every
        // computer certificate already issued and compares its text): "drive(s)" stays.
        _ => format!("{passed} of {} drive(s) sanitized", r.drives.len()),
    };
    let serial = r.serial().unwrap_or("-");
    let detail = format!("Computer serial number {serial}");
    let (size, lines) = fit(&heading, Font::Bold, 11.0, 7.0, side_width, 1);
    for line in &lines {
        w.text_at(side_x, top - 20.0, size, Font::Bold, Colour::White, line);
    }
    let (size, lines) = fit(&detail, Font::Regular, 9.0, 6.0, side_width, 2);
    for (i, line) in lines.iter().enumerate() {
        let y = top - 20.0 - 13.0 - (size + 1.5) * i as f32;
        w.text_at(side_x, y, size, Font::Regular, Colour::White, line);
    }
    w.down(66.0);
}

/// Rows for the fields that are present, under `prefix`.
fn rows(w: &mut Writer, fields: &[(&str, Option<String>)]) {
    for (label, value) in fields {
        if let Some(v) = value.as_deref().filter(|v| !v.is_empty()) {
            w.row(label, v);
        }
    }
}

fn computer(w: &mut Writer, inv: &Inventory) {
    let s = &inv.system;
    let c = &inv.chassis;
    let b = &inv.baseboard;
    let bios = &inv.bios;
    rows(
        w,
        &[
            ("Manufacturer", s.manufacturer.clone()),
            ("Product", s.product.clone()),
            ("Version", s.version.clone()),
            ("Serial number", s.serial.clone()),
            ("UUID", s.uuid.clone()),
            ("SKU", s.sku.clone()),
            ("Family", s.family.clone()),
            ("Chassis type", c.chassis_type.clone()),
            ("Chassis serial", c.serial.clone()),
            ("Chassis asset tag", c.asset_tag.clone()),
            (
                "Board",
                join(&[b.manufacturer.as_deref(), b.product.as_deref()]),
            ),
            ("Board serial", b.serial.clone()),
            (
                "BIOS",
                join(&[
                    bios.vendor.as_deref(),
                    bios.version.as_deref(),
                    bios.date.as_deref(),
                ]),
            ),
        ],
    );
    if inv.system == Default::default() && inv.chassis == Default::default() {
        w.row(
            "Firmware",
            "reports no system or chassis identity (no SMBIOS tables)",
        );
    }
    for (i, p) in inv.processors.iter().enumerate() {
        let counts = match (p.cores, p.threads) {
            (Some(c), Some(t)) => Some(format!("{c} cores, {t} threads")),
            (Some(c), None) => Some(format!("{c} cores")),
            _ => None,
        };
        let text = join(&[p.model.as_deref(), counts.as_deref()]);
        rows(w, &[(&format!("Processor {}", i + 1), text)]);
    }
    for m in &inv.memory {
        let size = m.size_bytes.map(memory_size);
        let speed = m.speed_mts.map(|s| format!("{s} MT/s"));
        let serial = m.serial.as_ref().map(|s| format!("serial {s}"));
        let text = join(&[
            size.as_deref(),
            m.memory_type.as_deref(),
            speed.as_deref(),
            m.manufacturer.as_deref(),
            m.part_number.as_deref(),
            serial.as_deref(),
        ]);
        let slot = m.slot.as_deref().unwrap_or("slot");
        rows(w, &[(&format!("Memory {slot}"), text)]);
    }
    for bat in &inv.batteries {
        let health = bat
            .health_percent
            .map(|h| format!("{h} % of design capacity"));
        let cycles = bat.cycle_count.map(|c| format!("{c} cycles"));
        let text = join(&[
            bat.manufacturer.as_deref(),
            bat.model.as_deref(),
            health.as_deref(),
            cycles.as_deref(),
        ]);
        rows(w, &[(&format!("Battery {}", bat.name), text)]);
    }
}

fn drives(w: &mut Writer, r: &ComputerRecord) {
    if r.drives.is_empty() {
        w.paragraph(
            "No drive was found in this computer when the station started: nothing was \
             sanitized, and this certificate does not say that any data was removed.",
            Font::Regular,
            9.0,
        );
        return;
    }
    let cols = [LEFT, LEFT + 20.0, LEFT + 150.0, LEFT + 300.0, LEFT + 400.0];
    w.table_header(&cols, &["#", "Serial number", "Model", "Method", "Result"]);
    for (i, d) in r.drives.iter().enumerate() {
        let result = match d.result {
            WipeResult::Pass => format!("PASS ({})", d.level.as_str()),
            other => other.as_str().to_string(),
        };
        w.table_row(
            &cols,
            &[
                &(i + 1).to_string(),
                opt(d.serial.as_deref()),
                opt(d.model.as_deref()),
                &d.method,
                &result,
            ],
        );
        w.note(&format!("certificate {}", d.certificate_id));
    }
}

fn explanation(r: &ComputerRecord) -> &'static str {
    match r.result {
        ComputerResult::Pass => {
            "Every drive found in this computer was sanitized, verified and certified."
        }
        ComputerResult::Fail => {
            "At least one drive of this computer was not sanitized: see 3. Drives and that \
             drive's own certificate."
        }
        ComputerResult::NoStorageFound => {
            "No drive was found in this computer; no storage was sanitized."
        }
    }
}

fn colour(result: ComputerResult) -> Colour {
    match result {
        ComputerResult::Pass => Colour::Pass,
        ComputerResult::Fail => Colour::Fail,
        ComputerResult::NoStorageFound => Colour::Incomplete,
    }
}

fn join(parts: &[Option<&str>]) -> Option<String> {
    let present: Vec<&str> = parts
        .iter()
        .flatten()
        .copied()
        .filter(|s| !s.is_empty())
        .collect();
    (!present.is_empty()).then(|| present.join(", "))
}

fn opt(v: Option<&str>) -> &str {
    v.filter(|s| !s.is_empty()).unwrap_or("-")
}

fn or_unset(s: &str) -> String {
    if s.trim().is_empty() {
        "(organisation not configured)".into()
    } else {
        s.to_string()
    }
}

/// A memory module's size as its label says it.
fn memory_size(bytes: u64) -> String {
    const MIB: u64 = 1 << 20;
    const GIB: u64 = 1 << 30;
    if bytes >= GIB && bytes.is_multiple_of(GIB) {
        format!("{} GiB", bytes / GIB)
    } else {
        format!("{} MiB", group(bytes / MIB))
    }
}
