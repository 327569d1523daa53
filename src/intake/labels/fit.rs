//! Where everything goes on one label, in points from its lower left corner, for any label
//! size: the Code 128 barcode across the bottom, the QR code at the top right, and beside it
//! the asset tag (always whole: its font shrinks until it fits, and a tag that does not fit at
//! the smallest size is refused) above the serial, customer and collection (each shrinks,
//! then wraps or is cut with an ellipsis). Nothing is drawn over a code or off the label.
//! The PDF and the ZPL are both drawn from this one plan.

use super::LabelError;
use super::code128;
use crate::certificate::fonts;
use crate::certificate::page::{Font, clean, qr_modules};
use crate::register::AssetSummary;

pub const PT_PER_MM: f32 = 72.0 / 25.4;
/// The narrowest bar a scanner at a goods-in desk reads reliably (7.5 mil).
pub const MIN_MODULE_MM: f32 = 0.19;
/// The tag is never set smaller than this, the other lines never smaller than `MIN_SMALL`.
pub const MIN_TAG_PT: f32 = 6.0;
pub const MIN_SMALL_PT: f32 = 5.0;
/// Quiet zone each side of a Code 128 symbol, in modules (ISO/IEC 15417).
const BAR_QUIET: f32 = 10.0;
/// Quiet zone round the QR code inside its square, in modules (the label's margin adds more).
const QR_QUIET: f32 = 2.0;
const ELLIPSIS: char = '…';

/// One line of text; `y` is its baseline.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub x: f32,
    pub y: f32,
    pub size: f32,
    pub font: Font,
    pub text: String,
}

/// A code's place: `x`, `y` its lower left corner, `w` x `h` points.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rect {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

/// The plan of one label.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub width: f32,
    pub height: f32,
    pub tag: Line,
    pub lines: Vec<Line>,
    /// The QR code's square (quiet zone inside) and its modules.
    pub qr: Rect,
    pub qr_modules: Vec<Vec<bool>>,
    /// The barcode's bars (quiet zones outside `bars`), the width of one module, the modules.
    pub bars: Rect,
    pub module: f32,
    pub bar_modules: Vec<bool>,
}

impl Plan {
    /// The QR code's modules' square: its place minus the quiet zone.
    pub fn qr_symbol(&self) -> Rect {
        let n = self.qr_modules.len() as f32;
        let cell = self.qr.w / (n + 2.0 * QR_QUIET);
        Rect {
            x: self.qr.x + QR_QUIET * cell,
            y: self.qr.y + QR_QUIET * cell,
            w: n * cell,
            h: n * cell,
        }
    }

    /// The filled rectangles of the barcode, one per bar.
    pub fn bar_rects(&self) -> Vec<Rect> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.bar_modules.len() {
            if !self.bar_modules[i] {
                i += 1;
                continue;
            }
            let start = i;
            while i < self.bar_modules.len() && self.bar_modules[i] {
                i += 1;
            }
            out.push(Rect {
                x: self.bars.x + start as f32 * self.module,
                y: self.bars.y,
                w: (i - start) as f32 * self.module,
                h: self.bars.h,
            });
        }
        out
    }
}

/// The plan of `asset`'s label of `width` x `height` millimetres.
pub fn plan(asset: &AssetSummary, width_mm: f32, height_mm: f32) -> Result<Plan, LabelError> {
    let (w, h) = (width_mm * PT_PER_MM, height_mm * PT_PER_MM);
    let size = || format!("a {width_mm}x{height_mm}mm label");
    let m = (w.min(h) * 0.07).clamp(4.0, 14.0);
    let inner_h = h - 2.0 * m;
    let gap = m * 0.6;

    // The barcode across the bottom; the margin counts towards its quiet zone.
    let bar_modules = code128::modules(&asset.asset_tag)?;
    let n = bar_modules.len() as f32;
    let module = ((w - 2.0 * m) / n).min(w / (n + 2.0 * BAR_QUIET)).min(1.5);
    if module < MIN_MODULE_MM * PT_PER_MM {
        return Err(LabelError::TagTooLong {
            tag: asset.asset_tag.clone(),
            size: size(),
            what: "its barcode",
        });
    }
    let bar_h = (inner_h * 0.3).clamp(14.0, 72.0);

    // The QR code at the top right, the text to its left, the barcode right under them (on
    // a tall label the space left is at the bottom).
    let top_h = inner_h - bar_h - gap;
    let qr_side = top_h.min((w - 2.0 * m) * 0.45);
    let bars = Rect {
        x: (w - n * module) / 2.0,
        y: h - m - qr_side - gap - bar_h,
        w: n * module,
        h: bar_h,
    };
    let qr = Rect {
        x: w - m - qr_side,
        y: h - m - qr_side,
        w: qr_side,
        h: qr_side,
    };
    let text_w = w - 2.0 * m - qr_side - gap;
    let tag_max = (inner_h * 0.2).clamp(9.0, 36.0);
    let tag_text = clean(&asset.asset_tag);
    let tag_size =
        largest_fitting(&tag_text, Font::Bold, tag_max, MIN_TAG_PT, text_w).ok_or_else(|| {
            LabelError::TagTooLong {
                tag: asset.asset_tag.clone(),
                size: size(),
                what: "its text",
            }
        })?;
    let tag = Line {
        x: m,
        y: h - m - tag_size * 0.8,
        size: tag_size,
        font: Font::Bold,
        text: tag_text,
    };
    // The small lines between the tag and the barcode.
    let top = tag.y - tag_size * 0.25 - gap * 0.5;
    let bottom = bars.y + bar_h + gap;
    let small_max = (tag_max * 0.5).max(MIN_SMALL_PT);
    let lines = small_lines(asset, m, text_w, top, bottom, small_max);
    Ok(Plan {
        width: w,
        height: h,
        tag,
        lines,
        qr,
        qr_modules: qr_modules(&asset.asset_tag),
        bars,
        module,
        bar_modules,
    })
}

