//! The computer as the asset (`station.host_is_asset`): a headless unattended station whose
//! host inventory is read from the saved QEMU laptop tables (`tests/fixtures/smbios`) wipes two
//! loop devices present at start, puts the laptop's identity on both drive certificates, links
//! them to the laptop's asset (imported by its system serial, no tag typed), issues a computer
//! certificate that verifies, and the laptop's asset ends retired. The station's register
//! stores the computer certificate, its audit takes it, and a sync sends it to a central
//! register (on 127.0.0.1) that retires the laptop there too.
//!
//! The station is limited with `--only` to this test's own loop devices.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fake_glpi::{APP_TOKEN, Glpi, USER_TOKEN as GLPI_USER_TOKEN, glpi};
use crate::fake_http::FakeServer;
use crate::fake_snipeit::{Snipe, TOKEN, snipe};
use crate::station::{Plug, token};
use crate::support::*;

/// Runs a headless unattended station over `only` until its work is done; its JSON lines.
pub(crate) fn run_station(home: &Home, only: &str, host_is_asset: &str) -> Vec<Value> {
    let tables = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/smbios/qemu-laptop");
    let setting = format!("station.host_is_asset={host_is_asset}");
    let mut child = home
        .command(&[
            "station",
            "--headless",
            "--auto",
            "zero",
            "--auto-delay",
            "0",
            "--auto-existing",
            "--exit-when-done",
            "--only",
            only,
            "--set",
            &setting,
        ])
        .env("WIPEPROOF_SMBIOS_TABLES", &tables)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(180) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the station did not finish within 180 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr:\n{}\nlines: {lines:#?}",
        stderr(&out)
    );
    lines
}

