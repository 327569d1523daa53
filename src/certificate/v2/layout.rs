//! Layout 2, kept to verify the certificates drawn with it (wipeproof 0.1.x until layout 3):
//! the embedded Unicode faces, seven numbered sections flowing over as many pages as they
//! need. Nothing here may change; the fixture in `tests/fixtures/certificate-layout2` proves
//! that it does not.

use super::super::fonts;
use super::super::layout::{group, human, opt, or_unset, qr_payload};
use super::super::page::{Colour, Font, Item, LEFT, Page, RIGHT, TOP, Writer, fit, qr_modules};
use super::super::record::Record;
use crate::verify::outcome::{StepStatus, VerifyMode, WipeResult};
use crate::verify::plan::format_ppm;

/// The QR code: its side and the height of its top edge.
const QR_SIZE: f32 = 78.0;
const QR_TOP: f32 = TOP + 6.0;
/// The size of the result in the banner.
const RESULT_SIZE: f32 = 30.0;

/// The drive's health as read before the wipe: a section of its own, unnumbered so that the
/// certificates made before it keep their section numbers (and their drawing).
fn health(w: &mut Writer, h: &crate::device::health::Health) {
    w.section("Drive health (read before the wipe)");
    let source = match h.source.as_deref() {
        Some("ata-smart") => " (ATA SMART)",
        Some("nvme-smart-log") => " (NVMe SMART / Health log)",
        Some("scsi-log-pages") => " (SCSI log pages)",
        _ => "",
    };
    w.row(
        "Verdict",
        &format!("{}{source}", h.verdict.as_str().to_uppercase()),
    );
    if let Some(n) = h.power_on_hours {
        w.row("Power-on hours", &group(n));
    }
    if let Some(n) = h.power_cycles {
        w.row("Power cycles", &group(n));
    }
    if let Some(n) = h.percentage_used {
        w.row("Endurance used", &format!("{n} %"));
    }
    if let Some(n) = h.temperature_celsius {
        w.row("Temperature", &format!("{n} °C"));
    }
    if !h.attributes.is_empty() {
        let attrs: Vec<String> = h
            .attributes
            .iter()
            .map(|a| match a.threshold {
                Some(t) => format!("{} {} (threshold {t})", a.name, group(a.value)),
                None => format!("{} {}", a.name, group(a.value)),
            })
            .collect();
        w.row("Attributes", &attrs.join(", "));
    }
    if !h.reasons.is_empty() {
        w.row("Why", &h.reasons.join("; "));
    }
}

/// The computer the drive was inside, when it is the asset: a section of its own, unnumbered
/// and drawn only when the record has it, so older certificates keep their drawing.
fn host(w: &mut Writer, h: &super::super::computer::Host) {
    w.section("Computer (the drive was inside it)");
    let fields = [
        ("Manufacturer", h.system.manufacturer.as_deref()),
        ("Product", h.system.product.as_deref()),
        ("Serial number", h.system.serial.as_deref()),
        ("UUID", h.system.uuid.as_deref()),
        ("Chassis type", h.chassis.chassis_type.as_deref()),
        ("Chassis serial", h.chassis.serial.as_deref()),
        ("Chassis asset tag", h.chassis.asset_tag.as_deref()),
    ];
    let mut any = false;
    for (label, value) in fields {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            w.row(label, v);
            any = true;
        }
    }
    let bios: Vec<&str> = [&h.bios.vendor, &h.bios.version, &h.bios.date]
        .into_iter()
        .filter_map(|v| v.as_deref())
        .filter(|v| !v.is_empty())
        .collect();
    if !bios.is_empty() {
        w.row("BIOS", &bios.join(", "));
        any = true;
    }
    if !any {
        w.row("Identity", "the firmware reports none (no SMBIOS tables)");
    }
}

