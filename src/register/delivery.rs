//! The register's record of what was sent to a customer's own asset system: one row per
//! (certificate or destroyed asset, connector), and where it stands. Sending is the
//! connectors' work (`crate::connector`); the register only keeps the queue.

use serde::Serialize;

use super::AssetState;

/// What a delivery row is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryKind {
    /// A certificate: attach it and, if it retires the asset, set the retired status.
    Certificate,
    /// An asset recorded as destroyed: set the destroyed status.
    Destroyed,
    /// A computer certificate: attach it to the computer's record and, on PASS, set the
    /// retired status.
    Computer,
}

impl DeliveryKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            DeliveryKind::Certificate => "certificate",
            DeliveryKind::Destroyed => "destroyed",
            DeliveryKind::Computer => "computer",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryKind> {
        match s {
            "certificate" => Some(DeliveryKind::Certificate),
            "destroyed" => Some(DeliveryKind::Destroyed),
            "computer" => Some(DeliveryKind::Computer),
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

/// One (certificate, computer certificate or destroyed asset, connector) pair, with what the register knows of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub connector: String,
    /// The certificate (or computer certificate) id, or `destroyed:TAG`.
    pub subject: String,
    pub kind: DeliveryKind,
    pub certificate_id: Option<String>,
    /// PASS, FAIL or INCOMPLETE (certificates); PASS, FAIL or NO_STORAGE_FOUND (computers).
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
