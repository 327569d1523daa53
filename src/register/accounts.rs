//! The accounts of the people who read the central register, as the register keeps them: a
//! role each, the hash of their password, the hashes of their API tokens and sign-in sessions,
//! and the log of sign-in attempts.
//!
//! * [`Role`] and [`Permission`]: what each role may do, defined once in [`Role::may`].
//! * [`Accounts`]: the storage, written once over both backends in `store::accounts`; a
//!   supertrait of [`super::Register`], so any open register serves the web pages.
//!
//! Only hashes are stored: the Argon2id PHC string of a password, the SHA-256 of a token or a
//! session id. Making and checking them is the server's work (`crate::server::secrets`).

use serde::Serialize;

use super::{Actor, RegisterError};

/// What a person may do with the register.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Runs the register: everything, including the accounts page and resolving a missing
    /// asset.
    Admin,
    /// Compliance officers and auditors: read, verify, sign collection reports.
    Compliance,
    /// Books collections in: read, verify, receive a collection at goods-in by scanning.
    Intake,
    /// Wipes drives at a station: read and verify.
    Technician,
}

/// Something a request may want to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read pages and the `/api/v1` reads; download certificates.
    Read,
    /// Upload a certificate to verify it (nothing is stored).
    Verify,
    /// Have the register sign a collection's report.
    SignReport,
    /// See who has an account.
    ManageUsers,
    /// Receive a collection at goods-in: each scan is recorded.
    Receive,
    /// Resolve a missing asset of a collection with a reason.
    ResolveMissing,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Admin,
        Role::Compliance,
        Role::Intake,
        Role::Technician,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Compliance => "compliance",
            Role::Intake => "intake",
            Role::Technician => "technician",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether this role may do `p`: the one place that says what each role may do.
    pub fn may(&self, p: Permission) -> bool {
        match p {
            Permission::Read | Permission::Verify => true,
            Permission::SignReport => matches!(self, Role::Admin | Role::Compliance),
            Permission::ManageUsers | Permission::ResolveMissing => matches!(self, Role::Admin),
            Permission::Receive => matches!(self, Role::Admin | Role::Intake),
        }
    }
}

/// One line of `users list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserView {
    pub name: String,
    pub role: Role,
    pub created_at: String,
    /// API tokens made for this person.
    pub tokens: u64,
    pub last_sign_in: Option<String>,
}

/// A signed-in session, found by the SHA-256 of its cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionView {
    pub user: String,
    pub role: Role,
    /// The token every form of this session carries (cross-site request forgery).
    pub csrf: String,
    pub expires_at: String,
}

/// How a sign-in attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome {
    /// Signed in.
    Ok,
    /// Wrong password or unknown user (the two are never told apart).
    Failed,
    /// Not tried: too many failures for this name or address.
    Refused,
}

impl LoginOutcome {
    pub fn as_str(&self) -> &'static str {
        match self {
            LoginOutcome::Ok => "ok",
            LoginOutcome::Failed => "failed",
            LoginOutcome::Refused => "refused",
        }
    }
}

/// Failed sign-ins within a window, for a name and for a client address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecentFailures {
    /// Failures for the name since its last successful sign-in (within the window).
    pub user: u64,
    pub user_last: Option<String>,
    /// Failures from the address (within the window), whatever name they tried.
    pub client: u64,
    pub client_last: Option<String>,
}

/// Errors of accounts. Each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Register(#[from] RegisterError),
    #[error(
        "a user named {0} exists already; `wipeproof users remove {0}` first, or choose another name"
    )]
    UserExists(String),
    #[error("no user named {0}; `wipeproof users list` shows them")]
    UnknownUser(String),
    #[error(
        "user name {0:?}: use 1 to 64 letters, digits, '.', '-', '_' or '@' (it is typed at sign-in)"
    )]
    BadName(String),
    #[error(
        "the password is too short: {MIN_PASSWORD_CHARS} characters at least (a passphrase of a few words is easy to type and hard to guess)"
    )]
    ShortPassword,
    #[error("the password is longer than {MAX_PASSWORD_BYTES} bytes")]
    LongPassword,
}

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Longest password accepted (hashing is costly; a form field is bounded anyway).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Checks a user name: short, printable, no spaces (it is typed on the sign-in page).
pub fn check_name(name: &str) -> Result<(), AccountError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'));
    if ok {
        Ok(())
    } else {
        Err(AccountError::BadName(name.into()))
    }
}

