//! wipeproof inside a QEMU VM with emulated drives: Debian's kernel, a busybox initramfs with
//! the wipeproof binary and its libraries, an NVMe drive and a SATA drive on AHCI, no udev
//! daemon. Proves `list` reads both drives' identities from the drives themselves, that
//! `nvme-format-erase` erases the NVMe drive with a certificate that verifies and names the
//! command, and that what the drives do not support (QEMU 7.2: no NVMe Sanitize, FNA=0, no ATA
//! Security or SANITIZE) is refused with the drive untouched.
//!
//! Software emulation (TCG); the boot takes about 15 seconds. `tests/vm/prepare` (run by
//! `.ci/setup`) provides the kernel, modules and busybox.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

const NVME_SERIAL: &str = "NVME-SER-0001";
const SATA_SERIAL: &str = "SATA-SER-0001";

/// A cpio "newc" archive, written by hand (the format is a header per entry).
struct Cpio {
    out: Vec<u8>,
    ino: u32,
}

impl Cpio {
    fn new() -> Cpio {
        Cpio {
            out: Vec::new(),
            ino: 1,
        }
    }

    fn entry(&mut self, name: &str, mode: u32, data: &[u8]) {
        let name_z = format!("{name}\0");
        let header = format!(
            "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            self.ino,
            mode,
            0,
            0,
            1,
            0,
            data.len(),
            0,
            0,
            0,
            0,
            name_z.len(),
            0
        );
        self.ino += 1;
        self.out.extend_from_slice(header.as_bytes());
        self.out.extend_from_slice(name_z.as_bytes());
        while !self.out.len().is_multiple_of(4) {
            self.out.push(0);
        }
        self.out.extend_from_slice(data);
        while !self.out.len().is_multiple_of(4) {
            self.out.push(0);
        }
    }

    fn dir(&mut self, name: &str) {
        self.entry(name, 0o040755, b"");
    }

    fn file(&mut self, name: &str, mode: u32, data: &[u8]) {
        self.entry(name, 0o100000 | mode, data);
    }

    fn finish(mut self) -> Vec<u8> {
        self.entry("TRAILER!!!", 0, b"");
        self.out
    }
}

/// The shared libraries a binary needs, as `ldd` resolves them.
fn libraries(bin: &Path) -> Vec<PathBuf> {
    let out = Command::new("ldd").arg(bin).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            l.split_whitespace()
                .find(|w| w.starts_with('/'))
                .map(PathBuf::from)
        })
        .collect()
}

fn vm_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/vm");
    let status = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vm/prepare"))
        .arg(&dir)
        .status()
        .expect("tests/vm/prepare runs");
    assert!(
        status.success(),
        "tests/vm/prepare failed: run .ci/setup first"
    );
    dir
}

