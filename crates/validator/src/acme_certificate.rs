//! The tls-alpn-01 certificate checks, in Boulder's order (`validateTLSALPN01` in
//! `va/tlsalpn.go`): self-signed, no extension twice and both the SAN and the
//! acmeIdentifier present, exactly one SAN that is the domain (byte for byte), and a
//! critical acmeIdentifier holding SHA-256 of the key authorization (RFC 8737 §3).

use std::collections::BTreeSet;

use sha2::{Digest as _, Sha256};
use x509_parser::der_parser::oid;
use x509_parser::extensions::GeneralName;
use x509_parser::oid_registry::Oid;
use x509_parser::prelude::{FromDer as _, X509Certificate};

/// id-pe-acmeIdentifier (RFC 8737 §6.1).
const ACME_IDENTIFIER: Oid<'static> = oid!(1.3.6.1.5.5.7.1.31);
/// id-ce-subjectAltName.
const SUBJECT_ALT_NAME: Oid<'static> = oid!(2.5.29.17);

/// Checks the leaf certificate `der` a server presented for `domain`. `Err` is the text
/// Boulder puts after "Incorrect validation certificate for tls-alpn-01 challenge.
/// Requested … from …."
pub(crate) fn check(der: &[u8], domain: &str, key_authorization: &str) -> Result<(), String> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| format!("Received certificate that cannot be parsed: {e}"))?;
    let self_signed = cert.tbs_certificate.subject.as_raw() == cert.tbs_certificate.issuer.as_raw()
        && cert.verify_signature(None).is_ok();
    if !self_signed {
        return Err("Received certificate which is not self-signed.".into());
    }
    check_extensions(&cert)
        .map_err(|e| format!("Received certificate with unexpected extensions: {e:?}"))?;
    check_san(&cert, domain).map_err(|e| {
        format!(
            "Received certificate with unexpected identifiers ({:?}): {e:?}",
            alt_names(&cert).join(", ")
        )
    })?;
    let expected: [u8; 32] = Sha256::digest(key_authorization.as_bytes()).into();
    let Some(ext) = cert.extensions().iter().find(|e| e.oid == ACME_IDENTIFIER) else {
        return Err("Received certificate with no acmeValidationV1 extension.".into());
    };
    if !ext.critical {
        return Err(
            "Received certificate with acmeValidationV1 extension that is not Critical.".into(),
        );
    }
    let value = octet_string(ext.value)
        .filter(|v| v.len() == expected.len())
        .ok_or("Received certificate with malformed acmeValidationV1 extension value.")?;
    if value != expected {
        return Err(format!(
            "Received certificate with acmeValidationV1 extension value {} but expected {}.",
            hex(value),
            hex(&expected)
        ));
    }
    Ok(())
}

/// Boulder's `checkAcceptableExtensions`: no OID twice, the required two present.
fn check_extensions(cert: &X509Certificate<'_>) -> Result<(), String> {
    let mut seen = BTreeSet::new();
    for ext in cert.extensions() {
        if !seen.insert(ext.oid.to_id_string()) {
            return Err(format!(
                "Extension OID {} seen twice",
                ext.oid.to_id_string()
            ));
        }
    }
    for required in [ACME_IDENTIFIER, SUBJECT_ALT_NAME] {
        if !seen.contains(&required.to_id_string()) {
            return Err(format!(
                "Required extension OID {} is not present",
                required.to_id_string()
            ));
        }
    }
    Ok(())
}

