//! Which column of a manifest holds which field, and what separates the columns.
//!
//! A manifest made for wipeproof names its columns `asset_tag`, `serial`, `type`, `make`,
//! `model`, `customer_ref` and `media_serials`. Exports of other systems name them their own
//! way: a [`Profile`] knows the names of a Snipe-IT hardware export and a GLPI computer export,
//! and `--map 'asset_tag=Asset Tag,serial=Serial'` names any column for any field. Header
//! names are compared without regard to case or surrounding spaces.
//!
//! The delimiter (comma, semicolon or tab) is found from the header row: the one under which
//! the header holds the required columns, else the one that splits it into most columns.

use std::collections::BTreeMap;
use std::str::FromStr;

/// A field of an asset that wipeproof understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    AssetTag,
    Serial,
    Type,
    Make,
    Model,
    CustomerRef,
    /// The serials of the drives inside the asset, separated by `;` within the field.
    MediaSerials,
}

impl Field {
    pub const ALL: [Field; 7] = [
        Field::AssetTag,
        Field::Serial,
        Field::Type,
        Field::Make,
        Field::Model,
        Field::CustomerRef,
        Field::MediaSerials,
    ];

    /// The field's name, and the column name of a manifest made for wipeproof.
    pub fn name(self) -> &'static str {
        match self {
            Field::AssetTag => "asset_tag",
            Field::Serial => "serial",
            Field::Type => "type",
            Field::Make => "make",
            Field::Model => "model",
            Field::CustomerRef => "customer_ref",
            Field::MediaSerials => "media_serials",
        }
    }

    /// Fields every row must have.
    pub fn required(self) -> bool {
        matches!(self, Field::AssetTag | Field::Serial)
    }

    /// Fields that identify a thing (no control characters, bounded length).
    pub fn identifies(self) -> bool {
        matches!(self, Field::AssetTag | Field::Serial | Field::MediaSerials)
    }

    fn parse(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// Column names of a known system's export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Profile {
    /// wipeproof's own column names.
    #[default]
    Wipeproof,
    /// A Snipe-IT hardware export: "Asset Tag", "Serial", "Category", "Manufacturer", "Model",
    /// "Asset Name".
    SnipeIt,
    /// A GLPI computer export: "Inventory number", "Serial number", "Type", "Manufacturer",
    /// "Model", "Name".
    Glpi,
}

impl Profile {
    fn columns(self) -> &'static [(Field, &'static str)] {
        match self {
            Profile::Wipeproof => &[],
            Profile::SnipeIt => &[
                (Field::AssetTag, "Asset Tag"),
                (Field::Serial, "Serial"),
                (Field::Type, "Category"),
                (Field::Make, "Manufacturer"),
                (Field::Model, "Model"),
                (Field::CustomerRef, "Asset Name"),
            ],
            Profile::Glpi => &[
                (Field::AssetTag, "Inventory number"),
                (Field::Serial, "Serial number"),
                (Field::Type, "Type"),
                (Field::Make, "Manufacturer"),
                (Field::Model, "Model"),
                (Field::CustomerRef, "Name"),
            ],
        }
    }
}

impl FromStr for Profile {
    type Err = ColumnMapError;

    fn from_str(s: &str) -> Result<Profile, ColumnMapError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "wipeproof" => Ok(Profile::Wipeproof),
            "snipeit" | "snipe-it" => Ok(Profile::SnipeIt),
            "glpi" => Ok(Profile::Glpi),
            other => Err(ColumnMapError(format!(
                "no profile `{other}`; known profiles: wipeproof, snipeit, glpi"
            ))),
        }
    }
}

/// A mistake in a column mapping.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ColumnMapError(String);

/// Where a field's column comes from; a column named by the user must be in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    header: String,
    named_by_user: bool,
}

/// The header name of each field's column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    columns: BTreeMap<Field, Column>,
}

impl Default for ColumnMap {
    fn default() -> ColumnMap {
        ColumnMap::profile(Profile::Wipeproof)
    }
}

impl ColumnMap {
    /// The column names of `profile`; fields it does not name keep wipeproof's names.
    pub fn profile(profile: Profile) -> ColumnMap {
        let mut columns: BTreeMap<Field, Column> = Field::ALL
            .into_iter()
            .map(|f| {
                let column = Column {
                    header: f.name().into(),
                    named_by_user: false,
                };
                (f, column)
            })
            .collect();
        for (field, header) in profile.columns() {
            columns.insert(
                *field,
                Column {
                    header: (*header).into(),
                    named_by_user: false,
                },
            );
        }
        ColumnMap { columns }
    }

