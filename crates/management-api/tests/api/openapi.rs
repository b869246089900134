//! The OpenAPI document and the request counter.

use hyper::{Method, StatusCode};
use serde_json::Value;

use crate::harness::{Api, counters};

#[tokio::test]
async fn the_document_describes_every_route() {
    let api = Api::start().await;
    // No credentials needed.
    let reply = api.call(Method::GET, "/v1/openapi.json", None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type(), "application/json");
    let doc = reply.json();
    assert_eq!(doc["openapi"], "3.1.0");

    let mut operations: Vec<String> = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations.push(format!("{} {path}", method.to_uppercase()));
            let responses = operation["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{method} {path}");
            if operation.get("security").is_some() {
                assert!(
                    responses.contains_key("401"),
                    "{method} {path} documents no 401"
                );
            }
            if path.starts_with("/v1/") {
                for (status, response) in responses {
                    if status.starts_with('4') {
                        assert!(
                            response["content"]
                                .get("application/problem+json")
                                .is_some(),
                            "{method} {path} {status} is not a problem"
                        );
                    }
                }
            }
        }
    }
    operations.sort();
    let mut expected: Vec<String> = [
        "GET /v1/records",
        "POST /v1/records",
        "DELETE /v1/records/{owner}",
        "GET /v1/keys",
        "POST /v1/keys",
        "DELETE /v1/keys/{id}",
        "GET /v1/tsig-keys",
        "POST /v1/tsig-keys",
        "DELETE /v1/tsig-keys/{name}",
        "GET /v1/zone-text",
        "PUT /v1/challenges/dns-persist-01/{domain}",
        "DELETE /v1/challenges/dns-persist-01/{domain}",
        "PUT /v1/challenges/dns-account-01/{domain}",
        "DELETE /v1/challenges/dns-account-01/{domain}",
        "POST /register",
        "DELETE /register",
        "POST /update",
        "GET /health",
    ]
    .iter()
    .map(ToString::to_string)
    .collect();
    for record_type in ["A", "AAAA", "CNAME", "SRV", "TXT"] {
        expected.push(format!("PUT /v1/records/{{owner}}/{record_type}"));
        expected.push(format!("DELETE /v1/records/{{owner}}/{record_type}"));
    }
    expected.sort();
    assert_eq!(operations, expected);

    // The owner pattern is built from the served zones.
    let owner = &doc["components"]["schemas"]["OwnerName"];
    let pattern = owner["pattern"].as_str().unwrap();
    assert!(
        pattern.contains("[eE][xX][aA][mM][pP][lL][eE]\\.[cC][oO][mM]"),
        "{pattern}"
    );
    assert!(pattern.contains("[nN][eE][tT]"), "{pattern}");
    assert_eq!(owner["maxLength"], Value::from(253));
    let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
    assert_eq!(schemes["bearer"]["scheme"], "bearer");
    assert_eq!(schemes["acmeDnsUser"]["name"], "X-Api-User");
    assert_eq!(schemes["acmeDnsKey"]["name"], "X-Api-Key");
}

#[tokio::test]
async fn requests_are_counted_by_route_template_and_status() {
    let counters = counters();
    let route = "/v1/records/{owner}/{type}";
    let labels = [("route", route), ("status", "404")];
    let before = counters.get("acme_srv_api_requests_total", &labels);
    let api = Api::start().await;
    api.admin(Method::DELETE, "/v1/records/nothing.example.com/TXT", None)
        .await
        .assert_problem(404);
    assert!(counters.get("acme_srv_api_requests_total", &labels) > before);
    api.admin(Method::GET, "/no/such/path", None)
        .await
        .assert_problem(404);
    assert!(
        counters.get(
            "acme_srv_api_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        ) >= 1
    );
    for labels in counters.label_sets("acme_srv_api_requests_total") {
        let route = &labels.iter().find(|(k, _)| k == "route").unwrap().1;
        assert!(
            !route.contains("example.com"),
            "raw path used as a label: {route}"
        );
    }
}
