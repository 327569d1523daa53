//! The certificate record (schema v1): what was erased, how, by whom, how it was checked, and
//! the result. Its canonical bytes are what the station's key signs.
//!
//! Fields follow NIST SP 800-88 Appendix G (Certificate of Sanitization) and Rev. 2 section 4.6
//! (person, media identity, method type and technique, tool and version, verification method,
//! destination), plus each step, the verification detail, the station's hash chain and the key
//! id. `certificates/schema/certificate-v1.schema.json` is the JSON Schema of it.
//!
//! A record that can be signed is an [`Issuable`], and the only way to make one is from a
//! concluded [`Outcome`]: the result field is copied from the outcome, never chosen
//! (ARCHITECTURE.md, invariant 2).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::canonical;
use crate::device::DriveInfo;
use crate::device::health::Health;
use crate::erase::{Level, OverwritePlan};
use crate::verify::outcome::{Outcome, Step, Verification, WipeResult};

/// Schema identifier of this record format.
pub const SCHEMA: &str = "wipeproof/certificate/v1";
/// Version of the PDF layout the record renders to. Records made before layout 3 all say 1
/// (layout 1 or 2, told apart by the PDF's fonts); from layout 3 on the record names it.
pub const LAYOUT: u32 = 3;
/// The sanitization policy the level is judged by.
pub const DEFAULT_POLICY: &str = "NIST SP 800-88 Rev. 2 / IEEE 2883-2022";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    pub name: String,
    pub address: String,
}

/// The person and station that performed the sanitization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PerformedBy {
    pub operator: String,
    pub station_id: String,
}

pub use crate::erase::firmware::hidden::HiddenArea;

/// The media's identity as the station saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Media {
    pub path: String,
    pub manufacturer: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub firmware: Option<String>,
    pub wwn: Option<String>,
    pub transport: String,
    /// `hdd`, `ssd`, `nvme`, `flash`, `virtual`.
    #[serde(rename = "type")]
    pub media_type: String,
    pub size_bytes: u64,
    pub logical_sector_size: u32,
    pub physical_sector_size: u32,
    pub hidden_areas: Vec<HiddenArea>,
    /// The firmware erase methods the drive offered (from its own capability bits).
    pub capabilities: Vec<String>,
}

impl Media {
    pub fn of(drive: &DriveInfo) -> Media {
        Media {
            path: drive.path.clone(),
            manufacturer: drive.vendor.clone(),
            model: drive.model.clone(),
            serial: drive.serial.clone(),
            firmware: drive.firmware.clone(),
            wwn: drive.wwn.clone(),
            transport: drive.transport.as_str().into(),
            media_type: drive.media.as_str().into(),
            size_bytes: drive.size_bytes,
            logical_sector_size: drive.logical_sector_size,
            physical_sector_size: drive.physical_sector_size,
            hidden_areas: Vec::new(),
            capabilities: drive.firmware_methods.clone(),
        }
    }
}

/// How the media was sanitized and with what result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sanitization {
    pub level: Level,
    /// The policy the level is judged by.
    pub policy: String,
    pub method: String,
    pub method_title: String,
    /// NIST method type: `overwrite`, `block erase`, `cryptographic erase`.
    pub method_type: String,
    /// The technique in detail (passes, command).
    pub technique: String,
    pub reference: String,
    pub rounds: u32,
    pub blank: bool,
    pub started_at: String,
    pub ended_at: String,
    pub steps: Vec<Step>,
    pub result: WipeResult,
    pub failure_reasons: Vec<String>,
    /// Set when only the file was overwritten, not the device under it: an image file on a
    /// copy-on-write filesystem, wiped with `--allow-cow`. Absent otherwise, so certificates
    /// made before it existed keep their signed bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logical_only: Option<LogicalOnly>,
    /// Set when the drive's asset was already retired or destroyed and the operator confirmed
    /// wiping it again (`wipe --rewipe`, `R` on the station's screen). Absent otherwise, so
    /// certificates made before it existed keep their signed bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rewipe: Option<Rewipe>,
}

