//! The embedded register: one SQLite file (WAL mode, versioned migrations by `user_version`).
//! The register's logic is in `register::store`; this file opens the file, migrates it, and
//! begins transactions: a write begins `IMMEDIATE`, so writers (also in other processes)
//! take turns, and a read sees one snapshot.

pub(crate) mod schema;
pub(crate) mod tallies;

use std::path::Path;

use super::RegisterError;
use super::db::Db;
use super::db::sqlite::{SqliteDb, error};
use super::store::{SqlRegister, Store, db};

/// The SQLite register.
pub type SqliteRegister = SqlRegister<SqliteStore>;

/// One SQLite connection.
pub struct SqliteStore {
    conn: rusqlite::Connection,
    path: String,
}

impl SqlRegister<SqliteStore> {
    /// Opens (creating and migrating) the register at `path`.
    pub fn open(path: &Path) -> Result<SqliteRegister, RegisterError> {
        let shown = path.display().to_string();
        let fail = |e: rusqlite::Error| RegisterError::Database {
            path: shown.clone(),
            message: e.to_string(),
        };
        let conn = rusqlite::Connection::open(path).map_err(fail)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(fail)?;
        wal_mode(&conn).map_err(fail)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(fail)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(fail)?;
        // Every statement of the register is prepared once per connection.
        conn.set_prepared_statement_cache_capacity(128);
        let mut store = SqliteStore { conn, path: shown };
        store.migrate()?;
        Ok(SqlRegister::new(store))
    }
}

/// Puts the file in WAL mode. Switching needs the file to itself for an instant, and SQLite
/// answers SQLITE_BUSY at once, without its busy handler, while another connection opening the
/// same new file holds it (registers opened at once, a server and a command starting together);
/// so the switch is tried again for as long as the busy timeout allows.
fn wal_mode(conn: &rusqlite::Connection) -> Result<(), rusqlite::Error> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => return other,
        }
    }
}

impl SqliteStore {
    /// Runs the migrations the file has not had, in one transaction that begins as a writer:
    /// two processes opening a new register at once take turns, and the second finds the
    /// version the first left.
    fn migrate(&mut self) -> Result<(), RegisterError> {
        let path = self.path.clone();
        let fail = |e: rusqlite::Error| db(&path)(error(e));
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(fail)?;
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(fail)?;
        for (v, sql) in schema::MIGRATIONS {
            if *v <= version {
                continue;
            }
            let fail = |e: rusqlite::Error| RegisterError::Database {
                path: path.clone(),
                message: format!("migration {v}: {e}"),
            };
            tx.execute_batch(sql).map_err(fail)?;
            tx.pragma_update(None, "user_version", v).map_err(fail)?;
        }
        tx.commit().map_err(fail)
    }

    /// The schema version the file is at.
    #[cfg(test)]
    pub(crate) fn version(&self) -> i64 {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap_or(-1)
    }
}

impl Store for SqliteStore {
    fn name(&self) -> &str {
        &self.path
    }

    fn read<T>(
        &self,
        f: &mut dyn FnMut(&dyn Db, &str) -> Result<T, RegisterError>,
    ) -> Result<T, RegisterError> {
        let fail = |e: rusqlite::Error| db(&self.path)(error(e));
        // A deferred transaction: one snapshot for every statement of the read.
        let tx = self.conn.unchecked_transaction().map_err(fail)?;
        let out = f(&SqliteDb(&tx), &self.path)?;
        tx.commit().map_err(fail)?;
        Ok(out)
    }

    fn write<T>(
        &mut self,
        f: &mut dyn FnMut(&dyn Db, &str) -> Result<T, RegisterError>,
    ) -> Result<T, RegisterError> {
        let path = self.path.clone();
        let fail = |e: rusqlite::Error| db(&path)(error(e));
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(fail)?;
        let out = f(&SqliteDb(&tx), &path)?;
        tx.commit().map_err(fail)?;
        Ok(out)
    }
}
