//! Shared test fixtures: loop devices over files in /dev/shm, mounts, a state directory, and the
//! built binary. Every fixture cleans up in `Drop`, so a failing test leaves nothing behind.

#![allow(dead_code)]

use std::fs;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

#[path = "../../src/register/postgres/test_cluster.rs"]
mod pg_cluster;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A unique path in /dev/shm (RAM-backed, never the machine's disk).
pub fn shm_path(stem: &str) -> PathBuf {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    PathBuf::from(format!(
        "/dev/shm/wipeproof-test-{}-{n}-{stem}.img",
        std::process::id()
    ))
}

pub fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "integration tests need root: they attach loop devices over files in /dev/shm"
    );
}

pub fn sh(cmd: &str, args: &[&str]) -> String {
    let out = run_patiently(cmd, args);
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Runs `cmd ARGS`, again for up to three seconds while it finds a device busy: `list`, which
/// other tests run meanwhile, opens every drive exclusively for an instant to see whether
/// another program holds it, and a `mount` or `mkfs` in that instant fails as busy.
pub fn run_patiently(cmd: &str, args: &[&str]) -> Output {
    let start = std::time::Instant::now();
    loop {
        let out = Command::new(cmd)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cmd}: {e}"));
        let busy = String::from_utf8_lossy(&out.stderr)
            .to_lowercase()
            .contains("busy");
        if out.status.success() || !busy || start.elapsed().as_secs() >= 3 {
            return out;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// A file in /dev/shm, removed on drop.
pub struct ShmFile {
    pub path: PathBuf,
}

impl ShmFile {
    /// A file of `size` bytes filled with a recognisable non-zero pattern.
    pub fn with_pattern(stem: &str, size: u64) -> ShmFile {
        let path = shm_path(stem);
        write_pattern(&path, size);
        ShmFile { path }
    }
}

impl Drop for ShmFile {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// The byte pattern planted before a wipe: every 4 KiB block is distinct (its index and a
/// marker), so any block left behind is detectable.
pub fn pattern_block(index: u64, len: usize) -> Vec<u8> {
    let mut block = vec![0u8; len];
    for (i, chunk) in block.chunks_mut(16).enumerate() {
        let mut word = [0u8; 16];
        word[..8].copy_from_slice(&index.to_le_bytes());
        word[8..12].copy_from_slice(b"WPMK");
        word[12..16].copy_from_slice(&(i as u32).to_le_bytes());
        let n = chunk.len();
        chunk.copy_from_slice(&word[..n]);
    }
    block
}

pub const MARKER: &[u8] = b"WPMK";

pub fn write_pattern(path: &Path, size: u64) {
    let mut f = fs::File::create(path).unwrap();
    let mut written = 0u64;
    let mut index = 0u64;
    while written < size {
        let len = (size - written).min(4096) as usize;
        f.write_all(&pattern_block(index, len)).unwrap();
        written += len as u64;
        index += 1;
    }
    f.sync_all().unwrap();
}

/// BLAKE3-free quick digest of a file (std only): FNV-1a over all bytes.
pub fn file_digest(path: &Path) -> u64 {
    let mut f = fs::File::open(path).unwrap();
    let mut buf = vec![0u8; 1 << 20];
    let mut h: u64 = 0xcbf29ce484222325;
    loop {
        let n = f.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        for &b in &buf[..n] {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    h
}

/// Counts 4 KiB blocks of a file that still hold any 16-byte word of the planted pattern
/// (block index, marker, word index: no random data matches one by chance).
pub fn surviving_blocks(path: &Path) -> usize {
    let data = fs::read(path).unwrap();
    data.chunks(4096)
        .enumerate()
        .filter(|(index, block)| {
            let planted = pattern_block(*index as u64, block.len());
            block
                .chunks(16)
                .zip(planted.chunks(16))
                .any(|(got, was)| got.len() == 16 && got == was)
        })
        .count()
}

pub fn read_range(path: &Path, offset: u64, len: usize) -> Vec<u8> {
    let mut f = fs::File::open(path).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    let mut buf = vec![0u8; len];
    f.read_exact(&mut buf).unwrap();
    buf
}

pub fn write_range(path: &Path, offset: u64, data: &[u8]) {
    let mut f = fs::OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    f.write_all(data).unwrap();
    f.sync_all().unwrap();
}

/// A loop device over a file in /dev/shm; detached and removed on drop.
pub struct LoopDev {
    pub dev: PathBuf,
    pub backing: PathBuf,
    /// The kernel's count of bytes written to the device when it was attached.
    written_before: u64,
}

impl LoopDev {
    /// A loop device of `size` bytes with `sector` byte logical sectors, pre-filled with the
    /// test pattern.
    pub fn new(stem: &str, size: u64, sector: u32) -> LoopDev {
        Self::build(stem, size, sector, false)
    }

    /// Like `new`, with partition scanning on (`losetup -P`).
    pub fn with_partscan(stem: &str, size: u64, sector: u32) -> LoopDev {
        Self::build(stem, size, sector, true)
    }

    /// A read-only loop device (`losetup --read-only`).
    pub fn read_only(stem: &str, size: u64) -> LoopDev {
        Self::build_with(stem, size, 512, &["--read-only"])
    }

    fn build(stem: &str, size: u64, sector: u32, partscan: bool) -> LoopDev {
        Self::build_with(stem, size, sector, if partscan { &["-P"] } else { &[] })
    }

    fn build_with(stem: &str, size: u64, sector: u32, extra: &[&str]) -> LoopDev {
        require_root();
        let backing = shm_path(stem);
        write_pattern(&backing, size);
        let sector_arg = sector.to_string();
        let mut args = vec!["-f", "--show", "--sector-size", &sector_arg];
        args.extend_from_slice(extra);
        let backing_str = backing.to_str().unwrap().to_string();
        args.push(&backing_str);
        let out = Command::new("losetup").args(&args).output().unwrap();
        if !out.status.success() {
            let _ = fs::remove_file(&backing);
            panic!("losetup failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let dev = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        LoopDev::attached(dev, backing)
    }

    pub fn name(&self) -> String {
        self.dev.file_name().unwrap().to_string_lossy().into_owned()
    }

    pub fn digest(&self) -> u64 {
        file_digest(&self.backing)
    }

    /// A loop device just attached by `losetup` over `backing`.
    pub fn attached(dev: PathBuf, backing: PathBuf) -> LoopDev {
        let mut lo = LoopDev {
            dev,
            backing,
            written_before: 0,
        };
        lo.written_before = lo.kernel_bytes_written();
        lo
    }

    /// The bytes written to the loop device since it was attached, as the kernel counts them
    /// (`/sys/block/NAME/stat`, sectors written, in 512-byte units whatever the sector size):
    /// what reached the device, not what the program says it wrote.
    pub fn bytes_written(&self) -> u64 {
        self.kernel_bytes_written() - self.written_before
    }

    /// The kernel's count, which a loop device keeps across detach and attach.
    fn kernel_bytes_written(&self) -> u64 {
        let path = format!("/sys/block/{}/stat", self.name());
        let stat = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let sectors: u64 = stat
            .split_whitespace()
            .nth(6)
            .and_then(|f| f.parse().ok())
            .unwrap_or_else(|| panic!("{path} has no write sector count: {stat}"));
        sectors * 512
    }
}

impl Drop for LoopDev {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.dev).output();
        let _ = fs::remove_file(&self.backing);
    }
}

/// An ext4 filesystem made on `dev` and mounted on a temporary directory; unmounted on drop.
pub struct Mounted {
    pub dir: tempfile::TempDir,
}

impl Mounted {
    pub fn new(dev: &Path) -> Mounted {
        // No lazy initialisation: nothing writes to the device in the background once mounted,
        // so its bytes can be compared before and after.
        sh(
            "mkfs.ext4",
            &[
                "-q",
                "-F",
                "-E",
                "lazy_itable_init=0,lazy_journal_init=0",
                dev.to_str().unwrap(),
            ],
        );
        let dir = tempfile::tempdir().unwrap();
        sh(
            "mount",
            &[dev.to_str().unwrap(), dir.path().to_str().unwrap()],
        );
        Mounted { dir }
    }
}

impl Mounted {
    /// A btrfs filesystem (copy-on-write, with snapshots) made on `dev` and mounted on a
    /// temporary directory; unmounted on drop.
    pub fn btrfs(dev: &Path) -> Mounted {
        sh("mkfs.btrfs", &["-q", "-f", dev.to_str().unwrap()]);
        let dir = tempfile::tempdir().unwrap();
        sh(
            "mount",
            &[dev.to_str().unwrap(), dir.path().to_str().unwrap()],
        );
        Mounted { dir }
    }

    /// An XFS filesystem with reflinks on or off made on `dev` (at least 300 MiB) and mounted
    /// on a temporary directory; unmounted on drop.
    pub fn xfs(dev: &Path, reflink: bool) -> Mounted {
        let reflink = format!("reflink={}", u8::from(reflink));
        sh(
            "mkfs.xfs",
            &["-q", "-f", "-m", &reflink, dev.to_str().unwrap()],
        );
        let dir = tempfile::tempdir().unwrap();
        sh(
            "mount",
            &[dev.to_str().unwrap(), dir.path().to_str().unwrap()],
        );
        Mounted { dir }
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .output();
    }
}

/// A loop device over an existing block device or file (not created here); detached on drop,
/// and the thing it stands on is left alone.
pub struct StackedLoop {
    pub dev: PathBuf,
}

impl StackedLoop {
    pub fn over(backing: &Path) -> StackedLoop {
        let dev = sh("losetup", &["-f", "--show", backing.to_str().unwrap()]);
        StackedLoop {
            dev: PathBuf::from(dev),
        }
    }

    pub fn name(&self) -> String {
        self.dev.file_name().unwrap().to_string_lossy().into_owned()
    }
}

impl Drop for StackedLoop {
    fn drop(&mut self) {
        let _ = Command::new("losetup").arg("-d").arg(&self.dev).output();
    }
}

/// Another name for a file (a hard link, or a symbolic link); removed on drop.
pub struct Link {
    pub path: PathBuf,
}

impl Link {
    pub fn hard(target: &Path, stem: &str) -> Link {
        let path = shm_path(stem);
        fs::hard_link(target, &path).unwrap();
        Link { path }
    }

    pub fn symbolic(target: &Path, stem: &str) -> Link {
        let path = shm_path(stem);
        std::os::unix::fs::symlink(target, &path).unwrap();
        Link { path }
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// A file bind-mounted onto a new path in /dev/shm; unmounted and removed on drop.
pub struct BindMount {
    pub path: PathBuf,
}

impl BindMount {
    pub fn of(file: &Path, stem: &str) -> BindMount {
        let path = shm_path(stem);
        fs::write(&path, b"").unwrap();
        sh(
            "mount",
            &["--bind", file.to_str().unwrap(), path.to_str().unwrap()],
        );
        BindMount { path }
    }
}

impl Drop for BindMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).output();
        let _ = fs::remove_file(&self.path);
    }
}

/// Active swap on a device; switched off on drop.
pub struct Swap {
    dev: PathBuf,
}

impl Swap {
    pub fn on(dev: &Path) -> Swap {
        sh("mkswap", &[dev.to_str().unwrap()]);
        sh("swapon", &[dev.to_str().unwrap()]);
        Swap {
            dev: dev.to_path_buf(),
        }
    }
}

impl Drop for Swap {
    fn drop(&mut self) {
        let _ = Command::new("swapoff").arg(&self.dev).output();
    }
}

/// Writes an MBR with one Linux partition from sector 2048 to the end and makes the kernel
/// create its device node (`partx -a`; there is no udev daemon here).
pub fn partition(lo: &LoopDev, sector: u32) -> PathBuf {
    let size = fs::metadata(&lo.backing).unwrap().len();
    let sectors = size / sector as u64;
    let mut mbr = vec![0u8; 512];
    mbr[446 + 4] = 0x83;
    mbr[446 + 8..446 + 12].copy_from_slice(&2048u32.to_le_bytes());
    mbr[446 + 12..446 + 16].copy_from_slice(&((sectors - 2048) as u32).to_le_bytes());
    mbr[510] = 0x55;
    mbr[511] = 0xAA;
    let mut f = fs::OpenOptions::new().write(true).open(&lo.dev).unwrap();
    f.write_all(&mbr).unwrap();
    f.sync_all().unwrap();
    drop(f);
    let _ = Command::new("partx").arg("-a").arg(&lo.dev).output();
    let part = PathBuf::from(format!("{}p1", lo.dev.display()));
    for _ in 0..50 {
        if part.exists() {
            return part;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("partition {} did not appear", part.display());
}

/// A state directory for the binary, removed on drop.
pub struct Home {
    pub dir: tempfile::TempDir,
    /// The register's PostgreSQL database, if it is not the state directory's SQLite file.
    pub database: Option<String>,
}

/// Where a test's register is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    /// A database of its own in this test process's throwaway cluster.
    Postgres,
}

/// Runs each named test (a `fn(Backend)`) once per backend, as `sqlite::NAME` and
/// `postgres::NAME`.
macro_rules! on_each_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(crate::support::Backend::Sqlite) })*
        }
        mod postgres {
            $(#[test] fn $name() { super::$name(crate::support::Backend::Postgres) })*
        }
    };
}
pub(crate) use on_each_backend;

impl Home {
    pub fn new() -> Home {
        Home {
            dir: tempfile::Builder::new()
                .prefix("wipeproof-home-")
                .tempdir_in("/dev/shm")
                .unwrap(),
            database: None,
        }
    }

    /// A state directory whose register is on `backend` (every command it runs uses it).
    pub fn on(backend: Backend) -> Home {
        let mut home = Home::new();
        if backend == Backend::Postgres {
            home.database = Some(pg_cluster::database());
        }
        home
    }

    /// Runs a statement on the register behind wipeproof's back; the rows it changed.
    pub fn sql_execute(&self, sql: &str) -> u64 {
        match &self.database {
            None => self.sqlite().execute(sql, []).unwrap() as u64,
            Some(url) => self.postgres(url).execute(sql, &[]).unwrap(),
        }
    }

    /// The first column of the first row of a query, an integer (a count).
    pub fn sql_count(&self, sql: &str) -> i64 {
        match &self.database {
            None => self.sqlite().query_row(sql, [], |r| r.get(0)).unwrap(),
            Some(url) => self.postgres(url).query_one(sql, &[]).unwrap().get(0),
        }
    }

    /// The columns of the first row of a query, all text.
    pub fn sql_texts(&self, sql: &str) -> Vec<String> {
        match &self.database {
            None => {
                let db = self.sqlite();
                let mut stmt = db.prepare(sql).unwrap();
                let n = stmt.column_count();
                stmt.query_row([], |r| (0..n).map(|i| r.get(i)).collect())
                    .unwrap()
            }
            Some(url) => {
                let row = self.postgres(url).query_one(sql, &[]).unwrap();
                (0..row.len()).map(|i| row.get(i)).collect()
            }
        }
    }

    /// The first column of every row of a query, as text.
    pub fn sql_column(&self, sql: &str) -> Vec<String> {
        match &self.database {
            None => {
                let db = self.sqlite();
                let mut stmt = db.prepare(sql).unwrap();
                stmt.query_map([], |r| r.get(0))
                    .unwrap()
                    .collect::<Result<_, _>>()
                    .unwrap()
            }
            Some(url) => self
                .postgres(url)
                .query(sql, &[])
                .unwrap()
                .iter()
                .map(|row| row.get(0))
                .collect(),
        }
    }

    fn sqlite(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.path().join("register.sqlite")).unwrap()
    }

    fn postgres(&self, url: &str) -> postgres::Client {
        postgres::Client::connect(url, postgres::NoTls).unwrap()
    }

    /// A state directory made inside `dir` (e.g. a mounted filesystem of the test's own).
    pub fn inside(dir: &Path) -> Home {
        Home {
            dir: tempfile::Builder::new()
                .prefix("home-")
                .tempdir_in(dir)
                .unwrap(),
            database: None,
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs the binary with this state directory.
    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_wipeproof"));
        c.args(args)
            .env("WIPEPROOF_HOME", self.path())
            .env_remove("RUST_LOG");
        match &self.database {
            Some(url) => c.env("WIPEPROOF_DATABASE", url),
            None => c.env_remove("WIPEPROOF_DATABASE"),
        };
        c
    }

    /// Runs and parses stdout as JSON.
    pub fn json(&self, args: &[&str]) -> (i32, serde_json::Value) {
        let out = self.run(args);
        let code = out.status.code().unwrap_or(-1);
        let value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{args:?} printed no JSON ({e}); exit {code}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        });
        (code, value)
    }
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A small tmpfs mounted on a temporary directory; unmounted on drop. A sparse file larger than
/// the tmpfs gives a loop device whose writes past the tmpfs size fail, like bad sectors.
pub struct SmallTmpfs {
    pub dir: tempfile::TempDir,
}

impl SmallTmpfs {
    pub fn new(size: &str) -> SmallTmpfs {
        let dir = tempfile::tempdir_in("/dev/shm").unwrap();
        sh(
            "mount",
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size}"),
                "tmpfs",
                dir.path().to_str().unwrap(),
            ],
        );
        SmallTmpfs { dir }
    }

    /// A loop device over a sparse file of `size` bytes in this tmpfs.
    pub fn loop_dev(&self, size: u64) -> LoopDev {
        let backing = self.dir.path().join("failing.img");
        let f = fs::File::create(&backing).unwrap();
        f.set_len(size).unwrap();
        drop(f);
        let out = Command::new("losetup")
            .args(["-f", "--show", backing.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        LoopDev::attached(
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()),
            backing,
        )
    }
}

