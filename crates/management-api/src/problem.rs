//! Errors of the `/v1` API as RFC 9457 problem details (`application/problem+json`).
//!
//! Every refusal is an [`ApiError`]; its variant fixes the HTTP status, the problem
//! `type` (a stable `urn:acme-srv:problem:…` identifier a client can match on) and the
//! `title`; its message is the `detail`, written for the operator reading it. Store
//! failures are logged in full and answered with a generic detail.
//!
//! The record rules are the store's ([`record_store::rules`]), checked inside each
//! write's transaction; a write they refuse comes back as [`ApiError::Rule`] and is
//! answered by rule: a CNAME beside other data, a second CNAME or a CNAME at an apex
//! `409 conflict`; an RRset too large or a TTL out of range `422 invalid-value`; a
//! records quota `403 quota-exceeded`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use record_store::{RuleViolation, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of every error body of the `/v1` API.
pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

/// A refused or failed `/v1` request.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// The request is not well-formed: unparsable JSON, a missing or mistyped field, a bad
    /// path or query.
    #[error("{0}")]
    Malformed(String),
    /// No credentials, or credentials that are not valid.
    #[error("{0}")]
    Unauthenticated(String),
    /// Valid credentials that do not allow this request.
    #[error("{0}")]
    Forbidden(String),
    /// The resource does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The body is larger than the configured limit.
    #[error("the request body is larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// The path exists, but not with this method.
    #[error("this method is not allowed here; the Allow header lists those that are")]
    MethodNotAllowed,
    /// The body is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The owner name is outside every served zone.
    #[error("owner outside served zones: {0:?} is in none of the zones this server serves")]
    OutsideZones(String),
    /// Well-formed, but a value breaks a rule.
    #[error("{0}")]
    Invalid(String),
    /// This client has failed to authenticate too often lately.
    #[error("{0}")]
    TooManyRequests(String),
    /// The store refused the write: it would break a record rule.
    #[error("{0}")]
    Rule(RuleViolation),
    /// The store failed (or refused a unique value that exists).
    #[error("the record store failed: {0}")]
    Store(StoreError),
    /// Something else failed inside the server.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// Status, problem type slug and title.
    fn kind(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            Self::Malformed(_) => (
                StatusCode::BAD_REQUEST,
                "malformed-request",
                "Malformed request",
            ),
            Self::Unauthenticated(_) => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Missing or invalid credentials",
            ),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Not allowed"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            Self::Store(StoreError::Conflict(_))
            | Self::Rule(RuleViolation::CnameNotAlone { .. } | RuleViolation::CnameAtApex { .. }) => {
                (StatusCode::CONFLICT, "conflict", "Conflict")
            }
            Self::Rule(
                RuleViolation::RrsetTooLarge { .. } | RuleViolation::TtlOutOfRange { .. },
            ) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-value",
                "Invalid value",
            ),
            Self::Rule(RuleViolation::QuotaExceeded { .. }) => {
                (StatusCode::FORBIDDEN, "quota-exceeded", "Quota exceeded")
            }
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            Self::TooLarge { .. } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                "Request body too large",
            ),
            Self::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            Self::OutsideZones(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "owner-outside-zones",
                "Owner outside served zones",
            ),
            Self::Invalid(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-value",
                "Invalid value",
            ),
            Self::TooManyRequests(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                "Too many requests",
            ),
            Self::Store(error) if error.storage_fault().is_some() => (
                StatusCode::SERVICE_UNAVAILABLE,
                "store-unavailable",
                "Record store unavailable",
            ),
            Self::Store(_) | Self::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal-error",
                "Internal error",
            ),
        }
    }

    /// The problem document for this error.
    pub(crate) fn problem(&self) -> Problem {
        let (status, slug, title) = self.kind();
        let detail = match self {
            Self::Store(StoreError::Conflict(what)) => format!("{what} already exists"),
            Self::Store(error) if error.storage_fault().is_some() => format!(
                "the record store cannot write now: {}; nothing was changed, try again later",
                error.storage_fault().unwrap_or_default()
            ),
            Self::Store(_) => "the record store failed; the server log has the cause".to_owned(),
            Self::Internal(_) => "internal error; the server log has the cause".to_owned(),
            other => other.to_string(),
        };
        Problem {
            problem_type: format!("urn:acme-srv:problem:{slug}"),
            title: title.to_owned(),
            status: status.as_u16(),
            detail,
        }
    }
}

