//! `acme-srv records …`, `acme-srv keys …` and `acme-srv tsig-keys …`: a small client of
//! the management API.
//!
//! Most commands print the API's JSON answer. Three print text instead: `tsig-keys
//! create` the key in the forms DNS tools take, `records set-account-label` the owner
//! name it wrote (the API computes the label), and `records export` the API's zone-file
//! text as it is.

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use crate::cli::{ApiClientArgs, KeysCommand, RecordsCommand, TsigKeysCommand};

/// Runs a `records` subcommand.
pub(crate) fn records(api: ApiClientArgs, command: RecordsCommand) -> anyhow::Result<()> {
    let (method, path, body) = match command {
        RecordsCommand::SetSrv {
            owner,
            target,
            port,
            priority,
            weight,
            ttl,
            add,
        } => {
            let data = json!({"type": "SRV", "priority": priority, "weight": weight, "port": port, "target": target});
            if add {
                let mut record = data;
                record["owner"] = json!(owner);
                record["ttl"] = json!(ttl);
                (Method::POST, "/v1/records".to_owned(), Some(record))
            } else {
                (
                    Method::PUT,
                    format!("/v1/records/{owner}/SRV"),
                    Some(json!({"ttl": ttl, "records": [data]})),
                )
            }
        }
        RecordsCommand::SetTxt { owner, values, ttl } => {
            let records: Vec<Value> = values
                .iter()
                .map(|v| json!({"type": "TXT", "value": v}))
                .collect();
            (
                Method::PUT,
                format!("/v1/records/{owner}/TXT"),
                Some(json!({"ttl": ttl, "records": records})),
            )
        }
        RecordsCommand::SetPersist {
            domain,
            issuer,
            account_uri,
            wildcard,
            persist_until,
            ttl,
        } => {
            let mut body =
                json!({"issuer": issuer, "account_uri": account_uri, "wildcard": wildcard});
            if let Some(persist_until) = persist_until {
                body["persist_until"] = json!(persist_until);
            }
            if let Some(ttl) = ttl {
                body["ttl"] = json!(ttl);
            }
            (
                Method::PUT,
                format!("/v1/challenges/dns-persist-01/{domain}"),
                Some(body),
            )
        }
        RecordsCommand::SetAccountLabel {
            domain,
            account_uri,
            value,
            ttl,
        } => {
            let mut body = json!({"account_uri": account_uri, "value": value});
            if let Some(ttl) = ttl {
                body["ttl"] = json!(ttl);
            }
            let path = format!("/v1/challenges/dns-account-01/{domain}");
            let written = call_checked(&api, Method::PUT, &path, Some(body))?;
            let owner = written
                .get("owner")
                .and_then(Value::as_str)
                .with_context(|| format!("{path}: the answer has no \"owner\": {written}"))?;
            #[allow(clippy::print_stdout)]
            {
                println!("{owner}");
            }
            return Ok(());
        }
        RecordsCommand::Export { zone } => {
            let text = get_text(&api, &format!("/v1/zone-text?under={zone}"))?;
            #[allow(clippy::print_stdout)]
            {
                print!("{text}");
            }
            return Ok(());
        }
        RecordsCommand::List { under } => {
            let query = under.map(|u| format!("?under={u}")).unwrap_or_default();
            (Method::GET, format!("/v1/records{query}"), None)
        }
        RecordsCommand::Rm { owner, record_type } => match record_type {
            Some(t) => (Method::DELETE, format!("/v1/records/{owner}/{t}"), None),
            None => (Method::DELETE, format!("/v1/records/{owner}"), None),
        },
    };
    call_and_print(&api, method, &path, body)
}

/// Runs a `keys` subcommand.
pub(crate) fn keys(api: ApiClientArgs, command: KeysCommand) -> anyhow::Result<()> {
    let (method, path, body) = match command {
        KeysCommand::Create {
            exact,
            subtree,
            source_cidr,
            description,
        } => {
            let scopes = scopes_json(&exact, &subtree)?;
            let body =
                json!({"description": description, "scopes": scopes, "source_cidrs": source_cidr});
            (Method::POST, "/v1/keys".to_owned(), Some(body))
        }
        KeysCommand::List => (Method::GET, "/v1/keys".to_owned(), None),
        KeysCommand::Revoke { id } => (Method::DELETE, format!("/v1/keys/{id}"), None),
    };
    call_and_print(&api, method, &path, body)
}

