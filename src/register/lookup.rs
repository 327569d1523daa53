//! What the central register's web pages look up beyond [`super::Register`]: assets by part of
//! a tag, serial or customer, a stored certificate's document, the collections with their
//! progress, when each station was last heard from, and a drive's latest certificate. Read
//! only.

use serde::Serialize;

use super::{AssetSummary, RegisterError};

/// A certificate as stored: its signed JSON document, as the station wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCertificate {
    pub id: String,
    pub asset_tag: Option<String>,
    pub key_id: String,
    pub document: String,
}

/// A collection and how far its assets have come.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionProgress {
    pub collection: String,
    pub customer: String,
    pub assets: u64,
    pub received: u64,
    pub retired: u64,
    pub failed: u64,
    pub destroyed: u64,
}

/// What a station has sent to this register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StationActivity {
    pub key_id: String,
    /// When its latest certificate or custody event arrived.
    pub last_seen: Option<String>,
    pub certificates: u64,
}

/// The latest certificate the register holds for a drive (a station shows it until the drive
/// is wiped again, across restarts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastCertificate {
    pub id: String,
    /// PASS, FAIL or INCOMPLETE.
    pub result: String,
    pub method: String,
    pub issued_at: String,
}

/// Read-only lookups of the web pages and the station's screen.
pub trait Lookup {
    /// Assets whose tag, serial, a drive's serial, customer or customer reference contains
    /// `query` (any case), at most `limit`, by tag.
    fn search_assets(&self, query: &str, limit: usize) -> Result<Vec<AssetSummary>, RegisterError>;
    fn stored_certificate(&self, id: &str) -> Result<Option<StoredCertificate>, RegisterError>;
    fn collections(&self) -> Result<Vec<CollectionProgress>, RegisterError>;
    fn station_activity(&self) -> Result<Vec<StationActivity>, RegisterError>;
    /// The latest certificate issued for the drive with this serial and model (`None`: a drive
    /// that reports no model), if any.
    fn last_certificate(
        &self,
        serial: &str,
        model: Option<&str>,
    ) -> Result<Option<LastCertificate>, RegisterError>;
}

/// `query` as a LIKE pattern that matches it anywhere, literally (`\` escapes `%` and `_`).
pub fn like_pattern(query: &str) -> String {
    let mut p = String::with_capacity(query.len() + 2);
    p.push('%');
    // ASCII letters only: the databases' LOWER() folds nothing else (SQLite never, PostgreSQL
    // not in the byte order the register's columns use), so an exact tag like "ÜNI-1" must
    // stay as typed to match itself.
    for c in query.to_ascii_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_in_a_query_are_literal() {
        assert_eq!(like_pattern("A_1%"), "%a\\_1\\%%");
        assert_eq!(like_pattern("x\\y"), "%x\\\\y%");
        assert_eq!(like_pattern("ÜNI-日本"), "%Üni-日本%");
    }
}
