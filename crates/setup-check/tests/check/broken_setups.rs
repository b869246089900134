//! One test per broken setup of issue 15: the step that names it, its status, and the
//! fix sentence.

use std::net::Ipv4Addr;

use hickory_proto::rr::RecordType;
use setup_check::{EXIT_ERRORS, Status, StepId};
use test_support::recording_target::refused_port;

use crate::harness::{self, DOMAIN, OWNER, TARGET_HOST};

#[tokio::test]
async fn no_srv_record() {
    let (setup, _target) = harness::healthy(|_| {}).await;
    setup.dns.remove(OWNER, RecordType::SRV).await;
    let report = harness::check(&setup).await;
    harness::assert_step(
        &report,
        StepId::SrvHttp01,
        Status::Error,
        "Publish `_acme-challenge._tcp.www.test. 300 IN SRV 0 0 <port> <host>.`",
    );
    assert!(harness::messages(&report, StepId::SrvHttp01).contains("(NXDOMAIN)"));
    harness::assert_step(
        &report,
        StepId::Relay,
        Status::Error,
        "Publish the http-01 SRV record",
    );
    assert!(
        harness::messages(&report, StepId::Relay)
            .contains("\"no validation target for this domain\"")
    );
    assert_eq!(
        report.step(StepId::TargetsHttp01).unwrap().status,
        Status::Skipped
    );
    assert_eq!(report.exit_code(), EXIT_ERRORS);
}

#[tokio::test]
async fn a_cname_loop() {
    let (setup, _target) = harness::healthy(|_| {}).await;
    setup.dns.remove(OWNER, RecordType::SRV).await;
    setup.dns.set_cname(OWNER, "a.loop.test", 60).await;
    setup.dns.set_cname("a.loop.test", "b.loop.test", 60).await;
    setup.dns.set_cname("b.loop.test", OWNER, 60).await;
    let report = harness::check(&setup).await;
    harness::assert_step(
        &report,
        StepId::SrvHttp01,
        Status::Error,
        "Break the CNAME loop",
    );
    let messages = harness::messages(&report, StepId::SrvHttp01);
    assert!(
        messages.contains("loops back to _acme-challenge._tcp.www.test."),
        "{messages}"
    );
    assert!(
        messages.contains("CNAME a.loop.test. (TTL 60) → CNAME b.loop.test."),
        "{messages}"
    );
    assert_eq!(report.exit_code(), EXIT_ERRORS);
}

#[tokio::test]
async fn the_domain_not_allowed() {
    let (setup, target) = harness::healthy(|config| {
        config.challenge.allow_domains = vec!["other.test".parse().unwrap()];
    })
    .await;
    let report = harness::check(&setup).await;
    harness::assert_step(
        &report,
        StepId::Configuration,
        Status::Error,
        "Add \"www.test\" (or \"*.test\") to allow_domains in [challenge]",
    );
    harness::assert_step(
        &report,
        StepId::Relay,
        Status::Error,
        "to allow_domains in [challenge]",
    );
    assert!(harness::messages(&report, StepId::Relay).contains("not on [challenge] allow_domains"));
    // Only the direct probe reached the target: the relay refused before any DNS query.
    assert_eq!(target.requests().len(), 1);
}

#[tokio::test]
async fn a_target_in_a_forbidden_network() {
    let (setup, target) = harness::healthy(|_| {}).await;
    setup
        .dns
        .set_a(TARGET_HOST, &[Ipv4Addr::new(10, 1, 2, 3)], 300)
        .await;
    let report = harness::check(&setup).await;
    harness::assert_step(
        &report,
        StepId::Configuration,
        Status::Error,
        "Point acme-client.test at an address inside [targets] allow_networks, or add a network holding 10.1.2.3 to allow_networks.",
    );
    assert!(
        harness::messages(&report, StepId::Configuration)
            .contains("10.1.2.3: refused, 10.1.2.3 is outside the allowed networks")
    );
    // Nothing is sent to a refused address: the targets step has nothing to contact.
    assert_eq!(
        report.step(StepId::TargetsHttp01).unwrap().status,
        Status::Skipped
    );
    harness::assert_step(
        &report,
        StepId::Relay,
        Status::Error,
        "allow its address in [targets]",
    );
    assert_eq!(target.connections(), 0);
}

#[tokio::test]
async fn a_dead_target() {
    let (setup, _target) = harness::healthy(|_| {}).await;
    let dead = refused_port().await;
    setup
        .dns
        .set_srv(OWNER, &[(0, 0, dead, TARGET_HOST)], 300)
        .await;
    let report = harness::check(&setup).await;
    harness::assert_step(
        &report,
        StepId::TargetsHttp01,
        Status::Error,
        &format!("Start the ACME client's http-01 responder on 127.0.0.1:{dead}"),
    );
    harness::assert_step(
        &report,
        StepId::Relay,
        Status::Error,
        "Start the ACME client on the SRV target",
    );
    // The relay's own answer, with the id of its log line.
    assert!(harness::messages(&report, StepId::Relay).contains("its log line has id="));
    // A CA gets through to the relay, and fails on its 502.
    harness::assert_step(
        &report,
        StepId::Ca,
        Status::Error,
        "Make the relay reach the target",
    );
}

#[tokio::test]
async fn a_dot_opt_out() {
    let (setup, _target) = harness::healthy(|_| {}).await;
    setup.dns.set_srv(OWNER, &[(0, 0, 0, ".")], 300).await;
    let report = harness::check(&setup).await;
    harness::assert_step(
        &report,
        StepId::SrvHttp01,
        Status::Error,
        "Replace the \".\" record at _acme-challenge._tcp.www.test.",
    );
    assert!(harness::messages(&report, StepId::SrvHttp01).contains("opts www.test out of http-01"));
    harness::assert_step(
        &report,
        StepId::Relay,
        Status::Error,
        "Publish the http-01 SRV record",
    );
}

#[tokio::test]
async fn the_domain_a_record_not_pointing_at_the_relay() {
    let (setup, _target) = harness::healthy(|_| {}).await;
    // 127.0.0.2: another loopback address, where nothing listens (traffic stays local).
    setup
        .dns
        .set_a(DOMAIN, &[Ipv4Addr::new(127, 0, 0, 2)], 300)
        .await;
    let report = harness::check(&setup).await;
    let relay = setup.relay.as_ref().unwrap().addr;
    harness::assert_step(
        &report,
        StepId::Addresses,
        Status::Error,
        &format!("Point www.test's A record at the relay's address ({relay})"),
    );
    assert!(
        harness::messages(&report, StepId::Addresses).contains(&format!(
            "www.test A 127.0.0.2 does not lead to the relay: it listens on {relay}"
        ))
    );
    // A CA, too, would not get through.
    harness::assert_step(&report, StepId::Ca, Status::Error, "reach the relay");
    // The relay itself works: the probe at its address says so.
    assert_eq!(report.step(StepId::Relay).unwrap().status, Status::Ok);
}
