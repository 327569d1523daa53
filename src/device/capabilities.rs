//! What a drive can do to erase itself, read from the drive (never assumed from its bus): ATA
//! IDENTIFY (security, sanitize, hidden areas), NVMe Identify Controller and Namespace (format,
//! sanitize, FNA, DLFEAT), SCSI REPORT SUPPORTED OPERATION CODES (SANITIZE). The firmware
//! methods check these bits before sending any command, even where a drive would accept it.

use std::time::Duration;

use serde::Serialize;

use super::ata::{self, AtaCommand, AtaIdentify, AtaSanitizeSupport, SecurityState};
use super::identity::{Transport, read_ata_identify};
use super::nvme::{self, AdminCommand, IdentifyController, IdentifyNamespace};
use super::scsi;
use super::sense::Sense;
use super::transport::{DataPhase, NvmeTransport, ScsiTransport};

const TIMEOUT: Duration = Duration::from_secs(15);

/// ATA capabilities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AtaCapabilities {
    pub security: SecurityState,
    pub sanitize: AtaSanitizeSupport,
    pub user_sectors: u64,
    /// From READ NATIVE MAX ADDRESS EXT / GET NATIVE MAX ADDRESS EXT.
    pub native_max_sectors: Option<u64>,
    /// From DEVICE CONFIGURATION IDENTIFY.
    pub dco_max_sectors: Option<u64>,
    pub hpa_supported: bool,
    pub hpa_enabled: bool,
    pub dco_supported: bool,
    pub ama_supported: bool,
    pub solid_state: bool,
    #[serde(skip)]
    pub identify: AtaIdentify,
}

impl AtaCapabilities {
    /// Sectors hidden by a Host Protected Area or Accessible Max Address limit.
    pub fn hpa_sectors(&self) -> u64 {
        self.native_max_sectors
            .map(|n| n.saturating_sub(self.user_sectors))
            .unwrap_or(0)
    }
    /// Sectors hidden by a Device Configuration Overlay.
    pub fn dco_sectors(&self) -> u64 {
        match (self.dco_max_sectors, self.native_max_sectors) {
            (Some(d), Some(n)) => d.saturating_sub(n),
            _ => 0,
        }
    }
}

/// NVMe capabilities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NvmeCapabilities {
    pub nsid: u32,
    pub format: bool,
    pub format_crypto: bool,
    pub format_all_namespaces: bool,
    pub sanitize_crypto: bool,
    pub sanitize_block: bool,
    pub sanitize_overwrite: bool,
    pub dlfeat: u8,
    pub lba_format: u8,
    pub lba_size: u32,
    #[serde(skip)]
    pub controller: IdentifyController,
    #[serde(skip)]
    pub namespace: Option<IdentifyNamespace>,
}

/// SCSI SANITIZE service actions the device reports as supported, and its capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ScsiCapabilities {
    pub sanitize_overwrite: bool,
    pub sanitize_block: bool,
    pub sanitize_crypto: bool,
    /// READ CAPACITY (16): logical blocks and their length.
    pub logical_blocks: Option<u64>,
    pub block_length: Option<u32>,
    /// Protection information enabled (PROT_EN).
    pub protection: bool,
    /// Unmapped blocks read as zeros (LBPRZ).
    pub reads_zeros_after_unmap: bool,
}

/// Everything known about a drive's own erase commands.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    pub ata: Option<AtaCapabilities>,
    pub nvme: Option<NvmeCapabilities>,
    pub scsi: Option<ScsiCapabilities>,
}

/// The commands to reach a drive: SCSI/ATA pass-through, NVMe admin, or both absent.
pub struct Transports<'a> {
    pub scsi: Option<&'a mut dyn ScsiTransport>,
    pub nvme: Option<&'a mut dyn NvmeTransport>,
    /// The namespace the block device is (NVMe).
    pub nsid: u32,
}

