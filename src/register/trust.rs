//! What a station may still get into a central register, by rules that do not rest on the
//! station's clock (the holder of a station's key writes every date in its records):
//!
//! * a certificate may not be dated before the station was enrolled here (the register's own
//!   clock), nor before the certificate it names as its predecessor in the station's chain;
//! * after a station is revoked, nothing new of it is accepted, whatever date it bears, except
//!   its own chain up to the certificate the administrator named at revocation
//!   (`stations revoke NAME --accept-through CERT_ID`): that one, and walking back from it by
//!   the chain's links (id and record hash), the ones before it that arrived after the
//!   revocation. A copied key can sign new records, but not records the named certificate's
//!   chain already fixed.
//!
//! The store applies these rules when a certificate arrives (`store::admission`); the audit
//! applies them again to everything stored ([`check_trust`]).

use std::collections::{HashMap, HashSet};

use time::OffsetDateTime;

use super::StationView;
use super::audit::{ChainEntry, Finding};
use crate::certificate::record::ChainLink;

/// A stored certificate as the backlog walk sees it.
#[derive(Debug, Clone)]
pub struct Stored {
    /// When the register received it (its own clock).
    pub received_at: String,
    pub record_sha256: String,
    pub previous: Option<ChainLink>,
}

/// Where the walk back from the named certificate stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backlog {
    /// The named certificate is not stored yet: it must arrive first.
    Waiting,
    /// The chain from the named certificate back to what was stored before the revocation is
    /// complete: nothing more is accepted.
    Complete,
    /// The one certificate accepted next: the named one's chain names it and it is not stored.
    Next(ChainLink),
}

/// Walks back from `through` over the certificates `lookup` finds (stored ones), to the first
/// link not stored; one stored before `revoked_at` ends the walk.
pub fn backlog(
    through: &str,
    revoked_at: &str,
    lookup: &mut dyn FnMut(&str) -> Option<Stored>,
) -> Backlog {
    let Some(named) = lookup(through) else {
        return Backlog::Waiting;
    };
    let revoked = crate::timestamp::parse(revoked_at);
    let mut link = named.previous;
    // A chain cannot loop (each link names a hash of the one before), but a damaged register
    // must not hang the server: stop after a long walk.
    for _ in 0..1_000_000 {
        let Some(l) = link else {
            return Backlog::Complete;
        };
        match lookup(&l.id) {
            None => return Backlog::Next(l),
            Some(s) if s.record_sha256 != l.record_sha256 => return Backlog::Complete,
            Some(s) if before(&s.received_at, revoked) => return Backlog::Complete,
            Some(s) => link = s.previous,
        }
    }
    Backlog::Complete
}

fn after(at: &str, limit: Option<OffsetDateTime>) -> bool {
    match (crate::timestamp::parse(at), limit) {
        (Some(a), Some(l)) => a > l,
        _ => true,
    }
}

fn before(at: &str, limit: Option<OffsetDateTime>) -> bool {
    match (crate::timestamp::parse(at), limit) {
        (Some(a), Some(l)) => a < l,
        _ => false,
    }
}

/// Why a certificate dated `issued_at` cannot be true, if it cannot: dated before the station
/// was enrolled (`enrolled_at`), or before its predecessor (`previous_issued_at`).
pub fn misdated(
    id: &str,
    issued_at: &str,
    station: &StationView,
    previous: Option<(&str, &str)>,
) -> Option<String> {
    let Some(issued) = crate::timestamp::parse(issued_at) else {
        return Some(format!(
            "certificate {id} has no readable date ({issued_at:?})"
        ));
    };
    if before(issued_at, crate::timestamp::parse(&station.enrolled_at)) {
        return Some(format!(
            "certificate {id} is dated {issued_at}, before station {} ({}) was enrolled here at {}: \
             its clock was set back, or its key was used elsewhere; a station's certificates count \
             from its enrolment",
            station.name, station.key_id, station.enrolled_at
        ));
    }
    if let Some((prev_id, prev_at)) = previous
        && crate::timestamp::parse(prev_at).is_some_and(|p| issued < p)
    {
        return Some(format!(
            "certificate {id} is dated {issued_at}, earlier than certificate {prev_id} before it in \
             station {}'s chain ({prev_at}): its clock was set back",
            station.name
        ));
    }
    None
}

/// The audit's view of the same rules over every stored certificate.
pub fn check_trust(entries: &[ChainEntry], stations: &[StationView]) -> Vec<Finding> {
    let by_id: HashMap<&str, &ChainEntry> = entries.iter().map(|e| (e.id.as_str(), e)).collect();
    let by_key: HashMap<&str, &StationView> =
        stations.iter().map(|s| (s.key_id.as_str(), s)).collect();
    let accepted: HashMap<&str, HashSet<String>> = stations
        .iter()
        .filter_map(|s| Some((s.key_id.as_str(), accepted_backlog(s, &by_id)?)))
        .collect();
    let mut out = Vec::new();
    for e in entries {
        let Some(station) = by_key.get(e.key_id.as_str()) else {
            continue;
        };
        let tags = || e.asset_tag.clone().into_iter().collect::<Vec<_>>();
        let previous = e
            .previous
            .as_ref()
            .and_then(|l| by_id.get(l.id.as_str()))
            .map(|p| (p.id.as_str(), p.issued_at.as_str()));
        if let Some(why) = misdated(&e.id, &e.issued_at, station, previous) {
            out.push(Finding::new(why, tags()));
        }
        let Some(revoked_at) = &station.revoked_at else {
            continue;
        };
        // Whole seconds: one received in the revocation's own second was admitted before it
        // (the store refuses everything after, at the time).
        if !after(&e.received_at, crate::timestamp::parse(revoked_at)) {
            continue;
        }
        let allowed = accepted
            .get(e.key_id.as_str())
            .is_some_and(|set| set.contains(&e.id));
        if !allowed {
            out.push(Finding::new(
                format!(
                    "certificate {} of station {} was received at {}, after the station was revoked \
                     at {revoked_at}, and is not in its chain up to {}",
                    e.id,
                    station.name,
                    e.received_at,
                    station.accept_through.as_deref().unwrap_or("(none named)")
                ),
                tags(),
            ));
        }
    }
    out
}

