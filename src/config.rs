//! The state directory and the station's config file (`wipeproof.toml`).
//!
//! The state directory holds everything a station keeps: the config, its signing key, the
//! register, checkpoints and certificates. It is `$WIPEPROOF_HOME`, else `/var/lib/wipeproof` when
//! running as root, else the XDG data directory (`$XDG_DATA_HOME/wipeproof` or
//! `~/.local/share/wipeproof`). First use creates it with a default config and says where.
//!
//! Every setting can be overridden for one run with `--set section.key=value` (see
//! [`Config::apply_override`]); the command line adds named flags for the common ones.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::certificate::record::Destination;

/// File name of the config inside the state directory.
pub const CONFIG_FILE: &str = "wipeproof.toml";

/// Errors loading or changing the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "cannot create the state directory {path}: {source}; set WIPEPROOF_HOME to a writable directory"
    )]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("cannot read config {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("config {path} is not valid: {message}; fix the file or delete it to get the defaults")]
    Parse { path: PathBuf, message: String },
    #[error("cannot write config {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("setting `{setting}`: {message}")]
    Override { setting: String, message: String },
    #[error("{setting} {message}")]
    Invalid { setting: String, message: String },
    #[error(
        "no state directory: HOME is not set; set WIPEPROOF_HOME to the directory wipeproof should use"
    )]
    NoHome,
}

/// The organisation that issues certificates.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Organisation {
    /// Legal name printed at the top of every certificate.
    pub name: String,
    /// Postal address, one line.
    pub address: String,
}

/// This station and who operates it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Station {
    /// Identifier of this wipe station, unique within the organisation.
    pub id: String,
    /// The person responsible for the wipes done now.
    pub operator: Operator,
    /// `wipeproof station`: the method for unattended wiping of drives that appear; absent:
    /// the operator chooses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto: Option<String>,
    /// Seconds before an automatic wipe starts (the operator can cancel it meanwhile).
    pub auto_delay: u64,
    /// Also wipe drives present when the station starts (never protected ones).
    pub auto_existing: bool,
    /// Live image: power off when unattended work is done.
    pub poweroff_when_done: bool,
    /// Whether the computer the station runs on is the asset its drives belong to: its
    /// inventory goes into each drive's certificate, its drives are linked to the asset whose
    /// serial or tag is the system serial or chassis asset tag, and a computer certificate is
    /// issued once they have all ended.
    pub host_is_asset: HostIsAsset,
}

/// `station.host_is_asset`: `true`, `false` or `"auto"`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "HostIsAssetValue", into = "HostIsAssetValue")]
pub enum HostIsAsset {
    /// The drives present when the station started are the computer's.
    True,
    /// The computer is never the asset.
    False,
    /// On the live image only: the drives present at boot, not on USB (not hot-plugged).
    #[default]
    Auto,
}

/// How `host_is_asset` is written: a switch, or the word `auto`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum HostIsAssetValue {
    Switch(bool),
    Word(String),
}

impl TryFrom<HostIsAssetValue> for HostIsAsset {
    type Error = String;

    fn try_from(v: HostIsAssetValue) -> Result<HostIsAsset, String> {
        match v {
            HostIsAssetValue::Switch(true) => Ok(HostIsAsset::True),
            HostIsAssetValue::Switch(false) => Ok(HostIsAsset::False),
            HostIsAssetValue::Word(w) => match w.trim().to_ascii_lowercase().as_str() {
                "auto" => Ok(HostIsAsset::Auto),
                "true" | "yes" | "on" | "1" => Ok(HostIsAsset::True),
                "false" | "no" | "off" | "0" => Ok(HostIsAsset::False),
                _ => Err(format!(
                    "`{w}` is not a value of station.host_is_asset; use true, false or \"auto\""
                )),
            },
        }
    }
}

impl From<HostIsAsset> for HostIsAssetValue {
    fn from(h: HostIsAsset) -> HostIsAssetValue {
        match h {
            HostIsAsset::True => HostIsAssetValue::Switch(true),
            HostIsAsset::False => HostIsAssetValue::Switch(false),
            HostIsAsset::Auto => HostIsAssetValue::Word("auto".into()),
        }
    }
}

impl HostIsAsset {
    /// Whether a drive belongs to the computer: `present_at_start` (not hot-plugged), `usb`
    /// its transport, `live_image` whether the station runs on the live image.
    pub fn holds(self, live_image: bool, present_at_start: bool, usb: bool) -> bool {
        match self {
            HostIsAsset::True => present_at_start,
            HostIsAsset::False => false,
            HostIsAsset::Auto => live_image && present_at_start && !usb,
        }
    }

