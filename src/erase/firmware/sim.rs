//! Simulated drives for tests of what no emulator offers: ATA security and sanitize, frozen and
//! locked states, aborted commands, NVMe and SCSI sanitize, a power loss mid-sanitize, hidden
//! areas.
//!
//! The simulators work at the byte level: they receive exactly the CDBs and admin commands the
//! real transport would carry, decode them themselves, follow the state machines of ACS-4
//! (Security: SEC1..SEC6; SANITIZE), NVMe 2.0 (Sanitize Status log) and SBC-4 (SANITIZE with
//! IMMED), and answer with sense data (descriptor format with an ATA Status Return descriptor)
//! or completion status. So the real encoding, decoding and orchestration code runs.
//!
//! What they cannot prove: that a given real drive implements its commands as the standards say,
//! how long real operations take, or that data is physically gone from flash. They model a small
//! drive's user data as a byte array; "erase" sets it to a pattern. Real drives are covered by
//! the QEMU tests (NVMe Format, identify, refusals) and, for the rest, only by the standards
//! these models follow.

use std::time::Duration;

use crate::device::ata::fixture::IdentifyBuilder;
use crate::device::nvme::{self, AdminCommand, Completion};
use crate::device::nvme_status::NvmeStatus;
use crate::device::transport::{
    DataPhase, NvmeTransport, ScsiReply, ScsiTransport, TransportError,
};

/// Sense bytes carrying ATA registers (descriptor format, ATA Status Return descriptor).
fn ata_sense(error: u8, status: u8, count: u16, lba: u64) -> Vec<u8> {
    let l = lba.to_le_bytes();
    let [c_hi, c_lo] = count.to_be_bytes();
    vec![
        0x72, 0x01, 0x00, 0x1d, 0, 0, 0, 14, 0x09, 0x0c, 0x01, error, c_hi, c_lo, l[3], l[0], l[4],
        l[1], l[5], l[2], 0x40, status,
    ]
}

fn ok_reply(count: u16, lba: u64) -> ScsiReply {
    ScsiReply {
        status: 2,
        host_status: 0,
        driver_status: 8,
        sense: ata_sense(0, 0x50, count, lba),
        residual: 0,
    }
}

fn abort_reply() -> ScsiReply {
    ScsiReply {
        status: 2,
        host_status: 0,
        driver_status: 8,
        sense: ata_sense(0x04, 0x51, 0, 0),
        residual: 0,
    }
}

/// Decoded ATA PASS-THROUGH (16) registers.
struct Taskfile {
    command: u8,
    features: u16,
    count: u16,
    lba: u64,
}

fn decode_pt16(cdb: &[u8]) -> Option<Taskfile> {
    if cdb.len() != 16 || cdb[0] != 0x85 {
        return None;
    }
    let ext = cdb[1] & 1 != 0;
    let lba = cdb[8] as u64
        | (cdb[10] as u64) << 8
        | (cdb[12] as u64) << 16
        | if ext {
            (cdb[7] as u64) << 24 | (cdb[9] as u64) << 32 | (cdb[11] as u64) << 40
        } else {
            0
        };
    Some(Taskfile {
        command: cdb[14],
        features: u16::from_be_bytes([if ext { cdb[3] } else { 0 }, cdb[4]]),
        count: u16::from_be_bytes([if ext { cdb[5] } else { 0 }, cdb[6]]),
        lba,
    })
}

/// An ATA drive behind a SAT layer.
#[derive(Debug, Clone)]
pub struct SimAta {
    pub sectors: u64,
    pub native_sectors: u64,
    pub dco_sectors: u64,
    pub security_supported: bool,
    pub enhanced_supported: bool,
    pub frozen: bool,
    pub password: Option<Vec<u8>>,
    pub locked: bool,
    /// SANITIZE support: crypto, block, overwrite.
    pub sanitize: (bool, bool, bool),
    /// Sanitize in progress: polls left before completion.
    pub sanitize_polls_left: Option<u32>,
    pub sanitize_failed: bool,
    /// Make the next command with this opcode abort.
    pub fail_next: Option<u8>,
    /// Fail every SECURITY ERASE UNIT.
    pub erase_unit_fails: bool,
    /// Fail every SECURITY DISABLE PASSWORD.
    pub disable_fails: bool,
    pub erase_prepared: bool,
    /// "User data": one byte per sector is enough to see what an erase did.
    pub data: Vec<u8>,
    /// Every command received, by opcode.
    pub log: Vec<u8>,
}

