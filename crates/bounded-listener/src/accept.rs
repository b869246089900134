//! The accept loop every listener shares: admission under the caps, back-off on accept
//! errors, the first-byte and idle timeouts on each stream, a lifetime bound per
//! connection, and connection metrics labelled by listener.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::admission::{Admission, Refused};
use crate::timed_io::{Activity, TimedIo};

/// How long a connection past its lifetime gets to finish the request it is serving
/// before it is dropped.
pub const LIFETIME_GRACE: Duration = Duration::from_secs(10);

/// The first back-off after a failed `accept(2)`; it doubles up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(5);
/// The longest pause after failed accepts (EMFILE, ENFILE, ENOBUFS, ENOMEM).
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Everything that bounds the connections of one listener (or of several sharing one
/// [`Admission`]).
#[derive(Debug, Clone)]
pub struct ListenerBounds {
    /// The listener's name in logs and metrics (`http`, `api`, `admin`, `dns-tcp`).
    pub name: &'static str,
    /// The global and per-client caps.
    pub admission: Admission,
    /// Time from accept to the client's first byte.
    pub first_byte_timeout: Duration,
    /// Time a connection may go without progress either way while no request is served.
    pub idle_timeout: Duration,
    /// Time a connection may stay open at all; it is then closed after the request in
    /// progress (within [`LIFETIME_GRACE`]).
    pub max_duration: Duration,
}

/// One admitted connection, handed to the listener's connection handler.
#[derive(Debug)]
pub struct Accepted {
    /// The stream, failing with `TimedOut` when a timeout passes.
    pub io: TimedIo<TcpStream>,
    /// The TCP peer.
    pub peer: SocketAddr,
    /// Mark the connection busy while serving a request (see [`Activity::begin`]).
    pub activity: Activity,
    /// When the connection should stop taking requests ([`ListenerBounds::max_duration`]
    /// after it was accepted).
    pub close_at: Instant,
}

/// Accepts connections on `listener` until `stop` is cancelled, handing each admitted
/// one to `serve` on a task of `tracker`. A refused connection is closed at once.
pub async fn accept_loop<F, Fut>(
    listener: TcpListener,
    bounds: Arc<ListenerBounds>,
    stop: CancellationToken,
    tracker: TaskTracker,
    serve: F,
) where
    F: Fn(Accepted) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    // Inherited by every accepted socket: answers are never held back by Nagle.
    if let Err(e) = socket2::SockRef::from(&listener).set_tcp_nodelay(true) {
        tracing::warn!(listener = bounds.name, error = %e, "cannot set TCP_NODELAY on a listener");
    }
    let metrics = ListenerMetrics::new(bounds.name);
    let mut backoff = FIRST_BACKOFF;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.cancelled() => return,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => {
                backoff = FIRST_BACKOFF;
                pair
            }
            Err(e) => {
                metrics.accept_errors.increment(1);
                if backoff == FIRST_BACKOFF || backoff == MAX_BACKOFF {
                    tracing::warn!(listener = bounds.name, error = %e, pause = ?backoff, "accept failed; pausing");
                }
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = stop.cancelled() => return,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        let admitted = match bounds.admission.try_admit(peer.ip()) {
            Ok(admitted) => admitted,
            Err(refused) => {
                metrics.refused(refused).increment(1);
                tracing::debug!(listener = bounds.name, %peer, reason = %refused, "connection refused");
                close_now(stream);
                continue;
            }
        };
        let activity = Activity::default();
        let accepted = Accepted {
            io: TimedIo::new(
                stream,
                bounds.first_byte_timeout,
                bounds.idle_timeout,
                activity.clone(),
            ),
            peer,
            activity,
            close_at: Instant::now() + bounds.max_duration,
        };
        let close_at = accepted.close_at;
        let activity = accepted.activity.clone();
        metrics.open.increment(1.0);
        tracker.spawn(Connection {
            serving: serve(accepted),
            lifetime: tokio::time::sleep_until(close_at),
            in_grace: false,
            activity,
            open: OpenConnection {
                gauge: metrics.open.clone(),
                _admitted: admitted,
            },
            listener: bounds.name,
        });
    }
}

pin_project_lite::pin_project! {
    /// One connection's task: the listener's handler under the connection's lifetime.
    /// At [`ListenerBounds::max_duration`] the handler is told
    /// ([`Activity::lifetime_over`]) and gets [`LIFETIME_GRACE`] to finish; then it is
    /// dropped. A plain future rather than an `async` block, which would keep the
    /// handler's future twice (as captured and as awaited) in every connection's task,
    /// with one timer for both deadlines.
    struct Connection<F> {
        #[pin]
        serving: F,
        #[pin]
        lifetime: tokio::time::Sleep,
        in_grace: bool,
        activity: Activity,
        open: OpenConnection,
        listener: &'static str,
    }
}

impl<F: Future<Output = ()>> Future for Connection<F> {
    type Output = ();

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        let mut this = self.project();
        loop {
            if this.serving.as_mut().poll(cx).is_ready() {
                return std::task::Poll::Ready(());
            }
            std::task::ready!(this.lifetime.as_mut().poll(cx));
            if *this.in_grace {
                tracing::debug!(
                    listener = *this.listener,
                    "connection closed at the end of its lifetime"
                );
                return std::task::Poll::Ready(());
            }
            // The lifetime is over: tell the handler, poll it again, and give it the
            // grace period.
            *this.in_grace = true;
            this.activity.end_lifetime();
            this.lifetime
                .as_mut()
                .reset(Instant::now() + LIFETIME_GRACE);
        }
    }
}

/// Counted in `acme_srv_connections_open` and holding its admission until dropped.
struct OpenConnection {
    gauge: metrics::Gauge,
    _admitted: crate::admission::Admitted,
}

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.gauge.decrement(1.0);
    }
}

/// Closes a refused connection with a reset, so its socket leaves no TIME_WAIT behind
/// and the client learns at once.
fn close_now(stream: TcpStream) {
    let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
    drop(stream);
}

/// `acme_srv_connections_open{listener}`, `acme_srv_connections_refused_total{listener,
/// reason}` and `acme_srv_accept_errors_total{listener}`.
struct ListenerMetrics {
    open: metrics::Gauge,
    refused_global: metrics::Counter,
    refused_per_client: metrics::Counter,
    accept_errors: metrics::Counter,
}

impl ListenerMetrics {
    fn new(name: &'static str) -> Self {
        let refused = |reason: Refused| metrics::counter!("acme_srv_connections_refused_total", "listener" => name, "reason" => reason.label());
        Self {
            open: metrics::gauge!("acme_srv_connections_open", "listener" => name),
            refused_global: refused(Refused::Global),
            refused_per_client: refused(Refused::PerClient),
            accept_errors: metrics::counter!("acme_srv_accept_errors_total", "listener" => name),
        }
    }

    fn refused(&self, refused: Refused) -> &metrics::Counter {
        match refused {
            Refused::Global => &self.refused_global,
            Refused::PerClient => &self.refused_per_client,
        }
    }
}
