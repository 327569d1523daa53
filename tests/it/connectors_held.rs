//! The connectors against fakes that behave as the real servers' source does (see
//! `fake_snipeit` and `fake_glpi` for what each follows, file by file): throttling, fieldset
//! validation, checked-out assets, the older files answer, paged link lists, refused uploads,
//! sanitized strings and the error shapes. Driven through the library's delivery loop
//! (`deliver_queue`), with certificates written to a temporary directory, so hundreds of
//! deliveries take seconds.

use std::time::Duration;

use serde_json::{Value, json};
use wipeproof::connector::{
    ConnectorKind, ConnectorReport, ConnectorSettings, Delivery, DeliveryKind, DeliveryState,
    deliver_queue,
};
use wipeproof::register::AssetState;

use crate::fake_glpi::{APP_TOKEN, Glpi, USER_TOKEN, glpi, sanitize};
use crate::fake_http::FakeServer;
use crate::fake_snipeit::{Snipe, TOKEN, snipe};

/// A directory with the token files and the certificates' PDFs.
pub struct Bench {
    pub dir: tempfile::TempDir,
}

impl Bench {
    pub fn new() -> Bench {
        let dir = tempfile::tempdir_in("/dev/shm").unwrap();
        std::fs::write(dir.path().join("snipe-token"), TOKEN).unwrap();
        std::fs::write(dir.path().join("glpi-token"), USER_TOKEN).unwrap();
        std::fs::write(dir.path().join("app-token"), APP_TOKEN).unwrap();
        Bench { dir }
    }

    pub fn settings(&self, kind: ConnectorKind, url: &str) -> ConnectorSettings {
        let (name, token, app, url) = match kind {
            ConnectorKind::Snipeit => ("acme-snipeit", "snipe-token", None, url.to_string()),
            ConnectorKind::Glpi => (
                "acme-glpi",
                "glpi-token",
                Some(self.dir.path().join("app-token")),
                format!("{url}/apirest.php"),
            ),
        };
        ConnectorSettings {
            name: name.into(),
            kind,
            url,
            token_env: None,
            token_file: Some(self.dir.path().join(token)),
            app_token_env: None,
            app_token_file: app,
            retired_status: Some("Wiped".into()),
            destroyed_status: Some("Destroyed".into()),
            certificate_field: (kind == ConnectorKind::Snipeit)
                .then(|| "_snipeit_wipe_certificate_5".into()),
            item_type: None,
            timeout_seconds: None,
            token: None,
        }
    }

    /// A PASS certificate of asset `tag` whose PDF is in the directory.
    pub fn certificate(&self, id: &str, tag: &str, serial: &str) -> Delivery {
        let short: String = id.chars().take(8).collect();
        let base = self.dir.path().join(format!("2026-01-01-{serial}-{short}"));
        std::fs::write(base.with_extension("pdf"), b"%PDF-1.7 certificate").unwrap();
        std::fs::write(base.with_extension("json"), format!("{{\"id\":\"{id}\"}}")).unwrap();
        Delivery {
            connector: String::new(),
            subject: id.into(),
            kind: DeliveryKind::Certificate,
            certificate_id: Some(id.into()),
            result: Some("PASS".into()),
            asset_tag: Some(tag.into()),
            asset_serial: None,
            asset_state: Some(AssetState::Retired),
            drive_serial: Some(format!("{serial}-D")),
            state: DeliveryState::Pending,
            message: None,
            attempts: 0,
            updated_at: String::new(),
        }
    }

    /// Sends `queue`; the report and each delivery's end as the register would record it.
    pub fn run(
        &self,
        settings: &ConnectorSettings,
        queue: &[Delivery],
    ) -> (ConnectorReport, Vec<(String, DeliveryState, String)>) {
        let mut ends = Vec::new();
        let report = deliver_queue(settings, queue, self.dir.path(), &mut |d, state, m| {
            ends.push((d.subject.clone(), state, m.to_string()));
            Ok::<(), std::convert::Infallible>(())
        })
        .unwrap();
        (report, ends)
    }
}

pub fn cert_id(n: usize) -> String {
    format!("{n:08x}-0000-4000-8000-000000000000")
}

fn pending_message<'a>(report: &'a ConnectorReport, subject: &str) -> &'a str {
    &report
        .pending
        .iter()
        .find(|l| l.subject == subject)
        .unwrap_or_else(|| panic!("{subject} not pending: {report:?}"))
        .message
}

