//! NVMe completion status codes and their names (NVM Express Base Specification 2.0, the
//! tables of Generic Command Status and Command Specific Status values).
//!
//! This is the only place a status code is written down. The decoder names a completion from
//! it, and the simulated controller (`erase::firmware::sim`) answers with its constants, so a code
//! entered wrongly here shows up as a wrong name in the tests rather than as two mistakes that
//! agree with each other.

/// Status Code Type (bits 10:8 of the status field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusCodeType {
    Generic = 0,
    CommandSpecific = 1,
    MediaAndDataIntegrity = 2,
    PathRelated = 3,
    VendorSpecific = 7,
}

/// One status: its type, its code and its name in the specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NvmeStatus {
    pub sct: StatusCodeType,
    pub sc: u8,
    pub name: &'static str,
}

const fn generic(sc: u8, name: &'static str) -> NvmeStatus {
    NvmeStatus {
        sct: StatusCodeType::Generic,
        sc,
        name,
    }
}

const fn command_specific(sc: u8, name: &'static str) -> NvmeStatus {
    NvmeStatus {
        sct: StatusCodeType::CommandSpecific,
        sc,
        name,
    }
}

impl NvmeStatus {
    // Generic command status (SCT 0).
    pub const SUCCESS: NvmeStatus = generic(0x00, "successful completion");
    pub const INVALID_OPCODE: NvmeStatus = generic(0x01, "invalid command opcode");
    pub const INVALID_FIELD: NvmeStatus = generic(0x02, "invalid field in command");
    pub const DATA_TRANSFER_ERROR: NvmeStatus = generic(0x04, "data transfer error");
    pub const ABORTED_POWER_LOSS: NvmeStatus =
        generic(0x05, "commands aborted due to power loss notification");
    pub const INTERNAL_ERROR: NvmeStatus = generic(0x06, "internal error");
    pub const ABORT_REQUESTED: NvmeStatus = generic(0x07, "command abort requested");
    pub const INVALID_NAMESPACE_OR_FORMAT: NvmeStatus =
        generic(0x0b, "invalid namespace or format");
    pub const COMMAND_SEQUENCE_ERROR: NvmeStatus = generic(0x0c, "command sequence error");
    pub const OPERATION_DENIED: NvmeStatus = generic(0x15, "operation denied");
    pub const SANITIZE_FAILED: NvmeStatus = generic(0x1c, "sanitize failed");
    pub const SANITIZE_IN_PROGRESS: NvmeStatus = generic(0x1d, "sanitize in progress");
    pub const NAMESPACE_WRITE_PROTECTED: NvmeStatus = generic(0x20, "namespace is write protected");
    pub const COMMAND_INTERRUPTED: NvmeStatus = generic(0x21, "command interrupted");
    pub const PROHIBITED_BY_LOCKDOWN: NvmeStatus =
        generic(0x23, "command prohibited by command and feature lockdown");
    pub const ADMIN_COMMAND_MEDIA_NOT_READY: NvmeStatus =
        generic(0x24, "admin command media not ready");
    pub const LBA_OUT_OF_RANGE: NvmeStatus = generic(0x80, "LBA out of range");
    pub const NAMESPACE_NOT_READY: NvmeStatus = generic(0x82, "namespace not ready");
    pub const FORMAT_IN_PROGRESS: NvmeStatus = generic(0x84, "format in progress");

    // Command specific status (SCT 1) of the admin commands wipeproof sends, and the two
    // codes an earlier table had misnamed.
    pub const INVALID_LOG_PAGE: NvmeStatus = command_specific(0x09, "invalid log page");
    pub const INVALID_FORMAT: NvmeStatus = command_specific(0x0a, "invalid format");
    pub const NAMESPACE_INSUFFICIENT_CAPACITY: NvmeStatus =
        command_specific(0x15, "namespace insufficient capacity");
    pub const INVALID_SECONDARY_CONTROLLER_STATE: NvmeStatus =
        command_specific(0x20, "invalid secondary controller state");
    pub const SANITIZE_PROHIBITED_WITH_PMR: NvmeStatus = command_specific(
        0x23,
        "sanitize prohibited while persistent memory region is enabled",
    );

