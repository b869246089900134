//! tls-alpn-01 validation connections: `acme-tls/1` offered alone goes to the SRV
//! target, in RFC 2782 order with failover, under the allow-list and target policy.

use std::net::Ipv4Addr;

use config::ProxyProtocol;

use crate::harness::*;

const ACME: &[&str] = &["acme-tls/1"];

#[tokio::test]
async fn a_validation_goes_to_the_srv_target_and_other_traffic_to_the_backend() {
    let dns = dns().await;
    let (target, web) = (Backend::start("target").await, Backend::start("web").await);
    dns.set_srv(
        "_acme-tls-alpn._tcp.www.test.",
        &[(10, 0, target.addr.port(), "client.test.")],
        60,
    )
    .await;
    dns.set_a("client.test.", &[Ipv4Addr::LOCALHOST], 60).await;
    let mut config = base_config(&dns);
    add_backend(&mut config, &["www.test"], web.addr, ProxyProtocol::V2);
    let router = start(&config).await;

    let validation = hello(Some("www.test"), ACME);
    assert_eq!(
        exchange(router.addr, &validation).await,
        format!("target:{}", validation.len()).as_bytes()
    );
    // The target gets the ClientHello exactly: no PROXY header (that is the backend's).
    assert_eq!(target.received(), vec![validation]);

    // acme-tls/1 among other protocols is not a validation (RFC 8737 §3: alone).
    let browser = hello(Some("www.test"), &["h2", "acme-tls/1"]);
    let answer = exchange(router.addr, &browser).await;
    assert!(answer.starts_with(b"web:"), "{answer:?}");
    assert_eq!(target.received().len(), 1);
}

#[tokio::test]
async fn a_dead_first_target_falls_over_to_the_second() {
    let dns = dns().await;
    let second = Backend::start("second").await;
    let dead = refused_port().await;
    dns.set_srv(
        "_acme-tls-alpn._tcp.www.test.",
        &[
            (10, 0, dead, "first.test."),
            (20, 0, second.addr.port(), "second.test."),
        ],
        60,
    )
    .await;
    dns.set_a("first.test.", &[Ipv4Addr::LOCALHOST], 60).await;
    dns.set_a("second.test.", &[Ipv4Addr::LOCALHOST], 60).await;
    let router = start(&base_config(&dns)).await;
    let validation = hello(Some("www.test"), ACME);
    assert_eq!(
        exchange(router.addr, &validation).await,
        format!("second:{}", validation.len()).as_bytes()
    );
}

#[tokio::test]
async fn without_a_record_the_validation_goes_to_the_names_backend() {
    // A backend that answers tls-alpn-01 itself (Caddy, Traefik) keeps working.
    let dns = dns().await;
    let web = Backend::start("web").await;
    let mut config = base_config(&dns);
    add_backend(&mut config, &["*.test"], web.addr, ProxyProtocol::Off);
    let router = start(&config).await;
    let validation = hello(Some("norecord.test"), ACME);
    assert_eq!(
        exchange(router.addr, &validation).await,
        format!("web:{}", validation.len()).as_bytes()
    );
    assert!(dns.questions_for("_acme-tls-alpn._tcp.norecord.test.") > 0);
}

#[tokio::test]
async fn a_name_outside_the_allow_list_is_never_looked_up() {
    let dns = dns().await;
    let web = Backend::start("web").await;
    let mut config = base_config(&dns);
    set_default(&mut config, web.addr);
    let router = start(&config).await;
    let validation = hello(Some("www.example.org"), ACME);
    assert_eq!(
        exchange(router.addr, &validation).await,
        format!("web:{}", validation.len()).as_bytes()
    );
    assert!(dns.questions().is_empty(), "{:?}", dns.questions());
}

#[tokio::test]
async fn an_opt_out_record_closes_with_unrecognized_name() {
    let dns = dns().await;
    let web = Backend::start("web").await;
    dns.set_srv("_acme-tls-alpn._tcp.www.test.", &[(0, 0, 0, ".")], 60)
        .await;
    let mut config = base_config(&dns);
    set_default(&mut config, web.addr);
    let router = start(&config).await;
    assert_eq!(
        exchange(router.addr, &hello(Some("www.test"), ACME)).await,
        UNRECOGNIZED_NAME
    );
    assert!(web.received().is_empty(), "never falls back to the backend");
}

#[tokio::test]
async fn a_target_outside_the_policy_is_not_connected_to() {
    let dns = dns().await;
    let target = Backend::start("target").await;
    dns.set_srv(
        "_acme-tls-alpn._tcp.www.test.",
        &[(10, 0, target.addr.port(), "client.test.")],
        60,
    )
    .await;
    dns.set_a("client.test.", &[Ipv4Addr::LOCALHOST], 60).await;
    let mut config = base_config(&dns);
    config.targets.allow_networks = vec!["10.0.0.0/8".parse().unwrap()];
    let router = start(&config).await;
    assert_eq!(
        exchange(router.addr, &hello(Some("www.test"), ACME)).await,
        INTERNAL_ERROR
    );
    assert!(target.received().is_empty());

    // A port outside targets.allow_ports is refused too.
    let mut config = base_config(&dns);
    config.targets.allow_ports = vec!["443".parse().unwrap()];
    router.reload(&config);
    assert_eq!(
        exchange(router.addr, &hello(Some("www.test"), ACME)).await,
        INTERNAL_ERROR
    );
    assert!(target.received().is_empty());
}

#[tokio::test]
async fn an_srv_record_pointing_back_at_the_router_is_not_followed() {
    let dns = dns().await;
    let router = start(&base_config(&dns)).await;
    dns.set_srv(
        "_acme-tls-alpn._tcp.www.test.",
        &[(10, 0, router.addr.port(), "loop.test.")],
        60,
    )
    .await;
    dns.set_a("loop.test.", &[Ipv4Addr::LOCALHOST], 60).await;
    assert_eq!(
        exchange(router.addr, &hello(Some("www.test"), ACME)).await,
        INTERNAL_ERROR
    );
}

#[tokio::test]
async fn a_validation_carries_at_most_its_byte_limit() {
    let dns = dns().await;
    // A "target" that answers the hello with far more than a handshake.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut hello = [0u8; 512];
        let _ = stream.read(&mut hello).await;
        let _ = stream.write_all(&vec![9u8; 1024 * 1024]).await;
    });
    dns.set_srv(
        "_acme-tls-alpn._tcp.www.test.",
        &[(10, 0, port, "bulk.test.")],
        60,
    )
    .await;
    dns.set_a("bulk.test.", &[Ipv4Addr::LOCALHOST], 60).await;
    let router = start(&base_config(&dns)).await;
    let mut stream = tokio::net::TcpStream::connect(router.addr).await.unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stream, &hello(Some("www.test"), ACME))
        .await
        .unwrap();
    let got = read_all(&mut stream).await;
    assert!(
        got.len() as u64 <= alpn_router::server::CHALLENGE_MAX_BYTES,
        "{} bytes came back",
        got.len()
    );
}
