//! Text for people on stderr and results on stdout, written so that a closed or broken terminal
//! never stops the station.
//!
//! `eprintln!` and `println!` panic when the write fails. A wipe's progress and log lines must
//! not: when the terminal is closed, or stderr is piped into a reader that has stopped reading
//! (`wipeproof wipe ... 2>&1 | head -1`), a panic in a drive's worker would end the wipe
//! half-way with no certificate. So every line for people goes through [`stderr_line!`], which
//! drops what cannot be written: losing a progress line is harmless, losing a certificate is
//! not. (SIGPIPE is ignored, by the Rust runtime and again by the wipe's signal set-up, so a
//! closed pipe is an `EPIPE` error here rather than a killed process.)
//!
//! Results on stdout are different: whoever reads them needs to know that they are incomplete,
//! so [`stdout_line!`] returns the error for the command to report.
//!
//! The integration tests (`tests/it/wipe.rs`) prove this on the real binary, with stderr piped
//! into a reader that closes early.

use std::fmt;
use std::io::{self, Write};

/// Writes `args` and a newline to stderr in one locked write; a failure is ignored.
pub fn stderr_line(args: fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.write_all(b"\n"));
}

/// Writes `args` to stderr without a newline (a prompt), then flushes; a failure is ignored.
pub fn stderr_text(args: fmt::Arguments<'_>) {
    let mut err = io::stderr().lock();
    let _ = err.write_fmt(args).and_then(|()| err.flush());
}

/// Writes `args` and a newline to stdout and flushes, so a reader that went away is noticed now.
pub fn stdout_line(args: fmt::Arguments<'_>) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(stdout_error)
}

/// Writes `args` to stdout as they are (a table that ends in a newline) and flushes.
pub fn stdout_text(args: fmt::Arguments<'_>) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_fmt(args)
        .and_then(|()| out.flush())
        .map_err(stdout_error)
}

/// The same error, saying where the write went.
fn stdout_error(e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("cannot write to standard output: {e}"))
}

/// `eprintln!` that never panics: a line for people on stderr, dropped if stderr is gone.
#[macro_export]
macro_rules! stderr_line {
    ($($arg:tt)*) => {
        $crate::console::stderr_line(format_args!($($arg)*))
    };
}

/// `eprint!` that never panics (for prompts).
#[macro_export]
macro_rules! stderr_text {
    ($($arg:tt)*) => {
        $crate::console::stderr_text(format_args!($($arg)*))
    };
}

/// `println!` that returns the write error instead of panicking: `stdout_line!(...)?`.
#[macro_export]
macro_rules! stdout_line {
    ($($arg:tt)*) => {
        $crate::console::stdout_line(format_args!($($arg)*))
    };
}

/// `print!` that returns the write error instead of panicking: `stdout_text!(...)?`.
#[macro_export]
macro_rules! stdout_text {
    ($($arg:tt)*) => {
        $crate::console::stdout_text(format_args!($($arg)*))
    };
}
