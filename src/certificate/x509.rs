//! The station's PDF signing key: ECDSA P-256 and a self-signed X.509 certificate.
//!
//! PDF viewers and validators (Adobe Reader, poppler's `pdfsig`, pyHanko) check a PDF signature
//! made with an X.509 certificate and a key they know; none of them checks Ed25519 in a PDF
//! signature. So beside its Ed25519 key (which signs every record and stays the root of trust
//! for `wipeproof verify`) a station has a P-256 key, made at `keys init` or, for a station made
//! before, on first use, and kept in the same directory (`station-pdf-key.pem`, mode 0600). Its
//! certificate (`station-certificate.pem`) names the station's Ed25519 key id in its subject
//! (`serialNumber`), so a PDF signature and the signed record inside the PDF name the same
//! station; `wipeproof keys export` prints it after the public key, for the auditor's trust
//! store (an NSS database, pyHanko's trust roots) and for `wipeproof keys trust`.
//!
//! A station enrolled on a central register gets, at its next sync, a certificate for the same
//! key and subject issued by the register's CA (`super::authority`): it replaces the
//! self-signed one in `station-certificate.pem`, the CA's certificate is kept beside it
//! (`station-issuer.pem`), and the PDF signature carries both.

use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use der::asn1::OctetString;
use der::{Decode, DecodePem, Encode, EncodePem};
use p256::ecdsa::{DerSignature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey, LineEnding};
use sha2::{Digest, Sha256};
use signature::Signer;
use spki::SubjectPublicKeyInfoRef;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::certificate::{Certificate, TbsCertificate};
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::ext::{Extension, ToExtension};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use zeroize::Zeroizing;

use super::keys::KeyError;
use crate::durable::{WriteOptions, write_atomic, write_atomic_with};

/// File name of the P-256 private key in the keys directory.
pub const PDF_KEY_FILE: &str = "station-pdf-key.pem";
/// File name of the station's X.509 certificate in the keys directory.
pub const CERTIFICATE_FILE: &str = "station-certificate.pem";
/// File name of the certificate of the CA that issued the station's certificate (a central
/// register's, fetched at sync), when it is not self-signed.
pub const ISSUER_FILE: &str = "station-issuer.pem";

/// X.520 serialNumber: the attribute of the subject that holds the Ed25519 key id.
pub const SERIAL_NUMBER_OID: der::oid::ObjectIdentifier =
    der::oid::ObjectIdentifier::new_unwrap("2.5.4.5");

/// The key that signs PDFs and its certificate.
#[derive(Clone)]
pub struct PdfSigner {
    key: SigningKey,
    certificate: Certificate,
    certificate_der: Vec<u8>,
    /// The CA certificate that issued `certificate`, when a register's CA did.
    issuer: Option<Certificate>,
}

impl std::fmt::Debug for PdfSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PdfSigner({})", subject_text(&self.certificate))
    }
}

/// The key id as it stands in a certificate's subject: the hex of the Ed25519 key id.
pub fn subject_key_id(ed25519_key_id: &str) -> &str {
    ed25519_key_id
        .strip_prefix("SHA256:")
        .unwrap_or(ed25519_key_id)
}

fn subject_text(cert: &Certificate) -> String {
    cert.tbs_certificate().subject().to_string()
}

/// The Ed25519 key id (`SHA256:` and hex) a station certificate names in its subject.
pub fn named_key_id(cert: &Certificate) -> Option<String> {
    let atv = cert
        .tbs_certificate()
        .subject()
        .iter()
        .find(|a| a.oid == SERIAL_NUMBER_OID)?;
    let text = std::str::from_utf8(atv.value.value()).ok()?;
    Some(format!("SHA256:{text}"))
}

/// A self-signed station certificate: subject and issuer alike, digital signature and
/// non-repudiation. It is marked a CA (of no path below it) that may sign certificates: NSS,
/// and so `pdfsig`, accepts a self-signed certificate as a trust anchor only then.
struct Station {
    subject: Name,
}

impl BuilderProfile for Station {
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
        let ski = SubjectKeyIdentifier(OctetString::new(
            Sha256::digest(spk.subject_public_key.raw_bytes())[..20].to_vec(),
        )?);
        let usage = KeyUsage(
            KeyUsages::DigitalSignature | KeyUsages::NonRepudiation | KeyUsages::KeyCertSign,
        );
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

fn encode_err(e: impl std::fmt::Display) -> KeyError {
    KeyError::Encode(e.to_string())
}

impl PdfSigner {
    /// A new P-256 key from the OS RNG and its self-signed certificate naming the station's
    /// Ed25519 key id.
    pub fn generate(ed25519_key_id: &str) -> Result<PdfSigner, KeyError> {
        let key = loop {
            let mut bytes = Zeroizing::new([0u8; 32]);
            getrandom::fill(&mut bytes[..]).map_err(|e| KeyError::Rng(e.to_string()))?;
            // A scalar of zero or above the group order is refused: draw again.
            if let Ok(k) = SigningKey::from_slice(&bytes[..]) {
                break k;
            }
        };
        Self::certify(key, ed25519_key_id)
    }

