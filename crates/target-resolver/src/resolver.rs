//! [`TargetResolver`]: SRV and address lookups through hickory-resolver, cached.
//!
//! An SRV answer may carry the addresses of its targets in the additional section (BIND,
//! Knot, NSD and acme-srv's own server add the ones they hold). They are cached as if
//! looked up, so the challenge that follows sends no A or AAAA query, but only under
//! RFC 2181 §5.4.1's ranking: only from an authoritative answer (AA set; a recursive
//! resolver's answer never counts), only for names an SRV record of the answer names,
//! only inside the zone the answer came from (see [`additional_addresses`]), and never
//! over an answer already cached for that name and type.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hickory_net::{DnsError, NetError, NoRecords};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, RecordType};
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ProtocolConfig, ResolverConfig,
};
use hickory_resolver::{TokioResolver, net::runtime::TokioRuntimeProvider};
use srv_scheme::SrvRecord;

use crate::cache::{AnswerCache, Cached};

/// How lookups are made and cached (the `[resolver]` table of the configuration; its
/// defaults live in the `config` crate).
#[derive(Debug, Clone)]
pub struct ResolverOptions {
    /// Name servers; the system's when empty.
    pub servers: Vec<SocketAddr>,
    /// Time for one query to one server.
    pub timeout: Duration,
    /// Attempts per server.
    pub attempts: usize,
    /// Positive answers are cached at most this long.
    pub max_ttl: Duration,
    /// Negative answers without an SOA are cached this long.
    pub negative_ttl_without_soa: Duration,
    /// How long an expired answer may still be served when the upstream fails.
    pub serve_stale_for: Duration,
    /// Cache size in entries.
    pub cache_entries: usize,
}

impl From<&config::ResolverConfig> for ResolverOptions {
    fn from(r: &config::ResolverConfig) -> Self {
        Self {
            servers: r.servers.clone(),
            timeout: r.timeout,
            attempts: r.attempts,
            max_ttl: r.max_ttl,
            negative_ttl_without_soa: r.negative_ttl_without_soa,
            serve_stale_for: r.serve_stale_for,
            cache_entries: r.cache_entries,
        }
    }
}

/// The SRV records at an owner name, or their absence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SrvAnswer {
    /// The records, in wire order (order them with `srv_scheme::order_targets`).
    Records(Arc<[SrvRecord]>),
    /// No SRV record: NXDOMAIN (`nxdomain`) or NODATA.
    NoRecord {
        /// True for NXDOMAIN, false for NODATA.
        nxdomain: bool,
    },
}

/// The addresses of a target host: IPv6 first (as Boulder tries them), then IPv4.
/// Shares the cached answers: no copy, no allocation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Addresses {
    v6: Option<Arc<[IpAddr]>>,
    v4: Option<Arc<[IpAddr]>>,
}

