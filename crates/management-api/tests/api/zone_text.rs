//! `GET /v1/zone-text`: the stored records as RFC 1035 zone-file lines, all or under a
//! name, limited to what the caller's key covers.

use hyper::{Method, StatusCode};
use serde_json::json;

use crate::harness::{Api, srv};

#[tokio::test]
async fn records_come_back_as_zone_file_lines() {
    let api = Api::start().await;
    for record in [
        srv("_acme-challenge._tcp.www.example.com", 8080),
        json!({"owner": "www.example.com", "ttl": 300, "type": "A", "address": "192.0.2.10"}),
        json!({"owner": "www.example.com", "ttl": 300, "type": "AAAA", "address": "2001:db8::10"}),
        json!({"owner": "_acme-challenge.mail.example.com", "ttl": 60, "type": "CNAME", "target": "x.acme-dns.example.com."}),
        json!({"owner": "_validation-persist.www.example.com", "ttl": 3600, "type": "TXT",
               "value": "ca.example; accounturi=https://ca.example/acct/1"}),
        json!({"owner": "quoted.example.com", "ttl": 60, "type": "TXT", "value": r#"say "hi" \ bye"#}),
        json!({"owner": "example.com", "ttl": 60, "type": "TXT", "value": "apex"}),
        json!({"owner": "other.example.net", "ttl": 60, "type": "TXT", "value": "other zone"}),
    ] {
        api.add(record).await;
    }

    let reply = api
        .admin(Method::GET, "/v1/zone-text?under=Example.COM.", None)
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.content_type(), "text/plain; charset=utf-8");
    let text = String::from_utf8(reply.body.to_vec()).unwrap();
    assert_eq!(
        text,
        "example.com. 60 IN TXT \"apex\"\n\
         _acme-challenge.mail.example.com. 60 IN CNAME x.acme-dns.example.com.\n\
         quoted.example.com. 60 IN TXT \"say \\\"hi\\\" \\\\ bye\"\n\
         www.example.com. 300 IN A 192.0.2.10\n\
         www.example.com. 300 IN AAAA 2001:db8::10\n\
         _acme-challenge._tcp.www.example.com. 60 IN SRV 10 5 8080 client.example.com.\n\
         _validation-persist.www.example.com. 3600 IN TXT \"ca.example; accounturi=https://ca.example/acct/1\"\n"
    );

    // Without `under`: every zone.
    let all = api.admin(Method::GET, "/v1/zone-text", None).await;
    let all = String::from_utf8(all.body.to_vec()).unwrap();
    assert_eq!(all.lines().count(), 8);
    assert!(
        all.ends_with("other.example.net. 60 IN TXT \"other zone\"\n"),
        "{all}"
    );

    // Nothing there: an empty text.
    let empty = api
        .admin(Method::GET, "/v1/zone-text?under=nothing.example.com", None)
        .await;
    assert_eq!(empty.status, StatusCode::OK);
    assert!(empty.body.is_empty());
}

#[tokio::test]
async fn a_key_sees_only_what_it_covers() {
    let api = Api::start().await;
    api.add(srv("_acme-challenge._tcp.www.example.com", 8080))
        .await;
    api.add(srv("_acme-challenge._tcp.mail.example.com", 8081))
        .await;
    let key = api.subtree_key("www.example.com").await;

    let reply = api
        .call(
            Method::GET,
            "/v1/zone-text?under=example.com",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        String::from_utf8(reply.body.to_vec()).unwrap(),
        "_acme-challenge._tcp.www.example.com. 60 IN SRV 10 5 8080 client.example.com.\n"
    );
    api.call(
        Method::GET,
        "/v1/zone-text?under=mail.example.com",
        Some(&key),
        None,
    )
    .await
    .assert_problem(403);
    api.call(Method::GET, "/v1/zone-text", None, None)
        .await
        .assert_problem(401);
    let reply = api
        .admin(Method::GET, "/v1/zone-text?under=example.org", None)
        .await;
    reply.assert_problem(422);
    assert_eq!(
        reply.json()["type"],
        "urn:acme-srv:problem:owner-outside-zones"
    );
}
