//! Firmware placeholders: the strings board makers leave in fields nobody filled in. A serial
//! of "To Be Filled By O.E.M." or "0123456789" names no computer, and matching an asset by it
//! would link every such machine to the same asset, so these read as absent.

/// Placeholder strings, compared after [`normalise`] (case, spaces, dots and dashes ignored).
const PLACEHOLDERS: &[&str] = &[
    "to be filled by oem",
    "to be filled by o.e.m.",
    "default string",
    "default",
    "0123456789",
    "123456789",
    "1234567890",
    "system serial number",
    "system product name",
    "system manufacturer",
    "system version",
    "system sku",
    "sku",
    "chassis serial number",
    "chassis manufacture",
    "chassis manufacturer",
    "chassis version",
    "base board serial number",
    "base board asset tag",
    "base board manufacturer",
    "base board product name",
    "base board version",
    "asset tag",
    "asset-1234567890",
    "no asset tag",
    "no asset information",
    "not specified",
    "not applicable",
    "not available",
    "not present",
    "none",
    "n/a",
    "na",
    "oem",
    "o.e.m.",
    "unknown",
    "invalid",
    "empty",
    "type1productconfigid",
    "type2 - board serial number",
    "type2 - board asset tag",
    "type3 - chassis serial number",
    "xxxxx",
];

/// UUIDs firmware writes when it has none of its own (besides all-zero and all-FF).
const PLACEHOLDER_UUIDS: &[&str] = &["03000200-0400-0500-0006-000700080009"];

/// Lower case, with spaces, dots, dashes and underscores removed.
fn normalise(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | '.' | '-' | '_'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether `s` says nothing: empty, a known placeholder, or one character repeated that
/// firmware uses as filler (`00000000`, `FFFFFFFF`, `********`, `........`).
pub fn is_placeholder(s: &str) -> bool {
    let t = s.trim();
    if t.is_empty() {
        return true;
    }
    let n = normalise(t);
    if n.is_empty() || PLACEHOLDERS.iter().any(|p| normalise(p) == n) {
        return true;
    }
    let mut chars = n.chars();
    let first = chars.next();
    matches!(first, Some('0' | 'f' | 'x' | '*' | '#' | '/'))
        && chars.all(|c| Some(c) == first)
        && n.len() >= 2
}

/// The trimmed string, or `None` if it is a placeholder or has control characters.
pub fn clean(s: Option<String>) -> Option<String> {
    let s = s?;
    let t = s.trim();
    if is_placeholder(t) || t.chars().any(char::is_control) {
        return None;
    }
    Some(t.to_string())
}

/// A UUID as text, or `None` for all-zero, all-FF and known placeholder UUIDs.
pub fn clean_uuid(s: Option<String>) -> Option<String> {
    let s = clean(s)?.to_ascii_lowercase();
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    if hex.chars().all(|c| c == '0')
        || hex.chars().all(|c| c == 'f')
        || PLACEHOLDER_UUIDS.contains(&s.as_str())
    {
        return None;
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firmware_fillers_are_placeholders() {
        for p in [
            "To Be Filled By O.E.M.",
            "To be filled by O.E.M.",
            "Default string",
            "0123456789",
            "  System Serial Number ",
            "Not Specified",
            "00000000",
            "FFFFFFFFFFFF",
            "********",
            "",
            "   ",
            "Base Board Asset Tag",
        ] {
            assert!(is_placeholder(p), "{p:?}");
            assert_eq!(clean(Some(p.into())), None, "{p:?}");
        }
    }

    #[test]
    fn real_values_are_kept_trimmed() {
        for (v, want) in [
            ("5CG1234XYZ", "5CG1234XYZ"),
            (" HP ", "HP"),
            ("0", "0"),
            ("F.42", "F.42"),
            ("ACME-LT-0042", "ACME-LT-0042"),
            ("100", "100"),
        ] {
            assert_eq!(clean(Some(v.into())).as_deref(), Some(want), "{v:?}");
        }
        assert_eq!(clean(Some("bad\u{7}serial".into())), None);
    }

    #[test]
    fn placeholder_uuids_are_absent() {
        for u in [
            "00000000-0000-0000-0000-000000000000",
            "FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF",
            "03000200-0400-0500-0006-000700080009",
            "not-a-uuid",
        ] {
            assert_eq!(clean_uuid(Some(u.into())), None, "{u}");
        }
        assert_eq!(
            clean_uuid(Some("4C4C4544-0042-3510-8052-B4C04F4E3132".into())).as_deref(),
            Some("4c4c4544-0042-3510-8052-b4c04f4e3132")
        );
    }
}
