//! Computer certificates on each backend: stored once and linked to the computer's asset by
//! its system serial, a PASS retires the asset (a FAIL does not), they sit in the station's
//! chain for the audit (which checks their signatures as it checks drives'), travel in the
//! outbox, reach a central register by its admission rules (a predecessor of either kind), and
//! are queued for connectors.

use super::*;
use crate::certificate::computer::ComputerRecord;
use crate::certificate::keys::StationKey;
use crate::certificate::record::{ChainLink, Record};
use crate::certificate::signable::Signable;
use crate::verify::WipeResult;

on_each_backend!(
    a_pass_computer_certificate_retires_the_asset_of_its_system_serial,
    a_computer_certificate_is_part_of_the_stations_chain_for_the_audit,
    a_computer_certificate_travels_to_the_central_register_and_its_connectors,
    the_audit_finds_a_broken_signature_on_either_kind,
    admission_finds_the_predecessor_of_either_kind,
);

/// A laptop booked by the system serial its firmware reports (`qemu-laptop` fixture), with no
/// drives listed: its drives' certificates match nothing here.
fn book_laptop(reg: &mut dyn Register) {
    let mut laptop = row(2, "LT-1", "5CG1234XYZ");
    laptop.media_serials.clear();
    let mut other = row(3, "LT-2", "OTHER-SERIAL");
    other.media_serials.clear();
    reg.import_manifest("Acme", "COL-1", &[laptop, other], &clerk())
        .expect("import");
}

fn signed<R: Signable>(key: &StationKey, record: R) -> (SignedCertificate<R>, String) {
    use base64::Engine;
    let canonical = record.signed_bytes().expect("canonical");
    let signed = SignedCertificate {
        signature: crate::certificate::issue::SignatureBlock {
            algorithm: "Ed25519".into(),
            key_id: key.key_id(),
            value: base64::engine::general_purpose::STANDARD
                .encode(key.sign(&canonical).to_bytes()),
            record_sha256: record.signed_sha256().expect("sha256"),
        },
        record,
    };
    let document = serde_json::to_string(&signed).expect("json");
    (signed, document)
}

fn link<R: Signable>(cert: &SignedCertificate<R>) -> Option<ChainLink> {
    Some(ChainLink {
        id: cert.record.id().to_string(),
        record_sha256: cert.signature.record_sha256.clone(),
    })
}

/// A drive's certificate signed by `key`, after `previous` in its chain.
fn drive(
    key: &StationKey,
    id: &str,
    serial: &str,
    result: WipeResult,
    previous: Option<ChainLink>,
) -> (SignedCertificate, String) {
    let mut r = crate::certificate::record::tests::sample_record();
    r.id = id.into();
    r.wipe_id = format!("wipe-{id}");
    r.asset_tags = Vec::new();
    r.media.serial = Some(serial.into());
    r.sanitization.result = result;
    r.performed_by.station_id = "bay-1".into();
    // After any enrolment in these tests (a central register refuses earlier dates).
    r.issued_at = "2030-01-01T10:00:00Z".into();
    r.previous = previous;
    r.key_id = key.key_id();
    signed(key, r)
}

/// The computer certificate of the laptop whose drives' records are `drives`.
fn computer(
    key: &StationKey,
    id: &str,
    drives: &[Record],
    previous: Option<ChainLink>,
) -> (SignedCertificate<ComputerRecord>, String) {
    let mut c = crate::certificate::computer::tests::sample_computer(drives);
    c.id = id.into();
    c.asset_tags = Vec::new();
    c.performed_by.station_id = "bay-1".into();
    c.issued_at = "2030-01-01T11:00:00Z".into();
    c.seal(key.key_id(), previous);
    signed(key, c)
}

