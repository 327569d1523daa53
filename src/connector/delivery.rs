//! The sync loop of one connector over its queue, and the custody rules that decide what may
//! be sent: only a PASS certificate attaches a file and retires an asset; an asset whose other
//! drives are not all PASS keeps its status; a destroyed asset gets the destroyed status.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{
    ConnectorError, ConnectorKind, ConnectorSettings, Delivery, DeliveryKind, DeliveryState,
};
use crate::register::{AssetState, Register, RegisterError};

/// What to do for one delivery, decided from the register alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Attach the certificate PDF.
    pub upload: Option<PathBuf>,
    /// The status (label or State name) to set, if any.
    pub status: Option<String>,
    /// Write the certificate id and result into the configured field (Snipe-IT).
    pub field: Option<String>,
    /// Said about what is left out, e.g. why the status stays.
    pub notes: Vec<String>,
}

/// How one delivery ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The system has it now.
    Done(String),
    /// Not taken (e.g. the asset is unknown there): tried again at the next sync.
    Pending(String),
}

/// A connector's API, one delivery at a time.
pub(crate) trait Connector {
    fn deliver(&mut self, delivery: &Delivery, plan: &Plan) -> Result<Outcome, ConnectorError>;
    /// Ends the connection (GLPI's killSession); called once after the queue.
    fn close(&mut self) {}
}

/// Decides what custody allows for `d`: `Err` holds why nothing is sent at all.
pub(crate) fn plan(
    settings: &ConnectorSettings,
    d: &Delivery,
    certificates_dir: &Path,
) -> Result<Plan, String> {
    match d.kind {
        DeliveryKind::Destroyed => match &settings.destroyed_status {
            Some(status) => Ok(Plan {
                upload: None,
                status: Some(status.clone()),
                field: None,
                notes: Vec::new(),
            }),
            None => {
                Err("asset destroyed, but no destroyed_status is configured: nothing sent".into())
            }
        },
        DeliveryKind::Certificate | DeliveryKind::Computer => {
            let id = d.certificate_id.as_deref().unwrap_or(&d.subject);
            let result = d.result.as_deref().unwrap_or("unknown");
            if result != "PASS" {
                return Err(format!(
                    "result {result}: nothing sent, the asset is not marked retired and the certificate is not attached; only a PASS certificate retires an asset"
                ));
            }
            let pdf = find_pdf(certificates_dir, id).ok_or_else(|| {
                format!(
                    "the certificate PDF of {id} is not in {}: nothing sent",
                    certificates_dir.display()
                )
            });
            let mut notes = Vec::new();
            let status = match d.asset_state {
                Some(AssetState::Destroyed) => settings.destroyed_status.clone(),
                Some(AssetState::Retired) | None => settings.retired_status.clone(),
                Some(other) => {
                    notes.push(format!(
                        "status left as it is: asset {} is {} in the register ({})",
                        d.asset_tag.as_deref().unwrap_or("-"),
                        other.as_str(),
                        if d.kind == DeliveryKind::Computer {
                            "a drive's latest certificate is not PASS"
                        } else {
                            "not every drive has a PASS certificate"
                        }
                    ));
                    None
                }
            };
            Ok(Plan {
                upload: Some(pdf?),
                status,
                field: settings
                    .certificate_field
                    .as_ref()
                    .map(|_| format!("{id} {result}")),
                notes,
            })
        }
    }
}

/// The PDF of certificate `id` in the certificates directory: files are named
/// `WHEN-SERIAL-ID8.pdf` after the id's first 8 characters, so the JSON beside it must hold
/// the whole id.
fn find_pdf(dir: &Path, id: &str) -> Option<PathBuf> {
    let short: String = id.chars().take(8).collect();
    let suffix = format!("-{short}.pdf");
    let quoted = format!("\"{id}\"");
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(&suffix))
        })
        .find(|p| {
            std::fs::read_to_string(p.with_extension("json"))
                .is_ok_and(|json| json.contains(&quoted))
        })
}

/// The name a certificate's PDF is uploaded under: the whole id, so it is found again.
pub(crate) fn upload_name(certificate_id: &str) -> String {
    format!("wipeproof-certificate-{certificate_id}.pdf")
}

/// One line of a connector's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    pub subject: String,
    pub asset_tag: Option<String>,
    pub message: String,
}

/// What one connector did in a sync.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectorReport {
    pub name: String,
    pub kind: ConnectorKind,
    /// Taken by the system now.
    pub sent: Vec<Line>,
    /// Not sent, by custody (e.g. FAIL certificates), with why.
    pub skipped: Vec<Line>,
    /// Still pending, with the system's message.
    pub pending: Vec<Line>,
    /// Set when the connector stopped (token refused, unreachable, status missing).
    pub error: Option<String>,
}

impl ConnectorReport {
    pub fn complete(&self) -> bool {
        self.pending.is_empty() && self.error.is_none()
    }
}

fn line(d: &Delivery, message: String) -> Line {
    Line {
        subject: d.subject.clone(),
        asset_tag: d.asset_tag.clone(),
        message,
    }
}

/// Builds a connector's client from its settings (the concrete clients are chosen by the
/// caller, so this loop knows none of them).
pub(crate) type Open = fn(&ConnectorSettings) -> Result<Box<dyn Connector>, String>;

/// Sends what `settings`' connector has not had yet, through a client made by `open` when the
/// first delivery needs one.
pub(crate) fn run(
    register: &mut dyn Register,
    settings: &ConnectorSettings,
    certificates_dir: &Path,
    open: Open,
) -> Result<ConnectorReport, RegisterError> {
    let queue = register.connector_queue(&settings.name)?;
    deliver_all(
        settings,
        &queue,
        certificates_dir,
        open,
        &mut |d, state, message| {
            register.finish_delivery(&settings.name, &d.subject, state, message)
        },
    )
}