impl SimAta {
    pub fn new(sectors: u64) -> SimAta {
        SimAta {
            sectors,
            native_sectors: sectors,
            dco_sectors: sectors,
            security_supported: true,
            enhanced_supported: true,
            frozen: false,
            password: None,
            locked: false,
            sanitize: (true, true, true),
            sanitize_polls_left: None,
            sanitize_failed: false,
            fail_next: None,
            erase_unit_fails: false,
            disable_fails: false,
            erase_prepared: false,
            data: (0..sectors).map(|i| (i % 251) as u8 + 1).collect(),
            log: Vec::new(),
        }
    }

    fn identify(&self) -> Vec<u8> {
        let mut sec = 0u16;
        if self.security_supported {
            sec |= 1;
        }
        if self.password.is_some() {
            sec |= 2;
        }
        if self.locked {
            sec |= 4;
        }
        if self.frozen {
            sec |= 8;
        }
        if self.enhanced_supported {
            sec |= 0x20;
        }
        let mut san = 0u16;
        let (c, b, o) = self.sanitize;
        if c || b || o {
            san |= 1 << 12;
        }
        if c {
            san |= 1 << 13;
        }
        if o {
            san |= 1 << 14;
        }
        if b {
            san |= 1 << 15;
        }
        IdentifyBuilder::new()
            .model("SIMULATED ATA SSD")
            .serial("SIM-ATA-0001")
            .firmware("1.0")
            .sectors(self.sectors)
            .word(217, 1)
            .word(128, sec)
            .word(89, 2)
            .word(90, 2)
            .word(59, san)
            .set_bits(82, (1 << 10) | 1 << 1)
            .set_bits(83, 1 << 11)
            .build()
    }

    /// A power cycle: volatile settings are lost, a running sanitize goes on, security locks.
    pub fn power_cycle(&mut self) {
        self.frozen = false;
        self.erase_prepared = false;
        if self.password.is_some() {
            self.locked = true;
        }
    }

    fn password_of(data: &[u8]) -> Vec<u8> {
        data.get(2..34).unwrap_or(&[]).to_vec()
    }
}

