//! Storing a computer certificate (`wipeproof/computer/v1`): link it to the computer's asset
//! (a tag the record names, else the chassis asset tag, else the system serial, else the
//! review list), queue it in the computer outbox, log it, and move the asset to the state its
//! certificates give: a PASS computer certificate retires it (`audit::state_from_results`).
//! Storing the same certificate twice changes nothing; a different one under a stored id is a
//! conflict.

use crate::certificate::computer::ComputerRecord;
use crate::certificate::signable::Signable;
use crate::register::db::{Db, params};

use super::{certificates, collections, custody, db, rows, views};
use crate::register::*;

/// A signed computer certificate.
pub type SignedComputer = SignedCertificate<ComputerRecord>;

/// Stores `cert` inside the caller's transaction; see the module doc. `enrolled_as` is the
/// sending station's enrolled name on a central register.
pub(super) fn record_computer(
    tx: &dyn Db,
    p: &str,
    cert: &SignedComputer,
    document: &str,
    outbox: bool,
    enrolled_as: Option<&str>,
    actor: &Actor,
) -> Result<Linked, RegisterError> {
    let r = &cert.record;
    let sha = r
        .signed_sha256()
        .map_err(|e| RegisterError::BadCertificate(e.to_string()))?;
    let existing: Option<(Option<String>, String, String, String)> = tx
        .query_opt(
            "SELECT a.tag, c.matched_by, c.record_sha256, c.key_id
             FROM computer_certificates c LEFT JOIN assets a ON a.id = c.asset_id WHERE c.id = ?1",
            params![&r.id],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .map_err(db(p))?;
    if let Some((tag, how, held_sha, held_key)) = existing {
        if held_sha != sha || held_key != r.key_id {
            return Err(RegisterError::CertificateConflict {
                id: r.id.clone(),
                held_sha256: held_sha,
                held_key_id: held_key,
                offered_sha256: sha,
                offered_key_id: r.key_id.clone(),
            });
        }
        let state = match &tag {
            Some(t) => certificates::asset_state(tx, p, t)?,
            None => None,
        };
        return Ok(Linked {
            certificate_id: r.id.clone(),
            asset_tag: tag,
            matched_by: views::matched_by(&how),
            asset_state: state,
            new: false,
        });
    }
    let target = find_target(tx, p, r)?;
    let now = crate::timestamp::now();
    let how = target
        .as_ref()
        .map(|a| a.matched_by)
        .unwrap_or(MatchedBy::Unmatched);
    tx.execute(
        "INSERT INTO computer_certificates (id, asset_id, station_id, key_id, serial,
                 chassis_asset_tag, result, drives, issued_at, record_sha256, matched_by, document,
                 received_at, enrolled_as)
         VALUES (?1, NULL, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'unmatched', ?10, ?11, ?12)",
        params![
            r.id,
            r.performed_by.station_id,
            r.key_id,
            r.serial(),
            r.inventory.chassis.asset_tag,
            r.result.as_str(),
            r.drives.len() as i64,
            r.issued_at,
            sha,
            document,
            now,
            enrolled_as
        ],
    )
    .map_err(db(p))?;
    if outbox {
        tx.execute(
            "INSERT INTO computer_outbox (certificate_id, created_at) VALUES (?1, ?2)",
            params![r.id, now],
        )
        .map_err(db(p))?;
    }
    let tag = target.as_ref().map(|a| a.asset_tag.clone());
    custody::append(
        tx,
        p,
        actor,
        tag.as_deref(),
        "computer",
        serde_json::json!({
            "certificate_id": r.id,
            "result": r.result.as_str(),
            "serial": r.serial(),
            "drives": r.drives.iter().map(|d| d.certificate_id.as_str()).collect::<Vec<_>>(),
            "station": r.performed_by.station_id,
            "matched_by": how.as_str(),
        }),
    )?;
    let state = match &tag {
        Some(t) => Some(attach(tx, p, r, t, how, actor)?),
        None => None,
    };
    Ok(Linked {
        certificate_id: r.id.clone(),
        asset_tag: tag,
        matched_by: how,
        asset_state: state,
        new: true,
    })
}

