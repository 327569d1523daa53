//! The register's logic, written once over the neutral SQL layer (`register::db`) and run on
//! either store: SQLite (`register::sqlite`) or PostgreSQL (`register::postgres`).
//!
//! Every operation runs in one transaction, so the register survives a crash at any point: a
//! certificate, its asset link, its custody events and its outbox entry are stored together or
//! not at all. A [`Store`] says how a transaction is begun on its database; [`SqlRegister`]
//! maps the `Register` interface onto the modules that do the work: `intake` and `signed`
//! write (`signed` stores a drive's certificate and a computer's alike, over what
//! `certificates` and `computers` say each does differently), `views` reads, `custody` keeps
//! the event chain, `collections` and `collection_views` a collection's custody (booked,
//! collected, received, reconciled), `station_events` the events that travel between
//! registers, `stations` who may talk to a central register, `deliveries` the connectors'
//! queue, and `audit` checks it all.

mod accounts;
mod admission;
mod audit;
mod certificates;
mod collection_views;
mod collections;
mod computers;
mod custody;
mod deliveries;
mod intake;
mod lookup;
mod signed;
mod station_events;
mod stations;
mod views;

use super::db::{Db, DbError, Row, ToValue, params};
use super::station_event::{Action, SignedEvent, StationEvent};
use super::*;
use crate::certificate::keys::TrustStore;
use crate::certificate::record::Record;

/// A database the register runs on: how a read and a write transaction are begun, committed
/// and rolled back. `f` gets the transaction and the database's name for messages.
pub trait Store: Send {
    /// The database as messages name it (a file, or a URL without its password).
    fn name(&self) -> &str;
    /// Runs `f` on a consistent view of the register.
    fn read<T>(
        &self,
        f: &mut dyn FnMut(&dyn Db, &str) -> Result<T, RegisterError>,
    ) -> Result<T, RegisterError>;
    /// Runs `f` in a write transaction, one writer at a time, committing only if it succeeds.
    /// A transaction that lost a race with another ([`RegisterError::Busy`]) may be run again,
    /// so `f` must have no effect outside the transaction.
    fn write<T>(
        &mut self,
        f: &mut dyn FnMut(&dyn Db, &str) -> Result<T, RegisterError>,
    ) -> Result<T, RegisterError>;
}

/// The register over a store.
pub struct SqlRegister<S> {
    pub(super) store: S,
}

impl<S: Store> SqlRegister<S> {
    pub(super) fn new(store: S) -> SqlRegister<S> {
        SqlRegister { store }
    }

    /// Stores a record of either kind in one transaction (`signed::record`).
    fn record<K: signed::Kind>(
        &mut self,
        cert: &SignedCertificate<K>,
        document: &str,
        asset_tag: Option<&str>,
        outbox: bool,
        actor: &Actor,
    ) -> Result<Linked, RegisterError> {
        self.store.write(&mut |tx, path| {
            let arrival = signed::Arrival {
                asset_tag,
                outbox,
                enrolled_as: None,
            };
            signed::record(tx, path, cert, document, arrival, actor)
        })
    }

    /// Central register: admits and stores a record of either kind that verified under the key
    /// of the station enrolled as `enrolled_as`.
    fn receive<K: signed::Kind>(
        &mut self,
        cert: &SignedCertificate<K>,
        document: &str,
        enrolled_as: &str,
    ) -> Result<Linked, RegisterError> {
        let actor = Actor {
            name: cert.record.performed_by().operator.clone(),
            station: enrolled_as.into(),
        };
        let sha = cert
            .record
            .signed_sha256()
            .map_err(|e| RegisterError::BadCertificate(e.to_string()))?;
        self.store.write(&mut |tx, path| {
            admission::admit(tx, path, &cert.record, &sha)?;
            let arrival = signed::Arrival {
                asset_tag: None,
                outbox: false,
                enrolled_as: Some(enrolled_as),
            };
            signed::record(tx, path, cert, document, arrival, &actor)
        })
    }
}