/// The certificates of a revoked station's accepted backlog that are stored.
fn accepted_backlog(
    station: &StationView,
    by_id: &HashMap<&str, &ChainEntry>,
) -> Option<HashSet<String>> {
    let through = station.accept_through.as_deref()?;
    let revoked = crate::timestamp::parse(station.revoked_at.as_deref()?);
    let mut set = HashSet::new();
    let named = by_id.get(through).filter(|e| e.key_id == station.key_id)?;
    set.insert(named.id.clone());
    let mut link = named.previous.clone();
    while let Some(l) = link {
        match by_id.get(l.id.as_str()) {
            Some(e)
                if e.record_sha256 == l.record_sha256
                    && !before(&e.received_at, revoked)
                    && set.insert(e.id.clone()) =>
            {
                link = e.previous.clone();
            }
            _ => break,
        }
    }
    Some(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn station(revoked: Option<&str>, through: Option<&str>) -> StationView {
        StationView {
            earlier_names: Vec::new(),
            key_id: "k1".into(),
            name: "bay-3".into(),
            enrolled_at: "2026-01-01T00:00:00Z".into(),
            revoked_at: revoked.map(str::to_string),
            accept_through: through.map(str::to_string),
            public_key_pem: String::new(),
        }
    }

    fn entry(id: &str, prev: Option<&str>, issued: &str, received: &str) -> ChainEntry {
        ChainEntry {
            id: id.into(),
            station_id: "bay-3".into(),
            key_id: "k1".into(),
            record_sha256: format!("h{id}"),
            previous: prev.map(|p| ChainLink {
                id: p.into(),
                record_sha256: format!("h{p}"),
            }),
            asset_tag: None,
            issued_at: issued.into(),
            received_at: received.into(),
        }
    }

    #[test]
    fn a_date_before_enrolment_or_before_the_predecessor_is_misdated() {
        let s = station(None, None);
        let why = misdated("c", "2025-06-01T00:00:00Z", &s, None).unwrap();
        assert!(why.contains("before station bay-3"), "{why}");
        let why = misdated(
            "c",
            "2026-02-01T00:00:00Z",
            &s,
            Some(("b", "2026-03-01T00:00:00Z")),
        )
        .unwrap();
        assert!(why.contains("earlier than certificate b"), "{why}");
        assert!(
            misdated(
                "c",
                "2026-03-01T00:00:00Z",
                &s,
                Some(("b", "2026-03-01T00:00:00Z"))
            )
            .is_none()
        );
    }

    #[test]
    fn the_backlog_is_walked_back_from_the_named_certificate() {
        let stored: HashMap<&str, Stored> = [
            ("a", None, "2026-05-01T00:00:00Z"),
            ("d", Some("c"), "2026-06-02T00:00:00Z"),
        ]
        .into_iter()
        .map(|(id, prev, at)| {
            (
                id,
                Stored {
                    received_at: at.into(),
                    record_sha256: format!("h{id}"),
                    previous: prev.map(|p: &str| ChainLink {
                        id: p.into(),
                        record_sha256: format!("h{p}"),
                    }),
                },
            )
        })
        .collect();
        let mut lookup = |id: &str| stored.get(id).cloned();
        let revoked = "2026-06-01T00:00:00Z";
        assert_eq!(backlog("x", revoked, &mut lookup), Backlog::Waiting);
        match backlog("d", revoked, &mut lookup) {
            Backlog::Next(l) => assert_eq!(l.id, "c"),
            other => panic!("{other:?}"),
        }
        assert_eq!(backlog("a", revoked, &mut lookup), Backlog::Complete);
    }

    #[test]
    fn the_audit_flags_what_came_after_revocation_outside_the_backlog() {
        let revoked = "2026-06-01T00:00:00Z";
        let entries = [
            entry("a", None, "2026-05-01T00:00:00Z", "2026-05-01T00:00:00Z"),
            entry(
                "b",
                Some("a"),
                "2026-05-02T00:00:00Z",
                "2026-06-02T00:00:00Z",
            ),
            entry(
                "c",
                Some("b"),
                "2026-05-03T00:00:00Z",
                "2026-06-02T00:00:00Z",
            ),
            entry(
                "e",
                Some("a"),
                "2025-01-01T00:00:00Z",
                "2026-06-03T00:00:00Z",
            ),
        ];
        let f = check_trust(&entries, &[station(Some(revoked), Some("c"))]);
        let text: Vec<&str> = f.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(f.len(), 2, "{text:?}");
        assert!(text.iter().any(|m| m.contains("certificate e is dated")));
        assert!(text.iter().any(|m| m.contains("certificate e of station")));
        // Without a named certificate, everything received after revocation is flagged.
        let f = check_trust(&entries, &[station(Some(revoked), None)]);
        assert_eq!(f.len(), 4);
    }
}
