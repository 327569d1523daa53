//! The certificate page layout (layout 3): a pure function from a signed record to pages of
//! text, rules, boxes and a QR code, set in the embedded faces of `fonts` so that every
//! character of the record is shown. Every text stays inside its box: the header left of the
//! QR code, values in their column, table cells in theirs; a section is never split from its
//! heading, and a drive wiped with up to three passes fits one page. (Layouts 1 and 2 are kept,
//! frozen, in `v1` and `v2` to verify the certificates made with them.)
//!
//! The PDF is drawn from these items, and verification draws them again from the signed record
//! and compares with what the PDF shows: so every word a person reads on the page is the
//! record's, and an edit to either is detected. Nothing here may depend on anything but its
//! inputs (no clock, no locale, no environment).

use super::fonts;
use super::page::{
    Colour, Font, Item, LEFT, Page, RIGHT, TOP, VALUE_X, Writer, fit, qr_modules, wrap,
};
use super::record::Record;

/// The QR code: its side and the height of its top edge.
const QR_SIZE: f32 = 64.0;
const QR_TOP: f32 = TOP + 6.0;
/// The size of the result in the banner.
const RESULT_SIZE: f32 = 30.0;

/// The characters of the record that no embedded face can show, with where they are (a JSON
/// path such as `organisation.name`). A certificate holding any is not issued, and does not
/// verify: its page could not show what is signed.
pub fn unshowable(
    record: &impl serde::Serialize,
    showable: impl Fn(char) -> bool,
) -> Vec<(String, char)> {
    fn walk(
        v: &serde_json::Value,
        path: &str,
        showable: &dyn Fn(char) -> bool,
        out: &mut Vec<(String, char)>,
    ) {
        match v {
            serde_json::Value::String(s) => {
                for c in s.chars() {
                    if !c.is_control() && !showable(c) && !out.iter().any(|(_, x)| *x == c) {
                        out.push((path.to_string(), c));
                    }
                }
            }
            serde_json::Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    walk(x, &format!("{path}[{i}]"), showable, out);
                }
            }
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(x, &p, showable, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    if let Ok(v) = serde_json::to_value(record) {
        walk(&v, "", &showable, &mut out);
    }
    out
}

/// `unshowable` as a sentence: `'😀' (U+1F600) in organisation.name`.
pub fn describe_unshowable(found: &[(String, char)]) -> String {
    found
        .iter()
        .map(|(path, c)| format!("{c:?} (U+{:04X}) in {path}", *c as u32))
        .collect::<Vec<_>>()
        .join(", ")
}
use crate::verify::outcome::{StepStatus, VerifyMode, WipeResult};
use crate::verify::plan::format_ppm;

/// The drive's health as read before the wipe: a section of its own, unnumbered so that the
/// certificates made before it keep their section numbers (and their drawing).
fn health(w: &mut Writer, h: &crate::device::health::Health) {
    heading(w, "Drive health (read before the wipe)");
    let source = match h.source.as_deref() {
        Some("ata-smart") => " (ATA SMART)",
        Some("nvme-smart-log") => " (NVMe SMART / Health log)",
        Some("scsi-log-pages") => " (SCSI log pages)",
        _ => "",
    };
    let verdict = format!("{}{source}", h.verdict.as_str().to_uppercase());
    let mut items: Vec<(&str, String)> = vec![("Verdict", verdict)];
    if let Some(n) = h.power_on_hours {
        items.push(("Power-on hours", group(n)));
    }
    if let Some(n) = h.power_cycles {
        items.push(("Power cycles", group(n)));
    }
    if let Some(n) = h.percentage_used {
        items.push(("Endurance used", format!("{n} %")));
    }
    if let Some(n) = h.temperature_celsius {
        items.push(("Temperature", format!("{n} °C")));
    }
    pairs(w, &items);
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
fn host(w: &mut Writer, h: &super::computer::Host) {
    heading(w, "Computer (the drive was inside it)");
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

/// What the QR code holds: the certificate id and the record's SHA-256.
pub fn qr_payload(record: &Record, record_sha256: &str) -> String {
    format!("WIPEPROOF-CERT:{}:SHA256:{record_sha256}", record.id)
}

/// Lays out a certificate (layout 3): one page for a drive wiped with up to three passes.
/// Every section is kept with its heading: one that does not fit what is left of a page starts
/// the next page, heading and all.
pub fn layout(record: &Record, record_sha256: &str, signature_b64: &str) -> Vec<Page> {
    let r = record;
    let mut w = Writer::new();
    header(&mut w, r);
    banner(&mut w, r);
    kept(&mut w, |w| media(w, r));
    if let Some(h) = &r.health {
        kept(&mut w, |w| health(w, h));
    }
    if let Some(h) = &r.host {
        kept(&mut w, |w| host(w, h));
    }
    kept(&mut w, |w| sanitization(w, r));
    kept(&mut w, |w| verification(w, r));
    kept(&mut w, |w| disposition(w, r));
    kept(&mut w, |w| validation(w, r, record_sha256, signature_b64));
    let qr = qr_modules(&qr_payload(r, record_sha256));
    w.first_page().items.push(Item::Qr {
        x: RIGHT - QR_SIZE,
        y: QR_TOP - QR_SIZE,
        size: QR_SIZE,
        modules: qr,
    });
    w.finish(&format!("Certificate {}", r.id))
}

/// Draws a section so that it is never split from its heading: drawn first on a page of its
/// own to measure it, it starts a new page when it does not fit what is left of this one (a
/// section taller than a page starts where it is and flows on).
fn kept(w: &mut Writer, draw: impl Fn(&mut Writer)) {
    let mut probe = Writer::new();
    draw(&mut probe);
    if probe.page_count() == 1 {
        let need = TOP - probe.y;
        if need <= Writer::page_height() {
            w.room(need);
        }
    }
    draw(w);
}

/// A section heading: a rule under the title, tighter than layout 2's.
fn heading(w: &mut Writer, title: &str) {
    w.down(4.0);
    w.text(LEFT, 10.0, Font::Bold, Colour::Black, title);
    w.down(2.5);
    let y = w.y + 1.0;
    w.page().items.push(Item::Rule {
        x1: LEFT,
        x2: RIGHT,
        y,
    });
    w.down(3.0);
}

/// Two label/value pairs on one line, each in half the width; a pair whose value does not fit
/// its half on one line takes the whole width (as `Writer::row`).
fn pairs(w: &mut Writer, items: &[(&str, String)]) {
    let half = (RIGHT - LEFT) / 2.0;
    // The left pair's value lines up with the values of full rows.
    let label_widths = [VALUE_X - LEFT, 72.0];
    let starts = [LEFT, LEFT + half + 8.0];
    let value_width = |n: usize| half - label_widths[n] - 8.0;
    let fits = |n: usize, (label, value): &(&str, String)| {
        wrap(label, Font::Regular, 9.0, label_widths[n] - 4.0).len() <= 1
            && wrap(value, Font::Regular, 9.0, value_width(n)).len() <= 1
    };
    let mut i = 0;
    while i < items.len() {
        let next = items.get(i + 1);
        match next {
            Some(b) if fits(0, &items[i]) && fits(1, b) => {
                w.room(11.0);
                let y = w.y - 9.0;
                for (n, (label, value)) in [&items[i], b].into_iter().enumerate() {
                    let x = starts[n];
                    w.text_at(x, y, 9.0, Font::Regular, Colour::Grey, label);
                    let black = Colour::Black;
                    w.text_at(x + label_widths[n], y, 9.0, Font::Regular, black, value);
                }
                w.down(12.0);
                i += 2;
            }
            _ => {
                w.row(items[i].0, &items[i].1);
                i += 1;
            }
        }
    }
}

/// A label and a value set small (the hashes and signature of the validation block): the
/// value starts early so that a signature fits one line.
fn small_row(w: &mut Writer, label: &str, value: &str, font: Font) {
    let value_x = LEFT + 92.0;
    let values = wrap(value, font, 7.0, RIGHT - value_x);
    let lines = values.len().max(1);
    w.room(9.0 * lines as f32);
    w.text_at(LEFT, w.y - 7.5, 7.5, Font::Regular, Colour::Grey, label);
    for (i, line) in values.iter().enumerate() {
        let y = w.y - 7.5 - 9.0 * i as f32;
        w.text_at(value_x, y, 7.0, font, Colour::Black, line);
    }
    w.down(9.0 * lines as f32 + 1.0);
}

fn header(w: &mut Writer, r: &Record) {
    let header_width = RIGHT - LEFT - QR_SIZE - 14.0;
    let name = or_unset(&r.organisation.name);
    let (size, _) = fit(&name, Font::Bold, 15.0, 11.0, header_width, 2);
    w.text_box(LEFT, header_width, size, Font::Bold, Colour::Black, &name);
    if !r.organisation.address.trim().is_empty() {
        w.down(3.0);
        let grey = Colour::Grey;
        w.text_box(
            LEFT,
            header_width,
            8.5,
            Font::Regular,
            grey,
            &r.organisation.address,
        );
    }
    w.down(8.0);
    let title = "Certificate of Media Sanitization";
    w.text_box(LEFT, header_width, 16.0, Font::Bold, Colour::Black, title);
    w.down(4.0);
    let id = format!("Certificate {}", r.id);
    w.text_box(LEFT, header_width, 8.5, Font::Mono, Colour::Black, &id);
    w.down(2.0);
    let issued = format!("Issued {}", r.issued_at);
    w.text_box(
        LEFT,
        header_width,
        8.5,
        Font::Regular,
        Colour::Grey,
        &issued,
    );
    w.down(8.0);
    // The banner starts below the QR code.
    w.y = w.y.min(QR_TOP - QR_SIZE - 6.0);
}

fn result_colour(result: WipeResult) -> Colour {
    match result {
        WipeResult::Pass => Colour::Pass,
        WipeResult::Fail => Colour::Fail,
        WipeResult::Incomplete => Colour::Incomplete,
    }
}

/// The result, large; a level only when it was reached.
fn banner(w: &mut Writer, r: &Record) {
    let result = r.sanitization.result;
    let top = w.y;
    let height = 38.0;
    w.boxed(
        LEFT,
        top - height,
        RIGHT - LEFT,
        height,
        result_colour(result),
    );
    let white = Colour::White;
    w.text_at(
        LEFT + 12.0,
        top - 29.0,
        RESULT_SIZE,
        Font::Bold,
        white,
        result.as_str(),
    );
    let side_x = LEFT + 12.0 + fonts::width(Font::Bold, RESULT_SIZE, "INCOMPLETE") + 16.0;
    let side_width = RIGHT - 10.0 - side_x;
    let (heading, detail) = match result {
        WipeResult::Pass if r.sanitization.logical_only.is_some() => (
            format!("NIST SP 800-88 {}", r.sanitization.level.as_str()),
            "Logical only: earlier copies of the file may survive on the device (see 2. Sanitization)"
                .to_string(),
        ),
        WipeResult::Pass => (
            format!("NIST SP 800-88 {}", r.sanitization.level.as_str()),
            r.sanitization.policy.clone(),
        ),
        WipeResult::Fail => (
            "Not sanitized: the wipe failed".to_string(),
            "No level reached: see 4. Disposition and result.".to_string(),
        ),
        WipeResult::Incomplete => (
            "Not sanitized: the wipe is incomplete".to_string(),
            "No level reached: see 4. Disposition and result.".to_string(),
        ),
    };
    let (size, lines) = fit(&heading, Font::Bold, 11.0, 7.0, side_width, 1);
    for line in &lines {
        w.text_at(side_x, top - 14.0, size, Font::Bold, white, line);
    }
    let (size, lines) = fit(&detail, Font::Regular, 8.5, 6.0, side_width, 2);
    for (i, line) in lines.iter().enumerate() {
        let y = top - 14.0 - 11.0 - (size + 1.5) * i as f32;
        w.text_at(side_x, y, size, Font::Regular, white, line);
    }
    w.down(height + 4.0);
}

fn media(w: &mut Writer, r: &Record) {
    heading(w, "1. Media");
    let m = &r.media;
    pairs(
        w,
        &[
            ("Manufacturer", opt(&m.manufacturer).to_string()),
            ("Model", opt(&m.model).to_string()),
            ("Firmware", opt(&m.firmware).to_string()),
            ("Serial number", opt(&m.serial).to_string()),
            (
                "Interface / type",
                format!("{} / {}", m.transport, m.media_type),
            ),
            ("World wide name", opt(&m.wwn).to_string()),
        ],
    );
    w.row(
        "Capacity",
        &format!(
            "{} bytes ({}); sectors {} bytes logical, {} bytes physical",
            group(m.size_bytes),
            human(m.size_bytes),
            m.logical_sector_size,
            m.physical_sector_size
        ),
    );
    if m.hidden_areas.is_empty() {
        pairs(
            w,
            &[
                ("Device", m.path.clone()),
                ("Hidden areas", "none found".to_string()),
            ],
        );
    } else {
        w.row("Device", &m.path);
        for h in &m.hidden_areas {
            w.row(
                &format!("Hidden area {}", h.kind),
                &format!("{} sectors: {} ({})", group(h.sectors), h.action, h.detail),
            );
        }
    }
    if !m.capabilities.is_empty() {
        w.row("Drive erase commands", &m.capabilities.join(", "));
    }
}

fn sanitization(w: &mut Writer, r: &Record) {
    let s = &r.sanitization;
    heading(w, "2. Sanitization");
    let level = match s.result {
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
    if let Some(r) = &s.rewipe {
        w.row("Rewipe", &r.note);
    }
    w.row("Method", &format!("{}: {}", s.method, s.method_title));
    w.row("Technique", &format!("{}; {}", s.method_type, s.technique));
    w.row("Reference", &s.reference);
    if s.rounds != 1 || s.blank {
        let blank = if s.blank { ", final blanking pass" } else { "" };
        w.row("Options", &format!("{} round(s){blank}", s.rounds));
    }
    pairs(
        w,
        &[
            ("Started", s.started_at.clone()),
            ("Ended", s.ended_at.clone()),
        ],
    );
    steps(w, s);
}

fn steps(w: &mut Writer, s: &super::record::Sanitization) {
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
}

/// What verification read: only the rows that apply to its mode (a sampling plan only for a
/// sampled read-back or a firmware erase's fingerprint).
fn verification(w: &mut Writer, r: &Record) {
    let v = &r.verification;
    heading(w, "3. Verification");
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
    if !firmware && v.spec.mode != VerifyMode::None {
        w.row(
            "Passes verified",
            match v.verify_passes {
                crate::erase::VerifyPasses::All => "every pass",
                crate::erase::VerifyPasses::Last => "the last pass",
            },
        );
    }
    let sampled = matches!(v.spec.mode, VerifyMode::Sample | VerifyMode::Fingerprint);
    if let Some(p) = v.plan.as_ref().filter(|_| sampled) {
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
        small_row(w, "Sample seed", &p.seed, Font::Mono);
    }
    checks(w, v);
}

fn checks(w: &mut Writer, v: &crate::verify::outcome::Verification) {
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
        if c.mode == VerifyMode::Fingerprint {
            if let Some(d) = &c.detail {
                w.note(d);
            }
            if let Some(b) = &c.before_digest {
                w.mono_row("Digest before", b);
            }
        }
    }
    if let Some(d) = v.final_digest() {
        let label = match v.spec.mode {
            VerifyMode::Full => "Digest of the media",
            _ => "Digest of regions",
        };
        small_row(w, label, d, Font::Mono);
    }
}

fn disposition(w: &mut Writer, r: &Record) {
    heading(w, "4. Disposition and result");
    let tags = if r.asset_tags.is_empty() {
        "-".to_string()
    } else {
        r.asset_tags.join(", ")
    };
    pairs(
        w,
        &[
            ("Destination", r.destination.as_str().to_string()),
            ("Customer", opt(&r.customer).to_string()),
            ("Collection", opt(&r.collection).to_string()),
            ("Asset tags", tags),
        ],
    );
    let result = r.sanitization.result;
    let why = if r.sanitization.failure_reasons.is_empty() {
        "Every step completed and the verification passed.".to_string()
    } else {
        r.sanitization.failure_reasons.join("; ")
    };
    w.down(2.0);
    w.room(12.0);
    let y = w.y - 10.0;
    w.text_at(
        LEFT,
        y,
        11.0,
        Font::Bold,
        result_colour(result),
        result.as_str(),
    );
    let x = LEFT + fonts::width(Font::Bold, 11.0, "INCOMPLETE") + 10.0;
    let lines = wrap(&why, Font::Regular, 9.0, RIGHT - x);
    for (i, line) in lines.iter().enumerate() {
        let y = w.y - 10.0 - 11.0 * i as f32;
        w.text_at(x, y, 9.0, Font::Regular, Colour::Black, line);
    }
    w.down(11.0 * lines.len().max(1) as f32 + 3.0);
}

/// The validation block (NIST SP 800-88 Appendix G): who performed the sanitization, which
/// station of which organisation validated it and when, and how the document is signed and
/// checked.
fn validation(w: &mut Writer, r: &Record, record_sha256: &str, signature_b64: &str) {
    heading(w, "5. Validation and signature");
    let organisation = or_unset(&r.organisation.name);
    pairs(
        w,
        &[
            ("Performed by", r.performed_by.operator.clone()),
            ("Date", r.sanitization.ended_at.clone()),
            (
                "Validated by",
                format!("station {}", r.performed_by.station_id),
            ),
            ("Validated on", r.issued_at.clone()),
        ],
    );
    pairs(
        w,
        &[
            ("Organisation", organisation),
            ("Tool", format!("{} {}", r.tool.name, r.tool.version)),
        ],
    );
    small_row(w, "Key id", &r.key_id, Font::Mono);
    small_row(w, "Record SHA-256", record_sha256, Font::Mono);
    small_row(w, "Record signature", signature_b64, Font::Mono);
    match &r.previous {
        Some(p) => {
            small_row(w, "Previous certificate", &p.id, Font::Mono);
            small_row(w, "Previous SHA-256", &p.record_sha256, Font::Mono);
        }
        None => small_row(
            w,
            "Previous certificate",
            "none (first of this station)",
            Font::Regular,
        ),
    }
    w.down(3.0);
    w.paragraph(
        "This document is digitally signed: a PDF signature (PAdES) by the station's \
         certificate, and the embedded signed record (record.json, Ed25519) every word here is \
         drawn from. Check it with `wipeproof verify FILE` or any PDF reader's signature panel \
         (pdfsig); by hand as certificates/README.md shows.",
        Font::Regular,
        8.0,
    );
}

pub(crate) fn opt(v: &Option<String>) -> &str {
    v.as_deref().filter(|s| !s.is_empty()).unwrap_or("-")
}

pub(crate) fn or_unset(s: &str) -> String {
    if s.trim().is_empty() {
        "(organisation not configured)".into()
    } else {
        s.to_string()
    }
}

/// `1234567` as `1,234,567`.
pub fn group(n: u64) -> String {
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

pub(crate) fn human(bytes: u64) -> String {
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

#[cfg(test)]
mod tests {
    use super::super::page::text_boxes;
    use super::super::record::tests::sample_record;
    use super::*;

    #[test]
    fn the_page_shows_the_records_facts() {
        let r = sample_record();
        let pages = layout(&r, &"aa".repeat(32), "c2ln");
        let all: Vec<&str> = pages.iter().flat_map(|p| p.texts()).collect();
        let joined = all.join("\n");
        for needle in [
            "Greenfield IT Recycling Ltd",
            "Certificate of Media Sanitization",
            "PASS",
            "NIST SP 800-88 Clear",
            "S6PUNX0R123456A",
            "Samsung SSD 870 EVO 1TB",
            "1,000,204,886,016 bytes (1.00 TB)",
            "dod-3pass: DoD 5220.22-M (E) short: zeros, ones, random",
            "Jane Doe",
            "ACME-000123",
            "reuse",
            &r.key_id[..40],
        ] {
            assert!(joined.contains(needle), "missing {needle}:\n{joined}");
        }
        assert!(matches!(pages[0].items.last(), Some(Item::Text { .. })));
        assert!(pages[0].items.iter().any(|i| matches!(i, Item::Qr { .. })));
    }

    #[test]
    fn the_drives_health_has_its_section_and_only_when_recorded() {
        use crate::device::health::{Health, HealthAttribute, Verdict};
        let mut r = sample_record();
        let without: Vec<String> = layout(&r, "00", "s")
            .iter()
            .flat_map(|p| p.texts().into_iter().map(String::from).collect::<Vec<_>>())
            .collect();
        assert!(!without.iter().any(|t| t.contains("health")), "{without:?}");
        r.health = Some(Health {
            verdict: Verdict::Warning,
            source: Some("ata-smart".into()),
            power_on_hours: Some(23_456),
            power_cycles: Some(1_234),
            temperature_celsius: Some(38),
            percentage_used: None,
            attributes: vec![HealthAttribute::new("Reallocated_Sector_Ct", 8, None)],
            reasons: vec!["8 reallocated sectors".into()],
        });
        let joined = layout(&r, "00", "s")
            .iter()
            .flat_map(|p| p.texts().into_iter().map(String::from).collect::<Vec<_>>())
            .collect::<Vec<_>>()
            .join("\n");
        for needle in [
            "Drive health (read before the wipe)",
            "WARNING (ATA SMART)",
            "23,456",
            "1,234",
            "38 °C",
            "Reallocated_Sector_Ct 8",
            "8 reallocated sectors",
            "2. Sanitization",
        ] {
            assert!(joined.contains(needle), "missing {needle}:\n{joined}");
        }
    }

    #[test]
    fn a_logical_only_sanitisation_says_so_in_the_banner_and_in_section_3() {
        let texts = |r: &Record| {
            layout(r, "00", "s")
                .iter()
                .flat_map(|p| p.texts().into_iter().map(String::from).collect::<Vec<_>>())
                .collect::<Vec<_>>()
                .join(" ")
        };
        let mut r = sample_record();
        let without = texts(&r);
        assert!(!without.contains("Logical only"), "{without}");
        assert!(!without.contains("sanitisation only"), "{without}");
        assert!(!without.contains("Scope"), "{without}");
        r.sanitization.logical_only = Some(crate::certificate::record::LogicalOnly::copy_on_write(
            "btrfs",
        ));
        let joined = texts(&r);
        for needle in [
            "Logical only: earlier copies of the file may survive on the device (see 2. Sanitization)",
            "Scope",
            "logical sanitisation only: earlier copies of this file may survive on the device \
             (copy-on-write filesystem btrfs)",
        ] {
            assert!(joined.contains(needle), "missing {needle}:\n{joined}");
        }
    }

    #[test]
    fn layout_is_deterministic_and_paginates_long_step_lists() {
        let mut r = sample_record();
        let a = layout(&r, "00", "s");
        assert_eq!(a, layout(&r, "00", "s"));
        let step = r.sanitization.steps[0].clone();
        r.sanitization.steps = (1..=35)
            .map(|n| {
                let mut s = step.clone();
                s.number = n;
                s
            })
            .collect();
        let pages = layout(&r, "00", "s");
        assert!(pages.len() >= 2);
        let last = pages.last().unwrap().texts();
        assert!(last.last().unwrap().ends_with(&format!(
            "page {} of {}",
            pages.len(),
            pages.len()
        )));
        for p in &pages {
            for i in &p.items {
                if let Item::Text { y, .. } = i {
                    assert!(*y >= 29.0 && *y <= TOP, "{y}");
                }
            }
        }
    }

    fn long_record() -> Record {
        let mut r = sample_record();
        let long = |prefix: &str| {
            let mut s = String::from(prefix);
            let mut i = 0;
            while s.chars().count() < 200 {
                s.push_str(&format!(" word{i}"));
                i += 1;
            }
            s.chars().take(200).collect::<String>()
        };
        r.organisation.name = long("Łódź Recykling Sp. z o.o. 日本");
        r.organisation.address = long("ul. Piotrkowska 104, 90-001 Łódź, Polska");
        r.performed_by.operator = long("Operator");
        r.customer = Some(long("Customer"));
        r.collection = Some("C".repeat(200));
        r.asset_tags = vec!["T".repeat(200), long("Tag")];
        r.media.serial = Some("S".repeat(200));
        r.media.model = Some(long("Model"));
        r
    }

    #[test]
    fn long_fields_wrap_inside_their_boxes_and_nothing_overlaps() {
        for result in [WipeResult::Pass, WipeResult::Fail, WipeResult::Incomplete] {
            let mut r = long_record();
            r.sanitization.result = result;
            let pages = layout(&r, &"ab".repeat(32), &"c2ln".repeat(22));
            let all = text_boxes(&pages);
            let squeezed: String = all
                .iter()
                .flat_map(|b| b.5.chars())
                .filter(|c| !c.is_whitespace())
                .collect();
            for field in [
                r.organisation.name.as_str(),
                &r.organisation.address,
                &r.performed_by.operator,
                r.customer.as_deref().unwrap(),
                r.media.serial.as_deref().unwrap(),
                &r.asset_tags[0],
            ] {
                let want: String = field.chars().filter(|c| !c.is_whitespace()).collect();
                assert!(squeezed.contains(&want), "{field} is not shown in full");
            }
            let qr_bottom = QR_TOP - QR_SIZE;
            for (page, x1, x2, y1, y2, text) in &all {
                assert!(*x1 >= LEFT - 0.01 && *x2 <= RIGHT + 0.01, "{text} runs off");
                assert!(*y1 >= 15.0 && *y2 <= TOP + 10.0, "{text} at {y1}");
                if *page == 0 && *y2 > qr_bottom {
                    assert!(*x2 <= RIGHT - QR_SIZE, "{text} runs under the QR code");
                }
            }
            for (i, a) in all.iter().enumerate() {
                for b in &all[i + 1..] {
                    let overlap = a.0 == b.0 && a.1 < b.2 && b.1 < a.2 && a.3 < b.4 && b.3 < a.4;
                    assert!(!overlap, "{:?} overlaps {:?}", a.5, b.5);
                }
            }
        }
    }

    #[test]
    fn only_a_pass_names_a_level() {
        for (result, level_named) in [
            (WipeResult::Pass, true),
            (WipeResult::Fail, false),
            (WipeResult::Incomplete, false),
        ] {
            let mut r = sample_record();
            r.sanitization.result = result;
            let pages = layout(&r, "00", "s");
            let texts = pages[0].texts().join("\n");
            assert_eq!(
                texts.contains("NIST SP 800-88 Clear"),
                level_named,
                "{texts}"
            );
            assert_eq!(
                texts.contains("not reached (Clear was the aim"),
                !level_named
            );
        }
    }

    #[test]
    fn unicode_names_are_shown_and_unshowable_characters_are_found() {
        let mut r = sample_record();
        r.organisation.name = "Łódź Recykling".into();
        r.customer = Some("日本".into());
        let pages = layout(&r, "00", "s");
        let texts: Vec<&str> = pages.iter().flat_map(|p| p.texts()).collect();
        assert!(texts.contains(&"Łódź Recykling"), "{texts:?}");
        assert!(texts.contains(&"日本"), "{texts:?}");
        assert!(unshowable(&r, fonts::showable).is_empty());
        r.performed_by.operator = "Jane क".into();
        let found = unshowable(&r, fonts::showable);
        assert_eq!(found, [("performed_by.operator".to_string(), 'क')]);
        assert!(describe_unshowable(&found).contains("U+0915"));
    }

    fn joined(pages: &[Page]) -> String {
        pages
            .iter()
            .flat_map(|p| p.texts())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn a_drive_with_one_to_three_passes_fits_one_page_with_its_health() {
        use crate::device::health::{Health, Verdict};
        for passes in 1..=3 {
            let mut r = sample_record();
            r.sanitization.steps.truncate(passes);
            r.health = Some(Health {
                verdict: Verdict::Warning,
                source: Some("ata-smart".into()),
                power_on_hours: None,
                power_cycles: None,
                temperature_celsius: None,
                percentage_used: None,
                attributes: vec![],
                reasons: vec!["8 reallocated sectors".into()],
            });
            r.asset_tags = vec!["ACME-000123".into()];
            let pages = layout(&r, &"ab".repeat(32), &"c2ln".repeat(22));
            assert_eq!(pages.len(), 1, "{passes} pass(es): {}", joined(&pages[1..]));
        }
    }

    #[test]
    fn a_section_that_does_not_fit_starts_the_next_page_with_its_heading() {
        let mut r = sample_record();
        let step = r.sanitization.steps[0].clone();
        r.sanitization.steps = (1..=12)
            .map(|n| {
                let mut s = step.clone();
                s.number = n;
                s
            })
            .collect();
        let pages = layout(&r, "00", "s");
        assert!(pages.len() >= 2);
        for (n, page) in pages.iter().enumerate() {
            let texts = page.texts();
            for (i, t) in texts.iter().enumerate() {
                let numbered = t.len() > 3 && t.as_bytes()[0].is_ascii_digit() && &t[1..3] == ". ";
                if numbered {
                    // A heading is never the last line of a page (before its footer).
                    assert!(i + 2 < texts.len(), "page {n}: {t} is left alone");
                }
            }
        }
        // The validation block is whole on one page.
        let holder: Vec<usize> = pages
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                p.texts()
                    .iter()
                    .any(|t| t.contains("5. Validation") || t.starts_with("Check it with"))
            })
            .map(|(n, _)| n)
            .collect();
        assert_eq!(holder.len(), 1, "{holder:?}");
    }

    #[test]
    fn the_validation_block_names_who_where_when_and_how_to_check() {
        let r = sample_record();
        let text = joined(&layout(&r, "00", "s"));
        for needle in [
            "5. Validation and signature",
            "Performed by",
            "Jane Doe",
            "Validated by",
            "station ",
            "Validated on",
            &r.issued_at,
            "Greenfield IT Recycling Ltd",
            "digitally signed",
            "PAdES",
            "record.json",
            "wipeproof verify FILE",
            "any PDF reader's signature panel",
        ] {
            assert!(text.contains(needle), "missing {needle}:\n{text}");
        }
    }

    #[test]
    fn the_sampling_plan_is_shown_only_for_a_sampled_read_back() {
        let mut r = sample_record();
        assert!(joined(&layout(&r, "00", "s")).contains("Sampling plan"));
        for mode in [VerifyMode::Full, VerifyMode::None] {
            r.verification.spec.mode = mode;
            let text = joined(&layout(&r, "00", "s"));
            assert!(!text.contains("Sampling plan"), "{mode:?}:\n{text}");
            assert!(!text.contains("Sample seed"), "{mode:?}:\n{text}");
        }
    }

    #[test]
    fn an_overwrite_certificates_reference_follows_its_policy() {
        let plan = crate::erase::OverwritePlan::build("zero", 1, false, None).unwrap();
        let info = super::super::record::MethodInfo::overwrite(&plan);
        assert!(info.policy.contains("Rev. 2"), "{}", info.policy);
        assert!(info.reference.contains("Rev. 2"), "{}", info.reference);
        assert!(!info.reference.contains("Rev. 1"), "{}", info.reference);
    }

    #[test]
    fn grouping_and_sizes() {
        assert_eq!(group(0), "0");
        assert_eq!(group(1234567), "1,234,567");
        assert_eq!(human(1_000_204_886_016), "1.00 TB");
        assert_eq!(human(999), "999 B");
        assert_eq!(human(1_500_000), "1.50 MB");
    }
}
