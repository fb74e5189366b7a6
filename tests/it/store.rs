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

/// A "store" that speaks Redis's protocol but answers the rate-limit script with nonsense: a
/// reserved slot 104 days away (`*2 :1 :9000000000000`). It is a store failure, warned about
/// once; nothing sleeps on it, and every request goes out paced locally.
#[tokio::test]
async fn a_hostile_stores_answer_is_never_slept_on() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let captured = Captured::default();
    let _guard = captured.install();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                // Each command is an array of bulk strings: `*N`, then `$len` and the text.
                while let Ok(Some(line)) = lines.next_line().await {
                    let Some(count) = line.strip_prefix('*').and_then(|n| n.parse::<usize>().ok())
                    else {
                        continue;
                    };
                    let mut words = Vec::new();
                    for _ in 0..count {
                        let _length = lines.next_line().await;
                        if let Ok(Some(word)) = lines.next_line().await {
                            words.push(word.to_ascii_uppercase());
                        }
                    }
                    let answer: &[u8] = if words.first().is_some_and(|w| w.starts_with("EVAL")) {
                        b"*2\r\n:1\r\n:9000000000000\r\n"
                    } else {
                        b"+OK\r\n"
                    };
                    if write.write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        collection_path(),
        json_response(200, json!([])),
    )
    .await;
    let client = stored(
        &server,
        "omni_osk_store_test_hostile",
        &format!("redis://127.0.0.1:{port}/?query-DO-NOT-PRINT=1"),
    );
    let started = std::time::Instant::now();
    for _ in 0..3 {
        tokio::time::timeout(
            Duration::from_secs(5),
            client.dbt_environments(id(CONN)).list().send(),
        )
        .await
        .expect("a call slept on the store's answer")
        .unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let log = captured.text();
    assert_eq!(
        log.matches("shared rate-limit store is unavailable")
            .count(),
        1,
        "{log}"
    );
    assert!(
        log.contains("9000000000000"),
        "the nonsense is named: {log}"
    );
    assert!(!log.contains("DO-NOT-PRINT"), "{log}");
}

/// `rediss://`: the shared limit over TLS, to a `redis-server` whose certificate a test CA
/// signed. The client trusts the system's roots, which `SSL_CERT_FILE` names: so the client
/// runs in a child process of this test binary with it set (a variable set in this process
/// would reach every test beside it).
#[test]
fn the_store_works_over_tls() {
    if let Ok(url) = std::env::var("OMNI_DBT_TEST_REDISS_URL") {
        return tls_child(&url);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        assert!(
            status.as_ref().is_ok_and(|s| s.success()),
            "openssl {args:?}: {status:?}"
        );
    };
    std::fs::write(path("ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        &path("ca.key"),
        "-out",
        &path("ca.crt"),
        "-days",
        "2",
        "-subj",
        "/CN=omni-dbt test CA",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        &path("srv.key"),
        "-out",
        &path("srv.csr"),
        "-subj",
        "/CN=127.0.0.1",
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        &path("srv.csr"),
        "-CA",
        &path("ca.crt"),
        "-CAkey",
        &path("ca.key"),
        "-CAcreateserial",
        "-out",
        &path("srv.crt"),
        "-days",
        "2",
        "-extfile",
        &path("ext"),
    ]);
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let Ok(child) = Command::new("redis-server")
        .args([
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .args([
            "--tls-cert-file",
            &path("srv.crt"),
            "--tls-key-file",
            &path("srv.key"),
        ])
        .args([
            "--tls-ca-cert-file",
            &path("ca.crt"),
            "--tls-auth-clients",
            "no",
        ])
        .args([
            "--save",
            "",
            "--appendonly",
            "no",
            "--logfile",
            &path("log"),
        ])
        .spawn()
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "redis-server is required in CI"
        );
        eprintln!("skipped: redis-server is not installed");
        return;
    };
    let mut server = Redis {
        child,
        url: String::new(),
    };
    let cli = |args: &[&str]| {
        Command::new("redis-cli")
            .args([
                "--tls",
                "--cacert",
                &path("ca.crt"),
                "-p",
                &port.to_string(),
            ])
            .args(args)
            .output()
            .unwrap()
    };
    let deadline = std::time::Instant::now() + REDIS_START;
    while String::from_utf8_lossy(&cli(&["PING"]).stdout).trim() != "PONG" {
        assert!(
            std::time::Instant::now() < deadline && server.child.try_wait().unwrap().is_none(),
            "the TLS redis-server did not start; its log:\n{}",
            std::fs::read_to_string(path("log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["store::the_store_works_over_tls", "--exact", "--nocapture"])
        .env(
            "OMNI_DBT_TEST_REDISS_URL",
            format!("rediss://127.0.0.1:{port}/"),
        )
        .env("SSL_CERT_FILE", path("ca.crt"))
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{said}");
    assert!(said.contains("1 passed"), "the child ran the test: {said}");
    // The schedule is in the TLS server: the client reached it over TLS.
    let keys = cli(&["--scan", "--pattern", "omni-dbt:rate:*"]);
    assert!(
        String::from_utf8_lossy(&keys.stdout).contains("omni-dbt:rate:"),
        "{said}\n{keys:?}"
    );
    let _ = server.child.kill();
    let _ = server.child.wait();
    server.url.clear();
}

/// The child of [`the_store_works_over_tls`]: three paced calls through the TLS store, no
/// warning that it was unavailable.
fn tls_child(url: &str) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
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
        let client = stored(&server, "omni_osk_store_test_tls", url);
        for _ in 0..3 {
            client
                .dbt_environments(id(CONN))
                .list()
                .send()
                .await
                .unwrap();
        }
        let log = captured.text();
        assert!(!log.contains("unavailable"), "{log}");
    });
}
