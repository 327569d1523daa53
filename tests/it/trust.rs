//! What a station's key can still get into a central register: records it dates itself
//! (backdated past a revocation, before its enrolment, before its own predecessor) and a
//! revoked station's honest backlog up to the certificate named at revocation.

use base64::Engine;
use serde_json::Value;
use wipeproof::certificate::issue::{SignatureBlock, SignedCertificate};
use wipeproof::certificate::keys::StationKey;

use crate::support::*;

on_each_backend!(
    a_revoked_station_gets_nothing_in_by_backdating,
    a_record_dated_before_its_predecessor_or_the_enrolment_is_refused,
    a_revoked_station_s_backlog_arrives_up_to_the_named_certificate,
);

/// A station with its own state directory, enrolled with `central` as `name`.
fn enrolled(central: &Home, name: &str) -> Home {
    let s = Home::new();
    assert!(s.run(&["keys", "init"]).status.success());
    set_station_id(&s, name);
    let pem = s.path().join("station.pem");
    std::fs::write(&pem, s.run(&["keys", "export"]).stdout).unwrap();
    let out = central.run(&["stations", "add", pem.to_str().unwrap(), "--name", name]);
    assert!(out.status.success(), "{}", stderr(&out));
    s
}

/// Wipes a fresh 1 MiB image on `station`; its certificate document.
fn wipe_one(station: &Home, stem: &str) -> SignedCertificate {
    let disk = ShmFile::with_pattern(stem, 1 << 20);
    let (code, v) = station.json(&[
        "wipe",
        disk.path.to_str().unwrap(),
        "--method",
        "zero",
        "--yes",
        "--json",
    ]);
    assert_eq!(code, 0, "{v}");
    let doc = std::fs::read(only_drive(&v)["certificate_json"].as_str().unwrap()).unwrap();
    serde_json::from_slice(&doc).unwrap()
}

/// A new record made with `station`'s own key after `after`, dated `issued_at` (a clock the
/// test sets, as a thief with the key would).
fn forge(station: &Home, after: &SignedCertificate, issued_at: &str) -> Vec<u8> {
    let key = StationKey::load(&station.path().join("keys")).unwrap();
    let mut c = after.clone();
    c.record.id = uuid::Uuid::new_v4().to_string();
    c.record.wipe_id = uuid::Uuid::new_v4().to_string();
    c.record.issued_at = issued_at.into();
    c.record.media.serial = Some("STOLEN-1".into());
    c.record.previous = Some(wipeproof::certificate::record::ChainLink {
        id: after.record.id.clone(),
        record_sha256: after.signature.record_sha256.clone(),
    });
    let canonical = c.record.canonical_bytes().unwrap();
    c.signature = SignatureBlock {
        algorithm: "Ed25519".into(),
        key_id: key.key_id(),
        value: base64::engine::general_purpose::STANDARD.encode(key.sign(&canonical).to_bytes()),
        record_sha256: c.record.sha256().unwrap(),
    };
    serde_json::to_vec_pretty(&c).unwrap()
}

fn post(url: &str, body: &[u8]) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent
        .post(&format!("{url}/api/v1/certificates"))
        .header("Content-Type", "application/json")
        .send(body)
        .unwrap();
    let status = r.status().as_u16();
    (status, r.body_mut().read_to_string().unwrap_or_default())
}

fn count(central: &Home) -> i64 {
    central.sql_count("SELECT COUNT(*) FROM certificates")
}

