//! Temporary files left behind by a crash: [`crate::durable`] writes a file as a hidden
//! temporary in the same directory (`.NAME.tmp-…`) and renames it into place; a process that
//! dies in between leaves the temporary behind. They hold nothing that was ever reported
//! written, so they are removed when a directory is next used.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Whether `name` is a temporary file of an atomic write.
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp-")
}

/// Removes the temporary files in `dir` that are at least `min_age` old (zero: all of them; use
/// that only while holding a lock every writer of the directory takes). Returns what was
/// removed; a file that cannot be removed is left for the next time.
pub fn remove_temporaries(dir: &Path, min_age: Duration) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let now = SystemTime::now();
    let mut removed = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        if !is_temporary(&name.to_string_lossy()) {
            continue;
        }
        // Never follow a link, and never remove anything but a plain file.
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        let old_enough = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age >= min_age);
        if meta.is_file() && (min_age.is_zero() || old_enough) {
            let path = entry.path();
            if std::fs::remove_file(&path).is_ok() {
                removed.push(path);
            }
        }
    }
    if !removed.is_empty() {
        let _ = crate::durable::sync_dir(dir);
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_only_old_temporaries() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join(".a.json.tmp-4242"), b"half").unwrap();
        std::fs::write(d.join("a.json"), b"whole").unwrap();
        std::fs::write(d.join("b.tmp-1"), b"not hidden: not ours").unwrap();
        std::os::unix::fs::symlink("/etc/hostname", d.join(".c.tmp-1")).unwrap();
        assert!(remove_temporaries(d, Duration::from_secs(3600)).is_empty());
        let removed = remove_temporaries(d, Duration::ZERO);
        assert_eq!(removed, [d.join(".a.json.tmp-4242")]);
        assert!(d.join("a.json").exists() && d.join("b.tmp-1").exists());
        assert!(d.join(".c.tmp-1").symlink_metadata().is_ok());
    }
}
