//! The server under test on loopback, the test zones, and two ways to ask it: `dig` (the
//! real program, output parsed) and raw hickory-proto messages over UDP/TCP.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use dns_server::{Authority, DnsServerError, ServerOptions, Snapshot, ZoneSpec, run_with_options};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, SOA, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The serial of the default snapshot.
pub const SERIAL: u32 = 7;

/// A running server on `127.0.0.1`, UDP and TCP on the same port.
pub struct TestServer {
    pub addr: SocketAddr,
    pub authority: Arc<Authority>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), DnsServerError>>>,
}

impl TestServer {
    /// Serves the test zones (see [`zones`] and [`dynamic_records`]) with [`SERIAL`].
    pub async fn start() -> Self {
        Self::with_snapshot(default_snapshot()).await
    }

    pub async fn with_snapshot(snapshot: Snapshot) -> Self {
        Self::with_options(snapshot, ServerOptions::default()).await
    }

    /// The default snapshot served under `options` (limits, timeouts, rate limiting).
    pub async fn with_limits(options: ServerOptions) -> Self {
        Self::with_options(default_snapshot(), options).await
    }

    pub async fn with_options(snapshot: Snapshot, options: ServerOptions) -> Self {
        let authority = Arc::new(Authority::new(snapshot));
        let (udp, tcp) = bind_same_port().await;
        let addr = udp.local_addr().unwrap();
        let (shutdown, stop) = oneshot::channel::<()>();
        let task = tokio::spawn(run_with_options(
            authority.clone(),
            vec![udp],
            vec![tcp],
            options,
            async move {
                let _ = stop.await;
            },
        ));
        Self {
            addr,
            authority,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    /// Requests shutdown and returns what `run` returned.
    pub async fn stop(mut self) -> Result<(), DnsServerError> {
        let _ = self.shutdown.take().unwrap().send(());
        let task = self.task.take().unwrap();
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("run returns soon after shutdown")
            .expect("run does not panic")
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

async fn bind_same_port() -> (UdpSocket, TcpListener) {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        if let Ok(tcp) = TcpListener::bind(udp.local_addr().unwrap()).await {
            return (udp, tcp);
        }
    }
    panic!("could not bind UDP and TCP on one loopback port in 50 tries");
}

pub fn name(text: &str) -> Name {
    Name::from_str(text).unwrap()
}

fn fixture(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/dns/fixtures")
        .join(file)
}

/// `example.test.` from the zone file (SOA TTL 3600, minimum 60); `sub.example.test.`, a
/// more specific zone (SOA TTL 30, minimum 300); `other.test.`, for chains across zones.
pub fn zones() -> Vec<ZoneSpec> {
    let example = ZoneSpec::from_zone_file(&fixture("example.test.zone"), name("example.test."))
        .expect("the fixture zone file parses");
    vec![
        example,
        programmatic_zone("sub.example.test.", 30, 300),
        programmatic_zone("other.test.", 600, 120),
    ]
}

pub fn programmatic_zone(origin: &str, soa_ttl: u32, minimum: u32) -> ZoneSpec {
    let origin = name(origin);
    ZoneSpec {
        soa: SOA::new(
            origin.prepend_label("ns").unwrap(),
            origin.prepend_label("hostmaster").unwrap(),
            1,
            3600,
            600,
            86400,
            minimum,
        ),
        soa_ttl,
        ns: vec![name("ns1.example.test.")],
        static_records: vec![record(
            &format!("host.{origin}"),
            300,
            RData::A(A::new(198, 51, 100, 7)),
        )]
        .into(),
        origin,
    }
}

pub fn record(owner: &str, ttl: u32, data: RData) -> Record {
    Record::from_rdata(name(owner), ttl, data)
}

pub fn txt(owner: &str, value: &str) -> Record {
    record(owner, 300, RData::TXT(TXT::new(vec![value.to_owned()])))
}

pub fn cname(owner: &str, target: &str) -> Record {
    record(owner, 300, RData::CNAME(CNAME(name(target))))
}

/// A TXT RRset of `count` records of 200 characters each (distinct).
pub fn txt_set(owner: &str, count: usize) -> Vec<Record> {
    (0..count)
        .map(|i| txt(owner, &format!("{i:03}{}", "x".repeat(197))))
        .collect()
}

/// The records the store would add to the zones.
pub fn dynamic_records() -> Vec<Record> {
    let mut records = vec![
        txt(
            "_acme-challenge.www.example.test.",
            "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA",
        ),
        record("multi.example.test.", 300, RData::A(A::new(192, 0, 2, 10))),
        record(
            "multi.example.test.",
            300,
            RData::AAAA(AAAA::from_str("2001:db8::10").unwrap()),
        ),
        txt("multi.example.test.", "multi"),
        // A chain inside the zone.
        cname("c1.example.test.", "c2.example.test."),
        cname("c2.example.test.", "c3.example.test."),
        cname("c3.example.test.", "www.example.test."),
        // Across served zones, out of them, to nothing, in a loop.
        cname("cross.example.test.", "host.other.test."),
        cname("ext.example.test.", "target.elsewhere.invalid."),
        cname("dangling.example.test.", "nothing.example.test."),
        cname("loop1.example.test.", "loop2.example.test."),
        cname("loop2.example.test.", "loop1.example.test."),
        // A deep name under the child zone, and one making `deep` an empty non-terminal.
        txt("a.b.deep.example.test.", "deep"),
    ];
    // Chains of exactly 8 followed targets, and of 9.
    for i in 0..8 {
        let target = if i == 7 {
            "www.example.test.".to_owned()
        } else {
            format!("eight{}.example.test.", i + 1)
        };
        records.push(cname(&format!("eight{i}.example.test."), &target));
    }
    for i in 0..9 {
        let target = if i == 8 {
            "www.example.test.".to_owned()
        } else {
            format!("nine{}.example.test.", i + 1)
        };
        records.push(cname(&format!("nine{i}.example.test."), &target));
    }
    records.extend(txt_set("medium.example.test.", 4)); // ~0.9 KB answer
    records.extend(txt_set("large.example.test.", 9)); // ~2 KB answer
    records.extend(txt_set("big.example.test.", 22)); // ~4.7 KB answer
    records
}

pub fn default_snapshot() -> Snapshot {
    let (snapshot, skipped) = Snapshot::build(&zones(), dynamic_records(), SERIAL);
    assert!(
        skipped.is_empty(),
        "unexpected skipped records: {skipped:?}"
    );
    snapshot
}

// --- raw queries --------------------------------------------------------------------

/// A query message: RD clear, optional EDNS with the given payload size.
pub fn query(qname: &str, qtype: RecordType, edns_payload: Option<u16>) -> Message {
    let mut message = Message::new(rand::random(), MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = false;
    message.add_query(Query::query(name(qname), qtype));
    if let Some(payload) = edns_payload {
        let mut edns = Edns::new();
        edns.set_max_payload(payload);
        message.set_edns(edns);
    }
    message
}

/// Sends one datagram and waits up to `wait` for a reply.
pub async fn udp_exchange(addr: SocketAddr, bytes: &[u8], wait: Duration) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.send_to(bytes, addr).await.unwrap();
    let mut buffer = vec![0; 65535];
    match tokio::time::timeout(wait, socket.recv_from(&mut buffer)).await {
        Ok(Ok((len, _))) => {
            buffer.truncate(len);
            Some(buffer)
        }
        Ok(Err(error)) => panic!("recv_from: {error}"),
        Err(_) => None,
    }
}

/// One query over a new TCP connection (2-byte length prefix both ways).
pub async fn tcp_exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let len = u16::try_from(bytes.len()).unwrap().to_be_bytes();
    stream.write_all(&len).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    let mut len = [0u8; 2];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut len))
        .await
        .expect("TCP answer in time")
        .unwrap();
    let mut buffer = vec![0; usize::from(u16::from_be_bytes(len))];
    stream.read_exact(&mut buffer).await.unwrap();
    buffer
}

