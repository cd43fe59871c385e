//! The lab's local certificate authority, as pure functions: create the CA, issue the gateway's
//! server certificate, and read an existing certificate back (validity, names, issuer, key).
//!
//! Keys and certificates are made with `rcgen` (ECDSA P-256 with SHA-256, which nginx's OpenSSL,
//! curl and every current client take) and read with `x509-parser`; no certificate field is
//! parsed by hand. A key is only ever a [`Secret`]: its `Debug` shows its length, never its
//! text.

use std::collections::BTreeSet;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::GeneralName;
use x509_parser::pem::Pem;

/// The CA's common name.
pub const CA_NAME: &str = "Phoenix lab CA";

/// How long the CA is valid: ten years.
pub const CA_DAYS: i64 = 3650;

/// How long a server certificate is valid: one year (below the 398 days clients cap public
/// certificates at, so a later switch to a public CA changes nothing for clients).
pub const SERVER_DAYS: i64 = 365;

/// A server certificate is renewed this many days before it expires, so a run a month late
/// still renews it in time.
pub const RENEW_DAYS: i64 = 30;

const DAY: i64 = 86_400;

/// Text that must never be shown: a private key.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `text`.
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The text, for the one place that writes it.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({} bytes)", self.0.len())
    }
}

/// A certificate with its private key, both PEM.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The certificate.
    pub cert_pem: String,
    /// The private key (PKCS#8).
    pub key: Secret,
}

/// What went wrong making or reading a certificate.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// rcgen refused (a bad name, a key it cannot use).
    #[error("make a certificate")]
    Make(#[source] rcgen::Error),
    /// The text is not a PEM certificate x509-parser reads.
    #[error("read the certificate: {0}")]
    Read(String),
    /// The key is not a PEM private key rcgen reads (its text is never quoted).
    #[error("read the private key")]
    Key(#[source] rcgen::Error),
}

/// A certificate as read back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertInfo {
    /// The subject, as OpenSSL prints it (`CN=Phoenix lab CA`).
    pub subject: String,
    /// The issuer.
    pub issuer: String,
    /// Valid from (unix seconds).
    pub not_before: i64,
    /// Valid until (unix seconds).
    pub not_after: i64,
    /// DNS names and IP addresses of its subject alternative names.
    pub names: BTreeSet<String>,
    /// Whether it is a CA (`basicConstraints CA:TRUE`).
    pub is_ca: bool,
}

impl CertInfo {
    /// The day it should be renewed: [`RENEW_DAYS`] before it expires.
    pub fn renew_on(&self) -> i64 {
        self.not_after - RENEW_DAYS * DAY
    }

    /// Whether it should be renewed at `now`: it expires within [`RENEW_DAYS`], or is not valid
    /// yet (a clock that went back).
    pub fn renewal_due(&self, now: i64) -> bool {
        now >= self.renew_on() || now < self.not_before
    }
}

/// A new CA: a fresh key and a self-signed certificate valid for [`CA_DAYS`] from `now`, that
/// may sign server certificates only (path length 0).
pub fn new_ca(now: i64) -> Result<Issued, CaError> {
    let key = KeyPair::generate().map_err(CaError::Make)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = name(CA_NAME);
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    validity(&mut params, now, CA_DAYS)?;
    params.serial_number = Some(serial()?);
    let cert = params.self_signed(&key).map_err(CaError::Make)?;
    Ok(Issued {
        cert_pem: cert.pem(),
        key: Secret::new(key.serialize_pem()),
    })
}

/// A server certificate for `names` (DNS names and IP addresses; the first is the common
/// name), valid for [`SERVER_DAYS`] from `now`, signed by the CA.
pub fn issue_server(
    ca_cert_pem: &str,
    ca_key: &Secret,
    names: &[String],
    now: i64,
) -> Result<Issued, CaError> {
    let ca_key = KeyPair::from_pem(ca_key.reveal()).map_err(CaError::Key)?;
    let issuer = Issuer::from_ca_cert_pem(ca_cert_pem, ca_key).map_err(CaError::Make)?;
    let key = KeyPair::generate().map_err(CaError::Make)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = name(names.first().map_or("phoenix-gateway", String::as_str));
    params.subject_alt_names = names
        .iter()
        .map(|n| match n.parse::<IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => n.clone().try_into().map(SanType::DnsName),
        })
        .collect::<Result<_, _>>()
        .map_err(CaError::Make)?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    validity(&mut params, now, SERVER_DAYS)?;
    params.serial_number = Some(serial()?);
    let cert = params.signed_by(&key, &issuer).map_err(CaError::Make)?;
    Ok(Issued {
        cert_pem: cert.pem(),
        key: Secret::new(key.serialize_pem()),
    })
}

