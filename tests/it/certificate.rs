//! Certificates end to end: a wipe issues a signed PDF and JSON; genuine ones verify; edits to
//! the signature, the record or the visible text fail with the check that says so; untrusted
//! keys fail; `--drive` confirms or refutes the drive; the openssl route works; keys behave.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use lopdf::{Document, Object};

use crate::support::*;

/// Wipes a fresh image and returns (home, image, pdf, json).
fn certified(method: &str) -> (Home, ShmFile, PathBuf, PathBuf) {
    let home = Home::new();
    let img = ShmFile::with_pattern("SN-CERT-1", 16 << 20);
    let (code, json) = home.json(&[
        "--set",
        "organisation.name=Greenfield IT Recycling Ltd",
        "--operator",
        "Jane Doe",
        "wipe",
        img.path.to_str().unwrap(),
        "--method",
        method,
        "--yes",
        "--json",
    ]);
    assert_eq!(code, 0, "{json}");
    let d = only_drive(&json);
    let pdf = PathBuf::from(d["certificate_pdf"].as_str().unwrap());
    let js = PathBuf::from(d["certificate_json"].as_str().unwrap());
    assert!(pdf.exists() && js.exists());
    (home, img, pdf, js)
}

fn verify(home: &Home, args: &[&str]) -> (i32, serde_json::Value) {
    let mut a = vec!["verify"];
    a.extend_from_slice(args);
    a.push("--json");
    home.json(&a)
}

fn check<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}: {report}"))
}

/// Rewrites an embedded file of a PDF.
fn edit_attachment(pdf: &Path, name: &str, edit: impl Fn(&mut Vec<u8>)) -> PathBuf {
    let mut doc = Document::load(pdf).unwrap();
    let ids: Vec<_> = doc.objects.keys().copied().collect();
    let mut target = None;
    for id in ids {
        if let Ok(Object::Dictionary(d)) = doc.get_object(id)
            && d.get(b"F").ok().and_then(|f| f.as_str().ok()) == Some(name.as_bytes())
        {
            let ef = d.get(b"EF").unwrap().as_dict().unwrap();
            target = Some(ef.get(b"F").unwrap().as_reference().unwrap());
        }
    }
    let sid = target.unwrap_or_else(|| panic!("no attachment {name}"));
    let stream = doc.get_object_mut(sid).unwrap().as_stream_mut().unwrap();
    let mut content = stream.content.clone();
    edit(&mut content);
    stream.set_content(content);
    let out = pdf.with_extension("edited.pdf");
    doc.save(&out).unwrap();
    out
}

/// Replaces a string shown on the first page with another made of the same characters, encoded
/// through the font's own ToUnicode map (the embedded subset has only the glyphs it shows).
fn edit_page_text(pdf: &Path, from: &str, to: &str) -> PathBuf {
    use lopdf::content::Content;
    let mut doc = Document::load(pdf).unwrap();
    let page = *doc.get_pages().get(&1).unwrap();
    let mut codes: BTreeMap<Vec<u8>, BTreeMap<u32, char>> = BTreeMap::new();
    for (name, font) in doc.get_page_fonts(page).unwrap() {
        let id = font.get(b"ToUnicode").unwrap().as_reference().unwrap();
        let stream = doc.get_object(id).unwrap().as_stream().unwrap();
        let cmap = String::from_utf8(stream.decompressed_content().unwrap()).unwrap();
        let parsed = printpdf::cmap::ToUnicodeCMap::parse(&cmap).unwrap();
        let map = parsed
            .mappings
            .iter()
            .map(|(code, cps)| (*code, char::from_u32(cps[0]).unwrap()))
            .collect();
        codes.insert(name, map);
    }
    let mut content = Content::decode(&doc.get_page_content(page)).unwrap();
    let mut font = Vec::new();
    let mut found = false;
    for op in &mut content.operations {
        if op.operator == "Tf" {
            font = op.operands[0].as_name().unwrap().to_vec();
        }
        if op.operator == "Tj"
            && let Object::String(bytes, _) = &mut op.operands[0]
        {
            let map = &codes[&font];
            let shown: String = bytes
                .chunks(2)
                .map(|c| map[&u32::from(u16::from_be_bytes([c[0], c[1]]))])
                .collect();
            if shown == from {
                *bytes = to
                    .chars()
                    .flat_map(|c| {
                        let code = map.iter().find(|(_, x)| **x == c).unwrap().0;
                        (*code as u16).to_be_bytes()
                    })
                    .collect();
                found = true;
            }
        }
    }
    assert!(found, "page 1 does not show {from}");
    doc.change_page_content(page, content.encode().unwrap())
        .unwrap();
    let out = pdf.with_extension("text.pdf");
    doc.save(&out).unwrap();
    out
}

