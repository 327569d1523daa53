//! Storing a signed record of either kind, a drive's certificate (`certificates`) or a
//! computer's (`computers`), written once over [`Kind`]: link it to its asset (or the review
//! list), queue it in its outbox, log it, and move the asset to the state its certificates
//! give. Storing the same record twice changes nothing (its id is the key); a different record
//! under a stored id is refused as a conflict, never taken for the same.

use crate::certificate::signable::Signable;
use crate::register::db::{Db, Value, params};
use crate::register::delivery::DeliveryKind;

use super::{certificates, custody, db, rows, views};
use crate::register::*;

/// The identifiers of a record as admission names them: `(field, value)`.
pub(super) type Named<'a> = Vec<(&'static str, Option<&'a str>)>;

/// What the register does differently for each kind of signed record; everything else it does
/// to both is written once over this trait.
pub(super) trait Kind: Signable {
    /// The table its records are stored in.
    const TABLE: &'static str;
    /// The table its records wait in until they are sent.
    const OUTBOX: &'static str;
    /// The custody event that records its arrival.
    const EVENT: &'static str;
    /// What a connector delivers for it.
    const DELIVERY: DeliveryKind;
    /// The two columns only its table has, written with those every kind's has.
    const OWN_COLUMNS: [&'static str; 2];

    /// Its result as the register stores it.
    fn result(&self) -> &str;
    /// The serial the register knows it by, if it has one.
    fn serial(&self) -> Option<&str>;
    /// The values of [`Kind::OWN_COLUMNS`].
    fn own_values(&self) -> [Value; 2];
    /// What its custody event says beyond what every kind's says.
    fn own_detail(&self) -> (&'static str, serde_json::Value);
    /// Its customer, collection and asset tags.
    fn parties(&self) -> (Option<&str>, Option<&str>, &[String]);
    /// The identifiers only it has that admission checks: those it checks before the ones
    /// every kind has, and those after.
    fn own_identifiers(&self) -> [Named<'_>; 2];
    /// The asset it belongs to; `given` is the tag given with a drive's wipe.
    fn find_target(&self, tx: &dyn Db, p: &str, given: Option<&str>) -> Found;
    /// Links the stored record to an asset, records the asset's receipt if goods-in never
    /// scanned it, and moves the asset to the state it now has.
    fn attach(&self, tx: &dyn Db, p: &str, link: &Link) -> Result<AssetState, RegisterError>;
}

/// The asset a record belongs to, if the register has it.
pub(super) type Found = Result<Option<AssetRef>, RegisterError>;

/// A stored record's link to an asset: the asset's tag, how it was matched, who links it, and
/// whether the record has just arrived (a drive bound by the tag given with its wipe then
/// leaves the assets it was tied to).
pub(super) struct Link<'a> {
    pub tag: &'a str,
    pub how: MatchedBy,
    pub actor: &'a Actor,
    pub arrived: bool,
}

/// Where and how a record arrives: the tag given with a drive's wipe, whether it is queued
/// for sending, and the sending station's enrolled name on a central register.
pub(super) struct Arrival<'a> {
    pub asset_tag: Option<&'a str>,
    pub outbox: bool,
    pub enrolled_as: Option<&'a str>,
}

/// Stores `cert` inside the caller's transaction; see the module doc.
pub(super) fn record<K: Kind>(
    tx: &dyn Db,
    p: &str,
    cert: &SignedCertificate<K>,
    document: &str,
    arrival: Arrival,
    actor: &Actor,
) -> Result<Linked, RegisterError> {
    let r = &cert.record;
    let sha = r
        .signed_sha256()
        .map_err(|e| RegisterError::BadCertificate(e.to_string()))?;
    if let Some(held) = already_stored(tx, p, r, &sha)? {
        return Ok(held);
    }
    let target = r.find_target(tx, p, arrival.asset_tag)?;
    let now = crate::timestamp::now();
    let how = target
        .as_ref()
        .map(|a| a.matched_by)
        .unwrap_or(MatchedBy::Unmatched);
    insert(tx, p, r, [&sha, document, &now], arrival.enrolled_as)?;
    if arrival.outbox {
        tx.execute(
            &format!(
                "INSERT INTO {} (certificate_id, created_at) VALUES (?1, ?2)",
                K::OUTBOX
            ),
            params![r.id(), now],
        )
        .map_err(db(p))?;
    }
    let tag = target.as_ref().map(|a| a.asset_tag.clone());
    let mut detail = serde_json::json!({
        "certificate_id": r.id(),
        "result": r.result(),
        "serial": r.serial(),
        "station": r.performed_by().station_id,
        "matched_by": how.as_str(),
    });
    let (key, value) = r.own_detail();
    detail[key] = value;
    custody::append(tx, p, actor, tag.as_deref(), K::EVENT, detail)?;
    let state = match &tag {
        Some(tag) => {
            let link = Link {
                tag,
                how,
                actor,
                arrived: true,
            };
            Some(r.attach(tx, p, &link)?)
        }
        None => None,
    };
    Ok(Linked {
        certificate_id: r.id().to_string(),
        asset_tag: tag,
        matched_by: how,
        asset_state: state,
        new: true,
    })
}

/// Writes the row of `r`, unlinked, with its record hash, document and arrival time
/// (`written`) and the station it came from on a central register.
fn insert<K: Kind>(
    tx: &dyn Db,
    p: &str,
    r: &K,
    written: [&str; 3],
    enrolled_as: Option<&str>,
) -> Result<(), RegisterError> {
    let [sha, document, now] = written;
    let [own_a, own_b] = K::OWN_COLUMNS;
    let [value_a, value_b] = r.own_values();
    tx.execute(
        &format!(
            "INSERT INTO {} (id, asset_id, station_id, key_id, serial, result, issued_at,
                     record_sha256, matched_by, document, received_at, enrolled_as, {own_a}, {own_b})
             VALUES (?1, NULL, ?2, ?3, ?4, ?5, ?6, ?7, 'unmatched', ?8, ?9, ?10, ?11, ?12)",
            K::TABLE
        ),
        params![
            r.id(),
            r.performed_by().station_id,
            r.key_id(),
            r.serial(),
            r.result(),
            r.issued_at(),
            sha,
            document,
            now,
            enrolled_as,
            value_a,
            value_b
        ],
    )
    .map_err(db(p))?;
    Ok(())
}