/// A wipe of a drive whose asset the register already recorded as finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rewipe {
    /// The asset's state when this wipe started: `retired` or `destroyed`.
    pub asset_state: String,
    /// What this means for the reader, in words.
    pub note: String,
}

impl Rewipe {
    /// The fact for a drive of an asset recorded as `asset_state`.
    pub fn of(asset_state: &str) -> Rewipe {
        Rewipe {
            asset_state: asset_state.to_string(),
            note: format!(
                "a rewipe: the asset was already recorded as {asset_state}, and the operator \
                 confirmed wiping this drive again"
            ),
        }
    }
}

/// Why a sanitisation reached only the file, and what may survive it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogicalOnly {
    /// The copy-on-write filesystem that held the file (`btrfs`, `bcachefs`, `zfs`,
    /// `xfs with reflink`, `overlay`).
    pub filesystem: String,
    /// What this means for the reader, in words.
    pub note: String,
}

impl LogicalOnly {
    /// The fact for an image file on the copy-on-write filesystem `filesystem`.
    pub fn copy_on_write(filesystem: &str) -> LogicalOnly {
        LogicalOnly {
            filesystem: filesystem.to_string(),
            note: format!(
                "logical sanitisation only: earlier copies of this file may survive on the \
                 device (copy-on-write filesystem {filesystem})"
            ),
        }
    }
}

/// Where the media goes after sanitization: the documented values only, so no certificate
/// can name anything else (NIST SP 800-88 Appendix G's "destination").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Destination {
    Reuse,
    Resale,
    Recycle,
    Destroy,
}

impl Destination {
    pub const ALL: [Destination; 4] = [
        Destination::Reuse,
        Destination::Resale,
        Destination::Recycle,
        Destination::Destroy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Destination::Reuse => "reuse",
            Destination::Resale => "resale",
            Destination::Recycle => "recycle",
            Destination::Destroy => "destroy",
        }
    }
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A destination that is not one of the documented values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a destination; use reuse, resale, recycle or destroy")]
pub struct UnknownDestination(pub String);

impl std::str::FromStr for Destination {
    type Err = UnknownDestination;

    fn from_str(s: &str) -> Result<Destination, UnknownDestination> {
        Destination::ALL
            .into_iter()
            .find(|d| d.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| UnknownDestination(s.into()))
    }
}

impl TryFrom<String> for Destination {
    type Error = UnknownDestination;

    /// Exactly the documented spelling: a signed record or a config file says `reuse`.
    fn try_from(s: String) -> Result<Destination, UnknownDestination> {
        Destination::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or(UnknownDestination(s))
    }
}

impl From<Destination> for String {
    fn from(d: Destination) -> String {
        d.as_str().into()
    }
}

/// The previous certificate of the same station (a hash chain).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainLink {
    pub id: String,
    pub record_sha256: String,
}

/// A certificate record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub schema: String,
    pub layout: u32,
    pub id: String,
    pub wipe_id: String,
    pub issued_at: String,
    pub tool: Tool,
    pub organisation: Organisation,
    pub performed_by: PerformedBy,
    pub customer: Option<String>,
    pub collection: Option<String>,
    pub asset_tags: Vec<String>,
    pub media: Media,
    /// The drive's own health report, read before the wipe. Absent from certificates made
    /// before wipeproof read it, so that they keep their signed bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    /// The computer the drive was inside, when that computer is the asset
    /// (`station.host_is_asset`). Absent otherwise, and from certificates made before it
    /// existed, so that they keep their signed bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<super::computer::Host>,
    pub sanitization: Sanitization,
    pub verification: Verification,
    /// What happens to the media next: reuse, resale, recycle, destroy.
    pub destination: Destination,
    pub previous: Option<ChainLink>,
    pub key_id: String,
}

/// Errors turning a record into bytes or back.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("the record is not valid JSON: {0}")]
    Json(String),
    #[error("the record does not follow schema {SCHEMA}: {0}")]
    Schema(String),
    #[error(transparent)]
    Canonical(#[from] canonical::CanonicalError),
}

