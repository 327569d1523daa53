//! Sending a station's certificates to the central register.
//!
//! Every certificate enters the outbox in the same transaction that stores it; `sync` sends
//! what is pending, one certificate per request, keyed by the certificate id, so sending twice
//! stores once. Network failures are retried with backoff; a certificate the register refuses
//! stays pending with the reason. A station the register does not know is told so at once.

use std::time::Duration;

use serde::Serialize;

use super::{Register, RegisterError};

/// How hard to try.
#[derive(Debug, Clone, Copy)]
pub struct SyncOptions {
    /// Attempts per certificate on network or server errors.
    pub attempts: u32,
    /// First wait between attempts; doubled each time.
    pub backoff: Duration,
    /// Time allowed for one request.
    pub timeout: Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            attempts: 4,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(30),
        }
    }
}

/// What a sync did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    /// Stored by the register now.
    pub sent: Vec<String>,
    /// The register had them already (an earlier sync got through but did not hear back).
    pub already: Vec<String>,
    /// Still pending, with the reason.
    pub unsent: Vec<(String, String)>,
    /// Set when the register refused this station outright.
    pub refused: Option<String>,
}

impl SyncReport {
    pub fn complete(&self) -> bool {
        self.unsent.is_empty() && self.refused.is_none()
    }
}

/// How one attempt ended.
enum Attempt {
    Stored,
    Already,
    /// The register will never take it as it is (4xx).
    Rejected(String),
    /// This station is not enrolled (403).
    Refused(String),
    /// Worth trying again (network, 5xx).
    Retry(String),
}

/// Sends pending certificates to the register at `url` (e.g. `http://10.0.0.5:7070`).
pub fn sync(
    register: &mut dyn Register,
    url: &str,
    opts: SyncOptions,
) -> Result<SyncReport, RegisterError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(opts.timeout))
        .build()
        .into();
    let endpoint = format!("{}/api/v1/certificates", url.trim_end_matches('/'));
    let mut report = SyncReport::default();
    let pending = register.pending()?;
    let mut unreachable: Option<String> = None;
    for item in pending {
        if let Some(why) = &report.refused {
            report.unsent.push((item.certificate_id, why.clone()));
            continue;
        }
        if let Some(why) = &unreachable {
            report
                .unsent
                .push((item.certificate_id.clone(), why.clone()));
            register.mark_failed(&item.certificate_id, why)?;
            continue;
        }
        let mut wait = opts.backoff;
        let mut outcome = Attempt::Retry("not tried".into());
        for attempt in 1..=opts.attempts.max(1) {
            outcome = send_one(&agent, &endpoint, &item.document);
            match &outcome {
                Attempt::Retry(_) if attempt < opts.attempts => {
                    std::thread::sleep(wait);
                    wait = wait.saturating_mul(2);
                }
                _ => break,
            }
        }
        match outcome {
            Attempt::Stored => {
                register.mark_sent(&item.certificate_id)?;
                report.sent.push(item.certificate_id);
            }
            Attempt::Already => {
                register.mark_sent(&item.certificate_id)?;
                report.already.push(item.certificate_id);
            }
            Attempt::Rejected(why) => {
                register.mark_failed(&item.certificate_id, &why)?;
                report.unsent.push((item.certificate_id, why));
            }
            Attempt::Refused(why) => {
                register.mark_failed(&item.certificate_id, &why)?;
                report.unsent.push((item.certificate_id, why.clone()));
                report.refused = Some(why);
            }
            Attempt::Retry(why) => {
                register.mark_failed(&item.certificate_id, &why)?;
                report.unsent.push((item.certificate_id, why.clone()));
                // The register is down or unreachable: do not wait on every other one too.
                unreachable = Some(why);
            }
        }
    }
    Ok(report)
}

fn send_one(agent: &ureq::Agent, endpoint: &str, document: &str) -> Attempt {
    let response = agent
        .post(endpoint)
        .header("Content-Type", "application/json")
        .send(document.as_bytes());
    let mut response = match response {
        Ok(r) => r,
        Err(e) => return Attempt::Retry(format!("cannot reach the register at {endpoint}: {e}")),
    };
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    let message = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_string))
        .unwrap_or_else(|| body.chars().take(300).collect());
    match status {
        201 => Attempt::Stored,
        200 => Attempt::Already,
        403 => Attempt::Refused(format!("the register refused this station: {message}")),
        400..=499 => Attempt::Rejected(format!("the register rejected it ({status}): {message}")),
        _ => Attempt::Retry(format!("the register answered {status}: {message}")),
    }
}
