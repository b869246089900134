//! Reading the certificate an ACME client obtained: the leaf (the first PEM block of
//! the chain file) with its subject, issuer, DNS names and validity, for the lab to
//! print.

use std::fmt;
use std::path::{Path, PathBuf};

use x509_parser::extensions::GeneralName;

use crate::LabError;

/// What the lab reports about an issued certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// The chain file (leaf first), PEM.
    pub path: PathBuf,
    /// The leaf's subject (RFC 4514 string; empty when the subject is empty).
    pub subject: String,
    /// The leaf's issuer (RFC 4514 string), pebble's intermediate.
    pub issuer: String,
    /// The DNS names in the leaf's subjectAltName.
    pub dns_names: Vec<String>,
    /// The start of the validity period.
    pub not_before: String,
    /// The end of the validity period.
    pub not_after: String,
}

impl IssuedCertificate {
    /// Reads and parses the leaf certificate in the PEM file `path`.
    ///
    /// # Errors
    ///
    /// [`LabError::BadCertificate`] when the file cannot be read or holds no parsable
    /// certificate.
    pub fn read(path: &Path) -> Result<Self, LabError> {
        let bad = |reason: String| LabError::BadCertificate {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| bad(e.to_string()))?;
        let (_, pem) =
            x509_parser::pem::parse_x509_pem(&bytes).map_err(|e| bad(format!("not PEM: {e}")))?;
        if pem.label != "CERTIFICATE" {
            return Err(bad(format!("the first PEM block is a {:?}", pem.label)));
        }
        let cert = pem
            .parse_x509()
            .map_err(|e| bad(format!("not an X.509 certificate: {e}")))?;
        let dns_names = match cert.subject_alternative_name() {
            Ok(Some(san)) => san
                .value
                .general_names
                .iter()
                .filter_map(|name| match name {
                    GeneralName::DNSName(dns) => Some((*dns).to_owned()),
                    _ => None,
                })
                .collect(),
            Ok(None) => Vec::new(),
            Err(e) => return Err(bad(format!("bad subjectAltName: {e}"))),
        };
        Ok(Self {
            path: path.to_path_buf(),
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            dns_names,
            not_before: cert.validity().not_before.to_string(),
            not_after: cert.validity().not_after.to_string(),
        })
    }
}

impl fmt::Display for IssuedCertificate {
    /// The lines `acme-srv lab --issue` prints.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let subject = if self.subject.is_empty() {
            "(empty)"
        } else {
            &self.subject
        };
        writeln!(f, "subject:     {subject}")?;
        writeln!(f, "names:       {}", self.dns_names.join(", "))?;
        writeln!(f, "issuer:      {}", self.issuer)?;
        writeln!(f, "valid:       {} to {}", self.not_before, self.not_after)?;
        write!(f, "certificate: {}", self.path.display())
    }
}

#[cfg(test)]
mod tests {
    use rcgen::{CertificateParams, DnType, KeyPair};

    use super::*;

    #[test]
    fn reads_subject_issuer_and_names() {
        let dir = tempfile::tempdir().unwrap();
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["demo.lab.example.com".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "demo.lab.example.com");
        let cert = params.self_signed(&key).unwrap();
        let path = dir.path().join("chain.pem");
        std::fs::write(&path, format!("{}{}", cert.pem(), cert.pem())).unwrap();

        let issued = IssuedCertificate::read(&path).unwrap();
        assert_eq!(issued.subject, "CN=demo.lab.example.com");
        assert_eq!(issued.issuer, "CN=demo.lab.example.com");
        assert_eq!(issued.dns_names, ["demo.lab.example.com"]);
        let text = issued.to_string();
        assert!(
            text.contains("subject:     CN=demo.lab.example.com"),
            "{text}"
        );
        assert!(
            text.contains(&format!("certificate: {}", path.display())),
            "{text}"
        );
    }

    #[test]
    fn a_file_without_a_certificate_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nothing.pem");
        std::fs::write(&path, "not pem").unwrap();
        assert!(matches!(
            IssuedCertificate::read(&path),
            Err(LabError::BadCertificate { .. })
        ));
    }
}
