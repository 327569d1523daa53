//! The customer's report of a collection: a summary (counts by type and result) and a line per
//! asset and drive (tag, serial, method, result, certificate id), signed by the station like a
//! certificate and written as PDF and JSON.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{RegisterError, ReportLine};
use crate::certificate::canonical;
use crate::certificate::keys::StationKey;
use crate::certificate::page::{Colour, Font, Writer};
use crate::certificate::pdf::{Attachment, PdfError, PdfInfo, render};
use crate::durable::{create_dir_all_mode, write_atomic};

/// Schema identifier of collection reports.
pub const SCHEMA: &str = "wipeproof/report/v1";

/// Counts for the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub assets: u64,
    pub drives: u64,
    /// Assets by state.
    pub by_state: BTreeMap<String, u64>,
    /// Drives by certificate result (`none` for drives not yet wiped).
    pub by_result: BTreeMap<String, u64>,
    /// Assets by type, then by state.
    pub by_type: BTreeMap<String, BTreeMap<String, u64>>,
}

/// A signed collection report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionReport {
    pub schema: String,
    pub id: String,
    pub issued_at: String,
    pub organisation: String,
    pub station_id: String,
    pub operator: String,
    pub customer: String,
    pub collection: String,
    pub summary: Summary,
    pub lines: Vec<ReportLine>,
    pub key_id: String,
}

/// Where a report was written.
#[derive(Debug, Clone)]
pub struct ReportFiles {
    pub pdf: PathBuf,
    pub json: PathBuf,
    pub summary: Summary,
}

/// Counts a collection's lines.
pub fn summarise(lines: &[ReportLine]) -> Summary {
    let mut s = Summary::default();
    let mut seen = std::collections::BTreeSet::new();
    for l in lines {
        if seen.insert(l.asset_tag.clone()) {
            s.assets += 1;
            *s.by_state.entry(l.state.as_str().into()).or_default() += 1;
            let t = l.asset_type.clone().unwrap_or_else(|| "unspecified".into());
            *s.by_type
                .entry(t)
                .or_default()
                .entry(l.state.as_str().into())
                .or_default() += 1;
        }
        if l.drive_serial.is_some() {
            s.drives += 1;
            *s.by_result
                .entry(l.result.clone().unwrap_or_else(|| "none".into()))
                .or_default() += 1;
        }
    }
    s
}

/// Errors writing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Register(#[from] RegisterError),
    #[error(transparent)]
    Pdf(#[from] PdfError),
    #[error("cannot write report {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode the report: {0}")]
    Encode(String),
}

/// Who issues a report.
pub struct Issuer<'a> {
    pub organisation: &'a str,
    pub station_id: &'a str,
    pub operator: &'a str,
    pub key: &'a StationKey,
}

/// Builds, signs and writes the report of a collection into `dir`.
pub fn write_report(
    customer: &str,
    collection: &str,
    lines: Vec<ReportLine>,
    issuer: &Issuer<'_>,
    dir: &Path,
) -> Result<ReportFiles, ReportError> {
    let summary = summarise(&lines);
    let report = CollectionReport {
        schema: SCHEMA.into(),
        id: uuid::Uuid::new_v4().to_string(),
        issued_at: crate::timestamp::now(),
        organisation: issuer.organisation.into(),
        station_id: issuer.station_id.into(),
        operator: issuer.operator.into(),
        customer: customer.into(),
        collection: collection.into(),
        summary: summary.clone(),
        lines,
        key_id: issuer.key.key_id(),
    };
    let value = serde_json::to_value(&report).map_err(|e| ReportError::Encode(e.to_string()))?;
    let canonical = canonical::to_bytes(&value).map_err(|e| ReportError::Encode(e.to_string()))?;
    let signature = issuer.key.sign(&canonical).to_bytes();
    let sha = hex::encode(Sha256::digest(&canonical));
    let sig_b64 = base64::engine::general_purpose::STANDARD.encode(signature);
    let signed = serde_json::json!({
        "report": report,
        "signature": {
            "algorithm": "Ed25519",
            "key_id": report.key_id,
            "value": sig_b64,
            "report_sha256": sha,
        }
    });
    let mut json =
        serde_json::to_vec_pretty(&signed).map_err(|e| ReportError::Encode(e.to_string()))?;
    json.push(b'\n');

    let pages = layout(&report, &sha, &sig_b64);
    let title = format!("Sanitization report, collection {collection}");
    let pdf = render(
        &pages,
        &PdfInfo {
            title: &title,
            author: issuer.organisation,
            id_seed: &sha,
        },
        &[
            Attachment {
                name: "report.json",
                mime: "application/json",
                description: "The signed report: canonical JSON, the exact bytes the signature covers",
                data: &canonical,
            },
            Attachment {
                name: "report.sig",
                mime: "application/octet-stream",
                description: "Ed25519 signature of report.json (64 raw bytes)",
                data: &signature,
            },
        ],
    )?;
    create_dir_all_mode(dir, 0o755).map_err(|source| ReportError::Write {
        path: dir.into(),
        source,
    })?;
    let safe: String = collection
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stem = format!(
        "report-{safe}-{}",
        crate::timestamp::parse(&report.issued_at)
            .map(crate::timestamp::compact)
            .unwrap_or_default()
    );
    let json_path = dir.join(format!("{stem}.json"));
    let pdf_path = dir.join(format!("{stem}.pdf"));
    for (path, bytes) in [(&json_path, &json), (&pdf_path, &pdf)] {
        write_atomic(path, bytes).map_err(|source| ReportError::Write {
            path: path.clone(),
            source,
        })?;
    }
    Ok(ReportFiles {
        pdf: pdf_path,
        json: json_path,
        summary,
    })
}

