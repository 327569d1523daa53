//! NVMe admin command encoding and Identify decoding (NVM Express Base Specification 2.0).
//!
//! Pure functions over bytes; the transport sends the commands. Identify data comes from a
//! drive and is untrusted: decoding checks lengths and never panics.

/// Admin opcodes used by wipeproof.
pub mod opcode {
    pub const GET_LOG_PAGE: u8 = 0x02;
    pub const IDENTIFY: u8 = 0x06;
    pub const FORMAT_NVM: u8 = 0x80;
    pub const SANITIZE: u8 = 0x84;
}

/// An admin command's submission fields (the parts the Linux passthrough ioctl carries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AdminCommand {
    pub opcode: u8,
    pub nsid: u32,
    pub cdw10: u32,
    pub cdw11: u32,
    pub cdw12: u32,
    pub cdw13: u32,
    pub cdw14: u32,
    pub cdw15: u32,
    /// Bytes transferred from the controller (0 for none).
    pub data_len: u32,
}

impl AdminCommand {
    /// Identify Controller (CNS 01h), 4096 bytes.
    pub fn identify_controller() -> Self {
        AdminCommand {
            opcode: opcode::IDENTIFY,
            cdw10: 0x01,
            data_len: 4096,
            ..Default::default()
        }
    }

    /// Identify Namespace (CNS 00h), 4096 bytes.
    pub fn identify_namespace(nsid: u32) -> Self {
        AdminCommand {
            opcode: opcode::IDENTIFY,
            nsid,
            cdw10: 0x00,
            data_len: 4096,
            ..Default::default()
        }
    }

    /// Get Log Page for `lid`, `len` bytes (a multiple of 4), namespace-independent.
    pub fn get_log_page(lid: u8, len: u32) -> Self {
        let numd = len / 4 - 1;
        AdminCommand {
            opcode: opcode::GET_LOG_PAGE,
            nsid: 0xffff_ffff,
            cdw10: (numd & 0xffff) << 16 | lid as u32,
            cdw11: numd >> 16,
            data_len: len,
            ..Default::default()
        }
    }
}

/// Secure Erase Settings of Format NVM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecureErase {
    None = 0,
    UserData = 1,
    Cryptographic = 2,
}

/// Sanitize actions (SANACT).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SanitizeAction {
    ExitFailureMode = 1,
    BlockErase = 2,
    Overwrite = 3,
    CryptoErase = 4,
}

impl AdminCommand {
    /// Format NVM of namespace `nsid` keeping LBA format `lbaf`, with a secure erase.
    pub fn format_nvm(nsid: u32, lbaf: u8, ses: SecureErase) -> Self {
        let lbaf = lbaf as u32;
        AdminCommand {
            opcode: opcode::FORMAT_NVM,
            nsid,
            // LBAF bits 3:0 (and 13:12 for formats above 15), SES bits 11:9.
            cdw10: (lbaf & 0xf) | ((lbaf >> 4) & 0x3) << 12 | (ses as u32) << 9,
            ..Default::default()
        }
    }

    /// Sanitize (all namespaces). Overwrite uses one pass of `pattern`.
    pub fn sanitize(action: SanitizeAction, pattern: u32) -> Self {
        let owpass = if action == SanitizeAction::Overwrite {
            1 << 4
        } else {
            0
        };
        AdminCommand {
            opcode: opcode::SANITIZE,
            nsid: 0,
            cdw10: action as u32 | owpass,
            cdw11: if action == SanitizeAction::Overwrite {
                pattern
            } else {
                0
            },
            ..Default::default()
        }
    }
}

/// The Sanitize Status log page (0x81).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SanitizeLog {
    /// Progress of the current operation, n/65536.
    pub progress: u16,
    /// 0 never sanitized, 1 completed, 2 in progress, 3 failed, 4 completed without deallocation.
    pub status: u8,
    pub global_data_erased: bool,
    /// The drive's estimates in seconds (overwrite, block erase, crypto erase), if given.
    pub estimates: [Option<u32>; 3],
}

impl SanitizeLog {
    pub const LOG_ID: u8 = 0x81;
    pub const NEVER: u8 = 0;
    pub const COMPLETED: u8 = 1;
    pub const IN_PROGRESS: u8 = 2;
    pub const FAILED: u8 = 3;
    pub const COMPLETED_NO_DEALLOCATE: u8 = 4;

