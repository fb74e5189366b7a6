//! Every documented error status, and every way a response or the transport can fail, maps to
//! the `Error` variant a caller can act on.

use std::time::Duration;

use crate::common::*;
use omni_dbt::{Client, Error, Token, TransportKind};
use serde_json::json;
use wiremock::{MockServer, ResponseTemplate};

async fn update_answered_with(response: ResponseTemplate) -> Error {
    let server = MockServer::start().await;
    answer(&server, "PUT", item_path(), response).await;
    let err = org_client(&server)
        .dbt_environments(id(CONN))
        .update(id(ENV))
        .partial()
        .name("x")
        .send()
        .await
        .unwrap_err();
    assert_eq!(request_count(&server).await, 1);
    err
}

fn omni_error(status: u16, detail: &str) -> ResponseTemplate {
    json_response(status, json!({"detail": detail, "status": status}))
}

#[tokio::test]
async fn documented_statuses_map_to_their_variants_with_omnis_detail() {
    let err = update_answered_with(omni_error(400, "targetSchema: too short")).await;
    assert!(
        matches!(&err, Error::BadRequest { detail: Some(d), .. } if d == "targetSchema: too short")
    );
    assert_eq!(
        err.to_string(),
        "bad request (400): targetSchema: too short"
    );

    let err = update_answered_with(omni_error(401, "Authentication required")).await;
    assert!(
        matches!(&err, Error::Unauthorized { detail: Some(d), .. } if d == "Authentication required")
    );

    let err = update_answered_with(omni_error(403, "Permission denied")).await;
    assert!(matches!(&err, Error::Forbidden { .. }));
    assert!(err.to_string().contains("Connection Admin"), "{err}");
    assert_eq!(err.detail(), Some("Permission denied"));

    let err = update_answered_with(omni_error(404, "dbt environment not found")).await;
    assert!(
        matches!(&err, Error::NotFound { detail: Some(d), .. } if d == "dbt environment not found")
    );
    assert_eq!(err.status(), Some(404));
    // What was not found, from the path asked for.
    assert_eq!(
        err.to_string(),
        format!(
            "not found (404): no such connection {CONN} or dbt environment {ENV}: dbt \
             environment not found"
        )
    );
    // A header of the server's cannot say otherwise.
    let err = update_answered_with(
        omni_error(404, "gone").insert_header("x-omni-dbt-path", "/api/v1/models/forged"),
    )
    .await;
    assert!(
        err.to_string().contains(&format!(
            "no such connection {CONN} or dbt environment {ENV}"
        )),
        "{err}"
    );
}

/// A 404 names the resource by the path asked for: a model (its exposures, through the
/// generated client too), a model's branch (decoded, quoted), a connection's dbt configuration.
#[tokio::test]
async fn a_404_names_what_was_asked_for() {
    let server = MockServer::start().await;
    let model = "9e1f0a2b-3c4d-4e5f-8a6b-7c8d9e0f1a2b";
    answer(
        &server,
        "GET",
        format!("/api/v1/models/{model}/dbt-exposures"),
        omni_error(404, "Model not found"),
    )
    .await;
    answer(
        &server,
        "DELETE",
        format!("/api/v1/models/{model}/branch/feature%2Fa%20b"),
        omni_error(404, "Branch not found"),
    )
    .await;
    answer(
        &server,
        "GET",
        format!("/api/v1/connections/{CONN}/dbt"),
        omni_error(404, "not configured"),
    )
    .await;
    let client = org_client(&server);
    let err = client
        .model(id(model))
        .dbt_exposures()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("not found (404): no such model {model}: Model not found")
    );
    let err: Error = client
        .api()
        .models_dbt_exposures()
        .model_id(id(model))
        .send()
        .await
        .unwrap_err()
        .into();
    assert!(
        err.to_string()
            .starts_with(&format!("not found (404): no such model {model}")),
        "{err}"
    );
    let err = client
        .model(id(model))
        .branch("feature/a b")
        .delete()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "not found (404): no such model {model} or its branch \"feature/a b\": Branch not found"
        )
    );
    let err = client.dbt(id(CONN)).config().send().await.unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "not found (404): no such connection {CONN} or its dbt configuration"
        )),
        "{err}"
    );
}

