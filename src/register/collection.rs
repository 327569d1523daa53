//! A collection's chain of custody, as a collection service runs it: booked (the manifest
//! imported, its assets `expected`), collected (the pick-up: when, driver, vehicle, seals, the
//! count the customer signed for), received (goods-in scans each asset off the van), reconciled
//! (what was expected against what arrived: missing and extra), closed (the report issued).
//!
//! Each step is a custody event in the hash-chained log and a station event for the central
//! register. A missing asset stays unaccounted for until a person resolves it with a reason.
//! The [`Custody`] trait is the register's side of it; the store implements it once for both
//! databases.

use serde::{Deserialize, Serialize};

use super::{Actor, RegisterError};

/// Where a collection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CollectionState {
    /// The manifest is imported; nothing has been picked up yet.
    Booked,
    /// The driver picked the equipment up.
    Collected,
    /// Goods-in has scanned at least one asset of it.
    Received,
    /// Expected and received were compared and the result recorded.
    Reconciled,
    /// The customer's report was issued.
    Closed,
}

impl CollectionState {
    pub fn as_str(&self) -> &'static str {
        match self {
            CollectionState::Booked => "booked",
            CollectionState::Collected => "collected",
            CollectionState::Received => "received",
            CollectionState::Reconciled => "reconciled",
            CollectionState::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<CollectionState> {
        [
            CollectionState::Booked,
            CollectionState::Collected,
            CollectionState::Received,
            CollectionState::Reconciled,
            CollectionState::Closed,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// The pick-up at the customer's site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pickup {
    pub driver: String,
    pub vehicle: String,
    /// Numbers of the seals on the cages or the van.
    pub seals: Vec<String>,
    /// The number of items the customer signed for, if one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

/// What one scan at goods-in did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Scan {
    /// An asset of this collection, received now.
    Received { asset_tag: String },
    /// An asset of this collection that was received before.
    AlreadyReceived { asset_tag: String, at: String },
    /// An asset of another collection: not recorded here.
    OtherCollection {
        asset_tag: String,
        collection: String,
    },
    /// On no manifest: recorded as an extra of this collection.
    Extra,
    /// Scanned before, and recorded then, as an extra of this collection.
    ExtraAgain,
}

impl Scan {
    /// The answer a person at goods-in reads, for the scan `scanned`.
    pub fn message(&self, scanned: &str, collection: &str) -> String {
        match self {
            Scan::Received { asset_tag } => format!("received {asset_tag}"),
            Scan::AlreadyReceived { asset_tag, at } => {
                format!("already received {asset_tag} (at {at})")
            }
            Scan::OtherCollection {
                asset_tag,
                collection: other,
            } => format!(
                "{asset_tag} belongs to collection {other}, not {collection}: set it aside, nothing recorded"
            ),
            Scan::Extra => {
                format!("{scanned} is not on this manifest: recorded as an extra of {collection}")
            }
            Scan::ExtraAgain => format!("{scanned} was recorded as an extra before"),
        }
    }
}

/// Why a missing asset is no longer unaccounted for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    /// It turned up later (its receipt is recorded with the resolution).
    Found,
    /// The customer withdrew it from the collection.
    Withdrawn,
    /// It is lost: an incident (the note names it).
    Lost,
}

impl Reason {
    pub fn as_str(&self) -> &'static str {
        match self {
            Reason::Found => "found",
            Reason::Withdrawn => "withdrawn",
            Reason::Lost => "lost",
        }
    }

    pub fn parse(s: &str) -> Option<Reason> {
        [Reason::Found, Reason::Withdrawn, Reason::Lost]
            .into_iter()
            .find(|r| r.as_str() == s)
    }

    /// In words, for pages and reports.
    pub fn describe(&self) -> &'static str {
        match self {
            Reason::Found => "found later",
            Reason::Withdrawn => "withdrawn by the customer",
            Reason::Lost => "lost (incident)",
        }
    }
}

/// How a missing asset was resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolution {
    pub reason: Reason,
    pub note: Option<String>,
    pub by: String,
    pub at: String,
}

/// An expected asset that has not been received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Missing {
    pub asset_tag: String,
    pub serial: String,
    #[serde(rename = "type")]
    pub asset_type: Option<String>,
    /// `None`: still unaccounted for.
    pub resolution: Option<Resolution>,
}

/// Something goods-in scanned that no manifest lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Extra {
    pub scanned: String,
    pub at: String,
    pub by: String,
}

/// Expected against received: what `intake reconcile` prints and records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reconciliation {
    pub collection: String,
    pub expected: u64,
    pub received: u64,
    pub missing: Vec<Missing>,
    pub extra: Vec<Extra>,
    /// Missing assets nobody has resolved yet.
    pub unresolved: u64,
}

/// One step of a collection's life.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub step: CollectionState,
    pub at: String,
    pub actor: String,
    pub station: String,
    pub detail: serde_json::Value,
}

/// `collections list` (one line) and `collections show` (with steps, missing and extras).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CollectionView {
    pub collection: String,
    pub customer: String,
    pub state: CollectionState,
    /// Assets on its manifest.
    pub assets: u64,
    /// Of those, received (scanned at goods-in, or wiped by a station).
    pub received: u64,
    /// Not received and not resolved: unaccounted for.
    pub unaccounted: u64,
    pub extras: u64,
    pub retired: u64,
    pub failed: u64,
    pub destroyed: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Step>,
}

/// A collection's custody: everything a report shows about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustodyRecord {
    #[serde(flatten)]
    pub view: CollectionView,
    pub missing: Vec<Missing>,
    pub extra: Vec<Extra>,
    /// Its assets destroyed physically, in the order recorded.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub destroyed: Vec<Destruction>,
}

/// The physical destruction of an asset, as the custody log recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Destruction {
    pub asset_tag: String,
    pub method: String,
    pub witness: String,
    /// When it was destroyed: the station's time for a destruction a station recorded, the
    /// register's otherwise (RFC 3339).
    pub at: String,
    /// Who recorded it.
    pub by: String,
}

/// The register's side of a collection's custody.
pub trait Custody {
    /// Every collection, by code, with its counts.
    fn collection_list(&self) -> Result<Vec<CollectionView>, RegisterError>;
    /// One collection with its steps, missing assets and extras.
    fn custody(&self, collection: &str) -> Result<CustodyRecord, RegisterError>;
    /// One collection with its counts and steps: [`Custody::custody`] without reading each
    /// asset not received (a collection just booked may have many).
    fn collection_view(&self, collection: &str) -> Result<CollectionView, RegisterError>;
    /// Records the pick-up.
    fn collect(
        &mut self,
        collection: &str,
        pickup: &Pickup,
        actor: &Actor,
    ) -> Result<(), RegisterError>;
    /// Records one scan at goods-in (`scanned`: a tag or a serial, trimmed, not empty).
    fn receive_scan(
        &mut self,
        collection: &str,
        scanned: &str,
        actor: &Actor,
    ) -> Result<Scan, RegisterError>;
    /// Compares expected with received and records the result.
    fn reconcile(
        &mut self,
        collection: &str,
        actor: &Actor,
    ) -> Result<Reconciliation, RegisterError>;
    /// Resolves a missing asset with a reason (`Lost` needs a note naming the incident).
    fn resolve_missing(
        &mut self,
        collection: &str,
        asset_tag: &str,
        reason: Reason,
        note: Option<&str>,
        actor: &Actor,
    ) -> Result<(), RegisterError>;
    /// Records that the customer's report was issued (once; later reports change nothing).
    fn close_collection(&mut self, collection: &str, actor: &Actor) -> Result<(), RegisterError>;
}