impl Addresses {
    /// The addresses in the order to try them.
    pub fn iter(&self) -> impl Iterator<Item = IpAddr> + '_ {
        let v6 = self.v6.as_deref().unwrap_or_default();
        let v4 = self.v4.as_deref().unwrap_or_default();
        v6.iter().chain(v4).copied()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.v6.as_deref().map_or(0, <[_]>::len) + self.v4.as_deref().map_or(0, <[_]>::len)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A cached value: SRV data, addresses, or an authoritative "nothing here".
#[derive(Debug, Clone)]
enum Answer {
    Srv(Arc<[SrvRecord]>),
    Addrs(Arc<[IpAddr]>),
    Cname(Arc<str>),
    Negative { nxdomain: bool },
}

/// CNAME hops followed for one SRV owner name at most.
const MAX_CNAME_HOPS: usize = 8;

/// After the upstream failed for a name, how long its stale answer is used without
/// asking again (RFC 8767 §5 suggests 30 s; shorter here, so that a changed SRV record
/// takes effect soon after the upstream is back). Only the first lookup per name in each
/// such period waits for the upstream to fail.
pub const STALE_RECHECK: Duration = Duration::from_secs(5);

/// Why a lookup gave no answer at all (not even a stale one).
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// The name cannot be looked up.
    #[error("{name:?} is not a valid DNS name")]
    BadName {
        /// The name given.
        name: String,
    },
    /// The upstream failed and nothing usable was cached.
    #[error("{record_type} lookup for {name} failed: {source}")]
    Upstream {
        /// The name asked.
        name: String,
        /// The type asked.
        record_type: RecordType,
        /// What hickory reported.
        #[source]
        source: NetError,
    },
    /// The resolver could not be built (system configuration unreadable).
    #[error("cannot set up the DNS resolver: {0}")]
    Setup(#[source] NetError),
}

/// Resolves SRV owner names and target hosts, with caching and serve-stale.
///
/// Concurrent lookups of the same name and type that miss the cache share one upstream
/// query: hickory-resolver's name-server pool deduplicates queries in flight
/// (`tests/single_flight.rs` holds it to that).
pub struct TargetResolver {
    resolver: TokioResolver,
    cache: AnswerCache<Answer>,
    options: ResolverOptions,
    counters: LookupCounters,
}

/// Where a lookup's answer came from, for `acme_srv_dns_lookups_total`.
#[derive(Debug, Clone, Copy)]
enum Source {
    Cache,
    Upstream,
    Negative,
    Stale,
    Error,
}

const SOURCES: [&str; 5] = ["cache", "upstream", "negative", "stale", "error"];
const TYPE_LABELS: [&str; 5] = ["SRV", "CNAME", "A", "AAAA", "other"];

/// `acme_srv_dns_lookups_total` by type and source, each registered on first use and
/// then only incremented (no key building, hashing or allocation per lookup).
#[derive(Default)]
struct LookupCounters {
    cells: [[OnceLock<metrics::Counter>; SOURCES.len()]; TYPE_LABELS.len()],
}

impl LookupCounters {
    fn increment(&self, record_type: RecordType, source: Source) {
        let t = match record_type {
            RecordType::SRV => 0,
            RecordType::CNAME => 1,
            RecordType::A => 2,
            RecordType::AAAA => 3,
            _ => 4,
        };
        let s = source as usize;
        self.cells[t][s]
            .get_or_init(|| {
                metrics::counter!("acme_srv_dns_lookups_total", "type" => TYPE_LABELS[t], "source" => SOURCES[s])
            })
            .increment(1);
    }
}

impl std::fmt::Debug for TargetResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TargetResolver")
            .field("options", &self.options)
            .finish()
    }
}

