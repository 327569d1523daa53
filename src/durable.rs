//! Crash-safe file writes: a file is either its old content or its new content, never a mix.
//!
//! Everything the station must not lose (config, keys, certificates, checkpoints) is written
//! through [`write_atomic`]: write a temporary file in the same directory, fsync it, rename it over
//! the target, then fsync the directory so the rename itself survives a power cut.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Options for [`write_atomic_with`].
#[derive(Debug, Clone, Copy)]
pub struct WriteOptions {
    /// Unix permission bits of the new file.
    pub mode: u32,
    /// Refuse to replace an existing file.
    pub create_new: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            mode: 0o644,
            create_new: false,
        }
    }
}

/// Writes `contents` to `path` atomically and durably (mode 0644, replacing any old file).
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    write_atomic_with(path, contents, WriteOptions::default())
}

/// Writes `contents` to `path` atomically and durably with the given options.
///
/// With `create_new`, an existing file is an error of kind `AlreadyExists` and is left untouched.
pub fn write_atomic_with(path: &Path, contents: &[u8], opts: WriteOptions) -> io::Result<()> {
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(opts.mode)
            .open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        if opts.create_new {
            // link() fails if the target exists, so two writers cannot both win.
            fs::hard_link(&tmp, path)?;
            fs::remove_file(&tmp)?;
        } else {
            fs::rename(&tmp, path)?;
        }
        sync_dir(&dir)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Fsyncs a directory so that entries created or renamed in it are durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Creates a directory and its parents with the given mode for the directories it creates.
pub fn create_dir_all_mode(dir: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().recursive(true).mode(mode).create(dir)
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn create_new_refuses_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key");
        let opts = WriteOptions {
            mode: 0o600,
            create_new: true,
        };
        write_atomic_with(&path, b"first", opts).unwrap();
        let err = write_atomic_with(&path, b"second", opts).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).unwrap(), b"first");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}
