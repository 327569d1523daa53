//! Accounts in the SQLite register: people with a role and an Argon2id password hash, their API
//! tokens and sign-in sessions (SHA-256 only), and the log of sign-in attempts. Adding or
//! removing a person or a token is a custody event.
//!
//! The SQL is plain and portable (`?N` parameters, no SQLite-only syntax), so another backend
//! can run the same statements.

use rusqlite::{OptionalExtension, params};

use super::{SqliteRegister, custody, db, rows};
use crate::register::Actor;
use crate::register::accounts::*;

/// The tables of accounts (migration 4).
pub(super) const MIGRATION: &str = "
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('admin', 'compliance', 'intake', 'technician')),
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
-- A person's API tokens: only the SHA-256 of each is kept.
CREATE TABLE user_tokens (
    sha256 TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users(name),
    created_at TEXT NOT NULL
);
CREATE INDEX user_tokens_user ON user_tokens(user_name);
-- Sign-in sessions: the SHA-256 of the cookie, and the token the session's forms carry.
CREATE TABLE web_sessions (
    sha256 TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users(name),
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions(user_name);
-- Every sign-in attempt, for the rate limit and the record.
CREATE TABLE login_attempts (
    id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    username TEXT NOT NULL,
    client TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'failed', 'refused'))
);
CREATE INDEX login_attempts_user ON login_attempts(username, at);
CREATE INDEX login_attempts_client ON login_attempts(client, at);
";

fn role_of(s: &str) -> rusqlite::Result<Role> {
    Role::parse(s).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown role {s:?}").into(),
        )
    })
}