impl TargetResolver {
    /// Builds a resolver for `options`.
    pub fn new(options: ResolverOptions) -> Result<Self, ResolveError> {
        let provider = TokioRuntimeProvider::default();
        let mut builder = if options.servers.is_empty() {
            TokioResolver::builder(provider).map_err(ResolveError::Setup)?
        } else {
            let servers = options
                .servers
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
        opts.timeout = options.timeout;
        opts.attempts = options.attempts;
        // This crate's cache is the one that counts (it serves stale); hickory's would
        // only hide upstream failures from it.
        opts.cache_size = 0;
        opts.ndots = 0;
        opts.recursion_desired = true;
        let resolver = builder.build().map_err(ResolveError::Setup)?;
        let cache = AnswerCache::new(options.cache_entries, options.serve_stale_for);
        Ok(Self {
            resolver,
            cache,
            options,
            counters: LookupCounters::default(),
        })
    }

    /// The SRV records at `owner` (a fully qualified name), following CNAMEs.
    ///
    /// hickory-resolver 0.26 loses an SRV answer that comes behind a CNAME in the same
    /// response (it takes the SRV target for the next name in the chain; see the FIXME
    /// in its `caching_client.rs`), so a negative SRV answer is checked for a CNAME at
    /// the owner, and the chain is followed here, one name at a time.
    pub async fn srv(&self, owner: &str) -> Result<SrvAnswer, ResolveError> {
        let mut alias: Option<Arc<str>> = None;
        for _ in 0..=MAX_CNAME_HOPS {
            let name = alias.as_deref().unwrap_or(owner);
            match self.cached_lookup(name, RecordType::SRV).await? {
                Answer::Srv(records) => return Ok(SrvAnswer::Records(records)),
                Answer::Negative { nxdomain } => {
                    match self.cached_lookup(name, RecordType::CNAME).await {
                        Ok(Answer::Cname(target)) => alias = Some(target),
                        _ => return Ok(SrvAnswer::NoRecord { nxdomain }),
                    }
                }
                Answer::Addrs(_) | Answer::Cname(_) => {
                    return Ok(SrvAnswer::NoRecord { nxdomain: false });
                }
            }
        }
        tracing::warn!(owner, "CNAME chain longer than {MAX_CNAME_HOPS} hops");
        Ok(SrvAnswer::NoRecord { nxdomain: false })
    }

    /// The addresses of `host`, IPv6 first (as Boulder tries them), then IPv4. An IP
    /// literal is returned as it is. Fails only when both lookups fail and nothing is
    /// cached.
    pub async fn addresses(&self, host: &str) -> Result<Addresses, ResolveError> {
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = bare.parse::<IpAddr>() {
            let one: Arc<[IpAddr]> = Arc::new([ip]);
            return Ok(match ip {
                IpAddr::V6(_) => Addresses {
                    v6: Some(one),
                    v4: None,
                },
                IpAddr::V4(_) => Addresses {
                    v6: None,
                    v4: Some(one),
                },
            });
        }
        let fqdn = fqdn(host);
        // Both cached: no lookup futures at all.
        if let (Cached::Fresh(v6), Cached::Fresh(v4)) = (
            self.cache.get(&fqdn, RecordType::AAAA),
            self.cache.get(&fqdn, RecordType::A),
        ) {
            self.counters.increment(RecordType::AAAA, Source::Cache);
            self.counters.increment(RecordType::A, Source::Cache);
            return Ok(addresses(&Ok(v6), &Ok(v4)));
        }
        let (v6, v4) = tokio::join!(
            self.cached_lookup(&fqdn, RecordType::AAAA),
            self.cached_lookup(&fqdn, RecordType::A)
        );
        let found = addresses(&v6, &v4);
        if found.is_empty() {
            // Nothing found: the first failure (AAAA before A), if any, is the answer.
            v6?;
            v4?;
        }
        Ok(found)
    }

    /// Looks `name`/`record_type` up: fresh cache, else upstream, else stale cache.
    async fn cached_lookup(
        &self,
        name: &str,
        record_type: RecordType,
    ) -> Result<Answer, ResolveError> {
        let fqdn = fqdn(name);
        if let Cached::Fresh(answer) = self.cache.get(&fqdn, record_type) {
            self.counters.increment(record_type, Source::Cache);
            return Ok(answer);
        }
        // Boxed: the upstream query's state is large and needed only on a miss, so every
        // request's future (held per connection) stays small.
        Box::pin(self.upstream_lookup(&fqdn, name, record_type)).await
    }

    /// Asks the upstream for `fqdn`/`record_type`, caching what it says; on failure
    /// serves a stale answer if there is one.
    async fn upstream_lookup(
        &self,
        fqdn: &str,
        name: &str,
        record_type: RecordType,
    ) -> Result<Answer, ResolveError> {
        let query =
            hickory_proto::rr::Name::from_ascii(fqdn).map_err(|_| ResolveError::BadName {
                name: name.to_owned(),
            })?;
        match self.resolver.lookup(query, record_type).await {
            Ok(lookup) => {
                let ttl = lookup
                    .answers()
                    .iter()
                    .filter(|r| r.record_type() == record_type)
                    .map(|r| r.ttl)
                    .min();
                let answer = extract(record_type, lookup.answers().iter().map(|r| &r.data));
                let ttl =
                    Duration::from_secs(u64::from(ttl.unwrap_or(0))).min(self.options.max_ttl);
                if record_type == RecordType::SRV {
                    self.store_additional(lookup.query().name(), lookup.message());
                }
                self.store(fqdn, record_type, answer, ttl, Source::Upstream)
            }
            Err(NetError::Dns(DnsError::NoRecordsFound(NoRecords {
                negative_ttl,
                response_code,
                ..
            }))) => {
                let ttl = negative_ttl
                    .map(|t| Duration::from_secs(u64::from(t)))
                    .unwrap_or(self.options.negative_ttl_without_soa)
                    .min(self.options.max_ttl);
                let nxdomain = response_code == ResponseCode::NXDomain;
                self.store(
                    fqdn,
                    record_type,
                    Answer::Negative { nxdomain },
                    ttl,
                    Source::Negative,
                )
            }
            Err(source) => {
                if let Some(stale) = self
                    .cache
                    .get_stale_and_hold(fqdn, record_type, STALE_RECHECK)
                {
                    tracing::warn!(name = %fqdn, %record_type, error = %source, recheck = ?STALE_RECHECK, "upstream failed, serving stale answer");
                    self.counters.increment(record_type, Source::Stale);
                    return Ok(stale);
                }
                self.counters.increment(record_type, Source::Error);
                Err(ResolveError::Upstream {
                    name: fqdn.to_owned(),
                    record_type,
                    source,
                })
            }
        }
    }

    /// Caches the target addresses that `message`, the answer to the SRV question for
    /// `owner`, carries in its additional section, where the trust rules allow
    /// ([`additional_addresses`]). An answer already cached for a name and type is kept.
    fn store_additional(&self, owner: &Name, message: &Message) {
        for target in additional_addresses(owner, message) {
            let name = target.name.as_str();
            if matches!(self.cache.get(name, RecordType::AAAA), Cached::Fresh(_))
                || matches!(self.cache.get(name, RecordType::A), Cached::Fresh(_))
            {
                continue;
            }
            let ttl = Duration::from_secs(u64::from(target.ttl)).min(self.options.max_ttl);
            if ttl.is_zero() {
                continue;
            }
            tracing::debug!(
                name,
                v6 = target.v6.len(),
                v4 = target.v4.len(),
                ?ttl,
                "target addresses from the SRV answer's additional section"
            );
            self.cache
                .insert(name, RecordType::AAAA, Answer::Addrs(target.v6), ttl);
            self.cache
                .insert(name, RecordType::A, Answer::Addrs(target.v4), ttl);
        }
    }

    fn store(
        &self,
        fqdn: &str,
        record_type: RecordType,
        answer: Answer,
        ttl: Duration,
        source: Source,
    ) -> Result<Answer, ResolveError> {
        self.counters.increment(record_type, source);
        if !ttl.is_zero() {
            self.cache.insert(fqdn, record_type, answer.clone(), ttl);
        }
        Ok(answer)
    }
}

/// The addresses of one SRV target taken from an additional section.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TargetAddresses {
    /// The target, lowercase, with the trailing dot (a cache key).
    name: String,
    v6: Arc<[IpAddr]>,
    v4: Arc<[IpAddr]>,
    /// The smallest TTL of the records taken.
    ttl: u32,
}