impl ScsiTransport for SimAta {
    fn scsi(
        &mut self,
        cdb: &[u8],
        data: DataPhase<'_>,
        _timeout: Duration,
    ) -> Result<ScsiReply, TransportError> {
        let Some(tf) = decode_pt16(cdb) else {
            // Not ATA pass-through: an ATA drive answers SCSI commands only through SAT.
            return Ok(ScsiReply {
                status: 2,
                host_status: 0,
                driver_status: 8,
                sense: vec![
                    0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0,
                ],
                residual: 0,
            });
        };
        self.log.push(tf.command);
        if self.fail_next == Some(tf.command) {
            self.fail_next = None;
            return Ok(abort_reply());
        }
        let sanitizing = self.sanitize_polls_left.is_some();
        match tf.command {
            0xEC => {
                if let DataPhase::FromDevice(buf) = data {
                    let id = self.identify();
                    let n = buf.len().min(512);
                    buf[..n].copy_from_slice(&id[..n]);
                }
                Ok(ScsiReply::default())
            }
            // SECURITY SET PASSWORD
            0xF1 => {
                if self.frozen || self.locked || !self.security_supported || sanitizing {
                    return Ok(abort_reply());
                }
                let DataPhase::ToDevice(d) = data else {
                    return Ok(abort_reply());
                };
                self.password = Some(Self::password_of(d));
                Ok(ok_reply(0, 0))
            }
            0xF3 => {
                if self.frozen {
                    return Ok(abort_reply());
                }
                self.erase_prepared = true;
                Ok(ok_reply(0, 0))
            }
            // SECURITY ERASE UNIT
            0xF4 => {
                let prepared = std::mem::replace(&mut self.erase_prepared, false);
                let DataPhase::ToDevice(d) = data else {
                    return Ok(abort_reply());
                };
                let pw_ok = self.password.as_deref() == Some(&Self::password_of(d)[..]);
                if !prepared || self.frozen || !pw_ok || self.erase_unit_fails {
                    return Ok(abort_reply());
                }
                let enhanced = d[0] & 0x02 != 0;
                self.data.fill(if enhanced { 0xA5 } else { 0 });
                self.password = None;
                self.locked = false;
                Ok(ok_reply(0, 0))
            }
            // SECURITY DISABLE PASSWORD
            0xF6 => {
                let DataPhase::ToDevice(d) = data else {
                    return Ok(abort_reply());
                };
                if self.disable_fails
                    || self.frozen
                    || self.password.as_deref() != Some(&Self::password_of(d)[..])
                {
                    return Ok(abort_reply());
                }
                self.password = None;
                self.locked = false;
                Ok(ok_reply(0, 0))
            }
            // SANITIZE DEVICE
            0xB4 => match tf.features {
                0x0000 => {
                    if tf.count & 1 != 0 {
                        self.sanitize_failed = false;
                    }
                    if let Some(left) = self.sanitize_polls_left {
                        if left == 0 {
                            self.sanitize_polls_left = None;
                            if self.sanitize_failed {
                                return Ok(abort_reply());
                            }
                            return Ok(ok_reply(0x8000, 0xffff));
                        }
                        self.sanitize_polls_left = Some(left - 1);
                        let progress = 0xffff / (left as u64 + 1);
                        return Ok(ok_reply(0x4000, progress));
                    }
                    if self.sanitize_failed {
                        return Ok(abort_reply());
                    }
                    Ok(ok_reply(0x8000, 0))
                }
                f => {
                    let (c, b, o) = self.sanitize;
                    let (ok, key, fill) = match f {
                        0x0011 => (c, 0x4372_7970, 0x5C),
                        0x0012 => (b, 0x426B_4572, 0xFF),
                        0x0014 => (o, 0x4F57_0000_0000 | (tf.lba & 0xffff_ffff), 0),
                        _ => (false, 0, 0),
                    };
                    let key_ok = if f == 0x0014 {
                        tf.lba >> 32 == 0x4F57
                    } else {
                        tf.lba == key
                    };
                    if !ok || !key_ok || sanitizing || self.locked {
                        return Ok(abort_reply());
                    }
                    self.data.fill(fill);
                    self.sanitize_polls_left = Some(3);
                    Ok(ok_reply(0, 0))
                }
            },
            // READ NATIVE MAX ADDRESS EXT
            0x27 => Ok(ok_reply(0, self.native_sectors - 1)),
            // SET MAX ADDRESS EXT
            0x37 => {
                if tf.lba + 1 > self.native_sectors {
                    return Ok(abort_reply());
                }
                self.sectors = tf.lba + 1;
                Ok(ok_reply(0, tf.lba))
            }
            // DEVICE CONFIGURATION IDENTIFY
            0xB1 if tf.features == 0xC2 => {
                if let DataPhase::FromDevice(buf) = data {
                    buf.fill(0);
                    buf[0] = 2;
                    let m = self.dco_sectors - 1;
                    for i in 0..4 {
                        let w = ((m >> (16 * i)) & 0xffff) as u16;
                        buf[6 + 2 * i..8 + 2 * i].copy_from_slice(&w.to_le_bytes());
                    }
                }
                Ok(ScsiReply::default())
            }
            _ => Ok(abort_reply()),
        }
    }
}

/// An NVMe controller with one namespace.
#[derive(Debug, Clone)]
pub struct SimNvme {
    pub oacs_format: bool,
    pub fna_crypto: bool,
    pub sanicap: u32,
    pub sanitize_polls_left: Option<u32>,
    pub sanitize_fails: bool,
    pub last_sanitize_status: u8,
    pub data: Vec<u8>,
    pub commands: Vec<(u8, u32)>,
}

