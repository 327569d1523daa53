//! Custody events that travel from a station to the central register: what a person did to an
//! asset at the station that no certificate carries (its physical destruction, a certificate
//! linked to it by hand), and a collection's custody (its pick-up, each scan at goods-in, its
//! reconciliation, a missing asset resolved, its report issued).
//!
//! A station keeps each such event in its event outbox, in the transaction that records it;
//! `sync` signs it with the station's key (Ed25519 over the event's canonical JSON, like a
//! certificate record) and sends it after the certificates. The central register accepts it
//! only under the key of an enrolled station whose name is the event's `station_id`, and keys
//! it by its id: the same event twice is stored once, a different event under a known id is
//! refused (409).

use base64::Engine;
use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::certificate::canonical;
use crate::certificate::keys::StationKey;

/// Schema identifier of a station event.
pub const SCHEMA: &str = "wipeproof/custody-event/v1";

/// What happened to the asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Action {
    /// The asset was physically destroyed, seen by a witness.
    Destroyed { method: String, witness: String },
    /// A person linked a certificate that matched no asset to this asset.
    Linked { certificate_id: String },
    /// The collection was picked up at the customer's site (no asset tag).
    Collected {
        collection: String,
        driver: String,
        vehicle: String,
        seals: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        count: Option<u64>,
    },
    /// Goods-in scanned the asset (`scanned`: its tag or serial as read).
    Received { collection: String, scanned: String },
    /// Goods-in scanned something no manifest lists (no asset tag).
    Extra { collection: String, scanned: String },
    /// Expected and received were compared (no asset tag): the missing assets' tags and the
    /// extras as scanned.
    Reconciled {
        collection: String,
        expected: u64,
        received: u64,
        missing: Vec<String>,
        extra: Vec<String>,
    },
    /// A person resolved the asset, missing from its collection, with a reason.
    Resolved {
        collection: String,
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// The collection's report was issued (no asset tag).
    Closed { collection: String },
    /// The station's id changed from `from` to the event's `station_id` (no asset tag). Sent
    /// by `sync` to `/api/v1/stations/rename` before anything issued under `from`, never kept
    /// in the outbox: the register then knows the key spoke as both names.
    Renamed { from: String },
}

impl Action {
    /// The custody log's name for the action.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Destroyed { .. } => "destroyed",
            Action::Linked { .. } => "linked",
            Action::Collected { .. } => "collected",
            Action::Received { .. } => "received",
            Action::Extra { .. } => "extra",
            Action::Reconciled { .. } => "reconciled",
            Action::Resolved { .. } => "resolved",
            Action::Closed { .. } => "closed",
            Action::Renamed { .. } => "renamed",
        }
    }
}

/// One event, as the station recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StationEvent {
    pub schema: String,
    /// A UUID: the key that makes sending twice store once.
    pub id: String,
    pub at: String,
    pub station_id: String,
    pub operator: String,
    /// The asset the event is about; empty (and absent from the JSON) for an event about a
    /// whole collection, so events written before those existed keep their bytes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub asset_tag: String,
    pub action: Action,
}

/// The signature of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventSignature {
    /// Always `Ed25519`.
    pub algorithm: String,
    pub key_id: String,
    /// Base64 of the signature over the event's canonical bytes.
    pub value: String,
}

/// An event with its signature: what a station sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedEvent {
    pub event: StationEvent,
    pub signature: EventSignature,
}

/// Why an event cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("not a wipeproof custody event: {0}")]
    Malformed(String),
    #[error("custody event {id}: the signature does not verify under the key {key_id}")]
    Signature { id: String, key_id: String },
}

impl StationEvent {
    /// A new event happening now.
    pub fn new(station_id: &str, operator: &str, asset_tag: &str, action: Action) -> StationEvent {
        StationEvent {
            schema: SCHEMA.into(),
            id: uuid::Uuid::new_v4().to_string(),
            at: crate::timestamp::now(),
            station_id: station_id.into(),
            operator: operator.into(),
            asset_tag: asset_tag.into(),
            action,
        }
    }

    /// The canonical bytes (what the signature covers).
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, EventError> {
        let value = serde_json::to_value(self).map_err(|e| EventError::Malformed(e.to_string()))?;
        canonical::to_bytes(&value).map_err(|e| EventError::Malformed(e.to_string()))
    }

