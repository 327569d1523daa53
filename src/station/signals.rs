//! The signals that end a wipe session: each one stops it cleanly, none kills it.
//!
//! A wipe that is killed leaves no certificate. So for the whole session:
//!
//! * SIGINT (Ctrl-C), SIGTERM (shutdown, `kill`) and SIGHUP (the terminal was closed, the SSH
//!   connection dropped) only set the session's [`StopFlag`]: every drive stops within one
//!   buffer, and ends INCOMPLETE with a certificate and a checkpoint to resume from.
//! * SIGPIPE is ignored, so a reader of stdout or stderr that went away makes writes fail with
//!   `EPIPE` (which [`crate::console`] drops for people's text) instead of killing the process.
//!   The Rust runtime ignores it already; saying so here keeps it true for any front-end.
//!
//! Install the handlers after the operator has confirmed, not before: until then a signal
//! should end the process at once, and nothing has been erased.

use std::io;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::erase::StopFlag;

/// The signals that ask a session to stop.
pub const STOP_SIGNALS: [i32; 3] = [SIGINT, SIGTERM, SIGHUP];

/// Makes SIGINT, SIGTERM and SIGHUP set `stop` instead of ending the process, and ignores
/// SIGPIPE. The handlers stay for the rest of the process: once a session has started, its
/// certificates are written before the process ends, whatever arrives.
pub fn stop_on_signals(stop: &StopFlag) -> io::Result<()> {
    ignore_sigpipe()?;
    for signal in STOP_SIGNALS {
        signal_hook::flag::register(signal, stop.shared()).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot install the handler for signal {signal}: {e}"),
            )
        })?;
    }
    Ok(())
}

fn ignore_sigpipe() -> io::Result<()> {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: SIG_IGN runs no code in the handler, so nothing here can be unsafe to run in a
    // signal context.
    unsafe { signal(Signal::SIGPIPE, SigHandler::SigIgn) }
        .map(|_| ())
        .map_err(|e| io::Error::other(format!("cannot ignore SIGPIPE: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_stop_signal_sets_the_flag_and_does_not_end_the_process() {
        for signal in STOP_SIGNALS {
            let stop = StopFlag::new();
            stop_on_signals(&stop).unwrap();
            assert!(!stop.is_stopped());
            signal_hook::low_level::raise(signal).unwrap();
            // A signal raised by the thread itself is delivered before raise() returns.
            assert!(stop.is_stopped(), "signal {signal}");
        }
    }
}
