//! A collection's chain of custody through the binary: the pick-up, goods-in scanning at a
//! scanner's pace (each scan answered before the next is typed), reconciliation before and
//! after each missing asset is resolved, and the custody events reaching a central register by
//! `sync`.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::register::{MANIFEST, asset, disk_named, station, wipe};
use crate::support::*;

on_each_backend!(
    goods_in_answers_each_scan_at_once_and_reconciles,
    custody_events_reach_the_central_register_by_sync,
);

/// `intake receive COL --json` running, fed scans and read answer by answer.
struct Desk {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    answers: mpsc::Receiver<String>,
}

impl Desk {
    fn open(home: &Home, collection: &str) -> Desk {
        let mut child = home
            .command(&["intake", "receive", collection, "--json"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, answers) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Desk {
            child,
            stdin,
            answers,
        }
    }

    /// Types `bytes` a key every 3 ms, then Enter, and waits for the one answer.
    fn scan(&mut self, bytes: &[u8]) -> Value {
        for b in bytes {
            self.stdin.write_all(&[*b]).unwrap();
            self.stdin.flush().unwrap();
            std::thread::sleep(Duration::from_millis(3));
        }
        self.enter()
    }

    /// Sends `bytes` at once (a pasted or runaway line), then Enter.
    fn paste(&mut self, bytes: &[u8]) -> Value {
        self.stdin.write_all(bytes).unwrap();
        self.enter()
    }

    fn enter(&mut self) -> Value {
        self.stdin.write_all(b"\n").unwrap();
        self.stdin.flush().unwrap();
        let line = self
            .answers
            .recv_timeout(Duration::from_secs(20))
            .expect("an answer to the scan, at once");
        assert!(self.answers.try_recv().is_err(), "one answer line per scan");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    fn finish(mut self) -> i32 {
        drop(self.stdin);
        self.child.wait().unwrap().code().unwrap_or(-1)
    }
}

fn goods_in_answers_each_scan_at_once_and_reconciles(backend: Backend) {
    let home = Home::on(backend);
    assert!(
        import_manifest(&home, MANIFEST, "Acme Insurance", "COL-1")
            .status
            .success()
    );
    let other = "asset_tag,serial\nOTHER-1,OTH-1\n";
    assert!(
        import_manifest(&home, other, "Acme Insurance", "COL-2")
            .status
            .success()
    );
    assert_eq!(asset(&home, "ACME-1")["state"], "expected");
    let out = home.run(&[
        "intake",
        "collect",
        "COL-1",
        "--driver",
        "Dan Driver",
        "--vehicle",
        "AB12 CDE",
        "--seal",
        "S-100",
        "--seal",
        "S-101",
        "--count",
        "3",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));

    let mut desk = Desk::open(&home, "COL-1");
    let a = desk.scan(b"ACME-1");
    assert_eq!(
        (&a["outcome"], &a["asset_tag"]),
        (&"received".into(), &"ACME-1".into()),
        "{a}"
    );
    let a = desk.scan(b"ACME-1");
    assert_eq!(a["outcome"], "already_received", "{a}");
    let a = desk.scan(b"SRV-2");
    assert_eq!(
        (&a["outcome"], &a["asset_tag"]),
        (&"received".into(), &"ACME-2".into()),
        "by serial: {a}"
    );
    let a = desk.scan(b"OTHER-1");
    assert_eq!(
        (&a["outcome"], &a["collection"]),
        (&"other_collection".into(), &"COL-2".into()),
        "{a}"
    );
    let a = desk.scan(b"UNLISTED-DRIVE-7");
    assert_eq!(
        (&a["outcome"], &a["scanned"]),
        (&"extra".into(), &"UNLISTED-DRIVE-7".into()),
        "{a}"
    );
    assert_eq!(desk.scan(b"")["outcome"], "empty");
    let events_before = home.sql_count("SELECT COUNT(*) FROM events");
    let a = desk.paste(&vec![b'7'; 10 << 20]);
    assert_eq!(a["outcome"], "refused", "{a}");
    assert!(
        a["message"].as_str().unwrap().contains("10485760 bytes"),
        "{a}"
    );
    let a = desk.scan(b"ACME\xff3");
    assert_eq!(a["outcome"], "refused", "{a}");
    assert!(a["message"].as_str().unwrap().contains("UTF-8"), "{a}");
    assert_eq!(
        home.sql_count("SELECT COUNT(*) FROM events"),
        events_before,
        "nothing refused is recorded"
    );
    assert_eq!(desk.finish(), 0);
    assert_eq!(home.sql_count("SELECT COUNT(*) FROM collection_extras"), 1);
    assert_eq!(asset(&home, "OTHER-1")["state"], "expected");

    // The same in words, one line per scan.
    let out = run_with_stdin(&home, &["intake", "receive", "COL-1"], "ACME-2\r\nNEW-9\n");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("already received ACME-2"), "{text}");
    assert!(lines[1].contains("recorded as an extra of COL-1"), "{text}");

    let (code, r) = home.json(&["intake", "reconcile", "COL-1", "--json"]);
    assert_eq!(code, 1, "an asset is unaccounted for: {r}");
    assert_eq!(
        (r["expected"].as_u64(), r["received"].as_u64()),
        (Some(3), Some(2)),
        "{r}"
    );
    assert_eq!(r["missing"][0]["asset_tag"], "ACME-3");
    assert!(r["missing"][0]["resolution"].is_null());
    let extra: Vec<&str> = r["extra"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["scanned"].as_str().unwrap())
        .collect();
    assert_eq!(extra, ["UNLISTED-DRIVE-7", "NEW-9"]);

    let lost = ["intake", "resolve", "COL-1", "ACME-3", "--reason", "lost"];
    let out = home.run(&lost);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--note"), "{}", stderr(&out));
    let out = home.run(&[&lost[..], &["--note", "incident INC-42"]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    let (code, r) = home.json(&["intake", "reconcile", "COL-1", "--json"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["unresolved"], 0);
    assert_eq!(r["missing"][0]["resolution"]["reason"], "lost");
    assert_eq!(r["missing"][0]["resolution"]["note"], "incident INC-42");

    let (code, c) = home.json(&["collections", "show", "COL-1", "--json"]);
    assert_eq!(code, 0, "{c}");
    assert_eq!(c["state"], "reconciled");
    let steps: Vec<&str> = c["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "booked",
            "collected",
            "received",
            "reconciled",
            "reconciled"
        ]
    );
    assert_eq!(c["steps"][1]["detail"]["vehicle"], "AB12 CDE");
    assert_eq!(c["steps"][1]["detail"]["count"], 3);
    let (code, l) = home.json(&["collections", "list", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(l["collections"][0]["unaccounted"], 0);
    assert_eq!(l["collections"][1]["state"], "booked");
    let (code, audit) = home.json(&["assets", "audit", "--json"]);
    assert_eq!(code, 0, "{audit}");

    // The customer's report: the lost asset reads as missing (the register still holds it
    // as expected), in the table and the summary, and its resolution is dated like the rest.
    assert!(home.run(&["keys", "init"]).status.success());
    let out_dir = tempfile::tempdir_in("/dev/shm").unwrap();
    let out = home.run(&["report", "COL-1", "--out", out_dir.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let pdf = std::fs::read_dir(out_dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "pdf"))
        .unwrap();
    let text = std::process::Command::new("pdftotext")
        .args(["-layout", pdf.to_str().unwrap(), "-"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    let row = text
        .lines()
        .find(|l| l.trim_start().starts_with("ACME-3"))
        .unwrap_or_default();
    assert!(
        row.contains("missing") && !row.contains("expected"),
        "{text}"
    );
    assert!(text.contains("1 missing"), "{text}");
    assert!(
        !text.contains("Z: incident"),
        "a raw timestamp in the resolution: {text}"
    );
}

fn custody_events_reach_the_central_register_by_sync(backend: Backend) {
    let central = Home::on(backend);
    let desk = station(&central, "goods-in", true);
    for home in [&central, &desk] {
        assert!(
            import_manifest(home, MANIFEST, "Acme Insurance", "COL-1")
                .status
                .success()
        );
    }
    let out = desk.run(&[
        "intake",
        "collect",
        "COL-1",
        "--driver",
        "Dan",
        "--vehicle",
        "AB12 CDE",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run_with_stdin(
        &desk,
        &["intake", "receive", "COL-1"],
        "ACME-1\nLOOSE-HDD-1\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        desk.run(&["intake", "reconcile", "COL-1"]).status.code(),
        Some(1)
    );
    let out = desk.run(&[
        "intake",
        "resolve",
        "COL-1",
        "ACME-3",
        "--reason",
        "withdrawn",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    // ACME-2 was never scanned, but a station wipes its drive: received by that station.
    let dir = tempfile::tempdir_in("/dev/shm").unwrap();
    assert_eq!(wipe(&desk, &disk_named(&dir, "SRV2-D1"), &[]).0, 0);
    let a2 = asset(&desk, "ACME-2");
    let receipt = a2["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "received")
        .cloned()
        .unwrap();
    assert!(receipt["detail"]["by_certificate"].is_string(), "{receipt}");

    let server = Server::start(&central);
    let (code, v) = desk.json(&["sync", "--register", &server.url, "--json"]);
    assert_eq!(code, 0, "{v}");
    let (code, c) = central.json(&["collections", "show", "COL-1", "--json"]);
    assert_eq!(code, 0, "{c}");
    assert_eq!(c["state"], "reconciled");
    assert_eq!(
        (c["received"].as_u64(), c["extras"].as_u64()),
        (Some(2), Some(1)),
        "{c}"
    );
    assert_eq!(c["extra"][0]["scanned"], "LOOSE-HDD-1");
    let collected = c["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "collected")
        .cloned()
        .unwrap();
    assert_eq!(
        (&collected["station"], &collected["detail"]["driver"]),
        (&"goods-in".into(), &"Dan".into())
    );
    assert_eq!(c["missing"][0]["resolution"]["reason"], "withdrawn");
    assert_eq!(asset(&central, "ACME-1")["state"], "received");
    let (code, audit) = central.json(&["assets", "audit", "--json"]);
    assert_eq!(code, 0, "{audit}");
}
