//! ATA command encoding (SAT ATA PASS-THROUGH (16)) and IDENTIFY DEVICE decoding (ACS-4 7.13).
//!
//! Pure functions over bytes: the transport sends the CDBs, these build and read them. IDENTIFY
//! data is untrusted input from a drive: decoding never panics, and a bad integrity word is an
//! error rather than a guess.

/// ATA command opcodes used by wipeproof.
pub mod opcode {
    pub const IDENTIFY_DEVICE: u8 = 0xEC;
    pub const READ_NATIVE_MAX_ADDRESS_EXT: u8 = 0x27;
    pub const SET_MAX_ADDRESS_EXT: u8 = 0x37;
    pub const ACCESSIBLE_MAX_ADDRESS_CONFIGURATION: u8 = 0x78;
    pub const DEVICE_CONFIGURATION_OVERLAY: u8 = 0xB1;
    pub const SANITIZE_DEVICE: u8 = 0xB4;
    pub const SECURITY_SET_PASSWORD: u8 = 0xF1;
    pub const SECURITY_UNLOCK: u8 = 0xF2;
    pub const SECURITY_ERASE_PREPARE: u8 = 0xF3;
    pub const SECURITY_ERASE_UNIT: u8 = 0xF4;
    pub const SECURITY_FREEZE_LOCK: u8 = 0xF5;
    pub const SECURITY_DISABLE_PASSWORD: u8 = 0xF6;
}

/// ATA protocol field of the pass-through CDB (SAT-4 table 160).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    NonData = 3,
    PioDataIn = 4,
    PioDataOut = 5,
}

/// One ATA command with its taskfile registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AtaCommand {
    pub command: u8,
    pub features: u16,
    pub count: u16,
    pub lba: u64,
    pub device: u8,
    pub protocol: Protocol,
    /// 48-bit command (EXT): the high register bytes are sent.
    pub extend: bool,
    /// Number of 512-byte blocks transferred (PIO protocols).
    pub blocks: u16,
    /// Ask for the registers back even on success (CK_COND).
    pub check_condition: bool,
}

impl AtaCommand {
    /// A non-data command.
    pub fn non_data(command: u8, features: u16, count: u16, lba: u64, extend: bool) -> Self {
        AtaCommand {
            command,
            features,
            count,
            lba,
            device: 0x40,
            protocol: Protocol::NonData,
            extend,
            blocks: 0,
            check_condition: true,
        }
    }

    /// IDENTIFY DEVICE: one 512-byte block in.
    pub fn identify() -> Self {
        AtaCommand {
            command: opcode::IDENTIFY_DEVICE,
            features: 0,
            count: 1,
            lba: 0,
            device: 0,
            protocol: Protocol::PioDataIn,
            extend: false,
            blocks: 1,
            check_condition: false,
        }
    }

    /// The ATA PASS-THROUGH (16) CDB for this command (SAT-4 12.2.2).
    pub fn to_cdb16(&self) -> [u8; 16] {
        let mut cdb = [0u8; 16];
        cdb[0] = 0x85;
        cdb[1] = (self.protocol as u8) << 1 | self.extend as u8;
        let (t_dir, t_length) = match self.protocol {
            Protocol::NonData => (0, 0),
            Protocol::PioDataIn => (1, 2),
            Protocol::PioDataOut => (0, 2),
        };
        // OFF_LINE=0, CK_COND, T_TYPE=0 (512-byte blocks), T_DIR, BYTE_BLOCK=1, T_LENGTH.
        let byte_block = if t_length != 0 { 1 } else { 0 };
        cdb[2] = (self.check_condition as u8) << 5 | t_dir << 3 | byte_block << 2 | t_length;
        let [f_hi, f_lo] = self.features.to_be_bytes();
        let [c_hi, c_lo] = self.count.to_be_bytes();
        let l = self.lba.to_le_bytes();
        if self.extend {
            cdb[3] = f_hi;
            cdb[5] = c_hi;
            cdb[7] = l[3];
            cdb[9] = l[4];
            cdb[11] = l[5];
        }
        cdb[4] = f_lo;
        cdb[6] = c_lo;
        cdb[8] = l[0];
        cdb[10] = l[1];
        cdb[12] = l[2];
        cdb[13] = if self.extend {
            self.device
        } else {
            // 28-bit commands carry LBA bits 27:24 in the device register.
            self.device | (l[3] & 0x0f)
        };
        cdb[14] = self.command;
        cdb
    }
}

