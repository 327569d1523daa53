//! Storing a computer certificate (`wipeproof/computer/v1`): link it to the computer's asset
//! (a tag the record names, else the chassis asset tag, else the system serial, else the
//! review list), queue it in the computer outbox, log it, and move the asset to the state its
//! certificates give: a PASS computer certificate retires it (`audit::state_from_results`).
//! Storing the same certificate twice changes nothing; a different one under a stored id is a
//! conflict. Storing is written once for both kinds of record (`signed`); this is what a
//! computer certificate does differently.

use crate::certificate::computer::ComputerRecord;
use crate::register::db::{Db, ToValue, Value, params};
use crate::register::delivery::DeliveryKind;

use super::signed::{Found, Kind, Link, Named};
use super::{certificates, collections, db, rows, views};
use crate::register::*;

/// A signed computer certificate.
pub type SignedComputer = SignedCertificate<ComputerRecord>;

/// A computer certificate: stored in `computer_certificates`, queued in `computer_outbox`,
/// linked to the asset by a tag the record names, the chassis asset tag or the system serial.
impl Kind for ComputerRecord {
    const TABLE: &'static str = "computer_certificates";
    const OUTBOX: &'static str = "computer_outbox";
    const EVENT: &'static str = "computer";
    const DELIVERY: DeliveryKind = DeliveryKind::Computer;
    const OWN_COLUMNS: [&'static str; 2] = ["chassis_asset_tag", "drives"];

    fn result(&self) -> &str {
        self.result.as_str()
    }
    fn serial(&self) -> Option<&str> {
        ComputerRecord::serial(self)
    }
    fn own_values(&self) -> [Value; 2] {
        [
            self.inventory.chassis.asset_tag.to_value(),
            (self.drives.len() as i64).to_value(),
        ]
    }
    fn own_detail(&self) -> (&'static str, serde_json::Value) {
        let drives = self.drives.iter().map(|d| d.certificate_id.as_str());
        ("drives", drives.collect::<Vec<_>>().into())
    }
    fn parties(&self) -> (Option<&str>, Option<&str>, &[String]) {
        let (customer, collection) = (self.customer.as_deref(), self.collection.as_deref());
        (customer, collection, &self.asset_tags)
    }
    fn own_identifiers(&self) -> [Named<'_>; 2] {
        let chassis_tag = self.inventory.chassis.asset_tag.as_deref();
        let first = vec![("serial", ComputerRecord::serial(self))];
        [first, vec![("inventory.chassis.asset_tag", chassis_tag)]]
    }
    fn find_target(&self, tx: &dyn Db, p: &str, _given: Option<&str>) -> Found {
        find_target(tx, p, self)
    }
    fn attach(&self, tx: &dyn Db, p: &str, link: &Link) -> Result<AssetState, RegisterError> {
        attach(tx, p, self, link.tag, link.how, link.actor)
    }
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
    certificates::settle_state(tx, p, (asset_id, tag), &before, &r.id, actor)
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
