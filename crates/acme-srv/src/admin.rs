//! The admin listener: Prometheus `/metrics` and `/healthz`.

use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Installs the process-wide Prometheus recorder.
pub(crate) fn install_metrics() -> anyhow::Result<PrometheusHandle> {
    Ok(PrometheusBuilder::new().install_recorder()?)
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
