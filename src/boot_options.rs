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
}