    /// Whether the computer can be the asset of any drive.
    pub fn may_hold(self, live_image: bool) -> bool {
        match self {
            HostIsAsset::True => true,
            HostIsAsset::False => false,
            HostIsAsset::Auto => live_image,
        }
    }
}

/// Whether this process runs on the live image (its `/init` exported the kernel command line).
pub fn on_live_image() -> bool {
    std::env::var_os(crate::boot_options::ENV).is_some()
}

/// The name of the person operating a station, as signed into every certificate: never empty,
/// one line, printable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Operator(String);

/// Longest operator name, in characters.
pub const MAX_OPERATOR_CHARS: usize = 200;

impl Operator {
    /// Checks a name given in the config, with `--operator` or `--set station.operator=`.
    pub fn new(name: &str) -> Result<Operator, ConfigError> {
        let name = name.trim();
        let bad = |message: &str| ConfigError::Invalid {
            setting: "station.operator".into(),
            message: message.into(),
        };
        if name.is_empty() {
            return Err(bad(
                "is empty; certificates must name the person who performed the sanitization \
                 (--operator \"A. Technician\")",
            ));
        }
        if let Some(why) = crate::identifier::problem(name) {
            return Err(bad(&why));
        }
        if name.chars().count() > MAX_OPERATOR_CHARS {
            return Err(bad("is longer than 200 characters"));
        }
        Ok(Operator(name.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Operator {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Operator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Operator {
    type Error = ConfigError;

    fn try_from(name: String) -> Result<Operator, ConfigError> {
        Operator::new(&name)
    }
}

impl From<Operator> for String {
    fn from(o: Operator) -> String {
        o.0
    }
}

impl Config {
    /// Settings a certificate needs that are not configured: the organisation's name, a
    /// station id of its own (not a placeholder host name), an operator (not the placeholder
    /// `operator`). Each as the line a person fixes it with.
    pub fn unconfigured(&self) -> Vec<String> {
        let mut missing = Vec::new();
        if self.organisation.name.trim().is_empty() {
            missing.push("organisation.name (and organisation.address)".to_string());
        }
        if is_placeholder_station_id(&self.station.id) {
            missing.push(format!(
                "station.id (now \"{}\", a placeholder)",
                self.station.id
            ));
        }
        if self.station.operator.as_str() == "operator" {
            missing.push("station.operator (now the placeholder \"operator\")".to_string());
        }
        missing
    }
}

/// Host names that say nothing about which station this is.
pub fn is_placeholder_station_id(id: &str) -> bool {
    matches!(
        id.trim(),
        "" | "(none)" | "station" | "localhost" | "localhost.localdomain"
    )
}

impl Default for Station {
    fn default() -> Self {
        Station {
            id: default_station_id(),
            operator: default_operator(),
            auto: None,
            auto_delay: 10,
            auto_existing: false,
            poweroff_when_done: false,
            host_is_asset: HostIsAsset::Auto,
        }
    }
}

/// Defaults for commands, each overridable by that command's flags.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Defaults {
    /// Erasure method used when `wipe` gets no `--method`.
    pub method: String,
    /// Verification mode: `none`, `sample[:PCT]` or `full`.
    pub verify: String,
    /// What happens to the media next: reuse, resale, recycle or destroy.
    pub destination: Destination,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            method: "zero".into(),
            verify: "sample:10".into(),
            destination: Destination::Reuse,
        }
    }
}

/// Where things live; relative paths are inside the state directory.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Paths {
    /// Directory for certificates (PDF and JSON).
    pub certificates: PathBuf,
    /// Directory for resume checkpoints of interrupted wipes.
    pub checkpoints: PathBuf,
    /// Directory for the station's signing key and trusted public keys.
    pub keys: PathBuf,
    /// The register database.
    pub register: PathBuf,
    /// The register as a URL, instead of `register`: `postgres://USER@HOST/DATABASE` for a
    /// central register on PostgreSQL (or `sqlite:PATH`). `--database` overrides it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    /// Directory for collection reports.
    pub reports: PathBuf,
    /// An export medium (mount point) that must never be wiped, if any.
    pub export: Option<PathBuf>,
}

impl Default for Paths {
    fn default() -> Self {
        Paths {
            certificates: "certificates".into(),
            checkpoints: "checkpoints".into(),
            keys: "keys".into(),
            register: "register.sqlite".into(),
            database: None,
            reports: "reports".into(),
            export: None,
        }
    }
}

/// Where certificates are synced to.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct SyncSettings {
    /// URL of the central register, e.g. `https://register.example:7070`; empty: none.
    pub register: String,
    /// CA certificate (PEM) trusted for an `https://` register besides the system's roots,
    /// e.g. the recycler's own CA; relative to the state directory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

/// What a central register says about itself.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct RegisterSettings {
    /// The URL stations and auditors reach this register at, e.g.
    /// `https://register.example:7070`; empty: not known. Certificates its CA issues then name
    /// `PUBLIC_URL/api/v1/crl` as where their revocation list is published.
    pub public_url: String,
}

