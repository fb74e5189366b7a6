//! Helpers shared by the integration tests: a loopback mock of Omni and request assertions.

use omni_dbt::{Client, Token, Uuid};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, ResponseTemplate, matchers};

pub const ORG_KEY: &str = "omni_osk_test_org_key_DO_NOT_PRINT";
pub const PAT: &str = "omni_pat_test_personal_token_DO_NOT_PRINT";
pub const CONN: &str = "5b2f8e0c-2a4e-4c47-9a55-0f4a8d6e1b21";
pub const ENV: &str = "0d6c1f7e-8b7a-4f7e-9d0e-3c8e2a1b4f55";
pub const VAR_PLAIN: &str = "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f";
pub const VAR_SECRET: &str = "8d2e3f4a-5b6c-4d7e-9f8a-0b1c2d3e4f5a";
pub const OWNER: &str = "3f9a1b2c-4d5e-4f60-8a7b-9c0d1e2f3a4b";

pub fn id(s: &str) -> Uuid {
    Uuid::parse_str(s).unwrap()
}

pub fn collection_path() -> String {
    format!("/api/v1/connections/{CONN}/dbt/environments")
}

pub fn item_path() -> String {
    format!("/api/v1/connections/{CONN}/dbt/environments/{ENV}")
}

pub fn org_client(server: &MockServer) -> Client {
    client(server, Token::organization_api_key(ORG_KEY))
}

pub fn pat_client(server: &MockServer) -> Client {
    client(server, Token::personal_access_token(PAT))
}

/// A client for the mock: no pacing and no retries, so that each test sees exactly the
/// requests and the single answer it sets up (retries and pacing are tested against the fake).
pub fn client(server: &MockServer, token: Token) -> Client {
    Client::builder()
        .with_token(token)
        .with_base_url(server.uri())
        .without_rate_limit()
        .without_retries()
        .build()
        .unwrap()
}

/// A client of the fake with its Organization API key: no pacing, quick retries (the fake's
/// faults are retried in milliseconds).
pub fn fake_client(fake: &omni_dbt_fake::FakeOmni) -> Client {
    Client::builder()
        .with_token(Token::organization_api_key(
            &fake.tokens().organization_api_key,
        ))
        .with_base_url(fake.base_url())
        .without_rate_limit()
        .with_retry_policy(
            omni_dbt::RetryPolicy::default()
                .with_base_delay(std::time::Duration::from_millis(5))
                .with_max_delay(std::time::Duration::from_millis(20)),
        )
        .build()
        .unwrap()
}

/// The environment Omni answers with, as documented (variables as an array).
pub fn environment_json() -> Value {
    json!({
        "id": ENV,
        "name": "pr-42",
        "isDefaultEnvironment": false,
        "ownerId": null,
        "targetDatabase": "analytics",
        "targetName": null,
        "targetRole": "TRANSFORMER",
        "targetSchema": "dbt_pr_42",
        "variables": [
            {"id": VAR_PLAIN, "name": "DBT_TARGET", "value": "ci", "isSecret": false},
            {"id": VAR_SECRET, "name": "DBT_PASSWORD", "value": null, "isSecret": true}
        ]
    })
}

/// Answers every request to `method path` with `response`.
pub async fn answer(server: &MockServer, method: &str, path: String, response: ResponseTemplate) {
    Mock::given(matchers::method(method))
        .and(matchers::path(path))
        .respond_with(response)
        .mount(server)
        .await;
}

pub fn json_response(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(body)
}

/// The one request the server received.
pub async fn only_request(server: &MockServer) -> Request {
    let mut requests = server.received_requests().await.unwrap();
    assert_eq!(
        requests.len(),
        1,
        "expected exactly one request, got {}",
        requests.len()
    );
    requests.remove(0)
}

pub async fn request_count(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

/// Asserts method, path, query and the exact header set a request carries.
pub fn assert_request(req: &Request, method: &str, path: &str, query: Option<&str>, token: &str) {
    assert_eq!(req.method.as_str(), method);
    assert_eq!(req.url.path(), path);
    assert_eq!(req.url.query(), query);
    let header = |name: &str| {
        req.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(header("authorization"), Some(format!("Bearer {token}")));
    assert_eq!(
        header("user-agent"),
        Some(format!("omni-dbt/{}", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(header("accept"), Some("application/json".to_owned()));
    assert_eq!(
        header("api-version"),
        None,
        "undocumented header must not be sent"
    );
    let has_body = !req.body.is_empty();
    assert_eq!(
        header("content-type"),
        has_body.then(|| "application/json".to_owned()),
        "content-type only with a body"
    );
    let mut names: Vec<&str> = req.headers.keys().map(|k| k.as_str()).collect();
    names.sort_unstable();
    let mut expected = vec!["accept", "authorization", "host", "user-agent"];
    if has_body {
        expected.extend(["content-length", "content-type"]);
    }
    expected.sort_unstable();
    assert_eq!(names, expected, "unexpected header set");
}

pub fn body(req: &Request) -> Value {
    serde_json::from_slice(&req.body).expect("request body is JSON")
}

/// Everything `tracing` writes while installed, as text.
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Installs a debug-level subscriber writing here, for the current thread.
    pub fn install(&self) -> tracing::subscriber::DefaultGuard {
        let writer = self.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::set_default(subscriber)
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}
