//! Reading a customer's manifest (CSV) for intake.
//!
//! A header row names the columns; `asset_tag` and `serial` are required, `type`, `make`,
//! `model`, `customer_ref` and `media_serials` (the serials of the drives inside the asset,
//! separated by `;`) are known, and any other column is kept as extra data. Another system's
//! export is read through a [`ColumnMap`] (a profile, or columns named one by one). Comma,
//! semicolon or tab separated (found from the header), UTF-8 with or without a byte order
//! mark, CRLF or LF line ends, quoted fields. Every problem is reported with its line and
//! column, and one problem rejects the whole file.
//!
//! The reader is linear in the file's size and bounded: the file, each row, each field, the
//! number of rows and columns have limits, each named in its error. Tags and serials may not
//! hold control characters.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

mod columns;

pub use columns::{
    ColumnMap, ColumnMapError, Delimiter, Field, Profile, detect_delimiter, same_header,
};

pub use crate::register::manifest_row::{ManifestProblem, ManifestRow};

/// Most rows a manifest may have (a collection is a truckload, not a warehouse).
pub const MAX_ROWS: usize = 100_000;
/// Largest manifest file read.
pub const MAX_FILE_BYTES: u64 = 64 << 20;
/// Longest row, in bytes of its fields.
pub const MAX_ROW_BYTES: usize = 64 << 10;
/// Longest field.
pub const MAX_FIELD_BYTES: usize = 4 << 10;
/// Longest asset tag or serial, in characters.
pub const MAX_ID_CHARS: usize = 128;
/// Most columns a header may name.
pub const MAX_COLUMNS: usize = 256;
/// Problems listed before the reader stops looking.
const MAX_PROBLEMS: usize = 200;

/// How to read a manifest: which column holds which field (the delimiter is detected).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    pub columns: ColumnMap,
}

/// Reads a manifest file, refusing one larger than [`MAX_FILE_BYTES`] before reading it all.
pub fn read_file(path: &Path) -> Result<Vec<u8>, ManifestFileError> {
    let shown = || path.display().to_string();
    let file = std::fs::File::open(path).map_err(|source| ManifestFileError::Read {
        path: shown(),
        source,
    })?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| ManifestFileError::Read {
            path: shown(),
            source,
        })?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ManifestFileError::TooLarge { path: shown() });
    }
    Ok(bytes)
}

/// Why a manifest file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestFileError {
    #[error("cannot read the manifest {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "the manifest {path} is larger than {} MiB; split it into collections of at most {MAX_ROWS} assets",
        MAX_FILE_BYTES >> 20
    )]
    TooLarge { path: String },
}

/// Parses a manifest with wipeproof's own column names. `Err` lists every problem found (a
/// few hundred at most).
pub fn parse(bytes: &[u8]) -> Result<Vec<ManifestRow>, Vec<ManifestProblem>> {
    parse_with(bytes, &ReadOptions::default())
}

