//! Asset labels as a scanner and a PDF reader see them: each size rendered by poppler
//! (`pdftoppm`) and decoded by zbar (`zbarimg`), both the Code 128 barcode and the QR code
//! giving the tag; the words `pdftotext -bbox` finds all on the page; ZPL written per asset;
//! a bad size and a tag too long for the label refused with what to do.

use std::path::Path;
use std::process::Command;

use crate::support::*;

const LABEL_MANIFEST: &str = "asset_tag,serial,type\n\
GOODS-IN-2026-000123,PF3ABCDE1234567890123456789,laptop\n\
ACME-2,SRV-2,server\n\
00012345,LAP-3,laptop\n";
const CUSTOMER: &str = "The Very Long Name of a Customer Insurance Holdings International plc";
const TAGS: [&str; 3] = ["GOODS-IN-2026-000123", "ACME-2", "00012345"];

/// Every symbol zbar finds in the pages of `pdf` rendered at 300 dpi, as `TYPE:DATA`.
fn decode(pdf: &Path) -> Vec<String> {
    let which = Command::new("sh")
        .args(["-c", "command -v zbarimg"])
        .output()
        .unwrap();
    assert!(
        which.status.success(),
        "zbarimg is missing: install the Debian package zbar-tools (.ci/setup lists it)"
    );
    let dir = pdf.parent().unwrap();
    let stem = pdf.file_stem().unwrap().to_str().unwrap();
    let prefix = dir.join(format!("{stem}-page"));
    let out = Command::new("pdftoppm")
        .args(["-png", "-r", "300"])
        .arg(pdf)
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(out.status.success(), "pdftoppm: {}", stderr(&out));
    let mut found = Vec::new();
    let mut pngs: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_str().unwrap();
            name.starts_with(&format!("{stem}-page")) && name.ends_with(".png")
        })
        .collect();
    pngs.sort();
    assert!(!pngs.is_empty(), "no page rendered from {}", pdf.display());
    for png in pngs {
        let out = Command::new("zbarimg")
            .args([
                "--quiet",
                "-Sdisable",
                "-Scode128.enable",
                "-Sqrcode.enable",
            ])
            .arg(&png)
            .output()
            .unwrap();
        found.extend(stdout(&out).lines().map(str::to_string));
    }
    found
}

/// The words `pdftotext -bbox` finds and the page size: each word inside the page.
fn words_inside_pages(pdf: &Path) -> usize {
    let out = Command::new("pdftotext")
        .args(["-bbox"])
        .arg(pdf)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success(), "pdftotext: {}", stderr(&out));
    let html = stdout(&out);
    let attr = |tag: &str, name: &str| -> f32 {
        let at = tag.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        tag[at..].split('"').next().unwrap().parse().unwrap()
    };
    let (mut w, mut h, mut n) = (0.0, 0.0, 0);
    for tag in html.split('<') {
        if tag.starts_with("page ") {
            (w, h) = (attr(tag, "width"), attr(tag, "height"));
        } else if tag.starts_with("word ") {
            let (x0, y0, x1, y1) = (
                attr(tag, "xMin"),
                attr(tag, "yMin"),
                attr(tag, "xMax"),
                attr(tag, "yMax"),
            );
            assert!(
                x0 >= 0.0 && y0 >= 0.0 && x1 <= w + 0.5 && y1 <= h + 0.5,
                "{}: a word leaves the page ({w} x {h}): <{tag}",
                pdf.display()
            );
            n += 1;
        }
    }
    n
}

fn labels(home: &Home, args: &[&str]) -> std::process::Output {
    let mut all = vec!["intake", "labels", "COL-9"];
    all.extend(args);
    home.run(&all)
}

#[test]
fn each_label_size_scans_as_the_tag_in_code_128_and_qr() {
    let home = Home::new();
    let out = import_manifest(&home, LABEL_MANIFEST, CUSTOMER, "COL-9");
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = tempfile::tempdir().unwrap();
    for size in ["62x29mm", "4x6in", "2x1in", "a4"] {
        let pdf = dir.path().join(format!("labels-{size}.pdf"));
        let out = labels(&home, &["--size", size, "--out", pdf.to_str().unwrap()]);
        assert!(out.status.success(), "{size}: {}", stderr(&out));
        let found = decode(&pdf);
        for tag in TAGS {
            for kind in ["CODE-128", "QR-Code"] {
                let want = format!("{kind}:{tag}");
                assert!(found.contains(&want), "{size}: no {want} in {found:?}");
            }
        }
        assert_eq!(found.len(), 2 * TAGS.len(), "{size}: {found:?}");
        assert!(words_inside_pages(&pdf) >= 3 * TAGS.len(), "{size}");
    }
}

#[test]
fn zpl_is_one_format_per_asset_and_bad_sizes_and_tags_are_refused() {
    let home = Home::new();
    let out = import_manifest(&home, LABEL_MANIFEST, CUSTOMER, "COL-9");
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = tempfile::tempdir().unwrap();
    let zpl = dir.path().join("labels.zpl");
    let out = labels(
        &home,
        &[
            "--format",
            "zpl",
            "--size",
            "4x6in",
            "--out",
            zpl.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&zpl).unwrap();
    assert_eq!(text.matches("^XA").count(), 3, "{text}");
    assert_eq!(text.matches("^XZ").count(), 3, "{text}");
    assert_eq!(text.matches("^BC").count(), 3, "{text}");
    assert_eq!(text.matches("^BQ").count(), 3, "{text}");
    assert!(text.contains("^PW812"), "4 in at 203 dpi: {text}");

    let bad = dir.path().join("bad.pdf");
    let out = labels(&home, &["--size", "62x29", "--out", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("mm or in"), "{}", stderr(&out));

    let long = "asset_tag,serial\nWAREHOUSE-B-BUILDING-7-FLOOR-3-RACK-12,S1\n";
    assert!(import_manifest(&home, long, "C", "COL-10").status.success());
    let out = home.run(&[
        "intake",
        "labels",
        "COL-10",
        "--size",
        "2x1in",
        "--out",
        bad.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("WAREHOUSE-B-BUILDING-7-FLOOR-3-RACK-12") && err.contains("--size"),
        "{err}"
    );
}
