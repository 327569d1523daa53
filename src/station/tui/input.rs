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

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
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

/// Reads the line ends barcode scanners send as people mean them. A scanner ends each scan
/// with CR (read as Enter), LF or CR LF, as it was set up; in raw mode LF arrives as Ctrl-J,
/// which would otherwise be typed into a tag as `j`, or move the selection down a drive. So
/// LF is Enter, and the LF of a CR LF pair (the key right after an Enter in the same read) is
/// dropped. `after_enter`: the previous key of this read was Enter.
pub fn line_end(key: KeyEvent, after_enter: bool) -> Option<KeyEvent> {
    let lf = key.code == KeyCode::Char('j') && key.modifiers.contains(KeyModifiers::CONTROL);
    match (lf, after_enter) {
        (true, true) => None,
        (true, false) => Some(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        (false, _) => Some(key),
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
    fn a_scanners_lf_and_cr_lf_end_a_scan_once() {
        let ctrl_j = KeyEvent::new(KeyCode::Char('j'), KeyModifiers::CONTROL);
        let enter = KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE);
        let j = KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE);
        assert_eq!(line_end(ctrl_j, false), Some(enter));
        assert_eq!(line_end(ctrl_j, true), None);
        assert_eq!(line_end(j, true), Some(j));
        assert_eq!(line_end(enter, true), Some(enter));
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