impl Drop for SmallTmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .output();
    }
}

/// Runs the binary with `stdin` fed the given text.
pub fn run_with_stdin(home: &Home, args: &[&str], input: &str) -> Output {
    use std::process::Stdio;
    let mut child = home
        .command(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The single drive entry of a `wipe --json` document.
pub fn only_drive(json: &serde_json::Value) -> &serde_json::Value {
    let drives = json["drives"].as_array().unwrap();
    assert_eq!(drives.len(), 1, "{json}");
    &drives[0]
}

/// A `wipeproof serve` process on a free 127.0.0.1 port (HTTP, or HTTPS given `--tls-cert`);
/// killed on drop.
pub struct Server {
    pub child: std::process::Child,
    pub url: String,
    /// Every line the server wrote on standard error after its start line, and a signal for
    /// each new one.
    pub log: std::sync::Arc<(std::sync::Mutex<Vec<String>>, std::sync::Condvar)>,
    /// The thread reading standard error; it ends when the server has exited.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    pub fn start(home: &Home) -> Server {
        Server::start_with(home, &[])
    }

    /// Starts the server with more `serve` arguments.
    pub fn start_with(home: &Home, extra: &[&str]) -> Server {
        use std::io::BufRead;
        let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let mut child = home
            .command(&args)
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let mut lines = std::io::BufReader::new(stderr).lines();
        let url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(i) = line.find("https://").or_else(|| line.find("http://")) {
                        let rest = &line[i..];
                        break rest.split_whitespace().next().unwrap().to_string();
                    }
                }
                _ => {
                    let _ = child.kill();
                    panic!("the server did not start");
                }
            }
        };
        // Keep draining stderr, so the server never blocks on it, and keep what it says.
        let log: std::sync::Arc<(std::sync::Mutex<Vec<String>>, std::sync::Condvar)> =
            Default::default();
        let keep = log.clone();
        let reader = std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                keep.0.lock().unwrap().push(line);
                keep.1.notify_all();
            }
        });
        Server {
            child,
            url,
            log,
            reader: Some(reader),
        }
    }

    /// The lines read so far that contain `needle` (the server may have written more that
    /// are not read yet: see [`Server::wait_logged`] and [`Server::stopped_log`]).
    pub fn logged(&self, needle: &str) -> Vec<String> {
        let lines = self.log.0.lock().unwrap();
        lines
            .iter()
            .filter(|l| l.contains(needle))
            .cloned()
            .collect()
    }

    /// Waits until at least `count` lines containing `needle` have been read (a minute at
    /// most, against a hang), and returns all of them.
    pub fn wait_logged(&self, needle: &str, count: usize) -> Vec<String> {
        let (lines, arrived) = &*self.log;
        let matching = |lines: &Vec<String>| lines.iter().filter(|l| l.contains(needle)).count();
        let (lines, _) = arrived
            .wait_timeout_while(
                lines.lock().unwrap(),
                std::time::Duration::from_secs(60),
                |lines| matching(lines) < count,
            )
            .unwrap();
        let found: Vec<String> = lines
            .iter()
            .filter(|l| l.contains(needle))
            .cloned()
            .collect();
        assert!(
            found.len() >= count,
            "the server logged {} of {count} lines with {needle:?}: {:?}",
            found.len(),
            *lines
        );
        found
    }

    /// Everything the server wrote on standard error, once it has exited (call after
    /// waiting for the child): the reader has then seen the end of the pipe.
    pub fn stopped_log(&mut self) -> Vec<String> {
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        self.log.0.lock().unwrap().clone()
    }

    /// Kills the server at once (as a crash would).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Imports the manifest `text` into `home`'s register as `collection` of `customer`.
