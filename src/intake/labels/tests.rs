//! Tests of the label plans (every size, the longest fields, non-Latin text: no text over a
//! code or off the label, the tag whole) and of the ZPL, read back by a small checker.

use super::fit::{Line, Plan, Rect, plan};
use super::*;
use crate::certificate::fonts;
use crate::register::AssetState;

fn asset(tag: &str, serial: &str, customer: &str) -> AssetSummary {
    AssetSummary {
        asset_tag: tag.into(),
        serial: serial.into(),
        asset_type: Some("laptop".into()),
        make: None,
        model: None,
        customer_ref: None,
        customer: customer.into(),
        collection: "COL-2026-0042".into(),
        state: AssetState::Expected,
        media_count: 0,
        certificate_count: 0,
        updated_at: String::new(),
    }
}

const SIZES: [&str; 5] = ["62x29mm", "4x6in", "2x1in", "a4", "100x50mm"];

/// The box a line of text takes: from its descender to its ascender, as wide as it is set.
fn text_box(l: &Line) -> Rect {
    Rect {
        x: l.x,
        y: l.y - 0.24 * l.size,
        w: fonts::width(l.font, l.size, &l.text),
        h: 1.17 * l.size,
    }
}

fn overlaps(a: Rect, b: Rect) -> bool {
    a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
}

fn inside(a: Rect, p: &Plan) -> bool {
    a.x >= 0.0 && a.y >= 0.0 && a.x + a.w <= p.width && a.y + a.h <= p.height
}

/// No text over a code, over other text or off the label; the codes on the label too.
fn check(p: &Plan, what: &str) {
    let texts: Vec<Rect> = std::iter::once(&p.tag)
        .chain(&p.lines)
        .map(text_box)
        .collect();
    // The barcode with its quiet zones.
    let quiet = Rect {
        x: p.bars.x - 10.0 * p.module,
        w: p.bars.w + 20.0 * p.module,
        ..p.bars
    };
    for (i, t) in texts.iter().enumerate() {
        assert!(inside(*t, p), "{what}: text {i} {t:?} leaves the label");
        assert!(!overlaps(*t, p.qr), "{what}: text {i} over the QR code");
        assert!(!overlaps(*t, quiet), "{what}: text {i} over the barcode");
        for (j, u) in texts.iter().enumerate().skip(i + 1) {
            assert!(!overlaps(*t, *u), "{what}: text {i} over text {j}");
        }
    }
    assert!(
        quiet.x >= -0.01 && quiet.x + quiet.w <= p.width + 0.01,
        "{what}"
    );
    assert!(inside(p.bars, p) && inside(p.qr, p), "{what}");
    assert!(!overlaps(p.qr, p.bars), "{what}: the codes overlap");
}

fn size_mm(s: &str) -> (f32, f32) {
    s.parse::<LabelSize>().unwrap().label_mm()
}

#[test]
fn every_size_keeps_text_off_the_codes_and_on_the_label() {
    let cases = [
        asset("ACME-1", "LAP-1", "Acme Insurance"),
        asset("ACME-000123", "PF3ABCDE12345678901234", "Acme"),
        asset(
            "A-1",
            "S",
            "The Very Long Name of a Customer Insurance Holdings International plc",
        ),
        asset(
            "TKY-1",
            "シリアル番号-12345",
            "株式会社 東京海上日動火災保険 情報システム部",
        ),
        asset(
            "MSK-7",
            "Серийный-номер",
            "Общество с ограниченной ответственностью Ромашка",
        ),
    ];
    for s in SIZES {
        let (w, h) = size_mm(s);
        for a in &cases {
            let p = plan(a, w, h).unwrap_or_else(|e| panic!("{s} {}: {e}", a.asset_tag));
            check(&p, &format!("{s} {}", a.asset_tag));
            assert_eq!(p.tag.text, a.asset_tag, "the tag is always whole");
            assert!(!p.lines.is_empty(), "{s}: at least the serial is shown");
        }
    }
}

#[test]
fn a_long_tag_shrinks_whole_and_one_too_long_is_refused_by_name() {
    let (w, h) = size_mm("62x29mm");
    let short = plan(&asset("A-1", "S", "C"), w, h).unwrap();
    let long = plan(&asset("WAREHOUSE-B-2026-07-31-9", "S", "C"), w, h).unwrap();
    check(&long, "long tag");
    assert_eq!(long.tag.text, "WAREHOUSE-B-2026-07-31-9");
    assert!(long.tag.size < short.tag.size, "the long tag's font shrank");
    let tag = "WAREHOUSE-B-BUILDING-7-FLOOR-3-X";
    match plan(&asset(tag, "S", "C"), w, h) {
        Err(e @ LabelError::TagTooLong { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(tag) && msg.contains("--size"), "{msg}");
        }
        other => panic!("a tag that cannot fit was not refused: {other:?}"),
    }
    // The same tag fits a larger label.
    let (w, h) = size_mm("4x6in");
    check(&plan(&asset(tag, "S", "C"), w, h).unwrap(), "4x6in");
}

