//! Retries, pacing, bounded resources and bulk runs, against the fake's fault injection.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use omni_dbt::{Bulk, Client, ClientBuilder, Error, RateLimit, RetryPolicy, Token, TransportKind};
use omni_dbt_fake::{FakeOmni, FakeOmniBuilder, Fault, Operation, Tokens};

/// Fast retries so that the tests take milliseconds, not seconds.
fn quick_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_base_delay(Duration::from_millis(10))
        .with_max_delay(Duration::from_millis(40))
}

/// A builder with the fake's organization key and address; each test adds its own settings.
fn builder_for(fake: &FakeOmni) -> ClientBuilder {
    Client::builder()
        .with_token(Token::organization_api_key(
            &fake.tokens().organization_api_key,
        ))
        .with_base_url(fake.base_url())
}

fn client(fake: &FakeOmni, policy: RetryPolicy) -> Client {
    builder_for(fake)
        .without_rate_limit()
        .with_retry_policy(policy)
        .build()
        .unwrap()
}

async fn fake() -> FakeOmni {
    FakeOmniBuilder::default()
        .without_rate_limit()
        .start()
        .await
        .unwrap()
}

fn count(fake: &FakeOmni, op: Operation) -> usize {
    fake.journal()
        .iter()
        .filter(|e| e.operation == Some(op))
        .count()
}

#[tokio::test]
async fn a_burst_of_5xx_is_retried_until_success() {
    let fake = fake().await;
    fake.inject(Operation::Update, Fault::status(503, 2));
    fake.inject(Operation::Update, Fault::status(502, 1));
    let env = client(&fake, quick_retries())
        .dbt_environments(fake.connection_id())
        .update(fake.default_environment())
        .target_schema("after_retries")
        .send()
        .await
        .unwrap();
    assert_eq!(env.target_schema, "after_retries");
    assert_eq!(count(&fake, Operation::Update), 4);
}

#[tokio::test]
async fn retries_stop_at_max_attempts_and_the_error_counts_them() {
    let fake = fake().await;
    fake.inject(Operation::Update, Fault::status(503, 10));
    let err = client(&fake, quick_retries().with_max_attempts(3))
        .dbt_environments(fake.connection_id())
        .update(fake.default_environment())
        .target_schema("x")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Server {
                status: 503,
                attempts: 3,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.attempts(), 3);
    assert!(err.to_string().contains("after 3 attempts"), "{err}");
    assert_eq!(count(&fake, Operation::Update), 3);

    // 500 is not a transient status: no retry.
    let fake = self::fake().await;
    fake.inject(Operation::Delete, Fault::status(500, 5));
    let err = client(&fake, quick_retries())
        .dbt_environments(fake.connection_id())
        .delete(fake.default_environment())
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Server {
                status: 500,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(count(&fake, Operation::Delete), 1);
}

#[tokio::test]
async fn retry_after_is_honoured_and_capped() {
    let fake = fake().await;
    fake.inject(Operation::List, Fault::rate_limited(1, Some(1)));
    let started = Instant::now();
    client(&fake, quick_retries())
        .dbt_environments(fake.connection_id())
        .list()
        .send()
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(990),
        "waited {:?}",
        started.elapsed()
    );
    assert_eq!(count(&fake, Operation::List), 2);

    // Without Retry-After: backoff.
    fake.inject(Operation::List, Fault::rate_limited(2, None));
    client(&fake, quick_retries())
        .dbt_environments(fake.connection_id())
        .list()
        .send()
        .await
        .unwrap();
    assert_eq!(count(&fake, Operation::List), 5);

    // A Retry-After beyond the cap ends the retries at once.
    fake.inject(Operation::List, Fault::rate_limited(1, Some(120)));
    let err = client(
        &fake,
        quick_retries().with_max_retry_after(Duration::from_secs(30)),
    )
    .dbt_environments(fake.connection_id())
    .list()
    .send()
    .await
    .unwrap_err();
    assert_eq!(err.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(err.attempts(), 1);
}

#[tokio::test]
async fn the_total_budget_ends_retries() {
    let fake = fake().await;
    fake.inject(Operation::List, Fault::rate_limited(5, Some(1)));
    let started = Instant::now();
    let err = client(
        &fake,
        quick_retries()
            .with_max_attempts(10)
            .with_total_budget(Duration::from_millis(1500)),
    )
    .dbt_environments(fake.connection_id())
    .list()
    .send()
    .await
    .unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { attempts: 2, .. }),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_millis(1900));
}

