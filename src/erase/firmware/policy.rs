//! Which sanitization level a technique reaches on which media, by policy.
//!
//! The default policy follows NIST SP 800-88 Rev. 2, which defers the technique tables to IEEE
//! 2883-2022: Purge needs a command the drive's firmware carries out over all of its storage
//! (SANITIZE, or a cryptographic erase); a plain Format NVM user-data erase or an ATA SECURITY
//! ERASE UNIT on flash is Clear, because neither is required to reach spare and remapped blocks.
//! The legacy policy is NIST SP 800-88 Rev. 1 (2014), Appendix A, which accepted ATA Secure Erase
//! on magnetic drives and Format NVM with Secure Erase Settings 1 for Purge.
//!
//! The certificate states the level and the policy it was judged by.

use serde::{Deserialize, Serialize};

use crate::erase::Level;

/// What a technique does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Technique {
    /// Host overwrite of the user-addressable area.
    HostOverwrite,
    /// ATA SECURITY ERASE UNIT, normal.
    AtaSecurityErase,
    /// ATA SECURITY ERASE UNIT, enhanced.
    AtaEnhancedSecurityErase,
    /// A sanitize command (ATA, NVMe or SCSI) that overwrites.
    SanitizeOverwrite,
    /// A sanitize command that block-erases (flash).
    SanitizeBlockErase,
    /// A sanitize command that changes the media encryption key.
    SanitizeCryptoErase,
    /// NVMe Format NVM, Secure Erase Settings 1 (user data erase).
    FormatUserDataErase,
    /// NVMe Format NVM, Secure Erase Settings 2 (cryptographic erase).
    FormatCryptoErase,
}

/// Magnetic or flash (the tables differ).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaClass {
    Magnetic,
    Flash,
}

/// A named policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Policy {
    /// NIST SP 800-88 Rev. 2 with IEEE 2883-2022 (default).
    #[serde(rename = "nist-800-88r2")]
    Nist80088Rev2,
    /// NIST SP 800-88 Rev. 1 (2014), the legacy tables.
    #[serde(rename = "nist-800-88r1")]
    Nist80088Rev1,
}

impl std::str::FromStr for Policy {
    type Err = String;
    fn from_str(s: &str) -> Result<Policy, String> {
        match s {
            "nist-800-88r2" => Ok(Policy::Nist80088Rev2),
            "nist-800-88r1" => Ok(Policy::Nist80088Rev1),
            _ => Err(format!(
                "`{s}`: expected nist-800-88r2 (default) or nist-800-88r1"
            )),
        }
    }
}

impl Policy {
    /// The policy overwrite levels are judged by, and firmware levels unless configured.
    pub const DEFAULT: Policy = Policy::Nist80088Rev2;

    pub fn name(&self) -> &'static str {
        match self {
            Policy::Nist80088Rev2 => "nist-800-88r2",
            Policy::Nist80088Rev1 => "nist-800-88r1",
        }
    }

    /// What the certificate says the level is judged by.
    pub fn source(&self) -> &'static str {
        match self {
            Policy::Nist80088Rev2 => "NIST SP 800-88 Rev. 2 / IEEE 2883-2022",
            Policy::Nist80088Rev1 => "NIST SP 800-88 Rev. 1 (2014), Appendix A (legacy)",
        }
    }

    /// A clause of this policy, cited: the Rev. 2 tables are IEEE 2883-2022's, Rev. 1's are
    /// its Appendix A.
    pub fn cite(&self, what: &str) -> String {
        match self {
            Policy::Nist80088Rev2 => format!("NIST SP 800-88 Rev. 2 / IEEE 2883-2022 ({what})"),
            Policy::Nist80088Rev1 => format!("NIST SP 800-88 Rev. 1 Appendix A ({what})"),
        }
    }

    /// The level a technique reaches on a class of media under this policy.
    pub fn level(&self, t: Technique, media: MediaClass) -> Level {
        use Level::{Clear, Purge};
        use MediaClass::{Flash, Magnetic};
        use Technique::*;
        match (self, t, media) {
            (_, HostOverwrite, _) => Clear,
            (
                _,
                SanitizeOverwrite | SanitizeBlockErase | SanitizeCryptoErase | FormatCryptoErase,
                _,
            ) => Purge,
            // Rev. 2 / IEEE 2883: Secure Erase and Format are not required to reach spare and
            // remapped blocks on flash.
            (Policy::Nist80088Rev2, AtaEnhancedSecurityErase, Magnetic) => Purge,
            (Policy::Nist80088Rev2, AtaSecurityErase | AtaEnhancedSecurityErase, _) => Clear,
            (Policy::Nist80088Rev2, FormatUserDataErase, _) => Clear,
            // Rev. 1 Table.
            (Policy::Nist80088Rev1, AtaSecurityErase, Magnetic) => Purge,
            (Policy::Nist80088Rev1, AtaSecurityErase, Flash) => Clear,
            (Policy::Nist80088Rev1, AtaEnhancedSecurityErase, _) => Purge,
            (Policy::Nist80088Rev1, FormatUserDataErase, _) => Purge,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables() {
        let r2 = Policy::Nist80088Rev2;
        let r1 = Policy::Nist80088Rev1;
        assert_eq!(
            r2.level(Technique::HostOverwrite, MediaClass::Magnetic),
            Level::Clear
        );
        assert_eq!(
            r2.level(Technique::SanitizeCryptoErase, MediaClass::Flash),
            Level::Purge
        );
        assert_eq!(
            r2.level(Technique::FormatUserDataErase, MediaClass::Flash),
            Level::Clear
        );
        assert_eq!(
            r1.level(Technique::FormatUserDataErase, MediaClass::Flash),
            Level::Purge
        );
        assert_eq!(
            r2.level(Technique::AtaEnhancedSecurityErase, MediaClass::Flash),
            Level::Clear
        );
        assert_eq!(
            r2.level(Technique::AtaEnhancedSecurityErase, MediaClass::Magnetic),
            Level::Purge
        );
        assert_eq!(
            r1.level(Technique::AtaSecurityErase, MediaClass::Magnetic),
            Level::Purge
        );
        assert_eq!("nist-800-88r1".parse::<Policy>().unwrap(), r1);
        assert!("iso".parse::<Policy>().is_err());
    }
}