    /// Every status with a name.
    pub const ALL: &'static [NvmeStatus] = &[
        Self::SUCCESS,
        Self::INVALID_OPCODE,
        Self::INVALID_FIELD,
        Self::DATA_TRANSFER_ERROR,
        Self::ABORTED_POWER_LOSS,
        Self::INTERNAL_ERROR,
        Self::ABORT_REQUESTED,
        Self::INVALID_NAMESPACE_OR_FORMAT,
        Self::COMMAND_SEQUENCE_ERROR,
        Self::OPERATION_DENIED,
        Self::SANITIZE_FAILED,
        Self::SANITIZE_IN_PROGRESS,
        Self::NAMESPACE_WRITE_PROTECTED,
        Self::COMMAND_INTERRUPTED,
        Self::PROHIBITED_BY_LOCKDOWN,
        Self::ADMIN_COMMAND_MEDIA_NOT_READY,
        Self::LBA_OUT_OF_RANGE,
        Self::NAMESPACE_NOT_READY,
        Self::FORMAT_IN_PROGRESS,
        Self::INVALID_LOG_PAGE,
        Self::INVALID_FORMAT,
        Self::NAMESPACE_INSUFFICIENT_CAPACITY,
        Self::INVALID_SECONDARY_CONTROLLER_STATE,
        Self::SANITIZE_PROHIBITED_WITH_PMR,
    ];

    /// The status field as the Linux passthrough ioctl returns it (SCT in bits 10:8, SC in
    /// bits 7:0), with Do Not Retry (bit 14) set for errors: what a controller answers.
    pub const fn field(self) -> u16 {
        let dnr = if self.sc == 0 && self.sct as u8 == 0 {
            0
        } else {
            1 << 14
        };
        dnr | (self.sct as u16) << 8 | self.sc as u16
    }

    /// The name of a status type and code, if the table has it.
    pub fn name_of(sct: u8, sc: u8) -> Option<&'static str> {
        Self::ALL
            .iter()
            .find(|s| s.sct as u8 == sct && s.sc == sc)
            .map(|s| s.name)
    }
}

/// The name of a status type, for codes the table does not name.
pub fn type_name(sct: u8) -> &'static str {
    match sct {
        0 => "generic error",
        1 => "command specific error",
        2 => "media or data integrity error",
        3 => "path related error",
        7 => "vendor specific error",
        _ => "error of a reserved status type",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codes checked one by one against the specification's tables, written out here
    /// independently of the table above. Generic 0x1e is SGL Data Block Granularity Invalid,
    /// which wipeproof never meets and does not name.
    #[test]
    fn codes_match_the_specification() {
        for (sct, sc, name) in [
            (0, 0x1c, "sanitize failed"),
            (0, 0x1d, "sanitize in progress"),
            (0, 0x1e, ""),
            (0, 0x20, "namespace is write protected"),
            (0, 0x82, "namespace not ready"),
            (0, 0x84, "format in progress"),
            (1, 0x0a, "invalid format"),
            (1, 0x15, "namespace insufficient capacity"),
            (1, 0x20, "invalid secondary controller state"),
        ] {
            assert_eq!(
                NvmeStatus::name_of(sct, sc).unwrap_or(""),
                name,
                "SCT {sct} SC 0x{sc:02x}"
            );
        }
    }

    #[test]
    fn every_status_is_listed_once() {
        for (i, a) in NvmeStatus::ALL.iter().enumerate() {
            for b in &NvmeStatus::ALL[i + 1..] {
                assert!(
                    (a.sct, a.sc) != (b.sct, b.sc),
                    "{} and {} share a code",
                    a.name,
                    b.name
                );
            }
        }
    }

    #[test]
    fn status_fields() {
        assert_eq!(NvmeStatus::SUCCESS.field(), 0);
        assert_eq!(NvmeStatus::INVALID_FIELD.field(), 0x4002);
        assert_eq!(NvmeStatus::SANITIZE_IN_PROGRESS.field(), 0x401d);
        assert_eq!(NvmeStatus::INVALID_FORMAT.field(), 0x410a);
    }
}
