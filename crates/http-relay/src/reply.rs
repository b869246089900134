//! Responses the relay writes itself (short plain-text reasons, never a stack of HTML),
//! and [`Body`], the body type of every response it sends.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Frame, SizeHint};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};

use crate::app_exchange::AppBody;

/// The body of every response the relay sends: bytes in memory (its own answers and
/// relayed challenge answers), or an app's body streamed through (`upstream` mode).
/// An enum rather than a boxed trait object: no allocation per response.
#[derive(Debug)]
pub enum Body {
    /// A complete body; `None` once sent (or when empty).
    Full(Option<Bytes>),
    /// A body streamed from an app over its connection, holding the request's
    /// target-connection slot until it ends.
    Streamed(AppBody),
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            Self::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Self::Streamed(body) => Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Full(bytes) => bytes.is_none(),
            Self::Streamed(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            Self::Streamed(body) => body.size_hint(),
        }
    }
}

/// The one-line reasons of the answers the relay writes itself for a challenge, in one
/// place: `acme-srv check` (crate `setup-check`) recognises each by its text.
pub mod reasons {
    /// 404: the domain is not on `[challenge] allow_domains`.
    pub const DOMAIN_NOT_ALLOWED: &str = "no challenge relay for this domain";
    /// 404: no SRV record and no fallback target, or a `.` opt-out.
    pub const NO_TARGET: &str = "no validation target for this domain";
    /// 502: the SRV or address lookup failed.
    pub const LOOKUP_FAILED: &str = "the validation target could not be looked up";
    /// 502: no target address could be reached (refused by policy or not accepting).
    pub const UNREACHABLE: &str = "no validation target could be reached";
    /// 504: the target did not answer in time.
    pub const TIMED_OUT: &str = "the validation target did not answer in time";
    /// 502: the target's answer was malformed or too large.
    pub const BAD_ANSWER: &str = "the validation target's answer could not be relayed";
    /// 508: the request already passed this relay.
    pub const LOOP: &str = "request already passed this relay (Via): loop refused";
}

/// A full in-memory body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    let bytes = bytes.into();
    Body::Full((!bytes.is_empty()).then_some(bytes))
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

/// `503` with `Retry-After: 1`: every target-connection slot is in use.
pub fn busy() -> Response<Body> {
    let mut response = text(
        StatusCode::SERVICE_UNAVAILABLE,
        "the relay is busy; try again shortly",
    );
    response
        .headers_mut()
        .insert(hyper::header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}
