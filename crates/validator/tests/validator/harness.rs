//! Crafted targets: an HTTP server whose every answer a test writes by hand, a TLS server
//! presenting a chosen certificate, and a DNS zone (`example.com`) on loopback.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use domain_name::DomainName;
use rcgen::{CertificateParams, CustomExtension, KeyPair};
use test_support::dns_server::TestDns;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;
use validator::{Challenge, Outcome, Validator, ValidatorOptions};

/// The domain validated in these tests (under a real TLD, as redirects need).
pub(crate) const DOMAIN: &str = "www.example.com";
/// A token and its key authorization.
pub(crate) const TOKEN: &str = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
pub(crate) const KEY_AUTHORIZATION: &str =
    "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";

/// The zone `example.com` on loopback, `www` pointing at 127.0.0.1.
pub(crate) async fn zone() -> TestDns {
    let dns = TestDns::start("example.com.", 60).await;
    dns.set_a(DOMAIN, &[Ipv4Addr::LOCALHOST], 60).await;
    dns
}

/// Options for a lab on loopback: `dns` answers, loopback may be contacted, `port`
/// stands for 80 and 443.
pub(crate) fn options(dns: &TestDns, port: u16) -> ValidatorOptions {
    ValidatorOptions {
        dns_server: Some(dns.addr()),
        http_port: port,
        tls_port: port,
        allow_restricted: vec![
            "127.0.0.0/8".parse().expect("cidr"),
            "::1/128".parse().expect("cidr"),
        ],
        ..ValidatorOptions::default()
    }
}

pub(crate) fn domain() -> DomainName {
    DomainName::parse(DOMAIN).expect("domain")
}

/// Runs http-01 for [`DOMAIN`] with [`TOKEN`].
pub(crate) async fn http01(options: ValidatorOptions) -> Outcome {
    let validator = Validator::new(options).expect("validator");
    let challenge = Challenge::http01(domain(), TOKEN, KEY_AUTHORIZATION).expect("challenge");
    validator.validate(&challenge).await
}

/// Runs tls-alpn-01 for [`DOMAIN`].
pub(crate) async fn tls_alpn01(options: ValidatorOptions) -> Outcome {
    let validator = Validator::new(options).expect("validator");
    let challenge = Challenge::TlsAlpn01 {
        domain: domain(),
        key_authorization: KEY_AUTHORIZATION.into(),
    };
    validator.validate(&challenge).await
}

/// The failure's detail; panics (with the outcome) when it passed.
pub(crate) fn refused(outcome: &Outcome) -> String {
    assert!(!outcome.valid, "expected a refusal, got {outcome:#?}");
    outcome.problem.as_ref().expect("a problem").detail.clone()
}

/// Asserts that it passed.
pub(crate) fn accepted(outcome: &Outcome) {
    assert!(outcome.valid, "expected a pass, got {:#?}", outcome.problem);
}

/// One request a crafted target received.
#[derive(Debug, Clone)]
pub(crate) struct Seen {
    pub(crate) peer: IpAddr,
    pub(crate) path: String,
    pub(crate) host: String,
    pub(crate) head: String,
}

type Handler = dyn Fn(&Seen) -> Vec<u8> + Send + Sync;