/// The target addresses of `message`, an answer to the SRV question for `owner`, that may
/// be used (RFC 2181 §5.4.1: additional data of an authoritative answer, for the names
/// it covers):
///
/// - the answer is authoritative (AA set) and NOERROR: additional data from a
///   non-authoritative answer (a recursive resolver's) is never used;
/// - the name is the target of an SRV record of the answer at `owner`;
/// - the name is inside the zone the answer came from: at or below the owner of an SOA
///   or NS record of the authority section that is `owner` or above it, or, when the
///   answer has none (as acme-srv's own server, Knot and NSD answer), sharing with
///   `owner` an ancestor of two labels or more (a server authoritative for
///   `example.com` may add `host.example.com`, not `host.example.net` nor a name under
///   another top-level domain's zone);
/// - it has A or AAAA records there. The family it has none of is taken as empty for
///   the same time: acme-srv's server adds a target's A and AAAA together or leaves
///   both out, as do the servers it was compared with, so a target whose addresses are
///   there at all has them all there.
fn additional_addresses(owner: &Name, message: &Message) -> Vec<TargetAddresses> {
    if !message.metadata.authoritative
        || message.metadata.response_code != ResponseCode::NoError
        || message.additionals.is_empty()
    {
        return Vec::new();
    }
    let owner = lower(owner);
    let zone = message
        .authorities
        .iter()
        .filter(|r| matches!(r.record_type(), RecordType::SOA | RecordType::NS))
        .map(|r| lower(&r.name))
        .filter(|zone| zone.zone_of(&owner))
        .max_by_key(Name::num_labels);
    let in_bailiwick = |target: &Name| match &zone {
        Some(zone) => zone.zone_of(target),
        None => common_labels(&owner, target) >= 2,
    };
    let mut found: Vec<TargetAddresses> = Vec::new();
    for record in &message.answers {
        let RData::SRV(srv) = &record.data else {
            continue;
        };
        let target = lower(&srv.target);
        if lower(&record.name) != owner
            || !in_bailiwick(&target)
            || found.iter().any(|t| t.name == target.to_ascii())
        {
            continue;
        }
        let mut ttl = u32::MAX;
        let (mut v6, mut v4) = (Vec::new(), Vec::new());
        for address in message
            .additionals
            .iter()
            .filter(|r| lower(&r.name) == target)
        {
            match &address.data {
                RData::AAAA(a) => v6.push(IpAddr::V6(a.0)),
                RData::A(a) => v4.push(IpAddr::V4(a.0)),
                _ => continue,
            }
            ttl = ttl.min(address.ttl);
        }
        if v6.is_empty() && v4.is_empty() {
            continue;
        }
        found.push(TargetAddresses {
            name: target.to_ascii(),
            v6: v6.into(),
            v4: v4.into(),
            ttl,
        });
    }
    found
}

