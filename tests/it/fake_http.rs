//! A small HTTP/1.1 server on 127.0.0.1 for contract tests of the connectors: one thread per
//! connection, one request per connection (`Connection: close`), the handler working on shared
//! state. A handler can ask for a pause before its answer goes out, to make the client time
//! out after the server has done the work. Multipart bodies and query strings are decoded the
//! way a web framework would.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as the server read it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The path without the query, percent-decoded.
    pub path: String,
    /// The path as it came, still escaped (what a web server in front would look at).
    pub raw_path: String,
    pub query: HashMap<String, String>,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// The multipart/form-data parts: (name, filename, content).
    pub fn multipart(&self) -> Vec<(String, Option<String>, Vec<u8>)> {
        let Some(boundary) = self
            .header("content-type")
            .and_then(|t| t.split("boundary=").nth(1))
            .map(|b| b.trim_matches('"').to_string())
        else {
            return Vec::new();
        };
        let delimiter = format!("--{boundary}");
        let mut parts = Vec::new();
        for chunk in split(&self.body, delimiter.as_bytes()).into_iter().skip(1) {
            if chunk.starts_with(b"--") {
                break;
            }
            let chunk = chunk.strip_prefix(b"\r\n").unwrap_or(chunk);
            let Some(end) = find(chunk, b"\r\n\r\n") else {
                continue;
            };
            let head = String::from_utf8_lossy(&chunk[..end]).to_string();
            let mut content = chunk[end + 4..].to_vec();
            if content.ends_with(b"\r\n") {
                content.truncate(content.len() - 2);
            }
            let disposition = head
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
                .unwrap_or("")
                .to_string();
            let param = |key: &str| {
                disposition
                    .split(';')
                    .map(str::trim)
                    .find_map(|p| p.strip_prefix(&format!("{key}=\"")))
                    .map(|v| v.trim_end_matches('"').to_string())
            };
            parts.push((
                param("name").unwrap_or_default(),
                param("filename"),
                content,
            ));
        }
        parts
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split<'a>(mut data: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    while let Some(i) = find(data, delimiter) {
        out.push(&data[..i]);
        data = &data[i + delimiter.len()..];
    }
    out.push(data);
    out
}

/// Decodes `%XX` and `+` of a query component.
pub fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What the handler answers: status, JSON body (or a page that is not JSON), extra headers,
/// and a pause before it is sent.
pub struct Reply {
    pub status: u16,
    pub body: serde_json::Value,
    pub delay: Option<Duration>,
    pub headers: Vec<(String, String)>,
    /// A body sent instead of the JSON one: (Content-Type, text).
    pub page: Option<(String, String)>,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Reply {
        Reply {
            status,
            body,
            delay: None,
            headers: Vec::new(),
            page: None,
        }
    }

    /// An HTML page, as a web server's own error page.
    pub fn html(status: u16, text: &str) -> Reply {
        Reply {
            page: Some(("text/html; charset=iso-8859-1".into(), text.into())),
            ..Reply::json(status, serde_json::Value::Null)
        }
    }

    pub fn header(mut self, name: &str, value: impl ToString) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    pub fn delayed(mut self, delay: Option<Duration>) -> Reply {
        self.delay = delay;
        self
    }
}

/// The server; stopped on drop.
pub struct FakeServer<S> {
    pub url: String,
    pub state: Arc<Mutex<S>>,
    /// Every request seen, in order.
    pub log: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
}

impl<S: Send + 'static> FakeServer<S> {
    pub fn start(state: S, handler: fn(&mut S, &Request) -> Reply) -> FakeServer<S> {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(state));
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (state, log, stop) = (state.clone(), log.clone(), stop.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (state, log) = (state.clone(), log.clone());
                    std::thread::spawn(move || serve_one(stream, &state, &log, handler));
                }
            });
        }
        FakeServer {
            url: format!("http://{addr}"),
            state,
            log,
            stop,
            addr,
        }
    }

    /// The requests seen so far, as `METHOD /path`.
    pub fn requests(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    pub fn clear_log(&self) {
        self.log.lock().unwrap().clear();
    }
}

impl<S> Drop for FakeServer<S> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve_one<S>(
    stream: TcpStream,
    state: &Mutex<S>,
    log: &Mutex<Vec<Request>>,
    handler: fn(&mut S, &Request) -> Reply,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut words = line.split_whitespace();
    let method = words.next().unwrap_or("").to_string();
    let target = words.next().unwrap_or("").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let query = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    let request = Request {
        method,
        raw_path: path.to_string(),
        path: decode(path),
        query,
        headers,
        body,
    };
    log.lock().unwrap().push(request.clone());
    let reply = handler(&mut state.lock().unwrap(), &request);
    if let Some(d) = reply.delay {
        std::thread::sleep(d);
    }
    let (content_type, body) = reply
        .page
        .unwrap_or_else(|| ("application/json".into(), reply.body.to_string()));
    let extra: String = reply
        .headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let mut out = stream;
    let _ = write!(
        out,
        "HTTP/1.1 {} X\r\nContent-Type: {content_type}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        reply.status,
        body.len()
    );
    let _ = out.flush();
}
