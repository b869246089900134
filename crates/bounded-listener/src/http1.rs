//! An HTTP/1 server over [`accept_loop`]: hyper with a header-read timeout and a bounded
//! read buffer, each request marking its connection busy (so only a connection with no
//! request in progress can be idle), graceful close at the end of the connection's
//! lifetime and at shutdown.
//!
//! A kept-alive connection waiting for its next request holds no HTTP state: hyper's
//! connection (its read and write buffers, about 9 KiB) lives only while a request is
//! read and answered. Once an exchange is over, the connection is answered in full,
//! hyper waits for more bytes and nothing is left in its buffer, the hyper connection is
//! taken apart and the socket waits for readability with no buffer at all (as nginx
//! releases its buffers on idle keep-alive connections); the next request gets a fresh
//! hyper connection. See [`serve_connection`] for when this happens and why it is safe.
//!
//! A service may take a connection over after a `101 Switching Protocols` answer
//! ([`OnUpgrade`], in `upgrade.rs`).

use std::future::Future;
use std::marker::PhantomData;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use tokio_util::task::TaskTracker;

use crate::accept::{Accepted, ListenerBounds, accept_loop};
use crate::timed_io::{Activity, Busy, TimedIo};

mod upgrade;

use upgrade::UpgradedFuture;
pub use upgrade::{OnUpgrade, Upgraded};

/// How long open connections get to finish after shutdown begins.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a kept-alive connection stays quiet (no exchange ending) before its hyper
/// state is released, one to two of these after its last exchange: a client sending
/// request after request keeps one hyper connection (building one per request costs
/// about a tenth of the keep-alive throughput), an idle one holds no buffer after this.
/// Short, because until then the connection holds its buffers: connections going idle
/// at a rate R hold at most R × 2 × this × 10 KiB at once.
pub const RELEASE_AFTER_QUIET: Duration = Duration::from_millis(10);

/// hyper's HTTP/1 settings for one listener.
#[derive(Debug, Clone)]
pub struct Http1Options {
    /// Time for a client to send a complete request head once it has started one.
    pub header_timeout: Duration,
    /// Largest read buffer, which bounds the request head; at least 8192.
    pub max_buf_size: usize,
    /// How long a kept-alive connection stays quiet after an exchange before it gives
    /// back its hyper state and waits with no buffer ([`RELEASE_AFTER_QUIET`]).
    pub release_after_quiet: Duration,
}

impl Http1Options {
    /// The settings for a listener with these bounds, releasing an idle connection's
    /// state after [`RELEASE_AFTER_QUIET`].
    pub fn new(header_timeout: Duration, max_buf_size: usize) -> Self {
        Self {
            header_timeout,
            max_buf_size,
            release_after_quiet: RELEASE_AFTER_QUIET,
        }
    }
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
    S: Service<Request<Incoming>, Response = Response<B>> + Send + Unpin + 'static,
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
///
/// The connection alternates between two states. *Waiting*: no request has started;
/// the socket waits for readability under the first-byte or idle timeout, with no
/// buffer. *Exchanging*: a hyper connection (boxed, so the waiting task stays small)
/// reads requests and writes answers under the header timeout. It goes back to waiting
/// once these hold and a whole [`Http1Options::release_after_quiet`] has passed with no
/// exchange ending (so between one and two of them after the last), checked each time
/// hyper yields:
/// - at least one exchange finished on this hyper connection (so a request head that
///   arrives in pieces is read by one hyper connection, under one header timeout);
/// - no request is being served and no answer body is still being sent;
/// - the last request had no body (so hyper is not still reading or draining one);
/// - hyper's last read found nothing to read, and its last write or flush completed
///   (everything it had to send is in the kernel).
///
/// hyper then hands back what it read but did not parse (pipelined bytes); those start
/// the next hyper connection at once, without waiting.
///
/// At shutdown (`stop`) or at the end of the connection's lifetime
/// ([`Activity::lifetime_over`]), a waiting connection is closed and an exchanging one
/// closes after the request in progress.
pub fn serve_connection<S, B>(
    accepted: Accepted,
    options: Arc<Http1Options>,
    service: S,
    stop: CancellationToken,
) -> impl Future<Output = ()>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Unpin,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let Accepted {
        io,
        peer,
        activity,
        close_at: _,
    } = accepted;
    ServeConnection {
        stop: stop.cancelled_owned(),
        stopping: false,
        state: State::Waiting {
            io,
            service: Tracked {
                inner: service,
                activity: activity.clone(),
            },
        },
        peer,
        activity,
        options,
    }
}

