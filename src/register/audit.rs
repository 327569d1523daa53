//! The register's audit: the rules that decide whether a register can be believed.
//!
//! Three checks, each independent of what the register merely states:
//!
//! * the custody log's hash chain ([`super::events`]);
//! * every asset's state, recomputed twice, from its custody log (the last `booked`,
//!   `received`, `state` or `destroyed` event) and from its drives' certificates (the rule the register
//!   applies when it stores one), and compared with the state the register holds: a state
//!   edited in the database matches neither;
//! * every station's certificate hash chain: each certificate names the one the station issued
//!   before it, so a missing certificate (gap), two certificates after the same one (fork), a
//!   link whose hash does not match, or a chain that starts twice under one key is found.
//!
//! * every certificate against what its station may get into the register (`super::trust`):
//!   dated before the station's enrolment or before its predecessor, or received after the
//!   station was revoked and outside the chain its revocation still accepts.
//!
//! This file holds the rules; the store gathers the rows (`sqlite::audit`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Serialize;

use super::AssetState;
use crate::certificate::record::ChainLink;

/// What an audit found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Audit {
    /// No problem at all.
    pub ok: bool,
    /// Events in the custody log.
    pub events: usize,
    /// Assets whose state was recomputed.
    pub assets: usize,
    /// Certificates whose record and chain were checked.
    pub certificates: usize,
    /// Whether the custody log's hash chain is intact.
    pub log_intact: bool,
    /// Each problem in words, the custody log's first.
    pub problems: Vec<String>,
    /// The assets a problem concerns (sorted, each once).
    pub problem_assets: Vec<String>,
}

/// One problem and the assets it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub message: String,
    pub asset_tags: Vec<String>,
}

impl Finding {
    pub fn new(message: String, asset_tags: impl IntoIterator<Item = String>) -> Finding {
        Finding {
            message,
            asset_tags: asset_tags.into_iter().collect(),
        }
    }
}

impl Audit {
    /// Combines the custody log's audit with the other findings.
    pub fn combine(
        log: super::events::Audit,
        assets: usize,
        certificates: usize,
        findings: Vec<Finding>,
    ) -> Audit {
        let mut problems = log.problems;
        let mut tags = BTreeSet::new();
        for f in findings {
            problems.push(f.message);
            tags.extend(f.asset_tags);
        }
        Audit {
            ok: problems.is_empty(),
            events: log.events,
            assets,
            certificates,
            log_intact: log.ok,
            problems,
            problem_assets: tags.into_iter().collect(),
        }
    }

    /// Why a report over `tags` cannot be signed: the custody log is broken, or a problem
    /// concerns one of these assets. Empty when it can.
    pub fn objections(&self, tags: &[String]) -> Vec<String> {
        let mut out = Vec::new();
        if !self.log_intact {
            out.push("the custody log's hash chain is broken".to_string());
        }
        for t in tags {
            if self.problem_assets.binary_search(t).is_ok() {
                out.push(format!("asset {t} fails the audit"));
            }
        }
        out
    }
}

/// The state an asset's certificates give it: destroyed if its destruction is recorded; else
/// failed if a drive's latest certificate failed; retired if its latest computer certificate
/// (`computer`, when the asset is a computer) passed, or if every known drive's latest
/// certificate passed; otherwise received (waiting for its drives), or expected while nothing
/// records its receipt.
pub fn state_from_results(
    destroyed: bool,
    received: bool,
    latest: &[Option<&str>],
    computer: Option<&str>,
) -> AssetState {
    if destroyed {
        AssetState::Destroyed
    } else if latest.contains(&Some("FAIL")) {
        AssetState::Failed
    } else if computer == Some("PASS")
        || (!latest.is_empty() && latest.iter().all(|r| *r == Some("PASS")))
    {
        AssetState::Retired
    } else if received {
        AssetState::Received
    } else {
        AssetState::Expected
    }
}

/// The state the custody log gives an asset after one more of its events, or `None` if the
/// event does not set a state (a certificate, a link, a resolution).
///
/// `booked` is an import of the manifest (expected); `received` its receipt, which names the
/// state it leaves the asset in (`to`) since a receipt after the asset was destroyed keeps
/// it destroyed; a receipt without `to` (written before the asset state `expected` existed)
/// means received.
pub fn state_after(kind: &str, detail: &serde_json::Value) -> Option<Result<AssetState, String>> {
    match kind {
        "booked" => Some(Ok(AssetState::Expected)),
        "received" => Some(match detail.get("to") {
            None => Ok(AssetState::Received),
            Some(to) => to
                .as_str()
                .and_then(AssetState::parse)
                .ok_or_else(|| format!("a receipt without a known state: {detail}")),
        }),
        "destroyed" => Some(Ok(AssetState::Destroyed)),
        "state" => Some(
            detail
                .get("to")
                .and_then(|v| v.as_str())
                .and_then(AssetState::parse)
                .ok_or_else(|| format!("a state event without a known state: {detail}")),
        ),
        _ => None,
    }
}