/// The password wipeproof sets for the length of an ATA security erase (32 bytes, padded).
pub const TEMP_PASSWORD: &[u8] = b"wipeproof";

/// The 512-byte data block of the SECURITY commands that carry a password (ACS-4 7.43-7.47):
/// word 0 control bits, words 1-16 the password.
pub fn password_block(password: &[u8], enhanced: bool) -> Vec<u8> {
    let mut data = vec![0u8; 512];
    // Word 0: bit 0 = 0 (user password), bit 1 = enhanced erase (ERASE UNIT only).
    data[0] = if enhanced { 0x02 } else { 0x00 };
    let n = password.len().min(32);
    data[2..2 + n].copy_from_slice(&password[..n]);
    data
}

impl AtaCommand {
    /// A PIO data-out command of one 512-byte block.
    pub fn pio_out(command: u8) -> Self {
        AtaCommand {
            command,
            features: 0,
            count: 1,
            lba: 0,
            device: 0x40,
            protocol: Protocol::PioDataOut,
            extend: false,
            blocks: 1,
            check_condition: true,
        }
    }

    /// SECURITY SET PASSWORD (user password, high security); data from [`password_block`].
    pub fn security_set_password() -> Self {
        Self::pio_out(opcode::SECURITY_SET_PASSWORD)
    }
    /// SECURITY ERASE PREPARE.
    pub fn security_erase_prepare() -> Self {
        Self::non_data(opcode::SECURITY_ERASE_PREPARE, 0, 0, 0, false)
    }
    /// SECURITY ERASE UNIT; data from [`password_block`] with the enhanced bit.
    pub fn security_erase_unit() -> Self {
        Self::pio_out(opcode::SECURITY_ERASE_UNIT)
    }
    /// SECURITY DISABLE PASSWORD; data from [`password_block`].
    pub fn security_disable_password() -> Self {
        Self::pio_out(opcode::SECURITY_DISABLE_PASSWORD)
    }

    /// SANITIZE DEVICE with a feature code (ACS-4 7.40): `0x0000` status, `0x0011` crypto
    /// scramble, `0x0012` block erase, `0x0014` overwrite. The LBA field carries each
    /// operation's signature.
    pub fn sanitize(feature: u16, count: u16, lba: u64) -> Self {
        Self::non_data(opcode::SANITIZE_DEVICE, feature, count, lba, true)
    }
    /// SANITIZE STATUS EXT (optionally clearing a failed state).
    pub fn sanitize_status(clear_failure: bool) -> Self {
        Self::sanitize(sanitize::STATUS, u16::from(clear_failure), 0)
    }
    /// CRYPTO SCRAMBLE EXT.
    pub fn sanitize_crypto() -> Self {
        Self::sanitize(sanitize::CRYPTO, 0, sanitize::CRYPTO_KEY)
    }
    /// BLOCK ERASE EXT.
    pub fn sanitize_block() -> Self {
        Self::sanitize(sanitize::BLOCK, 0, sanitize::BLOCK_KEY)
    }
    /// OVERWRITE EXT: one pass of a 32-bit `pattern`.
    pub fn sanitize_overwrite(pattern: u32) -> Self {
        Self::sanitize(
            sanitize::OVERWRITE,
            1,
            sanitize::OVERWRITE_KEY << 32 | pattern as u64,
        )
    }

