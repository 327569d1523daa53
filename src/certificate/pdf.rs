//! The certificate PDF: drawing the layout with `printpdf`, attaching the signed record as
//! embedded files, and reading a PDF back (attachments, text, drawing operations).
//!
//! Rendering is deterministic: the same record and signature give the same bytes (the trailer
//! ID and dates are derived from the record), which lets verification redraw a certificate and
//! compare it with the file. Reading treats the file as hostile: sizes and decompression are
//! bounded, every lookup can fail, and a panic inside the PDF parser is caught and reported as a
//! malformed file.

use std::collections::BTreeMap;

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Object, StringFormat, dictionary};
use printpdf::{
    BuiltinFont, Color, FontId, Line, LinePoint, Mm, Op, PaintMode, ParsedFont, PdfDocument,
    PdfFont, PdfFontHandle, PdfPage, PdfSaveOptions, Point, Polygon, PolygonRing, Pt, Rgb,
    TextItem, WindingOrder,
};

use super::fonts::{self, Face};
use super::page::{Colour, Font, Item, Page};
use super::winansi;

pub mod seal;
pub mod tree;

pub use seal::Seal;

/// How text is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Typeset {
    /// Layout 1: the PDF standard fonts (Helvetica, Helvetica-Bold, Courier) in
    /// WinAnsiEncoding, not embedded. Kept to redraw certificates made with layout 1.
    Standard,
    /// Layout 2: subsets of the faces in `fonts`, embedded, with a ToUnicode map.
    Embedded,
}

/// Largest PDF read.
pub const MAX_PDF_BYTES: usize = 16 << 20;
/// Largest decompressed stream read.
const MAX_STREAM_BYTES: usize = 8 << 20;
/// Most pages read.
const MAX_PAGES: usize = 64;

/// A file to embed.
pub struct Attachment<'a> {
    pub name: &'a str,
    pub mime: &'a str,
    pub description: &'a str,
    pub data: &'a [u8],
}

/// Document information.
pub struct PdfInfo<'a> {
    pub title: &'a str,
    pub author: &'a str,
    /// Seeds the trailer ID (hex SHA-256 of the record).
    pub id_seed: &'a str,
    /// The PDF signature.
    pub seal: Seal<'a>,
}

/// Errors reading or writing a PDF.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("not a readable PDF: {0}")]
    Malformed(String),
    #[error("the PDF is larger than {MAX_PDF_BYTES} bytes; a certificate is far smaller")]
    TooLarge,
    #[error("cannot assemble the PDF: {0}")]
    Build(String),
}

fn rgb(c: Colour) -> Color {
    let (r, g, b) = c.rgb();
    Color::Rgb(Rgb {
        r,
        g,
        b,
        icc_profile: None,
    })
}

fn point(x: f32, y: f32) -> LinePoint {
    LinePoint {
        p: Point { x: Pt(x), y: Pt(y) },
        bezier: false,
    }
}

fn rect(x: f32, y: f32, w: f32, h: f32) -> PolygonRing {
    PolygonRing {
        points: vec![
            point(x, y),
            point(x + w, y),
            point(x + w, y + h),
            point(x, y + h),
        ],
    }
}

