//! Connectors to the customer's own asset system (Snipe-IT, GLPI): each PASS certificate marks
//! its asset retired there, with the certificate PDF attached; a destroyed asset gets the
//! destroyed status.
//!
//! Every (certificate, connector) pair is one row of the register's delivery table, queued at
//! sync time for every certificate and destroyed asset the connector has not had yet, so a
//! connector added later also gets the certificates recorded before it. A row leaves the
//! queue once the system took it (or when custody says it must not be sent); an asset the
//! system does not know keeps its row pending with the system's own message. A retry after a
//! time-out looks at the asset's files before uploading, so the PDF is attached once.
//!
//! * [`settings`]: the `[[connector]]` entries and their validation.
//! * [`delivery`]: custody rules (what may be sent) and the sync loop over the queue.
//! * [`snipeit`], [`glpi`]: the two systems' APIs.
//! * `http`: the agent, multipart bodies and URL escaping they share.

pub mod delivery;
pub mod glpi;
mod http;
pub mod settings;
pub mod snipeit;

use serde::Serialize;

use super::AssetState;
pub use delivery::{ConnectorReport, deliver_queue, sync_connector};
pub use settings::{ConnectorKind, ConnectorSettings, SettingsError, validate};

/// What a delivery row is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryKind {
    /// A certificate: attach it and, if it retires the asset, set the retired status.
    Certificate,
    /// An asset recorded as destroyed: set the destroyed status.
    Destroyed,
}

impl DeliveryKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryKind::Certificate => "certificate",
            DeliveryKind::Destroyed => "destroyed",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryKind> {
        match s {
            "certificate" => Some(DeliveryKind::Certificate),
            "destroyed" => Some(DeliveryKind::Destroyed),
            _ => None,
        }
    }
}

/// Where a delivery row stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Not yet taken by the system (never tried, failed, or the asset is unknown there).
    Pending,
    /// The system has it; never sent again.
    Done,
    /// Custody says it must not be sent (e.g. a FAIL certificate); never sent.
    Skipped,
}

impl DeliveryState {
    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Done => "done",
            DeliveryState::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryState> {
        match s {
            "pending" => Some(DeliveryState::Pending),
            "done" => Some(DeliveryState::Done),
            "skipped" => Some(DeliveryState::Skipped),
            _ => None,
        }
    }
}

/// One (certificate or destroyed asset, connector) pair, with what the register knows of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub connector: String,
    /// The certificate id, or `destroyed:TAG`.
    pub subject: String,
    pub kind: DeliveryKind,
    pub certificate_id: Option<String>,
    /// PASS, FAIL or INCOMPLETE (certificates only).
    pub result: Option<String>,
    pub asset_tag: Option<String>,
    pub asset_serial: Option<String>,
    pub asset_state: Option<AssetState>,
    /// The wiped drive's serial (certificates only).
    pub drive_serial: Option<String>,
    pub state: DeliveryState,
    /// What happened last: what was sent, or why not.
    pub message: Option<String>,
    pub attempts: u64,
    pub updated_at: String,
}

/// A failure that stops a connector for this sync (the rest stays pending).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ConnectorError {
    #[error(
        "connector {connector}: the token was refused ({message}); check the token in its token_env or token_file"
    )]
    Unauthorized { connector: String, message: String },
    #[error(
        "connector {connector}: cannot reach the system: {message}; it is tried again at the next sync"
    )]
    Unreachable { connector: String, message: String },
    #[error("connector {connector}: {message}")]
    Setup { connector: String, message: String },
}