/// Parses a manifest whose columns `options` names.
pub fn parse_with(
    bytes: &[u8],
    options: &ReadOptions,
) -> Result<Vec<ManifestRow>, Vec<ManifestProblem>> {
    let map = &options.columns;
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let problem = |line: u64, column: Option<&str>, message: String| ManifestProblem {
        line,
        column: column.map(str::to_string),
        message,
    };
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(vec![problem(
            0,
            None,
            format!(
                "the file is larger than {} MiB; split it into collections of at most {MAX_ROWS} assets",
                MAX_FILE_BYTES >> 20
            ),
        )]);
    }
    let delimiter = detect_delimiter(bytes, map);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .delimiter(delimiter.byte())
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_string()).collect(),
        Err(e) => return Err(vec![problem(1, None, csv_message(&e))]),
    };
    let mut problems = Vec::new();
    if headers.iter().all(|h| h.is_empty()) {
        return Err(vec![problem(
            1,
            None,
            format!(
                "the file is empty; it needs a header row naming {} and {}",
                map.header(Field::AssetTag),
                map.header(Field::Serial)
            ),
        )]);
    }
    if headers.len() > MAX_COLUMNS {
        return Err(vec![problem(
            1,
            None,
            format!(
                "the header names {} columns; a manifest may have at most {MAX_COLUMNS}",
                headers.len()
            ),
        )]);
    }
    let mut seen_headers = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        if h.is_empty() {
            problems.push(problem(1, None, format!("column {} has no name", i + 1)));
        } else if h.len() > MAX_FIELD_BYTES || h.chars().any(char::is_control) {
            problems.push(problem(
                1,
                None,
                format!(
                    "column {} has a name longer than {MAX_FIELD_BYTES} bytes or with control characters",
                    i + 1
                ),
            ));
        } else if seen_headers.insert(h.to_lowercase(), ()).is_some() {
            problems.push(problem(1, Some(h), "the column appears twice".into()));
        }
    }
    // Each field's column, and every problem with finding them.
    let mut field_index: HashMap<Field, usize> = HashMap::new();
    for field in Field::ALL {
        let wanted = map.header(field);
        match headers.iter().position(|h| same_header(h, wanted)) {
            Some(i) => {
                field_index.insert(field, i);
            }
            None if map.must_exist(field) => {
                let mapped = if wanted == field.name() {
                    String::new()
                } else {
                    format!(" (for {})", field.name())
                };
                problems.push(problem(
                    1,
                    Some(wanted),
                    format!(
                        "the header has no `{wanted}` column{mapped}; found {} column(s) separated by {}: {}; \
                         name the columns with --map FIELD=COLUMN or --profile snipeit|glpi",
                        headers.len(),
                        delimiter.describe(),
                        headers.join(", ")
                    ),
                ));
            }
            None => {}
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let column_of = |field: Field| field_index.get(&field).copied();
    let used: Vec<usize> = field_index.values().copied().collect();
    let (tag_i, serial_i) = (column_of(Field::AssetTag), column_of(Field::Serial));
    let tag_header = map.header(Field::AssetTag);
    let serial_header = map.header(Field::Serial);

    let mut lines = LineCounter::new(bytes);
    let mut rows = Vec::new();
    let mut tags: HashMap<String, u64> = HashMap::new();
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map(|p| lines.line_of(p.byte())).unwrap_or(0);
                problems.push(problem(line, None, csv_message(&e)));
                if problems.len() >= MAX_PROBLEMS || !recoverable(&e) {
                    break;
                }
                continue;
            }
        }
        let line = record
            .position()
            .map(|p| lines.line_of(p.byte()))
            .unwrap_or(0);
        if record.iter().all(|f| f.is_empty()) {
            continue;
        }
        if rows.len() >= MAX_ROWS {
            problems.push(problem(
                line,
                None,
                format!("more than {MAX_ROWS} rows; split the manifest"),
            ));
            break;
        }
        let row_bytes: usize = record.iter().map(str::len).sum();
        if row_bytes > MAX_ROW_BYTES {
            problems.push(problem(
                line,
                None,
                format!("the row holds {row_bytes} bytes; a row may hold at most {MAX_ROW_BYTES}"),
            ));
            continue;
        }
        let mut row_ok = true;
        for (i, value) in record.iter().enumerate() {
            let header = headers.get(i).map(String::as_str);
            if value.len() > MAX_FIELD_BYTES {
                problems.push(problem(
                    line,
                    header,
                    format!(
                        "the field holds {} bytes; a field may hold at most {MAX_FIELD_BYTES}",
                        value.len()
                    ),
                ));
                row_ok = false;
            } else if value.contains('\0') {
                problems.push(problem(
                    line,
                    header,
                    "the field holds a NUL character; the file is damaged or not text".into(),
                ));
                row_ok = false;
            }
        }
        let get = |i: Option<usize>| i.and_then(|i| record.get(i)).map(str::trim).unwrap_or("");
        let opt = |field: Field| {
            let v = get(column_of(field));
            (!v.is_empty()).then(|| v.to_string())
        };
        let tag = get(tag_i).to_string();
        let serial = get(serial_i).to_string();
        let media_serials: Vec<String> = get(column_of(Field::MediaSerials))
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        if row_ok {
            let ids = [
                (Field::AssetTag, tag_header, tag.as_str()),
                (Field::Serial, serial_header, serial.as_str()),
            ]
            .into_iter()
            .chain(media_serials.iter().map(|s| {
                (
                    Field::MediaSerials,
                    map.header(Field::MediaSerials),
                    s.as_str(),
                )
            }));
            // Descriptions people compare too: no length limit, the same characters refused.
            let described = [Field::Type, Field::Make, Field::Model, Field::CustomerRef]
                .into_iter()
                .map(|f| (f, map.header(f), get(column_of(f))))
                .map(|(f, h, v)| (f, h, v, crate::identifier::problem(v)));
            let ids = ids
                .map(|(f, h, v)| (f, h, v, bad_identifier(v)))
                .chain(described);
            for (field, header, _, why) in ids {
                if let Some(why) = why {
                    problems.push(problem(
                        line,
                        Some(header),
                        format!("{} {why}", field.name()),
                    ));
                    row_ok = false;
                }
            }
        }
        if tag.is_empty() {
            problems.push(problem(
                line,
                Some(tag_header),
                format!("{} is empty", Field::AssetTag.name()),
            ));
        } else if row_ok && let Some(first) = tags.insert(tag.clone(), line) {
            problems.push(problem(
                line,
                Some(tag_header),
                format!(
                    "{} {tag} appears again (first on line {first})",
                    Field::AssetTag.name()
                ),
            ));
        }
        if serial.is_empty() {
            problems.push(problem(
                line,
                Some(serial_header),
                format!("{} is empty", Field::Serial.name()),
            ));
        }
        let extra = headers
            .iter()
            .enumerate()
            .filter(|(i, _)| !used.contains(i))
            .filter_map(|(i, h)| {
                let v = record.get(i).unwrap_or("").trim();
                (!v.is_empty()).then(|| (h.to_lowercase(), v.to_string()))
            })
            .collect();
        rows.push(ManifestRow {
            line,
            asset_tag: tag,
            serial,
            asset_type: opt(Field::Type),
            make: opt(Field::Make),
            model: opt(Field::Model),
            customer_ref: opt(Field::CustomerRef),
            media_serials,
            extra,
        });
        if problems.len() >= MAX_PROBLEMS {
            break;
        }
    }
    if problems.len() >= MAX_PROBLEMS {
        problems.push(problem(
            0,
            None,
            format!("stopped after {MAX_PROBLEMS} problems; fix these and import again"),
        ));
    }
    if rows.is_empty() && problems.is_empty() {
        problems.push(problem(
            2,
            None,
            "the manifest has a header but no assets".into(),
        ));
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems)
    }
}