#[tokio::test]
async fn dropped_connections_and_truncated_bodies_are_retried_for_idempotent_requests() {
    let fake = fake().await;
    fake.inject(Operation::Update, Fault::DropConnection { times: 1 });
    fake.inject(Operation::Update, Fault::TruncatedBody { times: 1 });
    fake.inject(Operation::Update, Fault::DropAfterProcessing { times: 1 });
    let env = client(&fake, quick_retries())
        .dbt_environments(fake.connection_id())
        .update(fake.default_environment())
        .target_schema("survived")
        .send()
        .await
        .unwrap();
    assert_eq!(env.target_schema, "survived");
    assert_eq!(count(&fake, Operation::Update), 4);
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_is_not_retried_and_is_outcome_unknown() {
    for fault in [
        Fault::DropAfterProcessing { times: 1 },
        Fault::TruncatedBody { times: 1 },
        Fault::DropConnection { times: 1 },
    ] {
        let fake = fake().await;
        let before = fake.environments(fake.connection_id()).len();
        fake.inject(Operation::Create, fault.clone());
        let err = client(&fake, quick_retries())
            .dbt_environments(fake.connection_id())
            .create("once", "s")
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::OutcomeUnknown { .. }),
            "{fault:?}: {err:?}"
        );
        assert!(!err.is_retryable());
        assert_eq!(count(&fake, Operation::Create), 1, "{fault:?}: not retried");
        let created = fake.environments(fake.connection_id()).len() - before;
        let expected = usize::from(!matches!(fault, Fault::DropConnection { .. }));
        assert_eq!(created, expected, "{fault:?}: created at most once");
    }
}

#[tokio::test]
async fn a_create_is_retried_when_the_connection_could_not_be_made() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let tokens = Tokens {
        organization_api_key: "omni_osk_fixed_for_this_test".into(),
        pat_admin: "omni_pat_a".into(),
        pat_without_admin: "omni_pat_b".into(),
    };
    let client = Client::builder()
        .with_token(Token::organization_api_key(&tokens.organization_api_key))
        .with_base_url(format!("http://127.0.0.1:{port}"))
        .without_rate_limit()
        .with_retry_policy(
            RetryPolicy::default()
                .with_max_attempts(20)
                .with_base_delay(Duration::from_millis(100))
                .with_max_delay(Duration::from_millis(100)),
        )
        .build()
        .unwrap();
    // Omni comes up only after the first attempts have been refused.
    let server = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        FakeOmni::builder()
            .without_rate_limit()
            .tokens(tokens)
            .bind(([127, 0, 0, 1], port).into())
            .start()
            .await
            .unwrap()
    });
    // The connection id is only known once the fake runs; a nil-free placeholder first.
    let fake_handle = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    fake_handle.await;
    let started = Instant::now();
    let refused = client
        .dbt_environments(uuid_for_test())
        .create("late", "s")
        .send();
    let (result, fake) = tokio::join!(refused, server);
    let fake = fake.unwrap();
    // The placeholder connection does not exist, so the fake answers 404 — which proves the
    // create was retried past the refused connections and then reached the server once.
    assert!(matches!(result, Err(Error::NotFound { .. })), "{result:?}");
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(count(&fake, Operation::Create), 1);
}

fn uuid_for_test() -> omni_dbt::Uuid {
    omni_dbt::Uuid::from_u128(0x5b2f8e0c_2a4e_4c47_9a55_0f4a8d6e1b21)
}