impl SimNvme {
    pub fn new() -> SimNvme {
        SimNvme {
            oacs_format: true,
            fna_crypto: false,
            sanicap: 0,
            sanitize_polls_left: None,
            sanitize_fails: false,
            last_sanitize_status: 0,
            data: vec![0x77; 64],
            commands: Vec::new(),
        }
    }
}

impl Default for SimNvme {
    fn default() -> Self {
        Self::new()
    }
}

impl NvmeTransport for SimNvme {
    fn admin(
        &mut self,
        cmd: &AdminCommand,
        data: &mut [u8],
        _timeout: Duration,
    ) -> Result<Completion, TransportError> {
        // The same contract as the kernel transport: a short buffer is refused, not shrunk.
        let data = crate::device::transport::nvme_data_phase(cmd, data)?;
        self.commands.push((cmd.opcode, cmd.cdw10));
        let answer = |status: NvmeStatus| Completion {
            status: status.field(),
            result: 0,
        };
        let ok = answer(NvmeStatus::SUCCESS);
        let invalid = answer(NvmeStatus::INVALID_FIELD);
        let in_progress = answer(NvmeStatus::SANITIZE_IN_PROGRESS);
        match cmd.opcode {
            nvme::opcode::IDENTIFY => {
                let bytes = if cmd.cdw10 == 1 {
                    nvme::fixture::controller(
                        "SIM-NVME-0001",
                        "SIMULATED NVME",
                        "1.0",
                        if self.oacs_format { 0b10 } else { 0 },
                        self.sanicap,
                        if self.fna_crypto { 0x4 } else { 0 },
                    )
                } else {
                    nvme::fixture::namespace(1 << 20, 9, 0x09)
                };
                let n = data.len().min(bytes.len());
                data[..n].copy_from_slice(&bytes[..n]);
                Ok(ok)
            }
            nvme::opcode::FORMAT_NVM => {
                let ses = (cmd.cdw10 >> 9) & 0x7;
                if !self.oacs_format || (ses == 2 && !self.fna_crypto) || ses > 2 {
                    return Ok(invalid);
                }
                if self.sanitize_polls_left.is_some() {
                    return Ok(in_progress);
                }
                self.data.fill(0);
                Ok(ok)
            }
            nvme::opcode::SANITIZE => {
                let action = cmd.cdw10 & 0x7;
                let supported = match action {
                    2 => self.sanicap & 2 != 0,
                    3 => self.sanicap & 4 != 0,
                    4 => self.sanicap & 1 != 0,
                    _ => false,
                };
                if !supported {
                    return Ok(invalid);
                }
                if self.sanitize_polls_left.is_some() {
                    return Ok(in_progress);
                }
                self.data.fill(if action == 4 { 0x3C } else { 0 });
                self.sanitize_polls_left = Some(3);
                self.last_sanitize_status = nvme::SanitizeLog::IN_PROGRESS;
                Ok(ok)
            }
            nvme::opcode::GET_LOG_PAGE if cmd.cdw10 & 0xff == 0x81 => {
                data.fill(0);
                let (progress, status) = match self.sanitize_polls_left {
                    Some(0) => {
                        self.sanitize_polls_left = None;
                        self.last_sanitize_status = if self.sanitize_fails {
                            nvme::SanitizeLog::FAILED
                        } else {
                            nvme::SanitizeLog::COMPLETED
                        };
                        (0xffffu16, self.last_sanitize_status)
                    }
                    Some(n) => {
                        self.sanitize_polls_left = Some(n - 1);
                        ((0xffff / (n + 1)) as u16, nvme::SanitizeLog::IN_PROGRESS)
                    }
                    None => (0xffff, self.last_sanitize_status),
                };
                if data.len() >= 20 {
                    data[0..2].copy_from_slice(&progress.to_le_bytes());
                    data[2..4].copy_from_slice(&(status as u16 | 0x100).to_le_bytes());
                    data[8..20].fill(0xff);
                }
                Ok(ok)
            }
            _ => Ok(answer(NvmeStatus::INVALID_OPCODE)),
        }
    }
}

