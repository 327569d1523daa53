//! Integration tests: the built binary and the library against real loop devices over files in
//! /dev/shm. One test binary (faster to link); one module per area.

mod support;

mod certificate;
mod engine;
mod guard;
mod list;
mod live;
mod register;
mod schema;
mod vm;
mod wipe;
