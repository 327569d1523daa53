//! The register's certificate authority, checked by tools wipeproof did not write: a station
//! enrolled on a register gets a certificate under the register's CA at its next sync, and the
//! certificate PDF of a wipe it then makes is valid and trusted by poppler's `pdfsig` with only
//! the CA's certificate in its NSS database, and by pyHanko with the CA as its only trust root;
//! after `stations revoke` the CA's CRL (`GET /api/v1/crl`) lists the station's certificate, as
//! `openssl crl` reads it. The register's pages verify a customer's collection report and show
//! the CA on the Trust page.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::pades::{nss_trusting, pdfsig, pyhanko, pyhanko_python, verify_check};
use crate::support::*;
use crate::web::{Cred, PASSWORD, agent, csrf_of, get, register, sign_in};

on_each_backend!(
    a_station_signs_under_the_register_s_ca_and_its_revocation_is_in_the_crl,
    the_verify_page_checks_reports_and_the_trust_page_serves_the_ca,
);

/// Downloads `path` of the server into `file`; its bytes.
fn download(url: &str, path: &str, file: &Path) -> Vec<u8> {
    let mut r = agent().get(&format!("{url}{path}")).call().unwrap();
    assert_eq!(r.status().as_u16(), 200, "{path}");
    let bytes = r.body_mut().read_to_vec().unwrap();
    std::fs::write(file, &bytes).unwrap();
    bytes
}

fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(out.status.success(), "openssl {args:?}: {}", stderr(&out));
    stdout(&out)
}

/// A station enrolled on `central` as `name` with its whole `keys export` output.
fn enrolled(central: &Home, name: &str) -> Home {
    let s = Home::new();
    assert!(s.run(&["keys", "init"]).status.success());
    set_station_id(&s, name);
    let pem = s.path().join("station.pem");
    std::fs::write(&pem, s.run(&["keys", "export"]).stdout).unwrap();
    let out = central.run(&["stations", "add", pem.to_str().unwrap(), "--name", name]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("issued station"), "{}", stderr(&out));
    s
}

/// Wipes a loop device on `station`; the certificate PDF.
fn wipe_loop(station: &Home, stem: &str) -> PathBuf {
    let lo = LoopDev::new(stem, 4 << 20, 512);
    let (code, v) = station.json(&[
        "wipe",
        lo.dev.to_str().unwrap(),
        "--method",
        "zero",
        "--yes",
        "--json",
    ]);
    assert_eq!(code, 0, "{v}");
    PathBuf::from(only_drive(&v)["certificate_pdf"].as_str().unwrap())
}

fn a_station_signs_under_the_register_s_ca_and_its_revocation_is_in_the_crl(backend: Backend) {
    let central = Home::on(backend);
    assert!(central.run(&["keys", "init"]).status.success());
    let server = Server::start(&central);
    let url = &server.url;
    let station = enrolled(&central, "bay-ca");
    let out = station.run(&["sync", "--register", url]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("issued by the register's CA"),
        "{}",
        stderr(&out)
    );
    let pdf = wipe_loop(&station, "CA-SIGNED");

    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    download(url, "/api/v1/ca.pem", &ca);
    let exported = central.run(&["ca", "export"]);
    assert_eq!(
        stdout(&exported),
        std::fs::read_to_string(&ca).unwrap(),
        "the register's page and `ca export` give the same CA"
    );
    // Only the CA is trusted: the station's certificate is not in the database.
    let db = nss_trusting(dir.path(), &ca);
    let out = pdfsig(&db, &pdf);
    assert!(out.contains("Signature is Valid"), "{out}");
    assert!(out.contains("Certificate is Trusted"), "{out}");
    assert!(out.contains("Total document signed"), "{out}");
    let out = pyhanko(&pyhanko_python(), &pdf, &ca);
    assert!(out.contains("INTACT:TRUSTED"), "{out}");
    let (code, check) = verify_check(&station, &pdf, "pdf_signature");
    assert_eq!(code, 0, "{check}");
    let detail = check["detail"].as_str().unwrap();
    assert!(detail.contains("issued by CA"), "{detail}");
    let subject = openssl(&["x509", "-in", ca.to_str().unwrap(), "-noout", "-subject"]);
    assert!(subject.contains("wipeproof"), "{subject}");

    // Revoked: the CRL, signed by the CA, lists the station certificate's serial.
    let serial = openssl(&[
        "x509",
        "-in",
        station
            .path()
            .join("keys/station-certificate.pem")
            .to_str()
            .unwrap(),
        "-noout",
        "-serial",
    ]);
    let serial = serial.trim().trim_start_matches("serial=").to_string();
    let crl = dir.path().join("before.crl");
    download(url, "/api/v1/crl", &crl);
    let text = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        crl.to_str().unwrap(),
        "-text",
        "-noout",
    ]);
    assert!(!text.contains(&serial), "not revoked yet: {text}");
    let out = central.run(&["stations", "revoke", "bay-ca"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let crl = dir.path().join("after.crl");
    download(url, "/api/v1/crl", &crl);
    let text = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        crl.to_str().unwrap(),
        "-text",
        "-noout",
    ]);
    assert!(
        text.contains(&format!("Serial Number: {serial}")),
        "{serial} in {text}"
    );
    let out = Command::new("openssl")
        .args([
            "crl",
            "-inform",
            "DER",
            "-in",
            crl.to_str().unwrap(),
            "-noout",
        ])
        .args(["-CAfile", ca.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        format!("{}{}", stdout(&out), stderr(&out)).contains("verify OK"),
        "{}",
        stderr(&out)
    );
}