    /// Decodes the first 20 bytes of the log.
    pub fn decode(d: &[u8]) -> Option<SanitizeLog> {
        if d.len() < 20 {
            return None;
        }
        let est = |i: usize| {
            let v = u32::from_le_bytes([d[i], d[i + 1], d[i + 2], d[i + 3]]);
            (v != u32::MAX).then_some(v)
        };
        let sstat = u16::from_le_bytes([d[2], d[3]]);
        Some(SanitizeLog {
            progress: u16::from_le_bytes([d[0], d[1]]),
            status: (sstat & 0x7) as u8,
            global_data_erased: sstat & 0x100 != 0,
            estimates: [est(8), est(12), est(16)],
        })
    }
}

/// The completion of an admin command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Completion {
    /// Status field: Status Code Type (bits 10:8) and Status Code (bits 7:0), with DNR (bit 14)
    /// and More (bit 13), as the Linux ioctl returns it.
    pub status: u16,
    /// Command specific result (DW0).
    pub result: u32,
}

impl Completion {
    pub fn is_success(&self) -> bool {
        self.status & 0x7ff == 0
    }
    pub fn status_code_type(&self) -> u8 {
        ((self.status >> 8) & 0x7) as u8
    }
    pub fn status_code(&self) -> u8 {
        (self.status & 0xff) as u8
    }

    /// A description of the status, e.g. `sanitize in progress (SCT 0x0, SC 0x1d)`, named from
    /// the one status table ([`super::nvme_status`]).
    pub fn describe(&self) -> String {
        let (sct, sc) = (self.status_code_type(), self.status_code());
        let what = super::nvme_status::NvmeStatus::name_of(sct, sc)
            .unwrap_or_else(|| super::nvme_status::type_name(sct));
        format!("{what} (SCT 0x{sct:x}, SC 0x{sc:02x})")
    }
}

/// Fields of Identify Controller data that wipeproof uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IdentifyController {
    pub vendor_id: u16,
    pub serial: String,
    pub model: String,
    pub firmware: String,
    /// Optional Admin Command Support (bytes 257:256).
    pub oacs: u16,
    /// Sanitize Capabilities (bytes 331:328).
    pub sanicap: u32,
    /// Format NVM Attributes (byte 524).
    pub fna: u8,
}

impl IdentifyController {
    pub fn supports_format(&self) -> bool {
        self.oacs & (1 << 1) != 0
    }
    pub fn supports_sanitize_crypto(&self) -> bool {
        self.sanicap & 0x1 != 0
    }
    pub fn supports_sanitize_block(&self) -> bool {
        self.sanicap & 0x2 != 0
    }
    pub fn supports_sanitize_overwrite(&self) -> bool {
        self.sanicap & 0x4 != 0
    }
    /// FNA bit 2: cryptographic erase is supported as part of Format NVM.
    pub fn supports_format_crypto(&self) -> bool {
        self.fna & 0x4 != 0
    }
    /// FNA bit 1: a secure erase in Format applies to all namespaces.
    pub fn format_erase_applies_to_all_namespaces(&self) -> bool {
        self.fna & 0x2 != 0
    }
    /// FNA bit 0: a format applies to all namespaces.
    pub fn format_applies_to_all_namespaces(&self) -> bool {
        self.fna & 0x1 != 0
    }
}

/// Fields of Identify Namespace data that wipeproof uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IdentifyNamespace {
    /// Namespace size in logical blocks.
    pub nsze: u64,
    /// Index of the LBA format in use.
    pub flbas_index: u8,
    /// Data size of the format in use, bytes.
    pub lba_data_size: u32,
    /// Deallocate Logical Block Features (byte 33).
    pub dlfeat: u8,
    /// EUI-64 (bytes 127:120), if non-zero.
    pub eui64: Option<[u8; 8]>,
    /// NGUID (bytes 119:104), if non-zero.
    pub nguid: Option<[u8; 16]>,
}

/// Errors decoding Identify data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NvmeDecodeError {
    #[error("identify data is {0} bytes, expected 4096")]
    Length(usize),
    #[error("namespace reports LBA data size 2^{0}, which is not a usable sector size")]
    BadLbaSize(u8),
}

