//! When a target refuses or hangs, the next address, then the next target, is tried.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use test_support::recording_target::{Behaviour, RecordingTarget, refused_port};

use crate::harness::*;

#[tokio::test]
async fn refused_first_target_fails_over_to_the_next() {
    let dns = dns().await;
    let dead = refused_port().await;
    let live = RecordingTarget::start().await;
    dns.set_srv(
        &owner("fo.test"),
        &[
            (10, 0, dead, "dead.fo.test"),
            (20, 0, live.port(), "live.fo.test"),
        ],
        60,
    )
    .await;
    dns.set_a("dead.fo.test", &[Ipv4Addr::LOCALHOST], 60).await;
    dns.set_a("live.fo.test", &[Ipv4Addr::LOCALHOST], 60).await;
    let relay = start_with(&dns, |_| {}).await;

    let reply = challenge(relay.addr, "fo.test", "tok").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(live.connections(), 1);
}

#[tokio::test]
async fn hanging_first_target_times_out_then_the_next_answers() {
    let dns = dns().await;
    let hang = RecordingTarget::start_on("127.0.0.1:0", Behaviour::Hang).await;
    let live = RecordingTarget::start().await;
    dns.set_srv(
        &owner("hang.test"),
        &[
            (10, 0, hang.port(), "hang.h.test"),
            (20, 0, live.port(), "live.h.test"),
        ],
        60,
    )
    .await;
    dns.set_a("hang.h.test", &[Ipv4Addr::LOCALHOST], 60).await;
    dns.set_a("live.h.test", &[Ipv4Addr::LOCALHOST], 60).await;
    let relay = start_with(&dns, |_| {}).await;

    let started = Instant::now();
    let reply = challenge(relay.addr, "hang.test", "tok").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(hang.connections(), 1);
    assert_eq!(live.connections(), 1);
    // response_header timeout is 800 ms in the test config.
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn aaaa_is_tried_before_a_and_a_failure_moves_to_the_next_address() {
    let dns = dns().await;
    let live = RecordingTarget::start().await; // 127.0.0.1 only: [::1] on that port refuses
    dns.set_srv(
        &owner("dual.test"),
        &[(0, 0, live.port(), "both.dual.test")],
        60,
    )
    .await;
    dns.set_aaaa("both.dual.test", &[Ipv6Addr::LOCALHOST], 60)
        .await;
    dns.set_a("both.dual.test", &[Ipv4Addr::LOCALHOST], 60)
        .await;
    let relay = start_with(&dns, |_| {}).await;

    let reply = challenge(relay.addr, "dual.test", "tok").await;
    assert_eq!(reply.status, 200, "{reply:?}");
    // The addresses may come from the SRV answer's additional section or from AAAA and A
    // queries; either way [::1] is tried first, refuses, and 127.0.0.1 answers.
    let log = crate::harness::logs();
    let port = live.port();
    let v6_failed = log
        .find(&format!("address=[::1]:{port}"))
        .expect("[::1] was tried");
    let v4_answered = log
        .find(&format!("address=127.0.0.1:{port}"))
        .expect("127.0.0.1 answered");
    assert!(v6_failed < v4_answered, "{log}");
    assert!(log.contains("trying the next"), "{log}");
}

#[tokio::test]
async fn every_target_failing_is_a_502_that_says_what_was_tried() {
    let dns = dns().await;
    let (p1, p2) = (refused_port().await, refused_port().await);
    dns.set_srv(
        &owner("none.test"),
        &[(1, 0, p1, "x.none.test"), (2, 0, p2, "y.none.test")],
        60,
    )
    .await;
    dns.set_a("x.none.test", &[Ipv4Addr::LOCALHOST], 60).await;
    dns.set_a("y.none.test", &[Ipv4Addr::LOCALHOST], 60).await;
    let relay = start_with(&dns, |_| {}).await;

    let reply = challenge(relay.addr, "none.test", "tok").await;
    assert_eq!(reply.status, 502);
    assert!(
        reply.details().contains("x.none.test") && reply.details().contains("y.none.test"),
        "{}",
        reply.details()
    );
    assert!(
        reply.details().contains("connect failed"),
        "{}",
        reply.details()
    );
}

#[tokio::test]
async fn a_lone_hanging_target_is_a_504() {
    let dns = dns().await;
    let hang = RecordingTarget::start_on("127.0.0.1:0", Behaviour::Hang).await;
    dns.set_srv(
        &owner("slow.test"),
        &[(0, 0, hang.port(), "hang.slow.test")],
        60,
    )
    .await;
    dns.set_a("hang.slow.test", &[Ipv4Addr::LOCALHOST], 60)
        .await;
    let relay = start_with(&dns, |_| {}).await;

    let reply = challenge(relay.addr, "slow.test", "tok").await;
    assert_eq!(reply.status, 504, "{reply:?}");
}

#[tokio::test]
async fn a_hostile_srv_answer_costs_at_most_eight_targets() {
    let dns = dns().await;
    let mut records = Vec::new();
    let names: Vec<String> = (0..12).map(|i| format!("t{i}.many.test")).collect();
    for (i, name) in names.iter().enumerate() {
        records.push((i as u16, 0, refused_port().await, name.as_str()));
        dns.set_a(name, &[Ipv4Addr::LOCALHOST], 60).await;
    }
    dns.set_srv(&owner("many.test"), &records, 60).await;
    let relay = start_with(&dns, |_| {}).await;

    let reply = challenge(relay.addr, "many.test", "tok").await;
    assert_eq!(reply.status, 502);
    assert_eq!(
        reply.details().matches("connect failed").count(),
        http_relay::challenge::MAX_TARGETS,
        "{}",
        reply.details()
    );
    assert!(
        !reply.details().contains("t8.many.test"),
        "the ninth target by priority must not be tried"
    );
}
