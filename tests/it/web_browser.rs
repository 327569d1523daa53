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
    b.link("Verify a certificate or report").click();
    b.wait_title("Verify a certificate or report");
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

/// The goods-in desk: a whole collection scanned at a scanner's pace (each tag and Enter typed
/// by the browser's own key events, as fast as it takes them), while earlier scans are still
/// on their way: every scan is answered in the list, in the order made, and recorded once.
#[test]
fn goods_in_answers_every_scan_made_at_a_scanners_pace() {
    assert!(
        Browser::available(),
        "the browser tests need /usr/bin/chromium and /usr/bin/chromedriver: run .ci/setup"
    );
    let home = Home::on(Backend::Sqlite);
    let mut manifest = String::from("asset_tag,serial,type\n");
    for i in 1..=40 {
        manifest.push_str(&format!("GI-{i:03},GS-{i:03},laptop\n"));
    }
    let out = import_manifest(&home, &manifest, "Acme Insurance", "COL-7");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = import_manifest(&home, "asset_tag,serial\nOT-1,OS-1\n", "Acme", "COL-8");
    assert!(out.status.success(), "{}", stderr(&out));
    crate::web::add_user(&home, "ian", "intake", PASSWORD);
    crate::web::add_user(&home, "ada", "admin", PASSWORD);
    let server = Server::start(&home);
    let url = &server.url;
    let b = Browser::start(1100, 900);
    b.goto(&format!("{url}/collections/COL-7/goods-in"));
    b.find("#username").send_keys("ian");
    b.find("#password").send_keys(PASSWORD);
    b.find("main form button").click();
    b.wait_title("Goods-in: collection COL-7");
    let focused = "return document.activeElement && document.activeElement.id;";
    assert_eq!(b.script(focused), "scan", "the field has the focus");
    b.find("h1").click();
    assert_eq!(
        b.script(focused),
        "scan",
        "a click elsewhere keeps it there"
    );

    // What is scanned, and what each must answer.
    let mut scans: Vec<(String, &str)> = Vec::new();
    for i in 1..=30 {
        scans.push((format!("GI-{i:03}"), "received"));
    }
    for i in 31..=40 {
        scans.push((format!("GS-{i:03}"), "received"));
    }
    scans.push(("GI-005".into(), "already_received"));
    scans.push(("GS-031".into(), "already_received"));
    scans.push(("OT-1".into(), "other_collection"));
    scans.push(("UNLISTED-77".into(), "extra"));
    scans.push(("UNLISTED-77".into(), "extra_again"));
    scans.push(("9".repeat(300), "refused"));
    scans.push(("GI-001".into(), "already_received"));
    let typed: String = scans.iter().map(|(s, _)| format!("{s}\u{E007}")).collect();
    let started = std::time::Instant::now();
    b.find("#scan").send_keys(&typed);
    let took = started.elapsed();
    eprintln!(
        "typed {} scans ({} keys) in {} ms",
        scans.len(),
        typed.chars().count(),
        took.as_millis()
    );

    // Every line answered (none still sending), in the order scanned (the list shows the
    // latest first).
    let rows = "return [...document.querySelectorAll('#answers li')].reverse().map(li => \
                [li.dataset.scanned, li.dataset.outcome, \
                 li.querySelector('.message').textContent]);";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let answered = loop {
        let v = b.script(rows);
        let all = v.as_array().cloned().unwrap_or_default();
        if all.len() == scans.len() && all.iter().all(|r| r[1] != "sending") {
            break all;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not every scan is answered: {v}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    for (row, (scan, outcome)) in answered.iter().zip(&scans) {
        assert_eq!(row[0], scan.as_str(), "{row}");
        assert_eq!(row[1], *outcome, "{scan}: {row}");
    }
    assert!(answered[0][2].as_str().unwrap().contains("received GI-001"));
    assert!(
        answered[42][2]
            .as_str()
            .unwrap()
            .contains("belongs to collection COL-8")
    );
    let queued: u64 = b
        .find("#scan-form")
        .attribute("data-most-queued")
        .unwrap_or_default()
        .parse()
        .unwrap_or(0);
    eprintln!("at most {queued} scans waited behind a request on its way");
    assert!(queued > 1, "no scan waited for another's answer: {queued}");
    assert_eq!(b.script(focused), "scan");
    b.screenshot(&artifacts(), "14-goods-in");

    // The register: each asset received once, by ian; the extra once; nothing else.
    assert_eq!(
        home.sql_count(
            "SELECT COUNT(*) FROM events WHERE kind = 'received' AND actor = 'ian' \
             AND asset_tag LIKE 'GI-%'"
        ),
        40
    );
    assert_eq!(
        home.sql_count(
            "SELECT COUNT(DISTINCT asset_tag) FROM events WHERE kind = 'received' \
             AND asset_tag LIKE 'GI-%'"
        ),
        40
    );
    assert_eq!(home.sql_count("SELECT COUNT(*) FROM collection_extras"), 1);
    let (code, c) = home.json(&["collections", "show", "COL-7", "--json"]);
    assert_eq!(code, 0, "{c}");
    assert_eq!(
        (c["received"].as_u64(), c["extras"].as_u64()),
        (Some(40), Some(1))
    );

    // A runaway scan is shown shortened.
    let long = b.script(
        "return [...document.querySelectorAll('#answers li')][1].querySelector('.scanned').textContent;",
    );
    assert_eq!(long, format!("{}\u{2026} (300 characters)", "9".repeat(40)));

    // The collection's page links to the desk; on a phone the desk fits the width.
    b.link("Back to the collection").click();
    b.wait_title("Collection COL-7");
    b.link("Goods-in: scan this collection").click();
    b.wait_title("Goods-in");
    b.resize(390, 844);
    b.find("#scan").send_keys("GI-002\u{E007}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while b.script("return document.querySelector('#answers li').dataset.outcome;") == "sending" {
        assert!(std::time::Instant::now() < deadline, "no answer");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    fits_the_width(&b, "the goods-in page");
    b.screenshot(&artifacts(), "15-goods-in-phone");

    // OT-1 never came: once reconciled, its collection's page flags it; intake cannot
    // resolve it, an admin can.
    let out = home.run(&["intake", "reconcile", "COL-8"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    b.resize(1100, 900);
    b.goto(&format!("{url}/collections/COL-8"));
    b.wait_title("Collection COL-8");
    assert!(
        b.find(".notice.bad")
            .text()
            .contains("1 asset(s) unaccounted for")
    );
    assert!(b.find_all("form.resolve").is_empty());
    b.find(".who form button").click();
    b.wait_title("Sign in");
    b.goto(&format!("{url}/collections/COL-8"));
    b.find("#username").send_keys("ada");
    b.find("#password").send_keys(PASSWORD);
    b.find("main form button").click();
    b.wait_title("Collection COL-8");
    b.screenshot(&artifacts(), "16-collection-unaccounted");
    b.find("form.resolve option[value=withdrawn]").click();
    b.find("form.resolve input[name=note]")
        .send_keys("the customer kept it");
    b.find("form.resolve button").click();
    b.wait_title("Collection COL-8");
    let custody = b.find("table.missing").text();
    assert!(
        custody.contains("withdrawn by the customer; resolved by ada")
            && custody.contains("kept it"),
        "{custody}"
    );
    assert!(b.find_all(".notice.bad").is_empty());
    b.screenshot(&artifacts(), "17-collection-resolved");
}
