//! `wipeproof station`: headless (JSON lines) with unattended wiping of loop devices plugged in
//! after start, a mounted one left alone, one detached mid-wipe; and the terminal UI inside
//! tmux, driven by keys.
//!
//! Every station here is limited with `--only` to drives whose serial (a loop device's backing
//! file name) carries this test's own token, so it never sees a loop device it did not make.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

/// A token unique to one test run, carried in every backing file's name.
pub(crate) fn token(what: &str) -> String {
    let n: u32 = rand_u32();
    format!("stn{what}{n:08x}")
}

fn rand_u32() -> u32 {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).unwrap();
    u32::from_le_bytes(b)
}

/// A loop device over a /dev/shm file, for a station test. `detach` lets it go early; after
/// that, drop never touches the device number again (another program may have it by then).
pub(crate) struct Plug {
    dev: Option<PathBuf>,
    pub(crate) backing: PathBuf,
}

impl Plug {
    pub(crate) fn new(token: &str, name: &str, size: u64) -> Plug {
        require_root();
        let backing = PathBuf::from(format!("/dev/shm/wipeproof-test-{token}-{name}.img"));
        write_pattern(&backing, size);
        let out = Command::new("losetup")
            .args(["-f", "--show"])
            .arg(&backing)
            .output()
            .unwrap();
        if !out.status.success() {
            let _ = std::fs::remove_file(&backing);
            panic!("losetup failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let dev = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        Plug {
            dev: Some(dev),
            backing,
        }
    }

    pub(crate) fn path(&self) -> String {
        self.dev.as_ref().unwrap().display().to_string()
    }

    /// Detaches this drive and attaches a new one over a new file at the same device path
    /// (another drive put in the same bay). `None` when another program took the device
    /// number meanwhile.
    pub(crate) fn replace(&mut self, token: &str, name: &str, size: u64) -> Option<Plug> {
        let dev = self.dev.clone().unwrap();
        self.detach();
        let backing = PathBuf::from(format!("/dev/shm/wipeproof-test-{token}-{name}.img"));
        write_pattern(&backing, size);
        let out = Command::new("losetup")
            .arg(&dev)
            .arg(&backing)
            .output()
            .unwrap();
        if !out.status.success() {
            let _ = std::fs::remove_file(&backing);
            return None;
        }
        Some(Plug {
            dev: Some(dev),
            backing,
        })
    }

    pub(crate) fn detach(&mut self) {
        if let Some(dev) = self.dev.take() {
            let out = Command::new("losetup")
                .arg("-d")
                .arg(&dev)
                .output()
                .unwrap();
            assert!(out.status.success(), "losetup -d {}", dev.display());
        }
    }
}

impl Drop for Plug {
    fn drop(&mut self) {
        if let Some(dev) = self.dev.take() {
            let _ = Command::new("losetup").arg("-d").arg(&dev).output();
        }
        let _ = std::fs::remove_file(&self.backing);
    }
}

/// A tiny ext4 image mounted with `mount -o loop` (the loop device goes when it is unmounted).
struct LoopMount {
    image: PathBuf,
    dir: tempfile::TempDir,
    dev: String,
}

impl LoopMount {
    fn new(token: &str) -> LoopMount {
        let image = PathBuf::from(format!("/dev/shm/wipeproof-test-{token}-mounted.img"));
        let f = std::fs::File::create(&image).unwrap();
        f.set_len(8 << 20).unwrap();
        drop(f);
        // Inode tables and journal written now, not later by the kernel in the background, so
        // the image's bytes stay as they are while it is mounted and nobody writes.
        let ok = Command::new("mkfs.ext4")
            .args(["-q", "-F", "-E", "lazy_itable_init=0,lazy_journal_init=0"])
            .arg(&image)
            .status()
            .unwrap();
        assert!(ok.success(), "mkfs.ext4");
        let dir = tempfile::tempdir().unwrap();
        let out = run_patiently(
            "mount",
            &[
                "-o",
                "loop",
                image.to_str().unwrap(),
                dir.path().to_str().unwrap(),
            ],
        );
        if !out.status.success() {
            let _ = std::fs::remove_file(&image);
            panic!("mount -o loop: {}", String::from_utf8_lossy(&out.stderr));
        }
        let mut m = LoopMount {
            image,
            dir,
            dev: String::new(),
        };
        let src = Command::new("findmnt")
            .args(["-n", "-o", "SOURCE"])
            .arg(m.dir.path())
            .output()
            .unwrap();
        m.dev = String::from_utf8_lossy(&src.stdout).trim().to_string();
        assert!(m.dev.starts_with("/dev/loop"), "{}", m.dev);
        std::fs::write(m.dir.path().join("keep.txt"), "still here").unwrap();
        let _ = Command::new("sync").status();
        m
    }
}

impl Drop for LoopMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).output();
        let _ = std::fs::remove_file(&self.image);
    }
}

