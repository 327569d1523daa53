//! What the central register's web pages look up beyond [`super::Register`]: assets by part of
//! a tag, serial or customer, a stored certificate's document, the collections with their
//! progress, a page of one collection, when each station was last heard from, and a drive's
//! latest certificate. Read only.
//!
//! Lists that can grow come a [`Page`] at a time with their total ([`Paged`]), in a stable
//! order, and their counts are computed by the database: a register of a million assets
//! never loads more than a page of rows for a request.

use serde::Serialize;

use super::{AssetSummary, RegisterError, ReportLine};

/// Most rows a page may ask for (the API's `limit`).
pub const MAX_PAGE: u64 = 1000;

/// Which rows of a list: at most `limit`, after skipping `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: u64,
    pub offset: u64,
}

impl Page {
    /// The `number`th page (from 1) of `size` rows.
    pub fn numbered(number: u64, size: u64) -> Page {
        Page {
            limit: size,
            offset: number.saturating_sub(1).saturating_mul(size),
        }
    }

    /// `limit` and `offset` as the databases bind them.
    pub fn sql(&self) -> (i64, i64) {
        let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        (clamp(self.limit), clamp(self.offset))
    }
}

/// One page of a list, and how many rows the whole list has.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Paged<T> {
    pub total: u64,
    pub items: Vec<T>,
}

impl<T> Paged<T> {
    /// The page `page` of `all` (for the short lists kept in memory: stations, accounts).
    pub fn slice(all: Vec<T>, page: Page) -> Paged<T> {
        let total = all.len() as u64;
        let skip = usize::try_from(page.offset).unwrap_or(usize::MAX);
        let take = usize::try_from(page.limit).unwrap_or(usize::MAX);
        Paged {
            total,
            items: all.into_iter().skip(skip).take(take).collect(),
        }
    }
}

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
    /// Booked, not received yet.
    pub expected: u64,
    /// Received, not wiped yet.
    pub received: u64,
    pub retired: u64,
    pub failed: u64,
    pub destroyed: u64,
}

/// A collection's drives by the result of their latest certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DriveCounts {
    pub drives: u64,
    pub pass: u64,
    pub fail: u64,
    pub incomplete: u64,
    pub not_wiped: u64,
}

/// A collection's page: its counts over all its assets and drives, and the report lines
/// (one per asset and drive, by tag) of one page of its assets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionPage {
    pub progress: CollectionProgress,
    pub drives: DriveCounts,
    pub lines: Vec<ReportLine>,
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
    /// `query` (any case): one page of them by tag, and how many match.
    fn search_assets(&self, query: &str, page: Page) -> Result<Paged<AssetSummary>, RegisterError>;
    fn stored_certificate(&self, id: &str) -> Result<Option<StoredCertificate>, RegisterError>;
    /// One page of the collections by code, each with its progress.
    fn collections(&self, page: Page) -> Result<Paged<CollectionProgress>, RegisterError>;
    /// The collection `code`: its counts and one page of its assets (by tag) with their
    /// drives.
    fn collection_page(&self, code: &str, page: Page) -> Result<CollectionPage, RegisterError>;
    fn station_activity(&self) -> Result<Vec<StationActivity>, RegisterError>;
    /// The latest certificate issued for the drive with this serial and model (`None`: a drive
    /// that reports no model), if any.
    fn last_certificate(
        &self,
        serial: &str,
        model: Option<&str>,
    ) -> Result<Option<LastCertificate>, RegisterError>;
    /// Whether the database answers a trivial read (the server's health check).
    fn ping(&self) -> Result<(), RegisterError>;
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
