//! An in-process authoritative DNS server for tests, on hickory-server.
//!
//! [`TestDns::start`] serves one zone over UDP and TCP on the same loopback port. A test
//! sets and removes whole RRsets while the server runs ([`TestDns::set_srv`],
//! [`TestDns::set_a`], …), reads back every question the server was asked
//! ([`TestDns::questions`]), and can stop the server to simulate an upstream outage
//! ([`TestDns::stop`]).
//!
//! Answers come from hickory's `InMemoryZoneHandler` behind a `Catalog`, so NXDOMAIN and
//! NODATA carry the zone's SOA (negative TTL = the SOA minimum given to `start`) and
//! CNAMEs inside the zone are followed as a real authoritative server would.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::rr::rdata::{A, AAAA, CNAME, NS, SOA, SRV, TXT};
use hickory_proto::rr::{LowerName, Name, RData, Record, RecordSet, RecordType, RrKey};
use hickory_server::Server;
use hickory_server::net::runtime::Time;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, ZoneHandler, ZoneType};
use tokio::net::{TcpListener, UdpSocket};

/// One question the server received: the name as asked (case preserved) and its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Query name, as sent on the wire.
    pub name: String,
    /// Query type.
    pub record_type: RecordType,
}

/// A running test DNS server for one zone.
pub struct TestDns {
    addr: SocketAddr,
    origin: Name,
    zone: Arc<InMemoryZoneHandler>,
    questions: Arc<Mutex<Vec<Question>>>,
    server: Option<Server<RecordingCatalog>>,
}

/// Remembers each question, then lets the catalog answer.
struct RecordingCatalog {
    catalog: Catalog,
    questions: Arc<Mutex<Vec<Question>>>,
}

#[async_trait::async_trait]
impl RequestHandler for RecordingCatalog {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        response_handle: R,
    ) -> ResponseInfo {
        if let Ok(info) = request.request_info() {
            let original = info.query.original();
            self.questions.lock().unwrap().push(Question {
                name: original.name().to_ascii(),
                record_type: original.query_type(),
            });
        }
        self.catalog
            .handle_request::<R, T>(request, response_handle)
            .await
    }
}

impl TestDns {
    /// Starts a server for zone `origin` (e.g. `"test."`) on `127.0.0.1:0`.
    ///
    /// `negative_ttl` is the SOA minimum, i.e. how long resolvers cache NXDOMAIN and
    /// NODATA answers from this zone.
    pub async fn start(origin: &str, negative_ttl: u32) -> Self {
        let origin = Name::from_str(origin).expect("valid zone origin");
        let mut records = BTreeMap::new();
        let soa = Record::from_rdata(
            origin.clone(),
            negative_ttl,
            RData::SOA(SOA::new(
                origin.prepend_label("ns").unwrap(),
                origin.prepend_label("hostmaster").unwrap(),
                1,
                3600,
                600,
                86400,
                negative_ttl,
            )),
        );
        let ns = Record::from_rdata(
            origin.clone(),
            3600,
            RData::NS(NS(origin.prepend_label("ns").unwrap())),
        );
        for record in [soa, ns] {
            let mut set = RecordSet::new(record.name.clone(), record.record_type(), 1);
            set.insert(record.clone(), 1);
            records.insert(
                RrKey::new(LowerName::from(&record.name), record.record_type()),
                set,
            );
        }
        let zone = Arc::new(
            InMemoryZoneHandler::new(origin.clone(), records, ZoneType::Primary, AxfrPolicy::Deny)
                .expect("zone with SOA"),
        );
        let questions = Arc::new(Mutex::new(Vec::new()));
        let (udp, tcp) = bind_same_port().await;
        let addr = udp.local_addr().unwrap();
        let server = serve(&origin, &zone, &questions, udp, tcp);
        Self {
            addr,
            origin,
            zone,
            questions,
            server: Some(server),
        }
    }

    /// Answers again after [`TestDns::stop`], on the same address and with the same
    /// records (an upstream DNS server coming back).
    pub async fn restart(&mut self) {
        self.stop().await;
        let udp = UdpSocket::bind(self.addr).await.expect("rebind udp");
        let tcp = TcpListener::bind(self.addr).await.expect("rebind tcp");
        self.server = Some(serve(&self.origin, &self.zone, &self.questions, udp, tcp));
    }

    /// The address the server answers on (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The zone origin, with trailing dot.
    pub fn origin(&self) -> String {
        self.origin.to_ascii()
    }

    /// Replaces the SRV RRset at `owner` with `(priority, weight, port, target)` records.
    pub async fn set_srv(&self, owner: &str, records: &[(u16, u16, u16, &str)], ttl: u32) {
        let data = records
            .iter()
            .map(|&(priority, weight, port, target)| {
                RData::SRV(SRV::new(priority, weight, port, name(target)))
            })
            .collect();
        self.set(owner, RecordType::SRV, data, ttl).await;
    }

