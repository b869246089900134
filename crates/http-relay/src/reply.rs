//! Responses the relay writes itself: short plain-text reasons, never a stack of HTML.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

/// The body type of every response the relay sends.
pub type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, hyper::Error>;

/// A full in-memory body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// `status` with a one-line plain-text `reason`.
pub fn text(status: StatusCode, reason: impl Into<String>) -> Response<Body> {
    let mut line = reason.into();
    line.push('\n');
    let mut response = Response::new(full(line));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
