//! The recycler's own certificate authority, held by the central register.
//!
//! A station's PDF signing certificate is self-signed until the register it is enrolled on
//! issues it one: the register's CA (an ECDSA P-256 key and a self-signed CA certificate, made
//! at the first `serve` or `stations add`, or imported with `wipeproof ca import`) is kept in
//! the register's keys directory beside its own key (`ca-key.pem`, mode 0600, and
//! `ca.pem`). `stations add` issues the enrolled station a certificate for the P-256
//! key its own (self-signed) certificate holds, with the same subject (which names the
//! station's Ed25519 key id); the station fetches it at its next sync and signs its PDFs with
//! it, the CMS carrying the CA certificate too. An auditor then trusts one certificate, the
//! CA's, for every station.
//!
//! Revocation: the register publishes a CRL signed by the CA listing the certificates of
//! revoked (or removed) stations; issued certificates name its URL (a CRL distribution point)
//! when the register knows its public URL (`register.public_url`).

use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use der::asn1::{Ia5String, OctetString};
use der::referenced::OwnedToRef;
use der::{DecodePem, Encode, EncodePem};
use p256::ecdsa::{DerSignature, SigningKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use signature::Verifier;
use spki::SubjectPublicKeyInfoRef;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder, CrlBuilder};
use x509_cert::certificate::{Certificate, TbsCertificate};
use x509_cert::crl::RevokedCert;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, CrlDistributionPoints, CrlNumber, KeyUsage,
    KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use zeroize::Zeroizing;

use super::x509;
use crate::durable::{WriteOptions, write_atomic, write_atomic_with};

/// File name of the CA's private key in the register's keys directory.
pub const CA_KEY_FILE: &str = "ca-key.pem";
/// File name of the CA's certificate in the register's keys directory.
pub const CA_CERTIFICATE_FILE: &str = "ca.pem";

/// What can go wrong with the register's CA.
#[derive(Debug, thiserror::Error)]
pub enum AuthorityError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a usable CA file: {message}; give the CA's P-256 private key (PKCS#8 PEM) and its certificate (PEM)"
    )]
    Bad { path: PathBuf, message: String },
    #[error(
        "the register already has a CA ({0}); move its two files away first if you mean to replace it (stations then need certificates issued again)"
    )]
    Exists(PathBuf),
    #[error(
        "the station's key file {path} holds no X.509 certificate for its PDF key; give the whole output of `wipeproof keys export` on the station (public key, then certificate)"
    )]
    NoStationCertificate { path: PathBuf },
    #[error("the station's certificate in {path} cannot be certified: {message}")]
    BadStation { path: PathBuf, message: String },
    #[error("the OS random number generator failed: {0}")]
    Rng(String),
    #[error("cannot encode a certificate: {0}")]
    Encode(String),
}

fn encode_err(e: impl std::fmt::Display) -> AuthorityError {
    AuthorityError::Encode(e.to_string())
}

/// The register's CA: its key and certificate.
pub struct Authority {
    key: SigningKey,
    certificate: Certificate,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Authority({})",
            self.certificate.tbs_certificate().subject()
        )
    }
}

/// The key identifier of a public key as `x509-cert` computes it for a CRL's issuer.
fn key_identifier(spk: SubjectPublicKeyInfoRef<'_>) -> Result<OctetString, AuthorityError> {
    Ok(SubjectKeyIdentifier::try_from(spk).map_err(encode_err)?.0)
}

/// The CA certificate: self-signed, CA with no path below its stations, signs certificates and
/// CRLs.
struct CaProfile {
    subject: Name,
}

impl BuilderProfile for CaProfile {
    fn get_issuer(&self, subject: &Name) -> Name {
        subject.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        let usage = KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign);
        let basic = BasicConstraints {
            ca: true,
            path_len_constraint: Some(0),
        };
        let subject = tbs.subject();
        let none = Vec::new();
        Ok(vec![
            (true, &basic).to_extension(subject, &none)?,
            (true, &usage).to_extension(subject, &none)?,
            (false, &ski).to_extension(subject, &none)?,
        ])
    }
}

/// A station's certificate as the CA issues it: the station's own subject, signed by the CA.
struct StationProfile {
    subject: Name,
    issuer: Name,
    authority_key: OctetString,
    crl_url: Option<String>,
}

