//! The PROXY protocol header (HAProxy's specification, versions 1 and 2) written to a
//! backend before the client's bytes, so the backend logs and filters by the real
//! client address instead of the router's.

use std::net::SocketAddr;

use config::ProxyProtocol;

/// The version 2 signature: `\r\n\r\n\0\r\nQUIT\n`.
const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// Version 2, command PROXY.
const V2_PROXY: u8 = 0x21;
/// Address family and transport: TCP over IPv4, TCP over IPv6.
const V2_TCP4: u8 = 0x11;
const V2_TCP6: u8 = 0x21;

/// Appends the header of `version` for a connection from `client` to `local` (the
/// router's own address the client reached) to `out`; nothing for [`ProxyProtocol::Off`].
pub fn write_header(
    version: ProxyProtocol,
    client: SocketAddr,
    local: SocketAddr,
    out: &mut Vec<u8>,
) {
    // One family for both ends: an IPv4 client on an IPv6 socket arrives IPv4-mapped.
    let (client, local) = (unmap(client), unmap(local));
    match version {
        ProxyProtocol::Off => {}
        ProxyProtocol::V1 => write_v1(client, local, out),
        ProxyProtocol::V2 => write_v2(client, local, out),
    }
}

fn unmap(addr: SocketAddr) -> SocketAddr {
    SocketAddr::new(addr.ip().to_canonical(), addr.port())
}

fn write_v1(client: SocketAddr, local: SocketAddr, out: &mut Vec<u8>) {
    use std::io::Write as _;
    let line = match (client, local) {
        (SocketAddr::V4(c), SocketAddr::V4(l)) => {
            write!(
                out,
                "PROXY TCP4 {} {} {} {}\r\n",
                c.ip(),
                l.ip(),
                c.port(),
                l.port()
            )
        }
        (SocketAddr::V6(c), SocketAddr::V6(l)) => {
            write!(
                out,
                "PROXY TCP6 {} {} {} {}\r\n",
                c.ip(),
                l.ip(),
                c.port(),
                l.port()
            )
        }
        // Mixed families cannot be expressed; the specification's answer is UNKNOWN.
        _ => out.write_all(b"PROXY UNKNOWN\r\n"),
    };
    debug_assert!(line.is_ok(), "writing to a Vec cannot fail");
}

fn write_v2(client: SocketAddr, local: SocketAddr, out: &mut Vec<u8>) {
    out.extend_from_slice(&V2_SIGNATURE);
    out.push(V2_PROXY);
    match (client, local) {
        (SocketAddr::V4(c), SocketAddr::V4(l)) => {
            out.push(V2_TCP4);
            out.extend_from_slice(&12u16.to_be_bytes());
            out.extend_from_slice(&c.ip().octets());
            out.extend_from_slice(&l.ip().octets());
            out.extend_from_slice(&c.port().to_be_bytes());
            out.extend_from_slice(&l.port().to_be_bytes());
        }
        (SocketAddr::V6(c), SocketAddr::V6(l)) => {
            out.push(V2_TCP6);
            out.extend_from_slice(&36u16.to_be_bytes());
            out.extend_from_slice(&c.ip().octets());
            out.extend_from_slice(&l.ip().octets());
            out.extend_from_slice(&c.port().to_be_bytes());
            out.extend_from_slice(&l.port().to_be_bytes());
        }
        _ => {
            // AF_UNSPEC with no address block: "the receiver must use the real
            // connection endpoints".
            out.push(0x00);
            out.extend_from_slice(&0u16.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(version: ProxyProtocol, client: &str, local: &str) -> Vec<u8> {
        let mut out = Vec::new();
        let parse = |a: &str| a.parse::<SocketAddr>().expect("an address");
        write_header(version, parse(client), parse(local), &mut out);
        out
    }

    #[test]
    fn v1_lines() {
        assert_eq!(
            header(ProxyProtocol::V1, "192.0.2.7:51000", "198.51.100.1:443"),
            b"PROXY TCP4 192.0.2.7 198.51.100.1 51000 443\r\n"
        );
        assert_eq!(
            header(
                ProxyProtocol::V1,
                "[2001:db8::7]:51000",
                "[2001:db8::1]:443"
            ),
            b"PROXY TCP6 2001:db8::7 2001:db8::1 51000 443\r\n"
        );
        // An IPv4 client on a dual-stack socket is written as IPv4.
        assert_eq!(
            header(
                ProxyProtocol::V1,
                "[::ffff:192.0.2.7]:1",
                "[::ffff:198.51.100.1]:443"
            ),
            b"PROXY TCP4 192.0.2.7 198.51.100.1 1 443\r\n"
        );
        assert_eq!(
            header(ProxyProtocol::V1, "192.0.2.7:1", "[2001:db8::1]:443"),
            b"PROXY UNKNOWN\r\n"
        );
    }

    #[test]
    fn v2_ipv4_and_ipv6() {
        let v4 = header(ProxyProtocol::V2, "192.0.2.7:51000", "198.51.100.1:443");
        let mut expected = V2_SIGNATURE.to_vec();
        expected.extend_from_slice(&[0x21, 0x11, 0, 12, 192, 0, 2, 7, 198, 51, 100, 1]);
        expected.extend_from_slice(&[0xc7, 0x38, 0x01, 0xbb]);
        assert_eq!(v4, expected);

        let v6 = header(ProxyProtocol::V2, "[2001:db8::7]:2", "[2001:db8::1]:443");
        assert_eq!(v6.len(), 16 + 36);
        assert_eq!(&v6[12..16], &[0x21, 0x21, 0, 36]);
        assert_eq!(v6[16 + 15], 7);
        assert_eq!(&v6[48..], &[0, 2, 0x01, 0xbb]);
    }

    #[test]
    fn off_writes_nothing() {
        assert!(header(ProxyProtocol::Off, "192.0.2.7:1", "198.51.100.1:443").is_empty());
    }
}
