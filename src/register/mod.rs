//! The asset register: customers, collections, assets, the drives inside them, certificates,
//! the custody log, the outbox of what a station still has to send, and the accounts of the
//! people who read a central register.
//!
//! This layer only keeps and checks records: it uses the certificate layer below it and no
//! layer above (no HTTP, TLS, HTML, CSV parsing or PDF drawing). What it stores is its own
//! vocabulary: a manifest's rows once read ([`manifest_row`]), a station's custody event
//! ([`station_event`]), a delivery to a customer's system and its state ([`delivery`]), an
//! account and its role ([`accounts`]). Reading CSV is `crate::intake`'s work, sending events
//! `crate::sync`'s, talking to Snipe-IT `crate::connector`'s, and serving pages
//! `crate::server`'s.
//!
//! * [`Register`]: the narrow interface every store implements, so the rest of the tool never
//!   sees SQL; its logic is written once in [`store`] over the small SQL layer [`db`].
//! * [`sqlite`]: the embedded store, one file in the state directory (every station).
//! * [`postgres`]: a central register that many stations send to at once.
//! * [`events`]: the hash-chained custody log.
//! * [`collection`]: a collection's chain of custody (booked, collected, received by scan,
//!   reconciled, closed).
//! * [`audit`]: recomputing asset states and checking the stations' certificate chains.
//! * [`lookup`]: what the central register's pages look up (search, a stored certificate).

pub mod accounts;
pub mod audit;
pub mod collection;
pub mod db;
pub mod delivery;
pub mod events;
pub mod lookup;
pub mod manifest_row;
pub mod postgres;
pub mod sqlite;
pub mod station_event;
pub mod store;
pub mod trust;

use serde::{Deserialize, Serialize};

use crate::certificate::computer::ComputerRecord;
use crate::certificate::issue::SignedCertificate;
use crate::certificate::keys::TrustStore;
pub use audit::Audit;
pub use lookup::{Page, Paged};
pub use manifest_row::ManifestRow;
use station_event::{SignedEvent, StationEvent};

/// The life of an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetState {
    /// Booked from the customer's manifest; goods-in has not received it (yet).
    Expected,
    /// Received at goods-in (or by the station that wiped it), not (yet) wiped.
    Received,
    /// Every known drive has a PASS certificate.
    Retired,
    /// A wipe failed; it can be wiped again.
    Failed,
    /// Physically destroyed (recorded with method and witness).
    Destroyed,
}

impl AssetState {
    pub fn as_str(&self) -> &'static str {
        match self {
            AssetState::Expected => "expected",
            AssetState::Received => "received",
            AssetState::Retired => "retired",
            AssetState::Failed => "failed",
            AssetState::Destroyed => "destroyed",
        }
    }

    pub fn parse(s: &str) -> Option<AssetState> {
        match s {
            "expected" => Some(AssetState::Expected),
            "received" => Some(AssetState::Received),
            "retired" => Some(AssetState::Retired),
            "failed" => Some(AssetState::Failed),
            "destroyed" => Some(AssetState::Destroyed),
            _ => None,
        }
    }
}

/// Who does something, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub name: String,
    pub station: String,
}

/// How a certificate was linked to an asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchedBy {
    /// The asset tag given with the wipe (or in the certificate).
    Tag,
    /// The drive's serial equals the asset's or one of its drives' serial.
    Serial,
    /// Nothing matched: the certificate waits in the review list.
    Unmatched,
    /// A person linked it (`assets link`).
    Person,
}

impl MatchedBy {
    pub fn as_str(&self) -> &'static str {
        match self {
            MatchedBy::Tag => "tag",
            MatchedBy::Serial => "serial",
            MatchedBy::Unmatched => "unmatched",
            MatchedBy::Person => "person",
        }
    }
}