/// The largest size from `max` down to `min` (in quarter points) at which `text` fits one line
/// of `width` points.
fn largest_fitting(text: &str, font: Font, max: f32, min: f32, width: f32) -> Option<f32> {
    let mut s = max;
    while s >= min {
        if fonts::width(font, s, text) <= width {
            return Some(s);
        }
        s -= 0.25;
    }
    None
}

/// `text` cut to fit `width` points, ending with an ellipsis if anything was cut.
pub fn ellipsize(text: &str, font: Font, size: f32, width: f32) -> String {
    if fonts::width(font, size, text) <= width {
        return text.to_string();
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let cut: String = chars.iter().collect::<String>().trim_end().to_string() + "…";
        if fonts::width(font, size, &cut) <= width {
            return cut;
        }
    }
    ELLIPSIS.to_string()
}

/// The serial, customer and collection lines in the box from `top` down to `bottom`: the
/// largest size at which each fits one line; at the smallest size, the customer and the
/// collection wrap at spaces into the rows left over, and what still does not fit is cut with
/// an ellipsis. Lines that find no row at all are left off, last first.
fn small_lines(
    asset: &AssetSummary,
    x: f32,
    width: f32,
    top: f32,
    bottom: f32,
    max: f32,
) -> Vec<Line> {
    let kind = asset.asset_type.as_deref().unwrap_or("");
    let fields = [
        (format!("S/N {}", asset.serial), false),
        (asset.customer.clone(), true),
        (
            format!("{} {kind}", asset.collection).trim().to_string(),
            true,
        ),
    ];
    let fields: Vec<(String, bool)> = fields
        .into_iter()
        .map(|(t, wraps)| (clean(&t), wraps))
        .filter(|(t, _)| !t.trim().is_empty())
        .collect();
    let rows_at = |s: f32| ((top - bottom) / (s * 1.2)).floor().max(0.0) as usize;
    let mut size = max;
    while size > MIN_SMALL_PT
        && (rows_at(size) < fields.len()
            || fields
                .iter()
                .any(|(t, _)| fonts::width(Font::Regular, size, t) > width))
    {
        size = (size - 0.25).max(MIN_SMALL_PT);
    }
    let rows = rows_at(size);
    let mut spare = rows.saturating_sub(fields.len());
    let mut texts = Vec::new();
    for (text, wraps) in &fields {
        if texts.len() >= rows {
            break;
        }
        let mut parts = if *wraps {
            wrap_at_spaces(text, size, width)
        } else {
            vec![text.clone()]
        };
        let keep = (1 + spare).min(parts.len()).min(rows - texts.len());
        spare -= keep - 1;
        if parts.len() > keep {
            let rest = parts[keep - 1..].join(" ");
            parts.truncate(keep - 1);
            parts.push(rest);
        }
        texts.extend(
            parts
                .iter()
                .map(|p| ellipsize(p, Font::Regular, size, width)),
        );
    }
    texts
        .into_iter()
        .enumerate()
        .map(|(i, text)| Line {
            x,
            y: top - size * (1.2 * i as f32 + 0.95),
            size,
            font: Font::Regular,
            text,
        })
        .collect()
}

/// Lines of `text` broken only at spaces (a word too long for a line stays whole, to be cut
/// with an ellipsis later).
fn wrap_at_spaces(text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        match lines.last_mut() {
            Some(line) if fonts::width(Font::Regular, size, &format!("{line} {word}")) <= width => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}
