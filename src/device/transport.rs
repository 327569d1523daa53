//! Raw command transport to a drive: SCSI CDBs over `SG_IO` (which also carries ATA commands
//! through SAT's ATA PASS-THROUGH) and NVMe admin commands over `NVME_IOCTL_ADMIN_CMD`.
//!
//! The traits are the seam between command logic and the kernel: [`LinuxDevice`] implements
//! them with real ioctls; a byte-level simulated drive can implement them for tests of what no
//! emulator offers. Both see exactly the same CDBs and data.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::Duration;

use super::nvme::{AdminCommand, Completion};

/// Data phase of a SCSI command.
pub enum DataPhase<'a> {
    None,
    FromDevice(&'a mut [u8]),
    ToDevice(&'a [u8]),
}

/// What came back from a SCSI command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScsiReply {
    /// SCSI status byte (0 GOOD, 2 CHECK CONDITION, ...).
    pub status: u8,
    /// Host adapter status (0 is OK).
    pub host_status: u16,
    /// Driver status (0 is OK; 8 with sense data is DRIVER_SENSE).
    pub driver_status: u16,
    /// Sense bytes, if any.
    pub sense: Vec<u8>,
    /// Bytes not transferred.
    pub residual: i32,
}

impl ScsiReply {
    /// GOOD status with no transport error.
    pub fn is_good(&self) -> bool {
        self.status == 0 && self.host_status == 0 && (self.driver_status & !0x08) == 0
    }
}

/// Transport errors: the command could not be delivered or the device is gone.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("the device does not accept {what} commands: {source}")]
    Unsupported {
        what: &'static str,
        source: io::Error,
    },
    #[error("the device disappeared: {0}")]
    Gone(io::Error),
    #[error("ioctl failed: {0}")]
    Io(io::Error),
    /// A caller's buffer cannot hold the command's data phase. Sending the command with a
    /// shorter length would change the command (a log page or identify data cut short, read as
    /// if whole), so it is not sent at all.
    #[error(
        "NVMe admin command 0x{opcode:02x} transfers {needed} bytes but its buffer holds {given}; \
         the command was not sent"
    )]
    BufferTooShort {
        opcode: u8,
        needed: u32,
        given: usize,
    },
}

impl TransportError {
    fn from_errno(what: &'static str, e: io::Error) -> TransportError {
        match e.raw_os_error() {
            Some(libc::ENOTTY) | Some(libc::EINVAL) | Some(libc::EOPNOTSUPP) => {
                TransportError::Unsupported { what, source: e }
            }
            Some(libc::ENODEV) | Some(libc::ENXIO) => TransportError::Gone(e),
            _ => TransportError::Io(e),
        }
    }
}

/// Sends SCSI CDBs.
pub trait ScsiTransport {
    fn scsi(
        &mut self,
        cdb: &[u8],
        data: DataPhase<'_>,
        timeout: Duration,
    ) -> Result<ScsiReply, TransportError>;
}

/// Sends NVMe admin commands.
pub trait NvmeTransport {
    /// Sends `cmd`; `data` is the buffer for the data phase (from the controller, or to it for
    /// commands that send data), `cmd.data_len` bytes long.
    fn admin(
        &mut self,
        cmd: &AdminCommand,
        data: &mut [u8],
        timeout: Duration,
    ) -> Result<Completion, TransportError>;
}

/// The part of `data` that the data phase of `cmd` uses: its first `cmd.data_len` bytes, or an
/// error if `data` is shorter. Every [`NvmeTransport`] checks this before it sends anything.
pub fn nvme_data_phase<'a>(
    cmd: &AdminCommand,
    data: &'a mut [u8],
) -> Result<&'a mut [u8], TransportError> {
    let needed = cmd.data_len as usize;
    let given = data.len();
    data.get_mut(..needed)
        .ok_or(TransportError::BufferTooShort {
            opcode: cmd.opcode,
            needed: cmd.data_len,
            given,
        })
}