/// The result of recording a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Linked {
    pub certificate_id: String,
    pub asset_tag: Option<String>,
    pub matched_by: MatchedBy,
    /// The asset's state afterwards.
    pub asset_state: Option<AssetState>,
    /// False when the certificate was already stored (nothing changed).
    pub new: bool,
}

/// What a wipe needs to know about the asset a drive belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssetRef {
    pub asset_tag: String,
    pub customer: String,
    pub collection: String,
    pub state: AssetState,
    pub matched_by: MatchedBy,
}

impl AssetRef {
    /// Whether a drive of this asset (at `drive`) may be wiped: not once the asset is retired
    /// (every drive already has a PASS certificate) or recorded as destroyed, unless `rewipe`
    /// says the operator means it.
    pub fn may_wipe(&self, drive: &str, rewipe: bool) -> Result<(), RegisterError> {
        match self.state {
            AssetState::Retired | AssetState::Destroyed if !rewipe => {
                Err(RegisterError::AssetFinished {
                    drive: drive.into(),
                    asset_tag: self.asset_tag.clone(),
                    state: self.state,
                })
            }
            _ => Ok(()),
        }
    }
}

/// One line of `assets list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssetSummary {
    pub asset_tag: String,
    pub serial: String,
    #[serde(rename = "type")]
    pub asset_type: Option<String>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub customer_ref: Option<String>,
    pub customer: String,
    pub collection: String,
    pub state: AssetState,
    pub media_count: u64,
    pub certificate_count: u64,
    pub updated_at: String,
}

/// A drive of an asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MediaView {
    pub serial: String,
    pub model: Option<String>,
    pub size_bytes: Option<u64>,
    /// Result of the latest certificate for this drive.
    pub result: Option<String>,
    pub certificate_id: Option<String>,
}

/// A certificate as the register lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertificateView {
    pub id: String,
    pub serial: Option<String>,
    pub method: String,
    pub result: String,
    pub issued_at: String,
    pub station_id: String,
    pub matched_by: MatchedBy,
    /// The station that sent it, as enrolled on this (central) register.
    pub enrolled_as: Option<String>,
    /// When that station was revoked, if it was: the certificate was signed before.
    pub station_revoked_at: Option<String>,
    /// What a reader should know about its standing, in words.
    pub note: Option<String>,
}

/// A computer certificate as the register lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComputerView {
    pub id: String,
    /// The computer's system serial (else its chassis serial).
    pub serial: Option<String>,
    /// PASS, FAIL or NO_STORAGE_FOUND.
    pub result: String,
    /// How many drives it lists.
    pub drives: u64,
    pub issued_at: String,
    pub station_id: String,
    pub matched_by: MatchedBy,
    /// The station that sent it, as enrolled on this (central) register.
    pub enrolled_as: Option<String>,
}

/// An event as the register lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EventView {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub station: String,
    pub kind: String,
    pub detail: serde_json::Value,
}

/// `assets show`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssetView {
    #[serde(flatten)]
    pub summary: AssetSummary,
    pub extra: serde_json::Value,
    pub media: Vec<MediaView>,
    pub certificates: Vec<CertificateView>,
    /// The computer certificates of the asset, when it is a computer the station ran on.
    pub computers: Vec<ComputerView>,
    pub events: Vec<EventView>,
}

/// A certificate that matched no asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmatchedView {
    pub certificate_id: String,
    pub serial: Option<String>,
    pub model: Option<String>,
    pub result: String,
    pub issued_at: String,
    pub station_id: String,
}

/// Filter for `assets list`.
#[derive(Debug, Clone, Default)]
pub struct AssetFilter {
    pub collection: Option<String>,
    pub state: Option<AssetState>,
}

/// A certificate waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    pub certificate_id: String,
    /// A computer certificate (`wipeproof/computer/v1`), not a drive's.
    pub computer: bool,
    /// The signed certificate JSON.
    pub document: String,
    pub attempts: u64,
    pub last_error: Option<String>,
}

