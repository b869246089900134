//! Serving the relay: `bounded-listener`'s HTTP/1 server (the caps and timeouts of
//! `[relay.connections]`) with [`inbound::handle`] for every request, and the
//! housekeeping the relay's state needs.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{Relay, RelayHandle, inbound};

pub use bounded_listener::http1::DRAIN_TIMEOUT;

/// Serves `relay` on every listener until `shutdown` completes, then stops accepting,
/// lets in-flight requests finish (up to [`DRAIN_TIMEOUT`]) and returns.
pub async fn run(
    relay: Arc<Relay>,
    listeners: Vec<TcpListener>,
    shutdown: impl Future<Output = ()>,
) {
    run_reloadable(Arc::new(RelayHandle::from_arc(relay)), listeners, shutdown).await;
}

/// [`run`] for the relay in `handle`: each request takes the relay current when it
/// arrives, so [`RelayHandle::replace`] (a reload) takes effect at once without closing
/// a connection. The listeners keep the connection bounds of the relay at start.
pub async fn run_reloadable(
    handle: Arc<RelayHandle>,
    listeners: Vec<TcpListener>,
    shutdown: impl Future<Output = ()>,
) {
    let stop = CancellationToken::new();
    let housekeeping = {
        let handle = handle.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            // Idle target connections are closed within about twice their idle time;
            // idle app connections (kept 60 s) within a tick of it.
            let target_idle = handle.current().limits.target_idle;
            let mut pool_tick = tokio::time::interval(target_idle.max(Duration::from_secs(1)));
            loop {
                tokio::select! {
                    _ = tick.tick() => handle.current().forget_idle_clients(),
                    _ = pool_tick.tick() => {
                        let relay = handle.current();
                        relay.target_pool.close_expired();
                        if let Some(apps) = &relay.apps {
                            apps.pool.close_expired();
                        }
                    }
                    () = stop.cancelled() => break,
                }
            }
        })
    };
    let first = handle.current();
    let bounds = first.bounds.clone();
    let options = first.http1.clone();
    drop(first);
    let make_service = move |peer| {
        let handle = handle.clone();
        hyper::service::service_fn(move |req| inbound::handle(handle.current(), req, peer))
    };
    bounded_listener::http1::serve(listeners, bounds, options, make_service, shutdown).await;
    stop.cancel();
    housekeeping.abort();
}
