//! Sending a station's certificates and custody events to the central register.
//!
//! Every certificate enters the outbox in the same transaction that stores it, and every custody
//! event the central register must know (a destruction, a certificate linked by hand) enters
//! the event outbox in the transaction that records it. `sync` sends what is pending, one per
//! request: certificates first (an event may name one), then events, each signed with the
//! station's key as it is sent. Both are keyed by id, so sending twice stores once. Network
//! failures are retried with backoff; something the register refuses stays pending with the
//! reason; a different certificate or event already stored under the same id (409) is a
//! conflict the station reports loudly. A station the register does not know is told so at once.
//!
//! A station renamed in its settings (`station.id`) still has certificates and events issued
//! under its earlier name: before anything else, `sync` sends the register a rename signed
//! with the station's key (earlier name, present name), so the register knows the key answers
//! to both; each certificate keeps the name it was issued under.
//!
//! A station enrolled on a register with a CA fetches its PDF signing certificate there
//! ([`issued`]).
//!
//! The register's side of this exchange is `crate::server::api`; [`tls`] holds the roots a
//! station trusts for an `https://` register.

use std::collections::HashMap;
use std::time::Duration;

use serde::Serialize;

pub mod issued;
pub mod tls;

use crate::certificate::keys::StationKey;
use crate::register::{OutboxItem, Register, RegisterError};
use tls::{StationTrust, certificate_error};

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub struct SyncOptions {
    /// Attempts per certificate on network or server errors.
    pub attempts: u32,
    /// First wait between attempts; doubled each time.
    pub backoff: Duration,
    /// Time allowed for one request.
    pub timeout: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            attempts: 4,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(30),
        }
    }
}

/// What a sync did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    /// Certificates stored by the register now.
    pub sent: Vec<String>,
    /// Certificates the register had already, the same (an earlier sync got through but did
    /// not hear back).
    pub already: Vec<String>,
    /// Custody events stored by the register now, or had already.
    pub events_sent: Vec<String>,
    /// Certificates and events still pending, with the reason.
    pub unsent: Vec<(String, String)>,
    /// Ids under which the register holds something different (also in `unsent`).
    pub conflicts: Vec<(String, String)>,
    /// Set when the register refused this station outright.
    pub refused: Option<String>,
    /// Earlier names of this station the register now knows its key by (`earlier -> present`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub renamed: Vec<String>,
}

impl SyncReport {
    pub fn complete(&self) -> bool {
        self.unsent.is_empty() && self.refused.is_none()
    }
}

/// How one attempt ended.
enum Attempt {
    Stored,
    Already,
    /// The register holds something different under this id, or something it contradicts
    /// (409).
    Conflict(String),
    /// The register will never take it as it is (4xx).
    Rejected(String),
    /// This station is not enrolled, or revoked (403).
    Refused(String),
    /// Worth trying again (network, 5xx).
    Retry(String),
    /// Part of a revoked station's accepted backlog, taken only after a later certificate of
    /// its chain (425).
    Later(String),
    /// The register's TLS certificate does not verify: trying again cannot help.
    Untrusted(String),
}

/// One thing to send.
struct Outgoing {
    id: String,
    /// What it is, for messages: "certificate" or "custody event".
    what: &'static str,
    endpoint: String,
    document: Result<String, String>,
    certificate: bool,
}