/// Sends an ATA command through SAT and returns the registers (`Err` with a reason if the
/// drive or the transport refused it).
pub fn ata_exec(
    dev: &mut dyn ScsiTransport,
    cmd: &AtaCommand,
    data: DataPhase<'_>,
    timeout: Duration,
) -> Result<super::sense::AtaStatusReturn, String> {
    let cdb = cmd.to_cdb16();
    let reply = dev.scsi(&cdb, data, timeout).map_err(|e| e.to_string())?;
    if reply.host_status != 0 {
        return Err(format!(
            "the host adapter reported error 0x{:x}",
            reply.host_status
        ));
    }
    let sense = Sense::parse(&reply.sense);
    let ata = sense.as_ref().and_then(|s| s.ata);
    if let Some(r) = ata {
        if r.has_error() || r.device_fault() {
            return Err(format!(
                "the drive aborted command 0x{:02X} (status 0x{:02X}, error 0x{:02X})",
                cmd.command, r.status, r.error
            ));
        }
        return Ok(r);
    }
    match (&sense, reply.status) {
        (None, 0) => Ok(Default::default()),
        (Some(s), _)
            if s.key == super::sense::key::NO_SENSE
                || s.key == super::sense::key::RECOVERED_ERROR =>
        {
            Ok(Default::default())
        }
        (Some(s), _) => Err(format!(
            "command 0x{:02X} failed: {}",
            cmd.command,
            s.describe()
        )),
        (None, st) => Err(format!(
            "command 0x{:02X} failed with SCSI status 0x{st:02x}",
            cmd.command
        )),
    }
}

/// Reads the capabilities of a whole disk by its device node (read-only open; only identify
/// and capability queries are sent). Empty for drives without command pass-through.
pub fn read_for_disk(dev_path: &std::path::Path, transport: Transport) -> Capabilities {
    use super::transport::LinuxDevice;
    if matches!(
        transport,
        Transport::Loop | Transport::Virtio | Transport::File | Transport::Mmc | Transport::Other
    ) {
        return Capabilities::default();
    }
    let (Ok(mut scsi), Ok(mut nvme)) = (
        LinuxDevice::open(dev_path, false),
        LinuxDevice::open(dev_path, false),
    ) else {
        return Capabilities::default();
    };
    let nsid = if transport == Transport::Nvme {
        nvme.nvme_namespace_id().unwrap_or(1)
    } else {
        0
    };
    let mut t = Transports {
        scsi: Some(&mut scsi),
        nvme: Some(&mut nvme),
        nsid,
    };
    read_capabilities(&mut t, transport)
}

impl Capabilities {
    /// Whether nothing is known.
    pub fn is_empty(&self) -> bool {
        self.ata.is_none() && self.nvme.is_none() && self.scsi.is_none()
    }
}

/// Reads the capabilities of a drive over its transports.
pub fn read_capabilities(t: &mut Transports<'_>, transport: Transport) -> Capabilities {
    let mut caps = Capabilities::default();
    match transport {
        Transport::Nvme => {
            if let Some(dev) = t.nvme.as_deref_mut() {
                caps.nvme = nvme_caps(dev, t.nsid);
            }
        }
        Transport::Loop | Transport::Virtio | Transport::File | Transport::Mmc => {}
        _ => {
            if let Some(dev) = t.scsi.as_deref_mut() {
                caps.ata = ata_caps(dev);
                if caps.ata.is_none() {
                    caps.scsi = scsi_caps(dev);
                }
            }
        }
    }
    caps
}

