//! The central register over HTTPS on 127.0.0.1: a throwaway CA and server certificate made
//! with the openssl command at test time, stations that trust it through `sync.ca_file` or
//! `--ca-file` (and fail plainly without it), clients that speak no TLS or nothing at all, the
//! loopback rule for plain HTTP, and certificate/key files that do not fit.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::*;

/// A CA and a server certificate it issued for 127.0.0.1 and localhost, with their keys (PEM,
/// PKCS#8 EC P-256); removed with the directory.
struct TestPki {
    dir: tempfile::TempDir,
}

impl TestPki {
    fn new() -> TestPki {
        let dir = tempfile::Builder::new()
            .prefix("wipeproof-pki-")
            .tempdir_in("/dev/shm")
            .unwrap();
        let pki = TestPki { dir };
        let p = |name: &str| pki.path(name).to_str().unwrap().to_string();
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &p("ca.key"),
            "-out",
            &p("ca.pem"),
            "-days",
            "2",
            "-subj",
            "/CN=wipeproof test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &p("server.key"),
            "-out",
            &p("server.csr"),
            "-subj",
            "/CN=localhost",
        ]);
        std::fs::write(
            pki.path("server.ext"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
             keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            &p("server.csr"),
            "-CA",
            &p("ca.pem"),
            "-CAkey",
            &p("ca.key"),
            "-set_serial",
            "2",
            "-days",
            "2",
            "-extfile",
            &p("server.ext"),
            "-out",
            &p("server.pem"),
        ]);
        pki
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn arg(&self, name: &str) -> String {
        self.path(name).to_str().unwrap().to_string()
    }

    /// `serve` arguments for HTTPS with the server certificate.
    fn serve_args(&self) -> Vec<String> {
        vec![
            "--tls-cert".into(),
            self.arg("server.pem"),
            "--tls-key".into(),
            self.arg("server.key"),
        ]
    }
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl").args(args).output().unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn start_https(central: &Home, pki: &TestPki, extra: &[&str]) -> Server {
    let mut args = pki.serve_args();
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start_with(central, &args);
    assert!(
        server.url.starts_with("https://127.0.0.1:"),
        "{}",
        server.url
    );
    server
}

/// A station enrolled with `central` as `name`, holding one wiped drive's certificate not yet
/// sent.
fn station_with_a_certificate(central: &Home, name: &str) -> Home {
    let station = Home::new();
    assert!(station.run(&["keys", "init"]).status.success());
    set_in_section(&station, "[station]", &format!("id = \"{name}\""));
    let pem = station.path().join("station.pem");
    std::fs::write(&pem, station.run(&["keys", "export"]).stdout).unwrap();
    let out = central.run(&["stations", "add", pem.to_str().unwrap(), "--name", name]);
    assert!(out.status.success(), "{}", stderr(&out));
    let disk = ShmFile::with_pattern(&format!("tls-{name}"), 1 << 20);
    let (code, v) = station.json(&[
        "wipe",
        disk.path.to_str().unwrap(),
        "--method",
        "zero",
        "--yes",
        "--json",
    ]);
    assert_eq!(code, 0, "{v}");
    station
}

