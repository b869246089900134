//! Copying bytes both ways between the client and the backend (or challenge target)
//! once the route is chosen, with half-close handled and an idle timeout over both
//! directions.
//!
//! Each direction waits for readiness without a buffer and takes one only while bytes
//! are ready, so an idle tunnel holds no buffer at all (as nginx releases its buffers
//! while idle). When one side ends its sending (EOF), the other side's sending
//! half is shut down and the opposite direction goes on until it ends too.

use std::io;
use std::net::Shutdown;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

/// Bytes moved in one read; a read never takes more than is ready.
pub const CHUNK_BYTES: usize = 32 * 1024;

/// How a tunnel ended and what it carried.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Transferred {
    /// Bytes from the client to the backend (after the replayed first bytes).
    pub up: u64,
    /// Bytes from the backend to the client.
    pub down: u64,
}

/// Why a tunnel ended early.
#[derive(Debug, thiserror::Error)]
pub enum TunnelError {
    /// Neither side sent anything for the idle timeout.
    #[error("idle for {0:?}")]
    Idle(Duration),
    /// One direction carried more than the tunnel's byte limit.
    #[error("more than {0} bytes one way")]
    TooLarge(u64),
    /// A read or write failed (a reset, most often).
    #[error("{side}: {source}")]
    Io {
        /// `client` or `backend`.
        side: &'static str,
        /// The failure.
        source: io::Error,
    },
}

/// Copies between `client` and `backend` until both directions ended, one failed,
/// nothing moved for `idle`, or one direction carried more than `max_bytes`. What was
/// moved is returned even on error.
pub async fn run(
    client: &TcpStream,
    backend: &TcpStream,
    idle: Duration,
    max_bytes: Option<u64>,
) -> (Transferred, Option<TunnelError>) {
    let start = Instant::now();
    let last = AtomicU64::new(0);
    let up = AtomicU64::new(0);
    let down = AtomicU64::new(0);
    // The first failure ends both directions.
    let both = async {
        tokio::try_join!(
            pump(
                client,
                backend,
                ("client", "backend"),
                &up,
                start,
                &last,
                max_bytes
            ),
            pump(
                backend,
                client,
                ("backend", "client"),
                &down,
                start,
                &last,
                max_bytes
            ),
        )
    };
    let watchdog = async {
        loop {
            let since_start = Duration::from_millis(last.load(Ordering::Relaxed));
            let deadline = start + since_start + idle;
            if Instant::now() >= deadline {
                return;
            }
            tokio::time::sleep_until(deadline).await;
        }
    };
    let error = tokio::select! {
        result = both => result.err(),
        () = watchdog => Some(TunnelError::Idle(idle)),
    };
    let moved = Transferred {
        up: up.load(Ordering::Relaxed),
        down: down.load(Ordering::Relaxed),
    };
    (moved, error)
}

/// One direction: `from`'s bytes to `to` until `from` ends, then `to`'s sending half is
/// shut down.
async fn pump(
    from: &TcpStream,
    to: &TcpStream,
    (from_side, to_side): (&'static str, &'static str),
    moved: &AtomicU64,
    start: Instant,
    last: &AtomicU64,
    max_bytes: Option<u64>,
) -> Result<(), TunnelError> {
    let io_error = |side| move |source| TunnelError::Io { side, source };
    'ready: loop {
        from.readable().await.map_err(io_error(from_side))?;
        // A buffer only while bytes flow: taken when `from` is readable, reused while
        // reads find more, freed when a read would block. Not zeroed: the kernel fills it.
        let mut chunk = Vec::with_capacity(CHUNK_BYTES);
        loop {
            chunk.clear();
            match from.try_read_buf(&mut chunk) {
                Ok(0) => break 'ready,
                Ok(n) => {
                    // Checked before the bytes go on: nothing beyond the limit is sent.
                    let total = moved.load(Ordering::Relaxed) + n as u64;
                    if let Some(max) = max_bytes.filter(|max| total > *max) {
                        return Err(TunnelError::TooLarge(max));
                    }
                    write_all(to, &chunk).await.map_err(io_error(to_side))?;
                    moved.store(total, Ordering::Relaxed);
                    last.store(start.elapsed().as_millis() as u64, Ordering::Relaxed);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue 'ready,
                Err(e) => return Err(io_error(from_side)(e)),
            }
        }
    }
    // The other way may still carry data (an HTTP response after the request's FIN).
    match socket2::SockRef::from(to).shutdown(Shutdown::Write) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
        Err(e) => Err(io_error(to_side)(e)),
    }
}

/// Writes all of `bytes` to `to`, waiting for room as needed.
pub(crate) async fn write_all(to: &TcpStream, mut bytes: &[u8]) -> io::Result<()> {
    while !bytes.is_empty() {
        to.writable().await?;
        match to.try_write(bytes) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = &bytes[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
