//! Erasure methods as data: each is a named list of overwrite passes with the verification it
//! requires, the sanitization level it achieves and where it is defined.
//!
//! Overwriting reaches only the user-addressable area, so every overwrite method is Clear in
//! NIST SP 800-88 terms, however many passes it has; Purge needs the drive's own sanitize
//! commands.

use serde::{Deserialize, Serialize};

/// NIST SP 800-88 sanitization levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Level {
    Clear,
    Purge,
}

impl Level {
    pub fn as_str(&self) -> &'static str {
        match self {
            Level::Clear => "Clear",
            Level::Purge => "Purge",
        }
    }
}

/// What one overwrite pass writes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PassPattern {
    /// Every byte the same value.
    Constant { byte: u8 },
    /// A multi-byte pattern repeated from offset 0 of the drive.
    Repeating {
        #[serde(with = "hex_bytes")]
        bytes: Vec<u8>,
    },
    /// A CSPRNG keystream, keyed per pass.
    Random,
}

impl PassPattern {
    /// A short description, e.g. `0x00`, `0x92 0x49 0x24`, `random`.
    pub fn describe(&self) -> String {
        match self {
            PassPattern::Constant { byte } => format!("0x{byte:02X}"),
            PassPattern::Repeating { bytes } => bytes
                .iter()
                .map(|b| format!("0x{b:02X}"))
                .collect::<Vec<_>>()
                .join(" "),
            PassPattern::Random => "random".into(),
        }
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        hex::decode(&s).map_err(serde::de::Error::custom)
    }
}

/// Which passes must be read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerifyPasses {
    /// Only the final pass.
    Last,
    /// Every pass, right after it is written.
    All,
}

impl std::str::FromStr for VerifyPasses {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "last" => Ok(VerifyPasses::Last),
            "all" => Ok(VerifyPasses::All),
            _ => Err(format!("`{s}`: expected `last` or `all`")),
        }
    }
}

