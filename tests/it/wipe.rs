//! `wipeproof wipe` on loop devices and image files: every method erases everything, the exact
//! tail, 4Kn drives, verification catches changes, interruption and resume, parallel drives,
//! write errors, and refusals that leave data untouched.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::support::*;

fn wipe_json(home: &Home, dev: &str, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec!["wipe", dev, "--yes", "--json"];
    args.extend_from_slice(extra);
    home.json(&args)
}

#[test]
fn every_method_leaves_no_original_block_and_no_marker() {
    let home = Home::new();
    for method in [
        "zero",
        "one",
        "random",
        "dod-3pass",
        "dod-7pass",
        "hmg-is5-enhanced",
        "gutmann",
        "schneier",
    ] {
        // Not a multiple of the 4 MiB buffer: the tail must be written exactly.
        let lo = LoopDev::new(method, (4 << 20) + (12 << 10), 512);
        assert!(surviving_blocks(&lo.backing) > 0);
        let (code, json) = wipe_json(&home, lo.dev.to_str().unwrap(), &["--method", method]);
        let d = only_drive(&json);
        assert_eq!(code, 0, "{method}: {json}");
        assert_eq!(d["result"], "PASS", "{method}: {json}");
        assert_eq!(
            surviving_blocks(&lo.backing),
            0,
            "{method} left planted blocks"
        );
        let data = std::fs::read(&lo.backing).unwrap();
        match method {
            "zero" => assert!(data.iter().all(|&b| b == 0)),
            "one" => assert!(data.iter().all(|&b| b == 0xFF)),
            _ => {}
        }
        // The tail: the last 12 KiB hold the final pattern, not the planted one.
        let tail = &data[data.len() - (12 << 10)..];
        assert!(
            !tail.windows(4).any(|w| w == MARKER),
            "{method} missed the tail"
        );
    }
}

#[test]
fn odd_sized_image_file_is_overwritten_to_its_last_byte() {
    let home = Home::new();
    let img = ShmFile::with_pattern("odd", (8 << 20) + 100);
    let (code, json) = wipe_json(
        &home,
        img.path.to_str().unwrap(),
        &["--method", "one", "--verify", "full"],
    );
    assert_eq!(code, 0, "{json}");
    let data = std::fs::read(&img.path).unwrap();
    assert_eq!(data.len(), (8 << 20) + 100);
    assert!(data.iter().all(|&b| b == 0xFF));
    let d = only_drive(&json);
    assert_eq!(d["bytes_written"], (8u64 << 20) + 100);
}

#[test]
fn four_k_native_drive_with_random_and_full_verification() {
    let home = Home::new();
    let lo = LoopDev::new("4kn", (16 << 20) + (12 << 10), 4096);
    let (code, json) = wipe_json(
        &home,
        lo.dev.to_str().unwrap(),
        &["--method", "random", "--verify", "full"],
    );
    assert_eq!(code, 0, "{json}");
    assert_eq!(surviving_blocks(&lo.backing), 0);
    // Random data, not a constant.
    let data = read_range(&lo.backing, 1 << 20, 4096);
    assert!(data.iter().any(|&b| b != data[0]));
}

