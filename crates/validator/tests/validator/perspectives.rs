//! Multi-perspective validation: the primary first, then the remote perspectives at
//! once, each from its own source address, judged by Boulder's quorum.

use std::net::{IpAddr, Ipv4Addr};

use validator::{Validator, ValidatorError, ValidatorOptions};

use crate::harness::{
    Crafted, KEY_AUTHORIZATION, accepted, http01, options, refused, response, zone,
};

fn sources() -> Vec<IpAddr> {
    (1..=7)
        .map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, i)))
        .collect()
}

/// A target that answers 404 to requests from the addresses in `failing`.
async fn target_failing_for(failing: &'static [u8]) -> Crafted {
    Crafted::start(move |seen| match seen.peer {
        IpAddr::V4(v4) if failing.contains(&v4.octets()[3]) => response("404 Not Found", &[], ""),
        _ => response("200 OK", &[], KEY_AUTHORIZATION),
    })
    .await
}

#[tokio::test]
async fn seven_perspectives_each_from_their_own_address() {
    let dns = zone().await;
    let target = target_failing_for(&[]).await;
    let outcome = http01(ValidatorOptions {
        perspectives: 7,
        perspective_sources: sources(),
        ..options(&dns, target.port())
    })
    .await;
    accepted(&outcome);
    let mut peers: Vec<IpAddr> = target.seen().iter().map(|s| s.peer).collect();
    peers.sort();
    assert_eq!(
        peers,
        sources(),
        "one request per perspective, each from its address"
    );
    let quorum = outcome.quorum.expect("remote perspectives ran");
    assert_eq!((quorum.passed.len(), quorum.required), (6, 4));
}

#[tokio::test]
async fn one_remote_failure_of_three_passes_two_fail() {
    let dns = zone().await;
    // Perspective i uses 127.0.0.(i+1): the primary is .1, the remotes .2 to .4.
    let one = target_failing_for(&[4]).await;
    let opts = |port| ValidatorOptions {
        perspectives: 4,
        perspective_sources: sources(),
        ..options(&dns, port)
    };
    accepted(&http01(opts(one.port())).await);
    let two = target_failing_for(&[3, 4]).await;
    let detail = refused(&http01(opts(two.port())).await);
    assert!(
        detail.starts_with("During secondary validation: 127.0.0.1: Invalid response from"),
        "{detail}"
    );
    // A primary failure stops there: no remote perspective runs.
    let primary = target_failing_for(&[1]).await;
    let outcome = http01(opts(primary.port())).await;
    assert!(!outcome.valid);
    assert_eq!(outcome.perspectives.len(), 1);
    assert_eq!(primary.seen().len(), 1);
}

#[test]
fn two_or_three_perspectives_are_refused_as_boulder_refuses_them() {
    for n in [0, 2, 3] {
        let err = Validator::new(ValidatorOptions {
            perspectives: n,
            ..ValidatorOptions::default()
        })
        .expect_err("too few remote perspectives");
        assert!(matches!(err, ValidatorError::Perspectives(m) if m == n));
    }
}
