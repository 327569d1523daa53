//! Reading scans at goods-in: one per line, as a barcode scanner types them (the label's tag or
//! a serial, then Enter) or as a file piped in. A line is read in pieces and never held beyond
//! [`MAX_SCAN`] bytes, so a runaway line (a scanner stuck on a key, a wrong file) costs no
//! memory and is refused whole; a line that is not UTF-8 or holds control characters is
//! refused too. Nothing refused reaches the register.

use std::io::{self, BufRead};

/// The longest scan taken, in bytes: tags and serials are short; a barcode of a few hundred
/// characters is not one of them.
pub const MAX_SCAN: usize = 256;

/// One line of input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A scan, trimmed of surrounding white space.
    Scan(String),
    /// Nothing but white space.
    Empty,
    /// Longer than [`MAX_SCAN`] bytes: refused unread (`bytes`: how long it was).
    TooLong { bytes: u64 },
    /// Not UTF-8.
    NotUtf8,
    /// Holds a control character (other than the line's end).
    Control,
}

/// Lines of scans from `R`.
pub struct ScanReader<R> {
    inner: R,
}

impl<R: BufRead> ScanReader<R> {
    pub fn new(inner: R) -> ScanReader<R> {
        ScanReader { inner }
    }

    /// The next line, or `None` at the end of the input.
    pub fn next_line(&mut self) -> io::Result<Option<Line>> {
        let mut kept: Vec<u8> = Vec::new();
        let mut bytes: u64 = 0;
        let mut over = false;
        let mut any = false;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                if !any {
                    return Ok(None);
                }
                break;
            }
            any = true;
            let (piece, used, end) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (&available[..i], i + 1, true),
                None => (available, available.len(), false),
            };
            bytes += piece.len() as u64;
            if !over && kept.len() + piece.len() > MAX_SCAN {
                over = true;
                kept = Vec::new();
            }
            if !over {
                kept.extend_from_slice(piece);
            }
            self.inner.consume(used);
            if end {
                break;
            }
        }
        if over {
            return Ok(Some(Line::TooLong { bytes }));
        }
        if kept.last() == Some(&b'\r') {
            kept.pop();
        }
        Ok(Some(Line::of(&kept)))
    }
}

impl Line {
    /// What one scan (a line without its end, as a web page sends it) is.
    pub fn of(scanned: &[u8]) -> Line {
        if scanned.len() > MAX_SCAN {
            return Line::TooLong {
                bytes: scanned.len() as u64,
            };
        }
        let Ok(text) = std::str::from_utf8(scanned) else {
            return Line::NotUtf8;
        };
        let text = text.trim();
        if text.is_empty() {
            Line::Empty
        } else if text.chars().any(char::is_control) {
            Line::Control
        } else {
            Line::Scan(text.to_string())
        }
    }
}

/// Why a line was refused, in words (`None` for a scan).
pub fn refusal(line: &Line) -> Option<String> {
    match line {
        Line::Scan(_) => None,
        Line::Empty => Some("empty line: nothing recorded".into()),
        Line::TooLong { bytes } => Some(format!(
            "refused: a line of {bytes} bytes is no tag or serial (at most {MAX_SCAN}); nothing recorded"
        )),
        Line::NotUtf8 => Some("refused: the line is not UTF-8 text; nothing recorded".into()),
        Line::Control => {
            Some("refused: the line holds control characters; nothing recorded".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8]) -> Vec<Line> {
        // A small buffer, so lines arrive in pieces as from a scanner.
        let mut r = ScanReader::new(io::BufReader::with_capacity(7, input));
        let mut out = Vec::new();
        while let Some(l) = r.next_line().expect("read") {
            out.push(l);
        }
        out
    }

    #[test]
    fn scans_empty_lines_crlf_and_a_last_line_without_newline() {
        let lines = all(b" A-1 \r\n\n  \nSERIAL-99");
        assert_eq!(
            lines,
            vec![
                Line::Scan("A-1".into()),
                Line::Empty,
                Line::Empty,
                Line::Scan("SERIAL-99".into())
            ]
        );
    }

    #[test]
    fn a_long_line_is_refused_whole_and_the_next_is_read() {
        let mut input = vec![b'x'; 10 << 20];
        input.extend_from_slice(b"\nA-2\n");
        let lines = all(&input);
        assert_eq!(
            lines,
            vec![Line::TooLong { bytes: 10 << 20 }, Line::Scan("A-2".into())]
        );
        let exactly = vec![b'y'; MAX_SCAN];
        assert_eq!(all(&exactly), vec![Line::Scan("y".repeat(MAX_SCAN))]);
    }

    #[test]
    fn invalid_utf8_and_control_characters_are_refused() {
        assert_eq!(all(b"A\xff1\nB\x1b2\n"), vec![Line::NotUtf8, Line::Control]);
        assert!(refusal(&Line::NotUtf8).is_some_and(|m| m.contains("nothing recorded")));
    }
}