/// Maps an error of the SQL layer to the register's, naming the database.
pub(super) fn db(path: &str) -> impl Fn(DbError) -> RegisterError + '_ {
    move |e| {
        if e.is_retryable() {
            RegisterError::Busy {
                path: path.to_string(),
                message: e.to_string(),
            }
        } else {
            RegisterError::Database {
                path: path.to_string(),
                message: e.to_string(),
            }
        }
    }
}

/// Runs a query and collects every row; an error names the register.
pub(super) fn rows<T>(
    conn: &dyn Db,
    p: &str,
    sql: &str,
    params: &[&dyn ToValue],
    row: impl FnMut(&Row) -> Result<T, DbError>,
) -> Result<Vec<T>, RegisterError> {
    conn.query_map(sql, params, row).map_err(db(p))
}

impl<S: Store> Register for SqlRegister<S> {
    fn import_manifest(
        &mut self,
        customer: &str,
        collection: &str,
        rows: &[ManifestRow],
        actor: &Actor,
    ) -> Result<usize, RegisterError> {
        self.store.write(&mut |tx, path| {
            let imported = intake::import_manifest(tx, path, customer, collection, rows, actor)?;
            // What arrived before its assets: first what a person decided at a station, then
            // the certificates that match by tag or serial.
            station_events::apply_waiting(tx, path)?;
            signed::match_waiting::<Record>(tx, path, actor)?;
            signed::match_waiting::<ComputerRecord>(tx, path, actor)?;
            Ok(imported)
        })
    }

    fn find_asset(
        &self,
        tag: Option<&str>,
        serial: Option<&str>,
    ) -> Result<Option<AssetRef>, RegisterError> {
        self.store
            .read(&mut |db, path| views::find_asset(db, path, tag, serial))
    }

    fn serial_owners(&self, serial: &str) -> Result<Vec<String>, RegisterError> {
        self.store
            .read(&mut |db, path| views::serial_owners(db, path, serial))
    }

    fn finished_serial_owners(
        &self,
        serials: &[&str],
    ) -> Result<Vec<(String, String, AssetState)>, RegisterError> {
        self.store
            .read(&mut |db, path| views::finished_serial_owners(db, path, serials))
    }

    fn record_certificate(
        &mut self,
        cert: &SignedCertificate,
        document: &str,
        asset_tag: Option<&str>,
        outbox: bool,
        actor: &Actor,
    ) -> Result<Linked, RegisterError> {
        self.record(cert, document, asset_tag, outbox, actor)
    }

    fn record_computer(
        &mut self,
        cert: &SignedCertificate<ComputerRecord>,
        document: &str,
        outbox: bool,
        actor: &Actor,
    ) -> Result<Linked, RegisterError> {
        self.record(cert, document, None, outbox, actor)
    }

    fn receive_computer(
        &mut self,
        cert: &SignedCertificate<ComputerRecord>,
        document: &str,
        enrolled_as: &str,
    ) -> Result<Linked, RegisterError> {
        self.receive(cert, document, enrolled_as)
    }

    fn has_certificate(&self, id: &str) -> Result<bool, RegisterError> {
        self.store
            .read(&mut |db, path| views::has_certificate(db, path, id))
    }

    fn list_assets(&self, filter: &AssetFilter) -> Result<Vec<AssetSummary>, RegisterError> {
        self.store
            .read(&mut |db, path| views::list_assets(db, path, filter))
    }

    fn asset(&self, tag: &str) -> Result<Option<AssetView>, RegisterError> {
        self.store.read(&mut |db, path| views::asset(db, path, tag))
    }

    fn assets_page(
        &self,
        filter: &AssetFilter,
        page: Page,
    ) -> Result<Paged<AssetSummary>, RegisterError> {
        self.store
            .read(&mut |db, path| views::assets_page(db, path, filter, page))
    }

