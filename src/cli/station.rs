//! `wipeproof station`: the wipe station, as a full-screen terminal UI or headless (JSON lines
//! on stdout, one per event). Only parsing and the choice of front-end live here; the station
//! itself is [`crate::station::live::Live`].

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

use super::Status;
use crate::config::StateDir;
use crate::station::context::StationContext;
use crate::station::events::{Fanout, Queue, StationSink};
use crate::station::jsonl::JsonLines;
use crate::station::live::{Auto, Live, Scope, WhenIdle};
use crate::station::progress::StationLog;
use crate::station::tui::{self, TuiOptions};

#[derive(Debug, Args)]
pub struct StationArgs {
    /// No screen: one JSON object per line on stdout for every event, people's lines on stderr.
    #[arg(long)]
    headless: bool,
    /// Wipe every drive that appears after the station started with METHOD, after a delay
    /// (default: station.auto in the config; absent: the operator starts every wipe).
    #[arg(long, value_name = "METHOD")]
    auto: Option<String>,
    /// Seconds before an automatic wipe starts; it can be cancelled meanwhile
    /// (default: station.auto_delay, 10).
    #[arg(long, value_name = "SECS")]
    auto_delay: Option<u64>,
    /// Also wipe drives that were present when the station started (never protected ones).
    #[arg(long)]
    auto_existing: bool,
    /// Look after only drives whose path, serial or model matches GLOB (`*` and `?`), e.g.
    /// --only 'WDC*' --only /dev/sdc; may be given more than once. Others are not shown.
    #[arg(long, value_name = "GLOB")]
    only: Vec<String>,
    /// Headless: exit once unattended work is done (a wipe has ended and nothing has run or
    /// waited for EXIT_AFTER_IDLE seconds), with 0 if every wipe passed. The live image uses it
    /// to save its logs and power off.
    #[arg(long, requires = "headless")]
    exit_when_done: bool,
}

/// How long a headless station with --exit-when-done waits, idle, before it exits: long enough
/// for a drive that is still spinning up to appear.
const EXIT_AFTER_IDLE: Duration = Duration::from_secs(10);

/// How long a headless unattended station waits, idle, before powering off when told to.
const POWEROFF_AFTER_IDLE: Duration = Duration::from_secs(60);

pub fn run(args: &StationArgs, state: &StateDir) -> anyhow::Result<Status> {
    let answered = first_start(args, state)?;
    let state = answered.as_ref().unwrap_or(state);
    let settings = &state.config.station;
    let auto = Auto {
        method: args.auto.clone().or_else(|| settings.auto.clone()),
        delay: Duration::from_secs(args.auto_delay.unwrap_or(settings.auto_delay)),
        existing: args.auto_existing || settings.auto_existing,
    };
    let scope = Scope {
        only: args.only.clone(),
    };
    if !args.headless && !std::io::stdout().is_terminal() {
        bail!(
            "the station's screen needs a terminal; run `wipeproof station --headless` for JSON lines"
        );
    }
    let ctx = StationContext::open(state)?;
    ctx.warn_unconfigured();
    let station_id = state.config.station.id.clone();
    let default_method = auto
        .method
        .clone()
        .unwrap_or_else(|| state.config.defaults.method.clone());
    let auto_method = auto.method.clone();
    // The same rule for the screen and headless: unattended work that is done powers off.
    let poweroff = settings.poweroff_when_done && auto_method.is_some();
    let live = if args.headless {
        let sink: Arc<dyn StationSink> = Arc::new(Fanout::new(vec![
            Arc::new(JsonLines::new(std::io::stdout())),
            Arc::new(StationLog),
        ]));
        let mut live = Live::start(ctx, auto, scope, sink)?;
        live.session()
            .stop_on_signals()
            .context("cannot install the signal handlers")?;
        crate::stderr_line!(
            "wipeproof: station {station_id} is watching for drives{}; stop it with Ctrl-C or SIGTERM",
            auto_method
                .as_deref()
                .map(|m| format!(" (drives that appear are wiped with {m})"))
                .unwrap_or_default()
        );
        let when_done = if args.exit_when_done {
            WhenDone::Exit
        } else if poweroff {
            WhenDone::PowerOff
        } else {
            WhenDone::KeepWatching
        };
        headless(&mut live, when_done);
        live
    } else {
        let queue = Arc::new(Queue::default());
        let mut live = Live::start(ctx, auto, scope, queue.clone())?;
        live.session()
            .stop_on_signals()
            .context("cannot install the signal handlers")?;
        let exit = tui::run(
            &mut live,
            queue,
            TuiOptions {
                station: station_id,
                default_method,
                auto: auto_method,
                colour: tui::colour_allowed(),
                poweroff_after: poweroff.then_some(POWEROFF_AFTER_IDLE),
                configured_operator: Some(state.config.station.operator.to_string())
                    .filter(|o| o != "operator"),
            },
        )
        .context("the terminal UI failed; the terminal was restored")?;
        if exit == tui::Exit::Done {
            power_off();
        }
        live
    };
    let (ended, passed) = live.tally();
    crate::stderr_line!("wipeproof: {ended} wipe(s) ended, {passed} PASS");
    Ok(if ended == passed {
        Status::Success
    } else {
        Status::Failure
    })
}

