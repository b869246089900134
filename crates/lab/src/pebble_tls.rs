//! The TLS certificate of pebble's own HTTPS endpoints (ACME and management), which the
//! pebble package does not ship: a throwaway CA and a `localhost` / `127.0.0.1` server
//! certificate it signs, made with rcgen on the ring provider. ACME clients trust the CA
//! (`LEGO_CA_CERTIFICATES`, `REQUESTS_CA_BUNDLE`).
//!
//! This CA only vouches for pebble's HTTPS endpoint; the certificates pebble issues come
//! from pebble's own root and intermediate, new at each start.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::LabError;
use crate::dir::write_file;

/// The files written by [`write`].
#[derive(Debug, Clone)]
pub(crate) struct PebbleTlsFiles {
    /// The CA certificate (PEM), for the clients.
    pub(crate) ca_cert: PathBuf,
    /// pebble's server certificate (PEM).
    pub(crate) server_cert: PathBuf,
    /// pebble's server key (PEM).
    pub(crate) server_key: PathBuf,
}

/// Makes the CA and the server certificate and writes them into `dir` as `ca.pem`,
/// `localhost.pem` and `localhost.key`.
pub(crate) fn write(dir: &Path) -> Result<PebbleTlsFiles, LabError> {
    let ca_key = KeyPair::generate().map_err(LabError::Certificate)?;
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name.push(
        DnType::CommonName,
        "acme-srv lab CA for pebble's HTTPS endpoint",
    );
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .map_err(LabError::Certificate)?;
    let ca = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().map_err(LabError::Certificate)?;
    let mut params = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
        .map_err(LabError::Certificate)?;
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let server_cert = params
        .signed_by(&server_key, &ca)
        .map_err(LabError::Certificate)?;

    let files = PebbleTlsFiles {
        ca_cert: dir.join("ca.pem"),
        server_cert: dir.join("localhost.pem"),
        server_key: dir.join("localhost.key"),
    };
    write_file(&files.ca_cert, &ca_cert.pem())?;
    write_file(&files.server_cert, &server_cert.pem())?;
    write_file(&files.server_key, &server_key.serialize_pem())?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_ca_and_a_localhost_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let files = write(dir.path()).unwrap();
        let ca = std::fs::read_to_string(&files.ca_cert).unwrap();
        let server = std::fs::read(&files.server_cert).unwrap();
        assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
        let (_, pem) = x509_parser::pem::parse_x509_pem(&server).unwrap();
        let cert = pem.parse_x509().unwrap();
        let names: Vec<String> = cert
            .subject_alternative_name()
            .unwrap()
            .unwrap()
            .value
            .general_names
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(names.iter().any(|n| n.contains("localhost")), "{names:?}");
        assert!(names.iter().any(|n| n.contains("7f:00:00:01")), "{names:?}");
        assert!(
            cert.issuer()
                .to_string()
                .contains("acme-srv lab CA for pebble")
        );
    }
}
