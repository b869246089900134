//! Which backend a connection reaches, by server name; and what a connection that is
//! not TLS, or has no backend, gets.

use config::ProxyProtocol;

use crate::harness::*;

#[tokio::test]
async fn exact_wildcard_and_default_backends_get_the_bytes_unchanged() {
    let dns = dns().await;
    let (www, wild, default) = (
        Backend::start("www").await,
        Backend::start("wild").await,
        Backend::start("default").await,
    );
    let mut config = base_config(&dns);
    add_backend(
        &mut config,
        &["www.example.com"],
        www.addr,
        ProxyProtocol::Off,
    );
    add_backend(
        &mut config,
        &["*.example.com"],
        wild.addr,
        ProxyProtocol::Off,
    );
    set_default(&mut config, default.addr);
    let router = start(&config).await;

    let to_www = hello(Some("www.example.com"), &["h2", "http/1.1"]);
    let mut sent = to_www.clone();
    sent.extend_from_slice(b"the client's next flight");
    assert_eq!(
        exchange(router.addr, &sent).await,
        format!("www:{}", sent.len()).as_bytes()
    );
    assert_eq!(www.received(), vec![sent.clone()], "replayed byte for byte");

    let to_api = hello(Some("API.example.com"), &["http/1.1"]);
    assert_eq!(
        exchange(router.addr, &to_api).await,
        format!("wild:{}", to_api.len()).as_bytes()
    );
    let deep = hello(Some("a.b.example.com"), &[]);
    assert_eq!(
        exchange(router.addr, &deep).await,
        format!("wild:{}", deep.len()).as_bytes()
    );

    // The wildcard covers names below example.com, not example.com itself.
    for name in [
        Some("example.com"),
        Some("other.test"),
        None,
        Some("192.0.2.1"),
    ] {
        let h = hello(name, &["h2"]);
        assert_eq!(
            exchange(router.addr, &h).await,
            format!("default:{}", h.len()).as_bytes(),
            "{name:?} goes to the default backend"
        );
    }
    assert_eq!(wild.received().len(), 2);
    assert_eq!(default.received().len(), 4);
}

#[tokio::test]
async fn without_a_default_an_unknown_name_gets_unrecognized_name() {
    let dns = dns().await;
    let www = Backend::start("www").await;
    let mut config = base_config(&dns);
    add_backend(
        &mut config,
        &["www.example.com"],
        www.addr,
        ProxyProtocol::Off,
    );
    let router = start(&config).await;

    let answer = exchange(router.addr, &hello(Some("nobody.example.com"), &["h2"])).await;
    assert_eq!(answer, UNRECOGNIZED_NAME);
    let answer = exchange(router.addr, &hello(None, &["h2"])).await;
    assert_eq!(answer, UNRECOGNIZED_NAME);
    assert!(www.received().is_empty());
}

#[tokio::test]
async fn bytes_that_are_not_tls_are_closed_without_reaching_a_backend() {
    let dns = dns().await;
    let default = Backend::start("default").await;
    let mut config = base_config(&dns);
    set_default(&mut config, default.addr);
    let router = start(&config).await;

    for bytes in [
        &b"GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n"[..],
        &[0x80, 0x2e, 0x01, 0x00, 0x02][..],
        &[21, 3, 3, 0, 2, 2, 40][..],
    ] {
        assert_eq!(exchange(router.addr, bytes).await, b"", "{bytes:?}");
    }
    assert!(default.received().is_empty());
}

#[tokio::test]
async fn an_unreachable_backend_gets_internal_error() {
    let dns = dns().await;
    let mut config = base_config(&dns);
    let dead = std::net::SocketAddr::from(([127, 0, 0, 1], refused_port().await));
    add_backend(&mut config, &["www.example.com"], dead, ProxyProtocol::Off);
    let router = start(&config).await;
    let answer = exchange(router.addr, &hello(Some("www.example.com"), &["h2"])).await;
    assert_eq!(answer, INTERNAL_ERROR);
}

#[tokio::test]
async fn a_backend_named_by_host_name_is_resolved_at_connect() {
    let dns = dns().await;
    let www = Backend::start("www").await;
    let mut config = base_config(&dns);
    config
        .router
        .as_mut()
        .unwrap()
        .backends
        .push(config::NamedBackendConfig {
            server_names: vec!["www.example.com".into()],
            address: format!("localhost:{}", www.addr.port()),
            proxy_protocol: ProxyProtocol::Off,
        });
    let router = start(&config).await;
    let h = hello(Some("www.example.com"), &["h2"]);
    assert_eq!(
        exchange(router.addr, &h).await,
        format!("www:{}", h.len()).as_bytes()
    );
}
