//! The Code 128 barcode of an asset tag: which code set carries which part (B for text, C for
//! long runs of digits, two to a symbol), and the modules (`true` = bar) from `barcoders`.

use super::LabelError;

/// barcoders' marks that select a code set.
const SET_B: char = 'Ɓ';
const SET_C: char = 'Ć';

/// Whether Code 128 (set B) carries `c`: printable ASCII.
pub fn carries(c: char) -> bool {
    (' '..='~').contains(&c)
}

/// The data for barcoders: set B, with set C for a run of digits long enough to make the code
/// shorter (4 or more at either end, 6 or more inside); an odd digit stays in set B.
fn with_sets(tag: &str) -> String {
    let chars: Vec<char> = tag.chars().collect();
    let mut out = String::new();
    let mut set = None;
    let mut switch = |out: &mut String, to: char| {
        if set != Some(to) {
            out.push(to);
            set = Some(to);
        }
    };
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        let at_end = i == 0 || i + run == chars.len();
        if run >= 6 || (run >= 4 && at_end) {
            let pairs = run / 2 * 2;
            // An odd digit goes into set B: before the pairs, unless the run starts the tag.
            let (before, after) = match (run % 2, i == 0) {
                (1, true) => (0, 1),
                (1, false) => (1, 0),
                _ => (0, 0),
            };
            if before == 1 {
                switch(&mut out, SET_B);
                out.push(chars[i]);
            }
            switch(&mut out, SET_C);
            out.extend(&chars[i + before..i + before + pairs]);
            if after == 1 {
                switch(&mut out, SET_B);
                out.push(chars[i + pairs]);
            }
            i += run;
        } else {
            switch(&mut out, SET_B);
            let n = run.max(1);
            out.extend(&chars[i..i + n]);
            i += n;
        }
    }
    out
}

/// The modules of the tag's Code 128 symbol (start, data, check symbol, stop), without the
/// quiet zones.
pub fn modules(tag: &str) -> Result<Vec<bool>, LabelError> {
    if tag.is_empty() || !tag.chars().all(carries) {
        return Err(LabelError::NotCode128 {
            tag: tag.to_string(),
        });
    }
    let code = barcoders::sym::code128::Code128::new(with_sets(tag)).map_err(|e| {
        LabelError::NotCode128 {
            tag: format!("{tag} ({e})"),
        }
    })?;
    Ok(code.encode().into_iter().map(|m| m == 1).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_go_into_set_c_where_that_is_shorter() {
        assert_eq!(with_sets("ACME-1"), "ƁACME-1");
        assert_eq!(with_sets("123456"), "Ć123456");
        assert_eq!(with_sets("12345"), "Ć1234Ɓ5");
        assert_eq!(with_sets("A-00123"), "ƁA-0Ć0123");
        assert_eq!(with_sets("A12B"), "ƁA12B");
        assert_eq!(with_sets("A123456B"), "ƁAĆ123456ƁB");
        // 11 modules a symbol, 13 for the stop: start, data, check, stop.
        assert_eq!(modules("ACME-1").unwrap().len(), 11 * 8 + 13);
        assert_eq!(modules("123456").unwrap().len(), 11 * 5 + 13);
    }

    #[test]
    fn a_tag_code_128_cannot_carry_is_refused_by_name() {
        for tag in ["", "Bürostuhl-1", "TAB\there"] {
            let e = modules(tag).unwrap_err().to_string();
            assert!(e.contains(&format!("{tag:?}")), "{e}");
        }
    }
}
