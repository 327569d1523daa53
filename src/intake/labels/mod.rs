//! Asset labels for label printers: the asset tag large, the serial, customer and collection
//! small, a QR code and a Code 128 barcode of the tag for the scanners at goods-in and at the
//! wipe station. As a PDF of one label per page (`62x29mm` by default, any `WxH` in mm or in)
//! or of A4 sheets of 24, or as ZPL II for Zebra printers.
//!
//! * [`size`]: the sizes taken by `--size`.
//! * [`fit`]: where everything goes on a label, so that no text covers a code or leaves it.
//! * [`code128`]: the barcode's modules.
//! * [`zpl`]: the ZPL II formats.

pub mod code128;
pub mod fit;
pub mod size;
pub mod zpl;

#[cfg(test)]
mod tests;

use crate::certificate::page::{Colour, Item, Page};
use crate::certificate::pdf::{PdfError, PdfInfo, render_sized};
use crate::register::AssetSummary;

pub use size::LabelSize;

/// Label size of the default roll, in millimetres.
pub const LABEL_MM: (f32, f32) = (62.0, 29.0);

/// Why labels cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("label size {given:?}: {why} (--size takes e.g. 62x29mm, 4x6in, 2x1in or a4)")]
    BadSize { given: String, why: String },
    #[error(
        "asset tag {tag:?}: {what} does not fit {size} even at the smallest size that still prints readably; choose a larger --size"
    )]
    TagTooLong {
        tag: String,
        size: String,
        what: &'static str,
    },
    #[error(
        "asset tag {tag:?} has characters a Code 128 barcode cannot carry (printable ASCII only); correct the tag in the manifest and import it again"
    )]
    NotCode128 { tag: String },
    #[error(transparent)]
    Pdf(#[from] PdfError),
}

/// The items of one label whose lower left corner is at `(dx, dy)`.
fn items(plan: &fit::Plan, dx: f32, dy: f32) -> Vec<Item> {
    let mut out: Vec<Item> = std::iter::once(&plan.tag)
        .chain(&plan.lines)
        .map(|l| Item::Text {
            x: l.x + dx,
            y: l.y + dy,
            size: l.size,
            font: l.font,
            colour: Colour::Black,
            text: l.text.clone(),
        })
        .collect();
    let q = plan.qr_symbol();
    out.push(Item::Qr {
        x: q.x + dx,
        y: q.y + dy,
        size: q.w,
        modules: plan.qr_modules.clone(),
    });
    out.extend(plan.bar_rects().into_iter().map(|r| Item::Box {
        x: r.x + dx,
        y: r.y + dy,
        w: r.w,
        h: r.h,
        colour: Colour::Black,
    }));
    out
}

/// The pages of the labels of `assets` on `size`.
pub fn pages(assets: &[AssetSummary], size: LabelSize) -> Result<Vec<Page>, LabelError> {
    let (w, h) = size.label_mm();
    let plans = assets
        .iter()
        .map(|a| fit::plan(a, w, h))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(match size {
        LabelSize::Roll { .. } => plans
            .iter()
            .map(|p| Page {
                items: items(p, 0.0, 0.0),
            })
            .collect(),
        LabelSize::A4Sheet => {
            let grid = size::A4_SHEET;
            let per_sheet = grid.columns * grid.rows;
            let (lw, lh) = (w * fit::PT_PER_MM, h * fit::PT_PER_MM);
            let left = (crate::certificate::page::PAGE_WIDTH - lw * grid.columns as f32) / 2.0;
            let top = crate::certificate::page::PAGE_HEIGHT - grid.top_mm * fit::PT_PER_MM;
            plans
                .chunks(per_sheet)
                .map(|sheet| Page {
                    items: sheet
                        .iter()
                        .enumerate()
                        .flat_map(|(i, p)| {
                            let (col, row) = (i % grid.columns, i / grid.columns);
                            items(p, left + col as f32 * lw, top - (row + 1) as f32 * lh)
                        })
                        .collect(),
                })
                .collect()
        }
    })
}

/// The labels PDF of a list of assets.
pub fn render_labels(
    collection: &str,
    assets: &[AssetSummary],
    size: LabelSize,
) -> Result<Vec<u8>, LabelError> {
    let pages = pages(assets, size)?;
    let page_mm = match size {
        LabelSize::Roll { width, height } => (width, height),
        LabelSize::A4Sheet => crate::certificate::pdf::A4_MM,
    };
    let title = format!("Asset labels, collection {collection}");
    let seed = hex::encode(blake3::hash(title.as_bytes()).as_bytes());
    Ok(render_sized(
        &pages,
        page_mm,
        &PdfInfo {
            title: &title,
            author: "wipeproof",
            id_seed: &seed,
            seal: crate::certificate::pdf::Seal::None,
        },
        &[],
    )?)
}

/// The labels of a list of assets as ZPL II, one format per asset, at `dpi` dots per inch.
pub fn render_zpl(
    assets: &[AssetSummary],
    size: LabelSize,
    dpi: u32,
) -> Result<String, LabelError> {
    let (w, h) = match size {
        LabelSize::Roll { width, height } => (width, height),
        LabelSize::A4Sheet => {
            return Err(LabelError::BadSize {
                given: size.to_string(),
                why: "ZPL is for label printers; give the labels' size".into(),
            });
        }
    };
    let mut out = String::new();
    for a in assets {
        out.push_str(&zpl::format(&fit::plan(a, w, h)?, &a.asset_tag, dpi)?);
    }
    Ok(out)
}