impl Record {
    /// The canonical bytes (what the signature covers).
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, RecordError> {
        let value = serde_json::to_value(self).map_err(|e| RecordError::Json(e.to_string()))?;
        Ok(canonical::to_bytes(&value)?)
    }

    /// Hex SHA-256 of the canonical bytes.
    pub fn sha256(&self) -> Result<String, RecordError> {
        Ok(hex::encode(Sha256::digest(self.canonical_bytes()?)))
    }

    /// Parses and schema-checks a record from a JSON value.
    pub fn from_value(value: serde_json::Value) -> Result<Record, RecordError> {
        let record: Record =
            serde_json::from_value(value).map_err(|e| RecordError::Schema(e.to_string()))?;
        if record.schema != SCHEMA {
            return Err(RecordError::Schema(format!(
                "schema is `{}`, this tool reads `{SCHEMA}`",
                record.schema
            )));
        }
        if record.layout != 1 && record.layout != LAYOUT {
            return Err(RecordError::Schema(format!(
                "layout {} is unknown (this tool renders layout {LAYOUT})",
                record.layout
            )));
        }
        Ok(record)
    }
}

impl super::signable::Signable for Record {
    const WHAT: &'static str = "certificate";
    const SCHEMA: &'static str = SCHEMA;

    fn from_value(value: serde_json::Value) -> Result<Record, RecordError> {
        Record::from_value(value)
    }
    fn id(&self) -> &str {
        &self.id
    }
    fn key_id(&self) -> &str {
        &self.key_id
    }
    fn issued_at(&self) -> &str {
        &self.issued_at
    }
    fn tool_version(&self) -> &str {
        &self.tool.version
    }
    fn author(&self) -> &str {
        &self.organisation.name
    }
    fn performed_by(&self) -> &PerformedBy {
        &self.performed_by
    }
    fn previous(&self) -> Option<&ChainLink> {
        self.previous.as_ref()
    }
    fn pdf_title(&self) -> String {
        format!("Certificate of Media Sanitization {}", self.id)
    }
    fn pages(
        &self,
        version: super::issue::LayoutVersion,
        record_sha256: &str,
        signature_b64: &str,
    ) -> Vec<super::page::Page> {
        match version {
            super::issue::LayoutVersion::V1 => {
                super::v1::layout(self, record_sha256, signature_b64)
            }
            super::issue::LayoutVersion::V2 => {
                super::v2::layout(self, record_sha256, signature_b64)
            }
            super::issue::LayoutVersion::V3 => {
                super::layout::layout(self, record_sha256, signature_b64)
            }
        }
    }
    fn layout_version(&self, drawn: super::issue::LayoutVersion) -> super::issue::LayoutVersion {
        if self.layout >= 3 {
            super::issue::LayoutVersion::V3
        } else {
            drawn
        }
    }
    fn unshowable(&self, version: super::issue::LayoutVersion) -> Vec<(String, char)> {
        match version {
            super::issue::LayoutVersion::V1 => {
                super::layout::unshowable(self, |c| super::winansi::byte(c).is_some())
            }
            super::issue::LayoutVersion::V2 | super::issue::LayoutVersion::V3 => {
                super::layout::unshowable(self, super::fonts::showable)
            }
        }
    }
    fn file_stem(&self) -> String {
        super::signable::file_stem(&self.issued_at, self.media.serial.as_deref(), &self.id)
    }
    fn seal(&mut self, key_id: String, previous: Option<ChainLink>) {
        self.key_id = key_id;
        self.previous = previous;
    }
}

/// How a method is described on a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MethodInfo {
    pub name: String,
    pub title: String,
    pub method_type: String,
    pub technique: String,
    pub level: Level,
    pub policy: String,
    pub reference: String,
    pub rounds: u32,
    pub blank: bool,
}

