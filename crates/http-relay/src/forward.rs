//! One challenge exchange with a target: a connection to an address the policy
//! approved (an idle one from the [`TargetPool`], else a fresh one), the request head
//! (written by [`write_challenge_head`](crate::forwarded_headers::write_challenge_head))
//! sent in one write, and the answer read by [`target_response`] within the timeouts
//! and the body cap. Redirects are returned as they are, never followed.
//!
//! The exchange runs inside the request's own task: no client connection task, no
//! channel. When the answer allows it the connection goes back to the pool, else it is
//! closed. A kept connection that fails before any answer (the target closed it while
//! it was idle) is replaced by a fresh connection once: a challenge `GET` is idempotent.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::target_pool::TargetPool;
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

/// Sends `request_head` (a complete head, no body) to `addr` and reads the whole
/// answer, on a kept connection from `pool` if there is one, else on a fresh one.
/// `head_only` is true for a `HEAD` request.
pub async fn send(
    addr: SocketAddr,
    request_head: &[u8],
    head_only: bool,
    limits: AttemptLimits,
    pool: &TargetPool,
) -> Result<TargetResponse, AttemptError> {
    if let Some(stream) = pool.take(addr) {
        match exchange(stream, request_head, head_only, limits).await {
            Ok((answer, stream)) => {
                keep(pool, addr, &answer, stream);
                return Ok(answer);
            }
            // The kept connection broke before any answer: the target may have closed
            // it just now. A fresh connection decides.
            Err(
                e @ (AttemptError::Send(_)
                | AttemptError::NoResponse(
                    ResponseError::ClosedBeforeHead | ResponseError::Io(_),
                )),
            ) => {
                tracing::debug!(%addr, error = %e, "kept target connection failed; connecting afresh");
            }
            Err(e) => return Err(e),
        }
    }
    let stream = timeout(limits.connect, TcpStream::connect(addr))
        .await
        .map_err(|_| AttemptError::ConnectTimeout(limits.connect))?
        .map_err(AttemptError::Connect)?;
    let (answer, stream) = exchange(stream, request_head, head_only, limits).await?;
    keep(pool, addr, &answer, stream);
    Ok(answer)
}

/// Returns the connection to the pool when its answer allows reuse; else it is closed.
fn keep(pool: &TargetPool, addr: SocketAddr, answer: &TargetResponse, stream: TcpStream) {
    if answer.reusable {
        pool.put(addr, stream);
    }
}

/// One request and its answer on `stream`, which is handed back with the answer.
async fn exchange(
    mut stream: TcpStream,
    request_head: &[u8],
    head_only: bool,
    limits: AttemptLimits,
) -> Result<(TargetResponse, TcpStream), AttemptError> {
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
    let answer = timeout(
        limits.response_body,
        head.read_body(&mut stream, limits.max_body),
    )
    .await
    .map_err(|_| AttemptError::BodyTimeout(limits.response_body))?
    .map_err(AttemptError::from)?;
    Ok((answer, stream))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    use super::*;

    const LIMITS: AttemptLimits = AttemptLimits {
        connect: Duration::from_secs(5),
        response_header: Duration::from_secs(5),
        response_body: Duration::from_secs(5),
        max_body: 1024,
    };
    const REQUEST: &[u8] = b"GET /.well-known/acme-challenge/t HTTP/1.1\r\nhost: a.test\r\n\r\n";

    /// A keep-alive target on loopback that counts connections. Each connection
    /// answers up to `answers_per_connection` requests, then closes when the next one
    /// arrives, without answering it.
    async fn target(answers_per_connection: usize) -> (SocketAddr, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        tokio::spawn(async move {
            loop {
                let (mut stream, _) = listener.accept().await.unwrap();
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut answered = 0;
                    let mut buf = Vec::new();
                    loop {
                        while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                            let mut chunk = [0u8; 1024];
                            match stream.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                            }
                        }
                        buf.clear();
                        if answered == answers_per_connection {
                            return; // closes without answering
                        }
                        answered += 1;
                        let answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
                        if stream.write_all(answer).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (addr, connections)
    }

    #[tokio::test]
    async fn a_kept_connection_carries_the_next_challenge() {
        let (addr, connections) = target(usize::MAX).await;
        let pool = TargetPool::new(Duration::from_secs(60));
        for _ in 0..3 {
            let answer = send(addr, REQUEST, false, LIMITS, &pool).await.unwrap();
            assert_eq!(&answer.body[..], b"ok");
        }
        assert_eq!(connections.load(Ordering::SeqCst), 1);
        assert_eq!(pool.idle_count(), 1);
    }

    #[tokio::test]
    async fn without_a_pool_every_challenge_connects() {
        let (addr, connections) = target(usize::MAX).await;
        let pool = TargetPool::new(Duration::ZERO);
        for _ in 0..3 {
            send(addr, REQUEST, false, LIMITS, &pool).await.unwrap();
        }
        assert_eq!(connections.load(Ordering::SeqCst), 3);
        assert_eq!(pool.idle_count(), 0);
    }

    #[tokio::test]
    async fn a_kept_connection_the_target_dropped_is_replaced_once() {
        // Each connection answers once and drops the second request unanswered.
        let (addr, connections) = target(1).await;
        let pool = TargetPool::new(Duration::from_secs(60));
        send(addr, REQUEST, false, LIMITS, &pool).await.unwrap();
        assert_eq!(pool.idle_count(), 1);
        let answer = send(addr, REQUEST, false, LIMITS, &pool).await.unwrap();
        assert_eq!(&answer.body[..], b"ok");
        assert_eq!(connections.load(Ordering::SeqCst), 2);
    }
}
