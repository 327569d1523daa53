//! Strict reading of certificate JSON: one meaning for every file, whatever reads it.
//!
//! JSON itself leaves open what a repeated member means (RFC 8259 4: "the names within an
//! object SHOULD be unique"); readers differ, some keep the first, most the last. A certificate
//! with two `record` members, or a record with two `result` members, would then say one thing
//! to wipeproof and another to a person's tool. So certificate JSON is read with a deserializer
//! that refuses any repeated member name at any depth, and trailing data, before the typed
//! structs (all `deny_unknown_fields`) refuse any member they do not know. None of this
//! depends on the version of wipeproof that wrote the file.

use serde::Deserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why bytes are not strict certificate JSON.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StrictJsonError(String);

/// Reads a JSON value, refusing repeated member names anywhere and anything after the value.
pub fn value_from_slice(bytes: &[u8]) -> Result<Value, StrictJsonError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = UniqueMembers
        .deserialize(&mut de)
        .map_err(|e| StrictJsonError(e.to_string()))?;
    de.end().map_err(|e| StrictJsonError(e.to_string()))?;
    Ok(value)
}

/// Reads a typed value strictly: no repeated members (any depth), no trailing data, and the
/// type's own rules (`deny_unknown_fields`) for unknown members.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, StrictJsonError> {
    let value = value_from_slice(bytes)?;
    T::deserialize(value).map_err(|e| StrictJsonError(e.to_string()))
}

/// A seed that reads any JSON value and fails on the first object with a repeated member.
#[derive(Clone, Copy)]
struct UniqueMembers;

impl<'de> DeserializeSeed<'de> for UniqueMembers {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for UniqueMembers {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(UniqueMembers)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if members.contains_key(&key) {
                return Err(de::Error::custom(format!(
                    "member `{key}` appears twice in one object; a certificate never repeats a member"
                )));
            }
            let value = map.next_value_seed(UniqueMembers)?;
            members.insert(key, value);
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_what_serde_json_reads_when_members_are_unique() {
        let text = br#" {"a": [1, -2, 3.5, "x\u00e9", null, true], "b": {"c": {}}, "d": []} "#;
        let strict = value_from_slice(text).unwrap();
        let plain: Value = serde_json::from_slice(text).unwrap();
        assert_eq!(strict, plain);
        assert_eq!(strict["b"], json!({"c": {}}));
    }

    #[test]
    fn repeated_members_are_refused_at_any_depth() {
        for text in [
            r#"{"record": {}, "record": {}}"#,
            r#"{"record": {"result": "FAIL", "result": "PASS"}}"#,
            r#"{"a": [{"x": 1}, {"y": 1, "y": 1}]}"#,
            // The same name written two ways is the same name.
            r#"{"record": 1, "rec\u006frd": 2}"#,
        ] {
            let err = value_from_slice(text.as_bytes()).unwrap_err();
            assert!(err.to_string().contains("appears twice"), "{text}: {err}");
            // serde_json alone takes one of them silently.
            assert!(serde_json::from_str::<Value>(text).is_ok());
        }
    }

    #[test]
    fn trailing_data_and_junk_are_refused() {
        for text in [&b"{} {}"[..], b"{\"a\":1}x", b"", b"{", b"\xff", b"[1,]"] {
            assert!(value_from_slice(text).is_err(), "{:?}", text);
        }
    }

    #[test]
    fn typed_reading_keeps_the_types_rules() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct T {
            a: u32,
        }
        assert!(from_slice::<T>(br#"{"a": 1}"#).is_ok());
        assert!(from_slice::<T>(br#"{"a": 1, "b": 2}"#).is_err());
        assert!(from_slice::<T>(br#"{"a": 1, "a": 1}"#).is_err());
    }
}