impl MethodInfo {
    /// The description of an overwrite plan.
    pub fn overwrite(plan: &OverwritePlan) -> MethodInfo {
        let m = plan.method();
        let passes = plan
            .passes
            .iter()
            .map(|p| p.describe())
            .collect::<Vec<_>>()
            .join(", ");
        MethodInfo {
            name: plan.method.clone(),
            title: m.map(|m| m.title.to_string()).unwrap_or_default(),
            method_type: "overwrite".into(),
            technique: format!(
                "{} pass(es): {passes}; verified: {}",
                plan.passes.len(),
                match plan.verify_passes {
                    crate::erase::VerifyPasses::All => "every pass",
                    crate::erase::VerifyPasses::Last => "last pass",
                }
            ),
            level: m.map(|m| m.level).unwrap_or(Level::Clear),
            policy: DEFAULT_POLICY.into(),
            // Overwrite levels are judged by the default policy: its reference follows it.
            reference: m
                .map(|m| {
                    m.reference
                        .under(crate::erase::firmware::policy::Policy::DEFAULT)
                })
                .unwrap_or_default(),
            rounds: plan.rounds,
            blank: plan.blank,
        }
    }
}

impl MethodInfo {
    /// The description of a firmware method judged by `policy` on `media`.
    pub fn firmware(
        m: &crate::erase::firmware::FirmwareMethod,
        policy: crate::erase::firmware::policy::Policy,
        media: crate::erase::firmware::policy::MediaClass,
    ) -> MethodInfo {
        use crate::erase::firmware::policy::Technique;
        let method_type = match m.technique {
            Technique::SanitizeCryptoErase | Technique::FormatCryptoErase => "cryptographic erase",
            Technique::SanitizeBlockErase => "block erase",
            Technique::SanitizeOverwrite => "overwrite (by the drive)",
            Technique::AtaSecurityErase | Technique::AtaEnhancedSecurityErase => "secure erase",
            Technique::FormatUserDataErase => "user data erase",
            Technique::HostOverwrite => "overwrite",
        };
        MethodInfo {
            name: m.name.into(),
            title: m.title.into(),
            method_type: method_type.into(),
            technique: m.command.into(),
            level: policy.level(m.technique, media),
            policy: policy.source().into(),
            reference: m.reference.into(),
            rounds: 1,
            blank: false,
        }
    }
}

/// Who issues, for whom, and where the media goes: the parts of a record that do not come from
/// the wipe itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueContext {
    pub organisation: Organisation,
    pub performed_by: PerformedBy,
    pub destination: Destination,
    pub customer: Option<String>,
    pub collection: Option<String>,
    pub asset_tags: Vec<String>,
    /// The computer the drive is inside, when it is the asset.
    pub host: Option<super::computer::Host>,
    /// Set when the asset was already retired or destroyed and the operator asked for this wipe.
    pub rewipe: Option<Rewipe>,
}

/// What a wipe produced, as the certificate needs it.
pub struct WipeFacts<'a> {
    pub wipe_id: &'a str,
    pub drive: &'a DriveInfo,
    pub method: MethodInfo,
    pub hidden_areas: Vec<HiddenArea>,
    pub started_at: &'a str,
    pub ended_at: &'a str,
    pub outcome: &'a Outcome,
}

/// A record ready to be signed. Only [`Issuable::from_wipe`] makes one, from a concluded
/// outcome, so a signed PASS always stands on a PASS outcome.
#[derive(Debug, Clone)]
pub struct Issuable {
    record: Record,
}