/// A running `wipeproof station --headless`, its JSON lines collected; stopped on drop.
struct Station {
    child: Child,
    lines: Arc<Mutex<Vec<(Instant, Value)>>>,
    stderr: Arc<Mutex<String>>,
    /// The thread reading the JSON lines; it ends when the station has exited.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Station {
    fn start(home: &Home, args: &[&str]) -> Station {
        let mut all = vec!["station", "--headless"];
        all.extend_from_slice(args);
        let mut child = home
            .command(&all)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let lines: Arc<Mutex<Vec<(Instant, Value)>>> = Arc::default();
        let stdout = child.stdout.take().unwrap();
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let v: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
                sink.lock().unwrap().push((Instant::now(), v));
            }
        });
        let stderr: Arc<Mutex<String>> = Arc::default();
        let err = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        let s = Station {
            child,
            lines,
            stderr,
            reader: Some(reader),
        };
        s.wait_stderr("is watching for drives", Duration::from_secs(30));
        s
    }

    fn wait_stderr(&self, text: &str, limit: Duration) {
        let t = Instant::now();
        while t.elapsed() < limit {
            if self.stderr.lock().unwrap().contains(text) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "station never said {text:?}:\n{}",
            self.stderr.lock().unwrap()
        );
    }

    fn events(&self, drive: &str) -> Vec<(Instant, Value)> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, v)| v["drive"] == drive)
            .cloned()
            .collect()
    }

    /// Waits for an event of `drive` that satisfies `want`.
    fn wait(
        &self,
        drive: &str,
        limit: Duration,
        want: impl Fn(&Value) -> bool,
    ) -> (Instant, Value) {
        let t = Instant::now();
        while t.elapsed() < limit {
            if let Some(e) = self.events(drive).into_iter().find(|(_, v)| want(v)) {
                return e;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "no such event for {drive} within {limit:?}; it had:\n{:#?}\nstderr:\n{}",
            self.events(drive).iter().map(|e| &e.1).collect::<Vec<_>>(),
            self.stderr.lock().unwrap()
        );
    }

    fn has(&self, drive: &str, event: &str) -> bool {
        self.events(drive).iter().any(|(_, v)| v["event"] == event)
    }

    /// SIGTERM, then the exit code; every line the station wrote has been read by then.
    fn stop(&mut self) -> i32 {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(60) {
            if let Ok(Some(status)) = self.child.try_wait() {
                if let Some(reader) = self.reader.take() {
                    reader.join().unwrap();
                }
                return status.code().unwrap_or(-1);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        panic!("the station did not stop within 60 s of SIGTERM");
    }
}

impl Drop for Station {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn event_is(name: &'static str) -> impl Fn(&Value) -> bool {
    move |v| v["event"] == name
}

#[test]
fn headless_wipes_drives_plugged_in_after_start_and_leaves_the_rest() {
    let home = Home::new();
    let t = token("auto");
    let before = Plug::new(&t, "before", 8 << 20);
    let before_digest = file_digest(&before.backing);
    let only = format!("*{t}*");
    let mut station = Station::start(
        &home,
        &["--auto", "zero", "--auto-delay", "1", "--only", &only],
    );
    let (_, shown) = station.wait(&before.path(), Duration::from_secs(5), event_is("appeared"));
    assert_eq!(shown["existing"], true, "{shown}");

    // The mounted one comes first: shown protected, with the reason.
    let mounted = LoopMount::new(&t);
    let mounted_digest = file_digest(&mounted.image);
    let (_, v) = station.wait(&mounted.dev, Duration::from_secs(30), |v| {
        v["event"] == "appeared" && v["protected"] == true
    });
    assert!(
        v["protected_reason"].as_str().unwrap().contains("mounted"),
        "{v}"
    );
    let plugged_at = Instant::now();
    let a = Plug::new(&t, "a", 16 << 20);
    let b = Plug::new(&t, "b", (16 << 20) + (12 << 10));
    for p in [&a, &b] {
        // Generous, against a hang; how fast drives are shown is measured by
        // `cargo bench --bench growth`.
        let (seen_at, v) = station.wait(&p.path(), Duration::from_secs(30), event_is("appeared"));
        assert_eq!(v["existing"], false, "{v}");
        assert_eq!(v["protected"], false, "{v}");
        eprintln!(
            "{} shown {:?} after it was plugged in",
            p.path(),
            seen_at.duration_since(plugged_at)
        );
    }
    for p in [&a, &b] {
        let (_, fin) = station.wait(&p.path(), Duration::from_secs(60), event_is("finished"));
        assert_eq!(fin["result"], "PASS", "{fin}");
        let (_, cert) = station.wait(&p.path(), Duration::from_secs(30), event_is("certified"));
        assert!(Path::new(cert["certificate_pdf"].as_str().unwrap()).exists());
        assert!(Path::new(cert["certificate_json"].as_str().unwrap()).exists());
        assert_eq!(
            surviving_blocks(&p.backing),
            0,
            "{} was not erased",
            p.path()
        );
        let events: Vec<String> = station
            .events(&p.path())
            .iter()
            .map(|(_, v)| v["event"].as_str().unwrap().to_string())
            .filter(|e| e != "progress")
            .collect();
        let order = [
            "appeared",
            "scheduled",
            "started",
            "finished",
            "certified",
            "registered",
        ];
        let positions: Vec<usize> = order
            .iter()
            .map(|o| {
                events
                    .iter()
                    .position(|e| e == o)
                    .unwrap_or_else(|| panic!("no {o}: {events:?}"))
            })
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{events:?}");
    }
    // `before` and the mounted one appeared before a and b, with the same delay: had the
    // station meant to wipe them, it would have started them before a and b. Stopped, it has
    // said everything; their bytes, read from the image files, are as they were.
    assert_eq!(station.stop(), 0, "{}", station.stderr.lock().unwrap());
    assert!(
        !station.has(&before.path(), "started"),
        "a drive present at start was wiped"
    );
    assert!(
        !station.has(&mounted.dev, "started"),
        "the mounted drive was wiped"
    );
    assert_eq!(file_digest(&before.backing), before_digest);
    assert_eq!(
        file_digest(&mounted.image),
        mounted_digest,
        "the mounted drive's image changed"
    );
}

#[test]
fn a_drive_detached_mid_wipe_fails_while_the_other_passes() {
    let home = Home::new();
    let t = token("gone");
    let only = format!("*{t}*");
    let mut station = Station::start(
        &home,
        &["--auto", "gutmann", "--auto-delay", "1", "--only", &only],
    );
    let mut going = Plug::new(&t, "going", 256 << 20);
    let staying = Plug::new(&t, "staying", 8 << 20);
    let going_path = going.path();
    // Once its second pass runs, pull it out as a technician would.
    station.wait(&going_path, Duration::from_secs(30), |v| {
        v["event"] == "phase" && v["phase"].as_str().unwrap().starts_with("pass 2/")
    });
    going.detach();
    let (_, fin) = station.wait(&going_path, Duration::from_secs(60), event_is("finished"));
    assert_eq!(fin["result"], "FAIL", "{fin}");
    assert!(
        fin["failure_reasons"]
            .to_string()
            .contains("disappeared during the wipe"),
        "{fin}"
    );
    let (_, cert) = station.wait(&going_path, Duration::from_secs(30), event_is("certified"));
    let json = std::fs::read_to_string(cert["certificate_json"].as_str().unwrap()).unwrap();
    assert!(
        json.contains("FAIL") && json.contains("disappeared"),
        "{json}"
    );

    let (_, fin) = station.wait(
        &staying.path(),
        Duration::from_secs(120),
        event_is("finished"),
    );
    assert_eq!(fin["result"], "PASS", "{fin}");
    station.wait(
        &staying.path(),
        Duration::from_secs(30),
        event_is("certified"),
    );
    // One FAIL among the wipes: exit 1.
    assert_eq!(station.stop(), 1);
}

#[test]
fn sigterm_stops_a_running_wipe_as_incomplete_with_its_certificate() {
    let home = Home::new();
    let t = token("term");
    let only = format!("*{t}*");
    let mut station = Station::start(
        &home,
        &["--auto", "gutmann", "--auto-delay", "0", "--only", &only],
    );
    let big = Plug::new(&t, "big", 256 << 20);
    station.wait(&big.path(), Duration::from_secs(30), event_is("phase"));
    assert_eq!(station.stop(), 1);
    let (_, fin) = station.wait(&big.path(), Duration::from_secs(5), event_is("finished"));
    assert_eq!(fin["result"], "INCOMPLETE", "{fin}");
    let (_, cert) = station.wait(&big.path(), Duration::from_secs(5), event_is("certified"));
    // The certificate is genuine and says INCOMPLETE.
    let pdf = cert["certificate_pdf"].as_str().unwrap();
    let out = home.run(&["verify", pdf]);
    let said = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{said}{}", stderr(&out));
    assert!(said.contains("VALID: the certificate is genuine"), "{said}");
    assert!(said.contains("(gutmann): INCOMPLETE"), "{said}");
}

/// A tmux session running the station's screen; killed (by its own name) on drop.
struct Tmux {
    name: String,
}

impl Tmux {
    fn start(home: &Home, only: &str) -> Tmux {
        Tmux::start_with(home, only, "")
    }

    /// `extra`: more options for `wipeproof station`, as the shell reads them. The settings a
    /// first start asks for are given, so the station goes straight to its sign-in.
    fn start_with(home: &Home, only: &str, extra: &str) -> Tmux {
        Tmux::start_raw(
            home,
            only,
            &format!(
                "--set organisation.name='Test Recycling' --set station.id=test-bay \
                 --set station.operator=Tester {extra}"
            ),
        )
    }

    fn start_raw(home: &Home, only: &str, extra: &str) -> Tmux {
        let name = format!("wipeproof-test-{}", rand_u32());
        let cmd = format!(
            "env WIPEPROOF_HOME={} NO_COLOR=1 {} station --only '{only}' {extra}",
            home.path().display(),
            env!("CARGO_BIN_EXE_wipeproof")
        );
        let tmux = Tmux { name };
        let ok = tmux
            .command()
            .args([
                "new-session",
                "-d",
                "-s",
                &tmux.name,
                "-x",
                "100",
                "-y",
                "30",
                &cmd,
            ])
            .status()
            .expect("tmux is installed by .ci/setup");
        assert!(ok.success(), "tmux could not start a session: {ok}");
        tmux
    }

    /// A tmux command on this test's own tmux server (`-L`): tests running at once share no
    /// server, so one test's last session ending (which ends its server) cannot fail
    /// another's `new-session`.
    fn command(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.name]);
        c
    }

    fn screen(&self) -> String {
        let out = self
            .command()
            .args(["capture-pane", "-p", "-t", &self.name])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            let ok = self
                .command()
                .args(["send-keys", "-t", &self.name, k])
                .status()
                .unwrap();
            assert!(ok.success());
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    fn wait_for(&self, want: impl Fn(&str) -> bool, limit: Duration, what: &str) -> String {
        let t = Instant::now();
        let mut last = String::new();
        while t.elapsed() < limit {
            last = self.screen();
            if want(&last) {
                return last;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the screen never showed {what}:\n{last}");
    }

    /// The process tmux runs in the pane (`env` hands its own process to the station).
    fn pane_pid(&self) -> u32 {
        let out = self
            .command()
            .args(["display", "-p", "-t", &self.name, "#{pane_pid}"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
    }

    /// Starts a wipe of the selected drive: `s`, the confirmation, `y`.
    fn start_selected_wipe(&self) {
        self.keys(&["s"]);
        self.wait_for(
            |s| s.contains("ERASE ALL DATA"),
            Duration::from_secs(5),
            "the confirmation",
        );
        self.keys(&["y"]);
    }

    /// Sends keys in one go, as a scanner types them: the station reads them in one read.
    fn keys_at_once(&self, keys: &[&str]) {
        let ok = self
            .command()
            .args(["send-keys", "-t", &self.name])
            .args(keys)
            .status()
            .unwrap();
        assert!(ok.success());
        std::thread::sleep(Duration::from_millis(300));
    }

    fn alive(&self) -> bool {
        self.command()
            .args(["has-session", "-t", &self.name])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command().arg("kill-server").output();
        // tmux leaves the socket of a server it was told to end.
        let dir = std::env::var("TMUX_TMPDIR").unwrap_or_else(|_| "/tmp".into());
        let uid = nix::unistd::getuid();
        let _ = std::fs::remove_file(format!("{dir}/tmux-{uid}/{}", self.name));
    }
}

#[test]
fn terminal_ui_in_tmux_shows_a_plugged_drive_and_wipes_it_from_the_keyboard() {
    require_root();
    let home = Home::new();
    let t = token("tui");
    let tmux = Tmux::start(&home, &format!("*{t}*"));
    // An attended station asks who is there first; a badge scanner types the name and Enter
    // at once.
    tmux.wait_for(
        |s| s.contains("sign in:"),
        Duration::from_secs(20),
        "the sign-in",
    );
    tmux.keys(&["Bad\u{202E}Name", "Enter"]);
    tmux.wait_for(
        |s| s.contains("U+202E"),
        Duration::from_secs(5),
        "the refused name",
    );
    tmux.keys(&["Ann Smith", "Enter"]);
    tmux.wait_for(
        |s| s.contains("operator Ann Smith") && s.contains("s start"),
        Duration::from_secs(5),
        "the operator signed in",
    );
    let drive = Plug::new(&t, "tui", 16 << 20);
    let name = drive.path().trim_start_matches("/dev/").to_string();
    tmux.wait_for(
        |s| s.contains(&name),
        Duration::from_secs(2) + Duration::from_millis(500),
        "the plugged drive",
    );
    tmux.start_selected_wipe();
    let screen = tmux.wait_for(
        |s| s.lines().any(|l| l.contains(&name) && l.contains("PASS")),
        Duration::from_secs(60),
        "PASS for the drive",
    );
    assert!(screen.contains("certificate"), "{screen}");
    assert_eq!(surviving_blocks(&drive.backing), 0);
    let certs = std::fs::read_dir(home.path().join("certificates"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "pdf"))
        .count();
    assert_eq!(certs, 1);
    // The certificate names the person signed in, not the config's placeholder.
    let operators: Vec<serde_json::Value> = drive_records(&home)
        .iter()
        .map(|r| r["performed_by"]["operator"].clone())
        .collect();
    assert_eq!(operators, ["Ann Smith"]);
    tmux.keys(&["q"]);
    let t0 = Instant::now();
    while tmux.alive() && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!tmux.alive(), "q did not quit the station");
}

#[test]
fn a_station_whose_terminal_hangs_up_stops_its_wipe_with_a_certificate_and_leaves() {
    require_root();
    let home = Home::new();
    let t = token("hup");
    let tmux = Tmux::start_with(&home, &format!("*{t}*"), "--set defaults.method=gutmann");
    tmux.wait_for(
        |s| s.contains("sign in:"),
        Duration::from_secs(20),
        "the sign-in",
    );
    tmux.keys(&["Ann Smith", "Enter"]);
    let drive = Plug::new(&t, "hup", 256 << 20);
    let name = drive.path().trim_start_matches("/dev/").to_string();
    tmux.wait_for(
        |s| s.contains(&name),
        Duration::from_secs(5),
        "the plugged drive",
    );
    tmux.start_selected_wipe();
    tmux.wait_for(
        |s| s.contains("running 1"),
        Duration::from_secs(10),
        "the wipe running",
    );
    hang_up_and_see_the_station_leave(&tmux);
    // Its wipe stopped as on SIGHUP: INCOMPLETE, with a certificate.
    let results: Vec<serde_json::Value> = drive_records(&home)
        .iter()
        .map(|r| r["sanitization"]["result"].clone())
        .collect();
    assert_eq!(results, ["INCOMPLETE"], "{results:?}");
}

/// Closes the pane's terminal, as when an SSH connection drops, and waits for the station to
/// end (it is killed, and the test fails, if it is still there after 30 s).
fn hang_up_and_see_the_station_leave(tmux: &Tmux) {
    let pid = tmux.pane_pid();
    tmux.command()
        .args(["kill-session", "-t", &tmux.name])
        .status()
        .unwrap();
    let proc_dir = std::path::PathBuf::from(format!("/proc/{pid}"));
    let t0 = Instant::now();
    while proc_dir.exists() && t0.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    if proc_dir.exists() {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        panic!("the station (pid {pid}) kept running after its terminal hung up");
    }
}

#[test]
fn a_first_start_asks_what_certificates_need_and_keeps_it_in_the_settings_file() {
    require_root();
    let home = Home::new();
    let settings = home.path().join("wipeproof.toml");
    std::fs::write(
        &settings,
        "# Written by hand: keep this.\n[station]\nid = \"(none)\" # the bay label\n\
         operator = \"operator\"\n",
    )
    .unwrap();
    let t = token("first");
    let tmux = Tmux::start_raw(&home, &format!("*{t}*"), "");
    tmux.wait_for(
        |s| s.contains("first start (1/4)"),
        Duration::from_secs(20),
        "the first-start questions",
    );
    // A badge scanner set up to end with CR LF: one Enter, not two (the address is not skipped).
    tmux.keys_at_once(&["Acme Recycling Ltd", "Enter", "C-j"]);
    tmux.wait_for(
        |s| s.contains("first start (2/4)"),
        Duration::from_secs(5),
        "the address question",
    );
    tmux.keys(&["1 Dock Road, Leeds", "Enter", "localhost", "Enter"]);
    tmux.wait_for(
        |s| s.contains("says nothing about which station this is"),
        Duration::from_secs(5),
        "a placeholder station id refused",
    );
    tmux.keys_at_once(&["BSpace"; 9]);
    tmux.keys(&["bay-7", "Enter"]);
    // One that ends with LF alone: Enter, not a `j` typed into the name.
    tmux.keys_at_once(&["Ann Smith", "C-j"]);
    tmux.wait_for(
        |s| s.contains("sign in:") && s.contains("Enter alone: Ann Smith"),
        Duration::from_secs(5),
        "the sign-in offering the operator just given",
    );
    tmux.keys(&["Enter"]);
    tmux.wait_for(
        |s| s.contains("station bay-7") && s.contains("operator Ann Smith"),
        Duration::from_secs(5),
        "the station under its new id",
    );
    let drive = Plug::new(&t, "first", 16 << 20);
    let name = drive.path().trim_start_matches("/dev/").to_string();
    tmux.wait_for(|s| s.contains(&name), Duration::from_secs(5), "the drive");
    tmux.start_selected_wipe();
    tmux.wait_for(
        |s| s.lines().any(|l| l.contains(&name) && l.contains("PASS")),
        Duration::from_secs(60),
        "PASS for the drive",
    );
    let records = drive_records(&home);
    assert_eq!(records.len(), 1, "{records:?}");
    let r = &records[0];
    assert_eq!(r["organisation"]["name"], "Acme Recycling Ltd", "{r}");
    assert_eq!(r["organisation"]["address"], "1 Dock Road, Leeds", "{r}");
    assert_eq!(r["performed_by"]["station_id"], "bay-7", "{r}");
    assert_eq!(r["performed_by"]["operator"], "Ann Smith", "{r}");
    // The answers are in the file, and what a person wrote there stays.
    let file = std::fs::read_to_string(&settings).unwrap();
    for kept in [
        "# Written by hand: keep this.",
        "id = \"bay-7\" # the bay label",
        "operator = \"Ann Smith\"",
        "name = \"Acme Recycling Ltd\"",
    ] {
        assert!(file.contains(kept), "{kept:?} not in:\n{file}");
    }
    tmux.keys(&["q"]);
}

#[test]
fn a_drive_another_program_holds_is_shown_busy_and_never_scheduled() {
    let home = Home::new();
    let t = token("held");
    let only = format!("*{t}*");
    let held = Plug::new(&t, "held", 8 << 20);
    let free = Plug::new(&t, "free", 8 << 20);
    let holder = ExclusiveHolder::of(Path::new(&held.path()));
    let digest = file_digest(&held.backing);
    let mut station = Station::start(
        &home,
        &[
            "--auto",
            "zero",
            "--auto-delay",
            "1",
            "--auto-existing",
            "--only",
            &only,
        ],
    );
    let (_, v) = station.wait(&held.path(), Duration::from_secs(30), event_is("appeared"));
    assert_eq!(v["protected"], false, "{v}");
    assert_eq!(v["busy"]["pid"], holder.pid(), "{v}");
    assert!(
        v["busy"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("is in use by another program (python3")),
        "{v}"
    );
    // The free drive, present at start as well, is wiped: had the station taken the held one
    // for ready, it would have scheduled it the same way.
    let (_, fin) = station.wait(&free.path(), Duration::from_secs(60), event_is("finished"));
    assert_eq!(fin["result"], "PASS", "{fin}");
    // A few periodic looks later it is still busy, and still not scheduled.
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        !station.has(&held.path(), "scheduled") && !station.has(&held.path(), "started"),
        "the held drive was scheduled: {:?}",
        station.events(&held.path())
    );
    assert_eq!(station.stop(), 0, "{}", station.stderr.lock().unwrap());
    drop(holder);
    assert_eq!(file_digest(&held.backing), digest);
}

/// The signed records of the drive certificates in `home`'s certificate directory.
fn drive_records(home: &Home) -> Vec<serde_json::Value> {
    std::fs::read_dir(home.path().join("certificates"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .filter_map(|e| serde_json::from_slice(&std::fs::read(e.path()).unwrap()).ok())
        .map(|c: serde_json::Value| c["record"].clone())
        .filter(|r| !r["sanitization"].is_null())
        .collect()
}
