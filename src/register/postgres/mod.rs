//! The register on PostgreSQL, for a central register that many stations send to at once.
//! The register's logic is in `register::store`, shared with SQLite; this file connects,
//! migrates, and begins transactions.
//!
//! SQLite lets one writer in at a time (`BEGIN IMMEDIATE`), and the register's idempotency
//! (the same certificate or event stored once, a different one under a known id refused)
//! and its custody chain (each event hashes the one before, through the one-row
//! `event_head`) rely on that. PostgreSQL gets the same guarantee explicitly: every write
//! transaction first takes a transaction-scoped advisory lock, then runs at READ COMMITTED,
//! so each statement after the lock sees everything the previous writer committed. Almost
//! every write appends to the custody chain, whose head is one row, so writes would be
//! serialized by that row anyway; the lock makes it so from the first statement, and nothing
//! has to be retried. What runs in parallel is everything outside a write: signature checks,
//! reads (each a REPEATABLE READ, READ ONLY snapshot), HTTP. A transaction that still fails
//! with a serialization failure or a deadlock (another program on the same database) is run
//! again a few times.
//!
//! Migrations run when the register is opened, in one transaction under another advisory
//! lock, so servers starting together do not race; the version is kept in `schema_version`.

mod schema;

use std::cell::RefCell;
use std::collections::HashMap;
use std::str::FromStr;
use std::time::Duration;

use postgres::{Client, IsolationLevel, NoTls};

use super::RegisterError;
use super::db::Db;
use super::db::postgres::{PgDb, StatementCache, error};
use super::store::{SqlRegister, Store, db};

/// The PostgreSQL register.
pub type PostgresRegister = SqlRegister<PostgresStore>;

/// Advisory lock keys (64-bit, per database): migrations, and the one writer at a time.
const MIGRATION_LOCK: i64 = 0x7769_7065_7072_6f01;
const WRITER_LOCK: i64 = 0x7769_7065_7072_6f02;

/// How often a write that lost a race is run again before it is given up.
const WRITE_ATTEMPTS: usize = 5;

/// One connection to the register's database.
pub struct PostgresStore {
    client: RefCell<Client>,
    statements: StatementCache,
    name: String,
}

/// The URL with its password hidden, for messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (authority, tail) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

impl SqlRegister<PostgresStore> {
    /// Connects to the register at `url` (`postgres://user[:password]@host[:port]/database`,
    /// or any form the `postgres` client accepts) and brings its schema up to date.
    pub fn connect(url: &str) -> Result<PostgresRegister, RegisterError> {
        let name = redact(url);
        let fail = |message: String| RegisterError::Database {
            path: name.clone(),
            message,
        };
        let mut config = postgres::Config::from_str(url).map_err(|e| {
            fail(format!(
                "not a PostgreSQL URL ({e}); expected postgres://USER@HOST[:PORT]/DATABASE"
            ))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("wipeproof");
        let mut client = config.connect(NoTls).map_err(|e| {
            fail(format!(
                "cannot connect ({}); is the server running, and may this user connect to the database?",
                error(e)
            ))
        })?;
        migrate(&mut client).map_err(|e| fail(format!("migrating the schema: {e}")))?;
        Ok(SqlRegister::new(PostgresStore {
            client: RefCell::new(client),
            statements: RefCell::new(HashMap::new()),
            name,
        }))
    }
}

/// Brings the schema up to date, one opener at a time.
fn migrate(client: &mut Client) -> Result<(), String> {
    let mut tx = client.transaction().map_err(|e| error(e).to_string())?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .map_err(|e| error(e).to_string())?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version BIGINT PRIMARY KEY,
             applied_at TEXT NOT NULL
         )",
    )
    .map_err(|e| error(e).to_string())?;
    let current: i64 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])
        .and_then(|r| r.try_get(0))
        .map_err(|e| error(e).to_string())?;
    for (version, sql) in schema::MIGRATIONS {
        if *version <= current {
            continue;
        }
        tx.batch_execute(sql)
            .map_err(|e| format!("migration {version}: {}", error(e)))?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES ($1, $2)",
            &[version, &crate::timestamp::now()],
        )
        .map_err(|e| format!("migration {version}: {}", error(e)))?;
    }
    tx.commit().map_err(|e| error(e).to_string())
}

impl PostgresStore {
    /// The schema version the database is at.
    #[cfg(test)]
    pub(crate) fn version(&self) -> i64 {
        self.client
            .borrow_mut()
            .query_one("SELECT MAX(version) FROM schema_version", &[])
            .and_then(|r| r.try_get(0))
            .unwrap_or(-1)
    }
}

impl Store for PostgresStore {
    fn name(&self) -> &str {
        &self.name
    }

    fn read<T>(
        &self,
        f: &mut dyn FnMut(&dyn Db, &str) -> Result<T, RegisterError>,
    ) -> Result<T, RegisterError> {
        let fail = |e: postgres::Error| db(&self.name)(error(e));
        let mut client = self.client.borrow_mut();
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(fail)?;
        let pg = PgDb::new(tx, &self.statements);
        let out = f(&pg, &self.name)?;
        pg.into_transaction().commit().map_err(fail)?;
        Ok(out)
    }

    fn write<T>(
        &mut self,
        f: &mut dyn FnMut(&dyn Db, &str) -> Result<T, RegisterError>,
    ) -> Result<T, RegisterError> {
        let mut attempt = 1;
        loop {
            match self.write_once(f) {
                Err(RegisterError::Busy { .. }) if attempt < WRITE_ATTEMPTS => attempt += 1,
                done => return done,
            }
        }
    }
}

impl PostgresStore {
    fn write_once<T>(
        &mut self,
        f: &mut dyn FnMut(&dyn Db, &str) -> Result<T, RegisterError>,
    ) -> Result<T, RegisterError> {
        let fail = |e: postgres::Error| db(&self.name)(error(e));
        let mut client = self.client.borrow_mut();
        let mut tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()
            .map_err(fail)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITER_LOCK])
            .map_err(fail)?;
        let pg = PgDb::new(tx, &self.statements);
        let out = f(&pg, &self.name)?;
        pg.into_transaction().commit().map_err(fail)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn a_password_never_reaches_a_message() {
        assert_eq!(
            redact("postgres://ann:s3cret@db.example:5433/register?sslmode=disable"),
            "postgres://ann:***@db.example:5433/register?sslmode=disable"
        );
        assert_eq!(
            redact("postgresql://ann@localhost/register"),
            "postgresql://ann@localhost/register"
        );
    }
}

#[cfg(test)]
pub(crate) mod test_cluster;
