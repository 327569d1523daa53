//! Goods-in: one scan, recorded and answered. `intake receive` (a line of its standard input)
//! and the central register's goods-in page (a scan sent by the page) both answer through
//! [`answer`], so a scan means the same at the desk as on the command line: received, already
//! received, belongs to another collection, or not on this manifest (recorded as an extra); a
//! line that is no scan (empty, too long, not text) is refused and nothing is recorded.

use serde::Serialize;

use super::scans::{Line, refusal};
use crate::register::collection::{Custody, Scan};
use crate::register::{Actor, RegisterError};

/// What a scan did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    /// A scan the register recorded or answered.
    Scan(Scan),
    /// No scan: `"empty"` or `"refused"`; nothing recorded.
    Refused { outcome: &'static str },
}

/// The answer to one scan: `{"outcome", ...the scan's fields, "scanned", "message"}`, as
/// `intake receive --json` prints it and the goods-in page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Answer {
    #[serde(flatten)]
    pub outcome: Outcome,
    /// What was scanned, trimmed; `null` for a line that is no scan.
    pub scanned: Option<String>,
    /// The answer a person at goods-in reads.
    pub message: String,
}

/// Records the scan `line` for `collection` (if it is one) and answers it.
pub fn answer<R: Custody + ?Sized>(
    reg: &mut R,
    collection: &str,
    line: &Line,
    actor: &Actor,
) -> Result<Answer, RegisterError> {
    Ok(match line {
        Line::Scan(scanned) => {
            let scan = reg.receive_scan(collection, scanned, actor)?;
            Answer {
                message: scan.message(scanned, collection),
                outcome: Outcome::Scan(scan),
                scanned: Some(scanned.clone()),
            }
        }
        other => Answer {
            outcome: Outcome::Refused {
                outcome: match other {
                    Line::Empty => "empty",
                    _ => "refused",
                },
            },
            scanned: None,
            message: refusal(other).unwrap_or_default(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_read_as_the_command_prints_them() {
        let a = Answer {
            outcome: Outcome::Scan(Scan::Received {
                asset_tag: "A-1".into(),
            }),
            scanned: Some("SER-1".into()),
            message: "received A-1".into(),
        };
        assert_eq!(
            serde_json::to_value(&a).unwrap(),
            serde_json::json!({"outcome": "received", "asset_tag": "A-1",
                               "scanned": "SER-1", "message": "received A-1"})
        );
        let r = Answer {
            outcome: Outcome::Refused { outcome: "refused" },
            scanned: None,
            message: "no".into(),
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"outcome": "refused", "scanned": null, "message": "no"})
        );
    }
}
