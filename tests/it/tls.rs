//! The TLS stack is wired: an https request starts a real TLS handshake offering HTTP/1.1 (and
//! HTTP/2 with the `http2` feature), and a failed handshake is a transport error, not a panic.

use crate::common::*;
use omni_dbt::{Client, Error, Token};
use tokio::{io::AsyncReadExt, net::TcpListener};

#[tokio::test]
async fn https_sends_a_tls_client_hello_with_alpn_and_sni() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut hello = vec![0u8; 4096];
        let n = socket.read(&mut hello).await.unwrap();
        hello.truncate(n);
        hello // dropping the socket fails the handshake
    });
    let client = Client::builder()
        .with_token(Token::organization_api_key(ORG_KEY))
        .with_base_url(format!("https://localhost:{port}"))
        .build()
        .unwrap();
    let err = client
        .dbt_environments(id(CONN))
        .list()
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");

    let hello = server.await.unwrap();
    assert_eq!(hello[0], 0x16, "a TLS handshake record");
    assert_eq!(hello[5], 0x01, "a ClientHello");
    let contains = |needle: &[u8]| hello.windows(needle.len()).any(|w| w == needle);
    assert!(contains(b"localhost"), "SNI names the host");
    assert!(contains(b"\x08http/1.1"), "ALPN offers http/1.1");
    assert_eq!(
        contains(b"\x02h2"),
        cfg!(feature = "http2"),
        "ALPN offers h2 exactly with the http2 feature"
    );
    assert!(
        !contains(ORG_KEY.as_bytes()),
        "nothing but the handshake was sent"
    );
}
