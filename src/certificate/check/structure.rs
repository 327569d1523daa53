//! What a viewer shows of a PDF certificate (or collection report, which the register's report
//! checks read through these same functions), checked against the renderer whatever version of
//! wipeproof made the file: exactly one revision (no incremental updates), and every object a
//! viewer reads from the catalog down (pages, their boxes and rotation, resources, fonts with
//! their encodings, ToUnicode maps and font programs, content streams, the attachments' names
//! and descriptions, the document information) is the one the renderer writes for the signed
//! record. So what a person sees on the page, or copies from it, is what is signed.
//!
//! The page text is read the way a viewer reads it: each string through the encoding of the
//! font it is shown in (WinAnsiEncoding for layout 1's standard fonts, the ToUnicode map of
//! layout 2's embedded faces).

use std::collections::{BTreeMap, HashSet};

use lopdf::content::Content;
use lopdf::{Dictionary, Document, Object, ObjectId};

use super::super::issue::LayoutVersion;
use super::super::winansi;

/// Largest decompressed stream compared.
const MAX_STREAM: usize = 8 << 20;
/// Most objects compared.
const MAX_OBJECTS: usize = 20_000;

/// Reads a PDF for these checks (bounded; a parser panic is an error).
pub(crate) fn load(bytes: &[u8]) -> Result<Document, String> {
    let owned = bytes.to_vec();
    let loaded = std::panic::catch_unwind(move || {
        let options = lopdf::LoadOptions {
            max_decompressed_size: Some(MAX_STREAM),
            ..Default::default()
        };
        Document::load_mem_with_options(&owned, options).map_err(|e| e.to_string())
    });
    loaded.unwrap_or_else(|_| Err("the PDF parser gave up on this file".into()))
}

/// The layout a certificate was drawn with: layout 2 embeds its faces (Type0 fonts), layout 1
/// used the standard Type1 fonts.
pub(crate) fn layout_version(doc: &Document) -> LayoutVersion {
    let type0 = doc.get_pages().values().any(|&page| {
        doc.get_page_fonts(page).is_ok_and(|fonts| {
            fonts
                .values()
                .any(|f| f.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Type0"))
        })
    });
    if type0 {
        LayoutVersion::V2
    } else {
        LayoutVersion::V1
    }
}

/// Exactly one revision: one cross-reference section and trailer, no `/Prev`, nothing after
/// the end-of-file marker.
pub(crate) fn one_revision(bytes: &[u8], doc: &Document) -> Result<(), String> {
    let count = |needle: &[u8]| bytes.windows(needle.len()).filter(|w| *w == needle).count();
    let startxrefs = count(b"startxref");
    if startxrefs != 1 {
        return Err(format!(
            "the file has {startxrefs} cross-reference sections; wipeproof writes exactly one, \
             so it was changed by an incremental update after it was issued"
        ));
    }
    let eofs = count(b"%%EOF");
    let tail = bytes
        .windows(5)
        .rposition(|w| w == b"%%EOF")
        .map(|at| &bytes[at + 5..]);
    if eofs != 1 || !tail.is_some_and(|t| t.iter().all(u8::is_ascii_whitespace)) {
        return Err("the file has data after its end-of-file marker, or several markers".into());
    }
    for key in ["Prev", "XRefStm", "Encrypt"] {
        if doc.trailer.has(key.as_bytes()) {
            return Err(format!(
                "the trailer has /{key}, which wipeproof never writes (an incremental update, \
                 a cross-reference stream or encryption)"
            ));
        }
    }
    let unexpected: Vec<String> = doc
        .trailer
        .iter()
        .map(|(k, _)| String::from_utf8_lossy(k).into_owned())
        .filter(|k| !["Root", "Info", "ID", "Size"].contains(&k.as_str()))
        .collect();
    if !unexpected.is_empty() {
        return Err(format!(
            "the trailer has /{}, which wipeproof never writes",
            unexpected.join(", /")
        ));
    }
    Ok(())
}

/// Every object a viewer reads, from the catalog and the document information down, is the
/// one in `redrawn` (the renderer's file for the signed record). The contents of the embedded
/// files are left to the `embedded_files` check, and the producer's version to `file`.
pub(crate) fn same_as_redrawn(file: &Document, redrawn: &Document) -> Result<(), String> {
    let mut cmp = Compare {
        file,
        redrawn,
        seen: HashSet::new(),
        budget: MAX_OBJECTS,
    };
    for key in ["Root", "Info"] {
        let name = if key == "Root" { "catalog" } else { "info" };
        match (
            file.trailer.get(key.as_bytes()),
            redrawn.trailer.get(key.as_bytes()),
        ) {
            (Ok(a), Ok(b)) => cmp.object(a, b, name)?,
            (Err(_), Err(_)) => {}
            (Err(_), Ok(_)) => return Err(format!("the file has no {name} dictionary")),
            (Ok(_), Err(_)) => {
                return Err(format!("the file has a {name} the renderer does not write"));
            }
        }
    }
    Ok(())
}

struct Compare<'a> {
    file: &'a Document,
    redrawn: &'a Document,
    seen: HashSet<(ObjectId, ObjectId)>,
    budget: usize,
}