/// Sends pending certificates, then pending custody events (signed with `key`), to the
/// register at `url` (e.g. `https://10.0.0.5:7070`), trusting `trust` for an `https://` one
/// (the client's built-in roots if `None`).
pub fn sync(
    register: &mut dyn Register,
    url: &str,
    (station, key): (&str, Option<&StationKey>),
    trust: Option<&StationTrust>,
    opts: SyncOptions,
) -> Result<SyncReport, RegisterError> {
    let mut config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(opts.timeout));
    if let Some(trust) = trust {
        config = config.tls_config(trust.client_config());
    }
    let agent: ureq::Agent = config.build().into();
    let base = url.trim_end_matches('/');
    let pending = register.pending()?;
    let pending_events = register.pending_events()?;
    let mut report = SyncReport::default();
    let mut unreachable: Option<String> = None;
    for earlier in earlier_names(&pending, &pending_events, station) {
        let sent = send_rename(&agent, base, (&earlier, station), key, opts);
        match sent {
            Ok(()) => report.renamed.push(format!("{earlier} -> {station}")),
            Err((why, network)) => {
                if network {
                    unreachable = Some(why.clone());
                }
                report.unsent.push((format!("station name {earlier}"), why));
            }
        }
    }
    let mut outgoing: Vec<Outgoing> = in_chain_order(pending)
        .into_iter()
        .map(|item| Outgoing {
            id: item.certificate_id,
            what: "certificate",
            endpoint: format!("{base}/api/v1/certificates"),
            document: Ok(item.document),
            certificate: true,
        })
        .collect();
    for item in pending_events {
        let id = item.event.id.clone();
        let document = match key {
            None => Err(
                "this station has no signing key to sign it with; run `wipeproof keys init`"
                    .to_string(),
            ),
            Some(k) => item
                .event
                .sign(k)
                .map_err(|e| e.to_string())
                .and_then(|s| serde_json::to_string(&s).map_err(|e| e.to_string())),
        };
        outgoing.push(Outgoing {
            id,
            what: "custody event",
            endpoint: format!("{base}/api/v1/events"),
            document,
            certificate: false,
        });
    }

    let mut later: Vec<(Outgoing, String)> = Vec::new();
    for item in outgoing {
        let outcome = if let Some(why) = &report.refused {
            Attempt::Refused(why.clone())
        } else {
            attempt(&agent, base, &item, unreachable.as_deref(), opts)
        };
        match outcome {
            Attempt::Later(why) => later.push((item, why)),
            outcome => settle(register, &mut report, &mut unreachable, item, outcome)?,
        }
    }
    // A revoked station's backlog is taken newest first (the register walks back from the
    // certificate named at revocation): send what waited again, newest first, while it helps.
    loop {
        let waiting = later.len();
        let mut still = Vec::new();
        for (item, why) in later.into_iter().rev() {
            match attempt(&agent, base, &item, unreachable.as_deref(), opts) {
                Attempt::Later(_) => still.push((item, why)),
                outcome => settle(register, &mut report, &mut unreachable, item, outcome)?,
            }
        }
        still.reverse();
        later = still;
        if later.is_empty() || later.len() == waiting {
            break;
        }
    }
    for (item, why) in later {
        settle(
            register,
            &mut report,
            &mut unreachable,
            item,
            Attempt::Rejected(why),
        )?;
    }
    Ok(report)
}

