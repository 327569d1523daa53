//! The report's chain of custody: the pick-up (when, by whom, vehicle, seals, the count the
//! customer signed for), the receipt at goods-in (when, by whom, how many of how many), each
//! asset that did not arrive and how it was resolved, and what arrived unlisted. Signed with
//! the report; an asset still unaccounted for is said on the first page.

use serde::{Deserialize, Serialize};

use crate::certificate::page::{Colour, Font, LEFT, Writer};
use crate::register::collection::{CollectionState, CustodyRecord, Destruction, Step};

/// One step of the chain, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodyStep {
    pub at: String,
    pub by: String,
    pub station: String,
    /// What was recorded with it (vehicle, seals, count; the first scan).
    pub detail: String,
}

/// An asset on the manifest that goods-in did not receive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Discrepancy {
    pub asset_tag: String,
    pub serial: String,
    /// How it was resolved, in words, with who and when; `None`: unaccounted for.
    pub resolution: Option<String>,
}

/// The chain of custody of the report's collection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportCustody {
    /// booked, collected, received, reconciled or closed, when the report was issued.
    pub state: String,
    pub collected: Option<CustodyStep>,
    /// The first scan at goods-in.
    pub received: Option<CustodyStep>,
    pub assets: u64,
    pub received_count: u64,
    pub missing: Vec<Discrepancy>,
    /// What goods-in scanned that the manifest does not list.
    pub extra: Vec<String>,
    /// Missing assets nobody has resolved.
    pub unaccounted: u64,
    /// Assets destroyed physically: how, who witnessed it, when (absent from reports of the
    /// first layout).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destroyed: Vec<Destruction>,
}

fn step(
    steps: &[Step],
    which: CollectionState,
    detail: impl Fn(&Step) -> String,
) -> Option<CustodyStep> {
    steps.iter().find(|s| s.step == which).map(|s| CustodyStep {
        at: s.at.clone(),
        by: s.actor.clone(),
        station: s.station.clone(),
        detail: detail(s),
    })
}

impl ReportCustody {
    /// The chain as the register holds it.
    pub fn from_record(r: &CustodyRecord) -> ReportCustody {
        let collected = step(&r.view.steps, CollectionState::Collected, |s| {
            let d = &s.detail;
            let seals: Vec<&str> = d["seals"]
                .as_array()
                .map(|a| a.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default();
            let mut words = format!(
                "driver {}, vehicle {}",
                d["driver"].as_str().unwrap_or("-"),
                d["vehicle"].as_str().unwrap_or("-")
            );
            if !seals.is_empty() {
                words.push_str(&format!(", seals {}", seals.join(", ")));
            }
            if let Some(n) = d["count"].as_u64() {
                words.push_str(&format!(", {n} item(s) signed for"));
            }
            words
        });
        let received = step(&r.view.steps, CollectionState::Received, |s| {
            format!(
                "first scan {}",
                s.detail["first_scan"].as_str().unwrap_or("-")
            )
        });
        let missing = r
            .missing
            .iter()
            .map(|m| Discrepancy {
                asset_tag: m.asset_tag.clone(),
                serial: m.serial.clone(),
                resolution: m.resolution.as_ref().map(|res| {
                    format!(
                        "{} (by {} at {}{})",
                        res.reason.describe(),
                        res.by,
                        when(&res.at),
                        res.note
                            .as_deref()
                            .map(|n| format!(": {n}"))
                            .unwrap_or_default()
                    )
                }),
            })
            .collect();
        ReportCustody {
            state: r.view.state.as_str().into(),
            collected,
            received,
            assets: r.view.assets,
            received_count: r.view.received,
            missing,
            extra: r.extra.iter().map(|e| e.scanned.clone()).collect(),
            unaccounted: r.view.unaccounted,
            destroyed: r.destroyed.clone(),
        }
    }
}

fn when(at: &str) -> String {
    at.replace('T', " ").replace('Z', " UTC")
}

/// The warning under the report's heading while assets are unaccounted for.
pub fn warn(w: &mut Writer, c: &ReportCustody) {
    if c.unaccounted == 0 {
        return;
    }
    let tags: Vec<&str> = c
        .missing
        .iter()
        .filter(|m| m.resolution.is_none())
        .map(|m| m.asset_tag.as_str())
        .collect();
    w.down(6.0);
    w.text(
        LEFT,
        11.0,
        Font::Bold,
        Colour::Fail,
        &format!(
            "{} asset(s) of this collection are unaccounted for: never received, not resolved.",
            c.unaccounted
        ),
    );
    w.down(14.0);
    w.paragraph(
        &format!("Unaccounted for: {}.", tags.join(", ")),
        Font::Regular,
        9.0,
    );
}

/// The section "Chain of custody".
pub fn draw(w: &mut Writer, c: &ReportCustody) {
    w.section("Chain of custody");
    w.row("State", &c.state);
    w.row(
        "Collected",
        &match &c.collected {
            Some(s) => format!("{} by {} ({}): {}", when(&s.at), s.by, s.station, s.detail),
            None => "no pick-up recorded".into(),
        },
    );
    w.row(
        "Received",
        &match &c.received {
            Some(s) => format!(
                "{} of {} asset(s); goods-in from {} by {} ({})",
                c.received_count,
                c.assets,
                when(&s.at),
                s.by,
                s.station
            ),
            None => format!(
                "{} of {} asset(s); nothing scanned at goods-in",
                c.received_count, c.assets
            ),
        },
    );
    if c.missing.is_empty() {
        w.row("Missing", "none: every asset on the manifest was received");
    }
    for m in &c.missing {
        w.row(
            &format!("Missing {}", m.asset_tag),
            &format!(
                "serial {}: {}",
                m.serial,
                m.resolution.as_deref().unwrap_or("UNACCOUNTED FOR")
            ),
        );
    }
    w.row(
        "Extra",
        &if c.extra.is_empty() {
            "nothing scanned beyond the manifest".to_string()
        } else {
            format!("not on the manifest, received: {}", c.extra.join(", "))
        },
    );
}