/// `struct sg_io_hdr` from `<scsi/sg.h>`.
#[repr(C)]
struct SgIoHdr {
    interface_id: libc::c_int,
    dxfer_direction: libc::c_int,
    cmd_len: libc::c_uchar,
    mx_sb_len: libc::c_uchar,
    iovec_count: libc::c_ushort,
    dxfer_len: libc::c_uint,
    dxferp: *mut libc::c_void,
    cmdp: *const libc::c_uchar,
    sbp: *mut libc::c_uchar,
    timeout: libc::c_uint,
    flags: libc::c_uint,
    pack_id: libc::c_int,
    usr_ptr: *mut libc::c_void,
    status: libc::c_uchar,
    masked_status: libc::c_uchar,
    msg_status: libc::c_uchar,
    sb_len_wr: libc::c_uchar,
    host_status: libc::c_ushort,
    driver_status: libc::c_ushort,
    resid: libc::c_int,
    duration: libc::c_uint,
    info: libc::c_uint,
}

const SG_DXFER_NONE: libc::c_int = -1;
const SG_DXFER_TO_DEV: libc::c_int = -2;
const SG_DXFER_FROM_DEV: libc::c_int = -3;

nix::ioctl_readwrite_bad!(sg_io, 0x2285, SgIoHdr);

/// `struct nvme_passthru_cmd` from `<linux/nvme_ioctl.h>`.
#[repr(C)]
#[derive(Default)]
struct NvmePassthruCmd {
    opcode: u8,
    flags: u8,
    rsvd1: u16,
    nsid: u32,
    cdw2: u32,
    cdw3: u32,
    metadata: u64,
    addr: u64,
    metadata_len: u32,
    data_len: u32,
    cdw10: u32,
    cdw11: u32,
    cdw12: u32,
    cdw13: u32,
    cdw14: u32,
    cdw15: u32,
    timeout_ms: u32,
    result: u32,
}

nix::ioctl_readwrite!(nvme_admin_cmd, b'N', 0x41, NvmePassthruCmd);
nix::ioctl_none!(nvme_ioctl_id, b'N', 0x40);

/// A drive opened for commands (not for data I/O).
#[derive(Debug)]
pub struct LinuxDevice {
    file: File,
}

impl LinuxDevice {
    /// Opens a device node for commands without taking it over (`O_NONBLOCK`, read-only is
    /// enough for identify; sanitize needs `write`).
    pub fn open(path: &Path, write: bool) -> io::Result<LinuxDevice> {
        let file = OpenOptions::new()
            .read(true)
            .write(write)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(path)?;
        Ok(LinuxDevice { file })
    }

    /// Uses an already open descriptor (e.g. the erase target's) for commands.
    pub fn from_fd(fd: RawFd) -> io::Result<LinuxDevice> {
        // Duplicate so the transport owns its descriptor.
        let dup = nix::unistd::dup(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) })
            .map_err(io::Error::from)?;
        Ok(LinuxDevice {
            file: File::from(dup),
        })
    }

    /// The namespace id of an NVMe namespace block device.
    pub fn nvme_namespace_id(&self) -> Result<u32, TransportError> {
        // SAFETY: NVME_IOCTL_ID takes no argument and returns the nsid.
        let rc = unsafe { nvme_ioctl_id(self.file.as_raw_fd()) }
            .map_err(|e| TransportError::from_errno("NVMe", e.into()))?;
        Ok(rc as u32)
    }
}