/// `name` lowercased and fully qualified.
fn lower(name: &Name) -> Name {
    let mut name = name.to_lowercase();
    name.set_fqdn(true);
    name
}

/// How many labels, from the root down, two lowercase names have in common.
fn common_labels(a: &Name, b: &Name) -> usize {
    a.iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

/// `name` with the trailing dot, borrowed when it has one.
fn fqdn(name: &str) -> std::borrow::Cow<'_, str> {
    if name.ends_with('.') {
        name.into()
    } else {
        format!("{name}.").into()
    }
}

/// The addresses from an AAAA and an A answer (either may have failed or be empty).
fn addresses(v6: &Result<Answer, ResolveError>, v4: &Result<Answer, ResolveError>) -> Addresses {
    let pick = |answer: &Result<Answer, ResolveError>| match answer {
        Ok(Answer::Addrs(addrs)) if !addrs.is_empty() => Some(addrs.clone()),
        _ => None,
    };
    Addresses {
        v6: pick(v6),
        v4: pick(v4),
    }
}

/// Keeps the records of the asked type (the answer may also hold the CNAME chain).
fn extract<'a>(record_type: RecordType, mut data: impl Iterator<Item = &'a RData>) -> Answer {
    match record_type {
        RecordType::SRV => Answer::Srv(
            data.filter_map(|d| match d {
                RData::SRV(srv) => Some(SrvRecord {
                    priority: srv.priority,
                    weight: srv.weight,
                    port: srv.port,
                    target: srv.target.to_ascii().to_ascii_lowercase(),
                }),
                _ => None,
            })
            .collect(),
        ),
        RecordType::CNAME => data
            .find_map(|d| match d {
                RData::CNAME(cname) => Some(Answer::Cname(cname.0.to_ascii().into())),
                _ => None,
            })
            .unwrap_or(Answer::Negative { nxdomain: false }),
        _ => Answer::Addrs(
            data.filter_map(|d| match d {
                RData::A(a) => Some(IpAddr::V4(a.0)),
                RData::AAAA(a) => Some(IpAddr::V6(a.0)),
                _ => None,
            })
            .collect(),
        ),
    }
}