impl BuilderProfile for StationProfile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }

    fn get_subject(&self) -> Name {
        self.subject.clone()
    }

    fn build_extensions(
        &self,
        spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        let ski = SubjectKeyIdentifier::try_from(spk)?;
        let aki = AuthorityKeyIdentifier {
            key_identifier: Some(self.authority_key.clone()),
            ..Default::default()
        };
        let usage = KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation);
        let basic = BasicConstraints {
            ca: false,
            path_len_constraint: None,
        };
        let subject = tbs.subject();
        let none = Vec::new();
        let mut out = vec![
            (true, &basic).to_extension(subject, &none)?,
            (true, &usage).to_extension(subject, &none)?,
            (false, &ski).to_extension(subject, &none)?,
            (false, &aki).to_extension(subject, &none)?,
        ];
        if let Some(url) = &self.crl_url {
            let uri = Ia5String::new(url)?;
            let points = CrlDistributionPoints(vec![DistributionPoint {
                distribution_point: Some(DistributionPointName::FullName(vec![
                    GeneralName::UniformResourceIdentifier(uri),
                ])),
                reasons: None,
                crl_issuer: None,
            }]);
            out.push((false, &points).to_extension(subject, &none)?);
        }
        Ok(out)
    }
}

/// A random positive serial number of 16 bytes.
fn random_serial() -> Result<SerialNumber, AuthorityError> {
    let mut serial = [0u8; 16];
    getrandom::fill(&mut serial).map_err(|e| AuthorityError::Rng(e.to_string()))?;
    serial[0] &= 0x7f;
    serial[0] |= 0x40;
    SerialNumber::new(&serial).map_err(encode_err)
}

/// A day ago: clocks of stations, registers and auditors differ.
fn a_day_ago() -> Result<Time, AuthorityError> {
    Time::now()
        .ok()
        .and_then(|t| Time::try_from(t.to_system_time() - Duration::from_secs(86_400)).ok())
        .ok_or_else(|| encode_err("the clock is not a valid certificate time"))
}

/// Escapes a value for an RFC 4514 name string.
fn escape(value: &str) -> String {
    let mut out = String::new();
    for (i, c) in value.chars().enumerate() {
        if ",+\"\\<>;=".contains(c) || (i == 0 && (c == '#' || c == ' ')) {
            out.push('\\');
        }
        out.push(c);
    }
    out.trim_end().to_string()
}

/// The hex (upper case, as `openssl` prints it) of a certificate's serial number.
pub fn serial_hex(cert: &Certificate) -> String {
    hex::encode_upper(cert.tbs_certificate().serial_number().as_bytes())
}

/// Whether `issuer` signed `cert` (ECDSA P-256 with SHA-256).
pub fn signed_by(cert: &Certificate, issuer: &Certificate) -> bool {
    let Some(key) = x509::p256_key(issuer) else {
        return false;
    };
    let Ok(tbs) = cert.tbs_certificate().to_der() else {
        return false;
    };
    let Ok(sig) = DerSignature::from_bytes(cert.signature().raw_bytes()) else {
        return false;
    };
    cert.tbs_certificate().issuer() == issuer.tbs_certificate().subject()
        && key.verify(&tbs, &sig).is_ok()
}

/// The X.509 certificate in a station's `keys export` output, if it holds one.
pub fn station_certificate_in(text: &str) -> Option<Certificate> {
    let begin = text.find("-----BEGIN CERTIFICATE-----")?;
    let end_marker = "-----END CERTIFICATE-----";
    let end = text[begin..].find(end_marker)? + begin + end_marker.len();
    Certificate::from_pem(&text[begin..end]).ok()
}

