//! Log setup: `RUST_LOG` filters (default [`DEFAULT_FILTER`]), text or JSON lines on stderr.

use config::LogFormat;
use tracing_subscriber::EnvFilter;

/// The filter without `RUST_LOG`: our own events at `info`; hickory's per-query `info`
/// lines (two per DNS query) only at `warn`, so a busy DNS server does not log each query.
pub(crate) const DEFAULT_FILTER: &str =
    "info,hickory_server=warn,hickory_proto=warn,hickory_net=warn";

/// Installs the global subscriber.
pub(crate) fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}
