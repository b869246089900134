//! How a validation is performed: ports, timeouts, which addresses may be contacted,
//! perspectives, and whether SRV records are honoured. The defaults are Let's Encrypt's.

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;
use std::time::Duration;

use ipnet::IpNet;

/// Boulder's `maxRedirect` (`va/http.go`). Boulder checks `numRedirects > maxRedirect`
/// before counting the redirect in hand, so it follows 11 redirects and refuses the 12th.
pub const MAX_REDIRECT: usize = 10;

/// Boulder's `maxResponseSize` (`va/http.go`): a body of this many bytes or more fails.
pub const MAX_RESPONSE_SIZE: usize = 128;

/// Boulder's `maxPathSize` (`va/http.go`): the longest path a redirect may carry.
pub const MAX_PATH_SIZE: usize = 2000;

/// Boulder's `singleDialTimeout` (`va/va.go`): one TCP connect (and, for tls-alpn-01,
/// the handshake).
pub const DIAL_TIMEOUT: Duration = Duration::from_secs(10);

/// The ALPN protocol of tls-alpn-01 (RFC 8737).
pub const ACME_TLS_1: &str = "acme-tls/1";

/// The User-Agent sent with http-01 requests.
pub const USER_AGENT: &str = "Mozilla/5.0 (compatible; acme-srv validator; Boulder rules)";

/// The Regional Internet Registries named, in turn, for the remote perspectives: Boulder
/// needs the passing perspectives to span at least two of them.
pub const RIRS: [&str; 5] = ["ARIN", "RIPE", "APNIC", "LACNIC", "AFRINIC"];

/// Everything a validation is performed with.
#[derive(Debug, Clone)]
pub struct ValidatorOptions {
    /// The DNS server asked for A, AAAA and SRV; the system's resolvers when `None`.
    pub dns_server: Option<SocketAddr>,
    /// The port that stands for 80: the http-01 request, and `http://` redirects and
    /// redirects naming it explicitly (Boulder's `httpPort`).
    pub http_port: u16,
    /// The port that stands for 443 in redirects (Boulder's `httpsPort`).
    pub https_port: u16,
    /// The tls-alpn-01 port (Boulder's `tlsPort`).
    pub tls_port: u16,
    /// One connect's time limit.
    pub dial_timeout: Duration,
    /// One perspective's whole validation time limit (Boulder's RPC deadline).
    pub perspective_timeout: Duration,
    /// Reserved address blocks (loopback, private-use, ...) that may be contacted
    /// anyway: a lab's networks. Boulder's `allowRestrictedAddrs`, for chosen networks.
    pub allow_restricted: Vec<IpNet>,
    /// How many perspectives validate, the primary included: 1 (the primary alone) or
    /// 4 and more (the primary and at least 3 remote perspectives, as Boulder demands).
    pub perspectives: usize,
    /// Source addresses for the perspectives, used in turn (the primary takes the
    /// first); empty: the system chooses.
    pub perspective_sources: Vec<IpAddr>,
    /// Validate at the targets of the domain's SRV record, under this policy: the
    /// proposal, as a CA would implement it. `None`: Boulder as it is.
    pub honour_srv: Option<SrvPolicy>,
}

impl Default for ValidatorOptions {
    fn default() -> Self {
        Self {
            dns_server: None,
            http_port: 80,
            https_port: 443,
            tls_port: 443,
            dial_timeout: DIAL_TIMEOUT,
            perspective_timeout: Duration::from_secs(30),
            allow_restricted: Vec::new(),
            perspectives: 1,
            perspective_sources: Vec::new(),
            honour_srv: None,
        }
    }
}

/// Where a CA honouring SRV records lets a target be: the target networks and ports a
/// relay would check, with the reserved blocks refused unless allowed explicitly.
#[derive(Debug, Clone)]
pub struct SrvPolicy {
    /// Networks a target address must lie in.
    pub networks: Vec<IpNet>,
    /// Ports a target may name.
    pub ports: Vec<RangeInclusive<u16>>,
}

impl Default for SrvPolicy {
    /// Every public address; ports 80, 443 and the unprivileged ports.
    fn default() -> Self {
        Self {
            networks: vec![
                IpNet::V4(ipnet::Ipv4Net::default()),
                IpNet::V6(ipnet::Ipv6Net::default()),
            ],
            ports: vec![80..=80, 443..=443, 1024..=65535],
        }
    }
}
