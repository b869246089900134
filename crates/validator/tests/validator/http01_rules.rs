//! http-01, one Boulder rule per test (`va/http.go`).

use std::net::{Ipv4Addr, Ipv6Addr};

use validator::{MAX_REDIRECT, ProblemKind};

use crate::harness::{
    Crafted, DOMAIN, KEY_AUTHORIZATION, accepted, challenge_path, http01, options, redirect,
    refused, response, zone,
};

#[tokio::test]
async fn the_key_authorization_with_trailing_whitespace_passes_leading_whitespace_fails() {
    let dns = zone().await;
    let trailing =
        Crafted::start(|_| response("200 OK", &[], &format!("{KEY_AUTHORIZATION} \r\n\t\n"))).await;
    accepted(&http01(options(&dns, trailing.port())).await);
    let seen = trailing.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, challenge_path());
    assert_eq!(seen[0].host, DOMAIN, "Host is the domain, without the port");
    assert!(seen[0].head.contains("Accept: */*") || seen[0].head.contains("accept: */*"));

    let leading =
        Crafted::start(|_| response("200 OK", &[], &format!(" {KEY_AUTHORIZATION}"))).await;
    let detail = refused(&http01(options(&dns, leading.port())).await);
    assert_eq!(
        detail,
        format!(
            "The key authorization file from the server did not match this challenge. \
             Expected {KEY_AUTHORIZATION:?} (got \" {KEY_AUTHORIZATION}\")"
        )
    );
}

#[tokio::test]
async fn a_body_of_128_bytes_fails_127_passes() {
    let dns = zone().await;
    let padded = |len: usize| format!("{KEY_AUTHORIZATION:<len$}");
    let at_limit = Crafted::start(move |_| response("200 OK", &[], &padded(128))).await;
    let outcome = http01(options(&dns, at_limit.port())).await;
    let detail = refused(&outcome);
    assert_eq!(
        outcome.problem.as_ref().map(|p| p.kind),
        Some(ProblemKind::Unauthorized)
    );
    assert!(
        detail.starts_with(&format!(
            "127.0.0.1: Invalid response from http://{DOMAIN}/.well-known/acme-challenge/"
        )),
        "{detail}"
    );
    let under = Crafted::start(move |_| response("200 OK", &[], &padded(127))).await;
    accepted(&http01(options(&dns, under.port())).await);
    // A large body is not read past the limit: the answer is the same.
    let huge = Crafted::start(|_| response("200 OK", &[], &"x".repeat(1 << 20))).await;
    assert!(refused(&http01(options(&dns, huge.port())).await).contains("Invalid response from"));
}

#[tokio::test]
async fn a_status_other_than_200_fails_with_the_status() {
    let dns = zone().await;
    let target = Crafted::start(|_| response("404 Not Found", &[], "nope")).await;
    assert_eq!(
        refused(&http01(options(&dns, target.port())).await),
        format!(
            "127.0.0.1: Invalid response from http://{DOMAIN}/.well-known/acme-challenge/{}: 404",
            crate::harness::TOKEN
        )
    );
}

#[tokio::test]
async fn a_redirect_to_port_8080_is_refused() {
    let dns = zone().await;
    let target =
        Crafted::start(|_| redirect("301 Moved Permanently", "http://www.example.com:8080/x"))
            .await;
    let port = target.port();
    assert_eq!(
        refused(&http01(options(&dns, port)).await),
        format!(
            "127.0.0.1: Fetching http://www.example.com:8080/x: Invalid port in redirect target. \
             Only ports {port} and 443 are supported, not 8080"
        )
    );
}

/// A chain of `hops` redirects on the target's own port, ending in the answer.
async fn chain(hops: usize) -> Crafted {
    let port_cell = std::sync::Arc::new(std::sync::OnceLock::new());
    let cell = std::sync::Arc::clone(&port_cell);
    let target = Crafted::start(move |seen| {
        let port: u16 = *cell.get().expect("port set");
        let step: usize = seen
            .path
            .strip_prefix("/hop/")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        if step < hops {
            redirect(
                "302 Found",
                &format!("http://{DOMAIN}:{port}/hop/{}", step + 1),
            )
        } else {
            response("200 OK", &[], KEY_AUTHORIZATION)
        }
    })
    .await;
    port_cell.set(target.port()).expect("once");
    target
}

#[tokio::test]
async fn eleven_redirects_are_followed_the_twelfth_is_refused() {
    // Boulder checks `numRedirects > maxRedirect` before counting the redirect in hand,
    // so with maxRedirect = 10 the 11th redirect is followed and the 12th refused
    // (va/http_test.go: "Too many redirects" at /max-redirect/12).
    let dns = zone().await;
    let eleven = chain(MAX_REDIRECT + 1).await;
    let outcome = http01(options(&dns, eleven.port())).await;
    accepted(&outcome);
    assert_eq!(
        eleven.seen().len(),
        12,
        "the first request and 11 redirects"
    );
    assert_eq!(outcome.perspectives[0].records.len(), 12);

    let twelve = chain(MAX_REDIRECT + 2).await;
    let port = twelve.port();
    assert_eq!(
        refused(&http01(options(&dns, port)).await),
        format!("127.0.0.1: Fetching http://{DOMAIN}:{port}/hop/12: Too many redirects")
    );
    assert_eq!(twelve.seen().len(), 12, "the 12th redirect is not fetched");
}

