//! `upstream` mode's exchange with an app, in the request's own task.
//!
//! An [`AppConnection`] is hyper's low-level HTTP/1 client connection: the
//! [`SendRequest`] half that hands hyper a request and the [`Connection`] half that does
//! the I/O. Nothing is spawned for it. The request's task polls the I/O half while it
//! waits for the response head ([`send`]), and the response body ([`AppBody`]) polls it
//! while the body streams to the client. So one request costs no connection task, no
//! channel hop between tasks and no wake-up of another task.
//!
//! Once the body has ended and hyper shows the connection idle, [`AppBody`] puts the
//! connection back into the [`AppPool`], keyed by the app's configured authority; the
//! next request to that app takes it after one more poll shows the app has not closed
//! it ([`IdleConnection::usable`]). A kept connection that turns out closed before the
//! request could be written is replaced by a fresh one: the request is handed back
//! unsent, so even a request with a body is sent once. A body the client did not read
//! to its end, a request body the app did not read, or `Connection: close` leave the
//! connection unusable, and it is closed.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1::{self, Connection, SendRequest};
use hyper::http::uri::Authority;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::OwnedSemaphorePermit;

use crate::target_pool::{IdleConnection, TargetPool};

/// Idle app connections, by the app's configured authority.
pub type AppPool = TargetPool<Authority, AppConnection>;

/// Why an exchange with an app failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// TCP connect (or the app's name lookup) failed.
    #[error("connect failed: {0}")]
    Connect(#[source] std::io::Error),
    /// TCP connect took too long.
    #[error("connect timed out after {0:?}")]
    ConnectTimeout(Duration),
    /// The exchange itself failed: the request could not be sent or no valid response
    /// head came back.
    #[error("{0}")]
    Exchange(#[source] hyper::Error),
    /// No response head within the timeout (`relay.upstream.response_timeout`).
    #[error("no response within {0:?}")]
    ResponseTimeout(Duration),
}

/// The time limits of one exchange with an app.
#[derive(Debug, Clone, Copy)]
pub struct AppLimits {
    /// TCP connect.
    pub connect: Duration,
    /// From the request sent whole (its body included) to the response head.
    pub response: Duration,
}

/// One HTTP/1 connection to an app; see the module docs.
pub struct AppConnection {
    sender: SendRequest<RequestBody>,
    /// The I/O half, boxed: it is large and lives as long as the connection, while
    /// this value moves with every response.
    io: Box<Connection<TokioIo<TcpStream>, RequestBody>>,
    /// The I/O half has completed (closed by either side, failed, or handed the socket
    /// back after a `101`); it is not polled again.
    ended: bool,
}

impl std::fmt::Debug for AppConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppConnection")
            .field("ended", &self.ended)
            .finish_non_exhaustive()
    }
}

impl AppConnection {
    /// Connects to `app` (a name is looked up by the system resolver) within
    /// `connect_timeout`.
    async fn connect(app: &Authority, connect_timeout: Duration) -> Result<Self, AppError> {
        let stream = tokio::time::timeout(connect_timeout, TcpStream::connect(app.as_str()))
            .await
            .map_err(|_| AppError::ConnectTimeout(connect_timeout))?
            .map_err(AppError::Connect)?;
        // Each write is a whole message or the rest of a body: nothing to wait for.
        stream.set_nodelay(true).map_err(AppError::Connect)?;
        let (sender, io) = http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(AppError::Exchange)?;
        Ok(Self {
            sender,
            io: Box::new(io),
            ended: false,
        })
    }

    /// Polls the I/O half once; false once the connection has ended.
    fn drive(&mut self, cx: &mut Context<'_>) -> bool {
        if self.ended {
            return false;
        }
        match Pin::new(&mut *self.io).poll(cx) {
            Poll::Pending => true,
            Poll::Ready(result) => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "app connection ended");
                }
                self.ended = true;
                false
            }
        }
    }

    /// After a `101` answer: drives the connection until hyper hands the socket back,
    /// and returns it with the bytes hyper read past the answer.
    pub async fn into_upgraded(mut self) -> (TcpStream, bytes::Bytes) {
        poll_fn(|cx| {
            if self.drive(cx) {
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await;
        let parts = self.io.into_parts();
        (parts.io.into_inner(), parts.read_buf)
    }

    /// Sends `request` and waits for the response head, driving the I/O meanwhile,
    /// at most `limit` after the request (body and all) has been written. The request
    /// comes back in the error when it was not written at all.
    async fn exchange(
        &mut self,
        request: Request<Incoming>,
        limit: Duration,
    ) -> Result<Result<Response<Incoming>, Unsent>, AppError> {
        let (request, sent) = RequestBody::wrap(request);
        let mut response = std::pin::pin!(self.sender.try_send_request(request));
        // Armed once the request has been written whole: a slow upload is the client's
        // pace, not the app's.
        let mut timer = std::pin::pin!(tokio::time::sleep(limit));
        let mut armed = false;
        poll_fn(|cx| {
            if let Poll::Ready(result) = response.as_mut().poll(cx) {
                return Poll::Ready(Ok(result.map_err(Unsent)));
            }
            // hyper writes the request and reads the answer only when its I/O half is
            // polled; whatever it did then, the response future may now be ready.
            self.drive(cx);
            if let Poll::Ready(result) = response.as_mut().poll(cx) {
                return Poll::Ready(Ok(result.map_err(Unsent)));
            }
            if !armed
                && sent
                    .as_ref()
                    .is_none_or(|sent| sent.load(Ordering::Acquire))
            {
                armed = true;
                timer.as_mut().reset(tokio::time::Instant::now() + limit);
            }
            if armed && timer.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(AppError::ResponseTimeout(limit)));
            }
            Poll::Pending
        })
        .await
    }
}

