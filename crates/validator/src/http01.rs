//! http-01 as Boulder performs it (`va/http.go`): `GET
//! http://<domain>/.well-known/acme-challenge/<token>` on a fresh connection, IPv6 first
//! and IPv4 after a dial error, redirects judged one by one ([`crate::redirect`]), a
//! 200 whose body (under 128 bytes) equals the key authorization once trailing
//! whitespace is trimmed.

use std::net::{IpAddr, SocketAddr};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty};
use hyper::header::{ACCEPT, CONNECTION, HOST, LOCATION, USER_AGENT};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use url::{Position, Url};

use crate::addresses::{first_of_each, lookup};
use crate::dial::{self, DialError};
use crate::options::{MAX_PATH_SIZE, MAX_REDIRECT, MAX_RESPONSE_SIZE};
use crate::perspective::Perspective;
use crate::problem::{Problem, ValidationRecord};
use crate::redirect::{self, Ports, TargetHost};

/// Where the first request goes: the domain's own addresses on the http port, or (SRV
/// honoured) one target address and port.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FirstHop {
    /// Look the domain up, as Boulder does.
    Domain,
    /// Connect here instead.
    Pinned(SocketAddr),
}

/// How a fetch failed: a dial error (which lets the caller fall back to another
/// address) or anything else.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The connection could not be made.
    Dial(Problem),
    /// Any other problem.
    Other(Problem),
}

/// Validates http-01 for `domain` from one perspective.
pub(crate) async fn validate(
    perspective: &Perspective<'_>,
    first_hop: FirstHop,
    domain: &str,
    token: &str,
    key_authorization: &str,
) -> (Result<(), Failure>, Vec<ValidationRecord>) {
    let mut fetch = Fetch {
        perspective,
        records: Vec::new(),
        redirects: 0,
    };
    let result = fetch.run(first_hop, domain, token).await;
    let result = result.and_then(|body| {
        let payload = String::from_utf8_lossy(&body);
        let payload = payload.trim_end();
        if payload == key_authorization {
            Ok(())
        } else {
            Err(Failure::Other(Problem::unauthorized(format!(
                "The key authorization file from the server did not match this challenge. \
                 Expected {key_authorization:?} (got {payload:?})"
            ))))
        }
    });
    (result, fetch.records)
}

/// One validation's walk through its redirects.
struct Fetch<'a> {
    perspective: &'a Perspective<'a>,
    /// Boulder's validation records: one per address tried and per redirect.
    records: Vec<ValidationRecord>,
    /// Redirects seen so far (kept across the IPv4 retry, as Boulder's closure does).
    redirects: usize,
}

/// One request's answer.
struct Answer {
    status: u16,
    location: Option<String>,
    /// The body's first bytes (at most [`MAX_RESPONSE_SIZE`]), read for a 200 only.
    body: Bytes,
}