impl Accounts for SqliteRegister {
    fn add_user(
        &mut self,
        name: &str,
        role: Role,
        password_phc: &str,
        actor: &Actor,
    ) -> Result<(), AccountError> {
        check_name(name)?;
        let path = self.path.clone();
        let mut exists = false;
        self.write(|tx| {
            let found: Option<String> = tx
                .query_row("SELECT name FROM users WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(db(&path))?;
            if found.is_some() {
                exists = true;
                return Ok(());
            }
            tx.execute(
                "INSERT INTO users (name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![name, role.as_str(), password_phc, crate::timestamp::now()],
            )
            .map_err(db(&path))?;
            custody::append(
                tx,
                &path,
                actor,
                None,
                "user",
                serde_json::json!({ "name": name, "role": role.as_str() }),
            )
        })?;
        if exists {
            return Err(AccountError::UserExists(name.into()));
        }
        Ok(())
    }

    fn users(&self) -> Result<Vec<UserView>, AccountError> {
        Ok(rows(
            &self.conn,
            &self.path,
            "SELECT u.name, u.role, u.created_at,
                    (SELECT COUNT(*) FROM user_tokens t WHERE t.user_name = u.name),
                    (SELECT MAX(l.at) FROM login_attempts l WHERE l.username = u.name AND l.outcome = 'ok')
             FROM users u ORDER BY u.name",
            [],
            |r| {
                Ok(UserView {
                    name: r.get(0)?,
                    role: role_of(&r.get::<_, String>(1)?)?,
                    created_at: r.get(2)?,
                    tokens: r.get::<_, i64>(3)? as u64,
                    last_sign_in: r.get(4)?,
                })
            },
        )?)
    }

    fn remove_user(&mut self, name: &str, actor: &Actor) -> Result<(), AccountError> {
        let path = self.path.clone();
        let mut removed = 0;
        self.write(|tx| {
            tx.execute("DELETE FROM user_tokens WHERE user_name = ?1", [name])
                .map_err(db(&path))?;
            tx.execute("DELETE FROM web_sessions WHERE user_name = ?1", [name])
                .map_err(db(&path))?;
            removed = tx
                .execute("DELETE FROM users WHERE name = ?1", [name])
                .map_err(db(&path))?;
            if removed == 0 {
                return Ok(());
            }
            custody::append(
                tx,
                &path,
                actor,
                None,
                "user-removed",
                serde_json::json!({ "name": name }),
            )
        })?;
        if removed == 0 {
            return Err(AccountError::UnknownUser(name.into()));
        }
        Ok(())
    }

    fn add_user_token(
        &mut self,
        name: &str,
        sha256: &str,
        actor: &Actor,
    ) -> Result<(), AccountError> {
        let path = self.path.clone();
        let mut known = true;
        self.write(|tx| {
            let found: Option<String> = tx
                .query_row("SELECT name FROM users WHERE name = ?1", [name], |r| {
                    r.get(0)
                })
                .optional()
                .map_err(db(&path))?;
            if found.is_none() {
                known = false;
                return Ok(());
            }
            tx.execute(
                "INSERT INTO user_tokens (sha256, user_name, created_at) VALUES (?1, ?2, ?3)",
                params![sha256, name, crate::timestamp::now()],
            )
            .map_err(db(&path))?;
            custody::append(
                tx,
                &path,
                actor,
                None,
                "user-token",
                serde_json::json!({ "name": name }),
            )
        })?;
        if !known {
            return Err(AccountError::UnknownUser(name.into()));
        }
        Ok(())
    }

    fn user_of_token(&self, sha256: &str) -> Result<Option<(String, Role)>, AccountError> {
        Ok(self
            .conn
            .query_row(
                "SELECT u.name, u.role FROM user_tokens t JOIN users u ON u.name = t.user_name
                 WHERE t.sha256 = ?1",
                [sha256],
                |r| Ok((r.get(0)?, role_of(&r.get::<_, String>(1)?)?)),
            )
            .optional()
            .map_err(db(&self.path))?)
    }

    fn credentials(&self, name: &str) -> Result<Option<(Role, String)>, AccountError> {
        Ok(self
            .conn
            .query_row(
                "SELECT role, password_hash FROM users WHERE name = ?1",
                [name],
                |r| Ok((role_of(&r.get::<_, String>(0)?)?, r.get(1)?)),
            )
            .optional()
            .map_err(db(&self.path))?)
    }

    fn start_session(
        &mut self,
        sha256: &str,
        user: &str,
        csrf: &str,
        expires_at: &str,
    ) -> Result<(), AccountError> {
        let path = self.path.clone();
        let now = crate::timestamp::now();
        Ok(self.write(|tx| {
            // Sessions that ended are of no use to anyone: clear them as new ones start.
            tx.execute("DELETE FROM web_sessions WHERE expires_at <= ?1", [&now])
                .map_err(db(&path))?;
            tx.execute(
                "INSERT INTO web_sessions (sha256, user_name, csrf, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![sha256, user, csrf, now, expires_at],
            )
            .map_err(db(&path))?;
            Ok(())
        })?)
    }

    fn session(&mut self, sha256: &str, now: &str) -> Result<Option<SessionView>, AccountError> {
        let found = self
            .conn
            .query_row(
                "SELECT s.user_name, u.role, s.csrf, s.expires_at
                 FROM web_sessions s JOIN users u ON u.name = s.user_name WHERE s.sha256 = ?1",
                [sha256],
                |r| {
                    Ok(SessionView {
                        user: r.get(0)?,
                        role: role_of(&r.get::<_, String>(1)?)?,
                        csrf: r.get(2)?,
                        expires_at: r.get(3)?,
                    })
                },
            )
            .optional()
            .map_err(db(&self.path))?;
        match found {
            Some(s) if s.expires_at.as_str() > now => Ok(Some(s)),
            Some(_) => {
                self.end_session(sha256)?;
                Ok(None)
            }
            None => Ok(None),
        }
    }

    fn end_session(&mut self, sha256: &str) -> Result<(), AccountError> {
        let path = self.path.clone();
        Ok(self.write(|tx| {
            tx.execute("DELETE FROM web_sessions WHERE sha256 = ?1", [sha256])
                .map_err(db(&path))?;
            Ok(())
        })?)
    }

    fn log_login(
        &mut self,
        username: &str,
        client: &str,
        outcome: LoginOutcome,
    ) -> Result<(), AccountError> {
        let path = self.path.clone();
        Ok(self.write(|tx| {
            tx.execute(
                "INSERT INTO login_attempts (id, at, username, client, outcome)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    uuid::Uuid::new_v4().to_string(),
                    crate::timestamp::now(),
                    username,
                    client,
                    outcome.as_str()
                ],
            )
            .map_err(db(&path))?;
            Ok(())
        })?)
    }