impl Compare<'_> {
    fn object(&mut self, a: &Object, b: &Object, path: &str) -> Result<(), String> {
        self.budget = self
            .budget
            .checked_sub(1)
            .ok_or("the file has far more objects than wipeproof writes")?;
        let (a, b) = match (a, b) {
            (Object::Reference(ra), Object::Reference(rb)) => {
                if !self.seen.insert((*ra, *rb)) {
                    return Ok(());
                }
                let a = self
                    .file
                    .get_object(*ra)
                    .map_err(|_| format!("{path}: the file refers to a missing object"))?;
                let b = self
                    .redrawn
                    .get_object(*rb)
                    .map_err(|_| format!("{path}: the renderer's object is missing"))?;
                (a, b)
            }
            (Object::Reference(_), _) | (_, Object::Reference(_)) => {
                return Err(format!(
                    "{path}: the file has {} where the renderer writes {}",
                    describe(a),
                    describe(b)
                ));
            }
            _ => (a, b),
        };
        match (a, b) {
            (Object::Dictionary(x), Object::Dictionary(y)) => {
                // A signature's /Contents is made by the station's private key: no redrawing
                // can make it, and `pdf_signature` checks it.
                let signature = y.get(b"Type").and_then(Object::as_name).ok() == Some(b"Sig");
                self.dictionary(x, y, path, false, signature)
            }
            (Object::Stream(x), Object::Stream(y)) => {
                let embedded_file =
                    y.dict.get(b"Type").and_then(Object::as_name).ok() == Some(b"EmbeddedFile");
                self.dictionary(&x.dict, &y.dict, path, embedded_file, false)?;
                if embedded_file {
                    return Ok(());
                }
                let content = |s: &lopdf::Stream| {
                    if s.dict.has(b"Filter") {
                        s.decompressed_content_with_limit(MAX_STREAM).ok()
                    } else {
                        Some(s.content.clone())
                    }
                };
                match (content(x), content(y)) {
                    (Some(cx), Some(cy)) if cx == cy => Ok(()),
                    (None, _) => Err(format!("{path}: the stream cannot be decoded")),
                    _ => Err(format!(
                        "{path}: the stream's content is not what the renderer writes"
                    )),
                }
            }
            (Object::Array(x), Object::Array(y)) => {
                if x.len() != y.len() {
                    return Err(format!(
                        "{path}: the array has {} entries where the renderer writes {}",
                        x.len(),
                        y.len()
                    ));
                }
                for (i, (p, q)) in x.iter().zip(y).enumerate() {
                    self.object(p, q, &format!("{path}[{i}]"))?;
                }
                Ok(())
            }
            (x, y) if same_scalar(x, y) => Ok(()),
            (x, y) => Err(format!(
                "{path}: the file has {} where the renderer writes {}",
                describe(x),
                describe(y)
            )),
        }
    }

    fn dictionary(
        &mut self,
        a: &Dictionary,
        b: &Dictionary,
        path: &str,
        embedded_file: bool,
        signature: bool,
    ) -> Result<(), String> {
        // Back references, lengths of their own streams, the version that produced the file,
        // and the size of an embedded file (its bytes are checked by `embedded_files`).
        let skip = |k: &[u8]| {
            matches!(k, b"Parent" | b"Length" | b"Producer")
                || (embedded_file && k == b"Params")
                || (signature && k == b"Contents")
        };
        let keys = |d: &Dictionary| -> BTreeMap<Vec<u8>, Object> {
            d.iter()
                .filter(|(k, _)| !skip(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        let (ka, kb) = (keys(a), keys(b));
        if let Some(extra) = ka.keys().find(|k| !kb.contains_key(*k)) {
            return Err(format!(
                "{path}: /{} is not written by the renderer",
                String::from_utf8_lossy(extra)
            ));
        }
        if let Some(missing) = kb.keys().find(|k| !ka.contains_key(*k)) {
            return Err(format!(
                "{path}: /{} is missing",
                String::from_utf8_lossy(missing)
            ));
        }
        for (k, va) in &ka {
            let vb = &kb[k];
            self.object(va, vb, &format!("{path}/{}", String::from_utf8_lossy(k)))?;
        }
        Ok(())
    }
}

fn same_scalar(a: &Object, b: &Object) -> bool {
    match (a, b) {
        (Object::Null, Object::Null) => true,
        (Object::Boolean(x), Object::Boolean(y)) => x == y,
        (Object::Integer(x), Object::Integer(y)) => x == y,
        (Object::Real(x), Object::Real(y)) => x == y,
        (Object::Name(x), Object::Name(y)) => x == y,
        (Object::String(x, _), Object::String(y, _)) => x == y,
        _ => false,
    }
}

fn describe(o: &Object) -> String {
    match o {
        Object::Null => "null".into(),
        Object::Boolean(b) => b.to_string(),
        Object::Integer(i) => i.to_string(),
        Object::Real(r) => r.to_string(),
        Object::Name(n) => format!("/{}", String::from_utf8_lossy(n)),
        Object::String(s, _) => format!("({})", String::from_utf8_lossy(s)),
        Object::Array(a) => format!("an array of {}", a.len()),
        Object::Dictionary(_) => "a dictionary".into(),
        Object::Stream(_) => "a stream".into(),
        Object::Reference((n, g)) => format!("a reference to object {n} {g}"),
    }
}

/// How a font's strings become text.
enum Decoder {
    WinAnsi,
    /// WinAnsi with some codes given other glyphs by a `/Differences` array (no certificate
    /// has one; decoded so that the check can say what a viewer shows).
    WinAnsiDifferences(BTreeMap<u8, char>),
    /// Two-byte codes through the font's ToUnicode map.
    ToUnicode(BTreeMap<u32, String>),
    /// A font no certificate uses: its strings are shown as U+FFFD.
    Unknown,
}

impl Decoder {
    fn of(doc: &Document, font: &Dictionary) -> Decoder {
        let name = |k: &[u8]| font.get(k).and_then(Object::as_name).ok();
        match name(b"Subtype") {
            Some(b"Type1") if name(b"Encoding") == Some(b"WinAnsiEncoding") => Decoder::WinAnsi,
            Some(b"Type1") => match font
                .get(b"Encoding")
                .and_then(|o| doc.dereference(o))
                .and_then(|(_, o)| o.as_dict())
            {
                Ok(enc) => Decoder::WinAnsiDifferences(differences(enc)),
                Err(_) => Decoder::Unknown,
            },
            Some(b"Type0") => {
                let map = font
                    .get(b"ToUnicode")
                    .and_then(|o| doc.dereference(o))
                    .ok()
                    .and_then(|(_, o)| o.as_stream().ok())
                    .and_then(|s| {
                        if s.dict.has(b"Filter") {
                            s.decompressed_content_with_limit(MAX_STREAM).ok()
                        } else {
                            Some(s.content.clone())
                        }
                    })
                    .and_then(|b| {
                        printpdf::cmap::ToUnicodeCMap::parse(&String::from_utf8_lossy(&b)).ok()
                    });
                match map {
                    Some(m) => Decoder::ToUnicode(
                        m.mappings
                            .into_iter()
                            .map(|(code, cps)| {
                                let text = cps
                                    .into_iter()
                                    .map(|c| char::from_u32(c).unwrap_or('\u{FFFD}'))
                                    .collect();
                                (code, text)
                            })
                            .collect(),
                    ),
                    None => Decoder::Unknown,
                }
            }
            _ => Decoder::Unknown,
        }
    }

    fn decode(&self, bytes: &[u8]) -> String {
        match self {
            Decoder::WinAnsi => winansi::decode(bytes),
            Decoder::WinAnsiDifferences(changed) => bytes
                .iter()
                .map(|b| {
                    changed
                        .get(b)
                        .copied()
                        .unwrap_or_else(|| winansi::char_of(*b))
                })
                .collect(),
            Decoder::ToUnicode(map) => bytes
                .chunks(2)
                .map(|pair| {
                    let code = pair.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
                    map.get(&code).map(String::as_str).unwrap_or("\u{FFFD}")
                })
                .collect(),
            Decoder::Unknown => "\u{FFFD}".repeat(bytes.len()),
        }
    }
}

/// The codes a `/Differences` array redefines, and the characters of their glyph names (letters,
/// digits, `space`, `uniXXXX`; any other name as U+FFFD).
fn differences(encoding: &Dictionary) -> BTreeMap<u8, char> {
    let mut out = BTreeMap::new();
    let Ok(items) = encoding.get(b"Differences").and_then(Object::as_array) else {
        return out;
    };
    let mut code: i64 = 0;
    for item in items {
        match item {
            Object::Integer(i) => code = *i,
            Object::Name(n) => {
                let name = String::from_utf8_lossy(n);
                let digits = [
                    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                ];
                let c = match name.as_ref() {
                    "space" => ' ',
                    one if one.chars().count() == 1 && one.is_ascii() => {
                        one.chars().next().unwrap_or('\u{FFFD}')
                    }
                    hex if hex.starts_with("uni") && hex.len() == 7 => {
                        u32::from_str_radix(&hex[3..], 16)
                            .ok()
                            .and_then(char::from_u32)
                            .unwrap_or('\u{FFFD}')
                    }
                    other => digits
                        .iter()
                        .position(|d| *d == other)
                        .and_then(|i| char::from_digit(i as u32, 10))
                        .unwrap_or('\u{FFFD}'),
                };
                if let Ok(b) = u8::try_from(code) {
                    out.insert(b, c);
                }
                code += 1;
            }
            _ => {}
        }
    }
    out
}

/// The text of each page as a viewer shows it: one string per text object (`BT` … `ET`),
/// every shown string decoded through the encoding of its font.
pub(crate) fn page_texts(doc: &Document) -> Result<Vec<Vec<String>>, String> {
    let mut pages = Vec::new();
    for (number, page) in doc.get_pages() {
        let fonts = doc
            .get_page_fonts(page)
            .map_err(|e| format!("page {number}: {e}"))?;
        let decoders: BTreeMap<Vec<u8>, Decoder> = fonts
            .into_iter()
            .map(|(name, font)| (name, Decoder::of(doc, font)))
            .collect();
        let content = doc
            .get_page_content_with_limit(page, MAX_STREAM)
            .map_err(|e| format!("page {number}: {e}"))?;
        let ops = Content::decode(&content)
            .map_err(|e| format!("page {number}: {e}"))?
            .operations;
        let mut texts = Vec::new();
        let mut current = String::new();
        let mut font: Option<&Decoder> = None;
        for op in &ops {
            let shown = |o: &Object| match o {
                Object::String(b, _) => Some(match font {
                    Some(d) => d.decode(b),
                    None => "\u{FFFD}".repeat(b.len()),
                }),
                _ => None,
            };
            match op.operator.as_str() {
                "BT" => current.clear(),
                "ET" if !current.is_empty() => texts.push(std::mem::take(&mut current)),
                "Tf" => {
                    font = op
                        .operands
                        .first()
                        .and_then(|o| o.as_name().ok())
                        .and_then(|n| decoders.get(n));
                }
                "Tj" | "'" => current.extend(op.operands.first().and_then(shown)),
                "\"" => current.extend(op.operands.get(2).and_then(shown)),
                "TJ" => {
                    if let Some(Object::Array(items)) = op.operands.first() {
                        current.extend(items.iter().filter_map(shown));
                    }
                }
                _ => {}
            }
        }
        if !current.is_empty() {
            texts.push(current);
        }
        pages.push(texts);
    }
    Ok(pages)
}
