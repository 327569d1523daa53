//! SCSI command encoding and decoding of the pages wipeproof reads (SPC-5, SBC-4).
//!
//! Pure functions over bytes. Replies are untrusted: every decoder bounds-checks.

/// SCSI operation codes used by wipeproof.
pub mod opcode {
    pub const TEST_UNIT_READY: u8 = 0x00;
    pub const REQUEST_SENSE: u8 = 0x03;
    pub const INQUIRY: u8 = 0x12;
    pub const SANITIZE: u8 = 0x48;
    pub const SERVICE_ACTION_IN_16: u8 = 0x9E;
    pub const MAINTENANCE_IN: u8 = 0xA3;
}

/// INQUIRY CDB for a vital product data page.
pub fn inquiry_vpd(page: u8, alloc_len: u16) -> [u8; 6] {
    let [hi, lo] = alloc_len.to_be_bytes();
    [opcode::INQUIRY, 0x01, page, hi, lo, 0]
}

/// Decodes the Unit Serial Number VPD page (0x80): the serial, trimmed.
pub fn decode_unit_serial(page: &[u8]) -> Option<String> {
    if page.len() < 4 || page[1] != 0x80 {
        return None;
    }
    let len = u16::from_be_bytes([page[2], page[3]]) as usize;
    let body = page.get(4..(4 + len).min(page.len()))?;
    let s: String = body
        .iter()
        .filter(|&&c| c != 0)
        .map(|&c| {
            if c.is_ascii_graphic() || c == b' ' {
                c as char
            } else {
                '?'
            }
        })
        .collect();
    let s = s.trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// Decodes the Device Identification VPD page (0x83) and returns the first NAA designator
/// associated with the logical unit, as `0x` followed by hex digits.
pub fn decode_naa(page: &[u8]) -> Option<String> {
    if page.len() < 4 || page[1] != 0x83 {
        return None;
    }
    let len = u16::from_be_bytes([page[2], page[3]]) as usize;
    let end = (4 + len).min(page.len());
    let mut i = 4;
    while i + 4 <= end {
        let code_set = page[i] & 0x0f;
        let association = (page[i + 1] >> 4) & 0x3;
        let kind = page[i + 1] & 0x0f;
        let dlen = page[i + 3] as usize;
        let body = page.get(i + 4..(i + 4 + dlen).min(end))?;
        if kind == 3 && association == 0 && code_set == 1 && !body.is_empty() {
            let hex: String = body.iter().map(|b| format!("{b:02x}")).collect();
            return Some(format!("0x{hex}"));
        }
        i += 4 + dlen;
    }
    None
}

/// SANITIZE service actions (SBC-4 5.30).
pub mod sanitize {
    pub const OVERWRITE: u8 = 0x01;
    pub const BLOCK_ERASE: u8 = 0x02;
    pub const CRYPTO_ERASE: u8 = 0x03;
    pub const EXIT_FAILURE_MODE: u8 = 0x1F;
}

/// SANITIZE CDB (10 bytes) with IMMED set, so progress is polled with REQUEST SENSE.
/// `param_len` is the parameter list length (overwrite only).
pub fn sanitize_cdb(service_action: u8, param_len: u16) -> [u8; 10] {
    let [hi, lo] = param_len.to_be_bytes();
    [
        opcode::SANITIZE,
        0x80 | (service_action & 0x1f),
        0,
        0,
        0,
        0,
        0,
        hi,
        lo,
        0,
    ]
}

/// The overwrite parameter list: one pass of a 4-byte pattern.
pub fn sanitize_overwrite_params(pattern: [u8; 4]) -> Vec<u8> {
    let mut p = vec![0x01, 0x00, 0x00, 0x04];
    p.extend_from_slice(&pattern);
    p
}

/// REPORT SUPPORTED OPERATION CODES for one operation code and service action.
pub fn report_supported_opcode(op: u8, service_action: u16, alloc: u32) -> [u8; 12] {
    let [s_hi, s_lo] = service_action.to_be_bytes();
    let a = alloc.to_be_bytes();
    [
        opcode::MAINTENANCE_IN,
        0x0C,
        0x02,
        op,
        s_hi,
        s_lo,
        a[0],
        a[1],
        a[2],
        a[3],
        0,
        0,
    ]
}

/// Whether a REPORT SUPPORTED OPERATION CODES (one command) reply says "supported".
pub fn decode_supported(reply: &[u8]) -> Option<bool> {
    let support = reply.get(1)? & 0x07;
    match support {
        0b011 | 0b101 => Some(true),
        0b001 => Some(false),
        _ => None,
    }
}

/// REQUEST SENSE CDB.
pub fn request_sense(alloc: u8) -> [u8; 6] {
    [opcode::REQUEST_SENSE, 0, 0, 0, alloc, 0]
}

/// READ CAPACITY (16) CDB.
pub fn read_capacity_16(alloc_len: u32) -> [u8; 16] {
    let mut cdb = [0u8; 16];
    cdb[0] = opcode::SERVICE_ACTION_IN_16;
    cdb[1] = 0x10;
    cdb[10..14].copy_from_slice(&alloc_len.to_be_bytes());
    cdb
}

/// Decoded READ CAPACITY (16) parameter data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity16 {
    pub last_lba: u64,
    pub block_length: u32,
    pub physical_per_logical_exponent: u8,
    /// Protection enabled (PROT_EN).
    pub protection: bool,
    /// Logical block provisioning management enabled (LBPME).
    pub lbpme: bool,
    /// Logical block provisioning read zeros (LBPRZ).
    pub lbprz: bool,
}

