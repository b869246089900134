//! A tls-alpn-01 responder standing in for an ACME client on port 443: it presents the
//! self-signed certificate RFC 8737 describes (one SAN, a critical acmeIdentifier with
//! SHA-256 of the key authorization) to a ClientHello offering `acme-tls/1`, and counts
//! the handshakes it completed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::Context as _;
use rcgen::{CertificateParams, CustomExtension, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use sha2::Digest as _;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A running responder on a loopback port.
pub struct TlsAlpnResponder {
    addr: SocketAddr,
    handshakes: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

/// Serves the one certificate whatever the hello says (rustls's own single-certificate
/// resolver would refuse the critical acmeIdentifier extension, unknown to webpki).
#[derive(Debug)]
struct OneCertificate(Arc<CertifiedKey>);

impl ResolvesServerCert for OneCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }
}

impl TlsAlpnResponder {
    /// Listens on `bind` (`127.0.0.1:0`) with the challenge certificate for `domain`.
    pub async fn start(bind: &str, domain: &str, key_authorization: &str) -> anyhow::Result<Self> {
        let key = KeyPair::generate().context("generating the key")?;
        let mut params =
            CertificateParams::new(vec![domain.to_owned()]).context("certificate parameters")?;
        let digest: [u8; 32] = sha2::Sha256::digest(key_authorization.as_bytes()).into();
        params
            .custom_extensions
            .push(CustomExtension::new_acme_identifier(&digest));
        let cert = params.self_signed(&key).context("self-signing")?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let signing_key = provider
            .key_provider
            .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
                key.serialize_der(),
            )))
            .context("loading the key")?;
        let certified =
            CertifiedKey::new(vec![CertificateDer::from(cert.der().to_vec())], signing_key);
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("protocol versions")?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(OneCertificate(Arc::new(certified))));
        config.alpn_protocols = vec![b"acme-tls/1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind(bind).await.context("binding")?;
        let addr = listener.local_addr().context("local address")?;
        let handshakes = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&handshakes);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let count = Arc::clone(&count);
                tokio::spawn(async move {
                    if let Ok(mut tls) = acceptor.accept(stream).await {
                        count.fetch_add(1, Ordering::SeqCst);
                        let _ = tls.shutdown().await;
                    }
                });
            }
        });
        Ok(Self {
            addr,
            handshakes,
            task,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Handshakes completed so far.
    pub fn handshakes(&self) -> usize {
        self.handshakes.load(Ordering::SeqCst)
    }

    /// Handshakes completed, once there are at least `n` or `within` has passed: the
    /// responder finishes its side of a handshake just after the client has finished
    /// its own, so a client's success does not mean the count has moved yet.
    pub async fn handshakes_at_least(&self, n: usize, within: std::time::Duration) -> usize {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let done = self.handshakes();
            if done >= n || tokio::time::Instant::now() >= deadline {
                return done;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }
}

impl Drop for TlsAlpnResponder {
    fn drop(&mut self) {
        self.task.abort();
    }
}
