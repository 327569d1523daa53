//! The computer certificate (schema `wipeproof/computer/v1`, record kind `computer`): the
//! computer a station's drives were inside, as its firmware describes it, and each of its
//! drives with the certificate that records its sanitization. Signed, drawn, chained and
//! verified exactly like a drive's certificate (see [`super::signable`]).
//!
//! Its result is never chosen: [`ComputerResult::of`] derives it from the drives' signed
//! records. PASS only when at least one drive was found and every drive passed; a computer
//! with no drive at all is `NO_STORAGE_FOUND`, said as such, never PASS.
//!
//! [`Host`] is the part of the inventory a drive's own certificate carries when the computer
//! is the asset: system, chassis and BIOS.

use serde::{Deserialize, Serialize};

use super::issue::LayoutVersion;
use super::page::Page;
use super::record::{ChainLink, Organisation, PerformedBy, Record, RecordError, Tool};
use super::signable::{Signable, file_stem};
use crate::device::inventory::{Bios, Chassis, Inventory, System};
use crate::erase::Level;
use crate::verify::WipeResult;

/// Schema identifier of computer certificates.
pub const COMPUTER_SCHEMA: &str = "wipeproof/computer/v1";
/// The record kind.
pub const KIND: &str = "computer";

/// The computer a drive was inside, as its firmware describes it (SMBIOS types 1, 3 and 0).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Host {
    pub system: System,
    pub chassis: Chassis,
    pub bios: Bios,
}

impl Host {
    /// The host part of an inventory.
    pub fn of(inventory: &Inventory) -> Host {
        Host {
            system: inventory.system.clone(),
            chassis: inventory.chassis.clone(),
            bios: inventory.bios.clone(),
        }
    }

    /// The keys the computer's asset may be registered under: the chassis asset tag (a tag),
    /// then the system serial (a serial). Absent fields (placeholders included) give none.
    pub fn asset_keys(&self) -> (Option<&str>, Option<&str>) {
        let tag = self.chassis.asset_tag.as_deref().filter(|s| !s.is_empty());
        let serial = self
            .system
            .serial
            .as_deref()
            .or(self.chassis.serial.as_deref())
            .filter(|s| !s.is_empty());
        (tag, serial)
    }
}

/// A computer's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ComputerResult {
    /// At least one drive, and every drive passed.
    Pass,
    /// A drive failed or did not finish.
    Fail,
    /// No drive was found in the computer: nothing was sanitized.
    NoStorageFound,
}

impl ComputerResult {
    /// The result of a computer with `drives`.
    pub fn of(drives: &[ComputerDrive]) -> ComputerResult {
        if drives.is_empty() {
            ComputerResult::NoStorageFound
        } else if drives.iter().all(|d| d.result == WipeResult::Pass) {
            ComputerResult::Pass
        } else {
            ComputerResult::Fail
        }
    }

    /// As the JSON spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ComputerResult::Pass => "PASS",
            ComputerResult::Fail => "FAIL",
            ComputerResult::NoStorageFound => "NO_STORAGE_FOUND",
        }
    }

    /// As the page shows it.
    pub fn words(self) -> &'static str {
        match self {
            ComputerResult::Pass => "PASS",
            ComputerResult::Fail => "FAIL",
            ComputerResult::NoStorageFound => "NO STORAGE FOUND",
        }
    }
}

/// One drive of the computer and its certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComputerDrive {
    pub serial: Option<String>,
    pub model: Option<String>,
    pub certificate_id: String,
    pub method: String,
    pub level: Level,
    pub result: WipeResult,
}

impl ComputerDrive {
    /// The drive of a signed certificate record.
    pub fn of(record: &Record) -> ComputerDrive {
        ComputerDrive {
            serial: record.media.serial.clone(),
            model: record.media.model.clone(),
            certificate_id: record.id.clone(),
            method: record.sanitization.method.clone(),
            level: record.sanitization.level,
            result: record.sanitization.result,
        }
    }
}

/// A computer certificate record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComputerRecord {
    pub schema: String,
    /// Always `computer`.
    pub kind: String,
    pub id: String,
    pub issued_at: String,
    pub tool: Tool,
    pub organisation: Organisation,
    pub performed_by: PerformedBy,
    pub customer: Option<String>,
    pub collection: Option<String>,
    pub asset_tags: Vec<String>,
    pub inventory: Inventory,
    pub drives: Vec<ComputerDrive>,
    pub result: ComputerResult,
    pub previous: Option<ChainLink>,
    pub key_id: String,
}

/// Who issues a computer certificate and for whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComputerContext {
    pub organisation: Organisation,
    pub performed_by: PerformedBy,
    pub customer: Option<String>,
    pub collection: Option<String>,
    pub asset_tags: Vec<String>,
}