/// Decodes READ CAPACITY (16) data (at least 32 bytes).
pub fn decode_capacity_16(d: &[u8]) -> Option<Capacity16> {
    if d.len() < 16 {
        return None;
    }
    let mut lba = [0u8; 8];
    lba.copy_from_slice(&d[0..8]);
    Some(Capacity16 {
        last_lba: u64::from_be_bytes(lba),
        block_length: u32::from_be_bytes([d[8], d[9], d[10], d[11]]),
        protection: d[12] & 0x01 != 0,
        physical_per_logical_exponent: d[13] & 0x0f,
        lbpme: d[14] & 0x80 != 0,
        lbprz: d[14] & 0x40 != 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_serial_page() {
        let page = [
            0x00, 0x80, 0x00, 0x0a, b' ', b' ', b'Z', b'A', b'1', b'2', b'3', b'4', b' ', 0,
        ];
        assert_eq!(decode_unit_serial(&page).as_deref(), Some("ZA1234"));
        assert_eq!(decode_unit_serial(&[0, 0x80, 0, 50]), None);
        assert_eq!(decode_unit_serial(&[0, 0x83, 0, 0]), None);
        assert_eq!(decode_unit_serial(&[]), None);
    }

    #[test]
    fn naa_designator_from_device_identification_page() {
        let mut page = vec![0x00, 0x83, 0x00, 0x00];
        // T10 vendor id (type 1, ASCII), then NAA (type 3, binary, LU association).
        page.extend_from_slice(&[0x02, 0x01, 0x00, 0x04, b'A', b'T', b'A', b' ']);
        page.extend_from_slice(&[
            0x01, 0x03, 0x00, 0x08, 0x50, 0x00, 0xc5, 0x00, 0xa1, 0xb2, 0xc3, 0xd4,
        ]);
        let len = (page.len() - 4) as u16;
        page[2..4].copy_from_slice(&len.to_be_bytes());
        assert_eq!(decode_naa(&page).as_deref(), Some("0x5000c500a1b2c3d4"));
        // Truncated designator: no panic, no answer.
        assert_eq!(decode_naa(&page[..14]), None);
    }

    #[test]
    fn sanitize_and_support_encodings() {
        assert_eq!(
            sanitize_cdb(sanitize::BLOCK_ERASE, 0),
            [0x48, 0x82, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(sanitize_cdb(sanitize::OVERWRITE, 8)[7..9], [0, 8]);
        assert_eq!(
            sanitize_overwrite_params([1, 2, 3, 4]),
            [1, 0, 0, 4, 1, 2, 3, 4]
        );
        let r = report_supported_opcode(0x48, 3, 64);
        assert_eq!(&r[..6], &[0xA3, 0x0C, 0x02, 0x48, 0, 3]);
        assert_eq!(decode_supported(&[0, 0b011, 0, 10]), Some(true));
        assert_eq!(decode_supported(&[0, 0b001]), Some(false));
        assert_eq!(decode_supported(&[0]), None);
        assert_eq!(request_sense(252), [0x03, 0, 0, 0, 252, 0]);
    }

    #[test]
    fn capacity_16() {
        let mut d = [0u8; 32];
        d[0..8].copy_from_slice(&0x1_0000_0000u64.to_be_bytes());
        d[8..12].copy_from_slice(&4096u32.to_be_bytes());
        d[13] = 0;
        d[14] = 0xc0;
        let c = decode_capacity_16(&d).unwrap();
        assert_eq!(c.last_lba, 0x1_0000_0000);
        assert_eq!(c.block_length, 4096);
        assert!(c.lbpme && c.lbprz);
        assert_eq!(read_capacity_16(32)[13], 32);
    }
}
