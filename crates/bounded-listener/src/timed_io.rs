//! [`TimedIo`]: a connection that fails with `TimedOut` when its peer sends nothing
//! within the first-byte timeout, or when neither side makes progress for the idle
//! timeout while no request is being served.
//!
//! The timer is reset lazily: progress only records the time, and the one `Sleep` is
//! moved to the new deadline when it fires, so reads and writes cost no timer work.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Which timeout ended a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// The peer sent nothing at all in time.
    FirstByte,
    /// Nothing moved either way for too long.
    Idle,
}

impl Expiry {
    /// A label for logs and metrics.
    pub fn label(self) -> &'static str {
        match self {
            Self::FirstByte => "first_byte",
            Self::Idle => "idle",
        }
    }
}

/// Marks a connection busy while a request is being served, so that a slow answer (a
/// target taking its time) is not mistaken for an idle client; and tells the handler
/// when the connection's lifetime is over. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Activity(Arc<ActivityState>);

#[derive(Debug, Default)]
struct ActivityState {
    busy: AtomicUsize,
    lifetime_over: AtomicBool,
    /// What the HTTP/1 server tracks of the connection's exchanges, kept here so that a
    /// connection has one shared allocation.
    http1: crate::http1::Exchanges,
}

/// Held while a request is served; see [`Activity::begin`].
#[derive(Debug)]
pub struct Busy(Arc<ActivityState>);

impl Activity {
    /// Marks the connection busy until the returned guard is dropped.
    pub fn begin(&self) -> Busy {
        self.0.busy.fetch_add(1, Ordering::AcqRel);
        Busy(self.0.clone())
    }

    fn is_busy(&self) -> bool {
        self.0.busy.load(Ordering::Acquire) > 0
    }

    /// Whether the connection has reached its lifetime (`ListenerBounds::max_duration`):
    /// it should take no new request. The accept loop sets this and then polls the
    /// connection's handler again, so a handler that checks it on every poll learns it
    /// at once.
    pub fn lifetime_over(&self) -> bool {
        self.0.lifetime_over.load(Ordering::Acquire)
    }

    pub(crate) fn http1(&self) -> &crate::http1::Exchanges {
        &self.0.http1
    }