/// Sends `queue` through `settings`' connector (made by `open` when the first delivery needs
/// it), one delivery after the other; `finish` records how each ended (the register's delivery
/// table in a sync). One delivery's refusal leaves that one pending and goes on with the next;
/// only a stop of the whole connector (token refused, server unreachable, status missing)
/// leaves the rest pending unsent.
pub(crate) fn deliver_all<E>(
    settings: &ConnectorSettings,
    queue: &[Delivery],
    certificates_dir: &Path,
    open: Open,
    finish: &mut dyn FnMut(&Delivery, DeliveryState, &str) -> Result<(), E>,
) -> Result<ConnectorReport, E> {
    let mut report = ConnectorReport {
        name: settings.name.clone(),
        kind: settings.kind,
        sent: Vec::new(),
        skipped: Vec::new(),
        pending: Vec::new(),
        error: None,
    };
    let mut connector: Option<Box<dyn Connector>> = None;
    for d in queue {
        if let Some(why) = &report.error {
            report.pending.push(line(d, why.clone()));
            continue;
        }
        let plan = match plan(settings, d, certificates_dir) {
            Ok(plan) => plan,
            Err(why) => {
                let state = if why.contains("PDF") {
                    DeliveryState::Pending
                } else {
                    DeliveryState::Skipped
                };
                finish(d, state, &why)?;
                match state {
                    DeliveryState::Pending => report.pending.push(line(d, why)),
                    _ => report.skipped.push(line(d, why)),
                }
                continue;
            }
        };
        if connector.is_none() {
            match open(settings) {
                Ok(c) => connector = Some(c),
                Err(why) => {
                    report.error = Some(why.clone());
                    finish(d, DeliveryState::Pending, &why)?;
                    report.pending.push(line(d, why));
                    continue;
                }
            }
        }
        let Some(c) = connector.as_mut() else {
            continue;
        };
        match c.deliver(d, &plan) {
            Ok(Outcome::Done(what)) => {
                finish(d, DeliveryState::Done, &what)?;
                report.sent.push(line(d, what));
            }
            Ok(Outcome::Pending(why)) => {
                finish(d, DeliveryState::Pending, &why)?;
                report.pending.push(line(d, why));
            }
            Err(e) => {
                let why = e.to_string();
                finish(d, DeliveryState::Pending, &why)?;
                report.pending.push(line(d, why.clone()));
                report.error = Some(why);
            }
        }
    }
    if let Some(c) = connector.as_mut() {
        c.close();
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ConnectorSettings {
        ConnectorSettings {
            name: "c".into(),
            kind: ConnectorKind::Snipeit,
            url: "http://127.0.0.1:1".into(),
            token_env: Some("T".into()),
            token_file: None,
            app_token_env: None,
            app_token_file: None,
            retired_status: Some("Wiped".into()),
            destroyed_status: Some("Destroyed".into()),
            certificate_field: Some("_snipeit_cert_1".into()),
            item_type: None,
            timeout_seconds: None,
            token: None,
        }
    }

    fn delivery(result: &str, asset_state: Option<AssetState>) -> Delivery {
        Delivery {
            connector: "c".into(),
            subject: "CERT-1".into(),
            kind: DeliveryKind::Certificate,
            certificate_id: Some("CERT-1".into()),
            result: Some(result.into()),
            asset_tag: Some("A-1".into()),
            asset_serial: Some("S-1".into()),
            asset_state,
            drive_serial: Some("D-1".into()),
            state: DeliveryState::Pending,
            message: None,
            attempts: 0,
            updated_at: String::new(),
        }
    }

    #[test]
    fn custody_decides_what_is_sent() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("2026-SER-CERT-1.pdf"), b"%PDF").expect("pdf");
        std::fs::write(
            dir.path().join("2026-SER-CERT-1.json"),
            br#"{"id":"CERT-1"}"#,
        )
        .expect("json");
        let s = settings();
        let fail = plan(&s, &delivery("FAIL", Some(AssetState::Failed)), dir.path())
            .expect_err("FAIL sends nothing");
        assert!(fail.contains("result FAIL: nothing sent"), "{fail}");
        assert!(plan(&s, &delivery("INCOMPLETE", None), dir.path()).is_err());
        let pass =
            plan(&s, &delivery("PASS", Some(AssetState::Retired)), dir.path()).expect("PASS");
        assert_eq!(pass.status.as_deref(), Some("Wiped"));
        assert_eq!(pass.field.as_deref(), Some("CERT-1 PASS"));
        assert!(pass.upload.is_some());
        // Another drive of the asset is not PASS yet: the file goes, the status stays.
        let partial = plan(
            &s,
            &delivery("PASS", Some(AssetState::Received)),
            dir.path(),
        )
        .expect("PASS of one drive");
        assert_eq!(partial.status, None);
        assert!(
            partial.notes[0].contains("status left as it is"),
            "{:?}",
            partial.notes
        );
        let destroyed = plan(
            &s,
            &delivery("PASS", Some(AssetState::Destroyed)),
            dir.path(),
        )
        .expect("PASS of a destroyed asset");
        assert_eq!(destroyed.status.as_deref(), Some("Destroyed"));
        let missing =
            plan(&s, &delivery("PASS", None), Path::new("/nonexistent")).expect_err("no PDF");
        assert!(missing.contains("PDF"), "{missing}");
    }
}