pub async fn udp(addr: SocketAddr, message: &Message) -> (Message, usize) {
    let bytes = message.to_vec().unwrap();
    let reply = udp_exchange(addr, &bytes, Duration::from_secs(5))
        .await
        .expect("an answer over UDP");
    let len = reply.len();
    let reply = Message::from_vec(&reply).expect("the answer decodes");
    assert_eq!(reply.metadata.id, message.metadata.id);
    (reply, len)
}

pub async fn tcp(addr: SocketAddr, message: &Message) -> Message {
    let reply = tcp_exchange(addr, &message.to_vec().unwrap()).await;
    let reply = Message::from_vec(&reply).expect("the answer decodes");
    assert_eq!(reply.metadata.id, message.metadata.id);
    reply
}

pub async fn udp_query(addr: SocketAddr, qname: &str, qtype: RecordType) -> Message {
    udp(addr, &query(qname, qtype, Some(1232))).await.0
}

/// Answer-section rdata of the given type, as text.
pub fn rdata_of(message: &Message, record_type: RecordType) -> Vec<String> {
    let mut data: Vec<String> = message
        .answers
        .iter()
        .filter(|r| r.record_type() == record_type)
        .map(|r| r.data.to_string())
        .collect();
    data.sort();
    data
}

/// Asserts the header of an authoritative answer: QR, AA, no RA, no TC.
pub fn assert_authoritative(message: &Message) {
    let m = &message.metadata;
    assert_eq!(m.message_type, MessageType::Response);
    assert!(m.authoritative, "AA must be set: {message:?}");
    assert!(!m.recursion_available, "RA must be clear");
    assert!(!m.truncation, "TC must be clear");
}

