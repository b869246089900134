//! An HTTP/1 server over [`accept_loop`]: hyper with a header-read timeout and a bounded
//! read buffer, each request marking its connection busy (so only a connection with no
//! request in progress can be idle), graceful close at the end of the connection's
//! lifetime and at shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::accept::{Accepted, ListenerBounds, accept_loop};
use crate::timed_io::{Activity, Busy};

/// How long open connections get to finish after shutdown begins.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// hyper's HTTP/1 settings for one listener.
#[derive(Debug, Clone)]
pub struct Http1Options {
    /// Time for a client to send a complete request head once it has started one (and,
    /// on a kept-alive connection, to start the next).
    pub header_timeout: Duration,
    /// Largest read buffer, which bounds the request head; at least 8192.
    pub max_buf_size: usize,
}

/// Serves HTTP/1 on every listener until `shutdown` completes, with the service that
/// `make_service` builds for each connection's peer; then stops accepting, lets open
/// connections finish their requests (up to [`DRAIN_TIMEOUT`]) and returns.
pub async fn serve<M, S, B>(
    listeners: Vec<TcpListener>,
    bounds: Arc<ListenerBounds>,
    options: Http1Options,
    make_service: M,
    shutdown: impl Future<Output = ()>,
) where
    M: Fn(SocketAddr) -> S + Send + Sync + 'static,
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let stop = CancellationToken::new();
    let tracker = TaskTracker::new();
    let make_service = Arc::new(make_service);
    let options = Arc::new(options);
    for listener in listeners {
        let make_service = make_service.clone();
        let options = options.clone();
        let conn_stop = stop.clone();
        tracker.spawn(accept_loop(
            listener,
            bounds.clone(),
            stop.clone(),
            tracker.clone(),
            move |accepted| {
                let service = make_service(accepted.peer);
                serve_connection(accepted, options.clone(), service, conn_stop.clone())
            },
        ));
    }
    shutdown.await;
    tracing::info!(
        listener = bounds.name,
        "shutting down: no new connections, draining open ones"
    );
    stop.cancel();
    tracker.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            listener = bounds.name,
            "connections still open after {DRAIN_TIMEOUT:?}; closing them"
        );
    }
}

/// Serves one accepted connection.
pub async fn serve_connection<S, B>(
    accepted: Accepted,
    options: Arc<Http1Options>,
    service: S,
    stop: CancellationToken,
) where
    S: Service<Request<Incoming>, Response = Response<B>>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let Accepted {
        io,
        peer,
        activity,
        close_at,
    } = accepted;
    let service = MarkBusy {
        inner: service,
        activity,
    };
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout)
        .max_buf_size(options.max_buf_size)
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stop.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
        () = tokio::time::sleep_until(close_at) => {
            tracing::debug!(%peer, "connection reached its lifetime; closing after the request in progress");
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// A service whose requests mark the connection busy until their response is ready.
struct MarkBusy<S> {
    inner: S,
    activity: Activity,
}

impl<S, R> Service<R> for MarkBusy<S>
where
    S: Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BusyFuture<S::Future>;

    fn call(&self, req: R) -> Self::Future {
        BusyFuture {
            _busy: self.activity.begin(),
            inner: self.inner.call(req),
        }
    }
}

pin_project_lite::pin_project! {
    /// A request's future, holding the connection busy.
    struct BusyFuture<F> {
        _busy: Busy,
        #[pin]
        inner: F,
    }
}

impl<F: Future> Future for BusyFuture<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().inner.poll(cx)
    }
}
