//! Commands of the central register and the link to it: `report`, `sync`, `serve`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::output::print_json;
use super::{Status, open_register};
use crate::certificate::keys::{StationKey, TrustStore};
use crate::config::StateDir;
use crate::connector::{ConnectorSettings, sync_connector};
use crate::report::{Issuer, ReportError, audited_lines, write_report};
use crate::server;
use crate::server::pool::{Pool, SERVER_CONNECTIONS};
use crate::server::tls::ServerTls;
use crate::server::web::WebSettings;
use crate::sync::tls::{StationTrust, plain_http_off_loopback};
use crate::sync::{SyncOptions, sync};

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The collection to report on.
    collection: String,
    /// Directory for the report (default: reports/ in the state directory).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

pub fn report(args: &ReportArgs, state: &StateDir) -> anyhow::Result<Status> {
    let mut reg = open_register(state)?;
    let keys = TrustStore::load(&state.keys_dir())?;
    let contents = match audited_lines(reg.as_ref(), &args.collection, &keys) {
        Ok(found) => found,
        Err(e) => {
            if let ReportError::NotBacked { problems, .. } = &e {
                for p in problems {
                    crate::stderr_line!("    {p}");
                }
            }
            return Err(e.into());
        }
    };
    let (key, created) = StationKey::load_or_init(&state.keys_dir())?;
    if created {
        crate::stderr_line!(
            "wipeproof: created this station's signing key {}",
            key.key_id()
        );
    }
    let dir = args.out.clone().unwrap_or_else(|| state.reports_dir());
    let unaccounted = contents.custody.as_ref().map_or(0, |c| c.unaccounted);
    let files = write_report(
        contents,
        &args.collection,
        &Issuer {
            organisation: &crate::certificate::record::Organisation {
                name: state.config.organisation.name.clone(),
                address: state.config.organisation.address.clone(),
            },
            station_id: &state.config.station.id,
            operator: &state.config.station.operator,
            key: &key,
        },
        &dir,
    )?;
    crate::stderr_line!(
        "wipeproof: report of {} ({} assets, {} drives): {}",
        args.collection,
        files.summary.assets,
        files.summary.drives,
        files.pdf.display()
    );
    if unaccounted > 0 {
        crate::stderr_line!(
            "wipeproof: {unaccounted} asset(s) of {} are unaccounted for; the report says so on its \
             first page, and the collection stays open until each is received or resolved",
            args.collection
        );
    } else {
        // Issued with every asset accounted for: the collection is closed (a later report
        // changes nothing).
        reg.close_collection(&args.collection, &super::actor(state))?;
    }
    if args.json {
        print_json(&serde_json::json!({
            "pdf": files.pdf,
            "json": files.json,
            "summary": files.summary,
        }))?;
    } else {
        crate::stdout_line!("{}\n{}", files.pdf.display(), files.json.display())?;
    }
    Ok(Status::Success)
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The central register's URL (default: sync.register in the config).
    #[arg(long, value_name = "URL")]
    register: Option<String>,
    /// CA certificate (PEM) to trust for an https:// register, besides the system's roots
    /// (default: sync.ca_file in the config).
    #[arg(long, value_name = "PEM")]
    ca_file: Option<PathBuf>,
    /// Sync with this one only: a `[[connector]]` name, or `register` for the central register.
    #[arg(long, value_name = "NAME")]
    only: Option<String>,
    #[arg(long)]
    json: bool,
}