/// Pass tables use this compact form; [`Method::passes`] turns it into [`PassPattern`]s.
#[derive(Debug, Clone, Copy)]
enum P {
    C(u8),
    R(&'static [u8]),
    Rand,
}

/// Where a method is defined: a clause of the sanitization policy in force (cited by the
/// policy's own revision, so a Rev. 2 level never stands beside a Rev. 1 reference), or a
/// document of its own (a standard that named the method).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    Policy(&'static str),
    Other(&'static str),
}

impl Reference {
    /// The reference as a certificate shows it, under `policy`.
    pub fn under(&self, policy: super::firmware::policy::Policy) -> String {
        match self {
            Reference::Policy(what) => policy.cite(what),
            Reference::Other(text) => (*text).to_string(),
        }
    }
}

/// A named overwrite method.
#[derive(Debug)]
pub struct Method {
    pub name: &'static str,
    pub title: &'static str,
    pub level: Level,
    /// Where the method is defined.
    pub reference: Reference,
    /// The passes that the method requires to be verified.
    pub verify: VerifyPasses,
    passes: &'static [P],
}

impl Method {
    /// The method's passes.
    pub fn passes(&self) -> Vec<PassPattern> {
        self.passes
            .iter()
            .map(|p| match p {
                P::C(b) => PassPattern::Constant { byte: *b },
                P::R(bytes) => PassPattern::Repeating {
                    bytes: bytes.to_vec(),
                },
                P::Rand => PassPattern::Random,
            })
            .collect()
    }
}

const GUTMANN: &[P] = &[
    P::Rand,
    P::Rand,
    P::Rand,
    P::Rand,
    P::C(0x55),
    P::C(0xAA),
    P::R(&[0x92, 0x49, 0x24]),
    P::R(&[0x49, 0x24, 0x92]),
    P::R(&[0x24, 0x92, 0x49]),
    P::C(0x00),
    P::C(0x11),
    P::C(0x22),
    P::C(0x33),
    P::C(0x44),
    P::C(0x55),
    P::C(0x66),
    P::C(0x77),
    P::C(0x88),
    P::C(0x99),
    P::C(0xAA),
    P::C(0xBB),
    P::C(0xCC),
    P::C(0xDD),
    P::C(0xEE),
    P::C(0xFF),
    P::R(&[0x92, 0x49, 0x24]),
    P::R(&[0x49, 0x24, 0x92]),
    P::R(&[0x24, 0x92, 0x49]),
    P::R(&[0x6D, 0xB6, 0xDB]),
    P::R(&[0xB6, 0xDB, 0x6D]),
    P::R(&[0xDB, 0x6D, 0xB6]),
    P::Rand,
    P::Rand,
    P::Rand,
    P::Rand,
];

/// The overwrite methods wipeproof knows.
pub static METHODS: &[Method] = &[
    Method {
        name: "zero",
        title: "Single pass of zeros",
        level: Level::Clear,
        reference: Reference::Policy("Clear: overwrite with a fixed value"),
        verify: VerifyPasses::Last,
        passes: &[P::C(0x00)],
    },
    Method {
        name: "one",
        title: "Single pass of ones (0xFF)",
        level: Level::Clear,
        reference: Reference::Policy("Clear: overwrite with a fixed value"),
        verify: VerifyPasses::Last,
        passes: &[P::C(0xFF)],
    },
    Method {
        name: "random",
        title: "Single pass of CSPRNG data",
        level: Level::Clear,
        reference: Reference::Policy("Clear: overwrite with random data"),
        verify: VerifyPasses::Last,
        passes: &[P::Rand],
    },
    Method {
        name: "dod-3pass",
        title: "DoD 5220.22-M (E) short: zeros, ones, random",
        level: Level::Clear,
        reference: Reference::Other("US DoD 5220.22-M (1995) 8-306, method (E)"),
        verify: VerifyPasses::Last,
        passes: &[P::C(0x00), P::C(0xFF), P::Rand],
    },
    Method {
        name: "dod-7pass",
        title: "DoD 5220.22-M (ECE): (E), random, (E)",
        level: Level::Clear,
        reference: Reference::Other("US DoD 5220.22-M (1995) 8-306, method (ECE)"),
        verify: VerifyPasses::All,
        passes: &[
            P::C(0x00),
            P::C(0xFF),
            P::Rand,
            P::Rand,
            P::C(0x00),
            P::C(0xFF),
            P::Rand,
        ],
    },
    Method {
        name: "hmg-is5-enhanced",
        title: "HMG IS5 Enhanced: zeros, ones, random, verified",
        level: Level::Clear,
        reference: Reference::Other("UK HMG Infosec Standard 5 (2007), Enhanced Standard"),
        verify: VerifyPasses::Last,
        passes: &[P::C(0x00), P::C(0xFF), P::Rand],
    },
    Method {
        name: "gutmann",
        title: "Gutmann 35 passes",
        level: Level::Clear,
        reference: Reference::Other(
            "P. Gutmann, Secure Deletion of Data from Magnetic and Solid-State Memory (1996)",
        ),
        verify: VerifyPasses::Last,
        passes: GUTMANN,
    },
    Method {
        name: "schneier",
        title: "Schneier 7 passes: ones, zeros, five random",
        level: Level::Clear,
        reference: Reference::Other("B. Schneier, Applied Cryptography, 2nd ed. (1996), 10.9"),
        verify: VerifyPasses::Last,
        passes: &[
            P::C(0xFF),
            P::C(0x00),
            P::Rand,
            P::Rand,
            P::Rand,
            P::Rand,
            P::Rand,
        ],
    },
];

/// Finds an overwrite method by name.
pub fn find(name: &str) -> Option<&'static Method> {
    METHODS.iter().find(|m| m.name == name)
}

/// Names of all overwrite methods, for help and error messages.
pub fn names() -> Vec<&'static str> {
    METHODS.iter().map(|m| m.name).collect()
}

/// A method with its options, resolved to the exact passes to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverwritePlan {
    pub method: String,
    pub rounds: u32,
    pub blank: bool,
    pub passes: Vec<PassPattern>,
    pub verify_passes: VerifyPasses,
}

/// Errors building a plan.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("unknown method `{0}`; choose one of: {1}")]
    UnknownMethod(String, String),
    #[error("--rounds must be between 1 and 100, not {0}")]
    Rounds(u32),
    #[error(
        "method {method} requires every pass to be verified; drop --verify-passes last or use another method"
    )]
    VerifyTooWeak { method: String },
}