/// Why `value` cannot be an asset tag or serial, if it cannot.
fn bad_identifier(value: &str) -> Option<String> {
    let chars = value.chars().count();
    if chars > MAX_ID_CHARS {
        return Some(format!(
            "is {chars} characters long; at most {MAX_ID_CHARS} are allowed"
        ));
    }
    crate::identifier::problem(value)
}

/// Whether the reader can go on after `e` (a bad row), or must stop (unreadable input).
fn recoverable(e: &csv::Error) -> bool {
    matches!(
        e.kind(),
        csv::ErrorKind::UnequalLengths { .. } | csv::ErrorKind::Utf8 { .. }
    )
}

/// Line numbers from byte offsets, counted once over the file as the reader moves on (the csv
/// crate's own line count is off by one with CRLF line ends).
struct LineCounter<'a> {
    bytes: &'a [u8],
    /// Offset up to which newlines are counted.
    at: usize,
    /// The line `at` is on.
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCounter {
            bytes,
            at: 0,
            line: 1,
        }
    }

    /// The line of the record starting at `byte`.
    fn line_of(&mut self, byte: u64) -> u64 {
        let len = self.bytes.len();
        let mut end = usize::try_from(byte).unwrap_or(len).min(len);
        // A record's recorded start may sit on the line end before it.
        while end < len && (self.bytes[end] == b'\r' || self.bytes[end] == b'\n') {
            end += 1;
        }
        let newlines = |range: &[u8]| range.iter().filter(|&&b| b == b'\n').count() as u64;
        if end >= self.at {
            self.line += newlines(&self.bytes[self.at..end]);
        } else {
            self.line -= newlines(&self.bytes[end..self.at]);
        }
        self.at = end;
        self.line
    }
}