#[test]
fn a_laptops_drives_are_linked_to_it_and_it_gets_a_computer_certificate_that_retires_it() {
    const MANIFEST: &str = "asset_tag,serial,type\nLAPTOP-1,5CG1234XYZ,laptop\n";
    require_root();
    let home = Home::new();
    let out = import_manifest(&home, MANIFEST, "Acme Insurance", "COL-H");
    assert!(out.status.success(), "{}", stderr(&out));
    // The central register knows the laptop and the station (enrolled before it certifies
    // anything: certificates count from the enrolment).
    let central = Home::new();
    let out = import_manifest(&central, MANIFEST, "Acme Insurance", "COL-H");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(home.run(&["keys", "init"]).status.success());
    set_station_id(&home, "bay-h");
    let pem = home.path().join("station.pem");
    std::fs::write(&pem, home.run(&["keys", "export"]).stdout).unwrap();
    let out = central.run(&["stations", "add", pem.to_str().unwrap(), "--name", "bay-h"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let t = token("host");
    let a = Plug::new(&t, "a", 8 << 20);
    let b = Plug::new(&t, "b", 8 << 20);
    let lines = run_station(&home, &format!("*{t}*"), "true");

    // Each drive: PASS, linked to the laptop's asset with no tag typed, the laptop on its
    // certificate.
    let mut drive_json = String::new();
    for p in [&a, &b] {
        let of = |event: &str| {
            lines
                .iter()
                .find(|v| v["drive"] == p.path().as_str() && v["event"] == event)
                .unwrap_or_else(|| panic!("no {event} for {}: {lines:#?}", p.path()))
                .clone()
        };
        assert_eq!(of("finished")["result"], "PASS");
        assert_eq!(of("registered")["asset_tag"], "LAPTOP-1", "{lines:#?}");
        let json = of("certified")["certificate_json"]
            .as_str()
            .unwrap()
            .to_string();
        drive_json = json.clone();
        let cert: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
        let errors = crate::schema::errors_of(&cert);
        assert!(errors.is_empty(), "{errors:#?}");
        let host = &cert["record"]["host"];
        assert_eq!(host["system"]["serial"], "5CG1234XYZ", "{cert:#}");
        assert_eq!(host["chassis"]["asset_tag"], "ACME-LT-0042");
        assert_eq!(host["bios"]["vendor"], "Insyde Corp.");
        assert_eq!(cert["record"]["asset_tags"][0], "LAPTOP-1");
    }

    // The computer certificate: both drives, PASS, the laptop's asset, and it verifies.
    let computer = lines
        .iter()
        .find(|v| v["event"] == "computer_certified")
        .unwrap_or_else(|| panic!("no computer certificate: {lines:#?}"));
    assert_eq!(computer["drive"], "computer");
    assert_eq!(computer["result"], "PASS", "{computer}");
    let json = computer["certificate_json"].as_str().unwrap();
    let computer_json = json.to_string();
    let cert: Value = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    let errors = crate::schema::computer_errors_of(&cert);
    assert!(errors.is_empty(), "{errors:#?}");
    let record = &cert["record"];
    assert_eq!(record["kind"], "computer");
    assert_eq!(record["schema"], "wipeproof/computer/v1");
    assert_eq!(record["inventory"]["system"]["serial"], "5CG1234XYZ");
    assert_eq!(record["asset_tags"][0], "LAPTOP-1");
    assert_eq!(record["customer"], "Acme Insurance");
    let mut serials: Vec<&str> = record["drives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["serial"].as_str().unwrap())
        .collect();
    serials.sort();
    assert_eq!(serials.len(), 2);
    assert!(serials.iter().all(|s| s.contains(&t)), "{serials:?}");
    for file in [json, computer["certificate_pdf"].as_str().unwrap()] {
        let (code, verdict) = home.json(&["verify", file, "--json"]);
        assert_eq!(code, 0, "{verdict:#}");
        assert_eq!(verdict["valid"], true, "{verdict:#}");
    }
    let (_, verdict) = home.json(&[
        "verify",
        computer["certificate_pdf"].as_str().unwrap(),
        "--json",
    ]);
    let names: Vec<&str> = verdict["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"visible_text") && names.contains(&"pdf_signature"),
        "{names:?}"
    );

    // The laptop's asset, imported by its system serial, is retired.
    assert_eq!(
        home.sql_texts("SELECT state FROM assets WHERE tag = 'LAPTOP-1'"),
        ["retired"]
    );

    // The station's register holds the computer certificate, linked to the laptop's asset,
    // queued for the central register, and its audit takes it into the station's chain.
    let id = record["id"].as_str().unwrap();
    assert_eq!(computer["asset_tag"], "LAPTOP-1", "{computer}");
    assert_eq!(computer["asset_state"], "retired", "{computer}");
    assert_eq!(
        home.sql_texts(
            "SELECT c.id || ' ' || a.tag || ' ' || c.result FROM computer_certificates c \
             JOIN assets a ON a.id = c.asset_id"
        ),
        [format!("{id} LAPTOP-1 PASS")]
    );
    let (code, shown) = home.json(&["assets", "show", "LAPTOP-1", "--json"]);
    assert_eq!(code, 0, "{shown}");
    assert_eq!(shown["computers"][0]["id"], id, "{shown:#}");
    assert_eq!(shown["computers"][0]["drives"], 2);
    let (code, audit) = home.json(&["assets", "audit", "--json"]);
    assert_eq!(code, 0, "{audit:#}");
    assert_eq!(audit["ok"], true, "{audit:#}");
    assert_eq!(audit["certificates"], 3, "{audit:#}");

    // A sync sends it to the central register, which verifies it and retires the laptop, and
    // to the customer's Snipe-IT, where the laptop's record gets its PDF once.
    let mut snipe_state = Snipe::new();
    snipe_state.assets.push(
        serde_json::json!({"id": 21, "asset_tag": "LAPTOP-1", "serial": "5CG1234XYZ", "assigned_to": null}),
    );
    let snipeit = FakeServer::start(snipe_state, snipe);
    // And to the customer's GLPI, where the laptop is a Computer known by its serial only.
    let mut glpi_state = Glpi::new();
    glpi_state.computers.push(serde_json::json!(
        {"id": 31, "name": "LT-0042", "serial": "5CG1234XYZ", "otherserial": "", "states_id": 1}
    ));
    let glpi_server = FakeServer::start(glpi_state, glpi);
    let app_token = home.path().join("glpi-app-token");
    std::fs::write(&app_token, format!("{APP_TOKEN}\n")).unwrap();
    let config = home.path().join("wipeproof.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[[connector]]\nname = \"acme-snipeit\"\nkind = \"snipeit\"\nurl = \"{}\"\n\
         token_env = \"ACME_SNIPEIT_TOKEN\"\nretired_status = \"Wiped\"\n\
         \n[[connector]]\nname = \"acme-glpi\"\nkind = \"glpi\"\nurl = \"{}/apirest.php\"\n\
         token_env = \"ACME_GLPI_TOKEN\"\napp_token_file = {:?}\nretired_status = \"Wiped\"\n",
        snipeit.url, glpi_server.url, app_token
    ));
    std::fs::write(&config, text).unwrap();
    crate::web::add_user(&central, "olga", "compliance", "a long passphrase 7");
    let server = Server::start(&central);
    let sync_now = || {
        let out = home
            .command(&["sync", "--register", &server.url, "--json"])
            .env("ACME_SNIPEIT_TOKEN", TOKEN)
            .env("ACME_GLPI_TOKEN", GLPI_USER_TOKEN)
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("no JSON ({e}): {}", stderr(&out)));
        (out.status.code(), v)
    };
    let (code, sync) = sync_now();
    assert_eq!(code, Some(0), "{sync:#}");
    let sent: Vec<&str> = sync["sent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(sent.len(), 3, "{sync:#}");
    assert_eq!(sent.last(), Some(&id), "sent after its drives: {sync:#}");
    assert_eq!(
        central.sql_texts(
            "SELECT c.enrolled_as || ' ' || a.tag || ' ' || a.state FROM computer_certificates c \
             JOIN assets a ON a.id = c.asset_id"
        ),
        ["bay-h LAPTOP-1 retired"]
    );
    let (code, audit) = central.json(&["assets", "audit", "--json"]);
    assert_eq!(code, 0, "{audit:#}");
    assert_eq!(audit["ok"], true, "{audit:#}");
    {
        let s = snipeit.state.lock().unwrap();
        let computer_pdf = format!("-wipeproof-certificate-{id}.pdf");
        let uploads: Vec<&(u64, String, String, Vec<u8>)> = s
            .files
            .iter()
            .filter(|f| f.1.ends_with(&computer_pdf))
            .collect();
        assert_eq!(
            uploads.len(),
            1,
            "{:?}",
            s.files.iter().map(|f| &f.1).collect::<Vec<_>>()
        );
        assert_eq!(uploads[0].0, 21, "attached to the laptop's record");
        assert!(uploads[0].3.starts_with(b"%PDF"));
        assert_eq!(
            s.files.len(),
            3,
            "both drives' certificates and the computer's"
        );
        assert_eq!(s.asset(21)["status_id"], 4, "the Wiped label");
    }
    let glpi_documents = || {
        let g = glpi_server.state.lock().unwrap();
        (g.documents.len(), g.links.clone())
    };
    {
        let g = glpi_server.state.lock().unwrap();
        let names: Vec<&String> = g.documents.iter().map(|d| &d.1).collect();
        let computer_docs: Vec<&(u64, String, String, Vec<u8>)> =
            g.documents.iter().filter(|d| d.1.contains(id)).collect();
        assert_eq!(computer_docs.len(), 1, "{names:?}");
        let (doc, _, file, content) = computer_docs[0];
        assert!(file.contains(id), "{file}");
        assert!(content.starts_with(b"%PDF"));
        let links: Vec<&Value> = g
            .links
            .iter()
            .filter(|l| l["documents_id"] == *doc)
            .collect();
        assert_eq!(
            links,
            [&serde_json::json!({"documents_id": doc, "itemtype": "Computer", "items_id": 31})],
            "the computer's PDF linked once to the laptop, found by its serial"
        );
        assert_eq!(
            g.documents.len(),
            3,
            "both drives' certificates and the computer's: {names:?}"
        );
        assert_eq!(g.computer(31)["states_id"], 3, "the Wiped State");
    }
    // The central register's asset page links it; its page verifies it, its PDF is served.
    use crate::web::{Cred, get, sign_in};
    let cookie = sign_in(&server.url, "olga", "a long passphrase 7");
    let page = get(&server.url, "/assets/LAPTOP-1", Cred::Cookie(&cookie));
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Computer certificates"), "{}", page.body);
    assert!(
        page.body.contains(&format!("href=\"/certificates/{id}\"")),
        "{}",
        page.body
    );
    let shown = get(
        &server.url,
        &format!("/certificates/{id}"),
        Cred::Cookie(&cookie),
    );
    assert_eq!(shown.status, 200, "{}", shown.body);
    // What it says: the result, the computer, who and when, each drive linked to its own
    // certificate's page (the register holds both), and the downloads.
    let body = &shown.body;
    for words in [
        "HP EliteBook 840 G8 Notebook PC",
        "5CG1234XYZ",
        "ACME-LT-0042",
        "bay-h",
        "<h1>Computer certificate</h1>",
        "2 listed, 2 passed",
        "<h2>Drives</h2>",
        "class=\"badge good\">PASS</span>",
        &format!("href=\"/certificates/{id}/pdf\""),
        &format!("href=\"/certificates/{id}/json\""),
        "href=\"/assets/LAPTOP-1\"",
    ] {
        assert!(body.contains(words), "{words} not on the page: {body}");
    }
    assert!(!body.contains("HP HP"), "{body}");
    assert!(!body.contains("not held by this register"), "{body}");
    let drive_ids: Vec<&str> = record["drives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["certificate_id"].as_str().unwrap())
        .collect();
    for (d, drive) in drive_ids.iter().zip(record["drives"].as_array().unwrap()) {
        assert!(
            body.contains(&format!("href=\"/certificates/{d}\"")),
            "no link to {d}: {body}"
        );
        assert!(body.contains(drive["serial"].as_str().unwrap()), "{body}");
    }
    let pdf = get(
        &server.url,
        &format!("/certificates/{id}/pdf"),
        Cred::Cookie(&cookie),
    );
    assert_eq!(pdf.status, 200, "{}", pdf.body);
    // Nothing is left to send; sending it again stores nothing new, uploads nothing.
    let (code, again) = sync_now();
    assert_eq!(code, Some(0), "{again:#}");
    assert!(again["sent"].as_array().unwrap().is_empty(), "{again:#}");
    assert_eq!(
        central.sql_count("SELECT COUNT(*) FROM computer_certificates"),
        1
    );
    assert_eq!(snipeit.state.lock().unwrap().files.len(), 3);
    let (documents, links) = glpi_documents();
    assert_eq!(documents, 3, "nothing uploaded to GLPI again");
    assert_eq!(links.len(), 3, "{links:?}");

    // Each kind has its own address: the other's is refused (422) saying where it goes; the
    // computer certificate at its own is already stored (200).
    use crate::register::post;
    let computer_doc = std::fs::read(&computer_json).unwrap();
    let drive_doc = std::fs::read(&drive_json).unwrap();
    let (status, body) = post(&server.url, "/api/v1/computers", &drive_doc);
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains("not a computer certificate")
            && body.contains("a drive's goes to /api/v1/certificates"),
        "{body}"
    );
    let (status, body) = post(&server.url, "/api/v1/certificates", &computer_doc);
    assert_eq!(status, 422, "{body}");
    let (status, body) = post(&server.url, "/api/v1/computers", &computer_doc);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("already stored"), "{body}");
}
