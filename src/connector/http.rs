//! The HTTP pieces both connectors share: one agent with a timeout, answers read into
//! status + JSON, a multipart/form-data body built by hand (two text or file parts are all
//! either API needs, so no crate for it), and path segments escaped.

use std::time::Duration;

use super::ConnectorError;

/// An answer: HTTP status and the body as JSON (`Null` if it was not JSON).
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub json: serde_json::Value,
    pub text: String,
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

    /// Sends `call`; a network failure or time-out is `Unreachable`.
    pub fn send(&self, call: Call<'_>) -> Result<Answer, ConnectorError> {
        let unreachable = |e: ureq::Error| ConnectorError::Unreachable {
            connector: self.name.clone(),
            message: format!("{} {}: {e}", call.method, call.url),
        };
        let response = match call.body {
            Some((content_type, body)) => {
                let mut req = match call.method {
                    "PATCH" => self.agent.patch(&call.url),
                    "PUT" => self.agent.put(&call.url),
                    _ => self.agent.post(&call.url),
                };
                for (k, v) in &call.headers {
                    req = req.header(*k, v);
                }
                req.header("Content-Type", &content_type).send(&body[..])
            }
            None => {
                let mut req = self.agent.get(&call.url);
                for (k, v) in &call.headers {
                    req = req.header(*k, v);
                }
                req.call()
            }
        };
        let mut response = response.map_err(unreachable)?;
        let status = response.status().as_u16();
        let text =
            response
                .body_mut()
                .read_to_string()
                .map_err(|e| ConnectorError::Unreachable {
                    connector: self.name.clone(),
                    message: format!("{} {}: reading the answer: {e}", call.method, call.url),
                })?;
        let json = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        Ok(Answer { status, json, text })
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
    }
}
