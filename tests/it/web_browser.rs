//! The central register's pages in a real browser (Debian's chromium, headless, over
//! WebDriver): sign in, verify a genuine and a tampered certificate, find an asset by serial and
//! open its certificate, with the central register on PostgreSQL (`web` runs the same routes on
//! both backends). A screenshot of every page is kept in `target/test-artifacts/web/`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::*;
use crate::web::{PASSWORD, register};
use crate::webdriver::Browser;

/// Where the screenshots go.
fn artifacts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts/web")
}

#[test]
fn a_compliance_officer_signs_in_verifies_and_finds_a_certificate() {
    assert!(
        Browser::available(),
        "the browser tests need /usr/bin/chromium and /usr/bin/chromedriver: run .ci/setup"
    );
    // A register, and a station enrolled with it that wiped the laptop's drive (its image is
    // named after the serial LAP-1) and sent the certificate.
    let central = register(Backend::Postgres);
    let bay = Home::new();
    assert!(bay.run(&["keys", "init"]).status.success());
    set_station_id(&bay, "bay-1");
    let pem = bay.path().join("station.pem");
    std::fs::write(&pem, bay.run(&["keys", "export"]).stdout).unwrap();
    let out = central.run(&["stations", "add", pem.to_str().unwrap(), "--name", "bay-1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let disks = tempfile::tempdir_in("/dev/shm").unwrap();
    let disk = disks.path().join("LAP-1.img");
    write_pattern(&disk, 4 << 20);
    let (code, v) = bay.json(&[
        "wipe",
        disk.to_str().unwrap(),
        "--method",
        "zero",
        "--yes",
        "--json",
    ]);
    assert_eq!(code, 0, "{v}");
    let drive = only_drive(&v);
    let pdf = PathBuf::from(drive["certificate_pdf"].as_str().unwrap());
    let json = PathBuf::from(drive["certificate_json"].as_str().unwrap());
    let server = Server::start(&central);
    let (code, v) = bay.json(&["sync", "--register", &server.url, "--json"]);
    assert_eq!(code, 0, "{v}");
    // A tampered copy: the drive's serial changed in the signed record.
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    doc["record"]["media"]["serial"] = "LAP-9".into();
    let tampered = disks.path().join("tampered.json");
    std::fs::write(&tampered, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();

    let shots = artifacts();
    let url = &server.url;
    let b = Browser::start(1100, 900);

    // Any page sends a stranger to the sign-in page.
    b.goto(&format!("{url}/assets/ACME-1"));
    assert!(
        b.url().contains("/login?next=/assets/ACME-1"),
        "{}",
        b.url()
    );
    b.find("#username").send_keys("ann");
    b.find("#password").send_keys("not the password");
    b.find("main form button").click();
    assert!(b.find(".notice.bad").text().contains("wrong"));
    b.wait_title("Sign in");
    b.screenshot(&shots, "01-sign-in-failed");
    b.find("#username").send_keys("ann");
    b.find("#password").send_keys(PASSWORD);
    b.screenshot(&shots, "02-sign-in");
    b.find("main form button").click();
    b.wait_title("Asset ACME-1");
    // Back where it was going.
    assert!(b.url().ends_with("/assets/ACME-1"), "{}", b.url());
    assert!(b.cookie("wipeproof_session").is_some());

    b.goto(&format!("{url}/"));
    b.wait_title("Assets and certificates");
    b.screenshot(&shots, "03-home");

    // A genuine certificate: every check ok.
    b.link("Verify a certificate").click();
    b.wait_title("Verify a certificate");
    b.screenshot(&shots, "04-verify");
    b.find("#certificate").send_keys(pdf.to_str().unwrap());
    b.find("main form button").click();
    b.wait_title("Verification");
    let verdict = b.find(".notice.good").text();
    assert!(verdict.contains("Valid"), "{verdict}");
    let rows = b.find_all("table.checks tbody tr");
    assert_eq!(rows.len(), 10, "a PDF has ten checks");
    assert!(b.find_all("table.checks tr.failed").is_empty());
    for name in [
        "signature",
        "trusted_key",
        "visible_text",
        "page_content",
        "file",
    ] {
        assert!(
            rows.iter().any(|r| r.text().starts_with(name)),
            "{name} is shown"
        );
    }
    b.screenshot(&shots, "05-verify-genuine");

    // A tampered one: the failing check is named.
    b.find("#certificate").send_keys(tampered.to_str().unwrap());
    b.find("main form button").click();
    let verdict = b.find(".notice.bad").text();
    assert!(
        verdict.contains("Not valid") && verdict.contains("signature"),
        "{verdict}"
    );
    let failed: Vec<String> = b
        .find_all("table.checks tr.failed")
        .iter()
        .map(|r| r.text())
        .collect();
    assert!(
        failed
            .iter()
            .any(|t| t.starts_with("signature") && t.contains("FAILED")),
        "{failed:?}"
    );
    b.screenshot(&shots, "06-verify-tampered");

    // Find the laptop by its serial, open it and its certificate.
    b.goto(&format!("{url}/"));
    b.find("input[name=q]").send_keys("LAP-1");
    b.find("main form button").click();
    b.wait_title("Search");
    b.screenshot(&shots, "07-search");
    b.link("ACME-1").click();
    b.wait_title("Asset ACME-1");
    assert!(b.find("main").text().contains("retired"));
    b.screenshot(&shots, "08-asset");
    b.find("main a[href^='/certificates/']").click();
    b.wait_title("Certificate");
    let main = b.find("main").text();
    assert!(main.contains("Valid") && main.contains("LAP-1"), "{main}");
    b.screenshot(&shots, "09-certificate");
    // On paper: no navigation, no forms, no download links; the record itself stays. On the
    // screen all of them are there, so the check on paper is not empty.
    let (hidden, kept) = (PAPERLESS, ["h1", "dl"]);
    for (s, all, laid_out) in b.shown(&hidden).into_iter().chain(b.shown(&kept)) {
        assert!(
            all > 0 && laid_out == all,
            "on the screen, {s}: {laid_out} of {all} shown"
        );
    }
    b.emulate_media("print");
    for (s, all, laid_out) in b.shown(&hidden) {
        assert_eq!(laid_out, 0, "on paper, {s}: {laid_out} of {all} printed");
    }
    for (s, all, laid_out) in b.shown(&kept) {
        assert!(
            laid_out == all && all > 0,
            "on paper, {s}: {laid_out} of {all} printed"
        );
    }
    b.screenshot(&shots, "09-certificate-print");
    b.emulate_media("screen");

    // Its PDF download is the PDF the station wrote but for the PDF signature (the register
    // holds no station's key), and verifies.
    let cookie = b.cookie("wipeproof_session").unwrap();
    let href = b.link("Download the PDF").attribute("href").unwrap();
    let mut r = crate::web::agent()
        .get(&format!("{url}{href}"))
        .header("Cookie", &format!("wipeproof_session={cookie}"))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let downloaded = r
        .body_mut()
        .with_config()
        .limit(32 << 20)
        .read_to_vec()
        .unwrap();
    let station_pdf = std::fs::read(&pdf).unwrap();
    assert_eq!(
        pdftotext_of(&downloaded),
        pdftotext_of(&station_pdf),
        "the downloaded PDF shows other text than the station's"
    );
    let copy = pdf.with_extension("downloaded.pdf");
    std::fs::write(&copy, &downloaded).unwrap();
    let (code, v) = bay.json(&["verify", copy.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{v}");
    assert!(v.to_string().contains("no PDF signature"), "{v}");

    b.link("Asset ACME-1").click();
    b.wait_title("Asset ACME-1");
    b.link("COL-1").click();
    b.wait_title("Collection COL-1");
    b.screenshot(&shots, "10-collection");
    b.link("Stations").click();
    b.wait_title("Stations");
    assert!(b.find("main").text().contains("bay-1"));
    b.screenshot(&shots, "11-stations");

    // On a phone: nothing wider than the screen (no sideways scrolling), and a table of many
    // columns shown as cards, each cell under its column's name.
    b.resize(390, 844);
    b.goto(&format!("{url}/assets/ACME-1"));
    b.wait_title("Asset ACME-1");
    fits_the_width(&b, "the asset page");
    let cards = b.script(
        "const t = document.querySelector('table.cards'); \
         return t && [getComputedStyle(t.querySelector('thead')).display, \
                      getComputedStyle(t.querySelector('td')).display];",
    );
    assert_eq!(
        cards,
        serde_json::json!(["none", "grid"]),
        "table.cards on a phone"
    );
    b.screenshot(&shots, "12-asset-phone");
    b.goto(&format!("{url}/verify"));
    b.wait_title("Verify");
    fits_the_width(&b, "the verify page");
    b.screenshot(&shots, "13-verify-phone");
}

/// What a certificate's page leaves off on paper: the navigation, forms, download links.
const PAPERLESS: [&str; 4] = [
    "header.top nav",
    "form",
    "a[href$='/pdf']",
    "a[href$='/json']",
];

/// Asserts that no element of the page reaches beyond the window's width.
fn fits_the_width(b: &Browser, page: &str) {
    let v = b.script(
        "const w = document.documentElement.clientWidth; \
         const wide = [...document.querySelectorAll('body *')] \
           .filter(e => e.getBoundingClientRect().right > w + 1) \
           .map(e => e.tagName + '.' + e.className); \
         return [w, document.documentElement.scrollWidth, wide];",
    );
    assert!(
        v[1].as_u64() <= v[0].as_u64() && v[2].as_array().is_some_and(|w| w.is_empty()),
        "{page} is wider than the phone (width, scroll width, too wide): {v}"
    );
}

/// The text `pdftotext` reads from PDF bytes.
fn pdftotext_of(pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("f.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args([file.to_str().unwrap(), "-"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}
