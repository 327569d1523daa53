//! The command line: parse with clap, call one workflow, print a table (stderr for people,
//! stdout for results) or one JSON document (`--json`).
//!
//! Exit codes: 0 all PASS / success, 1 some FAIL or verification failed,
//! 2 usage or environment error.
//!
//! A command run with `--json` prints exactly one JSON document on stdout, also when it fails:
//! [`main`] turns an error that no document was printed for into `{"error": "..."}`, once for
//! every command, so no command can forget it.

mod assets;
mod ca;
mod collections;
mod intake;
mod inventory;
mod keys;
mod list;
mod output;
mod remote;
mod station;
mod stations;
mod unfreeze;
mod users;
mod verify;
mod wipe;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::{Created, StateDir};

/// Exit status of a command that ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Everything passed.
    Success = 0,
    /// Something failed (a wipe, a verification).
    Failure = 1,
    /// Usage or environment error.
    Error = 2,
}

#[derive(Debug, Parser)]
#[command(
    name = "wipeproof",
    version,
    about = "Erase drives by verified overwrite or firmware sanitize, and prove it with signed certificates",
    propagate_version = true
)]
pub struct Cli {
    /// State directory (config, keys, register, certificates).
    #[arg(long, global = true, env = "WIPEPROOF_HOME", value_name = "DIR")]
    home: Option<PathBuf>,
    /// Override a config setting for this run, e.g. --set station.operator="Ann Smith".
    #[arg(long = "set", global = true, value_name = "SECTION.KEY=VALUE")]
    set: Vec<String>,
    /// The person operating the station (overrides station.operator).
    #[arg(long, global = true, value_name = "NAME")]
    operator: Option<String>,
    /// This station's id (overrides station.id).
    #[arg(long, global = true, value_name = "ID")]
    station: Option<String>,
    /// The register to act on: sqlite:PATH (default: the state directory's file) or
    /// postgres://USER@HOST[:PORT]/DATABASE.
    #[arg(long, global = true, env = "WIPEPROOF_DATABASE", value_name = "URL")]
    database: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List drives, with protected ones marked and why.
    List(list::ListArgs),
    /// Erase drives or image files, verify, and issue a signed certificate for each.
    Wipe(wipe::WipeArgs),
    /// Verify a certificate (PDF or JSON), optionally against the drive.
    Verify(verify::VerifyArgs),
    /// Manage the station's signing key and trusted keys.
    Keys(keys::KeysArgs),
    /// Book collections in from customer manifests, print asset labels, record the pick-up,
    /// receive by scan at goods-in, reconcile and resolve what is missing.
    Intake(intake::IntakeArgs),
    /// Where each collection stands (booked, collected, received, reconciled, closed), and
    /// one collection's chain of custody.
    Collections(collections::CollectionsArgs),
    /// The asset register: list, show, review unmatched drives, record destruction, audit.
    Assets(assets::AssetsArgs),
    /// Write the signed report of a collection for the customer (PDF and JSON).
    Report(remote::ReportArgs),
    /// Send pending certificates to the central register.
    Sync(remote::SyncArgs),
    /// Serve this state directory's register as the central register over HTTP.
    Serve(remote::ServeArgs),
    /// Stations enrolled in this (central) register: add, list, remove, revoke, certify.
    Stations(stations::StationsArgs),
    /// The central register's certificate authority: export its certificate, or import one.
    Ca(ca::CaArgs),
    /// Read tokens of the central register's HTTP API: add, list, remove.
    Tokens(stations::TokensArgs),
    /// People who sign in to the central register's web pages: add, list, remove, token.
    Users(users::UsersArgs),
    /// The wipe station: every drive on one screen (or JSON lines with --headless), drives
    /// found as they are plugged in, wipes started and stopped at any time.
    Station(station::StationArgs),
    /// Suspend to RAM and resume, to unfreeze SATA drives' security (the clock wakes the station).
    Unfreeze(unfreeze::UnfreezeArgs),
    /// The computer itself: SMBIOS system, board, chassis, BIOS, processors, memory, and
    /// batteries.
    Inventory(inventory::InventoryArgs),
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches).map(|cli| (cli, matches)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            if !e.use_stderr() {
                // --help and --version: their text is the output.
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            // Which command was meant is unknown, so a `--json` anywhere asks for JSON.
            if std::env::args_os()
                .skip(1)
                .take_while(|a| a != "--")
                .any(|a| a == "--json")
            {
                // The message is the text before clap's usage hint.
                let text = e.render().to_string();
                let message: Vec<&str> = text
                    .lines()
                    .take_while(|l| !l.trim().is_empty())
                    .map(str::trim)
                    .collect();
                fail_json(message.join(" ").trim_start_matches("error: "));
            }
            let _ = e.print();
            return ExitCode::from(Status::Error as u8);
        }
    };
    let json = wants_json(&matches);
    let result = run(cli);
    if std::env::var_os("WIPEPROOF_DEBUG_SCANS").is_some() {
        crate::stderr_line!(
            "wipeproof: debug: {} full scans of /sys/block, {} disks read again",
            crate::device::snapshot::full_scans(),
            crate::device::snapshot::disk_rescans()
        );
    }
    match result {
        Ok(status) => ExitCode::from(status as u8),
        Err(e) => {
            let message = error_text(&e);
            crate::stderr_line!("wipeproof: error: {message}");
            if json {
                fail_json(&message);
            }
            ExitCode::from(Status::Error as u8)
        }
    }
}

/// An error and its causes in one line. A layer's error usually names its cause in its own
/// message already (`cannot write key K: Invalid argument`); that cause is not repeated.
pub(crate) fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.is_empty() {
            text = part;
        } else if !text.ends_with(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
    }
    text
}