/// Decodes Identify Controller data (4096 bytes).
pub fn decode_identify_controller(d: &[u8]) -> Result<IdentifyController, NvmeDecodeError> {
    if d.len() != 4096 {
        return Err(NvmeDecodeError::Length(d.len()));
    }
    Ok(IdentifyController {
        vendor_id: u16::from_le_bytes([d[0], d[1]]),
        serial: ascii_field(&d[4..24]),
        model: ascii_field(&d[24..64]),
        firmware: ascii_field(&d[64..72]),
        oacs: u16::from_le_bytes([d[256], d[257]]),
        sanicap: u32::from_le_bytes([d[328], d[329], d[330], d[331]]),
        fna: d[524],
    })
}

/// Decodes Identify Namespace data (4096 bytes).
pub fn decode_identify_namespace(d: &[u8]) -> Result<IdentifyNamespace, NvmeDecodeError> {
    if d.len() != 4096 {
        return Err(NvmeDecodeError::Length(d.len()));
    }
    let mut nsze = [0u8; 8];
    nsze.copy_from_slice(&d[0..8]);
    // FLBAS bits 3:0 with bits 6:5 as the high bits of the index (NVMe 2.0).
    let flbas = d[26];
    let index = (flbas & 0x0f) | ((flbas >> 5) & 0x3) << 4;
    let lbaf = 128 + 4 * index as usize;
    let lbads = d.get(lbaf + 2).copied().unwrap_or(0);
    if !(9..=16).contains(&lbads) {
        return Err(NvmeDecodeError::BadLbaSize(lbads));
    }
    let mut eui = [0u8; 8];
    eui.copy_from_slice(&d[120..128]);
    let mut nguid = [0u8; 16];
    nguid.copy_from_slice(&d[104..120]);
    Ok(IdentifyNamespace {
        nsze: u64::from_le_bytes(nsze),
        flbas_index: index,
        lba_data_size: 1 << lbads,
        dlfeat: d[33],
        eui64: (eui != [0; 8]).then_some(eui),
        nguid: (nguid != [0; 16]).then_some(nguid),
    })
}

/// An ASCII identify field: trailing spaces and NULs trimmed, unprintables replaced by `?`.
fn ascii_field(b: &[u8]) -> String {
    let s: String = b
        .iter()
        .map(|&c| {
            if c.is_ascii_graphic() || c == b' ' {
                c as char
            } else if c == 0 {
                ' '
            } else {
                '?'
            }
        })
        .collect();
    s.trim().to_string()
}

/// Test fixtures: Identify data laid out as the specification says.
#[cfg(any(test, feature = "test-fixtures"))]
pub mod fixture {
    /// Identify Controller data with the given strings and capability fields.
    pub fn controller(
        serial: &str,
        model: &str,
        fw: &str,
        oacs: u16,
        sanicap: u32,
        fna: u8,
    ) -> Vec<u8> {
        let mut d = vec![0u8; 4096];
        d[0..2].copy_from_slice(&0x1b36u16.to_le_bytes());
        put(&mut d[4..24], serial);
        put(&mut d[24..64], model);
        put(&mut d[64..72], fw);
        d[256..258].copy_from_slice(&oacs.to_le_bytes());
        d[328..332].copy_from_slice(&sanicap.to_le_bytes());
        d[524] = fna;
        d
    }

    /// Identify Namespace data: `nsze` blocks of `2^lbads` bytes, with DLFEAT.
    pub fn namespace(nsze: u64, lbads: u8, dlfeat: u8) -> Vec<u8> {
        let mut d = vec![0u8; 4096];
        d[0..8].copy_from_slice(&nsze.to_le_bytes());
        d[8..16].copy_from_slice(&nsze.to_le_bytes());
        d[25] = 1; // two formats
        d[26] = 1; // using format 1
        d[33] = dlfeat;
        d[128 + 2] = 9;
        d[132 + 2] = lbads;
        d
    }

