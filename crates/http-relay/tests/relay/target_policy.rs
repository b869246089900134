//! The relay is not an open proxy: domains outside the allow-list and target
//! addresses or ports outside the policy never get a connection.

use std::net::{Ipv4Addr, Ipv6Addr};

use config::PortRange;
use test_support::recording_target::RecordingTarget;

use crate::harness::*;

#[tokio::test]
async fn a_domain_not_allowed_is_404_without_any_dns_query() {
    let dns = dns().await;
    let relay = start_with(&dns, |_| {}).await;
    for host in ["evil.example", "test", "a.test.evil.example", "xtest"] {
        let reply = challenge(relay.addr, host, "tok").await;
        assert_eq!(reply.status, 404, "{host}");
    }
    assert!(
        dns.questions().is_empty(),
        "no DNS query for names not allowed: {:?}",
        dns.questions()
    );
}

/// Points `domain`'s SRV record at `addr` (A or AAAA) on `port`.
async fn srv_to(
    dns: &test_support::dns_server::TestDns,
    domain: &str,
    addr: std::net::IpAddr,
    port: u16,
) {
    let host = format!("t.{domain}");
    dns.set_srv(&owner(domain), &[(0, 0, port, &host)], 60)
        .await;
    dns.set_addrs(&host, &[addr], 60).await;
}

#[tokio::test]
async fn metadata_address_is_refused() {
    let dns = dns().await;
    srv_to(
        &dns,
        "meta.test",
        Ipv4Addr::new(169, 254, 169, 254).into(),
        80,
    )
    .await;
    let relay = start_with(&dns, |c| {
        c.targets.allow_networks = vec!["0.0.0.0/0".parse().unwrap()]
    })
    .await;
    let reply = challenge(relay.addr, "meta.test", "tok").await;
    assert_eq!(reply.status, 502);
    assert!(
        reply.details().contains("169.254.169.254 is link-local"),
        "{}",
        reply.details()
    );
}

#[tokio::test]
async fn loopback_forms_are_refused_unless_loopback_is_allowed() {
    let dns = dns().await;
    let target = RecordingTarget::start().await; // on 127.0.0.1
    let everything = |c: &mut config::Config| {
        c.targets.allow_networks = vec!["0.0.0.0/0".parse().unwrap(), "::/0".parse().unwrap()];
    };
    srv_to(&dns, "lo4.test", Ipv4Addr::LOCALHOST.into(), target.port()).await;
    srv_to(
        &dns,
        "mapped.test",
        "::ffff:127.0.0.1".parse::<Ipv6Addr>().unwrap().into(),
        target.port(),
    )
    .await;
    srv_to(
        &dns,
        "zero.test",
        Ipv4Addr::UNSPECIFIED.into(),
        target.port(),
    )
    .await;
    let relay = start_with(&dns, everything).await;

    for (domain, why) in [
        ("lo4.test", "loopback"),
        ("mapped.test", "loopback"),
        ("zero.test", "unspecified"),
    ] {
        let reply = challenge(relay.addr, domain, "tok").await;
        assert_eq!(reply.status, 502, "{domain}");
        assert!(
            reply.details().contains(why),
            "{domain}: {}",
            reply.details()
        );
    }
    assert_eq!(
        target.connections(),
        0,
        "nothing may reach the loopback listener"
    );

    // Allowed explicitly, the same loopback target is reached.
    let allowed = start_with(&dns, |c| {
        c.targets.allow_networks = vec!["127.0.0.0/8".parse().unwrap()]
    })
    .await;
    assert_eq!(challenge(allowed.addr, "lo4.test", "tok").await.status, 200);
    assert_eq!(
        challenge(allowed.addr, "mapped.test", "tok").await.status,
        200
    );
    assert_eq!(target.requests().len(), 2);
}

#[tokio::test]
async fn a_port_not_allowed_is_refused() {
    let dns = dns().await;
    let target = RecordingTarget::start().await;
    srv_to(&dns, "port.test", Ipv4Addr::LOCALHOST.into(), target.port()).await;
    let relay = start_with(&dns, |c| {
        c.targets.allow_ports = vec![PortRange::single(80)]
    })
    .await;
    let reply = challenge(relay.addr, "port.test", "tok").await;
    assert_eq!(reply.status, 502);
    assert!(
        reply
            .details()
            .contains(&format!("port {} is not allowed", target.port())),
        "{}",
        reply.details()
    );
    assert_eq!(target.connections(), 0);
}
