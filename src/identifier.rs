//! The characters an identifier people compare by eye may not hold: asset tags, serials,
//! models, makes, customers, collections, operators, stations, organisations.
//!
//! Control characters break lines and terminals; bidirectional controls (U+202A-U+202E,
//! U+2066-U+2069) reorder what is shown, so `Mod\u{202E}321` reads as "Mod123"; zero-width
//! and other invisible format characters (Unicode category Cf: U+200B, U+200D, U+FEFF, ...)
//! make two identifiers that look the same differ. One function, [`problem`], checks them
//! wherever an identifier comes in: a manifest, a station's settings and flags, a certificate
//! a station sends to the central register.

use unicode_general_category::{GeneralCategory, get_general_category};

/// Why `value` cannot be an identifier people compare, naming the first character that is
/// not allowed, if one is there.
pub fn problem(value: &str) -> Option<String> {
    let c = value.chars().find(|&c| hidden(c).is_some())?;
    let (kind, effect) = hidden(c)?;
    Some(format!(
        "holds {kind} U+{:04X}{effect}; type it again without it",
        u32::from(c)
    ))
}

/// What `c` is and what it does, if an identifier may not hold it.
fn hidden(c: char) -> Option<(&'static str, &'static str)> {
    if c.is_control() {
        return Some(("the control character", ""));
    }
    if matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') {
        return Some((
            "the bidirectional control",
            ", which changes the order in which the text is shown",
        ));
    }
    if get_general_category(c) == GeneralCategory::Format {
        return Some((
            "the invisible format character",
            ", which makes it differ from what it looks like",
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_controls_and_invisible_characters_are_named() {
        let why = problem("Mod\u{202E}321").unwrap();
        assert!(
            why.contains("U+202E") && why.contains("bidirectional"),
            "{why}"
        );
        assert!(problem("A\u{2066}B").unwrap().contains("U+2066"));
        assert!(problem("A\u{200B}B").unwrap().contains("invisible"));
        assert!(problem("A\u{200D}B").unwrap().contains("U+200D"));
        assert!(problem("\u{FEFF}A").unwrap().contains("U+FEFF"));
        assert!(problem("A\u{7}").unwrap().contains("control character"));
        for fine in [
            "ThinkPad T14, Gen 2",
            "Müller & Söhne",
            "東芝",
            "WD-WX11",
            "مدل",
        ] {
            assert_eq!(problem(fine), None, "{fine}");
        }
    }
}
