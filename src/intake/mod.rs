//! Intake: booking a customer's collection in. Reading their manifest (CSV, column profiles of
//! other systems, `--map`) into the register's rows, printing asset labels, and receiving the
//! collection at goods-in by scanning.
//!
//! * [`manifest`]: the CSV reader, bounded and strict, every problem with its line and column.
//! * [`labels`]: asset labels with a QR code and a Code 128 barcode, as PDF or ZPL II.
//! * [`scans`]: reading scans at goods-in, bounded, refusing what is no scan.
//! * [`goods_in`]: one scan recorded and answered, for `intake receive` and the goods-in page.

pub mod goods_in;
pub mod labels;
pub mod manifest;
pub mod scans;
