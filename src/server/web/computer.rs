//! A computer certificate on its page: the result, the computer as its firmware names it
//! (manufacturer, product, system serial, chassis asset tag), who certified it and when (the
//! facts every certificate page shows, `super::verify::facts`), and the drives it lists, each
//! linking to its own certificate's page where this register holds it.

use std::collections::HashSet;

use maud::{Markup, html};

use super::auth::path_segment;
use super::layout::badge;
use super::verify::{Made, facts};
use crate::certificate::computer::ComputerRecord;
use crate::device::inventory::make_and_model;

/// What the computer certificate says, as facts; the result is a plain word unless `verified`.
pub(super) fn computer_facts(r: &ComputerRecord, verified: bool) -> Markup {
    let made = Made {
        id: &r.id,
        result: r.result.words(),
        issued_at: &r.issued_at,
        performed_by: &r.performed_by,
        organisation: &r.organisation,
        asset_tags: &r.asset_tags,
        key_id: &r.key_id,
    };
    let system = &r.inventory.system;
    let chassis = &r.inventory.chassis;
    let passed = r
        .drives
        .iter()
        .filter(|d| d.result == crate::verify::WipeResult::Pass)
        .count();
    facts(
        &made,
        verified,
        html! {
            dt { "Computer" } dd {
                @match make_and_model(system.manufacturer.as_deref(), system.product.as_deref()) {
                    Some(m) => (m),
                    None => span.muted { "not named by its firmware" },
                }
                @if let Some(t) = &chassis.chassis_type { " " span.muted { "(" (t) ")" } }
            }
            dt { "System serial" } dd { (known(r.serial())) }
            dt { "Chassis asset tag" } dd { (known(chassis.asset_tag.as_deref())) }
            dt { "Drives" } dd {
                @if r.drives.is_empty() { "none found: nothing was sanitized" }
                @else { (r.drives.len()) " listed, " (passed) " passed" }
            }
            @if let Some(c) = &r.customer { dt { "Customer" } dd { (c) } }
            @if let Some(c) = &r.collection {
                dt { "Collection" } dd { a href={ "/collections/" (path_segment(c)) } { (c) } }
            }
        },
    )
}

/// A value the firmware may leave out, in monospace, or "not reported".
fn known(value: Option<&str>) -> Markup {
    html! {
        @match value {
            Some(v) => span.mono { (v) },
            None => span.muted { "not reported" },
        }
    }
}

/// The drives the certificate lists: serial, model, method, level, result, and its own
/// certificate, a link where the register holds it (`held`).
pub(super) fn computer_drives(r: &ComputerRecord, held: &HashSet<String>) -> Markup {
    html! {
        h2 { "Drives" }
        @if r.drives.is_empty() {
            p.muted { "The station found no drive in this computer." }
        } @else {
            div.scroll { table.cards {
                thead { tr { th { "Serial" } th { "Model" } th { "Method" } th { "Level" } th { "Result" } th { "Certificate" } } }
                tbody { @for d in &r.drives { tr {
                    td data-label="Serial" { (known(d.serial.as_deref())) }
                    td data-label="Model" { (d.model.as_deref().unwrap_or("")) }
                    td data-label="Method" { code { (d.method) } }
                    td data-label="Level" { (d.level.as_str()) }
                    td data-label="Result" { (badge(d.result.as_str())) }
                    td data-label="Certificate" {
                        @if held.contains(&d.certificate_id) {
                            a.mono href={ "/certificates/" (path_segment(&d.certificate_id)) } { (d.certificate_id) }
                        } @else {
                            span.mono { (d.certificate_id) } br;
                            span.muted { "not held by this register" }
                        }
                    }
                } } }
            } }
        }
    }
}
