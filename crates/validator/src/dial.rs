//! One TCP connect with a time limit, from an optional source address, and the words
//! Boulder uses for its failures.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::{TcpSocket, TcpStream};

use crate::problem::Problem;

/// Why a connect failed.
#[derive(Debug)]
pub(crate) enum DialError {
    /// The time limit ran out.
    Timeout,
    /// The system refused.
    Io(io::Error),
}

impl DialError {
    /// The problem Boulder reports for it (`detailedError` in `va/va.go`).
    pub(crate) fn problem(&self) -> Problem {
        match self {
            Self::Timeout => {
                Problem::connection("Timeout during connect (likely firewall problem)")
            }
            Self::Io(e) => io_problem(e),
        }
    }
}

/// The problem Boulder reports for a socket error.
pub(crate) fn io_problem(e: &io::Error) -> Problem {
    let detail = match e.kind() {
        io::ErrorKind::ConnectionRefused => "Connection refused",
        io::ErrorKind::ConnectionReset => "Connection reset by peer",
        io::ErrorKind::NetworkUnreachable | io::ErrorKind::HostUnreachable => "Network unreachable",
        io::ErrorKind::TimedOut => "Timeout after connect (your server may be slow or overloaded)",
        _ => "Error getting validation data",
    };
    Problem::connection(detail)
}

/// Connects to `to` within `timeout`, from `source` when given (and of the same family).
pub(crate) async fn connect(
    to: SocketAddr,
    source: Option<IpAddr>,
    timeout: Duration,
) -> Result<TcpStream, DialError> {
    let attempt = async {
        let socket = match to {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        if let Some(source) = source.filter(|s| s.is_ipv4() == to.is_ipv4()) {
            socket.bind(SocketAddr::new(source, 0))?;
        }
        let stream = socket.connect(to).await?;
        stream.set_nodelay(true)?;
        Ok::<_, io::Error>(stream)
    };
    match tokio::time::timeout(timeout, attempt).await {
        Err(_) => Err(DialError::Timeout),
        Ok(Err(e)) => Err(DialError::Io(e)),
        Ok(Ok(stream)) => Ok(stream),
    }
}