impl ComputerRecord {
    /// The record of a computer whose drives' certificates are `drives` (signed records): the
    /// result follows from them. Key id and chain link are filled in when signing.
    pub fn from_drives(
        inventory: Inventory,
        drives: &[Record],
        ctx: ComputerContext,
    ) -> ComputerRecord {
        let drives: Vec<ComputerDrive> = drives.iter().map(ComputerDrive::of).collect();
        ComputerRecord {
            schema: COMPUTER_SCHEMA.into(),
            kind: KIND.into(),
            id: uuid::Uuid::new_v4().to_string(),
            issued_at: crate::timestamp::now(),
            tool: Tool {
                name: "wipeproof".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
            organisation: ctx.organisation,
            performed_by: ctx.performed_by,
            customer: ctx.customer,
            collection: ctx.collection,
            asset_tags: ctx.asset_tags,
            inventory,
            result: ComputerResult::of(&drives),
            drives,
            previous: None,
            key_id: String::new(),
        }
    }

    /// The serial the computer is known by: the system serial, else the chassis serial.
    pub fn serial(&self) -> Option<&str> {
        self.inventory
            .system
            .serial
            .as_deref()
            .or(self.inventory.chassis.serial.as_deref())
            .filter(|s| !s.is_empty())
    }
}

impl Signable for ComputerRecord {
    const WHAT: &'static str = "computer certificate";
    const SCHEMA: &'static str = COMPUTER_SCHEMA;

