//! UTC timestamps in RFC 3339, as every record and log of wipeproof writes them.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The current time, e.g. `2026-11-28T17:20:52Z` (whole seconds, UTC).
pub fn now() -> String {
    format(OffsetDateTime::now_utc())
}

/// Formats a time as RFC 3339 in UTC with whole seconds.
pub fn format(t: OffsetDateTime) -> String {
    let t = t
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t);
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// Parses an RFC 3339 timestamp.
pub fn parse(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).ok()
}

/// A compact form for file names, e.g. `20261128T172052Z`.
pub fn compact(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        t.month() as u8,
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let s = now();
        assert!(s.ends_with('Z'), "{s}");
        assert_eq!(format(parse(&s).unwrap()), s);
        assert_eq!(
            compact(parse("2026-11-28T17:20:52Z").unwrap()),
            "20261128T172052Z"
        );
    }
}
