//! The HTTP pieces both connectors share: one agent with a timeout, answers read into
//! status + headers + JSON, a multipart/form-data body built by hand (two text or file parts
//! are all either API needs, so no crate for it), path segments escaped, HTML entities of
//! answers decoded, and throttling: a `429 Too Many Requests` is waited out as its
//! `Retry-After` says (capped, told on stderr) and the same request is sent again, so a long
//! sync goes on at the pace the server allows instead of leaving the rest pending.

use std::time::Duration;

use super::ConnectorError;

/// The longest single wait a `Retry-After` gets; a server asking for more is asked again then.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(120);
/// The longest a single request waits in all for a throttled server before the connector
/// stops for this sync (the rest is tried at the next one).
pub(crate) const MAX_THROTTLED: Duration = Duration::from_secs(15 * 60);
/// The wait when a 429 says nothing of how long (Snipe-IT's own default is 60 s).
const DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// An answer: HTTP status, headers (names in lower case) and the body as JSON (`Null` if it
/// was not JSON).
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub json: serde_json::Value,
    pub text: String,
}

impl Answer {
    /// The value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// How long a 429 asks to wait: `Retry-After` in seconds, else the body's `retryAfter`
    /// (Snipe-IT), else [`DEFAULT_WAIT`].
    fn retry_after(&self) -> Duration {
        let from_header = self
            .header("retry-after")
            .and_then(|v| v.trim().parse::<u64>().ok());
        let from_body = self.json.get("retryAfter").and_then(|v| {
            v.as_u64()
                .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
        });
        from_header
            .or(from_body)
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_WAIT)
    }
}

/// A request about to be sent.
pub(crate) struct Call<'a> {
    pub method: &'a str,
    pub url: String,
    pub headers: Vec<(&'a str, String)>,
    pub body: Option<(String, Vec<u8>)>,
}

/// An HTTP client for one connector.
pub(crate) struct Http {
    agent: ureq::Agent,
    /// The connector's name, for messages.
    pub name: String,
}

impl Http {
    pub fn new(name: &str, timeout: Duration) -> Http {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .into();
        Http {
            agent,
            name: name.to_string(),
        }
    }

    /// Sends `call`; a network failure or time-out is `Unreachable`. A 429 is waited out as
    /// its `Retry-After` says (at most [`MAX_WAIT`] at a time, [`MAX_THROTTLED`] in all) with
    /// a line on stderr, and the request is sent again: the server refused it before doing
    /// anything, so sending it again does nothing twice.
    pub fn send(&self, call: Call<'_>) -> Result<Answer, ConnectorError> {
        let mut waited = Duration::ZERO;
        loop {
            let answer = self.send_once(&call)?;
            if answer.status != 429 {
                return Ok(answer);
            }
            let asked = answer.retry_after();
            let wait = asked.clamp(Duration::from_secs(1), MAX_WAIT);
            if waited + wait > MAX_THROTTLED {
                return Err(ConnectorError::Unreachable {
                    connector: self.name.clone(),
                    message: format!(
                        "{} {}: the server kept answering 429 Too Many Requests for {} s; raise its API rate limit or sync later",
                        call.method,
                        call.url,
                        waited.as_secs()
                    ),
                });
            }
            let capped = if asked > wait {
                format!(" (it asked for {} s)", asked.as_secs())
            } else {
                String::new()
            };
            eprintln!(
                "connector {}: {} {} answered 429 Too Many Requests; waiting {} s as its Retry-After says{capped}, then going on",
                self.name,
                call.method,
                call.url,
                wait.as_secs()
            );
            std::thread::sleep(wait);
            waited += wait;
        }
    }

    fn send_once(&self, call: &Call<'_>) -> Result<Answer, ConnectorError> {
        let unreachable = |e: ureq::Error| ConnectorError::Unreachable {
            connector: self.name.clone(),
            message: format!("{} {}: {e}", call.method, call.url),
        };
        let response = match &call.body {
            Some((content_type, body)) => {
                let mut req = match call.method {
                    "PATCH" => self.agent.patch(&call.url),
                    "PUT" => self.agent.put(&call.url),
                    _ => self.agent.post(&call.url),
                };
                for (k, v) in &call.headers {
                    req = req.header(*k, v);
                }
                req.header("Content-Type", content_type).send(&body[..])
            }
            None => {
                let mut req = match call.method {
                    "DELETE" => self.agent.delete(&call.url),
                    _ => self.agent.get(&call.url),
                };
                for (k, v) in &call.headers {
                    req = req.header(*k, v);
                }
                req.call()
            }
        };
        let mut response = response.map_err(unreachable)?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        let text =
            response
                .body_mut()
                .read_to_string()
                .map_err(|e| ConnectorError::Unreachable {
                    connector: self.name.clone(),
                    message: format!("{} {}: reading the answer: {e}", call.method, call.url),
                })?;
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        Ok(Answer {
            status,
            headers,
            json,
            text,
        })
    }
}

