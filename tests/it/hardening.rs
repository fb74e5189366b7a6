//! Hostile answers cannot crash or freeze the client: absurd `Retry-After` values, servers that
//! always refuse, and budgets that must hold; and a DELETE's 404 after a retry means "deleted"
//! only when it should.

use std::time::{Duration, Instant};

use omni_dbt::{Client, Error, RateLimit, RetryPolicy, Token, Uuid};
use omni_dbt_fake::{FakeOmni, Fault, Operation};
use proptest::prelude::*;
use serde_json::json;
use wiremock::{Mock, MockServer, ResponseTemplate, matchers};

use crate::common::*;

const CAP: Duration = Duration::from_millis(300);

/// Pacing on (at 100 per second, so that spacing itself costs nothing here), small caps so
/// that the tests take a second, not an hour. Each test paces its own `token`: a process
/// shares one pace per token (as it must), so a test's 429s would hold back the tests that
/// run beside it on the same key (one holds back for up to 30 s).
fn paced_client(
    server: &MockServer,
    token: &str,
    policy: RetryPolicy,
    timeout: Duration,
) -> Client {
    Client::builder()
        .with_token(Token::organization_api_key(token))
        .with_base_url(server.uri())
        .with_rate_limit(RateLimit::per_minute(6000))
        .with_retry_policy(policy)
        .with_timeout(timeout)
        .build()
        .unwrap()
}

fn policy(budget: Duration) -> RetryPolicy {
    RetryPolicy::default()
        .with_base_delay(Duration::from_millis(5))
        .with_max_delay(Duration::from_millis(20))
        .with_max_retry_after(CAP)
        .with_total_budget(budget)
}

async fn answer_always(server: &MockServer, response: ResponseTemplate) {
    server.reset().await;
    Mock::given(matchers::any())
        .respond_with(response)
        .mount(server)
        .await;
}

async fn list(client: &Client) -> (omni_dbt::Result<omni_dbt::Page>, Duration) {
    let started = Instant::now();
    let result = client.dbt_environments(id(CONN)).list().send().await;
    (result, started.elapsed())
}

#[tokio::test]
async fn an_absurd_retry_after_neither_panics_nor_freezes_the_token() {
    let server = MockServer::start().await;
    let client = paced_client(
        &server,
        "omni_osk_hardening_absurd_retry_after",
        policy(Duration::from_secs(5)),
        Duration::from_secs(2),
    );
    for absurd in [
        "18446744073709551615",
        "3600",
        "Fri, 31 Dec 9999 23:59:59 GMT",
    ] {
        answer_always(
            &server,
            ResponseTemplate::new(429).insert_header("retry-after", absurd),
        )
        .await;
        let (result, took) = list(&client).await;
        assert!(
            matches!(result, Err(Error::RateLimited { .. })),
            "{absurd}: {result:?}"
        );
        assert!(
            took < Duration::from_secs(1),
            "{absurd}: the 429 took {took:?}"
        );
        // The token's schedule moved by at most the cap.
        answer_always(&server, json_response(200, json!([]))).await;
        let (result, took) = list(&client).await;
        assert!(result.is_ok(), "{absurd}: {result:?}");
        assert!(
            took < CAP + Duration::from_millis(400),
            "{absurd}: the next call waited {took:?}"
        );
    }
}

#[tokio::test]
async fn a_pacing_wait_beyond_the_budget_fails_at_once_and_sends_nothing() {
    let server = MockServer::start().await;
    let policy = RetryPolicy::default()
        .with_max_retry_after(Duration::from_secs(30))
        .with_total_budget(Duration::from_millis(200));
    let client = paced_client(
        &server,
        "omni_osk_hardening_pacing_beyond_budget",
        policy,
        Duration::from_secs(2),
    );
    answer_always(
        &server,
        ResponseTemplate::new(429).insert_header("retry-after", "20"),
    )
    .await;
    let (result, _) = list(&client).await;
    assert!(
        matches!(result, Err(Error::RateLimited { .. })),
        "{result:?}"
    );
    let sent = request_count(&server).await;

    let (result, took) = list(&client).await;
    match result {
        Err(e @ Error::LocallyRateLimited { .. }) => {
            assert!(e.to_string().contains("rate-limited locally"), "{e}");
            assert!(e.retry_after().unwrap() > Duration::from_secs(15), "{e:?}");
            assert!(e.is_retryable());
        }
        other => panic!("expected LocallyRateLimited, got {other:?}"),
    }
    assert!(took < Duration::from_millis(100), "{took:?}");
    assert_eq!(request_count(&server).await, sent, "nothing was sent");
}