// --- dig ------------------------------------------------------------------------------

/// One record line of dig's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigRecord {
    pub name: String,
    pub ttl: u32,
    pub class: String,
    pub rtype: String,
    pub data: String,
}

/// dig's output, parsed.
#[derive(Debug, Default)]
pub struct Dig {
    pub status: String,
    pub flags: Vec<String>,
    pub question: Vec<String>,
    pub answer: Vec<DigRecord>,
    pub authority: Vec<DigRecord>,
    /// The `udp:` size of the OPT pseudosection, when the response had one.
    pub edns_udp: Option<u16>,
    pub raw: String,
}

impl Dig {
    pub fn has_flag(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }

    pub fn answer_data(&self, rtype: &str) -> Vec<String> {
        let mut data: Vec<String> = self
            .answer
            .iter()
            .filter(|r| r.rtype == rtype)
            .map(|r| r.data.clone())
            .collect();
        data.sort();
        data
    }
}

/// Runs `dig @127.0.0.1 -p PORT +norecurse <args>` and parses its output (header,
/// flags, OPT, question, answer and authority sections).
pub async fn dig(server: &TestServer, args: &[&str]) -> Dig {
    let port = server.port().to_string();
    let output = tokio::process::Command::new("dig")
        .args([
            "@127.0.0.1",
            "-p",
            &port,
            "+norecurse",
            "+tries=1",
            "+time=5",
        ])
        .args(["+noall", "+comments", "+question", "+answer", "+authority"])
        .args(args)
        .output()
        .await;
    let output = match output {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            panic!("`dig` is not installed: apt-get install bind9-dnsutils; tests/run installs it")
        }
        Err(error) => panic!("could not run dig: {error}"),
    };
    let raw = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "dig {args:?} failed: {raw}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    parse_dig(raw)
}

fn parse_dig(raw: String) -> Dig {
    #[derive(Clone, Copy)]
    enum Section {
        None,
        Question,
        Answer,
        Authority,
    }
    let mut dig = Dig::default();
    let mut section = Section::None;
    for line in raw.lines() {
        let line = line.trim_end();
        if let Some(rest) = line.strip_prefix(";; ->>HEADER<<- ") {
            dig.status = rest
                .split(", ")
                .find_map(|part| part.strip_prefix("status: "))
                .unwrap_or_default()
                .to_owned();
        } else if let Some(rest) = line.strip_prefix(";; flags:") {
            let flags = rest.split(';').next().unwrap_or_default();
            dig.flags = flags.split_whitespace().map(str::to_owned).collect();
        } else if let Some(rest) = line.strip_prefix("; EDNS:") {
            dig.edns_udp = rest
                .split("udp: ")
                .nth(1)
                .and_then(|size| size.trim().parse().ok());
        } else if line.starts_with(";; QUESTION SECTION") {
            section = Section::Question;
        } else if line.starts_with(";; ANSWER SECTION") {
            section = Section::Answer;
        } else if line.starts_with(";; AUTHORITY SECTION") {
            section = Section::Authority;
        } else if line.starts_with(";;") || line.is_empty() {
            if line.starts_with(";; ") && line.ends_with("SECTION:") {
                section = Section::None;
            }
        } else {
            match section {
                Section::Question => {
                    if let Some(question) = line.strip_prefix(';') {
                        dig.question.push(question.to_owned());
                    }
                }
                Section::Answer => dig.answer.push(parse_record(line)),
                Section::Authority => dig.authority.push(parse_record(line)),
                Section::None => {}
            }
        }
    }
    dig.raw = raw;
    dig
}

fn parse_record(line: &str) -> DigRecord {
    let mut fields = line.split_whitespace();
    let mut next = || fields.next().unwrap_or_default().to_owned();
    let name = next();
    let ttl = next().parse().unwrap_or_else(|_| panic!("TTL in {line:?}"));
    let class = next();
    let rtype = next();
    let data = fields.collect::<Vec<_>>().join(" ");
    DigRecord {
        name,
        ttl,
        class,
        rtype,
        data,
    }
}
