//! One `tracing` event per attempt, from the request hook, with OpenTelemetry's HTTP client
//! attribute names: operation, method, status, resend count, server and URL (without its
//! query), and the wait before a retry — and never the token.

use std::time::Duration;

use omni_dbt::{Client, RetryPolicy, Token};
use omni_dbt_fake::{FakeOmni, Fault, Operation};

use crate::common::Captured;

#[tokio::test]
async fn every_attempt_is_one_event_without_the_token() {
    let captured = Captured::default();
    let _guard = captured.install();

    let fake = FakeOmni::builder()
        .without_rate_limit()
        .start()
        .await
        .unwrap();
    fake.inject(Operation::Update, Fault::status(503, 1));
    let token = fake.tokens().organization_api_key.clone();
    let client = Client::builder()
        .with_token(Token::organization_api_key(&token))
        .with_base_url(fake.base_url())
        .without_rate_limit()
        .with_retry_policy(RetryPolicy::default().with_base_delay(Duration::from_millis(5)))
        .build()
        .unwrap();
    client
        .dbt_environments(fake.connection_id())
        .update(fake.default_environment())
        .partial()
        .name("traced")
        .send()
        .await
        .unwrap();

    let log = captured.text();
    let events: Vec<&str> = log.lines().filter(|l| l.contains("omni request")).collect();
    assert_eq!(events.len(), 2, "{log}");
    assert!(
        events[0].contains("operation=\"connections_dbt_environments_update\""),
        "{}",
        events[0]
    );
    assert!(
        events[0].contains("http.request.method=PUT")
            && events[0].contains("attempt=1")
            && events[0].contains("http.response.status_code=503")
            && !events[0].contains("http.request.resend_count")
            && events[0].contains("server.address=\"127.0.0.1\""),
        "{}",
        events[0]
    );
    let url = format!(
        "url.full=\"{}/v1/connections/{}/dbt/environments/{}\"",
        fake.base_url(),
        fake.connection_id(),
        fake.default_environment()
    );
    assert!(events[0].contains(&url), "{url} in {}", events[0]);
    assert!(
        events[0].contains("retry_in_ms="),
        "the first attempt says how long it waits: {}",
        events[0]
    );
    assert!(
        events[1].contains("attempt=2")
            && events[1].contains("http.response.status_code=200")
            && events[1].contains("http.request.resend_count=1"),
        "{}",
        events[1]
    );
    assert!(!events[1].contains("retry_in_ms="), "{}", events[1]);
    assert!(!log.contains(&token), "the token never reaches the log");
    // Both attempts ran in one span of the call, named and attributed as OpenTelemetry's HTTP
    // client conventions say; the second saw what the first recorded.
    for event in &events {
        assert!(
            event.contains("omni.request{otel.name=\"connections_dbt_environments_update\" otel.kind=\"client\" http.request.method=PUT server.address=\"127.0.0.1\"")
                && event.contains(&url),
            "{event}"
        );
    }
    assert!(
        events[1].contains("http.response.status_code=503")
            && events[1].matches("omni.request{").count() == 1,
        "{}",
        events[1]
    );
}