    fn unmatched(&self) -> Result<Vec<UnmatchedView>, RegisterError> {
        self.store
            .read(&mut |db, path| views::unmatched(db, path, None))
            .map(|p| p.items)
    }

    fn unmatched_page(&self, page: Page) -> Result<Paged<UnmatchedView>, RegisterError> {
        self.store
            .read(&mut |db, path| views::unmatched(db, path, Some(page)))
    }

    fn destroy(
        &mut self,
        tag: &str,
        method: &str,
        witness: &str,
        actor: &Actor,
    ) -> Result<(), RegisterError> {
        self.store.write(&mut |tx, path| {
            intake::destroy(tx, path, tag, method, witness, actor)?;
            let event = StationEvent::new(
                &actor.station,
                &actor.name,
                tag,
                Action::Destroyed {
                    method: method.into(),
                    witness: witness.into(),
                },
            );
            station_events::queue(tx, path, &event)
        })
    }

    fn audit_with_keys(&self, keys: &TrustStore) -> Result<Audit, RegisterError> {
        self.store
            .read(&mut |db, path| audit::audit(db, path, keys))
    }

    fn link_certificate(
        &mut self,
        certificate_id: &str,
        tag: &str,
        relink: bool,
        actor: &Actor,
    ) -> Result<Linked, RegisterError> {
        self.store.write(&mut |tx, path| {
            let linked =
                certificates::link_by_person(tx, path, certificate_id, tag, relink, actor)?;
            if linked.new {
                let event = StationEvent::new(
                    &actor.station,
                    &actor.name,
                    tag,
                    Action::Linked {
                        certificate_id: certificate_id.into(),
                    },
                );
                station_events::queue(tx, path, &event)?;
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
        self.receive(cert, document, enrolled_as)
    }

    fn receive_event(
        &mut self,
        event: &SignedEvent,
        document: &str,
        enrolled_as: &str,
    ) -> Result<EventReceipt, RegisterError> {
        self.store
            .write(&mut |tx, path| station_events::receive(tx, path, event, document, enrolled_as))
    }

    fn pending_events(&self) -> Result<Vec<EventOutboxItem>, RegisterError> {
        self.store
            .read(&mut |db, path| station_events::pending(db, path))
    }

    fn mark_event_sent(&mut self, id: &str) -> Result<(), RegisterError> {
        self.store
            .write(&mut |tx, path| station_events::mark(tx, path, id, None))
    }

    fn mark_event_failed(&mut self, id: &str, error: &str) -> Result<(), RegisterError> {
        self.store
            .write(&mut |tx, path| station_events::mark(tx, path, id, Some(error)))
    }

    fn pending(&self) -> Result<Vec<OutboxItem>, RegisterError> {
        self.store.read(&mut |db, path| views::pending(db, path))
    }

    fn mark_sent(&mut self, certificate_id: &str) -> Result<(), RegisterError> {
        self.store.write(&mut |tx, path| {
            for table in ["outbox", "computer_outbox"] {
                tx.execute(
                    &format!(
                        "UPDATE {table} SET sent_at = ?2, attempts = attempts + 1, last_attempt_at = ?2,
                             last_error = NULL
                         WHERE certificate_id = ?1"
                    ),
                    params![certificate_id, crate::timestamp::now()],
                )
                .map_err(self::db(path))?;
            }
            Ok(())
        })
    }

    fn mark_failed(&mut self, certificate_id: &str, error: &str) -> Result<(), RegisterError> {
        self.store.write(&mut |tx, path| {
            for table in ["outbox", "computer_outbox"] {
                tx.execute(
                    &format!(
                        "UPDATE {table} SET attempts = attempts + 1, last_attempt_at = ?2, last_error = ?3
                         WHERE certificate_id = ?1"
                    ),
                    params![certificate_id, crate::timestamp::now(), error],
                )
                .map_err(self::db(path))?;
            }
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
        self.store
            .write(&mut |tx, path| stations::enroll(tx, path, key_id, name, pem, actor))
    }

    fn stations(&self) -> Result<Vec<StationView>, RegisterError> {
        self.store.read(&mut |db, path| views::stations(db, path))
    }

    fn rename_station(
        &mut self,
        key_id: &str,
        from: &str,
        to: &str,
        actor: &Actor,
    ) -> Result<bool, RegisterError> {
        self.store
            .write(&mut |tx, path| stations::rename(tx, path, key_id, (from, to), actor))
    }

    fn remove_station(&mut self, who: &str, actor: &Actor) -> Result<StationView, RegisterError> {
        self.store
            .write(&mut |tx, path| stations::remove(tx, path, who, actor))
    }

    fn revoke_station(
        &mut self,
        who: &str,
        accept_through: Option<&str>,
        actor: &Actor,
    ) -> Result<StationView, RegisterError> {
        self.store
            .write(&mut |tx, path| stations::revoke(tx, path, who, accept_through, actor))
    }

    fn record_station_certificate(
        &mut self,
        key_id: &str,
        serial: &str,
        pem: &str,
    ) -> Result<(), RegisterError> {
        self.store
            .write(&mut |tx, path| stations::record_certificate(tx, path, key_id, serial, pem))
    }

    fn station_certificates(&self) -> Result<Vec<StationCertificateView>, RegisterError> {
        self.store
            .read(&mut |db, path| stations::certificates(db, path))
    }

    fn add_token(&mut self, name: &str, sha256: &str, actor: &Actor) -> Result<(), RegisterError> {
        self.store
            .write(&mut |tx, path| stations::add_token(tx, path, name, sha256, actor))
    }

    fn tokens(&self) -> Result<Vec<TokenView>, RegisterError> {
        self.store.read(&mut |db, path| {
            rows(
                db,
                path,
                "SELECT name, created_at FROM api_tokens ORDER BY name",
                params![],
                |r| {
                    Ok(TokenView {
                        name: r.get(0)?,
                        created_at: r.get(1)?,
                    })
                },
            )
        })
    }

    fn remove_token(&mut self, name: &str, actor: &Actor) -> Result<(), RegisterError> {
        self.store
            .write(&mut |tx, path| stations::remove_token(tx, path, name, actor))
    }

    fn token_name(&self, sha256: &str) -> Result<Option<String>, RegisterError> {
        self.store.read(&mut |db, path| {
            db.query_opt(
                "SELECT name FROM api_tokens WHERE sha256 = ?1",
                params![sha256],
                |r| r.get(0),
            )
            .map_err(self::db(path))
        })
    }

    fn collection_lines(
        &self,
        collection: &str,
    ) -> Result<(String, Vec<ReportLine>), RegisterError> {
        self.store
            .read(&mut |db, path| views::collection_lines(db, path, collection))
    }

    fn collection_computers(&self, collection: &str) -> Result<Vec<ReportComputer>, RegisterError> {
        self.store
            .read(&mut |db, path| computers::of_collection(db, path, collection))
    }

    fn connector_queue(
        &mut self,
        connector: &str,
    ) -> Result<Vec<delivery::Delivery>, RegisterError> {
        self.store
            .write(&mut |tx, path| deliveries::queue(tx, path, connector))
    }

    fn finish_delivery(
        &mut self,
        connector: &str,
        subject: &str,
        state: delivery::DeliveryState,
        message: &str,
    ) -> Result<(), RegisterError> {
        self.store
            .write(&mut |tx, path| deliveries::finish(tx, path, connector, subject, state, message))
    }

    fn asset_deliveries(&self, tag: &str) -> Result<Vec<delivery::Delivery>, RegisterError> {
        self.store
            .read(&mut |db, path| deliveries::of_asset(db, path, tag))
    }
}

#[cfg(test)]
mod tests;