#[tokio::test]
async fn a_non_json_answer_is_undecodable_and_not_retried() {
    let fake = fake().await;
    fake.inject(Operation::Update, Fault::NonJsonBody { times: 1 });
    let err = client(&fake, quick_retries())
        .dbt_environments(fake.connection_id())
        .update(fake.default_environment())
        .name("x")
        .send()
        .await
        .unwrap_err();
    match &err {
        Error::Undecodable {
            status: 200,
            snippet,
            ..
        } => assert!(snippet.starts_with("<html>"), "{snippet}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(count(&fake, Operation::Update), 1);
}

#[tokio::test]
async fn slow_answers_time_out_per_attempt() {
    let fake = fake().await;
    fake.inject(Operation::Update, Fault::Latency(Duration::from_secs(3)));
    fake.inject(Operation::Create, Fault::Latency(Duration::from_secs(3)));
    let client = client(&fake, quick_retries().with_max_attempts(2));
    let envs = client.dbt_environments(fake.connection_id());

    let started = Instant::now();
    let err = envs
        .update(fake.default_environment())
        .name("x")
        .timeout(Duration::from_millis(200))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Transport {
                kind: TransportKind::Timeout,
                attempts: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );

    let err = envs
        .create("slow", "s")
        .timeout(Duration::from_millis(200))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::OutcomeUnknown {
                kind: TransportKind::Timeout,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.is_timeout());
}

#[tokio::test]
async fn oversized_bodies_are_refused_without_reading_them_all() {
    let fake = fake().await;
    let envs = client(&fake, quick_retries()).dbt_environments(fake.connection_id());
    for i in 0..20 {
        envs.create(format!("env-{i}"), "s")
            .add_variable("PADDING", "x".repeat(500))
            .send()
            .await
            .unwrap();
    }
    let small = builder_for(&fake)
        .without_rate_limit()
        .with_max_response_bytes(4096)
        .build()
        .unwrap();
    let err = small
        .dbt_environments(fake.connection_id())
        .list()
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::ResponseTooLarge {
                status: 200,
                limit: 4096,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        small
            .dbt_environments(fake.connection_id())
            .update(fake.default_environment())
            .partial()
            .name("n")
            .send()
            .await
            .unwrap()
            .name,
        "n"
    );
}

#[tokio::test]
async fn pacing_keeps_a_batch_under_the_servers_limit() {
    // The server allows a burst of 10; the client keeps to its default burst of 5.
    let fake = FakeOmni::builder()
        .rate_limit_per_minute(600)
        .rate_limit_burst(10)
        .start()
        .await
        .unwrap();
    let client = builder_for(&fake)
        .with_rate_limit(RateLimit::per_minute(600))
        .without_retries()
        .build()
        .unwrap();
    let envs = client.dbt_environments(fake.connection_id());
    let started = Instant::now();
    let results = Bulk::new((0..25).map(|i| {
        envs.update(fake.default_environment())
            .target_schema(format!("s{i}"))
    }))
    .concurrency(8)
    .run()
    .await;
    let elapsed = started.elapsed();
    let errors: Vec<String> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(|e| e.to_string()))
        .collect();
    let statuses: Vec<Option<u16>> = fake.journal().iter().map(|e| e.status).collect();
    assert!(
        errors.is_empty(),
        "no 429 reached the caller: {errors:?} {statuses:?}"
    );
    let statuses: Vec<Option<u16>> = fake.journal().iter().map(|e| e.status).collect();
    assert!(statuses.iter().all(|s| *s == Some(200)), "{statuses:?}");
    // 5 at once, then one every 100 ms.
    assert!(elapsed >= Duration::from_millis(1900), "{elapsed:?}");
}

#[tokio::test]
async fn after_a_429_queued_requests_wait_out_retry_after() {
    let fake = fake().await;
    fake.inject(Operation::List, Fault::rate_limited(1, Some(1)));
    let client = builder_for(&fake)
        .with_rate_limit(RateLimit::per_minute(6000))
        .with_retry_policy(quick_retries())
        .build()
        .unwrap();
    let envs = client.dbt_environments(fake.connection_id());
    let started = Instant::now();
    let first = tokio::spawn(envs.list().send());
    tokio::time::sleep(Duration::from_millis(100)).await;
    // This one never sees a 429, but it queues behind the one that did.
    envs.update(fake.default_environment())
        .name("queued")
        .send()
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    first.await.unwrap().unwrap();
}

#[tokio::test]
async fn clones_and_separate_clients_with_one_token_share_the_pace() {
    let fake = fake().await;
    let build = || {
        builder_for(&fake)
            .with_rate_limit(RateLimit::per_minute(1200).with_burst(1))
            .build()
            .unwrap()
    };
    let (a, b) = (build(), build());
    let started = Instant::now();
    let a_env = a.dbt_environments(fake.connection_id());
    let b_env = b.clone().dbt_environments(fake.connection_id());
    let (x, y, z, w) = tokio::join!(
        a_env.list().send(),
        b_env.list().send(),
        a_env.list().send(),
        b_env.list().send()
    );
    for r in [x, y, z, w] {
        r.unwrap();
    }
    // Four requests through one schedule at 50 ms spacing: at least 150 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(145),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn bulk_returns_one_result_per_item_in_order_and_reports_progress() {
    let fake = fake().await;
    let envs = client(&fake, quick_retries()).dbt_environments(fake.connection_id());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let progress = seen.clone();
    let requests = (0..6).map(|i| {
        // Every third one is invalid: it fails alone, before sending.
        let name = if i % 3 == 2 {
            String::new()
        } else {
            format!("bulk-{i}")
        };
        envs.create(name, "s")
    });
    // Each result as it arrives: its position, and the name or the failure.
    let each = Arc::new(Mutex::new(Vec::new()));
    let arrived = each.clone();
    let results = Bulk::new(requests)
        .concurrency(3)
        .on_result(move |i, r| {
            let said = r.as_ref().map(|e| e.name.clone()).map_err(|_| ());
            arrived.lock().unwrap().push((i, said));
        })
        .on_progress(move |p| progress.lock().unwrap().push((p.done, p.failed, p.total)))
        .run()
        .await;
    let mut each = each.lock().unwrap().clone();
    each.sort();
    assert_eq!(
        each,
        [
            (0, Ok("bulk-0".to_owned())),
            (1, Ok("bulk-1".to_owned())),
            (2, Err(())),
            (3, Ok("bulk-3".to_owned())),
            (4, Ok("bulk-4".to_owned())),
            (5, Err(())),
        ]
    );
    let names: Vec<Option<String>> = results
        .iter()
        .map(|r| r.as_ref().ok().map(|e| e.name.clone()))
        .collect();
    assert_eq!(
        names,
        [
            Some("bulk-0".into()),
            Some("bulk-1".into()),
            None,
            Some("bulk-3".into()),
            Some("bulk-4".into()),
            None
        ]
    );
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 6);
    assert_eq!(seen.last(), Some(&(6, 2, 6)));
    assert!(seen.windows(2).all(|w| w[0].0 + 1 == w[1].0));
}

