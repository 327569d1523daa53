//! The PDF signature of certificates and reports, checked by tools wipeproof did not write:
//! poppler's `pdfsig` (with the station's certificate trusted in an NSS database made with
//! `certutil`) and pyHanko (installed from the Python package index into a virtual environment
//! under `target/`, once). A genuine file is valid and trusted in both; one byte changed inside
//! the signed range fails in both and in `wipeproof verify`; an incremental update appended
//! after signing is reported by `pdfsig` and `wipeproof verify`.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

/// Wipes a file and returns (home, pdf).
fn certificate(home: &Home) -> PathBuf {
    let img = ShmFile::with_pattern("SN-PADES-1", 4 << 20);
    let (code, json) = home.json(&[
        "--set",
        "organisation.name=Greenfield IT Recycling Ltd",
        "--operator",
        "Jane Doe",
        "wipe",
        img.path.to_str().unwrap(),
        "--method",
        "zero",
        "--yes",
        "--json",
    ]);
    assert_eq!(code, 0, "{json}");
    PathBuf::from(only_drive(&json)["certificate_pdf"].as_str().unwrap())
}

/// The report of a collection with one wiped asset.
fn report(home: &Home) -> PathBuf {
    let manifest = "asset_tag,serial,type\nPAD-1,SYS-1,laptop\n";
    assert!(
        import_manifest(home, manifest, "Acme", "COL-P")
            .status
            .success()
    );
    let img = ShmFile::with_pattern("SN-PADES-2", 4 << 20);
    let (code, json) = home.json(&[
        "wipe",
        img.path.to_str().unwrap(),
        "--method",
        "zero",
        "--asset",
        "PAD-1",
        "--yes",
        "--json",
    ]);
    assert_eq!(code, 0, "{json}");
    let (code, v) = home.json(&["report", "COL-P", "--json"]);
    assert_eq!(code, 0, "{v}");
    PathBuf::from(v["pdf"].as_str().unwrap())
}

/// `keys export`: the public key, then the certificate; returns the certificate's PEM file.
fn exported_certificate(home: &Home, dir: &Path) -> PathBuf {
    let out = home.run(&["keys", "export"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let key_at = text
        .find("-----BEGIN PUBLIC KEY-----")
        .expect("public key first");
    let cert_at = text
        .find("-----BEGIN CERTIFICATE-----")
        .expect("then the certificate");
    assert!(key_at < cert_at, "{text}");
    let path = dir.join("station.pem");
    std::fs::write(&path, &text[cert_at..]).unwrap();
    path
}

/// An NSS database trusting `cert`.
pub(crate) fn nss_trusting(dir: &Path, cert: &Path) -> String {
    let db = format!("sql:{}", dir.join("nss").display());
    std::fs::create_dir_all(dir.join("nss")).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("certutil").args(args).output().unwrap();
        assert!(out.status.success(), "certutil {args:?}: {}", stderr(&out));
    };
    run(&["-N", "-d", &db, "--empty-password"]);
    run(&[
        "-A",
        "-d",
        &db,
        "-n",
        "wipeproof station",
        "-t",
        "CT,C,C",
        "-i",
        cert.to_str().unwrap(),
    ]);
    db
}

pub(crate) fn pdfsig(db: &str, pdf: &Path) -> String {
    let out = Command::new("pdfsig")
        .args(["-nssdir", db, pdf.to_str().unwrap()])
        .output()
        .unwrap();
    format!("{}{}", stdout(&out), stderr(&out))
}

/// The virtual environment with pyHanko, made once under `target/` (a lock keeps parallel tests
/// from making it twice).
pub(crate) fn pyhanko_python() -> PathBuf {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let venv = target.join("pyhanko-venv");
    let python = venv.join("bin").join("python");
    std::fs::create_dir_all(&target).unwrap();
    let lock = std::fs::File::create(target.join("pyhanko-venv.lock")).unwrap();
    // SAFETY: flock on a descriptor this function owns; released when it is dropped.
    assert_eq!(
        unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) },
        0
    );
    let ready = |p: &Path| {
        Command::new(p)
            .args(["-c", "import pyhanko, pyhanko_certvalidator"])
            .status()
            .is_ok_and(|s| s.success())
    };
    if !ready(&python) {
        let made = Command::new("python3")
            .args(["-m", "venv", venv.to_str().unwrap()])
            .status()
            .unwrap();
        assert!(made.success(), "python3 -m venv (install python3-venv)");
        let out = Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "-q",
                "pyhanko",
                "pyhanko-certvalidator",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "pip install: {}", stderr(&out));
        assert!(ready(&python));
    }
    python
}

const PYHANKO_CHECK: &str = r#"
import sys
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

context = ValidationContext(trust_roots=[load_cert_from_pemder(sys.argv[2])])
with open(sys.argv[1], "rb") as f:
    signature = PdfFileReader(f, strict=False).embedded_signatures[0]
    status = validate_pdf_signature(signature, context)
    print(status.summary())
    print("intact" if status.intact else "not intact")
    print("valid" if status.valid else "not valid")
    print("trusted" if status.trusted else "not trusted")
    print("coverage", status.coverage.name)
"#;