/// Runs a `tsig-keys` subcommand. A created key is printed in the forms BIND, `nsupdate`
/// and `dig` take, not as JSON (its secret is shown only this once): a `key` statement
/// on standard output, so that `> key.conf` makes a key file for `nsupdate -k`, and the
/// `ALGORITHM:NAME:SECRET` line for `nsupdate -y` and `dig -y` on standard error.
pub(crate) fn tsig_keys(api: &ApiClientArgs, command: TsigKeysCommand) -> anyhow::Result<()> {
    match command {
        TsigKeysCommand::Create {
            name,
            algorithm,
            exact,
            subtree,
            record_types,
            transfer,
            description,
        } => {
            let scopes = scopes_json(&exact, &subtree)?;
            let record_types: Vec<String> = record_types
                .iter()
                .map(|record_type| record_type.to_ascii_uppercase())
                .collect();
            let body = json!({
                "name": name, "algorithm": algorithm, "description": description,
                "scopes": scopes, "record_types": record_types, "transfer": transfer,
            });
            let path = "/v1/tsig-keys";
            let created = call_checked(api, Method::POST, path, Some(body))?;
            let field = |key: &str| {
                created
                    .get(key)
                    .and_then(Value::as_str)
                    .with_context(|| format!("{path}: the answer has no {key:?}: {created}"))
            };
            let key = TsigKeyText {
                name: field("name")?,
                algorithm: field("algorithm")?,
                secret: field("secret")?,
            };
            #[allow(clippy::print_stdout, clippy::print_stderr)]
            {
                print!("{}", key.bind_key_statement());
                eprintln!("# for nsupdate -y and dig -y:\n{}", key.one_line());
            }
            Ok(())
        }
        TsigKeysCommand::List => call_and_print(api, Method::GET, "/v1/tsig-keys", None),
        TsigKeysCommand::Revoke { name } => {
            call_and_print(api, Method::DELETE, &format!("/v1/tsig-keys/{name}"), None)
        }
    }
}

/// The `scopes` of a key from `--exact` and `--subtree`; at least one.
fn scopes_json(exact: &[String], subtree: &[String]) -> anyhow::Result<Vec<Value>> {
    let scopes: Vec<Value> = exact
        .iter()
        .map(|n| json!({"kind": "exact", "name": n}))
        .chain(
            subtree
                .iter()
                .map(|n| json!({"kind": "subtree", "name": n})),
        )
        .collect();
    if scopes.is_empty() {
        bail!("a key needs at least one --exact or --subtree name");
    }
    Ok(scopes)
}

/// A TSIG key as text, in the forms the DNS tools take.
#[derive(Debug)]
struct TsigKeyText<'k> {
    name: &'k str,
    algorithm: &'k str,
    /// Base64.
    secret: &'k str,
}

impl TsigKeyText<'_> {
    /// A BIND `key` statement: a key file for `nsupdate -k`, or a named.conf clause.
    fn bind_key_statement(&self) -> String {
        format!(
            "key \"{}\" {{\n\talgorithm {};\n\tsecret \"{}\";\n}};\n",
            self.name, self.algorithm, self.secret
        )
    }

    /// `ALGORITHM:NAME:SECRET`, as `nsupdate -y` and `dig -y` take it.
    fn one_line(&self) -> String {
        format!("{}:{}:{}", self.algorithm, self.name, self.secret)
    }
}

