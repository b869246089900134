//! Binding listeners: IPv6 sockets are IPv6-only so `0.0.0.0:80` and `[::]:80` can
//! both be bound, as the default configuration does.

use std::net::SocketAddr;

use socket2::{Domain, Socket, Type};
use tokio::net::TcpListener;

/// Binds `addr` for TCP with a backlog of 1024.
pub(crate) fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    socket.set_nonblocking(true)?;
    TcpListener::from_std(socket.into())
}

/// Binds `addr` for UDP (IPv6-only for IPv6 addresses).
pub(crate) fn bind_udp(addr: SocketAddr) -> std::io::Result<tokio::net::UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, None)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.bind(&addr.into())?;
    socket.set_nonblocking(true)?;
    tokio::net::UdpSocket::from_std(socket.into())
}

/// Binds `addr` for both UDP and TCP on one port (DNS serves both there).
///
/// With port 0 the kernel picks the UDP port, and that port may already be taken for
/// TCP (by any outgoing connection's ephemeral port), so a few fresh picks are tried
/// before giving up; a fixed port is tried once.
pub(crate) fn bind_udp_and_tcp(
    addr: SocketAddr,
) -> std::io::Result<(tokio::net::UdpSocket, TcpListener)> {
    const ATTEMPTS_FOR_PORT_ZERO: usize = 16;
    let attempts = if addr.port() == 0 {
        ATTEMPTS_FOR_PORT_ZERO
    } else {
        1
    };
    let mut last_error = None;
    for _ in 0..attempts {
        let udp = bind_udp(addr)?;
        match bind(udp.local_addr()?) {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => last_error = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last_error.unwrap_or_else(|| std::io::Error::other("no attempt made")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn port_zero_gives_one_port_for_udp_and_tcp() {
        let (udp, tcp) = bind_udp_and_tcp("127.0.0.1:0".parse().unwrap()).unwrap();
        assert_eq!(udp.local_addr().unwrap(), tcp.local_addr().unwrap());
        assert_ne!(udp.local_addr().unwrap().port(), 0);
    }

    #[tokio::test]
    async fn a_port_taken_for_tcp_is_an_error_for_a_fixed_port() {
        let taken = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let err = bind_udp_and_tcp(taken.local_addr().unwrap()).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    }
}
