//! What the DNS says, and what the relay does with it: opt-out, no record, CNAMEs,
//! TTLs, serve-stale, fallback, walking up.

use std::net::Ipv4Addr;
use std::time::Duration;

use hickory_proto::rr::RecordType;
use test_support::recording_target::RecordingTarget;

use crate::harness::*;

#[tokio::test]
async fn a_lone_dot_target_is_a_404_and_never_falls_back() {
    let dns = dns().await;
    let fallback = RecordingTarget::start().await;
    dns.set_srv(&owner("optout.test"), &[(0, 0, 0, ".")], 60)
        .await;
    let relay = start_with(&dns, |c| {
        c.challenge.fallback_target = Some(format!("127.0.0.1:{}", fallback.port()))
    })
    .await;
    let reply = challenge(relay.addr, "optout.test", "tok").await;
    assert_eq!(reply.status, 404);
    assert!(
        reply.details().contains("no validation here"),
        "{}",
        reply.details()
    );
    assert_eq!(fallback.connections(), 0);
}

#[tokio::test]
async fn nxdomain_and_nodata_are_404_by_default() {
    let dns = dns().await;
    dns.set_txt(&owner("nodata.test"), &["not an srv"], 60)
        .await;
    let relay = start_with(&dns, |_| {}).await;
    for domain in ["nxdomain.test", "nodata.test"] {
        let reply = challenge(relay.addr, domain, "tok").await;
        assert_eq!(reply.status, 404, "{domain}: {reply:?}");
        assert!(
            reply.details().contains("no SRV record"),
            "{}",
            reply.details()
        );
    }
}

#[tokio::test]
async fn no_record_uses_the_fallback_target_when_configured() {
    let dns = dns().await;
    let fallback = RecordingTarget::start().await;
    let relay = start_with(&dns, |c| {
        c.challenge.fallback_target = Some(format!("127.0.0.1:{}", fallback.port()))
    })
    .await;
    let reply = challenge(relay.addr, "nothing.test", "tok").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(fallback.connections(), 1);
}

#[tokio::test]
async fn a_cnamed_srv_name_is_followed() {
    let dns = dns().await;
    let target = RecordingTarget::start().await;
    dns.set_cname(&owner("customer.test"), "abc123.delegated.test", 60)
        .await;
    dns.set_srv(
        "abc123.delegated.test",
        &[(0, 0, target.port(), "client.delegated.test")],
        60,
    )
    .await;
    dns.set_a("client.delegated.test", &[Ipv4Addr::LOCALHOST], 60)
        .await;
    let relay = start_with(&dns, |_| {}).await;
    let reply = challenge(relay.addr, "customer.test", "tok").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(target.connections(), 1);
}

#[tokio::test]
async fn answers_are_cached_for_their_ttl_and_no_longer() {
    let dns = dns().await;
    let old = RecordingTarget::start().await;
    let new = RecordingTarget::start().await;
    dns.set_srv(&owner("ttl.test"), &[(0, 0, old.port(), "t.ttl.test")], 2)
        .await;
    dns.set_a("t.ttl.test", &[Ipv4Addr::LOCALHOST], 300).await;
    let relay = start_with(&dns, |_| {}).await;

    assert_eq!(challenge(relay.addr, "ttl.test", "tok").await.status, 200);
    dns.set_srv(&owner("ttl.test"), &[(0, 0, new.port(), "t.ttl.test")], 2)
        .await;
    assert_eq!(challenge(relay.addr, "ttl.test", "tok").await.status, 200);
    assert_eq!(
        (old.requests().len(), new.requests().len()),
        (2, 0),
        "within the TTL the old answer is used"
    );
    let srv_questions = || {
        dns.questions()
            .iter()
            .filter(|q| q.record_type == RecordType::SRV)
            .count()
    };
    assert_eq!(
        srv_questions(),
        1,
        "the second request was answered from the cache"
    );

    tokio::time::sleep(Duration::from_millis(2300)).await; // the TTL itself is under test
    assert_eq!(challenge(relay.addr, "ttl.test", "tok").await.status, 200);
    assert_eq!(new.connections(), 1, "after the TTL the new record is used");
    assert_eq!(srv_questions(), 2);
}

#[tokio::test]
async fn a_stale_answer_is_served_when_the_dns_server_is_gone() {
    let mut dns = dns().await;
    let target = RecordingTarget::start().await;
    dns.set_srv(
        &owner("stale.test"),
        &[(0, 0, target.port(), "t.stale.test")],
        1,
    )
    .await;
    dns.set_a("t.stale.test", &[Ipv4Addr::LOCALHOST], 1).await;
    let relay = start_with(&dns, |c| {
        c.resolver.serve_stale_for = Duration::from_secs(60)
    })
    .await;
    assert_eq!(challenge(relay.addr, "stale.test", "tok").await.status, 200);

    dns.stop().await;
    tokio::time::sleep(Duration::from_millis(1200)).await; // let the 1 s TTL run out
    let reply = challenge(relay.addr, "stale.test", "tok").await;
    assert_eq!(reply.status, 200, "stale answer expected: {reply:?}");
    assert_eq!(target.connections(), 2);

    // Without a cached answer, the outage is a 502.
    let reply = challenge(relay.addr, "never-seen.test", "tok").await;
    assert_eq!(reply.status, 502, "{reply:?}");
}

#[tokio::test]
async fn walking_up_to_a_parent_is_off_by_default_and_bounded_by_the_allow_list() {
    let dns = dns().await;
    let target = RecordingTarget::start().await;
    dns.set_srv(
        &owner("parent.test"),
        &[(0, 0, target.port(), "t.parent.test")],
        60,
    )
    .await;
    dns.set_a("t.parent.test", &[Ipv4Addr::LOCALHOST], 60).await;

    let off = start_with(&dns, |_| {}).await;
    assert_eq!(
        challenge(off.addr, "www.parent.test", "tok").await.status,
        404
    );

    let on = start_with(&dns, |c| c.challenge.walk_up_parents = true).await;
    assert_eq!(
        challenge(on.addr, "www.parent.test", "tok").await.status,
        200
    );

    // The parent is outside the allow-list: it is not asked.
    let narrow = start_with(&dns, |c| {
        c.challenge.walk_up_parents = true;
        c.challenge.allow_domains = vec!["www.parent.test".parse().unwrap()];
    })
    .await;
    dns.clear_questions();
    assert_eq!(
        challenge(narrow.addr, "www.parent.test", "tok")
            .await
            .status,
        404
    );
    assert_eq!(dns.questions_for(&owner("parent.test")), 0);
}