fn read_optional(path: &Path) -> Result<Option<Zeroizing<String>>, AuthorityError> {
    match fs::read_to_string(path) {
        Ok(t) => Ok(Some(Zeroizing::new(t))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(AuthorityError::Read {
            path: path.into(),
            source,
        }),
    }
}

impl Authority {
    /// A new CA for `organisation` (its name in the CA's subject).
    pub fn generate(organisation: &str) -> Result<Authority, AuthorityError> {
        let key = loop {
            let mut bytes = Zeroizing::new([0u8; 32]);
            getrandom::fill(&mut bytes[..]).map_err(|e| AuthorityError::Rng(e.to_string()))?;
            if let Ok(k) = SigningKey::from_slice(&bytes[..]) {
                break k;
            }
        };
        let org = escape(organisation.trim());
        let subject = if org.is_empty() {
            "CN=wipeproof register CA".to_string()
        } else {
            format!("CN={org} wipeproof CA,O={org}")
        };
        let subject = Name::from_str(&subject).map_err(encode_err)?;
        let validity = Validity::new(a_day_ago()?, Time::INFINITY);
        let spki =
            spki::SubjectPublicKeyInfoOwned::from_key(key.verifying_key()).map_err(encode_err)?;
        let builder =
            CertificateBuilder::new(CaProfile { subject }, random_serial()?, validity, spki)
                .map_err(encode_err)?;
        let certificate = builder.build::<_, DerSignature>(&key).map_err(encode_err)?;
        Ok(Authority { key, certificate })
    }

    /// The CA in `dir`, if there is one.
    pub fn load(dir: &Path) -> Result<Option<Authority>, AuthorityError> {
        let key_path = dir.join(CA_KEY_FILE);
        let cert_path = dir.join(CA_CERTIFICATE_FILE);
        let Some(key_text) = read_optional(&key_path)? else {
            return Ok(None);
        };
        let cert_text = read_optional(&cert_path)?.ok_or_else(|| AuthorityError::Bad {
            path: cert_path.clone(),
            message: format!("missing, though {} is there", key_path.display()),
        })?;
        Self::from_pem(&key_text, &key_path, &cert_text, &cert_path).map(Some)
    }

    /// Reads a CA from its key and certificate PEM, checking that they belong together and
    /// that the certificate is a CA's.
    pub fn from_pem(
        key_text: &str,
        key_path: &Path,
        cert_text: &str,
        cert_path: &Path,
    ) -> Result<Authority, AuthorityError> {
        let bad = |path: &Path, message: String| AuthorityError::Bad {
            path: path.into(),
            message,
        };
        let key = SigningKey::from_pkcs8_pem(key_text.trim())
            .map_err(|e| bad(key_path, format!("not a PKCS#8 P-256 key: {e}")))?;
        let certificate = Certificate::from_pem(cert_text.trim())
            .map_err(|e| bad(cert_path, format!("not a PEM certificate: {e}")))?;
        let certified = x509::p256_key(&certificate);
        if certified.as_ref() != Some(key.verifying_key()) {
            return Err(bad(
                cert_path,
                format!("it does not certify {}", key_path.display()),
            ));
        }
        let is_ca = certificate
            .tbs_certificate()
            .get_extension::<BasicConstraints>()
            .ok()
            .flatten()
            .is_some_and(|(_, b)| b.ca);
        if !is_ca {
            return Err(bad(
                cert_path,
                "it is not a CA certificate (basicConstraints cA)".into(),
            ));
        }
        Ok(Authority { key, certificate })
    }

    /// Loads the CA of `dir`, making it first if there is none. The flag says whether it was
    /// made now.
    pub fn load_or_create(
        dir: &Path,
        organisation: &str,
    ) -> Result<(Authority, bool), AuthorityError> {
        if let Some(ca) = Self::load(dir)? {
            return Ok((ca, false));
        }
        let ca = Self::generate(organisation)?;
        match ca.write(dir) {
            Ok(()) => Ok((ca, true)),
            // Another process made it in between: use theirs.
            Err(AuthorityError::Exists(_)) => Self::load(dir)?
                .map(|ca| (ca, false))
                .ok_or_else(|| AuthorityError::Exists(dir.join(CA_KEY_FILE))),
            Err(e) => Err(e),
        }
    }

    /// Writes the key (mode 0600, never over one) and the certificate into `dir`.
    pub fn write(&self, dir: &Path) -> Result<(), AuthorityError> {
        let key_path = dir.join(CA_KEY_FILE);
        let pem = self.key.to_pkcs8_pem(LineEnding::LF).map_err(encode_err)?;
        let opts = WriteOptions {
            mode: 0o600,
            create_new: true,
        };
        write_atomic_with(&key_path, pem.as_bytes(), opts).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                AuthorityError::Exists(key_path.clone())
            } else {
                AuthorityError::Write {
                    path: key_path.clone(),
                    source,
                }
            }
        })?;
        let cert_path = dir.join(CA_CERTIFICATE_FILE);
        write_atomic(&cert_path, self.certificate_pem()?.as_bytes()).map_err(|source| {
            AuthorityError::Write {
                path: cert_path,
                source,
            }
        })
    }

    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The CA certificate as PEM.
    pub fn certificate_pem(&self) -> Result<String, AuthorityError> {
        self.certificate.to_pem(LineEnding::LF).map_err(encode_err)
    }

    /// The CA's subject, as `openssl` prints it.
    pub fn subject(&self) -> String {
        self.certificate.tbs_certificate().subject().to_string()
    }

    /// Issues a certificate for the P-256 key of `station` (the station's own certificate,
    /// from `keys export`), with its subject, provided it names `key_id` and is signed by its
    /// own key (so the station holds that key). `crl_url`: where the CRL is published.
    pub fn issue(
        &self,
        station: &Certificate,
        key_id: &str,
        crl_url: Option<&str>,
        path: &Path,
    ) -> Result<Certificate, AuthorityError> {
        let bad = |message: &str| AuthorityError::BadStation {
            path: path.into(),
            message: message.into(),
        };
        if x509::named_key_id(station).as_deref() != Some(key_id) {
            return Err(bad(&format!(
                "its subject does not name the station key {key_id}"
            )));
        }
        if x509::p256_key(station).is_none() {
            return Err(bad("it holds no P-256 public key"));
        }
        if !signed_by(station, station) && !signed_by(station, &self.certificate) {
            return Err(bad(
                "it is neither signed by its own key nor by this register's CA",
            ));
        }
        let ca_spki = self.certificate.tbs_certificate().subject_public_key_info();
        let profile = StationProfile {
            subject: station.tbs_certificate().subject().clone(),
            issuer: self.certificate.tbs_certificate().subject().clone(),
            authority_key: key_identifier(ca_spki.owned_to_ref())?,
            crl_url: crl_url.map(str::to_string),
        };
        let validity = Validity::new(a_day_ago()?, Time::INFINITY);
        let spki = station.tbs_certificate().subject_public_key_info().clone();
        let builder = CertificateBuilder::new(profile, random_serial()?, validity, spki)
            .map_err(encode_err)?;
        builder
            .build::<_, DerSignature>(&self.key)
            .map_err(encode_err)
    }

    /// The CRL (DER), listing each `(serial hex, revoked at RFC 3339)`; numbered by the clock so
    /// a later one has a higher number, and due again in a day.
    pub fn crl(&self, revoked: &[(String, String)]) -> Result<Vec<u8>, AuthorityError> {
        let now = Time::now().map_err(encode_err)?;
        let seconds = now
            .to_system_time()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let next = Time::try_from(now.to_system_time() + Duration::from_secs(86_400))
            .map_err(encode_err)?;
        let mut entries: Vec<RevokedCert> = Vec::new();
        for (serial, at) in revoked {
            let bytes = hex::decode(serial).map_err(encode_err)?;
            let when = crate::timestamp::parse(at)
                .and_then(|t| Time::try_from(std::time::SystemTime::from(t)).ok())
                .unwrap_or(now);
            entries.push(RevokedCert {
                serial_number: SerialNumber::new(&bytes).map_err(encode_err)?,
                revocation_date: when,
                crl_entry_extensions: None,
            });
        }
        let number = CrlNumber::try_from(seconds).map_err(encode_err)?;
        let mut builder = CrlBuilder::new_with_this_update(&self.certificate, number, now)
            .map_err(encode_err)?
            .with_next_update(Some(next));
        if !entries.is_empty() {
            builder = builder.with_certificates(entries.into_iter());
        }
        let crl = builder
            .build::<_, DerSignature>(&self.key)
            .map_err(encode_err)?;
        crl.to_der().map_err(encode_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certificate::x509::PdfSigner;

    const ID: &str = "SHA256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn issues_a_station_certificate_for_its_own_key_and_lists_revoked_ones() {
        let ca = Authority::generate("Acme, Recycling").unwrap();
        assert!(ca.subject().contains("Acme"), "{}", ca.subject());
        let station = PdfSigner::generate(ID).unwrap();
        let issued = ca
            .issue(
                station.certificate(),
                ID,
                Some("http://register.example/api/v1/crl"),
                Path::new("station.pem"),
            )
            .unwrap();
        assert!(signed_by(&issued, ca.certificate()));
        assert_eq!(x509::named_key_id(&issued).as_deref(), Some(ID));
        assert_eq!(
            x509::p256_key(&issued),
            x509::p256_key(station.certificate())
        );
        let dp = issued
            .tbs_certificate()
            .get_extension::<CrlDistributionPoints>()
            .unwrap();
        assert!(dp.is_some(), "the CRL's URL is named");
        // A certificate naming another key is refused.
        let err = ca
            .issue(station.certificate(), "SHA256:ff", None, Path::new("s.pem"))
            .unwrap_err();
        assert!(err.to_string().contains("s.pem"), "{err}");
        let crl = ca
            .crl(&[(serial_hex(&issued), "2026-12-01T10:00:00Z".into())])
            .unwrap();
        use der::Decode;
        let list =
            x509_cert::crl::CertificateList::<x509_cert::certificate::Rfc5280>::from_der(&crl)
                .unwrap();
        let revoked = list.tbs_cert_list.revoked_certificates.unwrap();
        assert_eq!(
            revoked[0].serial_number,
            *issued.tbs_certificate().serial_number()
        );
    }

    #[test]
    fn made_once_0600_and_a_mismatched_import_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (first, made) = Authority::load_or_create(dir.path(), "").unwrap();
        assert!(made);
        let (again, made) = Authority::load_or_create(dir.path(), "").unwrap();
        assert!(!made);
        assert_eq!(first.certificate(), again.certificate());
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir.path().join(CA_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let other = Authority::generate("x").unwrap();
        let key = first.key.to_pkcs8_pem(LineEnding::LF).unwrap();
        let err = Authority::from_pem(
            &key,
            Path::new("k.pem"),
            &other.certificate_pem().unwrap(),
            Path::new("c.pem"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("c.pem"), "{err}");
    }
}
