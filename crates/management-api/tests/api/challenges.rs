//! `/v1/challenges/…`: the dns-persist-01 and dns-account-01 records, written from their
//! parameters: the owner and TXT value stored, every refusal (and that it changes
//! nothing), key scopes, and the store's rules and quotas on these writes.

use std::time::{SystemTime, UNIX_EPOCH};

use hyper::{Method, StatusCode};
use management_api::{ApiSettings, Quotas};
use record_store::{Record, RecordData, RecordStore as _};
use serde_json::{Value, json};

use crate::harness::{Api, settings};

const PERSIST: &str = "/v1/challenges/dns-persist-01";
const ACCOUNT: &str = "/v1/challenges/dns-account-01";
const ACCOUNT_URI: &str = "https://acme-v02.api.letsencrypt.org/acme/acct/123456789";
/// The account of draft-ietf-acme-dns-account-label's example, and its label.
const DRAFT_ACCOUNT: &str = "https://example.com/acme/acct/ExampleAccount";
const DRAFT_LABEL: &str = "ujmmovf2vn55tgye";
const DIGEST: &str = "gfj9Xq-Rg85nM_aGixU4EM-dbp5e9jXsuQhnqF5zOjI";
const DIGEST_2: &str = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";
const DIGEST_3: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa0";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn txt(owner: &str, ttl: u32, value: &str) -> Record {
    Record {
        owner: owner.to_owned(),
        ttl,
        data: RecordData::Txt {
            value: value.to_owned(),
        },
    }
}