/// Lays out a certificate.
pub fn layout(record: &Record, record_sha256: &str, signature_b64: &str) -> Vec<Page> {
    let mut w = Writer::new();
    let r = record;
    let result = r.sanitization.result;

    // Header, left of the QR code.
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
        "Certificate of Media Sanitization",
    );
    w.down(6.0);
    w.text_box(
        LEFT,
        header_width,
        9.0,
        Font::Mono,
        Colour::Black,
        &format!("Certificate {}", r.id),
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
    // The banner starts below the QR code.
    w.y = w.y.min(QR_TOP - QR_SIZE - 8.0);

    // The result, large; a level only when it was reached.
    let colour = match result {
        WipeResult::Pass => Colour::Pass,
        WipeResult::Fail => Colour::Fail,
        WipeResult::Incomplete => Colour::Incomplete,
    };
    let top = w.y;
    w.boxed(LEFT, top - 52.0, RIGHT - LEFT, 52.0, colour);
    w.text_at(
        LEFT + 14.0,
        top - 40.0,
        RESULT_SIZE,
        Font::Bold,
        Colour::White,
        result.as_str(),
    );
    let side_x = LEFT + 14.0 + fonts::width(Font::Bold, RESULT_SIZE, "INCOMPLETE") + 18.0;
    let side_width = RIGHT - 10.0 - side_x;
    let (heading, detail) = match result {
        WipeResult::Pass if r.sanitization.logical_only.is_some() => (
            format!("NIST SP 800-88 {}", r.sanitization.level.as_str()),
            "Logical only: earlier copies of the file may survive on the device (see 3. Sanitization)"
                .to_string(),
        ),
        WipeResult::Pass => (
            format!("NIST SP 800-88 {}", r.sanitization.level.as_str()),
            r.sanitization.policy.clone(),
        ),
        WipeResult::Fail => (
            "Not sanitized: the wipe failed".to_string(),
            "No level reached: see 6. Result.".to_string(),
        ),
        WipeResult::Incomplete => (
            "Not sanitized: the wipe is incomplete".to_string(),
            "No level reached: see 6. Result.".to_string(),
        ),
    };
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

    w.section("1. Person performing sanitization");
    w.row("Operator", &r.performed_by.operator);
    w.row("Station", &r.performed_by.station_id);
    w.row("Organisation", &or_unset(&r.organisation.name));
    w.row("Tool", &format!("{} {}", r.tool.name, r.tool.version));

    w.section("2. Media");
    let m = &r.media;
    w.row("Manufacturer", opt(&m.manufacturer));
    w.row("Model", opt(&m.model));
    w.row("Serial number", opt(&m.serial));
    w.row("Firmware", opt(&m.firmware));
    w.row("World wide name", opt(&m.wwn));
    w.row(
        "Interface / type",
        &format!("{} / {}", m.transport, m.media_type),
    );
    w.row(
        "Capacity",
        &format!("{} bytes ({})", group(m.size_bytes), human(m.size_bytes)),
    );
    w.row(
        "Sector size",
        &format!(
            "{} bytes logical, {} bytes physical",
            m.logical_sector_size, m.physical_sector_size
        ),
    );
    w.row("Device", &m.path);
    if !m.capabilities.is_empty() {
        w.row("Drive erase commands", &m.capabilities.join(", "));
    }
    if m.hidden_areas.is_empty() {
        w.row("Hidden areas", "none found");
    } else {
        for h in &m.hidden_areas {
            w.row(
                &format!("Hidden area {}", h.kind),
                &format!("{} sectors: {} ({})", group(h.sectors), h.action, h.detail),
            );
        }
    }

    if let Some(h) = &r.health {
        health(&mut w, h);
    }
    if let Some(h) = &r.host {
        host(&mut w, h);
    }

    let s = &r.sanitization;
    w.section("3. Sanitization");
    let level = match result {
        WipeResult::Pass => format!("{} ({})", s.level.as_str(), s.policy),
        _ => format!(
            "not reached ({} was the aim; {})",
            s.level.as_str(),
            s.policy
        ),
    };
    w.row("Level", &level);
    if let Some(l) = &s.logical_only {
        w.row("Scope", &l.note);
    }
    w.row("Method", &format!("{}: {}", s.method, s.method_title));
    w.row("Method type", &s.method_type);
    w.row("Technique", &s.technique);
    w.row("Reference", &s.reference);
    if s.rounds != 1 || s.blank {
        w.row(
            "Options",
            &format!(
                "{} round(s){}",
                s.rounds,
                if s.blank { ", final blanking pass" } else { "" }
            ),
        );
    }
    w.row("Started", &s.started_at);
    w.row("Ended", &s.ended_at);
    w.down(4.0);
    let cols = [
        LEFT,
        LEFT + 20.0,
        LEFT + 130.0,
        LEFT + 240.0,
        LEFT + 350.0,
        LEFT + 440.0,
    ];
    w.table_header(
        &cols,
        &["#", "Action", "Started", "Ended", "Bytes", "Status"],
    );
    for step in &s.steps {
        let status = match step.status {
            StepStatus::Completed if step.errors.is_empty() => "completed",
            StepStatus::Completed => "errors",
            StepStatus::Interrupted => "interrupted",
            StepStatus::Failed => "failed",
            StepStatus::NotStarted => "not run",
        };
        w.table_row(
            &cols,
            &[
                &step.number.to_string(),
                &step.action.describe(),
                step.started_at.as_deref().unwrap_or("-"),
                step.ended_at.as_deref().unwrap_or("-"),
                &group(step.bytes_written),
                status,
            ],
        );
        for e in &step.errors {
            w.note(&format!(
                "could not write {} bytes at offset {}: {}",
                group(e.len),
                group(e.offset),
                e.error
            ));
        }
        for o in &step.resumed_at {
            w.note(&format!(
                "resumed at offset {} after an interruption",
                group(*o)
            ));
        }
        for n in &step.notes {
            w.note(n);
        }
    }

    let v = &r.verification;
    w.section("4. Verification");
    let mode = match v.spec.mode {
        VerifyMode::None => "none".to_string(),
        VerifyMode::Full => "full read-back of every byte".to_string(),
        VerifyMode::Sample => format!(
            "sampled read-back, {} of the media requested",
            format_ppm(v.spec.coverage_ppm)
        ),
        VerifyMode::Fingerprint => format!(
            "sample regions ({} of the media requested) hashed before the firmware command and \
             compared after it; the drive's completion status",
            format_ppm(v.spec.coverage_ppm)
        ),
    };
    w.row("Method", &mode);
    let firmware = v.checks.iter().any(|c| c.mode == VerifyMode::Fingerprint);
    if !firmware {
        w.row(
            "Passes verified",
            match v.verify_passes {
                crate::erase::VerifyPasses::All => "every pass",
                crate::erase::VerifyPasses::Last => "the last pass",
            },
        );
    }
    if let Some(p) = &v.plan {
        w.row(
            "Sampling plan",
            &format!(
                "{}: {} regions of {} bytes in {} subsections plus the first and last MiB; {} of the media",
                p.algorithm,
                group(p.region_count),
                group(p.region_size),
                group(p.subsections),
                format_ppm(p.coverage_ppm)
            ),
        );
        w.mono_row("Sample seed", &p.seed);
    }
    for c in &v.checks {
        let verdict = if c.passed {
            "passed".to_string()
        } else if c.interrupted {
            "interrupted".to_string()
        } else {
            format!("FAILED, {} mismatching range(s)", group(c.mismatch_count))
        };
        w.row(
            &format!("Check of step {}", c.step),
            &format!("{} bytes read: {verdict}", group(c.bytes_read)),
        );
        for mm in &c.mismatches {
            w.note(&format!(
                "offset {} (+{} bytes): {}",
                group(mm.offset),
                group(mm.len),
                mm.detail
            ));
        }
        for u in &c.unreadable {
            w.note(&format!(
                "unreadable {} bytes at offset {}: {}",
                group(u.len),
                group(u.offset),
                u.error
            ));
        }
    }
    for c in v
        .checks
        .iter()
        .filter(|c| c.mode == VerifyMode::Fingerprint)
    {
        if let Some(d) = &c.detail {
            w.note(d);
        }
        if let Some(b) = &c.before_digest {
            w.mono_row("Digest before", b);
        }
    }
    if let Some(d) = v.final_digest() {
        w.mono_row("Digest of regions", d);
    }

    w.section("5. Disposition");
    w.row("Destination", r.destination.as_str());
    w.row("Customer", opt(&r.customer));
    w.row("Collection", opt(&r.collection));
    w.row(
        "Asset tags",
        &if r.asset_tags.is_empty() {
            "-".to_string()
        } else {
            r.asset_tags.join(", ")
        },
    );

    w.section("6. Result");
    w.text(LEFT, 14.0, Font::Bold, colour, result.as_str());
    w.down(16.0);
    if s.failure_reasons.is_empty() {
        w.paragraph(
            "Every step completed and the verification passed.",
            Font::Regular,
            9.0,
        );
    } else {
        for reason in &s.failure_reasons {
            w.paragraph(&format!("- {reason}"), Font::Regular, 9.0);
        }
    }

    w.section("7. Signature");
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
         certificates/README.md.",
        Font::Regular,
        8.0,
    );
    // QR code in the top right of the header.
    let qr = qr_modules(&qr_payload(r, record_sha256));
    w.first_page().items.push(Item::Qr {
        x: RIGHT - QR_SIZE,
        y: QR_TOP - QR_SIZE,
        size: QR_SIZE,
        modules: qr,
    });

    w.finish(&format!("Certificate {}", r.id))
}
