//! Erasure by the drive's own commands: ATA SECURITY ERASE UNIT and SANITIZE, NVMe Format NVM
//! and Sanitize, SCSI SANITIZE; the capability checks that come first; hidden areas (HPA, DCO,
//! AMA); and `purge`, the strongest Purge technique a drive supports.
//!
//! Method names are fixed so scripts can rely on them. Every method checks the drive's own
//! capability bits before anything is sent; a drive that does not offer a technique is refused
//! untouched.

pub mod hidden;
pub mod policy;
pub mod run;
#[cfg(test)]
pub mod sim;
#[cfg(test)]
mod sim_tests;

use crate::device::capabilities::Capabilities;
use crate::erase::Level;
use policy::{MediaClass, Policy, Technique};

/// Which command set a method uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandSet {
    Ata,
    Nvme,
    Scsi,
}

/// A firmware erasure method.
#[derive(Debug)]
pub struct FirmwareMethod {
    pub name: &'static str,
    pub title: &'static str,
    pub set: CommandSet,
    pub technique: Technique,
    /// The command as the certificate names it.
    pub command: &'static str,
    pub reference: &'static str,
}

/// The firmware methods, strongest first within each command set (`purge` picks in this order).
pub static FIRMWARE_METHODS: &[FirmwareMethod] = &[
    FirmwareMethod {
        name: "nvme-sanitize-crypto",
        title: "NVMe Sanitize, crypto erase",
        set: CommandSet::Nvme,
        technique: Technique::SanitizeCryptoErase,
        command: "NVMe Sanitize (SANACT 100b, crypto erase)",
        reference: "NVM Express Base Specification 2.0, 5.24",
    },
    FirmwareMethod {
        name: "nvme-sanitize-block",
        title: "NVMe Sanitize, block erase",
        set: CommandSet::Nvme,
        technique: Technique::SanitizeBlockErase,
        command: "NVMe Sanitize (SANACT 010b, block erase)",
        reference: "NVM Express Base Specification 2.0, 5.24",
    },
    FirmwareMethod {
        name: "nvme-format-crypto",
        title: "NVMe Format NVM, cryptographic erase",
        set: CommandSet::Nvme,
        technique: Technique::FormatCryptoErase,
        command: "NVMe Format NVM (SES 010b, cryptographic erase)",
        reference: "NVM Express Base Specification 2.0, 5.14",
    },
    FirmwareMethod {
        name: "nvme-sanitize-overwrite",
        title: "NVMe Sanitize, overwrite",
        set: CommandSet::Nvme,
        technique: Technique::SanitizeOverwrite,
        command: "NVMe Sanitize (SANACT 011b, overwrite, 1 pass)",
        reference: "NVM Express Base Specification 2.0, 5.24",
    },
    FirmwareMethod {
        name: "nvme-format-erase",
        title: "NVMe Format NVM, user data erase",
        set: CommandSet::Nvme,
        technique: Technique::FormatUserDataErase,
        command: "NVMe Format NVM (SES 001b, user data erase)",
        reference: "NVM Express Base Specification 2.0, 5.14",
    },
    FirmwareMethod {
        name: "ata-sanitize-crypto",
        title: "ATA SANITIZE, crypto scramble",
        set: CommandSet::Ata,
        technique: Technique::SanitizeCryptoErase,
        command: "ATA SANITIZE DEVICE CRYPTO SCRAMBLE EXT (B4h/0011h)",
        reference: "ACS-4 7.40",
    },
    FirmwareMethod {
        name: "ata-sanitize-block",
        title: "ATA SANITIZE, block erase",
        set: CommandSet::Ata,
        technique: Technique::SanitizeBlockErase,
        command: "ATA SANITIZE DEVICE BLOCK ERASE EXT (B4h/0012h)",
        reference: "ACS-4 7.40",
    },
    FirmwareMethod {
        name: "ata-sanitize-overwrite",
        title: "ATA SANITIZE, overwrite",
        set: CommandSet::Ata,
        technique: Technique::SanitizeOverwrite,
        command: "ATA SANITIZE DEVICE OVERWRITE EXT (B4h/0014h, 1 pass)",
        reference: "ACS-4 7.40",
    },
    FirmwareMethod {
        name: "ata-enhanced-secure-erase",
        title: "ATA Security, enhanced erase",
        set: CommandSet::Ata,
        technique: Technique::AtaEnhancedSecurityErase,
        command: "ATA SECURITY ERASE UNIT, enhanced (F4h)",
        reference: "ACS-4 7.45",
    },
    FirmwareMethod {
        name: "ata-secure-erase",
        title: "ATA Security, normal erase",
        set: CommandSet::Ata,
        technique: Technique::AtaSecurityErase,
        command: "ATA SECURITY ERASE UNIT, normal (F4h)",
        reference: "ACS-4 7.45",
    },
    FirmwareMethod {
        name: "scsi-sanitize-crypto",
        title: "SCSI SANITIZE, cryptographic erase",
        set: CommandSet::Scsi,
        technique: Technique::SanitizeCryptoErase,
        command: "SCSI SANITIZE (48h, service action 03h)",
        reference: "SBC-4 5.30",
    },
    FirmwareMethod {
        name: "scsi-sanitize-block",
        title: "SCSI SANITIZE, block erase",
        set: CommandSet::Scsi,
        technique: Technique::SanitizeBlockErase,
        command: "SCSI SANITIZE (48h, service action 02h)",
        reference: "SBC-4 5.30",
    },
    FirmwareMethod {
        name: "scsi-sanitize-overwrite",
        title: "SCSI SANITIZE, overwrite",
        set: CommandSet::Scsi,
        technique: Technique::SanitizeOverwrite,
        command: "SCSI SANITIZE (48h, service action 01h, 1 pass)",
        reference: "SBC-4 5.30",
    },
];

