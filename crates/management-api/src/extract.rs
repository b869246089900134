//! Extractors whose refusals are problem details instead of axum's plain-text ones.
//!
//! - [`ApiJson`]: the body must be declared JSON (`application/json` or `…+json`, else
//!   415), fit the configured size limit (else 413) and parse as the expected type (else
//!   400, naming the field that failed).
//! - [`ApiPath`] and [`ApiQuery`]: path and query parameters, 400 when they do not parse.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::problem::ApiError;
use crate::state::ApiState;

/// A JSON request body of type `T`.
#[derive(Debug)]
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<ApiState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &ApiState) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType(
                "expected a JSON body with `Content-Type: application/json`".to_owned(),
            ));
        }
        let body = read_body(req, state).await?;
        parse_json(&body).map(ApiJson)
    }
}

/// Whether the request declares a JSON body.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|subtype| subtype.ends_with("+json"))
}

/// The whole body, at most the configured size.
pub(crate) async fn read_body(req: Request, state: &ApiState) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state)
        .await
        .map_err(|rejection| match rejection {
            BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
                ApiError::TooLarge {
                    limit: state.max_body_bytes,
                }
            }
            other => ApiError::Malformed(format!("could not read the request body: {other}")),
        })
}

/// Parses `body` as a `T`, the error naming the JSON path that failed.
pub(crate) fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if path == "." || inner.is_syntax() || inner.is_eof() {
            ApiError::Malformed(format!(
                "the body is not valid JSON for this request: {inner}"
            ))
        } else {
            ApiError::Malformed(format!(
                "the body is not valid JSON for this request: at {path}: {inner}"
            ))
        }
    })?;
    deserializer
        .end()
        .map_err(|error| ApiError::Malformed(format!("the body is not valid JSON: {error}")))?;
    Ok(value)
}

/// Converts an already parsed JSON `value` to a `T`, the error naming the JSON path that
/// failed.
pub(crate) fn parse_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        ApiError::Malformed(format!(
            "the body is not valid JSON for this request: at {path}: {}",
            error.into_inner()
        ))
    })
}

/// Deserialises a JSON integer into `T`, accepting a number with a zero fraction
/// (`60.0`) as JSON Schema's `integer` does.
pub(crate) fn integer<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<u64>,
{
    use serde::Deserialize as _;
    use serde::de::Error as _;
    let number = serde_json::Number::deserialize(deserializer)?;
    let whole = number.as_u64().or_else(|| {
        number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64)
            .map(|f| f as u64)
    });
    whole
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| D::Error::custom(format!("{number} is not an integer in range")))
}

/// Path parameters of type `T`.
#[derive(Debug)]
pub(crate) struct ApiPath<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| ApiPath(value))
            .map_err(|rejection| {
                ApiError::Malformed(format!("bad path: {}", rejection.body_text()))
            })
    }
}

/// Query parameters of type `T`.
#[derive(Debug)]
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| ApiQuery(value))
            .map_err(|rejection| {
                ApiError::Malformed(format!("bad query string: {}", rejection.body_text()))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn json_content_types() {
        let mut headers = HeaderMap::new();
        assert!(!is_json(&headers));
        for (value, json) in [
            ("application/json", true),
            ("Application/JSON; charset=utf-8", true),
            ("application/merge-patch+json", true),
            ("text/plain", false),
            ("application/jsonx", false),
        ] {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static(value));
            assert_eq!(is_json(&headers), json, "{value}");
        }
    }

    #[test]
    fn parse_errors_name_the_field() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Body {
            ttl: u32,
        }
        let error = parse_json::<Body>(br#"{"ttl": "x"}"#).unwrap_err();
        assert!(error.to_string().contains("at ttl"), "{error}");
        assert!(parse_json::<Body>(br#"{"ttl": 1} x"#).is_err());
        assert!(parse_json::<Body>(b"").is_err());
        assert!(parse_json::<Body>(br#"{"ttl": 1}"#).is_ok());

        #[derive(Debug, serde::Deserialize)]
        struct Port {
            #[serde(deserialize_with = "integer")]
            port: u16,
        }
        assert_eq!(parse_json::<Port>(br#"{"port": 80.0}"#).unwrap().port, 80);
        assert_eq!(parse_json::<Port>(br#"{"port": -0.0}"#).unwrap().port, 0);
        for bad in [
            &br#"{"port": 80.5}"#[..],
            br#"{"port": 65536}"#,
            br#"{"port": -1}"#,
            br#"{"port": "80"}"#,
            br#"{"port": 1e300}"#,
        ] {
            assert!(
                parse_json::<Port>(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