fn a_pass_computer_certificate_retires_the_asset_of_its_system_serial(backend: Backend) {
    let mut reg = Place::new(backend).open();
    book_laptop(reg.as_mut());
    let key = StationKey::generate().expect("key");
    let (d1, doc1) = drive(&key, "d-1", "DRIVE-A", WipeResult::Pass, None);
    let (d2, doc2) = drive(&key, "d-2", "DRIVE-B", WipeResult::Pass, link(&d1));
    for (d, doc) in [(&d1, &doc1), (&d2, &doc2)] {
        let l = reg
            .record_certificate(d, doc, None, true, &clerk())
            .expect("record drive");
        assert_eq!(l.matched_by, MatchedBy::Unmatched);
    }
    assert_eq!(
        reg.asset("LT-1")
            .expect("read")
            .expect("LT-1")
            .summary
            .state,
        AssetState::Expected
    );
    let (c, doc) = computer(
        &key,
        "c-1",
        &[d1.record.clone(), d2.record.clone()],
        link(&d2),
    );
    let linked = reg
        .record_computer(&c, &doc, true, &clerk())
        .expect("record computer");
    assert!(linked.new);
    assert_eq!(linked.asset_tag.as_deref(), Some("LT-1"));
    assert_eq!(linked.matched_by, MatchedBy::Serial);
    assert_eq!(linked.asset_state, Some(AssetState::Retired));
    let a = reg.asset("LT-1").expect("read").expect("LT-1");
    assert_eq!(a.summary.state, AssetState::Retired);
    assert_eq!(a.computers.len(), 1);
    assert_eq!(
        (a.computers[0].result.as_str(), a.computers[0].drives),
        ("PASS", 2)
    );
    assert_eq!(a.computers[0].serial.as_deref(), Some("5CG1234XYZ"));
    let kinds: Vec<&str> = a.events.iter().map(|e| e.kind.as_str()).collect();
    assert!(
        kinds.contains(&"computer") && kinds.contains(&"state"),
        "{kinds:?}"
    );
    // The same certificate again changes nothing; another under its id is a conflict.
    let again = reg
        .record_computer(&c, &doc, true, &clerk())
        .expect("again");
    assert!(!again.new);
    assert_eq!(again.asset_state, Some(AssetState::Retired));
    let (forged, forged_doc) = computer(&key, "c-1", &[], None);
    let e = reg
        .record_computer(&forged, &forged_doc, true, &clerk())
        .expect_err("a different certificate under the same id");
    assert!(
        matches!(e, RegisterError::CertificateConflict { .. }),
        "{e}"
    );
    // A FAIL computer certificate does not retire its asset.
    let mut r2 = sample_with_serial("OTHER-SERIAL");
    r2.sanitization.result = WipeResult::Fail;
    let (mut failed, _) = computer(&key, "c-2", &[r2], link(&c));
    failed.record.inventory.system.serial = Some("OTHER-SERIAL".into());
    failed.record.inventory.chassis.asset_tag = None;
    let (failed, failed_doc) = signed(&key, failed.record);
    let l = reg
        .record_computer(&failed, &failed_doc, false, &clerk())
        .expect("record FAIL");
    assert_eq!(l.asset_tag.as_deref(), Some("LT-2"));
    assert_eq!(l.asset_state, Some(AssetState::Received));
    let audit = reg.audit().expect("audit");
    assert!(audit.ok, "{:?}", audit.problems);
    assert_eq!(audit.certificates, 4);
}

fn sample_with_serial(serial: &str) -> Record {
    let mut r = crate::certificate::record::tests::sample_record();
    r.media.serial = Some(serial.into());
    r
}

fn a_computer_certificate_is_part_of_the_stations_chain_for_the_audit(backend: Backend) {
    let mut reg = Place::new(backend).open();
    book_laptop(reg.as_mut());
    let key = StationKey::generate().expect("key");
    // d-1, then the computer certificate, then d-3 of the next computer: one chain.
    let (d1, doc1) = drive(&key, "d-1", "DRIVE-A", WipeResult::Pass, None);
    let (c, cdoc) = computer(&key, "c-1", std::slice::from_ref(&d1.record), link(&d1));
    let (d3, doc3) = drive(&key, "d-3", "DRIVE-C", WipeResult::Pass, link(&c));
    reg.record_certificate(&d1, &doc1, None, false, &clerk())
        .expect("d-1");
    reg.record_certificate(&d3, &doc3, None, false, &clerk())
        .expect("d-3");
    let before = reg.audit().expect("audit");
    assert!(
        before
            .problems
            .iter()
            .any(|p| p.contains("follows certificate c-1")),
        "{:?}",
        before.problems
    );
    reg.record_computer(&c, &cdoc, false, &clerk())
        .expect("computer");
    let after = reg.audit().expect("audit");
    assert!(after.ok, "{:?}", after.problems);
    assert_eq!(after.certificates, 3);
}