#[tokio::test]
async fn the_budget_bounds_the_whole_call_attempts_and_waits_included() {
    let server = MockServer::start().await;
    let budget = Duration::from_millis(400);
    let timeout = Duration::from_millis(150);
    let client = paced_client(
        &server,
        "omni_osk_hardening_budget_bounds",
        policy(budget).with_max_attempts(50),
        timeout,
    );
    // Slow 503s, then answers that never come in time.
    answer_always(
        &server,
        ResponseTemplate::new(503).set_delay(Duration::from_millis(100)),
    )
    .await;
    let (result, took) = list(&client).await;
    assert!(
        matches!(result, Err(Error::Server { status: 503, .. })),
        "{result:?}"
    );
    assert!(
        took <= budget + timeout + Duration::from_millis(150),
        "{took:?}"
    );
    answer_always(
        &server,
        ResponseTemplate::new(200).set_delay(Duration::from_secs(5)),
    )
    .await;
    let (result, took) = list(&client).await;
    assert!(matches!(&result, Err(e) if e.is_timeout()), "{result:?}");
    assert!(
        took <= budget + timeout + Duration::from_millis(150),
        "{took:?}"
    );
}

fn hostile_retry_after() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        any::<u64>().prop_map(|n| Some(n.to_string())),
        (0u64..5).prop_map(|n| Some(n.to_string())),
        Just(Some("-1".to_owned())),
        Just(Some("1e9".to_owned())),
        Just(Some("Fri, 31 Dec 9999 23:59:59 GMT".to_owned())),
        Just(Some("Thu, 01 Jan 1970 00:00:00 GMT".to_owned())),
        "[ -~]{0,40}".prop_map(Some),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever status and `Retry-After` a server sends: no panic, the call returns within the
    /// budget plus one timeout, and the next call on the same client is not held back beyond
    /// the cap.
    #[test]
    fn arbitrary_statuses_and_retry_after_values_are_survived(
        status in prop_oneof![Just(429u16), Just(503), Just(502), Just(504), Just(500), 200u16..600],
        retry_after in hostile_retry_after(),
        delete in any::<bool>(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let server = MockServer::start().await;
            let budget = Duration::from_millis(400);
            let timeout = Duration::from_millis(200);
            let client = paced_client(&server, "omni_osk_hardening_arbitrary", policy(budget), timeout);
            let mut response = ResponseTemplate::new(status).set_body_string("{\"detail\": \"x\"}");
            if let Some(value) = &retry_after {
                response = response.insert_header("retry-after", value.as_str());
            }
            answer_always(&server, response).await;
            let started = Instant::now();
            let _ = if delete {
                client.dbt_environments(id(CONN)).delete(id(ENV)).send().await.map(|_| ())
            } else {
                client.dbt_environments(id(CONN)).list().send().await.map(|_| ())
            };
            let took = started.elapsed();
            prop_assert!(took <= budget + timeout + Duration::from_millis(200), "{took:?}");
            answer_always(&server, json_response(200, json!([]))).await;
            let (result, took) = list(&client).await;
            prop_assert!(result.is_ok(), "{result:?}");
            prop_assert!(took <= CAP + Duration::from_millis(300), "next call waited {took:?}");
            Ok(())
        })?;
    }
}

async fn fake_and_client() -> (FakeOmni, Client) {
    let fake = FakeOmni::builder()
        .without_rate_limit()
        .start()
        .await
        .unwrap();
    let client = Client::builder()
        .with_token(Token::organization_api_key(
            &fake.tokens().organization_api_key,
        ))
        .with_base_url(fake.base_url())
        .without_rate_limit()
        .with_retry_policy(policy(Duration::from_secs(5)))
        .build()
        .unwrap();
    (fake, client)
}

#[tokio::test]
async fn a_404_after_a_retry_is_deleted_only_when_it_is_about_the_environment() {
    let (fake, client) = fake_and_client().await;
    let gone = Uuid::new_v4();

    // First attempt: 404 is NotFound.
    let err = client
        .dbt_environments(fake.connection_id())
        .delete(gone)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");

    // A 503 (which may have been processed), then "dbt environment not found": deleted.
    fake.inject(Operation::Delete, Fault::status(503, 1));
    let deleted = client
        .dbt_environments(fake.connection_id())
        .delete(gone)
        .send()
        .await;
    assert!(deleted.is_ok(), "{deleted:?}");

    // A lost answer, then "Connection not found": still NotFound.
    fake.inject(Operation::Delete, Fault::DropConnection { times: 1 });
    let err = client
        .dbt_environments(Uuid::new_v4())
        .delete(gone)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { detail: Some(d), .. } if d == "Connection not found"),
        "{err:?}"
    );

    // A 429 (never processed) then 404: NotFound.
    fake.inject(Operation::Delete, Fault::rate_limited(1, Some(0)));
    let err = client
        .dbt_environments(fake.connection_id())
        .delete(gone)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

/// A loopback server that answers every request with `head` and then `body`, and keeps the
/// connection open for `hold` afterwards.
async fn raw_server(head: String, body: Vec<u8>, hold: std::time::Duration) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (head, body) = (head.clone(), body.clone());
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
                tokio::time::sleep(hold).await;
            });
        }
    });
    format!("http://{addr}")
}

