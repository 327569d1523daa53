//! The certificate page layout version 1, frozen: a pure function from a signed record to
//! pages of text, rules, boxes and a QR code. Certificates made before layout 2 were drawn
//! with it, and are verified by drawing them again with it, so not a word of it may change.
//!
//! The PDF is drawn from these items, and verification draws them again from the signed record
//! and compares with what the PDF shows: so every word a person reads on the page is the
//! record's, and an edit to either is detected. Nothing here may depend on anything but its
//! inputs (no clock, no locale, no environment).

use super::super::layout::qr_payload;
use super::super::page::{Colour, Font, Item, Page, qr_modules};
use super::super::record::Record;
use super::writer::{LEFT, PAGE_HEIGHT, RIGHT, Writer};
use crate::verify::outcome::{StepStatus, VerifyMode, WipeResult};
use crate::verify::plan::format_ppm;

/// Lays out a certificate.
pub fn layout(record: &Record, record_sha256: &str, signature_b64: &str) -> Vec<Page> {
    let mut w = Writer::new();
    let r = record;
    let result = r.sanitization.result;

    // Header.
    w.text(
        LEFT,
        16.0,
        Font::Bold,
        Colour::Black,
        &or_unset(&r.organisation.name),
    );
    w.down(14.0);
    w.text(
        LEFT,
        9.0,
        Font::Regular,
        Colour::Grey,
        &r.organisation.address,
    );
    w.down(24.0);
    w.text(
        LEFT,
        18.0,
        Font::Bold,
        Colour::Black,
        "Certificate of Media Sanitization",
    );
    w.down(22.0);
    w.text(
        LEFT,
        9.0,
        Font::Mono,
        Colour::Black,
        &format!("Certificate {}", r.id),
    );
    w.down(12.0);
    w.text(
        LEFT,
        9.0,
        Font::Regular,
        Colour::Grey,
        &format!("Issued {}", r.issued_at),
    );
    w.down(14.0);

    // The result, large.
    let colour = match result {
        WipeResult::Pass => Colour::Pass,
        WipeResult::Fail => Colour::Fail,
        WipeResult::Incomplete => Colour::Incomplete,
    };
    w.boxed(LEFT, w.y - 52.0, RIGHT - LEFT, 52.0, colour);
    w.text_at(
        LEFT + 14.0,
        w.y - 40.0,
        34.0,
        Font::Bold,
        Colour::White,
        result.as_str(),
    );
    w.text_at(
        LEFT + 250.0,
        w.y - 22.0,
        11.0,
        Font::Bold,
        Colour::White,
        &format!("NIST SP 800-88 {}", r.sanitization.level.as_str()),
    );
    w.text_at(
        LEFT + 250.0,
        w.y - 38.0,
        9.0,
        Font::Regular,
        Colour::White,
        &r.sanitization.policy,
    );
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

    let s = &r.sanitization;
    w.section("3. Sanitization");
    w.row("Level", &format!("{} ({})", s.level.as_str(), s.policy));
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
        LEFT + 140.0,
        LEFT + 250.0,
        LEFT + 360.0,
        LEFT + 430.0,
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
    let size = 78.0;
    w.first_page().items.push(Item::Qr {
        x: RIGHT - size,
        y: PAGE_HEIGHT - 50.0 - size + 6.0,
        size,
        modules: qr,
    });

    w.finish(&format!("Certificate {}", r.id))
}

fn opt(v: &Option<String>) -> &str {
    v.as_deref().filter(|s| !s.is_empty()).unwrap_or("-")
}

fn or_unset(s: &str) -> String {
    if s.trim().is_empty() {
        "(organisation not configured)".into()
    } else {
        s.to_string()
    }
}

/// `1234567` as `1,234,567`.
fn group(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn human(bytes: u64) -> String {
    const UNITS: &[&str] = &["B", "kB", "MB", "GB", "TB", "PB"];
    let mut unit = 0;
    let mut scaled = bytes;
    let mut rem = 0;
    while scaled >= 1000 && unit + 1 < UNITS.len() {
        rem = scaled % 1000;
        scaled /= 1000;
        unit += 1;
    }
    // Integer arithmetic only: the text must not depend on float formatting.
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{scaled}.{:02} {}", rem / 10, UNITS[unit])
    }
}
