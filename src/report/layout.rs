//! The report's pages, drawn from the signed report alone (verification redraws them).
//!
//! A drive's wipe result (PASS, FAIL, INCOMPLETE, or "not wiped") and its asset's state
//! (received, retired, failed, destroyed) are separate columns; the certificate column shows
//! the first 8 characters of the certificate id, as in the certificate's file name.

use super::{CollectionReport, ReportCustody};
use crate::certificate::page::{Cell, Colour, Font, LEFT, Page, Writer};
use crate::device::inventory::make_and_model;
use crate::register::AssetState;
use crate::register::ReportComputer;

/// Whether `line`'s asset was never received and is listed as missing in the chain of custody.
fn is_missing(r: &CollectionReport, line: &crate::register::ReportLine) -> bool {
    line.state == AssetState::Expected
        && r.custody
            .as_ref()
            .is_some_and(|c| c.missing.iter().any(|m| m.asset_tag == line.asset_tag))
}

/// The pages of `r`, with its record hash `sha` and base64 signature `sig_b64`.
pub fn layout(r: &CollectionReport, sha: &str, sig_b64: &str) -> Vec<Page> {
    let mut w = Writer::new();
    let org = if r.organisation.name.trim().is_empty() {
        "Organisation not set"
    } else {
        &r.organisation.name
    };
    w.text(LEFT, 16.0, Font::Bold, Colour::Black, org);
    w.down(20.0);
    if !r.organisation.address.trim().is_empty() {
        w.text(
            LEFT,
            9.0,
            Font::Regular,
            Colour::Grey,
            &r.organisation.address,
        );
        w.down(13.0);
    }
    w.down(6.0);
    w.text(
        LEFT,
        18.0,
        Font::Bold,
        Colour::Black,
        &format!("Sanitization report: collection {}", r.collection),
    );
    w.down(24.0);
    w.row("Customer", &r.customer);
    w.row("Collection", &r.collection);
    w.row(
        "Issued",
        &r.issued_at.replace('T', " ").replace('Z', " UTC"),
    );
    w.row(
        "Issued by",
        &format!("{} at station {}", r.operator, r.station_id),
    );
    w.row("Tool", &format!("{} {}", r.tool.name, r.tool.version));
    w.mono_row("Report id", &r.id);
    if let Some(c) = &r.custody {
        super::custody::warn(&mut w, c);
        super::custody::draw(&mut w, c);
    }

    w.section("Summary");
    let s = &r.summary;
    // An asset goods-in never received is still `expected` in the register; the customer
    // reads it as missing (how it was resolved is in the chain of custody above).
    let missing_of = |asset_type: Option<&str>| -> u64 {
        let mut tags: Vec<&str> = r
            .lines
            .iter()
            .filter(|l| {
                is_missing(r, l)
                    && asset_type
                        .is_none_or(|t| l.asset_type.as_deref().unwrap_or("unspecified") == t)
            })
            .map(|l| l.asset_tag.as_str())
            .collect();
        tags.dedup();
        tags.len() as u64
    };
    let states = |m: &std::collections::BTreeMap<AssetState, u64>, missing: u64| {
        m.iter()
            .filter_map(|(k, v)| {
                let v = if *k == AssetState::Expected {
                    v.saturating_sub(missing)
                } else {
                    *v
                };
                (v > 0).then(|| format!("{v} {}", k.as_str()))
            })
            .chain((missing > 0).then(|| format!("{missing} missing")))
            .collect::<Vec<_>>()
            .join(", ")
    };
    w.row(
        "Assets",
        &format!("{} ({})", s.assets, states(&s.by_state, missing_of(None))),
    );
    let d = &s.by_result;
    w.row(
        "Drives",
        &format!(
            "{} ({} PASS, {} FAIL, {} INCOMPLETE, {} not wiped)",
            s.drives, d.pass, d.fail, d.incomplete, d.not_wiped
        ),
    );
    for (t, by_state) in &s.by_type {
        let n: u64 = by_state.values().sum();
        w.row(
            &format!("  {t}"),
            &format!("{n} ({})", states(by_state, missing_of(Some(t)))),
        );
    }

    w.section("Assets and drives");
    if r.layout.unwrap_or(1) >= 2 {
        assets_and_drives(&mut w, r);
        if !r.computers.is_empty() {
            computers(&mut w, &r.computers);
        }
        if let Some(c) = r.custody.as_ref().filter(|c| !c.destroyed.is_empty()) {
            destroyed(&mut w, c);
        }
    } else {
        first_layout_table(&mut w, r);
    }

    w.section("Signature");
    w.mono_row("Key id", &r.key_id);
    w.mono_row("Report SHA-256", sha);
    w.mono_row("Signature", sig_b64);
    w.down(4.0);
    w.paragraph(
        "The signed report travels inside this PDF (report.json, report.sig). Check it with \
         wipeproof verify REPORT.pdf --trust STATION-KEY.pem, or with pdfdetach and openssl \
         pkeyutl -verify -rawin as for certificates.",
        Font::Regular,
        8.0,
    );
    w.finish(&format!("Sanitization report {}", r.id))
}

