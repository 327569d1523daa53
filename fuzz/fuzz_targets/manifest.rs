//! A customer's manifest is untrusted: any bytes give rows or problems, never a panic, with
//! wipeproof's column names, a built-in profile, or a column mapping (the first input byte
//! chooses which; a mapping comes from the input itself, up to the first newline).
#![no_main]

use libfuzzer_sys::fuzz_target;
use wipeproof::intake::manifest::{ColumnMap, Profile, ReadOptions, parse_with};

fuzz_target!(|data: &[u8]| {
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let (columns, manifest) = match choice % 4 {
        0 => (ColumnMap::default(), rest),
        1 => (ColumnMap::profile(Profile::SnipeIt), rest),
        2 => (ColumnMap::profile(Profile::Glpi), rest),
        _ => {
            let split = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let spec = String::from_utf8_lossy(&rest[..split]);
            match ColumnMap::default().with_map(&spec) {
                Ok(map) => (map, rest.get(split + 1..).unwrap_or_default()),
                Err(_) => return,
            }
        }
    };
    if let Ok(rows) = parse_with(manifest, &ReadOptions { columns }) {
        for row in rows {
            assert!(!row.asset_tag.is_empty() && !row.serial.is_empty());
            assert!(!row.asset_tag.chars().any(char::is_control));
            assert!(!row.serial.chars().any(char::is_control));
        }
    }
});