/// Links every computer certificate in the review list whose tags or serial now name an asset
/// (run after an intake import).
pub(super) fn match_waiting(tx: &dyn Db, p: &str, actor: &Actor) -> Result<usize, RegisterError> {
    let waiting = rows(
        tx,
        p,
        "SELECT id, document FROM computer_certificates WHERE asset_id IS NULL
         ORDER BY issued_at, id",
        params![],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
    )?;
    let mut linked = 0;
    for (id, document) in waiting {
        let Ok(cert) = serde_json::from_str::<SignedComputer>(&document) else {
            continue;
        };
        let Some(target) = find_target(tx, p, &cert.record)? else {
            continue;
        };
        custody::append(
            tx,
            p,
            actor,
            Some(&target.asset_tag),
            "linked",
            serde_json::json!({ "certificate_id": id, "matched_by": target.matched_by.as_str() }),
        )?;
        attach(
            tx,
            p,
            &cert.record,
            &target.asset_tag,
            target.matched_by,
            actor,
        )?;
        linked += 1;
    }
    Ok(linked)
}

/// The computer's asset: a tag the record names, else the chassis asset tag, else the system
/// serial (or chassis serial).
fn find_target(
    tx: &dyn Db,
    p: &str,
    r: &ComputerRecord,
) -> Result<Option<AssetRef>, RegisterError> {
    let chassis_tag = r
        .inventory
        .chassis
        .asset_tag
        .as_deref()
        .filter(|t| !t.is_empty());
    let tags = r.asset_tags.iter().map(String::as_str).chain(chassis_tag);
    for t in tags {
        if let Some(a) = views::find_asset(tx, p, Some(t), None)? {
            return Ok(Some(a));
        }
    }
    views::find_asset(tx, p, None, r.serial())
}

/// Links the stored computer certificate of `r` to the asset `tag`, records the asset's
/// receipt if goods-in never scanned it, and moves the asset to the state it now has.
fn attach(
    tx: &dyn Db,
    p: &str,
    r: &ComputerRecord,
    tag: &str,
    how: MatchedBy,
    actor: &Actor,
) -> Result<AssetState, RegisterError> {
    let (asset_id, code, received_at, before): (i64, String, Option<String>, String) = tx
        .query_row(
            "SELECT a.id, co.code, a.received_at, a.state FROM assets a
             JOIN collections co ON co.id = a.collection_id WHERE a.tag = ?1",
            params![tag],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .map_err(db(p))?;
    tx.execute(
        "UPDATE computer_certificates SET asset_id = ?2, matched_by = ?3 WHERE id = ?1",
        params![r.id, asset_id, how.as_str()],
    )
    .map_err(db(p))?;
    if received_at.is_none() {
        collections::receive_asset(
            tx,
            p,
            tag,
            &code,
            serde_json::json!({
                "by_certificate": r.id,
                "station": r.performed_by.station_id,
                "note": "received by the station that wiped its drives; goods-in never scanned it",
            }),
            (actor, &crate::timestamp::now()),
        )?;
    }
    // The receipt may have moved the state; read it again.
    let before: String = if received_at.is_none() {
        tx.query_row(
            "SELECT state FROM assets WHERE id = ?1",
            params![asset_id],
            |row| row.get(0),
        )
        .map_err(db(p))?
    } else {
        before
    };
    let after = certificates::derive_state(tx, p, asset_id, &before)?;
    tx.execute(
        "UPDATE assets SET state = ?2, updated_at = ?3 WHERE id = ?1",
        params![asset_id, after.as_str(), crate::timestamp::now()],
    )
    .map_err(db(p))?;
    if before != after.as_str() {
        custody::append(
            tx,
            p,
            actor,
            Some(tag),
            "state",
            serde_json::json!({ "from": before, "to": after.as_str(), "certificate_id": r.id }),
        )?;
    }
    Ok(after)
}

/// The result of the asset's latest computer certificate, if it has one.
pub(super) fn latest_result(
    tx: &dyn Db,
    p: &str,
    asset_id: i64,
) -> Result<Option<String>, RegisterError> {
    tx.query_opt(
        "SELECT result FROM computer_certificates WHERE asset_id = ?1
         ORDER BY issued_at DESC, received_at DESC LIMIT 1",
        params![asset_id],
        |row| row.get(0),
    )
    .map_err(db(p))
}

/// The computer certificates of the asset `asset_id`, oldest first.
pub(super) fn of_asset(
    conn: &dyn Db,
    p: &str,
    asset_id: i64,
) -> Result<Vec<ComputerView>, RegisterError> {
    rows(
        conn,
        p,
        "SELECT id, serial, result, drives, issued_at, station_id, matched_by, enrolled_as
         FROM computer_certificates WHERE asset_id = ?1 ORDER BY issued_at, id",
        params![asset_id],
        |r| {
            Ok(ComputerView {
                id: r.get(0)?,
                serial: r.get(1)?,
                result: r.get(2)?,
                drives: r.get::<_, i64>(3)? as u64,
                issued_at: r.get(4)?,
                station_id: r.get(5)?,
                matched_by: views::matched_by(&r.get::<_, String>(6)?),
                enrolled_as: r.get(7)?,
            })
        },
    )
}

/// The computers of the collection `collection`: each asset's latest computer certificate,
/// by asset tag.
pub(super) fn of_collection(
    conn: &dyn Db,
    p: &str,
    collection: &str,
) -> Result<Vec<ReportComputer>, RegisterError> {
    let stored = rows(
        conn,
        p,
        "SELECT a.tag, c.id, c.document FROM computer_certificates c
         JOIN assets a ON a.id = c.asset_id
         JOIN collections co ON co.id = a.collection_id
         WHERE co.code = ?1
         ORDER BY a.tag, c.issued_at DESC, c.received_at DESC, c.id",
        params![collection],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
            ))
        },
    )?;
    let mut out: Vec<ReportComputer> = Vec::new();
    for (tag, id, document) in stored {
        if out.last().is_some_and(|c| c.asset_tag == tag) {
            continue;
        }
        let cert = serde_json::from_str::<SignedComputer>(&document).map_err(|e| {
            RegisterError::BadCertificate(format!(
                "computer certificate {id} of asset {tag}: the stored document is not a \
                 computer certificate ({e}); see `wipeproof assets audit`"
            ))
        })?;
        out.push(ReportComputer::of(&tag, &cert.record));
    }
    Ok(out)
}

