//! The change listener: one connection per store that LISTENs on [`super::CHANNEL`] and
//! publishes every serial it hears on the store's change feed, so that commits of other
//! instances reach [`crate::RecordStore::subscribe`].
//!
//! Notifications are not queued for a session that is gone: whenever the listening
//! connection is (re)established, the serial is read *after* `LISTEN` took effect and
//! published, so a change committed during the gap is seen as a serial the follower has
//! not read yet, and it catches up through the change journal. While the server cannot
//! be reached, the listener tries again with back-off ([`FIRST_RETRY`] doubling up to
//! [`LAST_RETRY`]); it never gives up and never needs a restart.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPoolOptions};

use super::{ACQUIRE_TIMEOUT, CHANNEL, Connections};

/// The wait after the first failed attempt to listen.
pub(super) const FIRST_RETRY: Duration = Duration::from_millis(100);
/// The longest wait between two attempts.
pub(super) const LAST_RETRY: Duration = Duration::from_secs(5);

/// Listens until the task is aborted (when the store is dropped or closed).
pub(super) async fn follow(connections: Arc<Connections>) {
    // A pool of its own, so the listening connection never waits behind the store's
    // operations, and is re-established by sqlx's listener when it drops.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_lazy_with(connections.options.clone());
    let mut retry = FIRST_RETRY;
    loop {
        let Err(error) = listen(&connections, &pool, &mut retry).await;
        tracing::warn!(%error, "record store: cannot listen for changes of other instances; trying again in {retry:?}");
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(LAST_RETRY);
    }
}

/// Listens (sqlx's listener re-establishes a dropped connection by itself and reports
/// it) until an error; once listening, the next failure is retried after
/// [`FIRST_RETRY`] again.
async fn listen(
    connections: &Connections,
    pool: &sqlx::PgPool,
    retry: &mut Duration,
) -> Result<std::convert::Infallible, sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    catch_up(connections).await?;
    *retry = FIRST_RETRY;
    loop {
        match listener.try_recv().await? {
            Some(notification) => match notification.payload().parse::<u32>() {
                Ok(serial) => connections.announce(serial),
                Err(_) => tracing::warn!(
                    payload = notification.payload(),
                    "record store: a change notification without a serial"
                ),
            },
            None => {
                // The connection dropped and sqlx connected and listened again: what
                // was committed meanwhile was not announced.
                tracing::info!("record store: the listening connection was re-established");
                catch_up(connections).await?;
            }
        }
    }
}

/// Publishes the serial as it is now.
async fn catch_up(connections: &Connections) -> Result<(), sqlx::Error> {
    match connections.read_serial().await {
        Ok(serial) => {
            connections.announce(serial);
            Ok(())
        }
        Err(crate::StoreError::Database(error)) => Err(error),
        Err(other) => {
            // Corrupt serial row: nothing to publish; report it and go on listening.
            tracing::error!(error = %other, "record store: reading the serial failed");
            Ok(())
        }
    }
}
