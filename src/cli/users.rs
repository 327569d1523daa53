//! People who read the central register: `users add|list|remove|token`. What each role may do
//! is defined in `register::accounts::Role::may`.

use std::io::{BufRead, IsTerminal};

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};

use super::output::{print_json, table};
use super::{Status, actor, open_register};
use crate::config::StateDir;
use crate::register::accounts::{Role, check_name, check_password};
use crate::server::secrets::{hash_password, new_secret, secret_sha256};

#[derive(Debug, Args)]
pub struct UsersArgs {
    #[command(subcommand)]
    command: UsersCommand,
}

/// A role, as typed on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum RoleArg {
    /// Everything, including the list of accounts.
    Admin,
    /// Read, verify, and have the register sign collection reports.
    Compliance,
    /// Read and verify.
    Intake,
    /// Read and verify.
    Technician,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Admin => Role::Admin,
            RoleArg::Compliance => Role::Compliance,
            RoleArg::Intake => Role::Intake,
            RoleArg::Technician => Role::Technician,
        }
    }
}

#[derive(Debug, Subcommand)]
enum UsersCommand {
    /// Add a person who signs in to the register's web pages.
    Add {
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Read the password from standard input (its first line; at a terminal it is not
        /// shown as it is typed).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List people, their roles and when they last signed in.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a person, with their API tokens and sessions.
    Remove { name: String },
    /// Make an API token for a person and print it once (only its SHA-256 is kept). Scripts
    /// send it as `Authorization: Bearer TOKEN`; it may do what the person's role may.
    Token { name: String },
}

pub fn run(args: &UsersArgs, state: &StateDir) -> anyhow::Result<Status> {
    match &args.command {
        UsersCommand::Add { name, role, .. } => {
            check_name(name)?;
            let password = read_password()?;
            check_password(&password)?;
            let phc = hash_password(&password)?;
            let role = Role::from(*role);
            let mut reg = open_register(state)?;
            reg.add_user(name, role, &phc, &actor(state))?;
            crate::stderr_line!("wipeproof: added {name} ({})", role.as_str());
            Ok(Status::Success)
        }
        UsersCommand::List { json } => {
            let reg = open_register(state)?;
            let list = reg.users()?;
            if *json {
                print_json(&serde_json::json!({ "users": list }))?;
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|u| {
                        vec![
                            u.name.clone(),
                            u.role.as_str().into(),
                            u.created_at.clone(),
                            u.tokens.to_string(),
                            u.last_sign_in.clone().unwrap_or_else(|| "-".into()),
                        ]
                    })
                    .collect();
                crate::stdout_text!(
                    "{}",
                    table(
                        &["NAME", "ROLE", "CREATED", "TOKENS", "LAST SIGN-IN"],
                        &rows
                    )
                )?;
            }
            Ok(Status::Success)
        }
        UsersCommand::Remove { name } => {
            let mut reg = open_register(state)?;
            reg.remove_user(name, &actor(state))?;
            crate::stderr_line!("wipeproof: removed {name}, with their tokens and sessions");
            Ok(Status::Success)
        }
        UsersCommand::Token { name } => {
            let token = new_secret("wpu_")?;
            let mut reg = open_register(state)?;
            reg.add_user_token(name, &secret_sha256(&token), &actor(state))?;
            crate::stderr_line!(
                "wipeproof: token for {name} made; it is shown only now, keep it where its script can read it"
            );
            crate::stdout_line!("{token}")?;
            Ok(Status::Success)
        }
    }
}

/// The first line of standard input, not shown while typed at a terminal.
fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    let _quiet = if stdin.is_terminal() {
        crate::stderr_line!("Password (not shown): ");
        EchoOff::new()
    } else {
        None
    };
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_string();
    zeroize::Zeroize::zeroize(&mut line);
    Ok(password)
}

/// The terminal's echo, switched off while it lives.
struct EchoOff {
    saved: libc::termios,
}

impl EchoOff {
    fn new() -> Option<EchoOff> {
        // SAFETY: tcgetattr fills the termios it is given; fd 0 is standard input.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        if unsafe { libc::tcgetattr(0, &mut t) } != 0 {
            return None;
        }
        let saved = t;
        t.c_lflag &= !libc::ECHO;
        // SAFETY: t is a valid termios read from the same descriptor.
        if unsafe { libc::tcsetattr(0, libc::TCSANOW, &t) } != 0 {
            return None;
        }
        Some(EchoOff { saved })
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        // SAFETY: restores the termios read from fd 0 in `new`.
        unsafe {
            libc::tcsetattr(0, libc::TCSANOW, &self.saved);
        }
        crate::stderr_line!("");
    }
}
