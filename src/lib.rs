//! wipeproof: the data-sanitization station of an IT recycling business.
//!
//! Layers, bottom to top (a layer only uses layers below it):
//!
//! * [`device`]: discovery, identity, the safety guard, [`device::Target`], raw command transport.
//! * `erase`: methods, patterns, the overwrite engine, firmware sanitize.
//! * `verify`: sampling plans, read-back and comparison.
//! * `certificate`: the signed record, PDF rendering and verification.
//! * `register`: the asset register (SQLite or PostgreSQL), custody log, audit; no HTTP, CSV or
//!   PDF drawing.
//! * `intake` (the customer's manifest, labels) and `report` (the signed collection report).
//! * `sync` (a station's exchange with a central register) and `connector` (the customer's
//!   ITAM: Snipe-IT, GLPI).
//! * `station`: a wipe session over many drives.
//! * `server`: the central register's HTTP server and web pages.
//! * [`cli`]: the command line.
//!
//! [`durable`], [`leftovers`], [`config`] and [`tls`] (PEM files for TLS) are small helpers
//! that every layer may use.

pub mod boot_options;
pub mod certificate;
pub mod cli;
pub mod config;
pub mod connector;
pub mod console;
pub mod device;
pub mod durable;
pub mod erase;
pub mod identifier;
pub mod intake;
pub mod leftovers;
pub mod register;
pub mod report;
pub mod server;
pub mod settings_file;
pub mod station;
pub mod sync;
pub mod timestamp;
pub mod tls;
pub mod verify;
