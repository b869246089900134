//! `/v1/records` with the admin token: every type, normalisation, validation, the CNAME
//! rules.

use hyper::{Method, StatusCode};
use record_store::{Record, RecordData};
use serde_json::json;

use crate::harness::{Api, srv};

const OWNER: &str = "_acme-challenge._tcp.www.example.com";

#[tokio::test]
async fn add_list_replace_and_delete_an_srv_rrset() {
    let api = Api::start().await;

    let stored = api.add(srv(OWNER, 8080)).await;
    assert_eq!(stored, srv(OWNER, 8080));
    assert_eq!(
        api.records_at(OWNER).await,
        [Record {
            owner: OWNER.into(),
            ttl: 60,
            data: RecordData::Srv {
                priority: 10,
                weight: 5,
                port: 8080,
                target: "client.example.com".into()
            },
        }]
    );

    // Names are normalised: case and a trailing dot do not make a new owner.
    let mut shouting = srv("_ACME-Challenge._TCP.WWW.Example.COM.", 8081);
    shouting["target"] = json!("Client2.Example.COM.");
    let stored = api.add(shouting).await;
    assert_eq!(stored["owner"], OWNER);
    assert_eq!(stored["target"], "client2.example.com");
    assert_eq!(api.records_at(OWNER).await.len(), 2);

    let list = api
        .admin(Method::GET, "/v1/records?under=www.example.com", None)
        .await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.content_type(), "application/json");
    assert_eq!(list.json().as_array().unwrap().len(), 2);
    let all = api.admin(Method::GET, "/v1/records", None).await;
    assert_eq!(all.json().as_array().unwrap().len(), 2);
    let elsewhere = api
        .admin(Method::GET, "/v1/records?under=mail.example.com", None)
        .await;
    assert_eq!(elsewhere.json(), json!([]));

    let path = format!("/v1/records/{OWNER}/SRV");
    let replaced = api
        .admin(
            Method::PUT,
            &path,
            Some(json!({"ttl": 120, "records": [
                {"type": "SRV", "priority": 1, "weight": 0, "port": 9000, "target": "a.example.com"},
                {"type": "SRV", "priority": 2, "weight": 0, "port": 9001, "target": "b.example.com."},
            ]})),
        )
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{:?}", replaced.json());
    let records = api.records_at(OWNER).await;
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|record| record.ttl == 120));
    assert_eq!(replaced.json().as_array().unwrap().len(), 2);
    assert_eq!(replaced.json()[1]["target"], "b.example.com");

    assert_eq!(
        api.admin(Method::DELETE, &path, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(api.records_at(OWNER).await.is_empty());
    let again = api.admin(Method::DELETE, &path, None).await;
    again.assert_problem(404);
}

#[tokio::test]
async fn every_record_type_round_trips() {
    let api = Api::start().await;
    let records = [
        json!({"owner": "host.example.com", "ttl": 300, "type": "A", "address": "192.0.2.1"}),
        json!({"owner": "host.example.com", "ttl": 300, "type": "AAAA", "address": "2001:db8::1"}),
        json!({"owner": "alias.example.com", "ttl": 300, "type": "CNAME", "target": "abc.acme-dns.example.com"}),
        json!({"owner": "_validation-persist.example.com", "ttl": 300, "type": "TXT", "value": "ca.example; accounturi=https://ca.example/acct/1"}),
        json!({"owner": "_acme-challenge._tcp.none.example.com", "ttl": 300, "type": "SRV", "priority": 0, "weight": 0, "port": 1, "target": "."}),
        json!({"owner": "empty.wild.example.net", "ttl": 300, "type": "TXT", "value": ""}),
    ];
    for record in &records {
        assert_eq!(&api.add(record.clone()).await, record);
    }
    let listed = api.admin(Method::GET, "/v1/records", None).await.json();
    assert_eq!(listed.as_array().unwrap().len(), records.len());
    for record in &records {
        assert!(
            listed.as_array().unwrap().contains(record),
            "{record} missing from {listed}"
        );
    }

    // An identical record is not duplicated; it gets the new TTL.
    let mut again = records[0].clone();
    again["ttl"] = json!(600);
    api.add(again).await;
    let at_host = api.records_at("host.example.com").await;
    assert_eq!(at_host.len(), 2);
    assert!(at_host.iter().any(|record| record.ttl == 600));

    // Deleting an owner removes every type there.
    let deleted = api
        .admin(Method::DELETE, "/v1/records/host.example.com", None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(api.records_at("host.example.com").await.is_empty());
    api.admin(Method::DELETE, "/v1/records/host.example.com", None)
        .await
        .assert_problem(404);
}

#[tokio::test]
async fn owners_outside_the_served_zones_are_422() {
    let api = Api::start().await;
    let before = api.snapshot().await;

    let reply = api
        .admin(
            Method::POST,
            "/v1/records",
            Some(srv("www.example.org", 80)),
        )
        .await;
    let detail = reply.assert_problem(422);
    assert!(detail.contains("owner outside served zones"), "{detail}");
    assert_eq!(
        reply.json()["type"],
        "urn:acme-srv:problem:owner-outside-zones"
    );

    // A name that merely ends with the zone's text is not inside it.
    api.admin(Method::POST, "/v1/records", Some(srv("badexample.com", 80)))
        .await
        .assert_problem(422);
    api.admin(
        Method::PUT,
        "/v1/records/www.example.org/SRV",
        Some(json!({"ttl": 60, "records": []})),
    )
    .await
    .assert_problem(422);
    api.admin(Method::DELETE, "/v1/records/www.example.org", None)
        .await
        .assert_problem(422);
    api.admin(Method::GET, "/v1/records?under=example.org", None)
        .await
        .assert_problem(422);
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn invalid_values_are_422_and_change_nothing() {
    let api = Api::start().await;
    api.add(srv(OWNER, 8080)).await;
    let before = api.snapshot().await;

    let mut cases = Vec::new();
    let mut port_zero = srv(OWNER, 0);
    port_zero["target"] = json!("client.example.com");
    cases.push(("SRV port 0", port_zero));
    let mut ttl_zero = srv(OWNER, 80);
    ttl_zero["ttl"] = json!(0);
    cases.push(("TTL 0", ttl_zero));
    let mut ttl_huge = srv(OWNER, 80);
    ttl_huge["ttl"] = json!(604_801);
    cases.push(("TTL above a week", ttl_huge));
    let mut bad_target = srv(OWNER, 80);
    bad_target["target"] = json!("not a name");
    cases.push(("SRV target with spaces", bad_target));
    let mut wildcard_target = srv(OWNER, 80);
    wildcard_target["target"] = json!("*.example.com");
    cases.push(("SRV target wildcard", wildcard_target));
    cases.push(("wildcard owner (not served)", srv("*.example.com", 80)));
    cases.push(("owner with a bad label", srv("a..example.com", 80)));
    cases.push((
        "owner too long",
        srv(
            &format!("{}.example.com", vec!["a".repeat(60); 5].join(".")),
            80,
        ),
    ));
    cases.push((
        "non-ASCII TXT",
        json!({"owner": "txt.example.com", "ttl": 60, "type": "TXT", "value": "caf\u{e9}"}),
    ));
    cases.push((
        "TXT too long",
        json!({"owner": "txt.example.com", "ttl": 60, "type": "TXT", "value": "x".repeat(2049)}),
    ));
    cases.push((
        "CNAME to a wildcard",
        json!({"owner": "alias.example.com", "ttl": 60, "type": "CNAME", "target": "*.example.com"}),
    ));
    for (what, body) in cases {
        let reply = api.admin(Method::POST, "/v1/records", Some(body)).await;
        assert_eq!(reply.status.as_u16(), 422, "{what}: {:?}", reply.json());
        reply.assert_problem(422);
    }
    assert_eq!(api.snapshot().await, before);
}

#[tokio::test]
async fn the_path_type_must_match_the_body() {
    let api = Api::start().await;
    let before = api.snapshot().await;
    let path = format!("/v1/records/{OWNER}/TXT");
    let reply = api
        .admin(
            Method::PUT,
            &path,
            Some(json!({"ttl": 60, "records": [
                {"type": "SRV", "priority": 1, "weight": 0, "port": 9000, "target": "a.example.com"}
            ]})),
        )
        .await;
    let detail = reply.assert_problem(422);
    assert!(detail.contains("must match"), "{detail}");

    let unknown = api
        .admin(
            Method::PUT,
            &format!("/v1/records/{OWNER}/MX"),
            Some(json!({"ttl": 60, "records": []})),
        )
        .await;
    let detail = unknown.assert_problem(404);
    assert!(detail.contains("MX"), "{detail}");
    assert_eq!(api.snapshot().await, before);

    // The type in the path may be in any case.
    let lower = api
        .admin(
            Method::PUT,
            &format!("/v1/records/{OWNER}/srv"),
            Some(json!({"ttl": 60, "records": [
                {"type": "SRV", "priority": 1, "weight": 0, "port": 9000, "target": "a.example.com"}
            ]})),
        )
        .await;
    assert_eq!(lower.status, StatusCode::OK, "{:?}", lower.json());
}

#[tokio::test]
async fn cname_rules_are_enforced_with_409() {
    let api = Api::start().await;
    api.add(srv(OWNER, 8080)).await;
    let cname = |owner: &str, target: &str| json!({"owner": owner, "ttl": 60, "type": "CNAME", "target": target});
    let before = api.snapshot().await;

    // A CNAME cannot join other data ...
    let detail = api
        .admin(
            Method::POST,
            "/v1/records",
            Some(cname(OWNER, "elsewhere.example.net")),
        )
        .await
        .assert_problem(409);
    assert!(detail.contains("RFC 1034"), "{detail}");
    api.admin(
        Method::PUT,
        &format!("/v1/records/{OWNER}/CNAME"),
        Some(json!({"ttl": 60, "records": [{"type": "CNAME", "target": "x.example.net"}]})),
    )
    .await
    .assert_problem(409);
    // ... nor sit at a zone apex.
    api.admin(
        Method::POST,
        "/v1/records",
        Some(cname("example.com", "x.example.net")),
    )
    .await
    .assert_problem(409);
    assert_eq!(api.snapshot().await, before);

    // Other data cannot join a CNAME, and a second CNAME target is refused.
    api.add(cname("alias.example.com", "one.example.net")).await;
    let before = api.snapshot().await;
    api.admin(
        Method::POST,
        "/v1/records",
        Some(srv("alias.example.com", 80)),
    )
    .await
    .assert_problem(409);
    api.admin(
        Method::POST,
        "/v1/records",
        Some(cname("alias.example.com", "two.example.net")),
    )
    .await
    .assert_problem(409);
    api.admin(
        Method::PUT,
        "/v1/records/alias.example.com/CNAME",
        Some(json!({"ttl": 60, "records": [
            {"type": "CNAME", "target": "two.example.net"},
            {"type": "CNAME", "target": "three.example.net"},
        ]})),
    )
    .await
    .assert_problem(422);
    assert_eq!(api.snapshot().await, before);

    // Replacing the CNAME RRset changes the target; adding the same CNAME is fine.
    api.add(cname("alias.example.com", "one.example.net")).await;
    let replaced = api
        .admin(
            Method::PUT,
            "/v1/records/alias.example.com/CNAME",
            Some(json!({"ttl": 60, "records": [{"type": "CNAME", "target": "two.example.net"}]})),
        )
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{:?}", replaced.json());
    assert_eq!(
        api.records_at("alias.example.com").await[0].data,
        RecordData::Cname {
            target: "two.example.net".into()
        }
    );
}

#[tokio::test]
async fn an_empty_replacement_deletes_the_rrset() {
    let api = Api::start().await;
    api.add(srv(OWNER, 8080)).await;
    let reply = api
        .admin(
            Method::PUT,
            &format!("/v1/records/{OWNER}/SRV"),
            Some(json!({"ttl": 60, "records": []})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!([]));
    assert!(api.records_at(OWNER).await.is_empty());
}

/// Two clients race to give one name a CNAME and an A record: the store's rule, checked
/// inside each write's transaction, lets exactly one through, and the other gets 409.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_cname_and_a_writes_one_wins() {
    let api = std::sync::Arc::new(Api::start().await);
    for round in 0..20 {
        let owner = format!("race{round}.example.com");
        let bodies = [
            json!({"owner": owner, "ttl": 60, "type": "CNAME", "target": "elsewhere.example.net"}),
            json!({"owner": owner, "ttl": 60, "type": "A", "address": "192.0.2.1"}),
        ];
        let writes: Vec<_> = bodies
            .into_iter()
            .map(|body| {
                let api = std::sync::Arc::clone(&api);
                tokio::spawn(
                    async move { api.admin(Method::POST, "/v1/records", Some(body)).await },
                )
            })
            .collect();
        let mut statuses = Vec::new();
        for write in writes {
            statuses.push(write.await.unwrap().status.as_u16());
        }
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 409], "round {round}");
        assert_eq!(api.records_at(&owner).await.len(), 1, "round {round}");
    }
}
