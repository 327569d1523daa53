//! Integration tests: the built binary and the library against real loop devices over files in
//! /dev/shm. One test binary (faster to link); one module per area.

mod support;

mod bindings;
mod certificate;
mod connectors;
mod connectors_glpi;
mod engine;
mod fake_http;
mod fat;
mod guard;
mod list;
mod live;
mod register;
mod resume;
mod schema;
mod station;
mod tls;
mod trust;
mod vm;
mod web;
mod web_browser;
mod webdriver;
mod wipe;