    /// READ NATIVE MAX ADDRESS EXT: the LBA register returns the native max LBA.
    pub fn read_native_max_ext() -> Self {
        Self::non_data(opcode::READ_NATIVE_MAX_ADDRESS_EXT, 0, 0, 0, true)
    }
    /// SET MAX ADDRESS EXT to `max_lba`, volatile (lost at power off) unless `keep`.
    pub fn set_max_ext(max_lba: u64, keep: bool) -> Self {
        Self::non_data(
            opcode::SET_MAX_ADDRESS_EXT,
            0,
            u16::from(keep),
            max_lba,
            true,
        )
    }
    /// GET NATIVE MAX ADDRESS EXT (Accessible Max Address Configuration).
    pub fn get_native_max_ext() -> Self {
        Self::non_data(
            opcode::ACCESSIBLE_MAX_ADDRESS_CONFIGURATION,
            0x0000,
            0,
            0,
            true,
        )
    }
    /// SET ACCESSIBLE MAX ADDRESS EXT to `max_lba`.
    pub fn set_accessible_max_ext(max_lba: u64) -> Self {
        Self::non_data(
            opcode::ACCESSIBLE_MAX_ADDRESS_CONFIGURATION,
            0x0001,
            0,
            max_lba,
            true,
        )
    }
    /// DEVICE CONFIGURATION IDENTIFY: 512 bytes in.
    pub fn dco_identify() -> Self {
        AtaCommand {
            command: opcode::DEVICE_CONFIGURATION_OVERLAY,
            features: 0xC2,
            count: 1,
            lba: 0,
            device: 0x40,
            protocol: Protocol::PioDataIn,
            extend: false,
            blocks: 1,
            check_condition: false,
        }
    }
}

/// SANITIZE DEVICE feature codes and signatures (ACS-4 7.40).
pub mod sanitize {
    pub const STATUS: u16 = 0x0000;
    pub const CRYPTO: u16 = 0x0011;
    pub const BLOCK: u16 = 0x0012;
    pub const OVERWRITE: u16 = 0x0014;
    /// "Cryp".
    pub const CRYPTO_KEY: u64 = 0x4372_7970;
    /// "BkEr".
    pub const BLOCK_KEY: u64 = 0x426B_4572;
    /// "OW", in LBA bits 47:32.
    pub const OVERWRITE_KEY: u64 = 0x4F57;
}

/// What SANITIZE STATUS EXT reports (count and LBA registers of the reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SanitizeStatus {
    pub completed_without_error: bool,
    pub in_progress: bool,
    pub frozen: bool,
    /// Progress, 0..=65535 of 65536.
    pub progress: u16,
}

impl SanitizeStatus {
    pub fn decode(count: u16, lba: u64) -> SanitizeStatus {
        SanitizeStatus {
            completed_without_error: count & 0x8000 != 0,
            in_progress: count & 0x4000 != 0,
            frozen: count & 0x2000 != 0,
            progress: (lba & 0xffff) as u16,
        }
    }
}

/// The maximum LBA a DEVICE CONFIGURATION IDENTIFY reply allows (words 3-6).
pub fn decode_dco_max_lba(data: &[u8]) -> Option<u64> {
    if data.len() < 512 {
        return None;
    }
    let w = |i: usize| u16::from_le_bytes([data[2 * i], data[2 * i + 1]]) as u64;
    if w(0) == 0 {
        return None;
    }
    Some(w(3) | w(4) << 16 | w(5) << 32 | w(6) << 48)
}

/// ATA Security feature set state (IDENTIFY word 128, erase times words 89-90).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct SecurityState {
    pub supported: bool,
    pub enabled: bool,
    pub locked: bool,
    pub frozen: bool,
    pub count_expired: bool,
    pub enhanced_erase_supported: bool,
    /// The drive's estimate for SECURITY ERASE UNIT (normal), minutes.
    pub erase_minutes: Option<u32>,
    /// The drive's estimate for enhanced erase, minutes.
    pub enhanced_erase_minutes: Option<u32>,
}

/// SANITIZE feature set support (IDENTIFY word 59).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct AtaSanitizeSupport {
    pub supported: bool,
    pub crypto_scramble: bool,
    pub block_erase: bool,
    pub overwrite: bool,
}