/// Reads the first certificate of a PEM text.
pub fn read_cert(pem: &str) -> Result<CertInfo, CaError> {
    with_cert(pem, |cert| {
        let mut names = BTreeSet::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for general in &san.value.general_names {
                match general {
                    GeneralName::DNSName(dns) => {
                        names.insert((*dns).to_owned());
                    }
                    GeneralName::IPAddress(bytes) => {
                        names.extend(ip_of(bytes).map(|ip| ip.to_string()));
                    }
                    _ => {}
                }
            }
        }
        Ok(CertInfo {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            names,
            is_ca: cert.is_ca(),
        })
    })
}

/// Whether `cert_pem` carries a signature that `ca_cert_pem`'s key made.
pub fn signed_by(cert_pem: &str, ca_cert_pem: &str) -> bool {
    with_cert(ca_cert_pem, |ca| {
        let spki = ca.public_key().clone();
        with_cert(cert_pem, |cert| {
            Ok(cert.verify_signature(Some(&spki)).is_ok())
        })
    })
    .unwrap_or(false)
}

/// Whether `key` is the private key of `cert_pem` (so nginx will load the pair).
pub fn key_matches(cert_pem: &str, key: &Secret) -> bool {
    let Ok(pair) = KeyPair::from_pem(key.reveal()) else {
        return false;
    };
    with_cert(cert_pem, |cert| {
        Ok(cert.public_key().subject_public_key.data.as_ref() == pair.public_key_raw())
    })
    .unwrap_or(false)
}

/// A unix time as a UTC date (`2026-12-05`), for plans.
pub fn date(unix: i64) -> String {
    let text = phoenix_core::utc::format_utc(unix);
    text.get(..10).unwrap_or(&text).to_owned()
}

fn with_cert<T>(
    pem: &str,
    read: impl FnOnce(&X509Certificate<'_>) -> Result<T, CaError>,
) -> Result<T, CaError> {
    let pem = Pem::iter_from_buffer(pem.as_bytes())
        .next()
        .ok_or_else(|| CaError::Read("no PEM block".into()))?
        .map_err(|e| CaError::Read(e.to_string()))?;
    if pem.label != "CERTIFICATE" {
        return Err(CaError::Read(format!(
            "a PEM {} block, not a CERTIFICATE",
            pem.label
        )));
    }
    let cert = pem.parse_x509().map_err(|e| CaError::Read(e.to_string()))?;
    read(&cert)
}

fn ip_of(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|b| Ipv4Addr::from(b).into()),
        16 => <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|b| Ipv6Addr::from(b).into()),
        _ => None,
    }
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn
}

fn validity(params: &mut CertificateParams, now: i64, days: i64) -> Result<(), CaError> {
    let at = |t: i64| {
        time::OffsetDateTime::from_unix_timestamp(t)
            .map_err(|_| CaError::Make(rcgen::Error::InvalidAsn1String(out_of_range(t))))
    };
    // An hour of slack for a client clock slightly behind.
    params.not_before = at(now - 3600)?;
    params.not_after = at(now + days * DAY)?;
    Ok(())
}

fn out_of_range(t: i64) -> rcgen::InvalidAsn1String {
    rcgen::InvalidAsn1String::PrintableString(format!("time {t} out of range"))
}

