//! Integration tests: the built binary and the library against real loop devices over files in
//! /dev/shm. One test binary (faster to link); one module per area.

mod support;

mod bindings;
mod certificate;
mod computer;
mod connectors;
mod connectors_exchange;
mod connectors_glpi;
mod connectors_held;
mod cow;
mod custody;
mod engine;
mod fake_glpi;
mod fake_http;
mod fake_snipeit;
mod fat;
mod guard;
mod inventory;
mod labels;
mod layers;
mod list;
mod live;
mod pades;
mod pades_ca;
mod register;
mod rename;
mod resume;
mod scale;
mod scan;
mod schema;
mod station;
mod station_rules;
mod tls;
mod trust;
mod vm;
mod web;
mod web_browser;
mod web_goods_in;
mod webdriver;
mod wipe;
