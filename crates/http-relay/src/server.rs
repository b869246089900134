//! Serving the relay: `bounded-listener`'s HTTP/1 server (the caps and timeouts of
//! `[relay.connections]`) with [`inbound::handle`] for every request, and the
//! housekeeping the relay's state needs.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::{Relay, inbound};

pub use bounded_listener::http1::DRAIN_TIMEOUT;

/// Serves `relay` on every listener until `shutdown` completes, then stops accepting,
/// lets in-flight requests finish (up to [`DRAIN_TIMEOUT`]) and returns.
pub async fn run(
    relay: Arc<Relay>,
    listeners: Vec<TcpListener>,
    shutdown: impl Future<Output = ()>,
) {
    let stop = CancellationToken::new();
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
    let bounds = relay.bounds.clone();
    let options = relay.http1.clone();
    let make_service = move |peer| {
        let relay = relay.clone();
        hyper::service::service_fn(move |req| inbound::handle(relay.clone(), req, peer))
    };
    bounded_listener::http1::serve(listeners, bounds, options, make_service, shutdown).await;
    stop.cancel();
    housekeeping.abort();
}