/// The name that asks for the strongest Purge technique the drive supports.
pub const PURGE: &str = "purge";

/// Finds a firmware method by name.
pub fn find(name: &str) -> Option<&'static FirmwareMethod> {
    FIRMWARE_METHODS.iter().find(|m| m.name == name)
}

/// Whether a name is a firmware method or `purge`.
pub fn is_firmware(name: &str) -> bool {
    name == PURGE || find(name).is_some()
}

/// Why a drive cannot run a method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    pub reason: String,
}

/// Checks that the drive offers `m`, from its own capability bits. `Ok` means it may be sent.
pub fn check_supported(m: &FirmwareMethod, caps: &Capabilities) -> Result<(), Unsupported> {
    let no = |reason: String| Err(Unsupported { reason });
    match m.set {
        CommandSet::Ata => {
            let Some(a) = &caps.ata else {
                return no("it does not answer ATA commands (it is not an ATA drive, or the adapter does not pass ATA commands through)".into());
            };
            match m.technique {
                Technique::AtaSecurityErase | Technique::AtaEnhancedSecurityErase => {
                    let s = &a.security;
                    if !s.supported {
                        return no("it does not support the ATA Security feature set".into());
                    }
                    if m.technique == Technique::AtaEnhancedSecurityErase
                        && !s.enhanced_erase_supported
                    {
                        return no(
                            "it supports only the normal, not the enhanced, security erase".into(),
                        );
                    }
                    if s.locked {
                        return no("it is locked with a password wipeproof does not know; unlock it first (hdparm --security-unlock)".into());
                    }
                    if s.enabled {
                        return no("a security password is already set; disable it first (hdparm --security-disable)".into());
                    }
                    if s.count_expired {
                        return no(
                            "too many wrong passwords were tried; power-cycle the drive first"
                                .into(),
                        );
                    }
                    if s.frozen {
                        return no("its security is frozen (the firmware or BIOS froze it at boot); unfreeze it by suspending and resuming the station (echo mem > /sys/power/state) or by unplugging and replugging the drive's power while the station runs, then try again".into());
                    }
                    Ok(())
                }
                Technique::SanitizeCryptoErase if !a.sanitize.crypto_scramble => {
                    no("it does not offer SANITIZE CRYPTO SCRAMBLE".into())
                }
                Technique::SanitizeBlockErase if !a.sanitize.block_erase => {
                    no("it does not offer SANITIZE BLOCK ERASE".into())
                }
                Technique::SanitizeOverwrite if !a.sanitize.overwrite => {
                    no("it does not offer SANITIZE OVERWRITE".into())
                }
                _ if !a.sanitize.supported => {
                    no("it does not support the SANITIZE feature set".into())
                }
                _ => Ok(()),
            }
        }
        CommandSet::Nvme => {
            let Some(n) = &caps.nvme else {
                return no("it is not an NVMe namespace".into());
            };
            match m.technique {
                Technique::FormatUserDataErase if !n.format => {
                    no("its controller does not support Format NVM (OACS bit 1)".into())
                }
                Technique::FormatCryptoErase if !n.format_crypto => no(
                    "its controller does not support cryptographic erase in Format NVM (FNA bit 2 is 0)".into(),
                ),
                Technique::SanitizeCryptoErase if !n.sanitize_crypto => {
                    no("its controller does not offer Sanitize crypto erase (SANICAP bit 0 is 0)".into())
                }
                Technique::SanitizeBlockErase if !n.sanitize_block => {
                    no("its controller does not offer Sanitize block erase (SANICAP bit 1 is 0)".into())
                }
                Technique::SanitizeOverwrite if !n.sanitize_overwrite => {
                    no("its controller does not offer Sanitize overwrite (SANICAP bit 2 is 0)".into())
                }
                _ => Ok(()),
            }
        }
        CommandSet::Scsi => {
            let Some(s) = &caps.scsi else {
                return no(
                    "it does not report SCSI SANITIZE support (REPORT SUPPORTED OPERATION CODES)"
                        .into(),
                );
            };
            let ok = match m.technique {
                Technique::SanitizeCryptoErase => s.sanitize_crypto,
                Technique::SanitizeBlockErase => s.sanitize_block,
                _ => s.sanitize_overwrite,
            };
            if ok {
                Ok(())
            } else {
                no(format!("it does not support {}", m.command))
            }
        }
    }
}

