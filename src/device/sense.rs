//! Decoding of SCSI sense data (fixed and descriptor formats), including the ATA Status Return
//! descriptor that carries an ATA device's registers back through SAT (SPC-5 4.4, SAT-4 12.2.2.6).
//!
//! Drive replies are untrusted input: every decoder here accepts any byte string and never panics.

/// Sense keys (SPC-5 table 49) that matter for deciding whether a command worked.
pub mod key {
    pub const NO_SENSE: u8 = 0x0;
    pub const RECOVERED_ERROR: u8 = 0x1;
    pub const NOT_READY: u8 = 0x2;
    pub const MEDIUM_ERROR: u8 = 0x3;
    pub const HARDWARE_ERROR: u8 = 0x4;
    pub const ILLEGAL_REQUEST: u8 = 0x5;
    pub const UNIT_ATTENTION: u8 = 0x6;
    pub const DATA_PROTECT: u8 = 0x7;
    pub const ABORTED_COMMAND: u8 = 0xB;
}

/// The ATA registers returned after a pass-through command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AtaStatusReturn {
    pub error: u8,
    pub status: u8,
    pub device: u8,
    /// Sector count (low byte, and high byte when extended).
    pub count: u16,
    /// LBA (48 bits when extended).
    pub lba: u64,
    pub extend: bool,
}

impl AtaStatusReturn {
    /// ERR bit of the status register: the device aborted or failed the command.
    pub fn has_error(&self) -> bool {
        self.status & 0x01 != 0
    }
    /// DF bit: device fault.
    pub fn device_fault(&self) -> bool {
        self.status & 0x20 != 0
    }
    /// ABRT bit of the error register.
    pub fn aborted(&self) -> bool {
        self.error & 0x04 != 0
    }
}

/// Decoded sense data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sense {
    pub key: u8,
    pub asc: u8,
    pub ascq: u8,
    /// Whether the descriptor format was used.
    pub descriptor_format: bool,
    /// Progress indication (0..=65535 of 65536), from the sense-key specific field or the
    /// progress descriptor, while a long operation (format, sanitize) runs.
    pub progress: Option<u16>,
    /// The ATA Status Return descriptor, if present.
    pub ata: Option<AtaStatusReturn>,
    /// The INFORMATION field, if valid (e.g. the failing LBA of a medium error).
    pub information: Option<u64>,
}

impl Sense {
    /// Decodes sense bytes; `None` if they are empty or not sense data.
    pub fn parse(bytes: &[u8]) -> Option<Sense> {
        let code = bytes.first()? & 0x7f;
        match code {
            0x70 | 0x71 => Some(parse_fixed(bytes)),
            0x72 | 0x73 => Some(parse_descriptor(bytes)),
            _ => None,
        }
    }

    /// A short description of the sense key and additional sense code.
    pub fn describe(&self) -> String {
        let key = match self.key {
            key::NO_SENSE => "no sense",
            key::RECOVERED_ERROR => "recovered error",
            key::NOT_READY => "not ready",
            key::MEDIUM_ERROR => "medium error",
            key::HARDWARE_ERROR => "hardware error",
            key::ILLEGAL_REQUEST => "illegal request",
            key::UNIT_ATTENTION => "unit attention",
            key::DATA_PROTECT => "data protect",
            key::ABORTED_COMMAND => "aborted command",
            _ => "sense key",
        };
        let what = match (self.asc, self.ascq) {
            (0x04, 0x04) => " (format in progress)",
            (0x04, 0x1b) => " (sanitize in progress)",
            (0x20, 0x00) => " (invalid command operation code)",
            (0x24, 0x00) => " (invalid field in CDB)",
            (0x26, 0x00) => " (invalid field in parameter list)",
            (0x31, 0x03) => " (sanitize command failed)",
            (0x31, 0x00) => " (medium format corrupted)",
            (0x00, 0x1d) => " (ATA pass-through information available)",
            (0x27, 0x00) => " (write protected)",
            (0x3a, _) => " (medium not present)",
            (0x29, _) => " (power on or reset occurred)",
            _ => "",
        };
        format!(
            "{key} 0x{:x}, ASC/ASCQ 0x{:02x}/0x{:02x}{what}",
            self.key, self.asc, self.ascq
        )
    }
}

fn parse_fixed(b: &[u8]) -> Sense {
    let get = |i: usize| b.get(i).copied().unwrap_or(0);
    let valid = get(0) & 0x80 != 0;
    let information = valid.then(|| u32::from_be_bytes([get(3), get(4), get(5), get(6)]) as u64);
    let key = get(2) & 0x0f;
    // Sense-key specific bytes 15..17: progress indication when SKSV is set and the key is
    // NOT READY or NO SENSE.
    let progress = (get(15) & 0x80 != 0 && matches!(key, key::NOT_READY | key::NO_SENSE))
        .then(|| u16::from_be_bytes([get(16), get(17)]));
    Sense {
        key,
        asc: get(12),
        ascq: get(13),
        descriptor_format: false,
        progress,
        ata: None,
        information,
    }
}