impl RegisterSettings {
    /// The CRL's URL, when the public URL is known.
    pub fn crl_url(&self) -> Option<String> {
        let base = self.public_url.trim().trim_end_matches('/');
        (!base.is_empty()).then(|| format!("{base}/api/v1/crl"))
    }
}

/// The whole config file.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub organisation: Organisation,
    pub station: Station,
    pub defaults: Defaults,
    pub paths: Paths,
    pub sync: SyncSettings,
    /// The central register's own settings (when this state directory serves one).
    pub register: RegisterSettings,
    /// The customer's own asset systems (Snipe-IT, GLPI) that certificates are sent to.
    #[serde(rename = "connector", skip_serializing_if = "Vec::is_empty")]
    pub connectors: Vec<crate::connector::ConnectorSettings>,
}

impl Config {
    /// Parses a config file's text.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        crate::connector::validate(&config.connectors).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Ok(config)
    }

    /// Sets one setting by its dotted name, e.g. `station.operator=Ann Smith`.
    pub fn apply_override(&mut self, assignment: &str) -> Result<(), ConfigError> {
        let (key, value) = assignment
            .split_once('=')
            .ok_or_else(|| ConfigError::Override {
                setting: assignment.into(),
                message: "expected KEY=VALUE, e.g. station.operator=Ann".into(),
            })?;
        let key = key.trim();
        let err = |message: String| ConfigError::Override {
            setting: key.into(),
            message,
        };
        let doc = toml::Table::try_from(&*self).map_err(|e| err(e.to_string()))?;
        let (section, field) = key
            .split_once('.')
            .ok_or_else(|| err("expected SECTION.KEY, e.g. organisation.name".into()))?;
        doc.get(section)
            .and_then(|v| v.as_table())
            .ok_or_else(|| err(format!("unknown section `{section}`")))?;
        // A value is text unless the setting wants a number or a switch.
        let mut candidates = vec![toml::Value::String(value.to_string())];
        if let Ok(n) = value.trim().parse::<i64>() {
            candidates.push(toml::Value::Integer(n));
        }
        // Switches take true/false, and yes/no, on/off, 1/0 as kernel options write them.
        match value.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => candidates.push(toml::Value::Boolean(true)),
            "0" | "false" | "no" | "off" => candidates.push(toml::Value::Boolean(false)),
            _ => {}
        }
        let mut first_error = None;
        for candidate in candidates {
            let mut doc = doc.clone();
            if let Some(t) = doc.get_mut(section).and_then(|v| v.as_table_mut()) {
                t.insert(field.to_string(), candidate);
            }
            match doc.try_into() {
                Ok(config) => {
                    *self = config;
                    return Ok(());
                }
                Err(e) => {
                    let e: toml::de::Error = e;
                    first_error.get_or_insert(e.to_string().trim().replace('\n', " "));
                }
            }
        }
        Err(err(first_error.unwrap_or_default()))
    }

    /// Renders the config as TOML with a short header.
    pub fn to_toml(&self) -> String {
        let body = toml::to_string_pretty(self).unwrap_or_default();
        format!(
            "# wipeproof station configuration.\n\
             # Every setting can be overridden for one run with --set SECTION.KEY=VALUE.\n\n{body}"
        )
    }
}

/// The state directory, resolved and created, with the loaded config.
#[derive(Debug, Clone)]
pub struct StateDir {
    root: PathBuf,
    /// The effective config (file plus overrides).
    pub config: Config,
}

/// Whether opening the state directory created it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    New,
    Existing,
}

