//! Crash-safe file writes: a file is either its old content or its new content, never a mix.
//!
//! Everything the station must not lose (config, keys, certificates, checkpoints) is written
//! through [`write_atomic`]: write a temporary file in the same directory, fsync it, rename it over
//! the target, then fsync the directory so the rename itself survives a power cut.
//!
//! The temporary file is created, never reused: its name (`.<name>.tmp-<16 hex digits>`) comes
//! from the OS random number generator, and it is opened with `O_CREAT | O_EXCL | O_NOFOLLOW`, so
//! a file or symlink planted under any name in the directory is never opened, let alone written
//! through. (The station runs as root; a predictable name followed through a symlink would let
//! anyone who can write to the directory overwrite any file on the system.)

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
    let (mut file, tmp) = create_temp(&dir, &name.to_string_lossy(), opts.mode)?;
    let result = (|| {
        file.write_all(contents)?;
        file.sync_all()?;
        drop(file);
        if opts.create_new {
            publish_new(&tmp, path)?;
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

/// Moves the finished temporary file `tmp` to `path` only if nothing is there yet, so two
/// writers can never both win. Each filesystem gets the strongest means it has:
///
/// 1. `link()`, which fails if `path` exists (ext4, xfs, btrfs, tmpfs);
/// 2. without hard links (FAT: EPERM), `rename` with RENAME_NOREPLACE (the kernel's vfat);
/// 3. without that either (FAT through FUSE: EINVAL), the name is first claimed with an
///    `O_EXCL` create and the file then renamed over the claim. A crash between the two
///    leaves an empty file at `path`, never a partial one, and never a second writer's.
fn publish_new(tmp: &Path, path: &Path) -> io::Result<()> {
    let no_hard_links = |e: &io::Error| {
        matches!(
            e.raw_os_error(),
            Some(libc::EPERM | libc::EOPNOTSUPP | libc::ENOSYS)
        )
    };
    match fs::hard_link(tmp, path) {
        Ok(()) => return fs::remove_file(tmp),
        Err(e) if no_hard_links(&e) => {}
        Err(e) => return Err(e),
    }
    let no_replace = nix::fcntl::renameat2(
        nix::fcntl::AT_FDCWD,
        tmp,
        nix::fcntl::AT_FDCWD,
        path,
        nix::fcntl::RenameFlags::RENAME_NOREPLACE,
    );
    match no_replace {
        Ok(()) => return Ok(()),
        Err(
            nix::errno::Errno::EINVAL | nix::errno::Errno::ENOSYS | nix::errno::Errno::EOPNOTSUPP,
        ) => {}
        Err(e) => return Err(io::Error::from(e)),
    }
    drop(open_new(path, 0o600)?);
    fs::rename(tmp, path)
}

/// Tries this many fresh names before giving up; with 64 random bits a clash is already
/// vanishingly rare, so running out means someone is filling the directory on purpose.
const TEMP_NAME_ATTEMPTS: usize = 16;

/// Creates a new, empty temporary file in `dir` for the file `name`, under a name nobody can
/// predict, and returns it with its path.
fn create_temp(dir: &Path, name: &str, mode: u32) -> io::Result<(File, PathBuf)> {
    for _ in 0..TEMP_NAME_ATTEMPTS {
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(|e| {
            io::Error::other(format!(
                "the OS random number generator failed ({e}); cannot name a temporary file in {}",
                dir.display()
            ))
        })?;
        let tmp = dir.join(format!(".{name}.tmp-{}", hex::encode(random)));
        match open_new(&tmp, mode) {
            Ok(file) => return Ok((file, tmp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "{TEMP_NAME_ATTEMPTS} fresh temporary names in {} were all taken; \
             check who is creating files there",
            dir.display()
        ),
    ))
}

/// Opens `path` for writing only if this call creates it: an existing file, and a symlink even
/// if it dangles, is an error (`O_EXCL`); `O_NOFOLLOW` says the same for a symlink on kernels
/// or filesystems that would otherwise look through it.
fn open_new(path: &Path, mode: u32) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
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

    /// Everything in `dir` except the listed names.
    fn others(dir: &Path, known: &[&str]) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !known.contains(&n.as_str()))
            .collect()
    }

    #[test]
    fn a_planted_symlink_at_the_old_predictable_name_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim_dir = tempfile::tempdir().unwrap();
        let victim = victim_dir.path().join("shadow");
        fs::write(&victim, b"precious").unwrap();
        // The name the temporary file used to have: `.<name>.tmp-<pid>`.
        let planted = dir
            .path()
            .join(format!(".cert.json.tmp-{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let path = dir.path().join("cert.json");
        write_atomic(&path, b"new content").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert_eq!(fs::read(&path).unwrap(), b"new content");
        assert!(fs::symlink_metadata(&planted).unwrap().is_symlink());
        // The temporary file is gone; only the target and the planted link are there.
        let planted_name = planted.file_name().unwrap().to_str().unwrap();
        assert_eq!(
            others(dir.path(), &["cert.json", planted_name]),
            Vec::<String>::new()
        );
    }

    #[test]
    fn a_new_temporary_file_is_never_an_existing_file_or_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        for path in [&victim, &dangling, &link] {
            let err = open_new(path, 0o644).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{path:?}");
        }
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert!(!dir.path().join("nowhere").exists());
    }

    /// The 64 bits of a temporary name behave as random bits: each of them is set in about
    /// half of many names. A counter, a clock, a process id or any mix of them leaves most high
    /// bits fixed and fails. (Bits from a good generator seeded by something guessable would
    /// pass; that they come from the OS generator is the code's word, in `create_temp`.)
    #[test]
    fn temporary_names_carry_64_random_bits() {
        const NAMES: usize = 512;
        let dir = tempfile::tempdir().unwrap();
        let mut ones = [0usize; 64];
        let mut seen = std::collections::HashSet::new();
        for _ in 0..NAMES {
            let (_, path) = create_temp(dir.path(), "x", 0o600).unwrap();
            let name = path.file_name().unwrap().to_str().unwrap();
            let suffix = name.strip_prefix(".x.tmp-").unwrap();
            assert_eq!(suffix.len(), 16, "{name}");
            let bits = u64::from_str_radix(suffix, 16).unwrap();
            assert!(seen.insert(bits), "{name} came twice");
            for (i, n) in ones.iter_mut().enumerate() {
                *n += (bits >> i & 1) as usize;
            }
            fs::remove_file(&path).unwrap();
        }
        // Binomial(512, 1/2): mean 256, standard deviation about 11.3; 6 deviations either
        // side, so a fair bit fails once in hundreds of millions of runs.
        for (i, n) in ones.iter().enumerate() {
            assert!(
                (188..=324).contains(n),
                "bit {i} was set in {n} of {NAMES} names"
            );
        }
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
