//! The station keeps the rules of `wipe`, driven through the library's [`Live`] station (the
//! same one the terminal UI and the headless front-end drive): a retired asset's drive is
//! shown as such and wiped neither by an ordinary start nor by the unattended rule, only by
//! an explicit rewipe; a tag linked to a drive stays with that drive, not with its path; a
//! drive wiped earlier shows its last result after a restart of the station.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wipeproof::config::StateDir;
use wipeproof::station::context::StationContext;
use wipeproof::station::events::{Queue, StationEvent, What};
use wipeproof::station::live::{Auto, Live, Scope};
use wipeproof::station::session::Ended;

use crate::station::{Plug, token};
use crate::support::*;

/// A station over `home`, seeing only this test's drives, and the events it sent.
struct Station {
    live: Live,
    queue: Arc<Queue>,
    seen: Vec<StationEvent>,
    ended: Vec<Ended>,
}

impl Station {
    fn start(home: &Home, t: &str, auto: Auto) -> Station {
        let (state, _) = StateDir::open(home.path()).unwrap();
        let ctx = StationContext::open(&state).unwrap();
        let queue = Arc::new(Queue::default());
        let scope = Scope {
            only: vec![format!("*{t}*")],
        };
        let live = Live::start(ctx, auto, scope, queue.clone()).unwrap();
        let mut s = Station {
            live,
            queue,
            seen: Vec::new(),
            ended: Vec::new(),
        };
        s.drain();
        s
    }

    fn drain(&mut self) {
        self.seen.extend(self.queue.drain());
    }

    /// Ticks until an event of `drive` satisfies `want`, or panics after `limit`.
    fn wait(&mut self, drive: &str, limit: Duration, want: impl Fn(&What) -> bool) -> What {
        let t = Instant::now();
        loop {
            self.drain();
            if let Some(e) = self.seen.iter().find(|e| e.drive == drive && want(&e.what)) {
                return e.what.clone();
            }
            assert!(
                t.elapsed() < limit,
                "no such event for {drive} within {limit:?}; it had:\n{:#?}",
                self.events(drive)
            );
            let ended = self.live.tick(Duration::from_millis(100));
            self.ended.extend(ended);
        }
    }

    fn events(&self, drive: &str) -> Vec<&What> {
        self.seen
            .iter()
            .filter(|e| e.drive == drive)
            .map(|e| &e.what)
            .collect()
    }

    fn has(&self, drive: &str, want: impl Fn(&What) -> bool) -> bool {
        self.events(drive).into_iter().any(want)
    }
}

fn manifest_with_drive(home: &Home, tag: &str, serial: &str) {
    let text = format!(
        "asset_tag,serial,type,make,model,customer_ref,location,media_serials\n\
         {tag},SYS-{tag},laptop,Lenovo,T14,PO-1,Leeds,{serial}\n"
    );
    let out = import_manifest(home, &text, "Acme", "COL-1");
    assert!(out.status.success(), "{}", stderr(&out));
}