impl ScsiTransport for LinuxDevice {
    fn scsi(
        &mut self,
        cdb: &[u8],
        data: DataPhase<'_>,
        timeout: Duration,
    ) -> Result<ScsiReply, TransportError> {
        let mut sense = [0u8; 64];
        let (dir, ptr, len) = match data {
            DataPhase::None => (SG_DXFER_NONE, std::ptr::null_mut(), 0),
            DataPhase::FromDevice(b) => (SG_DXFER_FROM_DEV, b.as_mut_ptr().cast(), b.len()),
            DataPhase::ToDevice(b) => (SG_DXFER_TO_DEV, b.as_ptr() as *mut libc::c_void, b.len()),
        };
        let mut hdr = SgIoHdr {
            interface_id: b'S' as libc::c_int,
            dxfer_direction: dir,
            cmd_len: cdb.len() as u8,
            mx_sb_len: sense.len() as u8,
            iovec_count: 0,
            dxfer_len: len as u32,
            dxferp: ptr,
            cmdp: cdb.as_ptr(),
            sbp: sense.as_mut_ptr(),
            timeout: timeout.as_millis().min(u32::MAX as u128) as u32,
            flags: 0,
            pack_id: 0,
            usr_ptr: std::ptr::null_mut(),
            status: 0,
            masked_status: 0,
            msg_status: 0,
            sb_len_wr: 0,
            host_status: 0,
            driver_status: 0,
            resid: 0,
            duration: 0,
            info: 0,
        };
        // SAFETY: hdr points to live buffers (cdb, data, sense) for the duration of the call.
        unsafe { sg_io(self.file.as_raw_fd(), &mut hdr) }
            .map_err(|e| TransportError::from_errno("SCSI", e.into()))?;
        let n = (hdr.sb_len_wr as usize).min(sense.len());
        Ok(ScsiReply {
            status: hdr.status,
            host_status: hdr.host_status,
            driver_status: hdr.driver_status,
            sense: sense[..n].to_vec(),
            residual: hdr.resid,
        })
    }
}

impl NvmeTransport for LinuxDevice {
    fn admin(
        &mut self,
        cmd: &AdminCommand,
        data: &mut [u8],
        timeout: Duration,
    ) -> Result<Completion, TransportError> {
        let data = nvme_data_phase(cmd, data)?;
        let mut raw = NvmePassthruCmd {
            opcode: cmd.opcode,
            nsid: cmd.nsid,
            addr: if data.is_empty() {
                0
            } else {
                data.as_mut_ptr() as u64
            },
            data_len: cmd.data_len,
            cdw10: cmd.cdw10,
            cdw11: cmd.cdw11,
            cdw12: cmd.cdw12,
            cdw13: cmd.cdw13,
            cdw14: cmd.cdw14,
            cdw15: cmd.cdw15,
            timeout_ms: timeout.as_millis().min(u32::MAX as u128) as u32,
            ..Default::default()
        };
        // SAFETY: raw.addr points to `data_len` writable bytes (`data`) for the duration of the
        // call.
        let rc = unsafe { nvme_admin_cmd(self.file.as_raw_fd(), &mut raw) }
            .map_err(|e| TransportError::from_errno("NVMe", e.into()))?;
        Ok(Completion {
            status: rc as u16,
            result: raw.result,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_shorter_than_the_data_phase_is_refused_before_anything_is_sent() {
        // Any open file will do: the check comes before the ioctl.
        let file = tempfile::tempfile().unwrap();
        let mut dev = LinuxDevice { file };
        let mut short = [0u8; 512];
        let err = dev
            .admin(
                &AdminCommand::identify_controller(),
                &mut short,
                Duration::from_secs(1),
            )
            .unwrap_err();
        assert!(
            matches!(
                err,
                TransportError::BufferTooShort {
                    opcode: 0x06,
                    needed: 4096,
                    given: 512
                }
            ),
            "{err}"
        );
        assert!(short.iter().all(|&b| b == 0));
    }

    #[test]
    fn the_data_phase_is_exactly_the_commands_length() {
        let cmd = AdminCommand::get_log_page(0x81, 20);
        let mut big = [0u8; 64];
        assert_eq!(nvme_data_phase(&cmd, &mut big).unwrap().len(), 20);
        assert!(nvme_data_phase(&cmd, &mut [0u8; 19]).is_err());
        let none = AdminCommand::sanitize(super::super::nvme::SanitizeAction::CryptoErase, 0);
        assert!(nvme_data_phase(&none, &mut []).unwrap().is_empty());
    }

    #[test]
    fn kernel_struct_sizes() {
        // Sizes from the kernel headers on 64-bit Linux.
        assert_eq!(std::mem::size_of::<SgIoHdr>(), 88);
        assert_eq!(std::mem::size_of::<NvmePassthruCmd>(), 72);
    }
}
