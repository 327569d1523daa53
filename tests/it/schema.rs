//! The published JSON Schema describes what wipeproof really writes: an issued certificate and
//! the example in `certificates/example` validate against it, and edits outside it are caught.
//!
//! The validator here covers the keywords the schema uses (type, const, enum, properties,
//! required, additionalProperties, items, $ref, oneOf, minimum, maximum); `pattern` is not
//! checked.

use serde_json::Value;

use crate::support::*;

fn schema() -> Value {
    schema_named("certificate-v1")
}

fn schema_named(name: &str) -> Value {
    let path = format!(
        "{}/certificates/schema/{name}.schema.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn resolve<'a>(root: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let path = r.trim_start_matches('#');
            resolve(
                root,
                root.pointer(path).unwrap_or_else(|| panic!("bad $ref {r}")),
            )
        }
        None => s,
    }
}

fn type_ok(t: &str, v: &Value) -> bool {
    match t {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "boolean" => v.is_boolean(),
        "null" => v.is_null(),
        _ => false,
    }
}

/// Errors of `v` against schema `s`, with JSON paths.
fn validate(root: &Value, s: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    let s = resolve(root, s);
    if let Some(alts) = s.get("oneOf").and_then(Value::as_array) {
        let ok = alts.iter().filter(|a| {
            let mut e = Vec::new();
            validate(root, a, v, path, &mut e);
            e.is_empty()
        });
        if ok.count() != 1 {
            errors.push(format!("{path}: matches not exactly one of oneOf"));
        }
        return;
    }
    if let Some(t) = s.get("type") {
        let ok = match t {
            Value::String(t) => type_ok(t, v),
            Value::Array(ts) => ts.iter().any(|t| type_ok(t.as_str().unwrap_or(""), v)),
            _ => true,
        };
        if !ok {
            errors.push(format!("{path}: {v} is not of type {t}"));
            return;
        }
    }
    if let Some(c) = s.get("const")
        && c != v
    {
        errors.push(format!("{path}: {v} is not {c}"));
    }
    if let Some(e) = s.get("enum").and_then(Value::as_array)
        && !e.contains(v)
    {
        errors.push(format!("{path}: {v} is not one of {e:?}"));
    }
    if let (Some(min), Some(n)) = (s.get("minimum").and_then(Value::as_i64), v.as_i64())
        && n < min
    {
        errors.push(format!("{path}: {n} < {min}"));
    }
    if let (Some(max), Some(n)) = (s.get("maximum").and_then(Value::as_u64), v.as_u64())
        && n > max
    {
        errors.push(format!("{path}: {n} > {max}"));
    }
    if let Some(obj) = v.as_object() {
        let props = s.get("properties").and_then(Value::as_object);
        for r in s
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let r = r.as_str().unwrap();
            if !obj.contains_key(r) {
                errors.push(format!("{path}: missing required {r}"));
            }
        }
        for (k, val) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(ps) => validate(root, ps, val, &format!("{path}.{k}"), errors),
                None if s.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errors.push(format!("{path}: unexpected property {k}"))
                }
                None => {}
            }
        }
    }
    if let (Some(items), Some(arr)) = (s.get("items"), v.as_array()) {
        for (i, item) in arr.iter().enumerate() {
            validate(root, items, item, &format!("{path}[{i}]"), errors);
        }
    }
}

/// What in a signed certificate (`{"record", ...}`) does not follow the schema, with JSON paths.
pub fn errors_of(v: &Value) -> Vec<String> {
    let root = schema();
    let mut errors = Vec::new();
    validate(&root, &root, v, "$", &mut errors);
    errors
}

/// What in a signed computer certificate does not follow its schema, with JSON paths.
pub fn computer_errors_of(v: &Value) -> Vec<String> {
    let root = schema_named("computer-v1");
    let mut errors = Vec::new();
    validate(&root, &root, v, "$", &mut errors);
    errors
}

#[test]
fn issued_certificates_and_the_example_follow_the_schema() {
    let home = Home::new();
    let img = ShmFile::with_pattern("schema", 4 << 20);
    let (code, json) = home.json(&[
        "wipe",
        img.path.to_str().unwrap(),
        "--method",
        "dod-3pass",
        "--yes",
        "--json",
    ]);
    assert_eq!(code, 0);
    let path = only_drive(&json)["certificate_json"]
        .as_str()
        .unwrap()
        .to_string();
    let cert: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(errors_of(&cert), Vec::<String>::new());
    // An image file has no SMART: its health is recorded as unknown, and says why.
    assert_eq!(cert["record"]["health"]["verdict"], "unknown", "{cert}");
    assert_eq!(
        cert["record"]["health"]["reasons"][0],
        "an image file has no SMART"
    );

    let example: Value = serde_json::from_slice(
        &std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/certificates/example/example-certificate.json"
        ))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(errors_of(&example), Vec::<String>::new());

    let mut bad = cert.clone();
    bad["record"]["media"]["colour"] = "red".into();
    bad["record"]["sanitization"]["result"] = "MAYBE".into();
    bad["record"]["health"]["verdict"] = "great".into();
    let errs = errors_of(&bad);
    assert_eq!(errs.len(), 3, "{errs:?}");
}

#[test]
fn the_example_certificate_verifies_with_its_public_key() {
    let auditor = Home::new();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/certificates/example");
    let (code, report) = auditor.json(&[
        "verify",
        &format!("{dir}/example-certificate.pdf"),
        "--trust",
        &format!("{dir}/station-public-key.pem"),
        "--json",
    ]);
    assert_eq!(code, 0, "{report}");
}

/// A certificate drawn with layout 2 (wipeproof 0.1.0, two pages, before the one-page layout 3)
/// still verifies byte for byte: verification redraws it with the layout it was made with.
#[test]
fn a_report_of_the_first_layout_still_verifies() {
    let auditor = Home::new();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/report-layout1");
    for file in ["report.pdf", "report.json"] {
        let (code, report) = auditor.json(&[
            "verify",
            &format!("{dir}/{file}"),
            "--trust",
            &format!("{dir}/station-public-key.pem"),
            "--json",
        ]);
        assert_eq!(code, 0, "{file}: {report}");
        assert_eq!(report["valid"], true, "{file}: {report}");
    }
}

#[test]
fn a_layout_2_certificate_still_verifies() {
    let auditor = Home::new();
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/certificate-layout2"
    );
    let (code, report) = auditor.json(&[
        "verify",
        &format!("{dir}/example-certificate.pdf"),
        "--trust",
        &format!("{dir}/station-public-key.pem"),
        "--json",
    ]);
    assert_eq!(code, 0, "{report}");
    let text = report.to_string();
    assert!(text.contains("layout 2"), "{text}");
    assert!(text.contains("byte-identical"), "{text}");
}