fn a_revoked_station_gets_nothing_in_by_backdating(backend: Backend) {
    let central = Home::on(backend);
    let bay = enrolled(&central, "bay-3");
    let first = wipe_one(&bay, "trust-first");
    let server = Server::start(&central);
    let (code, v) = bay.json(&["sync", "--register", &server.url, "--json"]);
    assert_eq!(code, 0, "{v}");
    let out = central.run(&["stations", "revoke", "bay-3"]);
    assert!(out.status.success(), "{}", stderr(&out));

    // The key was copied: a record dated long before the revocation (before the station was
    // even enrolled, before its predecessor) is refused, and so is one dated just after the
    // predecessor, in the window the old date rule let through.
    for date in ["2020-01-01T00:00:00Z", first.record.issued_at.as_str()] {
        let (status, body) = post(&server.url, &forge(&bay, &first, date));
        assert!(status == 403 || status == 422, "{date}: {status} {body}");
        assert!(body.contains("bay-3"), "{body}");
    }
    let (status, body) = post(&server.url, &forge(&bay, &first, &first.record.issued_at));
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("revoked"), "{body}");
    assert_eq!(count(&central), 1);
    let (code, audit) = central.json(&["assets", "audit", "--json"]);
    assert_eq!(code, 0, "{audit}");

    // Had one got in, the audit would say so: a stored certificate received after the
    // revocation, outside any accepted chain.
    central.sql_execute("UPDATE stations SET revoked_at = '2000-01-01T00:00:00Z'");
    let (code, audit) = central.json(&["assets", "audit", "--json"]);
    assert_eq!(code, 1, "{audit}");
    assert!(
        audit["problems"]
            .to_string()
            .contains("after the station was revoked"),
        "{audit}"
    );
}

fn a_record_dated_before_its_predecessor_or_the_enrolment_is_refused(backend: Backend) {
    let central = Home::on(backend);
    let bay = enrolled(&central, "bay-5");
    // The first certificate is dated at least two seconds after the enrolment.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let first = wipe_one(&bay, "trust-dated");
    let server = Server::start(&central);
    let (code, v) = bay.json(&["sync", "--register", &server.url, "--json"]);
    assert_eq!(code, 0, "{v}");

    let issued = wipeproof::timestamp::parse(&first.record.issued_at).unwrap();
    let a_second_earlier = wipeproof::timestamp::format(issued - time::Duration::seconds(1));
    let (status, body) = post(&server.url, &forge(&bay, &first, &a_second_earlier));
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("earlier than certificate"), "{body}");
    assert!(body.contains(&first.record.id), "{body}");

    let (status, body) = post(&server.url, &forge(&bay, &first, "2020-01-01T00:00:00Z"));
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("before station bay-5"), "{body}");
    assert_eq!(count(&central), 1);

    // The same key, honest about the date, is still welcome.
    let (status, body) = post(&server.url, &forge(&bay, &first, &first.record.issued_at));
    assert_eq!(status, 201, "{body}");
    let (code, audit) = central.json(&["assets", "audit", "--json"]);
    assert_eq!(code, 0, "{audit}");
    // A stored record that breaks the rule is found by the audit.
    central.sql_execute("UPDATE stations SET enrolled_at = '2099-01-01T00:00:00Z'");
    let (code, audit) = central.json(&["assets", "audit", "--json"]);
    assert_eq!(code, 1, "{audit}");
    assert!(
        audit["problems"].to_string().contains("was enrolled here"),
        "{audit}"
    );
}

fn a_revoked_station_s_backlog_arrives_up_to_the_named_certificate(backend: Backend) {
    let central = Home::on(backend);
    let bay = enrolled(&central, "bay-6");
    wipe_one(&bay, "trust-a");
    let server = Server::start(&central);
    let (code, v) = bay.json(&["sync", "--register", &server.url, "--json"]);
    assert_eq!(code, 0, "{v}");
    // Offline: two more wipes, then the station is revoked naming the second as the last
    // genuine one; it wipes once more afterwards.
    let b = wipe_one(&bay, "trust-b");
    let c = wipe_one(&bay, "trust-c");
    let out = central.run(&[
        "stations",
        "revoke",
        "bay-6",
        "--accept-through",
        &c.record.id,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains(&c.record.id), "{}", stderr(&out));
    let d = wipe_one(&bay, "trust-d");

    let out = bay.run(&["sync", "--register", &server.url, "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let sent = report["sent"].to_string();
    assert!(
        sent.contains(&b.record.id) && sent.contains(&c.record.id),
        "{report}"
    );
    assert!(!sent.contains(&d.record.id), "{report}");
    assert!(report["refused"].as_str().unwrap().contains("revoked"));
    assert_eq!(count(&central), 3);
    // Nothing forged after the named one gets in either, dated however it likes.
    let (status, body) = post(&server.url, &forge(&bay, &c, &c.record.issued_at));
    assert_eq!(status, 403, "{body}");
    let (code, audit) = central.json(&["assets", "audit", "--json"]);
    assert_eq!(code, 0, "{audit}");
}
