//! The embedded register: one SQLite file (WAL mode, versioned migrations).
//!
//! Every operation runs in one transaction, so the register survives a crash at any point: a
//! certificate, its asset link, its custody events and its outbox entry are stored together or
//! not at all. This file opens the store and maps the `Register` interface onto the modules
//! that do the work: `intake` and `certificates` write, `views` reads, `custody` keeps the
//! event chain, `station_events` the events that travel between registers, `stations` who
//! may talk to a central register, `audit` checks it all, `schema` holds the migrations; `accounts` holds the people who
//! read it over HTTP, `lookup` what the web pages look up.

mod accounts;
mod audit;
mod certificates;
mod custody;
mod deliveries;
mod intake;
mod lookup;
mod schema;
mod station_events;
mod stations;
mod views;

use std::path::Path;

use rusqlite::{Connection, Transaction, params};

use super::station_event::{Action, SignedEvent, StationEvent};
use super::*;
use crate::certificate::keys::TrustStore;

/// The SQLite register.
pub struct SqliteRegister {
    conn: Connection,
    path: String,
}

impl SqliteRegister {
    /// Opens (creating and migrating) the register at `path`.
    pub fn open(path: &Path) -> Result<SqliteRegister, RegisterError> {
        let shown = path.display().to_string();
        let db = |e: rusqlite::Error| RegisterError::Database {
            path: shown.clone(),
            message: e.to_string(),
        };
        let conn = Connection::open(path).map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        conn.pragma_update(None, "foreign_keys", "ON").map_err(db)?;
        let mut reg = SqliteRegister { conn, path: shown };
        reg.migrate()?;
        Ok(reg)
    }

    fn err(&self, e: rusqlite::Error) -> RegisterError {
        RegisterError::Database {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    fn migrate(&mut self) -> Result<(), RegisterError> {
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        for (v, sql) in schema::MIGRATIONS {
            if *v <= version {
                continue;
            }
            let path = self.path.clone();
            let db = |e: rusqlite::Error| RegisterError::Database {
                path: path.clone(),
                message: format!("migration {v}: {e}"),
            };
            let tx = self.conn.transaction().map_err(db)?;
            tx.execute_batch(sql).map_err(db)?;
            tx.pragma_update(None, "user_version", v).map_err(db)?;
            tx.commit().map_err(db)?;
        }
        Ok(())
    }

    /// Runs `f` in a transaction, committing only if it succeeds.
    fn write<T>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, RegisterError>,
    ) -> Result<T, RegisterError> {
        let path = self.path.clone();
        let db = |e: rusqlite::Error| RegisterError::Database {
            path: path.clone(),
            message: e.to_string(),
        };
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db)?;
        let out = f(&tx)?;
        tx.commit().map_err(db)?;
        Ok(out)
    }
}

pub(super) fn db(path: &str) -> impl Fn(rusqlite::Error) -> RegisterError + '_ {
    move |e| RegisterError::Database {
        path: path.to_string(),
        message: e.to_string(),
    }
}

/// Runs a query and collects every row; an error names the register file.
pub(super) fn rows<T>(
    conn: &Connection,
    p: &str,
    sql: &str,
    params: impl rusqlite::Params,
    row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>, RegisterError> {
    let mut stmt = conn.prepare(sql).map_err(db(p))?;
    stmt.query_map(params, row)
        .map_err(db(p))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db(p))
}

impl Register for SqliteRegister {
    fn import_manifest(
        &mut self,
        customer: &str,
        collection: &str,
        rows: &[ManifestRow],
        actor: &Actor,
    ) -> Result<usize, RegisterError> {
        let path = self.path.clone();
        self.write(|tx| {
            let imported = intake::import_manifest(tx, &path, customer, collection, rows, actor)?;
            // What arrived before its assets: first what a person decided at a station, then
            // the certificates that match by tag or serial.
            station_events::apply_waiting(tx, &path)?;
            certificates::match_waiting(tx, &path, actor)?;
            Ok(imported)
        })
    }

    fn find_asset(
        &self,
        tag: Option<&str>,
        serial: Option<&str>,
    ) -> Result<Option<AssetRef>, RegisterError> {
        views::find_asset(&self.conn, &self.path, tag, serial)
    }