/// Boulder's `checkExpectedSAN` for a DNS identifier: one dNSName and no IP address,
/// equal to the domain ignoring case, and the extension's bytes exactly those of a SAN
/// holding the domain as given.
fn check_san(cert: &X509Certificate<'_>, domain: &str) -> Result<(), String> {
    let names = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| san.value.general_names.clone())
        .unwrap_or_default();
    let dns: Vec<&str> = names
        .iter()
        .filter_map(|n| match n {
            GeneralName::DNSName(d) => Some(*d),
            _ => None,
        })
        .collect();
    let ips = names
        .iter()
        .filter(|n| matches!(n, GeneralName::IPAddress(_)))
        .count();
    if dns.len() != 1 || ips != 0 {
        return Err("wrong number of identifiers".into());
    }
    if !dns[0].eq_ignore_ascii_case(domain) {
        return Err("identifier does not match expected identifier".into());
    }
    let expected = san_bytes(domain);
    let matches = cert
        .extensions()
        .iter()
        .filter(|e| e.oid == SUBJECT_ALT_NAME)
        .all(|e| e.value == expected.as_slice());
    if !matches {
        return Err("SAN extension does not match expected bytes".into());
    }
    Ok(())
}

/// DER of `SEQUENCE { [2] IMPLICIT IA5String domain }`.
fn san_bytes(domain: &str) -> Vec<u8> {
    let mut inner = vec![0x82];
    push_length(&mut inner, domain.len());
    inner.extend_from_slice(domain.as_bytes());
    let mut out = vec![0x30];
    push_length(&mut out, inner.len());
    out.extend_from_slice(&inner);
    out
}

fn push_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// The content of a DER OCTET STRING that is the whole of `der`.
fn octet_string(der: &[u8]) -> Option<&[u8]> {
    let (&tag, rest) = der.split_first()?;
    let (&len, rest) = rest.split_first()?;
    (tag == 0x04 && usize::from(len) < 0x80 && rest.len() == usize::from(len)).then_some(rest)
}

/// The names a certificate carries (Boulder's `certAltNames`): CN, SANs; lowercase,
/// sorted, unique.
fn alt_names(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut names = BTreeSet::new();
    for cn in cert.subject().iter_common_name() {
        if let Ok(cn) = cn.as_str() {
            names.insert(cn.to_ascii_lowercase());
        }
    }
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) | GeneralName::RFC822Name(d) | GeneralName::URI(d) => {
                    names.insert(d.to_ascii_lowercase());
                }
                GeneralName::IPAddress(bytes) => {
                    let ip = match bytes.len() {
                        4 => <[u8; 4]>::try_from(*bytes)
                            .ok()
                            .map(|b| std::net::IpAddr::from(b).to_string()),
                        16 => <[u8; 16]>::try_from(*bytes)
                            .ok()
                            .map(|b| std::net::IpAddr::from(b).to_string()),
                        _ => None,
                    };
                    names.extend(ip);
                }
                _ => {}
            }
        }
    }
    names.into_iter().collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by `openssl req -x509` with the SAN and a critical acmeIdentifier holding
    /// SHA-256("token.thumbprint"), plus the key identifiers and basic constraints
    /// openssl adds (Boulder accepts extensions beyond the two it requires).
    const OPENSSL_CERTIFICATE: &[u8] =
        include_bytes!("../fuzz/corpus/challenge_certificate/seed-rfc8737");

    #[test]
    fn an_openssl_made_challenge_certificate_passes_for_its_key_authorization_only() {
        assert_eq!(
            check(OPENSSL_CERTIFICATE, "www.example.com", "token.thumbprint"),
            Ok(())
        );
        assert_eq!(
            check(OPENSSL_CERTIFICATE, "WWW.Example.com", "token.thumbprint"),
            Err(
                "Received certificate with unexpected identifiers (\"www.example.com\"): \"SAN \
             extension does not match expected bytes\""
                    .to_owned()
            )
        );
        let other = check(OPENSSL_CERTIFICATE, "www.example.com", "token.other");
        assert!(other.is_err_and(|e| e.contains("but expected")));
    }

    #[test]
    fn the_san_bytes_are_those_go_marshals() {
        assert_eq!(
            san_bytes("a.io"),
            [0x30, 0x06, 0x82, 0x04, b'a', b'.', b'i', b'o']
        );
        let long = "x".repeat(200);
        let bytes = san_bytes(&long);
        assert_eq!(&bytes[..6], &[0x30, 0x81, 203, 0x82, 0x81, 200]);
    }
}