    fn put(field: &mut [u8], s: &str) {
        field.fill(b' ');
        field[..s.len()].copy_from_slice(s.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_controller_strings_and_capabilities() {
        let d = fixture::controller(
            "S4EWNX0N123456",
            "Samsung SSD 980 PRO 1TB",
            "5B2QGXA7",
            0b10,
            0x7,
            0x4,
        );
        let c = decode_identify_controller(&d).unwrap();
        assert_eq!(c.serial, "S4EWNX0N123456");
        assert_eq!(c.model, "Samsung SSD 980 PRO 1TB");
        assert_eq!(c.firmware, "5B2QGXA7");
        assert!(c.supports_format());
        assert!(c.supports_sanitize_crypto() && c.supports_sanitize_block());
        assert!(c.supports_sanitize_overwrite());
        assert!(c.supports_format_crypto());
        assert!(!c.format_applies_to_all_namespaces());
    }

    #[test]
    fn decodes_namespace_format_in_use() {
        let n = decode_identify_namespace(&fixture::namespace(1 << 20, 12, 0x09)).unwrap();
        assert_eq!(n.nsze, 1 << 20);
        assert_eq!(n.flbas_index, 1);
        assert_eq!(n.lba_data_size, 4096);
        assert_eq!(n.dlfeat, 0x09);
        assert_eq!(n.eui64, None);
    }

    #[test]
    fn rejects_short_data_and_nonsense_sector_size() {
        assert_eq!(
            decode_identify_controller(&[0; 10]),
            Err(NvmeDecodeError::Length(10))
        );
        assert!(decode_identify_namespace(&fixture::namespace(1, 30, 0)).is_err());
    }

    #[test]
    fn format_sanitize_and_log_encodings() {
        let f = AdminCommand::format_nvm(1, 1, SecureErase::UserData);
        assert_eq!((f.opcode, f.nsid, f.cdw10), (0x80, 1, 1 | 1 << 9));
        let f = AdminCommand::format_nvm(1, 17, SecureErase::Cryptographic);
        assert_eq!(f.cdw10, 1 | 1 << 12 | 2 << 9);
        let s = AdminCommand::sanitize(SanitizeAction::Overwrite, 0xAABBCCDD);
        assert_eq!((s.opcode, s.cdw10, s.cdw11), (0x84, 3 | 1 << 4, 0xAABBCCDD));
        assert_eq!(
            AdminCommand::sanitize(SanitizeAction::CryptoErase, 0).cdw10,
            4
        );
        let mut log = [0u8; 512];
        log[0..2].copy_from_slice(&0x8000u16.to_le_bytes());
        log[2..4].copy_from_slice(&(0x100u16 | 2).to_le_bytes());
        log[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        log[12..16].copy_from_slice(&120u32.to_le_bytes());
        let l = SanitizeLog::decode(&log).unwrap();
        assert_eq!(l.progress, 0x8000);
        assert_eq!(l.status, SanitizeLog::IN_PROGRESS);
        assert!(l.global_data_erased);
        assert_eq!(l.estimates, [None, Some(120), Some(0)]);
        assert_eq!(SanitizeLog::decode(&log[..10]), None);
    }

    #[test]
    fn command_encodings() {
        let c = AdminCommand::identify_controller();
        assert_eq!((c.opcode, c.cdw10, c.data_len), (0x06, 1, 4096));
        let l = AdminCommand::get_log_page(0x81, 512);
        assert_eq!(l.cdw10, (127 << 16) | 0x81);
        assert_eq!(l.cdw11, 0);
        let s = Completion {
            status: 0x4002,
            result: 0,
        };
        assert!(!s.is_success());
        assert_eq!(s.status_code(), 0x02);
        assert!(s.describe().contains("invalid field"));
    }

    #[test]
    fn sanitize_statuses_are_named_by_their_codes() {
        let named = |status| Completion { status, result: 0 }.describe();
        assert_eq!(named(0x401c), "sanitize failed (SCT 0x0, SC 0x1c)");
        assert_eq!(named(0x001d), "sanitize in progress (SCT 0x0, SC 0x1d)");
        assert_eq!(
            named(0x4115),
            "namespace insufficient capacity (SCT 0x1, SC 0x15)"
        );
        assert_eq!(
            named(0x4120),
            "invalid secondary controller state (SCT 0x1, SC 0x20)"
        );
        assert_eq!(
            named(0x4281),
            "media or data integrity error (SCT 0x2, SC 0x81)"
        );
    }
}
