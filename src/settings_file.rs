//! Writing settings into `wipeproof.toml` the way a person would: the values change, the
//! file's comments, order and layout stay.
//!
//! The station's first start asks for what certificates need (the organisation, the station's
//! id, the operator) and keeps the answers here, so the next start, and a stick moved to
//! another machine, has them. The new text is checked as a config before it replaces the old
//! one, and replaces it atomically: a power cut leaves the old file or the new one.

use std::path::Path;

use toml_edit::{DocumentMut, Item, Table, value};

use crate::config::{Config, ConfigError};

/// Sets each `section.key` to its text value in the config file at `path` (created when it
/// does not exist) and returns the config the file now holds.
pub fn write_settings(path: &Path, settings: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let changed = with_settings(&text, path, settings)?;
    let config = Config::parse(&changed, path)?;
    crate::durable::write_atomic(path, changed.as_bytes()).map_err(|source| {
        ConfigError::Write {
            path: path.to_path_buf(),
            source,
        }
    })?;
    Ok(config)
}

/// `text` with each setting set, everything else as it was.
fn with_settings(
    text: &str,
    path: &Path,
    settings: &[(&str, &str)],
) -> Result<String, ConfigError> {
    let mut doc: DocumentMut =
        text.parse()
            .map_err(|e: toml_edit::TomlError| ConfigError::Parse {
                path: path.to_path_buf(),
                message: e.to_string().trim().replace('\n', " "),
            })?;
    for (key, text) in settings {
        let (section, field) = key.split_once('.').ok_or_else(|| ConfigError::Override {
            setting: key.to_string(),
            message: "expected SECTION.KEY, e.g. organisation.name".into(),
        })?;
        let table = doc
            .entry(section)
            .or_insert_with(|| Item::Table(Table::new()))
            .as_table_mut()
            .ok_or_else(|| ConfigError::Parse {
                path: path.to_path_buf(),
                message: format!("`{section}` is not a section"),
            })?;
        match table.get_mut(field).and_then(Item::as_value_mut) {
            // A comment after the old value stays after the new one.
            Some(old) => {
                let decor = old.decor().clone();
                *old = toml_edit::Value::from(*text);
                *old.decor_mut() = decor;
            }
            None => table[field] = value(*text),
        }
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "# Written by hand: keep this.\n\
                        [organisation]\n\
                        name = \"\" # who signs\n\
                        \n\
                        [station]\n\
                        # the bay's label\n\
                        id = \"(none)\"\n\
                        auto_delay = 7\n";

    #[test]
    fn values_change_and_comments_stay() {
        let out = with_settings(
            FILE,
            Path::new("wipeproof.toml"),
            &[
                ("organisation.name", "Acme \"Recycling\" Ltd"),
                ("organisation.address", "1 Dock Road, Leeds"),
                ("station.id", "bay-7"),
            ],
        )
        .unwrap();
        for kept in [
            "# Written by hand: keep this.",
            "# who signs",
            "# the bay's label",
        ] {
            assert!(out.contains(kept), "{out}");
        }
        let config = Config::parse(&out, Path::new("wipeproof.toml")).unwrap();
        assert_eq!(config.organisation.name, "Acme \"Recycling\" Ltd");
        assert_eq!(config.organisation.address, "1 Dock Road, Leeds");
        assert_eq!(config.station.id, "bay-7");
        assert_eq!(config.station.auto_delay, 7);
    }

    #[test]
    fn a_missing_file_is_created_and_a_bad_value_leaves_the_file_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wipeproof.toml");
        let config = write_settings(&path, &[("station.id", "bay-1")]).unwrap();
        assert_eq!(config.station.id, "bay-1");
        let before = std::fs::read_to_string(&path).unwrap();
        let err = write_settings(&path, &[("station.operator", "  ")]).unwrap_err();
        assert!(err.to_string().contains("station.operator"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), before);
    }
}
