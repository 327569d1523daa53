//! Accounts in the register: people with a role and an Argon2id password hash, their API
//! tokens and sign-in sessions (SHA-256 only), and the log of sign-in attempts. Adding or
//! removing a person or a token is a custody event.

use crate::register::db::{Db, DbError, Row, params};

use super::{SqlRegister, Store, custody, db, rows};
use crate::register::Actor;
use crate::register::accounts::*;

fn role_of(r: &Row, column: usize) -> Result<Role, DbError> {
    let s: String = r.get(column)?;
    Role::parse(&s).ok_or_else(|| DbError::Column {
        column: column.to_string(),
        message: format!("unknown role {s:?}"),
    })
}

/// Whether a user named `name` exists.
fn user_exists(tx: &dyn Db, p: &str, name: &str) -> Result<bool, crate::register::RegisterError> {
    let found: Option<String> = tx
        .query_opt(
            "SELECT name FROM users WHERE name = ?1",
            params![name],
            |r| r.get(0),
        )
        .map_err(db(p))?;
    Ok(found.is_some())
}

impl<S: Store> Accounts for SqlRegister<S> {
    fn add_user(
        &mut self,
        name: &str,
        role: Role,
        password_phc: &str,
        actor: &Actor,
    ) -> Result<(), AccountError> {
        check_name(name)?;
        let added = self.store.write(&mut |tx, p| {
            if user_exists(tx, p, name)? {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO users (name, role, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
                params![name, role.as_str(), password_phc, crate::timestamp::now()],
            )
            .map_err(db(p))?;
            custody::append(
                tx,
                p,
                actor,
                None,
                "user",
                serde_json::json!({ "name": name, "role": role.as_str() }),
            )?;
            Ok(true)
        })?;
        if !added {
            return Err(AccountError::UserExists(name.into()));
        }
        Ok(())
    }

    fn users(&self) -> Result<Vec<UserView>, AccountError> {
        Ok(self.store.read(&mut |conn, p| {
            rows(
                conn,
                p,
                "SELECT u.name, u.role, u.created_at,
                        (SELECT COUNT(*) FROM user_tokens t WHERE t.user_name = u.name),
                        (SELECT MAX(l.at) FROM login_attempts l WHERE l.username = u.name AND l.outcome = 'ok')
                 FROM users u ORDER BY u.name",
                params![],
                |r| {
                    Ok(UserView {
                        name: r.get(0)?,
                        role: role_of(r, 1)?,
                        created_at: r.get(2)?,
                        tokens: r.get::<_, i64>(3)? as u64,
                        last_sign_in: r.get(4)?,
                    })
                },
            )
        })?)
    }

    fn remove_user(&mut self, name: &str, actor: &Actor) -> Result<(), AccountError> {
        let removed = self.store.write(&mut |tx, p| {
            tx.execute(
                "DELETE FROM user_tokens WHERE user_name = ?1",
                params![name],
            )
            .map_err(db(p))?;
            tx.execute(
                "DELETE FROM web_sessions WHERE user_name = ?1",
                params![name],
            )
            .map_err(db(p))?;
            let removed = tx
                .execute("DELETE FROM users WHERE name = ?1", params![name])
                .map_err(db(p))?;
            if removed == 0 {
                return Ok(false);
            }
            custody::append(
                tx,
                p,
                actor,
                None,
                "user-removed",
                serde_json::json!({ "name": name }),
            )?;
            Ok(true)
        })?;
        if !removed {
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
        let known = self.store.write(&mut |tx, p| {
            if !user_exists(tx, p, name)? {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO user_tokens (sha256, user_name, created_at) VALUES (?1, ?2, ?3)",
                params![sha256, name, crate::timestamp::now()],
            )
            .map_err(db(p))?;
            custody::append(
                tx,
                p,
                actor,
                None,
                "user-token",
                serde_json::json!({ "name": name }),
            )?;
            Ok(true)
        })?;
        if !known {
            return Err(AccountError::UnknownUser(name.into()));
        }
        Ok(())
    }

    fn user_of_token(&self, sha256: &str) -> Result<Option<(String, Role)>, AccountError> {
        Ok(self.store.read(&mut |conn, p| {
            conn.query_opt(
                "SELECT u.name, u.role FROM user_tokens t JOIN users u ON u.name = t.user_name
                 WHERE t.sha256 = ?1",
                params![sha256],
                |r| Ok((r.get(0)?, role_of(r, 1)?)),
            )
            .map_err(db(p))
        })?)
    }

    fn credentials(&self, name: &str) -> Result<Option<(Role, String)>, AccountError> {
        Ok(self.store.read(&mut |conn, p| {
            conn.query_opt(
                "SELECT role, password_hash FROM users WHERE name = ?1",
                params![name],
                |r| Ok((role_of(r, 0)?, r.get(1)?)),
            )
            .map_err(db(p))
        })?)
    }

    fn start_session(
        &mut self,
        sha256: &str,
        user: &str,
        csrf: &str,
        expires_at: &str,
    ) -> Result<(), AccountError> {
        let now = crate::timestamp::now();
        Ok(self.store.write(&mut |tx, p| {
            // Sessions that ended are of no use to anyone: clear them as new ones start.
            tx.execute(
                "DELETE FROM web_sessions WHERE expires_at <= ?1",
                params![now],
            )
            .map_err(db(p))?;
            tx.execute(
                "INSERT INTO web_sessions (sha256, user_name, csrf, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![sha256, user, csrf, now, expires_at],
            )
            .map_err(db(p))?;
            Ok(())
        })?)
    }

    fn session(&mut self, sha256: &str, now: &str) -> Result<Option<SessionView>, AccountError> {
        let found = self.store.read(&mut |conn, p| {
            conn.query_opt(
                "SELECT s.user_name, u.role, s.csrf, s.expires_at
                 FROM web_sessions s JOIN users u ON u.name = s.user_name WHERE s.sha256 = ?1",
                params![sha256],
                |r| {
                    Ok(SessionView {
                        user: r.get(0)?,
                        role: role_of(r, 1)?,
                        csrf: r.get(2)?,
                        expires_at: r.get(3)?,
                    })
                },
            )
            .map_err(db(p))
        })?;
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
        Ok(self.store.write(&mut |tx, p| {
            tx.execute(
                "DELETE FROM web_sessions WHERE sha256 = ?1",
                params![sha256],
            )
            .map_err(db(p))?;
            Ok(())
        })?)
    }

    fn log_login(
        &mut self,
        username: &str,
        client: &str,
        outcome: LoginOutcome,
    ) -> Result<(), AccountError> {
        let id = uuid::Uuid::new_v4().to_string();
        let at = crate::timestamp::now();
        Ok(self.store.write(&mut |tx, p| {
            tx.execute(
                "INSERT INTO login_attempts (id, at, username, client, outcome)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, at, username, client, outcome.as_str()],
            )
            .map_err(db(p))?;
            Ok(())
        })?)
    }

    fn recent_failures(
        &self,
        username: &str,
        client: &str,
        since: &str,
    ) -> Result<RecentFailures, AccountError> {
        Ok(self.store.read(&mut |conn, p| {
            let (user, user_last): (i64, Option<String>) = conn
                .query_row(
                    "SELECT COUNT(*), MAX(at) FROM login_attempts
                     WHERE username = ?1 AND outcome = 'failed' AND at > ?2
                       AND at > COALESCE((SELECT MAX(at) FROM login_attempts
                                          WHERE username = ?1 AND outcome = 'ok'), '')",
                    params![username, since],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .map_err(db(p))?;
            let (client_count, client_last): (i64, Option<String>) = conn
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
        })?)
    }
}
