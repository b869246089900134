//! The admin listener: Prometheus `/metrics` and `/healthz`.

use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How often histogram samples are folded into their summaries.
const METRICS_UPKEEP: std::time::Duration = std::time::Duration::from_secs(1);

/// Installs the process-wide Prometheus recorder, and its upkeep on the current runtime.
///
/// The exporter keeps every histogram sample (one per request) until the samples are
/// folded into the histogram's summary: on a scrape of `/metrics`, or by upkeep. Without
/// upkeep, a process nobody scrapes (no admin listener, or no Prometheus) grows by every
/// request it serves (about 19 bytes each: 13 MB per 700,000 keep-alive requests), so
/// upkeep runs every second until `shutdown` (at 140,000 requests/s, at most about
/// 2.7 MB of samples wait for it).
pub(crate) fn install_metrics(shutdown: CancellationToken) -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new().install_recorder()?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(METRICS_UPKEEP);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => upkeep.run_upkeep(),
                () = shutdown.cancelled() => break,
            }
        }
    });
    Ok(handle)
}

/// Serves the admin routes until `shutdown` is cancelled, under `options` (the caps and
/// timeouts of `[admin.connections]`).
pub(crate) async fn serve(
    listener: TcpListener,
    metrics: PrometheusHandle,
    options: management_api::ServeOptions,
    shutdown: CancellationToken,
) {
    let app = Router::new()
        .route(
            "/metrics",
            get(move || std::future::ready(metrics.render())),
        )
        .route("/healthz", get(|| std::future::ready("ok\n")));
    management_api::serve(vec![listener], app, options, shutdown.cancelled_owned()).await;
}
