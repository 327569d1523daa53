//! The report's pages, drawn from the signed report alone (verification redraws them).
//!
//! A drive's wipe result (PASS, FAIL, INCOMPLETE, or "not wiped") and its asset's state
//! (received, retired, failed, destroyed) are separate columns; the certificate column shows
//! the first 8 characters of the certificate id, as in the certificate's file name.

use super::CollectionReport;
use crate::certificate::page::{Colour, Font, LEFT, Page, Writer};
use crate::register::AssetState;

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
