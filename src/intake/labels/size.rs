//! Label sizes: `62x29mm` (Brother's continuous roll), `4x6in` and `2x1in` (Zebra), any
//! `WxH` in `mm` or `in`, and `a4`, a sheet of 24 labels of 70 x 37 mm (3 across, 8 down).

use std::fmt;
use std::str::FromStr;

use super::LabelError;

/// Millimetres per inch.
const MM_PER_INCH: f32 = 25.4;
/// The smallest and largest label side taken, in millimetres.
const MIN_MM: f32 = 15.0;
const MAX_MM: f32 = 300.0;

/// What the labels are printed on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LabelSize {
    /// One label per page (a roll of labels), `width` x `height` millimetres.
    Roll { width: f32, height: f32 },
    /// A4 sheets of 3 x 8 labels of 70 x 37 mm.
    A4Sheet,
}

/// Where the labels of an A4 sheet are: columns, rows, each label's size and the sheet's top
/// margin, in millimetres.
pub const A4_SHEET: SheetGrid = SheetGrid {
    columns: 3,
    rows: 8,
    label_mm: (70.0, 37.0),
    top_mm: 0.5,
};

/// A grid of labels on a sheet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SheetGrid {
    pub columns: usize,
    pub rows: usize,
    pub label_mm: (f32, f32),
    pub top_mm: f32,
}

impl Default for LabelSize {
    /// The 62 x 29 mm label, one per page, as labels have always been printed.
    fn default() -> Self {
        LabelSize::Roll {
            width: 62.0,
            height: 29.0,
        }
    }
}

impl LabelSize {
    /// One label's size in millimetres.
    pub fn label_mm(&self) -> (f32, f32) {
        match *self {
            LabelSize::Roll { width, height } => (width, height),
            LabelSize::A4Sheet => A4_SHEET.label_mm,
        }
    }
}

impl fmt::Display for LabelSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LabelSize::Roll { width, height } => write!(f, "{width}x{height}mm"),
            LabelSize::A4Sheet => f.write_str("a4"),
        }
    }
}

impl FromStr for LabelSize {
    type Err = LabelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| LabelError::BadSize {
            given: s.to_string(),
            why: why.to_string(),
        };
        let t = s.trim().to_ascii_lowercase();
        if t == "a4" {
            return Ok(LabelSize::A4Sheet);
        }
        let (numbers, per_unit) = if let Some(n) = t.strip_suffix("mm") {
            (n, 1.0)
        } else if let Some(n) = t.strip_suffix("in") {
            (n, MM_PER_INCH)
        } else {
            return Err(bad("the size needs a unit, mm or in"));
        };
        let (w, h) = numbers
            .split_once('x')
            .ok_or_else(|| bad("write it as WIDTHxHEIGHT with a unit"))?;
        let number = |n: &str| {
            n.trim()
                .parse::<f32>()
                .ok()
                .filter(|v| v.is_finite() && *v > 0.0)
                .ok_or_else(|| bad(&format!("{:?} is not a positive number", n.trim())))
        };
        let (width, height) = (number(w)? * per_unit, number(h)? * per_unit);
        for side in [width, height] {
            if !(MIN_MM..=MAX_MM).contains(&side) {
                return Err(bad(&format!(
                    "each side must be between {MIN_MM} and {MAX_MM} mm"
                )));
            }
        }
        Ok(LabelSize::Roll { width, height })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roll(s: &str) -> (f32, f32) {
        match s.parse::<LabelSize>() {
            Ok(LabelSize::Roll { width, height }) => (width, height),
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn the_printers_sizes_parse_in_millimetres_and_inches() {
        assert_eq!(roll("62x29mm"), (62.0, 29.0));
        assert_eq!(roll(" 62X29MM "), (62.0, 29.0));
        let (w, h) = roll("4x6in");
        assert!((w - 101.6).abs() < 1e-3 && (h - 152.4).abs() < 1e-3);
        let (w, h) = roll("2x1in");
        assert!((w - 50.8).abs() < 1e-3 && (h - 25.4).abs() < 1e-3);
        assert_eq!(roll("2.5x1.25in").0, 63.5);
        assert_eq!("a4".parse::<LabelSize>().ok(), Some(LabelSize::A4Sheet));
        assert_eq!("A4".parse::<LabelSize>().ok(), Some(LabelSize::A4Sheet));
        assert_eq!(LabelSize::default().label_mm(), (62.0, 29.0));
        assert_eq!(LabelSize::A4Sheet.label_mm(), (70.0, 37.0));
    }

    #[test]
    fn a_bad_size_is_refused_with_what_is_wrong() {
        for (given, says) in [
            ("62x29", "unit"),
            ("62x29cm", "unit"),
            ("62mm", "WIDTHxHEIGHT"),
            ("x29mm", "not a positive number"),
            ("62xmm", "not a positive number"),
            ("-62x29mm", "not a positive number"),
            ("0x29mm", "not a positive number"),
            ("NaNx29mm", "not a positive number"),
            ("1x1mm", "between"),
            ("62x2900mm", "between"),
            ("", "unit"),
        ] {
            match given.parse::<LabelSize>() {
                Err(e) => {
                    let msg = e.to_string();
                    assert!(msg.contains(says), "{given}: {msg}");
                    assert!(msg.contains("--size"), "{given}: {msg}");
                }
                Ok(s) => panic!("{given} parsed as {s:?}"),
            }
        }
    }
}
