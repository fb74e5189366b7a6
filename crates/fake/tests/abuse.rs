//! The fake survives abusive clients: slow headers and bodies, oversized bodies, more
//! connections than it serves, huge fault counts, a long run (bounded journal), a shutdown
//! with requests in flight; and it answers protocol mistakes as HTTP says.

use std::time::{Duration, Instant};

use omni_dbt_fake::{FakeOmni, Fault, ListShape, Operation};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

async fn fake() -> FakeOmni {
    FakeOmni::builder()
        .without_rate_limit()
        .read_timeouts(Duration::from_millis(300), Duration::from_millis(300))
        .start()
        .await
        .unwrap()
}

/// Sends raw bytes and reads until the server closes or `wait` passes.
async fn raw(fake: &FakeOmni, request: &[u8], wait: Duration) -> String {
    let mut stream = TcpStream::connect(fake.addr()).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(wait, stream.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn head(fake: &FakeOmni, method: &str, path: &str, extra: &str) -> String {
    format!(
        "{method} {path} HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {}\r\n{extra}\r\n",
        fake.addr(),
        fake.tokens().organization_api_key
    )
}

fn environments(fake: &FakeOmni) -> String {
    format!(
        "/api/v1/connections/{}/dbt/environments",
        fake.connection_id()
    )
}

#[tokio::test]
async fn slow_headers_are_cut_off_and_a_slow_body_is_a_408() {
    let fake = fake().await;
    let started = Instant::now();
    let answer = raw(&fake, b"GET /api/v1/conn", Duration::from_secs(5)).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "headers never timed out"
    );
    assert!(!answer.contains("200"), "{answer}");

    let request = head(
        &fake,
        "POST",
        &environments(&fake),
        "content-type: application/json\r\ncontent-length: 100\r\n",
    ) + "{\"name\":";
    let answer = raw(&fake, request.as_bytes(), Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test]
async fn an_oversized_body_is_a_413_without_reading_it() {
    // Omni's own read timeouts (10 s): the 413 must not wait for them.
    let fake = FakeOmni::builder()
        .without_rate_limit()
        .start()
        .await
        .unwrap();
    let request = head(
        &fake,
        "POST",
        &environments(&fake),
        "content-type: application/json\r\ncontent-length: 2000000000\r\n",
    );
    let started = Instant::now();
    let answer = raw(&fake, request.as_bytes(), Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(1));

    // Chunked, with no length announced: cut off at the limit.
    let client = reqwest_client();
    let response = client
        .post(format!(
            "{}{}",
            base(&fake),
            "/v1/connections/x/dbt/environments"
        ))
        .bearer_auth(&fake.tokens().organization_api_key)
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            (0..40).map(|_| Ok::<_, std::io::Error>(vec![b' '; 64 * 1024])),
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
}

fn base(fake: &FakeOmni) -> String {
    fake.base_url().trim_end_matches("/api").to_owned() + "/api"
}

fn reqwest_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_for_a_slot() {
    let fake = FakeOmni::builder()
        .without_rate_limit()
        .max_connections(2)
        .start()
        .await
        .unwrap();
    let idle_a = TcpStream::connect(fake.addr()).await.unwrap();
    let idle_b = TcpStream::connect(fake.addr()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let request = head(&fake, "GET", &environments(&fake), "connection: close\r\n");
    let waited = raw(&fake, request.as_bytes(), Duration::from_millis(300)).await;
    assert_eq!(
        waited, "",
        "a third connection is not served while two are open"
    );
    drop(idle_a);
    let served = raw(&fake, request.as_bytes(), Duration::from_secs(5)).await;
    assert!(served.starts_with("HTTP/1.1 200"), "{served}");
    drop(idle_b);
}

#[tokio::test]
async fn a_huge_fault_count_costs_nothing_and_counts_down() {
    let fake = fake().await;
    let started = Instant::now();
    fake.inject(Operation::List, Fault::status(503, u32::MAX));
    // A count kept as a number returns at once; one entry per count (four billion) would not
    // return in seconds. The bound is loose so that a loaded CI machine cannot fail it.
    assert!(started.elapsed() < Duration::from_secs(5));
    let request = head(&fake, "GET", &environments(&fake), "connection: close\r\n");
    let answer = raw(&fake, request.as_bytes(), Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    fake.inject(Operation::Update, Fault::status(502, 1));
    fake.clear_faults();
    let answer = raw(&fake, request.as_bytes(), Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

#[tokio::test]
async fn the_journal_is_bounded_and_redacts_secret_values() {
    let fake = FakeOmni::builder()
        .without_rate_limit()
        .journal_capacity(5)
        .start()
        .await
        .unwrap();
    let client = reqwest_client();
    let url = format!(
        "{}/v1/connections/{}/dbt/environments",
        base(&fake),
        fake.connection_id()
    );
    let body = json!({"name": "s", "targetSchema": "s", "variables": [
        {"name": "PASSWORD", "value": "hunter2-secret", "isSecret": true},
        {"name": "PLAIN", "value": "visible", "isSecret": false}
    ]});
    let response = client
        .post(&url)
        .bearer_auth(&fake.tokens().organization_api_key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let entry = &fake.journal()[0];
    assert!(!entry.body.contains("hunter2-secret"), "{}", entry.body);
    assert!(!format!("{entry:?}").contains("hunter2-secret"));
    let logged: Value = entry.json().unwrap();
    assert_eq!(logged["variables"][0]["value"], "<redacted>");
    assert_eq!(logged["variables"][1]["value"], "visible");

    for _ in 0..7 {
        client
            .get(&url)
            .bearer_auth(&fake.tokens().organization_api_key)
            .send()
            .await
            .unwrap();
    }
    assert_eq!(fake.journal().len(), 5);
    assert_eq!(fake.journal_dropped(), 3);
}

/// The journal is bounded in bytes too: 80 bodies of almost 1 MiB keep at most 64 MiB.
#[tokio::test]
async fn the_journal_is_bounded_in_bytes() {
    let fake = FakeOmni::builder()
        .without_rate_limit()
        .start()
        .await
        .unwrap();
    let client = reqwest_client();
    let body = vec![b'x'; (1 << 20) - 16];
    for _ in 0..80 {
        let response = client
            .post(format!("{}/v1/nowhere", base(&fake)))
            .bearer_auth(&fake.tokens().organization_api_key)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
    }
    let journal = fake.journal();
    let held: usize = journal.iter().map(|e| e.body.len()).sum();
    assert!(held <= 64 << 20, "{held} bytes held");
    assert!(journal.len() >= 60, "{} entries", journal.len());
    assert_eq!(fake.journal_dropped() as usize + journal.len(), 80);
}

#[tokio::test]
async fn a_shutdown_lets_the_request_in_flight_finish() {
    let fake = fake().await;
    fake.inject(Operation::List, Fault::Latency(Duration::from_millis(300)));
    let request = head(&fake, "GET", &environments(&fake), "connection: close\r\n");
    let mut stream = TcpStream::connect(fake.addr()).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let addr = fake.addr();
    let started = Instant::now();
    fake.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(3));
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn protocol_mistakes_get_the_http_answer() {
    let fake = FakeOmni::builder()
        .without_rate_limit()
        .list_shape(ListShape::BareArray)
        .start()
        .await
        .unwrap();
    let client = reqwest_client();
    let token = fake.tokens().organization_api_key.clone();
    let url = format!(
        "{}/v1/connections/{}/dbt/environments",
        base(&fake),
        fake.connection_id()
    );

    // A method the path does not have: 405 with Allow.
    let response = client.patch(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, POST");

    // JSON sent as text/plain: refused, nothing created.
    let response = client
        .post(&url)
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body(json!({"name": "t", "targetSchema": "t"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(fake.environments(fake.connection_id()).len(), 1);

    // List parameters are validated in the bare-array shape too.
    for query in [
        "pageSize=0",
        "pageSize=101",
        "pageSize=abc",
        "sortDirection=AAA",
        "sortField=AAA",
    ] {
        let response = client
            .get(format!("{url}?{query}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{query}");
    }
}