/// The hyper connection of one exchange.
type Exchange<S> = http1::Connection<TokioIo<Watched>, Tracked<S>>;

pin_project_lite::pin_project! {
    /// The future of [`serve_connection`]: a plain state machine, so that what a waiting
    /// connection's task holds is exactly these fields.
    struct ServeConnection<S, B>
    where
        S: Service<Request<Incoming>, Response = Response<B>>,
        S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
        B: Body,
        B: 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        #[pin]
        stop: WaitForCancellationFutureOwned,
        stopping: bool,
        state: State<S, B>,
        peer: SocketAddr,
        activity: Activity,
        options: Arc<Http1Options>,
    }
}

enum State<S, B>
where
    S: Service<Request<Incoming>, Response = Response<B>>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    /// Waiting for a request, holding no buffer.
    Waiting {
        io: TimedIo<TcpStream>,
        service: Tracked<S>,
    },
    /// hyper reads requests and writes answers.
    Exchanging {
        connection: Box<Exchange<S>>,
        /// [`Exchanges::finished`] when this hyper connection started.
        finished_before: usize,
        /// Wakes the connection to release its hyper state once a whole period has
        /// passed with no exchange ending, with [`Exchanges::finished`] when the period
        /// began; made when first needed.
        release: Option<(Pin<Box<Sleep>>, usize)>,
    },
    /// Taken over after a `101` answer ([`OnUpgrade`]); runs to its end.
    Upgraded(UpgradedFuture),
    /// The connection is over.
    Done(PhantomData<fn() -> B>),
}

impl<S, B> Future for ServeConnection<S, B>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Unpin,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        let peer = *this.peer;
        loop {
            if !*this.stopping
                && (this.activity.lifetime_over() || this.stop.as_mut().poll(cx).is_ready())
            {
                *this.stopping = true;
                if let State::Exchanging { connection, .. } = &mut this.state {
                    tracing::debug!(%peer, "closing the connection after the request in progress");
                    Pin::new(&mut **connection).graceful_shutdown();
                }
            }
            match this.state {
                State::Waiting { io, .. } => {
                    if *this.stopping {
                        *this.state = State::Done(PhantomData);
                        return Poll::Ready(());
                    }
                    if let Err(e) = ready!(io.poll_readable(cx)) {
                        tracing::debug!(%peer, error = %e, "connection ended while waiting for a request");
                        *this.state = State::Done(PhantomData);
                        return Poll::Ready(());
                    }
                    let State::Waiting { io, service } =
                        std::mem::replace(this.state, State::Done(PhantomData))
                    else {
                        unreachable!("the state was just matched")
                    };
                    *this.state = exchange(this.options, this.activity, io, Bytes::new(), service);
                }
                State::Exchanging {
                    connection,
                    finished_before,
                    release,
                } => {
                    if let Poll::Ready(result) = Pin::new(&mut **connection).poll(cx) {
                        let upgrade = this.activity.http1().take_upgrade();
                        match (result, upgrade) {
                            (Ok(()), Some(start)) => {
                                // hyper wrote the 101 and stopped: the socket is handed
                                // over with what hyper read past the request.
                                let (io, read_ahead, _service) = take_apart(this.state);
                                tracing::debug!(%peer, "connection upgraded");
                                *this.state = State::Upgraded(start(Upgraded::new(io, read_ahead)));
                                continue;
                            }
                            (Err(e), _) => {
                                tracing::debug!(%peer, error = %e, "connection ended with an error");
                            }
                            (Ok(()), None) => {}
                        }
                        *this.state = State::Done(PhantomData);
                        return Poll::Ready(());
                    }
                    let exchanges = this.activity.http1();
                    let over = !*this.stopping
                        && exchanges.finished.load(Ordering::Acquire) != *finished_before
                        && exchanges.can_wait();
                    if !over {
                        return Poll::Pending;
                    }
                    // Quiet for a whole period of the release timer: no exchange ended
                    // between its start and its end. No clock is read per request.
                    let finished = exchanges.finished.load(Ordering::Acquire);
                    let quiet = this.options.release_after_quiet;
                    let (timer, armed_at) = release
                        .get_or_insert_with(|| (Box::pin(tokio::time::sleep(quiet)), finished));
                    if timer.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    if finished != *armed_at {
                        *armed_at = finished;
                        timer.as_mut().reset(Instant::now() + quiet);
                        if timer.as_mut().poll(cx).is_pending() {
                            return Poll::Pending;
                        }
                    }
                    let (io, unparsed, service) = take_apart(this.state);
                    *this.state = if unparsed.is_empty() {
                        tracing::trace!(%peer, "exchange over; waiting for the next request with no buffer");
                        State::Waiting { io, service }
                    } else {
                        exchange(this.options, this.activity, io, unparsed, service)
                    };
                }
                State::Upgraded(running) => {
                    // Runs to its end: the lifetime's hard cut and the idle timeout
                    // still bound it.
                    ready!(running.as_mut().poll(cx));
                    *this.state = State::Done(PhantomData);
                    return Poll::Ready(());
                }
                State::Done(PhantomData) => return Poll::Ready(()),
            }
        }
    }
}