#[tokio::test]
async fn rate_limits_carry_retry_after_in_both_forms() {
    let err = update_answered_with(
        omni_error(429, "Too many requests").insert_header("Retry-After", "7"),
    )
    .await;
    assert!(
        matches!(&err, Error::RateLimited { retry_after: Some(d), .. } if *d == Duration::from_secs(7))
    );
    assert!(err.is_retryable());

    let when = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(120));
    let err = update_answered_with(
        omni_error(429, "slow down").insert_header("Retry-After", when.as_str()),
    )
    .await;
    let wait = err.retry_after().expect("an HTTP-date Retry-After is read");
    assert!(
        wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
        "{wait:?}"
    );

    let err = update_answered_with(omni_error(429, "no header")).await;
    assert!(matches!(
        &err,
        Error::RateLimited {
            retry_after: None,
            detail: Some(_),
            attempts: 1,
            ..
        }
    ));
}

#[tokio::test]
async fn server_errors_keep_status_and_detail() {
    let err = update_answered_with(omni_error(500, "boom")).await;
    assert!(
        matches!(&err, Error::Server { status: 500, detail: Some(d), attempts: 1, .. } if d == "boom")
    );
    assert!(!err.is_retryable());

    let err = update_answered_with(
        ResponseTemplate::new(503).set_body_string("<html>unavailable</html>"),
    )
    .await;
    assert!(
        matches!(&err, Error::Server { status: 503, detail: Some(d), attempts: 1, .. } if d.contains("unavailable"))
    );
    assert!(err.is_retryable());

    let err = update_answered_with(ResponseTemplate::new(502)).await;
    assert!(matches!(
        &err,
        Error::Server {
            status: 502,
            detail: None,
            attempts: 1,
            ..
        }
    ));
}

#[tokio::test]
async fn documented_error_statuses_without_omnis_body_still_map_by_status() {
    let err = update_answered_with(ResponseTemplate::new(401)).await;
    assert!(
        matches!(&err, Error::Unauthorized { detail: None, .. }),
        "{err:?}"
    );

    let err = update_answered_with(ResponseTemplate::new(404).set_body_string("not found")).await;
    assert!(
        matches!(&err, Error::NotFound { detail: Some(d), .. } if d == "not found"),
        "{err:?}"
    );

    let err = update_answered_with(json_response(400, json!({"detail": "only detail"}))).await;
    assert!(
        matches!(&err, Error::BadRequest { detail: Some(d), .. } if d == "only detail"),
        "{err:?}"
    );

    let err =
        update_answered_with(ResponseTemplate::new(429).insert_header("Retry-After", "3")).await;
    assert_eq!(err.retry_after(), Some(Duration::from_secs(3)), "{err:?}");
}