/// A multipart/form-data body.
pub(crate) struct Multipart {
    boundary: String,
    body: Vec<u8>,
}

impl Multipart {
    pub fn new() -> Multipart {
        Multipart {
            boundary: format!("wipeproof-{}", uuid::Uuid::new_v4().simple()),
            body: Vec::new(),
        }
    }

    /// Adds a text field.
    pub fn text(mut self, name: &str, value: &str) -> Multipart {
        self.head(name, None, "text/plain; charset=utf-8");
        self.body.extend_from_slice(value.as_bytes());
        self.body.extend_from_slice(b"\r\n");
        self
    }

    /// Adds a file field.
    pub fn file(
        mut self,
        name: &str,
        filename: &str,
        content_type: &str,
        data: &[u8],
    ) -> Multipart {
        self.head(name, Some(filename), content_type);
        self.body.extend_from_slice(data);
        self.body.extend_from_slice(b"\r\n");
        self
    }

    fn head(&mut self, name: &str, filename: Option<&str>, content_type: &str) {
        let mut disposition = format!("form-data; name=\"{}\"", quote(name));
        if let Some(f) = filename {
            disposition.push_str(&format!("; filename=\"{}\"", quote(f)));
        }
        self.body.extend_from_slice(
            format!(
                "--{}\r\nContent-Disposition: {disposition}\r\nContent-Type: {content_type}\r\n\r\n",
                self.boundary
            )
            .as_bytes(),
        );
    }

    /// The Content-Type header and the body.
    pub fn finish(mut self) -> (String, Vec<u8>) {
        self.body
            .extend_from_slice(format!("--{}--\r\n", self.boundary).as_bytes());
        (
            format!("multipart/form-data; boundary={}", self.boundary),
            self.body,
        )
    }
}

/// A header parameter value cannot hold quotes or line breaks.
fn quote(s: &str) -> String {
    s.chars()
        .map(|c| {
            if matches!(c, '"' | '\r' | '\n' | '\\') {
                '_'
            } else {
                c
            }
        })
        .collect()
}

/// Escapes one URL path segment or query value (RFC 3986 unreserved characters kept).
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Escapes a path tail that may hold `/` (Snipe-IT's `bytag/{any}` and `byserial/{any}`
/// routes take `.*`): every byte [`escape`] escapes except `/`, which goes as it is, since a
/// web server in front of Laravel (Apache's default `AllowEncodedSlashes Off`) answers `%2F`
/// with its own 404 page before Snipe-IT sees the request.
pub(crate) fn escape_keep_slash(s: &str) -> String {
    s.split('/').map(escape).collect::<Vec<_>>().join("/")
}

/// Decodes the HTML entities servers put in the strings they answer (Snipe-IT's `e()`, GLPI's
/// sanitized content): named `&amp; &lt; &gt; &quot; &apos;` and numeric `&#38;`/`&#x26;`.
/// One pass, so `&amp;lt;` becomes `&lt;`, as the browser would show it.
pub(crate) fn unescape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let decoded = rest.find(';').filter(|&end| end <= 10).and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity.strip_prefix('#').and_then(|n| {
                    let code = match n.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => n.parse().ok(),
                    };
                    code.and_then(char::from_u32)
                }),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multipart_body_has_each_part_and_the_closing_boundary() {
        let (ct, body) = Multipart::new()
            .text("notes", "certificate C-1")
            .file("file[]", "c\"1.pdf", "application/pdf", b"%PDF-1.7")
            .finish();
        let boundary = ct
            .strip_prefix("multipart/form-data; boundary=")
            .expect("type");
        let text = String::from_utf8(body).expect("utf-8");
        assert!(text.starts_with(&format!("--{boundary}\r\n")));
        assert!(text.contains("Content-Disposition: form-data; name=\"notes\"\r\n"));
        assert!(text.contains("name=\"file[]\"; filename=\"c_1.pdf\"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.7\r\n"));
        assert!(text.ends_with(&format!("\r\n--{boundary}--\r\n")));
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(escape("ACME 1/2"), "ACME%201%2F2");
        assert_eq!(escape("a-b_c.d~"), "a-b_c.d~");
        assert_eq!(escape_keep_slash("ACME 1/2?#"), "ACME%201/2%3F%23");
    }

    #[test]
    fn html_entities_are_decoded_once() {
        assert_eq!(unescape_html("Wiped &amp; sold"), "Wiped & sold");
        assert_eq!(
            unescape_html("&#60;b&#62; &#38; &#039;q&#039; &quot;x&quot; &#x26;"),
            "<b> & 'q' \"x\" &"
        );
        assert_eq!(unescape_html("&amp;lt; & &nope; a&b"), "&lt; & &nope; a&b");
    }
}