    fn record_certificate(
        &mut self,
        cert: &SignedCertificate,
        document: &str,
        asset_tag: Option<&str>,
        outbox: bool,
        actor: &Actor,
    ) -> Result<Linked, RegisterError> {
        let path = self.path.clone();
        self.write(|tx| {
            certificates::record_certificate(
                tx, &path, cert, document, asset_tag, outbox, None, actor,
            )
        })
    }

    fn has_certificate(&self, id: &str) -> Result<bool, RegisterError> {
        views::has_certificate(&self.conn, &self.path, id)
    }

    fn list_assets(&self, filter: &AssetFilter) -> Result<Vec<AssetSummary>, RegisterError> {
        views::list_assets(&self.conn, &self.path, filter)
    }

    fn asset(&self, tag: &str) -> Result<Option<AssetView>, RegisterError> {
        views::asset(&self.conn, &self.path, tag)
    }

    fn unmatched(&self) -> Result<Vec<UnmatchedView>, RegisterError> {
        views::unmatched(&self.conn, &self.path)
    }

    fn destroy(
        &mut self,
        tag: &str,
        method: &str,
        witness: &str,
        actor: &Actor,
    ) -> Result<(), RegisterError> {
        let path = self.path.clone();
        self.write(|tx| {
            intake::destroy(tx, &path, tag, method, witness, actor)?;
            let event = StationEvent::new(
                &actor.station,
                &actor.name,
                tag,
                Action::Destroyed {
                    method: method.into(),
                    witness: witness.into(),
                },
            );
            station_events::queue(tx, &path, &event)
        })
    }

    fn audit_with_keys(&self, keys: &TrustStore) -> Result<Audit, RegisterError> {
        audit::audit(&self.conn, &self.path, keys)
    }

    fn link_certificate(
        &mut self,
        certificate_id: &str,
        tag: &str,
        actor: &Actor,
    ) -> Result<Linked, RegisterError> {
        let path = self.path.clone();
        self.write(|tx| {
            let linked = certificates::link_by_person(tx, &path, certificate_id, tag, actor)?;
            if linked.new {
                let event = StationEvent::new(
                    &actor.station,
                    &actor.name,
                    tag,
                    Action::Linked {
                        certificate_id: certificate_id.into(),
                    },
                );
                station_events::queue(tx, &path, &event)?;
            }
            Ok(linked)
        })
    }

    fn receive_certificate(
        &mut self,
        cert: &SignedCertificate,
        document: &str,
        enrolled_as: &str,
    ) -> Result<Linked, RegisterError> {
        let path = self.path.clone();
        let actor = Actor {
            name: cert.record.performed_by.operator.clone(),
            station: enrolled_as.into(),
        };
        self.write(|tx| {
            certificates::record_certificate(
                tx,
                &path,
                cert,
                document,
                None,
                false,
                Some(enrolled_as),
                &actor,
            )
        })
    }

    fn receive_event(
        &mut self,
        event: &SignedEvent,
        document: &str,
        enrolled_as: &str,
    ) -> Result<EventReceipt, RegisterError> {
        let path = self.path.clone();
        self.write(|tx| station_events::receive(tx, &path, event, document, enrolled_as))
    }

    fn pending_events(&self) -> Result<Vec<EventOutboxItem>, RegisterError> {
        station_events::pending(&self.conn, &self.path)
    }

    fn mark_event_sent(&mut self, id: &str) -> Result<(), RegisterError> {
        let path = self.path.clone();
        self.write(|tx| station_events::mark(tx, &path, id, None))
    }

    fn mark_event_failed(&mut self, id: &str, error: &str) -> Result<(), RegisterError> {
        let path = self.path.clone();
        self.write(|tx| station_events::mark(tx, &path, id, Some(error)))
    }

    fn pending(&self) -> Result<Vec<OutboxItem>, RegisterError> {
        views::pending(&self.conn, &self.path)
    }

    fn mark_sent(&mut self, certificate_id: &str) -> Result<(), RegisterError> {
        let path = self.path.clone();
        self.write(|tx| {
            tx.execute(
                "UPDATE outbox SET sent_at = ?2, attempts = attempts + 1, last_attempt_at = ?2, last_error = NULL
                 WHERE certificate_id = ?1",
                params![certificate_id, crate::timestamp::now()],
            )
            .map_err(db(&path))?;
            Ok(())
        })
    }