/// A failed exchange, with the request when it was not written at all.
struct Unsent(hyper::client::conn::TrySendError<Request<RequestBody>>);

/// A request body on its way to the app that records when it has been sent whole.
pub struct RequestBody {
    body: Incoming,
    /// Set at the body's end; `None` for a body that is empty from the start.
    sent: Option<Arc<AtomicBool>>,
}

impl RequestBody {
    /// `request` with its body wrapped, and the flag its end will set.
    fn wrap(request: Request<Incoming>) -> (Request<Self>, Option<Arc<AtomicBool>>) {
        let sent = (!request.body().is_end_stream()).then(Arc::default);
        let flag = sent.clone();
        (request.map(|body| Self { body, sent }), flag)
    }
}

impl Body for RequestBody {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let frame = Pin::new(&mut this.body).poll_frame(cx);
        if let (Poll::Ready(None), Some(sent)) = (&frame, &this.sent) {
            sent.store(true, Ordering::Release);
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        let end = self.body.is_end_stream();
        if end && let Some(sent) = &self.sent {
            sent.store(true, Ordering::Release);
        }
        end
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl IdleConnection for AppConnection {
    /// One poll of the I/O half (it reads the end of the stream, or anything the app
    /// sent unasked, which hyper treats as an error), then hyper's own readiness.
    fn usable(&mut self) -> bool {
        let mut cx = Context::from_waker(Waker::noop());
        self.drive(&mut cx) && self.sender.is_ready()
    }
}

/// Sends `request` (its URI in origin form) to `app`, on a kept connection from `pool`
/// if there is one, else on a fresh one, and waits for the response head within
/// `limits.response` (the connection is then closed: a late answer could not be told
/// from the next one). The connection comes back with the response: the body needs it
/// ([`AppBody`]).
pub async fn send(
    pool: &AppPool,
    app: &Authority,
    mut request: Request<Incoming>,
    limits: AppLimits,
) -> Result<(Response<Incoming>, AppConnection), AppError> {
    if let Some(mut kept) = pool.take(app.clone()) {
        match kept.exchange(request, limits.response).await? {
            Ok(response) => return Ok((response, kept)),
            Err(Unsent(mut e)) => match e.take_message() {
                // Not written: the app closed the kept connection just now. A fresh
                // connection carries the request, body and all.
                Some(unsent) => {
                    tracing::debug!(%app, error = %e.error(), "kept app connection failed; connecting afresh");
                    request = unsent.map(|body| body.body);
                }
                None => return Err(AppError::Exchange(e.into_error())),
            },
        }
    }
    let mut fresh = AppConnection::connect(app, limits.connect).await?;
    match fresh.exchange(request, limits.response).await? {
        Ok(response) => Ok((response, fresh)),
        Err(Unsent(e)) => Err(AppError::Exchange(e.into_error())),
    }
}

/// An app's response body on its way to the client. It drives the app connection
/// while it streams, holds the request's target-connection slot until it is dropped,
/// and gives the connection back to the pool once the body has ended.
pub struct AppBody {
    body: Incoming,
    connection: Option<AppConnection>,
    pool: Arc<AppPool>,
    app: Authority,
    _slot: OwnedSemaphorePermit,
}

impl std::fmt::Debug for AppBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppBody")
            .field("app", &self.app)
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

impl AppBody {
    /// The body of `response`, streamed over `connection`.
    pub fn new(
        body: Incoming,
        connection: AppConnection,
        pool: Arc<AppPool>,
        app: Authority,
        slot: OwnedSemaphorePermit,
    ) -> Self {
        Self {
            body,
            connection: Some(connection),
            pool,
            app,
            _slot: slot,
        }
    }

    /// Puts the connection back into the pool if hyper shows it idle; else closes it.
    fn give_back(&mut self) {
        if let Some(mut connection) = self.connection.take()
            && connection.usable()
        {
            self.pool.put(self.app.clone(), connection);
        }
    }
}

impl Body for AppBody {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let mut frame = Pin::new(&mut this.body).poll_frame(cx);
        if frame.is_pending() {
            if let Some(connection) = &mut this.connection {
                connection.drive(cx);
            }
            frame = Pin::new(&mut this.body).poll_frame(cx);
        }
        if let Poll::Ready(None) = frame {
            this.give_back();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for AppBody {
    fn drop(&mut self) {
        // hyper stops polling a body whose length says it is complete (and never polls
        // an empty one), so the end is checked here too. A body dropped before its end
        // leaves the connection mid-response: it is closed.
        if self.body.is_end_stream() {
            self.give_back();
        }
    }
}