/// An enrolled station (central register).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StationView {
    pub key_id: String,
    pub name: String,
    pub enrolled_at: String,
    /// Set once revoked (the register's clock): from then on nothing new of this station is
    /// accepted but its own chain up to [`StationView::accept_through`].
    pub revoked_at: Option<String>,
    /// The certificate named at revocation: it and the certificates before it in the station's
    /// chain may still arrive (an honest offline backlog); nothing after it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accept_through: Option<String>,
    /// The names the key signed under before `name` (the station was renamed), oldest first:
    /// certificates issued under them are still this station's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub earlier_names: Vec<String>,
    #[serde(skip)]
    pub public_key_pem: String,
}

/// A station certificate the register's CA issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StationCertificateView {
    /// The certificate's serial number, hex.
    pub serial: String,
    /// The Ed25519 key id of the station it was issued to.
    pub key_id: String,
    /// The certificate, PEM.
    pub certificate: String,
    pub issued_at: String,
    /// When it was revoked (with its station, or its enrolment removed).
    pub revoked_at: Option<String>,
}

impl StationView {
    /// Whether the key signed as `name`: its name here or an earlier one.
    pub fn answers_to(&self, name: &str) -> bool {
        self.name == name || self.earlier_names.iter().any(|n| n == name)
    }
}

/// A custody event waiting to be sent to the central register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventOutboxItem {
    pub event: StationEvent,
    pub attempts: u64,
    pub last_error: Option<String>,
}

/// What the central register did with a station's event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventReceipt {
    /// Stored and applied to its asset.
    Applied,
    /// Stored; it waits for its asset (or certificate) to be imported here.
    Waiting,
    /// The same event was stored before.
    Already,
}

/// A read token of the HTTP API (only its hash is kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenView {
    pub name: String,
    pub created_at: String,
}

/// One asset and its drives in a collection report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportLine {
    pub asset_tag: String,
    pub asset_serial: String,
    #[serde(rename = "type")]
    pub asset_type: Option<String>,
    pub state: AssetState,
    pub drive_serial: Option<String>,
    /// Method, level and result of the drive's latest certificate; none while it is not wiped.
    pub method: Option<String>,
    pub level: Option<crate::erase::Level>,
    pub result: Option<crate::verify::WipeResult>,
    pub certificate_id: Option<String>,
    /// The asset's make and model as the manifest gives them (absent from reports of the
    /// first layout, and when the manifest gives none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub make: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The drive's model as the drive reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drive_model: Option<String>,
    /// When the drive's latest certificate was issued (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wiped_at: Option<String>,
}

/// A computer of a collection's report: an asset's latest computer certificate, the computer
/// as its firmware names it and the drives the certificate lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportComputer {
    pub asset_tag: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// The system serial (else the chassis serial).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chassis_asset_tag: Option<String>,
    pub certificate_id: String,
    pub result: crate::certificate::computer::ComputerResult,
    /// When the computer certificate was issued (RFC 3339).
    pub issued_at: String,
    pub drives: Vec<ReportComputerDrive>,
}

/// A drive a computer certificate lists, with its own certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportComputerDrive {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    pub certificate_id: String,
    pub result: crate::verify::WipeResult,
}

impl ReportComputer {
    /// The line of the asset `asset_tag` whose latest computer certificate is `r`.
    pub fn of(asset_tag: &str, r: &ComputerRecord) -> ReportComputer {
        let system = &r.inventory.system;
        ReportComputer {
            asset_tag: asset_tag.into(),
            manufacturer: system.manufacturer.clone(),
            product: system.product.clone(),
            serial: r.serial().map(Into::into),
            chassis_asset_tag: r.inventory.chassis.asset_tag.clone(),
            certificate_id: r.id.clone(),
            result: r.result,
            issued_at: r.issued_at.clone(),
            drives: r
                .drives
                .iter()
                .map(|d| ReportComputerDrive {
                    serial: d.serial.clone(),
                    model: d.model.clone(),
                    certificate_id: d.certificate_id.clone(),
                    result: d.result,
                })
                .collect(),
        }
    }
}