    /// Applies a mapping `FIELD=COLUMN,FIELD=COLUMN`, e.g. `asset_tag=Asset Tag,serial=Serial`.
    pub fn with_map(mut self, spec: &str) -> Result<ColumnMap, ColumnMapError> {
        let known = || {
            Field::ALL
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut given = Vec::new();
        for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (field, header) = item.split_once('=').ok_or_else(|| {
                ColumnMapError(format!(
                    "`{item}` is not FIELD=COLUMN, e.g. asset_tag=Asset Tag"
                ))
            })?;
            let name = field.trim().to_ascii_lowercase();
            let field = Field::parse(&name).ok_or_else(|| {
                ColumnMapError(format!(
                    "`{}` is not a field; the fields are {}",
                    field.trim(),
                    known()
                ))
            })?;
            let header = header.trim();
            if header.is_empty() {
                return Err(ColumnMapError(format!(
                    "`{item}` names no column for {}",
                    field.name()
                )));
            }
            if given.contains(&field) {
                return Err(ColumnMapError(format!(
                    "{} is mapped twice; map each field once",
                    field.name()
                )));
            }
            given.push(field);
            self.columns.insert(
                field,
                Column {
                    header: header.into(),
                    named_by_user: true,
                },
            );
        }
        if given.is_empty() {
            return Err(ColumnMapError(format!(
                "the mapping is empty; give FIELD=COLUMN pairs separated by commas (fields: {})",
                known()
            )));
        }
        Ok(self)
    }

    /// The header name of `field`'s column.
    pub fn header(&self, field: Field) -> &str {
        self.columns
            .get(&field)
            .map(|c| c.header.as_str())
            .unwrap_or(field.name())
    }

    /// Whether the file must have `field`'s column.
    pub fn must_exist(&self, field: Field) -> bool {
        field.required() || self.columns.get(&field).is_some_and(|c| c.named_by_user)
    }
}

/// Compares header names as a person would: case and surrounding spaces do not matter.
pub fn same_header(a: &str, b: &str) -> bool {
    a.trim().to_lowercase() == b.trim().to_lowercase()
}

/// What separates the columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delimiter {
    Comma,
    Semicolon,
    Tab,
}

impl Delimiter {
    pub const ALL: [Delimiter; 3] = [Delimiter::Comma, Delimiter::Semicolon, Delimiter::Tab];

    pub fn byte(self) -> u8 {
        match self {
            Delimiter::Comma => b',',
            Delimiter::Semicolon => b';',
            Delimiter::Tab => b'\t',
        }
    }

    /// How a person would name it in a message.
    pub fn describe(self) -> &'static str {
        match self {
            Delimiter::Comma => "commas",
            Delimiter::Semicolon => "semicolons",
            Delimiter::Tab => "tabs",
        }
    }
}

/// The header's fields under `delimiter`, or `None` if the header cannot be read with it.
pub fn header_fields(bytes: &[u8], delimiter: Delimiter) -> Option<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter.byte())
        .from_reader(bytes);
    let mut record = csv::StringRecord::new();
    match reader.read_record(&mut record) {
        Ok(true) => Some(record.iter().map(|s| s.trim().to_string()).collect()),
        _ => None,
    }
}

/// The delimiter of a manifest: the one under which the header has most of the columns that
/// must exist, then the one giving most columns; comma when nothing tells them apart.
pub fn detect_delimiter(bytes: &[u8], map: &ColumnMap) -> Delimiter {
    let score = |d: Delimiter| -> (usize, usize) {
        let Some(headers) = header_fields(bytes, d) else {
            return (0, 0);
        };
        let found = Field::ALL
            .into_iter()
            .filter(|f| map.must_exist(*f))
            .filter(|f| headers.iter().any(|h| same_header(h, map.header(*f))))
            .count();
        (found, headers.len())
    };
    let mut best = Delimiter::Comma;
    let mut best_score = score(best);
    for d in [Delimiter::Semicolon, Delimiter::Tab] {
        let s = score(d);
        if s > best_score {
            best = d;
            best_score = s;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_overrides_a_profile_and_names_mistakes() {
        let map = ColumnMap::profile(Profile::SnipeIt)
            .with_map("serial = Serial No.")
            .unwrap();
        assert_eq!(map.header(Field::AssetTag), "Asset Tag");
        assert_eq!(map.header(Field::Serial), "Serial No.");
        assert!(map.must_exist(Field::Serial));
        assert!(!map.must_exist(Field::Model));
        for (bad, says) in [
            ("tag=Asset Tag", "not a field"),
            ("asset_tag", "not FIELD=COLUMN"),
            ("asset_tag=", "names no column"),
            ("serial=A,serial=B", "mapped twice"),
            ("", "empty"),
        ] {
            let e = ColumnMap::default().with_map(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad}: {e}");
        }
        assert!("landfill".parse::<Profile>().is_err());
        assert_eq!("GLPI".parse::<Profile>().unwrap(), Profile::Glpi);
    }

    #[test]
    fn the_delimiter_is_the_one_that_finds_the_columns() {
        let map = ColumnMap::default();
        assert_eq!(
            detect_delimiter(b"asset_tag;serial;model\nA;1;x,y\n", &map),
            Delimiter::Semicolon
        );
        assert_eq!(
            detect_delimiter(b"asset_tag\tserial\nA\t1\n", &map),
            Delimiter::Tab
        );
        assert_eq!(
            detect_delimiter(b"asset_tag,serial,notes\nA,1,a;b;c\n", &map),
            Delimiter::Comma
        );
        // A semicolon inside a quoted header name does not make it a semicolon file.
        assert_eq!(
            detect_delimiter(b"asset_tag,serial,\"a;b;c;d\"\n", &map),
            Delimiter::Comma
        );
        assert_eq!(detect_delimiter(b"", &map), Delimiter::Comma);
    }
}
