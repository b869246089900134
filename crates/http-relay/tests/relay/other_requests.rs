//! Requests that are not challenges, in each mode.

use std::net::Ipv4Addr;

use config::OtherRequests;
use test_support::recording_target::{Behaviour, RecordingTarget};

use crate::harness::*;

#[tokio::test]
async fn redirect_https_keeps_host_path_and_query() {
    let dns = dns().await;
    let relay = start_with(&dns, |c| {
        c.relay.other_requests = OtherRequests::RedirectHttps
    })
    .await;
    let reply = request(relay.addr, "GET", "WWW.App.Test:80", "/path/x?q=1&r=2", &[]).await;
    assert_eq!(reply.status, 301);
    assert_eq!(
        reply.header("location"),
        Some("https://www.app.test/path/x?q=1&r=2")
    );
    let reply = request(relay.addr, "POST", "app.test", "/", &["Content-Length: 0"]).await;
    assert_eq!(reply.status, 301);
    let reply = request(relay.addr, "GET", "bad host", "/", &[]).await;
    assert_eq!(reply.status, 400);
}

#[tokio::test]
async fn not_found_mode_answers_404() {
    let dns = dns().await;
    let relay = start_with(&dns, |c| c.relay.other_requests = OtherRequests::NotFound).await;
    assert_eq!(
        request(relay.addr, "GET", "app.test", "/", &[])
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn upstream_mode_proxies_by_host_with_pooled_connections() {
    let dns = dns().await;
    let default_app =
        RecordingTarget::start_on("127.0.0.1:0", Behaviour::Fixed("default app")).await;
    let blog = RecordingTarget::start_on("127.0.0.1:0", Behaviour::Fixed("blog app")).await;
    let challenge_target = RecordingTarget::start().await;
    dns.set_srv(
        &owner("blog.test"),
        &[(0, 0, challenge_target.port(), "c.blog.test")],
        60,
    )
    .await;
    dns.set_a("c.blog.test", &[Ipv4Addr::LOCALHOST], 60).await;
    let relay = start_with(&dns, |c| {
        c.relay.other_requests = OtherRequests::Upstream;
        c.relay.upstream.default = Some(format!("http://{}", default_app.addr()));
        c.relay
            .upstream
            .hosts
            .insert("blog.test".into(), format!("http://{}", blog.addr()));
    })
    .await;

    for _ in 0..3 {
        let reply = request(relay.addr, "GET", "Blog.Test", "/post/1?c=2", &[]).await;
        assert_eq!((reply.status, reply.body.as_str()), (200, "blog app"));
    }
    assert_eq!(
        blog.connections(),
        1,
        "keep-alive connections to the app are reused"
    );
    let seen = &blog.requests()[0];
    assert_eq!(seen.uri, "/post/1?c=2");
    assert_eq!(seen.header("host"), Some("Blog.Test"));
    assert_eq!(seen.header("x-forwarded-for"), Some("127.0.0.1"));

    let posted = raw(relay.addr, b"POST /form HTTP/1.1\r\nHost: other.test\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello").await;
    assert_eq!(parse(&posted).body, "default app");
    assert!(
        default_app
            .requests()
            .iter()
            .any(|r| r.method == "POST" && r.body_len == 5),
        "request bodies reach the app"
    );

    // Challenges still go to the SRV target, not to the app.
    let reply = challenge(relay.addr, "blog.test", "tok").await;
    assert_eq!(reply.status, 200);
    assert_eq!(challenge_target.connections(), 1);
    assert_eq!(blog.requests().len(), 3);
}