/// The fields of IDENTIFY DEVICE data that wipeproof uses.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AtaIdentify {
    pub model: String,
    pub serial: String,
    pub firmware: String,
    /// World wide name (NAA 5), words 108-111.
    pub wwn: Option<u64>,
    pub lba48: bool,
    /// User-addressable sectors as currently reported (after any HPA/AMA limit).
    pub user_sectors: u64,
    pub logical_sector_size: u32,
    pub physical_sector_size: u32,
    /// Nominal media rotation rate: `Some(1)` is a non-rotating (solid state) device.
    pub rotation_rate: Option<u16>,
    pub security: SecurityState,
    pub sanitize: AtaSanitizeSupport,
    pub hpa_supported: bool,
    pub hpa_enabled: bool,
    pub dco_supported: bool,
    pub ama_supported: bool,
    pub trim_supported: bool,
}

impl AtaIdentify {
    /// True when the drive reports no rotation (SSD).
    pub fn is_solid_state(&self) -> bool {
        self.rotation_rate == Some(1)
    }
}

/// Errors decoding IDENTIFY data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifyError {
    #[error("identify data is {0} bytes, expected {1}")]
    Length(usize, usize),
    #[error("identify data fails its integrity checksum (word 255)")]
    Checksum,
    #[error("identify data describes an ATAPI (packet) device, not a disk")]
    NotAta,
}

/// Decodes 512 bytes of IDENTIFY DEVICE data.
pub fn decode_identify(data: &[u8]) -> Result<AtaIdentify, IdentifyError> {
    if data.len() != 512 {
        return Err(IdentifyError::Length(data.len(), 512));
    }
    let w = |i: usize| u16::from_le_bytes([data[2 * i], data[2 * i + 1]]);
    // Word 255: if the signature byte is A5h, all 512 bytes sum to zero modulo 256.
    if w(255) & 0xff == 0xa5 && data.iter().fold(0u8, |a, &b| a.wrapping_add(b)) != 0 {
        return Err(IdentifyError::Checksum);
    }
    if w(0) & 0x8000 != 0 {
        return Err(IdentifyError::NotAta);
    }
    let bit = |word: usize, b: u32| w(word) & (1 << b) != 0;
    // Words 83/84/87 are valid only if bit 14 is set and bit 15 clear.
    let valid = |word: usize| w(word) & 0xc000 == 0x4000;

    let lba48 = valid(83) && bit(83, 10);
    let sectors28 = w(60) as u64 | (w(61) as u64) << 16;
    let sectors48 = (0..4).fold(0u64, |acc, i| acc | (w(100 + i) as u64) << (16 * i));
    let user_sectors = if lba48 && sectors48 != 0 {
        sectors48
    } else {
        sectors28
    };

    let mut logical = 512u32;
    let mut physical = 512u32;
    if w(106) & 0xc000 == 0x4000 {
        if bit(106, 12) {
            let words = w(117) as u32 | (w(118) as u32) << 16;
            if (256..=32768).contains(&words) {
                logical = words * 2;
            }
        }
        if bit(106, 13) {
            physical = logical << (w(106) & 0x0f).min(7);
        } else {
            physical = logical;
        }
    }

    let wwn = (valid(84) && bit(84, 8) || valid(87) && bit(87, 8))
        .then(|| (0..4).fold(0u64, |acc, i| acc << 16 | w(108 + i) as u64))
        .filter(|&v| v != 0);

    let rotation_rate = match w(217) {
        0 | 0xffff => None,
        v => Some(v),
    };

    let erase_time = |word: usize| {
        let v = w(word);
        let minutes = if v & 0x8000 != 0 {
            (v & 0x7fff) as u32 * 2
        } else {
            (v & 0xff) as u32 * 2
        };
        (minutes != 0).then_some(minutes)
    };
    let sec = w(128);
    let security = SecurityState {
        supported: sec & 0x01 != 0,
        enabled: sec & 0x02 != 0,
        locked: sec & 0x04 != 0,
        frozen: sec & 0x08 != 0,
        count_expired: sec & 0x10 != 0,
        enhanced_erase_supported: sec & 0x20 != 0,
        erase_minutes: erase_time(89),
        enhanced_erase_minutes: erase_time(90),
    };
    let sanitize = AtaSanitizeSupport {
        supported: bit(59, 12),
        crypto_scramble: bit(59, 12) && bit(59, 13),
        overwrite: bit(59, 12) && bit(59, 14),
        block_erase: bit(59, 12) && bit(59, 15),
    };

    Ok(AtaIdentify {
        serial: ata_string(data, 10, 20),
        firmware: ata_string(data, 23, 27),
        model: ata_string(data, 27, 47),
        wwn,
        lba48,
        user_sectors,
        logical_sector_size: logical,
        physical_sector_size: physical,
        rotation_rate,
        security,
        sanitize,
        hpa_supported: valid(83) && bit(82, 10),
        hpa_enabled: bit(85, 10),
        dco_supported: valid(83) && bit(83, 11),
        ama_supported: w(119) & 0xc000 == 0x4000 && bit(119, 8),
        trim_supported: bit(169, 0),
    })
}

