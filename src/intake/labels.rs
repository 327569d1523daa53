//! Asset labels for a label printer: one 62 x 29 mm label per page (the common continuous
//! label roll), with the asset tag large, customer, collection and serial small, and a QR code
//! holding the asset tag for the scanner at the wipe station.

use crate::certificate::page::clean;
use crate::certificate::page::{Colour, Font, Item, Page, qr_modules};
use crate::certificate::pdf::{PdfError, PdfInfo, render_sized};

use crate::register::AssetSummary;

/// Label size in millimetres.
pub const LABEL_MM: (f32, f32) = (62.0, 29.0);
const PT_PER_MM: f32 = 72.0 / 25.4;

/// One label.
fn label(a: &AssetSummary) -> Page {
    let (w, h) = (LABEL_MM.0 * PT_PER_MM, LABEL_MM.1 * PT_PER_MM);
    // Leave a quiet zone round the code for scanners.
    let qr = h - 14.0;
    let text = |x: f32, y: f32, size: f32, font: Font, t: &str| Item::Text {
        x,
        y,
        size,
        font,
        colour: Colour::Black,
        text: clean(t).chars().take(28).collect(),
    };
    Page {
        items: vec![
            text(5.0, h - 17.0, 13.0, Font::Bold, &a.asset_tag),
            text(
                5.0,
                h - 29.0,
                6.5,
                Font::Regular,
                &format!("S/N {}", a.serial),
            ),
            text(5.0, h - 38.0, 6.5, Font::Regular, &a.customer),
            text(
                5.0,
                h - 47.0,
                6.5,
                Font::Regular,
                &format!("{} {}", a.collection, a.asset_type.as_deref().unwrap_or("")),
            ),
            Item::Qr {
                x: w - qr - 7.0,
                y: 7.0,
                size: qr,
                modules: qr_modules(&a.asset_tag),
            },
        ],
    }
}

/// The labels PDF of a list of assets.
pub fn render_labels(collection: &str, assets: &[AssetSummary]) -> Result<Vec<u8>, PdfError> {
    let pages: Vec<Page> = assets.iter().map(label).collect();
    let title = format!("Asset labels, collection {collection}");
    let seed = hex::encode(blake3::hash(title.as_bytes()).as_bytes());
    render_sized(
        &pages,
        LABEL_MM,
        &PdfInfo {
            title: &title,
            author: "wipeproof",
            id_seed: &seed,
            seal: crate::certificate::pdf::Seal::None,
        },
        &[],
    )
}