fn parse_descriptor(b: &[u8]) -> Sense {
    let get = |i: usize| b.get(i).copied().unwrap_or(0);
    let mut sense = Sense {
        key: get(1) & 0x0f,
        asc: get(2),
        ascq: get(3),
        descriptor_format: true,
        ..Sense::default()
    };
    let additional = get(7) as usize;
    let end = (8 + additional).min(b.len());
    let mut i = 8;
    while i + 2 <= end {
        let kind = b[i];
        let len = b[i + 1] as usize;
        let body_end = (i + 2 + len).min(end);
        let d = &b[i..body_end];
        let dget = |j: usize| d.get(j).copied().unwrap_or(0);
        match kind {
            // Information descriptor.
            0x00 if d.len() >= 12 => {
                let mut v = [0u8; 8];
                v.copy_from_slice(&d[4..12]);
                if dget(2) & 0x80 != 0 {
                    sense.information = Some(u64::from_be_bytes(v));
                }
            }
            // Sense-key specific descriptor (progress indication).
            0x02 if d.len() >= 7 && dget(4) & 0x80 != 0 => {
                sense.progress = Some(u16::from_be_bytes([dget(5), dget(6)]));
            }
            // ATA Status Return descriptor.
            0x09 if d.len() >= 14 => {
                let extend = dget(2) & 0x01 != 0;
                let count_hi = if extend { dget(4) } else { 0 };
                // SAT-4 12.2.2.6: LBA bytes are interleaved (low half at 7/9/11, high at 6/8/10).
                let low = dget(7) as u64 | (dget(9) as u64) << 8 | (dget(11) as u64) << 16;
                let high =
                    (dget(6) as u64) << 24 | (dget(8) as u64) << 32 | (dget(10) as u64) << 40;
                let lba = if extend { low | high } else { low };
                sense.ata = Some(AtaStatusReturn {
                    error: dget(3),
                    count: u16::from_be_bytes([count_hi, dget(5)]),
                    lba,
                    device: dget(12),
                    status: dget(13),
                    extend,
                });
            }
            // Progress indication descriptor (SPC-5 4.4.2.6).
            0x0a if d.len() >= 8 => {
                sense.progress = Some(u16::from_be_bytes([dget(6), dget(7)]));
            }
            _ => {}
        }
        i += 2 + len;
    }
    sense
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_format_with_information_and_progress() {
        let mut b = [0u8; 18];
        b[0] = 0xF0; // valid + 0x70
        b[2] = key::MEDIUM_ERROR;
        b[3..7].copy_from_slice(&0x0012_3456u32.to_be_bytes());
        b[7] = 10;
        b[12] = 0x11;
        b[13] = 0x00;
        let s = Sense::parse(&b).unwrap();
        assert_eq!(s.key, key::MEDIUM_ERROR);
        assert_eq!(s.asc, 0x11);
        assert_eq!(s.information, Some(0x123456));
        assert_eq!(s.progress, None);

        let mut p = [0u8; 18];
        p[0] = 0x70;
        p[2] = key::NOT_READY;
        p[12] = 0x04;
        p[13] = 0x1b;
        p[15] = 0x80;
        p[16] = 0x80;
        p[17] = 0x00;
        let s = Sense::parse(&p).unwrap();
        assert_eq!(s.progress, Some(0x8000));
        assert!(s.describe().contains("sanitize in progress"));
    }

    #[test]
    fn descriptor_format_with_ata_status_return() {
        // Key RECOVERED ERROR, ASC/ASCQ 00/1D, ATA descriptor: extend, error 0x04, status 0x51.
        let b = [
            0x72, 0x01, 0x00, 0x1d, 0, 0, 0, 14, // header
            0x09, 0x0c, 0x01, 0x04, 0x00, 0x01, 0x78, 0x56, 0x34, 0x12, 0x00, 0x00, 0xe0, 0x51,
        ];
        let s = Sense::parse(&b).unwrap();
        assert!(s.descriptor_format);
        let ata = s.ata.unwrap();
        assert_eq!(ata.status, 0x51);
        assert_eq!(ata.error, 0x04);
        assert!(ata.has_error() && ata.aborted());
        assert_eq!(ata.count, 1);
        assert_eq!(ata.lba, 0x34_7800_1256);
        assert_eq!(ata.device, 0xe0);
    }

    #[test]
    fn junk_never_panics() {
        assert_eq!(Sense::parse(&[]), None);
        assert_eq!(Sense::parse(&[0x00]), None);
        for len in 0..40 {
            let b: Vec<u8> = (0..len)
                .map(|i| (i as u8).wrapping_mul(37) | 0x70)
                .collect();
            let _ = Sense::parse(&b);
            let mut d = vec![0x72u8; len];
            if len > 7 {
                d[7] = 0xff;
            }
            let _ = Sense::parse(&d);
        }
    }
}
