//! Waiting for the keyboard without spinning when the terminal goes away.
//!
//! crossterm's event reader loops for ever, at a full core, once the terminal it reads has
//! hung up (its read returns end-of-file and it reads again): a station whose SSH connection
//! dropped, or whose tmux session was killed, would never reach its own stop. So the screen
//! waits on the terminal itself first, and asks crossterm for an event only when there are
//! bytes to read and the terminal is still there. A hang-up is then seen at once and handled
//! as SIGHUP is: every wipe stops with its certificate and the station leaves.

use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

/// What the terminal had after a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Waited {
    /// Bytes to read: a key, a paste, a scan.
    Ready,
    /// Nothing within the wait.
    Nothing,
    /// The terminal hung up or was closed: nobody can see the screen or type any more.
    Gone,
}

/// The terminal crossterm reads keys from: standard input when it is a terminal, otherwise
/// `/dev/tty` (as crossterm chooses).
pub enum TerminalInput {
    Stdin(io::Stdin),
    Tty(File),
}

impl TerminalInput {
    pub fn open() -> io::Result<TerminalInput> {
        if nix::unistd::isatty(io::stdin().as_fd()).unwrap_or(false) {
            return Ok(TerminalInput::Stdin(io::stdin()));
        }
        let tty = File::open("/dev/tty").map_err(|e| {
            io::Error::new(
                e.kind(),
                format!(
                    "cannot open /dev/tty for the station's keys: {e}; run `wipeproof station` \
                     in a terminal, or with --headless"
                ),
            )
        })?;
        Ok(TerminalInput::Tty(tty))
    }

    fn fd(&self) -> BorrowedFd<'_> {
        match self {
            TerminalInput::Stdin(stdin) => stdin.as_fd(),
            TerminalInput::Tty(tty) => tty.as_fd(),
        }
    }

    /// Waits up to `limit` for the terminal to have bytes to read or to go away.
    pub fn wait(&self, limit: Duration) -> io::Result<Waited> {
        wait_on(self.fd(), limit)
    }
}

fn wait_on(fd: BorrowedFd<'_>, limit: Duration) -> io::Result<Waited> {
    let ms = u16::try_from(limit.as_millis()).unwrap_or(u16::MAX);
    let mut fds = [PollFd::new(fd, PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::from(ms)) {
        Ok(0) => return Ok(Waited::Nothing),
        Ok(_) => {}
        Err(nix::errno::Errno::EINTR) => return Ok(Waited::Nothing),
        Err(e) => return Err(io::Error::from(e)),
    }
    let got = fds[0].revents().unwrap_or(PollFlags::empty());
    // A hang-up wins over bytes still buffered: with nobody at the terminal, a half-read key
    // would make crossterm read again for ever.
    if got.intersects(PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL) {
        Ok(Waited::Gone)
    } else if got.contains(PollFlags::POLLIN) {
        Ok(Waited::Ready)
    } else {
        Ok(Waited::Nothing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::os::fd::OwnedFd;

    fn pipe() -> (File, File) {
        let (r, w): (OwnedFd, OwnedFd) = nix::unistd::pipe().unwrap();
        (File::from(r), File::from(w))
    }

    #[test]
    fn bytes_are_ready_and_a_closed_other_end_is_gone() {
        let (r, mut w) = pipe();
        assert_eq!(
            wait_on(r.as_fd(), Duration::from_millis(10)).unwrap(),
            Waited::Nothing
        );
        w.write_all(b"s").unwrap();
        assert_eq!(
            wait_on(r.as_fd(), Duration::from_millis(10)).unwrap(),
            Waited::Ready
        );
        drop(w);
        assert_eq!(
            wait_on(r.as_fd(), Duration::from_millis(10)).unwrap(),
            Waited::Gone
        );
    }
}
