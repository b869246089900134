//! Protocol upgrades (`101 Switching Protocols`, e.g. WebSocket) on the HTTP/1 server.
//!
//! The server takes hyper's connection apart between exchanges, so hyper's own upgrade
//! future is not used. A service that answers `101` puts an [`OnUpgrade`] into the
//! response's extensions; once hyper has written the response and hands the socket
//! back, the connection's task runs the function with the [`Upgraded`] connection (the
//! socket, still under the listener's idle timeout and lifetime, and whatever the
//! client sent after its request that hyper had already read).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::timed_io::TimedIo;

/// What runs on the upgraded connection.
pub(crate) type UpgradedFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

type Start = Box<dyn FnOnce(Upgraded) -> UpgradedFuture + Send>;

/// Put into the extensions of a `101 Switching Protocols` response: the function the
/// connection runs once the response is written. A clone shares the one function.
#[derive(Clone)]
pub struct OnUpgrade(Arc<Mutex<Option<Start>>>);

impl std::fmt::Debug for OnUpgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnUpgrade").finish_non_exhaustive()
    }
}

impl OnUpgrade {
    /// Runs `start` on the connection after the `101` response.
    pub fn new<F, Fut>(start: F) -> Self
    where
        F: FnOnce(Upgraded) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let start: Start = Box::new(move |upgraded| Box::pin(start(upgraded)));
        Self(Arc::new(Mutex::new(Some(start))))
    }

    /// The function, once.
    pub(crate) fn take(&self) -> Option<Start> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()
    }
}

/// The client's connection after a `101` response: the bytes the client sent after its
/// request that were already read, then the socket.
#[derive(Debug)]
pub struct Upgraded {
    io: TimedIo<TcpStream>,
    read_ahead: Bytes,
}

impl Upgraded {
    pub(crate) fn new(io: TimedIo<TcpStream>, read_ahead: Bytes) -> Self {
        Self { io, read_ahead }
    }
}

impl AsyncRead for Upgraded {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if super::read_first(&mut this.read_ahead, buf) {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Upgraded {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
