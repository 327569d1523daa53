//! A manifest's rows once read: the assets a customer books in, and the problems that reject a
//! manifest. The register stores these; reading them from CSV is intake's work
//! (`crate::intake::manifest`).

use std::collections::BTreeMap;

use serde::Serialize;

/// One asset from a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestRow {
    /// Line in the file (1-based; the header is line 1).
    pub line: u64,
    pub asset_tag: String,
    pub serial: String,
    pub asset_type: Option<String>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub customer_ref: Option<String>,
    /// Serials of the drives inside the asset, if the manifest lists them.
    pub media_serials: Vec<String>,
    /// Every other column, by header name.
    pub extra: BTreeMap<String, String>,
}

/// One problem with a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestProblem {
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

impl std::fmt::Display for ManifestProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(c) => write!(f, "line {}, column {c}: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}