impl StateDir {
    /// The default state directory for this user and environment.
    pub fn default_root() -> Result<PathBuf, ConfigError> {
        if let Some(home) = std::env::var_os("WIPEPROOF_HOME").filter(|v| !v.is_empty()) {
            return Ok(PathBuf::from(home));
        }
        if nix::unistd::geteuid().is_root() {
            return Ok(PathBuf::from("/var/lib/wipeproof"));
        }
        if let Some(xdg) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
            return Ok(PathBuf::from(xdg).join("wipeproof"));
        }
        let home = std::env::var_os("HOME")
            .filter(|v| !v.is_empty())
            .ok_or(ConfigError::NoHome)?;
        Ok(PathBuf::from(home).join(".local/share/wipeproof"))
    }

    /// Opens (creating on first use) the state directory at `root`.
    pub fn open(root: &Path) -> Result<(StateDir, Created), ConfigError> {
        crate::durable::create_dir_all_mode(root, 0o700).map_err(|source| {
            ConfigError::CreateDir {
                path: root.to_path_buf(),
                source,
            }
        })?;
        let root = fs::canonicalize(root).map_err(|source| ConfigError::CreateDir {
            path: root.to_path_buf(),
            source,
        })?;
        let path = root.join(CONFIG_FILE);
        match fs::read_to_string(&path) {
            Ok(text) => {
                let config = Config::parse(&text, &path)?;
                Ok((StateDir { root, config }, Created::Existing))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let config = Config::default();
                crate::durable::write_atomic(&path, config.to_toml().as_bytes())
                    .map_err(|source| ConfigError::Write { path, source })?;
                Ok((StateDir { root, config }, Created::New))
            }
            Err(source) => Err(ConfigError::Read { path, source }),
        }
    }

    /// Opens the state directory at `root` only if it exists (never creates it).
    pub fn open_existing(root: &Path) -> Result<Option<StateDir>, ConfigError> {
        if !root.join(CONFIG_FILE).is_file() {
            return Ok(None);
        }
        Self::open(root).map(|(s, _)| Some(s))
    }

    /// The state directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The config file's path.
    pub fn config_path(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }

    /// Resolves a configured path against the state directory.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.root.join(p)
        }
    }

    /// Directory for certificates.
    pub fn certificates_dir(&self) -> PathBuf {
        self.resolve(&self.config.paths.certificates)
    }

    /// Directory for checkpoints.
    pub fn checkpoints_dir(&self) -> PathBuf {
        self.resolve(&self.config.paths.checkpoints)
    }

    /// Directory for keys.
    pub fn keys_dir(&self) -> PathBuf {
        self.resolve(&self.config.paths.keys)
    }

    /// The register database file.
    pub fn register_path(&self) -> PathBuf {
        self.resolve(&self.config.paths.register)
    }

    /// Where the register is: `paths.database` if set (a relative `sqlite:` path is inside the
    /// state directory), else the file `paths.register`.
    pub fn register_location(&self) -> Result<crate::register::Location, ConfigError> {
        use crate::register::Location;
        match &self.config.paths.database {
            None => Ok(Location::Sqlite(self.register_path())),
            Some(url) => match Location::parse(url) {
                Ok(Location::Sqlite(path)) => Ok(Location::Sqlite(self.resolve(&path))),
                Ok(other) => Ok(other),
                Err(why) => Err(ConfigError::Invalid {
                    setting: format!("paths.database in {}:", self.config_path().display()),
                    message: why,
                }),
            },
        }
    }

    /// Directory for collection reports.
    pub fn reports_dir(&self) -> PathBuf {
        self.resolve(&self.config.paths.reports)
    }

    /// Paths whose devices (and files, by identity) the guard must protect: the state directory
    /// and what it keeps, also where the config moves it elsewhere (certificates, keys, the
    /// register, checkpoints), and the export medium.
    pub fn protected_paths(&self) -> Vec<PathBuf> {
        let mut paths = vec![
            self.root.clone(),
            self.certificates_dir(),
            self.keys_dir(),
            self.register_path(),
            self.checkpoints_dir(),
        ];
        if let Some(export) = &self.config.paths.export {
            paths.push(self.resolve(export));
        }
        paths
    }
}

fn default_station_id() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "station".into())
}

