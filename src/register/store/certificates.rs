//! Storing a certificate: link it to its asset (by tag, else serial, else the review list),
//! queue it in the outbox, log it, and move the asset to the state its drives' results give.
//! Storing the same certificate twice changes nothing (the certificate id is the key); a
//! different certificate under a stored id is refused as a conflict, never taken for the same.
//!
//! A certificate in the review list is linked later, when its asset arrives (an intake import
//! runs [`match_waiting`]) or by a person ([`link_by_person`]).

use crate::register::db::{Db, params};

use super::{collections, custody, db, rows, views};
use crate::certificate::record::Record;
use crate::register::audit::state_from_results;
use crate::register::*;

/// Stores `cert` inside the caller's transaction; see the module doc. `enrolled_as` is the
/// sending station's enrolled name on a central register.
#[allow(clippy::too_many_arguments)]
pub(super) fn record_certificate(
    tx: &dyn Db,
    p: &str,
    cert: &SignedCertificate,
    document: &str,
    asset_tag: Option<&str>,
    outbox: bool,
    enrolled_as: Option<&str>,
    actor: &Actor,
) -> Result<Linked, RegisterError> {
    let r = &cert.record;
    let sha = r
        .sha256()
        .map_err(|e| RegisterError::BadCertificate(e.to_string()))?;
    let existing: Option<(Option<String>, String, String, String)> = tx
        .query_opt(
            "SELECT a.tag, c.matched_by, c.record_sha256, c.key_id
             FROM certificates c LEFT JOIN assets a ON a.id = c.asset_id WHERE c.id = ?1",
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
            Some(t) => asset_state(tx, p, t)?,
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
    let target = find_target(tx, p, r, asset_tag)?;
    let serial = r.media.serial.clone().filter(|s| !s.is_empty());
    let now = crate::timestamp::now();
    let how = target
        .as_ref()
        .map(|a| a.matched_by)
        .unwrap_or(MatchedBy::Unmatched);
    tx.execute(
        "INSERT INTO certificates (id, asset_id, media_id, station_id, key_id, serial, model, result, method,
                                   issued_at, record_sha256, matched_by, document, received_at, enrolled_as)
         VALUES (?1, NULL, NULL, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'unmatched', ?10, ?11, ?12)",
        params![
            r.id,
            r.performed_by.station_id,
            r.key_id,
            serial,
            r.media.model,
            r.sanitization.result.as_str(),
            r.sanitization.method,
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
            "INSERT INTO outbox (certificate_id, created_at) VALUES (?1, ?2)",
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
        "certificate",
        serde_json::json!({
            "certificate_id": r.id,
            "result": r.sanitization.result.as_str(),
            "method": r.sanitization.method,
            "serial": serial,
            "station": r.performed_by.station_id,
            "matched_by": how.as_str(),
        }),
    )?;
    if let (Some(t), MatchedBy::Tag) = (&tag, how) {
        let owners = other_owners(tx, p, r, t)?;
        log_relinks(tx, p, r, t, &owners, actor)?;
    }
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

/// Links the stored certificate `certificate_id` to the asset `tag` by a person's decision.
/// Linking it to the asset it is already linked to changes nothing; to another is refused.
pub(super) fn link_by_person(
    tx: &dyn Db,
    p: &str,
    certificate_id: &str,
    tag: &str,
    relink: bool,
    actor: &Actor,
) -> Result<Linked, RegisterError> {
    let found: Option<(Option<String>, String, String)> = tx
        .query_opt(
            "SELECT a.tag, c.matched_by, c.document
             FROM certificates c LEFT JOIN assets a ON a.id = c.asset_id WHERE c.id = ?1",
            params![certificate_id],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .map_err(db(p))?;
    let Some((linked_to, how, document)) = found else {
        return Err(RegisterError::UnknownCertificate(certificate_id.into()));
    };
    match linked_to {
        Some(t) if t == tag => {
            return Ok(Linked {
                certificate_id: certificate_id.into(),
                asset_state: asset_state(tx, p, &t)?,
                asset_tag: Some(t),
                matched_by: views::matched_by(&how),
                new: false,
            });
        }
        Some(t) => {
            return Err(RegisterError::LinkedElsewhere {
                certificate: certificate_id.into(),
                asset: t,
            });
        }
        None => {}
    }
    if asset_state(tx, p, tag)?.is_none() {
        return Err(RegisterError::UnknownAsset(tag.into()));
    }
    let cert: SignedCertificate = serde_json::from_str(&document)
        .map_err(|e| RegisterError::BadCertificate(format!("stored {certificate_id}: {e}")))?;
    let owners = other_owners(tx, p, &cert.record, tag)?;
    if let (Some(owner), false) = (owners.first(), relink) {
        return Err(RegisterError::BoundElsewhere {
            what: format!("the drive of certificate {certificate_id}"),
            serial: cert.record.media.serial.clone().unwrap_or_default(),
            asset: tag.into(),
            owner: owner.clone(),
            relink: "--relink",
        });
    }
    log_relinks(tx, p, &cert.record, tag, &owners, actor)?;
    custody::append(
        tx,
        p,
        actor,
        Some(tag),
        "linked",
        serde_json::json!({ "certificate_id": certificate_id, "matched_by": MatchedBy::Person.as_str() }),
    )?;
    let state = attach(tx, p, &cert.record, tag, MatchedBy::Person, actor)?;
    Ok(Linked {
        certificate_id: certificate_id.into(),
        asset_tag: Some(tag.into()),
        matched_by: MatchedBy::Person,
        asset_state: Some(state),
        new: true,
    })
}

/// Links every certificate in the review list whose tag or serial now names an asset (run
/// after an intake import: certificates that arrived before their collection).
pub(super) fn match_waiting(tx: &dyn Db, p: &str, actor: &Actor) -> Result<usize, RegisterError> {
    let waiting = rows(
        tx,
        p,
        "SELECT id, document FROM certificates WHERE asset_id IS NULL ORDER BY issued_at, id",
        params![],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
    )?;
    let mut linked = 0;
    for (id, document) in waiting {
        // A stored document that no longer parses is the audit's business, not intake's.
        let Ok(cert) = serde_json::from_str::<SignedCertificate>(&document) else {
            continue;
        };
        let Some(target) = find_target(tx, p, &cert.record, None)? else {
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

/// The assets other than `tag` that the register ties the drive of `r` to.
fn other_owners(tx: &dyn Db, p: &str, r: &Record, tag: &str) -> Result<Vec<String>, RegisterError> {
    let Some(serial) = r.media.serial.as_deref().filter(|s| !s.is_empty()) else {
        return Ok(Vec::new());
    };
    let mut owners = views::serial_owners(tx, p, serial)?;
    owners.retain(|o| o != tag);
    Ok(owners)
}

/// Records that the drive of `r`, tied to the assets `from`, was bound to `tag` by `actor`.
fn log_relinks(
    tx: &dyn Db,
    p: &str,
    r: &Record,
    tag: &str,
    from: &[String],
    actor: &Actor,
) -> Result<(), RegisterError> {
    for owner in from {
        custody::append(
            tx,
            p,
            actor,
            Some(tag),
            "relinked",
            serde_json::json!({
                "certificate_id": r.id,
                "serial": r.media.serial,
                "from": owner,
                "to": tag,
                "by": actor.name,
            }),
        )?;
    }
    Ok(())
}

/// The asset a certificate belongs to: the tag given with the wipe, else the tags in the
/// certificate, else its drive's serial.
fn find_target(
    tx: &dyn Db,
    p: &str,
    r: &Record,
    asset_tag: Option<&str>,
) -> Result<Option<AssetRef>, RegisterError> {
    let tags = asset_tag
        .into_iter()
        .chain(r.asset_tags.iter().map(String::as_str));
    for t in tags {
        if let Some(a) = views::find_asset(tx, p, Some(t), None)? {
            return Ok(Some(a));
        }
    }
    let serial = r.media.serial.as_deref().filter(|s| !s.is_empty());
    views::find_asset(tx, p, None, serial)
}

/// Links the stored certificate of `r` to the asset `tag` (recording its drive), records its
/// receipt if goods-in never scanned it, and moves the asset to the state its drives give.
fn attach(
    tx: &dyn Db,
    p: &str,
    r: &Record,
    tag: &str,
    how: MatchedBy,
    actor: &Actor,
) -> Result<AssetState, RegisterError> {
    let asset_id: i64 = tx
        .query_row(
            "SELECT id FROM assets WHERE tag = ?1",
            params![tag],
            |row| row.get(0),
        )
        .map_err(db(p))?;
    let media_serial = r
        .media
        .serial
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("unknown-{}", r.id));
    tx.execute(
        "INSERT INTO media (asset_id, serial) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        params![asset_id, media_serial],
    )
    .map_err(db(p))?;
    tx.execute(
        "UPDATE media SET model = COALESCE(?3, model), size_bytes = ?4 WHERE asset_id = ?1 AND serial = ?2",
        params![asset_id, media_serial, r.media.model, r.media.size_bytes as i64],
    )
    .map_err(db(p))?;
    let media_id: i64 = tx
        .query_row(
            "SELECT id FROM media WHERE asset_id = ?1 AND serial = ?2",
            params![asset_id, media_serial],
            |row| row.get(0),
        )
        .map_err(db(p))?;
    tx.execute(
        "UPDATE certificates SET asset_id = ?2, media_id = ?3, matched_by = ?4 WHERE id = ?1",
        params![r.id, asset_id, media_id, how.as_str()],
    )
    .map_err(db(p))?;
    // Never scanned at goods-in, yet a station wiped its drive: it was evidently there.
    collections::receive_by_handling(
        tx,
        p,
        tag,
        serde_json::json!({
            "by_certificate": r.id,
            "station": r.performed_by.station_id,
            "note": "received by the station that wiped its drive; goods-in never scanned it",
        }),
        actor,
    )?;
    let before: String = tx
        .query_row(
            "SELECT state FROM assets WHERE id = ?1",
            params![asset_id],
            |row| row.get(0),
        )
        .map_err(db(p))?;
    let after = derive_state(tx, p, asset_id, &before)?;
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

/// The state of the asset `tag`, or `None` if there is no such asset.
fn asset_state(tx: &dyn Db, p: &str, tag: &str) -> Result<Option<AssetState>, RegisterError> {
    Ok(tx
        .query_opt(
            "SELECT state FROM assets WHERE tag = ?1",
            params![tag],
            |row| row.get::<_, String>(0),
        )
        .map_err(db(p))?
        .and_then(|s| AssetState::parse(&s)))
}

/// The state an asset should be in given its drives' latest results (the rule the audit
/// recomputes: `audit::state_from_results`).
fn derive_state(
    tx: &dyn Db,
    p: &str,
    asset_id: i64,
    current: &str,
) -> Result<AssetState, RegisterError> {
    let latest = views::latest_results(tx, p, asset_id)?;
    let latest: Vec<Option<&str>> = latest.iter().map(|r| r.as_deref()).collect();
    let received: Option<String> = tx
        .query_row(
            "SELECT received_at FROM assets WHERE id = ?1",
            params![asset_id],
            |row| row.get(0),
        )
        .map_err(db(p))?;
    Ok(state_from_results(
        current == AssetState::Destroyed.as_str(),
        received.is_some(),
        &latest,
    ))
}