    /// Makes the self-signed certificate of `key`.
    fn certify(key: SigningKey, ed25519_key_id: &str) -> Result<PdfSigner, KeyError> {
        let hex_id = subject_key_id(ed25519_key_id);
        let short = &hex_id[..16.min(hex_id.len())];
        let subject = Name::from_str(&format!(
            "CN=wipeproof station {short},serialNumber={hex_id}"
        ))
        .map_err(encode_err)?;
        let mut serial = [0u8; 16];
        getrandom::fill(&mut serial).map_err(|e| KeyError::Rng(e.to_string()))?;
        serial[0] &= 0x7f;
        serial[0] |= 0x40;
        let serial = SerialNumber::new(&serial).map_err(encode_err)?;
        // Valid from a day ago (clocks of stations and auditors differ), without an end: the
        // certificates it signs are read for years.
        let not_before = Time::now()
            .ok()
            .and_then(|t| Time::try_from(t.to_system_time() - Duration::from_secs(86_400)).ok())
            .ok_or_else(|| encode_err("the clock is not a valid certificate time"))?;
        let validity = Validity::new(not_before, Time::INFINITY);
        let spki =
            spki::SubjectPublicKeyInfoOwned::from_key(key.verifying_key()).map_err(encode_err)?;
        let builder = CertificateBuilder::new(Station { subject }, serial, validity, spki)
            .map_err(encode_err)?;
        let certificate = builder.build::<_, DerSignature>(&key).map_err(encode_err)?;
        let certificate_der = certificate.to_der().map_err(encode_err)?;
        Ok(PdfSigner {
            key,
            certificate,
            certificate_der,
            issuer: None,
        })
    }

    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate_der
    }

    /// The certificate as PEM, which `openssl x509`, `certutil -A` and pyHanko read.
    pub fn certificate_pem(&self) -> Result<String, KeyError> {
        self.certificate.to_pem(LineEnding::LF).map_err(encode_err)
    }

    /// ECDSA P-256 with SHA-256 over `message` (RFC 6979: the same message gives the same
    /// signature), DER-encoded.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let sig: DerSignature = self.key.sign(message);
        sig.as_bytes().to_vec()
    }

    /// Loads the PDF key and certificate from the keys directory, making them on first use (a
    /// station made before PDF signatures). A certificate that does not name `ed25519_key_id`
    /// or not certify this key (the Ed25519 key was replaced) is made again.
    pub fn load_or_create(dir: &Path, ed25519_key_id: &str) -> Result<PdfSigner, KeyError> {
        let key_path = dir.join(PDF_KEY_FILE);
        let key = match read_optional(&key_path)? {
            Some(text) => {
                SigningKey::from_pkcs8_pem(text.trim()).map_err(|e| KeyError::BadPrivate {
                    path: key_path.clone(),
                    message: format!("not a PKCS#8 P-256 key: {e}"),
                })?
            }
            None => {
                let made = Self::generate(ed25519_key_id)?;
                match made.write_key(dir, false) {
                    Ok(()) => made.key,
                    // Another process made it in between: use theirs.
                    Err(KeyError::Exists(_)) => return Self::load_or_create(dir, ed25519_key_id),
                    Err(e) => return Err(e),
                }
            }
        };
        let cert_path = dir.join(CERTIFICATE_FILE);
        if let Some(text) = read_optional(&cert_path)?
            && let Ok(certificate) = Certificate::from_pem(text.trim())
            && certifies(&certificate, &key, ed25519_key_id)
        {
            let certificate_der = certificate.to_der().map_err(encode_err)?;
            let issuer = issuer_of(dir, &certificate)?;
            return Ok(PdfSigner {
                key,
                certificate,
                certificate_der,
                issuer,
            });
        }
        let signer = Self::certify(key, ed25519_key_id)?;
        signer.write_certificate(dir)?;
        Ok(signer)
    }

    /// The CA certificate that issued this station's certificate, if a register's CA did.
    pub fn issuer(&self) -> Option<&Certificate> {
        self.issuer.as_ref()
    }

    /// Installs a certificate a register's CA (`ca`) issued for this key: it must certify this
    /// key, name `ed25519_key_id` and be signed by `ca`. Written into `dir` and used from now
    /// on; `Ok(false)` if it is the one in use already.
    pub fn install_issued(
        &mut self,
        dir: &Path,
        ed25519_key_id: &str,
        issued: &Certificate,
        ca: &Certificate,
    ) -> Result<bool, KeyError> {
        let refuse = |why: &str| {
            KeyError::Encode(format!(
                "the certificate the register issued is not usable: {why}; ask its \
                 administrator to enroll this station again (`wipeproof stations add`)"
            ))
        };
        if !certifies(issued, &self.key, ed25519_key_id) {
            return Err(refuse(
                "it does not certify this station's PDF key and key id",
            ));
        }
        if !super::authority::signed_by(issued, ca) {
            return Err(refuse("the register's CA did not sign it"));
        }
        if *issued == self.certificate && self.issuer.as_ref() == Some(ca) {
            return Ok(false);
        }
        let ca_path = dir.join(ISSUER_FILE);
        let ca_pem = ca.to_pem(LineEnding::LF).map_err(encode_err)?;
        write_atomic(&ca_path, ca_pem.as_bytes()).map_err(|source| KeyError::Write {
            path: ca_path,
            source,
        })?;
        self.certificate = issued.clone();
        self.certificate_der = issued.to_der().map_err(encode_err)?;
        self.issuer = Some(ca.clone());
        self.write_certificate(dir)?;
        Ok(true)
    }

    /// Writes the key (mode 0600; never over one unless `force`) and the certificate.
    pub fn write(&self, dir: &Path, force: bool) -> Result<(), KeyError> {
        self.write_key(dir, force)?;
        self.write_certificate(dir)
    }

    fn write_key(&self, dir: &Path, force: bool) -> Result<(), KeyError> {
        let path = dir.join(PDF_KEY_FILE);
        let pem = self.key.to_pkcs8_pem(LineEnding::LF).map_err(encode_err)?;
        let opts = WriteOptions {
            mode: 0o600,
            create_new: !force,
        };
        write_atomic_with(&path, pem.as_bytes(), opts).map_err(|source| {
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                KeyError::Exists(path.clone())
            } else {
                KeyError::Write { path, source }
            }
        })
    }

    fn write_certificate(&self, dir: &Path) -> Result<(), KeyError> {
        let path = dir.join(CERTIFICATE_FILE);
        write_atomic(&path, self.certificate_pem()?.as_bytes())
            .map_err(|source| KeyError::Write { path, source })
    }
}