/// Makes one call and prints the JSON answer (nothing for 204); errors show the
/// problem details.
fn call_and_print(
    api: &ApiClientArgs,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<()> {
    let answer = call_checked(api, method, path, body)?;
    if !answer.is_null() {
        #[allow(clippy::print_stdout)]
        {
            println!("{}", serde_json::to_string_pretty(&answer)?);
        }
    }
    Ok(())
}

/// Makes one call; the JSON answer of a success (`null` for 204), or an error showing
/// the problem details.
fn call_checked(
    api: &ApiClientArgs,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let (status, body) = call_blocking(api, method, path, body, "application/json")?;
    let answer = json_answer(&body);
    check_status(path, status, &answer)?;
    if status == StatusCode::NO_CONTENT {
        return Ok(Value::Null);
    }
    Ok(answer)
}

/// GETs `path` for text; the text of a success, or an error showing the problem details.
fn get_text(api: &ApiClientArgs, path: &str) -> anyhow::Result<String> {
    let (status, body) = call_blocking(api, Method::GET, path, None, "text/plain")?;
    check_status(path, status, &json_answer(&body))?;
    String::from_utf8(body.to_vec()).with_context(|| format!("{path}: the answer is not UTF-8"))
}

/// An error showing the problem details of `answer` unless `status` is a success.
fn check_status(path: &str, status: StatusCode, answer: &Value) -> anyhow::Result<()> {
    if !status.is_success() {
        let detail = answer
            .get("detail")
            .or_else(|| answer.get("title"))
            .or_else(|| answer.get("error"))
            .and_then(Value::as_str)
            .map_or_else(|| answer.to_string(), str::to_owned);
        bail!("{path}: {status}: {detail}");
    }
    Ok(())
}

/// A body as JSON: `null` when empty, a string when it is not JSON.
fn json_answer(body: &[u8]) -> Value {
    if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(body)
            .unwrap_or(Value::String(String::from_utf8_lossy(body).into_owned()))
    }
}

/// [`call`] on a runtime of its own.
fn call_blocking(
    api: &ApiClientArgs,
    method: Method,
    path: &str,
    body: Option<Value>,
    accept: &str,
) -> anyhow::Result<(StatusCode, Bytes)> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(call(api, method, path, body, accept))
}

/// Makes one call; the status and the whole body.
async fn call(
    api: &ApiClientArgs,
    method: Method,
    path: &str,
    body: Option<Value>,
    accept: &str,
) -> anyhow::Result<(StatusCode, Bytes)> {
    let url = format!("{}{path}", api.api.trim_end_matches('/'));
    let mut request = Request::builder()
        .method(method)
        .uri(&url)
        .header("accept", accept);
    if let Some(token) = &api.token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let bytes = match body {
        Some(body) => {
            request = request.header("content-type", "application/json");
            Bytes::from(serde_json::to_vec(&body)?)
        }
        None => Bytes::new(),
    };
    let request = request
        .body(Full::new(bytes))
        .with_context(|| format!("bad API URL {url:?}"))?;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let response =
        tokio::time::timeout(std::time::Duration::from_secs(30), client.request(request))
            .await
            .with_context(|| format!("{url}: no answer within 30 s"))?
            .with_context(|| format!("cannot reach the API at {url}"))?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .context("reading the API answer")?
        .to_bytes();
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsig_keys_print_as_bind_and_nsupdate_take_them() {
        let key = TsigKeyText {
            name: "acme-update.example.com",
            algorithm: "hmac-sha256",
            secret: "c2VjcmV0IHNlY3JldCBzZWNyZXQgc2VjcmV0IHNlY3I=",
        };
        assert_eq!(
            key.bind_key_statement(),
            "key \"acme-update.example.com\" {\n\
             \talgorithm hmac-sha256;\n\
             \tsecret \"c2VjcmV0IHNlY3JldCBzZWNyZXQgc2VjcmV0IHNlY3I=\";\n\
             };\n"
        );
        assert_eq!(
            key.one_line(),
            "hmac-sha256:acme-update.example.com:c2VjcmV0IHNlY3JldCBzZWNyZXQgc2VjcmV0IHNlY3I="
        );
    }

    #[test]
    fn a_key_needs_a_scope() {
        assert!(scopes_json(&[], &[]).is_err());
        assert_eq!(
            scopes_json(&["a.example.com".into()], &["example.net".into()]).unwrap(),
            [
                json!({"kind": "exact", "name": "a.example.com"}),
                json!({"kind": "subtree", "name": "example.net"})
            ]
        );
    }
}