/// Errors of the register. Each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("register {path}: {message}")]
    Database { path: String, message: String },
    #[error(
        "register {path}: the transaction lost a race with another and was given up after several tries ({message}); try again"
    )]
    Busy { path: String, message: String },
    #[error("the manifest was rejected, nothing was imported:\n{}", problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Manifest {
        problems: Vec<manifest_row::ManifestProblem>,
    },
    #[error(
        "no asset with tag {0} in the register; check the tag, or import its manifest with `wipeproof intake import`"
    )]
    UnknownAsset(String),
    #[error("no collection {0} in the register; `wipeproof collections list` shows what there is")]
    UnknownCollection(String),
    #[error("collection {collection}: {message}")]
    Custody { collection: String, message: String },
    #[error("collection {collection} belongs to customer {existing}, not {requested}")]
    CollectionCustomer {
        collection: String,
        existing: String,
        requested: String,
    },
    #[error("asset {0} is already destroyed")]
    AlreadyDestroyed(String),
    #[error(
        "{drive} belongs to asset {asset_tag}, which the register records as {}; {} \
         Check the drive and the tag; to wipe it all the same, add --rewipe",
        state.as_str(),
        match state {
            AssetState::Destroyed => "a destroyed asset's drives should no longer exist.",
            _ => "every drive of it already has a PASS certificate.",
        }
    )]
    AssetFinished {
        drive: String,
        asset_tag: String,
        state: AssetState,
    },
    #[error("the certificate is not valid JSON of schema v1: {0}")]
    BadCertificate(String),
    #[error(
        "certificate {id}: the register already holds a different certificate under this id \
         (record hash {held_sha256}, key {held_key_id}); this one has record hash {offered_sha256}, \
         key {offered_key_id}. One of them is not genuine: compare both with `wipeproof verify`"
    )]
    CertificateConflict {
        id: String,
        held_sha256: String,
        held_key_id: String,
        offered_sha256: String,
        offered_key_id: String,
    },
    #[error(
        "custody event {id}: the register already holds a different event under this id; one of them is not genuine"
    )]
    EventConflict { id: String },
    #[error("the custody event is not valid: {0}")]
    BadEvent(String),
    #[error(
        "no certificate {0} in the register; `wipeproof assets unmatched` lists the ones waiting"
    )]
    UnknownCertificate(String),
    #[error(
        "certificate {certificate} is already linked to asset {asset}; a certificate belongs to one asset"
    )]
    LinkedElsewhere { certificate: String, asset: String },
    #[error(
        "the key {key_id} is already enrolled as station {name}; to rename it, `wipeproof stations remove {key_id}` first"
    )]
    StationEnrolled { key_id: String, name: String },
    #[error(
        "station name {0:?}: use 1 to 64 characters with no control, bidirectional or invisible characters (it is shown in lists, pages and certificates' standing)"
    )]
    BadStationName(String),
    #[error("no station {0} is enrolled here; `wipeproof stations list` shows them")]
    UnknownStation(String),
    #[error(
        "station name {name} is held here by another key ({key_id}); the key {renamed} cannot \
         take it (set a name of its own in the station's `station.id`)"
    )]
    StationNameHeld {
        name: String,
        key_id: String,
        renamed: String,
    },
    #[error(
        "the key {key_id} is enrolled here as {enrolled}; a rename from {from} to {to} names \
         neither (enrol the key under the station's present name, or rename it back)"
    )]
    RenameMismatch {
        key_id: String,
        enrolled: String,
        from: String,
        to: String,
    },
    #[error("more than one key is enrolled as {name} ({}); name the station by its key id", key_ids.join(", "))]
    AmbiguousStation { name: String, key_ids: Vec<String> },
    #[error(
        "station {name} ({key_id}) has {count} certificate(s) here; it cannot be removed, \
         `wipeproof stations revoke {key_id}` stops it while its certificates stay"
    )]
    StationHasCertificates {
        name: String,
        key_id: String,
        count: u64,
    },
    #[error("station {name} ({key_id}) was already revoked at {at}")]
    AlreadyRevoked {
        name: String,
        key_id: String,
        at: String,
    },
    #[error(
        "{what} (serial {serial}) belongs to asset {owner} by the manifest or an earlier \
         certificate, not to {asset}; check the drive and the tag, or give {relink} to bind it \
         to {asset} (recorded in the custody log)"
    )]
    BoundElsewhere {
        what: String,
        serial: String,
        asset: String,
        owner: String,
        relink: &'static str,
    },
    /// A revoked station sent something beyond what it may still send (403).
    #[error("{0}")]
    Revoked(String),
    /// A certificate of a revoked station's accepted backlog that can only be taken after a
    /// later one of its chain (425: send again).
    #[error("{0}")]
    NotYet(String),
    #[error("a token named {0} exists already; remove it first or choose another name")]
    TokenExists(String),
    #[error("no token named {0}; `wipeproof tokens list` shows them")]
    UnknownToken(String),
}