fn a_computer_certificate_travels_to_the_central_register_and_its_connectors(backend: Backend) {
    let key = StationKey::generate().expect("key");
    let (d1, doc1) = drive(&key, "d-1", "DRIVE-A", WipeResult::Pass, None);
    let (c, cdoc) = computer(&key, "c-1", std::slice::from_ref(&d1.record), link(&d1));
    // The station: both in the outbox, the computer's marked as such, sent once.
    let mut station = Place::new(backend).open();
    book_laptop(station.as_mut());
    station
        .record_certificate(&d1, &doc1, None, true, &clerk())
        .expect("d-1");
    station
        .record_computer(&c, &cdoc, true, &clerk())
        .expect("computer");
    let pending = station.pending().expect("pending");
    let mut kinds: Vec<(&str, bool)> = pending
        .iter()
        .map(|p| (p.certificate_id.as_str(), p.computer))
        .collect();
    kinds.sort();
    assert_eq!(kinds, [("c-1", true), ("d-1", false)]);
    station.mark_failed("c-1", "unreachable").expect("failed");
    let pending = station.pending().expect("pending");
    let c1 = pending.iter().find(|p| p.computer).expect("c-1 pending");
    assert_eq!(c1.attempts, 1);
    station.mark_sent("c-1").expect("sent");
    assert_eq!(station.pending().expect("pending").len(), 1);
    // Connectors: the computer's PDF goes to the laptop's record, which it retired.
    let queue = station.connector_queue("itam").expect("queue");
    let comp = queue
        .iter()
        .find(|d| d.kind == delivery::DeliveryKind::Computer)
        .expect("a computer delivery");
    assert_eq!(comp.certificate_id.as_deref(), Some("c-1"));
    assert_eq!(comp.asset_tag.as_deref(), Some("LT-1"));
    assert_eq!(comp.asset_serial.as_deref(), Some("5CG1234XYZ"));
    assert_eq!(comp.result.as_deref(), Some("PASS"));
    assert_eq!(comp.asset_state, Some(AssetState::Retired));
    assert_eq!(comp.drive_serial, None);
    station
        .finish_delivery("itam", "c-1", delivery::DeliveryState::Done, "attached")
        .expect("finish");
    assert_eq!(station.connector_queue("itam").expect("queue").len(), 1);

    // The central register: admitted from an enrolled station, linked, retired.
    let mut central = Place::new(backend).open();
    book_laptop(central.as_mut());
    let admin = clerk();
    let pem = crate::certificate::keys::public_pem(&key.verifying_key()).expect("pem");
    central
        .enroll_station(&key.key_id(), "bay-1", &pem, &admin)
        .expect("enrol");
    central
        .receive_certificate(&d1, &doc1, "bay-1")
        .expect("d-1");
    let l = central.receive_computer(&c, &cdoc, "bay-1").expect("c-1");
    assert!(l.new);
    assert_eq!(l.asset_state, Some(AssetState::Retired));
    assert!(
        !central
            .receive_computer(&c, &cdoc, "bay-1")
            .expect("again")
            .new
    );
    let stored = central
        .stored_certificate("c-1")
        .expect("lookup")
        .expect("c-1 stored");
    assert_eq!(stored.asset_tag.as_deref(), Some("LT-1"));
    let audit = central.audit().expect("audit");
    assert!(audit.ok, "{:?}", audit.problems);
    // Revoked with nothing accepted after: a new computer certificate is refused.
    central
        .revoke_station("bay-1", None, &admin)
        .expect("revoke");
    let (late, late_doc) = computer(&key, "c-9", &[], link(&c));
    let e = central
        .receive_computer(&late, &late_doc, "bay-1")
        .expect_err("a revoked station's certificate");
    assert!(matches!(e, RegisterError::Revoked(_)), "{e}");
}

