//! The layers of ARCHITECTURE.md, checked on the source: a layer uses only the layers below it.
//! The asset register is used by everything above it and uses none of it, and knows no web
//! server, async runtime, TLS or HTML crate; the server's pages do not import the router back.

use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir` (or `dir` itself, a file), sorted.
fn sources(dir: &Path) -> Vec<PathBuf> {
    if dir.is_file() {
        return vec![dir.to_path_buf()];
    }
    assert!(dir.is_dir(), "{} is not in the source tree", dir.display());
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read source dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The code of a file, comments and its tests left out (a doc comment may name a layer above,
/// and a test may use one to make its fixtures).
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("read source");
    let product = text.split("#[cfg(test)]").next().unwrap_or_default();
    product
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `(file, word)` for each file under `src/DIR` whose code contains one of `words`.
fn offenders(dir: &str, words: &[&str]) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir);
    let mut found = Vec::new();
    for file in sources(&root) {
        let text = code(&file);
        for w in words {
            if text.contains(w) {
                found.push((file.display().to_string(), w.to_string()));
            }
        }
    }
    found
}

#[test]
fn the_register_uses_no_layer_above_it_and_no_web_or_tls_crate() {
    let above = [
        "crate::server",
        "crate::sync",
        "crate::connector",
        "crate::intake",
        "crate::report",
        "crate::station",
        "crate::cli",
        "axum",
        "hyper",
        "tokio",
        "rustls",
        "maud",
    ];
    let found = offenders("register", &above);
    assert!(
        found.is_empty(),
        "src/register/ reaches up or names a web/TLS crate: {found:?}"
    );
}

#[test]
fn the_middle_layers_do_not_reach_up() {
    for (dir, above) in [
        (
            "intake",
            &[
                "crate::server",
                "crate::sync",
                "crate::connector",
                "crate::station",
                "crate::cli",
                "crate::report",
            ][..],
        ),
        (
            "report",
            &[
                "crate::server",
                "crate::sync",
                "crate::connector",
                "crate::station",
                "crate::cli",
                "crate::intake",
            ][..],
        ),
        (
            "sync",
            &[
                "crate::server",
                "crate::station",
                "crate::cli",
                "crate::connector",
            ][..],
        ),
        (
            "connector",
            &[
                "crate::server",
                "crate::station",
                "crate::cli",
                "crate::sync",
            ][..],
        ),
        ("server", &["crate::station", "crate::cli"][..]),
    ] {
        let found = offenders(dir, above);
        assert!(found.is_empty(), "src/{dir}/ reaches up: {found:?}");
    }
}

#[test]
fn pages_and_the_api_do_not_import_the_router_back() {
    let found = offenders(
        "server/web",
        &["super::super::routes", "crate::server::routes"],
    );
    assert!(found.is_empty(), "a page imports the router: {found:?}");
    let found = offenders("server/api.rs", &["routes::", "web::"]);
    assert!(
        found.is_empty(),
        "the API imports the router or the pages: {found:?}"
    );
    let found = offenders("connector/delivery.rs", &["snipeit::", "glpi::"]);
    assert!(
        found.is_empty(),
        "the delivery loop names a concrete client: {found:?}"
    );
}
