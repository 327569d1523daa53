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
    extra: &[&str],
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
        .args(extra)
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
    let steps = boot(&vm, &nvme, &sata, &sata2, script, &[]);
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

/// The certificate JSON of the drive at `path`, from a step that printed all of them, one per
/// line.
fn certificate_of(certs: &str, path: &str) -> serde_json::Value {
    certs
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|c| c["record"]["media"]["path"] == path)
        .unwrap_or_else(|| panic!("no certificate of {path}: {certs}"))
}

/// Decodes a step's base64 output (a file the guest printed with `base64`).
fn decoded_file(step: &StepOut) -> Vec<u8> {
    use base64::Engine;
    let text: String = step.stdout.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap_or_else(|e| panic!("not base64 ({e}): {step:?}"))
}

/// The laptop the guest boots as: its firmware's SMBIOS tables, as QEMU is told them.
const LAPTOP_SMBIOS: [&str; 8] = [
    "-smbios",
    "type=1,manufacturer=LENOVO,product=20XW00GLUK,version=ThinkPad X1 Carbon Gen 9,\
     serial=PF3ABCDE,uuid=8d1c7a52-3b1e-4f0a-9c6d-2e5f7a8b9c0d,sku=LENOVO_MT_20XW,\
     family=ThinkPad X1 Carbon Gen 9",
    "-smbios",
    "type=3,manufacturer=LENOVO,serial=PF3ABCDE,asset=ACME-LT-0042",
    "-smbios",
    "type=2,manufacturer=LENOVO,product=20XW00GLUK,serial=To Be Filled By O.E.M.",
    // QEMU 7.2 takes loc_pfx, bank, manufacturer, serial, asset, part and speed for type 17;
    // the size is the guest's memory (-m 768), the type always "RAM".
    "-smbios",
    "type=17,loc_pfx=ChannelA-DIMM,bank=BANK 0,manufacturer=Samsung,serial=3A1F20C7,\
     asset=ACME-RAM-7,part=M471A1K43DB1-CWE,speed=3200",
];

/// The guest as a customer's laptop on the stick: its inventory, the laptop imported into the
/// register by its system serial, then an unattended headless station with
/// `station.host_is_asset = true` wipes the NVMe and the SATA drive present at its start.
const LAPTOP_SCRIPT: &str = "\
step inventory wipeproof inventory --json
step list wipeproof list --json
step import sh -c 'printf \"asset_tag,serial,type\\nLAPTOP-7,PF3ABCDE,laptop\\n\" > /tmp/manifest.csv && wipeproof intake import /tmp/manifest.csv --customer \"Acme Insurance\" --collection COL-VM'
step station wipeproof station --headless --auto zero --auto-delay 0 --auto-existing --exit-when-done --only /dev/nvme0n1 --only /dev/sda --set station.host_is_asset=true --set \"organisation.name=Northfield IT Recycling Ltd\" --operator \"Sam Carter\" --station bay-3
step certs sh -c 'for f in /tmp/wp/certificates/*-*.json; do tr -d \"\\n\" < $f; echo; done'
step pdf sh -c 'base64 $(grep -l nvme0n1 $(ls /tmp/wp/certificates/*-*.json | grep -v -- -computer-) | sed s/json$/pdf/)'
step computer-json sh -c 'cat /tmp/wp/certificates/*-computer-*.json'
step computer-pdf sh -c 'base64 /tmp/wp/certificates/*-computer-*.pdf'
step asset wipeproof assets show LAPTOP-7 --json
step key wipeproof keys export
";

/// Asserts what `wipeproof inventory --json` read in the guest is what QEMU was given.
fn assert_laptop_inventory(inv: &StepOut) {
    assert_eq!(inv.code, 0, "{inv:?}");
    let inv: serde_json::Value = serde_json::from_str(&inv.stdout).unwrap();
    assert_eq!(inv["source"], "smbios", "{inv}");
    assert_eq!(inv["system"]["manufacturer"], "LENOVO");
    assert_eq!(inv["system"]["product"], "20XW00GLUK");
    assert_eq!(inv["system"]["serial"], "PF3ABCDE");
    assert_eq!(
        inv["system"]["uuid"],
        "8d1c7a52-3b1e-4f0a-9c6d-2e5f7a8b9c0d"
    );
    assert_eq!(inv["system"]["family"], "ThinkPad X1 Carbon Gen 9");
    assert_eq!(inv["chassis"]["serial"], "PF3ABCDE");
    assert_eq!(inv["chassis"]["asset_tag"], "ACME-LT-0042");
    assert!(inv["baseboard"].get("serial").is_none(), "{inv}");
    assert!(!inv["processors"].as_array().unwrap().is_empty(), "{inv}");
    // The type 17 module: one DIMM, the guest's 768 MiB, named as given.
    assert_eq!(
        inv["memory"],
        serde_json::json!([{
            "slot": "ChannelA-DIMM 0",
            "bank": "BANK 0",
            "size_bytes": 768u64 << 20,
            "type": "RAM",
            "speed_mts": 3200,
            "manufacturer": "Samsung",
            "serial": "3A1F20C7",
            "part_number": "M471A1K43DB1-CWE",
        }]),
        "{inv}"
    );
}

