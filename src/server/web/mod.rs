//! The central register's web pages, for compliance officers and auditors in a browser:
//! server-rendered HTML (maud escapes every value), one stylesheet, no JavaScript but on the
//! goods-in page; readable on a phone and printable.
//!
//! The routes (pages and `/api/v1`) with who may use each are listed in `super::routes`, which
//! builds the router; no page imports it back.
//!
//! * [`auth`]: who is asking (a session cookie or a bearer token), the guard in front of every
//!   route, and the same-origin and CSRF checks of forms.
//! * [`signed`](self): who made a request the guard let in.
//! * [`login`]: signing in and out, with the rate limit of failed sign-ins.
//! * [`layout`]: the page skeleton and the stylesheet.
//! * [`verify`], [`assets`], [`collections`], [`stations`], [`trust`]: the pages.
//! * [`computer`]: a computer certificate's facts and drives on its page.
//! * [`custody`]: a collection's custody on its page, and resolving a missing asset (admin).
//! * [`goods_in`]: the goods-in page, its script and the JSON endpoint each scan goes to.

pub(super) mod assets;
pub mod auth;
pub(super) mod collections;
pub(super) mod computer;
pub(super) mod custody;
pub(super) mod goods_in;
pub(super) mod layout;
pub(super) mod login;
pub mod signed;
pub(super) mod stations;
pub(super) mod trust;
pub(super) mod verify;

use std::path::PathBuf;

use crate::certificate::keys::TrustStore;
use crate::certificate::record::Organisation;

/// What the web pages need beyond the register: keys to verify with and to sign reports with,
/// and who the register is.
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// The state directory's key directory: its trust store (`keys/trusted`) verifies uploaded
    /// certificates together with the enrolled stations' keys, and its signing key signs the
    /// collection reports the pages hand out. `None`: enrolled stations only, and no reports.
    pub keys_dir: Option<PathBuf>,
    pub organisation: Organisation,
    /// The name the register signs reports under (`station.id`).
    pub station_id: String,
    /// How long a sign-in lasts.
    pub session_lifetime: std::time::Duration,
    /// The register's certificate authority, which issues stations their PDF signing
    /// certificates; `None`: the register has none (`/api/v1/ca.pem` answers 404).
    pub authority: Option<std::sync::Arc<crate::certificate::authority::Authority>>,
    /// The URL of the CRL that issued certificates name (`register.public_url`), if known.
    pub crl_url: Option<String>,
}

impl Default for WebSettings {
    fn default() -> Self {
        WebSettings {
            keys_dir: None,
            organisation: Organisation {
                name: String::new(),
                address: String::new(),
            },
            station_id: "register".into(),
            session_lifetime: std::time::Duration::from_secs(8 * 3600),
            authority: None,
            crl_url: None,
        }
    }
}

/// The trust store of the pages: the state directory's, plus every enrolled station's key.
fn trust_store(
    settings: &WebSettings,
    stations: &[crate::register::StationView],
) -> Result<TrustStore, crate::certificate::keys::KeyError> {
    let mut trust = match &settings.keys_dir {
        Some(dir) => TrustStore::load(dir)?,
        None => TrustStore::default(),
    };
    for s in stations {
        if trust.get(&s.key_id).is_none()
            && let Ok(k) = crate::certificate::keys::parse_public(
                &s.public_key_pem,
                std::path::Path::new(&s.name),
            )
        {
            trust.add(k, format!("enrolled station {}", s.name).into());
        }
    }
    Ok(trust)
}
