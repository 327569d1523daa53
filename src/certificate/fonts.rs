//! The typefaces of layout 2, built into the binary (see `assets/fonts/`): DejaVu Sans,
//! DejaVu Sans Bold and DejaVu Sans Mono for Latin, Greek, Cyrillic and much more, and a subset
//! of Droid Sans Fallback for Chinese, Japanese and Korean. This module answers which face
//! shows a character, how wide text is (so the layout can wrap and shrink it inside its box),
//! and cuts each face down to the glyphs a document uses before it is embedded.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use allsorts::binary::read::ReadScope;
use allsorts::font_data::FontData;
use allsorts::subset::{CmapTarget, SubsetProfile};
use allsorts::tables::cmap::Cmap;
use allsorts::tables::{FontTableProvider, HeadTable, HheaTable, HmtxTable, MaxpTable};
use allsorts::tag;

use super::page::Font;

/// One embedded font program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Face {
    Sans,
    SansBold,
    Mono,
    Cjk,
}

impl Face {
    pub const ALL: [Face; 4] = [Face::Sans, Face::SansBold, Face::Mono, Face::Cjk];

    fn bytes(self) -> &'static [u8] {
        match self {
            Face::Sans => include_bytes!("../../assets/fonts/DejaVuSans.ttf"),
            Face::SansBold => include_bytes!("../../assets/fonts/DejaVuSans-Bold.ttf"),
            Face::Mono => include_bytes!("../../assets/fonts/DejaVuSansMono.ttf"),
            Face::Cjk => include_bytes!("../../assets/fonts/DroidSansFallback-CJK.ttf"),
        }
    }

    /// The font resource name on the page.
    pub fn resource(self) -> &'static str {
        match self {
            Face::Sans => "WS",
            Face::SansBold => "WB",
            Face::Mono => "WM",
            Face::Cjk => "WC",
        }
    }

    fn metrics(self) -> &'static Metrics {
        static M: [OnceLock<Metrics>; 4] = [const { OnceLock::new() }; 4];
        M[self as usize].get_or_init(|| Metrics::read(self.bytes()).unwrap_or_default())
    }
}

/// What the layout needs of a face: which characters it has, and their advance widths.
#[derive(Debug, Default)]
struct Metrics {
    units_per_em: f32,
    glyphs: BTreeMap<char, u16>,
    advances: Vec<u16>,
}

impl Metrics {
    fn read(bytes: &[u8]) -> Option<Metrics> {
        let file = ReadScope::new(bytes).read::<FontData<'_>>().ok()?;
        let provider = file.table_provider(0).ok()?;
        let table = |t| provider.read_table_data(t).ok();
        let head = table(tag::HEAD)?;
        let head = ReadScope::new(&head).read::<HeadTable>().ok()?;
        let maxp = table(tag::MAXP)?;
        let maxp = ReadScope::new(&maxp).read::<MaxpTable>().ok()?;
        let hhea = table(tag::HHEA)?;
        let hhea = ReadScope::new(&hhea).read::<HheaTable>().ok()?;
        let cmap_data = table(tag::CMAP)?;
        let cmap = ReadScope::new(&cmap_data).read::<Cmap<'_>>().ok()?;
        let (_, subtable) = allsorts::font::read_cmap_subtable(&cmap).ok()??;
        let mut glyphs = BTreeMap::new();
        subtable
            .mappings_fn(|cp, gid| {
                if let Some(c) = char::from_u32(cp)
                    && gid != 0
                {
                    glyphs.insert(c, gid);
                }
            })
            .ok()?;
        let hmtx_data = table(tag::HMTX)?;
        let hmtx = ReadScope::new(&hmtx_data)
            .read_dep::<HmtxTable<'_>>((
                usize::from(maxp.num_glyphs),
                usize::from(hhea.num_h_metrics),
            ))
            .ok()?;
        let advances = (0..maxp.num_glyphs)
            .map(|g| hmtx.horizontal_advance(g).unwrap_or(0))
            .collect();
        Some(Metrics {
            units_per_em: f32::from(head.units_per_em.max(1)),
            glyphs,
            advances,
        })
    }
}

