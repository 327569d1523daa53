//! Storing a certificate: link it to its asset (by tag, else serial, else the review list),
//! queue it in the outbox, log it, and move the asset to the state its drives' results give.
//! Storing the same certificate twice changes nothing (the certificate id is the key); a
//! different certificate under a stored id is refused as a conflict, never taken for the same.
//!
//! Storing is written once for both kinds of record (`signed`); this is what a drive's
//! certificate does differently. A certificate in the review list is linked later, when its
//! asset arrives (an intake import runs `signed::match_waiting`) or by a person
//! ([`link_by_person`]).

use crate::register::db::{Db, ToValue, Value, params};
use crate::register::delivery::DeliveryKind;

use super::signed::{Found, Kind, Link, Named};
use super::{collections, computers, custody, db, views};
use crate::certificate::record::Record;
use crate::register::audit::state_from_results;
use crate::register::*;

/// A drive's certificate: stored in `certificates`, queued in `outbox`, linked to the asset
/// by the tag given with the wipe, the record's tags or the drive's serial.
impl Kind for Record {
    const TABLE: &'static str = "certificates";
    const OUTBOX: &'static str = "outbox";
    const EVENT: &'static str = "certificate";
    const DELIVERY: DeliveryKind = DeliveryKind::Certificate;
    const OWN_COLUMNS: [&'static str; 2] = ["model", "method"];

    fn result(&self) -> &str {
        self.sanitization.result.as_str()
    }
    fn serial(&self) -> Option<&str> {
        self.media.serial.as_deref().filter(|s| !s.is_empty())
    }
    fn own_values(&self) -> [Value; 2] {
        [
            self.media.model.to_value(),
            self.sanitization.method.to_value(),
        ]
    }
    fn own_detail(&self) -> (&'static str, serde_json::Value) {
        ("method", self.sanitization.method.clone().into())
    }
    fn parties(&self) -> (Option<&str>, Option<&str>, &[String]) {
        let (customer, collection) = (self.customer.as_deref(), self.collection.as_deref());
        (customer, collection, &self.asset_tags)
    }
    fn own_identifiers(&self) -> [Named<'_>; 2] {
        let m = &self.media;
        let first = vec![
            ("media.serial", m.serial.as_deref()),
            ("media.model", m.model.as_deref()),
            ("media.manufacturer", m.manufacturer.as_deref()),
        ];
        [first, Vec::new()]
    }
    fn find_target(&self, tx: &dyn Db, p: &str, given: Option<&str>) -> Found {
        find_target(tx, p, self, given)
    }
    fn attach(&self, tx: &dyn Db, p: &str, link: &Link) -> Result<AssetState, RegisterError> {
        if link.arrived && link.how == MatchedBy::Tag {
            let owners = other_owners(tx, p, self, link.tag)?;
            log_relinks(tx, p, self, link.tag, &owners, link.actor)?;
        }
        attach(tx, p, self, link.tag, link.how, link.actor)
    }
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
    settle_state(tx, p, (asset_id, tag), &before, &r.id, actor)
}

/// Moves the asset `(id, tag)`, in state `before`, to the state its certificates now give,
/// logging the move as caused by the certificate `by`.
pub(super) fn settle_state(
    tx: &dyn Db,
    p: &str,
    (asset_id, tag): (i64, &str),
    before: &str,
    by: &str,
    actor: &Actor,
) -> Result<AssetState, RegisterError> {
    let after = derive_state(tx, p, asset_id, before)?;
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
            serde_json::json!({ "from": before, "to": after.as_str(), "certificate_id": by }),
        )?;
    }
    Ok(after)
}

/// The state of the asset `tag`, or `None` if there is no such asset.
pub(super) fn asset_state(
    tx: &dyn Db,
    p: &str,
    tag: &str,
) -> Result<Option<AssetState>, RegisterError> {
    Ok(tx
        .query_opt(
            "SELECT state FROM assets WHERE tag = ?1",
            params![tag],
            |row| row.get::<_, String>(0),
        )
        .map_err(db(p))?
        .and_then(|s| AssetState::parse(&s)))
}

/// The state an asset should be in given its drives' latest results and its latest computer
/// certificate's (the rule the audit recomputes: `audit::state_from_results`).
pub(super) fn derive_state(
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
    let computer = computers::latest_result(tx, p, asset_id)?;
    Ok(state_from_results(
        current == AssetState::Destroyed.as_str(),
        received.is_some(),
        &latest,
        computer.as_deref(),
    ))
}
