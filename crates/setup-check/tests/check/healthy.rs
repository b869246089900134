//! A setup that works: every step ok, exit status 0, and the probes reached the target.

use setup_check::{EXIT_OK, Status, StepId};

use crate::harness::{self, DOMAIN};

#[tokio::test]
async fn a_healthy_setup_is_all_ok() {
    let (setup, target) = harness::healthy(|_| {}).await;
    let report = harness::check(&setup).await;
    for step in &report.steps {
        assert!(
            matches!(step.status, Status::Ok | Status::Skipped),
            "step {:?} is {}:\n{}",
            step.id,
            step.status,
            report.to_text()
        );
    }
    for id in [
        StepId::Addresses,
        StepId::Caa,
        StepId::SrvHttp01,
        StepId::Configuration,
        StepId::TargetsHttp01,
        StepId::Relay,
        StepId::Ca,
    ] {
        assert_eq!(report.step(id).unwrap().status, Status::Ok, "{id:?}");
    }
    assert_eq!(report.exit_code(), EXIT_OK);
    assert!(harness::messages(&report, StepId::Addresses).contains("leads to the relay"));
    assert!(harness::messages(&report, StepId::Relay).contains("the path works"));
    // The target saw the probe directly and through the relay (the CA's validation may
    // get the relay's recent answer for the same token), each for a token of the
    // check's own, with the domain as Host.
    let requests = target.requests();
    assert!((2..=3).contains(&requests.len()), "{requests:?}");
    assert!(
        requests
            .iter()
            .any(|r| r.header("via") == Some("1.1 acme-srv"))
    );
    for request in &requests {
        assert!(
            request
                .uri
                .starts_with("/.well-known/acme-challenge/acmesrvcheck")
        );
        assert_eq!(request.header("host"), Some(DOMAIN));
    }
}

#[tokio::test]
async fn srv_records_are_shown_in_rfc_2782_order_with_their_ttl_and_cname_chain() {
    let (setup, target) = harness::healthy(|_| {}).await;
    let port = target.port();
    setup
        .dns
        .set_cname(harness::OWNER, "www.srv.test", 120)
        .await;
    setup
        .dns
        .set_srv(
            "www.srv.test",
            &[
                (20, 0, port, "standby.test"),
                (10, 60, port, harness::TARGET_HOST),
                (10, 40, port, harness::TARGET_HOST),
            ],
            60,
        )
        .await;
    let report = harness::check(&setup).await;
    let srv = harness::messages(&report, StepId::SrvHttp01);
    assert!(srv.contains("CNAME www.srv.test. (TTL 120)"), "{srv}");
    assert!(srv.contains("www.srv.test. 60 IN SRV 10 60"), "{srv}");
    assert!(
        srv.contains(&format!(
            "RFC 2782 order: priority 10: acme-client.test:{port} (60% first), acme-client.test:{port} (40% first); then priority 20: standby.test:{port}"
        )),
        "{srv}"
    );
    // standby.test has no address: named, with its fix; a warning, as the others work.
    harness::assert_step(
        &report,
        StepId::Configuration,
        Status::Warning,
        "Add an A (or AAAA) record for standby.test",
    );
}
