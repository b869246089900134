//! tls-alpn-01 as Boulder performs it (`va/tlsalpn.go`): a TLS connection to port 443
//! (the first IPv6 address, then the first IPv4 address after any failure) with SNI =
//! the domain and ALPN `acme-tls/1` alone, TLS 1.2 or later; `acme-tls/1` must be
//! negotiated, and the certificate pass [`crate::acme_certificate::check`].

use std::net::{IpAddr, SocketAddr};

use rustls::pki_types::ServerName;

use crate::addresses::{first_of_each, lookup};
use crate::dial;
use crate::options::ACME_TLS_1;
use crate::perspective::Perspective;
use crate::problem::{Problem, ValidationRecord};

/// Where the connection goes (see [`crate::http01::FirstHop`]).
pub(crate) use crate::http01::FirstHop;

/// Why getting the certificate failed: a connection that could not be made (another
/// SRV target may be tried) or a problem with what the server said.
pub(crate) use crate::http01::Failure;

/// Validates tls-alpn-01 for `domain` from one perspective.
pub(crate) async fn validate(
    perspective: &Perspective<'_>,
    first_hop: FirstHop,
    domain: &str,
    key_authorization: &str,
) -> (Result<(), Failure>, Vec<ValidationRecord>) {
    let port = match first_hop {
        FirstHop::Pinned(to) => to.port(),
        FirstHop::Domain => perspective.options().tls_port,
    };
    let mut record = ValidationRecord::new(domain, port);
    let result = validate_into(
        perspective,
        first_hop,
        domain,
        key_authorization,
        &mut record,
    )
    .await;
    (result, vec![record])
}

async fn validate_into(
    perspective: &Perspective<'_>,
    first_hop: FirstHop,
    domain: &str,
    key_authorization: &str,
    record: &mut ValidationRecord,
) -> Result<(), Failure> {
    let (v6, v4) = match first_hop {
        FirstHop::Pinned(to) => {
            record.addresses_resolved = vec![to.ip()];
            match to.ip() {
                IpAddr::V6(_) => (Some(to.ip()), None),
                IpAddr::V4(_) => (None, Some(to.ip())),
            }
        }
        FirstHop::Domain => {
            let addrs = lookup(perspective.resolver(), perspective.rules(), domain)
                .await
                .map_err(Failure::Other)?;
            record.addresses_resolved.clone_from(&addrs);
            first_of_each(&addrs)
        }
    };
    let mut got = None;
    if let Some(v6) = v6 {
        record.address_used = Some(v6);
        match certificate(perspective, SocketAddr::new(v6, record.port), domain).await {
            Ok(found) => got = Some(found),
            Err(_) => record.addresses_tried.push(v6),
        }
    }
    let (cert, alpn) = match (got, v4) {
        (Some(found), _) => found,
        (None, Some(v4)) => {
            record.address_used = Some(v4);
            certificate(perspective, SocketAddr::new(v4, record.port), domain).await?
        }
        (None, None) => {
            let detail = match record.addresses_tried.first() {
                Some(tried) => format!(
                    "Unable to contact {domain:?} at {:?}, no IPv4 addresses to try as fallback",
                    tried.to_string()
                ),
                None => format!("No IP addresses found for {domain:?}"),
            };
            return Err(Failure::Dial(Problem::malformed(detail)));
        }
    };
    if alpn.as_deref() != Some(ACME_TLS_1.as_bytes()) {
        return Err(Failure::Other(Problem::unauthorized(format!(
            "Cannot negotiate ALPN protocol {ACME_TLS_1:?} for tls-alpn-01 challenge"
        ))));
    }
    let from = record.address_used.map(|a| SocketAddr::new(a, record.port));
    crate::acme_certificate::check(&cert, domain, key_authorization).map_err(|msg| {
        let from = from.map(|a| a.to_string()).unwrap_or_default();
        Failure::Other(Problem::unauthorized(format!(
            "Incorrect validation certificate for tls-alpn-01 challenge. Requested {domain} \
             from {from}. {msg}"
        )))
    })
}

/// Connects to `to`, shakes hands, and returns the leaf certificate and the protocol
/// negotiated.
async fn certificate(
    perspective: &Perspective<'_>,
    to: SocketAddr,
    domain: &str,
) -> Result<(Vec<u8>, Option<Vec<u8>>), Failure> {
    let addr = to.ip();
    let timeout = perspective.options().dial_timeout;
    perspective
        .rules()
        .check(addr)
        .map_err(|reason| Failure::Other(Problem::connection(reason).at(Some(addr))))?;
    let name = ServerName::try_from(domain.to_owned())
        .map_err(|e| Failure::Other(Problem::malformed(format!("invalid server name: {e}"))))?;
    let attempt = async {
        let stream = dial::connect(to, perspective.source(addr), timeout)
            .await
            .map_err(|e| Failure::Dial(e.problem().at(Some(addr))))?;
        let connector = tokio_rustls::TlsConnector::from(perspective.alpn_client());
        let tls = connector
            .connect(name, stream)
            .await
            .map_err(|e| Failure::Other(crate::tls_client::tls_problem(&e).at(Some(addr))))?;
        let (_, session) = tls.get_ref();
        let leaf = session
            .peer_certificates()
            .and_then(|certs| certs.first())
            .map(|c| c.as_ref().to_vec())
            .ok_or_else(|| {
                Failure::Other(Problem::unauthorized(
                    "No certs presented for tls-alpn-01 challenge",
                ))
            })?;
        Ok((leaf, session.alpn_protocol().map(<[u8]>::to_vec)))
    };
    // Boulder's dial context covers the handshake too.
    tokio::time::timeout(timeout, attempt)
        .await
        .unwrap_or_else(|_| {
            Err(Failure::Dial(
                Problem::connection("Timeout during connect (likely firewall problem)")
                    .at(Some(addr)),
            ))
        })
}
