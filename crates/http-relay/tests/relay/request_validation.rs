//! Requests that must not go anywhere: wrong methods, bad tokens and hosts,
//! forward-proxy forms, smuggling attempts, loops.

use test_support::recording_target::Behaviour;

use crate::harness::*;

#[tokio::test]
async fn only_get_and_head_are_relayed() {
    let dns = dns().await;
    let target = srv_target(&dns, "m.test", Behaviour::Answer).await;
    let relay = start_with(&dns, |_| {}).await;
    for method in ["POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH"] {
        let reply = request(
            relay.addr,
            method,
            "m.test",
            "/.well-known/acme-challenge/tok",
            &["Content-Length: 0"],
        )
        .await;
        assert_eq!(reply.status, 405, "{method}");
        assert_eq!(reply.header("allow"), Some("GET, HEAD"));
    }
    assert_eq!(target.connections(), 0);
}

#[tokio::test]
async fn bad_tokens_are_404_without_dns() {
    let dns = dns().await;
    let relay = start_with(&dns, |_| {}).await;
    let long = "a".repeat(257);
    for token in ["", "a.b", "a%2Fb", "a/b", "tok=", &long, "..%2F..%2Fetc"] {
        let reply = challenge(relay.addr, "x.test", token).await;
        assert_eq!(reply.status, 404, "token {token:?}");
    }
    assert!(dns.questions().is_empty());
}

#[tokio::test]
async fn bad_hosts_are_400() {
    let dns = dns().await;
    let relay = start_with(&dns, |_| {}).await;
    for host in [
        "bad host.test",
        "[::1]",
        "127.0.0.1",
        "a..test",
        "x.test:notaport",
        "-",
    ] {
        let reply = challenge(relay.addr, host, "tok").await;
        // "-" is a valid-looking single label that is simply not allowed.
        let expected = if host == "-" { 404 } else { 400 };
        assert_eq!(reply.status, expected, "host {host:?}: {reply:?}");
    }
    let two_hosts = raw(relay.addr, b"GET /.well-known/acme-challenge/tok HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\nConnection: close\r\n\r\n").await;
    assert_eq!(parse(&two_hosts).status, 400);
    let no_host = raw(
        relay.addr,
        b"GET /.well-known/acme-challenge/tok HTTP/1.0\r\n\r\n",
    )
    .await;
    assert_eq!(parse(&no_host).status, 400);
    assert!(dns.questions().is_empty());
}

#[tokio::test]
async fn connect_and_absolute_form_never_make_a_forward_proxy() {
    let dns = dns().await;
    let target = srv_target(&dns, "abs.test", Behaviour::Answer).await;
    let relay = start_with(&dns, |_| {}).await;

    let connect = raw(
        relay.addr,
        b"CONNECT abs.test:443 HTTP/1.1\r\nHost: abs.test:443\r\n\r\n",
    )
    .await;
    assert_eq!(parse(&connect).status, 405);

    // Absolute-form: the authority is the host (RFC 9112), checked like any Host.
    let evil = raw(relay.addr, b"GET http://169.254.169.254/latest/meta-data HTTP/1.1\r\nHost: abs.test\r\nConnection: close\r\n\r\n").await;
    assert_eq!(parse(&evil).status, 400, "an IP authority is not a domain");
    let other = raw(relay.addr, b"GET http://evil.example/.well-known/acme-challenge/tok HTTP/1.1\r\nHost: abs.test\r\nConnection: close\r\n\r\n").await;
    assert_eq!(parse(&other).status, 404, "authority not allowed");
    assert_eq!(target.connections(), 0);

    let ok = raw(relay.addr, b"GET http://abs.test/.well-known/acme-challenge/tok HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n").await;
    assert_eq!(parse(&ok).status, 200, "{ok}");
    let seen = &target.requests()[0];
    assert_eq!(
        seen.uri, "/.well-known/acme-challenge/tok",
        "origin-form towards the target"
    );
    assert_eq!(seen.header("host"), Some("abs.test"));
}

#[tokio::test]
async fn smuggling_attempts_are_refused() {
    let dns = dns().await;
    let target = srv_target(&dns, "smug.test", Behaviour::Answer).await;
    let relay = start_with(&dns, |_| {}).await;

    let cl_te = raw(
        relay.addr,
        b"GET /.well-known/acme-challenge/tok HTTP/1.1\r\nHost: smug.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /.well-known/acme-challenge/second HTTP/1.1\r\nHost: smug.test\r\n\r\n",
    )
    .await;
    // hyper applies RFC 9112 §6.3: Transfer-Encoding wins, Content-Length is dropped,
    // and the connection is closed after the answer, so the smuggled second request
    // is never read.
    assert_eq!(
        cl_te.matches("HTTP/1.1 ").count(),
        1,
        "exactly one answer, then close: {cl_te}"
    );
    let seen: Vec<String> = target.requests().iter().map(|r| r.uri.clone()).collect();
    assert!(
        !seen.iter().any(|u| u.ends_with("/second")),
        "smuggled request reached the target: {seen:?}"
    );

    let two_cl = raw(
        relay.addr,
        b"GET /.well-known/acme-challenge/tok HTTP/1.1\r\nHost: smug.test\r\nContent-Length: 0\r\nContent-Length: 5\r\n\r\nhello",
    )
    .await;
    assert_eq!(parse(&two_cl).status, 400, "{two_cl}");
    let before = target.requests().len();

    // A body on a GET challenge is read and dropped, never forwarded.
    let with_body = raw(
        relay.addr,
        b"GET /.well-known/acme-challenge/tok HTTP/1.1\r\nHost: smug.test\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    )
    .await;
    assert_eq!(parse(&with_body).status, 200);
    let seen = &target.requests()[before];
    assert_eq!(seen.body_len, 0);
    assert!(!seen.has_header("content-length") || seen.header("content-length") == Some("0"));
}

#[tokio::test]
async fn a_request_that_already_passed_this_relay_is_a_loop() {
    let dns = dns().await;
    let target = srv_target(&dns, "loop.test", Behaviour::Answer).await;
    let relay = start_with(&dns, |_| {}).await;
    let reply = request(
        relay.addr,
        "GET",
        "loop.test",
        "/.well-known/acme-challenge/tok",
        &["Via: 1.0 fred, 1.1 acme-srv"],
    )
    .await;
    assert_eq!(reply.status, 508);
    assert_eq!(target.connections(), 0);
    assert!(dns.questions().is_empty());
}

/// Random bytes on the wire never take the relay down: it answers or closes, and a
/// valid challenge still works afterwards.
#[tokio::test]
async fn random_bytes_never_break_the_relay() {
    use rand::{Rng, SeedableRng};
    let dns = dns().await;
    let target = srv_target(&dns, "after.test", Behaviour::Answer).await;
    let relay = start_with(&dns, |_| {}).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(2026);
    let prefixes: [&[u8]; 4] = [
        b"",
        b"GET ",
        b"GET /.well-known/acme-challenge/",
        b"GET / HTTP/1.1\r\nHost: ",
    ];
    for i in 0..200 {
        let mut blob = prefixes[i % prefixes.len()].to_vec();
        let len = rng.random_range(0..600);
        blob.extend((0..len).map(|_| rng.random::<u8>()));
        blob.extend_from_slice(b"\r\n\r\n");
        let mut stream = tokio::net::TcpStream::connect(relay.addr).await.unwrap();
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let _ = stream.write_all(&blob).await;
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            stream.read_to_end(&mut sink),
        )
        .await;
    }
    assert_eq!(challenge(relay.addr, "after.test", "tok").await.status, 200);
    assert_eq!(target.connections(), 1);
}