#[tokio::test]
async fn undocumented_statuses_are_unexpected() {
    let err = update_answered_with(omni_error(409, "conflict")).await;
    assert!(
        matches!(&err, Error::UnexpectedResponse { status: 409, detail: Some(d), .. } if d == "conflict")
    );

    // Redirects are not followed: the token must not travel to another host.
    let err = update_answered_with(
        ResponseTemplate::new(302).insert_header("Location", "https://evil.example/"),
    )
    .await;
    assert!(
        matches!(&err, Error::UnexpectedResponse { status: 302, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_undecodable_success_body_reports_status_and_a_bounded_snippet() {
    let err =
        update_answered_with(ResponseTemplate::new(200).set_body_string("not json at all")).await;
    match &err {
        Error::Undecodable {
            status, snippet, ..
        } => {
            assert_eq!(*status, 200);
            assert_eq!(snippet, "not json at all");
        }
        other => panic!("expected Undecodable, got {other:?}"),
    }

    let huge = format!("{{\"id\": 5, \"pad\": \"{}\"}}", "x".repeat(100_000));
    let err = update_answered_with(ResponseTemplate::new(200).set_body_string(huge)).await;
    match &err {
        Error::Undecodable { snippet, .. } => {
            assert!(
                snippet.len() < 300,
                "snippet is bounded: {} bytes",
                snippet.len()
            );
            assert!(snippet.ends_with("bytes)"), "{snippet}");
        }
        other => panic!("expected Undecodable, got {other:?}"),
    }

    let wrong_shape = json_response(
        200,
        json!({"id": "not-a-uuid", "name": "x", "targetSchema": "s"}),
    );
    assert!(matches!(
        update_answered_with(wrong_shape).await,
        Error::Undecodable { status: 200, .. }
    ));
}

#[tokio::test]
async fn a_slow_answer_is_a_timeout() {
    let server = MockServer::start().await;
    answer(
        &server,
        "PUT",
        item_path(),
        json_response(200, environment_json()).set_delay(Duration::from_secs(5)),
    )
    .await;
    let client = Client::builder()
        .with_token(Token::organization_api_key(ORG_KEY))
        .with_base_url(server.uri())
        .with_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client
        .dbt_environments(id(CONN))
        .update(id(ENV))
        .partial()
        .name("x")
        .send()
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(matches!(
        err,
        Error::Transport {
            kind: TransportKind::Timeout,
            ..
        }
    ));
    assert!(started.elapsed() < Duration::from_secs(4));
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let client = Client::builder()
        .with_token(Token::organization_api_key(ORG_KEY))
        .with_base_url(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let err = client
        .dbt_environments(id(CONN))
        .delete(id(ENV))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_retryable() && !err.is_timeout());
}

/// Through `Client::api()`, `?` keeps what the builders report: the attempts the hook made and
/// the real status of an error answer whose body is not Omni's.
#[tokio::test]
async fn api_errors_keep_the_attempts_and_the_real_status() {
    let server = MockServer::start().await;
    answer(&server, "GET", collection_path(), omni_error(503, "busy")).await;
    let client = omni_dbt::Client::builder()
        .with_token(omni_dbt::Token::organization_api_key(ORG_KEY))
        .with_base_url(server.uri())
        .without_rate_limit()
        .with_retry_policy(
            omni_dbt::RetryPolicy::default()
                .with_max_attempts(3)
                .with_base_delay(std::time::Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    let err = Error::from(
        client
            .api()
            .connections_dbt_environments_list()
            .connection_id(id(CONN))
            .send()
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(&err, Error::Server { status: 503, attempts: 3, detail: Some(d), .. } if d == "busy"),
        "{err:?}"
    );
    assert_eq!(err.attempts(), 3);

    // A documented status (404) whose body is HTML: NotFound, not "undecodable 200".
    let err = Error::from(
        api_list_answered_with(
            ResponseTemplate::new(404).set_body_string("<html>no such connection</html>"),
        )
        .await
        .unwrap_err(),
    );
    assert!(
        matches!(&err, Error::NotFound { detail: Some(d), .. } if d.contains("no such connection")),
        "{err:?}"
    );
}

/// The environments listed through `Client::api()` from a server that answers `response`.
async fn api_list_answered_with(
    response: ResponseTemplate,
) -> Result<
    omni_dbt::api::ResponseValue<omni_dbt::api::types::DbtEnvironmentListing>,
    omni_dbt::api::Error,
> {
    let server = MockServer::start().await;
    answer(&server, "GET", collection_path(), response).await;
    org_client(&server)
        .api()
        .connections_dbt_environments_list()
        .connection_id(id(CONN))
        .send()
        .await
}

/// An answer keeps the headers that describe its body: an unchanged body its
/// `Content-Length`; a body the hook replaced (an error in a shape other than Omni's) does not
/// carry the length of the one it replaced.
#[tokio::test]
async fn api_answers_keep_only_framing_headers_that_still_hold() {
    let listed = serde_json::to_vec(&json!([])).unwrap();
    let ok = api_list_answered_with(json_response(200, json!([])))
        .await
        .unwrap();
    assert_eq!(
        ok.headers().get("content-length").map(|v| v.as_bytes()),
        Some(listed.len().to_string().as_bytes())
    );

    let html = "<html>no such connection</html>";
    let err = api_list_answered_with(ResponseTemplate::new(404).set_body_string(html))
        .await
        .unwrap_err();
    let progenitor_client::Error::ErrorResponse(answer) = &err else {
        panic!("{err:?}");
    };
    assert_eq!(answer.status().as_u16(), 404);
    assert_eq!(answer.headers().get("content-length"), None, "{err:?}");
}
