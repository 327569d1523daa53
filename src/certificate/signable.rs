//! What every signed record of the station has in common, whatever it certifies: a drive's
//! sanitization ([`super::record::Record`]) or a computer's ([`super::computer::ComputerRecord`]).
//! Signing, the PDF with its embedded files and signature, the station's hash chain and every
//! check of `wipeproof verify` are written once over this trait.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

use super::canonical;
use super::issue::LayoutVersion;
use super::page::Page;
use super::record::{ChainLink, PerformedBy, RecordError};

/// A record the station signs.
pub trait Signable: Serialize + DeserializeOwned + Clone + PartialEq + std::fmt::Debug {
    /// What it is called in messages: `certificate`, `computer certificate`.
    const WHAT: &'static str;
    /// Its schema identifier.
    const SCHEMA: &'static str;

    /// Parses and schema-checks a record from a JSON value.
    fn from_value(value: serde_json::Value) -> Result<Self, RecordError>;
    fn id(&self) -> &str;
    fn key_id(&self) -> &str;
    fn issued_at(&self) -> &str;
    /// The wipeproof version that issued it.
    fn tool_version(&self) -> &str;
    /// The organisation that issued it (the PDF's author).
    fn author(&self) -> &str;
    /// The station and operator that issued it.
    fn performed_by(&self) -> &PerformedBy;
    /// The record before it in its station's chain.
    fn previous(&self) -> Option<&ChainLink>;
    /// The PDF's title.
    fn pdf_title(&self) -> String;
    /// Its pages drawn with `version`.
    fn pages(&self, version: LayoutVersion, record_sha256: &str, signature_b64: &str) -> Vec<Page>;
    /// The characters of the record that the pages of `version` cannot show.
    /// The layout this record is drawn with, given the one its PDF's structure shows
    /// (`LayoutVersion::V2` for a record not yet drawn): records that name their layout
    /// override it.
    fn layout_version(&self, drawn: LayoutVersion) -> LayoutVersion {
        drawn
    }
    fn unshowable(&self, version: LayoutVersion) -> Vec<(String, char)>;
    /// The file name (without extension) it is written under.
    fn file_stem(&self) -> String;
    /// Completes it for signing by the key `key_id` after `previous` in the station's chain.
    fn seal(&mut self, key_id: String, previous: Option<ChainLink>);

    /// The canonical bytes (what the signature covers).
    fn signed_bytes(&self) -> Result<Vec<u8>, RecordError> {
        let value = serde_json::to_value(self).map_err(|e| RecordError::Json(e.to_string()))?;
        Ok(canonical::to_bytes(&value)?)
    }

    /// Hex SHA-256 of the canonical bytes.
    fn signed_sha256(&self) -> Result<String, RecordError> {
        Ok(hex::encode(Sha256::digest(self.signed_bytes()?)))
    }
}

/// `20261128T172052Z-NAME-0b7a8d1e`: sortable by time, findable by name (a serial), unique by id.
pub fn file_stem(issued_at: &str, name: Option<&str>, id: &str) -> String {
    let when = crate::timestamp::parse(issued_at)
        .map(crate::timestamp::compact)
        .unwrap_or_default();
    let name = serial_part(name);
    let id: String = id.chars().take(8).collect();
    format!("{when}-{name}-{id}")
}

/// A serial as it appears in a certificate's file name.
pub fn serial_part(serial: Option<&str>) -> String {
    serial
        .unwrap_or("noserial")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect()
}