#[tokio::test]
async fn a_redirect_to_an_ip_literal_is_judged_as_an_address() {
    // Boulder follows a redirect to an IP literal only when the address is not reserved
    // (va/http.go extractRequestTarget, since IP identifiers); a reserved one is refused.
    let dns = zone().await;
    let reserved = Crafted::start(|_| redirect("302 Found", "http://10.0.0.1/x")).await;
    assert_eq!(
        refused(&http01(options(&dns, reserved.port())).await),
        "127.0.0.1: Fetching http://10.0.0.1/x: Invalid host in redirect target: IP address is \
         in a reserved address block: private-use"
    );
    // Loopback is allowed in these tests' options, so a loopback literal is followed.
    let port_cell = std::sync::Arc::new(std::sync::OnceLock::<u16>::new());
    let cell = std::sync::Arc::clone(&port_cell);
    let literal = Crafted::start(move |seen| {
        if seen.path == "/by-address" {
            response("200 OK", &[], KEY_AUTHORIZATION)
        } else {
            redirect(
                "302 Found",
                &format!("http://127.0.0.1:{}/by-address", cell.get().expect("port")),
            )
        }
    })
    .await;
    port_cell.set(literal.port()).expect("once");
    accepted(&http01(options(&dns, literal.port())).await);
    assert_eq!(
        literal.seen()[1].host,
        format!("127.0.0.1:{}", literal.port())
    );
}

#[tokio::test]
async fn redirect_status_scheme_loop_and_tld_rules() {
    let dns = zone().await;
    let see_other = Crafted::start(|_| redirect("303 See Other", "/elsewhere")).await;
    assert_eq!(
        refused(&http01(options(&dns, see_other.port())).await),
        "127.0.0.1: Fetching /elsewhere: received disallowed redirect status code"
    );
    let looping = Crafted::start(|_| redirect("301 Moved Permanently", "/loop")).await;
    assert_eq!(
        refused(&http01(options(&dns, looping.port())).await),
        "127.0.0.1: Fetching /loop: Redirect loop detected"
    );
    let ftp =
        Crafted::start(|_| redirect("301 Moved Permanently", "ftp://www.example.com/x")).await;
    assert!(refused(&http01(options(&dns, ftp.port())).await).contains("Invalid protocol scheme"));
    let no_tld =
        Crafted::start(|_| redirect("307 Temporary Redirect", "http://acme.internal/x")).await;
    assert_eq!(
        refused(&http01(options(&dns, no_tld.port())).await),
        "127.0.0.1: Fetching http://acme.internal/x: Invalid host in redirect target, must end \
         in IANA registered TLD"
    );
    // A 3xx without Location is an answer, not a redirect.
    let bare = Crafted::start(|_| response("301 Moved Permanently", &[], "")).await;
    assert!(refused(&http01(options(&dns, bare.port())).await).ends_with(": 301"));
}

#[tokio::test]
async fn a_dead_aaaa_falls_back_to_the_a_record() {
    let dns = zone().await;
    let target = Crafted::start(|_| response("200 OK", &[], KEY_AUTHORIZATION)).await;
    // ::1 on the target's port: a socket bound there without listening refuses.
    let hold = tokio::net::TcpSocket::new_v6().expect("v6 socket");
    hold.bind(format!("[::1]:{}", target.port()).parse().expect("addr"))
        .expect("::1 on the same port is free");
    dns.set_aaaa(DOMAIN, &[Ipv6Addr::LOCALHOST], 60).await;
    let outcome = http01(options(&dns, target.port())).await;
    accepted(&outcome);
    let records = &outcome.perspectives[0].records;
    assert_eq!(records.len(), 2, "{records:#?}");
    assert_eq!(records[0].address_used, Some(Ipv6Addr::LOCALHOST.into()));
    assert_eq!(records[1].address_used, Some(Ipv4Addr::LOCALHOST.into()));
    assert_eq!(
        records[1].addresses_tried,
        [std::net::IpAddr::from(Ipv6Addr::LOCALHOST)]
    );

    // A live AAAA that answers wrongly is not retried over IPv4: only dial errors are.
    drop(hold);
    let v6 = Crafted::start_on(&format!("[::1]:{}", target.port()), |_| {
        response("404 Not Found", &[], "")
    })
    .await;
    let detail = refused(&http01(options(&dns, v6.port())).await);
    assert!(detail.starts_with("::1: Invalid response from"), "{detail}");
    assert!(
        target.seen().len() == 1,
        "IPv4 was asked once, for the first validation"
    );
}

#[tokio::test]
async fn a_refused_connection_and_a_missing_address_are_named() {
    let dns = zone().await;
    let port = test_support::recording_target::refused_port().await;
    assert_eq!(
        refused(&http01(options(&dns, port)).await),
        format!(
            "127.0.0.1: Fetching http://{DOMAIN}/.well-known/acme-challenge/{}: Connection refused",
            crate::harness::TOKEN
        )
    );
    dns.set_a(DOMAIN, &[Ipv4Addr::new(10, 1, 2, 3)], 60).await;
    let mut strict = options(&dns, port);
    strict.allow_restricted.clear();
    let outcome = http01(strict).await;
    assert_eq!(
        outcome.problem.as_ref().map(|p| p.kind),
        Some(ProblemKind::Dns)
    );
    assert_eq!(
        refused(&outcome),
        format!("no valid A records found for {DOMAIN}; no valid AAAA records found for {DOMAIN}")
    );
}
