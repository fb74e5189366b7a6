//! The shared rate limit on a real `redis-server` (Debian's package; `.ci/run` installs it).
//! Where it is not installed, these tests say so and pass only outside CI.

use std::{
    net::TcpListener,
    process::{Command, Stdio},
    time::Duration,
};

use omni_dbt::{Client, Error, RateLimit, Token};
use serde_json::json;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers};

use crate::common::*;

#[path = "../support/redis.rs"]
mod redis_server;
use redis_server::{REDIS_START, Redis, redis};

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

fn leasing(token: &str, store: &str) -> Client {
    Client::builder()
        .with_token(Token::organization_api_key(token))
        .with_base_url("http://127.0.0.1:9/api")
        .with_rate_limit_store(store)
        .build()
        .unwrap()
}

/// Two runs (clients that share only the store and the token) take one scope in turn: the
/// second waits until the first gives it back, and gets a larger fencing number; another
/// scope, or another token, does not wait; a holder that never gives it back makes a waiter
/// give up with `Busy` after its wait, having changed nothing.
#[tokio::test]
async fn a_lease_lets_one_run_at_a_time_change_a_scope() {
    let Some(redis) = redis() else { return };
    let captured = Captured::default();
    let _guard = captured.install();
    let a = leasing("omni_osk_lease", &redis.url);
    let b = leasing("omni_osk_lease", &redis.url);
    let mut first = a
        .lease("conn/file:x", Duration::from_secs(5))
        .await
        .unwrap();
    assert!(first.is_coordinated());
    assert!(!first.is_lost());
    let fence = first.fence().unwrap();

    // Another scope and another token are not held up.
    let other = b.lease("conn/file:y", Duration::ZERO).await.unwrap();
    assert!(other.is_coordinated());
    let elsewhere = leasing("omni_osk_other", &redis.url)
        .lease("conn/file:x", Duration::ZERO)
        .await
        .unwrap();
    assert!(elsewhere.is_coordinated());

    // Held: a run that cannot wait is told so.
    let started = std::time::Instant::now();
    let busy = b
        .lease("conn/file:x", Duration::from_millis(600))
        .await
        .unwrap_err();
    assert!(
        matches!(&busy, Error::Busy { scope, waited, .. } if scope == "conn/file:x" && *waited >= Duration::from_millis(600)),
        "{busy:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));

    // Given back while the second waits: it gets it, with a larger fencing number.
    let waiter = tokio::spawn({
        let b = b.clone();
        async move { b.lease("conn/file:x", Duration::from_secs(10)).await }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !waiter.is_finished(),
        "the second run waits while the first holds it"
    );
    first.release().await;
    let second = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("taken soon after the release")
        .unwrap()
        .unwrap();
    assert!(second.fence().unwrap() > fence);

    // Dropped (a run that ends without releasing it): given back all the same.
    drop(second);
    let third = tokio::time::timeout(
        Duration::from_secs(5),
        a.lease("conn/file:x", Duration::from_secs(5)),
    )
    .await
    .unwrap()
    .unwrap();
    assert!(third.is_coordinated());
    // Each wait is said once when it starts (not at every poll), and a wait that ended in the
    // lease says how long it took: the run that gave up, the waiter, and the third run when
    // the dropped lease's background release had not landed yet (timing decides).
    let said = captured.text();
    let waits = said
        .matches("another run holds the lease on \"conn/file:x\"")
        .count();
    let took = said
        .matches("took the lease on \"conn/file:x\" after")
        .count();
    assert!((2..=3).contains(&waits), "{said}");
    assert_eq!(
        took,
        waits - 1,
        "every wait but the one that gave up took it: {said}"
    );
    assert!(said.contains("waiting for it (at most 0.6 s)"), "{said}");
}

/// A held lease is renewed while it is held: twice its time to live later another run
/// still cannot take it. One whose key another holder took over (as after an expiry while the
/// store could not be reached) is marked lost at its next renewal, and its release leaves the
/// other holder's lease alone (compare and delete).
#[tokio::test]
async fn a_held_lease_is_renewed_and_one_taken_over_is_lost() {
    let Some(redis) = redis() else { return };
    let port = redis
        .url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    let cli = |args: &[&str]| {
        let out = Command::new("redis-cli")
            .args(["-p", &port])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    let a = leasing("omni_osk_renew", &redis.url);
    let b = leasing("omni_osk_renew", &redis.url);
    // Renewed every 2/3 s: slack for a loaded machine, and still short enough to show that
    // twice its time to live later it is held only because it was renewed.
    let ttl = Duration::from_secs(2);
    let mut held = a
        .lease_with_ttl("conn/preview:x", Duration::ZERO, ttl)
        .await
        .unwrap();
    assert!(held.is_coordinated());
    assert_eq!(held.scope(), "conn/preview:x");
    tokio::time::sleep(ttl * 2).await;
    assert!(!held.is_lost(), "renewed while held");
    let busy = b
        .lease_with_ttl("conn/preview:x", Duration::ZERO, ttl)
        .await
        .unwrap_err();
    assert!(matches!(busy, Error::Busy { .. }), "{busy:?}");

    let keys = cli(&["--scan", "--pattern", "omni-dbt:lease:*"]);
    let key = keys.lines().next().expect("the lease's key").to_owned();
    assert_eq!(
        cli(&["SET", &key, "another-holder:99", "PX", "60000"]),
        "OK"
    );
    tokio::time::sleep(ttl / 3 + Duration::from_millis(900)).await;
    assert!(held.is_lost(), "the next renewal finds it taken over");
    held.release().await;
    assert_eq!(
        cli(&["GET", &key]),
        "another-holder:99",
        "another's lease is left alone"
    );

    // A release is done when it returns (not left to a task): the key is gone at once.
    assert_eq!(cli(&["DEL", &key]), "1");
    let mut mine = a
        .lease_with_ttl("conn/preview:y", Duration::ZERO, ttl)
        .await
        .unwrap();
    assert!(!cli(&["--scan", "--pattern", "omni-dbt:lease:*"]).is_empty());
    mine.release().await;
    assert_eq!(
        cli(&["--scan", "--pattern", "omni-dbt:lease:*"]),
        "",
        "released at once"
    );
}

/// A lease whose store goes away is kept through renewals that fail for less than its time to
/// live (a store that comes back in time loses nothing), and is lost once a whole time to live
/// has passed without a renewal: another run may have taken it by then.
#[tokio::test]
async fn a_lease_is_lost_only_after_a_whole_time_to_live_without_the_store() {
    let Some(redis) = redis() else { return };
    let a = leasing("omni_osk_gone_store", &redis.url);
    let ttl = Duration::from_secs(3);
    let held = a
        .lease_with_ttl("conn/file:z", Duration::ZERO, ttl)
        .await
        .unwrap();
    assert!(held.is_coordinated());
    let taken = std::time::Instant::now();
    drop(redis);
    // The first renewal (after 1 s) fails: not lost yet.
    tokio::time::sleep(Duration::from_millis(1_800)).await;
    assert!(
        !held.is_lost(),
        "lost {:?} after the lease was taken, before a whole time to live",
        taken.elapsed()
    );
    // A whole time to live without a renewal: lost.
    tokio::time::sleep(Duration::from_millis(2_700)).await;
    assert!(
        held.is_lost(),
        "still held {:?} after the store went away",
        taken.elapsed()
    );
}

/// Without a store, or with one that cannot be reached, a lease is uncoordinated and returned
/// at once: nothing waits on a store that is not there.
#[tokio::test]
async fn without_a_reachable_store_a_lease_is_uncoordinated_at_once() {
    let plain = Client::builder()
        .with_token(Token::organization_api_key("omni_osk_plain"))
        .with_base_url("http://127.0.0.1:9/api")
        .build()
        .unwrap();
    let lease = plain.lease("s", Duration::from_secs(60)).await.unwrap();
    assert!(!lease.is_coordinated() && lease.fence().is_none() && !lease.is_lost());
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = std::time::Instant::now();
    let lease = leasing("omni_osk_gone", &format!("redis://127.0.0.1:{port}/"))
        .lease("s", Duration::from_secs(60))
        .await
        .unwrap();
    assert!(!lease.is_coordinated());
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// A store that accepts connections and never answers costs a request at most the store's
/// 250 ms bound (not more), is said once, and is not contacted again for the next calls (it
/// is skipped for 15 s after a failure): one connection in all.
#[tokio::test]
async fn a_silent_store_costs_one_bounded_wait_and_is_then_skipped() {
    let captured = Captured::default();
    let _guard = captured.install();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            // Kept open, never read or answered.
            held.push(socket);
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
    let client = Client::builder()
        .with_token(Token::organization_api_key("omni_osk_store_test_silent"))
        .with_base_url(server.uri())
        .with_rate_limit(RateLimit::per_minute(6000))
        .with_rate_limit_store(format!("redis://127.0.0.1:{port}/"))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    client
        .dbt_environments(id(CONN))
        .list()
        .send()
        .await
        .unwrap();
    let first = started.elapsed();
    assert!(
        first >= Duration::from_millis(240) && first < Duration::from_millis(1500),
        "the first call waits for the store's bound, no longer: {first:?}"
    );
    let started = std::time::Instant::now();
    for _ in 0..5 {
        client
            .dbt_environments(id(CONN))
            .list()
            .send()
            .await
            .unwrap();
    }
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "skipped, not waited on again: {:?}",
        started.elapsed()
    );
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    let log = captured.text();
    assert_eq!(
        log.matches("shared rate-limit store is unavailable")
            .count(),
        1,
        "{log}"
    );
    assert!(log.contains("did not answer within 250ms"), "{log}");
    let stats = client.stats();
    assert!(
        stats.store_configured && stats.store_unavailable >= 6,
        "{stats:?}"
    );
}

/// The shared schedule's burst: on a fresh key at 60/min with a burst of 5, four calls go at
/// once (one slot short of the burst, kept back for the jitter between machines) and the next
/// ones are spaced a second apart.
#[tokio::test]
async fn the_stores_burst_lets_four_go_at_once_then_spaces_them() {
    let Some(redis) = redis() else { return };
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        collection_path(),
        json_response(200, json!([])),
    )
    .await;
    let client = Client::builder()
        .with_token(Token::organization_api_key("omni_osk_store_test_burst"))
        .with_base_url(server.uri())
        .with_rate_limit(RateLimit::per_minute(60).with_burst(5))
        .with_rate_limit_store(&redis.url)
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let mut at = Vec::new();
    for _ in 0..6 {
        client
            .dbt_environments(id(CONN))
            .list()
            .send()
            .await
            .unwrap();
        at.push(started.elapsed());
    }
    assert!(at[3] < Duration::from_millis(500), "four at once: {at:?}");
    assert!(
        at[4] >= Duration::from_millis(900) && at[5] >= Duration::from_millis(1900),
        "then a second apart: {at:?}"
    );
    assert_eq!(client.stats().store_slots, 6);
}
