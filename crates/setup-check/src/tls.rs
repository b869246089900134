//! The probes' TLS client: a handshake offering only `acme-tls/1` with the domain as
//! SNI, as a CA opens a tls-alpn-01 validation. It accepts any certificate and any
//! handshake signature: it only asks whether the server speaks TLS with `acme-tls/1`
//! (the validator crate judges certificates), and sends no data after the handshake.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{AlertDescription, ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// How a handshake went.
#[derive(Debug, Clone)]
pub(crate) enum Handshake {
    /// Completed, `acme-tls/1` negotiated.
    AcmeTls,
    /// Completed without ALPN: the server ignored `acme-tls/1`.
    NoAlpn,
    /// The server refused `acme-tls/1` (`no_application_protocol` alert): an ACME client
    /// between validations answers so.
    NoApplicationProtocol,
    /// Another TLS alert from the server.
    Alert(String),
    /// The TCP connect failed or timed out.
    Connect(String),
    /// Connected, but the handshake failed otherwise (not TLS, closed, timed out).
    Failed(String),
}

/// Accepts every certificate and signature: see the module docs.
#[derive(Debug)]
struct AcceptAny(Vec<SignatureScheme>);

impl ServerCertVerifier for AcceptAny {
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
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Ok(HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.clone()
    }
}

fn client_config() -> Arc<ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let schemes = provider
        .signature_verification_algorithms
        .supported_schemes();
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .expect("ring supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptAny(schemes)))
        .with_no_client_auth();
    config.alpn_protocols = vec![validator::ACME_TLS_1.as_bytes().to_vec()];
    Arc::new(config)
}

/// Opens a connection to `addr` and performs the handshake for `sni`.
pub(crate) async fn handshake(addr: SocketAddr, sni: &str, timeout: Duration) -> Handshake {
    let tcp = match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
        Ok(Ok(tcp)) => tcp,
        Ok(Err(e)) => return Handshake::Connect(e.to_string()),
        Err(_) => return Handshake::Connect(format!("timed out after {timeout:?}")),
    };
    let Ok(name) = ServerName::try_from(sni.to_owned()) else {
        return Handshake::Failed(format!("{sni} cannot be sent as SNI"));
    };
    let connector = TlsConnector::from(client_config());
    match tokio::time::timeout(timeout, connector.connect(name, tcp)).await {
        Err(_) => Handshake::Failed("no handshake in time".into()),
        Ok(Ok(stream)) => match stream.get_ref().1.alpn_protocol() {
            Some(p) if p == validator::ACME_TLS_1.as_bytes() => Handshake::AcmeTls,
            _ => Handshake::NoAlpn,
        },
        Ok(Err(e)) => {
            let tls = e
                .get_ref()
                .and_then(|inner| inner.downcast_ref::<rustls::Error>());
            match tls {
                Some(rustls::Error::AlertReceived(AlertDescription::NoApplicationProtocol)) => {
                    Handshake::NoApplicationProtocol
                }
                Some(rustls::Error::AlertReceived(alert)) => Handshake::Alert(format!("{alert:?}")),
                Some(rustls::Error::InvalidMessage(_)) => {
                    Handshake::Failed("the server does not speak TLS".into())
                }
                Some(other) => Handshake::Failed(other.to_string()),
                None => Handshake::Failed(e.to_string()),
            }
        }
    }
}
