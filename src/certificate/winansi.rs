//! WinAnsiEncoding (PDF 32000-1 Annex D.2), the single-byte encoding of the PDF standard fonts
//! the certificate is set in. Text on the page is limited to what it can show: anything else is
//! drawn, and compared, as `?`.

const HIGH: [(u8, char); 27] = [
    (0x80, '\u{20AC}'),
    (0x82, '\u{201A}'),
    (0x83, '\u{0192}'),
    (0x84, '\u{201E}'),
    (0x85, '\u{2026}'),
    (0x86, '\u{2020}'),
    (0x87, '\u{2021}'),
    (0x88, '\u{02C6}'),
    (0x89, '\u{2030}'),
    (0x8A, '\u{0160}'),
    (0x8B, '\u{2039}'),
    (0x8C, '\u{0152}'),
    (0x8E, '\u{017D}'),
    (0x91, '\u{2018}'),
    (0x92, '\u{2019}'),
    (0x93, '\u{201C}'),
    (0x94, '\u{201D}'),
    (0x95, '\u{2022}'),
    (0x96, '\u{2013}'),
    (0x97, '\u{2014}'),
    (0x98, '\u{02DC}'),
    (0x99, '\u{2122}'),
    (0x9A, '\u{0161}'),
    (0x9B, '\u{203A}'),
    (0x9C, '\u{0153}'),
    (0x9E, '\u{017E}'),
    (0x9F, '\u{0178}'),
];

/// The WinAnsi byte of a character, if it has one (control characters have none).
pub fn byte(c: char) -> Option<u8> {
    match c as u32 {
        cp @ 0x20..=0x7E | cp @ 0xA0..=0xFF => Some(cp as u8),
        _ => HIGH.iter().find(|(_, h)| *h == c).map(|(b, _)| *b),
    }
}

/// The character of a WinAnsi byte (`?` for bytes the encoding leaves undefined).
pub fn char_of(b: u8) -> char {
    match b {
        0x20..=0x7E | 0xA0..=0xFF => b as char,
        _ => HIGH
            .iter()
            .find(|(x, _)| *x == b)
            .map(|(_, c)| *c)
            .unwrap_or('?'),
    }
}

/// Text as it will appear on the page: whitespace controls become spaces, characters WinAnsi
/// cannot show become `?`.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                ' '
            } else if byte(c).is_some() {
                c
            } else {
                '?'
            }
        })
        .collect()
}

/// Decodes WinAnsi bytes.
pub fn decode(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char_of(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_everything_printable() {
        let s = printable("Müller & Søn — “Zürich” €5 漢字\ttab");
        assert_eq!(s, "Müller & Søn — “Zürich” €5 ?? tab");
        let bytes: Vec<u8> = s.chars().map(|c| byte(c).unwrap()).collect();
        assert_eq!(decode(&bytes), s);
        assert_eq!(char_of(0x81), '?');
    }
}