#[test]
fn a_long_serial_shrinks_then_is_cut_with_an_ellipsis_never_broken() {
    let (w, h) = size_mm("62x29mm");
    let serial = "SN-".to_string() + &"0123456789ABCDEF".repeat(4);
    let p = plan(&asset("A-1", &serial, "C"), w, h).unwrap();
    check(&p, "long serial");
    let shown: Vec<&str> = p.lines.iter().map(|l| l.text.as_str()).collect();
    let s = shown.iter().find(|t| t.starts_with("S/N")).unwrap();
    assert!(s.ends_with('…'), "{shown:?}");
    assert!(serial.starts_with(s.trim_start_matches("S/N ").trim_end_matches('…')));
    assert_eq!(shown.iter().filter(|t| t.starts_with("S/N")).count(), 1);
    assert_eq!(p.lines[0].size, fit::MIN_SMALL_PT, "it shrank first");
    // A serial that fits at a smaller size is shown whole.
    let p = plan(&asset("A-1", "PF3ABCDE1234567890", "C"), w, h).unwrap();
    assert_eq!(p.lines[0].text, "S/N PF3ABCDE1234567890");
}

#[test]
fn a_long_customer_name_wraps_at_spaces_and_ends_in_an_ellipsis() {
    let name = "The Very Long Name of a Customer Insurance Holdings International plc";
    for s in SIZES {
        let (w, h) = size_mm(s);
        let p = plan(&asset("ACME-1", "LAP-1", name), w, h).unwrap();
        check(&p, s);
        let shown: Vec<&str> = p.lines.iter().map(|l| l.text.as_str()).collect();
        let joined = shown[1..].join(" ");
        assert!(
            joined.starts_with("The Very") && (joined.contains(name) || joined.contains('…')),
            "{s}: {shown:?}"
        );
        for l in shown
            .iter()
            .filter(|l| !l.starts_with("S/N") && !l.starts_with("COL-"))
        {
            let words: Vec<&str> = l.trim_end_matches('…').split(' ').collect();
            for w in words.iter().take(words.len().saturating_sub(1)) {
                assert!(
                    name.split(' ').any(|n| n == *w),
                    "{s}: {w:?} is broken in {l:?}"
                );
            }
        }
    }
}

#[test]
fn non_latin_text_is_measured_and_fitted_too() {
    let (w, h) = size_mm("62x29mm");
    let a = asset(
        "TKY-1",
        "シリアル番号-1234567890",
        "株式会社 東京海上日動火災保険 情報システム部",
    );
    let p = plan(&a, w, h).unwrap();
    check(&p, "CJK");
    assert!(p.lines.iter().any(|l| l.text.starts_with("株式会社")));
    // A non-ASCII tag has no Code 128: refused by name.
    let e = plan(&asset("東京-1", "S", "C"), w, h)
        .unwrap_err()
        .to_string();
    assert!(e.contains("東京-1") && e.contains("Code 128"), "{e}");
}

#[test]
fn an_a4_sheet_holds_24_labels_each_inside_its_cell() {
    let assets: Vec<AssetSummary> = (0..30)
        .map(|i| asset(&format!("ACME-{i}"), "S", "Acme"))
        .collect();
    let pages = pages(&assets, LabelSize::A4Sheet).unwrap();
    assert_eq!(pages.len(), 2);
    let qrs = |p: &Page| {
        p.items
            .iter()
            .filter(|i| matches!(i, Item::Qr { .. }))
            .count()
    };
    assert_eq!((qrs(&pages[0]), qrs(&pages[1])), (24, 6));
    for item in pages.iter().flat_map(|p| &p.items) {
        if let Item::Text { x, y, .. } | Item::Box { x, y, .. } = item {
            assert!(
                *x >= 0.0 && *x < 595.3 && *y >= 0.0 && *y < 841.9,
                "{item:?}"
            );
        }
    }
}

/// What the checker reads back from one `^XA ... ^XZ` format.
#[derive(Debug, Default)]
struct Format {
    code128: Vec<String>,
    qr: Vec<String>,
    texts: Vec<String>,
}

/// Undoes `^FH` escapes (`_XX`).
fn unescape(data: &str) -> String {
    let mut bytes = Vec::new();
    let mut it = data.bytes();
    while let Some(b) = it.next() {
        if b == b'_' {
            let hex: Vec<u8> = it.by_ref().take(2).collect();
            let hex = std::str::from_utf8(&hex).unwrap();
            bytes.push(u8::from_str_radix(hex, 16).unwrap());
        } else {
            bytes.push(b);
        }
    }
    String::from_utf8(bytes).unwrap()
}