/// What the audit found among the computer certificates.
pub(super) struct Audited {
    pub count: usize,
    pub findings: Vec<crate::register::audit::Finding>,
}

/// Checks every stored computer certificate as the audit checks a drive's (its columns against
/// its signed record, its signature where the key is known) and adds it to the stations'
/// chains, which it is part of.
pub(super) fn audit(
    conn: &dyn Db,
    p: &str,
    known: &std::collections::HashMap<String, crate::certificate::keys::PublicKey>,
    chain: &mut Vec<crate::register::audit::ChainEntry>,
) -> Result<Audited, RegisterError> {
    use crate::register::audit::{ChainEntry, Finding};
    let stored = rows(
        conn,
        p,
        "SELECT c.id, c.result, c.record_sha256, c.document, a.tag, c.received_at
         FROM computer_certificates c LEFT JOIN assets a ON a.id = c.asset_id
         ORDER BY c.issued_at, c.id",
        params![],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
            ))
        },
    )?;
    let mut out = Audited {
        count: stored.len(),
        findings: Vec::new(),
    };
    for (id, result, stored_sha, document, tag, received_at) in stored {
        let tags = || tag.clone().into_iter().collect::<Vec<_>>();
        let mut problem = |message: String| out.findings.push(Finding::new(message, tags()));
        let cert = match serde_json::from_str::<SignedComputer>(&document) {
            Ok(c) => c,
            Err(e) => {
                problem(format!(
                    "computer certificate {id}: the stored document is not a computer certificate ({e})"
                ));
                continue;
            }
        };
        let r = &cert.record;
        let (Ok(sha), Ok(canonical)) = (r.signed_sha256(), r.signed_bytes()) else {
            problem(format!(
                "computer certificate {id}: the stored record has no canonical form"
            ));
            continue;
        };
        if r.id != id || sha != stored_sha {
            problem(format!(
                "computer certificate {id}: the stored record (id {}, record hash {sha}) is not the \
                 one registered (record hash {stored_sha}): the stored certificate was changed",
                r.id
            ));
        }
        if r.result.as_str() != result {
            problem(format!(
                "computer certificate {id}: the register says {result} but the signed record says {}",
                r.result.as_str()
            ));
        }
        if let Some(key) = known.get(&r.key_id)
            && !super::audit::signature_holds(key, &canonical, &cert.signature.value)
        {
            problem(format!(
                "computer certificate {id}: its signature does not verify under the key {}",
                r.key_id
            ));
        }
        chain.push(ChainEntry {
            id,
            station_id: r.performed_by.station_id.clone(),
            key_id: r.key_id.clone(),
            record_sha256: sha,
            previous: r.previous.clone(),
            asset_tag: tag,
            issued_at: r.issued_at.clone(),
            received_at,
        });
    }
    Ok(out)
}