impl OverwritePlan {
    /// Resolves `method` with `rounds` repetitions and an optional final blanking (zero) pass.
    /// `verify_passes` may raise the method's requirement, never lower it.
    pub fn build(
        method: &str,
        rounds: u32,
        blank: bool,
        verify_passes: Option<VerifyPasses>,
    ) -> Result<OverwritePlan, PlanError> {
        let m = find(method)
            .ok_or_else(|| PlanError::UnknownMethod(method.into(), names().join(", ")))?;
        if !(1..=100).contains(&rounds) {
            return Err(PlanError::Rounds(rounds));
        }
        let verify = match verify_passes {
            Some(v) if v < m.verify => {
                return Err(PlanError::VerifyTooWeak {
                    method: m.name.into(),
                });
            }
            Some(v) => v,
            None => m.verify,
        };
        let mut passes = Vec::new();
        for _ in 0..rounds {
            passes.extend(m.passes());
        }
        if blank && passes.last() != Some(&PassPattern::Constant { byte: 0 }) {
            passes.push(PassPattern::Constant { byte: 0 });
        }
        Ok(OverwritePlan {
            method: m.name.into(),
            rounds,
            blank,
            passes,
            verify_passes: verify,
        })
    }

    /// The method's table entry.
    pub fn method(&self) -> Option<&'static Method> {
        find(&self.method)
    }

    /// Whether pass `index` must be verified.
    pub fn verifies(&self, index: usize) -> bool {
        match self.verify_passes {
            VerifyPasses::All => true,
            VerifyPasses::Last => index + 1 == self.passes.len(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::firmware::policy::Policy;
    use super::*;

    #[test]
    fn a_policy_reference_cites_the_policy_in_force() {
        let zero = find("zero").unwrap();
        let rev2 = zero.reference.under(Policy::Nist80088Rev2);
        assert_eq!(
            rev2,
            "NIST SP 800-88 Rev. 2 / IEEE 2883-2022 (Clear: overwrite with a fixed value)"
        );
        assert!(!rev2.contains("Rev. 1"), "{rev2}");
        let rev1 = zero.reference.under(Policy::Nist80088Rev1);
        assert!(
            rev1.starts_with("NIST SP 800-88 Rev. 1 Appendix A"),
            "{rev1}"
        );
        for m in METHODS {
            let r = m.reference.under(Policy::DEFAULT);
            assert!(!r.contains("Rev. 1"), "{}: {r}", m.name);
        }
    }

    #[test]
    fn table_is_consistent() {
        let mut names = names();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), METHODS.len(), "duplicate method names");
        for m in METHODS {
            assert!(!m.passes.is_empty(), "{} has no passes", m.name);
            assert_eq!(m.level, Level::Clear, "overwrite is Clear");
            assert!(!m.reference.under(Policy::Nist80088Rev2).is_empty());
        }
        assert_eq!(find("gutmann").unwrap().passes().len(), 35);
        assert_eq!(find("dod-7pass").unwrap().passes().len(), 7);
        assert_eq!(find("schneier").unwrap().passes().len(), 7);
        assert_eq!(
            find("dod-3pass").unwrap().passes(),
            [
                PassPattern::Constant { byte: 0 },
                PassPattern::Constant { byte: 0xFF },
                PassPattern::Random
            ]
        );
    }

    #[test]
    fn rounds_and_blank() {
        let p = OverwritePlan::build("one", 3, true, None).unwrap();
        assert_eq!(p.passes.len(), 4);
        assert_eq!(p.passes[3], PassPattern::Constant { byte: 0 });
        // Blanking after a final zero pass adds nothing.
        assert_eq!(
            OverwritePlan::build("zero", 1, true, None)
                .unwrap()
                .passes
                .len(),
            1
        );
        assert!(OverwritePlan::build("zero", 0, false, None).is_err());
        assert!(matches!(
            OverwritePlan::build("shred", 1, false, None),
            Err(PlanError::UnknownMethod(..))
        ));
    }

    #[test]
    fn verification_requirement_can_be_raised_not_lowered() {
        let p = OverwritePlan::build("zero", 1, false, Some(VerifyPasses::All)).unwrap();
        assert!(p.verifies(0));
        let p = OverwritePlan::build("dod-3pass", 1, false, None).unwrap();
        assert!(!p.verifies(0) && !p.verifies(1) && p.verifies(2));
        assert!(matches!(
            OverwritePlan::build("dod-7pass", 1, false, Some(VerifyPasses::Last)),
            Err(PlanError::VerifyTooWeak { .. })
        ));
    }

    #[test]
    fn pattern_descriptions_and_serde() {
        assert_eq!(PassPattern::Constant { byte: 0xAA }.describe(), "0xAA");
        let r = PassPattern::Repeating {
            bytes: vec![0x92, 0x49, 0x24],
        };
        assert_eq!(r.describe(), "0x92 0x49 0x24");
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(json, r#"{"kind":"repeating","bytes":"924924"}"#);
        assert_eq!(serde_json::from_str::<PassPattern>(&json).unwrap(), r);
    }
}