/// One asset as the audit sees it.
#[derive(Debug, Clone)]
pub struct AssetFacts {
    pub tag: String,
    /// What the register holds.
    pub stored: Option<AssetState>,
    /// The state its custody log ends in (`None`: no event sets one).
    pub logged: Option<Result<AssetState, String>>,
    /// The state its certificates give.
    pub from_certificates: AssetState,
}

/// Compares the three states of each asset.
pub fn check_states(assets: &[AssetFacts]) -> Vec<Finding> {
    let mut out = Vec::new();
    for a in assets {
        let tag = || vec![a.tag.clone()];
        let stored = match a.stored {
            Some(s) => s,
            None => {
                out.push(Finding::new(
                    format!("asset {}: its state is not one wipeproof writes", a.tag),
                    tag(),
                ));
                continue;
            }
        };
        let logged = match &a.logged {
            None => {
                out.push(Finding::new(
                    format!(
                        "asset {}: no custody event records how it came to be {}",
                        a.tag,
                        stored.as_str()
                    ),
                    tag(),
                ));
                continue;
            }
            Some(Err(why)) => {
                out.push(Finding::new(format!("asset {}: {why}", a.tag), tag()));
                continue;
            }
            Some(Ok(s)) => *s,
        };
        if stored != logged {
            out.push(Finding::new(
                format!(
                    "asset {}: the register says {} but its custody log says {}: the state was changed outside wipeproof",
                    a.tag,
                    stored.as_str(),
                    logged.as_str()
                ),
                tag(),
            ));
        } else if a.from_certificates != stored {
            out.push(Finding::new(
                format!(
                    "asset {}: the register and its custody log say {} but its drives' certificates give {}",
                    a.tag,
                    stored.as_str(),
                    a.from_certificates.as_str()
                ),
                tag(),
            ));
        }
    }
    out
}

/// One certificate in a station's hash chain.
#[derive(Debug, Clone)]
pub struct ChainEntry {
    pub id: String,
    pub station_id: String,
    /// The key that signed it: a chain starts once per key (a new state directory brings a new
    /// key and a new chain; a key replaced in place continues the old chain).
    pub key_id: String,
    pub record_sha256: String,
    pub previous: Option<ChainLink>,
    /// The asset it is linked to, if any.
    pub asset_tag: Option<String>,
    /// When the record says it was issued (the station's clock).
    pub issued_at: String,
    /// When the register received it (its own clock).
    pub received_at: String,
}

