//! ZPL II for Zebra printers: one `^XA ... ^XZ` format per asset, drawn from the same plan as
//! the PDF (see `fit`), in dots at the printer's resolution. Field data goes through `^FH`
//! hex escapes wherever ZPL would read it as a command: `^` and `~` (the format and control
//! prefixes), `_` (the escape itself) and everything outside printable ASCII (UTF-8, `^CI28`).

use std::fmt::Write;

use super::LabelError;
use super::fit::Plan;

/// The narrowest bar printed: a thermal printer places whole dots sharply, so 6.5 mil (two
/// dots at 300 dpi) reads as well as the PDF's 7.5 mil; one dot at 203 dpi does not.
const MIN_MODULE_MM: f32 = 0.165;

/// The resolution of most Zebra desktop printers.
pub const DEFAULT_DPI: u32 = 203;

/// `text` as `^FH` field data.
pub fn escape(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        let c = b as char;
        if (c.is_ascii_graphic() && !matches!(c, '^' | '~' | '_')) || c == ' ' {
            out.push(c);
        } else {
            let _ = write!(out, "_{b:02X}");
        }
    }
    out
}

/// The ZPL format of one label.
pub fn format(plan: &Plan, tag: &str, dpi: u32) -> Result<String, LabelError> {
    let k = dpi as f32 / 72.0;
    let dots = |pt: f32| (pt * k).round().max(0.0) as u32;
    // ZPL measures down from the top.
    let down = |y_pt: f32| dots(plan.height - y_pt);
    let mut z = String::new();
    let _ = write!(
        z,
        "^XA\n^CI28\n^PW{}\n^LL{}\n^LH0,0\n",
        dots(plan.width),
        dots(plan.height)
    );
    for line in std::iter::once(&plan.tag).chain(&plan.lines) {
        let h = dots(line.size).max(1);
        let _ = writeln!(
            z,
            "^FO{},{}^A0N,{h},{h}^FH^FD{}^FS",
            dots(line.x),
            down(line.y + line.size * 0.8),
            escape(&line.text)
        );
    }
    // The QR code: model 2, error correction M, the largest whole magnification that fits.
    let symbol = plan.qr_symbol();
    let n = plan.qr_modules.len().max(1) as f32;
    let mag = ((symbol.w * k / n).floor() as u32).clamp(1, 10);
    let _ = writeln!(
        z,
        "^FO{},{}^BQN,2,{mag}^FH^FDMA,{}^FS",
        dots(symbol.x),
        down(symbol.y + symbol.h),
        escape(tag)
    );
    // Code 128 in automatic mode (the printer picks subsets B and C as the plan does), with
    // whole-dot modules no narrower than a scanner reads.
    let module = (plan.module * k).floor() as u32;
    if (module as f32) * 25.4 / (dpi as f32) < MIN_MODULE_MM {
        return Err(LabelError::TagTooLong {
            tag: tag.to_string(),
            size: format!(
                "a {:.0}x{:.0}mm label at {dpi} dpi (bars of whole dots; --dpi 300 prints finer)",
                plan.width / 72.0 * 25.4,
                plan.height / 72.0 * 25.4
            ),
            what: "its barcode",
        });
    }
    let width = module as f32 * plan.bar_modules.len() as f32 / k;
    let bar_h = dots(plan.bars.h);
    let _ = writeln!(
        z,
        "^FO{},{}^BY{module}^BCN,{bar_h},N,N,N,A^FH^FD{}^FS",
        dots((plan.width - width) / 2.0),
        down(plan.bars.y + plan.bars.h),
        escape(tag)
    );
    z.push_str("^XZ\n");
    Ok(z)
}