pub fn import_manifest(
    home: &Home,
    text: &str,
    customer: &str,
    collection: &str,
) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let m = manifest(dir.path(), "manifest.csv", text);
    home.run(&[
        "intake",
        "import",
        m.to_str().unwrap(),
        "--customer",
        customer,
        "--collection",
        collection,
    ])
}

/// Writes `station.id = id` into a state directory's config.
pub fn set_station_id(home: &Home, id: &str) {
    let path = home.path().join("wipeproof.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut out = String::new();
    let mut in_station = false;
    for line in text.lines() {
        if line.starts_with('[') {
            in_station = line.trim() == "[station]";
        }
        if in_station && line.starts_with("id =") {
            out.push_str(&format!("id = \"{id}\"\n"));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    std::fs::write(&path, out).unwrap();
}

/// Writes a manifest file and returns its path.
pub fn manifest(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).unwrap();
    p
}

/// The files with extension `ext` directly in `dir` (none if it does not exist), sorted.
pub fn files_with_ext(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == ext))
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

impl Home {
    /// The checkpoints of interrupted wipes (`checkpoints/*.json`).
    pub fn checkpoints(&self) -> Vec<PathBuf> {
        files_with_ext(&self.path().join("checkpoints"), "json")
    }

    /// Waits until a wipe has written its first checkpoint (it does so before its first pass),
    /// and returns its path.
    pub fn wait_for_checkpoint(&self, child: &mut std::process::Child) -> PathBuf {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Some(cp) = self.checkpoints().into_iter().next() {
                return cp;
            }
            if let Some(status) = child.try_wait().unwrap() {
                panic!("the wipe ended ({status}) before it wrote a checkpoint");
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no checkpoint after 60 s"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// A reader at the other end of a pipe that takes the first line and then closes the pipe, as
/// `| head -1` does: every later write into the pipe fails with `EPIPE`.
pub struct HeadOne {
    reader: std::thread::JoinHandle<String>,
}

impl HeadOne {
    /// Starts reading `pipe` (a child's stdout or stderr).
    pub fn start(pipe: impl Read + Send + 'static) -> HeadOne {
        use std::io::BufRead;
        HeadOne {
            reader: std::thread::spawn(move || {
                let mut line = String::new();
                let _ = std::io::BufReader::new(pipe).read_line(&mut line);
                line
            }),
        }
    }

    /// A pipe for both stdout and stderr of a child (`2>&1`), read by a `HeadOne`.
    pub fn both() -> (HeadOne, std::process::Stdio, std::process::Stdio) {
        // Close-on-exec, so the child does not hold the read end open itself.
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
        let write2 = write.try_clone().unwrap();
        (
            HeadOne::start(fs::File::from(read)),
            write.into(),
            write2.into(),
        )
    }

    /// The line it read (the pipe is closed by then).
    pub fn line(self) -> String {
        self.reader.join().unwrap()
    }
}

/// Sends `signal` to the process `child`.
pub fn send_signal(child: &std::process::Child, signal: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
}

/// Another program (a small python3) holding a device open with `O_EXCL`, as a program using a
/// disk directly does; killed by its own process id on drop.
pub struct ExclusiveHolder {
    child: std::process::Child,
}

impl ExclusiveHolder {
    pub fn of(dev: &Path) -> ExclusiveHolder {
        use std::io::BufRead;
        let mut child = Command::new("python3")
            .args([
                "-c",
                "import os, sys, time\n\
                 fd = os.open(sys.argv[1], os.O_RDONLY | os.O_EXCL)\n\
                 print('held', flush=True)\n\
                 time.sleep(600)",
            ])
            .arg(dev)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run python3: {e}"));
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        let _ = std::io::BufReader::new(stdout).read_line(&mut line);
        let holder = ExclusiveHolder { child };
        assert_eq!(
            line.trim(),
            "held",
            "python3 could not open {}",
            dev.display()
        );
        holder
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ExclusiveHolder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A btrfs filesystem with data and metadata mirrored (RAID1) over two devices, mounted
/// through the first on a temporary directory; unmounted on drop.
pub struct BtrfsRaid1 {
    pub dir: tempfile::TempDir,
}

impl BtrfsRaid1 {
    pub fn over(first: &Path, second: &Path) -> BtrfsRaid1 {
        let (a, b) = (first.to_str().unwrap(), second.to_str().unwrap());
        sh(
            "mkfs.btrfs",
            &["-q", "-f", "-d", "raid1", "-m", "raid1", a, b],
        );
        let dir = tempfile::tempdir().unwrap();
        let device = format!("device={b}");
        sh(
            "mount",
            &[
                "-t",
                "btrfs",
                "-o",
                &device,
                a,
                dir.path().to_str().unwrap(),
            ],
        );
        BtrfsRaid1 { dir }
    }
}

impl Drop for BtrfsRaid1 {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).output();
    }
}