fn default_operator() -> Operator {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find_map(|v| Operator::new(&v).ok())
        .unwrap_or_else(|| Operator("operator".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_open_creates_default_config_then_reads_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("state");
        let (state, created) = StateDir::open(&root).unwrap();
        assert_eq!(created, Created::New);
        assert!(state.config_path().exists());
        let (again, created) = StateDir::open(&root).unwrap();
        assert_eq!(created, Created::Existing);
        assert_eq!(again.config, state.config);
    }

    #[test]
    fn override_sets_nested_value_and_rejects_unknown_keys() {
        let mut config = Config::default();
        config
            .apply_override("organisation.name=Acme Recycling Ltd")
            .unwrap();
        assert_eq!(config.organisation.name, "Acme Recycling Ltd");
        config.apply_override("station.operator=A = B").unwrap();
        assert_eq!(config.station.operator.as_str(), "A = B");
        assert!(config.apply_override("station.colour=red").is_err());
        assert!(config.apply_override("nosuch.key=1").is_err());
        assert!(config.apply_override("novalue").is_err());
    }

    #[test]
    fn station_settings_parse_and_override_as_numbers_and_switches() {
        let text = "[station]\nauto = \"zero\"\nauto_delay = 3\nauto_existing = true\n";
        let mut config = Config::parse(text, Path::new("wipeproof.toml")).unwrap();
        assert_eq!(config.station.auto.as_deref(), Some("zero"));
        assert_eq!(config.station.auto_delay, 3);
        assert!(config.station.auto_existing && !config.station.poweroff_when_done);
        config.apply_override("station.auto_delay=5").unwrap();
        config
            .apply_override("station.poweroff_when_done=true")
            .unwrap();
        config.apply_override("station.auto=random").unwrap();
        assert_eq!(config.station.auto_delay, 5);
        assert!(config.station.poweroff_when_done);
        assert_eq!(config.station.auto.as_deref(), Some("random"));
        assert!(config.apply_override("station.auto_delay=soon").is_err());
        config.apply_override("station.auto_existing=0").unwrap();
        assert!(!config.station.auto_existing);
        config.apply_override("station.auto_existing=1").unwrap();
        assert!(config.station.auto_existing);
        assert_eq!(config.station.host_is_asset, HostIsAsset::Auto);
        for (value, want) in [
            ("true", HostIsAsset::True),
            ("0", HostIsAsset::False),
            ("auto", HostIsAsset::Auto),
            ("yes", HostIsAsset::True),
        ] {
            config
                .apply_override(&format!("station.host_is_asset={value}"))
                .unwrap();
            assert_eq!(config.station.host_is_asset, want, "{value}");
        }
        let e = config
            .apply_override("station.host_is_asset=maybe")
            .unwrap_err()
            .to_string();
        assert!(e.contains("true, false or \"auto\""), "{e}");
        let text = "[station]\nhost_is_asset = false\n";
        let parsed = Config::parse(text, Path::new("wipeproof.toml")).unwrap();
        assert_eq!(parsed.station.host_is_asset, HostIsAsset::False);
        let text = "[station]\nhost_is_asset = \"auto\"\n";
        let parsed = Config::parse(text, Path::new("wipeproof.toml")).unwrap();
        assert_eq!(parsed.station.host_is_asset, HostIsAsset::Auto);
        assert!(!HostIsAsset::Auto.holds(false, true, false));
        assert!(HostIsAsset::Auto.holds(true, true, false));
        assert!(!HostIsAsset::Auto.holds(true, true, true), "USB");
        assert!(!HostIsAsset::Auto.holds(true, false, false), "hot-plugged");
        assert!(HostIsAsset::True.holds(false, true, true));
        assert!(!HostIsAsset::False.holds(true, true, false));
        config.apply_override("defaults.verify=10").unwrap();
        assert_eq!(
            config.defaults.verify, "10",
            "a text setting keeps digits as text"
        );
        assert_eq!(Config::default().station.auto_delay, 10);
    }

    #[test]
    fn malformed_config_names_the_file() {
        let err = Config::parse("[station\nid=", Path::new("/x/wipeproof.toml")).unwrap_err();
        assert!(err.to_string().contains("/x/wipeproof.toml"), "{err}");
    }

    #[test]
    fn destination_and_operator_are_checked_wherever_they_are_set() {
        let mut config = Config::default();
        for bad in [
            "defaults.destination=landfill",
            "defaults.destination=",
            "station.operator=",
            "station.operator=   ",
            "station.operator=Ann\u{7}",
        ] {
            assert!(config.apply_override(bad).is_err(), "{bad} was accepted");
        }
        config
            .apply_override("defaults.destination=recycle")
            .unwrap();
        assert_eq!(config.defaults.destination, Destination::Recycle);
        assert_eq!(config, {
            let mut c = Config::default();
            c.defaults.destination = Destination::Recycle;
            c
        });
        for text in [
            "[defaults]\ndestination = \"landfill\"\n",
            "[station]\noperator = \"\"\n",
        ] {
            let e = Config::parse(text, Path::new("/x/wipeproof.toml"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("/x/wipeproof.toml")
                    && (e.contains("reuse, resale, recycle or destroy") || e.contains("is empty")),
                "{e}"
            );
        }
        let e = Operator::new("").unwrap_err().to_string();
        assert!(e.starts_with("station.operator is empty"), "{e}");
    }
}