/// The face of `font` itself.
fn primary(font: Font) -> Face {
    match font {
        Font::Regular => Face::Sans,
        Font::Bold => Face::SansBold,
        Font::Mono => Face::Mono,
    }
}

/// The face that shows `c` in `font`: the font's own face, else the CJK face; `None` if no
/// embedded face has the character.
pub fn face_for(font: Font, c: char) -> Option<Face> {
    [primary(font), Face::Cjk]
        .into_iter()
        .find(|f| f.metrics().glyphs.contains_key(&c))
}

/// Whether some embedded face shows `c`.
pub fn showable(c: char) -> bool {
    face_for(Font::Regular, c).is_some()
}

/// Text cut into runs of one face each. A character no face has is drawn as `?`: a
/// certificate never gets here with one (it is refused before signing, see
/// `layout::unshowable`), labels and reports make do.
pub fn runs(font: Font, text: &str) -> Vec<(Face, String)> {
    let mut out: Vec<(Face, String)> = Vec::new();
    for c in text.chars() {
        let (face, c) = match face_for(font, c) {
            Some(face) => (face, c),
            None => (primary(font), '?'),
        };
        match out.last_mut() {
            Some((f, run)) if *f == face => run.push(c),
            _ => out.push((face, c.to_string())),
        }
    }
    out
}

/// The width of `text` set in `font` at `size` points, in points.
pub fn width(font: Font, size: f32, text: &str) -> f32 {
    let mut em = 0.0;
    for c in text.chars() {
        let face = face_for(font, c).unwrap_or(primary(font));
        let m = face.metrics();
        let gid = m.glyphs.get(&c).copied().unwrap_or(0);
        let advance = m.advances.get(usize::from(gid)).copied().unwrap_or(0);
        em += f32::from(advance) / m.units_per_em.max(1.0);
    }
    em * size
}

/// `face` cut down to the glyphs of `chars` (and `.notdef`), ready to embed. Deterministic:
/// the same characters give the same bytes.
pub fn subset(face: Face, chars: &BTreeSet<char>) -> Result<Vec<u8>, String> {
    let m = face.metrics();
    let gids: BTreeSet<u16> = chars
        .iter()
        .filter_map(|c| m.glyphs.get(c))
        .copied()
        .collect();
    let ids: Vec<u16> = std::iter::once(0).chain(gids).collect();
    let file = ReadScope::new(face.bytes())
        .read::<FontData<'_>>()
        .map_err(|e| e.to_string())?;
    let provider = file.table_provider(0).map_err(|e| e.to_string())?;
    allsorts::subset::subset(&provider, &ids, &SubsetProfile::Pdf, CmapTarget::Unicode)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_faces_cover_latin_extended_and_cjk_and_measure_text() {
        for c in ['A', 'ł', 'Ó', 'ź', 'Ж', 'Ω', '€', '日', '本', 'ア', '中'] {
            assert!(showable(c), "{c} is not shown by any embedded face");
        }
        assert!(!showable('क'), "no face has Devanagari");
        assert!(!showable('한'), "no face has Hangul");
        assert_eq!(face_for(Font::Bold, 'L'), Some(Face::SansBold));
        assert_eq!(face_for(Font::Bold, '日'), Some(Face::Cjk));
        let narrow = width(Font::Regular, 10.0, "iiii");
        let wide = width(Font::Regular, 10.0, "WWWW");
        assert!(narrow > 5.0 && wide > narrow * 2.0, "{narrow} {wide}");
        assert_eq!(
            runs(Font::Regular, "Łódź 日本"),
            [
                (Face::Sans, "Łódź ".to_string()),
                (Face::Cjk, "日本".to_string())
            ]
        );
        let small = subset(Face::Sans, &"Łódź".chars().collect()).unwrap();
        assert!(
            small.len() < Face::Sans.bytes().len() / 10,
            "{}",
            small.len()
        );
    }
}