/// Takes the exchanging hyper connection in `state` apart (leaving `Done`): the socket,
/// the bytes hyper read but did not parse, and the service. The bytes are a copy: those
/// hyper hands back share its whole read buffer.
fn take_apart<S, B>(state: &mut State<S, B>) -> (TimedIo<TcpStream>, Bytes, Tracked<S>)
where
    S: Service<Request<Incoming>, Response = Response<B>> + Unpin,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let State::Exchanging { connection, .. } = std::mem::replace(state, State::Done(PhantomData))
    else {
        unreachable!("called only in the exchanging state")
    };
    let parts = connection.into_parts();
    let Watched { io, unparsed, .. } = parts.io.into_inner();
    let unparsed = [&parts.read_buf[..], &unparsed[..]].concat();
    (io, unparsed.into(), parts.service)
}

/// A hyper connection for the next exchange on `io`, reading `unparsed` first.
fn exchange<S, B>(
    options: &Http1Options,
    activity: &Activity,
    io: TimedIo<TcpStream>,
    unparsed: Bytes,
    service: Tracked<S>,
) -> State<S, B>
where
    S: Service<Request<Incoming>, Response = Response<B>> + Unpin,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: Body + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let exchanges = activity.http1();
    exchanges.read_pending.store(false, Ordering::Relaxed);
    exchanges.write_pending.store(false, Ordering::Relaxed);
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_timeout)
        .max_buf_size(options.max_buf_size)
        .keep_alive(true)
        .serve_connection(
            TokioIo::new(Watched {
                io,
                unparsed,
                activity: activity.clone(),
            }),
            service,
        );
    State::Exchanging {
        connection: Box::new(connection),
        finished_before: exchanges.finished.load(Ordering::Acquire),
        release: None,
    }
}

/// What the exchanges of one connection and hyper's use of its socket are doing,
/// shared by its service, its socket and its state machine (inside the connection's
/// [`Activity`], so that a connection has one shared allocation).
#[derive(Debug)]
pub(crate) struct Exchanges {
    /// Requests being served or answer bodies being sent.
    open: AtomicUsize,
    /// Exchanges over (the answer sent or dropped).
    finished: AtomicUsize,
    /// Whether the last request came with a body.
    last_had_body: AtomicBool,
    /// hyper's last read found nothing.
    read_pending: AtomicBool,
    /// hyper's last write or flush could not complete.
    write_pending: AtomicBool,
    /// What to run once a `101` answer is written ([`OnUpgrade`]).
    upgrade: std::sync::Mutex<Option<OnUpgrade>>,
}

impl Default for Exchanges {
    fn default() -> Self {
        Self {
            open: AtomicUsize::new(0),
            finished: AtomicUsize::new(0),
            last_had_body: AtomicBool::new(false),
            read_pending: AtomicBool::new(false),
            write_pending: AtomicBool::new(false),
            upgrade: std::sync::Mutex::new(None),
        }
    }
}

impl Exchanges {
    /// The function of the `101` answer just written, if one was.
    fn take_upgrade(&self) -> Option<Box<dyn FnOnce(Upgraded) -> UpgradedFuture + Send>> {
        self.upgrade
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take()?
            .take()
    }

    fn set_upgrade(&self, on_upgrade: OnUpgrade) {
        *self
            .upgrade
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(on_upgrade);
    }