/// The firmware methods this drive supports.
pub fn supported_methods(caps: &Capabilities) -> Vec<&'static str> {
    FIRMWARE_METHODS
        .iter()
        .filter(|m| check_supported(m, caps).is_ok())
        .map(|m| m.name)
        .collect()
}

/// Fills in the firmware methods a described drive supports.
pub fn annotate(drive: &mut crate::device::DriveInfo) {
    drive.firmware_methods = drive
        .capabilities
        .as_ref()
        .map(|c| {
            supported_methods(c)
                .into_iter()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
}

/// The strongest Purge method the drive supports under `policy`, or why there is none and
/// what the operator can do instead.
pub fn choose_purge(
    caps: &Capabilities,
    media: MediaClass,
    policy: Policy,
) -> Result<&'static FirmwareMethod, String> {
    if let Some(m) = FIRMWARE_METHODS
        .iter()
        .filter(|m| policy.level(m.technique, media) == Level::Purge)
        .find(|m| check_supported(m, caps).is_ok())
    {
        return Ok(m);
    }
    let clear: Vec<&str> = FIRMWARE_METHODS
        .iter()
        .filter(|m| check_supported(m, caps).is_ok())
        .map(|m| m.name)
        .collect();
    let blocked: Vec<String> = FIRMWARE_METHODS
        .iter()
        .filter(|m| policy.level(m.technique, media) == Level::Purge)
        .filter_map(|m| match check_supported(m, caps) {
            Err(u) if u.reason.contains("frozen") || u.reason.contains("password") => {
                Some(format!("{} ({})", m.name, u.reason))
            }
            _ => None,
        })
        .collect();
    let mut advice = format!(
        "the drive supports no Purge technique under {}",
        policy.source()
    );
    if !blocked.is_empty() {
        advice.push_str(&format!("; blocked for now: {}", blocked.join("; ")));
    }
    advice.push_str("; instead: ");
    if !clear.is_empty() {
        advice.push_str(&format!("{} (Clear), ", clear.join(", ")));
    }
    advice.push_str(
        "an overwrite method such as `--method zero` (Clear), or physical destruction \
         (`wipeproof assets destroy`)",
    );
    Err(advice)
}

/// The media class of a drive (flash unless it spins).
pub fn media_class(media: crate::device::Media) -> MediaClass {
    match media {
        crate::device::Media::Hdd => MediaClass::Magnetic,
        _ => MediaClass::Flash,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::capabilities::NvmeCapabilities;

    fn nvme(format: bool, fna_crypto: bool, sanicap: u32) -> Capabilities {
        Capabilities {
            nvme: Some(NvmeCapabilities {
                nsid: 1,
                format,
                format_crypto: fna_crypto,
                format_all_namespaces: false,
                sanitize_crypto: sanicap & 1 != 0,
                sanitize_block: sanicap & 2 != 0,
                sanitize_overwrite: sanicap & 4 != 0,
                dlfeat: 0,
                lba_format: 0,
                lba_size: 512,
                controller: Default::default(),
                namespace: None,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn names_are_unique_and_fixed() {
        let names: Vec<&str> = FIRMWARE_METHODS.iter().map(|m| m.name).collect();
        for expected in [
            "ata-secure-erase",
            "ata-enhanced-secure-erase",
            "ata-sanitize-crypto",
            "ata-sanitize-block",
            "ata-sanitize-overwrite",
            "nvme-format-erase",
            "nvme-format-crypto",
            "nvme-sanitize-crypto",
            "nvme-sanitize-block",
            "nvme-sanitize-overwrite",
            "scsi-sanitize-crypto",
            "scsi-sanitize-block",
            "scsi-sanitize-overwrite",
        ] {
            assert_eq!(
                names.iter().filter(|n| **n == expected).count(),
                1,
                "{expected}"
            );
        }
        assert!(is_firmware("purge") && !is_firmware("zero"));
    }

    #[test]
    fn qemu_like_nvme_supports_format_only() {
        let caps = nvme(true, false, 0);
        assert_eq!(supported_methods(&caps), ["nvme-format-erase"]);
        let err = check_supported(find("nvme-format-crypto").unwrap(), &caps).unwrap_err();
        assert!(err.reason.contains("FNA bit 2"));
        // Format user data erase is Clear under Rev. 2: no Purge; under Rev. 1 it is Purge.
        let advice = choose_purge(&caps, MediaClass::Flash, Policy::Nist80088Rev2).unwrap_err();
        assert!(
            advice.contains("nvme-format-erase (Clear)") && advice.contains("physical destruction"),
            "{advice}"
        );
        assert_eq!(
            choose_purge(&caps, MediaClass::Flash, Policy::Nist80088Rev1)
                .unwrap()
                .name,
            "nvme-format-erase"
        );
    }

    #[test]
    fn purge_prefers_crypto_then_block() {
        assert_eq!(
            choose_purge(
                &nvme(true, true, 7),
                MediaClass::Flash,
                Policy::Nist80088Rev2
            )
            .unwrap()
            .name,
            "nvme-sanitize-crypto"
        );
        assert_eq!(
            choose_purge(
                &nvme(true, false, 2),
                MediaClass::Flash,
                Policy::Nist80088Rev2
            )
            .unwrap()
            .name,
            "nvme-sanitize-block"
        );
        assert_eq!(
            choose_purge(
                &nvme(true, true, 0),
                MediaClass::Flash,
                Policy::Nist80088Rev2
            )
            .unwrap()
            .name,
            "nvme-format-crypto"
        );
    }
}