/// What storing `r` (whose record hash is `sha`) again answers if a record is stored under its
/// id: the same record changes nothing; another is a conflict.
fn already_stored<K: Kind>(
    tx: &dyn Db,
    p: &str,
    r: &K,
    sha: &str,
) -> Result<Option<Linked>, RegisterError> {
    let existing: Option<(Option<String>, String, String, String)> = tx
        .query_opt(
            &format!(
                "SELECT a.tag, c.matched_by, c.record_sha256, c.key_id
                 FROM {} c LEFT JOIN assets a ON a.id = c.asset_id WHERE c.id = ?1",
                K::TABLE
            ),
            params![r.id()],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
        )
        .map_err(db(p))?;
    let Some((tag, how, held_sha, held_key)) = existing else {
        return Ok(None);
    };
    if held_sha != sha || held_key != r.key_id() {
        return Err(RegisterError::CertificateConflict {
            id: r.id().to_string(),
            held_sha256: held_sha,
            held_key_id: held_key,
            offered_sha256: sha.to_string(),
            offered_key_id: r.key_id().to_string(),
        });
    }
    let state = match &tag {
        Some(t) => certificates::asset_state(tx, p, t)?,
        None => None,
    };
    Ok(Some(Linked {
        certificate_id: r.id().to_string(),
        asset_tag: tag,
        matched_by: views::matched_by(&how),
        asset_state: state,
        new: false,
    }))
}

/// Links every record of kind `K` in the review list whose tags or serial now name an asset
/// (run after an intake import: records that arrived before their collection).
pub(super) fn match_waiting<K: Kind>(
    tx: &dyn Db,
    p: &str,
    actor: &Actor,
) -> Result<usize, RegisterError> {
    let waiting = rows(
        tx,
        p,
        &format!(
            "SELECT id, document FROM {} WHERE asset_id IS NULL ORDER BY issued_at, id",
            K::TABLE
        ),
        params![],
        |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)),
    )?;
    let mut linked = 0;
    for (id, document) in waiting {
        // A stored document that no longer parses is the audit's business, not intake's.
        let Ok(cert) = serde_json::from_str::<SignedCertificate<K>>(&document) else {
            continue;
        };
        let Some(target) = cert.record.find_target(tx, p, None)? else {
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
        let link = Link {
            tag: &target.asset_tag,
            how: target.matched_by,
            actor,
            arrived: false,
        };
        cert.record.attach(tx, p, &link)?;
        linked += 1;
    }
    Ok(linked)
}
