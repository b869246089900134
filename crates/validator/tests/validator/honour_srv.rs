//! The SRV-honouring mode: validate at the targets of the challenge's SRV record.

use validator::{SrvPolicy, ValidatorOptions};

use crate::harness::{
    Crafted, DOMAIN, KEY_AUTHORIZATION, accepted, http01, options, refused, response, zone,
};

fn loopback_policy() -> SrvPolicy {
    SrvPolicy {
        networks: vec!["127.0.0.0/8".parse().expect("cidr")],
        ports: vec![1024..=65535],
    }
}

#[tokio::test]
async fn the_second_target_answers_when_the_first_is_dead() {
    let dns = zone().await;
    let dead = test_support::recording_target::refused_port().await;
    let live = Crafted::start(|_| response("200 OK", &[], KEY_AUTHORIZATION)).await;
    dns.set_a(
        "acme-client.example.com",
        &[std::net::Ipv4Addr::LOCALHOST],
        60,
    )
    .await;
    dns.set_srv(
        &format!("_acme-challenge._tcp.{DOMAIN}"),
        &[
            (10, 0, dead, "acme-client.example.com."),
            (20, 0, live.port(), "acme-client.example.com."),
        ],
        60,
    )
    .await;
    // Port 80 stands for nothing here: the SRV target is where the answer comes from.
    let outcome = http01(ValidatorOptions {
        honour_srv: Some(loopback_policy()),
        ..options(&dns, 1)
    })
    .await;
    accepted(&outcome);
    assert_eq!(
        live.seen()[0].host,
        DOMAIN,
        "the target sees the domain as Host"
    );
    let srv = outcome.perspectives[0].srv.as_ref().expect("srv report");
    assert_eq!(srv.allowed.len(), 2);
}

#[tokio::test]
async fn a_target_outside_the_policy_is_refused_and_no_record_means_port_80() {
    let dns = zone().await;
    dns.set_a(
        "inside.example.com",
        &[std::net::Ipv4Addr::new(10, 0, 0, 7)],
        60,
    )
    .await;
    dns.set_srv(
        &format!("_acme-challenge._tcp.{DOMAIN}"),
        &[(10, 0, 8080, "inside.example.com.")],
        60,
    )
    .await;
    let detail = refused(
        &http01(ValidatorOptions {
            honour_srv: Some(loopback_policy()),
            ..options(&dns, 1)
        })
        .await,
    );
    assert_eq!(
        detail,
        format!(
            "No SRV target of _acme-challenge._tcp.{DOMAIN} may be used: inside.example.com \
             (10.0.0.7): 10.0.0.7 is outside the allowed networks"
        )
    );
    dns.remove(
        &format!("_acme-challenge._tcp.{DOMAIN}"),
        hickory_proto::rr::RecordType::SRV,
    )
    .await;
    let port80 = Crafted::start(|_| response("200 OK", &[], KEY_AUTHORIZATION)).await;
    let outcome = http01(ValidatorOptions {
        honour_srv: Some(loopback_policy()),
        ..options(&dns, port80.port())
    })
    .await;
    accepted(&outcome);
    let srv = outcome.perspectives[0].srv.as_ref().expect("srv report");
    assert!(
        srv.fallback
            .as_deref()
            .is_some_and(|f| f.starts_with("no SRV record"))
    );
}