/// The station names, other than `station`, that pending certificates and events were issued
/// under, in the order first met.
fn earlier_names(
    certificates: &[OutboxItem],
    events: &[crate::register::EventOutboxItem],
    station: &str,
) -> Vec<String> {
    let issued_as = certificates
        .iter()
        .filter_map(|item| {
            serde_json::from_str::<serde_json::Value>(&item.document)
                .ok()?
                .pointer("/record/performed_by/station_id")?
                .as_str()
                .map(str::to_string)
        })
        .chain(events.iter().map(|item| item.event.station_id.clone()));
    let mut names: Vec<String> = Vec::new();
    for name in issued_as {
        if name != station && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// Tells the register that this station's key signed as `earlier` and signs as `present`
/// now. The reason it failed otherwise, and whether the register could not be reached.
fn send_rename(
    agent: &ureq::Agent,
    base: &str,
    (earlier, present): (&str, &str),
    key: Option<&StationKey>,
    opts: SyncOptions,
) -> Result<(), (String, bool)> {
    use crate::register::station_event::{Action, StationEvent};
    let Some(key) = key else {
        return Err((
            format!(
                "certificates issued as {earlier} wait: this station has no signing key to sign \
                 its rename to {present} with; run `wipeproof keys init`"
            ),
            false,
        ));
    };
    let rename = StationEvent::new(
        present,
        "",
        "",
        Action::Renamed {
            from: earlier.into(),
        },
    );
    let document = rename
        .sign(key)
        .map_err(|e| e.to_string())
        .and_then(|s| serde_json::to_string(&s).map_err(|e| e.to_string()))
        .map_err(|why| (why, false))?;
    let endpoint = format!("{base}/api/v1/stations/rename");
    match send_with_retries(agent, base, &endpoint, &document, opts) {
        Attempt::Stored | Attempt::Already => Ok(()),
        Attempt::Retry(why) | Attempt::Untrusted(why) => Err((why, true)),
        Attempt::Conflict(why)
        | Attempt::Rejected(why)
        | Attempt::Refused(why)
        | Attempt::Later(why) => Err((
            format!(
                "the register did not take this station's rename from {earlier} to {present}: {why}"
            ),
            false,
        )),
    }
}

/// Sends `item` unless the register is known to be unreachable.
fn attempt(
    agent: &ureq::Agent,
    base: &str,
    item: &Outgoing,
    unreachable: Option<&str>,
    opts: SyncOptions,
) -> Attempt {
    if let Some(why) = unreachable {
        return Attempt::Retry(why.to_string());
    }
    match &item.document {
        Err(why) => Attempt::Rejected(why.clone()),
        Ok(doc) => send_with_retries(agent, base, &item.endpoint, doc, opts),
    }
}

/// Records in the outbox and the report how sending `item` ended.
fn settle(
    register: &mut dyn Register,
    report: &mut SyncReport,
    unreachable: &mut Option<String>,
    item: Outgoing,
    outcome: Attempt,
) -> Result<(), RegisterError> {
    let mark_failed = |register: &mut dyn Register, why: &str| {
        if item.certificate {
            register.mark_failed(&item.id, why)
        } else {
            register.mark_event_failed(&item.id, why)
        }
    };
    match outcome {
        Attempt::Stored | Attempt::Already => {
            if item.certificate {
                register.mark_sent(&item.id)?;
                if matches!(outcome, Attempt::Stored) {
                    report.sent.push(item.id);
                } else {
                    report.already.push(item.id);
                }
            } else {
                register.mark_event_sent(&item.id)?;
                report.events_sent.push(item.id);
            }
        }
        Attempt::Conflict(why) => {
            let why = format!(
                "{} {}: {why}; it stays unsent until the register's copy is resolved",
                item.what, item.id
            );
            mark_failed(register, &why)?;
            report.conflicts.push((item.id.clone(), why.clone()));
            report.unsent.push((item.id, why));
        }
        Attempt::Rejected(why) | Attempt::Later(why) => {
            mark_failed(register, &why)?;
            report.unsent.push((item.id, why));
        }
        Attempt::Refused(why) => {
            mark_failed(register, &why)?;
            report.unsent.push((item.id, why.clone()));
            report.refused = Some(why);
        }
        Attempt::Retry(why) | Attempt::Untrusted(why) => {
            mark_failed(register, &why)?;
            report.unsent.push((item.id, why.clone()));
            // The register is down or unreachable: do not wait on every other one too.
            *unreachable = Some(why);
        }
    }
    Ok(())
}

/// Orders certificates so that each comes after the one its record names as previous (the
/// station's hash chain), whatever order they entered the outbox in (parallel wipes record in
/// the order they finish): a sync cut off halfway then leaves the central register a gapless
/// start of the chain.
fn in_chain_order(items: Vec<OutboxItem>) -> Vec<OutboxItem> {
    let previous_of = |item: &OutboxItem| -> Option<String> {
        serde_json::from_str::<serde_json::Value>(&item.document)
            .ok()?
            .pointer("/record/previous/id")?
            .as_str()
            .map(str::to_string)
    };
    let previous: Vec<Option<String>> = items.iter().map(previous_of).collect();
    let index: HashMap<&str, usize> = items
        .iter()
        .enumerate()
        .map(|(i, item)| (item.certificate_id.as_str(), i))
        .collect();
    let mut next: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut starts = Vec::new();
    for (i, p) in previous.iter().enumerate() {
        match p.as_deref().and_then(|p| index.get(p)) {
            Some(&before) => next.entry(before).or_default().push(i),
            None => starts.push(i),
        }
    }
    let mut order = Vec::with_capacity(items.len());
    let mut placed = vec![false; items.len()];
    let mut stack: Vec<usize> = starts.into_iter().rev().collect();
    while let Some(i) = stack.pop() {
        if std::mem::replace(&mut placed[i], true) {
            continue;
        }
        order.push(i);
        if let Some(after) = next.get(&i) {
            stack.extend(after.iter().rev());
        }
    }
    // A cycle cannot come from real certificates; keep whatever is left in its old order.
    order.extend((0..items.len()).filter(|&i| !placed[i]));
    let mut slots: Vec<Option<OutboxItem>> = items.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

fn send_with_retries(
    agent: &ureq::Agent,
    register: &str,
    endpoint: &str,
    document: &str,
    opts: SyncOptions,
) -> Attempt {
    let mut wait = opts.backoff;
    let mut outcome = Attempt::Retry("not tried".into());
    for attempt in 1..=opts.attempts.max(1) {
        outcome = send_one(agent, register, endpoint, document);
        match &outcome {
            Attempt::Retry(_) if attempt < opts.attempts => {
                std::thread::sleep(wait);
                wait = wait.saturating_mul(2);
            }
            _ => break,
        }
    }
    outcome
}

fn send_one(agent: &ureq::Agent, register: &str, endpoint: &str, document: &str) -> Attempt {
    let response = agent
        .post(endpoint)
        .header("Content-Type", "application/json")
        .send(document.as_bytes());
    let mut response = match response {
        Ok(r) => r,
        Err(e) => {
            return match certificate_error(&e) {
                Some(why) => Attempt::Untrusted(untrusted_message(register, why)),
                None => Attempt::Retry(format!("cannot reach the register at {endpoint}: {e}")),
            };
        }
    };
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    let message = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_else(|| body.chars().take(300).collect());
    match status {
        201 => Attempt::Stored,
        200 => Attempt::Already,
        409 => Attempt::Conflict(format!(
            "the register's records conflict with it: {message}"
        )),
        403 => Attempt::Refused(format!("the register refused this station: {message}")),
        425 => Attempt::Later(format!("the register takes it later: {message}")),
        400..=499 => Attempt::Rejected(format!("the register rejected it ({status}): {message}")),
        _ => Attempt::Retry(format!("the register answered {status}: {message}")),
    }
}

/// What to do about a register certificate that does not verify.
fn untrusted_message(register: &str, why: &rustls::CertificateError) -> String {
    let advice = match why {
        rustls::CertificateError::UnknownIssuer => {
            "if the register's certificate comes from your own CA, set `ca_file` under [sync] \
             in wipeproof.toml (or pass --ca-file) to that CA's certificate (PEM)"
        }
        rustls::CertificateError::NotValidForName
        | rustls::CertificateError::NotValidForNameContext { .. } => {
            "the register's certificate must name the host of the URL (a DNS name or IP \
             address in its subjectAltName); sync to that name, or reissue the certificate"
        }
        _ => {
            "the register's certificate must be valid now and issued by a CA this station \
             trusts: the system's, or the one set as `ca_file` under [sync] in wipeproof.toml"
        }
    };
    format!(
        "the register at {register} presented a TLS certificate that does not verify ({why}); {advice}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, previous: Option<&str>) -> OutboxItem {
        let previous = previous.map(|p| serde_json::json!({ "id": p, "record_sha256": "x" }));
        OutboxItem {
            certificate_id: id.into(),
            document: serde_json::json!({ "record": { "id": id, "previous": previous } })
                .to_string(),
            attempts: 0,
            last_error: None,
        }
    }

    #[test]
    fn certificates_are_sent_in_chain_order() {
        // Recorded as they finished: 3, 1, 4, 2 (2 follows 1, 3 follows 2, 4 follows 3); "x"
        // follows a certificate sent earlier.
        let items = vec![
            item("3", Some("2")),
            item("x", Some("sent-before")),
            item("1", None),
            item("4", Some("3")),
            item("2", Some("1")),
        ];
        let ids: Vec<String> = in_chain_order(items)
            .into_iter()
            .map(|i| i.certificate_id)
            .collect();
        assert_eq!(ids, ["x", "1", "2", "3", "4"]);
    }
}
