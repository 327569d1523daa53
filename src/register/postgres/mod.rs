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

pub(crate) mod schema;
pub(crate) mod tallies;

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

/// How long a connection under suspicion gets to answer before a new one is made.
const ALIVE_TIMEOUT: Duration = Duration::from_secs(5);

/// How often a write that lost a race is run again before it is given up.
const WRITE_ATTEMPTS: usize = 5;

/// One connection to the register's database.
pub struct PostgresStore {
    client: RefCell<Client>,
    /// How to connect again when the connection has closed (the database restarted, an
    /// administrator ended the session, the network dropped it).
    config: postgres::Config,
    /// Plain, or TLS with the server's certificate verified (the URL's `sslmode`).
    transport: Transport,
    /// Set when a transaction failed: the next one first checks that the connection still
    /// answers (a failure may have been the connection's own).
    suspect: std::cell::Cell<bool>,
    statements: StatementCache,
    name: String,
}

/// How the connection to the database is protected.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Transport {
    /// As the client connects by itself: `sslmode` absent, `disable` or `prefer` (plain TCP,
    /// or a Unix socket).
    Plain,
    /// `sslmode=require` or `verify-full`: TLS, the server's certificate chain and name verified
    /// against `ca_file` (the URL's `sslrootcert`), else the system's trusted roots.
    Verified { ca_file: Option<std::path::PathBuf> },
}

/// Takes `sslmode=require|verify-full` and `sslrootcert=PATH` out of the URL's query (the
/// client knows neither the verify modes nor a root file) and says how to connect. wipeproof
/// always verifies a TLS server, so `require` means what libpq's `verify-full` does.
fn transport(url: &str) -> Result<(String, Transport), String> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_string(), Transport::Plain));
    };
    let (mut verified, mut ca_file, mut kept) = (false, None, Vec::new());
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("sslmode", "require" | "verify-full")) => verified = true,
            Some(("sslmode", "verify-ca")) => {
                return Err(
                    "sslmode=verify-ca: wipeproof always checks the server's name as \
                            well as its certificate; use sslmode=verify-full"
                        .into(),
                );
            }
            Some(("sslrootcert", path)) if !path.is_empty() => {
                // A URL's value is percent-encoded: a path with a space or `&` is written
                // `%20`, `%26`, as libpq reads it.
                let path = percent_encoding::percent_decode_str(path)
                    .decode_utf8()
                    .map_err(|_| {
                        "sslrootcert= is not a UTF-8 path once its %XX escapes are decoded; \
                         name the CA file with a UTF-8 path"
                            .to_string()
                    })?;
                ca_file = Some(std::path::PathBuf::from(path.as_ref()));
            }
            _ => kept.push(pair),
        }
    }
    if ca_file.is_some() && !verified {
        return Err("sslrootcert= is used only with sslmode=verify-full (or require)".into());
    }
    let url = if kept.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((
        url,
        if verified {
            Transport::Verified { ca_file }
        } else {
            Transport::Plain
        },
    ))
}

/// The URL with its password hidden, for messages.
pub fn redact(url: &str) -> String {
    let url = mask_password_parameters(url);
    // The user information ends at the last `@`: a password typed without percent-encoding
    // may hold `/`, `?` or `#`. (An `@` in a parameter hides more than needed, never less.)
    let Some(at) = url.rfind('@') else {
        return url.clone();
    };
    let head = &url[..at];
    // After the scheme and its slashes, however many a mistyped URL has (`postgres:/u:p@h`).
    let start = match head.find(':') {
        Some(i)
            if head[..i]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) =>
        {
            i + 1 + head[i + 1..].len() - head[i + 1..].trim_start_matches('/').len()
        }
        _ => 0,
    };
    match head[start..].find(':') {
        Some(colon) => format!("{}:***{}", &head[..start + colon], &url[at..]),
        None => url.clone(),
    }
}