pub fn sync_cmd(args: &SyncArgs, state: &StateDir) -> anyhow::Result<Status> {
    let url = args
        .register
        .clone()
        .filter(|u| !u.is_empty())
        .or_else(|| Some(state.config.sync.register.clone()).filter(|u| !u.is_empty()));
    let connectors: Vec<&ConnectorSettings> = state
        .config
        .connectors
        .iter()
        .filter(|c| args.only.as_deref().is_none_or(|only| only == c.name))
        .collect();
    let central = match args.only.as_deref() {
        None => url,
        Some("register") => Some(url.context(
            "--only register: no register to sync to: pass --register URL or set sync.register in the config",
        )?),
        Some(name) if connectors.is_empty() => {
            let known: Vec<&str> = state.config.connectors.iter().map(|c| c.name.as_str()).collect();
            anyhow::bail!(
                "--only {name}: no [[connector]] of that name in {}; configured: {}",
                state.config_path().display(),
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            );
        }
        Some(_) => None,
    };
    if central.is_none() && connectors.is_empty() {
        anyhow::bail!(
            "nothing to sync to: pass --register URL, set sync.register, or add a [[connector]] to {}",
            state.config_path().display()
        );
    }
    let mut reg = open_register(state)?;
    let found = crate::station::context::reconcile(state, reg.as_mut());
    if found > 0 {
        crate::stderr_line!(
            "wipeproof: recorded {found} certificate(s) from {} that the register did not have yet",
            state.certificates_dir().display()
        );
    }
    let mut complete = true;
    let mut doc = serde_json::Map::new();
    if let Some(url) = central {
        if !url.starts_with("http://") && !url.starts_with("https://") {
            anyhow::bail!("--register {url}: expected an http:// or https:// URL");
        }
        // Custody events are signed as they are sent; a station without a key has none to send.
        let mut key = match StationKey::load(&state.keys_dir()) {
            Ok(k) => Some(k),
            Err(crate::certificate::keys::KeyError::Missing(_)) => None,
            Err(e) => return Err(e.into()),
        };
        let trust = if url.starts_with("https://") {
            let ca_file = match &args.ca_file {
                Some(path) => Some(path.clone()),
                None => state.config.sync.ca_file.as_ref().map(|p| state.resolve(p)),
            };
            Some(StationTrust::load(ca_file.as_deref())?)
        } else {
            if plain_http_off_loopback(&url) {
                crate::stderr_line!(
                    "wipeproof: warning: {url} is plain HTTP: certificates and custody events \
                     cross the network unencrypted; serve the register with --tls-cert and \
                     sync to https://"
                );
            }
            None
        };
        let report = sync(
            reg.as_mut(),
            &url,
            (&state.config.station.id, key.as_ref()),
            trust.as_ref(),
            SyncOptions::default(),
        )?;
        crate::stderr_line!(
            "wipeproof: sync to {url}: {} sent, {} already there, {} custody event(s) sent, {} still unsent",
            report.sent.len(),
            report.already.len(),
            report.events_sent.len(),
            report.unsent.len()
        );
        if let Some(k) = key.as_mut() {
            issued_certificate(&url, k, state, trust.as_ref(), &mut complete);
        }
        for renamed in &report.renamed {
            crate::stderr_line!("    the register knows this station's earlier name: {renamed}");
        }
        for (id, why) in &report.conflicts {
            crate::stderr_line!("    CONFLICT {id}: {why}");
        }
        for (id, why) in &report.unsent {
            if !report.conflicts.iter().any(|(c, _)| c == id) {
                crate::stderr_line!("    unsent {id}: {why}");
            }
        }
        complete &= report.complete();
        if let serde_json::Value::Object(map) = serde_json::to_value(&report)? {
            doc.extend(map);
        }
    }
    let mut reports = Vec::new();
    for settings in connectors {
        let report = sync_connector(reg.as_mut(), settings, &state.certificates_dir())?;
        crate::stderr_line!(
            "wipeproof: sync to connector {} ({}): {} sent, {} not sent by custody, {} still pending",
            report.name,
            report.kind.as_str(),
            report.sent.len(),
            report.skipped.len(),
            report.pending.len()
        );
        for l in &report.sent {
            crate::stderr_line!("    sent {}: {}", l.subject, l.message);
        }
        for l in &report.skipped {
            crate::stderr_line!("    not sent {}: {}", l.subject, l.message);
        }
        for l in &report.pending {
            crate::stderr_line!("    pending {}: {}", l.subject, l.message);
        }
        if let Some(e) = &report.error {
            crate::stderr_line!("    stopped: {e}");
        }
        complete &= report.complete();
        reports.push(report);
    }
    if args.json {
        doc.insert("connectors".into(), serde_json::to_value(&reports)?);
        print_json(&serde_json::Value::Object(doc))?;
    }
    Ok(if complete {
        Status::Success
    } else {
        Status::Failure
    })
}

