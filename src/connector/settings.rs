//! The `[[connector]]` entries of `wipeproof.toml`: what a customer's asset system is, where it
//! is, and where its token comes from. Checked when the config is loaded, so a mistake is told
//! before any wipe, naming the connector.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Which asset system a connector talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectorKind {
    /// Snipe-IT, REST API v1.
    Snipeit,
    /// GLPI, `apirest.php`.
    Glpi,
}

impl ConnectorKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            ConnectorKind::Snipeit => "snipeit",
            ConnectorKind::Glpi => "glpi",
        }
    }
}

/// One `[[connector]]` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorSettings {
    /// Unique name, used by `sync --only NAME` and in the delivery log.
    pub name: String,
    pub kind: ConnectorKind,
    /// Base URL, e.g. `https://assets.example.com` (Snipe-IT) or
    /// `https://glpi.example.com/apirest.php` (GLPI).
    pub url: String,
    /// Environment variable that holds the API token (Snipe-IT personal access token, GLPI
    /// user token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_env: Option<String>,
    /// File that holds the API token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_file: Option<PathBuf>,
    /// GLPI only: environment variable that holds the App-Token, if the API client needs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_token_env: Option<String>,
    /// GLPI only: file that holds the App-Token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_token_file: Option<PathBuf>,
    /// Status label (Snipe-IT, of type archived) or State (GLPI) of a wiped asset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retired_status: Option<String>,
    /// Status label or State of a physically destroyed asset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destroyed_status: Option<String>,
    /// Snipe-IT only: custom field (db column, e.g. `_snipeit_wipe_certificate_5`) that gets
    /// the certificate id and result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_field: Option<String>,
    /// GLPI only: the item type assets are kept as (default `Computer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_type: Option<String>,
    /// Seconds allowed for one request (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// Never accepted: present only to refuse a token written into the file.
    #[serde(default, skip_serializing)]
    pub token: Option<String>,
}

impl ConnectorSettings {
    /// Time allowed for one request.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds.unwrap_or(30).max(1))
    }

    /// The GLPI item type assets are kept as.
    pub fn item_type(&self) -> &str {
        self.item_type.as_deref().unwrap_or("Computer")
    }
}

/// A `[[connector]]` entry that cannot work.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("[[connector]] {name}: {message}")]
pub struct SettingsError {
    pub name: String,
    pub message: String,
}

/// Checks every entry; the first problem is returned, naming its connector.
pub fn validate(connectors: &[ConnectorSettings]) -> Result<(), SettingsError> {
    let mut seen = std::collections::HashSet::new();
    for (i, c) in connectors.iter().enumerate() {
        let shown = if c.name.trim().is_empty() {
            format!("#{}", i + 1)
        } else {
            c.name.clone()
        };
        let bad = |message: String| SettingsError {
            name: shown.clone(),
            message,
        };
        if c.name.trim().is_empty() {
            return Err(bad(
                "name is empty; give each connector a unique name".into()
            ));
        }
        if !c
            .name
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'))
        {
            return Err(bad(
                "name may hold only letters, digits, '-', '_' and '.'".into()
            ));
        }
        if c.name == "register" {
            return Err(bad(
                "the name `register` is kept for the central register (`sync --only register`); choose another".into(),
            ));
        }
        if !seen.insert(c.name.as_str()) {
            return Err(bad(
                "the name is used by another connector; names must be unique".into(),
            ));
        }
        if c.token.is_some() {
            return Err(bad(
                "`token` is not accepted: never write the token into the config; use token_env = \"VARIABLE\" or token_file = \"/path\"".into(),
            ));
        }
        let url = c.url.trim();
        if !(url.starts_with("http://") || url.starts_with("https://"))
            || url.len() <= "https://".len()
        {
            return Err(bad(format!(
                "url `{}` is not an http:// or https:// URL",
                c.url
            )));
        }
        match (&c.token_env, &c.token_file) {
            (None, None) => {
                return Err(bad(
                    "no token: set token_env = \"VARIABLE\" or token_file = \"/path\"".into(),
                ));
            }
            (Some(_), Some(_)) => {
                return Err(bad("both token_env and token_file are set; keep one".into()));
            }
            (Some(v), None) if v.trim().is_empty() => {
                return Err(bad(
                    "token_env is empty; name an environment variable".into()
                ));
            }
            _ => {}
        }
        if c.app_token_env.is_some() && c.app_token_file.is_some() {
            return Err(bad(
                "both app_token_env and app_token_file are set; keep one".into(),
            ));
        }
        if c.kind != ConnectorKind::Glpi {
            for (set, field) in [
                (c.app_token_env.is_some(), "app_token_env"),
                (c.app_token_file.is_some(), "app_token_file"),
                (c.item_type.is_some(), "item_type"),
            ] {
                if set {
                    return Err(bad(format!(
                        "{field} is a GLPI setting; this is a {} connector",
                        c.kind.as_str()
                    )));
                }
            }
        }
        if c.kind != ConnectorKind::Snipeit && c.certificate_field.is_some() {
            return Err(bad(format!(
                "certificate_field is a Snipe-IT setting; this is a {} connector",
                c.kind.as_str()
            )));
        }
        for (value, field) in [
            (&c.retired_status, "retired_status"),
            (&c.destroyed_status, "destroyed_status"),
            (&c.certificate_field, "certificate_field"),
            (&c.item_type, "item_type"),
        ] {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(bad(format!("{field} is empty; remove it or give a value")));
            }
        }
        if c.timeout_seconds == Some(0) {
            return Err(bad("timeout_seconds must be at least 1".into()));
        }
    }
    Ok(())
}