fn csv_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "the file is not UTF-8 text; save it as CSV UTF-8".into(),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_crlf_quotes_and_extra_columns() {
        let text = "\u{feff}Asset_Tag,serial,type,make,model,customer_ref,Location,media_serials\r\n\
                    ACME-1,PF1ABC,laptop,Lenovo,\"ThinkPad T14, Gen 2\",PO-77,\"Leeds, floor 2\",S1;S2\r\n\
                    ACME-2,XYZ,desktop,,,,,\r\n";
        let rows = parse(text.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        let r = &rows[0];
        assert_eq!(r.line, 2);
        assert_eq!(r.asset_tag, "ACME-1");
        assert_eq!(r.model.as_deref(), Some("ThinkPad T14, Gen 2"));
        assert_eq!(r.extra["location"], "Leeds, floor 2");
        assert_eq!(r.media_serials, ["S1", "S2"]);
        assert_eq!(rows[1].make, None);
        assert!(rows[1].media_serials.is_empty());
    }

    #[test]
    fn problems_name_line_and_column() {
        let text = "asset_tag,serial\r\nA,1\r\n,2\r\nA,3\r\nB,\r\nC,4,extra\r\n";
        let problems = parse(text.as_bytes()).unwrap_err();
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(
            shown.contains(&"line 3, column asset_tag: asset_tag is empty".to_string()),
            "{shown:?}"
        );
        assert!(
            shown.iter().any(|s| s.starts_with(
                "line 4, column asset_tag: asset_tag A appears again (first on line 2)"
            )),
            "{shown:?}"
        );
        assert!(
            shown.contains(&"line 5, column serial: serial is empty".to_string()),
            "{shown:?}"
        );
        assert!(
            shown.iter().any(|s| s.starts_with("line 6: 3 fields")),
            "{shown:?}"
        );
    }

    #[test]
    fn missing_columns_empty_files_and_binary_junk() {
        assert!(
            parse(b"tag,serial\nA,1\n").unwrap_err()[0]
                .message
                .contains("asset_tag")
        );
        assert!(parse(b"").is_err());
        assert!(parse(b"asset_tag,serial\n").is_err());
        assert!(parse(b"asset_tag,serial\n\xff\xfe,1\n").is_err());
        assert!(parse(b"asset_tag,asset_tag,serial\n").is_err());
    }

    fn with(profile: Profile, map: Option<&str>) -> ReadOptions {
        let mut columns = ColumnMap::profile(profile);
        if let Some(m) = map {
            columns = columns.with_map(m).unwrap();
        }
        ReadOptions { columns }
    }

    #[test]
    fn a_snipeit_export_reads_with_its_profile_or_a_map() {
        let text = "ID,Company,Asset Name,Asset Tag,Model,Model No.,Category,Manufacturer,Serial,Location,Notes\n\
                    17,Acme,LT-FIN-04,ACME-000123,Latitude 7420,7420,Laptops,Dell,5XK2JH3,Leeds,\"two lines\nof notes\"\n\
                    18,Acme,,ACME-000124,OptiPlex 7090,7090,Desktops,Dell,9ZZ1JH3,York,\n";
        // Without a profile the columns are not found, and the error says what was.
        let problems = parse(text.as_bytes()).unwrap_err();
        let shown = problems[0].to_string();
        assert!(
            shown.contains("no `asset_tag` column")
                && shown.contains("separated by commas")
                && shown.contains("Asset Tag, Model"),
            "{shown}"
        );
        let rows = parse_with(text.as_bytes(), &with(Profile::SnipeIt, None)).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].asset_tag, "ACME-000123");
        assert_eq!(rows[0].serial, "5XK2JH3");
        assert_eq!(rows[0].asset_type.as_deref(), Some("Laptops"));
        assert_eq!(rows[0].make.as_deref(), Some("Dell"));
        assert_eq!(rows[0].model.as_deref(), Some("Latitude 7420"));
        assert_eq!(rows[0].customer_ref.as_deref(), Some("LT-FIN-04"));
        assert_eq!(rows[0].extra["location"], "Leeds");
        assert_eq!(rows[0].extra["notes"], "two lines\nof notes");
        assert!(!rows[0].extra.contains_key("asset tag"));
        assert_eq!(
            rows[1].line, 4,
            "the row after a two-line field starts on line 4"
        );
        let mapped = with(
            Profile::Wipeproof,
            Some("asset_tag=asset tag,serial=Serial,model=Model,type=Category,make=Manufacturer"),
        );
        let rows = parse_with(text.as_bytes(), &mapped).unwrap();
        assert_eq!(rows[1].asset_tag, "ACME-000124");
        assert_eq!(rows[1].asset_type.as_deref(), Some("Desktops"));
        assert_eq!(rows[0].extra["asset name"], "LT-FIN-04");
    }

    #[test]
    fn a_semicolon_glpi_export_reads_and_a_mapped_column_must_exist() {
        let text = "\u{feff}Name;Entity;Status;Manufacturer;Serial number;Type;Model;Inventory number\r\n\
                    PC-0042;Root entity;In stock;HP;CZC1234XYZ;Desktop;EliteDesk 800 G4;INV-0042\r\n";
        let rows = parse_with(text.as_bytes(), &with(Profile::Glpi, None)).unwrap();
        assert_eq!(rows[0].asset_tag, "INV-0042");
        assert_eq!(rows[0].serial, "CZC1234XYZ");
        assert_eq!(rows[0].customer_ref.as_deref(), Some("PC-0042"));
        assert_eq!(rows[0].model.as_deref(), Some("EliteDesk 800 G4"));
        assert_eq!(rows[0].extra["status"], "In stock");
        // A semicolon file with wipeproof's names reads too; a missing column names the
        // delimiter found and the columns.
        let rows = parse(b"asset_tag;serial;model\nA-1;S-1;T14, Gen 2\n").unwrap();
        assert_eq!(rows[0].model.as_deref(), Some("T14, Gen 2"));
        let problems = parse(b"asset_tag;serial_no\nA-1;S-1\n").unwrap_err();
        assert!(
            problems[0]
                .to_string()
                .contains("no `serial` column; found 2 column(s) separated by semicolons: asset_tag, serial_no"),
            "{problems:?}"
        );
        let problems = parse_with(
            text.as_bytes(),
            &with(Profile::Glpi, Some("customer_ref=Asset number")),
        )
        .unwrap_err();
        assert!(
            problems[0]
                .to_string()
                .contains("no `Asset number` column (for customer_ref)"),
            "{problems:?}"
        );
        let rows = parse(b"asset_tag\tserial\nA-1\tS-1\n").unwrap();
        assert_eq!(rows[0].serial, "S-1");
    }

    #[test]
    fn bidi_controls_and_invisible_characters_are_refused_with_line_and_code_point() {
        let text = "asset_tag,serial,model,make\nA-1,S1,Mod\u{202E}321,Dell\nB\u{200B}-2,S2,,\nC-3,S3,,De\u{2067}ll\n";
        let shown: Vec<String> = parse(text.as_bytes())
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        for (line, column, code) in [
            (2, "model", "U+202E"),
            (3, "asset_tag", "U+200B"),
            (4, "make", "U+2067"),
        ] {
            assert!(
                shown
                    .iter()
                    .any(|s| s.starts_with(&format!("line {line}, column {column}:"))
                        && s.contains(code)),
                "{line} {code}: {shown:?}"
            );
        }
    }

    #[test]
    fn control_characters_in_tags_and_serials_are_refused() {
        let problems =
            parse(b"asset_tag,serial,media_serials\nA\x001,S1,\nB,S\x1b[2J,\nC,S3,D1;D\x072\n")
                .unwrap_err();
        let shown: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(
            shown
                .iter()
                .any(|s| s.starts_with("line 2, column asset_tag:") && s.contains("NUL")),
            "{shown:?}"
        );
        assert!(
            shown.iter().any(|s| s
                .starts_with("line 3, column serial: serial holds the control character U+001B")),
            "{shown:?}"
        );
        assert!(
            shown.iter().any(|s| s.starts_with(
                "line 4, column media_serials: media_serials holds the control character U+0007"
            )),
            "{shown:?}"
        );
    }

    #[test]
    fn file_row_field_and_identifier_sizes_are_bounded() {
        let long_tag = "T".repeat(MAX_ID_CHARS + 1);
        let long_field = "x".repeat(MAX_FIELD_BYTES + 1);
        let wide: Vec<String> = (0..20).map(|_| "y".repeat(MAX_FIELD_BYTES - 1)).collect();
        let header: Vec<String> = (0..20).map(|i| format!("c{i}")).collect();
        let text = format!(
            "asset_tag,serial,notes,{}\n{long_tag},S1,,{}\nB,S2,{long_field},{}\nC,S3,,{}\n",
            header.join(","),
            vec![""; 20].join(","),
            vec![""; 20].join(","),
            wide.join(","),
        );
        let shown: Vec<String> = parse(text.as_bytes())
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            shown.iter().any(
                |s| s.starts_with("line 2, column asset_tag: asset_tag is 129 characters long")
            ),
            "{shown:?}"
        );
        assert!(
            shown
                .iter()
                .any(|s| s.starts_with("line 3, column notes: the field holds 4097 bytes")),
            "{shown:?}"
        );
        assert!(
            shown.iter().any(|s| s.starts_with("line 4: the row holds")),
            "{shown:?}"
        );
        let huge = vec![b'a'; MAX_FILE_BYTES as usize + 1];
        assert!(
            parse(&huge).unwrap_err()[0]
                .message
                .contains("larger than 64 MiB")
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.csv");
        std::fs::write(&path, &huge).unwrap();
        let e = read_file(&path).unwrap_err().to_string();
        assert!(
            e.contains("huge.csv") && e.contains("larger than 64 MiB"),
            "{e}"
        );
        let columns: Vec<String> = (0..=MAX_COLUMNS).map(|i| format!("c{i}")).collect();
        let text = format!("asset_tag,serial,{}\n", columns.join(","));
        assert!(
            parse(text.as_bytes()).unwrap_err()[0]
                .message
                .contains("at most 256")
        );
    }

    #[test]
    fn a_hundred_thousand_rows_read_without_a_hang() {
        // Reading used to rescan the file from the start for every row's line number: 100,000
        // rows took minutes. The bound here only catches that; the time per row at growing
        // sizes (flat when reading is linear) is measured by `cargo bench --bench growth`.
        let mut text = String::from("asset_tag,serial,type,make,model\r\n");
        for i in 0..MAX_ROWS {
            text.push_str(&format!(
                "ACME-{i:06},SN{i:08},laptop,Lenovo,ThinkPad T14\r\n"
            ));
        }
        let started = std::time::Instant::now();
        let rows = parse(text.as_bytes()).unwrap();
        let took = started.elapsed();
        assert_eq!(rows.len(), MAX_ROWS);
        assert_eq!(rows[MAX_ROWS - 1].line, MAX_ROWS as u64 + 1);
        assert!(took.as_secs() < 60, "100,000 rows took {took:?}");
    }
}