/// Checks the stations' certificate chains: gaps, forks, broken links and second starts.
pub fn check_chains(entries: &[ChainEntry]) -> Vec<Finding> {
    let by_id: HashMap<&str, &ChainEntry> = entries.iter().map(|e| (e.id.as_str(), e)).collect();
    let tags = |es: &[&ChainEntry]| -> Vec<String> {
        es.iter().filter_map(|e| e.asset_tag.clone()).collect()
    };
    let mut out = Vec::new();
    let mut successors: BTreeMap<&str, Vec<&ChainEntry>> = BTreeMap::new();
    let mut starts: BTreeMap<&str, Vec<&ChainEntry>> = BTreeMap::new();
    for e in entries {
        let Some(prev) = &e.previous else {
            starts.entry(e.key_id.as_str()).or_default().push(e);
            continue;
        };
        successors.entry(prev.id.as_str()).or_default().push(e);
        match by_id.get(prev.id.as_str()) {
            None => out.push(Finding::new(
                format!(
                    "certificate {} of station {} follows certificate {}, which this register does not hold: \
                     a certificate is missing from the chain (not synced yet, or removed)",
                    e.id, e.station_id, prev.id
                ),
                tags(&[e]),
            )),
            Some(p) if p.record_sha256 != prev.record_sha256 => out.push(Finding::new(
                format!(
                    "certificate {} of station {} names certificate {} with record hash {}, but the register holds it with {}",
                    e.id, e.station_id, prev.id, prev.record_sha256, p.record_sha256
                ),
                tags(&[e, p]),
            )),
            Some(_) => {}
        }
    }
    for (prev, next) in &successors {
        if next.len() > 1 {
            let ids: Vec<&str> = next.iter().map(|e| e.id.as_str()).collect();
            out.push(Finding::new(
                format!(
                    "the chain of station {} forks after certificate {prev}: {} all follow it",
                    next[0].station_id,
                    ids.join(", ")
                ),
                tags(next),
            ));
        }
    }
    for (key, first) in &starts {
        if first.len() > 1 {
            let ids: Vec<&str> = first.iter().map(|e| e.id.as_str()).collect();
            out.push(Finding::new(
                format!(
                    "the chain of station {} (key {key}) starts {} times ({}): it was restarted, or certificates before one of them are missing",
                    first[0].station_id,
                    first.len(),
                    ids.join(", ")
                ),
                tags(first),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, prev: Option<(&str, &str)>, tag: &str) -> ChainEntry {
        ChainEntry {
            id: id.into(),
            station_id: "bay-1".into(),
            key_id: "k1".into(),
            record_sha256: format!("h{id}"),
            previous: prev.map(|(p, h)| ChainLink {
                id: p.into(),
                record_sha256: h.into(),
            }),
            asset_tag: Some(tag.into()),
            issued_at: "2026-01-01T00:00:00Z".into(),
            received_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn an_intact_chain_has_no_findings() {
        let c = [
            entry("1", None, "A"),
            entry("2", Some(("1", "h1")), "B"),
            entry("3", Some(("2", "h2")), "C"),
        ];
        assert!(check_chains(&c).is_empty());
    }

    #[test]
    fn gaps_forks_bad_links_and_restarts_are_found() {
        let gap = [entry("1", None, "A"), entry("3", Some(("2", "h2")), "C")];
        let f = check_chains(&gap);
        assert!(f.len() == 1 && f[0].message.contains("missing"), "{f:?}");
        assert_eq!(f[0].asset_tags, vec!["C".to_string()]);
        let fork = [
            entry("1", None, "A"),
            entry("2", Some(("1", "h1")), "B"),
            entry("2b", Some(("1", "h1")), "X"),
        ];
        let f = check_chains(&fork);
        assert!(f.len() == 1 && f[0].message.contains("forks"), "{f:?}");
        let bad = [entry("1", None, "A"), entry("2", Some(("1", "hX")), "B")];
        assert!(check_chains(&bad)[0].message.contains("record hash"));
        let restart = [entry("1", None, "A"), entry("9", None, "Z")];
        assert!(check_chains(&restart)[0].message.contains("starts 2 times"));
        // A new key (a new state directory) starts its own chain.
        let mut rekeyed = entry("9", None, "Z");
        rekeyed.key_id = "k2".into();
        assert!(check_chains(&[entry("1", None, "A"), rekeyed]).is_empty());
    }

    #[test]
    fn states_are_compared_three_ways() {
        let facts = |stored, logged, certs| AssetFacts {
            tag: "A-1".into(),
            stored: Some(stored),
            logged: Some(Ok(logged)),
            from_certificates: certs,
        };
        use AssetState::*;
        assert!(check_states(&[facts(Retired, Retired, Retired)]).is_empty());
        let edited = check_states(&[facts(Retired, Received, Received)]);
        assert!(
            edited[0].message.contains("changed outside wipeproof"),
            "{edited:?}"
        );
        let forged_log = check_states(&[facts(Retired, Retired, Received)]);
        assert!(forged_log[0].message.contains("certificates give received"));
        assert_eq!(
            state_from_results(false, true, &[Some("PASS"), None], None),
            Received
        );
        assert_eq!(
            state_from_results(false, false, &[Some("PASS"), None], None),
            Expected
        );
        assert_eq!(state_from_results(false, false, &[], None), Expected);
        assert_eq!(
            state_from_results(false, true, &[Some("PASS"), Some("FAIL")], None),
            Failed
        );
        assert_eq!(
            state_from_results(false, true, &[Some("PASS")], None),
            Retired
        );
        assert_eq!(
            state_from_results(true, false, &[Some("FAIL")], None),
            Destroyed
        );
        // A computer's PASS certificate retires it, even with a drive not wiped on its own.
        assert_eq!(
            state_from_results(false, true, &[Some("PASS"), None], Some("PASS")),
            Retired
        );
        assert_eq!(state_from_results(false, true, &[], Some("PASS")), Retired);
        assert_eq!(
            state_from_results(false, true, &[], Some("NO_STORAGE_FOUND")),
            Received
        );
        assert_eq!(
            state_from_results(false, true, &[Some("FAIL")], Some("PASS")),
            Failed
        );
    }
}