#[test]
fn snipeit_throttled_at_120_calls_a_window_delivers_500_certificates_each_once() {
    // RouteServiceProvider::configureRateLimiting: API_THROTTLE_PER_MINUTE (120 in Snipe-IT's
    // example settings) per user, then 429 with Retry-After. The minute is scaled to a second.
    let mut fake = Snipe::new();
    fake.assets = (0..500)
        .map(|i| json!({"id": 1000 + i, "asset_tag": format!("T-{i:04}"), "serial": format!("S-{i}"), "assigned_to": null}))
        .collect();
    fake.throttle = Some((120, Duration::from_secs(1)));
    let server = FakeServer::start(fake, snipe);
    let bench = Bench::new();
    let settings = bench.settings(ConnectorKind::Snipeit, &server.url);
    let queue: Vec<Delivery> = (0..500)
        .map(|i| bench.certificate(&cert_id(i + 1), &format!("T-{i:04}"), &format!("S-{i}")))
        .collect();
    let (report, ends) = bench.run(&settings, &queue);
    assert_eq!(report.error, None);
    assert!(report.pending.is_empty(), "{:?}", report.pending.first());
    assert_eq!(report.sent.len(), 500);
    assert!(ends.iter().all(|e| e.1 == DeliveryState::Done));
    let s = server.state.lock().unwrap();
    assert!(s.throttled > 0, "the fake throttled");
    assert_eq!(s.files.len(), 500, "none twice");
    for i in 0..500u64 {
        assert_eq!(s.files.iter().filter(|f| f.0 == 1000 + i).count(), 1);
        assert_eq!(s.asset(1000 + i)["status_id"], 4);
    }
}

#[test]
fn snipeit_a_custom_field_not_in_the_fieldset_does_not_hold_the_status_back() {
    // Traits/MayContainCustomFields::withValidator refuses the whole PATCH for a field not in
    // the model's fieldset; the status is then set alone and the delivery waits for the field.
    let mut fake = Snipe::new();
    fake.fieldset.clear();
    let server = FakeServer::start(fake, snipe);
    let bench = Bench::new();
    let settings = bench.settings(ConnectorKind::Snipeit, &server.url);
    let queue = [bench.certificate(&cert_id(1), "ACME-1", "LAP-1")];
    let (report, _) = bench.run(&settings, &queue);
    let why = pending_message(&report, &cert_id(1));
    assert!(
        why.contains("not available on this Asset Model's fieldset"),
        "{why}"
    );
    assert!(why.contains("certificate attached; status Wiped"), "{why}");
    {
        let s = server.state.lock().unwrap();
        assert_eq!(s.asset(11)["status_id"], 4, "the status is set");
        assert_eq!(s.files.len(), 1);
    }
    // The customer adds the field to the model's fieldset: the next sync writes it, no upload.
    server.state.lock().unwrap().fieldset = vec!["_snipeit_wipe_certificate_5".into()];
    let (report, _) = bench.run(&settings, &queue);
    assert_eq!(report.sent.len(), 1, "{report:?}");
    assert!(report.sent[0].message.contains("already attached"));
    let s = server.state.lock().unwrap();
    assert_eq!(s.files.len(), 1);
    let value = format!("{} PASS", cert_id(1));
    assert_eq!(s.asset(11)["_snipeit_wipe_certificate_5"], value.as_str());
}

#[test]
fn snipeit_a_checked_out_asset_is_checked_in_with_the_status() {
    // Api/AssetsController::update saves only; ::checkin clears assigned_to and sets status_id.
    let mut fake = Snipe::new();
    fake.assets[0]["assigned_to"] = json!({"id": 3, "name": "Jane Doe", "type": "user"});
    let server = FakeServer::start(fake, snipe);
    let bench = Bench::new();
    let settings = bench.settings(ConnectorKind::Snipeit, &server.url);
    let (report, _) = bench.run(
        &settings,
        &[bench.certificate(&cert_id(1), "ACME-1", "LAP-1")],
    );
    assert_eq!(report.sent.len(), 1, "{report:?}");
    assert!(
        report.sent[0].message.contains("checked in from Jane Doe"),
        "{}",
        report.sent[0].message
    );
    let s = server.state.lock().unwrap();
    assert_eq!(s.asset(11)["assigned_to"], Value::Null);
    assert_eq!(s.asset(11)["status_id"], 4);
}

