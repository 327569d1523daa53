//! The secrets of the central register's accounts, and who made a request: password hashes
//! (Argon2id), new API tokens and session ids, the SHA-256 under which the register stores
//! them, and constant-time comparison.
//!
//! * [`Principal`]: who made a request (a signed-in person, a person's API token, or a read
//!   token of `wipeproof tokens add`), and what it may do.
//! * [`hash_password`], [`verify_password`], [`new_secret`], [`secret_sha256`]: the secrets.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};

use crate::register::Actor;
use crate::register::accounts::{Permission, Role};

/// A secret could not be made.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot hash the password: {0}")]
    Hash(String),
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
}

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// A person, signed in with a session cookie or sending one of their API tokens.
    User { name: String, role: Role },
    /// A read token of `wipeproof tokens add`: it reads, nothing more.
    ReadToken { name: String },
}

impl Principal {
    pub fn may(&self, p: Permission) -> bool {
        match self {
            Principal::User { role, .. } => role.may(p),
            Principal::ReadToken { .. } => p == Permission::Read,
        }
    }

    /// The name shown on pages and written to logs.
    pub fn name(&self) -> &str {
        match self {
            Principal::User { name, .. } | Principal::ReadToken { name } => name,
        }
    }

    /// As whom the register acts for this principal (custody events, reports).
    pub fn actor(&self, station: &str) -> Actor {
        Actor {
            name: self.name().to_string(),
            station: station.to_string(),
        }
    }
}

/// `n` random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], SecretError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| SecretError::Random(e.to_string()))?;
    Ok(bytes)
}

/// A new random 256-bit secret, hex, after `prefix` (e.g. `wpu_` for a person's API token).
pub fn new_secret(prefix: &str) -> Result<String, SecretError> {
    Ok(format!("{prefix}{}", hex::encode(random_bytes::<32>()?)))
}

/// The SHA-256 (hex) under which a token or session id is stored.
pub fn secret_sha256(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The Argon2id PHC string of a password, with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, SecretError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()?)
        .map_err(|e| SecretError::Hash(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| SecretError::Hash(e.to_string()))
}

/// The stand-in hash checked for names that have no account.
fn stand_in() -> &'static str {
    static STAND_IN: OnceLock<String> = OnceLock::new();
    STAND_IN.get_or_init(|| {
        new_secret("")
            .and_then(|s| hash_password(&s))
            .unwrap_or_default()
    })
}

/// Makes the stand-in hash now (a server calls it at start), so that not even the first
/// sign-in with an unknown name takes longer than one with a wrong password.
pub fn prepare_stand_in() {
    stand_in();
}

/// Whether `password` matches the PHC string `phc`. With `None` (no such user) a stand-in hash
/// is checked, so an unknown name costs the same time as a wrong password.
pub fn verify_password(password: &str, phc: Option<&str>) -> bool {
    let stand_in = stand_in();
    let (phc, known) = match phc {
        Some(p) => (p, true),
        None => (stand_in, false),
    };
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let matches = argon2::Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    matches && known
}

/// Constant-time equality of two secrets (a form's CSRF token and the session's).
pub fn secrets_equal(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_only_against_its_own_hash() {
        let phc = hash_password("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify_password("correct horse battery", Some(&phc)));
        assert!(!verify_password("correct horse batterz", Some(&phc)));
        // Two hashes of one password differ: the salt is random.
        assert_ne!(phc, hash_password("correct horse battery").unwrap());
        // No user: never true, whatever the password.
        assert!(!verify_password("", None));
        assert!(!verify_password("correct horse battery", None));
    }

    #[test]
    fn a_read_token_only_reads() {
        let token = Principal::ReadToken { name: "t".into() };
        assert!(token.may(Permission::Read) && !token.may(Permission::Verify));
        let person = Principal::User {
            name: "ann".into(),
            role: Role::Compliance,
        };
        assert!(person.may(Permission::SignReport) && !person.may(Permission::ManageUsers));
    }
}