/// Fetches and installs the certificate the register's CA issued this station, and says so.
fn issued_certificate(
    url: &str,
    key: &mut StationKey,
    state: &StateDir,
    trust: Option<&StationTrust>,
    complete: &mut bool,
) {
    use crate::sync::issued::{Issued, fetch_and_install};
    match fetch_and_install(url, key, &state.keys_dir(), trust, SyncOptions::default()) {
        Ok(Issued::Installed(ca)) => crate::stderr_line!(
            "wipeproof: this station's PDF signing certificate is now issued by the register's CA \
             ({ca}); its PDFs verify for anyone who trusts that CA's certificate"
        ),
        Ok(Issued::Current) => {}
        Ok(Issued::None(why)) => crate::stderr_line!(
            "wipeproof: the register issued this station no PDF signing certificate ({why}); its \
             PDFs stay signed with its self-signed certificate"
        ),
        Err(e) => {
            crate::stderr_line!("wipeproof: {e}");
            *complete = false;
        }
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on. Without --tls-cert only a loopback address, unless
    /// --insecure-http.
    #[arg(long, default_value = "127.0.0.1:7070")]
    listen: SocketAddr,
    /// Seconds a client has to complete the TLS handshake, to send a request's head, and again
    /// its body.
    #[arg(long, default_value_t = 10.0, value_name = "SECS")]
    read_timeout: f64,
    /// Serve HTTPS with this certificate (PEM; the server's certificate, then any intermediate
    /// CA certificates).
    #[arg(long, value_name = "PEM", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM: PKCS#8, RSA or EC; unencrypted).
    #[arg(long, value_name = "PEM", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve plain HTTP on an address other than loopback (certificates and read tokens then
    /// cross the network unencrypted).
    #[arg(long, conflicts_with = "tls_cert")]
    insecure_http: bool,
}

pub fn serve(args: &ServeArgs, state: &StateDir) -> anyhow::Result<Status> {
    if !(args.read_timeout > 0.0 && args.read_timeout <= 3600.0) {
        anyhow::bail!(
            "--read-timeout {}: expected seconds between 0 and 3600",
            args.read_timeout
        );
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(ServerTls::load(cert, key)?),
        _ => None,
    };
    let loopback = args.listen.ip().to_canonical().is_loopback();
    if tls.is_none() && !loopback {
        if !args.insecure_http {
            anyhow::bail!(
                "--listen {}: without TLS the register listens on a loopback address only, \
                 as stations' certificates and read tokens would cross the network \
                 unencrypted; give --tls-cert PEM --tls-key PEM to serve HTTPS, or add \
                 --insecure-http to serve plain HTTP on this address anyway",
                args.listen
            );
        }
        crate::stderr_line!(
            "wipeproof: --insecure-http: serving plain HTTP on {}; anyone on the network \
             can read and alter what stations send",
            args.listen
        );
    }
    let authority = super::ca::load_or_create(state)?;
    super::ca::certify_own(state, &authority)?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let opts = server::ServeOptions {
        read_timeout: std::time::Duration::from_secs_f64(args.read_timeout),
        tls,
        web: WebSettings {
            keys_dir: Some(state.keys_dir()),
            organisation: crate::certificate::record::Organisation {
                name: state.config.organisation.name.clone(),
                address: state.config.organisation.address.clone(),
            },
            station_id: state.config.station.id.clone(),
            authority: Some(std::sync::Arc::new(authority)),
            crl_url: state.config.register.crl_url(),
            ..WebSettings::default()
        },
    };
    let reg = open_register(state)?;
    let stations = reg.stations()?.len();
    if reg.tokens()?.is_empty() && reg.users()?.is_empty() {
        crate::stderr_line!(
            "wipeproof: no accounts or read tokens yet: stations can send, but nobody can sign in \
             or read the register over HTTP until `wipeproof users add NAME --role admin \
             --password-stdin` (or `wipeproof tokens add NAME`) makes one"
        );
    }
    drop(reg);
    let location = state.register_location()?;
    let registers = Pool::open(&location, SERVER_CONNECTIONS)?;
    server::serve(registers, args.listen, opts, |addr| {
        crate::stderr_line!(
            "wipeproof: central register {} listening on {scheme}://{addr} ({stations} enrolled station(s))",
            location.describe()
        );
    })?;
    Ok(Status::Success)
}