    /// Hex SHA-256 of the canonical bytes: two events with the same id are the same event
    /// only if these agree.
    pub fn sha256(&self) -> Result<String, EventError> {
        Ok(hex::encode(Sha256::digest(self.canonical_bytes()?)))
    }

    /// Signs the event with the station's key.
    pub fn sign(self, key: &StationKey) -> Result<SignedEvent, EventError> {
        let signature = key.sign(&self.canonical_bytes()?);
        Ok(SignedEvent {
            event: self,
            signature: EventSignature {
                algorithm: "Ed25519".into(),
                key_id: key.key_id(),
                value: base64::engine::general_purpose::STANDARD.encode(signature.to_bytes()),
            },
        })
    }
}

impl SignedEvent {
    /// Reads a signed event strictly: no unknown or duplicate members, the known schema.
    pub fn parse(bytes: &[u8]) -> Result<SignedEvent, EventError> {
        let signed: SignedEvent =
            serde_json::from_slice(bytes).map_err(|e| EventError::Malformed(e.to_string()))?;
        if signed.event.schema != SCHEMA {
            return Err(EventError::Malformed(format!(
                "schema is `{}`, this register reads `{SCHEMA}`",
                signed.event.schema
            )));
        }
        if signed.signature.algorithm != "Ed25519" {
            return Err(EventError::Malformed(format!(
                "signature algorithm {} (only Ed25519 is used)",
                signed.signature.algorithm
            )));
        }
        if uuid::Uuid::parse_str(&signed.event.id).is_err() {
            return Err(EventError::Malformed(format!(
                "event id {} is not a UUID",
                signed.event.id
            )));
        }
        if crate::timestamp::parse(&signed.event.at).is_none() {
            return Err(EventError::Malformed(format!(
                "event time {} is not an RFC 3339 UTC time",
                signed.event.at
            )));
        }
        Ok(signed)
    }

    /// Checks the signature under `key` (strict Ed25519: no malleable or small-order forms).
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), EventError> {
        let bad = || EventError::Signature {
            id: self.event.id.clone(),
            key_id: self.signature.key_id.clone(),
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.signature.value)
            .map_err(|_| bad())?;
        let signature = <[u8; 64]>::try_from(bytes.as_slice())
            .map(|b| Signature::from_bytes(&b))
            .map_err(|_| bad())?;
        key.verify_strict(&self.event.canonical_bytes()?, &signature)
            .map_err(|_| bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn destroyed() -> StationEvent {
        StationEvent::new(
            "bay-1",
            "Ann",
            "A-1",
            Action::Destroyed {
                method: "shredded".into(),
                witness: "Bob".into(),
            },
        )
    }

    #[test]
    fn a_signed_event_round_trips_and_verifies_only_unchanged() {
        let key = StationKey::generate().expect("key");
        let signed = destroyed().sign(&key).expect("sign");
        let text = serde_json::to_vec(&signed).expect("json");
        let back = SignedEvent::parse(&text).expect("parse");
        back.verify(&key.verifying_key())
            .expect("genuine event verifies");
        let mut edited = back.clone();
        edited.event.action = Action::Destroyed {
            method: "shredded".into(),
            witness: "Mallory".into(),
        };
        assert!(edited.verify(&key.verifying_key()).is_err());
        let other = StationKey::generate().expect("key");
        assert!(back.verify(&other.verifying_key()).is_err());
    }

    #[test]
    fn unknown_and_duplicate_members_are_refused() {
        let key = StationKey::generate().expect("key");
        let signed = destroyed().sign(&key).expect("sign");
        let mut value = serde_json::to_value(&signed).expect("value");
        value["event"]["extra"] = serde_json::json!(1);
        let text = serde_json::to_vec(&value).expect("json");
        assert!(SignedEvent::parse(&text).is_err(), "an unknown member");
        let text = serde_json::to_string(&signed).expect("json");
        let doubled = text.replacen("\"event\":{", "\"event\":{\"id\":\"x\",", 1);
        assert!(
            SignedEvent::parse(doubled.as_bytes()).is_err(),
            "a duplicate id"
        );
        let mut value = serde_json::to_value(&signed).expect("value");
        value["event"]["action"]["colour"] = serde_json::json!("red");
        let text = serde_json::to_vec(&value).expect("json");
        assert!(
            SignedEvent::parse(&text).is_err(),
            "an unknown action member"
        );
    }
}
