//! The shared rate limit on a real `redis-server` (Debian's package; `.ci/run` installs it).
//! Where it is not installed, these tests say so and pass only outside CI.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::Duration,
};

use omni_dbt::{Client, Error, RateLimit, Token};
use serde_json::json;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers};

use crate::common::*;

/// A `redis-server` of this test's own on a free loopback port, stopped when dropped.
struct Redis {
    child: Child,
    url: String,
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn redis() -> Option<Redis> {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = match Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "redis-server is required in CI: {e}"
            );
            eprintln!("skipped: redis-server is not installed ({e})");
            return None;
        }
    };
    let redis = Redis {
        child,
        url: format!("redis://127.0.0.1:{port}/"),
    };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(redis);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("redis-server did not start on port {port}");
}

fn stored(server: &MockServer, token: &str, store: &str) -> Client {
    Client::builder()
        .with_token(Token::organization_api_key(token))
        .with_base_url(server.uri())
        .with_rate_limit(RateLimit::per_minute(6000))
        .with_rate_limit_store(store)
        .with_operation_timeout(Duration::from_millis(800))
        .build()
        .unwrap()
}

/// A 429 seen by one client holds back another that shares nothing with it but the store and
/// the token (as another process would): its next call is not sent.
#[tokio::test]
async fn a_429_seen_by_one_process_holds_back_every_process_on_the_key() {
    let Some(redis) = redis() else { return };
    let server = MockServer::start().await;
    Mock::given(matchers::method("GET"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "5")
                .set_body_json(json!({"detail": "slow down", "status": 429})),
        )
        .mount(&server)
        .await;
    let token = "omni_osk_store_test_hold";
    // Different limits: no local schedule is shared between the two.
    let first = stored(&server, token, &redis.url);
    let second = Client::builder()
        .with_token(Token::organization_api_key(token))
        .with_base_url(server.uri())
        .with_rate_limit(RateLimit::per_minute(5999))
        .with_rate_limit_store(&redis.url)
        .with_operation_timeout(Duration::from_millis(800))
        .build()
        .unwrap();
    let err = first
        .dbt_environments(id(CONN))
        .list()
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    let err = second
        .dbt_environments(id(CONN))
        .list()
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LocallyRateLimited { .. }), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    // A client on another token is not held back.
    let other = stored(&server, "omni_osk_store_test_other", &redis.url);
    let err = other
        .dbt_environments(id(CONN))
        .list()
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
}

/// An unreachable store never fails a request: it is warned about once, and pacing is local.
#[tokio::test]
async fn an_unreachable_store_is_warned_about_once_and_never_fails_a_request() {
    let captured = Captured::default();
    let _guard = captured.install();
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        collection_path(),
        json_response(200, json!([])),
    )
    .await;
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = stored(
        &server,
        "omni_osk_store_test_down",
        &format!("redis://user:store-password-DO-NOT-PRINT@127.0.0.1:{closed}/"),
    );
    for _ in 0..3 {
        client
            .dbt_environments(id(CONN))
            .list()
            .send()
            .await
            .unwrap();
    }
    let log = captured.text();
    assert_eq!(
        log.matches("shared rate-limit store is unavailable")
            .count(),
        1,
        "{log}"
    );
    assert!(!log.contains("store-password"), "{log}");
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[test]
fn a_store_that_is_not_redis_is_a_configuration_error() {
    let err = Client::builder()
        .with_token(Token::organization_api_key("t"))
        .with_instance("acme")
        .with_rate_limit_store("http://127.0.0.1:6379/")
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, Error::Config { message, .. } if message.contains("redis://")),
        "{err:?}"
    );
}