#[tokio::test]
async fn a_cancelled_batch_stops_promptly_and_leaves_nothing_running() {
    let fake = fake().await;
    fake.inject(
        Operation::Update,
        Fault::Latency(Duration::from_millis(200)),
    );
    let envs = client(&fake, quick_retries()).dbt_environments(fake.connection_id());
    let batch = Bulk::new((0..100).map(|i| {
        envs.update(fake.default_environment())
            .target_schema(format!("s{i}"))
    }))
    .concurrency(4)
    .run();
    let started = Instant::now();
    assert!(
        tokio::time::timeout(Duration::from_millis(500), batch)
            .await
            .is_err()
    );
    // Dropped at 500 ms; the whole batch would take 5 s (100 updates of 200 ms, 4 at a time).
    assert!(started.elapsed() < Duration::from_millis(1500));
    let sent = count(&fake, Operation::Update);
    assert!((4..=12).contains(&sent), "{sent} sent before the cancel");
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        count(&fake, Operation::Update),
        sent,
        "nothing sent after the cancel"
    );
}

#[tokio::test]
async fn an_update_that_creates_variables_is_not_repeated_after_a_lost_answer() {
    let fake = fake().await;
    fake.inject(Operation::Update, Fault::DropAfterProcessing { times: 1 });
    let err = client(&fake, quick_retries())
        .dbt_environments(fake.connection_id())
        .update(fake.default_environment())
        .add_variable("ONCE", "1")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(count(&fake, Operation::Update), 1, "not retried");
    let stored = fake.stored_value(fake.connection_id(), fake.default_environment(), "ONCE");
    assert_eq!(stored.as_deref(), Some("1"), "it did take effect, once");
}

#[tokio::test]
async fn a_delete_whose_answer_was_lost_reports_deleted_when_the_retry_finds_nothing() {
    let fake = fake().await;
    fake.inject(Operation::Delete, Fault::DropAfterProcessing { times: 1 });
    let deleted = client(&fake, quick_retries())
        .dbt_environments(fake.connection_id())
        .delete(fake.default_environment())
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.message, None);
    let statuses: Vec<Option<u16>> = fake.journal().iter().map(|e| e.status).collect();
    assert_eq!(
        statuses,
        [Some(200), Some(404)],
        "processed but unanswered, then 404 on the retry"
    );

    // Without a lost answer, a 404 is still a 404.
    let err = client(&fake, quick_retries())
        .dbt_environments(fake.connection_id())
        .delete(fake.default_environment())
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