/// The CA certificate in `dir` that signed `cert`, if `cert` is not self-signed and one did.
fn issuer_of(dir: &Path, cert: &Certificate) -> Result<Option<Certificate>, KeyError> {
    if cert.tbs_certificate().issuer() == cert.tbs_certificate().subject() {
        return Ok(None);
    }
    let Some(text) = read_optional(&dir.join(ISSUER_FILE))? else {
        return Ok(None);
    };
    Ok(Certificate::from_pem(text.trim())
        .ok()
        .filter(|ca| super::authority::signed_by(cert, ca)))
}

/// Whether `cert` holds `key`'s public key and names `ed25519_key_id`.
fn certifies(cert: &Certificate, key: &SigningKey, ed25519_key_id: &str) -> bool {
    let ours = key
        .verifying_key()
        .to_public_key_der()
        .map(|d| d.as_bytes().to_vec())
        .ok();
    let theirs = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .ok();
    ours.is_some() && ours == theirs && named_key_id(cert).as_deref() == Some(ed25519_key_id)
}

/// The P-256 public key of a certificate, if it has one.
pub fn p256_key(cert: &Certificate) -> Option<VerifyingKey> {
    use p256::pkcs8::DecodePublicKey;
    let der = cert
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .ok()?;
    VerifyingKey::from_public_key_der(&der).ok()
}

/// Reads a certificate from DER.
pub fn certificate_from_der(der: &[u8]) -> Result<Certificate, String> {
    Certificate::from_der(der).map_err(|e| e.to_string())
}

fn read_optional(path: &PathBuf) -> Result<Option<Zeroizing<String>>, KeyError> {
    match fs::read_to_string(path) {
        Ok(t) => Ok(Some(Zeroizing::new(t))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(KeyError::Read {
            path: path.clone(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "SHA256:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

    #[test]
    fn the_certificate_names_the_ed25519_key_and_holds_the_p256_key() {
        let s = PdfSigner::generate(ID).unwrap();
        assert_eq!(named_key_id(s.certificate()).as_deref(), Some(ID));
        assert!(certifies(s.certificate(), &s.key, ID));
        assert!(!certifies(s.certificate(), &s.key, "SHA256:00"));
        let pem = s.certificate_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        // The self-signature verifies under the certified key.
        use signature::Verifier;
        let tbs = s.certificate().tbs_certificate().to_der().unwrap();
        let sig =
            p256::ecdsa::DerSignature::from_bytes(s.certificate().signature().raw_bytes()).unwrap();
        p256_key(s.certificate())
            .unwrap()
            .verify(&tbs, &sig)
            .unwrap();
    }

    #[test]
    fn made_on_first_use_then_loaded_and_remade_when_the_ed25519_key_changes() {
        let dir = tempfile::tempdir().unwrap();
        let first = PdfSigner::load_or_create(dir.path(), ID).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir.path().join(PDF_KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = PdfSigner::load_or_create(dir.path(), ID).unwrap();
        assert_eq!(first.certificate_der(), again.certificate_der());
        let other = "SHA256:ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
        let remade = PdfSigner::load_or_create(dir.path(), other).unwrap();
        assert_eq!(named_key_id(remade.certificate()).as_deref(), Some(other));
        assert_eq!(
            remade.key.to_bytes(),
            first.key.to_bytes(),
            "same P-256 key"
        );
        fs::write(dir.path().join(PDF_KEY_FILE), "junk").unwrap();
        let err = PdfSigner::load_or_create(dir.path(), ID).unwrap_err();
        assert!(err.to_string().contains(PDF_KEY_FILE), "{err}");
    }
}