/// The audit checks every stored record's signature under its station's key, a computer
/// certificate's as a drive's: one signed by another key over the same record is named.
fn the_audit_finds_a_broken_signature_on_either_kind(backend: Backend) {
    let mut reg = Place::new(backend).open();
    book_laptop(reg.as_mut());
    let key = StationKey::generate().expect("key");
    let other = StationKey::generate().expect("key");
    let (d1, _) = drive(&key, "d-1", "DRIVE-A", WipeResult::Pass, None);
    let (c, _) = computer(&key, "c-1", std::slice::from_ref(&d1.record), link(&d1));
    // Each record as `key` signed it, with the signature `other` made over the same bytes.
    let mut d1_bad = d1.clone();
    d1_bad.signature.value = signed(&other, d1.record.clone()).0.signature.value;
    let mut c_bad = c.clone();
    c_bad.signature.value = signed(&other, c.record.clone()).0.signature.value;
    let d1_doc = serde_json::to_string(&d1_bad).expect("json");
    let c_doc = serde_json::to_string(&c_bad).expect("json");
    reg.record_certificate(&d1_bad, &d1_doc, None, false, &clerk())
        .expect("d-1");
    reg.record_computer(&c_bad, &c_doc, false, &clerk())
        .expect("c-1");
    // Without the key nothing can be said of the signatures.
    let unknown = reg.audit().expect("audit");
    assert!(unknown.ok, "{:?}", unknown.problems);
    let mut keys = crate::certificate::keys::TrustStore::default();
    keys.add(key.public_key(), "bay-1.pem".into());
    let audit = reg.audit_with_keys(&keys).expect("audit");
    let under = format!(
        "its signature does not verify under the key {}",
        key.key_id()
    );
    for id in ["certificate d-1", "computer certificate c-1"] {
        let said = format!("{id}: {under}");
        assert!(
            audit.problems.iter().any(|p| p == &said),
            "{said} in {:?}",
            audit.problems
        );
    }
    assert_eq!(audit.problems.len(), 2, "{:?}", audit.problems);
}

/// Admission finds a certificate's predecessor in the station's chain whatever its kind: a
/// computer certificate dated before the drive's certificate it follows is refused, and so is
/// a drive's dated before the computer certificate it follows.
fn admission_finds_the_predecessor_of_either_kind(backend: Backend) {
    let key = StationKey::generate().expect("key");
    let mut central = Place::new(backend).open();
    book_laptop(central.as_mut());
    let pem = crate::certificate::keys::public_pem(&key.verifying_key()).expect("pem");
    central
        .enroll_station(&key.key_id(), "bay-1", &pem, &clerk())
        .expect("enrol");
    let (d1, doc1) = drive(&key, "d-1", "DRIVE-A", WipeResult::Pass, None);
    central
        .receive_certificate(&d1, &doc1, "bay-1")
        .expect("d-1");
    let (c, cdoc) = computer(&key, "c-1", std::slice::from_ref(&d1.record), link(&d1));
    let mut early = c.record.clone();
    early.issued_at = "2030-01-01T09:00:00Z".into();
    let (early, early_doc) = signed(&key, early);
    let e = central
        .receive_computer(&early, &early_doc, "bay-1")
        .expect_err("a computer certificate dated before its predecessor");
    misdated_after(e, "d-1");
    central.receive_computer(&c, &cdoc, "bay-1").expect("c-1");
    // Dated 10:00, after c-1 of 11:00 in the chain.
    let (d2, doc2) = drive(&key, "d-2", "DRIVE-B", WipeResult::Pass, link(&c));
    let e = central
        .receive_certificate(&d2, &doc2, "bay-1")
        .expect_err("a drive's certificate dated before its predecessor");
    misdated_after(e, "c-1");
}

/// Asserts that `e` refuses a certificate dated before its predecessor `previous`.
fn misdated_after(e: RegisterError, previous: &str) {
    let said = format!("earlier than certificate {previous} before it");
    assert!(
        matches!(&e, RegisterError::BadCertificate(m) if m.contains(&said)),
        "{e}"
    );
}