impl Issuable {
    /// Builds the record of a finished wipe. `key_id` and `previous` are filled in when signing.
    pub fn from_wipe(facts: WipeFacts<'_>, ctx: &IssueContext) -> Issuable {
        let outcome = facts.outcome;
        let mut media = Media::of(facts.drive);
        media.hidden_areas = facts.hidden_areas;
        let m = facts.method;
        Issuable {
            record: Record {
                schema: SCHEMA.into(),
                layout: LAYOUT,
                id: uuid::Uuid::new_v4().to_string(),
                wipe_id: facts.wipe_id.into(),
                issued_at: crate::timestamp::now(),
                tool: Tool {
                    name: "wipeproof".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                },
                organisation: ctx.organisation.clone(),
                performed_by: ctx.performed_by.clone(),
                customer: ctx.customer.clone(),
                collection: ctx.collection.clone(),
                asset_tags: ctx.asset_tags.clone(),
                media,
                health: Some(facts.drive.health.clone()),
                host: ctx.host.clone(),
                sanitization: Sanitization {
                    level: m.level,
                    policy: m.policy,
                    method: m.name,
                    method_title: m.title,
                    method_type: m.method_type,
                    technique: m.technique,
                    reference: m.reference,
                    rounds: m.rounds,
                    blank: m.blank,
                    started_at: facts.started_at.into(),
                    ended_at: facts.ended_at.into(),
                    steps: outcome.steps().to_vec(),
                    result: outcome.result(),
                    failure_reasons: outcome.failure_reasons().to_vec(),
                    logical_only: facts
                        .drive
                        .copy_on_write
                        .map(|fs| LogicalOnly::copy_on_write(fs.name())),
                    rewipe: ctx.rewipe.clone(),
                },
                verification: outcome.verification().clone(),
                destination: ctx.destination,
                previous: None,
                key_id: String::new(),
            },
        }
    }

    /// Wraps a ready-made record (unit tests of signing and verification only).
    #[cfg(test)]
    pub(crate) fn from_record_for_tests(record: Record) -> Issuable {
        Issuable { record }
    }

    /// The record as it will be signed (key id and chain link still empty).
    pub fn record(&self) -> &Record {
        &self.record
    }