    fn from_value(value: serde_json::Value) -> Result<ComputerRecord, RecordError> {
        let schema_err = |why: String| {
            RecordError::Schema(format!(
                "(as a computer certificate, {COMPUTER_SCHEMA}) {why}"
            ))
        };
        let record: ComputerRecord =
            serde_json::from_value(value).map_err(|e| schema_err(e.to_string()))?;
        if record.schema != COMPUTER_SCHEMA || record.kind != KIND {
            return Err(schema_err(format!(
                "schema `{}` of kind `{}`; this tool reads `{COMPUTER_SCHEMA}` of kind `{KIND}`",
                record.schema, record.kind
            )));
        }
        if record.result != ComputerResult::of(&record.drives) {
            return Err(schema_err(format!(
                "its result {} does not follow from its drives' results (it would be {})",
                record.result.as_str(),
                ComputerResult::of(&record.drives).as_str()
            )));
        }
        Ok(record)
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
        format!("Certificate of Computer Sanitization {}", self.id)
    }
    fn pages(
        &self,
        _version: LayoutVersion,
        record_sha256: &str,
        signature_b64: &str,
    ) -> Vec<Page> {
        // Computer certificates exist only in layout 2.
        super::computer_layout::layout(self, record_sha256, signature_b64)
    }
    fn unshowable(&self, version: LayoutVersion) -> Vec<(String, char)> {
        match version {
            LayoutVersion::V1 => {
                super::layout::unshowable(self, |c| super::winansi::byte(c).is_some())
            }
            LayoutVersion::V2 | LayoutVersion::V3 => {
                super::layout::unshowable(self, super::fonts::showable)
            }
        }
    }
    fn file_stem(&self) -> String {
        let name = format!("computer-{}", self.serial().unwrap_or("noserial"));
        file_stem(&self.issued_at, Some(&name), &self.id)
    }
    fn seal(&mut self, key_id: String, previous: Option<ChainLink>) {
        self.key_id = key_id;
        self.previous = previous;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::certificate::record::tests::sample_record;

    pub fn laptop_inventory() -> Inventory {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/smbios/qemu-laptop");
        crate::device::inventory::read_saved_tables(&dir)
    }

    fn context() -> ComputerContext {
        let r = sample_record();
        ComputerContext {
            organisation: r.organisation,
            performed_by: r.performed_by,
            customer: r.customer,
            collection: r.collection,
            asset_tags: vec!["ACME-LT-0042".into()],
        }
    }

    pub fn sample_computer(drives: &[Record]) -> ComputerRecord {
        let mut c = ComputerRecord::from_drives(laptop_inventory(), drives, context());
        c.id = "5d0c1b2a-3e4f-4a5b-8c6d-7e8f9a0b1c2d".into();
        c.issued_at = "2026-11-28T12:00:00Z".into();
        c
    }

    fn drive(serial: &str, result: WipeResult) -> Record {
        let mut r = sample_record();
        r.media.serial = Some(serial.into());
        r.id = format!("cert-{serial}");
        r.sanitization.result = result;
        r
    }

    #[test]
    fn pass_needs_a_drive_and_every_drive_passed() {
        let none = sample_computer(&[]);
        assert_eq!(none.result, ComputerResult::NoStorageFound);
        let one_failed =
            sample_computer(&[drive("A", WipeResult::Pass), drive("B", WipeResult::Fail)]);
        assert_eq!(one_failed.result, ComputerResult::Fail);
        let one_incomplete = sample_computer(&[drive("A", WipeResult::Incomplete)]);
        assert_eq!(one_incomplete.result, ComputerResult::Fail);
        let all = sample_computer(&[drive("A", WipeResult::Pass), drive("B", WipeResult::Pass)]);
        assert_eq!(all.result, ComputerResult::Pass);
        assert_eq!(all.drives[1].serial.as_deref(), Some("B"));
        assert_eq!(all.drives[1].certificate_id, "cert-B");
        assert_eq!(
            serde_json::to_value(ComputerResult::NoStorageFound).unwrap(),
            "NO_STORAGE_FOUND"
        );
    }

    #[test]
    fn a_record_round_trips_and_a_result_that_does_not_follow_is_refused() {
        let c = sample_computer(&[drive("A", WipeResult::Pass)]);
        assert_eq!(c.inventory.system.serial.as_deref(), Some("5CG1234XYZ"));
        let bytes = c.signed_bytes().unwrap();
        let back = ComputerRecord::from_value(serde_json::from_slice(&bytes).unwrap()).unwrap();
        assert_eq!(back, c);
        assert_eq!(back.signed_bytes().unwrap(), bytes);
        let mut v = serde_json::to_value(&c).unwrap();
        v["result"] = "PASS".into();
        v["drives"][0]["result"] = "FAIL".into();
        let e = ComputerRecord::from_value(v).unwrap_err().to_string();
        assert!(e.contains("does not follow"), "{e}");
        let mut v = serde_json::to_value(&c).unwrap();
        v["kind"] = "drive".into();
        assert!(ComputerRecord::from_value(v).is_err());
        let mut v = serde_json::to_value(&c).unwrap();
        v["extra"] = 1.into();
        assert!(ComputerRecord::from_value(v).is_err());
        // A drive record is not a computer record, nor the other way round.
        let drive_value = serde_json::to_value(sample_record()).unwrap();
        assert!(ComputerRecord::from_value(drive_value).is_err());
        assert!(Record::from_value(serde_json::to_value(&c).unwrap()).is_err());
        assert!(
            c.file_stem().contains("-computer-5CG1234XYZ-"),
            "{}",
            c.file_stem()
        );
    }

    #[test]
    fn a_computer_certificate_signs_draws_and_verifies_like_a_drive_certificate() {
        use crate::certificate::check::verify_bytes;
        use crate::certificate::issue::sign_and_render_record;
        use crate::certificate::keys::{StationKey, TrustStore};
        let key = StationKey::generate().unwrap();
        let mut trust = TrustStore::default();
        trust.add(key.public_key(), "test".into());
        for drives in [
            vec![drive("S1", WipeResult::Pass), drive("S2", WipeResult::Fail)],
            vec![],
            vec![drive("S1", WipeResult::Pass), drive("S2", WipeResult::Pass)],
        ] {
            let c = sample_computer(&drives);
            let rendered = sign_and_render_record(c.clone(), &key, None).unwrap();
            if let Some(dir) = std::env::var_os("WIPEPROOF_RENDER_DIR") {
                let name = format!("computer-{}.pdf", c.result.as_str());
                std::fs::write(std::path::Path::new(&dir).join(name), &rendered.pdf).unwrap();
            }
            for bytes in [&rendered.pdf, &rendered.json] {
                let r = verify_bytes(bytes, "t", &trust, None).unwrap();
                assert!(r.valid, "{:#?}", r.checks);
                assert_eq!(r.computer.as_ref().map(|c| c.result), Some(c.result));
                assert!(r.record.is_none());
            }
            let r = verify_bytes(&rendered.pdf, "t", &trust, None).unwrap();
            let names: Vec<&str> = r.checks.iter().map(|c| c.name.as_str()).collect();
            assert_eq!(
                names,
                [
                    "format",
                    "schema",
                    "signature",
                    "trusted_key",
                    "embedded_files",
                    "visible_text",
                    "page_content",
                    "pdf_structure",
                    "pdf_signature",
                    "file"
                ]
            );
            // The visible words are the record's: the serial of the computer and every drive.
            let text = r.checks.iter().find(|c| c.name == "visible_text").unwrap();
            assert!(text.ok, "{text:?}");
            // An edited result never verifies.
            let mut v: serde_json::Value = serde_json::from_slice(&rendered.json).unwrap();
            v["record"]["inventory"]["system"]["serial"] = "OTHER".into();
            let r = verify_bytes(&serde_json::to_vec(&v).unwrap(), "t", &trust, None).unwrap();
            assert!(!r.valid);
        }
    }
}