#[test]
fn snipeit_an_older_servers_file_list_is_read_and_the_pdf_goes_once() {
    // Before v8.1.17, Api/AssetFilesController::list answers {"status", "payload": [...]}.
    let mut fake = Snipe::new();
    fake.old_files_api = true;
    fake.stall_upload = Some(Duration::from_secs(3));
    let server = FakeServer::start(fake, snipe);
    let bench = Bench::new();
    let mut settings = bench.settings(ConnectorKind::Snipeit, &server.url);
    settings.timeout_seconds = Some(1);
    let queue = [bench.certificate(&cert_id(1), "ACME-1", "LAP-1")];
    let (report, _) = bench.run(&settings, &queue);
    assert!(report.error.is_some(), "the upload timed out: {report:?}");
    std::thread::sleep(Duration::from_secs(3));
    let (report, _) = bench.run(&settings, &queue);
    assert_eq!(report.sent.len(), 1, "{report:?}");
    assert!(report.sent[0].message.contains("already attached"));
    assert_eq!(server.state.lock().unwrap().files.len(), 1, "uploaded once");
}

#[test]
fn snipeit_a_refused_token_shows_snipeits_message_not_its_json() {
    // Exceptions/Handler::unauthenticated: 401 {"error": "Unauthorized or unauthenticated."}.
    let server = FakeServer::start(Snipe::new(), snipe);
    let bench = Bench::new();
    std::fs::write(bench.dir.path().join("snipe-token"), "wrong").unwrap();
    let settings = bench.settings(ConnectorKind::Snipeit, &server.url);
    let (report, _) = bench.run(
        &settings,
        &[bench.certificate(&cert_id(1), "ACME-1", "LAP-1")],
    );
    let stop = report.error.unwrap();
    assert!(
        stop.contains("answered 401: Unauthorized or unauthenticated.)"),
        "{stop}"
    );
    assert!(!stop.contains("{\""), "{stop}");
}

#[test]
fn snipeit_escaped_label_slashed_tag_and_a_forbidden_asset_stop_only_that_asset() {
    // StatuslabelsTransformer escapes names with e(); routes/api.php `bytag/{any}` takes `.*`
    // while Apache answers %2F with its own 404; a policy refusal (company scoping) is 403.
    let mut fake = Snipe::new();
    fake.labels
        .push(json!({"id": 7, "name": "Wiped & Sold", "type": "archived"}));
    fake.assets
        .push(json!({"id": 13, "asset_tag": "ACME/3", "serial": "LAP-3", "assigned_to": null}));
    fake.forbidden = vec![12];
    let server = FakeServer::start(fake, snipe);
    let bench = Bench::new();
    let mut settings = bench.settings(ConnectorKind::Snipeit, &server.url);
    settings.retired_status = Some("Wiped & Sold".into());
    let queue = [
        bench.certificate(&cert_id(2), "ACME-2", "SRV-2"),
        bench.certificate(&cert_id(3), "ACME/3", "LAP-3"),
        bench.certificate(&cert_id(1), "ACME-1", "LAP-1"),
    ];
    let (report, _) = bench.run(&settings, &queue);
    assert_eq!(report.error, None, "{report:?}");
    let why = pending_message(&report, &cert_id(2));
    assert!(
        why.contains("answered 403: This action is unauthorized."),
        "{why}"
    );
    assert_eq!(report.sent.len(), 2, "{report:?}");
    let s = server.state.lock().unwrap();
    assert_eq!(s.asset(13)["status_id"], 7);
    assert_eq!(s.asset(11)["status_id"], 7);
    assert_eq!(s.asset(12)["status_id"], Value::Null);
}

fn glpi_settings(bench: &Bench, server: &FakeServer<Glpi>) -> ConnectorSettings {
    bench.settings(ConnectorKind::Glpi, &server.url)
}