fn layout(r: &CollectionReport, sha: &str, sig_b64: &str) -> Vec<crate::certificate::page::Page> {
    use crate::certificate::page::LEFT;
    let mut w = Writer::new();
    w.text(LEFT, 16.0, Font::Bold, Colour::Black, &r.organisation);
    w.down(24.0);
    w.text(LEFT, 18.0, Font::Bold, Colour::Black, "Sanitization report");
    w.down(22.0);
    w.row("Customer", &r.customer);
    w.row("Collection", &r.collection);
    w.row("Issued", &r.issued_at);
    w.row(
        "Station / operator",
        &format!("{} / {}", r.station_id, r.operator),
    );
    w.mono_row("Report", &r.id);

    w.section("Summary");
    let s = &r.summary;
    w.row("Assets", &s.assets.to_string());
    for (state, n) in &s.by_state {
        w.row(&format!("  {state}"), &n.to_string());
    }
    w.row("Drives", &s.drives.to_string());
    for (result, n) in &s.by_result {
        w.row(&format!("  {result}"), &n.to_string());
    }
    for (t, states) in &s.by_type {
        let counts = states
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ");
        w.row(&format!("Type {t}"), &counts);
    }

    w.section("Assets and drives");
    let cols = [
        LEFT,
        LEFT + 85.0,
        LEFT + 165.0,
        LEFT + 245.0,
        LEFT + 320.0,
        LEFT + 375.0,
    ];
    w.table_header(
        &cols,
        &[
            "Asset tag",
            "Asset serial",
            "Drive serial",
            "Method",
            "Result",
            "Certificate",
        ],
    );
    for l in &r.lines {
        let cert = if l.certificate_id.is_some() {
            "below"
        } else {
            "-"
        };
        w.table_row(
            &cols,
            &[
                &l.asset_tag,
                &l.asset_serial,
                l.drive_serial.as_deref().unwrap_or("-"),
                l.method.as_deref().unwrap_or("-"),
                l.result.as_deref().unwrap_or(l.state.as_str()),
                cert,
            ],
        );
        if let Some(c) = &l.certificate_id {
            w.note(&format!("certificate {c}"));
        }
    }

    w.section("Signature");
    w.mono_row("Key id", &r.key_id);
    w.mono_row("Report SHA-256", sha);
    w.mono_row("Signature", sig_b64);
    w.paragraph(
        "The signed report travels inside this PDF (report.json, report.sig); check it with \
         pdfdetach and openssl pkeyutl -verify -rawin as for certificates.",
        Font::Regular,
        8.0,
    );
    w.finish(&format!("Report {}", r.id))
}

#[cfg(test)]
mod tests {
    use super::super::AssetState;
    use super::*;

    fn line(
        tag: &str,
        t: &str,
        state: AssetState,
        drive: Option<&str>,
        result: Option<&str>,
    ) -> ReportLine {
        ReportLine {
            asset_tag: tag.into(),
            asset_serial: format!("S-{tag}"),
            asset_type: Some(t.into()),
            state,
            drive_serial: drive.map(Into::into),
            method: result.map(|_| "zero".into()),
            result: result.map(Into::into),
            certificate_id: result.map(|_| "c".into()),
        }
    }

    #[test]
    fn summary_counts_assets_once_and_drives_each() {
        let lines = vec![
            line("A", "laptop", AssetState::Retired, Some("d1"), Some("PASS")),
            line("B", "server", AssetState::Failed, Some("d2"), Some("PASS")),
            line("B", "server", AssetState::Failed, Some("d3"), Some("FAIL")),
            line("C", "laptop", AssetState::Received, None, None),
        ];
        let s = summarise(&lines);
        assert_eq!(s.assets, 3);
        assert_eq!(s.drives, 3);
        assert_eq!(s.by_result["PASS"], 2);
        assert_eq!(s.by_result["FAIL"], 1);
        assert_eq!(s.by_state["failed"], 1);
        assert_eq!(s.by_type["laptop"]["retired"], 1);
        assert_eq!(s.by_type["laptop"]["received"], 1);
    }
}
