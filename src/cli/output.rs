//! Small formatting helpers shared by commands: sizes, tables, JSON.

use std::sync::atomic::{AtomicBool, Ordering};

use serde::Serialize;

pub use crate::station::progress::human_size;

/// Set once a JSON document has gone to stdout: `--json` promises exactly one.
static JSON_PRINTED: AtomicBool = AtomicBool::new(false);

/// Prints one JSON document on stdout.
pub fn print_json<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    // Set before writing: a document that failed half-way is still the one document.
    JSON_PRINTED.store(true, Ordering::SeqCst);
    crate::stdout_line!("{text}")?;
    Ok(())
}

/// Prints one JSON document on one line of stdout and flushes: a line of a stream of
/// documents (`intake receive --json`), which [`print_json`]'s one-document rule does not cover.
pub fn print_json_line<T: Serialize>(value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string(value)?;
    crate::stdout_line!("{text}")?;
    Ok(())
}

/// Records that this process's stdout holds its JSON already (a stream that printed its own
/// error line), so no `{"error": ...}` document follows it.
pub fn mark_json_printed() {
    JSON_PRINTED.store(true, Ordering::SeqCst);
}

/// Whether [`print_json`] has printed (or tried to print) this process's document.
pub fn json_printed() -> bool {
    JSON_PRINTED.load(Ordering::SeqCst)
}

/// Renders rows as a left-aligned table with a header.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == cells.len() {
                l.push_str(cell);
            } else {
                l.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(64 << 20), "67.1 MB");
        assert_eq!(human_size(1_000_204_886_016), "1.00 TB");
    }

    #[test]
    fn table_aligns_columns() {
        let t = table(&["A", "BB"], &[vec!["xxx".into(), "y".into()]]);
        assert_eq!(t, "A    BB\nxxx  y\n");
    }
}