/// Checks a new password's length.
pub fn check_password(password: &str) -> Result<(), AccountError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AccountError::LongPassword);
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::ShortPassword);
    }
    Ok(())
}

/// The accounts of a register. Every write is one transaction.
pub trait Accounts {
    /// Adds a person with a password hash (PHC string).
    fn add_user(
        &mut self,
        name: &str,
        role: Role,
        password_phc: &str,
        actor: &Actor,
    ) -> Result<(), AccountError>;
    fn users(&self) -> Result<Vec<UserView>, AccountError>;
    /// Removes a person with their API tokens and sessions.
    fn remove_user(&mut self, name: &str, actor: &Actor) -> Result<(), AccountError>;
    /// Stores the SHA-256 of a new API token of `name`.
    fn add_user_token(
        &mut self,
        name: &str,
        sha256: &str,
        actor: &Actor,
    ) -> Result<(), AccountError>;
    /// The person (and role) whose API token has this SHA-256.
    fn user_of_token(&self, sha256: &str) -> Result<Option<(String, Role)>, AccountError>;
    /// The role and password hash of `name`, if there is such a user.
    fn credentials(&self, name: &str) -> Result<Option<(Role, String)>, AccountError>;

    /// Starts a session: the SHA-256 of its cookie, its CSRF token, when it ends.
    fn start_session(
        &mut self,
        sha256: &str,
        user: &str,
        csrf: &str,
        expires_at: &str,
    ) -> Result<(), AccountError>;
    /// The session with this SHA-256 if it has not expired at `now` (expired ones are removed).
    fn session(&mut self, sha256: &str, now: &str) -> Result<Option<SessionView>, AccountError>;
    fn end_session(&mut self, sha256: &str) -> Result<(), AccountError>;

    /// Logs a sign-in attempt.
    fn log_login(
        &mut self,
        username: &str,
        client: &str,
        outcome: LoginOutcome,
    ) -> Result<(), AccountError>;
    /// Failed sign-ins since `since` for `username` and from `client`.
    fn recent_failures(
        &self,
        username: &str,
        client: &str,
        since: &str,
    ) -> Result<RecentFailures, AccountError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_say_who_may_do_what() {
        for role in Role::ALL {
            assert!(role.may(Permission::Read) && role.may(Permission::Verify));
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert!(Role::Compliance.may(Permission::SignReport));
        assert!(!Role::Technician.may(Permission::SignReport));
        assert!(!Role::Compliance.may(Permission::ManageUsers));
        assert!(Role::Admin.may(Permission::ManageUsers));
        for (role, receive, resolve) in [
            (Role::Admin, true, true),
            (Role::Intake, true, false),
            (Role::Compliance, false, false),
            (Role::Technician, false, false),
        ] {
            assert_eq!(role.may(Permission::Receive), receive, "{role:?}");
            assert_eq!(role.may(Permission::ResolveMissing), resolve, "{role:?}");
        }
    }

    #[test]
    fn names_and_passwords_are_checked() {
        assert!(check_name("ann.smith@acme").is_ok());
        for bad in ["", "ann smith", "<b>", &"a".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            check_password("short"),
            Err(AccountError::ShortPassword)
        ));
        assert!(check_password("twelve chars").is_ok());
        assert!(matches!(
            check_password(&"x".repeat(1025)),
            Err(AccountError::LongPassword)
        ));
    }
}
