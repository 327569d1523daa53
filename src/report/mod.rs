//! The customer's report of a collection: its chain of custody (`custody`: collected,
//! received, what is missing and how it was resolved), a summary (counts by type, asset state
//! and drive result) and a line per asset and drive (tag, type, asset state, drive serial, method, level,
//! result, certificate id), signed by the station like a certificate and written as PDF and
//! JSON. `layout` draws the PDF's pages; `check` verifies a report file the way certificates
//! are verified.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::certificate::canonical;
use crate::certificate::keys::StationKey;
use crate::certificate::pdf::{Attachment, PdfError, PdfInfo, Seal, render};
pub use crate::certificate::record::{Organisation, Tool};
use crate::durable::{create_dir_all_mode, write_atomic};
use crate::register::{AssetState, RegisterError, ReportComputer, ReportLine};
use crate::verify::WipeResult;

mod check;
pub mod custody;
mod layout;

pub use check::{ReportVerdict, verify_report_bytes, verify_report_file};
pub use custody::ReportCustody;
pub use layout::layout;

/// Schema identifier of collection reports. v2 adds the organisation's address, the tool, each
/// drive's sanitization level, and keeps a drive's wipe result apart from its asset's state.
pub const SCHEMA: &str = "wipeproof/report/v2";

/// The page layout new reports are drawn with.
pub const LAYOUT: u32 = 2;

/// Drives by the result of their latest certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DriveResults {
    pub pass: u64,
    pub fail: u64,
    pub incomplete: u64,
    /// Drives known to the register that have no certificate yet.
    pub not_wiped: u64,
}

/// Counts for the summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    pub assets: u64,
    pub drives: u64,
    /// Assets by state.
    pub by_state: BTreeMap<AssetState, u64>,
    /// Drives by the result of their latest certificate.
    pub by_result: DriveResults,
    /// Assets by type (`unspecified` when the manifest gave none), then by state.
    pub by_type: BTreeMap<String, BTreeMap<AssetState, u64>>,
}

/// A signed collection report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectionReport {
    pub schema: String,
    /// The page layout the PDF is drawn with: absent in reports of the first layout, 2 since
    /// reports show wipe dates, makes and models, and destructions (see [`layout`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<u32>,
    pub id: String,
    pub issued_at: String,
    pub tool: Tool,
    pub organisation: Organisation,
    pub station_id: String,
    pub operator: String,
    pub customer: String,
    pub collection: String,
    pub summary: Summary,
    pub lines: Vec<ReportLine>,
    pub key_id: String,
    /// The collection's chain of custody (absent from reports written before it was kept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custody: Option<ReportCustody>,
    /// The computers of the collection, each with its latest computer certificate and the
    /// drives it lists (absent when no asset has one, and from reports made before).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub computers: Vec<ReportComputer>,
}

impl CollectionReport {
    /// The canonical bytes (what the signature covers).
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, ReportError> {
        let value = serde_json::to_value(self).map_err(|e| ReportError::Encode(e.to_string()))?;
        canonical::to_bytes(&value).map_err(|e| ReportError::Encode(e.to_string()))
    }
}

/// The signature block of a report's JSON file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSignature {
    pub algorithm: String,
    pub key_id: String,
    /// Base64 of the 64-byte Ed25519 signature.
    pub value: String,
    pub report_sha256: String,
}

/// A report's JSON file: the report and its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedReport {
    pub report: CollectionReport,
    pub signature: ReportSignature,
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
            *s.by_state.entry(l.state).or_default() += 1;
            let t = l.asset_type.clone().unwrap_or_else(|| "unspecified".into());
            *s.by_type.entry(t).or_default().entry(l.state).or_default() += 1;
        }
        if l.drive_serial.is_some() {
            s.drives += 1;
            let r = &mut s.by_result;
            match l.result {
                Some(WipeResult::Pass) => r.pass += 1,
                Some(WipeResult::Fail) => r.fail += 1,
                Some(WipeResult::Incomplete) => r.incomplete += 1,
                None => r.not_wiped += 1,
            }
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
    #[error(
        "the report of {collection} is not signed: {}; see `wipeproof assets audit`",
        objections.join("; ")
    )]
    NotBacked {
        collection: String,
        objections: Vec<String>,
        /// Every problem the audit found, for the log.
        problems: Vec<String>,
    },
}

/// What a report of a collection holds.
#[derive(Debug, Clone)]
pub struct Contents {
    pub customer: String,
    /// A line per asset and drive.
    pub lines: Vec<ReportLine>,
    pub custody: Option<ReportCustody>,
    /// The assets that have a computer certificate.
    pub computers: Vec<ReportComputer>,
}

/// The customer, lines, chain of custody and computers of a collection, once the audit backs them: a
/// signed report vouches for the register, so it is never signed over what the audit objects
/// to.
pub fn audited_lines<R: crate::register::Register + ?Sized>(
    reg: &R,
    collection: &str,
    keys: &crate::certificate::keys::TrustStore,
) -> Result<Contents, ReportError> {
    let (customer, lines) = reg.collection_lines(collection)?;
    let custody = ReportCustody::from_record(&reg.custody(collection)?);
    let audit = reg.audit_with_keys(keys)?;
    let mut tags: Vec<String> = lines.iter().map(|l| l.asset_tag.clone()).collect();
    tags.dedup();
    let objections = audit.objections(&tags);
    if !objections.is_empty() {
        return Err(ReportError::NotBacked {
            collection: collection.into(),
            objections,
            problems: audit.problems,
        });
    }
    let computers = reg.collection_computers(collection)?;
    Ok(Contents {
        customer,
        lines,
        custody: Some(custody),
        computers,
    })
}