#[test]
fn two_drives_are_wiped_in_parallel() {
    let home = Home::new();
    // Large enough that each wipe lasts a good part of a second even on a fast machine: the
    // watcher below samples, and a busy machine can leave it unscheduled for tens of ms.
    let a = LoopDev::new("para", 160 << 20, 512);
    let b = LoopDev::new("parb", 128 << 20, 4096);
    let mut child = home
        .command(&[
            "wipe",
            a.dev.to_str().unwrap(),
            b.dev.to_str().unwrap(),
            "--method",
            "dod-3pass",
            "--yes",
            "--json",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Watch what reaches each device (the kernel's count, not the program's word): at some
    // moment both have been written to and neither is finished. A wipe of one drive after the
    // other never shows that.
    let total = |lo: &LoopDev| 3 * std::fs::metadata(&lo.backing).unwrap().len();
    let (total_a, total_b) = (total(&a), total(&b));
    let mut overlap = None;
    while child.try_wait().unwrap().is_none() {
        let (wa, wb) = (a.bytes_written(), b.bytes_written());
        if overlap.is_none() && (1..total_a).contains(&wa) && (1..total_b).contains(&wb) {
            overlap = Some((wa, wb));
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let out = child.wait_with_output().unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{json}");
    let drives = json["drives"].as_array().unwrap();
    assert_eq!(drives.len(), 2);
    assert!(drives.iter().all(|d| d["result"] == "PASS"));
    assert_eq!(surviving_blocks(&a.backing), 0);
    assert_eq!(surviving_blocks(&b.backing), 0);
    assert!(
        overlap.is_some(),
        "the two wipes never ran at the same time (written: {} of {total_a}, {} of {total_b})",
        a.bytes_written(),
        b.bytes_written()
    );
}

#[test]
fn refused_drive_stops_the_whole_run_and_nothing_is_touched() {
    let home = Home::new();
    let mounted = LoopDev::new("refmnt", 32 << 20, 512);
    let m = Mounted::new(&mounted.dev);
    let free = LoopDev::new("reffree", 8 << 20, 512);
    let (before_m, before_f) = (mounted.digest(), free.digest());
    let out = home.run(&[
        "wipe",
        free.dev.to_str().unwrap(),
        mounted.dev.to_str().unwrap(),
        "--method",
        "zero",
        "--yes",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "{} is mounted on {}: unmount it first",
            mounted.dev.display(),
            m.dir.path().display()
        )),
        "{err}"
    );
    assert!(err.contains("nothing was erased"), "{err}");
    assert_eq!(mounted.digest(), before_m);
    assert_eq!(free.digest(), before_f);
}

#[test]
fn overwrite_options_with_a_firmware_method_are_refused_before_anything_is_sent() {
    let home = Home::new();
    let lo = LoopDev::new("fwopts", 8 << 20, 512);
    let before = lo.digest();
    let dev = lo.dev.to_str().unwrap();
    for extra in [&["--rounds", "2"][..], &["--blank"], &["--verify", "full"]] {
        let mut args = vec!["wipe", dev, "--method", "purge", "--yes"];
        args.extend_from_slice(extra);
        let out = home.run(&args);
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        let err = stderr(&out);
        assert!(
            err.contains("apply to overwrite methods")
                || err.contains("applies to overwrite methods"),
            "{err}"
        );
    }
    assert_eq!(lo.digest(), before);
}

#[test]
fn confirmation_is_required_without_yes() {
    let home = Home::new();
    let lo = LoopDev::new("confirm", 8 << 20, 512);
    let before = lo.digest();
    let dev = lo.dev.to_str().unwrap();
    let out = run_with_stdin(&home, &["wipe", dev, "--method", "zero"], "no\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("Type yes"), "{}", stderr(&out));
    assert!(stderr(&out).contains(dev));
    assert_eq!(lo.digest(), before);
    let out = run_with_stdin(&home, &["wipe", dev, "--method", "zero"], "yes\n");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(surviving_blocks(&lo.backing), 0);
}

#[test]
fn unverified_wipe_is_incomplete_not_pass() {
    let home = Home::new();
    let lo = LoopDev::new("noverify", 8 << 20, 512);
    let (code, json) = wipe_json(
        &home,
        lo.dev.to_str().unwrap(),
        &["--method", "zero", "--verify", "none"],
    );
    assert_eq!(code, 1);
    let d = only_drive(&json);
    assert_eq!(d["result"], "INCOMPLETE");
    assert!(
        d["failure_reasons"][0]
            .as_str()
            .unwrap()
            .contains("--verify none")
    );
}

#[test]
fn write_errors_are_recorded_with_their_ranges_and_fail_the_drive() {
    let home = Home::new();
    let fs = SmallTmpfs::new("4m");
    let lo = fs.loop_dev(16 << 20);
    let (code, json) = wipe_json(&home, lo.dev.to_str().unwrap(), &["--method", "zero"]);
    assert_eq!(code, 1, "{json}");
    let d = only_drive(&json);
    assert_eq!(d["result"], "FAIL");
    let reasons = d["failure_reasons"].to_string();
    assert!(reasons.contains("could not write"), "{reasons}");
    assert!(reasons.contains("at offset 4194304"), "{reasons}");
    drop(lo);
}

#[test]
fn bad_method_and_verify_are_usage_errors() {
    let home = Home::new();
    let lo = LoopDev::new("usage", 8 << 20, 512);
    let before = lo.digest();
    let dev = lo.dev.to_str().unwrap();
    let out = home.run(&["wipe", dev, "--method", "shred", "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown method `shred`; choose one of: zero"),
        "{}",
        stderr(&out)
    );
    let out = home.run(&[
        "wipe", dev, "--method", "zero", "--verify", "sample:0", "--yes",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = home.run(&[
        "wipe",
        dev,
        "--method",
        "dod-7pass",
        "--verify-passes",
        "last",
        "--yes",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("requires every pass"));
    let out = home.run(&["wipe", dev, dev, "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(lo.digest(), before);
}

#[test]
fn interrupted_wipe_is_incomplete_and_resumes_to_pass() {
    let home = Home::new();
    let lo = LoopDev::new("interrupt", 256 << 20, 512);
    let dev = lo.dev.to_str().unwrap().to_string();
    let mut child = home
        .command(&["wipe", &dev, "--method", "gutmann", "--yes", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once pass 3 of 35 has started, interrupt as Ctrl-C would; keep draining stderr.
    let stderr_pipe = child.stderr.take().unwrap();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let reader = std::thread::spawn(move || {
        let mut signalled = false;
        let mut lines = Vec::new();
        for line in BufReader::new(stderr_pipe).lines().map_while(Result::ok) {
            if !signalled && line.contains("pass 3/35") {
                signalled = true;
                nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
            }
            lines.push(line);
        }
        (lines, signalled)
    });
    let out = child.wait_with_output().unwrap();
    let (lines, signalled) = reader.join().unwrap();
    assert!(signalled, "pass 3 never started: {lines:?}");
    assert!(
        lines.iter().any(|l| l.contains("--resume")),
        "no hint how to resume: {lines:?}"
    );
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = only_drive(&json);
    assert_eq!(d["result"], "INCOMPLETE", "{json}");
    assert!(
        d["failure_reasons"].to_string().contains("interrupted"),
        "{json}"
    );

    let first_id = d["wipe_id"].clone();
    let out = home.run(&["wipe", "--resume", &dev, "--yes", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = only_drive(&json);
    assert_eq!(d["result"], "PASS");
    assert_eq!(d["wipe_id"], first_id, "the same wipe continued");
    // Resumed, not restarted: the passes finished before the interruption are not run again.
    let log = stderr(&out);
    assert!(!log.contains("pass 1/35"), "{log}");
    assert!(log.contains("pass 35/35"), "{log}");
    assert_eq!(surviving_blocks(&lo.backing), 0);
    // Nothing left to resume.
    let out = home.run(&["wipe", "--resume", &dev, "--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no interrupted wipe"),
        "{}",
        stderr(&out)
    );
}

/// The certificate a `wipe --json` drive entry names verifies with the station's key.
fn assert_certificate_verifies(home: &Home, drive: &serde_json::Value) {
    let json = drive["certificate_json"].as_str().unwrap();
    let (code, report) = home.json(&["verify", json, "--json"]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["valid"], true, "{report}");
}

#[test]
fn a_reader_that_closes_the_output_early_does_not_stop_the_wipe() {
    // wipeproof wipe DEV --yes 2>&1 | head -1
    let home = Home::new();
    let lo = LoopDev::new("headone", 64 << 20, 512);
    let (head, out, err) = HeadOne::both();
    let status = home
        .command(&[
            "wipe",
            lo.dev.to_str().unwrap(),
            "--method",
            "dod-3pass",
            "--yes",
        ])
        .stdout(out)
        .stderr(err)
        .spawn()
        .unwrap()
        .wait()
        .unwrap();
    assert!(head.line().starts_with("wipeproof"));
    // Every line after the first went into a closed pipe; the wipe went on to its end.
    assert_eq!(status.code(), Some(0), "{status}");
    assert_eq!(surviving_blocks(&lo.backing), 0);
    let certs = files_with_ext(&home.path().join("certificates"), "pdf");
    assert_eq!(certs.len(), 1, "{certs:?}");
    let (code, report) = home.json(&["verify", certs[0].to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{report}");
    let record = certs[0].with_extension("json");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    assert_eq!(
        record["record"]["sanitization"]["result"], "PASS",
        "{record}"
    );
    assert!(home.checkpoints().is_empty());
}

#[test]
fn hangup_and_terminate_end_in_an_incomplete_certificate_and_a_checkpoint() {
    use nix::sys::signal::Signal;
    for signal in [Signal::SIGHUP, Signal::SIGTERM] {
        let home = Home::new();
        let lo = LoopDev::new("hangup", 256 << 20, 512);
        let dev = lo.dev.to_str().unwrap().to_string();
        let mut child = home
            .command(&["wipe", &dev, "--method", "gutmann", "--yes", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The terminal goes away: stderr is closed after its first line.
        let head = HeadOne::start(child.stderr.take().unwrap());
        let checkpoint = home.wait_for_checkpoint(&mut child);
        send_signal(&child, signal);
        let out = child.wait_with_output().unwrap();
        head.line();
        assert_eq!(out.status.code(), Some(1), "{signal}: {:?}", out.status);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let d = only_drive(&json);
        assert_eq!(d["result"], "INCOMPLETE", "{signal}: {json}");
        assert!(
            d["failure_reasons"].to_string().contains("interrupted"),
            "{signal}: {json}"
        );
        assert_certificate_verifies(&home, d);
        assert_eq!(home.checkpoints(), vec![checkpoint.clone()], "{signal}");
        assert!(
            surviving_blocks(&lo.backing) > 0,
            "{signal}: the wipe finished before the signal"
        );

        if signal == Signal::SIGHUP {
            // Starting a new wipe and answering no leaves the interrupted one as it was.
            let before = std::fs::read(&checkpoint).unwrap();
            let out = run_with_stdin(&home, &["wipe", &dev, "--method", "zero"], "no\n");
            assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
            assert_eq!(home.checkpoints(), vec![checkpoint.clone()]);
            assert_eq!(std::fs::read(&checkpoint).unwrap(), before);
            // ... and it resumes to PASS.
            let (code, json) = home.json(&["wipe", "--resume", &dev, "--yes", "--json"]);
            assert_eq!(code, 0, "{json}");
            let resumed = only_drive(&json);
            assert_eq!(resumed["result"], "PASS", "{json}");
            assert_eq!(resumed["wipe_id"], d["wipe_id"]);
            assert_certificate_verifies(&home, resumed);
            assert_eq!(surviving_blocks(&lo.backing), 0);
            assert!(home.checkpoints().is_empty());
        }
    }
}

#[test]
fn a_failing_command_prints_one_json_error_document() {
    let home = Home::new();
    let missing = shm_path("missing");
    let missing = missing.to_str().unwrap();
    let csv = format!("{missing}.csv");
    for args in [
        vec!["wipe", missing, "--yes", "--json"],
        vec!["wipe", "--json"],
        vec![
            "intake",
            "import",
            &csv,
            "--customer",
            "C",
            "--collection",
            "X",
            "--json",
        ],
        vec!["assets", "show", "NO-SUCH-TAG", "--json"],
    ] {
        let out = home.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not one JSON document ({e}): {}", stdout(&out)));
        let error = json["error"]
            .as_str()
            .unwrap_or_else(|| panic!("{args:?}: {json}"));
        assert_eq!(json.as_object().unwrap().len(), 1, "{json}");
        assert!(!error.is_empty());
        // The same reason is on stderr for people.
        assert!(
            stderr(&out).contains(error.split([';', ':']).next().unwrap()),
            "{args:?}: {error} / {}",
            stderr(&out)
        );
    }
    let out = home.run(&["wipe", missing, "--yes", "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["error"].as_str().unwrap().contains(missing), "{json}");
}

/// The checkpoint's durable write offset, once it has one.
fn checkpoint_offset(path: &std::path::Path) -> u64 {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["position"]["offset"].as_u64())
        .unwrap_or(0)
}

#[test]
fn a_wipe_killed_mid_pass_is_recorded_incomplete_once_before_the_drive_is_wiped_again() {
    let home = Home::new();
    let lo = LoopDev::new("killed", 256 << 20, 512);
    let dev = lo.dev.to_str().unwrap().to_string();
    let mut child = home
        .command(&["wipe", &dev, "--method", "gutmann", "--yes", "--json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let checkpoint = home.wait_for_checkpoint(&mut child);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while checkpoint_offset(&checkpoint) == 0 {
        assert!(child.try_wait().unwrap().is_none(), "the wipe ended early");
        assert!(std::time::Instant::now() < deadline, "no write in 60 s");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // kill -9: the process records nothing.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(lo.bytes_written() > 0);
    assert_eq!(home.checkpoints(), vec![checkpoint.clone()]);
    let killed = checkpoint
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let offset = checkpoint_offset(&checkpoint);
    let incomplete = "SELECT COUNT(*) FROM certificates WHERE result = 'INCOMPLETE'";
    assert_eq!(home.sql_count(incomplete), 0);

    // The next start records the killed attempt, then wipes the drive to PASS.
    let (code, json) = wipe_json(&home, &dev, &["--method", "zero"]);
    assert_eq!(code, 0, "{json}");
    let d = only_drive(&json);
    assert_eq!(d["result"], "PASS", "{json}");
    assert_ne!(d["wipe_id"], killed.as_str());
    assert_eq!(home.sql_count(incomplete), 1);
    let [id, document] = <[String; 2]>::try_from(
        home.sql_texts("SELECT id, document FROM certificates WHERE result = 'INCOMPLETE'"),
    )
    .unwrap();
    let cert: serde_json::Value = serde_json::from_str(&document).unwrap();
    let record = &cert["record"];
    assert_eq!(record["wipe_id"], killed.as_str(), "{record}");
    let first = record["sanitization"]["failure_reasons"][0]
        .as_str()
        .unwrap();
    assert!(first.starts_with("found after an unclean stop"), "{first}");
    assert!(
        first.contains(&format!("durable up to byte {offset}")),
        "{first}"
    );
    // Signed like any certificate; its custody event and outbox row are there.
    let file = files_with_ext(&home.path().join("certificates"), "json")
        .into_iter()
        .find(|p| std::fs::read_to_string(p).unwrap().contains(&id))
        .expect("the INCOMPLETE certificate's file");
    let (code, report) = home.json(&["verify", file.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{report}");
    let events =
        format!("SELECT COUNT(*) FROM events WHERE kind = 'certificate' AND detail LIKE '%{id}%'");
    assert_eq!(home.sql_count(&events), 1);
    let queued = format!("SELECT COUNT(*) FROM outbox WHERE certificate_id = '{id}'");
    assert_eq!(home.sql_count(&queued), 1);
    assert!(home.checkpoints().is_empty());

    // A third start issues nothing more for it.
    let (code, json) = wipe_json(&home, &dev, &["--method", "zero"]);
    assert_eq!(code, 0, "{json}");
    assert_eq!(home.sql_count(incomplete), 1);
    assert_eq!(home.sql_count(&events), 1);
}
