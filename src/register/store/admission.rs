//! Whether a certificate a station sends may enter the central register, by the rules of
//! `register::trust`: not dated before the station's enrolment or its predecessor, and after a
//! revocation only the station's chain up to the certificate named at revocation.

use crate::register::db::{Db, params};

use super::{db, views};
use crate::certificate::issue::SignedCertificate;
use crate::certificate::record::Record;
use crate::register::trust::{Backlog, Stored, backlog, misdated};
use crate::register::*;

/// Refuses `r` (whose record hash is `sha`) if the station that signed it may not get it into
/// the register; a certificate already stored passes (storing it again changes nothing).
pub(super) fn admit_certificate(
    tx: &dyn Db,
    p: &str,
    r: &Record,
    sha: &str,
) -> Result<(), RegisterError> {
    if stored(tx, p, &r.id)?.is_some() {
        return Ok(());
    }
    check_identifiers(r)?;
    let Some(station) = views::stations(tx, p)?
        .into_iter()
        .find(|s| s.key_id == r.key_id)
    else {
        return Ok(());
    };
    let previous = match &r.previous {
        Some(l) => stored(tx, p, &l.id)?
            .filter(|row| row.key_id == r.key_id)
            .map(|row| (l.id.clone(), row.issued_at)),
        None => None,
    };
    let previous = previous.as_ref().map(|(i, a)| (i.as_str(), a.as_str()));
    if let Some(why) = misdated(&r.id, &r.issued_at, &station, previous) {
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
            r.id
        )));
    };
    if r.id == *through {
        return Ok(());
    }
    let mut lookup = |id: &str| -> Option<Stored> {
        let row = stored(tx, p, id).ok()??;
        let cert: SignedCertificate = serde_json::from_str(&row.document).ok()?;
        (row.key_id == station.key_id).then(|| Stored {
            received_at: row.received_at,
            record_sha256: cert.signature.record_sha256.clone(),
            previous: cert.record.previous,
        })
    };
    match backlog(through, revoked_at, &mut lookup) {
        Backlog::Next(l) if l.id == r.id && l.record_sha256 == sha => Ok(()),
        Backlog::Waiting => Err(RegisterError::NotYet(format!(
            "certificate {} is accepted only as part of the chain up to certificate {through}: \
             {who}; send {through} first (a sync sends it again afterwards)",
            r.id
        ))),
        _ => Err(RegisterError::Revoked(format!(
            "certificate {} is refused: {who}, and it is not in the station's chain up to \
             certificate {through}, the last one still accepted",
            r.id
        ))),
    }
}

/// Refuses a record whose identifiers hold characters that make them look like others
/// (`crate::identifier`, the rule a manifest's are checked by).
fn check_identifiers(r: &Record) -> Result<(), RegisterError> {
    let m = &r.media;
    let named = [
        ("media.serial", m.serial.as_deref()),
        ("media.model", m.model.as_deref()),
        ("media.manufacturer", m.manufacturer.as_deref()),
        ("customer", r.customer.as_deref()),
        ("collection", r.collection.as_deref()),
        (
            "performed_by.operator",
            Some(r.performed_by.operator.as_str()),
        ),
        (
            "performed_by.station_id",
            Some(r.performed_by.station_id.as_str()),
        ),
        ("organisation.name", Some(r.organisation.name.as_str())),
    ]
    .into_iter()
    .chain(
        r.asset_tags
            .iter()
            .map(|t| ("asset_tags", Some(t.as_str()))),
    );
    for (field, value) in named {
        if let Some(v) = value
            && let Some(why) = crate::identifier::problem(v)
        {
            return Err(RegisterError::BadCertificate(format!(
                "certificate {}: its {field} {v:?} {why}; it is refused",
                r.id
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
        "SELECT key_id, issued_at, received_at, document FROM certificates WHERE id = ?1",
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