/// Posts `file` to the verify page as `ann`; the page.
fn upload(url: &str, file: &Path) -> String {
    let cookie = sign_in(url, "ann", PASSWORD);
    let csrf = csrf_of(&get(url, "/verify", Cred::Cookie(&cookie)).body);
    let mut body = format!(
        "--B\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --B\r\nContent-Disposition: form-data; name=\"certificate\"; filename=\"report.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&std::fs::read(file).unwrap());
    body.extend_from_slice(b"\r\n--B--\r\n");
    let mut r = agent()
        .post(&format!("{url}/verify"))
        .header("Cookie", &format!("wipeproof_session={cookie}"))
        .header("Content-Type", "multipart/form-data; boundary=B")
        .send(&body[..])
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    r.body_mut().read_to_string().unwrap()
}

fn the_verify_page_checks_reports_and_the_trust_page_serves_the_ca(backend: Backend) {
    let central = register(backend);
    let (code, v) = central.json(&["report", "COL-1", "--json"]);
    assert_eq!(code, 0, "{v}");
    let report = PathBuf::from(v["pdf"].as_str().unwrap());
    let server = Server::start(&central);
    let url = &server.url;

    let page = upload(url, &report);
    assert!(!page.contains("no embedded record.json"), "{page}");
    assert!(
        page.contains("The report is genuine and untouched"),
        "{page}"
    );
    assert!(
        page.contains("COL-1") && page.contains("Acme Insurance"),
        "{page}"
    );
    // A report with one byte of its pages changed is not valid.
    let mut bytes = std::fs::read(&report).unwrap();
    let at = bytes.windows(4).position(|w| w == b"/T(w").unwrap() + 3;
    bytes[at] ^= 0x20;
    let changed = report.with_extension("changed.pdf");
    std::fs::write(&changed, bytes).unwrap();
    let page = upload(url, &changed);
    assert!(page.contains("Not valid"), "{page}");
    assert!(page.contains("pdf_signature"), "{page}");

    // The register's own reports are signed under its CA too, once it serves: trusted with
    // only the CA in the NSS database.
    let (code, v) = central.json(&["report", "COL-1", "--json"]);
    assert_eq!(code, 0, "{v}");
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    download(url, "/api/v1/ca.pem", &ca);
    let db = nss_trusting(dir.path(), &ca);
    let out = pdfsig(&db, Path::new(v["pdf"].as_str().unwrap()));
    assert!(out.contains("Signature is Valid"), "{out}");
    assert!(out.contains("Certificate is Trusted"), "{out}");

    let cookie = sign_in(url, "ann", PASSWORD);
    let trust = get(url, "/trust", Cred::Cookie(&cookie));
    assert_eq!(trust.status, 200);
    let pem = get(url, "/api/v1/ca.pem", Cred::None);
    assert_eq!(pem.status, 200);
    assert!(
        pem.body.starts_with("-----BEGIN CERTIFICATE-----"),
        "{}",
        pem.body
    );
    for shown in [
        "href=\"/api/v1/ca.pem\"",
        "href=\"/api/v1/crl\"",
        pem.body.lines().nth(1).unwrap(),
        "pdfsig",
        "certutil",
        "wipeproof verify",
        "BEGIN PUBLIC KEY",
    ] {
        assert!(trust.body.contains(shown), "{shown} on {}", trust.body);
    }
}