/// Who issues a report.
pub struct Issuer<'a> {
    pub organisation: &'a Organisation,
    pub station_id: &'a str,
    pub operator: &'a str,
    pub key: &'a StationKey,
}

/// The PDF of a signed report: the pages drawn from the report, with the signed bytes and the
/// signature embedded, and the PDF signature `seal`. Verification redraws it the same way, with
/// the PDF signature's place reserved.
pub fn render_report_pdf(
    report: &CollectionReport,
    canonical: &[u8],
    signature: &[u8],
    seal: Seal<'_>,
) -> Result<Vec<u8>, PdfError> {
    let sha = hex::encode(Sha256::digest(canonical));
    let sig_b64 = base64::engine::general_purpose::STANDARD.encode(signature);
    let pages = layout(report, &sha, &sig_b64);
    let title = format!("Sanitization report, collection {}", report.collection);
    render(
        &pages,
        &PdfInfo {
            title: &title,
            author: &report.organisation.name,
            id_seed: &sha,
            seal,
        },
        &[
            Attachment {
                name: "report.json",
                mime: "application/json",
                description: "The signed report: canonical JSON, the exact bytes the signature covers",
                data: canonical,
            },
            Attachment {
                name: "report.sig",
                mime: "application/octet-stream",
                description: "Ed25519 signature of report.json (64 raw bytes)",
                data: signature,
            },
        ],
    )
}

/// The JSON file of a signed report, as written.
pub fn report_json(signed: &SignedReport) -> Result<Vec<u8>, ReportError> {
    let mut json =
        serde_json::to_vec_pretty(signed).map_err(|e| ReportError::Encode(e.to_string()))?;
    json.push(b'\n');
    Ok(json)
}

/// A signed report in memory: the report and its two files' bytes.
pub struct SignedFiles {
    pub signed: SignedReport,
    pub json: Vec<u8>,
    pub pdf: Vec<u8>,
}

/// Builds and signs the report of a collection (nothing is written).
pub fn sign_report(
    Contents {
        customer,
        lines,
        custody,
        computers,
    }: Contents,
    collection: &str,
    issuer: &Issuer<'_>,
) -> Result<SignedFiles, ReportError> {
    let summary = summarise(&lines);
    let report = CollectionReport {
        schema: SCHEMA.into(),
        layout: Some(LAYOUT),
        id: uuid::Uuid::new_v4().to_string(),
        issued_at: crate::timestamp::now(),
        tool: Tool {
            name: "wipeproof".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        organisation: issuer.organisation.clone(),
        station_id: issuer.station_id.into(),
        operator: issuer.operator.into(),
        customer,
        collection: collection.into(),
        summary,
        lines,
        key_id: issuer.key.key_id(),
        custody,
        computers,
    };
    let canonical = report.canonical_bytes()?;
    let signature = issuer.key.sign(&canonical).to_bytes();
    let signed = SignedReport {
        signature: ReportSignature {
            algorithm: "Ed25519".into(),
            key_id: report.key_id.clone(),
            value: base64::engine::general_purpose::STANDARD.encode(signature),
            report_sha256: hex::encode(Sha256::digest(&canonical)),
        },
        report,
    };
    let json = report_json(&signed)?;
    let seal = Seal::Signed {
        signed_at: &signed.report.issued_at,
        signer: issuer.key.pdf_signer(),
    };
    let pdf = render_report_pdf(&signed.report, &canonical, &signature, seal)?;
    Ok(SignedFiles { signed, json, pdf })
}

/// The file name of a report, without extension: `report-COLLECTION-TIME`.
pub fn report_stem(report: &CollectionReport) -> String {
    let safe: String = report
        .collection
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "report-{safe}-{}",
        crate::timestamp::parse(&report.issued_at)
            .map(crate::timestamp::compact)
            .unwrap_or_default()
    )
}

/// Builds, signs and writes the report of a collection into `dir`.
pub fn write_report(
    contents: Contents,
    collection: &str,
    issuer: &Issuer<'_>,
    dir: &Path,
) -> Result<ReportFiles, ReportError> {
    let SignedFiles { signed, json, pdf } = sign_report(contents, collection, issuer)?;
    let summary = signed.report.summary.clone();
    create_dir_all_mode(dir, 0o755).map_err(|source| ReportError::Write {
        path: dir.into(),
        source,
    })?;
    let stem = report_stem(&signed.report);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::register::AssetState;

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
            level: result.map(|_| crate::erase::Level::Clear),
            result: result.map(|r| match r {
                "PASS" => WipeResult::Pass,
                _ => WipeResult::Fail,
            }),
            certificate_id: result.map(|_| "c".into()),
            make: None,
            model: None,
            drive_model: None,
            wiped_at: None,
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
        assert_eq!(s.by_result.pass, 2);
        assert_eq!(s.by_result.fail, 1);
        assert_eq!(s.by_result.not_wiped, 0);
        assert_eq!(s.by_state[&AssetState::Failed], 1);
        assert_eq!(s.by_type["laptop"][&AssetState::Retired], 1);
        assert_eq!(s.by_type["laptop"][&AssetState::Received], 1);
    }
}
