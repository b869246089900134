//! Free loopback ports, for the listeners whose port must be known before the program
//! that binds it starts: acme-srv's DNS port (the relay's resolver is configured with
//! it), pebble's two listeners (pebble cannot report what it bound) and the ports the
//! ACME client will listen on (the demo's SRV records name them).
//!
//! Everything acme-srv binds otherwise uses port 0 and is read back from its log.
//!
//! A port is taken below the kernel's ephemeral range
//! (`/proc/sys/net/ipv4/ip_local_port_range`), so that no outgoing connection and no
//! bind to port 0 takes it between this choice and the program's own bind, and it is
//! returned only if it can be bound now (for the DNS port: UDP and TCP both).

use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::LabError;

/// The lowest port handed out: above the well-known and common service ports.
const FIRST: u32 = 10_000;

/// Calls so far in this process: successive calls walk through the ports.
static CALLS: AtomicU32 = AtomicU32::new(0);

/// A TCP port on 127.0.0.1 that is free now.
///
/// # Errors
///
/// When not even port 0 can be bound on 127.0.0.1 (no usable loopback).
pub(crate) fn free_tcp_port() -> Result<u16, LabError> {
    free_port(|port| TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok())
}

/// A port on 127.0.0.1 free now for both UDP and TCP (a DNS server's).
///
/// # Errors
///
/// As [`free_tcp_port`].
pub(crate) fn free_udp_and_tcp_port() -> Result<u16, LabError> {
    free_port(|port| {
        UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
            && TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok()
    })
}

fn free_port(is_free: impl Fn(u16) -> bool) -> Result<u16, LabError> {
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u32>().ok())
        .unwrap_or(32_768);
    if ephemeral_low > FIRST + 1_000 {
        let span = ephemeral_low - FIRST;
        let start = std::process::id().wrapping_mul(7_919) % span;
        for _ in 0..span {
            let call = CALLS.fetch_add(1, Ordering::Relaxed);
            let Ok(port) = u16::try_from(FIRST + (start + call) % span) else {
                continue;
            };
            if is_free(port) {
                return Ok(port);
            }
        }
    }
    // No room below the ephemeral range: the kernel's choice.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(LabError::NoFreePort)?;
    Ok(listener.local_addr().map_err(LabError::NoFreePort)?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_free_and_differ() -> Result<(), LabError> {
        let a = free_tcp_port()?;
        let b = free_udp_and_tcp_port()?;
        assert_ne!(a, b);
        assert!(TcpListener::bind((Ipv4Addr::LOCALHOST, a)).is_ok());
        assert!(UdpSocket::bind((Ipv4Addr::LOCALHOST, b)).is_ok());
        Ok(())
    }
}