/// `raw` with everything but RFC 3986 unreserved characters percent-encoded.
fn query_escape(raw: &str) -> String {
    raw.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A name of `len` characters ending in `.zone`, of labels of at most 63 characters.
fn name_of_length(len: usize, zone: &str) -> String {
    let head_len = len - zone.len() - 1;
    let mut head: String = format!("{}.", "a".repeat(62))
        .repeat(head_len / 63 + 1)
        .chars()
        .take(head_len)
        .collect();
    if head.ends_with('.') {
        head.pop();
        head.push('a');
    }
    format!("{head}.{zone}")
}

fn persist_body() -> Value {
    json!({"issuer": "letsencrypt.org", "account_uri": ACCOUNT_URI})
}

#[tokio::test]
async fn dns_persist_01_writes_replaces_and_deletes_the_record() {
    let api = Api::start().await;
    let owner = "_validation-persist.www.example.com";
    // Whatever TXT was there is replaced.
    api.add(json!({"owner": owner, "ttl": 60, "type": "TXT", "value": "old"}))
        .await;

    let until = now() + 30 * 86_400;
    let reply = api
        .admin(
            Method::PUT,
            &format!("{PERSIST}/WWW.Example.COM."),
            Some(json!({
                "issuer": "letsencrypt.org", "account_uri": ACCOUNT_URI,
                "wildcard": true, "persist_until": until, "ttl": 300
            })),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    let value =
        format!("letsencrypt.org; accounturi={ACCOUNT_URI}; policy=wildcard; persistUntil={until}");
    assert_eq!(
        reply.json(),
        json!({"owner": owner, "ttl": 300, "value": value})
    );
    assert_eq!(api.records_at(owner).await, [txt(owner, 300, &value)]);

    // The optional parameters left out: no policy, no persistUntil, the default TTL.
    let reply = api
        .admin(
            Method::PUT,
            &format!("{PERSIST}/www.example.com"),
            Some(persist_body()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    let value = format!("letsencrypt.org; accounturi={ACCOUNT_URI}");
    assert_eq!(api.records_at(owner).await, [txt(owner, 3600, &value)]);
    // Nothing else was written.
    assert_eq!(api.store.all_records().await.unwrap().len(), 1);

    // At a zone apex too.
    let reply = api
        .admin(
            Method::PUT,
            &format!("{PERSIST}/example.net"),
            Some(persist_body()),
        )
        .await;
    assert_eq!(reply.json()["owner"], "_validation-persist.example.net");

    let path = format!("{PERSIST}/www.example.com");
    assert_eq!(
        api.admin(Method::DELETE, &path, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(api.records_at(owner).await.is_empty());
    api.admin(Method::DELETE, &path, None)
        .await
        .assert_problem(404);
}

/// A request the API must refuse, and how.
struct Refusal {
    method: Method,
    path: String,
    body: Option<Value>,
    status: u16,
    problem_type: &'static str,
    /// What the detail names: it starts with it, or quotes it.
    field: &'static str,
}

fn refusal(
    method: Method,
    path: &str,
    body: Option<Value>,
    status: u16,
    problem_type: &'static str,
    field: &'static str,
) -> Refusal {
    Refusal {
        method,
        path: path.to_owned(),
        body,
        status,
        problem_type,
        field,
    }
}

/// Sends each refused request; asserts its status, problem type and that the detail
/// names the field, and that the store is unchanged.
async fn assert_refusals(api: &Api, cases: Vec<Refusal>) {
    let before = api.snapshot().await;
    for case in cases {
        let Refusal {
            method,
            path,
            body,
            status,
            problem_type,
            field,
        } = case;
        let reply = api.admin(method.clone(), &path, body.clone()).await;
        let detail = reply.assert_problem(status);
        assert_eq!(
            reply.json()["type"],
            format!("urn:acme-srv:problem:{problem_type}"),
            "{method} {path} {body:?}: {detail}"
        );
        assert!(
            detail.starts_with(field)
                || detail.contains(&format!("`{field}`"))
                || detail.contains(&format!("at {field}:")),
            "{method} {path} {body:?}: {detail:?} does not name {field}"
        );
        assert_eq!(api.snapshot().await, before, "{method} {path} {body:?}");
    }
}

#[tokio::test]
async fn dns_persist_01_refuses_bad_input_naming_the_field() {
    let api = Api::start().await;
    let path = format!("{PERSIST}/www.example.com");
    let with = |key: &str, value: Value| {
        let mut body = persist_body();
        body[key] = value;
        Some(body)
    };
    let put = |path: &str, body: Option<Value>, status, kind, field| {
        refusal(Method::PUT, path, body, status, kind, field)
    };
    let long_domain = name_of_length(234, "example.com");
    let longest_domain = name_of_length(233, "example.com");
    let mut cases = vec![];
    for issuer in [
        "LetsEncrypt.org",
        "letsencrypt.org.",
        "lets encrypt.org",
        "-ca.example",
        "ca_example.org",
        "",
    ] {
        cases.push(put(
            &path,
            with("issuer", json!(issuer)),
            422,
            "invalid-value",
            "issuer",
        ));
    }
    for account_uri in [
        "http://ca.example/acct/1",
        "https://ca.example/acct/1; policy=wildcard",
        "https://ca.example/acct/1;x",
        "https://ca.example/acct 1",
        "https://ca.example/acct/\u{e9}",
        "acct/1",
        "",
    ] {
        cases.push(put(
            &path,
            with("account_uri", json!(account_uri)),
            422,
            "invalid-value",
            "account_uri",
        ));
    }
    for persist_until in [0, now() - 60, now(), 1 << 31, u64::from(u32::MAX) + 7] {
        cases.push(put(
            &path,
            with("persist_until", json!(persist_until)),
            422,
            "invalid-value",
            "persist_until",
        ));
    }
    for ttl in [0, 604_801] {
        cases.push(put(
            &path,
            with("ttl", json!(ttl)),
            422,
            "invalid-value",
            "ttl",
        ));
    }
    for (domain, kind) in [
        ("*.example.com", "invalid-value"),
        ("bad..example.com", "invalid-value"),
        (long_domain.as_str(), "invalid-value"),
    ] {
        cases.push(put(
            &format!("{PERSIST}/{domain}"),
            Some(persist_body()),
            422,
            kind,
            "domain",
        ));
    }
    cases.push(put(
        &format!("{PERSIST}/www.example.org"),
        Some(persist_body()),
        422,
        "owner-outside-zones",
        "owner outside served zones",
    ));
    // Missing or mistyped fields are malformed requests, named too.
    cases.push(put(
        &path,
        Some(json!({"account_uri": ACCOUNT_URI})),
        400,
        "malformed-request",
        "issuer",
    ));
    cases.push(put(
        &path,
        Some(json!({"issuer": "letsencrypt.org"})),
        400,
        "malformed-request",
        "account_uri",
    ));
    cases.push(put(
        &path,
        with("wildcard", json!("yes")),
        400,
        "malformed-request",
        "wildcard",
    ));
    cases.push(put(
        &path,
        with("persist_until", json!("soon")),
        400,
        "malformed-request",
        "persist_until",
    ));
    assert_refusals(&api, cases).await;

    // The longest domain whose owner fits in 253 characters is accepted.
    let reply = api
        .admin(
            Method::PUT,
            &format!("{PERSIST}/{longest_domain}"),
            Some(persist_body()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    assert_eq!(reply.json()["owner"].as_str().unwrap().len(), 253);
}

#[tokio::test]
async fn dns_account_01_writes_at_the_accounts_label_and_deletes() {
    let api = Api::start().await;
    let owner = format!("_{DRAFT_LABEL}._acme-challenge.www.example.com");
    let path = format!("{ACCOUNT}/www.example.com");
    let put = |value: &str| json!({"account_uri": DRAFT_ACCOUNT, "value": value});

    let reply = api.admin(Method::PUT, &path, Some(put(DIGEST))).await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    assert_eq!(
        reply.json(),
        json!({"owner": owner, "ttl": 60, "value": DIGEST})
    );
    assert_eq!(api.records_at(&owner).await, [txt(&owner, 60, DIGEST)]);
    assert_eq!(api.store.all_records().await.unwrap().len(), 1);

    // A second value (the wildcard's) joins the first; a third pushes out the oldest.
    for value in [DIGEST_2, DIGEST_3] {
        let reply = api.admin(Method::PUT, &path, Some(put(value))).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    }
    let mut values: Vec<String> = api
        .records_at(&owner)
        .await
        .into_iter()
        .map(|record| match record.data {
            RecordData::Txt { value } => value,
            other => panic!("{other:?}"),
        })
        .collect();
    values.sort();
    let mut expected = vec![DIGEST_2.to_owned(), DIGEST_3.to_owned()];
    expected.sort();
    assert_eq!(values, expected);

    // Another account has another owner: nothing there to delete.
    let other = format!("{path}?account_uri={}", query_escape(ACCOUNT_URI));
    api.admin(Method::DELETE, &other, None)
        .await
        .assert_problem(404);
    let delete = format!("{path}?account_uri={}", query_escape(DRAFT_ACCOUNT));
    assert_eq!(
        api.admin(Method::DELETE, &delete, None).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(api.store.all_records().await.unwrap().is_empty());
    api.admin(Method::DELETE, &delete, None)
        .await
        .assert_problem(404);

    // The TTL can be set.
    let mut body = put(DIGEST);
    body["ttl"] = json!(5);
    let reply = api.admin(Method::PUT, &path, Some(body)).await;
    assert_eq!(reply.json()["ttl"], 5);
    assert_eq!(api.records_at(&owner).await, [txt(&owner, 5, DIGEST)]);
}

#[tokio::test]
async fn dns_account_01_refuses_bad_input_naming_the_field() {
    let api = Api::start().await;
    let path = format!("{ACCOUNT}/www.example.com");
    let body =
        |account_uri: &str, value: &str| Some(json!({"account_uri": account_uri, "value": value}));
    let put = |path: &str, body: Option<Value>, status, kind, field| {
        refusal(Method::PUT, path, body, status, kind, field)
    };
    let long_domain = name_of_length(220, "example.com");
    let mut cases = vec![];
    for value in [
        &DIGEST[1..],
        &format!("{}=", &DIGEST[1..]),
        &format!("{}+", &DIGEST[1..]),
        &format!("{DIGEST}A"),
        "",
    ] {
        cases.push(put(
            &path,
            body(DRAFT_ACCOUNT, value),
            422,
            "invalid-value",
            "value",
        ));
    }
    for account_uri in ["http://example.com/acct/1", "https://example.com/a;b", ""] {
        cases.push(put(
            &path,
            body(account_uri, DIGEST),
            422,
            "invalid-value",
            "account_uri",
        ));
    }
    let mut zero_ttl = body(DRAFT_ACCOUNT, DIGEST).unwrap();
    zero_ttl["ttl"] = json!(0);
    cases.push(put(&path, Some(zero_ttl), 422, "invalid-value", "ttl"));
    for domain in ["*.example.com", long_domain.as_str()] {
        cases.push(put(
            &format!("{ACCOUNT}/{domain}"),
            body(DRAFT_ACCOUNT, DIGEST),
            422,
            "invalid-value",
            "domain",
        ));
    }
    cases.push(put(
        &format!("{ACCOUNT}/example.org"),
        body(DRAFT_ACCOUNT, DIGEST),
        422,
        "owner-outside-zones",
        "owner outside served zones",
    ));
    cases.push(put(
        &path,
        Some(json!({"value": DIGEST})),
        400,
        "malformed-request",
        "account_uri",
    ));
    cases.push(refusal(
        Method::DELETE,
        &path,
        None,
        400,
        "malformed-request",
        "account_uri",
    ));
    cases.push(refusal(
        Method::DELETE,
        &format!("{path}?account_uri=ftp%3A%2F%2Fexample.com"),
        None,
        422,
        "invalid-value",
        "account_uri",
    ));
    assert_refusals(&api, cases).await;

    // The longest domain whose owner fits in 253 characters is accepted.
    let longest_domain = name_of_length(219, "example.com");
    let reply = api
        .admin(
            Method::PUT,
            &format!("{ACCOUNT}/{longest_domain}"),
            body(DRAFT_ACCOUNT, DIGEST),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    assert_eq!(reply.json()["owner"].as_str().unwrap().len(), 253);
}

#[tokio::test]
async fn keys_write_only_what_their_scopes_cover() {
    let api = Api::start().await;
    let www = api.subtree_key("www.example.com").await;
    let mail = api.subtree_key("mail.example.com").await;
    // An exact scope on the domain itself does not cover the records below it.
    let exact = api
        .create_key(
            json!([{"kind": "exact", "name": "www.example.com"}]),
            json!([]),
        )
        .await["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let persist = format!("{PERSIST}/www.example.com");
    let account = format!("{ACCOUNT}/www.example.com");
    let account_body = json!({"account_uri": DRAFT_ACCOUNT, "value": DIGEST});

    let before = api.snapshot().await;
    for token in [&mail, &exact] {
        let detail = api
            .call(Method::PUT, &persist, Some(token), Some(persist_body()))
            .await
            .assert_problem(403);
        assert!(
            detail.contains("_validation-persist.www.example.com"),
            "{detail}"
        );
        let detail = api
            .call(
                Method::PUT,
                &account,
                Some(token),
                Some(account_body.clone()),
            )
            .await
            .assert_problem(403);
        assert!(
            detail.contains("._acme-challenge.www.example.com"),
            "{detail}"
        );
    }
    assert_eq!(api.snapshot().await, before);

    for (path, body) in [(&persist, persist_body()), (&account, account_body.clone())] {
        let reply = api.call(Method::PUT, path, Some(&www), Some(body)).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.json());
    }
    assert_eq!(api.store.all_records().await.unwrap().len(), 2);

    // Deleting is scoped the same way.
    let delete_account = format!("{account}?account_uri={}", query_escape(DRAFT_ACCOUNT));
    for path in [&persist, &delete_account] {
        api.call(Method::DELETE, path, Some(&mail), None)
            .await
            .assert_problem(403);
    }
    assert_eq!(api.store.all_records().await.unwrap().len(), 2);
    for path in [&persist, &delete_account] {
        let reply = api.call(Method::DELETE, path, Some(&www), None).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT);
    }
    assert!(api.store.all_records().await.unwrap().is_empty());

    // Without credentials, nothing.
    api.call(Method::PUT, &persist, None, Some(persist_body()))
        .await
        .assert_problem(401);
}

/// The writes go through the store's rules and quotas like any other.
#[tokio::test]
async fn the_stores_rules_and_quotas_hold() {
    let api = Api::start_with(ApiSettings {
        quotas: Quotas {
            records_per_key: 1,
            ..Quotas::default()
        },
        ..settings()
    })
    .await;
    api.add(json!({
        "owner": "_validation-persist.alias.example.com", "ttl": 60,
        "type": "CNAME", "target": "elsewhere.example.net"
    }))
    .await;
    api.admin(
        Method::PUT,
        &format!("{PERSIST}/alias.example.com"),
        Some(persist_body()),
    )
    .await
    .assert_problem(409);

    let key = api.subtree_key("www.example.com").await;
    let reply = api
        .call(
            Method::PUT,
            &format!("{PERSIST}/www.example.com"),
            Some(&key),
            Some(persist_body()),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = api
        .call(
            Method::PUT,
            &format!("{ACCOUNT}/www.example.com"),
            Some(&key),
            Some(json!({"account_uri": DRAFT_ACCOUNT, "value": DIGEST})),
        )
        .await;
    reply.assert_problem(403);
    assert_eq!(reply.json()["type"], "urn:acme-srv:problem:quota-exceeded");
}