/// Where a register is kept: `--database sqlite:PATH` or `postgres://...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file.
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL database, by its URL (`postgres://` or `postgresql://`).
    Postgres(String),
}

impl Location {
    /// Reads a `--database` URL: `sqlite:PATH` (the path as given), `postgres://...` or
    /// `postgresql://...`. Says what is expected otherwise.
    pub fn parse(url: &str) -> Result<Location, String> {
        if let Some(path) = url.strip_prefix("sqlite:") {
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() {
                return Err(format!(
                    "{url}: name the file, e.g. sqlite:/var/lib/wipeproof/register.sqlite"
                ));
            }
            return Ok(Location::Sqlite(path.into()));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Location::Postgres(url.to_string()));
        }
        Err(format!(
            "{}: expected sqlite:PATH or postgres://USER@HOST[:PORT]/DATABASE",
            postgres::redact(url)
        ))
    }

    /// Opens the register (creating and migrating its schema).
    pub fn open(&self) -> Result<Box<dyn Register>, RegisterError> {
        Ok(match self {
            Location::Sqlite(path) => Box::new(sqlite::SqliteRegister::open(path)?),
            Location::Postgres(url) => Box::new(postgres::PostgresRegister::connect(url)?),
        })
    }

    /// The register as messages name it (never with a password).
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(path) => path.display().to_string(),
            Location::Postgres(url) => postgres::redact(url),
        }
    }
}

/// The register's operations. Implementations keep every operation atomic: it happens
/// completely or not at all. Accounts and the web pages' lookups are traits of their own, and
/// every register has them, so a server's open register serves pages as well as stations.
pub trait Register: accounts::Accounts + lookup::Lookup + collection::Custody + Send {
    /// Books a collection in from a parsed manifest: all rows or none.
    fn import_manifest(
        &mut self,
        customer: &str,
        collection: &str,
        rows: &[ManifestRow],
        actor: &Actor,
    ) -> Result<usize, RegisterError>;

    /// The asset a drive belongs to: by tag if given, else by serial.
    fn find_asset(
        &self,
        tag: Option<&str>,
        serial: Option<&str>,
    ) -> Result<Option<AssetRef>, RegisterError>;

    /// The assets the register ties the drive serial `serial` to: by their manifest (the
    /// asset's serial or its media serials) or an earlier certificate.
    fn serial_owners(&self, serial: &str) -> Result<Vec<String>, RegisterError>;

