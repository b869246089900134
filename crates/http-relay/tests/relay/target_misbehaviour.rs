//! Targets that send too much, too slowly, or a redirect.

use test_support::recording_target::Behaviour;

use crate::harness::*;

#[tokio::test]
async fn a_body_over_the_cap_is_a_502_and_at_the_cap_is_fine() {
    let dns = dns().await;
    let _big = srv_target(&dns, "big.test", Behaviour::Oversize(1025)).await;
    let _edge = srv_target(&dns, "edge.test", Behaviour::Oversize(1024)).await;
    let relay = start_with(&dns, |_| {}).await;
    let reply = challenge(relay.addr, "big.test", "tok").await;
    assert_eq!(reply.status, 502);
    assert!(
        reply.details().contains("larger than 1024 bytes"),
        "{}",
        reply.details()
    );
    let reply = challenge(relay.addr, "edge.test", "tok").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body.len(), 1024);
}

#[tokio::test]
async fn a_body_that_stalls_is_a_504() {
    let dns = dns().await;
    let _slow = srv_target(&dns, "stall.test", Behaviour::StallBody).await;
    let relay = start_with(&dns, |_| {}).await;
    let reply = challenge(relay.addr, "stall.test", "tok").await;
    assert_eq!(reply.status, 504, "{reply:?}");
}

#[tokio::test]
async fn redirects_come_back_unfollowed() {
    let dns = dns().await;
    let redirecting = srv_target(
        &dns,
        "redir.test",
        Behaviour::Redirect(301, "http://elsewhere.test:8080/x"),
    )
    .await;
    let relay = start_with(&dns, |_| {}).await;
    let reply = challenge(relay.addr, "redir.test", "tok").await;
    assert_eq!(reply.status, 301);
    assert_eq!(
        reply.header("location"),
        Some("http://elsewhere.test:8080/x")
    );
    assert_eq!(redirecting.connections(), 1);
    assert!(
        dns.questions_for("elsewhere.test") == 0,
        "the relay never follows redirects"
    );
}
