//! The probes' TLS client: a handshake offering only `acme-tls/1` with the domain as
//! SNI, as a CA opens a tls-alpn-01 validation, with the validator's TLS client (any
//! certificate accepted, the handshake signature checked). It only asks whether the
//! server speaks TLS with `acme-tls/1` (the validator judges certificates), and sends no
//! data after the handshake.

use std::net::SocketAddr;
use std::time::Duration;

use rustls::AlertDescription;
use rustls::pki_types::ServerName;
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
    let connector = TlsConnector::from(validator::tls_client_config(&[validator::ACME_TLS_1]));
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
