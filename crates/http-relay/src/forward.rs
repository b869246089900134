//! One challenge exchange with a target: a fresh connection to an address the policy
//! approved, the request head (written by
//! [`write_challenge_head`](crate::forwarded_headers::write_challenge_head)) sent in
//! one write, and the answer read by [`target_response`] within
//! the timeouts and the body cap. Redirects are returned as they are, never followed.
//!
//! The exchange runs inside the request's own task: no client connection task, no
//! channel, no pool; the connection is closed when the answer is in.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::target_response::{self, ResponseError, TargetResponse};

/// Initial size of the buffer an answer is read into (a key authorization's answer
/// is a few hundred bytes).
const INITIAL_BUFFER: usize = 2048;

/// Why one attempt at one address failed.
#[derive(Debug, thiserror::Error)]
pub enum AttemptError {
    /// TCP connect failed.
    #[error("connect failed: {0}")]
    Connect(#[source] std::io::Error),
    /// TCP connect took too long.
    #[error("connect timed out after {0:?}")]
    ConnectTimeout(Duration),
    /// The request could not be sent.
    #[error("sending the request failed: {0}")]
    Send(#[source] std::io::Error),
    /// No usable response head came back.
    #[error("no response: {0}")]
    NoResponse(#[source] ResponseError),
    /// No response head within the timeout.
    #[error("no response within {0:?}")]
    ResponseTimeout(Duration),
    /// The body did not arrive within the timeout.
    #[error("response body not complete within {0:?}")]
    BodyTimeout(Duration),
    /// The body was larger than the cap.
    #[error("response body larger than {0} bytes")]
    BodyTooLarge(usize),
    /// The body broke off.
    #[error("response body failed: {0}")]
    Body(#[source] ResponseError),
}

impl AttemptError {
    /// Whether the next address may be tried: nothing usable came back from this one.
    pub fn try_next(&self) -> bool {
        matches!(
            self,
            Self::Connect(_)
                | Self::ConnectTimeout(_)
                | Self::Send(_)
                | Self::NoResponse(_)
                | Self::ResponseTimeout(_)
        )
    }

    /// Whether this was a timeout (a 504 rather than a 502 when it is the last word).
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Self::ConnectTimeout(_) | Self::ResponseTimeout(_) | Self::BodyTimeout(_)
        )
    }
}

impl From<ResponseError> for AttemptError {
    fn from(e: ResponseError) -> Self {
        match e {
            ResponseError::BodyTooLarge(cap) => Self::BodyTooLarge(cap),
            e if e.before_head() => Self::NoResponse(e),
            e => Self::Body(e),
        }
    }
}

/// The limits one attempt runs under.
#[derive(Debug, Clone, Copy)]
pub struct AttemptLimits {
    /// TCP connect.
    pub connect: Duration,
    /// From request sent to response head.
    pub response_header: Duration,
    /// From response head to end of body.
    pub response_body: Duration,
    /// Largest body accepted.
    pub max_body: usize,
}

/// Sends `request_head` (a complete head, no body) to `addr` on a fresh connection and
/// reads the whole answer. `head_only` is true for a `HEAD` request.
pub async fn send(
    addr: SocketAddr,
    request_head: &[u8],
    head_only: bool,
    limits: AttemptLimits,
) -> Result<TargetResponse, AttemptError> {
    let mut stream = timeout(limits.connect, TcpStream::connect(addr))
        .await
        .map_err(|_| AttemptError::ConnectTimeout(limits.connect))?
        .map_err(AttemptError::Connect)?;
    let head = timeout(limits.response_header, async {
        stream
            .write_all(request_head)
            .await
            .map_err(AttemptError::Send)?;
        let buf = BytesMut::with_capacity(INITIAL_BUFFER);
        Ok::<_, AttemptError>(
            target_response::read_head(&mut stream, buf, head_only, limits.max_body).await?,
        )
    })
    .await
    .map_err(|_| AttemptError::ResponseTimeout(limits.response_header))??;
    timeout(
        limits.response_body,
        head.read_body(&mut stream, limits.max_body),
    )
    .await
    .map_err(|_| AttemptError::BodyTimeout(limits.response_body))?
    .map_err(AttemptError::from)
}
