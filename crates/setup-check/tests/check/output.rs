//! The report's forms: text, JSON and the exit status; and a check without a
//! configuration.

use setup_check::{CheckInput, EXIT_ERRORS, Status, StepId};

use crate::harness::{self, DOMAIN};

#[tokio::test]
async fn text_names_each_step_with_its_status_and_fixes() {
    let (setup, _target) = harness::healthy(|config| {
        config.challenge.allow_domains = vec!["other.test".parse().unwrap()];
    })
    .await;
    let report = harness::check(&setup).await;
    let text = report.to_text();
    assert!(text.starts_with("acme-srv check www.test\n"), "{text}");
    assert!(
        text.contains("\n[error]   What acme-srv's configuration decides for www.test\n"),
        "{text}"
    );
    assert!(
        text.contains("\n[ok]      SRV _acme-challenge._tcp.www.test. (http-01)\n"),
        "{text}"
    );
    assert!(text.contains("            fix: Add \"www.test\""), "{text}");
    assert!(text.trim_end().ends_with("(exit status 2)."), "{text}");
}

#[tokio::test]
async fn json_has_every_step_with_stable_ids() {
    let (setup, _target) = harness::healthy(|_| {}).await;
    let report = harness::check(&setup).await;
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["domain"], DOMAIN);
    assert_eq!(json["exit_code"], 0);
    let ids: Vec<&str> = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "addresses",
            "caa",
            "srv-http-01",
            "srv-tls-alpn-01",
            "configuration",
            "targets-http-01",
            "targets-tls-alpn-01",
            "relay",
            "ca"
        ]
    );
    let first = &json["steps"][0]["findings"][0];
    assert_eq!(first["status"], "ok");
    assert!(
        first.get("fix").is_none(),
        "no fix on an ok finding: {first}"
    );
}

#[tokio::test]
async fn without_a_configuration_the_default_policy_judges_the_targets() {
    let (setup, _target) = harness::healthy(|_| {}).await;
    let mut input = CheckInput::new(DOMAIN.parse().unwrap());
    input.dns_server = Some(setup.dns.addr());
    input.skip_ca = true;
    let report = setup_check::run(input).await;
    // The default [targets] policy refuses the loopback target: an error, and the
    // missing configuration a warning with its own fix.
    harness::assert_step(
        &report,
        StepId::Configuration,
        Status::Error,
        "Pass --config",
    );
    assert!(
        harness::messages(&report, StepId::Configuration)
            .contains("127.0.0.1: refused, 127.0.0.1 is outside the allowed networks")
    );
    assert_eq!(report.step(StepId::Relay).unwrap().status, Status::Skipped);
    assert_eq!(report.exit_code(), EXIT_ERRORS);
}