/// Decodes an ATA string: words `[from, to)`, two characters per word, first character in the
/// high byte. Padding (spaces, NULs) is trimmed; anything unprintable becomes `?`.
pub fn ata_string(data: &[u8], from: usize, to: usize) -> String {
    let mut s = String::with_capacity((to - from) * 2);
    for i in from..to {
        let (Some(&lo), Some(&hi)) = (data.get(2 * i), data.get(2 * i + 1)) else {
            break;
        };
        for c in [hi, lo] {
            s.push(if c.is_ascii_graphic() || c == b' ' {
                c as char
            } else if c == 0 {
                ' '
            } else {
                '?'
            });
        }
    }
    s.trim().to_string()
}

/// Test fixtures: IDENTIFY data built field by field as ACS-4 lays it out.
#[cfg(any(test, feature = "test-fixtures"))]
pub mod fixture {
    /// Builder for 512 bytes of IDENTIFY DEVICE data.
    #[derive(Clone)]
    pub struct IdentifyBuilder {
        words: [u16; 256],
    }

    impl Default for IdentifyBuilder {
        fn default() -> Self {
            Self::new()
        }
    }

    impl IdentifyBuilder {
        /// A plain 48-bit LBA disk with 512-byte sectors and valid feature words.
        pub fn new() -> Self {
            let mut words = [0u16; 256];
            words[0] = 0x0040;
            words[49] = 1 << 9;
            words[83] = 0x4000 | 1 << 10;
            words[84] = 0x4000;
            words[87] = 0x4000;
            words[106] = 0x4000;
            words[119] = 0x4000;
            IdentifyBuilder { words }
        }
        pub fn word(mut self, i: usize, v: u16) -> Self {
            self.words[i] = v;
            self
        }
        pub fn set_bits(mut self, i: usize, mask: u16) -> Self {
            self.words[i] |= mask;
            self
        }
        /// Writes an ATA string (byte-swapped words, space padded) into words `[from, to)`.
        pub fn string(mut self, from: usize, to: usize, s: &str) -> Self {
            let mut bytes = s.as_bytes().to_vec();
            bytes.resize((to - from) * 2, b' ');
            for (k, pair) in bytes.chunks(2).enumerate() {
                self.words[from + k] = (pair[0] as u16) << 8 | pair[1] as u16;
            }
            self
        }
        pub fn model(self, s: &str) -> Self {
            self.string(27, 47, s)
        }
        pub fn serial(self, s: &str) -> Self {
            self.string(10, 20, s)
        }
        pub fn firmware(self, s: &str) -> Self {
            self.string(23, 27, s)
        }
        pub fn sectors(mut self, n: u64) -> Self {
            for i in 0..4 {
                self.words[100 + i] = (n >> (16 * i)) as u16;
            }
            let n28 = n.min(0x0fff_ffff);
            self.words[60] = n28 as u16;
            self.words[61] = (n28 >> 16) as u16;
            self
        }
        pub fn wwn(mut self, v: u64) -> Self {
            for i in 0..4 {
                self.words[108 + i] = (v >> (48 - 16 * i)) as u16;
            }
            self.words[84] |= 1 << 8;
            self.words[87] |= 1 << 8;
            self
        }
        /// The 512 bytes, with a valid integrity word.
        pub fn build(&self) -> Vec<u8> {
            let mut words = self.words;
            words[255] = 0x00a5;
            let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            let sum = bytes.iter().fold(0u8, |a, &b| a.wrapping_add(b));
            bytes[511] = 0u8.wrapping_sub(sum);
            bytes
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::IdentifyBuilder;
    use super::*;

    #[test]
    fn decodes_strings_capacity_and_wwn() {
        let data = IdentifyBuilder::new()
            .model("Samsung SSD 870 EVO 1TB")
            .serial("S6PUNX0R123456A")
            .firmware("SVT02B6Q")
            .sectors(1_953_525_168)
            .wwn(0x5002_538f_4123_4567)
            .word(217, 1)
            .build();
        let id = decode_identify(&data).unwrap();
        assert_eq!(id.model, "Samsung SSD 870 EVO 1TB");
        assert_eq!(id.serial, "S6PUNX0R123456A");
        assert_eq!(id.firmware, "SVT02B6Q");
        assert_eq!(id.user_sectors, 1_953_525_168);
        assert!(id.lba48);
        assert_eq!(id.wwn, Some(0x5002_538f_4123_4567));
        assert!(id.is_solid_state());
        assert_eq!(
            (id.logical_sector_size, id.physical_sector_size),
            (512, 512)
        );
    }

    #[test]
    fn ata_strings_are_byte_swapped_words() {
        // "WDC " stored as words 0x5744 ('W','D'), 0x4320 ('C',' ').
        let mut data = vec![0u8; 8];
        data[0..2].copy_from_slice(&0x5744u16.to_le_bytes());
        data[2..4].copy_from_slice(&0x4320u16.to_le_bytes());
        data[4..6].copy_from_slice(&0x2000u16.to_le_bytes());
        assert_eq!(ata_string(&data, 0, 4), "WDC");
    }

    #[test]
    fn decodes_4k_physical_and_4kn_logical_sectors() {
        // 512e: 8 logical per physical (2^3).
        let id = decode_identify(
            &IdentifyBuilder::new()
                .word(106, 0x4000 | 1 << 13 | 3)
                .build(),
        )
        .unwrap();
        assert_eq!(
            (id.logical_sector_size, id.physical_sector_size),
            (512, 4096)
        );
        // 4Kn: logical sector of 2048 words.
        let id = decode_identify(
            &IdentifyBuilder::new()
                .word(106, 0x4000 | 1 << 12)
                .word(117, 2048)
                .word(118, 0)
                .build(),
        )
        .unwrap();
        assert_eq!(
            (id.logical_sector_size, id.physical_sector_size),
            (4096, 4096)
        );
    }

    #[test]
    fn decodes_security_sanitize_and_hidden_area_bits() {
        let id = decode_identify(
            &IdentifyBuilder::new()
                .word(128, 0b10_1001) // supported, frozen, enhanced
                .word(89, 30)
                .word(90, 0x8000 | 500)
                .word(59, 0xF000)
                .set_bits(82, 1 << 10)
                .set_bits(85, 1 << 10)
                .set_bits(83, 1 << 11)
                .set_bits(119, 1 << 8)
                .build(),
        )
        .unwrap();
        assert!(id.security.supported && id.security.frozen && !id.security.enabled);
        assert!(id.security.enhanced_erase_supported);
        assert_eq!(id.security.erase_minutes, Some(60));
        assert_eq!(id.security.enhanced_erase_minutes, Some(1000));
        assert!(id.sanitize.supported && id.sanitize.crypto_scramble);
        assert!(id.sanitize.block_erase && id.sanitize.overwrite);
        assert!(id.hpa_supported && id.hpa_enabled && id.dco_supported && id.ama_supported);
    }

    #[test]
    fn rejects_bad_checksum_wrong_length_and_atapi() {
        let mut data = IdentifyBuilder::new().model("X").build();
        data[54] ^= 1;
        assert_eq!(decode_identify(&data), Err(IdentifyError::Checksum));
        assert_eq!(
            decode_identify(&[0; 100]),
            Err(IdentifyError::Length(100, 512))
        );
        let atapi = IdentifyBuilder::new().word(0, 0x8580).build();
        assert_eq!(decode_identify(&atapi), Err(IdentifyError::NotAta));
    }

    #[test]
    fn security_and_sanitize_encodings() {
        let block = password_block(TEMP_PASSWORD, true);
        assert_eq!(block.len(), 512);
        assert_eq!(block[0], 0x02);
        assert_eq!(&block[2..11], b"wipeproof");
        assert!(block[11..34].iter().all(|&b| b == 0));
        let cdb = AtaCommand::security_erase_unit().to_cdb16();
        // PIO Data-Out, T_DIR=0 (to device), BYTE_BLOCK=1, T_LENGTH=2, CK_COND.
        assert_eq!(cdb[1], 5 << 1);
        assert_eq!(cdb[2], 0x20 | 0x04 | 0x02);
        assert_eq!(cdb[6], 1);
        assert_eq!(cdb[14], 0xF4);
        let cdb = AtaCommand::sanitize_block().to_cdb16();
        assert_eq!(cdb[1], 3 << 1 | 1);
        assert_eq!((cdb[3], cdb[4]), (0x00, 0x12));
        // LBA 0x426B4572: bytes 7:0 in cdb[8], 15:8 in cdb[10], 23:16 in cdb[12], 31:24 in cdb[7].
        assert_eq!([cdb[8], cdb[10], cdb[12], cdb[7]], [0x72, 0x45, 0x6B, 0x42]);
        assert_eq!(cdb[14], 0xB4);
        let ow = AtaCommand::sanitize_overwrite(0xDEAD_BEEF);
        assert_eq!(ow.lba, 0x4F57_DEAD_BEEF);
        assert_eq!(ow.count, 1);
        let s = SanitizeStatus::decode(0x8000, 0xffff);
        assert!(s.completed_without_error && !s.in_progress);
        assert_eq!(s.progress, 0xffff);
    }

    #[test]
    fn dco_identify_max_lba() {
        let mut d = vec![0u8; 512];
        d[0] = 2;
        d[6..8].copy_from_slice(&0x5678u16.to_le_bytes());
        d[8..10].copy_from_slice(&0x1234u16.to_le_bytes());
        assert_eq!(decode_dco_max_lba(&d), Some(0x1234_5678));
        assert_eq!(decode_dco_max_lba(&[0; 10]), None);
    }

    #[test]
    fn identify_cdb_matches_sat() {
        // PIO Data-In, T_DIR=1, BYTE_BLOCK=1, T_LENGTH=2 (count field), count 1, command ECh.
        assert_eq!(
            AtaCommand::identify().to_cdb16(),
            [0x85, 0x08, 0x0e, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0xec, 0]
        );
    }

    #[test]
    fn ext_command_spreads_lba_over_high_and_low_bytes() {
        let cmd = AtaCommand::non_data(0x37, 0x0001, 0, 0x0000_1234_5678_9abc, true);
        let cdb = cmd.to_cdb16();
        assert_eq!(cdb[1], 3 << 1 | 1);
        assert_eq!(cdb[2], 0x20); // CK_COND only
        assert_eq!(cdb[4], 0x01);
        assert_eq!([cdb[8], cdb[10], cdb[12]], [0xbc, 0x9a, 0x78]);
        assert_eq!([cdb[7], cdb[9], cdb[11]], [0x56, 0x34, 0x12]);
        assert_eq!(cdb[13], 0x40);
        assert_eq!(cdb[14], 0x37);
    }
}
