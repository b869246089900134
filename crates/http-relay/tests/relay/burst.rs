//! A CA's burst: the primary perspective and then 4 to 6 remote ones ask for the same
//! token at nearly the same moment, each from its own address. With answer reuse on (the
//! default), the target sees one request and every requester gets the same bytes.

use std::time::Duration;

use config::Config;
use test_support::recording_target::{Behaviour, RecordingTarget, key_authorization};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::harness::{self, challenge, dns, logs, owner, srv_target};

const TOKEN: &str = "K1f4R-8wJ3kqT8zWlGxq2x6qS1cQzq4Kx7lqgQe5wXk";

/// The product default: reuse on.
fn reuse_on(config: &mut Config) {
    config.relay.timeouts.answer_reuse = Config::default().relay.timeouts.answer_reuse;
}

/// One raw GET for `token` from the source address `from`; the whole answer as bytes.
async fn raw_from(from: &str, to: std::net::SocketAddr, host: &str, token: &str) -> Vec<u8> {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(format!("{from}:0").parse().unwrap()).unwrap();
    let mut stream: TcpStream = socket.connect(to).await.unwrap();
    let request = format!(
        "GET /.well-known/acme-challenge/{token} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut out))
        .await
        .unwrap()
        .unwrap();
    out
}

/// Six requesters at once, from 127.0.0.1 to 127.0.0.6.
async fn burst(to: std::net::SocketAddr, host: &str, token: &str) -> Vec<Vec<u8>> {
    let runs = (1..=6).map(|i| {
        let host = host.to_owned();
        let token = token.to_owned();
        tokio::spawn(async move { raw_from(&format!("127.0.0.{i}"), to, &host, &token).await })
    });
    let mut answers = Vec::new();
    for run in runs.collect::<Vec<_>>() {
        answers.push(run.await.unwrap());
    }
    answers
}

#[tokio::test]
async fn a_burst_of_six_reaches_the_target_once_and_gets_identical_bytes() {
    let dns = dns().await;
    // A target that takes 200 ms: every perspective of the burst arrives while the first
    // exchange is in flight.
    let target = srv_target(
        &dns,
        "burst.test",
        Behaviour::Slow(Duration::from_millis(200)),
    )
    .await;
    let relay = harness::start_with(&dns, reuse_on).await;
    let answers = burst(relay.addr, "burst.test", TOKEN).await;
    assert_eq!(target.requests().len(), 1, "one exchange for the burst");
    let first = &answers[0];
    assert!(
        first.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(first)
    );
    assert!(first.ends_with(key_authorization(TOKEN).as_bytes()));
    for other in &answers[1..] {
        assert_eq!(other, first, "byte-identical answers");
    }
    // A late perspective, after the exchange ended, gets the kept answer.
    let late = raw_from("127.0.0.7", relay.addr, "burst.test", TOKEN).await;
    assert_eq!(&late, first);
    assert_eq!(target.requests().len(), 1);
    let log = logs();
    // The five others waited for the exchange in flight (one slower to arrive than the
    // 200 ms exchange would get the kept answer instead), the late one got the kept one.
    let (coalesced, kept) = (
        log.matches("reuse=coalesced").count(),
        log.matches("reuse=kept").count(),
    );
    assert_eq!(coalesced + kept, 6, "{log}");
    assert!(coalesced >= 1 && kept >= 1, "{log}");
    // Another token is another exchange.
    let other = challenge(relay.addr, "burst.test", "another-token").await;
    assert_eq!(other.status, 200);
    assert_eq!(target.requests().len(), 2);
}

#[tokio::test]
async fn an_error_is_never_kept() {
    let dns = dns().await;
    // The ACME client is not listening yet.
    let dead = test_support::recording_target::refused_port().await;
    dns.set_srv(&owner("notyet.test"), &[(0, 0, dead, "t.notyet.test")], 60)
        .await;
    dns.set_a("t.notyet.test", &[std::net::Ipv4Addr::LOCALHOST], 60)
        .await;
    let relay = harness::start_with(&dns, reuse_on).await;
    let failed = challenge(relay.addr, "notyet.test", TOKEN).await;
    assert_eq!(failed.status, 502);
    // The client comes up on that port now: the next request reaches it at once.
    let live = RecordingTarget::start_on(&format!("127.0.0.1:{dead}"), Behaviour::Answer).await;
    let answered = challenge(relay.addr, "notyet.test", TOKEN).await;
    assert_eq!(answered.status, 200, "{}", answered.details());
    assert_eq!(live.requests().len(), 1);
}

#[tokio::test]
async fn a_changed_srv_record_is_honoured_at_once() {
    let dns = dns().await;
    let first = srv_target(&dns, "moved.test", Behaviour::Fixed("first")).await;
    let relay = harness::start_with(&dns, |config| {
        reuse_on(config);
        // No SRV caching in the relay: the change is seen by the next request.
        config.resolver.max_ttl = Duration::ZERO;
    })
    .await;
    assert_eq!(
        challenge(relay.addr, "moved.test", TOKEN).await.body,
        "first"
    );
    let second = RecordingTarget::start_on("127.0.0.1:0", Behaviour::Fixed("second")).await;
    dns.set_srv(
        &owner("moved.test"),
        &[(0, 0, second.port(), "t.moved.test")],
        60,
    )
    .await;
    assert_eq!(
        challenge(relay.addr, "moved.test", TOKEN).await.body,
        "second",
        "the kept answer belongs to the old record"
    );
    assert_eq!((first.requests().len(), second.requests().len()), (1, 1));
}

#[tokio::test]
async fn a_failed_leader_lets_each_waiter_try_alone() {
    let dns = dns().await;
    // A 404 (no challenge pending yet): a waiter learns the leader got no 200 and asks
    // the target itself, so every requester's request reaches it.
    let target =
        RecordingTarget::start_on("127.0.0.1:0", Behaviour::Redirect(404, "/unused")).await;
    dns.set_srv(
        &owner("later.test"),
        &[(0, 0, target.port(), "t.later.test")],
        60,
    )
    .await;
    dns.set_a("t.later.test", &[std::net::Ipv4Addr::LOCALHOST], 60)
        .await;
    let relay = harness::start_with(&dns, reuse_on).await;
    let answers = burst(relay.addr, "later.test", TOKEN).await;
    assert!(answers.iter().all(|a| a.starts_with(b"HTTP/1.1 404")));
    assert_eq!(target.requests().len(), 6, "no 404 is shared or kept");
}
