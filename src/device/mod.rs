//! The device layer: finding drives, knowing who they are, refusing the wrong ones, and moving
//! bytes to and from them.
//!
//! * [`discovery`]: list whole-disk block devices with identity and geometry.
//! * [`guard`]: which drives are protected and why (DESIGN invariant 1).
//! * [`target`]: [`Target`], the open drive or image file; the guard runs inside
//!   [`Target::open_for_erase`].
//! * [`transport`]: SG_IO and NVMe admin passthrough; [`ata`], [`nvme`], [`scsi`], [`sense`]
//!   encode commands and decode replies; [`nvme_status`] names NVMe completion statuses.

pub mod aligned;
pub mod ata;
pub mod capabilities;
pub mod discovery;
pub mod guard;
pub mod identity;
pub mod ioctl;
pub mod mounts;
pub mod nvme;
pub mod nvme_status;
pub mod power;
pub mod scsi;
pub mod sense;
pub mod sysfs;
pub mod target;
pub mod transport;

pub use aligned::AlignedBuf;
pub use discovery::{DriveInfo, discover};
pub use guard::{Guard, Protection};
pub use identity::{Media, Transport};
pub use target::{Geometry, GuardContext, Target, TargetError, TargetKind};
