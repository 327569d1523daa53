//! Hot-plug: being told when a drive appears or goes, with or without a udev daemon.
//!
//! A live system often runs no udev daemon, so the kernel's own uevent netlink socket
//! (`NETLINK_KOBJECT_UEVENT`, multicast group 1) is read directly; when udevd runs, its monitor
//! (group "udev") is used instead, because udevd announces a device only once its node and
//! links exist. Either way the result is a stream of [`Uevent`]s for block devices.
//!
//! A uevent is only a hint that something changed: the caller looks at sysfs again to decide
//! what the drive is now (a `change` of a loop device can mean a backing file was attached or
//! detached). Messages are untrusted bytes: [`parse_kernel`] never panics on any input.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::time::Duration;

/// What happened to a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Add,
    Remove,
    Change,
    /// `move`, `online`, `offline`, `bind`, `unbind` and whatever later kernels add.
    Other(String),
}

impl Action {
    fn parse(s: &str) -> Action {
        match s {
            "add" => Action::Add,
            "remove" => Action::Remove,
            "change" => Action::Change,
            other => Action::Other(other.to_string()),
        }
    }
}

/// One kernel (or udev) event about a device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uevent {
    pub action: Action,
    /// The device's path under /sys, e.g. `/devices/virtual/block/loop0`.
    pub devpath: String,
    pub subsystem: Option<String>,
    /// `disk` or `partition` for block devices.
    pub devtype: Option<String>,
    /// The kernel name of the device node, e.g. `loop0` or `nvme0n1`.
    pub devname: Option<String>,
}

impl Uevent {
    /// The kernel name of a whole disk this event is about, if it is about one.
    pub fn disk(&self) -> Option<&str> {
        if self.subsystem.as_deref() != Some("block") || self.devtype.as_deref() != Some("disk") {
            return None;
        }
        let name = match &self.devname {
            Some(n) => n.rsplit('/').next().unwrap_or(n),
            None => self.devpath.rsplit('/').next()?,
        };
        valid_kernel_name(name).then_some(name)
    }
}

/// A kernel device name is a plain file name: it is used to build paths under /sys and /dev.
fn valid_kernel_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:!+".contains(&b))
}

/// Why a message could not be read as a uevent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the uevent message is empty")]
    Empty,
    #[error("the uevent message comes from udev, not the kernel")]
    FromUdev,
    #[error("the uevent message has no `action@devpath` header")]
    NoHeader,
    #[error("the uevent message is not UTF-8")]
    NotUtf8,
    #[error("the uevent message's header and its ACTION or DEVPATH disagree")]
    Inconsistent,
}

/// Parses one kernel uevent message: `ACTION@DEVPATH\0KEY=VALUE\0KEY=VALUE\0...`.
///
/// Fields after the header are `KEY=VALUE` strings separated by NUL bytes; a trailing NUL is
/// optional; fields without `=` and unknown keys are ignored. The header must agree with
/// `ACTION` and `DEVPATH` where those are present.
pub fn parse_kernel(msg: &[u8]) -> Result<Uevent, ParseError> {
    if msg.is_empty() {
        return Err(ParseError::Empty);
    }
    if msg.starts_with(b"libudev\0") {
        return Err(ParseError::FromUdev);
    }
    let mut fields = msg.split(|b| *b == 0).filter(|f| !f.is_empty());
    let header = fields.next().ok_or(ParseError::Empty)?;
    let header = std::str::from_utf8(header).map_err(|_| ParseError::NotUtf8)?;
    let (action, devpath) = header.split_once('@').ok_or(ParseError::NoHeader)?;
    if action.is_empty() || !devpath.starts_with('/') {
        return Err(ParseError::NoHeader);
    }
    let mut event = Uevent {
        action: Action::parse(action),
        devpath: devpath.to_string(),
        subsystem: None,
        devtype: None,
        devname: None,
    };
    for field in fields {
        let Ok(field) = std::str::from_utf8(field) else {
            continue;
        };
        let Some((key, value)) = field.split_once('=') else {
            continue;
        };
        match key {
            "ACTION" if value != action => return Err(ParseError::Inconsistent),
            "DEVPATH" if value != devpath => return Err(ParseError::Inconsistent),
            "SUBSYSTEM" => event.subsystem = Some(value.to_string()),
            "DEVTYPE" => event.devtype = Some(value.to_string()),
            "DEVNAME" => event.devname = Some(value.to_string()),
            _ => {}
        }
    }
    Ok(event)
}

/// Why the hot-plug watcher could not start.
#[derive(Debug, thiserror::Error)]
pub enum HotplugError {
    #[error(
        "cannot open the kernel's uevent socket ({0}); new drives will be found by rescanning \
         every few seconds instead"
    )]
    Kernel(std::io::Error),
    #[error("cannot open udev's monitor ({0})")]
    Udev(std::io::Error),
    #[error("waiting for device events failed: {0}")]
    Poll(std::io::Error),
}

