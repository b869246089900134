//! Target addresses from the additional section of an SRV answer (RFC 2181 §5.4.1): used
//! when the answer is authoritative and the target is in its zone, so a cold challenge
//! costs one query; otherwise the addresses are asked for as before.
#![allow(clippy::unwrap_used, missing_docs)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, SOA, SRV};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use target_resolver::{ResolverOptions, SrvAnswer, TargetResolver};
use test_support::dns_server::TestDns;
use tokio::net::UdpSocket;

fn resolver(server: std::net::SocketAddr) -> TargetResolver {
    TargetResolver::new(ResolverOptions {
        servers: vec![server],
        timeout: Duration::from_millis(500),
        attempts: 1,
        max_ttl: Duration::from_secs(3600),
        negative_ttl_without_soa: Duration::from_secs(30),
        serve_stale_for: Duration::from_secs(3600),
        cache_entries: 1000,
    })
    .unwrap()
}

const OWNER: &str = "_acme-challenge._tcp.www.a.test.";

fn addresses(found: &target_resolver::Addresses) -> Vec<IpAddr> {
    found.iter().collect()
}

/// hickory's in-memory authoritative server (TestDns) adds the first target's A and AAAA.
#[tokio::test]
async fn an_authoritative_answer_with_the_addresses_makes_a_cold_challenge_one_query() {
    let dns = TestDns::start("test.", 1).await;
    dns.set_srv(OWNER, &[(0, 0, 8080, "h.a.test")], 60).await;
    dns.set_a("h.a.test", &[Ipv4Addr::LOCALHOST], 60).await;
    dns.set_aaaa("h.a.test", &[Ipv6Addr::LOCALHOST], 60).await;
    dns.clear_questions();
    let resolver = resolver(dns.addr());

    let SrvAnswer::Records(records) = resolver.srv(OWNER).await.unwrap() else {
        panic!("no SRV records")
    };
    let found = resolver.addresses(&records[0].target).await.unwrap();
    assert_eq!(
        addresses(&found),
        [
            IpAddr::from(Ipv6Addr::LOCALHOST),
            Ipv4Addr::LOCALHOST.into()
        ]
    );
    assert_eq!(dns.questions_for("h.a.test"), 0, "{:?}", dns.questions());
    assert_eq!(dns.questions().len(), 1, "{:?}", dns.questions());
}

/// What the hand-built server puts in its SRV answer.
#[derive(Clone, Copy)]
struct Behaviour {
    authoritative: bool,
    additional: bool,
}

/// A minimal UDP responder for zone `a.test.` (and `other.test.`): SRV at [`OWNER`] to
/// `target`, A 127.0.0.1 at every other name (AAAA: NODATA), the additional section
/// holding 192.0.2.66 and 2001:db8::66 for the target when asked to: addresses that
/// must be used only when allowed. Records every question.
struct Responder {
    addr: std::net::SocketAddr,
    questions: Arc<Mutex<Vec<(String, RecordType)>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Responder {
    async fn start(target: &str, behaviour: Behaviour) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = socket.local_addr().unwrap();
        let questions = Arc::new(Mutex::new(Vec::new()));
        let seen = questions.clone();
        let target = Name::from_ascii(target).unwrap();
        let task = tokio::spawn(async move {
            let mut buffer = vec![0; 4096];
            loop {
                let Ok((len, from)) = socket.recv_from(&mut buffer).await else {
                    return;
                };
                let Ok(query) = Message::from_vec(&buffer[..len]) else {
                    continue;
                };
                let reply = answer(&query, &target, behaviour);
                if let Some(question) = query.queries.first() {
                    seen.lock()
                        .unwrap()
                        .push((question.name().to_ascii(), question.query_type()));
                }
                let _ = socket.send_to(&reply.to_vec().unwrap(), from).await;
            }
        });
        Self {
            addr,
            questions,
            task,
        }
    }

