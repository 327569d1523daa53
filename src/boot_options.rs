//! Settings given as kernel options on the live image: `wipeproof.NAME=VALUE` words of the
//! kernel command line, applied over `wipeproof.toml` so that a technician can change a station's
//! behaviour at the boot menu without editing the stick.
//!
//! The live image's `/init` exports the command line as `WIPEPROOF_BOOT_OPTIONS`; nothing else
//! reads it, so a station outside the live image is never steered by its own kernel's options.
//! Options that only `/init` uses (`stick`, `headless`, `poweroff` is both) are skipped here;
//! an unknown option is reported, never fatal: a typo at the boot menu must not stop a station.

/// The environment variable `/init` exports the kernel command line in.
pub const ENV: &str = "WIPEPROOF_BOOT_OPTIONS";

/// Kernel option names and the config setting each one sets.
pub const SETTINGS: &[(&str, &str)] = &[
    ("auto", "station.auto"),
    ("auto_delay", "station.auto_delay"),
    ("auto_existing", "station.auto_existing"),
    ("poweroff", "station.poweroff_when_done"),
    ("operator", "station.operator"),
    ("station", "station.id"),
    ("method", "defaults.method"),
    ("verify", "defaults.verify"),
    ("destination", "defaults.destination"),
    ("register", "sync.register"),
    ("host_is_asset", "station.host_is_asset"),
];

/// Options read by the live image's `/init` only.
const INIT_ONLY: &[&str] = &["stick", "headless", "unfreeze"];

/// One `wipeproof.NAME=VALUE` of the command line, as a config assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootOption {
    /// `SECTION.KEY=VALUE` for [`crate::config::Config::apply_override`].
    Setting(String),
    /// A `wipeproof.` word that names no setting (reported, ignored).
    Unknown(String),
}

/// The wipeproof settings of a kernel command line, in order (a later one wins).
pub fn parse(cmdline: &str) -> Vec<BootOption> {
    cmdline
        .split_whitespace()
        // Words after "--" or "---" belong to init, and ours are placed there by the image.
        .filter(|w| *w != "--" && *w != "---")
        .filter_map(|word| word.strip_prefix("wipeproof."))
        .filter_map(|rest| {
            let (name, value) = rest.split_once('=').unwrap_or((rest, "1"));
            if INIT_ONLY.contains(&name) {
                return None;
            }
            Some(match SETTINGS.iter().find(|(n, _)| *n == name) {
                Some((_, setting)) => BootOption::Setting(format!("{setting}={value}")),
                None => BootOption::Unknown(format!("wipeproof.{rest}")),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_wipeproof_words_to_settings_and_skips_the_rest() {
        let opts = parse(
            "BOOT_IMAGE=/live/vmlinuz console=ttyS0 wipeproof.stick=abc --- wipeproof.auto=zero \
             wipeproof.auto_existing wipeproof.verify=full wipeproof.register=https://r.example:7070 \
             wipeproof.colour=red wipeproof.headless=1",
        );
        assert_eq!(
            opts,
            vec![
                BootOption::Setting("station.auto=zero".into()),
                BootOption::Setting("station.auto_existing=1".into()),
                BootOption::Setting("defaults.verify=full".into()),
                BootOption::Setting("sync.register=https://r.example:7070".into()),
                BootOption::Unknown("wipeproof.colour=red".into()),
            ]
        );
        assert!(parse("quiet splash").is_empty());
    }

    mod properties {
        use super::super::*;
        use crate::config::Config;
        use proptest::prelude::*;

        /// Words a boot menu could carry: our names with odd values, unknown names, plain
        /// kernel words, separators, and any printable text.
        fn word() -> impl Strategy<Value = String> {
            let name = prop::sample::select(
                SETTINGS
                    .iter()
                    .map(|(n, _)| *n)
                    .chain(INIT_ONLY.iter().copied())
                    .chain(["colour", "", "auto.x", "=", "station.id"])
                    .collect::<Vec<_>>(),
            );
            prop_oneof![
                (name.clone(), "[ -~]{0,24}").prop_map(|(n, v)| format!("wipeproof.{n}={v}")),
                name.prop_map(|n| format!("wipeproof.{n}")),
                Just("--".to_string()),
                Just("---".to_string()),
                "[!-~]{1,16}",
                "\\PC{0,12}",
            ]
        }

        proptest! {
            /// Whatever the command line says, the station gets a valid config or a named
            /// error per option: never a panic, never a setting `/init` keeps for itself, and
            /// a config that still reads back as what was applied.
            #[test]
            fn any_command_line_gives_a_valid_config_or_a_named_error(
                words in prop::collection::vec(word(), 0..12)
            ) {
                let cmdline = words.join(" ");
                let mut config = Config::default();
                for option in parse(&cmdline) {
                    match option {
                        BootOption::Setting(assignment) => {
                            let (key, _) = assignment.split_once('=').unwrap_or((&assignment, ""));
                            prop_assert!(SETTINGS.iter().any(|(_, s)| *s == key), "{assignment}");
                            if config.apply_override(&assignment).is_ok() {
                                let text = config.to_toml();
                                let again: Result<Config, _> = toml::from_str(&text);
                                prop_assert!(again.is_ok(), "{assignment}: {text}");
                                prop_assert_eq!(again.ok().map(|c| c.to_toml()), Some(text));
                            }
                        }
                        BootOption::Unknown(word) => {
                            prop_assert!(word.starts_with("wipeproof."));
                            let name = word["wipeproof.".len()..].split('=').next().unwrap_or("");
                            prop_assert!(!SETTINGS.iter().any(|(n, _)| *n == name));
                        }
                    }
                }
            }
        }
    }
}