/// A SCSI disk with SANITIZE.
#[derive(Debug, Clone)]
pub struct SimScsi {
    pub overwrite: bool,
    pub block: bool,
    pub crypto: bool,
    pub polls_left: Option<u32>,
    pub fails: bool,
    pub data: Vec<u8>,
}

impl SimScsi {
    pub fn new() -> SimScsi {
        SimScsi {
            overwrite: true,
            block: false,
            crypto: true,
            polls_left: None,
            fails: false,
            data: vec![0x66; 64],
        }
    }
}

impl Default for SimScsi {
    fn default() -> Self {
        Self::new()
    }
}

impl ScsiTransport for SimScsi {
    fn scsi(
        &mut self,
        cdb: &[u8],
        data: DataPhase<'_>,
        _timeout: Duration,
    ) -> Result<ScsiReply, TransportError> {
        let fixed = |key: u8, asc: u8, ascq: u8, progress: Option<u16>| {
            let mut s = vec![0u8; 18];
            s[0] = 0x70;
            s[2] = key;
            s[7] = 10;
            s[12] = asc;
            s[13] = ascq;
            if let Some(p) = progress {
                s[15] = 0x80;
                s[16..18].copy_from_slice(&p.to_be_bytes());
            }
            s
        };
        let check = |sense: Vec<u8>| ScsiReply {
            status: 2,
            host_status: 0,
            driver_status: 8,
            sense,
            residual: 0,
        };
        match cdb.first() {
            // ATA PASS-THROUGH: not an ATA device.
            Some(0x85) => Ok(check(fixed(0x05, 0x20, 0, None))),
            Some(0xA3) if cdb.get(1) == Some(&0x0C) => {
                let sa = cdb.get(5).copied().unwrap_or(0);
                let supported = match sa {
                    1 => self.overwrite,
                    2 => self.block,
                    3 => self.crypto,
                    _ => false,
                };
                if let DataPhase::FromDevice(buf) = data {
                    buf.fill(0);
                    if buf.len() > 1 {
                        buf[1] = if supported { 0b011 } else { 0b001 };
                    }
                }
                Ok(ScsiReply::default())
            }
            Some(0x48) => {
                let sa = cdb.get(1).copied().unwrap_or(0) & 0x1f;
                let ok = match sa {
                    1 => self.overwrite,
                    2 => self.block,
                    3 => self.crypto,
                    _ => false,
                };
                if !ok {
                    return Ok(check(fixed(0x05, 0x24, 0, None)));
                }
                self.data.fill(0);
                self.polls_left = Some(2);
                Ok(ScsiReply::default())
            }
            // READ CAPACITY (16): 64 blocks of 512 bytes, LBPRZ.
            Some(0x9E) if cdb.get(1) == Some(&0x10) => {
                if let DataPhase::FromDevice(buf) = data {
                    buf.fill(0);
                    if buf.len() >= 16 {
                        buf[0..8].copy_from_slice(&63u64.to_be_bytes());
                        buf[8..12].copy_from_slice(&512u32.to_be_bytes());
                        buf[14] = 0x40;
                    }
                }
                Ok(ScsiReply::default())
            }
            Some(0x03) => {
                let sense = match self.polls_left {
                    Some(0) => {
                        self.polls_left = None;
                        if self.fails {
                            fixed(0x03, 0x31, 0x03, None)
                        } else {
                            fixed(0, 0, 0, None)
                        }
                    }
                    Some(n) => {
                        self.polls_left = Some(n - 1);
                        fixed(0x02, 0x04, 0x1b, Some(0x4000))
                    }
                    None => fixed(0, 0, 0, None),
                };
                if let DataPhase::FromDevice(buf) = data {
                    buf.fill(0);
                    let n = buf.len().min(sense.len());
                    buf[..n].copy_from_slice(&sense[..n]);
                }
                Ok(ScsiReply::default())
            }
            _ => Ok(check(fixed(0x05, 0x20, 0, None))),
        }
    }
}
