//! Intake: booking a customer's collection in. Reading their manifest (CSV, column profiles of
//! other systems, `--map`) into the register's rows, and printing asset labels.
//!
//! * [`manifest`]: the CSV reader, bounded and strict, every problem with its line and column.
//! * [`labels`]: a PDF of asset labels with QR codes.

pub mod labels;
pub mod manifest;
