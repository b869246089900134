//! Accepting connections: limits, hyper's HTTP/1 parser, graceful shutdown.
//!
//! Per connection the relay makes no system call of its own: `TCP_NODELAY` is set once
//! on each listener (Linux hands it down to accepted sockets), and hyper's closing
//! `shutdown(2)` is skipped because the socket is closed right after anyway.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::{Relay, inbound};

/// How long open connections get to finish after shutdown begins.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `relay` on every listener until `shutdown` completes, then stops accepting,
/// lets in-flight requests finish (up to [`DRAIN_TIMEOUT`]) and returns.
pub async fn run(
    relay: Arc<Relay>,
    listeners: Vec<TcpListener>,
    shutdown: impl Future<Output = ()>,
) {
    let stop = CancellationToken::new();
    let tracker = TaskTracker::new();
    let permits = Arc::new(Semaphore::new(relay.limits.max_connections));
    for listener in listeners {
        // Inherited by every accepted socket: answers are never held back by Nagle.
        if let Err(e) = socket2::SockRef::from(&listener).set_tcp_nodelay(true) {
            tracing::warn!(error = %e, "cannot set TCP_NODELAY on a listener");
        }
        tracker.spawn(accept_loop(
            listener,
            relay.clone(),
            permits.clone(),
            stop.clone(),
            tracker.clone(),
        ));
    }
    let housekeeping = {
        let relay = relay.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            // Idle target connections are closed within about twice their idle time.
            let mut pool_tick =
                tokio::time::interval(relay.limits.target_idle.max(Duration::from_secs(1)));
            loop {
                tokio::select! {
                    _ = tick.tick() => relay.forget_idle_clients(),
                    _ = pool_tick.tick() => relay.target_pool.close_expired(),
                    () = stop.cancelled() => break,
                }
            }
        })
    };
    shutdown.await;
    tracing::info!("shutting down the relay: no new connections, draining open ones");
    stop.cancel();
    tracker.close();
    if tokio::time::timeout(DRAIN_TIMEOUT, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {DRAIN_TIMEOUT:?}; closing them");
    }
    housekeeping.abort();
}

async fn accept_loop(
    listener: TcpListener,
    relay: Arc<Relay>,
    permits: Arc<Semaphore>,
    stop: CancellationToken,
    tracker: TaskTracker,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.cancelled() => return,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // EMFILE and friends: back off briefly instead of spinning.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            relay.metrics.refused_connection();
            tracing::debug!(%peer, "connection limit reached; closing");
            drop(stream);
            continue;
        };
        let relay = relay.clone();
        let stop = stop.clone();
        tracker.spawn(async move {
            let open = relay.metrics.open_connections().clone();
            open.increment(1.0);
            serve_connection(stream, peer, relay, stop).await;
            open.decrement(1.0);
            drop(permit);
        });
    }
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    relay: Arc<Relay>,
    stop: CancellationToken,
) {
    let limits = relay.limits.clone();
    let service = hyper::service::service_fn(move |req| inbound::handle(relay.clone(), req, peer));
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.client_header)
        .max_buf_size(limits.max_header_bytes)
        .keep_alive(true)
        .serve_connection(TokioIo::new(Accepted(stream)), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stop.cancelled() => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// An accepted connection as hyper sees it. `poll_shutdown` does nothing: the socket is
/// dropped (closed, sending the FIN) as soon as hyper is done with it, so a separate
/// `shutdown(2)` first would only cost a system call. (Unread input makes the kernel
/// answer the close with a reset either way.)
struct Accepted(TcpStream);

impl AsyncRead for Accepted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_read(cx, buf)
    }
}

impl AsyncWrite for Accepted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
