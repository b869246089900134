//! TLS material for tests: a throwaway CA with a server certificate it signs (pebble's
//! HTTPS endpoint, nginx behind the router), and ClientHellos built to order for tests
//! that route by them without a TLS stack.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// A CA certificate and a server certificate and key it signed, as PEM files.
#[derive(Debug, Clone)]
pub struct CertificateFiles {
    /// The CA certificate: what clients trust.
    pub ca_cert: PathBuf,
    /// The server certificate.
    pub server_cert: PathBuf,
    /// The server's private key.
    pub server_key: PathBuf,
}

/// Generates a CA named `ca_name` and a server certificate for `names` (DNS names or IP
/// addresses; the first is also the common name) that it signs, and writes them as PEM
/// into `dir` (`ca.pem`, `server.pem`, `server.key`).
pub fn write_certificates(
    dir: &Path,
    ca_name: &str,
    names: &[&str],
) -> anyhow::Result<CertificateFiles> {
    let ca_key = KeyPair::generate().context("generating the CA key")?;
    let mut ca_params = CertificateParams::default();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, ca_name);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .context("self-signing the CA certificate")?;
    let ca = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().context("generating the server key")?;
    let mut params =
        CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
            .context("building the server certificate parameters")?;
    params.distinguished_name.push(
        DnType::CommonName,
        names.first().copied().unwrap_or("server"),
    );
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let server_cert = params
        .signed_by(&server_key, &ca)
        .context("signing the server certificate")?;

    let files = CertificateFiles {
        ca_cert: dir.join("ca.pem"),
        server_cert: dir.join("server.pem"),
        server_key: dir.join("server.key"),
    };
    write_file(&files.ca_cert, &ca_cert.pem())?;
    write_file(&files.server_cert, &server_cert.pem())?;
    write_file(&files.server_key, &server_key.serialize_pem())?;
    Ok(files)
}

fn write_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))
}

/// A TLS 1.2-style ClientHello in one record, with the server name `sni` and the ALPN
/// `protocols` (no ALPN extension when empty): enough for a router, which reads only
/// those.
pub fn client_hello(sni: Option<&str>, protocols: &[&str]) -> Vec<u8> {
    let mut extensions = Vec::new();
    if let Some(name) = sni {
        let mut list = vec![0u8];
        list.extend_from_slice(&u16_len(name.len()));
        list.extend_from_slice(name.as_bytes());
        push_extension(&mut extensions, 0, &with_u16_length(&list));
    }
    if !protocols.is_empty() {
        let mut list = Vec::new();
        for p in protocols {
            list.push(u8::try_from(p.len()).expect("a protocol name fits 255 bytes"));
            list.extend_from_slice(p.as_bytes());
        }
        push_extension(&mut extensions, 16, &with_u16_length(&list));
    }
    let mut body = vec![3, 3];
    body.extend_from_slice(&[0x5a; 32]); // random
    body.push(0); // no session id
    body.extend_from_slice(&[0, 2, 0x13, 0x01]); // one cipher suite
    body.extend_from_slice(&[1, 0]); // null compression
    body.extend_from_slice(&with_u16_length(&extensions));
    let mut handshake = vec![1];
    let len = u32::try_from(body.len()).expect("a small hello");
    handshake.extend_from_slice(&len.to_be_bytes()[1..]);
    handshake.extend_from_slice(&body);
    let mut record = vec![22, 3, 1];
    record.extend_from_slice(&with_u16_length(&handshake));
    record
}

fn u16_len(len: usize) -> [u8; 2] {
    u16::try_from(len).expect("fits a u16 length").to_be_bytes()
}

fn push_extension(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    out.extend_from_slice(&kind.to_be_bytes());
    out.extend_from_slice(&u16_len(data.len()));
    out.extend_from_slice(data);
}

fn with_u16_length(data: &[u8]) -> Vec<u8> {
    let mut out = u16_len(data.len()).to_vec();
    out.extend_from_slice(data);
    out
}