    /// The record to sign (key id and chain link are filled in when signing).
    pub(super) fn into_record(self) -> Record {
        self.record
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use crate::erase::PassPattern;
    use crate::verify::outcome::{
        CheckRecord, PlanSummary, StepAction, StepStatus, VerifyMode, VerifySpec,
    };

    /// A record as a real wipe would make it, for tests of rendering and verification.
    pub fn sample_record() -> Record {
        let step = |n: u32, pattern: PassPattern| Step {
            number: n,
            action: StepAction::Overwrite { pattern },
            started_at: Some("2026-11-28T10:00:00Z".into()),
            ended_at: Some("2026-11-28T10:20:00Z".into()),
            bytes_written: 1_000_204_886_016,
            status: StepStatus::Completed,
            errors: vec![],
            resumed_at: vec![],
            stopped_at: None,
            notes: vec![],
        };
        Record {
            schema: SCHEMA.into(),
            layout: LAYOUT,
            id: "0b7a8d1e-5f3c-4c1a-9d2e-7f6a5b4c3d2e".into(),
            wipe_id: "6a1f2e3d-4c5b-4a69-8786-958473625140".into(),
            issued_at: "2026-11-28T11:00:00Z".into(),
            tool: Tool {
                name: "wipeproof".into(),
                version: "0.1.0".into(),
            },
            organisation: Organisation {
                name: "Greenfield IT Recycling Ltd".into(),
                address: "Unit 4, Canal Works, Leeds LS1 1AA".into(),
            },
            performed_by: PerformedBy {
                operator: "Jane Doe".into(),
                station_id: "bay-3".into(),
            },
            customer: Some("Acme Insurance plc".into()),
            collection: Some("COL-2026-0042".into()),
            asset_tags: vec!["ACME-000123".into()],
            media: Media {
                path: "/dev/sdb".into(),
                manufacturer: None,
                model: Some("Samsung SSD 870 EVO 1TB".into()),
                serial: Some("S6PUNX0R123456A".into()),
                firmware: Some("SVT02B6Q".into()),
                wwn: Some("0x5002538f41234567".into()),
                transport: "sata".into(),
                media_type: "ssd".into(),
                size_bytes: 1_000_204_886_016,
                logical_sector_size: 512,
                physical_sector_size: 512,
                hidden_areas: vec![],
                capabilities: vec!["ata-sanitize-crypto".into(), "ata-secure-erase".into()],
            },
            health: None,
            host: None,
            sanitization: Sanitization {
                level: Level::Clear,
                policy: DEFAULT_POLICY.into(),
                method: "dod-3pass".into(),
                method_title: "DoD 5220.22-M (E) short: zeros, ones, random".into(),
                method_type: "overwrite".into(),
                technique: "3 pass(es): 0x00, 0xFF, random; verified: last pass".into(),
                reference: "US DoD 5220.22-M (1995) 8-306, method (E)".into(),
                rounds: 1,
                blank: false,
                started_at: "2026-11-28T10:00:00Z".into(),
                ended_at: "2026-11-28T11:00:00Z".into(),
                steps: vec![
                    step(1, PassPattern::Constant { byte: 0 }),
                    step(2, PassPattern::Constant { byte: 0xFF }),
                    step(3, PassPattern::Random),
                ],
                result: WipeResult::Pass,
                failure_reasons: vec![],
                logical_only: None,
                rewipe: None,
            },
            verification: Verification {
                spec: VerifySpec {
                    mode: VerifyMode::Sample,
                    coverage_ppm: 100_000,
                },
                verify_passes: crate::erase::VerifyPasses::Last,
                plan: Some(PlanSummary {
                    algorithm: "wipeproof-sample-v1".into(),
                    seed: "11".repeat(32),
                    size_bytes: 1_000_204_886_016,
                    sector_size: 512,
                    requested_coverage_ppm: 100_000,
                    coverage_ppm: 99_990,
                    subsections: 1000,
                    regions_per_subsection: 2,
                    region_size: 49_999_872,
                    region_count: 2002,
                }),
                checks: vec![CheckRecord {
                    step: 3,
                    mode: VerifyMode::Sample,
                    bytes_read: 100_011_000_000,
                    passed: true,
                    interrupted: false,
                    mismatch_count: 0,
                    mismatches: vec![],
                    unreadable: vec![],
                    digest: Some("ab".repeat(32)),
                    before_digest: None,
                    detail: None,
                }],
            },
            destination: Destination::Reuse,
            previous: Some(ChainLink {
                id: "2c9d7e6f-1a2b-4c3d-8e9f-0a1b2c3d4e5f".into(),
                record_sha256: "cd".repeat(32),
            }),
            key_id: format!("SHA256:{}", "ef".repeat(32)),
        }
    }

    #[test]
    fn canonical_bytes_are_stable_and_sorted() {
        let r = sample_record();
        let a = r.canonical_bytes().unwrap();
        let reparsed: serde_json::Value = serde_json::from_slice(&a).unwrap();
        let b = Record::from_value(reparsed)
            .unwrap()
            .canonical_bytes()
            .unwrap();
        assert_eq!(a, b);
        assert!(a.starts_with(b"{\"asset_tags\":"));
        assert_eq!(r.sha256().unwrap().len(), 64);
    }

    #[test]
    fn logical_only_is_signed_when_set_and_absent_from_the_bytes_otherwise() {
        let r = sample_record();
        let old = String::from_utf8(r.canonical_bytes().unwrap()).unwrap();
        assert!(!old.contains("logical_only"), "{old}");
        let mut cow = r.clone();
        cow.sanitization.logical_only = Some(LogicalOnly::copy_on_write("btrfs"));
        let bytes = cow.canonical_bytes().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.contains("\"logical_only\":{\"filesystem\":\"btrfs\",\"note\":\"logical sanitisation only: earlier copies of this file may survive on the device (copy-on-write filesystem btrfs)\"}"),
            "{text}"
        );
        let back = Record::from_value(serde_json::from_slice(&bytes).unwrap()).unwrap();
        assert_eq!(back, cow);
        let mut v = serde_json::to_value(&cow).unwrap();
        v["sanitization"]["logical_only"]["why"] = serde_json::json!("x");
        assert!(Record::from_value(v).is_err());
    }