#[test]
fn a_laptops_inventory_and_its_drives_health_on_their_certificates() {
    require_root();
    let vm = vm_dir();
    let dir = tempfile::tempdir_in("/dev/shm").unwrap();
    let (nvme, sata, sata2) = (
        dir.path().join("nvme.img"),
        dir.path().join("sata.img"),
        dir.path().join("sata2.img"),
    );
    for img in [&nvme, &sata, &sata2] {
        write_pattern(img, 16 << 20);
    }
    let steps = boot(&vm, &nvme, &sata, &sata2, LAPTOP_SCRIPT, &LAPTOP_SMBIOS);
    let get = |name: &str| {
        steps
            .get(name)
            .unwrap_or_else(|| panic!("no step {name}: {steps:?}"))
    };

    // The inventory read in the guest is what QEMU was given; the placeholder is absent.
    assert_laptop_inventory(get("inventory"));

    // list: both drives' health, read from the drives themselves.
    let list: serde_json::Value = serde_json::from_str(&get("list").stdout).unwrap();
    for (path, source) in [
        ("/dev/nvme0n1", "nvme-smart-log"),
        ("/dev/sda", "ata-smart"),
    ] {
        let d = list["drives"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["path"] == path)
            .unwrap_or_else(|| panic!("{path} not listed: {list}"));
        assert_eq!(d["health"]["source"], source, "{d}");
        assert_eq!(d["health"]["verdict"], "ok", "{d}");
    }

    // The laptop is imported by its system serial; the station wipes both drives.
    let import = get("import");
    assert_eq!(import.code, 0, "{import:?}");
    let station = get("station");
    assert_eq!(station.code, 0, "{station:?}");
    let lines: Vec<serde_json::Value> = station
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();

    // Both certificates carry the health read before the wipe, with power-on hours, and the
    // laptop they were in; both are linked to its asset with no tag typed.
    let certs = &get("certs").stdout;
    let mut drive_ids = Vec::new();
    for (path, source) in [
        ("/dev/nvme0n1", "nvme-smart-log"),
        ("/dev/sda", "ata-smart"),
    ] {
        let finished = lines
            .iter()
            .find(|v| v["drive"] == path && v["event"] == "finished")
            .unwrap_or_else(|| panic!("{path} did not finish: {station:?}"));
        assert_eq!(finished["result"], "PASS", "{finished}");
        let cert = certificate_of(certs, path);
        let r = &cert["record"];
        assert_eq!(r["health"]["source"], source, "{cert}");
        assert_eq!(r["health"]["verdict"], "ok", "{cert}");
        assert!(r["health"]["power_on_hours"].is_u64(), "{cert}");
        assert_eq!(r["host"]["system"]["serial"], "PF3ABCDE", "{cert}");
        assert_eq!(r["asset_tags"], serde_json::json!(["LAPTOP-7"]), "{cert}");
        drive_ids.push(r["id"].as_str().unwrap().to_string());
    }

    // The computer certificate: the laptop, both drives with their certificate ids, PASS.
    let computer = lines
        .iter()
        .find(|v| v["event"] == "computer_certified")
        .unwrap_or_else(|| panic!("no computer certificate: {station:?}"));
    assert_eq!(computer["result"], "PASS", "{computer}");
    assert_eq!(computer["asset_tag"], "LAPTOP-7", "{computer}");
    assert_eq!(computer["asset_state"], "retired", "{computer}");
    let ccert: serde_json::Value = serde_json::from_str(&get("computer-json").stdout)
        .unwrap_or_else(|e| panic!("{e}: {:?}", get("computer-json")));
    let record = &ccert["record"];
    assert_eq!(record["kind"], "computer", "{ccert}");
    assert_eq!(record["result"], "PASS", "{ccert}");
    assert_eq!(record["inventory"]["system"]["serial"], "PF3ABCDE");
    assert_eq!(record["asset_tags"], serde_json::json!(["LAPTOP-7"]));
    let mut listed: Vec<(String, String)> = record["drives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            assert_eq!(d["result"], "PASS", "{d}");
            (
                d["serial"].as_str().unwrap_or_default().to_string(),
                d["certificate_id"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    listed.sort();
    let mut want = vec![
        (NVME_SERIAL.to_string(), drive_ids[0].clone()),
        (SATA_SERIAL.to_string(), drive_ids[1].clone()),
    ];
    want.sort();
    assert_eq!(listed, want, "{ccert}");

    // The laptop's asset is retired on the stick's register, the computer certificate on it.
    let asset = get("asset");
    assert_eq!(asset.code, 0, "{asset:?}");
    let asset: serde_json::Value = serde_json::from_str(&asset.stdout).unwrap();
    assert_eq!(asset["state"], "retired", "{asset}");
    assert_eq!(asset["computers"][0]["id"], record["id"], "{asset}");
    assert_eq!(asset["computers"][0]["drives"], 2, "{asset}");

    // The drive PDF with its health section, and the computer certificate as PDF and JSON,
    // verify on the host with the VM station's key. The PDFs are kept for a look at the pages
    // (the README's pictures).
    let key = dir.path().join("vm.pem");
    std::fs::write(&key, get("key").stdout.as_bytes()).unwrap();
    let files = [
        ("health-certificate.pdf", decoded_file(get("pdf"))),
        (
            "computer-certificate.pdf",
            decoded_file(get("computer-pdf")),
        ),
        (
            "computer-certificate.json",
            get("computer-json").stdout.clone().into_bytes(),
        ),
    ];
    let auditor = Home::new();
    for (name, bytes) in files {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();
        let _ = std::fs::write(vm.join(name), &bytes);
        let (code, report) = auditor.json(&[
            "verify",
            path.to_str().unwrap(),
            "--trust",
            key.to_str().unwrap(),
            "--json",
        ]);
        assert_eq!(code, 0, "{name}: {report}");
        assert_eq!(report["valid"], true, "{name}: {report}");
    }
}