impl From<StoreError> for ApiError {
    /// A rule violation is the client's to fix ([`ApiError::Rule`]); anything else is the
    /// store's.
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Rule(violation) => Self::Rule(violation),
            other => Self::Store(other),
        }
    }
}

impl From<RuleViolation> for ApiError {
    fn from(violation: RuleViolation) -> Self {
        Self::Rule(violation)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match &self {
            Self::Store(StoreError::Conflict(_)) => {}
            Self::Store(error) => tracing::error!(%error, "management API: store operation failed"),
            Self::Internal(error) => tracing::error!(%error, "management API: internal error"),
            _ => {}
        }
        let problem = self.problem();
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = problem_response(status, &problem);
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"acme-srv\""),
            );
        }
        response
    }
}

/// `problem` as an `application/problem+json` response with `status`.
fn problem_response(status: StatusCode, problem: &Problem) -> Response {
    let body = serde_json::to_vec(problem).unwrap_or_default();
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))],
        body,
    )
        .into_response()
}

/// An RFC 9457 problem details object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:acme-srv:problem:owner-outside-zones",
    "title": "Owner outside served zones",
    "status": 422,
    "detail": "owner outside served zones: \"www.example.org\" is in none of the zones this server serves"
}))]
pub(crate) struct Problem {
    /// A URI identifying the kind of problem (`urn:acme-srv:problem:<kind>`).
    #[serde(rename = "type")]
    pub(crate) problem_type: String,
    /// A short summary of the kind of problem.
    pub(crate) title: String,
    /// The HTTP status code.
    pub(crate) status: u16,
    /// What went wrong with this request.
    pub(crate) detail: String,
}

/// The answer to a path that names nothing.
pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound("no such API path".to_owned())
}

/// The answer to a known path with another method (axum adds the `Allow` header).
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_hide_their_cause() {
        let problem = ApiError::Store(StoreError::Corrupt("secret detail".into())).problem();
        assert_eq!(problem.status, 500);
        assert!(!problem.detail.contains("secret detail"));
        let conflict = ApiError::Store(StoreError::Conflict("key abc".into())).problem();
        assert_eq!(conflict.status, 409);
    }

    /// Each rule keeps the status and problem type the API answered it with before the
    /// rules moved into the store.
    #[test]
    fn rule_violations_map_to_their_statuses() {
        use record_store::{Author, QuotaScope, RecordType};
        let cases = [
            (
                RuleViolation::CnameNotAlone {
                    owner: "a".into(),
                    existing: RecordType::A,
                    written: RecordType::Cname,
                },
                409,
                "conflict",
            ),
            (
                RuleViolation::CnameAtApex { owner: "a".into() },
                409,
                "conflict",
            ),
            (
                RuleViolation::RrsetTooLarge {
                    owner: "a".into(),
                    record_type: RecordType::Txt,
                    records: 65,
                    limit: 64,
                },
                422,
                "invalid-value",
            ),
            (
                RuleViolation::TtlOutOfRange {
                    owner: "a".into(),
                    ttl: 0,
                },
                422,
                "invalid-value",
            ),
            (
                RuleViolation::QuotaExceeded {
                    counted: QuotaScope::Author(Author::ApiKey("k".into())),
                    records: 3,
                    limit: 2,
                },
                403,
                "quota-exceeded",
            ),
        ];
        for (violation, status, slug) in cases {
            let problem = ApiError::from(StoreError::Rule(violation.clone())).problem();
            assert_eq!(problem.status, status, "{violation:?}");
            assert_eq!(problem.problem_type, format!("urn:acme-srv:problem:{slug}"));
            assert_eq!(problem.detail, violation.to_string());
        }
    }

    #[test]
    fn outside_zones_is_422_with_its_own_type() {
        let problem = ApiError::OutsideZones("www.example.org".into()).problem();
        assert_eq!(problem.status, 422);
        assert_eq!(
            problem.problem_type,
            "urn:acme-srv:problem:owner-outside-zones"
        );
        assert!(problem.detail.starts_with("owner outside served zones"));
    }
}