/// An HTTP/1.1 server on `127.0.0.1:0` answering every request with what `handler`
/// writes, then closing.
pub(crate) struct Crafted {
    pub(crate) addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Crafted {
    pub(crate) async fn start(handler: impl Fn(&Seen) -> Vec<u8> + Send + Sync + 'static) -> Self {
        Self::start_on("127.0.0.1:0", handler).await
    }

    pub(crate) async fn start_on(
        bind: &str,
        handler: impl Fn(&Seen) -> Vec<u8> + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind(bind).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let log = Arc::clone(&seen);
        let task = tokio::spawn(async move {
            while let Ok((mut stream, peer)) = listener.accept().await {
                let handler = Arc::clone(&handler);
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16384 {
                        match stream.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let path = head.split(' ').nth(1).unwrap_or_default().to_owned();
                    let host = head
                        .lines()
                        .find_map(|l| {
                            l.strip_prefix("Host: ")
                                .or_else(|| l.strip_prefix("host: "))
                        })
                        .unwrap_or_default()
                        .to_owned();
                    let request = Seen {
                        peer: peer.ip(),
                        path,
                        host,
                        head,
                    };
                    let answer = handler(&request);
                    log.lock().expect("log").push(request);
                    let _ = stream.write_all(&answer).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Self { addr, seen, task }
    }

    pub(crate) fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The requests seen, once there are `n` (a server records a TLS handshake after the
    /// client may have finished): polled for at most 5 s.
    pub(crate) async fn seen_at_least(&self, n: usize) -> Vec<Seen> {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let seen = self.seen();
            if seen.len() >= n || tokio::time::Instant::now() > deadline {
                return seen;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    pub(crate) fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("log").clone()
    }
}

impl Drop for Crafted {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A complete HTTP/1.1 response.
pub(crate) fn response(status: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut text = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    text.into_bytes()
}

pub(crate) fn redirect(status: &str, location: &str) -> Vec<u8> {
    response(status, &[("Location", location)], "")
}

/// The challenge path for [`TOKEN`].
pub(crate) fn challenge_path() -> String {
    format!("/.well-known/acme-challenge/{TOKEN}")
}

/// How a crafted tls-alpn-01 certificate is made.
#[derive(Debug, Clone)]
pub(crate) struct CertSpec {
    pub(crate) names: Vec<String>,
    /// The acmeIdentifier's digest input; `None` leaves the extension out.
    pub(crate) key_authorization: Option<String>,
    pub(crate) critical: bool,
    /// Signed by a separate CA instead of by itself.
    pub(crate) ca_signed: bool,
}

impl CertSpec {
    pub(crate) fn valid() -> Self {
        Self {
            names: vec![DOMAIN.into()],
            key_authorization: Some(KEY_AUTHORIZATION.into()),
            critical: true,
            ca_signed: false,
        }
    }
}

/// Makes the certificate (DER) and its key (PKCS#8 DER).
pub(crate) fn certificate(spec: &CertSpec) -> (Vec<u8>, Vec<u8>) {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(spec.names.clone()).expect("params");
    if let Some(ka) = &spec.key_authorization {
        let digest = sha256(ka.as_bytes());
        let mut ext = if spec.critical {
            CustomExtension::new_acme_identifier(&digest)
        } else {
            let mut content = vec![0x04, 32];
            content.extend_from_slice(&digest);
            CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 31], content)
        };
        ext.set_criticality(spec.critical);
        params.custom_extensions.push(ext);
    }
    let cert = if spec.ca_signed {
        let ca_key = KeyPair::generate().expect("ca key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        params.signed_by(&key, &issuer).expect("signed")
    } else {
        params.self_signed(&key).expect("self-signed")
    };
    (cert.der().to_vec(), key.serialize_der())
}

fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(data).into()
}

/// Serves one certificate whatever the ClientHello says.
#[derive(Debug)]
struct Fixed(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for Fixed {
    fn resolve(
        &self,
        _hello: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }
}

/// A TLS server on `127.0.0.1:0` presenting `cert`, choosing from `alpn`.
pub(crate) async fn tls_server(cert: (Vec<u8>, Vec<u8>), alpn: &[&str]) -> Crafted {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    // `with_single_cert` would refuse the critical acmeIdentifier (webpki does not know
    // it): the certificate is served as it is, as an ACME client's server does.
    let key = provider
        .key_provider
        .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.1)))
        .expect("key");
    let certified = Arc::new(rustls::sign::CertifiedKey::new(
        vec![CertificateDer::from(cert.0)],
        key,
    ));
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(Fixed(certified)));
    config.alpn_protocols = alpn.iter().map(|p| p.as_bytes().to_vec()).collect();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let task = tokio::spawn(async move {
        while let Ok((stream, peer)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(stream).await {
                    let (_, session) = tls.get_ref();
                    let sni = session.server_name().unwrap_or_default().to_owned();
                    let alpn = session
                        .alpn_protocol()
                        .map(|p| String::from_utf8_lossy(p).into_owned())
                        .unwrap_or_default();
                    log.lock().expect("log").push(Seen {
                        peer: peer.ip(),
                        path: alpn,
                        host: sni,
                        head: String::new(),
                    });
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    Crafted { addr, seen, task }
}