    /// Replaces the A RRset at `owner`.
    pub async fn set_a(&self, owner: &str, addrs: &[Ipv4Addr], ttl: u32) {
        let data = addrs.iter().map(|a| RData::A(A(*a))).collect();
        self.set(owner, RecordType::A, data, ttl).await;
    }

    /// Replaces the AAAA RRset at `owner`.
    pub async fn set_aaaa(&self, owner: &str, addrs: &[Ipv6Addr], ttl: u32) {
        let data = addrs.iter().map(|a| RData::AAAA(AAAA(*a))).collect();
        self.set(owner, RecordType::AAAA, data, ttl).await;
    }

    /// Sets A or AAAA records at `owner` for each address, by family.
    pub async fn set_addrs(&self, owner: &str, addrs: &[IpAddr], ttl: u32) {
        let v4: Vec<_> = addrs
            .iter()
            .filter_map(|a| match a {
                IpAddr::V4(v4) => Some(*v4),
                IpAddr::V6(_) => None,
            })
            .collect();
        let v6: Vec<_> = addrs
            .iter()
            .filter_map(|a| match a {
                IpAddr::V6(v6) => Some(*v6),
                IpAddr::V4(_) => None,
            })
            .collect();
        self.set_a(owner, &v4, ttl).await;
        self.set_aaaa(owner, &v6, ttl).await;
    }

    /// Sets a CNAME at `owner` pointing to `target`.
    pub async fn set_cname(&self, owner: &str, target: &str, ttl: u32) {
        self.set(
            owner,
            RecordType::CNAME,
            vec![RData::CNAME(CNAME(name(target)))],
            ttl,
        )
        .await;
    }

    /// Replaces the TXT RRset at `owner`.
    pub async fn set_txt(&self, owner: &str, values: &[&str], ttl: u32) {
        let data = values
            .iter()
            .map(|v| RData::TXT(TXT::new(vec![(*v).to_owned()])))
            .collect();
        self.set(owner, RecordType::TXT, data, ttl).await;
    }

    /// Removes the RRset of `record_type` at `owner`; an empty data list does the same.
    pub async fn remove(&self, owner: &str, record_type: RecordType) {
        self.set(owner, record_type, Vec::new(), 0).await;
    }

    async fn set(&self, owner: &str, record_type: RecordType, data: Vec<RData>, ttl: u32) {
        let owner = name(owner);
        let key = RrKey::new(LowerName::from(&owner), record_type);
        let mut records = self.zone.records_mut().await;
        if data.is_empty() {
            records.remove(&key);
            return;
        }
        let mut set = RecordSet::new(owner.clone(), record_type, 1);
        for rdata in data {
            set.insert(Record::from_rdata(owner.clone(), ttl, rdata), 1);
        }
        records.insert(key, Arc::new(set));
    }

    /// Every question received so far, in order.
    pub fn questions(&self) -> Vec<Question> {
        self.questions.lock().unwrap().clone()
    }

    /// How many questions were asked for `name` (any case, any type).
    pub fn questions_for(&self, name: &str) -> usize {
        let wanted = name.trim_end_matches('.').to_ascii_lowercase();
        self.questions()
            .iter()
            .filter(|q| q.name.trim_end_matches('.').eq_ignore_ascii_case(&wanted))
            .count()
    }

    /// Forgets the questions received so far.
    pub fn clear_questions(&self) {
        self.questions.lock().unwrap().clear();
    }

    /// Stops answering: the sockets are closed when this returns.
    pub async fn stop(&mut self) {
        if let Some(mut server) = self.server.take() {
            server
                .shutdown_gracefully()
                .await
                .expect("dns server shutdown");
        }
    }
}

/// A hickory server answering for `zone` on `udp` and `tcp`, recording questions.
fn serve(
    origin: &Name,
    zone: &Arc<InMemoryZoneHandler>,
    questions: &Arc<Mutex<Vec<Question>>>,
    udp: UdpSocket,
    tcp: TcpListener,
) -> Server<RecordingCatalog> {
    let mut catalog = Catalog::new();
    catalog.upsert(
        LowerName::from(origin),
        vec![zone.clone() as Arc<dyn ZoneHandler>],
    );
    let handler = RecordingCatalog {
        catalog,
        questions: questions.clone(),
    };
    let mut server = Server::new(handler);
    server.register_socket(udp);
    server.register_listener(tcp, Duration::from_secs(5), 64 * 1024);
    server
}

/// Parses an absolute name; a missing trailing dot is added.
fn name(text: &str) -> Name {
    let text = if text.ends_with('.') {
        text.to_owned()
    } else {
        format!("{text}.")
    };
    Name::from_str(&text).expect("valid DNS name")
}

/// Binds UDP on an ephemeral loopback port and TCP on the same port, retrying when the
/// TCP side of that port happens to be taken.
async fn bind_same_port() -> (UdpSocket, TcpListener) {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind udp");
        let addr = udp.local_addr().unwrap();
        if let Ok(tcp) = TcpListener::bind(addr).await {
            return (udp, tcp);
        }
    }
    panic!("could not bind UDP and TCP on one loopback port in 50 tries");
}