impl Fetch<'_> {
    fn ports(&self) -> Ports {
        Ports {
            http: self.perspective.options().http_port,
            https: self.perspective.options().https_port,
        }
    }

    fn last_address(&self) -> Option<IpAddr> {
        self.records.last().and_then(|r| r.address_used)
    }

    async fn run(
        &mut self,
        first_hop: FirstHop,
        domain: &str,
        token: &str,
    ) -> Result<Bytes, Failure> {
        let url = Url::parse(&format!(
            "http://{domain}/.well-known/acme-challenge/{token}"
        ))
        .map_err(|e| Failure::Other(Problem::malformed(format!("invalid URL: {e}"))))?;
        let (port, first, fallback, resolved) = match first_hop {
            FirstHop::Pinned(to) => (to.port(), to.ip(), None, vec![to.ip()]),
            FirstHop::Domain => {
                let addrs = lookup(
                    self.perspective.resolver(),
                    self.perspective.rules(),
                    domain,
                )
                .await
                .map_err(Failure::Other)?;
                let (v6, v4) = first_of_each(&addrs);
                let (first, fallback) = match (v6, v4) {
                    (Some(v6), v4) => (v6, v4),
                    (None, Some(v4)) => (v4, None),
                    (None, None) => unreachable_addresses(domain)?,
                };
                (self.perspective.options().http_port, first, fallback, addrs)
            }
        };
        let mut record = ValidationRecord::new(domain, port);
        record.url = Some(url.to_string());
        record.addresses_resolved = resolved;
        record.address_used = Some(first);
        self.records.push(record.clone());
        match self.follow(url.clone(), first, port).await {
            Err(Failure::Dial(problem)) => {
                let Some(fallback) = fallback else {
                    return Err(Failure::Dial(problem));
                };
                record.address_used = Some(fallback);
                record.addresses_tried = vec![first];
                self.records.push(record);
                self.follow(url, fallback, port).await
            }
            other => other,
        }
    }

    /// Requests `url` from `addr:port`, then follows redirects until an answer.
    async fn follow(
        &mut self,
        mut url: Url,
        mut addr: IpAddr,
        mut port: u16,
    ) -> Result<Bytes, Failure> {
        let mut explicit_port = None;
        loop {
            let answer = self.exchange(&url, explicit_port, addr, port).await?;
            let redirect = matches!(answer.status, 301 | 302 | 303 | 307 | 308);
            if let (true, Some(location)) = (redirect, answer.location.as_deref()) {
                let next = self
                    .check_redirect(&url, explicit_port, location, answer.status)
                    .await
                    .map_err(|p| Failure::Other(p.fetching(location).at(self.last_address())))?;
                (url, addr, port, explicit_port) = next;
                continue;
            }
            let last_url = self
                .records
                .last()
                .and_then(|r| r.url.clone())
                .unwrap_or_default();
            if answer.status != 200 {
                return Err(Failure::Other(
                    Problem::unauthorized(format!(
                        "Invalid response from {last_url}: {}",
                        answer.status
                    ))
                    .at(self.last_address()),
                ));
            }
            if answer.body.len() >= MAX_RESPONSE_SIZE {
                let text = String::from_utf8_lossy(&answer.body);
                return Err(Failure::Other(
                    Problem::unauthorized(format!("Invalid response from {last_url}: {text:?}"))
                        .at(self.last_address()),
                ));
            }
            return Ok(answer.body);
        }
    }

    /// Boulder's `processRedirect`, in its order; on success the next hop.
    async fn check_redirect(
        &mut self,
        from: &Url,
        from_explicit_port: Option<u16>,
        location: &str,
        status: u16,
    ) -> Result<(Url, IpAddr, u16, Option<u16>), Problem> {
        if self.redirects > MAX_REDIRECT {
            return Err(Problem::connection("Too many redirects"));
        }
        self.redirects += 1;
        if !matches!(status, 301 | 302 | 307 | 308) {
            return Err(Problem::connection(
                "received disallowed redirect status code",
            ));
        }
        let target = redirect::target(
            from,
            from_explicit_port,
            location,
            self.ports(),
            self.perspective.rules(),
        )?;
        if target.url.path().len() > MAX_PATH_SIZE {
            return Err(Problem::connection("Redirect target too long"));
        }
        let text = target.url.to_string();
        if self
            .records
            .iter()
            .any(|r| r.url.as_deref() == Some(text.as_str()))
        {
            return Err(Problem::connection("Redirect loop detected"));
        }
        let (hostname, addrs) = match &target.host {
            TargetHost::Address(addr) => (addr.to_string(), vec![*addr]),
            TargetHost::Name(name) => (
                name.clone(),
                lookup(self.perspective.resolver(), self.perspective.rules(), name).await?,
            ),
        };
        let (v6, v4) = first_of_each(&addrs);
        let Some(addr) = v6.or(v4) else {
            return Err(Problem::dns(format!(
                "host {hostname:?} has no IPv4 or IPv6 addresses"
            )));
        };
        let mut record = ValidationRecord::new(&hostname, target.port);
        record.url = Some(text);
        record.addresses_resolved = addrs;
        record.address_used = Some(addr);
        self.records.push(record);
        Ok((target.url, addr, target.port, target.explicit_port))
    }

    /// One request on a fresh connection.
    async fn exchange(
        &self,
        url: &Url,
        explicit_port: Option<u16>,
        addr: IpAddr,
        port: u16,
    ) -> Result<Answer, Failure> {
        let options = self.perspective.options();
        let fail = |p: Problem| p.fetching(url.as_str()).at(Some(addr));
        let stream = dial::connect(
            SocketAddr::new(addr, port),
            self.perspective.source(addr),
            options.dial_timeout,
        )
        .await
        .map_err(|e: DialError| Failure::Dial(fail(e.problem())))?;
        let host = match (url.host_str(), explicit_port) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => String::new(),
        };
        let request = hyper::Request::get(&url[Position::BeforePath..Position::AfterQuery])
            .header(HOST, host)
            .header(USER_AGENT, crate::options::USER_AGENT)
            .header(ACCEPT, "*/*")
            .header(CONNECTION, "close")
            .body(Empty::<Bytes>::new())
            .map_err(|e| {
                Failure::Other(fail(Problem::malformed(format!("invalid request: {e}"))))
            })?;
        let answer = if url.scheme() == "https" {
            let name = match url.host() {
                Some(url::Host::Domain(d)) => rustls::pki_types::ServerName::try_from(d.to_owned()),
                _ => Ok(rustls::pki_types::ServerName::IpAddress(addr.into())),
            }
            .map_err(|e| {
                Failure::Other(fail(Problem::malformed(format!(
                    "invalid server name: {e}"
                ))))
            })?;
            let connector = tokio_rustls::TlsConnector::from(self.perspective.https_client());
            let tls = tokio::time::timeout(options.dial_timeout, connector.connect(name, stream))
                .await
                .map_err(|_| {
                    Failure::Other(fail(Problem::connection("Timeout during TLS handshake")))
                })?
                .map_err(|e| Failure::Other(fail(crate::tls_client::tls_problem(&e))))?;
            send(tls, request).await
        } else {
            send(stream, request).await
        };
        answer.map_err(|p| Failure::Other(fail(p)))
    }
}