fn capped_client(base: &str, timeout: std::time::Duration) -> omni_dbt::Client {
    omni_dbt::Client::builder()
        .with_token(omni_dbt::Token::organization_api_key(ORG_KEY))
        .with_base_url(base)
        .without_rate_limit()
        .without_retries()
        .with_timeout(timeout)
        .with_max_response_bytes(1024)
        .build()
        .unwrap()
}

#[tokio::test]
async fn an_oversized_answer_without_content_length_is_cut_at_the_cap() {
    // Chunked: no Content-Length to judge by; the body is counted as it arrives.
    let chunk = vec![b' '; 600];
    let mut body = Vec::new();
    for _ in 0..4 {
        body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        body.extend_from_slice(&chunk);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    let head =
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
    let base = raw_server(head.into(), body, std::time::Duration::from_millis(10)).await;
    let err = capped_client(&base, std::time::Duration::from_secs(10))
        .dbt_environments(id(CONN))
        .list()
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::ResponseTooLarge {
                status: 200,
                limit: 1024,
                ..
            }
        ),
        "{err:?}"
    );
}

/// An answer in several chunks under the cap is joined whole (the hook keeps one chunk as it
/// came, and joins more).
#[tokio::test]
async fn an_answer_in_several_chunks_is_read_whole() {
    let json = serde_json::to_vec(
        &serde_json::json!({"records": [environment_json()], "pageInfo":
        {"hasNextPage": false, "nextCursor": null, "pageSize": 20, "totalRecords": 1}}),
    )
    .unwrap();
    let mut body = Vec::new();
    for piece in json.chunks(7) {
        body.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        body.extend_from_slice(piece);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    let head =
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
    // hyper hands each chunk over as its own frame.
    let base = raw_server(head.into(), body, std::time::Duration::from_millis(10)).await;
    let client = omni_dbt::Client::builder()
        .with_token(omni_dbt::Token::organization_api_key(ORG_KEY))
        .with_base_url(&base)
        .without_rate_limit()
        .without_retries()
        .build()
        .unwrap();
    let page = client
        .dbt_environments(id(CONN))
        .list()
        .send()
        .await
        .unwrap();
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.records[0].name, "pr-42");
}

#[tokio::test]
async fn a_declared_oversized_answer_is_refused_before_its_body_is_read() {
    // Content-Length says 50 MB, one byte comes, and the server hangs up. The declared size is
    // enough to refuse: reading the body instead would end in a transport error.
    let head =
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 50000000\r\n\r\n";
    let base = raw_server(head.into(), b"[".to_vec(), std::time::Duration::ZERO).await;
    let err = capped_client(&base, std::time::Duration::from_secs(20))
        .dbt_environments(id(CONN))
        .list()
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::ResponseTooLarge {
                status: 200,
                limit: 1024,
                ..
            }
        ),
        "{err:?}"
    );
}

/// A whole call's deadline bounds pacing and backoff as well as the attempts: after a hostile
/// `Retry-After`, a client with a 1 s operation timeout neither waits 30 s to retry nor holds
/// the next call for 30 s; it ends with what it has, and sends nothing it cannot finish.
#[tokio::test]
async fn the_operation_timeout_bounds_backoff_and_pacing_waits() {
    let server = MockServer::start().await;
    Mock::given(matchers::method("GET"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "30")
                .set_body_json(json!({"detail": "slow down", "status": 429})),
        )
        .mount(&server)
        .await;
    // A token of its own: pacing is shared by every client of a token in the process, and
    // this test holds its token back for 30 s.
    let client = Client::builder()
        .with_token(Token::organization_api_key("omni_osk_deadline_test_only"))
        .with_base_url(server.uri())
        .with_rate_limit(RateLimit::per_minute(6000))
        .with_operation_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let list = || client.dbt_environments(id(CONN)).list().send();
    let err = list().await.unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { attempts: 1, .. }),
        "no retry after a wait the deadline cannot hold: {err:?}"
    );
    let err = list().await.unwrap_err();
    assert!(matches!(err, Error::LocallyRateLimited { .. }), "{err:?}");
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "the second call is held back locally, not sent"
    );
}

#[tokio::test]
async fn the_operation_timeout_cuts_an_attempt_short() {
    let server = MockServer::start().await;
    Mock::given(matchers::method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(20)))
        .mount(&server)
        .await;
    let client = Client::builder()
        .with_token(Token::organization_api_key(ORG_KEY))
        .with_base_url(server.uri())
        .without_rate_limit()
        .with_timeout(Duration::from_secs(60))
        .with_operation_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = client
        .dbt_environments(id(CONN))
        .list()
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: omni_dbt::TransportKind::Timeout,
                ..
            }
        ),
        "the 60 s attempt timeout gave way to the 300 ms call deadline: {err:?}"
    );
}
