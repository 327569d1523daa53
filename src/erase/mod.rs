//! The erase layer: methods, patterns and the overwrite engine (firmware sanitize and hidden
//! areas follow the same event and stop conventions).
//!
//! * [`method`]: the table of named methods and the plan built from one.
//! * [`pattern`]: constant, repeating and seekable random (AES-CTR) generators.
//! * [`keystream`]: the AES-CTR keystream of random passes, made by the widest generator the
//!   CPU has (VAES-512, VAES-256, AES-NI, or portable code).
//! * [`engine`]: one overwrite pass over a [`crate::device::Target`].
//! * [`events`]: the [`events::Sink`] the engine reports to and the [`events::StopFlag`].

pub mod engine;
pub mod events;
pub mod firmware;
pub mod keystream;
pub mod method;
pub mod pattern;

pub use events::{Event, FIRMWARE_PROGRESS_TOTAL, NullSink, Phase, Sink, StopFlag};
pub use method::{Level, OverwritePlan, PassPattern, VerifyPasses};
pub use pattern::Pattern;