/// Where events come from.
enum Source {
    Kernel(OwnedFd),
    Udev(udev::MonitorSocket),
}

/// A watcher of block-device events.
pub struct Hotplug {
    source: Source,
}

/// Largest uevent message the kernel sends (`UEVENT_BUFFER_SIZE`).
const UEVENT_BUFFER: usize = 2048;

impl Hotplug {
    /// Watches through udev's monitor when a udev daemon runs, else the kernel's socket.
    pub fn open() -> Result<Hotplug, HotplugError> {
        if Path::new("/run/udev/control").exists()
            && let Ok(h) = Hotplug::udev()
        {
            return Ok(h);
        }
        Hotplug::kernel()
    }

    /// Watches the kernel's uevent netlink socket directly.
    pub fn kernel() -> Result<Hotplug, HotplugError> {
        // SAFETY: plain socket(2); the result is checked and owned immediately.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                libc::NETLINK_KOBJECT_UEVENT,
            )
        };
        if fd < 0 {
            return Err(HotplugError::Kernel(std::io::Error::last_os_error()));
        }
        // SAFETY: fd is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: sockaddr_nl is plain data; all-zero is a valid value.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        addr.nl_groups = 1; // the kernel's own broadcasts
        // SAFETY: addr is a valid sockaddr_nl of the length passed.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(HotplugError::Kernel(std::io::Error::last_os_error()));
        }
        // A burst of events (24 drives at once) must not overflow the default buffer.
        let size: libc::c_int = 1 << 20;
        // SAFETY: setsockopt with a c_int option value of the length passed.
        unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVBUF,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
        Ok(Hotplug {
            source: Source::Kernel(fd),
        })
    }

    /// Watches udev's monitor for block devices.
    pub fn udev() -> Result<Hotplug, HotplugError> {
        let socket = udev::MonitorBuilder::new()
            .and_then(|b| b.match_subsystem("block"))
            .and_then(|b| b.listen())
            .map_err(HotplugError::Udev)?;
        Ok(Hotplug {
            source: Source::Udev(socket),
        })
    }

    /// True when events come from udev's monitor.
    pub fn uses_udev(&self) -> bool {
        matches!(self.source, Source::Udev(_))
    }

    /// Waits up to `timeout` for events and returns those that arrived (possibly none).
    pub fn wait(&mut self, timeout: Duration) -> Result<Vec<Uevent>, HotplugError> {
        let ready = {
            let fd = match &self.source {
                Source::Kernel(fd) => fd.as_fd(),
                Source::Udev(s) => s.as_fd(),
            };
            let mut fds = [nix::poll::PollFd::new(fd, nix::poll::PollFlags::POLLIN)];
            let ms = timeout.as_millis().min(u16::MAX as u128) as u16;
            match nix::poll::poll(&mut fds, nix::poll::PollTimeout::from(ms)) {
                Ok(n) => n > 0,
                Err(nix::errno::Errno::EINTR) => false,
                Err(e) => return Err(HotplugError::Poll(e.into())),
            }
        };
        if !ready {
            return Ok(Vec::new());
        }
        Ok(match &mut self.source {
            Source::Kernel(fd) => drain_kernel(fd),
            Source::Udev(socket) => socket.iter().map(|e| from_udev(&e)).collect(),
        })
    }
}

/// Reads every queued kernel message; messages not sent by the kernel itself are dropped.
fn drain_kernel(fd: &OwnedFd) -> Vec<Uevent> {
    let mut events = Vec::new();
    let mut buf = [0u8; UEVENT_BUFFER + 512];
    loop {
        // SAFETY: sockaddr_nl is plain data; all-zero is a valid value.
        let mut from: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        let mut from_len = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
        // SAFETY: buf and from are valid for the lengths passed; the socket is non-blocking.
        let n = unsafe {
            libc::recvfrom(
                fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                0,
                (&mut from as *mut libc::sockaddr_nl).cast(),
                &mut from_len,
            )
        };
        if n < 0 {
            // EAGAIN: drained. ENOBUFS: messages were lost; the caller's rescan catches up.
            break;
        }
        let n = (n as usize).min(buf.len());
        // Only the kernel (port id 0) speaks on this group; anything else is not to be believed.
        if from.nl_pid != 0 {
            continue;
        }
        if let Ok(e) = parse_kernel(&buf[..n]) {
            events.push(e);
        }
    }
    events
}