    /// Whether the connection can go back to waiting: no exchange under way, hyper not
    /// left reading a body, waiting for input with nothing left to send.
    fn can_wait(&self) -> bool {
        self.open.load(Ordering::Acquire) == 0
            && !self.last_had_body.load(Ordering::Acquire)
            && self.read_pending.load(Ordering::Relaxed)
            && !self.write_pending.load(Ordering::Relaxed)
    }

    fn wrote<T>(&self, poll: Poll<T>) -> Poll<T> {
        self.write_pending
            .store(poll.is_pending(), Ordering::Relaxed);
        poll
    }
}

/// Held from a request's arrival until its answer is sent (or dropped).
#[derive(Debug)]
struct ExchangeGuard(Activity);

impl ExchangeGuard {
    fn begin(activity: &Activity, has_body: bool) -> Self {
        let exchanges = activity.http1();
        exchanges.last_had_body.store(has_body, Ordering::Release);
        exchanges.open.fetch_add(1, Ordering::AcqRel);
        Self(activity.clone())
    }
}

impl Drop for ExchangeGuard {
    fn drop(&mut self) {
        let exchanges = self.0.http1();
        exchanges.open.fetch_sub(1, Ordering::AcqRel);
        exchanges.finished.fetch_add(1, Ordering::AcqRel);
    }
}

/// The connection as one hyper connection sees it: first the bytes an earlier hyper
/// connection read but did not parse, then the socket; every operation recorded in
/// [`Exchanges`].
struct Watched {
    io: TimedIo<TcpStream>,
    unparsed: Bytes,
    activity: Activity,
}

/// Moves what fits of `first` (bytes already read from the socket) into `buf`; false
/// when there is nothing left, so the socket is read next.
fn read_first(first: &mut Bytes, buf: &mut ReadBuf<'_>) -> bool {
    if first.is_empty() {
        return false;
    }
    let n = first.len().min(buf.remaining());
    buf.put_slice(&first.split_to(n));
    true
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if read_first(&mut this.unparsed, buf) {
            return Poll::Ready(Ok(()));
        }
        let poll = Pin::new(&mut this.io).poll_read(cx, buf);
        this.activity
            .http1()
            .read_pending
            .store(poll.is_pending(), Ordering::Relaxed);
        poll
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        this.activity
            .http1()
            .wrote(Pin::new(&mut this.io).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        this.activity
            .http1()
            .wrote(Pin::new(&mut this.io).poll_write_vectored(cx, bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        this.activity
            .http1()
            .wrote(Pin::new(&mut this.io).poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// A service whose requests mark the connection busy until their response is ready,
/// and count as open exchanges until their answer body is sent.
struct Tracked<S> {
    inner: S,
    activity: Activity,
}

impl<S, B> Service<Request<Incoming>> for Tracked<S>
where
    S: Service<Request<Incoming>, Response = Response<B>>,
{
    type Response = Response<TrackedBody<B>>;
    type Error = S::Error;
    type Future = TrackedFuture<S::Future>;

    fn call(&self, req: Request<Incoming>) -> Self::Future {
        let exchange = ExchangeGuard::begin(&self.activity, !req.body().is_end_stream());
        TrackedFuture {
            busy: Some(self.activity.begin()),
            exchange: Some(exchange),
            inner: self.inner.call(req),
        }
    }
}

pin_project_lite::pin_project! {
    /// A request's future, holding the connection busy.
    struct TrackedFuture<F> {
        busy: Option<Busy>,
        exchange: Option<ExchangeGuard>,
        #[pin]
        inner: F,
    }
}

impl<F, B, E> Future for TrackedFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<TrackedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = std::task::ready!(this.inner.poll(cx));
        this.busy.take();
        let exchange = this.exchange.take();
        Poll::Ready(result.map(|mut response| {
            if response.status() == hyper::StatusCode::SWITCHING_PROTOCOLS
                && let Some(on_upgrade) = response.extensions_mut().remove::<OnUpgrade>()
                && let Some(exchange) = &exchange
            {
                exchange.0.http1().set_upgrade(on_upgrade);
            }
            response.map(|body| TrackedBody {
                _exchange: exchange,
                inner: body,
            })
        }))
    }
}

pin_project_lite::pin_project! {
    /// An answer body; its exchange is open until hyper drops it.
    struct TrackedBody<B> {
        _exchange: Option<ExchangeGuard>,
        #[pin]
        inner: B,
    }
}

impl<B: Body> Body for TrackedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        self.project().inner.poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