    /// Of `serials`, those an asset that is retired or destroyed holds (its own serial or a
    /// drive's): (serial, asset tag, its state), by serial then tag, read in one transaction
    /// however many serials a manifest brings.
    fn finished_serial_owners(
        &self,
        serials: &[&str],
    ) -> Result<Vec<(String, String, AssetState)>, RegisterError>;

    /// Stores a signed certificate, links it to its asset (tag, else serial, else the review
    /// list), updates the asset's state and the custody log, and, if `outbox`, queues it for
    /// sending: all in one transaction. Storing the same certificate twice changes nothing.
    fn record_certificate(
        &mut self,
        cert: &SignedCertificate,
        document: &str,
        asset_tag: Option<&str>,
        outbox: bool,
        actor: &Actor,
    ) -> Result<Linked, RegisterError>;

    /// Stores a signed computer certificate, links it to the computer's asset (a tag it names,
    /// else the chassis asset tag, else the system serial, else the review list), moves the
    /// asset to its state (a PASS retires it), logs it and, if `outbox`, queues it for
    /// sending: all in one transaction. Storing the same certificate twice changes nothing.
    fn record_computer(
        &mut self,
        cert: &SignedCertificate<ComputerRecord>,
        document: &str,
        outbox: bool,
        actor: &Actor,
    ) -> Result<Linked, RegisterError>;

    /// Central register: stores a computer certificate that verified under the key of the
    /// station enrolled as `enrolled_as`, by the rules drive certificates are taken by.
    fn receive_computer(
        &mut self,
        cert: &SignedCertificate<ComputerRecord>,
        document: &str,
        enrolled_as: &str,
    ) -> Result<Linked, RegisterError>;

    fn has_certificate(&self, id: &str) -> Result<bool, RegisterError>;
    fn list_assets(&self, filter: &AssetFilter) -> Result<Vec<AssetSummary>, RegisterError>;
    fn asset(&self, tag: &str) -> Result<Option<AssetView>, RegisterError>;
    /// One page of the assets matching the filter (by collection and tag), and how many match.
    fn assets_page(
        &self,
        filter: &AssetFilter,
        page: Page,
    ) -> Result<Paged<AssetSummary>, RegisterError>;
    fn unmatched(&self) -> Result<Vec<UnmatchedView>, RegisterError>;
    /// One page of the review list (by issue time), and how long it is.
    fn unmatched_page(&self, page: Page) -> Result<Paged<UnmatchedView>, RegisterError>;
    fn destroy(
        &mut self,
        tag: &str,
        method: &str,
        witness: &str,
        actor: &Actor,
    ) -> Result<(), RegisterError>;
    /// The audit with no keys beyond the enrolled stations'.
    fn audit(&self) -> Result<Audit, RegisterError> {
        self.audit_with_keys(&TrustStore::default())
    }
    /// Checks the custody log, recomputes every asset's state and checks every certificate's
    /// record (and its signature where its key is enrolled or in `keys`) and the stations'
    /// certificate chains.
    fn audit_with_keys(&self, keys: &TrustStore) -> Result<Audit, RegisterError>;

    /// Links a certificate that matched no asset to the asset `tag`, by a person's decision;
    /// recorded as a custody event and queued for the central register.
    fn link_certificate(
        &mut self,
        certificate_id: &str,
        tag: &str,
        relink: bool,
        actor: &Actor,
    ) -> Result<Linked, RegisterError>;

    /// Central register: stores a certificate that verified under the key of the station
    /// enrolled as `enrolled_as`. A different certificate under a known id is a conflict.
    fn receive_certificate(
        &mut self,
        cert: &SignedCertificate,
        document: &str,
        enrolled_as: &str,
    ) -> Result<Linked, RegisterError>;

    /// Central register: stores a station's verified event and applies it if its asset (and
    /// certificate) are here; otherwise it waits for them.
    fn receive_event(
        &mut self,
        event: &SignedEvent,
        document: &str,
        enrolled_as: &str,
    ) -> Result<EventReceipt, RegisterError>;
    fn pending_events(&self) -> Result<Vec<EventOutboxItem>, RegisterError>;
    fn mark_event_sent(&mut self, id: &str) -> Result<(), RegisterError>;
    fn mark_event_failed(&mut self, id: &str, error: &str) -> Result<(), RegisterError>;

