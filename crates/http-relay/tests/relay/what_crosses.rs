//! What crosses the relay: the requester learns a status and a generic reason (details
//! are in the log under the answer's `x-request-id`), and a target gets what a CA sends
//! and no more.

use std::net::Ipv4Addr;

use test_support::recording_target::Behaviour;

use crate::harness::*;

#[tokio::test]
async fn a_failed_challenge_tells_the_requester_nothing_about_the_targets() {
    let dns = dns().await;
    let dead = test_support::recording_target::refused_port().await;
    dns.set_srv(
        &owner("scan.test"),
        &[(0, 0, dead, "x.scan.test"), (1, 0, 22, "y.scan.test")],
        60,
    )
    .await;
    dns.set_a("x.scan.test", &[Ipv4Addr::LOCALHOST], 60).await;
    dns.set_a("y.scan.test", &[Ipv4Addr::new(127, 0, 0, 9)], 60)
        .await;
    let relay = start_with(&dns, |_| {}).await;
    let reply = challenge(relay.addr, "scan.test", "tok").await;
    assert_eq!(reply.status, 502);
    assert_eq!(reply.body, "no validation target could be reached\n");
    for leak in [
        "127.0.0",
        "scan.test",
        &dead.to_string(),
        "refused",
        "connect",
    ] {
        assert!(!reply.body.contains(leak), "{leak} in {:?}", reply.body);
        assert!(
            reply.headers.iter().all(|(_, v)| !v.contains(leak)),
            "{leak} in {:?}",
            reply.headers
        );
    }
    // The operator finds every attempt under the answer's id.
    let details = reply.details();
    assert!(details.contains(&format!("127.0.0.1:{dead}")), "{details}");
    assert!(details.contains("y.scan.test"), "{details}");
}

#[tokio::test]
async fn no_record_and_opt_out_look_the_same_to_the_requester() {
    let dns = dns().await;
    dns.set_srv(&owner("out.test"), &[(0, 0, 0, ".")], 60).await;
    let relay = start_with(&dns, |_| {}).await;
    let opted_out = challenge(relay.addr, "out.test", "tok").await;
    let missing = challenge(relay.addr, "none.test", "tok").await;
    assert_eq!((opted_out.status, missing.status), (404, 404));
    assert_eq!(opted_out.body, missing.body);
    assert_ne!(
        opted_out.header("x-request-id"),
        missing.header("x-request-id")
    );
}

#[tokio::test]
async fn a_target_gets_what_a_ca_sends_and_nothing_else() {
    let dns = dns().await;
    let target = srv_target(&dns, "hdr.test", Behaviour::Answer).await;
    let relay = start_with(&dns, |_| {}).await;
    let reply = request(
        relay.addr,
        "GET",
        "hdr.test",
        "/.well-known/acme-challenge/tok",
        &[
            "User-Agent: Boulder",
            "Accept: */*",
            "Authorization: Bearer secret",
            "Cookie: session=1",
            "X-Real-IP: 192.0.2.1",
            "True-Client-IP: 192.0.2.1",
            "X-Custom: anything",
        ],
    )
    .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let seen = &target.requests()[0];
    let mut names: Vec<&str> = seen.headers.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "accept",
            "host",
            "user-agent",
            "via",
            "x-forwarded-for",
            "x-forwarded-host",
            "x-forwarded-proto"
        ]
    );
    assert_eq!(seen.header("user-agent"), Some("Boulder"));
}

#[tokio::test]
async fn a_challenge_with_a_query_is_refused_before_any_lookup() {
    let dns = dns().await;
    let target = srv_target(&dns, "q.test", Behaviour::Answer).await;
    let relay = start_with(&dns, |_| {}).await;
    let questions = dns.questions().len();
    let reply = request(
        relay.addr,
        "GET",
        "q.test",
        "/.well-known/acme-challenge/tok?x=1",
        &[],
    )
    .await;
    assert_eq!(reply.status, 400, "{reply:?}");
    assert_eq!(dns.questions().len(), questions);
    assert_eq!(target.connections(), 0);
}
