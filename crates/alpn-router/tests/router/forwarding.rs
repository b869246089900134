//! Carrying a connection: a ClientHello in many segments, PROXY protocol headers,
//! half-close, bulk data both ways, and the timeouts.

use std::time::Duration;

use config::ProxyProtocol;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::harness::*;

#[tokio::test]
async fn a_hello_in_one_byte_segments_is_routed() {
    let dns = dns().await;
    let www = Backend::start("www").await;
    let mut config = base_config(&dns);
    add_backend(
        &mut config,
        &["www.example.com"],
        www.addr,
        ProxyProtocol::Off,
    );
    let router = start(&config).await;

    let h = hello(Some("www.example.com"), &["h2"]);
    let mut stream = TcpStream::connect(router.addr).await.unwrap();
    stream.set_nodelay(true).unwrap();
    for byte in &h {
        stream.write_all(std::slice::from_ref(byte)).await.unwrap();
        // Each byte its own segment: the router reads and re-parses after each.
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    stream.shutdown().await.unwrap();
    assert_eq!(
        read_all(&mut stream).await,
        format!("www:{}", h.len()).as_bytes()
    );
    assert_eq!(www.received(), vec![h]);
}

#[tokio::test]
async fn proxy_protocol_headers_carry_the_client_address() {
    let dns = dns().await;
    let (v1, v2) = (Backend::start("v1").await, Backend::start("v2").await);
    let mut config = base_config(&dns);
    add_backend(
        &mut config,
        &["one.example.com"],
        v1.addr,
        ProxyProtocol::V1,
    );
    add_backend(
        &mut config,
        &["two.example.com"],
        v2.addr,
        ProxyProtocol::V2,
    );
    let router = start(&config).await;

    let h = hello(Some("one.example.com"), &[]);
    let mut stream = TcpStream::connect(router.addr).await.unwrap();
    let client = stream.local_addr().unwrap();
    stream.write_all(&h).await.unwrap();
    stream.shutdown().await.unwrap();
    read_all(&mut stream).await;
    let got = &v1.received()[0];
    let line = format!(
        "PROXY TCP4 127.0.0.1 127.0.0.1 {} {}\r\n",
        client.port(),
        router.addr.port()
    );
    assert_eq!(&got[..line.len()], line.as_bytes());
    assert_eq!(&got[line.len()..], &h[..]);

    let h = hello(Some("two.example.com"), &[]);
    let mut stream = TcpStream::connect(router.addr).await.unwrap();
    let client = stream.local_addr().unwrap();
    stream.write_all(&h).await.unwrap();
    stream.shutdown().await.unwrap();
    read_all(&mut stream).await;
    let got = &v2.received()[0];
    assert_eq!(&got[..12], b"\r\n\r\n\0\r\nQUIT\n");
    assert_eq!(&got[12..16], &[0x21, 0x11, 0, 12]);
    assert_eq!(&got[16..20], &[127, 0, 0, 1]);
    assert_eq!(&got[24..26], &client.port().to_be_bytes());
    assert_eq!(&got[26..28], &router.addr.port().to_be_bytes());
    assert_eq!(&got[28..], &h[..]);
}

/// A backend that sends `size` bytes as soon as it has the ClientHello, then reads
/// everything the client sends and answers with the count after the client's EOF.
async fn bulk_backend(size: usize) -> (std::net::SocketAddr, tokio::task::JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let (mut read, mut write) = stream.split();
        let send = async {
            let chunk = vec![7u8; 64 * 1024];
            let mut left = size;
            while left > 0 {
                let n = left.min(chunk.len());
                write.write_all(&chunk[..n]).await.unwrap();
                left -= n;
            }
        };
        let receive = async {
            let mut total = 0;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match read.read(&mut buf).await.unwrap() {
                    0 => break total,
                    n => total += n,
                }
            }
        };
        let ((), received) = tokio::join!(send, receive);
        write
            .write_all(format!("got:{received}").as_bytes())
            .await
            .unwrap();
        write.shutdown().await.unwrap();
        received
    });
    (addr, task)
}

