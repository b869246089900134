//! The TLS client a validator needs: it accepts any certificate (the server has no
//! trusted one yet; Go's `InsecureSkipVerify`) but still checks that the server holds
//! the certificate's key (the handshake signature), on TLS 1.2 and 1.3 only.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

/// Accepts every certificate chain; verifies handshake signatures with the provider.
#[derive(Debug)]
struct AnyCertificate {
    algorithms: WebPkiSupportedAlgorithms,
}

impl AnyCertificate {
    /// Checks the handshake signature with the certificate's public key. The certificate
    /// is read by x509-parser, not webpki: webpki refuses the critical acmeIdentifier
    /// extension every tls-alpn-01 certificate carries.
    fn verify(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        use x509_parser::prelude::{FromDer as _, X509Certificate};
        let bad = || rustls::Error::InvalidCertificate(rustls::CertificateError::BadSignature);
        let (_, parsed) = X509Certificate::from_der(cert.as_ref()).map_err(|_| {
            rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding)
        })?;
        let public_key = &parsed.public_key().subject_public_key.data;
        let verified = self
            .algorithms
            .mapping
            .iter()
            .filter(|(scheme, _)| *scheme == dss.scheme)
            .flat_map(|(_, algs)| algs.iter())
            .any(|alg| {
                alg.verify_signature(public_key, message, dss.signature())
                    .is_ok()
            });
        if verified {
            Ok(HandshakeSignatureValid::assertion())
        } else {
            Err(bad())
        }
    }
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verify(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verify(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// A client configuration as a validation uses it: offering `alpn` (none when empty),
/// TLS 1.2 and 1.3, ring; any certificate accepted, handshake signatures checked.
pub fn client_config(alpn: &[&str]) -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let algorithms = provider.signature_verification_algorithms;
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .expect("ring supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate { algorithms }))
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    Arc::new(config)
}

/// How Go words a TLS failure, as Boulder passes it on (`detailedError`).
pub(crate) fn tls_problem(e: &std::io::Error) -> crate::problem::Problem {
    use crate::problem::{Problem, ProblemKind};
    let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return crate::dial::io_problem(e);
    };
    match tls {
        rustls::Error::AlertReceived(alert) => Problem::new(
            ProblemKind::Tls,
            format!("remote error: tls: {}", alert_text(*alert)),
        ),
        rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType) => {
            Problem::malformed("Server only speaks HTTP, not TLS")
        }
        other => Problem::new(ProblemKind::Tls, format!("tls: {other}")),
    }
}

/// Go's text for the alerts a validation meets.
fn alert_text(alert: rustls::AlertDescription) -> String {
    use rustls::AlertDescription as A;
    match alert {
        A::NoApplicationProtocol => "no application protocol".into(),
        A::UnrecognisedName => "unrecognized name".into(),
        A::HandshakeFailure => "handshake failure".into(),
        A::ProtocolVersion => "protocol version not supported".into(),
        A::InternalError => "internal error".into(),
        A::AccessDenied => "access denied".into(),
        other => format!("{other:?}"),
    }
}
