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
    pub operator: String,
}

impl Default for Station {
    fn default() -> Self {
        Station {
            id: default_station_id(),
            operator: default_operator(),
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
    pub destination: String,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            method: "zero".into(),
            verify: "sample:10".into(),
            destination: "reuse".into(),
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
            reports: "reports".into(),
            export: None,
        }
    }
}

/// Where certificates are synced to.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct SyncSettings {
    /// URL of the central register, e.g. `http://10.0.0.5:7070`; empty: none.
    pub register: String,
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
}

impl Config {
    /// Parses a config file's text.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim().replace('\n', " "),
        })
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
        let mut doc = toml::Table::try_from(&*self).map_err(|e| err(e.to_string()))?;
        let (section, field) = key
            .split_once('.')
            .ok_or_else(|| err("expected SECTION.KEY, e.g. organisation.name".into()))?;
        if !doc.get(section).is_some_and(|v| v.is_table()) {
            return Err(err(format!("unknown section `{section}`")));
        }
        // The value is text; a setting that is a number or a yes/no takes it as that type.
        let mut candidates = vec![toml::Value::String(value.to_string())];
        if let Ok(n) = value.trim().parse::<i64>() {
            candidates.push(toml::Value::Integer(n));
        }
        match value.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => candidates.push(toml::Value::Boolean(true)),
            "0" | "false" | "no" | "off" => candidates.push(toml::Value::Boolean(false)),
            _ => {}
        }
        let mut first_error = None;
        for candidate in candidates {
            if let Some(t) = doc.get_mut(section).and_then(|v| v.as_table_mut()) {
                t.insert(field.to_string(), candidate);
            }
            match toml::Value::Table(doc.clone()).try_into::<Config>() {
                Ok(config) => {
                    *self = config;
                    return Ok(());
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let e = first_error.map(|e| e.to_string()).unwrap_or_default();
        Err(err(e.trim().replace('\n', " ")))
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

    /// Directory for collection reports.
    pub fn reports_dir(&self) -> PathBuf {
        self.resolve(&self.config.paths.reports)
    }

    /// Paths whose devices the guard must protect: the state directory (certificates are
    /// written there) and the export medium.
    pub fn protected_paths(&self) -> Vec<PathBuf> {
        let mut paths = vec![self.root.clone(), self.certificates_dir()];
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

fn default_operator() -> String {
    ["SUDO_USER", "USER", "LOGNAME"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.is_empty())
        .unwrap_or_else(|| "operator".into())
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
        assert_eq!(config.station.operator, "A = B");
        assert!(config.apply_override("station.colour=red").is_err());
        assert!(config.apply_override("nosuch.key=1").is_err());
        assert!(config.apply_override("novalue").is_err());
    }

    #[test]
    fn override_takes_numbers_and_yes_no_for_settings_of_those_types() {
        let mut config = Config::default();
        config.apply_override("defaults.verify=10").unwrap();
        assert_eq!(
            config.defaults.verify, "10",
            "a text setting keeps digits as text"
        );
    }

    #[test]
    fn malformed_config_names_the_file() {
        let err = Config::parse("[station\nid=", Path::new("/x/wipeproof.toml")).unwrap_err();
        assert!(err.to_string().contains("/x/wipeproof.toml"), "{err}");
    }
}