/// A small ZPL reader: splits at `^` into commands, checks the formats are `^XA ... ^XZ`
/// with nothing between them, and collects each field's data by the kind of field.
fn read_zpl(zpl: &str) -> Vec<Format> {
    assert!(
        !zpl.contains('~'),
        "a tilde outside escapes is a control command: {zpl}"
    );
    let mut formats = Vec::new();
    let mut open: Option<Format> = None;
    let mut kind = "";
    let mut hex = false;
    for cmd in zpl.split('^').skip(1) {
        let cmd = cmd.trim_end_matches('\n');
        let (name, args) = cmd.split_at(2.min(cmd.len()));
        match name {
            "XA" => {
                assert!(open.is_none(), "^XA inside a format");
                open = Some(Format::default());
            }
            "XZ" => formats.push(open.take().expect("^XZ without ^XA")),
            "BC" => kind = "code128",
            "BQ" => kind = "qr",
            "A0" => kind = "text",
            "FH" => hex = true,
            "FD" => {
                assert!(hex, "field data without ^FH: {args}");
                let data = unescape(args);
                let f = open.as_mut().expect("a field outside ^XA ... ^XZ");
                match kind {
                    "code128" => f.code128.push(data),
                    "qr" => f.qr.push(data.strip_prefix("MA,").expect("QR: MA,").into()),
                    _ => f.texts.push(data),
                }
            }
            "FS" => (kind, hex) = ("", false),
            _ => assert!(open.is_some(), "^{cmd} outside ^XA ... ^XZ"),
        }
    }
    assert!(open.is_none(), "a format without ^XZ");
    formats
}

#[test]
fn zpl_has_one_format_per_asset_with_both_codes_and_the_text() {
    let assets = [
        asset("ACME-1", "LAP-1", "Acme Insurance"),
        asset("ACME-2", "SRV-2", "Müller & Söhne GmbH"),
        asset("ACME-3", "LAP-3", "Acme"),
    ];
    for s in ["62x29mm", "4x6in", "2x1in"] {
        let zpl = render_zpl(&assets, s.parse().unwrap(), 203).unwrap();
        assert_eq!(zpl.matches("^XA").count(), 3, "{zpl}");
        assert_eq!(zpl.matches("^XZ").count(), 3, "{zpl}");
        let formats = read_zpl(&zpl);
        assert_eq!(formats.len(), 3);
        for (f, a) in formats.iter().zip(&assets) {
            assert_eq!(f.code128, [a.asset_tag.as_str()], "{s}");
            assert_eq!(f.qr, [a.asset_tag.as_str()], "{s}");
            assert_eq!(f.texts[0], a.asset_tag, "{s}");
            assert!(f.texts.iter().any(|t| t == &format!("S/N {}", a.serial)));
        }
        assert!(formats[1].texts.iter().any(|t| t == "Müller & Söhne GmbH"));
    }
    let (w, h) = size_mm("62x29mm");
    let zpl = render_zpl(&assets[..1], "62x29mm".parse().unwrap(), 203).unwrap();
    assert!(
        zpl.contains(&format!("^PW{}", (w / 25.4 * 203.0).round())),
        "{zpl}"
    );
    assert!(
        zpl.contains(&format!("^LL{}", (h / 25.4 * 203.0).round())),
        "{zpl}"
    );
    let at300 = render_zpl(&assets[..1], "62x29mm".parse().unwrap(), 300).unwrap();
    assert!(at300.contains(&format!("^PW{}", (w / 25.4 * 300.0).round())));
}

#[test]
fn zpl_escapes_carets_tildes_and_underscores_in_a_tag() {
    let tag = "A^B~C_D>E";
    let zpl = render_zpl(&[asset(tag, "S^1", "C~")], "62x29mm".parse().unwrap(), 203).unwrap();
    let formats = read_zpl(&zpl);
    assert_eq!(
        formats.len(),
        1,
        "a caret in the tag did not start a command: {zpl}"
    );
    assert_eq!(formats[0].code128, [tag]);
    assert_eq!(formats[0].qr, [tag]);
    assert_eq!(formats[0].texts[0], tag);
    assert!(zpl.contains("A_5EB_7EC_5FD>E"), "{zpl}");
    assert_eq!(zpl::escape("ü"), "_C3_BC");
    assert!(render_zpl(&[], LabelSize::A4Sheet, 203).is_err());
}

#[test]
fn zpl_bars_are_whole_dots_and_a_tag_too_long_for_them_is_refused() {
    let a = [asset("GOODS-IN-2026-000123", "S", "C")];
    let size: LabelSize = "62x29mm".parse().unwrap();
    let e = render_zpl(&a, size, 203).unwrap_err().to_string();
    assert!(
        e.contains("GOODS-IN-2026-000123") && e.contains("--dpi 300"),
        "{e}"
    );
    let zpl = render_zpl(&a, size, 300).unwrap();
    assert!(zpl.contains("^BY2^BC"), "{zpl}");
    assert_eq!(read_zpl(&zpl)[0].code128, [a[0].asset_tag.clone()]);
}
