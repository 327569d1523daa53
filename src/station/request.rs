//! What the operator asks for, validated against the config into a request that cannot be
//! wrong: a resume, an overwrite with its plan and verification, or a firmware erase.

use crate::certificate::record::Destination;
use crate::config::Config;
use crate::erase::engine::{ErrorPolicy, PassOptions};
use crate::erase::firmware;
use crate::erase::firmware::policy::Policy;
use crate::erase::{OverwritePlan, VerifyPasses};
use crate::verify::outcome::{VerifyMode, VerifySpec};

use super::StationError;

/// The options of a wipe as a front-end collects them (flags, keys, settings).
#[derive(Debug, Clone)]
pub struct WipeOptions {
    /// Method name; `None`: the config's default (or, resuming, the checkpoint's).
    pub method: Option<String>,
    /// `none`, `sample[:PCT]` or `full`; `None`: the config's default.
    pub verify: Option<String>,
    pub rounds: u32,
    pub blank: bool,
    pub verify_passes: Option<VerifyPasses>,
    pub on_error: ErrorPolicy,
    pub policy: Policy,
    /// The asset every drive of this request belongs to.
    pub asset: Option<String>,
    /// reuse, resale, recycle or destroy; `None`: the config's default.
    pub destination: Option<Destination>,
    /// Wipe drives of an asset already retired or recorded as destroyed.
    pub rewipe: bool,
    /// Bind drives to `asset` although the register ties their serial to another asset.
    pub relink: bool,
    /// Image files on copy-on-write filesystems may be wiped (logical sanitisation only).
    pub allow_cow: bool,
    /// Continue interrupted wipes from their checkpoints.
    pub resume: bool,
    /// Buffer size in MiB (clamped to 1..=256).
    pub buffer_mib: usize,
}

impl WipeOptions {
    /// A fresh wipe with `method` and every other option at its default.
    pub fn with_method(method: &str) -> WipeOptions {
        WipeOptions {
            method: Some(method.to_string()),
            verify: None,
            rounds: 1,
            blank: false,
            verify_passes: None,
            on_error: ErrorPolicy::Continue,
            policy: Policy::Nist80088Rev2,
            asset: None,
            destination: None,
            rewipe: false,
            relink: false,
            allow_cow: false,
            resume: false,
            buffer_mib: 4,
        }
    }
}

/// How each drive will be erased.
#[derive(Debug, Clone)]
pub enum Erasure {
    /// Continue each drive's interrupted wipe; a named method must match the checkpoint's.
    Resume { method: Option<String> },
    /// Overwrite passes, verified as asked.
    Overwrite {
        plan: OverwritePlan,
        verify: VerifySpec,
    },
    /// The drive's own sanitize command, verified by fingerprint comparison.
    Firmware {
        method: String,
        policy: Policy,
        verify: VerifySpec,
    },
}

/// A validated request.
#[derive(Debug, Clone)]
pub struct WipeRequest {
    pub erasure: Erasure,
    pub on_error: ErrorPolicy,
    pub pass_opts: PassOptions,
    pub asset: Option<String>,
    pub destination: Destination,
    /// Drives of finished assets may be wiped again.
    pub rewipe: bool,
    /// Drives the register ties to another asset may be bound to `asset`.
    pub relink: bool,
    /// Image files on copy-on-write filesystems may be wiped (logical sanitisation only).
    pub allow_cow: bool,
}

impl WipeRequest {
    /// Checks `options` against each other and fills defaults from `config`.
    pub fn validate(options: &WipeOptions, config: &Config) -> Result<WipeRequest, StationError> {
        check_identifiers(options, config)?;
        let pass_opts = PassOptions {
            chunk: options.buffer_mib.clamp(1, 256) << 20,
            on_error: options.on_error,
            ..PassOptions::default()
        };
        let destination = options.destination.unwrap_or(config.defaults.destination);
        let erasure = if options.resume {
            Erasure::Resume {
                method: options.method.clone(),
            }
        } else {
            let method = options
                .method
                .clone()
                .unwrap_or_else(|| config.defaults.method.clone());
            let verify_text = options
                .verify
                .clone()
                .unwrap_or_else(|| config.defaults.verify.clone());
            let verify = VerifySpec::parse(&verify_text)
                .map_err(|e| StationError::Request(format!("--verify {e}")))?;
            if firmware::is_firmware(&method) {
                if verify.mode == VerifyMode::Full {
                    return Err(StationError::Request(
                        "--verify full applies to overwrite methods; a firmware erase is verified by \
                         comparing sample regions before and after (--verify sample:PCT)"
                            .into(),
                    ));
                }
                if options.rounds != 1 || options.blank || options.verify_passes.is_some() {
                    return Err(StationError::Request(format!(
                        "--rounds, --blank and --verify-passes apply to overwrite methods, not to \
                         {method}; run the firmware erase alone, then an overwrite if you want one"
                    )));
                }
                Erasure::Firmware {
                    method,
                    policy: options.policy,
                    verify,
                }
            } else {
                let plan = OverwritePlan::build(
                    &method,
                    options.rounds,
                    options.blank,
                    options.verify_passes,
                )
                .map_err(|e| {
                    StationError::Request(format!(
                        "{e}; firmware methods: purge, {}",
                        firmware::FIRMWARE_METHODS
                            .iter()
                            .map(|m| m.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
                Erasure::Overwrite { plan, verify }
            }
        };
        Ok(WipeRequest {
            erasure,
            on_error: options.on_error,
            pass_opts,
            asset: options.asset.clone(),
            destination,
            rewipe: options.rewipe,
            relink: options.relink,
            allow_cow: options.allow_cow,
        })
    }

    /// The method named by the request (a resume's comes from each drive's checkpoint).
    pub fn method_name(&self) -> Option<&str> {
        match &self.erasure {
            Erasure::Resume { method } => method.as_deref(),
            Erasure::Overwrite { plan, .. } => Some(&plan.method),
            Erasure::Firmware { method, .. } => Some(method),
        }
    }
}

/// The identifiers a request writes into certificates, checked by the same rule as a
/// manifest's (`crate::identifier`): a tag or station name with a hidden character would be
/// compared, and shown, as something it is not.
fn check_identifiers(options: &WipeOptions, config: &Config) -> Result<(), StationError> {
    let named = [
        ("--asset", options.asset.as_deref()),
        ("station.id", Some(config.station.id.as_str())),
        ("organisation.name", Some(config.organisation.name.as_str())),
    ];
    for (what, value) in named {
        if let Some(v) = value
            && let Some(why) = crate::identifier::problem(v)
        {
            return Err(StationError::Request(format!("{what} {v:?} {why}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_come_from_the_config_and_firmware_refuses_overwrite_options() {
        let config = Config::default();
        let mut o = WipeOptions::with_method("zero");
        o.method = None;
        let r = WipeRequest::validate(&o, &config).unwrap();
        assert_eq!(r.method_name(), Some(config.defaults.method.as_str()));
        assert_eq!(r.destination, config.defaults.destination);

        let mut fw = WipeOptions::with_method("nvme-format-erase");
        fw.blank = true;
        let e = WipeRequest::validate(&fw, &config).unwrap_err().to_string();
        assert!(e.contains("apply to overwrite methods"), "{e}");
        fw.blank = false;
        fw.verify = Some("full".into());
        assert!(WipeRequest::validate(&fw, &config).is_err());

        let e = WipeRequest::validate(&WipeOptions::with_method("shred"), &config)
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown method `shred`"), "{e}");
    }
}