/// Builds the initramfs: busybox, the modules, a stripped wipeproof and its libraries, and an
/// /init that runs `script` and powers off.
fn initramfs(vm: &Path, script: &str) -> Vec<u8> {
    let mut c = Cpio::new();
    for d in [
        "bin",
        "lib",
        "lib64",
        "usr",
        "usr/lib",
        "usr/lib/x86_64-linux-gnu",
        "lib/x86_64-linux-gnu",
        "lib/modules",
        "proc",
        "sys",
        "dev",
        "tmp",
        "sbin",
    ] {
        c.dir(d);
    }
    c.file(
        "bin/busybox",
        0o755,
        &std::fs::read(vm.join("busybox")).unwrap(),
    );
    let order = std::fs::read_to_string(vm.join("modules/load-order")).unwrap();
    for m in order.lines() {
        c.file(
            &format!("lib/modules/{m}"),
            0o644,
            &std::fs::read(vm.join("modules").join(m)).unwrap(),
        );
    }
    c.file("lib/modules/load-order", 0o644, order.as_bytes());
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_wipeproof"));
    let stripped = std::env::temp_dir().join(format!("wipeproof-vm-{}", std::process::id()));
    let ok = Command::new("objcopy")
        .args(["--strip-debug"])
        .arg(&bin)
        .arg(&stripped)
        .status()
        .unwrap();
    assert!(ok.success());
    c.file("bin/wipeproof", 0o755, &std::fs::read(&stripped).unwrap());
    let _ = std::fs::remove_file(&stripped);
    let mut dirs = std::collections::BTreeSet::new();
    for lib in libraries(&bin) {
        let name = lib.to_string_lossy().trim_start_matches('/').to_string();
        let parent = Path::new(&name)
            .parent()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let mut acc = String::new();
        for part in parent.split('/') {
            acc = if acc.is_empty() {
                part.into()
            } else {
                format!("{acc}/{part}")
            };
            if dirs.insert(acc.clone()) {
                c.dir(&acc);
            }
        }
        c.file(&name, 0o755, &std::fs::read(&lib).unwrap());
    }
    let init = format!(
        "#!/bin/busybox sh\n\
         /bin/busybox --install -s /bin\n\
         mount -t proc proc /proc\n\
         mount -t sysfs sysfs /sys\n\
         mount -t devtmpfs devtmpfs /dev\n\
         for m in $(cat /lib/modules/load-order); do insmod /lib/modules/$m || echo \"=== insmod $m failed\"; done\n\
         i=0; while [ $i -lt 200 ] && ! {{ [ -b /dev/nvme0n1 ] && [ -b /dev/sda ] && [ -b /dev/sdb ]; }}; do sleep 0.1; i=$((i+1)); done\n\
         export WIPEPROOF_HOME=/tmp/wp\n\
         step() {{ name=$1; shift; echo \"===BEGIN $name===\"; \"$@\" > /tmp/out 2> /tmp/err; rc=$?; base64 /tmp/out; echo \"===STDERR===\"; base64 /tmp/err; echo \"===END $name $rc===\"; }}\n\
         {script}\n\
         echo ===DONE===\n\
         poweroff -f\n"
    );
    c.file("init", 0o755, init.as_bytes());
    c.finish()
}

/// What one step printed.
#[derive(Debug, Default)]
struct StepOut {
    stdout: String,
    stderr: String,
    code: i32,
}

fn decode_b64(lines: &[&str]) -> String {
    use base64::Engine;
    let joined: String = lines.iter().map(|l| l.trim()).collect();
    String::from_utf8_lossy(
        &base64::engine::general_purpose::STANDARD
            .decode(joined)
            .unwrap_or_default(),
    )
    .into_owned()
}

