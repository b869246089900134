//! acme-dns compatibility: register → update → the TXT values in the store (keep-N) →
//! delete the registration; goacmedns's field names; every refusal with acme-dns's error
//! shape and no change to the store.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::CONTENT_TYPE;
use hyper::{Method, Request, StatusCode};
use management_api::ApiSettings;
use record_store::{RecordData, RecordStore};
use serde_json::{Value, json};

use crate::harness::{ACME_DNS_ZONE, Api, Reply, settings};

/// A 43-character TXT value (what a dns-01 digest looks like), distinct per `n`.
fn txt(n: u8) -> String {
    format!("{}{n:03}", "x".repeat(40))
}

/// Sends `method path` with acme-dns credentials and a raw body.
async fn acme_dns(
    api: &Api,
    method: Method,
    path: &str,
    credentials: Option<(&str, &str)>,
    body: &str,
) -> Reply {
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header(CONTENT_TYPE, "application/json");
    if let Some((user, key)) = credentials {
        builder = builder.header("X-Api-User", user).header("X-Api-Key", key);
    }
    api.send(
        builder
            .body(Full::new(Bytes::from(body.to_owned())))
            .unwrap(),
    )
    .await
}

/// Registers, asserting 201; returns the response.
async fn register(api: &Api, body: &str) -> Value {
    let reply = acme_dns(api, Method::POST, "/register", None, body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(reply.content_type(), "application/json");
    reply.json()
}

fn credentials(registration: &Value) -> (&str, &str) {
    (
        registration["username"].as_str().unwrap(),
        registration["password"].as_str().unwrap(),
    )
}

async fn txt_values(api: &Api, owner: &str) -> Vec<String> {
    api.records_at(owner)
        .await
        .into_iter()
        .map(|record| match record.data {
            RecordData::Txt { value } => value,
            other => panic!("unexpected record {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn register_update_keep_two_and_delete() {
    let api = Api::start().await;
    let registration = register(&api, "").await;
    let subdomain = registration["subdomain"].as_str().unwrap();
    let username = registration["username"].as_str().unwrap();
    let password = registration["password"].as_str().unwrap();
    let fulldomain = registration["fulldomain"].as_str().unwrap();
    assert_eq!(fulldomain, format!("{subdomain}.{ACME_DNS_ZONE}"));
    assert_eq!(username.len(), 36);
    assert_eq!(subdomain.len(), 36);
    assert_ne!(username, subdomain);
    assert_eq!(password.len(), 40);
    assert_eq!(registration["allowfrom"], json!([]));
    let stored = api
        .store
        .find_registration(username)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.password_hash.starts_with("$argon2id$"));
    assert!(!stored.password_hash.contains(password));

    for n in 1..=3 {
        let body = json!({"subdomain": subdomain, "txt": txt(n)}).to_string();
        let reply = acme_dns(
            &api,
            Method::POST,
            "/update",
            Some((username, password)),
            &body,
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        assert_eq!(reply.json(), json!({"txt": txt(n)}));
    }
    let mut values = txt_values(&api, fulldomain).await;
    values.sort();
    assert_eq!(values, [txt(2), txt(3)], "acme-dns keeps the newest two");

    let deleted = acme_dns(
        &api,
        Method::DELETE,
        "/register",
        Some((username, password)),
        "",
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{:?}", deleted.body);
    assert!(
        api.store
            .find_registration(username)
            .await
            .unwrap()
            .is_none()
    );
    assert!(txt_values(&api, fulldomain).await.is_empty());
    let body = json!({"subdomain": subdomain, "txt": txt(4)}).to_string();
    acme_dns(
        &api,
        Method::POST,
        "/update",
        Some((username, password)),
        &body,
    )
    .await
    .assert_acme_dns_error(401, "forbidden");
}

#[tokio::test]
async fn txt_keep_is_configurable() {
    let api = Api::start_with(ApiSettings {
        txt_keep: 1,
        ..settings()
    })
    .await;
    let registration = register(&api, "{}").await;
    let (user, key) = credentials(&registration);
    let subdomain = registration["subdomain"].as_str().unwrap();
    for n in 1..=2 {
        let body = json!({"subdomain": subdomain, "txt": txt(n)}).to_string();
        let reply = acme_dns(&api, Method::POST, "/update", Some((user, key)), &body).await;
        assert_eq!(reply.status, StatusCode::OK);
    }
    assert_eq!(
        txt_values(&api, registration["fulldomain"].as_str().unwrap()).await,
        [txt(2)]
    );
}

#[tokio::test]
async fn goacmedns_field_names_are_accepted() {
    // github.com/cpu/goacmedns marshals Go structs without JSON tags.
    let api = Api::start().await;
    let registration = register(&api, r#"{"AllowFrom":["127.0.0.0/8","::1/128"]}"#).await;
    assert_eq!(registration["allowfrom"], json!(["127.0.0.0/8", "::1/128"]));
    let (user, key) = credentials(&registration);
    let body = format!(
        r#"{{"SubDomain":"{}","Txt":"{}"}}"#,
        registration["subdomain"].as_str().unwrap(),
        txt(7)
    );
    let reply = acme_dns(&api, Method::POST, "/update", Some((user, key)), &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_eq!(
        txt_values(&api, registration["fulldomain"].as_str().unwrap()).await,
        [txt(7)]
    );
}

/// Found by fuzzing (`api_json`): an IPv4-mapped network in hexadecimal form was
/// accepted and shown as `::ffff:1.2.3.4/128`, which `/register` then refused; it is
/// the IPv4 network it stands for, shown so that it is accepted again.
#[tokio::test]
async fn mapped_networks_are_shown_as_they_are_accepted() {
    let api = Api::start().await;
    let registration = register(&api, r#"{"allowfrom":["::ffff:102:304/128"]}"#).await;
    assert_eq!(registration["allowfrom"], json!(["1.2.3.4/32"]));
    let again = json!({"allowfrom": registration["allowfrom"]}).to_string();
    assert_eq!(
        register(&api, &again).await["allowfrom"],
        json!(["1.2.3.4/32"])
    );
}

#[tokio::test]
async fn refused_updates_change_nothing() {
    let api = Api::start().await;
    let registration = register(&api, "").await;
    let other = register(&api, "").await;
    let remote_only = register(&api, r#"{"allowfrom": ["10.0.0.0/8"]}"#).await;
    let (user, key) = credentials(&registration);
    let subdomain = registration["subdomain"].as_str().unwrap();
    let good = json!({"subdomain": subdomain, "txt": txt(1)}).to_string();
    let before = api.snapshot().await;

    let wrong_key = "A".repeat(40);
    type Case<'a> = (&'a str, Option<(&'a str, &'a str)>, String);
    let forbidden: Vec<Case<'_>> = vec![
        ("no credentials", None, good.clone()),
        ("wrong key", Some((user, wrong_key.as_str())), good.clone()),
        ("short key", Some((user, "short")), good.clone()),
        (
            "unknown user",
            Some(("8e5700ea-a4bf-41c7-8a77-e990661dcc6a", key)),
            good.clone(),
        ),
        ("user not a UUID", Some(("admin", key)), good.clone()),
        (
            "another user's subdomain",
            Some(credentials(&other)),
            good.clone(),
        ),
        (
            "outside allowfrom",
            Some(credentials(&remote_only)),
            json!({"subdomain": remote_only["subdomain"], "txt": txt(1)}).to_string(),
        ),
    ];
    for (what, credentials, body) in forbidden {
        let reply = acme_dns(&api, Method::POST, "/update", credentials, &body).await;
        assert_eq!(reply.status.as_u16(), 401, "{what}: {:?}", reply.body);
        reply.assert_acme_dns_error(401, "forbidden");
    }

    for bad_txt in [
        "x".repeat(42),
        "x".repeat(44),
        format!("{}!", "x".repeat(42)),
    ] {
        let body = json!({"subdomain": subdomain, "txt": bad_txt}).to_string();
        acme_dns(&api, Method::POST, "/update", Some((user, key)), &body)
            .await
            .assert_acme_dns_error(400, "bad_txt");
    }
    for malformed in ["{", "[]", "", r#"{"subdomain": 5, "txt": "x"}"#] {
        acme_dns(&api, Method::POST, "/update", Some((user, key)), malformed)
            .await
            .assert_acme_dns_error(400, "malformed_json_payload");
    }
    // Deleting needs the same credentials.
    acme_dns(
        &api,
        Method::DELETE,
        "/register",
        Some((user, wrong_key.as_str())),
        "",
    )
    .await
    .assert_acme_dns_error(401, "forbidden");
    let other_subdomain = json!({"subdomain": other["subdomain"]}).to_string();
    acme_dns(
        &api,
        Method::DELETE,
        "/register",
        Some((user, key)),
        &other_subdomain,
    )
    .await
    .assert_acme_dns_error(401, "forbidden");

    assert_eq!(api.snapshot().await, before);
    assert!(api.store.find_registration(user).await.unwrap().is_some());
}

#[tokio::test]
async fn refused_registrations() {
    let api = Api::start().await;
    acme_dns(
        &api,
        Method::POST,
        "/register",
        None,
        r#"{"allowfrom": ["10.0.0.0/33"]}"#,
    )
    .await
    .assert_acme_dns_error(400, "invalid_allowfrom_cidr");
    acme_dns(
        &api,
        Method::POST,
        "/register",
        None,
        r#"{"allowfrom": ["not-a-network"]}"#,
    )
    .await
    .assert_acme_dns_error(400, "invalid_allowfrom_cidr");
    acme_dns(&api, Method::POST, "/register", None, r#"{"allowfrom": "#)
        .await
        .assert_acme_dns_error(400, "malformed_json_payload");
    acme_dns(
        &api,
        Method::POST,
        "/register",
        None,
        r#"{"allowfrom": [1]}"#,
    )
    .await
    .assert_acme_dns_error(400, "malformed_json_payload");

    let disabled = Api::start_with(ApiSettings {
        acme_dns_zone: None,
        ..settings()
    })
    .await;
    acme_dns(&disabled, Method::POST, "/register", None, "")
        .await
        .assert_acme_dns_error(404, "registration_disabled");
}

#[tokio::test]
async fn health_answers_200() {
    let api = Api::start().await;
    let reply = acme_dns(&api, Method::GET, "/health", None, "").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(api.store.serial().await.is_ok());
}

/// The store's record rules hold for `/update` as for `/v1`: the zone's records quota,
/// and a `fulldomain` the operator made a CNAME.
#[tokio::test]
async fn updates_obey_the_record_rules() {
    let api = Api::start_with(ApiSettings {
        quotas: management_api::Quotas {
            records_per_zone: 2,
            ..management_api::Quotas::default()
        },
        ..settings()
    })
    .await;
    let first = register(&api, "").await;
    let second = register(&api, "").await;
    let update = |registration: &Value, n: u8| {
        json!({"subdomain": registration["subdomain"], "txt": txt(n)}).to_string()
    };
    for n in 0..2 {
        let reply = acme_dns(
            &api,
            Method::POST,
            "/update",
            Some(credentials(&first)),
            &update(&first, n),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    }
    let before = api.snapshot().await;
    acme_dns(
        &api,
        Method::POST,
        "/update",
        Some(credentials(&second)),
        &update(&second, 9),
    )
    .await
    .assert_acme_dns_error(403, "quota_exceeded");
    // A third value replaces the oldest: the zone's count stays, so it passes.
    let reply = acme_dns(
        &api,
        Method::POST,
        "/update",
        Some(credentials(&first)),
        &update(&first, 2),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
    assert_ne!(api.snapshot().await, before);

    // The operator turned the second fulldomain into a CNAME.
    api.store
        .delete_records(first["fulldomain"].as_str().unwrap(), None)
        .await
        .unwrap();
    let alias = second["fulldomain"].as_str().unwrap();
    api.add(json!({"owner": alias, "ttl": 60, "type": "CNAME", "target": "elsewhere.example.net"}))
        .await;
    let before = api.snapshot().await;
    acme_dns(
        &api,
        Method::POST,
        "/update",
        Some(credentials(&second)),
        &update(&second, 3),
    )
    .await
    .assert_acme_dns_error(409, "record_conflict");
    assert_eq!(api.snapshot().await, before);
}