    fn pending(&self) -> Result<Vec<OutboxItem>, RegisterError>;
    fn mark_sent(&mut self, certificate_id: &str) -> Result<(), RegisterError>;
    fn mark_failed(&mut self, certificate_id: &str, error: &str) -> Result<(), RegisterError>;

    fn enroll_station(
        &mut self,
        key_id: &str,
        name: &str,
        pem: &str,
        actor: &Actor,
    ) -> Result<(), RegisterError>;
    fn stations(&self) -> Result<Vec<StationView>, RegisterError>;
    /// Removes an enrolment made by mistake (a station with certificates here is revoked
    /// instead). `who` is a name or key id.
    fn remove_station(&mut self, who: &str, actor: &Actor) -> Result<StationView, RegisterError>;
    /// Revokes a station from now on: nothing new of it is accepted, whatever date it writes,
    /// but the certificates of its own chain up to `accept_through` (and that one).
    fn revoke_station(
        &mut self,
        who: &str,
        accept_through: Option<&str>,
        actor: &Actor,
    ) -> Result<StationView, RegisterError>;

    /// Stores the X.509 certificate (PEM) the register's CA issued to the enrolled station
    /// `key_id`, under its serial number (hex).
    fn record_station_certificate(
        &mut self,
        key_id: &str,
        serial: &str,
        pem: &str,
    ) -> Result<(), RegisterError>;
    /// Every certificate the register's CA issued, oldest first; revoked ones carry when.
    fn station_certificates(&self) -> Result<Vec<StationCertificateView>, RegisterError>;

    /// Records that the enrolled key `key_id` signed as `from` before and signs as `to` now
    /// (its station was renamed): enrolled as `to`, it keeps `from` as an earlier name;
    /// enrolled as `from`, it is renamed `to`. Refused when another enrolled key holds either
    /// name. `Ok(false)`: known already.
    fn rename_station(
        &mut self,
        key_id: &str,
        from: &str,
        to: &str,
        actor: &Actor,
    ) -> Result<bool, RegisterError>;

    /// Stores a read token's SHA-256 under `name`.
    fn add_token(&mut self, name: &str, sha256: &str, actor: &Actor) -> Result<(), RegisterError>;
    fn tokens(&self) -> Result<Vec<TokenView>, RegisterError>;
    fn remove_token(&mut self, name: &str, actor: &Actor) -> Result<(), RegisterError>;
    /// The name of the token whose SHA-256 is `sha256`, if there is one.
    fn token_name(&self, sha256: &str) -> Result<Option<String>, RegisterError>;

    /// Customer and lines of a collection's report.
    fn collection_lines(
        &self,
        collection: &str,
    ) -> Result<(String, Vec<ReportLine>), RegisterError>;

    /// The computers of a collection's report: each asset's latest computer certificate, by
    /// asset tag.
    fn collection_computers(&self, collection: &str) -> Result<Vec<ReportComputer>, RegisterError>;

    /// Queues for `connector` every certificate and destroyed asset it has not had yet, and
    /// returns its pending deliveries: certificates oldest first, then destroyed assets.
    fn connector_queue(
        &mut self,
        connector: &str,
    ) -> Result<Vec<delivery::Delivery>, RegisterError>;

    /// Records how a delivery attempt ended.
    fn finish_delivery(
        &mut self,
        connector: &str,
        subject: &str,
        state: delivery::DeliveryState,
        message: &str,
    ) -> Result<(), RegisterError>;

    /// Every connector delivery about the asset `tag`.
    fn asset_deliveries(&self, tag: &str) -> Result<Vec<delivery::Delivery>, RegisterError>;
}