/// The table of reports of the first layout (no `layout` in the report): kept as it was, so
/// that those reports redraw byte for byte.
fn first_layout_table(w: &mut Writer, r: &CollectionReport) {
    let cols = [
        LEFT,
        LEFT + 78.0,
        LEFT + 138.0,
        LEFT + 193.0,
        LEFT + 283.0,
        LEFT + 348.0,
        LEFT + 388.0,
        LEFT + 443.0,
    ];
    w.table_header(
        &cols,
        &[
            "Asset tag",
            "Type",
            "Asset state",
            "Drive serial",
            "Method",
            "Level",
            "Result",
            "Certificate",
        ],
    );
    for l in &r.lines {
        let cert: String = l
            .certificate_id
            .as_deref()
            .map(|c| c.chars().take(8).collect())
            .unwrap_or_default();
        w.table_row(
            &cols,
            &[
                &l.asset_tag,
                l.asset_type.as_deref().unwrap_or(""),
                if is_missing(r, l) {
                    "missing"
                } else {
                    l.state.as_str()
                },
                l.drive_serial.as_deref().unwrap_or("no drive known"),
                l.method.as_deref().unwrap_or(""),
                l.level.map(|v| v.as_str()).unwrap_or(""),
                match (&l.drive_serial, &l.result) {
                    (_, Some(res)) => res.as_str(),
                    (Some(_), None) => "not wiped",
                    (None, None) => "",
                },
                &cert,
            ],
        );
    }
    w.down(4.0);
    w.note(
        "Asset state is the asset's place in its life (expected, received, retired, failed, destroyed; \
         missing: never received, see Chain of custody); Result is the drive's latest certificate. Certificate: the first 8 characters of the \
         certificate id, as in the certificate's file name; the signed report holds the full ids \
         and each asset's serial.",
    );
}

