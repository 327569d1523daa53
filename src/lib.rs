//! wipeproof: the data-sanitization station of an IT recycling business.
//!
//! Layers, bottom to top (a layer only uses layers below it):
//!
//! * [`device`]: discovery, identity, the safety guard, [`device::Target`], raw command transport.
//! * `erase`: methods, patterns, the overwrite engine, firmware sanitize.
//! * `verify`: sampling plans, read-back and comparison.
//! * `certificate`: the signed record, PDF rendering and verification.
//! * `register`: the asset register, outbox and sync.
//! * `station`: a wipe session over many drives.
//! * [`cli`]: the command line.
//!
//! [`durable`], [`leftovers`] and [`config`] are small helpers that every layer may use.

pub mod boot_options;
pub mod certificate;
pub mod cli;
pub mod config;
pub mod console;
pub mod device;
pub mod durable;
pub mod erase;
pub mod identifier;
pub mod leftovers;
pub mod register;
pub mod station;
pub mod timestamp;
pub mod verify;