fn ata_caps(dev: &mut dyn ScsiTransport) -> Option<AtaCapabilities> {
    let id = read_ata_identify(dev)?;
    let native = if id.ama_supported {
        ata_exec(
            dev,
            &AtaCommand::get_native_max_ext(),
            DataPhase::None,
            TIMEOUT,
        )
        .ok()
    } else if id.hpa_supported {
        ata_exec(
            dev,
            &AtaCommand::read_native_max_ext(),
            DataPhase::None,
            TIMEOUT,
        )
        .ok()
    } else {
        None
    }
    .map(|r| r.lba + 1);
    let dco = if id.dco_supported {
        let mut data = vec![0u8; 512];
        ata_exec(
            dev,
            &AtaCommand::dco_identify(),
            DataPhase::FromDevice(&mut data),
            TIMEOUT,
        )
        .ok()
        .and_then(|_| ata::decode_dco_max_lba(&data))
        .map(|m| m + 1)
    } else {
        None
    };
    Some(AtaCapabilities {
        security: id.security,
        sanitize: id.sanitize,
        user_sectors: id.user_sectors,
        native_max_sectors: native,
        dco_max_sectors: dco,
        hpa_supported: id.hpa_supported,
        hpa_enabled: id.hpa_enabled,
        dco_supported: id.dco_supported,
        ama_supported: id.ama_supported,
        solid_state: id.is_solid_state(),
        identify: id,
    })
}

fn nvme_caps(dev: &mut dyn NvmeTransport, nsid: u32) -> Option<NvmeCapabilities> {
    let mut data = vec![0u8; 4096];
    let c = dev
        .admin(&AdminCommand::identify_controller(), &mut data, TIMEOUT)
        .ok()
        .filter(|c| c.is_success())?;
    let _ = c;
    let ctrl = nvme::decode_identify_controller(&data).ok()?;
    let mut ns_data = vec![0u8; 4096];
    let ns = dev
        .admin(
            &AdminCommand::identify_namespace(nsid),
            &mut ns_data,
            TIMEOUT,
        )
        .ok()
        .filter(|c| c.is_success())
        .and_then(|_| nvme::decode_identify_namespace(&ns_data).ok());
    Some(NvmeCapabilities {
        nsid,
        format: ctrl.supports_format(),
        format_crypto: ctrl.supports_format() && ctrl.supports_format_crypto(),
        format_all_namespaces: ctrl.format_applies_to_all_namespaces()
            || ctrl.format_erase_applies_to_all_namespaces(),
        sanitize_crypto: ctrl.supports_sanitize_crypto(),
        sanitize_block: ctrl.supports_sanitize_block(),
        sanitize_overwrite: ctrl.supports_sanitize_overwrite(),
        dlfeat: ns.as_ref().map(|n| n.dlfeat).unwrap_or(0),
        lba_format: ns.as_ref().map(|n| n.flbas_index).unwrap_or(0),
        lba_size: ns.as_ref().map(|n| n.lba_data_size).unwrap_or(512),
        controller: ctrl,
        namespace: ns,
    })
}

fn scsi_caps(dev: &mut dyn ScsiTransport) -> Option<ScsiCapabilities> {
    let mut ask = |sa: u8| -> Option<bool> {
        let mut reply = vec![0u8; 64];
        let cdb = scsi::report_supported_opcode(scsi::opcode::SANITIZE, sa as u16, 64);
        let r = dev
            .scsi(&cdb, DataPhase::FromDevice(&mut reply), TIMEOUT)
            .ok()
            .filter(|r| r.is_good())?;
        let _ = r;
        scsi::decode_supported(&reply)
    };
    let overwrite = ask(scsi::sanitize::OVERWRITE);
    let block = ask(scsi::sanitize::BLOCK_ERASE);
    let crypto = ask(scsi::sanitize::CRYPTO_ERASE);
    if overwrite.is_none() && block.is_none() && crypto.is_none() {
        return None;
    }
    let mut cap = vec![0u8; 32];
    let capacity = dev
        .scsi(
            &scsi::read_capacity_16(32),
            DataPhase::FromDevice(&mut cap),
            TIMEOUT,
        )
        .ok()
        .filter(|r| r.is_good())
        .and_then(|_| scsi::decode_capacity_16(&cap));
    Some(ScsiCapabilities {
        sanitize_overwrite: overwrite == Some(true),
        sanitize_block: block == Some(true),
        sanitize_crypto: crypto == Some(true),
        logical_blocks: capacity.map(|c| c.last_lba + 1),
        block_length: capacity.map(|c| c.block_length),
        protection: capacity.is_some_and(|c| c.protection),
        reads_zeros_after_unmap: capacity.is_some_and(|c| c.lbprz),
    })
}