/// Reads a secret from the environment variable or file the settings name.
pub(crate) fn read_secret(
    name: &str,
    what: &str,
    env: Option<&str>,
    file: Option<&std::path::Path>,
) -> Result<Option<String>, String> {
    if let Some(var) = env {
        return match std::env::var(var) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_string())),
            _ => Err(format!(
                "connector {name}: the {what} variable {var} is not set or empty; export it before `wipeproof sync`"
            )),
        };
    }
    if let Some(path) = file {
        return match std::fs::read_to_string(path) {
            Ok(v) if !v.trim().is_empty() => Ok(Some(v.trim().to_string())),
            Ok(_) => Err(format!(
                "connector {name}: the {what} file {} is empty",
                path.display()
            )),
            Err(e) => Err(format!(
                "connector {name}: cannot read the {what} file {}: {e}",
                path.display()
            )),
        };
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<ConnectorSettings>, String> {
        #[derive(Deserialize)]
        struct Doc {
            connector: Vec<ConnectorSettings>,
        }
        let doc: Doc = toml::from_str(text).map_err(|e| e.to_string())?;
        validate(&doc.connector).map_err(|e| e.to_string())?;
        Ok(doc.connector)
    }

    const GOOD: &str = r#"
[[connector]]
name = "acme-snipeit"
kind = "snipeit"
url = "https://assets.acme.example"
token_env = "SNIPEIT_TOKEN"
retired_status = "Wiped"
certificate_field = "_snipeit_wipe_certificate_5"

[[connector]]
name = "acme-glpi"
kind = "glpi"
url = "https://glpi.acme.example/apirest.php"
token_file = "/etc/wipeproof/glpi.token"
app_token_env = "GLPI_APP_TOKEN"
item_type = "Computer"
"#;

    #[test]
    fn a_good_file_parses() {
        let list = parse(GOOD).expect("valid");
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].kind, ConnectorKind::Snipeit);
        assert_eq!(list[1].item_type(), "Computer");
    }

    #[test]
    fn mistakes_are_refused_naming_the_connector() {
        let cases = [
            (
                GOOD.replace("token_env = \"SNIPEIT_TOKEN\"", "token = \"abc\""),
                "acme-snipeit: `token` is not accepted",
            ),
            (
                GOOD.replace("token_env = \"SNIPEIT_TOKEN\"\n", ""),
                "acme-snipeit: no token",
            ),
            (
                GOOD.replace(
                    "token_file = \"/etc/wipeproof/glpi.token\"",
                    "token_file = \"/t\"\ntoken_env = \"X\"",
                ),
                "acme-glpi: both token_env and token_file",
            ),
            (
                GOOD.replace("https://assets.acme.example", "assets.acme.example"),
                "acme-snipeit: url `assets.acme.example` is not",
            ),
            (
                GOOD.replace("acme-glpi", "acme-snipeit"),
                "acme-snipeit: the name is used by another",
            ),
            (
                GOOD.replace("retired_status = \"Wiped\"", "item_type = \"Computer\""),
                "acme-snipeit: item_type is a GLPI setting",
            ),
            (
                GOOD.replace("item_type = \"Computer\"", "certificate_field = \"x\""),
                "acme-glpi: certificate_field is a Snipe-IT setting",
            ),
            (
                GOOD.replace("kind = \"glpi\"", "kind = \"ralph\""),
                "unknown variant `ralph`",
            ),
        ];
        for (text, want) in cases {
            let err = parse(&text).expect_err(want);
            assert!(err.contains(want), "want {want:?} in {err}");
        }
    }

    #[test]
    fn a_secret_comes_from_the_named_variable_or_file_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("token");
        std::fs::write(&file, "s3cret\n").expect("write");
        assert_eq!(
            read_secret("c", "token", None, Some(&file)),
            Ok(Some("s3cret".into()))
        );
        let missing = read_secret("c", "token", Some("WIPEPROOF_TEST_NO_SUCH_VARIABLE"), None)
            .expect_err("unset variable");
        assert!(
            missing.contains("WIPEPROOF_TEST_NO_SUCH_VARIABLE"),
            "{missing}"
        );
        let err =
            read_secret("c", "token", None, Some(&dir.path().join("nope"))).expect_err("no file");
        assert!(err.contains("cannot read the token file"), "{err}");
    }
}