/// A create whose answer is lost after Omni made the environment is adopted, not repeated; one
/// that met a 503 (not made) is sent again. Either way the name exists exactly once.
#[tokio::test]
async fn an_adopting_create_resolves_an_unknown_outcome() {
    let fake = fake().await;
    let envs = client(&fake, quick_retries()).dbt_environments(fake.connection_id());
    let named = |name: &str| {
        fake.environments(fake.connection_id())
            .iter()
            .filter(|e| e["name"] == name)
            .count()
    };

    fake.inject(Operation::Create, Fault::DropAfterProcessing { times: 1 });
    let env = envs
        .create("pr-lost", "dbt_pr_lost")
        .target_role("TRANSFORMER")
        .add_variable("DBT_THREADS", "8")
        .adopting()
        .send()
        .await
        .unwrap();
    assert_eq!(
        (env.name.as_str(), env.target_role.as_deref()),
        ("pr-lost", Some("TRANSFORMER"))
    );
    assert_eq!(
        env.variable("DBT_THREADS").and_then(|v| v.value.as_deref()),
        Some("8")
    );
    assert_eq!(named("pr-lost"), 1);
    assert_eq!(
        count(&fake, Operation::Create),
        1,
        "adopted, not created again"
    );
    assert_eq!(count(&fake, Operation::Update), 0, "nothing left to change");

    fake.inject(Operation::Create, Fault::status(503, 1));
    let env = envs
        .create("pr-503", "dbt_pr_503")
        .adopting()
        .send()
        .await
        .unwrap();
    assert_eq!(env.name, "pr-503");
    assert_eq!(named("pr-503"), 1);
    assert_eq!(
        count(&fake, Operation::Create),
        3,
        "not found, so created again"
    );

    // Found with other values (made elsewhere meanwhile): adopted, and the rest of the intended
    // change is finished with one update.
    envs.create("pr-raced", "dbt_old").send().await.unwrap();
    fake.inject(Operation::Create, Fault::status(503, 1));
    let env = envs
        .create("pr-raced", "dbt_new")
        .add_variable("A", "1")
        .add_secret_variable("S", "s3cr3t")
        .adopting()
        .send()
        .await
        .unwrap();
    assert_eq!(env.target_schema, "dbt_new");
    assert!(env.variable("A").is_some() && env.variable("S").is_some());
    assert_eq!(named("pr-raced"), 1);
    assert_eq!(count(&fake, Operation::Update), 1);
    let sent = fake
        .journal()
        .into_iter()
        .rev()
        .find(|e| e.operation == Some(Operation::Update))
        .and_then(|e| e.json())
        .unwrap();
    assert_eq!(
        sent["name"], "pr-raced",
        "both readings of the contract: {sent}"
    );
    assert_eq!(sent["targetSchema"], "dbt_new");

    // Without `adopting` the unknown outcome is the caller's to resolve.
    fake.inject(Operation::Create, Fault::DropAfterProcessing { times: 1 });
    let err = envs.create("pr-plain", "s").send().await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
}

/// A retry sends the request again as it was sent: method, path and query, every header in its
/// order and with its value, body; after an error status, a dropped connection and an answer
/// cut off mid-body alike.
#[tokio::test]
async fn a_retry_sends_the_request_again_as_it_was() {
    let fake = fake().await;
    fake.inject(Operation::Update, Fault::status(503, 1));
    fake.inject(Operation::Update, Fault::DropConnection { times: 1 });
    fake.inject(Operation::Update, Fault::TruncatedBody { times: 1 });
    fake.inject(Operation::ModelsList, Fault::status(502, 1));
    fake.inject(Operation::ModelsList, Fault::TruncatedBody { times: 1 });
    let client = client(&fake, quick_retries());
    client
        .dbt_environments(fake.connection_id())
        .update(fake.default_environment())
        .target_schema("again")
        .target_role(None)
        .send()
        .await
        .unwrap();
    client
        .api()
        .models_list()
        .connection_id(fake.connection_id())
        .send()
        .await
        .unwrap();

    for (op, attempts) in [(Operation::Update, 4), (Operation::ModelsList, 3)] {
        let sent: Vec<_> = fake
            .journal()
            .into_iter()
            .filter(|e| e.operation == Some(op))
            .map(|e| (e.method, e.path, e.query, e.headers, e.body))
            .collect();
        assert_eq!(sent.len(), attempts, "{op:?}");
        if op == Operation::ModelsList {
            assert!(
                sent[0]
                    .2
                    .as_deref()
                    .is_some_and(|q| q.contains("connectionId="))
            );
        }
        for again in &sent[1..] {
            assert_eq!(again, &sent[0], "{op:?}");
        }
    }
}

