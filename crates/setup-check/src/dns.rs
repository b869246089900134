//! Raw DNS facts for the steps: one record type at one name, with the CNAME chain
//! walked one hop at a time (so a loop is seen and named), TTLs, and NXDOMAIN told
//! apart from NODATA. No cache: every question goes to the name servers.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_net::{DnsError, NetError, NoRecords};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ProtocolConfig, ResolverConfig,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;

/// CNAME hops the relay and the router follow for an SRV owner name (target-resolver's
/// limit); a longer chain is reported as an error.
pub(crate) const RELAY_MAX_CNAME_HOPS: usize = 8;

/// Hops this module follows before giving up on a chain.
const MAX_HOPS: usize = 16;

/// One CNAME in a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Hop {
    /// The alias (with trailing dot, lowercase).
    pub(crate) from: String,
    /// Where it points.
    pub(crate) to: String,
    /// Its TTL.
    pub(crate) ttl: u32,
}

/// How a lookup ended.
#[derive(Debug, Clone)]
pub(crate) enum End {
    /// Records of the asked type at the last name of the chain.
    Found(Vec<Record>),
    /// No record of that type: NXDOMAIN (`nxdomain`) or NODATA.
    NoRecord {
        /// True for NXDOMAIN.
        nxdomain: bool,
    },
    /// The chain came back to a name already in it.
    Loop,
    /// The chain is longer than this module follows.
    TooLong,
    /// The name servers gave no usable answer.
    Failed(String),
}

/// A lookup's answer: the CNAME chain walked, then how it ended.
#[derive(Debug, Clone)]
pub(crate) struct Chain {
    /// The name asked first (trailing dot, lowercase).
    pub(crate) name: String,
    /// The CNAMEs followed, in order.
    pub(crate) hops: Vec<Hop>,
    /// The end.
    pub(crate) end: End,
}

impl Chain {
    /// The chain as text: `a. → b. → c.` (just the name when there are no hops).
    pub(crate) fn describe(&self) -> String {
        let mut text = self.name.clone();
        for hop in &self.hops {
            text.push_str(&format!(" → CNAME {} (TTL {})", hop.to, hop.ttl));
        }
        text
    }

    /// The name the records were found at (the end of the chain).
    pub(crate) fn last_name(&self) -> &str {
        self.hops.last().map_or(&self.name, |h| &h.to)
    }
}

/// Asks the configured name servers, or the system's.
pub(crate) struct Dns {
    resolver: TokioResolver,
}

impl std::fmt::Debug for Dns {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dns").finish_non_exhaustive()
    }
}

/// Lowercase with a trailing dot.
pub(crate) fn fqdn(name: &str) -> String {
    let mut name = name.to_ascii_lowercase();
    if !name.ends_with('.') {
        name.push('.');
    }
    name
}

impl Dns {
    /// A resolver asking `servers` (UDP, then TCP), or the system's when empty.
    pub(crate) fn new(servers: &[SocketAddr], timeout: Duration) -> Result<Self, String> {
        let provider = TokioRuntimeProvider::default();
        let mut builder = if servers.is_empty() {
            TokioResolver::builder(provider)
                .map_err(|e| format!("cannot read the system's DNS configuration: {e}"))?
        } else {
            let servers = servers
                .iter()
                .map(|addr| {
                    let conn = |protocol| {
                        let mut c = ConnectionConfig::new(protocol);
                        c.port = addr.port();
                        c
                    };
                    NameServerConfig::new(
                        addr.ip(),
                        true,
                        vec![conn(ProtocolConfig::Udp), conn(ProtocolConfig::Tcp)],
                    )
                })
                .collect();
            TokioResolver::builder_with_config(ResolverConfig::from_name_servers(servers), provider)
        };
        let opts = builder.options_mut();
        opts.timeout = timeout;
        opts.attempts = 2;
        opts.cache_size = 0;
        opts.ndots = 0;
        opts.recursion_desired = true;
        let resolver = builder
            .build()
            .map_err(|e| format!("cannot set up the DNS resolver: {e}"))?;
        Ok(Self { resolver })
    }

    /// `record_type` at `name`, following CNAMEs one hop at a time.
    pub(crate) async fn follow(&self, name: &str, record_type: RecordType) -> Chain {
        let first = fqdn(name);
        let mut chain = Chain {
            name: first.clone(),
            hops: Vec::new(),
            end: End::Failed(String::new()),
        };
        let mut seen: HashSet<String> = HashSet::from([first.clone()]);
        let mut current = first;
        loop {
            if chain.hops.len() >= MAX_HOPS {
                chain.end = End::TooLong;
                return chain;
            }
            let step = self.one(&current, record_type).await;
            let next = match step {
                One::Found(records) => {
                    chain.end = End::Found(records);
                    return chain;
                }
                One::Alias(hop) => hop,
                One::NoRecord { nxdomain } => {
                    chain.end = End::NoRecord { nxdomain };
                    return chain;
                }
                One::Failed(reason) => {
                    chain.end = End::Failed(reason);
                    return chain;
                }
            };
            current = next.to.clone();
            let looped = !seen.insert(current.clone());
            chain.hops.push(next);
            if looped {
                chain.end = End::Loop;
                return chain;
            }
        }
    }

    /// One name: its records of `record_type`, or its CNAME, or nothing.
    async fn one(&self, name: &str, record_type: RecordType) -> One {
        let Ok(query) = Name::from_ascii(name) else {
            return One::Failed(format!("{name} is not a valid DNS name"));
        };
        let first = self.resolver.lookup(query.clone(), record_type).await;
        let failure = match first {
            Ok(lookup) => {
                let wanted: Vec<Record> = lookup
                    .answers()
                    .iter()
                    .filter(|r| r.record_type() == record_type && fqdn(&r.name.to_ascii()) == name)
                    .cloned()
                    .collect();
                if !wanted.is_empty() {
                    return One::Found(wanted);
                }
                if let Some(hop) = cname_at(name, lookup.answers()) {
                    return One::Alias(hop);
                }
                // Records only further down a chain: walk it ourselves, below.
                None
            }
            Err(NetError::Dns(DnsError::NoRecordsFound(NoRecords { response_code, .. }))) => {
                Some(One::NoRecord {
                    nxdomain: response_code == ResponseCode::NXDomain,
                })
            }
            Err(e) => Some(One::Failed(e.to_string())),
        };
        // A negative or failed answer may still sit behind a CNAME at this name (a
        // resolver loses answers behind a chain, or refuses a looping one).
        match self.resolver.lookup(query, RecordType::CNAME).await {
            Ok(lookup) => {
                if let Some(hop) = cname_at(name, lookup.answers()) {
                    return One::Alias(hop);
                }
            }
            Err(NetError::Dns(DnsError::NoRecordsFound(_))) => {}
            Err(e) if failure.is_none() => return One::Failed(e.to_string()),
            Err(_) => {}
        }
        failure.unwrap_or(One::NoRecord { nxdomain: false })
    }
}

/// The CNAME owned by `name` among `records`.
fn cname_at(name: &str, records: &[Record]) -> Option<Hop> {
    records.iter().find_map(|r| match &r.data {
        RData::CNAME(target) if fqdn(&r.name.to_ascii()) == name => Some(Hop {
            from: name.to_owned(),
            to: fqdn(&target.0.to_ascii()),
            ttl: r.ttl,
        }),
        _ => None,
    })
}

enum One {
    Found(Vec<Record>),
    Alias(Hop),
    NoRecord { nxdomain: bool },
    Failed(String),
}