/// An attended station's first start asks for what certificates need and the settings file
/// lacks, keeps the answers in the file and uses them from now on (with `--set` overrides of
/// other settings kept). A headless or unattended station never waits for a person.
fn first_start(args: &StationArgs, state: &StateDir) -> anyhow::Result<Option<StateDir>> {
    let unattended = args.auto.is_some() || state.config.station.auto.is_some();
    if args.headless
        || unattended
        || !std::io::stdout().is_terminal()
        || !tui::first_start::needed(&state.config)
    {
        return Ok(None);
    }
    let path = state.config_path();
    let Some(answers) = tui::first_start::ask(&state.config, &path).with_context(|| {
        format!(
            "the first-start questions failed; {} is unchanged",
            path.display()
        )
    })?
    else {
        return Ok(None);
    };
    let mut state = state.clone();
    for (setting, value) in answers {
        state
            .config
            .apply_override(&format!("{setting}={value}"))
            .with_context(|| {
                format!(
                    "{} now holds {setting}, but it cannot be used",
                    path.display()
                )
            })?;
    }
    crate::stderr_line!("wipeproof: settings kept in {}", path.display());
    Ok(Some(state))
}

/// What a headless station does once its unattended work is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WhenDone {
    KeepWatching,
    Exit,
    PowerOff,
}

/// Runs until a signal stops the station (or its work is done, as `when_done` says), then
/// waits for every wipe's certificate.
fn headless(live: &mut Live, when_done: WhenDone) {
    let mut idle = WhenIdle::new(match when_done {
        WhenDone::PowerOff => POWEROFF_AFTER_IDLE,
        _ => EXIT_AFTER_IDLE,
    });
    while !live.session().stop_flag().is_stopped() {
        live.tick(Duration::from_millis(250));
        if when_done == WhenDone::KeepWatching || !idle.done(live) {
            continue;
        }
        if when_done == WhenDone::Exit {
            crate::stderr_line!("wipeproof: unattended work is done; the station exits");
            break;
        }
        live.finish();
        power_off();
        return;
    }
    live.finish();
}

/// Powers the machine off (`poweroff`; on the live image /init then saves the logs first).
fn power_off() {
    crate::stderr_line!(
        "wipeproof: unattended work is done; powering off (station.poweroff_when_done)"
    );
    if let Err(e) = std::process::Command::new("poweroff").status() {
        crate::stderr_line!("wipeproof: cannot power off ({e}); switch the station off by hand");
    }
}