#[tokio::test]
async fn a_429_is_waited_out_past_max_attempts_and_counted_in_the_stats() {
    let fake = fake().await;
    // Six 429s without Retry-After (as Omni sends them), against two attempts that count.
    fake.inject(Operation::Create, Fault::rate_limited(6, None));
    let client = client(
        &fake,
        quick_retries()
            .with_max_attempts(2)
            .with_throttled_base_delay(Duration::from_millis(10)),
    );
    let created = client
        .dbt_environments(fake.connection_id())
        .create("waited-out", "s")
        .send()
        .await
        .unwrap();
    assert_eq!(created.name, "waited-out");
    assert_eq!(
        count(&fake, Operation::Create),
        7,
        "a POST too: 429 was not carried out"
    );
    let stats = client.stats();
    assert_eq!((stats.requests, stats.retries, stats.throttled), (7, 6, 6));
    assert!(stats.waited_for_limit > Duration::ZERO);

    // Failures that do count still stop at max_attempts, 429s between them or not.
    fake.inject(Operation::Update, Fault::status(503, 1));
    fake.inject(Operation::Update, Fault::rate_limited(3, None));
    fake.inject(Operation::Update, Fault::status(502, 1));
    fake.inject(Operation::Update, Fault::status(504, 1));
    let err = client
        .dbt_environments(fake.connection_id())
        .update(created.id)
        .partial()
        .target_schema("x")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Server {
                status: 502,
                attempts: 5,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(count(&fake, Operation::Update), 5);
}

#[tokio::test]
async fn a_429_without_retry_after_backs_off_with_jitter_until_the_budget_ends() {
    let fake = fake().await;
    fake.inject(Operation::List, Fault::rate_limited(1_000, None));
    let started = Instant::now();
    let err = client(
        &fake,
        quick_retries()
            .with_throttled_base_delay(Duration::from_millis(20))
            .with_max_delay(Duration::from_millis(80))
            .with_total_budget(Duration::from_millis(700)),
    )
    .dbt_environments(fake.connection_id())
    .list()
    .send()
    .await
    .unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, Error::RateLimited { .. }), "{err:?}");
    assert!(err.is_retryable());
    let sent = count(&fake, Operation::List);
    // Full jitter under an 80 ms ceiling for 700 ms: far more than max_attempts (4), far fewer
    // than one per millisecond.
    assert!((8..=400).contains(&sent), "{sent} attempts in {elapsed:?}");
    assert_eq!(err.attempts() as usize, sent);
    assert!(elapsed < Duration::from_millis(1200), "{elapsed:?}");
    // Every attempt met the limit; none was another kind of failure.
    let statuses: Vec<_> = fake.journal().iter().map(|e| e.status).collect();
    assert!(statuses.iter().all(|s| *s == Some(429)), "{statuses:?}");
}