/// Writes `line` into `section` of the state directory's config, replacing a setting of the
/// same name.
fn set_in_section(home: &Home, section: &str, line: &str) {
    let path = home.path().join("wipeproof.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let key = |l: &str| l.split('=').next().unwrap_or("").trim().to_string();
    let mut out = String::new();
    let mut inside = false;
    let mut found = false;
    for l in text.lines() {
        if l.starts_with('[') {
            inside = l.trim() == section;
        }
        if inside && key(l) == key(line) {
            continue;
        }
        out.push_str(l);
        out.push('\n');
        if inside && l.trim() == section {
            out.push_str(line);
            out.push('\n');
            found = true;
        }
    }
    assert!(found, "no {section} in {text}");
    std::fs::write(&path, out).unwrap();
}

fn stored_certificates(central: &Home) -> i64 {
    let db = rusqlite::Connection::open(central.path().join("register.sqlite")).unwrap();
    db.query_row("SELECT COUNT(*) FROM certificates", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_station_syncs_over_https_when_it_trusts_the_registers_ca() {
    let pki = TestPki::new();
    let central = Home::new();
    let bay1 = station_with_a_certificate(&central, "bay-1");
    let bay2 = station_with_a_certificate(&central, "bay-2");
    let server = start_https(&central, &pki, &[]);

    // The CA is not among the system's roots: nothing is sent, and the station says what the
    // register is and what to set.
    let out = bay1.run(&["sync", "--register", &server.url]);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains(&format!("the register at {}", server.url))
            && err.contains("does not verify")
            && err.contains("ca_file"),
        "{err}"
    );
    assert_eq!(stored_certificates(&central), 0);

    // With the CA file in the config, relative to the state directory: sent and stored.
    std::fs::copy(pki.path("ca.pem"), bay1.path().join("register-ca.pem")).unwrap();
    set_in_section(&bay1, "[sync]", "ca_file = \"register-ca.pem\"");
    let (code, v) = bay1.json(&["sync", "--register", &server.url, "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["sent"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(stored_certificates(&central), 1);

    // The flag does the same for one run.
    let (code, v) = bay2.json(&[
        "sync",
        "--register",
        &server.url,
        "--ca-file",
        &pki.arg("ca.pem"),
        "--json",
    ]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["sent"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(stored_certificates(&central), 2);

    // A CA file that holds no certificate is named.
    let out = bay2.run(&[
        "sync",
        "--register",
        &server.url,
        "--ca-file",
        &pki.arg("ca.key"),
    ]);
    let err = stderr(&out);
    assert!(
        !out.status.success() && err.contains("ca.key") && err.contains("no PEM certificate"),
        "{err}"
    );
}

/// Reads from `stream` until the server closes it: how long that took (`None` if still open
/// after `limit`) and what it sent.
fn time_until_closed(
    stream: &mut std::net::TcpStream,
    limit: Duration,
) -> (Option<Duration>, Vec<u8>) {
    use std::io::Read;
    let start = Instant::now();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while start.elapsed() < limit {
        let left = limit.saturating_sub(start.elapsed());
        stream
            .set_read_timeout(Some(left.max(Duration::from_millis(10))))
            .unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return (Some(start.elapsed()), seen),
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return (Some(start.elapsed()), seen),
        }
    }
    (None, seen)
}

#[test]
fn the_https_port_gives_plain_http_and_silent_clients_nothing() {
    use std::io::Write;

    let pki = TestPki::new();
    let central = Home::new();
    let server = start_https(&central, &pki, &["--read-timeout", "1"]);
    let addr = server.url.trim_start_matches("https://").to_string();

    // A plain HTTP request: no HTTP answer, no data, the connection closed.
    let mut plain = std::net::TcpStream::connect(&addr).unwrap();
    plain
        .write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .unwrap();
    let (closed, seen) = time_until_closed(&mut plain, Duration::from_secs(5));
    assert!(closed.is_some(), "a plain HTTP client was kept waiting");
    let text = String::from_utf8_lossy(&seen);
    assert!(
        !text.contains("HTTP/1") && !text.contains("status"),
        "plain HTTP got an answer: {text:?}"
    );

    // Connected, then silence: cut off by the read timeout instead of waiting for a handshake
    // that never comes.
    let mut silent = std::net::TcpStream::connect(&addr).unwrap();
    let (closed, seen) = time_until_closed(&mut silent, Duration::from_secs(6));
    let closed = closed.expect("a silent client must not keep the connection open");
    assert!(closed < Duration::from_secs(4), "closed after {closed:?}");
    assert!(seen.is_empty(), "{seen:?}");

    // A TLS client that trusts the CA is still served.
    let out = Command::new("openssl")
        .args([
            "s_client",
            "-connect",
            &addr,
            "-CAfile",
            &pki.arg("ca.pem"),
            "-verify_return_error",
            "-quiet",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            if let Some(mut stdin) = child.stdin.take() {
                stdin.write_all(
                    b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                )?;
            }
            child.wait_with_output()
        })
        .unwrap();
    let answer = String::from_utf8_lossy(&out.stdout);
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.contains("\"status\":\"ok\""),
        "{answer}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `serve` expecting it to stop by itself (it must never keep listening); its stderr.
fn serve_expecting_exit(home: &Home, args: &[&str]) -> String {
    let mut child = home
        .command(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("serve {args:?} kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    stderr(&out)
}

#[test]
fn plain_http_listens_on_loopback_only_unless_insecure_http() {
    let central = Home::new();
    // Holding the port on 127.0.0.1 makes a bind of 0.0.0.0 to it fail, so no test here ever
    // listens beyond loopback: what matters is whether `serve` gets as far as binding.
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let any = format!("0.0.0.0:{port}");

    let err = serve_expecting_exit(&central, &["serve", "--listen", &any]);
    assert!(
        err.contains(&format!("--listen {any}"))
            && err.contains("loopback")
            && err.contains("--tls-cert PEM --tls-key PEM")
            && err.contains("--insecure-http")
            && !err.contains("cannot listen"),
        "{err}"
    );
    let err = serve_expecting_exit(&central, &["serve", "--listen", &any, "--insecure-http"]);
    assert!(
        err.contains(&format!("cannot listen on {any}")) && !err.contains("loopback only"),
        "{err}"
    );
    drop(held);

    // Loopback needs neither, and says it serves plain HTTP.
    let server = Server::start(&central);
    assert!(
        server.url.starts_with("http://127.0.0.1:"),
        "{}",
        server.url
    );
}

#[test]
fn certificate_and_key_files_that_do_not_fit_are_named() {
    let pki = TestPki::new();
    let central = Home::new();
    let serve = |cert: &Path, key: &Path| {
        serve_expecting_exit(
            &central,
            &[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--tls-cert",
                cert.to_str().unwrap(),
                "--tls-key",
                key.to_str().unwrap(),
            ],
        )
    };
    // The CA's key is a fine key, but not the certificate's.
    let err = serve(&pki.path("server.pem"), &pki.path("ca.key"));
    assert!(
        err.contains("does not match")
            && err.contains(&pki.arg("ca.key"))
            && err.contains(&pki.arg("server.pem")),
        "{err}"
    );
    // Certificate and key swapped.
    let err = serve(&pki.path("server.key"), &pki.path("server.pem"));
    assert!(
        err.contains(&pki.arg("server.key")) && err.contains("no PEM certificate"),
        "{err}"
    );
    let err = serve(&pki.path("server.pem"), &pki.path("server.pem"));
    assert!(
        err.contains(&pki.arg("server.pem")) && err.contains("no PEM private key"),
        "{err}"
    );
    // A file that is not there.
    let err = serve(&pki.path("server.pem"), &pki.path("missing.key"));
    assert!(
        err.contains(&pki.arg("missing.key")) && err.contains("does not exist"),
        "{err}"
    );
}

/// Turns TLS on in the test's PostgreSQL cluster with `pki`'s server certificate (reloaded,
/// not restarted: plain connections of other tests go on).
fn postgres_serves_tls(admin: &mut postgres::Client, pki: &TestPki) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix("wipeproof-pg-tls-")
        .tempdir_in("/dev/shm")
        .unwrap();
    for name in ["server.pem", "server.key"] {
        std::fs::copy(pki.path(name), dir.path().join(name)).unwrap();
    }
    let key = dir.path().join("server.key");
    let chown = Command::new("chown")
        .args(["-R", "postgres:postgres", dir.path().to_str().unwrap()])
        .status()
        .unwrap();
    assert!(chown.success());
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let cert = dir.path().join("server.pem");
    // One statement at a time: ALTER SYSTEM may not run in a transaction block.
    for statement in [
        format!("ALTER SYSTEM SET ssl_cert_file = '{}'", cert.display()),
        format!("ALTER SYSTEM SET ssl_key_file = '{}'", key.display()),
        "ALTER SYSTEM SET ssl = 'on'".to_string(),
    ] {
        admin.batch_execute(&statement).unwrap();
    }
    admin.batch_execute("SELECT pg_reload_conf()").unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let on: String = admin.query_one("SHOW ssl", &[]).unwrap().get(0);
        if on == "on" {
            break;
        }
        assert!(Instant::now() < deadline, "PostgreSQL did not turn ssl on");
        std::thread::sleep(Duration::from_millis(50));
    }
    dir
}

#[test]
fn the_register_reaches_postgresql_over_verified_tls() {
    let pki = TestPki::new();
    let mut home = Home::on(Backend::Postgres);
    let plain = home.database.clone().unwrap();
    let mut admin = postgres::Client::connect(&plain, postgres::NoTls).unwrap();
    let _files = postgres_serves_tls(&mut admin, &pki);

    // Verified against the CA that signed the server's certificate: it connects, over TLS.
    home.database = Some(format!(
        "{plain}?sslmode=verify-full&sslrootcert={}",
        pki.arg("ca.pem")
    ));
    let out = home.run(&["stations", "list", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let server = Server::start(&home);
    let health = ureq::get(&format!("{}/api/v1/health", server.url))
        .call()
        .unwrap()
        .status();
    assert_eq!(health.as_u16(), 200);
    let encrypted: i64 = admin
        .query_one(
            "SELECT COUNT(*) FROM pg_stat_ssl s JOIN pg_stat_activity a ON a.pid = s.pid \
             WHERE a.application_name = 'wipeproof' AND a.datname = current_database() AND s.ssl",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(encrypted >= 1, "the server's connections are not encrypted");
    let clear: i64 = admin
        .query_one(
            "SELECT COUNT(*) FROM pg_stat_ssl s JOIN pg_stat_activity a ON a.pid = s.pid \
             WHERE a.application_name = 'wipeproof' AND a.datname = current_database() AND NOT s.ssl",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(clear, 0, "a connection of the server is in clear");
    drop(server);

    // A CA that did not sign it: refused, with what to do.
    let other = TestPki::new();
    home.database = Some(format!(
        "{plain}?sslmode=verify-full&sslrootcert={}",
        other.arg("ca.pem")
    ));
    let out = home.run(&["stations", "list", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("sslrootcert="), "{}", stderr(&out));
    // verify-ca would not check the name: refused before connecting.
    home.database = Some(format!("{plain}?sslmode=verify-ca"));
    let out = home.run(&["stations", "list", "--json"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("verify-full"), "{}", stderr(&out));
}