#[test]
fn glpi_a_link_beyond_the_first_page_is_found_and_not_posted_again() {
    // API::getItems (used by getSubItems) answers 15 rows unless `range` says otherwise.
    let mut fake = Glpi::new();
    for doc in 1..=20u64 {
        fake.links
            .push(json!({"documents_id": doc, "itemtype": "Computer", "items_id": 7}));
    }
    let name = format!("wipeproof certificate {}", cert_id(1));
    let file = format!("wipeproof-certificate-{}.pdf", cert_id(1));
    fake.documents.push((100, name, file, b"%PDF".to_vec()));
    fake.links
        .push(json!({"documents_id": 100, "itemtype": "Computer", "items_id": 7}));
    let server = FakeServer::start(fake, glpi);
    let bench = Bench::new();
    let settings = glpi_settings(&bench, &server);
    let (report, _) = bench.run(
        &settings,
        &[bench.certificate(&cert_id(1), "ACME-1", "LAP-1")],
    );
    assert_eq!(report.sent.len(), 1, "{report:?}");
    let g = server.state.lock().unwrap();
    assert_eq!(g.links.len(), 21, "no second link");
    assert_eq!(g.computer(7)["states_id"], 3);
}

#[test]
fn glpi_a_refused_file_leaves_no_empty_document_and_stays_pending() {
    // Document::prepareInputForAdd: GLPI creates the Document even when the upload was refused,
    // saying so only in upload_result.
    let mut fake = Glpi::new();
    fake.max_upload = Some(8);
    let server = FakeServer::start(fake, glpi);
    let bench = Bench::new();
    let settings = glpi_settings(&bench, &server);
    let queue = [bench.certificate(&cert_id(1), "ACME-1", "LAP-1")];
    let (report, _) = bench.run(&settings, &queue);
    let why = pending_message(&report, &cert_id(1));
    assert!(why.contains("File is too big"), "{why}");
    {
        let g = server.state.lock().unwrap();
        assert!(g.documents.is_empty(), "the empty Document is purged");
        assert!(g.links.is_empty());
        assert_eq!(g.computer(7)["states_id"], 1);
    }
    // An empty Document an earlier release left behind is purged too, and the file uploaded.
    {
        let mut g = server.state.lock().unwrap();
        g.max_upload = None;
        let name = format!("wipeproof certificate {}", cert_id(1));
        g.documents.push((300, name, String::new(), Vec::new()));
    }
    let (report, _) = bench.run(&settings, &queue);
    assert_eq!(report.sent.len(), 1, "{report:?}");
    let g = server.state.lock().unwrap();
    assert!(g.purged.contains(&300));
    assert_eq!(g.documents.len(), 1);
    assert!(!g.documents[0].2.is_empty(), "with its file");
    assert_eq!(g.computer(7)["states_id"], 3);
}

#[test]
fn glpi_names_with_html_characters_match_and_refusals_stay_with_their_item() {
    // APIRest::returnSanitizedContent: GLPI 10 answers `& < >` encoded unless asked not to;
    // API::messageRightError is 401 ERROR_RIGHT_MISSING; API::updateItems refuses a single
    // update with 400 ["ERROR_GLPI_UPDATE", message].
    let mut fake = Glpi::new();
    let name = sanitize("Wiped & <Sold>");
    fake.states
        .push(json!({"id": 9, "name": name, "completename": name}));
    fake.no_right = vec![8];
    let server = FakeServer::start(fake, glpi);
    let bench = Bench::new();
    let mut settings = glpi_settings(&bench, &server);
    settings.retired_status = Some("Wiped & <Sold>".into());
    let queue = [
        bench.certificate(&cert_id(2), "ACME-2", "SRV-2"),
        bench.certificate(&cert_id(1), "ACME-1", "LAP-1"),
    ];
    let (report, _) = bench.run(&settings, &queue);
    assert_eq!(report.error, None, "{report:?}");
    let why = pending_message(&report, &cert_id(2));
    assert!(why.contains("ERROR_RIGHT_MISSING"), "{why}");
    assert_eq!(report.sent.len(), 1, "{report:?}");
    assert_eq!(server.state.lock().unwrap().computer(7)["states_id"], 9);
    {
        let mut g = server.state.lock().unwrap();
        g.no_right.clear();
        g.refuse_update = Some("The item is locked".into());
    }
    let (report, _) = bench.run(&settings, &queue[..1]);
    let why = pending_message(&report, &cert_id(2));
    assert!(
        why.contains("ERROR_GLPI_UPDATE: The item is locked"),
        "{why}"
    );
    assert_eq!(server.state.lock().unwrap().computer(8)["states_id"], 1);
}