#[test]
fn genuine_certificate_verifies_as_pdf_and_json_and_tampering_is_named() {
    let (home, _img, pdf, js) = certified("zero");
    for f in [&pdf, &js] {
        let (code, report) = verify(&home, &[f.to_str().unwrap()]);
        assert_eq!(code, 0, "{report}");
        assert_eq!(report["valid"], true);
    }
    // The human form says so too.
    let out = home.run(&["verify", pdf.to_str().unwrap()]);
    assert!(stdout(&out).contains("VALID"), "{}", stdout(&out));

    // A byte of the signature.
    let bad = edit_attachment(&pdf, "record.sig", |c| c[10] ^= 0x01);
    let (code, report) = verify(&home, &[bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(check(&report, "signature")["ok"], false, "{report}");

    // A field of the record.
    let bad = edit_attachment(&pdf, "record.json", |c| {
        let s = String::from_utf8(c.clone())
            .unwrap()
            .replace("\"destination\":\"reuse\"", "\"destination\":\"resale\"");
        *c = s.into_bytes();
    });
    let (code, report) = verify(&home, &[bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(check(&report, "signature")["ok"], false, "{report}");

    // A word a person reads on the page: the operator's name.
    let bad = edit_page_text(&pdf, "Jane Doe", "Dane Joe");
    assert!(pdftotext(&bad).contains("Dane Joe"));
    let (code, report) = verify(&home, &[bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    let text = check(&report, "visible_text");
    assert_eq!(text["ok"], false);
    assert!(
        text["detail"].as_str().unwrap().contains("Dane Joe"),
        "{text}"
    );
    assert_eq!(
        check(&report, "signature")["ok"],
        true,
        "the record itself is untouched"
    );

    // A field of the JSON certificate.
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&js).unwrap()).unwrap();
    v["record"]["sanitization"]["method"] = "gutmann".into();
    let bad = js.with_extension("edited.json");
    std::fs::write(&bad, serde_json::to_vec_pretty(&v).unwrap()).unwrap();
    let (code, report) = verify(&home, &[bad.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(check(&report, "signature")["ok"], false);
}

#[test]
fn certificate_under_an_untrusted_key_fails_until_the_key_is_given() {
    let (home, _img, pdf, _js) = certified("zero");
    let auditor = Home::new();
    let (code, report) = verify(&auditor, &[pdf.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(check(&report, "trusted_key")["ok"], false);
    // The station hands out its public key; with it, the certificate verifies.
    let out = home.run(&["keys", "export"]);
    assert!(out.status.success());
    let key = auditor.path().join("station.pem");
    std::fs::write(&key, &out.stdout).unwrap();
    let (code, report) = verify(
        &auditor,
        &[pdf.to_str().unwrap(), "--trust", key.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{report}");
}

#[test]
fn verify_against_the_drive_passes_untouched_and_fails_after_a_rewrite() {
    let (home, img, pdf, js) = certified("random");
    let (code, report) = verify(
        &home,
        &[pdf.to_str().unwrap(), "--drive", img.path.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(check(&report, "drive_content")["ok"], true);
    assert_eq!(check(&report, "drive_identity")["ok"], true);
    // Rewrite 2% of the drive in the middle: several subsections, so sampled regions change.
    write_range(&img.path, 8 << 20, &vec![0x42u8; 320 << 10]);
    let (code, report) = verify(
        &home,
        &[js.to_str().unwrap(), "--drive", img.path.to_str().unwrap()],
    );
    assert_eq!(code, 1);
    let c = check(&report, "drive_content");
    assert_eq!(c["ok"], false);
    assert!(
        c["detail"]
            .as_str()
            .unwrap()
            .contains("changed since it was certified"),
        "{c}"
    );
}

#[test]
fn the_openssl_route_from_the_certificates_readme_works() {
    let (home, _img, pdf, _js) = certified("zero");
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("pdfdetach")
        .args([
            "-saveall",
            "-o",
            dir.path().to_str().unwrap(),
            pdf.to_str().unwrap(),
        ])
        .output()
        .expect("pdfdetach (poppler-utils) is installed by .ci/setup");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = dir.path().join("station.pem");
    std::fs::write(&key, home.run(&["keys", "export"]).stdout).unwrap();
    let verify = |record: &Path| {
        Command::new("openssl")
            .args([
                "pkeyutl",
                "-verify",
                "-pubin",
                "-inkey",
                key.to_str().unwrap(),
                "-rawin",
                "-in",
            ])
            .arg(record)
            .arg("-sigfile")
            .arg(dir.path().join("record.sig"))
            .output()
            .unwrap()
    };
    let ok = verify(&dir.path().join("record.json"));
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert!(String::from_utf8_lossy(&ok.stdout).contains("Signature Verified Successfully"));
    // The key id on the certificate is the SHA-256 of the key's DER form.
    let der = Command::new("openssl")
        .args([
            "pkey",
            "-pubin",
            "-in",
            key.to_str().unwrap(),
            "-outform",
            "DER",
        ])
        .output()
        .unwrap();
    use sha2::Digest;
    let id = format!("SHA256:{}", hex::encode(sha2::Sha256::digest(&der.stdout)));
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("record.json")).unwrap()).unwrap();
    assert_eq!(record["key_id"], id);
    // A changed record does not verify with openssl either.
    let tampered = dir.path().join("tampered.json");
    let text = std::fs::read_to_string(dir.path().join("record.json")).unwrap();
    std::fs::write(&tampered, text.replace("\"PASS\"", "\"FAIL\"")).unwrap();
    assert!(!verify(&tampered).status.success());
}

#[test]
fn certificates_of_a_station_form_a_hash_chain() {
    let home = Home::new();
    let mut records = Vec::new();
    for i in 0..2 {
        let img = ShmFile::with_pattern(&format!("chain{i}"), 4 << 20);
        let (code, json) = home.json(&[
            "wipe",
            img.path.to_str().unwrap(),
            "--method",
            "zero",
            "--yes",
            "--json",
        ]);
        assert_eq!(code, 0);
        let js = only_drive(&json)["certificate_json"]
            .as_str()
            .unwrap()
            .to_string();
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(js).unwrap()).unwrap();
        records.push(v);
    }
    assert!(records[0]["record"]["previous"].is_null());
    assert_eq!(
        records[1]["record"]["previous"]["id"],
        records[0]["record"]["id"]
    );
    assert_eq!(
        records[1]["record"]["previous"]["record_sha256"],
        records[0]["signature"]["record_sha256"]
    );
}

#[test]
fn keys_init_show_export_and_the_first_wipe_creates_a_key() {
    let home = Home::new();
    let out = home.run(&["keys", "show"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("keys init"), "{}", stderr(&out));
    let out = home.run(&["keys", "init"]);
    assert!(out.status.success());
    let id = stdout(&out).trim().to_string();
    assert!(id.starts_with("SHA256:"));
    let out = home.run(&["keys", "init"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--force"));
    assert_eq!(stdout(&home.run(&["keys", "show"])).trim(), id);
    let pem = stdout(&home.run(&["keys", "export"]));
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    assert!(!pem.contains("PRIVATE"));
    // Then the X.509 certificate of the PDF signature, and the output is read as it is.
    assert!(
        pem.contains("-----END PUBLIC KEY-----\n-----BEGIN CERTIFICATE-----"),
        "{pem}"
    );
    let exported = home.path().join("exported.pem");
    std::fs::write(&exported, &pem).unwrap();
    let other = Home::new();
    let out = other.run(&["keys", "trust", exported.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(&id), "{}", stderr(&out));
    // A station made before PDF signatures (no P-256 key) gets its key on first use.
    let keys = home.path().join("keys");
    let pdf_key = keys.join("station-pdf-key.pem");
    let certificate = keys.join("station-certificate.pem");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&pdf_key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    std::fs::remove_file(&pdf_key).unwrap();
    std::fs::remove_file(&certificate).unwrap();
    let again = stdout(&home.run(&["keys", "export"]));
    assert!(pdf_key.exists() && certificate.exists());
    assert!(again.contains("BEGIN CERTIFICATE") && again != pem);
    let out = home.run(&["keys", "init", "--force"]);
    assert!(out.status.success());
    assert_ne!(stdout(&out).trim(), id);

    let fresh = Home::new();
    let img = ShmFile::with_pattern("firstkey", 4 << 20);
    let out = fresh.run(&[
        "wipe",
        img.path.to_str().unwrap(),
        "--method",
        "zero",
        "--yes",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("had no signing key; created SHA256:"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn junk_truncated_and_missing_files_are_errors_not_panics() {
    let (home, _img, pdf, _js) = certified("zero");
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pdf");
    std::fs::write(&junk, b"%PDF-1.7\nthis is not a pdf").unwrap();
    let (code, report) = verify(&home, &[junk.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_eq!(report["valid"], false);
    let bytes = std::fs::read(&pdf).unwrap();
    let cut = dir.path().join("cut.pdf");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (code, _) = verify(&home, &[cut.to_str().unwrap()]);
    assert!(code == 1 || code == 2);
    let out = home.run(&["verify", "/nonexistent/cert.pdf"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/nonexistent/cert.pdf"));
}

/// The PEM of the identity point as an Ed25519 public key: a key of small order.
fn identity_key_pem() -> String {
    use base64::Engine;
    let mut der = hex::decode("302a300506032b6570032100").unwrap();
    let mut point = [0u8; 32];
    point[0] = 1;
    der.extend_from_slice(&point);
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    format!("-----BEGIN PUBLIC KEY-----\n{b64}\n-----END PUBLIC KEY-----\n")
}

#[test]
fn a_weak_key_is_refused_by_stations_add_and_verify_trust_and_cannot_forge() {
    let (home, _img, _pdf, js) = certified("zero");
    let dir = tempfile::tempdir().unwrap();
    let weak = dir.path().join("weak.pem");
    std::fs::write(&weak, identity_key_pem()).unwrap();

    // A forged FAIL-to-PASS certificate under the identity key: R = identity, s = 0 is a
    // "signature" of every message under that key.
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&js).unwrap()).unwrap();
    let weak_id = {
        let der = hex::decode(format!(
            "302a300506032b6570032100{}{}",
            "01",
            "00".repeat(31)
        ))
        .unwrap();
        use sha2::Digest;
        format!("SHA256:{}", hex::encode(sha2::Sha256::digest(&der)))
    };
    v["record"]["key_id"] = weak_id.clone().into();
    v["record"]["media"]["serial"] = "FORGED-SERIAL".into();
    v["signature"]["key_id"] = weak_id.into();
    let record = wipeproof::certificate::record::Record::from_value(v["record"].clone()).unwrap();
    v["signature"]["record_sha256"] = record.sha256().unwrap().into();
    let mut sig = [0u8; 64];
    sig[0] = 1;
    use base64::Engine;
    v["signature"]["value"] = base64::engine::general_purpose::STANDARD.encode(sig).into();
    let forged = dir.path().join("forged.json");
    std::fs::write(&forged, serde_json::to_vec_pretty(&v).unwrap()).unwrap();

    let out = home.run(&[
        "verify",
        forged.to_str().unwrap(),
        "--trust",
        weak.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("weak") && stderr(&out).contains("weak.pem"),
        "{}",
        stderr(&out)
    );
    // Put in the trust store by hand, it makes the store unreadable rather than trusted.
    let trusted = home.path().join("keys").join("trusted");
    std::fs::create_dir_all(&trusted).unwrap();
    std::fs::write(trusted.join("weak.pem"), identity_key_pem()).unwrap();
    let out = home.run(&["verify", forged.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("weak"), "{}", stderr(&out));
    std::fs::remove_file(trusted.join("weak.pem")).unwrap();

    let central = Home::new();
    let out = central.run(&["stations", "add", weak.to_str().unwrap(), "--name", "x"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("weak"), "{}", stderr(&out));
    let (_, st) = central.json(&["stations", "list", "--json"]);
    assert_eq!(st["stations"].as_array().map(Vec::len).unwrap_or(0), 0);
}

#[test]
fn a_pdf_whose_name_tree_lists_itself_is_refused_quickly() {
    use lopdf::dictionary;
    let mut doc = Document::with_version("1.7");
    let pages_id = doc.new_object_id();
    let page_id = doc.add_object(dictionary! { "Type" => "Page", "Parent" => pages_id });
    doc.objects.insert(
        pages_id,
        Object::Dictionary(dictionary! {
            "Type" => "Pages", "Kids" => vec![Object::Reference(page_id)], "Count" => 1,
        }),
    );
    let node = doc.new_object_id();
    let kids: Vec<Object> = (0..40).map(|_| Object::Reference(node)).collect();
    doc.objects
        .insert(node, Object::Dictionary(dictionary! { "Kids" => kids }));
    let catalog = doc.add_object(dictionary! {
        "Type" => "Catalog", "Pages" => pages_id, "Names" => dictionary! { "EmbeddedFiles" => node },
    });
    doc.trailer.set("Root", catalog);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("loop.pdf");
    doc.save(&path).unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() < 1024);

    let home = Home::new();
    let mut child = home
        .command(&["verify", path.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > std::time::Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("verify of a 1 KiB PDF did not finish in 30 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(2));
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.contains("name tree") && err.contains("twice"), "{err}");
}

/// Wipes a loop device with zeros and returns (home, device, json certificate, the published
/// sample regions as (offset, len)).
fn certified_loop(stem: &str, size: u64) -> (Home, LoopDev, PathBuf, Vec<(u64, u64)>) {
    let home = Home::new();
    let lo = LoopDev::new(stem, size, 512);
    let (code, json) = home.json(&[
        "wipe",
        lo.dev.to_str().unwrap(),
        "--method",
        "zero",
        "--yes",
        "--json",
    ]);
    assert_eq!(code, 0, "{json}");
    let js = PathBuf::from(only_drive(&json)["certificate_json"].as_str().unwrap());
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&js).unwrap()).unwrap();
    let plan = &v["record"]["verification"]["plan"];
    let seed: [u8; 32] = hex::decode(plan["seed"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let built = wipeproof::verify::plan::SamplePlan::build(wipeproof::verify::plan::PlanParams {
        size_bytes: plan["size_bytes"].as_u64().unwrap(),
        sector_size: plan["sector_size"].as_u64().unwrap() as u32,
        coverage_ppm: plan["requested_coverage_ppm"].as_u64().unwrap() as u32,
        seed,
    })
    .unwrap();
    let regions = built.regions.iter().map(|r| (r.offset, r.len)).collect();
    (home, lo, js, regions)
}

/// Overwrites `total` bytes, sector by sector from `start`, skipping every sector that lies in
/// a published region: a change the certificate's own regions cannot see.
fn change_outside(backing: &Path, regions: &[(u64, u64)], start: u64, total: u64) {
    let mut changed = 0;
    let mut at = start;
    while changed < total {
        let hit = regions.iter().any(|&(o, l)| at < o + l && o < at + 512);
        if !hit {
            write_range(backing, at, &[0x42; 512]);
            changed += 512;
        }
        at += 512;
    }
}

#[test]
fn verify_drive_finds_a_64_kib_change_the_published_regions_miss() {
    let size = 16 << 20;
    let (home, lo, js, regions) = certified_loop("fresh", size);
    let dev = lo.dev.to_str().unwrap();
    // Untouched: valid, and the report says how much was read.
    let (code, report) = verify(&home, &[js.to_str().unwrap(), "--drive", dev]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(check(&report, "drive_pattern")["ok"], true, "{report}");
    let read = report["drive"]["bytes_read"].as_u64().unwrap();
    assert!(read > 0 && read < size, "{report}");
    assert_eq!(report["drive"]["size_bytes"], size);
    assert_eq!(report["drive"]["full"], false);

    change_outside(&lo.backing, &regions, 8 << 20, 64 << 10);
    let (code, report) = verify(&home, &[js.to_str().unwrap(), "--drive", dev]);
    assert_eq!(
        check(&report, "drive_content")["ok"],
        true,
        "the published regions were left alone: {report}"
    );
    // Every slot of the plan holds one published region; the change fills the rest of about
    // ten slots, and a fresh region misses all of them with probability below 1e-9.
    assert_eq!(code, 1, "{report}");
    let c = check(&report, "drive_pattern");
    assert_eq!(c["ok"], false);
    assert!(
        c["detail"].as_str().unwrap().contains("fresh regions"),
        "{c}"
    );

    // --full reads every byte and always finds it.
    let (code, report) = verify(&home, &[js.to_str().unwrap(), "--drive", dev, "--full"]);
    assert_eq!(code, 1, "{report}");
    assert_eq!(check(&report, "drive_pattern")["ok"], false);
    assert_eq!(report["drive"]["bytes_read"], size);
    assert_eq!(report["drive"]["full"], true);
    let out = home.run(&["verify", js.to_str().unwrap(), "--drive", dev, "--full"]);
    assert!(
        stdout(&out).contains(&format!("read {size} of {size} bytes")),
        "{}",
        stdout(&out)
    );
}

#[test]
fn verify_full_of_a_random_wipe_says_it_cannot_compare() {
    let (home, img, _pdf, js) = certified("random");
    let dev = img.path.to_str().unwrap();
    let (code, report) = verify(&home, &[js.to_str().unwrap(), "--drive", dev]);
    assert_eq!(code, 0, "{report}");
    let c = check(&report, "drive_pattern");
    assert!(
        c["detail"].as_str().unwrap().contains("random keystream"),
        "{c}"
    );
    let out = home.run(&["verify", js.to_str().unwrap(), "--drive", dev, "--full"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--full"), "{}", stderr(&out));
}

/// The certificates an earlier release made (layout 1), copied to a scratch directory.
fn old_certificates() -> tempfile::TempDir {
    let dir = tempfile::tempdir_in("/dev/shm").unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/certificate-0.0.9");
    for f in [
        "pass.pdf",
        "pass.json",
        "fail.pdf",
        "fail.json",
        "station-public-key.pem",
    ] {
        std::fs::copy(from.join(f), dir.path().join(f)).unwrap();
    }
    dir
}

fn pdftotext(pdf: &Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout", pdf.to_str().unwrap(), "-"])
        .output()
        .expect("pdftotext (poppler-utils) is installed by .ci/setup");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Appends an incremental update to `pdf` that gives the font `base_font` a `/Differences`
/// encoding mapping F to P, I to S and L to S: a FAIL shown in it reads PASS on screen and in
/// `pdftotext`, while the content stream and the signed record are untouched.
fn differences_update(pdf: &Path, base_font: &str) -> PathBuf {
    let bytes = std::fs::read(pdf).unwrap();
    let doc = Document::load_mem(&bytes).unwrap();
    let font_id = *doc
        .objects
        .iter()
        .find(|(_, o)| {
            o.as_dict()
                .ok()
                .and_then(|d| d.get(b"BaseFont").ok())
                .and_then(|n| n.as_name().ok())
                == Some(base_font.as_bytes())
        })
        .unwrap()
        .0;
    let startxref = {
        let at = bytes.windows(9).rposition(|w| w == b"startxref").unwrap();
        let tail = String::from_utf8_lossy(&bytes[at + 9..]).into_owned();
        tail.split_whitespace().next().unwrap().to_string()
    };
    let trailer = &doc.trailer;
    let id = |k: &[u8]| {
        let (n, g) = trailer.get(k).unwrap().as_reference().unwrap();
        format!("{n} {g} R")
    };
    let mut out = bytes.clone();
    out.push(b'\n');
    let offset = out.len();
    out.extend_from_slice(
        format!(
            "{} 0 obj\n<</Type/Font/Subtype/Type1/BaseFont/{base_font}/Encoding<</Type/Encoding\
             /BaseEncoding/WinAnsiEncoding/Differences[70/P 73/S 76/S]>>>>\nendobj\n",
            font_id.0
        )
        .as_bytes(),
    );
    let xref = out.len();
    out.extend_from_slice(
        format!(
            "xref\n0 1\n0000000000 65535 f \n{} 1\n{offset:010} 00000 n \ntrailer\n\
             <</Size {}/Root {}/Info {}/Prev {startxref}>>\nstartxref\n{xref}\n%%EOF\n",
            font_id.0,
            trailer.get(b"Size").unwrap().as_i64().unwrap(),
            id(b"Root"),
            id(b"Info"),
        )
        .as_bytes(),
    );
    let path = pdf.with_extension("updated.pdf");
    std::fs::write(&path, out).unwrap();
    path
}

#[test]
fn certificates_of_an_earlier_release_verify_and_stay_closed_to_edits() {
    let dir = old_certificates();
    let home = Home::new();
    let key = dir.path().join("station-public-key.pem");
    let key = key.to_str().unwrap();
    for f in ["pass.pdf", "pass.json", "fail.pdf", "fail.json"] {
        let f = dir.path().join(f);
        let (code, report) = verify(&home, &[f.to_str().unwrap(), "--trust", key]);
        assert_eq!(code, 0, "{f:?}: {report}");
        if f.extension().unwrap() == "pdf" {
            let structure = check(&report, "pdf_structure");
            assert!(structure["detail"].as_str().unwrap().contains("layout 1"));
        }
    }

    // The FAIL certificate, with an incremental update that redefines the bold font's
    // encoding: every viewer and pdftotext now show PASS.
    let fail = dir.path().join("fail.pdf");
    assert!(pdftotext(&fail).contains("FAIL"));
    let forged = differences_update(&fail, "Helvetica-Bold");
    let shown = pdftotext(&forged);
    assert!(shown.contains("PASS") && !shown.contains("FAIL"), "{shown}");
    let (code, report) = verify(&home, &[forged.to_str().unwrap(), "--trust", key]);
    assert_eq!(code, 1, "{report}");
    let structure = check(&report, "pdf_structure");
    assert_eq!(structure["ok"], false, "{report}");
    assert!(
        structure["detail"]
            .as_str()
            .unwrap()
            .contains("incremental update"),
        "{structure}"
    );
    assert_eq!(check(&report, "signature")["ok"], true);
    let text = check(&report, "visible_text");
    assert_eq!(text["ok"], false, "{report}");
    assert!(
        text["detail"]
            .as_str()
            .unwrap()
            .contains("Greenfield ST Recycling Std"),
        "the check says what a viewer shows: {text}"
    );

    // The same edit written as a whole new file (one revision): the font is named.
    let mut doc = Document::load(&forged).unwrap();
    let resaved = dir.path().join("resaved.pdf");
    doc.save(&resaved).unwrap();
    assert!(!pdftotext(&resaved).contains("FAIL"));
    let (code, report) = verify(&home, &[resaved.to_str().unwrap(), "--trust", key]);
    assert_eq!(code, 1, "{report}");
    let structure = check(&report, "pdf_structure");
    assert_eq!(structure["ok"], false, "{report}");
    assert!(
        structure["detail"].as_str().unwrap().contains("/Encoding"),
        "{structure}"
    );
}

#[test]
fn names_beyond_latin_1_are_shown_signed_and_verified() {
    let home = Home::new();
    let img = ShmFile::with_pattern("SN-UNICODE-1", 4 << 20);
    let (code, json) = home.json(&[
        "--set",
        "organisation.name=Łódź Recykling",
        "--set",
        "organisation.address=ul. Piotrkowska 104, 90-001 Łódź",
        "--operator",
        "日本 Operator",
        "wipe",
        img.path.to_str().unwrap(),
        "--method",
        "zero",
        "--yes",
        "--json",
    ]);
    assert_eq!(code, 0, "{json}");
    let pdf = PathBuf::from(only_drive(&json)["certificate_pdf"].as_str().unwrap());
    let text = pdftotext(&pdf);
    for shown in [
        "Łódź Recykling",
        "Piotrkowska 104, 90-001 Łódź",
        "日本 Operator",
    ] {
        assert!(text.contains(shown), "{shown} is not on the page:\n{text}");
    }
    assert!(!text.contains('?'), "{text}");
    let (code, report) = verify(&home, &[pdf.to_str().unwrap()]);
    assert_eq!(code, 0, "{report}");

    // A character no font of the certificate has: nothing is signed that the page cannot show.
    let img = ShmFile::with_pattern("SN-UNICODE-2", 4 << 20);
    let out = home.run(&[
        "--operator",
        "Jane क",
        "wipe",
        img.path.to_str().unwrap(),
        "--method",
        "zero",
        "--yes",
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("cannot show") && err.contains("U+0915"),
        "{err}"
    );
}