fn ops(page: &Page, typeset: Typeset) -> Vec<Op> {
    let mut ops = Vec::new();
    for item in &page.items {
        match item {
            Item::Text {
                x,
                y,
                size,
                font,
                colour,
                text,
            } if typeset == Typeset::Embedded => {
                ops.extend([
                    Op::StartTextSection,
                    Op::SetFillColor { col: rgb(*colour) },
                    Op::SetTextCursor {
                        pos: Point {
                            x: Pt(*x),
                            y: Pt(*y),
                        },
                    },
                ]);
                for (face, run) in fonts::runs(*font, text) {
                    ops.extend([
                        Op::SetFont {
                            font: PdfFontHandle::External(FontId(face.resource().into())),
                            size: Pt(*size),
                        },
                        Op::ShowText {
                            items: vec![TextItem::Text(run)],
                        },
                    ]);
                }
                ops.push(Op::EndTextSection);
            }
            Item::Text {
                x,
                y,
                size,
                font,
                colour,
                text,
            } => {
                let font = match font {
                    Font::Regular => BuiltinFont::Helvetica,
                    Font::Bold => BuiltinFont::HelveticaBold,
                    Font::Mono => BuiltinFont::Courier,
                };
                ops.extend([
                    Op::StartTextSection,
                    Op::SetFont {
                        font: PdfFontHandle::Builtin(font),
                        size: Pt(*size),
                    },
                    Op::SetFillColor { col: rgb(*colour) },
                    Op::SetTextCursor {
                        pos: Point {
                            x: Pt(*x),
                            y: Pt(*y),
                        },
                    },
                    Op::ShowText {
                        items: vec![TextItem::Text(text.clone())],
                    },
                    Op::EndTextSection,
                ]);
            }
            Item::Rule { x1, x2, y } => ops.extend([
                Op::SetOutlineColor {
                    col: rgb(Colour::Grey),
                },
                Op::SetOutlineThickness { pt: Pt(0.5) },
                Op::DrawLine {
                    line: Line {
                        points: vec![point(*x1, *y), point(*x2, *y)],
                        is_closed: false,
                    },
                },
            ]),
            Item::Box { x, y, w, h, colour } => ops.extend([
                Op::SetFillColor { col: rgb(*colour) },
                Op::DrawPolygon {
                    polygon: Polygon {
                        rings: vec![rect(*x, *y, *w, *h)],
                        mode: PaintMode::Fill,
                        winding_order: WindingOrder::NonZero,
                    },
                },
            ]),
            Item::Qr {
                x,
                y,
                size,
                modules,
            } => {
                let n = modules.len().max(1) as f32;
                let cell = size / n;
                let mut rings = Vec::new();
                for (row, line) in modules.iter().enumerate() {
                    // One rectangle per horizontal run of dark modules.
                    let mut col = 0;
                    while col < line.len() {
                        if !line[col] {
                            col += 1;
                            continue;
                        }
                        let start = col;
                        while col < line.len() && line[col] {
                            col += 1;
                        }
                        let top = y + size - row as f32 * cell;
                        rings.push(rect(
                            x + start as f32 * cell,
                            top - cell,
                            (col - start) as f32 * cell,
                            cell,
                        ));
                    }
                }
                ops.extend([
                    Op::SetFillColor {
                        col: rgb(Colour::Black),
                    },
                    Op::DrawPolygon {
                        polygon: Polygon {
                            rings,
                            mode: PaintMode::Fill,
                            winding_order: WindingOrder::NonZero,
                        },
                    },
                ]);
            }
        }
    }
    ops
}

/// A4 in millimetres.
pub const A4_MM: (f32, f32) = (210.0, 297.0);