fn unreachable_addresses(domain: &str) -> Result<(IpAddr, Option<IpAddr>), Failure> {
    Err(Failure::Other(Problem::dns(format!(
        "host {domain:?} has no IPv4 or IPv6 addresses"
    ))))
}

/// Sends `request` on `io` (HTTP/1.1) and reads the status, `Location` and, for a 200,
/// at most [`MAX_RESPONSE_SIZE`] bytes of the body.
async fn send<S>(io: S, request: hyper::Request<Empty<Bytes>>) -> Result<Answer, Problem>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| hyper_problem(&e))?;
    let driver = tokio::spawn(connection);
    let result = async {
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| hyper_problem(&e))?;
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_owned);
        let mut body = Vec::new();
        if status == 200 {
            let mut incoming = response.into_body();
            while body.len() < MAX_RESPONSE_SIZE {
                match incoming.frame().await {
                    None => break,
                    Some(Err(e)) => {
                        return Err(Problem::unauthorized(format!(
                            "Error reading HTTP response body: {e}"
                        )));
                    }
                    Some(Ok(frame)) => {
                        if let Ok(data) = frame.into_data() {
                            let room = MAX_RESPONSE_SIZE - body.len();
                            body.extend_from_slice(&data[..data.len().min(room)]);
                        }
                    }
                }
            }
        }
        Ok(Answer {
            status,
            location,
            body: Bytes::from(body),
        })
    }
    .await;
    driver.abort();
    result
}

/// What a failed HTTP exchange is reported as.
fn hyper_problem(e: &hyper::Error) -> Problem {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return dial::io_problem(io);
        }
        source = cause.source();
    }
    if e.is_parse() {
        // Boulder: "Server is speaking HTTP/2 over HTTP" or a malformed answer.
        return Problem::connection(format!("Error getting validation data: {e}"));
    }
    Problem::connection("Error getting validation data")
}