pub(crate) fn pyhanko(python: &Path, pdf: &Path, cert: &Path) -> String {
    let out = Command::new(python)
        .args([
            "-c",
            PYHANKO_CHECK,
            pdf.to_str().unwrap(),
            cert.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    format!("{}{}", stdout(&out), stderr(&out))
}

/// The file with one byte changed inside the signed range: the letter after `prefix` (its
/// case, so the file still reads).
fn one_byte_changed(pdf: &Path, prefix: &[u8]) -> PathBuf {
    let mut bytes = std::fs::read(pdf).unwrap();
    let at = bytes
        .windows(prefix.len())
        .position(|w| w == prefix)
        .unwrap_or_else(|| panic!("{} not in the file", String::from_utf8_lossy(prefix)))
        + prefix.len();
    bytes[at] ^= 0x20;
    let out = pdf.with_extension("byte.pdf");
    std::fs::write(&out, bytes).unwrap();
    out
}

/// The file with an incremental update appended: a new document information dictionary.
fn incrementally_updated(pdf: &Path) -> PathBuf {
    let mut bytes = std::fs::read(pdf).unwrap();
    let doc = lopdf::Document::load_mem(&bytes).unwrap();
    let root = doc.trailer.get(b"Root").unwrap().as_reference().unwrap();
    let prev = doc.xref_start;
    let id = doc.max_id + 1;
    let offset = bytes.len() + 1;
    bytes.extend_from_slice(
        format!("\n{id} 0 obj\n<< /Title (Changed after signing) >>\nendobj\n").as_bytes(),
    );
    let xref = bytes.len();
    bytes.extend_from_slice(
        format!(
            "xref\n{id} 1\n{offset:010} 00000 n \ntrailer\n<< /Size {} /Root {} {} R /Info {id} 0 R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n",
            id + 1,
            root.0,
            root.1
        )
        .as_bytes(),
    );
    let out = pdf.with_extension("update.pdf");
    std::fs::write(&out, bytes).unwrap();
    out
}

pub(crate) fn verify_check(home: &Home, pdf: &Path, name: &str) -> (i32, serde_json::Value) {
    let (code, v) = home.json(&["verify", pdf.to_str().unwrap(), "--json"]);
    let c = v["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .find(|c| c["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no check {name}: {v}"));
    (code, c)
}

#[test]
fn certificates_and_reports_are_signed_as_pdf_validators_check_them() {
    let home = Home::new();
    let dir = tempfile::tempdir().unwrap();
    let files = [certificate(&home), report(&home)];
    let cert = exported_certificate(&home, dir.path());
    let db = nss_trusting(dir.path(), &cert);
    let python = pyhanko_python();
    for pdf in &files {
        // Genuine: wipeproof, pdfsig and pyHanko agree it is signed, whole, and trusted.
        let (code, check) = verify_check(&home, pdf, "pdf_signature");
        assert_eq!(code, 0, "{check}");
        assert_eq!(check["ok"], true, "{check}");
        let (_, file) = verify_check(&home, pdf, "file");
        assert!(
            file["ok"] == true && file["detail"].as_str().unwrap().contains("byte for byte")
                || file["detail"]
                    .as_str()
                    .unwrap()
                    .starts_with("byte-identical"),
            "{file}"
        );
        let out = pdfsig(&db, pdf);
        assert!(out.contains("ETSI.CAdES.detached"), "{out}");
        assert!(out.contains("Signature is Valid"), "{out}");
        assert!(out.contains("Certificate is Trusted"), "{out}");
        assert!(out.contains("Total document signed"), "{out}");
        let out = pyhanko(&python, pdf, &cert);
        assert!(out.contains("INTACT:TRUSTED"), "{out}");
        assert!(out.contains("coverage ENTIRE_FILE"), "{out}");

        // One byte changed inside the signed range (a letter of the signature field's name).
        let changed = one_byte_changed(pdf, b"/T(");
        let (code, check) = verify_check(&home, &changed, "pdf_signature");
        assert_eq!(code, 1);
        assert_eq!(check["ok"], false, "{check}");
        assert!(
            check["detail"]
                .as_str()
                .unwrap()
                .contains("changed after signing"),
            "{check}"
        );
        let out = pdfsig(&db, &changed);
        assert!(!out.contains("Signature is Valid"), "{out}");
        assert!(
            out.contains("Signature is Invalid") || out.contains("Digest Mismatch"),
            "{out}"
        );
        let out = pyhanko(&python, &changed, &cert);
        assert!(
            out.contains("not intact") && !out.contains("INTACT:"),
            "{out}"
        );

        // An incremental update appended after signing.
        let updated = incrementally_updated(pdf);
        let (code, check) = verify_check(&home, &updated, "pdf_signature");
        assert_eq!(code, 1);
        assert!(
            check["ok"] == false
                && check["detail"]
                    .as_str()
                    .unwrap()
                    .contains("does not cover the whole document"),
            "{check}"
        );
        let out = pdfsig(&db, &updated);
        assert!(out.contains("Not total document signed"), "{out}");
        let out = pyhanko(&python, &updated, &cert);
        assert!(!out.contains("coverage ENTIRE_FILE"), "{out}");
    }

    // Without the certificate in the NSS database the signature is valid but not trusted.
    let empty = tempfile::tempdir().unwrap();
    let db = format!("sql:{}", empty.path().display());
    assert!(
        Command::new("certutil")
            .args(["-N", "-d", &db, "--empty-password"])
            .status()
            .unwrap()
            .success()
    );
    let out = pdfsig(&db, &files[0]);
    assert!(out.contains("Signature is Valid"), "{out}");
    assert!(!out.contains("Certificate is Trusted"), "{out}");
}
