//! A small W3C WebDriver client over `ureq`, driving Debian's `chromium` through its
//! `chromedriver` (headless, a fresh profile, nothing fetched from the network). The driver and
//! every browser process it started are killed by process id on drop, also when a test fails.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// The key under which WebDriver names an element.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A browser session: chromedriver, its chromium, and a profile directory of its own.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
    _profile: tempfile::TempDir,
}

/// An element of the current page.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on 127.0.0.1")
}

impl Browser {
    /// Whether the browser and its driver are installed (`.ci/setup` installs them).
    pub fn available() -> bool {
        Path::new(CHROMEDRIVER).exists() && Path::new(CHROMIUM).exists()
    }

    /// Starts chromedriver and a headless chromium with a window of `width` x `height`.
    pub fn start(width: u32, height: u32) -> Browser {
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start /usr/bin/chromedriver; install chromium-driver");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let profile = tempfile::Builder::new()
            .prefix("wipeproof-chromium-")
            .tempdir_in("/dev/shm")
            .expect("profile directory");
        let mut browser = Browser {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            agent,
            _profile: profile,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = browser
                .agent
                .get(&format!("{}/status", browser.base))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_to_string().ok())
                .and_then(|body| serde_json::from_str::<Value>(&body).ok())
                .is_some_and(|v| v["value"]["ready"] == true);
            if ready {
                break;
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile_dir = browser._profile.path().display().to_string();
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--hide-scrollbars",
                    format!("--user-data-dir={profile_dir}"),
                    format!("--window-size={width},{height}"),
                ],
            },
        } } });
        let v = browser.call("POST", "/session", Some(caps));
        browser.session = v["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {v}"))
            .to_string();
        // Finding an element waits up to 10 s for it (a page may still be loading).
        browser.session_call("POST", "/timeouts", Some(json!({ "implicit": 10_000 })));
        browser
    }

    /// One WebDriver command; returns its `value`, panicking with the driver's error.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let response = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self
                .agent
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or(json!({})).to_string()),
        };
        let mut response =
            response.unwrap_or_else(|e| panic!("WebDriver {method} {path} failed: {e}"));
        let status = response.status().as_u16();
        let v: Value = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .ok()
            .and_then(|body| serde_json::from_str(&body).ok())
            .unwrap_or(Value::Null);
        assert!(status < 400, "WebDriver {method} {path}: {status} {v}");
        v["value"].clone()
    }

    fn session_call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.call(method, &format!("/session/{}{path}", self.session), body)
    }

    pub fn goto(&self, url: &str) {
        self.session_call("POST", "/url", Some(json!({ "url": url })));
    }

    pub fn url(&self) -> String {
        self.session_call("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn source(&self) -> String {
        self.session_call("GET", "/source", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Runs `script` (a function body: `return ...;`) in the page and returns its value.
    pub fn script(&self, script: &str) -> Value {
        self.session_call(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
    }

    /// For each CSS selector: how many elements match and how many of them are laid out (take
    /// up room on the page as it is rendered now: not `display: none`, nor inside such).
    pub fn shown(&self, selectors: &[&str]) -> Vec<(String, u64, u64)> {
        let v = self.script(&format!(
            "return {}.map(s => {{ const all = [...document.querySelectorAll(s)]; \
             return [s, all.length, all.filter(e => e.getClientRects().length > 0).length]; }});",
            serde_json::to_string(selectors).unwrap()
        ));
        v.as_array()
            .unwrap_or_else(|| panic!("no answer from the page: {v}"))
            .iter()
            .map(|r| {
                (
                    r[0].as_str().unwrap_or_default().to_string(),
                    r[1].as_u64().unwrap_or(0),
                    r[2].as_u64().unwrap_or(0),
                )
            })
            .collect()
    }

    pub fn title(&self) -> String {
        self.session_call("GET", "/title", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits (up to 10 s) until the page's title starts with `prefix`: a click that navigates
    /// returns before the next page is there.
    pub fn wait_title(&self, prefix: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let title = self.title();
            if title.starts_with(prefix) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the page is still {title:?}, not {prefix:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Every element matching a CSS selector.
    pub fn find_all(&self, css: &str) -> Vec<Element<'_>> {
        let v = self.session_call(
            "POST",
            "/elements",
            Some(json!({ "using": "css selector", "value": css })),
        );
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT].as_str())
                    .map(|id| Element {
                        browser: self,
                        id: id.to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The one element matching a CSS selector.
    pub fn find(&self, css: &str) -> Element<'_> {
        let mut all = self.find_all(css);
        assert!(
            !all.is_empty(),
            "no element matches {css} on {}:\n{}",
            self.url(),
            self.source()
        );
        all.remove(0)
    }

    /// The link whose text is exactly `text`.
    pub fn link(&self, text: &str) -> Element<'_> {
        let v = self.session_call(
            "POST",
            "/element",
            Some(json!({ "using": "link text", "value": text })),
        );
        Element {
            browser: self,
            id: v[ELEMENT]
                .as_str()
                .unwrap_or_else(|| panic!("no link {text:?} on {}", self.url()))
                .to_string(),
        }
    }

    /// The value of a cookie of the current page.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let all = self.session_call("GET", "/cookie", None);
        all.as_array()?
            .iter()
            .find(|c| c["name"] == name)
            .and_then(|c| c["value"].as_str().map(str::to_string))
    }

    pub fn resize(&self, width: u32, height: u32) {
        self.session_call(
            "POST",
            "/window/rect",
            Some(json!({ "width": width, "height": height })),
        );
    }

    /// Lays pages out as for paper (`print`) or for the screen (`screen`).
    pub fn emulate_media(&self, media: &str) {
        self.session_call(
            "POST",
            "/goog/cdp/execute",
            Some(json!({ "cmd": "Emulation.setEmulatedMedia", "params": { "media": media } })),
        );
    }

    /// A PNG of the whole page (beyond the window, through the DevTools protocol), saved as
    /// `dir/name.png`.
    pub fn screenshot(&self, dir: &Path, name: &str) -> PathBuf {
        std::fs::create_dir_all(dir).expect("screenshot directory");
        let v = self.session_call(
            "POST",
            "/goog/cdp/execute",
            Some(json!({ "cmd": "Page.captureScreenshot", "params": {
                "format": "png", "captureBeyondViewport": true,
            } })),
        );
        let data = v["data"].as_str().map(str::to_string).unwrap_or_else(|| {
            self.session_call("GET", "/screenshot", None)
                .as_str()
                .unwrap_or_default()
                .to_string()
        });
        let png = base64::engine::general_purpose::STANDARD
            .decode(data)
            .expect("screenshot is base64");
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        path
    }

    /// The process ids of the driver's descendants (the browser and its helpers).
    fn descendants(&self) -> Vec<i32> {
        let mut found = vec![self.driver.id() as i32];
        let mut i = 0;
        while i < found.len() {
            let parent = found[i];
            if let Ok(entries) = std::fs::read_dir("/proc") {
                for e in entries.flatten() {
                    let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
                        continue;
                    };
                    let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
                    // The parent pid is the second field after the command in parentheses.
                    let ppid = stat
                        .rsplit_once(')')
                        .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                        .and_then(|p| p.parse::<i32>().ok());
                    if ppid == Some(parent) && !found.contains(&pid) {
                        found.push(pid);
                    }
                }
            }
            i += 1;
        }
        found.remove(0);
        found
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let children = self.descendants();
        if !self.session.is_empty() {
            let _ = self
                .agent
                .delete(&format!("{}/session/{}", self.base, self.session))
                .call();
        }
        for pid in children {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Element<'_> {
    fn call(&self, method: &str, what: &str, body: Option<Value>) -> Value {
        self.browser
            .session_call(method, &format!("/element/{}{what}", self.id), body)
    }

    pub fn click(&self) {
        self.call("POST", "/click", Some(json!({})));
    }

    /// Types `text` (for a file input: the path of the file to upload).
    pub fn send_keys(&self, text: &str) {
        self.call("POST", "/value", Some(json!({ "text": text })));
    }

    pub fn text(&self) -> String {
        self.call("GET", "/text", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn attribute(&self, name: &str) -> Option<String> {
        self.call("GET", &format!("/attribute/{name}"), None)
            .as_str()
            .map(str::to_string)
    }

    /// The first element inside this one that matches a CSS selector.
    pub fn find(&self, css: &str) -> Element<'_> {
        let v = self.call(
            "POST",
            "/element",
            Some(json!({ "using": "css selector", "value": css })),
        );
        Element {
            browser: self.browser,
            id: v[ELEMENT]
                .as_str()
                .unwrap_or_else(|| panic!("no {css} inside the element"))
                .to_string(),
        }
    }
}