/// Draws A4 pages in the embedded faces and embeds the attachments.
pub fn render(
    pages: &[Page],
    info: &PdfInfo<'_>,
    attachments: &[Attachment<'_>],
) -> Result<Vec<u8>, PdfError> {
    render_with(pages, A4_MM, Typeset::Embedded, info, attachments)
}

/// Draws pages of `size` (width, height in millimetres) in the embedded faces and embeds the
/// attachments.
pub fn render_sized(
    pages: &[Page],
    size: (f32, f32),
    info: &PdfInfo<'_>,
    attachments: &[Attachment<'_>],
) -> Result<Vec<u8>, PdfError> {
    render_with(pages, size, Typeset::Embedded, info, attachments)
}

/// Draws pages of `size` (millimetres) set as `typeset` says and embeds the attachments.
pub fn render_with(
    pages: &[Page],
    size: (f32, f32),
    typeset: Typeset,
    info: &PdfInfo<'_>,
    attachments: &[Attachment<'_>],
) -> Result<Vec<u8>, PdfError> {
    let mut doc = PdfDocument::new(info.title);
    if typeset == Typeset::Embedded {
        embed_faces(&mut doc, pages)?;
    }
    doc.metadata.info.author = info.author.to_string();
    doc.metadata.info.creator = "wipeproof".into();
    doc.metadata.info.producer = format!("wipeproof {}", env!("CARGO_PKG_VERSION"));
    doc.metadata.info.subject = info.title.into();
    let pdf_pages: Vec<PdfPage> = pages
        .iter()
        .map(|p| PdfPage::new(Mm(size.0), Mm(size.1), ops(p, typeset)))
        .collect();
    let opts = PdfSaveOptions {
        optimize: true,
        subset_fonts: true,
        secure: true,
        image_optimization: None,
    };
    let mut warnings = Vec::new();
    let base = doc.with_pages(pdf_pages).save(&opts, &mut warnings);
    attach(&base, info, attachments)
}

/// Adds to `doc` each face the pages use, cut down to the characters they show.
fn embed_faces(doc: &mut PdfDocument, pages: &[Page]) -> Result<(), PdfError> {
    let mut used: BTreeMap<Face, std::collections::BTreeSet<char>> = BTreeMap::new();
    for item in pages.iter().flat_map(|p| &p.items) {
        if let Item::Text { font, text, .. } = item {
            for (face, run) in fonts::runs(*font, text) {
                used.entry(face).or_default().extend(run.chars());
            }
        }
    }
    for (face, chars) in used {
        let bytes = fonts::subset(face, &chars)
            .map_err(|e| PdfError::Build(format!("cannot cut down font {face:?}: {e}")))?;
        let mut warnings = Vec::new();
        let parsed = ParsedFont::from_bytes(&bytes, 0, &mut warnings).ok_or_else(|| {
            PdfError::Build(format!(
                "cannot read the cut-down font {face:?}: {warnings:?}"
            ))
        })?;
        doc.resources
            .fonts
            .map
            .insert(FontId(face.resource().into()), PdfFont::new(parsed));
    }
    Ok(())
}

/// Adds embedded files (PDF 32000-1 7.11.4) and a deterministic trailer ID.
fn attach(
    base: &[u8],
    info: &PdfInfo<'_>,
    attachments: &[Attachment<'_>],
) -> Result<Vec<u8>, PdfError> {
    let build = |e: lopdf::Error| PdfError::Build(e.to_string());
    let mut doc = Document::load_mem(base).map_err(build)?;
    let mut names: Vec<(String, lopdf::ObjectId)> = Vec::new();
    for a in attachments {
        let stream = lopdf::Stream::new(
            dictionary! {
                "Type" => "EmbeddedFile",
                "Subtype" => Object::Name(a.mime.as_bytes().to_vec()),
                "Params" => dictionary! { "Size" => a.data.len() as i64 },
            },
            a.data.to_vec(),
        );
        let file_id = doc.add_object(stream);
        let spec = dictionary! {
            "Type" => "Filespec",
            "F" => Object::String(a.name.as_bytes().to_vec(), StringFormat::Literal),
            "UF" => Object::String(a.name.as_bytes().to_vec(), StringFormat::Literal),
            "Desc" => Object::String(a.description.as_bytes().to_vec(), StringFormat::Literal),
            "AFRelationship" => "Data",
            "EF" => dictionary! { "F" => file_id, "UF" => file_id },
        };
        names.push((a.name.to_string(), doc.add_object(spec)));
    }
    names.sort();
    let name_array: Vec<Object> = names
        .iter()
        .flat_map(|(n, id)| {
            [
                Object::String(n.as_bytes().to_vec(), StringFormat::Literal),
                Object::Reference(*id),
            ]
        })
        .collect();
    let af: Vec<Object> = names.iter().map(|(_, id)| Object::Reference(*id)).collect();
    let catalog = doc.catalog_mut().map_err(build)?;
    catalog.set(
        "Names",
        dictionary! { "EmbeddedFiles" => dictionary! { "Names" => name_array } },
    );
    catalog.set("AF", af);
    catalog.set("PageMode", "UseAttachments");
    // A fixed trailer ID so the same record always gives the same file.
    let id_bytes = hex::decode(info.id_seed.get(..32).unwrap_or("")).unwrap_or_default();
    let id = Object::String(id_bytes, StringFormat::Hexadecimal);
    doc.trailer.set("ID", vec![id.clone(), id]);
    let sig = seal::add_field(&mut doc, &info.seal)?;
    let mut out = Vec::new();
    doc.save_to(&mut out)
        .map_err(|e| PdfError::Build(e.to_string()))?;
    if let Some(sig) = sig {
        seal::finish(&mut out, sig, &info.seal)?;
    }
    Ok(out)
}

/// What a PDF holds, as far as certificates are concerned.
#[derive(Debug, Clone, Default)]
pub struct ParsedPdf {
    /// Embedded files by name.
    pub attachments: BTreeMap<String, Vec<u8>>,
    pub pages: Vec<ParsedPage>,
    /// Things a certificate never contains (annotations, actions, images, forms, scripts).
    pub extras: Vec<String>,
}

/// One page's content.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedPage {
    /// The strings shown, in order, decoded.
    pub texts: Vec<String>,
    /// Every drawing operation, normalised to text (numbers to two decimals).
    pub ops: Vec<String>,
}

impl ParsedPdf {
    /// Compares this PDF's drawing with `expected`, a fresh rendering of the same signed
    /// content: `Err` says what a viewer would see that the signature does not cover — content a
    /// signed document never has (`what` names the document, e.g. "a certificate"), or the first
    /// drawing operation that differs.
    pub fn drawing_matches(&self, expected: &ParsedPdf, what: &str) -> Result<(), String> {
        if !self.extras.is_empty() {
            return Err(format!(
                "the PDF contains what {what} never does: {}",
                self.extras.join(", ")
            ));
        }
        if expected.pages.len() != self.pages.len() {
            return Err(format!(
                "the PDF has {} page(s) where the signed content renders to {}",
                self.pages.len(),
                expected.pages.len()
            ));
        }
        let differing = expected
            .pages
            .iter()
            .zip(&self.pages)
            .enumerate()
            .find(|(_, (a, b))| a.ops != b.ops);
        match differing {
            None => Ok(()),
            Some((page, (want, found))) => {
                let at = want
                    .ops
                    .iter()
                    .zip(&found.ops)
                    .position(|(x, y)| x != y)
                    .unwrap_or(want.ops.len().min(found.ops.len()));
                Err(format!(
                    "page {} drawing differs from the signed content's rendering at operation {}: {:?}",
                    page + 1,
                    at + 1,
                    found.ops.get(at).map(String::as_str).unwrap_or("(missing)")
                ))
            }
        }
    }
}

/// Reads a PDF. Never panics: a panic in the parser is caught and reported as malformed.
pub fn parse(bytes: &[u8]) -> Result<ParsedPdf, PdfError> {
    if bytes.len() > MAX_PDF_BYTES {
        return Err(PdfError::TooLarge);
    }
    if !bytes.starts_with(b"%PDF-") {
        return Err(PdfError::Malformed("it does not start with %PDF-".into()));
    }
    let owned = bytes.to_vec();
    match std::panic::catch_unwind(move || parse_inner(&owned)) {
        Ok(r) => r,
        Err(_) => Err(PdfError::Malformed(
            "the PDF parser gave up on this file".into(),
        )),
    }
}

fn parse_inner(bytes: &[u8]) -> Result<ParsedPdf, PdfError> {
    let bad = |e: lopdf::Error| PdfError::Malformed(e.to_string());
    let options = lopdf::LoadOptions {
        max_decompressed_size: Some(MAX_STREAM_BYTES),
        ..Default::default()
    };
    let doc = Document::load_mem_with_options(bytes, options).map_err(bad)?;
    let mut parsed = ParsedPdf::default();
    let catalog = doc.catalog().map_err(bad)?;
    for key in ["OpenAction", "AA", "JavaScript"] {
        if catalog.has(key.as_bytes()) {
            parsed.extras.push(format!("document has /{key}"));
        }
    }
    // A form is allowed only as the holder of an invisible signature field.
    if catalog.has(b"AcroForm") && !seal::is_signature_form(&doc, catalog) {
        parsed
            .extras
            .push("document has a form (/AcroForm) other than its signature field".into());
    }
    parsed.attachments = attachments(&doc, catalog, &mut parsed.extras)?;
    let pages = tree::pages(&doc, catalog, MAX_PAGES)?;
    for (number, page_id) in (1..).zip(pages) {
        let page = doc.get_dictionary(page_id).map_err(bad)?;
        let non_empty = |o: Result<&Object, lopdf::Error>| match o.and_then(|o| doc.dereference(o))
        {
            Ok((_, Object::Array(a))) => !a.is_empty(),
            Ok((_, Object::Dictionary(d))) => !d.is_empty(),
            Ok(_) => true,
            Err(_) => false,
        };
        if non_empty(page.get(b"Annots")) && !seal::only_signature_widgets(&doc, page) {
            parsed.extras.push(format!("page {number} has annotations"));
        }
        if page.has(b"AA") {
            parsed.extras.push(format!("page {number} has actions"));
        }
        if let Ok(res) = doc.get_dict_in_dict(page, b"Resources")
            && non_empty(res.get(b"XObject"))
        {
            parsed
                .extras
                .push(format!("page {number} has images or forms"));
        }
        let content = doc
            .get_page_content_with_limit(page_id, MAX_STREAM_BYTES)
            .map_err(bad)?;
        let ops = Content::decode(&content).map_err(bad)?.operations;
        let mut p = ParsedPage::default();
        for op in &ops {
            if let Some(t) = shown_text(op) {
                p.texts.push(t);
            }
            p.ops.push(normalise(op));
        }
        parsed.pages.push(p);
    }
    Ok(parsed)
}

/// The string an operation shows, if it is a text-showing operator.
fn shown_text(op: &lopdf::content::Operation) -> Option<String> {
    let string = |o: &Object| match o {
        Object::String(b, _) => Some(winansi::decode(b)),
        _ => None,
    };
    match op.operator.as_str() {
        "Tj" | "'" => op.operands.first().and_then(string),
        "\"" => op.operands.get(2).and_then(string),
        "TJ" => match op.operands.first() {
            Some(Object::Array(items)) => Some(items.iter().filter_map(string).collect()),
            _ => None,
        },
        _ => None,
    }
}

fn normalise(op: &lopdf::content::Operation) -> String {
    let mut s = op.operator.clone();
    for o in &op.operands {
        s.push(' ');
        s.push_str(&object_text(o, 0));
    }
    s
}

fn object_text(o: &Object, depth: usize) -> String {
    if depth > 8 {
        return "...".into();
    }
    match o {
        Object::Null => "null".into(),
        Object::Boolean(b) => b.to_string(),
        Object::Integer(i) => format!("{:.2}", *i as f64),
        Object::Real(r) => format!("{:.2}", *r as f64),
        Object::Name(n) => format!("/{}", String::from_utf8_lossy(n)),
        Object::String(b, _) => format!("({})", winansi::decode(b)),
        Object::Array(a) => format!(
            "[{}]",
            a.iter()
                .map(|x| object_text(x, depth + 1))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Object::Dictionary(_) => "<<dict>>".into(),
        Object::Stream(_) => "<<stream>>".into(),
        Object::Reference((n, g)) => format!("{n} {g} R"),
    }
}

/// Embedded files listed in the catalog's /Names /EmbeddedFiles name tree (walked with a
/// visited set and a node budget, see [`tree`]). A name listed twice is noted in `extras`: a
/// viewer or `pdfdetach` could show either file.
fn attachments(
    doc: &Document,
    catalog: &Dictionary,
    extras: &mut Vec<String>,
) -> Result<BTreeMap<String, Vec<u8>>, PdfError> {
    let mut out = BTreeMap::new();
    let Ok(names) = doc.get_dict_in_dict(catalog, b"Names") else {
        return Ok(out);
    };
    let Ok(root) = doc.get_dict_in_dict(names, b"EmbeddedFiles") else {
        return Ok(out);
    };
    for (name, spec) in tree::name_tree(doc, root)? {
        let name = String::from_utf8_lossy(&name).into_owned();
        if out.contains_key(&name) {
            extras.push(format!("two embedded files named {name}"));
            continue;
        }
        if let Some(data) = file_data(doc, spec) {
            out.insert(name, data);
        }
    }
    Ok(out)
}

fn file_data(doc: &Document, spec: &Object) -> Option<Vec<u8>> {
    let (_, spec) = doc.dereference(spec).ok()?;
    let spec = spec.as_dict().ok()?;
    let ef = doc.get_dict_in_dict(spec, b"EF").ok()?;
    let file = ef.get(b"F").ok()?;
    let (_, file) = doc.dereference(file).ok()?;
    let stream = file.as_stream().ok()?;
    if stream.dict.get(b"Filter").is_ok() {
        stream
            .decompressed_content_with_limit(MAX_STREAM_BYTES)
            .ok()
    } else if stream.content.len() <= MAX_STREAM_BYTES {
        Some(stream.content.clone())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::page::{Item, Page};
    use super::*;

    fn drawn(pages: &[&[&str]]) -> ParsedPdf {
        ParsedPdf {
            pages: pages
                .iter()
                .map(|ops| ParsedPage {
                    texts: Vec::new(),
                    ops: ops.iter().map(|s| s.to_string()).collect(),
                })
                .collect(),
            ..ParsedPdf::default()
        }
    }

    #[test]
    fn drawing_comparison_names_the_first_difference() {
        let signed = drawn(&[&["BT", "Tj a", "ET"], &["BT", "Tj b", "ET"]]);
        assert_eq!(signed.drawing_matches(&signed, "a report"), Ok(()));

        let changed = drawn(&[&["BT", "Tj a", "ET"], &["BT", "Tj X", "ET"]]);
        let e = changed.drawing_matches(&signed, "a report").unwrap_err();
        assert!(
            e.contains("page 2") && e.contains("operation 2") && e.contains("Tj X"),
            "{e}"
        );

        let shorter = drawn(&[&["BT", "Tj a", "ET"], &["BT"]]);
        let e = shorter.drawing_matches(&signed, "a report").unwrap_err();
        assert!(e.contains("operation 2") && e.contains("(missing)"), "{e}");

        let one_page = drawn(&[&["BT", "Tj a", "ET"]]);
        let e = one_page.drawing_matches(&signed, "a report").unwrap_err();
        assert!(e.contains("1 page(s)") && e.contains("renders to 2"), "{e}");

        let mut annotated = signed.clone();
        annotated.extras.push("an annotation".into());
        let e = annotated
            .drawing_matches(&signed, "a certificate")
            .unwrap_err();
        assert!(
            e.contains("what a certificate never does: an annotation"),
            "{e}"
        );
    }

    fn page() -> Page {
        Page {
            items: vec![
                Item::Text {
                    x: 50.0,
                    y: 700.0,
                    size: 12.0,
                    font: Font::Bold,
                    colour: Colour::Black,
                    text: "Müller (PASS) 100%".into(),
                },
                Item::Rule {
                    x1: 50.0,
                    x2: 500.0,
                    y: 690.0,
                },
                Item::Qr {
                    x: 400.0,
                    y: 600.0,
                    size: 50.0,
                    modules: vec![vec![true, false], vec![false, true]],
                },
            ],
        }
    }

    fn info() -> PdfInfo<'static> {
        PdfInfo {
            title: "t",
            author: "a",
            id_seed: "00112233445566778899aabbccddeeff00112233",
            seal: Seal::None,
        }
    }

    #[test]
    fn renders_deterministically_and_reads_back_text_and_attachments() {
        let files = [Attachment {
            name: "record.json",
            mime: "application/json",
            description: "the record",
            data: b"{\"a\":1}",
        }];
        for typeset in [Typeset::Embedded, Typeset::Standard] {
            let a = render_with(&[page()], A4_MM, typeset, &info(), &files).unwrap();
            let b = render_with(&[page()], A4_MM, typeset, &info(), &files).unwrap();
            assert_eq!(a, b, "rendering must be deterministic");
        }
        // Layout 1's standard fonts read back as WinAnsi (layout 2's text is read through its
        // fonts' ToUnicode maps by the certificate checks).
        let standard = render_with(&[page()], A4_MM, Typeset::Standard, &info(), &files).unwrap();
        assert_eq!(
            parse(&standard).unwrap().pages[0].texts,
            ["Müller (PASS) 100%"]
        );
        let a = render(&[page()], &info(), &files).unwrap();
        let parsed = parse(&a).unwrap();
        assert_eq!(parsed.pages.len(), 1);
        assert_eq!(parsed.attachments["record.json"], b"{\"a\":1}");
        assert!(parsed.extras.is_empty(), "{:?}", parsed.extras);
        assert!(parsed.pages[0].ops.len() > 5);
    }

    /// A small PDF whose /EmbeddedFiles name tree node lists itself `copies` times as a kid.
    pub(crate) fn self_listing_attachments_pdf(copies: usize) -> Vec<u8> {
        let mut doc = Document::with_version("1.7");
        let pages_id = doc.new_object_id();
        let page_id = doc.add_object(dictionary! { "Type" => "Page", "Parent" => pages_id });
        doc.objects.insert(
            pages_id,
            Object::Dictionary(dictionary! {
                "Type" => "Pages", "Kids" => vec![Object::Reference(page_id)], "Count" => 1,
            }),
        );
        let node_id = doc.new_object_id();
        let kids: Vec<Object> = (0..copies).map(|_| Object::Reference(node_id)).collect();
        doc.objects
            .insert(node_id, Object::Dictionary(dictionary! { "Kids" => kids }));
        let catalog = doc.add_object(dictionary! {
            "Type" => "Catalog",
            "Pages" => pages_id,
            "Names" => dictionary! { "EmbeddedFiles" => node_id },
        });
        doc.trailer.set("Root", catalog);
        let mut out = Vec::new();
        doc.save_to(&mut out).unwrap();
        out
    }

    #[test]
    fn a_name_tree_listing_itself_is_refused_quickly() {
        let bytes = self_listing_attachments_pdf(40);
        assert!(bytes.len() < 1024, "{} bytes", bytes.len());
        // Parse on another thread: before the bounded walk this never returned.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(parse(&bytes).map(|_| ()).map_err(|e| e.to_string()));
        });
        let result = rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("parsing a 1 KiB PDF must finish within seconds");
        let err = result.unwrap_err();
        assert!(err.contains("name tree") && err.contains("twice"), "{err}");
    }

    #[test]
    fn junk_and_truncated_files_are_errors_not_panics() {
        let good = render(&[page()], &info(), &[]).unwrap();
        assert!(parse(b"").is_err());
        assert!(parse(b"%PDF-1.7\n").is_err());
        assert!(parse(b"hello").is_err());
        assert!(parse(&good).is_ok(), "the whole file reads");
        for cut in [10, good.len() / 3, good.len() / 2, good.len() - 10] {
            assert!(
                parse(&good[..cut]).is_err(),
                "the first {cut} of {} bytes read as a certificate",
                good.len()
            );
        }
    }
}
