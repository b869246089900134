//! A small client of acme-srv's management API (JSON over HTTP/1 on loopback), for the
//! calls the lab makes: replacing an RRset and creating an API key.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use crate::LabError;

/// How long one API call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The management API at one address, called with one bearer token.
#[derive(Debug, Clone)]
pub(crate) struct Api {
    base: String,
    token: String,
}

impl Api {
    /// The API at `addr`, authenticated with `token` (the admin token or an API key).
    pub(crate) fn new(addr: SocketAddr, token: &str) -> Self {
        Self {
            base: format!("http://{addr}"),
            token: token.to_owned(),
        }
    }

    /// `PUT /v1/records/{owner}/{type}`: replaces that RRset with `records` (each a
    /// JSON object with `type` and the type's fields).
    pub(crate) async fn replace_rrset(
        &self,
        owner: &str,
        record_type: &str,
        ttl: u32,
        records: Vec<Value>,
    ) -> Result<Value, LabError> {
        let body = serde_json::json!({"ttl": ttl, "records": records});
        self.call(
            Method::PUT,
            &format!("/v1/records/{owner}/{record_type}"),
            Some(body),
        )
        .await
    }

    /// `POST /v1/keys`: a new API key that may change `subtree` and every name below;
    /// returns its bearer token.
    pub(crate) async fn create_key(
        &self,
        subtree: &str,
        description: &str,
    ) -> Result<String, LabError> {
        let path = "/v1/keys";
        let body = serde_json::json!({
            "description": description,
            "scopes": [{"kind": "subtree", "name": subtree}],
            "source_cidrs": [],
        });
        let created = self.call(Method::POST, path, Some(body)).await?;
        created
            .get("token")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| LabError::Api {
                method: Method::POST.to_string(),
                path: path.to_owned(),
                reason: format!("the answer has no \"token\": {created}"),
            })
    }

    /// One call; the JSON answer of a success (`null` when empty).
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, LabError> {
        let error = |reason: String| LabError::Api {
            method: method.to_string(),
            path: path.to_owned(),
            reason,
        };
        let bytes = match &body {
            Some(body) => Bytes::from(body.to_string()),
            None => Bytes::new(),
        };
        let request = Request::builder()
            .method(method.clone())
            .uri(format!("{}{path}", self.base))
            .header("accept", "application/json")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {}", self.token))
            .body(Full::new(bytes))
            .map_err(|e| error(format!("building the request: {e}")))?;
        let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
        let response = tokio::time::timeout(CALL_TIMEOUT, client.request(request))
            .await
            .map_err(|_| error(format!("no answer within {CALL_TIMEOUT:?}")))?
            .map_err(|e| error(format!("cannot reach the API at {}: {e}", self.base)))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| error(format!("reading the answer: {e}")))?
            .to_bytes();
        let answer = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
        };
        if !status.is_success() {
            let detail = answer
                .get("detail")
                .or_else(|| answer.get("title"))
                .and_then(Value::as_str)
                .map_or_else(|| answer.to_string(), str::to_owned);
            return Err(error(format!("{status}: {detail}")));
        }
        Ok(answer)
    }
}