/// Boots the VM and returns each step's output.
fn boot(
    vm: &Path,
    nvme: &Path,
    sata: &Path,
    sata2: &Path,
    script: &str,
) -> BTreeMap<String, StepOut> {
    let initrd = std::env::temp_dir().join(format!("wipeproof-initrd-{}.cpio", std::process::id()));
    std::fs::write(&initrd, initramfs(vm, script)).unwrap();
    let child = Command::new("qemu-system-x86_64")
        .args([
            "-machine",
            "q35",
            "-accel",
            "tcg",
            "-m",
            "768",
            "-smp",
            "1",
            "-nographic",
            "-no-reboot",
            "-nic",
            "none",
        ])
        .arg("-kernel")
        .arg(vm.join("vmlinuz"))
        .arg("-initrd")
        .arg(&initrd)
        .args(["-append", "console=ttyS0 loglevel=1 panic=-1"])
        .arg("-drive")
        .arg(format!(
            "file={},if=none,id=wpnvme,format=raw",
            nvme.display()
        ))
        .args([
            "-device",
            &format!("nvme,serial={NVME_SERIAL},drive=wpnvme"),
        ])
        .arg("-drive")
        .arg(format!(
            "file={},if=none,id=wpsata,format=raw",
            sata.display()
        ))
        .args([
            "-device",
            &format!("ide-hd,drive=wpsata,bus=ide.0,serial={SATA_SERIAL}"),
        ])
        .arg("-drive")
        .arg(format!(
            "file={},if=none,id=wpsata2,format=raw",
            sata2.display()
        ))
        .args([
            "-device",
            "ide-hd,drive=wpsata2,bus=ide.1,serial=SATA-SER-0002",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("qemu-system-x86_64 (installed by .ci/setup)");
    // Kill QEMU if the guest hangs.
    let pid = child.id();
    let watchdog = std::thread::spawn(move || {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(300) {
            std::thread::sleep(Duration::from_millis(200));
            if !Path::new(&format!("/proc/{pid}")).exists() {
                return;
            }
        }
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    });
    let out = child.wait_with_output().unwrap();
    let _ = watchdog.join();
    let _ = std::fs::remove_file(&initrd);
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(
        text.contains("===DONE==="),
        "the VM did not finish:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("insmod"), "a module did not load:\n{text}");
    let mut steps = BTreeMap::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    while i < lines.len() {
        // A console line may carry earlier output before the marker.
        let marker = lines[i].find("===BEGIN ").map(|at| &lines[i][at + 9..]);
        if let Some(name) = marker.and_then(|s| s.trim().strip_suffix("===")) {
            let start = i + 1;
            let mid = (start..lines.len())
                .find(|&j| lines[j].trim() == "===STDERR===")
                .unwrap();
            let end = (mid..lines.len())
                .find(|&j| lines[j].trim().starts_with("===END "))
                .unwrap();
            let code = lines[end]
                .trim()
                .trim_end_matches("===")
                .rsplit(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            steps.insert(
                name.to_string(),
                StepOut {
                    stdout: decode_b64(&lines[start..mid]),
                    stderr: decode_b64(&lines[mid + 1..end]),
                    code,
                },
            );
            i = end;
        }
        i += 1;
    }
    steps
}

#[test]
fn emulated_nvme_and_sata_drives_identify_erase_and_refuse() {
    require_root();
    let vm = vm_dir();
    let dir = tempfile::tempdir_in("/dev/shm").unwrap();
    let nvme = dir.path().join("nvme.img");
    let sata = dir.path().join("sata.img");
    write_pattern(&nvme, 64 << 20);
    write_pattern(&sata, 64 << 20);
    let sata_before = file_digest(&sata);
    // A third drive, unplugged in the middle of its wipe.
    let sata2 = dir.path().join("sata2.img");
    write_pattern(&sata2, 256 << 20);
    let script = "\
step list wipeproof list --json
step nvme-crypto wipeproof wipe /dev/nvme0n1 --method nvme-format-crypto --yes
step nvme-sanitize wipeproof wipe /dev/nvme0n1 --method nvme-sanitize-crypto --yes
step nvme-purge wipeproof wipe /dev/nvme0n1 --method purge --yes
step sata-secure wipeproof wipe /dev/sda --method ata-secure-erase --yes
step sata-sanitize wipeproof wipe /dev/sda --method ata-sanitize-block --yes
step sata-purge wipeproof wipe /dev/sda --method purge --yes
step nvme-format wipeproof wipe /dev/nvme0n1 --method nvme-format-erase --yes --json
step cert sh -c 'cat /tmp/wp/certificates/*-*.json'
step key wipeproof keys export
step vanish sh -c 'wipeproof wipe /dev/sdb /dev/nvme0n1 --method dod-3pass --verify sample:1 --yes --json 2> /tmp/vanish.err & p=$!; i=0; while [ $i -lt 600 ] && ! grep -q sdb:.pass.2/3 /tmp/vanish.err; do sleep 0.1; i=$((i+1)); done; echo 1 > /sys/block/sdb/device/delete; wait $p; rc=$?; cat /tmp/vanish.err >&2; exit $rc'
";
    let steps = boot(&vm, &nvme, &sata, &sata2, script);
    let get = |name: &str| {
        steps
            .get(name)
            .unwrap_or_else(|| panic!("no step {name}: {steps:?}"))
    };

    // list: both drives, identified without udev.
    let list = get("list");
    assert_eq!(list.code, 0, "{list:?}");
    let json: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    let drives = json["drives"].as_array().unwrap();
    let nv = drives
        .iter()
        .find(|d| d["path"] == "/dev/nvme0n1")
        .expect("nvme listed");
    assert_eq!(nv["serial"], NVME_SERIAL);
    assert_eq!(nv["transport"], "nvme");
    assert_eq!(
        nv["firmware_methods"],
        serde_json::json!(["nvme-format-erase"])
    );
    assert_eq!(nv["capabilities"]["nvme"]["sanitize_crypto"], false);
    let sd = drives
        .iter()
        .find(|d| d["path"] == "/dev/sda")
        .expect("sata listed");
    assert_eq!(sd["serial"], SATA_SERIAL);
    assert_eq!(sd["transport"], "sata");
    assert!(sd["model"].as_str().unwrap().contains("QEMU"), "{sd}");
    assert_eq!(sd["capabilities"]["ata"]["security"]["supported"], false);
    assert_eq!(sd["firmware_methods"], serde_json::json!([]));
    // QEMU's IDENTIFY claims neither the HPA nor the DCO feature set, so wipeproof asks for no
    // native maximum (READ NATIVE MAX ADDRESS belongs to the HPA set) and says so: the hidden
    // area state is exactly this, never left unchecked.
    let ata = &sd["capabilities"]["ata"];
    eprintln!("SATA capabilities: {ata}");
    assert_eq!(ata["user_sectors"], 64u64 << 11);
    for (field, want) in [
        ("hpa_supported", serde_json::json!(false)),
        ("hpa_enabled", serde_json::json!(false)),
        ("native_max_sectors", serde_json::Value::Null),
        ("dco_supported", serde_json::json!(false)),
        ("dco_max_sectors", serde_json::Value::Null),
    ] {
        assert_eq!(ata[field], want, "{field}: {ata}");
    }

    // What the drives do not support is refused before anything is sent.
    for (name, needle) in [
        ("nvme-crypto", "FNA bit 2"),
        ("nvme-sanitize", "SANICAP bit 0"),
        ("nvme-purge", "nvme-format-erase (Clear)"),
        ("sata-secure", "ATA Security feature set"),
        ("sata-sanitize", "SANITIZE"),
        ("sata-purge", "supports no Purge technique"),
    ] {
        let s = get(name);
        assert_eq!(s.code, 2, "{name}: {s:?}");
        assert!(s.stderr.contains(needle), "{name}: {}", s.stderr);
        assert!(
            s.stderr.contains("nothing was erased"),
            "{name}: {}",
            s.stderr
        );
    }
    assert_eq!(
        file_digest(&sata),
        sata_before,
        "the SATA drive was touched"
    );

    // nvme-format-erase: PASS, the data is gone, the certificate names the command.
    let f = get("nvme-format");
    assert_eq!(f.code, 0, "{f:?}");
    let result: serde_json::Value = serde_json::from_str(&f.stdout).unwrap();
    assert_eq!(result["drives"][0]["result"], "PASS", "{result}");
    assert_eq!(surviving_blocks(&nvme), 0);
    let cert: serde_json::Value = serde_json::from_str(&get("cert").stdout).unwrap();
    let r = &cert["record"];
    assert_eq!(r["sanitization"]["method"], "nvme-format-erase");
    assert_eq!(r["sanitization"]["level"], "Clear");
    assert_eq!(
        r["sanitization"]["steps"][0]["action"]["command"],
        "NVMe Format NVM (SES 001b, user data erase)"
    );
    assert_eq!(r["verification"]["checks"][0]["mode"], "fingerprint");
    assert_eq!(r["verification"]["checks"][0]["mismatch_count"], 0);
    assert_eq!(r["media"]["serial"], NVME_SERIAL);

    // The certificate verifies on the host with the VM station's key.
    let auditor = Home::new();
    let cert_path = dir.path().join("cert.json");
    std::fs::write(&cert_path, get("cert").stdout.as_bytes()).unwrap();
    let key_path = dir.path().join("vm.pem");
    let mut f = std::fs::File::create(&key_path).unwrap();
    f.write_all(get("key").stdout.as_bytes()).unwrap();
    let (code, report) = auditor.json(&[
        "verify",
        cert_path.to_str().unwrap(),
        "--trust",
        key_path.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{report}");

    // A drive unplugged mid-wipe is a FAIL that says so; the other drive goes on to PASS.
    let v = get("vanish");
    assert_eq!(v.code, 1, "{v:?}");
    let json: serde_json::Value = serde_json::from_str(&v.stdout).unwrap();
    let drives = json["drives"].as_array().unwrap();
    let sdb = drives
        .iter()
        .find(|d| d["path"] == "/dev/sdb")
        .expect("sdb reported");
    assert_eq!(sdb["result"], "FAIL", "{json}");
    assert!(
        sdb["failure_reasons"].to_string().contains("disappeared"),
        "{json}"
    );
    let nv = drives
        .iter()
        .find(|d| d["path"] == "/dev/nvme0n1")
        .expect("nvme reported");
    assert_eq!(nv["result"], "PASS", "{json}");
}