/// `password=VALUE` (in a URL's query or a `key=value` connection string) with the value
/// masked; a quoted value up to its closing quote.
fn mask_password_parameters(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.to_ascii_lowercase().find("password=") {
        let value_at = i + "password=".len();
        out.push_str(&rest[..value_at]);
        out.push_str("***");
        let value = &rest[value_at..];
        let end = match value.strip_prefix('\'') {
            Some(quoted) => quoted.find('\'').map_or(value.len(), |q| q + 2),
            None => value.find(['&', ' ', '\t']).unwrap_or(value.len()),
        };
        rest = &value[end..];
    }
    out.push_str(rest);
    out
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
        let (url, transport) = transport(url).map_err(&fail)?;
        let mut config = postgres::Config::from_str(&url).map_err(|e| {
            fail(format!(
                "not a PostgreSQL URL ({e}); expected postgres://USER@HOST[:PORT]/DATABASE"
            ))
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        config.application_name("wipeproof");
        if transport != Transport::Plain {
            config.ssl_mode(postgres::config::SslMode::Require);
        }
        let mut client = open_connection(&config, &transport, &name)?;
        migrate(&mut client).map_err(|e| fail(format!("migrating the schema: {e}")))?;
        Ok(SqlRegister::new(PostgresStore {
            client: RefCell::new(client),
            config,
            transport,
            suspect: std::cell::Cell::new(false),
            statements: RefCell::new(HashMap::new()),
            name,
        }))
    }
}

/// A new connection to the database `name` (the URL without its password) by `config`.
fn open_connection(
    config: &postgres::Config,
    transport: &Transport,
    name: &str,
) -> Result<Client, RegisterError> {
    let connected = match transport {
        Transport::Plain => config.connect(NoTls),
        Transport::Verified { ca_file } => {
            let tls = crate::tls::postgres_tls(ca_file.as_deref()).map_err(|e| {
                RegisterError::Database {
                    path: name.to_string(),
                    message: e.to_string(),
                }
            })?;
            config.connect(tls)
        }
    };
    connected.map_err(|e| {
        let why = error(e).to_string();
        let advice = if *transport == Transport::Plain {
            "is the server running, and may this user connect to the database?"
        } else if why.contains("does not support TLS") {
            "the server does not offer TLS: set ssl = on with its certificate and key in \
             postgresql.conf, or connect without sslmode=verify-full on a trusted network"
        } else if why.contains("TLS") || why.contains("certificate") {
            "the server's certificate must be signed by the CA in sslrootcert= (or one the system \
             trusts) and name the host of the URL"
        } else {
            "is the server running, and may this user connect to the database?"
        };
        RegisterError::Database {
            path: name.to_string(),
            message: format!("cannot connect ({why}); {advice}"),
        }
    })
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

impl PostgresStore {
    /// The connection, made again first if it has closed: a register that a server keeps open
    /// for months outlives restarts of its database. The request that found the connection
    /// broken has failed already (a station's sync tries again); the next one reconnects. The
    /// prepared statements belonged to the old connection and go with it.
    fn connection(&self) -> Result<std::cell::RefMut<'_, Client>, RegisterError> {
        let mut client = self.client.borrow_mut();
        let broken = client.is_closed()
            || (self.suspect.replace(false) && client.is_valid(ALIVE_TIMEOUT).is_err());
        if broken {
            *client = open_connection(&self.config, &self.transport, &self.name)?;
            self.statements.borrow_mut().clear();
        }
        Ok(client)
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
        let out = self.read_once(f);
        self.suspect.set(out.is_err());
        out
    }

    fn write<T>(
        &mut self,
        f: &mut dyn FnMut(&dyn Db, &str) -> Result<T, RegisterError>,
    ) -> Result<T, RegisterError> {
        let mut attempt = 1;
        let out = loop {
            match self.write_once(f) {
                Err(RegisterError::Busy { .. }) if attempt < WRITE_ATTEMPTS => attempt += 1,
                done => break done,
            }
        };
        self.suspect.set(out.is_err());
        out
    }
}

impl PostgresStore {
    fn read_once<T>(
        &self,
        f: &mut dyn FnMut(&dyn Db, &str) -> Result<T, RegisterError>,
    ) -> Result<T, RegisterError> {
        let fail = |e: postgres::Error| db(&self.name)(error(e));
        let mut client = self.connection()?;
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

    fn write_once<T>(
        &mut self,
        f: &mut dyn FnMut(&dyn Db, &str) -> Result<T, RegisterError>,
    ) -> Result<T, RegisterError> {
        let fail = |e: postgres::Error| db(&self.name)(error(e));
        let mut client = self.connection()?;
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
    use super::*;
    use crate::register::{Actor, ManifestRow, Register};

    #[test]
    fn sslmode_verify_full_and_its_root_file_are_taken_out_of_the_url() {
        let (url, t) = transport(
            "postgres://wp@db.example/register?sslmode=verify-full&sslrootcert=/etc/wp/ca.pem&connect_timeout=5",
        )
        .expect("verify-full");
        assert_eq!(url, "postgres://wp@db.example/register?connect_timeout=5");
        assert_eq!(
            t,
            Transport::Verified {
                ca_file: Some("/etc/wp/ca.pem".into())
            }
        );
        let (url, t) = transport("postgres://wp@db.example/register?sslmode=require").unwrap();
        assert_eq!(url, "postgres://wp@db.example/register");
        assert_eq!(t, Transport::Verified { ca_file: None });
        for plain in [
            "postgres://wp@db.example/register",
            "postgres://wp@db.example/register?sslmode=disable",
        ] {
            assert_eq!(
                transport(plain).unwrap(),
                (plain.to_string(), Transport::Plain)
            );
        }
        let err = transport("postgres://wp@h/db?sslmode=verify-ca").unwrap_err();
        assert!(err.contains("verify-full"), "{err}");
        let (_, spaced) =
            transport("postgres://wp@h/db?sslmode=verify-full&sslrootcert=/etc/my%20ca%26co.pem")
                .unwrap();
        assert!(
            matches!(&spaced, Transport::Verified { ca_file: Some(p) } if p == std::path::Path::new("/etc/my ca&co.pem")),
            "{spaced:?}"
        );
        let err = transport("postgres://wp@h/db?sslrootcert=/ca.pem").unwrap_err();
        assert!(err.contains("sslmode=verify-full"), "{err}");
    }

    #[test]
    fn a_register_connects_again_once_its_session_was_ended() {
        let url = test_cluster::database();
        let mut reg = PostgresRegister::connect(&url).expect("connect");
        let row = ManifestRow {
            line: 2,
            asset_tag: "A-1".into(),
            serial: "S-1".into(),
            asset_type: None,
            make: None,
            model: None,
            customer_ref: None,
            media_serials: Vec::new(),
            extra: Default::default(),
        };
        let clerk = Actor {
            name: "clerk".into(),
            station: "desk".into(),
        };
        reg.import_manifest("Acme", "C-1", &[row], &clerk)
            .expect("import");
        // What a restart of the database does to every open session.
        let mut admin = Client::connect(&url, NoTls).expect("admin connection");
        admin
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .expect("end the register's session");
        // The request that meets the ended session may fail; the next one connects again.
        let _ = reg.asset("A-1");
        let asset = reg.asset("A-1").expect("read after reconnecting");
        assert_eq!(asset.map(|a| a.summary.asset_tag), Some("A-1".to_string()));
    }

    #[test]
    fn a_password_in_a_mistyped_or_unusual_url_is_masked_too() {
        for (url, shown) in [
            (
                "postgres:/wp:S3cr3t-pw!x@127.0.0.1/x",
                "postgres:/wp:***@127.0.0.1/x",
            ),
            ("postgres:wp:S3cr3t@h/x", "postgres:wp:***@h/x"),
            (
                "postgres://wp:pw/with/slash@h:5432/db",
                "postgres://wp:***@h:5432/db",
            ),
            (
                "postgres://wp@h/db?password=S3cr3t&connect_timeout=5",
                "postgres://wp@h/db?password=***&connect_timeout=5",
            ),
            (
                "host=h user=wp PASSWORD='a S3cr3t' dbname=db",
                "host=h user=wp PASSWORD=*** dbname=db",
            ),
            (" postgres://wp:S3cr3t@h/db", " postgres:***@h/db"),
        ] {
            assert_eq!(redact(url), shown, "{url}");
            assert!(!redact(url).contains("S3cr3t"), "{url}");
        }
    }

    proptest::proptest! {
        /// Whatever the password holds (URL punctuation included) and however the scheme is
        /// mistyped, it never appears in what messages print.
        #[test]
        fn no_password_survives_redaction(
            password in "[A-Za-z0-9!$%&()*+,;=:/?#@._~-]{6,24}",
            scheme in proptest::sample::select(vec!["postgres://", "postgresql://", "postgres:/", "postgres:"]),
        ) {
            let secret = format!("Z{password}Z");
            let url = format!("{scheme}wipeproof:{secret}@db.example:5432/register");
            proptest::prop_assert!(!redact(&url).contains(&secret), "{url} -> {}", redact(&url));
            let query = format!("postgres://wipeproof@db.example/register?password={secret}");
            proptest::prop_assert!(!redact(&query).contains(&secret), "{}", redact(&query));
        }
    }

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
