//! Canonical JSON: the exact bytes a signature covers.
//!
//! The rule is RFC 8785 (JSON Canonicalization Scheme) restricted to what certificates contain,
//! which makes it simple to state and to reimplement:
//!
//! * no insignificant whitespace;
//! * object members sorted by key, comparing keys as UTF-16 code units (all our keys are ASCII,
//!   so this is plain byte order);
//! * strings as JSON.stringify writes them: `"` and `\` escaped, U+0008/9/A/C/D as `\b \t \n \f
//!   \r`, other control characters below U+0020 as `\u00xx` (lowercase hex), everything else
//!   literally as UTF-8;
//! * numbers are integers between -(2^53 - 1) and 2^53 - 1, written in decimal; fractions are
//!   refused, so no floating-point formatting question can arise;
//! * `true`, `false`, `null` as themselves.
//!
//! `jq -cS . record.json` gives the same bytes for certificate records (it sorts keys and
//! drops whitespace), which is how an auditor can check the rule with standard tools.

use serde_json::Value;

/// Largest integer that survives a round trip through an IEEE double (RFC 8785 numbers).
const MAX_SAFE: u64 = (1 << 53) - 1;

/// Why a value has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    #[error("number {0} is not an integer within ±(2^53-1); records hold only such integers")]
    Number(String),
}

/// The canonical bytes of a JSON value.
pub fn to_bytes(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(1024);
    write(value, &mut out)?;
    Ok(out)
}

fn write(value: &Value, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            let ok = match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => u <= MAX_SAFE,
                (None, Some(i)) => i.unsigned_abs() <= MAX_SAFE,
                _ => false,
            };
            if !ok {
                return Err(CanonicalError::Number(n.to_string()));
            }
            out.extend_from_slice(n.to_string().as_bytes());
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push(b'{');
            for (i, (k, v)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(k, out);
                out.push(b':');
                write(v, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{08}' => out.extend_from_slice(b"\\b"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\u{0C}' => out.extend_from_slice(b"\\f"),
            '\r' => out.extend_from_slice(b"\\r"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        let v = json!({"b": 1, "a": {"z": [true, null, "x"], "y": -5}, "A": ""});
        assert_eq!(
            String::from_utf8(to_bytes(&v).unwrap()).unwrap(),
            r#"{"A":"","a":{"y":-5,"z":[true,null,"x"]},"b":1}"#
        );
    }

    #[test]
    fn escapes_like_json_stringify() {
        let v = json!("q\"b\\\u{8}\t\n\u{c}\r\u{1}\u{1f}é€😀/");
        assert_eq!(
            String::from_utf8(to_bytes(&v).unwrap()).unwrap(),
            "\"q\\\"b\\\\\\b\\t\\n\\f\\r\\u0001\\u001fé€😀/\""
        );
    }

    #[test]
    fn refuses_fractions_and_unsafe_integers() {
        assert!(to_bytes(&json!(1.5)).is_err());
        assert!(to_bytes(&json!(1u64 << 53)).is_err());
        assert!(to_bytes(&json!(MAX_SAFE)).is_ok());
        assert!(to_bytes(&json!(-(MAX_SAFE as i64))).is_ok());
    }

    #[test]
    fn sorting_is_by_utf16_code_units() {
        // U+E000 sorts after U+10000 in UTF-8 but before it in UTF-16.
        let v = json!({"\u{10000}": 1, "\u{e000}": 2});
        let s = String::from_utf8(to_bytes(&v).unwrap()).unwrap();
        assert!(s.find('\u{e000}').unwrap() > s.find('\u{10000}').unwrap());
    }

    #[test]
    fn same_value_same_bytes_whatever_the_input_order() {
        let a: Value = serde_json::from_str(r#"{"x":1,"y":{"b":2,"a":3}}"#).unwrap();
        let b: Value = serde_json::from_str("{ \"y\" : {\"a\":3, \"b\":2},\n \"x\":1 }").unwrap();
        assert_eq!(to_bytes(&a).unwrap(), to_bytes(&b).unwrap());
    }
}
