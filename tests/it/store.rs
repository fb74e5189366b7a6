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

/// How long a started `redis-server` may take to answer: generous, since CI runs this beside
/// the rest of the suite on two cores (it usually answers in about 15 ms).
const REDIS_START: Duration = Duration::from_secs(30);

/// Starts a `redis-server` on a loopback port nobody held a moment ago. The port is free when
/// chosen but may be taken before the server binds it (another test binds port 0 too): a server
/// that exits saying so is started again on another port. Ready means it answered `PING` with
/// `+PONG`, not merely that something accepted a connection on the port.
fn redis() -> Option<Redis> {
    for _ in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::env::temp_dir().join(format!(
            "omni-dbt-store-test-redis-{}-{port}.log",
            std::process::id()
        ));
        let child = match Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--logfile", log.to_str().unwrap()])
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
        let mut redis = Redis {
            child,
            url: format!("redis://127.0.0.1:{port}/"),
        };
        let deadline = std::time::Instant::now() + REDIS_START;
        let exited = loop {
            if answers_ping(port) {
                let _ = std::fs::remove_file(&log);
                return Some(redis);
            }
            if let Ok(Some(status)) = redis.child.try_wait() {
                break status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "redis-server did not answer PING on port {port} within {REDIS_START:?}; its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        let _ = std::fs::remove_file(&log);
        assert!(
            said.contains("Address already in use"),
            "redis-server exited ({exited}) on port {port}; its log:\n{said}"
        );
        eprintln!("port {port} was taken before redis-server bound it; trying another");
    }
    panic!("redis-server found every one of 5 free ports taken before it bound it");
}

/// Whether a Redis server answers `PING` on the loopback port, within a second.
fn answers_ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(
        &(std::net::Ipv4Addr::LOCALHOST, port).into(),
        Duration::from_secs(1),
    ) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let mut answer = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut answer).is_ok()
        && &answer == b"+PONG\r\n"
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
