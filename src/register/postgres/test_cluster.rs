//! A throwaway PostgreSQL cluster for tests and benchmarks: created (as root, with Debian's
//! `pg_createcluster`) once per test process, on a port and socket directory of its own under
//! /dev/shm, listening on 127.0.0.1 only, and dropped when the process exits. A cluster left
//! behind by a test process that died is dropped by the next one. Each test asks for a fresh
//! database of its own.
//!
//! This file uses only std and libc: the library's unit tests include it as a module, and the
//! integration tests and benchmarks include it with `#[path]`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Name prefix of every cluster made here; the process id follows.
const PREFIX: &str = "wipeproof-test-";

struct Cluster {
    version: String,
    name: String,
    port: u16,
    dir: PathBuf,
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

/// The URL of a new, empty database in this process's cluster. Panics with what to do when
/// PostgreSQL is not installed or the cluster cannot start: the PostgreSQL variants of the
/// tests must fail, never pass without having run.
pub fn database() -> String {
    let cluster = match CLUSTER.get_or_init(start) {
        Ok(c) => c,
        Err(why) => panic!("{why}"),
    };
    let name = format!(
        "wp_{}_{}",
        std::process::id(),
        DATABASES.fetch_add(1, Ordering::SeqCst)
    );
    let out = Command::new(bin(&cluster.version, "createdb"))
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &cluster.port.to_string(),
            "-U",
            "postgres",
            &name,
        ])
        .output()
        .unwrap_or_else(|e| panic!("cannot run createdb: {e}"));
    assert!(
        out.status.success(),
        "createdb {name} in the test cluster {} failed: {}",
        cluster.name,
        String::from_utf8_lossy(&out.stderr)
    );
    format!("postgres://postgres@127.0.0.1:{}/{name}", cluster.port)
}

fn bin(version: &str, name: &str) -> PathBuf {
    Path::new("/usr/lib/postgresql")
        .join(version)
        .join("bin")
        .join(name)
}

/// The newest PostgreSQL installed, by Debian's layout.
fn installed_version() -> Option<String> {
    let mut versions: Vec<u32> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .filter(|v: &u32| bin(&v.to_string(), "postgres").exists())
        .collect();
    versions.sort();
    versions.last().map(u32::to_string)
}

fn start() -> Result<Cluster, String> {
    let missing = "PostgreSQL is not installed: the PostgreSQL variants of the register tests \
                   need Debian's postgresql and postgresql-common (`.ci/setup` installs them)";
    if !Path::new("/usr/bin/pg_createcluster").exists() {
        return Err(missing.into());
    }
    let version = installed_version().ok_or(missing)?;
    if unsafe { libc::geteuid() } != 0 {
        return Err(
            "the PostgreSQL variants of the register tests run as root: they create a \
                    throwaway cluster with pg_createcluster"
                .into(),
        );
    }
    drop_stale_clusters();
    let pid = std::process::id();
    let name = format!("{PREFIX}{pid}");
    let dir = PathBuf::from(format!("/dev/shm/wipeproof-pg-{pid}"));
    let _ = std::fs::remove_dir_all(&dir);
    // The server (user postgres) keeps its socket and lock file here.
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let chown = Command::new("chown")
        .arg("postgres:postgres")
        .arg(&dir)
        .status()
        .map_err(|e| format!("cannot run chown: {e}"))?;
    if !chown.success() {
        return Err(format!(
            "cannot give {} to the user postgres",
            dir.display()
        ));
    }
    let port = free_port()?;
    let out = Command::new("pg_createcluster")
        .arg(&version)
        .arg(&name)
        .args(["--port", &port.to_string()])
        .arg(format!("--datadir={}", dir.join("data").display()))
        .arg(format!("--socketdir={}", dir.display()))
        .arg(format!("--logfile={}", dir.join("log").display()))
        .args(["--start-conf=manual", "--quiet", "--start"])
        .args([
            "-o",
            "listen_addresses=localhost",
            "-o",
            "max_connections=200",
        ])
        .args(["--", "--auth-local=trust", "--auth-host=trust"])
        .output()
        .map_err(|e| format!("cannot run pg_createcluster: {e}"))?;
    if !out.status.success() {
        let _ = Command::new("pg_dropcluster")
            .args(["--stop", &version, &name])
            .output();
        return Err(format!(
            "pg_createcluster {version} {name} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let cluster = Cluster {
        version,
        name,
        port,
        dir,
    };
    // Statics are never dropped: the cluster goes when the process exits.
    unsafe { libc::atexit(drop_at_exit) };
    Ok(cluster)
}

extern "C" fn drop_at_exit() {
    if let Some(Ok(c)) = CLUSTER.get() {
        drop_cluster(&c.version, &c.name);
        let _ = std::fs::remove_dir_all(&c.dir);
    }
}

fn drop_cluster(version: &str, name: &str) {
    let _ = Command::new("pg_dropcluster")
        .args(["--stop", version, name])
        .output();
}

/// Drops the clusters of test processes that are gone (killed, or crashed before exit).
fn drop_stale_clusters() {
    let Ok(out) = Command::new("pg_lsclusters").arg("-h").output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut fields = line.split_whitespace();
        let (Some(version), Some(name)) = (fields.next(), fields.next()) else {
            continue;
        };
        let Some(pid) = name.strip_prefix(PREFIX) else {
            continue;
        };
        if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
            drop_cluster(version, name);
            let _ = std::fs::remove_dir_all(format!("/dev/shm/wipeproof-pg-{pid}"));
        }
    }
}

/// A TCP port nobody listens on now.
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("cannot find a free port for the test cluster: {e}"))
}
