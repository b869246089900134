//! A new configuration in place while connections are open: established tunnels keep
//! going, new connections follow the new table.

use std::time::Duration;

use config::ProxyProtocol;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::*;

#[tokio::test]
async fn an_open_tunnel_survives_a_reload_that_changes_its_backend() {
    let dns = dns().await;
    let (old, new) = (Backend::start("old").await, Backend::start("new").await);
    let mut config = base_config(&dns);
    add_backend(
        &mut config,
        &["www.example.com"],
        old.addr,
        ProxyProtocol::Off,
    );
    let router = start(&config).await;

    let h = hello(Some("www.example.com"), &[]);
    let mut open = TcpStream::connect(router.addr).await.unwrap();
    open.write_all(&h).await.unwrap();
    old.wait_for_connections(1).await;

    let mut config = base_config(&dns);
    add_backend(
        &mut config,
        &["www.example.com"],
        new.addr,
        ProxyProtocol::Off,
    );
    router.reload(&config);

    // A new connection follows the new table...
    assert_eq!(
        exchange(router.addr, &h).await,
        format!("new:{}", h.len()).as_bytes()
    );
    // ...and the one opened before still reaches the old backend, and ends normally.
    open.write_all(b"more").await.unwrap();
    open.shutdown().await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), open.read_to_end(&mut answer))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(answer, format!("old:{}", h.len() + 4).as_bytes());
}

#[tokio::test]
async fn shutdown_stops_accepting_and_lets_open_tunnels_finish() {
    let dns = dns().await;
    let web = Backend::start("web").await;
    let mut config = base_config(&dns);
    add_backend(
        &mut config,
        &["www.example.com"],
        web.addr,
        ProxyProtocol::Off,
    );
    let router = start(&config).await;
    let addr = router.addr;

    let h = hello(Some("www.example.com"), &[]);
    let mut open = TcpStream::connect(addr).await.unwrap();
    open.write_all(&h).await.unwrap();
    web.wait_for_connections(1).await;

    let stopping = tokio::spawn(router.shutdown());
    // The listener is closed at once...
    let refused = tokio::time::timeout(Duration::from_secs(5), async {
        while TcpStream::connect(addr).await.is_ok() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(
        refused.is_ok(),
        "the router still accepts after shutdown began"
    );
    // ...and the open tunnel still carries its last bytes and its answer.
    open.shutdown().await.unwrap();
    let mut answer = Vec::new();
    open.read_to_end(&mut answer).await.unwrap();
    assert_eq!(answer, format!("web:{}", h.len()).as_bytes());
    stopping.await.unwrap();
}