#[tokio::test]
async fn maintenance_is_waited_out_and_a_create_it_refused_is_sent_again_once() {
    let fake = fake().await;
    fake.maintenance(Some(1));
    let client = client(&fake, quick_retries().with_max_attempts(2));
    let create = client
        .dbt_environments(fake.connection_id())
        .create("after-maintenance", "s")
        .send();
    let end = async {
        tokio::time::sleep(Duration::from_millis(2500)).await;
        fake.maintenance(None);
    };
    let (created, ()) = tokio::join!(create, end);
    let created = created.unwrap();
    let statuses: Vec<_> = fake
        .journal()
        .iter()
        .filter(|e| e.method == "POST")
        .map(|e| e.status)
        .collect();
    // Retry-After: 1 honoured each time: about three refusals in 2.5 s, more than the two
    // attempts that count, then the create, once.
    assert!(
        statuses.len() >= 3
            && statuses[..statuses.len() - 1]
                .iter()
                .all(|s| *s == Some(503)),
        "{statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&Some(201)));
    let named: Vec<_> = fake
        .environments(fake.connection_id())
        .into_iter()
        .filter(|e| e["name"] == "after-maintenance")
        .collect();
    assert_eq!(named.len(), 1);
    assert_eq!(named[0]["id"], created.id.to_string());

    // A 503 without Retry-After is not maintenance: a create it answered may have taken
    // effect, so it is not sent again.
    fake.inject(Operation::Create, Fault::status(503, 1));
    let err = client
        .dbt_environments(fake.connection_id())
        .create("maybe", "s")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Server {
                status: 503,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
}

/// Environments of `name` on the fake carrying `marker` as `OMNI_DBT_MANAGED_BY`.
fn copies(fake: &FakeOmni, name: &str, marker: &str) -> Vec<String> {
    fake.environments(fake.connection_id())
        .into_iter()
        .filter(|e| {
            e["name"] == name
                && e["variables"].as_array().is_some_and(|vars| {
                    vars.iter()
                        .any(|v| v["name"] == "OMNI_DBT_MANAGED_BY" && v["value"] == marker)
                })
        })
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

fn marked_create(
    client: &Client,
    fake: &FakeOmni,
    name: &str,
    schema: &str,
) -> omni_dbt::CreateEnvironment {
    client
        .dbt_environments(fake.connection_id())
        .create(name, schema)
        .add_variable("OMNI_DBT_MANAGED_BY", "file:x")
        .adopting()
        .one_copy_per("OMNI_DBT_MANAGED_BY")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_of_one_name_and_marker_at_once_leave_one_copy() {
    for round in 0..6 {
        let fake = fake().await;
        // Not copies: another marker, no marker, a name that only starts alike.
        let setup = client(&fake, quick_retries());
        let envs = setup.dbt_environments(fake.connection_id());
        envs.create("pr-x", "s")
            .add_variable("OMNI_DBT_MANAGED_BY", "file:other")
            .send()
            .await
            .unwrap();
        envs.create("pr-x", "s").send().await.unwrap();
        envs.create("pr-x-old", "s")
            .add_variable("OMNI_DBT_MANAGED_BY", "file:x")
            .send()
            .await
            .unwrap();
        let before = fake.environments(fake.connection_id()).len();
        // Four runs that share nothing but the fake, some slowed so that lists and creates
        // interleave differently from round to round.
        if round % 2 == 1 {
            fake.inject(Operation::List, Fault::Latency(Duration::from_millis(30)));
        }
        let runs = (0..4).map(|_| {
            let client = client(&fake, quick_retries());
            let create = marked_create(&client, &fake, "pr-x", "dbt_x");
            async move { create.send().await }
        });
        let results = futures_util::future::join_all(runs).await;
        let returned: Vec<String> = results
            .into_iter()
            .map(|r| r.unwrap().id.to_string())
            .collect();
        let left = copies(&fake, "pr-x", "file:x");
        assert_eq!(left.len(), 1, "round {round}: {left:?}");
        assert!(
            returned.contains(&left[0]),
            "round {round}: {returned:?} vs {left:?}"
        );
        // Only copies were deleted: the others are all there.
        assert_eq!(fake.environments(fake.connection_id()).len(), before + 1);
        assert_eq!(copies(&fake, "pr-x", "file:other").len(), 1);
        assert_eq!(copies(&fake, "pr-x-old", "file:x").len(), 1);
    }
}

/// A run that saw its copy alone has finished; a later run's copy has a lower id: the later run
/// keeps its own and deletes the earlier (the lowest id is the one every run keeps). With a
/// higher id it deletes its own and finishes the kept copy with its own values.
#[tokio::test]
async fn a_later_copy_keeps_the_lowest_id_and_its_values_reach_the_kept_copy() {
    let (mut lower_later, mut higher_later) = (0, 0);
    for _ in 0..40 {
        if lower_later > 0 && higher_later > 0 {
            break;
        }
        let fake = fake().await;
        let client = client(&fake, quick_retries());
        let first = marked_create(&client, &fake, "pr-y", "dbt_first")
            .send()
            .await
            .unwrap();
        let second = marked_create(&client, &fake, "pr-y", "dbt_second")
            .send()
            .await
            .unwrap();
        let left = copies(&fake, "pr-y", "file:x");
        assert_eq!(left.len(), 1, "{left:?}");
        assert_eq!(
            left[0],
            second.id.to_string(),
            "the second run returns the kept copy"
        );
        let kept = fake
            .environments(fake.connection_id())
            .into_iter()
            .find(|e| e["id"] == left[0])
            .unwrap();
        assert_eq!(kept["targetSchema"], "dbt_second", "the later run's values");
        // Two creates and a list each; then either a delete of the first, or of its own copy
        // and an update of the first.
        let deletes = count(&fake, Operation::Delete);
        assert_eq!(deletes, 1);
        let created: Vec<String> = fake
            .journal()
            .iter()
            .filter(|e| e.operation == Some(Operation::Create))
            .map(|e| e.status.unwrap().to_string())
            .collect();
        assert_eq!(created, ["201", "201"]);
        let lowest = first.id.min(second.id);
        assert_eq!(left[0], lowest.to_string(), "the lowest id is kept");
        if second.id < first.id {
            lower_later += 1;
            assert_eq!(count(&fake, Operation::Update), 0);
        } else {
            higher_later += 1;
            assert_eq!(count(&fake, Operation::Update), 1);
        }
    }
    assert!(lower_later > 0 && higher_later > 0, "both orders seen");
}

/// The copy a create adopts may go before the create has finished it (a run made a copy with a
/// still lower id a moment later and deleted it): the copies rule is followed again, and the
/// create returns the copy left, with its own values (a CI run met the 404 before).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_copy_deleted_before_it_is_finished_is_followed_to_the_next() {
    for _ in 0..40 {
        let fake = fake().await;
        let client = client(&fake, quick_retries());
        // Another run's copy, made first.
        let theirs = marked_create(&client, &fake, "pr-z", "dbt_theirs")
            .send()
            .await
            .unwrap();
        fake.inject(
            Operation::Update,
            Fault::Latency(Duration::from_millis(400)),
        );
        let ours = tokio::spawn({
            let create = marked_create(&client, &fake, "pr-z", "dbt_ours");
            async move { create.send().await }
        });
        // Ours has made its copy, found theirs with a lower id, deleted its own, and is
        // finishing theirs (an update held back by the fake): or it kept its own (a lower id),
        // and the scenario is tried again.
        let finishing = loop {
            if ours.is_finished() {
                break false;
            }
            let left = copies(&fake, "pr-z", "file:x");
            let creates = count(&fake, Operation::Create);
            if creates == 2 && left == [theirs.id.to_string()] {
                break true;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        if !finishing {
            ours.await.unwrap().unwrap();
            continue;
        }
        // Meanwhile a third run: its copy is made, and theirs deleted.
        let envs = client.dbt_environments(fake.connection_id());
        envs.delete(theirs.id).send().await.unwrap();
        let third = envs
            .create("pr-z", "dbt_third")
            .add_variable("OMNI_DBT_MANAGED_BY", "file:x")
            .send()
            .await
            .unwrap();
        let returned = ours
            .await
            .unwrap()
            .expect("the rule is followed to the copy left");
        assert_eq!(returned.id, third.id);
        assert_eq!(returned.target_schema, "dbt_ours", "this create's values");
        assert_eq!(copies(&fake, "pr-z", "file:x"), [third.id.to_string()]);
        return;
    }
    panic!("in 40 tries, the create never adopted the earlier copy");
}

/// An adopting create that meets 503 every time (nothing made) is sent exactly three times,
/// then fails with the last answer; one that meets it twice is made on the third.
#[tokio::test]
async fn an_adopting_create_tries_three_rounds_and_no_more() {
    let fake = fake().await;
    let envs = client(&fake, quick_retries()).dbt_environments(fake.connection_id());
    fake.inject(Operation::Create, Fault::status(503, 100));
    let err = envs
        .create("pr-down", "s")
        .adopting()
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Server { status: 503, .. }), "{err:?}");
    assert_eq!(count(&fake, Operation::Create), 3);
    assert_eq!(
        count(&fake, Operation::List),
        2,
        "a lookup after each of the first two"
    );
    fake.clear_faults();

    fake.clear_journal();
    fake.inject(Operation::Create, Fault::status(503, 2));
    let made = envs.create("pr-up", "s").adopting().send().await.unwrap();
    assert_eq!(made.name, "pr-up");
    assert_eq!(count(&fake, Operation::Create), 3);
}

/// The lookup after an unknown outcome matches the name exactly: `pr-x-old` is not `pr-x`.
#[tokio::test]
async fn an_adopting_create_never_adopts_a_name_that_only_starts_alike() {
    let fake = fake().await;
    let envs = client(&fake, quick_retries()).dbt_environments(fake.connection_id());
    let old = envs.create("pr-x-old", "dbt_old").send().await.unwrap();
    fake.inject(Operation::Create, Fault::status(503, 1));
    let made = envs
        .create("pr-x", "dbt_new")
        .adopting()
        .send()
        .await
        .unwrap();
    assert_eq!(made.name, "pr-x");
    assert_ne!(made.id, old.id);
    let kept = fake
        .environments(fake.connection_id())
        .into_iter()
        .find(|e| e["id"] == old.id.to_string())
        .unwrap();
    assert_eq!(kept["targetSchema"], "dbt_old", "left alone");
    assert_eq!(count(&fake, Operation::Update), 0);
}

/// Two environments of the name after an unknown outcome (no marker to tell copies by): an
/// error naming both ids, and nothing is updated.
#[tokio::test]
async fn an_unknown_outcome_meeting_two_of_the_name_names_both_and_changes_nothing() {
    let fake = fake().await;
    let envs = client(&fake, quick_retries()).dbt_environments(fake.connection_id());
    let a = envs.create("twin", "s").send().await.unwrap();
    let b = envs.create("twin", "s").send().await.unwrap();
    fake.inject(Operation::Create, Fault::status(503, 1));
    let err = envs
        .create("twin", "other")
        .adopting()
        .send()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(&a.id.to_string()) && text.contains(&b.id.to_string()),
        "{text}"
    );
    assert_eq!(count(&fake, Operation::Update), 0);
    assert_eq!(
        count(&fake, Operation::Create),
        3,
        "the two made, and the one lost"
    );
}