/// Whether the command that was given (at any depth of subcommands) has `--json` set.
fn wants_json(matches: &ArgMatches) -> bool {
    let here = matches
        .try_get_one::<bool>("json")
        .ok()
        .flatten()
        .copied()
        .unwrap_or(false);
    here || matches.subcommand().is_some_and(|(_, sub)| wants_json(sub))
}

/// Prints `{"error": why}` on stdout, unless the command already printed its document.
fn fail_json(why: &str) {
    if output::json_printed() {
        return;
    }
    if let Err(e) = output::print_json(&serde_json::json!({ "error": why })) {
        crate::stderr_line!("wipeproof: {e}");
    }
}

fn run(cli: Cli) -> anyhow::Result<Status> {
    match &cli.command {
        Command::List(args) => {
            let state = open_state(&cli)?;
            list::run(args, &state)
        }
        Command::Wipe(args) => {
            let state = open_state(&cli)?;
            wipe::run(args, &state)
        }
        Command::Verify(args) => {
            // An auditor's machine may have no station: read the trust store if there is one,
            // create nothing.
            let root = match &cli.home {
                Some(h) => h.clone(),
                None => StateDir::default_root()?,
            };
            let state = StateDir::open_existing(&root)?;
            verify::run(args, state.as_ref())
        }
        Command::Keys(args) => keys::run(args, &open_state(&cli)?),
        Command::Intake(args) => intake::run(args, &open_state(&cli)?),
        Command::Assets(args) => assets::run(args, &open_state(&cli)?),
        Command::Collections(args) => collections::run(args, &open_state(&cli)?),
        Command::Report(args) => remote::report(args, &open_state(&cli)?),
        Command::Sync(args) => remote::sync_cmd(args, &open_state(&cli)?),
        Command::Serve(args) => remote::serve(args, &open_state(&cli)?),
        Command::Stations(args) => stations::stations(args, &open_state(&cli)?),
        Command::Ca(args) => ca::run(args, &open_state(&cli)?),
        Command::Tokens(args) => stations::tokens(args, &open_state(&cli)?),
        Command::Users(args) => users::run(args, &open_state(&cli)?),
        Command::Station(args) => station::run(args, &open_state(&cli)?),
        Command::Unfreeze(args) => unfreeze::run(args, &open_state(&cli)?),
        Command::Inventory(args) => inventory::run(args),
    }
}

/// Opens the state directory, applies overrides, and says where it is on first use.
fn open_state(cli: &Cli) -> anyhow::Result<StateDir> {
    let root = match &cli.home {
        Some(h) => h.clone(),
        None => StateDir::default_root()?,
    };
    let (mut state, created) = StateDir::open(&root)?;
    if created == Created::New {
        crate::stderr_line!(
            "wipeproof: created state directory {} with default config {}; \
             set organisation.name there before issuing certificates",
            state.root().display(),
            state.config_path().display()
        );
    }
    // On the live image, kernel options (wipeproof.NAME=VALUE) come over the file, and flags
    // over both. A bad one is reported and skipped: a typo at the boot menu must not stop a
    // station.
    if let Some(cmdline) = std::env::var_os(crate::boot_options::ENV) {
        for option in crate::boot_options::parse(&cmdline.to_string_lossy()) {
            match option {
                crate::boot_options::BootOption::Setting(assignment) => {
                    if let Err(e) = state.config.apply_override(&assignment) {
                        crate::stderr_line!(
                            "wipeproof: ignoring kernel option for {assignment}: {e}"
                        );
                    }
                }
                crate::boot_options::BootOption::Unknown(word) => {
                    crate::stderr_line!("wipeproof: ignoring unknown kernel option {word}");
                }
            }
        }
    }
    for assignment in &cli.set {
        state.config.apply_override(assignment)?;
    }
    if let Some(op) = &cli.operator {
        state.config.station.operator = crate::config::Operator::new(op)?;
    }
    if let Some(id) = &cli.station {
        state.config.station.id = id.clone();
    }
    if let Some(url) = &cli.database {
        match crate::register::Location::parse(url)
            .map_err(|why| anyhow::anyhow!("--database {why}"))?
        {
            crate::register::Location::Sqlite(path) => {
                // Relative to the working directory, as a path on the command line is.
                state.config.paths.register = if path.is_absolute() {
                    path
                } else {
                    std::env::current_dir()?.join(path)
                };
                state.config.paths.database = None;
            }
            crate::register::Location::Postgres(url) => state.config.paths.database = Some(url),
        }
    }
    Ok(state)
}

/// Who is acting: the operator at this station.
fn actor(state: &StateDir) -> crate::register::Actor {
    crate::register::Actor {
        name: state.config.station.operator.to_string(),
        station: state.config.station.id.clone(),
    }
}

/// Opens the register of the state directory (or the one `--database` names).
fn open_register(state: &StateDir) -> anyhow::Result<Box<dyn crate::register::Register>> {
    Ok(state.register_location()?.open()?)
}

#[cfg(test)]
mod tests {
    use super::error_text;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot write key /k: {source}")]
    struct Names {
        source: std::io::Error,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("cannot write key /k")]
    struct Hides {
        source: std::io::Error,
    }

    fn einval() -> std::io::Error {
        std::io::Error::from_raw_os_error(22)
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let e = anyhow::Error::new(Names { source: einval() });
        assert_eq!(
            error_text(&e),
            "cannot write key /k: Invalid argument (os error 22)"
        );
        let e = anyhow::Error::new(Hides { source: einval() });
        assert_eq!(
            error_text(&e),
            "cannot write key /k: Invalid argument (os error 22)"
        );
        let e = anyhow::Error::new(Names { source: einval() }).context("keys init");
        assert_eq!(
            error_text(&e),
            "keys init: cannot write key /k: Invalid argument (os error 22)"
        );
    }
}