    #[test]
    fn a_rewipe_is_signed_when_set_and_absent_from_the_bytes_otherwise() {
        let r = sample_record();
        let old = String::from_utf8(r.canonical_bytes().unwrap()).unwrap();
        assert!(!old.contains("rewipe"), "{old}");
        let mut again = r.clone();
        again.sanitization.rewipe = Some(Rewipe::of("destroyed"));
        let bytes = again.canonical_bytes().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.contains("\"rewipe\":{\"asset_state\":\"destroyed\",\"note\":\"a rewipe: the asset was already recorded as destroyed"),
            "{text}"
        );
        let back = Record::from_value(serde_json::from_slice(&bytes).unwrap()).unwrap();
        assert_eq!(back, again);
    }

    #[test]
    fn host_is_signed_when_set_and_absent_from_the_bytes_otherwise() {
        let r = sample_record();
        let old = String::from_utf8(r.canonical_bytes().unwrap()).unwrap();
        assert!(!old.contains("\"host\""), "{old}");
        let mut with = r.clone();
        let inventory = crate::certificate::computer::tests::laptop_inventory();
        with.host = Some(crate::certificate::computer::Host::of(&inventory));
        let bytes = with.canonical_bytes().unwrap();
        let back = Record::from_value(serde_json::from_slice(&bytes).unwrap()).unwrap();
        assert_eq!(back, with);
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["host"]["system"]["serial"], "5CG1234XYZ");
        assert_eq!(v["host"]["chassis"]["asset_tag"], "ACME-LT-0042");
        assert!(v["host"].get("processors").is_none());
        let mut v = v;
        v["host"]["system"]["colour"] = "red".into();
        assert!(Record::from_value(v).is_err());
        // The page shows it in a section of its own; without it, the page is as before.
        let texts = |r: &Record| -> Vec<String> {
            crate::certificate::layout::layout(r, "ab", "cd")
                .iter()
                .flat_map(|p| p.texts().into_iter().map(str::to_string))
                .collect()
        };
        let shown = texts(&with);
        assert!(
            shown.iter().any(|t| t.starts_with("Computer (the drive")),
            "{shown:?}"
        );
        assert!(shown.iter().any(|t| t == "5CG1234XYZ"));
        assert!(!texts(&r).iter().any(|t| t.starts_with("Computer")));
        if let Some(dir) = std::env::var_os("WIPEPROOF_RENDER_DIR") {
            let key = crate::certificate::keys::StationKey::generate().unwrap();
            let rendered = crate::certificate::issue::sign_and_render(
                Issuable::from_record_for_tests(with),
                &key,
                None,
            )
            .unwrap();
            std::fs::write(
                std::path::Path::new(&dir).join("drive-host.pdf"),
                rendered.pdf,
            )
            .unwrap();
        }
    }

    #[test]
    fn unknown_fields_and_other_schemas_are_refused() {
        let mut v = serde_json::to_value(sample_record()).unwrap();
        v["extra"] = serde_json::json!(1);
        assert!(Record::from_value(v).is_err());
        let mut v = serde_json::to_value(sample_record()).unwrap();
        v["schema"] = serde_json::json!("something/else");
        assert!(Record::from_value(v).is_err());
        let mut v = serde_json::to_value(sample_record()).unwrap();
        v["media"]["colour"] = serde_json::json!("red");
        assert!(Record::from_value(v).is_err());
    }

    #[test]
    fn a_destination_is_one_of_the_documented_values() {
        assert_eq!("Resale".parse::<Destination>(), Ok(Destination::Resale));
        for bad in ["landfill", "", " "] {
            let e = bad.parse::<Destination>().unwrap_err().to_string();
            assert!(e.contains("reuse, resale, recycle or destroy"), "{e}");
        }
        // A record naming anything else does not follow the schema, so it cannot be signed
        // from a file or verified.
        let mut value = serde_json::to_value(sample_record()).unwrap();
        value["destination"] = "landfill".into();
        assert!(Record::from_value(value.clone()).is_err());
        value["destination"] = "".into();
        assert!(Record::from_value(value).is_err());
    }
}
