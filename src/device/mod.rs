//! The device layer: finding drives, knowing who they are, refusing the wrong ones, and moving
//! bytes to and from them.
//!
//! * [`discovery`]: list whole-disk block devices with identity and geometry.
//! * [`snapshot`]: one scan of sysfs describing every block device, kept and brought up to date
//!   piece by piece.
//! * [`facts`], [`stack`], [`guard`]: what stands on what, by device number and inode, and which
//!   drives are protected and why (ARCHITECTURE.md, invariant 1); [`guard_context`]: the paths
//!   the guard protects and the scan its looks share.
//! * [`cow`]: whether an image file lies on a copy-on-write filesystem (btrfs, bcachefs, ZFS,
//!   XFS with reflinks, overlay), where overwriting it leaves earlier copies of its data.
//! * [`health`]: the drive's own SMART (ATA) or SMART / Health log (NVMe), read before a wipe.
//! * [`inventory`]: the host computer itself: SMBIOS system, board, chassis, BIOS, processors,
//!   memory, and its batteries.
//! * [`locks`]: file locks of other programs on a drive or image, and who holds them.
//! * [`hotplug`]: kernel and udev events when drives appear or go.
//! * [`target`]: [`Target`], the open drive or image file; the guard runs inside
//!   [`Target::open_for_erase`].
//! * [`verdict`]: the wipe's own refusals on a drive that is only looked at: `list`'s and the
//!   station's ready, protected or busy.
//! * [`transport`]: SG_IO and NVMe admin passthrough; [`ata`], [`nvme`], [`scsi`], [`sense`]
//!   encode commands and decode replies; [`nvme_status`] names NVMe completion statuses.

pub mod aligned;
pub mod ata;
pub mod capabilities;
pub mod cow;
pub mod discovery;
pub mod facts;
pub mod guard;
pub mod guard_context;
pub mod health;
pub mod hotplug;
pub mod identity;
pub mod inventory;
pub mod ioctl;
pub mod location;
pub mod locks;
pub mod mounts;
pub mod nvme;
pub mod nvme_status;
pub mod power;
pub mod scsi;
pub mod sense;
pub mod snapshot;
pub mod stack;
pub mod sysfs;
pub mod target;
pub mod transport;
pub mod verdict;

pub use aligned::AlignedBuf;
pub use discovery::{DriveInfo, discover};
pub use guard::{Guard, Protection};
pub use guard_context::GuardContext;
pub use identity::{Media, Transport};
pub use target::{Geometry, Target, TargetError, TargetKind};