/// The table of layout 2: the asset's make and model, the drive's model and the day it was
/// wiped; serials and dates whole on one line (shrunk, or shortened in the middle with "...").
fn assets_and_drives(w: &mut Writer, r: &CollectionReport) {
    let cols = [
        LEFT,
        LEFT + 58.0,
        LEFT + 138.0,
        LEFT + 182.0,
        LEFT + 268.0,
        LEFT + 312.0,
        LEFT + 344.0,
        LEFT + 394.0,
        LEFT + 446.0,
    ];
    w.table_header(
        &cols,
        &[
            "Asset tag",
            "Asset",
            "State",
            "Drive",
            "Method",
            "Level",
            "Result",
            "Wiped",
            "Cert. id",
        ],
    );
    for l in &r.lines {
        let make_model = [l.make.as_deref(), l.model.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let mut asset = Vec::new();
        if !make_model.is_empty() {
            asset.push(Cell::Words(make_model));
        }
        if let Some(t) = &l.asset_type {
            asset.push(Cell::Note(t.clone()));
        }
        let mut drive = vec![Cell::Whole(
            l.drive_serial
                .clone()
                .unwrap_or_else(|| "no drive known".into()),
        )];
        if let Some(m) = &l.drive_model {
            drive.push(Cell::Note(m.clone()));
        }
        let result = match (&l.drive_serial, &l.result) {
            (_, Some(res)) => res.as_str(),
            (Some(_), None) => "not wiped",
            (None, None) => "",
        };
        let wiped = l
            .wiped_at
            .as_deref()
            .map(|t| t.chars().take(10).collect())
            .unwrap_or_default();
        let cert: String = l
            .certificate_id
            .as_deref()
            .map(|c| c.chars().take(8).collect())
            .unwrap_or_default();
        let state = if is_missing(r, l) {
            "missing"
        } else {
            l.state.as_str()
        };
        w.table_row_cells(
            &cols,
            &[
                vec![Cell::Whole(l.asset_tag.clone())],
                asset,
                vec![Cell::Whole(state.into())],
                drive,
                vec![Cell::Words(l.method.clone().unwrap_or_default())],
                vec![Cell::Whole(
                    l.level.map(|v| v.as_str()).unwrap_or("").into(),
                )],
                vec![Cell::Whole(result.into())],
                vec![Cell::Whole(wiped)],
                vec![Cell::Whole(cert)],
            ],
        );
    }
    w.down(4.0);
    w.note(
        "Asset: make and model as the manifest gives them, and the asset's type. State is the \
         asset's place in its life (expected, received, retired, failed, destroyed; missing: \
         never received, see Chain of custody). Drive: its serial and the model it reports. \
         Result is the drive's latest certificate, Wiped the day (UTC) it was issued. \
         Cert. id: the first 8 characters of the certificate id, as in the certificate's \
         file name. A value too long for its column is shortened with \"...\"; the signed \
         report (report.json, inside this PDF) holds every value in full.",
    );
}

/// The computers: a row per computer (its asset tag, make and model with the asset tag its
/// chassis carries, system serial, the computer certificate's result, day and id), then a row
/// per drive it lists (serial, result, certificate id) in the same columns.
fn computers(w: &mut Writer, computers: &[ReportComputer]) {
    w.section("Computers");
    let cols = [
        LEFT,
        LEFT + 62.0,
        LEFT + 200.0,
        LEFT + 300.0,
        LEFT + 362.0,
        LEFT + 420.0,
    ];
    w.table_header(
        &cols,
        &[
            "Asset tag",
            "Computer",
            "Serial",
            "Result",
            "Date",
            "Cert. id",
        ],
    );
    let short = |id: &str| -> String { id.chars().take(8).collect() };
    for c in computers {
        // A computer and its drives stay on one page when they fit on one.
        w.room((22.0 * (1 + c.drives.len()) as f32).min(300.0));
        let mut computer = Vec::new();
        // The make is left out when the product already names it ("HP EliteBook ...").
        computer.push(
            match make_and_model(c.manufacturer.as_deref(), c.product.as_deref()) {
                Some(m) => Cell::Words(m),
                None => Cell::Note("make and model not reported".into()),
            },
        );
        if let Some(t) = &c.chassis_asset_tag {
            computer.push(Cell::Note(format!("chassis tag {t}")));
        }
        w.table_row_cells(
            &cols,
            &[
                vec![Cell::Whole(c.asset_tag.clone())],
                computer,
                vec![Cell::Whole(c.serial.clone().unwrap_or_default())],
                vec![Cell::Words(c.result.words().into())],
                vec![Cell::Whole(c.issued_at.chars().take(10).collect())],
                vec![Cell::Whole(short(&c.certificate_id))],
            ],
        );
        for (n, d) in c.drives.iter().enumerate() {
            let mut drive = vec![Cell::Whole(format!("drive {}", n + 1))];
            if let Some(m) = &d.model {
                drive.push(Cell::Note(m.clone()));
            }
            w.table_row_cells(
                &cols,
                &[
                    vec![],
                    drive,
                    vec![Cell::Whole(d.serial.clone().unwrap_or_default())],
                    vec![Cell::Whole(d.result.as_str().into())],
                    vec![],
                    vec![Cell::Whole(short(&d.certificate_id))],
                ],
            );
        }
    }
    w.down(4.0);
    w.note(
        "A computer the station ran on, and whose drives it sanitized, has its own certificate: \
         a row per computer (make and model as its firmware reports them, the asset tag on its \
         chassis, its system serial, the computer certificate's result and the day (UTC) it was \
         issued), then a row per drive it lists with that drive's serial, result and \
         certificate. The computer passes only when every drive passed; NO STORAGE FOUND: it \
         had no drive. Cert. id: the first 8 characters of the certificate id.",
    );
}

/// The assets destroyed physically: how, who witnessed it, when, who recorded it.
fn destroyed(w: &mut Writer, c: &ReportCustody) {
    w.section("Destroyed assets");
    let cols = [LEFT, LEFT + 80.0, LEFT + 215.0, LEFT + 335.0, LEFT + 420.0];
    w.table_header(
        &cols,
        &[
            "Asset tag",
            "Method",
            "Witness",
            "Destroyed (UTC)",
            "Recorded by",
        ],
    );
    for d in &c.destroyed {
        let at: String = d.at.replace('T', " ").chars().take(16).collect();
        w.table_row_cells(
            &cols,
            &[
                vec![Cell::Whole(d.asset_tag.clone())],
                vec![Cell::Words(d.method.clone())],
                vec![Cell::Words(d.witness.clone())],
                vec![Cell::Whole(at)],
                vec![Cell::Words(d.by.clone())],
            ],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certificate::page::{RIGHT, text_boxes};
    use crate::register::ReportLine;
    use crate::register::collection::Destruction;
    use crate::report::{LAYOUT, Organisation, ReportCustody, SCHEMA, Summary, Tool};
    use crate::verify::WipeResult;

    fn report(lines: Vec<ReportLine>, destroyed: Vec<Destruction>) -> CollectionReport {
        CollectionReport {
            schema: SCHEMA.into(),
            layout: Some(LAYOUT),
            id: "r".into(),
            issued_at: "2026-12-06T10:00:00Z".into(),
            tool: Tool {
                name: "wipeproof".into(),
                version: "0".into(),
            },
            organisation: Organisation {
                name: "Example Recycling".into(),
                address: String::new(),
            },
            station_id: "bay-1".into(),
            operator: "Ann".into(),
            customer: "Acme".into(),
            collection: "COL-1".into(),
            summary: Summary::default(),
            lines,
            key_id: "k".into(),
            custody: Some(ReportCustody {
                state: "received".into(),
                collected: None,
                received: None,
                assets: 1,
                received_count: 1,
                missing: vec![],
                extra: vec![],
                unaccounted: 0,
                destroyed,
            }),
            computers: vec![],
        }
    }

    fn line(serial: &str, make: &str, model: &str) -> ReportLine {
        ReportLine {
            asset_tag: "ACME-1".into(),
            asset_serial: "LAP-1".into(),
            asset_type: Some("laptop".into()),
            state: AssetState::Retired,
            drive_serial: Some(serial.into()),
            method: Some("zero".into()),
            level: Some(crate::erase::Level::Clear),
            result: Some(WipeResult::Incomplete),
            certificate_id: Some("984545da-aaf5-4a67-8c08-b78a41c1657a".into()),
            make: Some(make.into()),
            model: Some(model.into()),
            drive_model: Some("Samsung SSD 980 PRO 2TB with a very long model name".into()),
            wiped_at: Some("2026-12-05T23:59:59Z".into()),
        }
    }

    /// A laptop with two drives (one failed, with a very long serial) and a desktop with none.
    fn computers() -> Vec<ReportComputer> {
        use crate::certificate::computer::ComputerResult;
        use crate::register::ReportComputerDrive;
        let drive = |serial: &str, id: &str, result| ReportComputerDrive {
            serial: Some(serial.into()),
            model: Some("SAMSUNG MZVLB512HBJQ-000L7 with a long firmware model name".into()),
            certificate_id: id.into(),
            result,
        };
        vec![
            ReportComputer {
                asset_tag: "ACME-4".into(),
                manufacturer: Some("HP".into()),
                product: Some("HP EliteBook 840 G8 Notebook PC with an unusually long name".into()),
                serial: Some("5CG1234XYZ".into()),
                chassis_asset_tag: Some("ACME-LT-0042".into()),
                certificate_id: "77aa10c4-0000-4000-8000-000000000001".into(),
                result: ComputerResult::Fail,
                issued_at: "2026-12-06T08:00:00Z".into(),
                drives: vec![
                    drive("S4EVNF0M", "11aa10c4-0000", WipeResult::Pass),
                    drive(
                        &format!("WD-WX{}0042", "7".repeat(50)),
                        "22aa10c4-0000",
                        WipeResult::Fail,
                    ),
                ],
            },
            ReportComputer {
                asset_tag: "ACME-5".into(),
                manufacturer: None,
                product: None,
                serial: None,
                chassis_asset_tag: None,
                certificate_id: "88aa10c4-0000".into(),
                result: ComputerResult::NoStorageFound,
                issued_at: "2026-12-06T08:30:00Z".into(),
                drives: vec![],
            },
        ]
    }

    #[test]
    fn a_long_serial_stays_on_one_line_with_both_ends_and_nothing_overlaps() {
        let serial = format!("WD-WX{}9876", "1".repeat(60));
        let lines = vec![
            line(&serial, "Lenovo", "ThinkPad T14, Gen 2"),
            line(
                "S3Z9NB0K123456",
                "Hewlett-Packard-Enterprise-Corporation",
                "日本語のモデル名",
            ),
        ];
        let destroyed = vec![Destruction {
            asset_tag: "ACME-3".into(),
            method: "shredded to 6 mm at the customer's site".into(),
            witness: "B. Jones of Acme Insurance, compliance".into(),
            at: "2026-12-06T09:30:00Z".into(),
            by: "Ann".into(),
        }];
        let mut r = report(lines, destroyed);
        r.computers = computers();
        let pages = layout(&r, &"ab".repeat(32), "c2ln");
        let all = text_boxes(&pages);
        let texts: Vec<&str> = all.iter().map(|b| b.5.as_str()).collect();
        // The serial: one line, its start and end, the middle left out.
        let shown = texts
            .iter()
            .find(|t| t.starts_with("WD-WX1"))
            .expect("the serial is drawn");
        assert!(shown.ends_with("9876") && shown.contains("..."), "{shown}");
        assert!(texts.contains(&"S3Z9NB0K123456"), "{texts:?}");
        for want in [
            "2026-12-05",
            "laptop",
            "984545da",
            "INCOMPLETE",
            "Destroyed assets",
            "2026-12-06 09:30",
            "ACME-3",
            "Computers",
            "HP EliteBook 840 G8 Notebook",
            "make and model not reported",
            "chassis tag ACME-LT-0042",
            "5CG1234XYZ",
            "drive 1",
            "drive 2",
            "S4EVNF0M",
            "FAIL",
            "NO STORAGE",
            "77aa10c4",
        ] {
            assert!(texts.contains(&want), "{want} is not drawn: {texts:?}");
        }
        assert!(!texts.iter().any(|t| t.contains("HP HP")), "{texts:?}");
        // Words are whole or cut with "...", never split across lines.
        assert!(texts.contains(&"Lenovo ThinkPad"), "{texts:?}");
        assert!(
            texts
                .iter()
                .any(|t| t.starts_with("Hewlett") && t.ends_with("...")),
            "{texts:?}"
        );
        for (_, x1, x2, _, _, text) in &all {
            assert!(*x1 >= LEFT - 0.01 && *x2 <= RIGHT + 0.01, "{text} runs off");
        }
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                let overlap = a.0 == b.0 && a.1 < b.2 && b.1 < a.2 && a.3 < b.4 && b.3 < a.4;
                assert!(!overlap, "{:?} overlaps {:?}", a.5, b.5);
            }
        }
    }

    #[test]
    fn a_report_of_the_first_layout_is_drawn_as_it_was() {
        let mut r = report(vec![line("S3Z9NB0K123456", "Lenovo", "T14")], vec![]);
        r.layout = None;
        let texts = layout(&r, "00", "s")[0].texts().join("\n");
        assert!(texts.contains("Drive serial") && texts.contains("Certificate"));
        assert!(!texts.contains("Wiped") && !texts.contains("Destroyed assets"));
    }
}
