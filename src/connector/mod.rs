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
//! * [`delivery`]: custody rules (what may be sent) and the sync loop over the queue; it knows
//!   no concrete client: [`sync_connector`] hands it the one the settings name.
//! * [`snipeit`], [`glpi`]: the two systems' APIs.
//! * `http`: the agent, multipart bodies, URL escaping, HTML entities and the wait a 429 asks
//!   for, which they share.

pub mod delivery;
pub mod glpi;
mod http;
pub mod settings;
pub mod snipeit;

pub use crate::register::delivery::{Delivery, DeliveryKind, DeliveryState};
pub use delivery::ConnectorReport;
pub use settings::{ConnectorKind, ConnectorSettings, SettingsError, validate};

use settings::read_secret;

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

/// Sends what `settings`' connector has not had yet (see [`delivery`] for the rules).
pub fn sync_connector(
    register: &mut dyn crate::register::Register,
    settings: &ConnectorSettings,
    certificates_dir: &std::path::Path,
) -> Result<ConnectorReport, crate::register::RegisterError> {
    delivery::run(register, settings, certificates_dir, open_client)
}

/// Sends `queue` through `settings`' connector without a register: `finish` records how each
/// delivery ended (see [`delivery`] for the rules).
pub fn deliver_queue<E>(
    settings: &ConnectorSettings,
    queue: &[Delivery],
    certificates_dir: &std::path::Path,
    finish: &mut dyn FnMut(&Delivery, DeliveryState, &str) -> Result<(), E>,
) -> Result<ConnectorReport, E> {
    delivery::deliver_all(settings, queue, certificates_dir, open_client, finish)
}

/// Reads the connector's secrets and builds its client.
fn open_client(settings: &ConnectorSettings) -> Result<Box<dyn delivery::Connector>, String> {
    let token = read_secret(
        &settings.name,
        "token",
        settings.token_env.as_deref(),
        settings.token_file.as_deref(),
    )?
    .ok_or_else(|| format!("connector {}: no token configured", settings.name))?;
    Ok(match settings.kind {
        ConnectorKind::Snipeit => Box::new(snipeit::SnipeIt::new(settings, token)),
        ConnectorKind::Glpi => {
            let app_token = read_secret(
                &settings.name,
                "App-Token",
                settings.app_token_env.as_deref(),
                settings.app_token_file.as_deref(),
            )?;
            Box::new(glpi::Glpi::new(settings, token, app_token))
        }
    })
}