#[tokio::test]
async fn bulk_both_ways_and_half_close() {
    let dns = dns().await;
    let down = 8 * 1024 * 1024;
    let up = 3 * 1024 * 1024;
    let (addr, backend) = bulk_backend(down).await;
    let mut config = base_config(&dns);
    add_backend(&mut config, &["bulk.example.com"], addr, ProxyProtocol::Off);
    let router = start(&config).await;

    let h = hello(Some("bulk.example.com"), &[]);
    let mut stream = TcpStream::connect(router.addr).await.unwrap();
    let (mut read, mut write) = stream.split();
    let send = async {
        write.write_all(&h).await.unwrap();
        let chunk = vec![1u8; 64 * 1024];
        for _ in 0..up / chunk.len() {
            write.write_all(&chunk).await.unwrap();
        }
        // Half-close: the backend still answers after our EOF.
        write.shutdown().await.unwrap();
    };
    let receive = async {
        let mut all = Vec::new();
        read.read_to_end(&mut all).await.unwrap();
        all
    };
    let ((), all) = tokio::time::timeout(Duration::from_secs(30), async {
        tokio::join!(send, receive)
    })
    .await
    .expect("the transfer finishes");
    assert_eq!(backend.await.unwrap(), h.len() + up);
    assert_eq!(all.len(), down + format!("got:{}", h.len() + up).len());
    assert!(all[..down].iter().all(|b| *b == 7));
    assert_eq!(&all[down..], format!("got:{}", h.len() + up).as_bytes());
}

#[tokio::test]
async fn a_client_that_never_finishes_its_hello_is_closed() {
    let dns = dns().await;
    let www = Backend::start("www").await;
    let mut config = base_config(&dns);
    add_backend(
        &mut config,
        &["www.example.com"],
        www.addr,
        ProxyProtocol::Off,
    );
    config.router.as_mut().unwrap().connections.request_timeout = Some(Duration::from_millis(300));
    let router = start(&config).await;
    let h = hello(Some("www.example.com"), &[]);
    let mut stream = TcpStream::connect(router.addr).await.unwrap();
    stream.write_all(&h[..h.len() / 2]).await.unwrap();
    let started = std::time::Instant::now();
    assert_eq!(read_all(&mut stream).await, b"");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(www.received().is_empty());
}

#[tokio::test]
async fn an_idle_tunnel_is_closed_after_the_idle_timeout() {
    let dns = dns().await;
    // A backend that keeps the connection open and silent.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let silent = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let mut buf = Vec::new();
        let _ = stream.read_to_end(&mut buf).await;
        buf.len()
    });
    let mut config = base_config(&dns);
    add_backend(&mut config, &["idle.example.com"], addr, ProxyProtocol::Off);
    config.router.as_mut().unwrap().connections.idle_timeout = Some(Duration::from_millis(400));
    let router = start(&config).await;
    let h = hello(Some("idle.example.com"), &[]);
    let mut stream = TcpStream::connect(router.addr).await.unwrap();
    stream.write_all(&h).await.unwrap();
    let started = std::time::Instant::now();
    assert_eq!(read_all(&mut stream).await, b"");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(350) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
    // The backend's side was closed too, after it got the hello.
    assert_eq!(silent.await.unwrap(), h.len());
}

#[tokio::test]
async fn one_client_holds_at_most_its_share() {
    let dns = dns().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let _holder = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    let mut config = base_config(&dns);
    add_backend(&mut config, &["www.example.com"], addr, ProxyProtocol::Off);
    config.router.as_mut().unwrap().connections.max_per_client = Some(2);
    let router = start(&config).await;
    let h = hello(Some("www.example.com"), &[]);
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(router.addr).await.unwrap();
        s.write_all(&h).await.unwrap();
        held.push(s);
    }
    // Wait until both are admitted and routed: the third is then refused with a reset.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = TcpStream::connect(router.addr).await.unwrap();
    let _ = third.write_all(&h).await;
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf))
        .await
        .unwrap();
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
}
