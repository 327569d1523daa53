//! Whether a certificate a station sends may enter the central register, by the rules of
//! `register::trust`: not dated before the station's enrolment or its predecessor, and after a
//! revocation only the station's chain up to the certificate named at revocation. Drive and
//! computer certificates share the station's chain, so each is looked up in both tables.

use crate::register::db::{Db, params};

use super::signed::Kind;
use super::{db, views};
use crate::certificate::record::ChainLink;
use crate::register::trust::{Backlog, Stored, backlog, misdated};
use crate::register::*;

/// Refuses `r` (whose record hash is `sha`) if the station that signed it may not get it into
/// the register; a certificate already stored passes (storing it again changes nothing). A
/// computer certificate sits in the station's chain beside the drives' certificates: the same
/// rules.
pub(super) fn admit<K: Kind>(tx: &dyn Db, p: &str, r: &K, sha: &str) -> Result<(), RegisterError> {
    if stored(tx, p, r.id())?.is_some() {
        return Ok(());
    }
    check_identifiers(r)?;
    admit_dated(tx, p, r, sha)
}

/// The dating and revocation rules of `register::trust` for `r`.
fn admit_dated<K: Kind>(tx: &dyn Db, p: &str, r: &K, sha: &str) -> Result<(), RegisterError> {
    let Some(station) = views::stations(tx, p)?
        .into_iter()
        .find(|s| s.key_id == r.key_id())
    else {
        return Ok(());
    };
    let previous = match r.previous() {
        Some(l) => stored(tx, p, &l.id)?
            .filter(|row| row.key_id == r.key_id())
            .map(|row| (l.id.clone(), row.issued_at)),
        None => None,
    };
    let previous = previous.as_ref().map(|(i, a)| (i.as_str(), a.as_str()));
    if let Some(why) = misdated(r.id(), r.issued_at(), &station, previous) {
        return Err(RegisterError::BadCertificate(format!(
            "{why}; it is refused"
        )));
    }
    let Some(revoked_at) = &station.revoked_at else {
        return Ok(());
    };
    let who = format!(
        "station {} ({}) was revoked at {revoked_at}",
        station.name, station.key_id
    );
    let Some(through) = &station.accept_through else {
        return Err(RegisterError::Revoked(format!(
            "certificate {} is refused: {who}, and nothing new of it is accepted, whatever date \
             it bears (the register administrator can revoke it again naming the last genuine \
             certificate: `wipeproof stations revoke NAME --accept-through CERT_ID`)",
            r.id()
        )));
    };
    if r.id() == through {
        return Ok(());
    }
    let mut lookup = |id: &str| -> Option<Stored> {
        let row = stored(tx, p, id).ok()??;
        // Drive and computer certificates alike: the signature block and the chain link.
        let doc: serde_json::Value = serde_json::from_str(&row.document).ok()?;
        let record_sha256 = doc
            .pointer("/signature/record_sha256")?
            .as_str()?
            .to_string();
        let previous: Option<ChainLink> = match doc.pointer("/record/previous") {
            None | Some(serde_json::Value::Null) => None,
            Some(v) => Some(serde_json::from_value(v.clone()).ok()?),
        };
        (row.key_id == station.key_id).then_some(Stored {
            received_at: row.received_at,
            record_sha256,
            previous,
        })
    };
    match backlog(through, revoked_at, &mut lookup) {
        Backlog::Next(l) if l.id == r.id() && l.record_sha256 == sha => Ok(()),
        Backlog::Waiting => Err(RegisterError::NotYet(format!(
            "certificate {} is accepted only as part of the chain up to certificate {through}: \
             {who}; send {through} first (a sync sends it again afterwards)",
            r.id()
        ))),
        _ => Err(RegisterError::Revoked(format!(
            "certificate {} is refused: {who}, and it is not in the station's chain up to \
             certificate {through}, the last one still accepted",
            r.id()
        ))),
    }
}

/// Refuses a record whose identifiers hold characters that make them look like others
/// (`crate::identifier`, the rule a manifest's are checked by): its own first, then those
/// every record has, then its own last ones, then its asset tags.
fn check_identifiers<K: Kind>(r: &K) -> Result<(), RegisterError> {
    let [first, last] = r.own_identifiers();
    let (customer, collection, asset_tags) = r.parties();
    let by = r.performed_by();
    let shared = [
        ("customer", customer),
        ("collection", collection),
        ("performed_by.operator", Some(by.operator.as_str())),
        ("performed_by.station_id", Some(by.station_id.as_str())),
        ("organisation.name", Some(r.author())),
    ];
    let named = first
        .into_iter()
        .chain(shared)
        .chain(last)
        .chain(asset_tags.iter().map(|t| ("asset_tags", Some(t.as_str()))));
    check_named(r.id(), named)
}

/// Refuses the certificate `id` if one of its `named` identifiers has such characters.
fn check_named<'a>(
    id: &str,
    named: impl IntoIterator<Item = (&'static str, Option<&'a str>)>,
) -> Result<(), RegisterError> {
    for (field, value) in named {
        if let Some(v) = value
            && let Some(why) = crate::identifier::problem(v)
        {
            return Err(RegisterError::BadCertificate(format!(
                "certificate {id}: its {field} {v:?} {why}; it is refused"
            )));
        }
    }
    Ok(())
}

/// A stored certificate: its key, issue date, arrival and document.
struct Row {
    key_id: String,
    issued_at: String,
    received_at: String,
    document: String,
}

fn stored(tx: &dyn Db, p: &str, id: &str) -> Result<Option<Row>, RegisterError> {
    tx.query_opt(
        "SELECT key_id, issued_at, received_at, document FROM certificates WHERE id = ?1
         UNION ALL
         SELECT key_id, issued_at, received_at, document FROM computer_certificates WHERE id = ?1
         LIMIT 1",
        params![id],
        |r| {
            Ok(Row {
                key_id: r.get(0)?,
                issued_at: r.get(1)?,
                received_at: r.get(2)?,
                document: r.get(3)?,
            })
        },
    )
    .map_err(db(p))
}
