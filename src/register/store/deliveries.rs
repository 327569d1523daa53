//! The connector delivery table: queueing what a connector has not had, recording how each
//! attempt ended, and reading an asset's deliveries for `assets show`.

use crate::register::db::{Db, DbError, Row, params};

use super::signed::Kind;
use super::{db, rows};
use crate::certificate::computer::ComputerRecord;
use crate::certificate::record::Record;
use crate::register::delivery::{Delivery, DeliveryKind, DeliveryState};
use crate::register::{AssetState, RegisterError};

/// A delivery names a drive's certificate (`certificate`), a computer's (`computer`: its
/// system serial stands for the asset's serial when no asset here is linked) or a destroyed
/// asset.
const SELECT: &str = "
SELECT d.connector, d.subject, d.kind, d.certificate_id, COALESCE(c.result, k.result), a.tag,
       COALESCE(a.serial, k.serial), a.state, c.serial, d.state, d.message, d.attempts,
       d.updated_at
FROM connector_deliveries d
LEFT JOIN certificates c ON c.id = d.certificate_id AND d.kind = 'certificate'
LEFT JOIN computer_certificates k ON k.id = d.certificate_id AND d.kind = 'computer'
LEFT JOIN assets a ON a.id = COALESCE(c.asset_id, k.asset_id,
                                      (SELECT id FROM assets WHERE tag = d.asset_tag))";

fn delivery(r: &Row) -> Result<Delivery, DbError> {
    Ok(Delivery {
        connector: r.get(0)?,
        subject: r.get(1)?,
        kind: DeliveryKind::parse(&r.get::<_, String>(2)?).unwrap_or(DeliveryKind::Certificate),
        certificate_id: r.get(3)?,
        result: r.get(4)?,
        asset_tag: r.get(5)?,
        asset_serial: r.get(6)?,
        asset_state: r
            .get::<_, Option<String>>(7)?
            .and_then(|s| AssetState::parse(&s)),
        drive_serial: r.get(8)?,
        state: DeliveryState::parse(&r.get::<_, String>(9)?).unwrap_or(DeliveryState::Pending),
        message: r.get(10)?,
        attempts: r.get::<_, i64>(11)? as u64,
        updated_at: r.get(12)?,
    })
}

/// Queues what `connector` has not had, inside the caller's transaction, and returns what is
/// pending for it.
pub(super) fn queue(tx: &dyn Db, p: &str, connector: &str) -> Result<Vec<Delivery>, RegisterError> {
    let now = crate::timestamp::now();
    queue_kind::<Record>(tx, p, connector, &now)?;
    queue_kind::<ComputerRecord>(tx, p, connector, &now)?;
    tx.execute(
        "INSERT INTO connector_deliveries
             (connector, subject, kind, certificate_id, asset_tag, state, created_at, updated_at)
         SELECT CAST(?1 AS TEXT), 'destroyed:' || a.tag, 'destroyed', NULL, a.tag, 'pending',
                CAST(?2 AS TEXT), CAST(?2 AS TEXT)
         FROM assets a WHERE a.state = 'destroyed'
         ON CONFLICT DO NOTHING",
        params![connector, now],
    )
    .map_err(db(p))?;
    rows(
        tx,
        p,
        &format!(
            "{SELECT} WHERE d.connector = ?1 AND d.state = 'pending'
             ORDER BY d.kind = 'destroyed', COALESCE(c.issued_at, k.issued_at), d.created_at, d.subject"
        ),
        params![connector],
        delivery,
    )
}

/// Queues for `connector` every stored record of kind `K` it has not had.
fn queue_kind<K: Kind>(
    tx: &dyn Db,
    p: &str,
    connector: &str,
    now: &str,
) -> Result<(), RegisterError> {
    tx.execute(
        // (`WHERE true`: SQLite needs a WHERE before ON CONFLICT after a join.)
        &format!(
            "INSERT INTO connector_deliveries
                 (connector, subject, kind, certificate_id, asset_tag, state, created_at, updated_at)
             SELECT CAST(?1 AS TEXT), c.id, '{}', c.id, a.tag, 'pending', CAST(?2 AS TEXT),
                    CAST(?2 AS TEXT)
             FROM {} c LEFT JOIN assets a ON a.id = c.asset_id WHERE true
             ON CONFLICT DO NOTHING",
            K::DELIVERY.as_str(),
            K::TABLE
        ),
        params![connector, now],
    )
    .map_err(db(p))?;
    Ok(())
}

/// Records how an attempt ended.
pub(super) fn finish(
    tx: &dyn Db,
    p: &str,
    connector: &str,
    subject: &str,
    state: DeliveryState,
    message: &str,
) -> Result<(), RegisterError> {
    tx.execute(
        "UPDATE connector_deliveries
         SET state = ?3, message = ?4, attempts = attempts + 1, updated_at = ?5
         WHERE connector = ?1 AND subject = ?2",
        params![
            connector,
            subject,
            state.as_str(),
            message,
            crate::timestamp::now()
        ],
    )
    .map_err(db(p))?;
    Ok(())
}

/// Every delivery about the asset `tag`.
pub(super) fn of_asset(conn: &dyn Db, p: &str, tag: &str) -> Result<Vec<Delivery>, RegisterError> {
    rows(
        conn,
        p,
        &format!("{SELECT} WHERE a.tag = ?1 ORDER BY d.created_at, d.connector, d.subject"),
        params![tag],
        delivery,
    )
}