    pub(crate) fn end_lifetime(&self) {
        self.0.lifetime_over.store(true, Ordering::Release);
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A stream with a first-byte and an idle timeout.
#[derive(Debug)]
pub struct TimedIo<S> {
    inner: S,
    timer: Pin<Box<Sleep>>,
    first_byte: Duration,
    idle: Duration,
    last_progress: Instant,
    got_first_byte: bool,
    activity: Activity,
    expired: Option<Expiry>,
}

impl<S> TimedIo<S> {
    /// Wraps `inner`: the peer must send its first byte within `first_byte`, and the
    /// connection may then stay without progress for at most `idle` while not busy.
    pub fn new(inner: S, first_byte: Duration, idle: Duration, activity: Activity) -> Self {
        let now = Instant::now();
        Self {
            inner,
            timer: Box::pin(tokio::time::sleep_until(now + first_byte)),
            first_byte,
            idle,
            last_progress: now,
            got_first_byte: false,
            activity,
            expired: None,
        }
    }

    /// Which timeout ended the connection, if one did.
    pub fn expired(&self) -> Option<Expiry> {
        self.expired
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped stream, without the timeouts (for a caller that bounds the rest of
    /// the connection itself, as the router's tunnel does).
    pub fn into_inner(self) -> S {
        self.inner
    }

    fn progress(&mut self, read: bool) {
        self.last_progress = Instant::now();
        if read && !self.got_first_byte {
            // The timer still runs to the first-byte deadline, which may lie beyond the
            // idle deadline: move it once. Later progress only records the time.
            self.got_first_byte = true;
            let idle_deadline = self.last_progress + self.idle;
            if idle_deadline < self.timer.deadline() {
                self.timer.as_mut().reset(idle_deadline);
            }
        }
    }

    /// Called when the inner stream is not ready: an error once a timeout has passed.
    fn poll_timeout(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        loop {
            if let Some(expiry) = self.expired {
                return Poll::Ready(timed_out(expiry));
            }
            ready!(self.timer.as_mut().poll(cx));
            let now = Instant::now();
            let (deadline, expiry) = if self.got_first_byte {
                (self.last_progress + self.idle, Expiry::Idle)
            } else {
                (self.last_progress + self.first_byte, Expiry::FirstByte)
            };
            if self.activity.is_busy() {
                // A request is being served: the request's own timeouts bound it.
                self.timer.as_mut().reset(now + self.idle);
            } else if now >= deadline {
                self.expired = Some(expiry);
            } else {
                self.timer.as_mut().reset(deadline);
            }
        }
    }
}

impl TimedIo<tokio::net::TcpStream> {
    /// Ready when the socket has something to read (or the peer closed it), found
    /// without reading and without any buffer, under the same timeouts as a read: the
    /// way a kept-alive connection waits for its next request while holding no memory.
    pub fn poll_readable(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(expiry) = self.expired {
            return Poll::Ready(Err(timed_out(expiry)));
        }
        match self.inner.poll_read_ready(cx) {
            Poll::Ready(ready) => Poll::Ready(ready),
            Poll::Pending => self.poll_timeout(cx).map(Err),
        }
    }
}

impl<S> TimedIo<S> {
    /// A write's result, with progress recorded, or the timeout when it is pending.
    fn after_write(
        &mut self,
        written: Poll<io::Result<usize>>,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        match written {
            Poll::Ready(Ok(n)) => {
                self.progress(false);
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.poll_timeout(cx).map(Err),
        }
    }
}

fn timed_out(expiry: Expiry) -> io::Error {
    let what = match expiry {
        Expiry::FirstByte => "no data from the client within the first-byte timeout",
        Expiry::Idle => "connection idle for longer than the idle timeout",
    };
    io::Error::new(io::ErrorKind::TimedOut, what)
}

impl<S: AsyncRead + Unpin> AsyncRead for TimedIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(expiry) = this.expired {
            return Poll::Ready(Err(timed_out(expiry)));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.progress(true);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.poll_timeout(cx).map(Err),
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TimedIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.after_write(written, cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.after_write(written, cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    /// Does nothing: the socket is closed (sending its FIN) when the connection is
    /// dropped right after, so a separate `shutdown(2)` would only cost a system call.
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    const FIRST: Duration = Duration::from_secs(2);
    const IDLE: Duration = Duration::from_secs(5);

    #[tokio::test(start_paused = true)]
    async fn a_silent_peer_times_out_after_the_first_byte_timeout() {
        let (_peer, ours) = tokio::io::duplex(64);
        let mut io = TimedIo::new(ours, FIRST, IDLE, Activity::default());
        let started = Instant::now();
        let err = io.read(&mut [0; 8]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(io.expired(), Some(Expiry::FirstByte));
        assert_eq!(started.elapsed(), FIRST);
    }

    #[tokio::test(start_paused = true)]
    async fn progress_moves_the_idle_deadline() {
        let (mut peer, ours) = tokio::io::duplex(64);
        let mut io = TimedIo::new(ours, FIRST, IDLE, Activity::default());
        let mut buf = [0; 8];
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            peer.write_all(b"x").await.unwrap();
            assert_eq!(io.read(&mut buf).await.unwrap(), 1);
        }
        let last = Instant::now();
        let err = io.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(io.expired(), Some(Expiry::Idle));
        assert_eq!(last.elapsed(), IDLE);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_timeout_shorter_than_the_first_byte_timeout_applies() {
        let (mut peer, ours) = tokio::io::duplex(64);
        let short_idle = Duration::from_millis(300);
        let mut io = TimedIo::new(ours, FIRST, short_idle, Activity::default());
        peer.write_all(b"x").await.unwrap();
        io.read_exact(&mut [0; 1]).await.unwrap();
        let last = Instant::now();
        let err = io.read(&mut [0; 1]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(last.elapsed(), short_idle);
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_connection_is_not_idle() {
        let (mut peer, ours) = tokio::io::duplex(64);
        let activity = Activity::default();
        let mut io = TimedIo::new(ours, FIRST, IDLE, activity.clone());
        peer.write_all(b"x").await.unwrap();
        io.read_exact(&mut [0; 1]).await.unwrap();
        let busy = activity.begin();
        let read = tokio::time::timeout(IDLE * 3, io.read(&mut [0; 1])).await;
        assert!(read.is_err(), "busy connection timed out: {read:?}");
        drop(busy);
        let err = io.read(&mut [0; 1]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test(start_paused = true)]
    async fn a_peer_that_stops_reading_times_out_on_write() {
        let (mut peer, ours) = tokio::io::duplex(16);
        let mut io = TimedIo::new(ours, FIRST, IDLE, Activity::default());
        peer.write_all(b"x").await.unwrap();
        io.read_exact(&mut [0; 1]).await.unwrap();
        let err = io.write_all(&[0; 64]).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }
}