    fn recent_failures(
        &self,
        username: &str,
        client: &str,
        since: &str,
    ) -> Result<RecentFailures, AccountError> {
        let p = &self.path;
        let (user, user_last): (i64, Option<String>) = self
            .conn
            .query_row(
                "SELECT COUNT(*), MAX(at) FROM login_attempts
                 WHERE username = ?1 AND outcome = 'failed' AND at > ?2
                   AND at > COALESCE((SELECT MAX(at) FROM login_attempts
                                      WHERE username = ?1 AND outcome = 'ok'), '')",
                params![username, since],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(db(p))?;
        let (client_count, client_last): (i64, Option<String>) = self
            .conn
            .query_row(
                "SELECT COUNT(*), MAX(at) FROM login_attempts
                 WHERE client = ?1 AND outcome = 'failed' AND at > ?2",
                params![client, since],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(db(p))?;
        Ok(RecentFailures {
            user: user as u64,
            user_last,
            client: client_count as u64,
            client_last,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::register::Register;

    fn admin() -> Actor {
        Actor {
            name: "root".into(),
            station: "register".into(),
        }
    }

    #[test]
    fn a_removed_user_loses_tokens_and_sessions() {
        let dir = tempfile::tempdir().unwrap();
        let mut reg = SqliteRegister::open(&dir.path().join("r.sqlite")).unwrap();
        reg.add_user("ann", Role::Compliance, "$argon2id$x", &admin())
            .unwrap();
        assert!(matches!(
            reg.add_user("ann", Role::Admin, "$argon2id$y", &admin()),
            Err(AccountError::UserExists(_))
        ));
        reg.add_user_token("ann", "t1", &admin()).unwrap();
        reg.start_session("s1", "ann", "c1", "2999-01-01T00:00:00Z")
            .unwrap();
        assert_eq!(
            reg.user_of_token("t1").unwrap(),
            Some(("ann".into(), Role::Compliance))
        );
        let now = crate::timestamp::now();
        assert_eq!(reg.session("s1", &now).unwrap().unwrap().csrf, "c1");
        assert_eq!(reg.users().unwrap()[0].tokens, 1);
        reg.remove_user("ann", &admin()).unwrap();
        assert!(reg.user_of_token("t1").unwrap().is_none());
        assert!(reg.session("s1", &now).unwrap().is_none());
        assert!(matches!(
            reg.remove_user("ann", &admin()),
            Err(AccountError::UnknownUser(_))
        ));
        assert!(reg.audit().map(|a| a.ok).unwrap_or(false));
    }

    #[test]
    fn an_expired_session_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let mut reg = SqliteRegister::open(&dir.path().join("r.sqlite")).unwrap();
        reg.add_user("ann", Role::Intake, "$argon2id$x", &admin())
            .unwrap();
        reg.start_session("s1", "ann", "c1", "2026-01-01T00:00:10Z")
            .unwrap();
        assert!(reg.session("s1", "2026-01-01T00:00:09Z").unwrap().is_some());
        assert!(reg.session("s1", "2026-01-01T00:00:10Z").unwrap().is_none());
        // Removed, not only hidden.
        assert!(reg.session("s1", "2000-01-01T00:00:00Z").unwrap().is_none());
    }

    #[test]
    fn failures_count_per_name_since_its_last_success_and_per_address() {
        let dir = tempfile::tempdir().unwrap();
        let mut reg = SqliteRegister::open(&dir.path().join("r.sqlite")).unwrap();
        for _ in 0..3 {
            reg.log_login("ann", "10.0.0.1", LoginOutcome::Failed)
                .unwrap();
        }
        reg.log_login("bob", "10.0.0.1", LoginOutcome::Failed)
            .unwrap();
        let f = reg
            .recent_failures("ann", "10.0.0.1", "2000-01-01T00:00:00Z")
            .unwrap();
        assert_eq!((f.user, f.client), (3, 4));
        // Far in the future: nothing is recent.
        let f = reg
            .recent_failures("ann", "10.0.0.1", "2999-01-01T00:00:00Z")
            .unwrap();
        assert_eq!((f.user, f.client), (0, 0));
    }
}