fn from_udev(e: &udev::Event) -> Uevent {
    let text = |s: Option<&std::ffi::OsStr>| s.map(|s| s.to_string_lossy().into_owned());
    Uevent {
        action: match e.event_type() {
            udev::EventType::Add => Action::Add,
            udev::EventType::Remove => Action::Remove,
            udev::EventType::Change => Action::Change,
            other => Action::Other(other.to_string()),
        },
        devpath: e.devpath().to_string_lossy().into_owned(),
        subsystem: text(e.subsystem()),
        devtype: text(e.devtype()),
        devname: Some(e.sysname().to_string_lossy().into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes the kernel sent when `losetup` attached a backing file to loop0.
    const LOOP_ATTACH: &[u8] = b"change@/devices/virtual/block/loop0\x00ACTION=change\x00\
DEVPATH=/devices/virtual/block/loop0\x00SUBSYSTEM=block\x00DISK_MEDIA_CHANGE=1\x00MAJOR=7\x00\
MINOR=0\x00DEVNAME=loop0\x00DEVTYPE=disk\x00DISKSEQ=13\x00SEQNUM=825\x00";

    #[test]
    fn reads_a_real_loop_attach_message() {
        let e = parse_kernel(LOOP_ATTACH).unwrap();
        assert_eq!(e.action, Action::Change);
        assert_eq!(e.devpath, "/devices/virtual/block/loop0");
        assert_eq!(e.subsystem.as_deref(), Some("block"));
        assert_eq!(e.devtype.as_deref(), Some("disk"));
        assert_eq!(e.disk(), Some("loop0"));
    }

    #[test]
    fn partitions_and_other_subsystems_are_not_disks() {
        let part =
            b"add@/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda/sda1\0\
ACTION=add\0SUBSYSTEM=block\0DEVNAME=sda1\0DEVTYPE=partition\0";
        assert_eq!(parse_kernel(part).unwrap().disk(), None);
        let usb =
            b"add@/devices/pci0000:00/usb1/1-1\0ACTION=add\0SUBSYSTEM=usb\0DEVTYPE=usb_device\0";
        assert_eq!(parse_kernel(usb).unwrap().disk(), None);
        let nvme = b"remove@/devices/pci0000:00/0000:00:04.0/nvme/nvme0/nvme0n1\0ACTION=remove\0\
SUBSYSTEM=block\0DEVNAME=nvme0n1\0DEVTYPE=disk\0";
        let e = parse_kernel(nvme).unwrap();
        assert_eq!(
            (e.action.clone(), e.disk()),
            (Action::Remove, Some("nvme0n1"))
        );
    }

    #[test]
    fn refuses_what_is_not_a_kernel_uevent() {
        assert_eq!(parse_kernel(b""), Err(ParseError::Empty));
        assert_eq!(parse_kernel(b"\0\0\0"), Err(ParseError::Empty));
        assert_eq!(
            parse_kernel(b"libudev\0\xfe\xed\xca\xfe"),
            Err(ParseError::FromUdev)
        );
        assert_eq!(parse_kernel(b"no header here\0"), Err(ParseError::NoHeader));
        assert_eq!(parse_kernel(b"add@relative\0"), Err(ParseError::NoHeader));
        assert_eq!(parse_kernel(b"\xff@/x\0"), Err(ParseError::NotUtf8));
        assert_eq!(
            parse_kernel(b"add@/devices/virtual/block/loop0\0ACTION=remove\0"),
            Err(ParseError::Inconsistent)
        );
    }

    #[test]
    fn names_that_would_escape_sys_or_dev_are_not_disks() {
        for bad in ["..", "../../etc", "a/../b", "loop0\n", ""] {
            let msg = format!("add@/x\0SUBSYSTEM=block\0DEVTYPE=disk\0DEVNAME={bad}\0");
            let e = parse_kernel(msg.as_bytes()).unwrap();
            assert_ne!(e.disk(), Some(".."), "{bad:?}");
            if let Some(d) = e.disk() {
                assert!(
                    valid_kernel_name(d) && !d.contains('/'),
                    "{bad:?} gave {d:?}"
                );
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_any_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..600)) {
            let _ = parse_kernel(&bytes).map(|e| e.disk().map(str::to_string));
        }

        #[test]
        fn never_panics_on_mutated_real_messages(
            at in 0usize..LOOP_ATTACH.len(), byte in proptest::num::u8::ANY, cut in 0usize..LOOP_ATTACH.len()
        ) {
            let mut msg = LOOP_ATTACH.to_vec();
            msg[at] = byte;
            msg.truncate(cut.max(1));
            if let Ok(e) = parse_kernel(&msg)
                && let Some(d) = e.disk()
            {
                proptest::prop_assert!(valid_kernel_name(d));
            }
        }
    }

    #[test]
    fn the_kernel_socket_opens_as_root() {
        assert!(
            nix::unistd::geteuid().is_root(),
            "the kernel's uevent socket needs root: run the tests as root (as CI does)"
        );
        let mut h = Hotplug::kernel().unwrap();
        assert!(!h.uses_udev());
        // Nothing may be pending, but waiting must return: the bound only catches a hang (how
        // fast drives are shown is measured by `cargo bench --bench growth`).
        let t = std::time::Instant::now();
        let _ = h.wait(Duration::from_millis(50)).unwrap();
        assert!(t.elapsed() < Duration::from_secs(10));
    }
}