fn serial_of(plug: &Plug) -> String {
    plug.backing
        .file_stem()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn a_retired_assets_drive_is_shown_and_wiped_only_by_an_explicit_rewipe() {
    require_root();
    let home = Home::new();
    let t = token("retired");
    let drive = Plug::new(&t, "disk", 8 << 20);
    manifest_with_drive(&home, "ACME-9", &serial_of(&drive));
    let out = home.run(&["wipe", &drive.path(), "--method", "zero", "--yes"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // New data on the drive after its PASS: nothing may touch it without a rewipe.
    write_pattern(&drive.backing, 8 << 20);
    let before = file_digest(&drive.backing);

    // Unattended, with drives present at start included: not scheduled, and said why.
    let auto = Auto {
        method: Some("zero".into()),
        delay: Duration::ZERO,
        existing: true,
    };
    let mut station = Station::start(&home, &t, auto);
    let path = drive.path();
    let known = station.wait(&path, Duration::from_secs(5), |w| {
        matches!(w, What::Known { .. })
    });
    let What::Known {
        asset_tag,
        asset_state,
        last,
    } = known
    else {
        unreachable!()
    };
    assert_eq!(asset_tag.as_deref(), Some("ACME-9"));
    assert_eq!(asset_state.as_deref(), Some("retired"));
    let last = last.expect("the earlier certificate is shown");
    assert_eq!(last.result, "PASS");
    let refused = station.wait(&path, Duration::from_secs(5), |w| {
        matches!(w, What::Failed { .. })
    });
    assert!(
        format!("{refused:?}").contains("retired")
            && format!("{refused:?}").contains("not wiped automatically"),
        "{refused:?}"
    );
    assert!(!station.has(&path, |w| matches!(w, What::Scheduled { .. })));

    // The operator's ordinary start is refused too; the drive is untouched.
    let err = station.live.start_wipe(&path, "zero", false).unwrap_err();
    assert!(
        err.contains("ACME-9") && err.contains("retired") && err.contains("R"),
        "{err}"
    );
    station.live.tick(Duration::from_millis(500));
    station.drain();
    assert!(!station.has(&path, |w| matches!(w, What::Started { .. })));
    assert_eq!(file_digest(&drive.backing), before);

    // The explicit rewipe wipes it, and says it is one.
    station.live.start_wipe(&path, "zero", true).unwrap();
    station.wait(&path, Duration::from_secs(60), |w| {
        matches!(w, What::Certified { .. })
    });
    assert!(station.has(&path, |w| format!("{w:?}").contains("a rewipe")));
    assert_eq!(surviving_blocks(&drive.backing), 0);
    let certs = files_with_ext(&home.path().join("certificates"), "pdf");
    assert_eq!(certs.len(), 2, "{certs:?}");
    // The second certificate says it is a rewipe of a retired asset; the first says nothing.
    let mut rewipes: Vec<serde_json::Value> =
        files_with_ext(&home.path().join("certificates"), "json")
            .iter()
            .filter_map(|p| {
                serde_json::from_slice::<serde_json::Value>(&std::fs::read(p).unwrap()).ok()
            })
            .filter(|c| !c["record"]["sanitization"].is_null())
            .map(|c| c["record"]["sanitization"]["rewipe"]["asset_state"].clone())
            .collect();
    rewipes.sort_by_key(|v| v.is_null());
    assert_eq!(rewipes, ["retired".into(), serde_json::Value::Null]);
}

#[test]
fn a_tag_stays_with_its_drive_not_with_the_path_it_was_on() {
    require_root();
    let home = Home::new();
    let t = token("bind");
    let manifest = "asset_tag,serial,type,make,model,customer_ref,location,media_serials\n\
                    ACME-T,SYS-T,laptop,Lenovo,T14,PO-1,Leeds,\n";
    let out = import_manifest(&home, manifest, "Acme", "COL-1");
    assert!(out.status.success(), "{}", stderr(&out));
    let mut first = Plug::new(&t, "first", 8 << 20);
    let mut station = Station::start(&home, &t, Auto::default());
    let path = first.path();
    station.wait(&path, Duration::from_secs(5), |w| {
        matches!(w, What::Appeared { .. })
    });
    station.live.tag(&path, "ACME-T").unwrap();
    // The drive goes; another one is put in its place, at the same device path.
    let second = first
        .replace(&t, "second", 8 << 20)
        .expect("the same loop device number is free again");
    let serial = serial_of(&second);
    station.wait(
        &path,
        Duration::from_secs(10),
        |w| matches!(w, What::Appeared { info, .. } if info.serial.as_deref() == Some(&serial)),
    );
    // Started now, it must not carry the old drive's tag.
    let _ = station.live.start_wipe(&path, "zero", false);
    let ended = Instant::now();
    while station.ended.is_empty() {
        assert!(
            ended.elapsed() < Duration::from_secs(60),
            "the wipe never ended"
        );
        let e = station.live.tick(Duration::from_millis(100));
        station.ended.extend(e);
    }
    let (_, delivered) = station.ended.pop().unwrap();
    let issued = delivered.unwrap().issued.unwrap();
    assert!(
        issued.record.asset_tags.is_empty(),
        "the new drive was certified as the old drive's asset: {:?}",
        issued.record.asset_tags
    );
    let (code, v) = home.json(&["assets", "show", "ACME-T", "--json"]);
    assert_eq!(code, 0, "{v}");
    assert_ne!(v["state"], "retired", "{v}");
}

#[test]
fn a_drive_wiped_before_a_restart_shows_its_last_result() {
    require_root();
    let home = Home::new();
    let t = token("again");
    let drive = Plug::new(&t, "disk", 8 << 20);
    let path = drive.path();
    {
        let mut station = Station::start(&home, &t, Auto::default());
        station.wait(&path, Duration::from_secs(5), |w| {
            matches!(w, What::Appeared { .. })
        });
        station.live.start_wipe(&path, "zero", false).unwrap();
        station.wait(&path, Duration::from_secs(60), |w| {
            matches!(w, What::Certified { .. })
        });
        station.live.finish();
    }
    let mut station = Station::start(&home, &t, Auto::default());
    let known = station.wait(&path, Duration::from_secs(5), |w| {
        matches!(w, What::Known { .. })
    });
    let What::Known { last, .. } = known else {
        unreachable!()
    };
    let last = last.expect("the last result is known after a restart");
    assert_eq!(last.result, "PASS");
    assert_eq!(last.method, "zero");
    let certs = files_with_ext(&home.path().join("certificates"), "json");
    assert!(
        certs
            .iter()
            .any(|c| c.to_string_lossy().contains(&last.id[..8])),
        "{} is not among {certs:?}",
        last.id
    );
}
