//! What a station needs from its state directory, gathered once: the guard's context, the
//! register (with certificates a crash left unrecorded picked up), the directories, and who is
//! working. The signing key is loaded by [`StationContext::recorder`], once the operator has
//! confirmed, so a declined wipe creates nothing.

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use super::store::CheckpointStore;
use crate::certificate::keys::StationKey;
use crate::certificate::record::Destination;
use crate::certificate::record::{IssueContext, Organisation, PerformedBy};
use crate::config::StateDir;
use crate::device::GuardContext;
use crate::register::{Actor, Register};

use super::StationError;
use super::recorder::Recorder;

/// The guard context of a state directory: it and the export medium are protected.
pub fn guard_context(state: &StateDir) -> GuardContext {
    GuardContext::new(
        state.protected_paths(),
        state.config.paths.export.as_ref().map(|p| state.resolve(p)),
    )
}

/// Who is acting: the operator at this station.
pub fn actor(state: &StateDir) -> Actor {
    Actor {
        name: state.config.station.operator.to_string(),
        station: state.config.station.id.clone(),
    }
}

/// A station's context, built once from its state directory.
pub struct StationContext {
    pub state: StateDir,
    pub guard: GuardContext,
    register: Mutex<Box<dyn Register>>,
    /// Checkpoints, sealed with the station's key.
    pub checkpoints: CheckpointStore,
    /// The station's public key: what a certificate found on resume must be signed by.
    pub station_key: ed25519_dalek::VerifyingKey,
    pub certificates: PathBuf,
    pub actor: Actor,
}

impl StationContext {
    /// Opens the register and records certificates an earlier crash left out of it.
    pub fn open(state: &StateDir) -> Result<StationContext, StationError> {
        StationContext::open_with(state, guard_context(state))
    }

    /// [`StationContext::open`] with a guard context of the same state directory that has
    /// looked at the drives already, so the scan it took is the one the preparation uses.
    pub fn open_with(
        state: &StateDir,
        guard: GuardContext,
    ) -> Result<StationContext, StationError> {
        let mut register = state
            .register_location()
            .map_err(|e| StationError::Environment(e.to_string()))?
            .open()?;
        let found = reconcile(state, register.as_mut());
        if found > 0 {
            crate::stderr_line!(
                "wipeproof: recorded {found} certificate(s) from {} that the register did not have yet",
                state.certificates_dir().display()
            );
        }
        // A chain that cannot be continued stops the station before anything is erased.
        crate::certificate::issue::chain_head(&state.certificates_dir())
            .map_err(|e| StationError::Environment(e.to_string()))?;
        // The key seals checkpoints, so it is loaded (or made) before any drive is planned.
        let keys = state.keys_dir();
        let (key, created) = StationKey::load_or_init(&keys)?;
        if created {
            crate::stderr_line!(
                "wipeproof: this station had no signing key; created {} in {}. \
                 Give auditors its public key: wipeproof keys export",
                key.key_id(),
                keys.display()
            );
        }
        Ok(StationContext {
            guard,
            checkpoints: CheckpointStore::new(state.checkpoints_dir(), &key),
            station_key: key.verifying_key(),
            certificates: state.certificates_dir(),
            actor: actor(state),
            state: state.clone(),
            register: Mutex::new(register),
        })
    }

    /// The register, one user at a time (workers record from their own threads).
    pub fn register(&self) -> MutexGuard<'_, Box<dyn Register>> {
        self.register.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What every certificate of this station says about who issued it, for `destination`.
    pub fn issue_context(&self, destination: Destination) -> IssueContext {
        let config = &self.state.config;
        IssueContext {
            organisation: Organisation {
                name: config.organisation.name.clone(),
                address: config.organisation.address.clone(),
            },
            performed_by: PerformedBy {
                operator: config.station.operator.to_string(),
                station_id: config.station.id.clone(),
            },
            destination,
            customer: None,
            collection: None,
            asset_tags: Vec::new(),
            host: None,
            rewipe: None,
        }
    }

    /// Says on stderr what certificates will lack (see [`crate::config::Config::unconfigured`]),
    /// before anything is erased or confirmed.
    pub fn warn_unconfigured(&self) {
        let missing = self.state.config.unconfigured();
        if !missing.is_empty() {
            crate::stderr_line!(
                "wipeproof: not configured in {}: {}; certificates will say so",
                self.state.config_path().display(),
                missing.join(", ")
            );
        }
    }

    /// Loads (or on first use creates) the signing key and hands the register to a recorder.
    pub fn recorder(self) -> Result<Recorder, StationError> {
        let key = StationKey::load(&self.state.keys_dir())?;
        Ok(Recorder::new(self, key))
    }
}

/// Records certificates found in the certificate directory that the register does not have
/// (a crash between writing a certificate and storing it), computer certificates included:
/// nothing is lost. Returns how many.
pub fn reconcile(state: &StateDir, register: &mut dyn Register) -> usize {
    let dir = state.certificates_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return 0;
    };
    let who = actor(state);
    let mut found = 0;
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if !name.ends_with(".json") || name == crate::certificate::issue::CHAIN_FILE {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let Ok(cert) = serde_json::from_str::<crate::certificate::issue::SignedCertificate>(&text)
        else {
            // A computer certificate: storing it again changes nothing.
            if let Ok(computer) = serde_json::from_str::<
                crate::certificate::issue::SignedCertificate<
                    crate::certificate::computer::ComputerRecord,
                >,
            >(&text)
                && register
                    .record_computer(&computer, &text, true, &who)
                    .is_ok_and(|l| l.new)
            {
                found += 1;
            }
            continue;
        };
        if register.has_certificate(&cert.record.id).unwrap_or(true) {
            continue;
        }
        if register
            .record_certificate(&cert, &text, None, true, &who)
            .is_ok()
        {
            found += 1;
        }
    }
    found
}
