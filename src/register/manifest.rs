//! Reading a customer's manifest (CSV) for intake.
//!
//! A header row names the columns; `asset_tag` and `serial` are required, `type`, `make`,
//! `model`, `customer_ref` and `media_serials` (the serials of the drives inside the asset,
//! separated by `;`) are known, and any other column is kept as extra data. UTF-8 with or
//! without a byte order mark, CRLF or LF line ends, quoted fields. Every problem is reported
//! with its line and column, and one problem rejects the whole file.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

/// One asset from a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestRow {
    /// Line in the file (1-based; the header is line 1).
    pub line: u64,
    pub asset_tag: String,
    pub serial: String,
    pub asset_type: Option<String>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub customer_ref: Option<String>,
    /// Serials of the drives inside the asset, if the manifest lists them.
    pub media_serials: Vec<String>,
    /// Every other column, by header name.
    pub extra: BTreeMap<String, String>,
}

/// One problem with a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManifestProblem {
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

impl std::fmt::Display for ManifestProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(c) => write!(f, "line {}, column {c}: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// Most rows a manifest may have (a collection is a truckload, not a warehouse).
pub const MAX_ROWS: usize = 100_000;

const KNOWN: &[&str] = &[
    "asset_tag",
    "serial",
    "type",
    "make",
    "model",
    "customer_ref",
    "media_serials",
];

/// Parses a manifest. `Err` lists every problem found (a few hundred at most).
pub fn parse(bytes: &[u8]) -> Result<Vec<ManifestRow>, Vec<ManifestProblem>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let problem = |line: u64, column: Option<&str>, message: String| ManifestProblem {
        line,
        column: column.map(str::to_string),
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_lowercase()).collect(),
        Err(e) => return Err(vec![problem(1, None, csv_message(&e))]),
    };
    let mut problems = Vec::new();
    if headers.iter().all(|h| h.is_empty()) {
        return Err(vec![problem(
            1,
            None,
            "the file is empty; it needs a header row naming asset_tag and serial".into(),
        )]);
    }
    for required in ["asset_tag", "serial"] {
        if !headers.iter().any(|h| h == required) {
            problems.push(problem(
                1,
                Some(required),
                format!(
                    "the header has no `{required}` column (found: {})",
                    headers.join(", ")
                ),
            ));
        }
    }
    let mut seen_headers = HashMap::new();
    for h in &headers {
        if h.is_empty() {
            problems.push(problem(1, None, "a column has no name".into()));
        } else if seen_headers.insert(h.clone(), ()).is_some() {
            problems.push(problem(1, Some(h), "the column appears twice".into()));
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let col = |name: &str| headers.iter().position(|h| h == name);
    let (tag_i, serial_i) = (col("asset_tag"), col("serial"));

    // Line numbers from byte offsets: the csv crate's own line count is off by one with CRLF.
    let line_of = |byte: u64| -> u64 {
        let mut end = (byte as usize).min(bytes.len());
        // A record's recorded start may sit on the line end before it.
        while end < bytes.len() && (bytes[end] == b'\r' || bytes[end] == b'\n') {
            end += 1;
        }
        1 + bytes[..end].iter().filter(|&&b| b == b'\n').count() as u64
    };
    let mut rows = Vec::new();
    let mut tags: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| line_of(p.byte())).unwrap_or(0);
                problems.push(problem(line, None, csv_message(&e)));
                if problems.len() > 200 {
                    break;
                }
                continue;
            }
        };
        let line = record.position().map(|p| line_of(p.byte())).unwrap_or(0);
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
        let get = |i: Option<usize>| i.and_then(|i| record.get(i)).map(str::trim).unwrap_or("");
        let opt = |name: &str| {
            let v = get(col(name));
            (!v.is_empty()).then(|| v.to_string())
        };
        let tag = get(tag_i).to_string();
        let serial = get(serial_i).to_string();
        if tag.is_empty() {
            problems.push(problem(
                line,
                Some("asset_tag"),
                "asset_tag is empty".into(),
            ));
        } else if let Some(first) = tags.insert(tag.clone(), line) {
            problems.push(problem(
                line,
                Some("asset_tag"),
                format!("asset_tag {tag} appears again (first on line {first})"),
            ));
        }
        if serial.is_empty() {
            problems.push(problem(line, Some("serial"), "serial is empty".into()));
        }
        let media_serials = get(col("media_serials"))
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let extra = headers
            .iter()
            .enumerate()
            .filter(|(_, h)| !KNOWN.contains(&h.as_str()))
            .filter_map(|(i, h)| {
                let v = record.get(i).unwrap_or("").trim();
                (!v.is_empty()).then(|| (h.clone(), v.to_string()))
            })
            .collect();
        rows.push(ManifestRow {
            line,
            asset_tag: tag,
            serial,
            asset_type: opt("type"),
            make: opt("make"),
            model: opt("model"),
            customer_ref: opt("customer_ref"),
            media_serials,
            extra,
        });
        if problems.len() > 200 {
            break;
        }
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
}