    fn questions_for(&self, name: &str) -> usize {
        self.questions
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn answer(query: &Message, target: &Name, behaviour: Behaviour) -> Message {
    let mut reply = Message::new(
        query.metadata.id,
        MessageType::Response,
        query.metadata.op_code,
    );
    reply.metadata.recursion_desired = query.metadata.recursion_desired;
    reply.metadata.authoritative = behaviour.authoritative;
    let Some(question) = query.queries.first() else {
        return reply;
    };
    reply.add_query(question.clone());
    let name = question.name().clone();
    let zone = Name::from_ascii(if name.to_ascii().ends_with("other.test.") {
        "other.test."
    } else {
        "a.test."
    })
    .unwrap();
    let soa = || {
        Record::from_rdata(
            zone.clone(),
            60,
            RData::SOA(SOA::new(
                zone.prepend_label("ns").unwrap(),
                zone.prepend_label("hostmaster").unwrap(),
                1,
                3600,
                600,
                86400,
                60,
            )),
        )
    };
    match question.query_type() {
        RecordType::SRV if name == Name::from_ascii(OWNER).unwrap() => {
            reply.add_answer(Record::from_rdata(
                name,
                60,
                RData::SRV(SRV::new(0, 0, 8080, target.clone())),
            ));
            if behaviour.additional {
                reply.add_additional(Record::from_rdata(
                    target.clone(),
                    60,
                    RData::A(A(Ipv4Addr::new(192, 0, 2, 66))),
                ));
                reply.add_additional(Record::from_rdata(
                    target.clone(),
                    60,
                    RData::AAAA(AAAA("2001:db8::66".parse().unwrap())),
                ));
            }
        }
        RecordType::A => {
            reply.add_answer(Record::from_rdata(
                name,
                60,
                RData::A(A(Ipv4Addr::LOCALHOST)),
            ));
        }
        _ => {
            reply.metadata.response_code = ResponseCode::NoError;
            reply.add_authority(soa());
        }
    }
    reply
}

/// The SRV lookup, then the target's addresses, as a challenge does.
async fn cold_challenge(resolver: &TargetResolver) -> Vec<IpAddr> {
    let SrvAnswer::Records(records) = resolver.srv(OWNER).await.unwrap() else {
        panic!("no SRV records")
    };
    addresses(&resolver.addresses(&records[0].target).await.unwrap())
}

#[tokio::test]
async fn additional_addresses_of_an_authoritative_answer_are_used() {
    let server = Responder::start(
        "h.a.test.",
        Behaviour {
            authoritative: true,
            additional: true,
        },
    )
    .await;
    let resolver = resolver(server.addr);
    assert_eq!(
        cold_challenge(&resolver).await,
        [
            "2001:db8::66".parse::<IpAddr>().unwrap(),
            "192.0.2.66".parse().unwrap()
        ]
    );
    assert_eq!(server.questions_for("h.a.test."), 0);
}

#[tokio::test]
async fn without_additional_addresses_the_target_is_asked_for() {
    let server = Responder::start(
        "h.a.test.",
        Behaviour {
            authoritative: true,
            additional: false,
        },
    )
    .await;
    let resolver = resolver(server.addr);
    assert_eq!(
        cold_challenge(&resolver).await,
        [IpAddr::from(Ipv4Addr::LOCALHOST)]
    );
    assert_eq!(server.questions_for("h.a.test."), 2, "AAAA and A");
}

#[tokio::test]
async fn additional_addresses_of_a_non_authoritative_answer_are_not_used() {
    let server = Responder::start(
        "h.a.test.",
        Behaviour {
            authoritative: false,
            additional: true,
        },
    )
    .await;
    let resolver = resolver(server.addr);
    assert_eq!(
        cold_challenge(&resolver).await,
        [IpAddr::from(Ipv4Addr::LOCALHOST)],
        "the looked-up address, not the additional one"
    );
    assert_eq!(server.questions_for("h.a.test."), 2);
}

#[tokio::test]
async fn additional_addresses_outside_the_answers_zone_are_not_used() {
    // Authoritative for a.test, adding addresses of a name under another top-level
    // zone: not its to give.
    let server = Responder::start(
        "h.other.test.",
        Behaviour {
            authoritative: true,
            additional: true,
        },
    )
    .await;
    let resolver = resolver(server.addr);
    assert_eq!(
        cold_challenge(&resolver).await,
        [IpAddr::from(Ipv4Addr::LOCALHOST)]
    );
    assert_eq!(server.questions_for("h.other.test."), 2);
}
