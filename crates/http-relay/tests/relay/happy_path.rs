//! A challenge for an allowed domain reaches the SRV target, with the right headers,
//! and the target's answer comes back unchanged.

use std::net::Ipv4Addr;

use test_support::recording_target::{RecordingTarget, key_authorization};

use crate::harness::*;

const TOKEN: &str = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";

#[tokio::test]
async fn challenge_is_relayed_to_the_srv_target() {
    let dns = dns().await;
    let target = RecordingTarget::start().await;
    dns.set_srv(
        &owner("www.a.test"),
        &[(10, 5, target.port(), "client.a.test")],
        60,
    )
    .await;
    dns.set_a("client.a.test", &[Ipv4Addr::LOCALHOST], 60).await;
    let relay = start_with(&dns, |_| {}).await;

    let path = format!("/.well-known/acme-challenge/{TOKEN}");
    let reply = request(
        relay.addr,
        "GET",
        "WWW.A.test:80",
        &path,
        &[
            "X-Custom: kept",
            "Proxy-Authorization: secret",
            "Keep-Alive: 5",
            "Connection: close, X-Hop",
            "X-Hop: dropped",
            "User-Agent: test-ca",
        ],
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body, key_authorization(TOKEN));
    assert_eq!(
        reply.header("x-target"),
        Some("recording"),
        "target headers come back"
    );

    let seen = target.requests();
    assert_eq!(seen.len(), 1);
    let req = &seen[0];
    assert_eq!(req.method, "GET");
    assert_eq!(req.uri, path, "origin-form, path unchanged");
    assert_eq!(
        req.header("host"),
        Some("WWW.A.test:80"),
        "original Host kept"
    );
    assert_eq!(req.header("x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(req.header("x-forwarded-proto"), Some("http"));
    assert_eq!(req.header("x-forwarded-host"), Some("WWW.A.test:80"));
    assert_eq!(req.header("via"), Some("1.1 acme-srv"));
    assert_eq!(req.header("user-agent"), Some("test-ca"));
    for hop in [
        "x-custom",
        "proxy-authorization",
        "keep-alive",
        "x-hop",
        "transfer-encoding",
    ] {
        assert!(!req.has_header(hop), "{hop} must not be forwarded: {req:?}");
    }
    assert_eq!(req.body_len, 0);
}

#[tokio::test]
async fn head_is_relayed_without_a_body() {
    let dns = dns().await;
    let target = RecordingTarget::start().await;
    dns.set_srv(
        &owner("h.test"),
        &[(0, 0, target.port(), "client.h.test")],
        60,
    )
    .await;
    dns.set_a("client.h.test", &[Ipv4Addr::LOCALHOST], 60).await;
    let relay = start_with(&dns, |_| {}).await;

    let reply = request(
        relay.addr,
        "HEAD",
        "h.test",
        &format!("/.well-known/acme-challenge/{TOKEN}"),
        &[],
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "");
    assert_eq!(target.requests()[0].method, "HEAD");
}

#[tokio::test]
async fn ipv6_target_is_reached() {
    let dns = dns().await;
    let target =
        RecordingTarget::start_on("[::1]:0", test_support::recording_target::Behaviour::Answer)
            .await;
    dns.set_srv(
        &owner("six.test"),
        &[(0, 0, target.port(), "client.six.test")],
        60,
    )
    .await;
    dns.set_aaaa("client.six.test", &[std::net::Ipv6Addr::LOCALHOST], 60)
        .await;
    let relay = start_with(&dns, |_| {}).await;

    let reply = challenge(relay.addr, "six.test", TOKEN).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(target.connections(), 1);
}

#[tokio::test]
async fn challenges_to_one_target_share_a_kept_connection() {
    let dns = dns().await;
    let target = RecordingTarget::start().await;
    dns.set_srv(
        &owner("f.test"),
        &[(0, 0, target.port(), "client.f.test")],
        60,
    )
    .await;
    dns.set_a("client.f.test", &[Ipv4Addr::LOCALHOST], 60).await;
    let relay = start_with(&dns, |_| {}).await;
    for _ in 0..3 {
        assert_eq!(challenge(relay.addr, "f.test", TOKEN).await.status, 200);
    }
    assert_eq!(target.requests().len(), 3);
    assert_eq!(
        target.connections(),
        1,
        "the target answered with keep-alive: one connection carries every validation"
    );
    let seen = target.requests();
    assert!(seen.iter().all(|r| !r.has_header("connection")), "{seen:?}");
}

#[tokio::test]
async fn without_target_idle_each_challenge_uses_a_fresh_connection() {
    let dns = dns().await;
    let target = RecordingTarget::start().await;
    dns.set_srv(
        &owner("f0.test"),
        &[(0, 0, target.port(), "client.f0.test")],
        60,
    )
    .await;
    dns.set_a("client.f0.test", &[Ipv4Addr::LOCALHOST], 60)
        .await;
    let relay = start_with(&dns, |c| {
        c.relay.timeouts.target_idle = std::time::Duration::ZERO;
    })
    .await;
    for _ in 0..3 {
        assert_eq!(challenge(relay.addr, "f0.test", TOKEN).await.status, 200);
    }
    assert_eq!(target.connections(), 3, "one connection per validation");
    let seen = target.requests();
    assert!(
        seen.iter().all(|r| r.header("connection") == Some("close")),
        "{seen:?}"
    );
}