/// A random positive 128-bit serial number, as RFC 5280 asks (unique per CA).
fn serial() -> Result<SerialNumber, CaError> {
    // A fresh key's public point is 64 random bytes; its first 16 make a serial without
    // another source of randomness.
    let key = KeyPair::generate().map_err(CaError::Make)?;
    let raw = key.public_key_raw();
    let mut bytes: Vec<u8> = raw.iter().skip(1).take(16).copied().collect();
    if let Some(first) = bytes.first_mut() {
        *first &= 0x7f;
        *first |= 0x01;
    }
    Ok(SerialNumber::from_slice(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_000_000; // 2026-11-30

    fn lab() -> (Issued, Issued) {
        let ca = new_ca(NOW).expect("a CA");
        let names = vec!["gateway.lab".to_owned(), "10.0.0.153".to_owned()];
        let server = issue_server(&ca.cert_pem, &ca.key, &names, NOW).expect("a server cert");
        (ca, server)
    }

    #[test]
    fn issue_13_the_ca_signs_a_server_certificate_for_the_gateway_s_names() {
        let (ca, server) = lab();
        let info = read_cert(&ca.cert_pem).expect("the CA reads back");
        assert!(info.is_ca);
        assert_eq!(info.subject, "CN=Phoenix lab CA");
        assert_eq!(info.not_after - NOW, CA_DAYS * DAY);
        let info = read_cert(&server.cert_pem).expect("the server cert reads back");
        assert!(!info.is_ca);
        assert_eq!(info.issuer, "CN=Phoenix lab CA");
        assert_eq!(info.subject, "CN=gateway.lab");
        assert_eq!(
            info.names,
            BTreeSet::from(["10.0.0.153".to_owned(), "gateway.lab".to_owned()])
        );
        assert_eq!(info.not_after - NOW, SERVER_DAYS * DAY);
        assert!(signed_by(&server.cert_pem, &ca.cert_pem));
        assert!(key_matches(&server.cert_pem, &server.key));
    }

    #[test]
    fn issue_13_another_ca_or_another_key_is_told_apart() {
        let (ca, server) = lab();
        let (other_ca, other_server) = lab();
        assert!(!signed_by(&server.cert_pem, &other_ca.cert_pem));
        assert!(signed_by(&other_server.cert_pem, &other_ca.cert_pem));
        assert!(!key_matches(&server.cert_pem, &other_server.key));
        assert!(!key_matches(&server.cert_pem, &Secret::new("not a key")));
        assert!(!signed_by("garbage", &ca.cert_pem));
    }

    #[test]
    fn issue_13_renewal_is_due_thirty_days_before_expiry() {
        let (_, server) = lab();
        let info = read_cert(&server.cert_pem).expect("reads back");
        assert_eq!(
            date(info.renew_on()),
            date(NOW + (SERVER_DAYS - RENEW_DAYS) * DAY)
        );
        for (now, due) in [
            (NOW, false),
            (info.renew_on() - 1, false),
            (info.renew_on(), true),
            (info.not_after + 1, true),
            (NOW - 2 * 3600, true),
        ] {
            assert_eq!(info.renewal_due(now), due, "at {}", date(now));
        }
    }

    #[test]
    fn issue_13_a_key_is_never_shown_by_debug_and_bad_input_is_an_error() {
        let (ca, _) = lab();
        let shown = format!("{ca:?}");
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
        assert!(shown.contains("Secret("), "{shown}");
        assert!(read_cert("").is_err());
        assert!(
            read_cert(ca.key.reveal()).is_err(),
            "a key is no certificate"
        );
        let error = issue_server(&ca.cert_pem, &Secret::new("x"), &[], NOW)
            .expect_err("a bad CA key is refused");
        assert_eq!(error.to_string(), "read the private key");
    }

    #[test]
    fn issue_13_the_real_openssl_verifies_the_chain_and_reads_the_names() {
        let (ca, server) = lab();
        let dir = tempfile::tempdir().expect("a temporary directory");
        let ca_path = dir.path().join("ca.crt");
        let cert_path = dir.path().join("server.crt");
        std::fs::write(&ca_path, &ca.cert_pem).expect("write");
        std::fs::write(&cert_path, &server.cert_pem).expect("write");
        let out = openssl(&[
            "verify",
            "-CAfile",
            &ca_path.display().to_string(),
            "-purpose",
            "sslserver",
            "-attime",
            &(NOW + DAY).to_string(),
            &cert_path.display().to_string(),
        ]);
        assert!(out.contains(": OK"), "{out}");
        let text = openssl(&[
            "x509",
            "-noout",
            "-text",
            "-in",
            &cert_path.display().to_string(),
        ]);
        assert!(
            text.contains("DNS:gateway.lab, IP Address:10.0.0.153"),
            "{text}"
        );
        assert!(text.contains("TLS Web Server Authentication"), "{text}");
    }

    fn openssl(args: &[&str]) -> String {
        use phoenix_core::host::Host;
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        let out = runtime
            .block_on(
                phoenix_core::LocalHost::new()
                    .run(&phoenix_core::Cmd::read("openssl", args.iter().copied())),
            )
            .expect("the real openssl runs");
        format!("{}{}", out.stdout, out.stderr)
    }
}