    fn mark_failed(&mut self, certificate_id: &str, error: &str) -> Result<(), RegisterError> {
        let path = self.path.clone();
        self.write(|tx| {
            tx.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_attempt_at = ?2, last_error = ?3
                 WHERE certificate_id = ?1",
                params![certificate_id, crate::timestamp::now(), error],
            )
            .map_err(db(&path))?;
            Ok(())
        })
    }

    fn enroll_station(
        &mut self,
        key_id: &str,
        name: &str,
        pem: &str,
        actor: &Actor,
    ) -> Result<(), RegisterError> {
        let path = self.path.clone();
        self.write(|tx| stations::enroll(tx, &path, key_id, name, pem, actor))
    }

    fn stations(&self) -> Result<Vec<StationView>, RegisterError> {
        views::stations(&self.conn, &self.path)
    }

    fn remove_station(&mut self, who: &str, actor: &Actor) -> Result<StationView, RegisterError> {
        let path = self.path.clone();
        self.write(|tx| stations::remove(tx, &path, who, actor))
    }

    fn revoke_station(&mut self, who: &str, actor: &Actor) -> Result<StationView, RegisterError> {
        let path = self.path.clone();
        self.write(|tx| stations::revoke(tx, &path, who, actor))
    }

    fn add_token(&mut self, name: &str, sha256: &str, actor: &Actor) -> Result<(), RegisterError> {
        let path = self.path.clone();
        self.write(|tx| stations::add_token(tx, &path, name, sha256, actor))
    }

    fn tokens(&self) -> Result<Vec<TokenView>, RegisterError> {
        rows(
            &self.conn,
            &self.path,
            "SELECT name, created_at FROM api_tokens ORDER BY name",
            [],
            |r| {
                Ok(TokenView {
                    name: r.get(0)?,
                    created_at: r.get(1)?,
                })
            },
        )
    }

    fn remove_token(&mut self, name: &str, actor: &Actor) -> Result<(), RegisterError> {
        let path = self.path.clone();
        self.write(|tx| stations::remove_token(tx, &path, name, actor))
    }

    fn token_name(&self, sha256: &str) -> Result<Option<String>, RegisterError> {
        use rusqlite::OptionalExtension;
        self.conn
            .query_row(
                "SELECT name FROM api_tokens WHERE sha256 = ?1",
                [sha256],
                |r| r.get(0),
            )
            .optional()
            .map_err(db(&self.path))
    }

    fn collection_lines(
        &self,
        collection: &str,
    ) -> Result<(String, Vec<ReportLine>), RegisterError> {
        views::collection_lines(&self.conn, &self.path, collection)
    }

    fn connector_queue(
        &mut self,
        connector: &str,
    ) -> Result<Vec<connector::Delivery>, RegisterError> {
        let path = self.path.clone();
        self.write(|tx| deliveries::queue(tx, &path, connector))
    }

    fn finish_delivery(
        &mut self,
        connector: &str,
        subject: &str,
        state: connector::DeliveryState,
        message: &str,
    ) -> Result<(), RegisterError> {
        let path = self.path.clone();
        self.write(|tx| deliveries::finish(tx, &path, connector, subject, state, message))
    }

    fn asset_deliveries(&self, tag: &str) -> Result<Vec<connector::Delivery>, RegisterError> {
        deliveries::of_asset(&self.conn, &self.path, tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: u64, tag: &str, serial: &str) -> ManifestRow {
        ManifestRow {
            line,
            asset_tag: tag.into(),
            serial: serial.into(),
            asset_type: Some("laptop".into()),
            make: None,
            model: None,
            customer_ref: None,
            media_serials: vec![format!("{serial}-D1")],
            extra: Default::default(),
        }
    }

    fn clerk() -> Actor {
        Actor {
            name: "clerk".into(),
            station: "desk-1".into(),
        }
    }

    #[test]
    fn reopening_keeps_data_and_runs_no_migration_twice() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("register.sqlite");
        let mut reg = SqliteRegister::open(&path).expect("open");
        reg.import_manifest("Acme", "COL-1", &[row(2, "A-1", "S1")], &clerk())
            .expect("import");
        drop(reg);
        let reg = SqliteRegister::open(&path).expect("reopen");
        let version: i64 = reg
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("user_version");
        assert_eq!(version, schema::MIGRATIONS.last().map(|m| m.0).unwrap_or(0));
        let asset = reg.asset("A-1").expect("read").expect("asset A-1 kept");
        assert_eq!(asset.summary.state, AssetState::Received);
        assert_eq!(asset.media.len(), 1);
        assert!(reg.audit().expect("audit").ok);
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut reg = SqliteRegister::open(&dir.path().join("r.sqlite")).expect("open");
        reg.import_manifest("Acme", "COL-1", &[row(2, "A-1", "S1")], &clerk())
            .expect("first import");
        // The second file repeats A-1 on line 3: the whole file is refused, B-1 included, and
        // neither the new collection nor a custody event is left behind.
        let err = reg
            .import_manifest(
                "Acme",
                "COL-2",
                &[row(2, "B-1", "S2"), row(3, "A-1", "S3")],
                &clerk(),
            )
            .expect_err("duplicate tag must refuse the file");
        assert!(err.to_string().contains("line 3"), "{err}");
        assert!(reg.asset("B-1").expect("read").is_none());
        assert!(matches!(
            reg.list_assets(&AssetFilter {
                collection: Some("COL-2".into()),
                state: None,
            }),
            Err(RegisterError::UnknownCollection(_))
        ));
        let audit = reg.audit().expect("audit");
        assert!(audit.ok);
        assert_eq!(audit.events, 1);
    }

    #[test]
    fn a_collection_belongs_to_one_customer() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut reg = SqliteRegister::open(&dir.path().join("r.sqlite")).expect("open");
        reg.import_manifest("Acme", "COL-1", &[row(2, "A-1", "S1")], &clerk())
            .expect("import");
        let err = reg
            .import_manifest("Other Ltd", "COL-1", &[row(2, "O-1", "S9")], &clerk())
            .expect_err("another customer's collection");
        assert!(matches!(err, RegisterError::CollectionCustomer { .. }));
        assert!(reg.asset("O-1").expect("read").is_none());
    }

    #[test]
    fn a_station_event_is_stored_once_and_waits_for_its_asset() {
        use crate::certificate::keys::StationKey;
        use crate::register::station_event::{Action, StationEvent};

        let dir = tempfile::tempdir().expect("temp dir");
        let mut reg = SqliteRegister::open(&dir.path().join("r.sqlite")).expect("open");
        let key = StationKey::generate().expect("key");
        let event = StationEvent::new(
            "bay-1",
            "Ann",
            "A-1",
            Action::Destroyed {
                method: "shredded".into(),
                witness: "Bob".into(),
            },
        );
        let signed = event.clone().sign(&key).expect("sign");
        let doc = serde_json::to_string(&signed).expect("json");
        // A-1 is not here yet: stored, waiting; the same event again changes nothing.
        assert_eq!(
            reg.receive_event(&signed, &doc, "bay-1").expect("receive"),
            EventReceipt::Waiting
        );
        assert_eq!(
            reg.receive_event(&signed, &doc, "bay-1").expect("again"),
            EventReceipt::Already
        );
        // Another event under the same id is a conflict, and is not stored.
        let mut other = event.clone();
        other.action = Action::Destroyed {
            method: "shredded".into(),
            witness: "Mallory".into(),
        };
        let other = other.sign(&key).expect("sign");
        let other_doc = serde_json::to_string(&other).expect("json");
        assert!(matches!(
            reg.receive_event(&other, &other_doc, "bay-1"),
            Err(RegisterError::EventConflict { .. })
        ));
        // The intake import that brings A-1 applies it.
        reg.import_manifest("Acme", "COL-1", &[row(2, "A-1", "S1")], &clerk())
            .expect("import");
        let a = reg.asset("A-1").expect("read").expect("A-1");
        assert_eq!(a.summary.state, AssetState::Destroyed);
        let destroyed = a
            .events
            .iter()
            .find(|e| e.kind == "destroyed")
            .expect("event");
        assert_eq!(destroyed.detail["witness"], "Bob");
        assert_eq!(destroyed.station, "bay-1");
        assert!(reg.audit().expect("audit").ok);
    }
}
