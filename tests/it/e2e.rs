//! End to end against the stateful fake, with every exchange checked against the spec.

use std::{collections::HashSet, time::Duration};

use futures_util::{StreamExt, TryStreamExt};
use omni_dbt::{Client, Error, Token};
use omni_dbt_fake::{FakeOmni, FakeOmniBuilder, ListShape};

async fn start(builder: FakeOmniBuilder) -> (FakeOmni, Client) {
    let fake = builder.start().await.unwrap();
    let client = client_for(
        &fake,
        Token::organization_api_key(&fake.tokens().organization_api_key),
    );
    (fake, client)
}

/// Default retries, but no client-side pacing: these tests are about behaviour, not timing
/// (pacing is tested in `resilience.rs`).
fn client_for(fake: &FakeOmni, token: Token) -> Client {
    Client::builder()
        .with_token(token)
        .with_base_url(fake.base_url())
        .without_rate_limit()
        .build()
        .unwrap()
}

fn assert_conformed(fake: &FakeOmni) {
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn lifecycle_create_update_list_delete() {
    let (fake, client) = start(FakeOmni::builder()).await;
    let envs = client.dbt_environments(fake.connection_id());

    let created = envs
        .create("pr-7", "dbt_pr_7")
        .target_database("db")
        .target_name("ci")
        .target_role("R")
        .add_variable("PLAIN", "p")
        .add_secret_variable("SECRET", "hunter2")
        .send()
        .await
        .unwrap();
    assert_eq!(created.variable("SECRET").unwrap().value, None);
    let secret_id = created.variable("SECRET").unwrap().id;
    let plain_id = created.variable("PLAIN").unwrap().id;

    let updated = envs
        .update(created.id)
        .target_schema("dbt_pr_7_b")
        .clear_target_role()
        .target_name(None)
        .set_variable(plain_id, "p2")
        .keep_secret_variable(secret_id)
        .add_secret_variable("TOKEN", "t0k")
        .send()
        .await
        .unwrap();
    assert_eq!(updated.target_schema, "dbt_pr_7_b");
    assert_eq!(
        updated.target_database.as_deref(),
        Some("db"),
        "absent fields are unchanged"
    );
    assert_eq!(
        (updated.target_name.clone(), updated.target_role.clone()),
        (None, None)
    );
    assert_eq!(
        updated.variable("PLAIN").unwrap().value.as_deref(),
        Some("p2")
    );
    assert_eq!(
        fake.stored_value(fake.connection_id(), created.id, "SECRET")
            .as_deref(),
        Some("hunter2")
    );
    assert_eq!(
        fake.stored_value(fake.connection_id(), created.id, "TOKEN")
            .as_deref(),
        Some("t0k")
    );

    let all = envs.list().all().await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(),
        ["Default", "pr-7"]
    );

    envs.delete(created.id).send().await.unwrap();
    let err = envs.delete(created.id).send().await.unwrap_err();
    assert!(
        matches!(err, Error::NotFound { detail: Some(ref d), .. } if d == "dbt environment not found"),
        "{err:?}"
    );

    let journal = fake.journal();
    assert_eq!(
        journal.len(),
        6,
        "create, list (the update's lookup of name and targetSchema), update, list, delete, delete"
    );
    assert_eq!(journal[1].method, "GET");
    assert_eq!(journal[1].query.as_deref(), Some("pageSize=100"));
    let put = &journal[2];
    assert_eq!(put.method, "PUT");
    assert_eq!(put.header("authorization"), Some("Bearer <redacted>"));
    assert_eq!(
        put.header("user-agent"),
        Some(concat!("omni-dbt/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(put.principal, Some("organization-api-key"));
    assert_eq!(
        put.json().unwrap(),
        serde_json::json!({
            // The name looked up, so that the body is valid under Omni's published spec.
            "name": "pr-7",
            "targetSchema": "dbt_pr_7_b", "targetName": null, "targetRole": null,
            "variables": [
                {"id": plain_id, "isSecret": false, "value": "p2"},
                {"id": secret_id, "isSecret": true},
                // The journal never keeps a secret's value.
                {"name": "TOKEN", "value": "<redacted>", "isSecret": true}
            ]
        })
    );
    assert_conformed(&fake);
}

#[tokio::test]
async fn paging_through_the_envelope_follows_every_cursor() {
    let (fake, client) = start(
        FakeOmni::builder()
            .without_rate_limit()
            .list_shape(ListShape::Envelope),
    )
    .await;
    let envs = client.dbt_environments(fake.connection_id());
    for i in 0..23 {
        envs.create(format!("env-{i:02}"), "s")
            .send()
            .await
            .unwrap();
    }
    fake.clear_journal();
    let names: Vec<String> = envs
        .list()
        .page_size(5)
        .stream()
        .map_ok(|e| e.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names.len(), 24);
    assert_eq!(
        names.iter().collect::<HashSet<_>>().len(),
        24,
        "no duplicates across pages"
    );
    assert_eq!(fake.journal().len(), 5, "24 records in pages of 5");

    let first = envs
        .list()
        .page_size(100)
        .sort_by_name(omni_dbt::SortDirection::Descending)
        .send()
        .await
        .unwrap();
    assert_eq!(first.records[0].name, "env-22");
    assert_eq!(first.next_cursor, None);
    assert_eq!(first.total_records, Some(24));
    assert_conformed(&fake);
}

#[tokio::test]
async fn permissions_and_auth_map_to_errors() {
    let (fake, org) = start(FakeOmni::builder()).await;
    let no_admin = client_for(
        &fake,
        Token::personal_access_token(&fake.tokens().pat_without_admin),
    );
    let err = no_admin
        .dbt_environments(fake.connection_id())
        .list()
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");

    let err = org
        .dbt_environments(fake.connection_without_dbt())
        .list()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.detail(), Some("This connection does not support dbt"));

    let stranger = client_for(&fake, Token::unknown("omni_osk_not_a_real_key"));
    let err = stranger
        .dbt_environments(fake.connection_id())
        .list()
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err:?}");

    // A PAT's environment is its user's; ownerId with a PAT never leaves the client.
    let pat = client_for(
        &fake,
        Token::personal_access_token(&fake.tokens().pat_admin),
    );
    let mine = pat
        .dbt_environments(fake.connection_id())
        .create("mine", "s")
        .send()
        .await
        .unwrap();
    assert_eq!(mine.owner_id, Some(fake.admin_user()));
    let before = fake.journal().len();
    let err = pat
        .dbt_environments(fake.connection_id())
        .update(mine.id)
        .clear_owner_id()
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "ownerId"));
    assert_eq!(fake.journal().len(), before);

    // With a token of unknown kind the rule is Omni's to enforce.
    let unknown_pat = client_for(&fake, Token::unknown(&fake.tokens().pat_admin));
    let err = unknown_pat
        .dbt_environments(fake.connection_id())
        .update(mine.id)
        .owner_id(fake.admin_user())
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::BadRequest { detail: Some(ref d), .. } if d == "ownerId can only be set with an Organization API key"),
        "{err:?}"
    );
    assert_conformed(&fake);
}

#[tokio::test]
async fn the_rate_limit_surfaces_as_rate_limited_with_retry_after_only_when_omni_says() {
    for (says, retry_after) in [(false, None), (true, Some(Duration::from_secs(1)))] {
        rate_limited_once(says, retry_after).await;
    }
}

async fn rate_limited_once(says: bool, retry_after: Option<Duration>) {
    let fake = FakeOmni::builder()
        .rate_limit_per_minute(60)
        .rate_limit_burst(2)
        .rate_limit_retry_after(says)
        .start()
        .await
        .unwrap();
    let client = Client::builder()
        .with_token(Token::organization_api_key(
            &fake.tokens().organization_api_key,
        ))
        .with_base_url(fake.base_url())
        .without_rate_limit()
        .without_retries()
        .build()
        .unwrap();
    let envs = client.dbt_environments(fake.connection_id());
    envs.list().send().await.unwrap();
    envs.list().send().await.unwrap();
    let err = envs.list().send().await.unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { attempts: 1, .. }),
        "{err:?}"
    );
    assert_eq!(err.retry_after(), retry_after);
    assert_conformed(&fake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_concurrent_updates_each_keep_their_variable() {
    let (fake, client) = start(FakeOmni::builder().without_rate_limit()).await;
    let envs = client.dbt_environments(fake.connection_id());
    let target = envs.create("busy", "s").send().await.unwrap();
    let results: Vec<_> = futures_util::stream::iter(0..200)
        .map(|i| {
            let update = envs
                .update(target.id)
                .add_variable(format!("VAR_{i:03}"), i.to_string());
            tokio::spawn(update.send())
        })
        .buffer_unordered(200)
        .collect()
        .await;
    for result in results {
        result.unwrap().unwrap();
    }
    let all = envs.list().all().await.unwrap();
    let busy = all.iter().find(|e| e.id == target.id).unwrap();
    assert_eq!(busy.variables.len(), 200);
    assert_eq!(
        busy.variables
            .iter()
            .map(|v| &v.name)
            .collect::<HashSet<_>>()
            .len(),
        200
    );
    assert_conformed(&fake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_and_deletes_leave_a_consistent_list() {
    let (fake, client) = start(FakeOmni::builder().without_rate_limit()).await;
    let envs = client.dbt_environments(fake.connection_id());
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let envs = envs.clone();
            tokio::spawn(async move {
                let env = envs.create(format!("tmp-{i}"), "s").send().await?;
                if i % 2 == 0 {
                    envs.delete(env.id).send().await?;
                }
                Ok::<_, Error>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let names: Vec<String> = envs
        .list()
        .all()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.name)
        .collect();
    let mut expected: Vec<String> = (0..50)
        .filter(|i| i % 2 == 1)
        .map(|i| format!("tmp-{i}"))
        .collect();
    expected.push("Default".into());
    let mut sorted = names.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(sorted, expected);
    assert_conformed(&fake);
}

#[tokio::test]
async fn the_preview_workflow_environment_branch_and_teardown() {
    let (fake, client) = start(FakeOmni::builder().without_rate_limit()).await;
    let model = client.model(fake.model_id());
    fake.add_branch(fake.model_id(), "feature/pr-42").unwrap();

    let env = client
        .dbt_environments(fake.connection_id())
        .create("pr-42", "dbt_pr_42")
        .send()
        .await
        .unwrap();
    model
        .branch("feature/pr-42")
        .use_dbt_environment(env.id)
        .dbt_git_branch("feature/pr-42")
        .send()
        .await
        .unwrap();
    let branch = fake.branch(fake.model_id(), "feature/pr-42").unwrap();
    assert_eq!(branch.dbt_environment, Some(env.id));
    assert_eq!(branch.dbt_git_branch.as_deref(), Some("feature/pr-42"));

    // An unknown branch, and an environment of another connection, are refused.
    let err = model
        .branch("nope")
        .use_dbt_environment(env.id)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let err = model
        .branch("feature/pr-42")
        .use_dbt_environment(omni_dbt::Uuid::new_v4())
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::BadRequest { detail: Some(d), .. } if d.starts_with("dbt_environment_id")),
        "{err:?}"
    );

    // Tearing the environment down points the branch back at the default.
    client
        .dbt_environments(fake.connection_id())
        .delete(env.id)
        .send()
        .await
        .unwrap();
    let branch = fake.branch(fake.model_id(), "feature/pr-42").unwrap();
    assert_eq!(branch.dbt_environment, None);
    assert_conformed(&fake);
}

#[tokio::test]
async fn exposures_page_through_the_fake() {
    let (fake, client) = start(FakeOmni::builder().without_rate_limit()).await;
    let exposures = client
        .model(fake.model_id())
        .dbt_exposures()
        .page_size(3)
        .sort(omni_dbt::SortDirection::Descending)
        .sort_field("name")
        .all()
        .await
        .unwrap();
    let names: Vec<&str> = exposures.iter().map(|e| e.exposure.name.as_str()).collect();
    let mut expected: Vec<String> = (1..=omni_dbt_fake::SEEDED_EXPOSURES)
        .map(|i| format!("dashboard_{i:03}"))
        .collect();
    expected.reverse();
    assert_eq!(names, expected);
    let pages = fake
        .journal()
        .iter()
        .filter(|e| e.operation == Some(omni_dbt_fake::Operation::DbtExposures))
        .count();
    assert_eq!(pages, 3);
    let branch = fake
        .branch(fake.model_id(), omni_dbt_fake::SEEDED_BRANCH)
        .unwrap();
    let on_branch = client
        .model(fake.model_id())
        .dbt_exposures()
        .branch_id(branch.id)
        .send()
        .await
        .unwrap();
    assert_eq!(on_branch.records.len(), omni_dbt_fake::SEEDED_EXPOSURES);
    assert_eq!(on_branch.page_size, Some(20));
    let err = client
        .model(fake.model_id())
        .dbt_exposures()
        .branch_id(omni_dbt::Uuid::new_v4())
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert_conformed(&fake);
}

#[tokio::test]
async fn the_dbt_configuration_round_trip() {
    use omni_dbt::api::types::ConnectionsDbtGetResponse as Answer;
    let (fake, client) = start(FakeOmni::builder().without_rate_limit()).await;
    let dbt = client.dbt(fake.connection_id());
    dbt.update_config("git@github.com:acme/dbt.git", "release")
        .autogen_relationships(false)
        .enable_virtual_schemas(true)
        .dbt_version("1.8")
        .project_root_path("")
        .send()
        .await
        .unwrap();
    match dbt.config().send().await.unwrap() {
        Answer::ConfiguredResponse {
            ssh_url,
            branch,
            dbt_version,
            project_root_path,
            autogen_relationships,
            enable_virtual_schemas,
            supports_dbt,
            ..
        } => {
            assert_eq!(
                (ssh_url.as_str(), branch.as_str(), dbt_version.as_str()),
                ("git@github.com:acme/dbt.git", "release", "1.8")
            );
            assert_eq!(project_root_path, None, "\"\" means the root");
            assert!(!autogen_relationships && enable_virtual_schemas && supports_dbt);
        }
        other => panic!("{other:?}"),
    }
    dbt.delete_config().send().await.unwrap();
    assert!(matches!(
        dbt.config().send().await.unwrap(),
        Answer::NotConfiguredResponse { .. }
    ));
    let err = dbt.delete_config().send().await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let none = client.dbt(fake.connection_without_dbt());
    match none.config().send().await.unwrap() {
        Answer::NotConfiguredResponse { supports_dbt, .. } => assert!(!supports_dbt),
        other => panic!("{other:?}"),
    }
    let err = none
        .update_config("git@x:y.git", "main")
        .autogen_relationships(true)
        .enable_virtual_schemas(true)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
    assert_conformed(&fake);
}

/// Reading every page asks for the largest page (100): 250 environments are 3 requests, not
/// 13 at Omni's default of 20. A size the caller chose is kept.
#[tokio::test]
async fn every_page_is_read_in_pages_of_100() {
    let fake = omni_dbt_fake::FakeOmni::builder()
        .without_rate_limit()
        .start()
        .await
        .unwrap();
    let client = crate::common::fake_client(&fake);
    let envs = client.dbt_environments(fake.connection_id());
    for i in 0..249 {
        envs.create(format!("e{i:03}"), "s").send().await.unwrap();
    }
    fake.clear_journal();
    assert_eq!(envs.list().all().await.unwrap().len(), 250);
    let queries: Vec<Option<String>> = fake.journal().into_iter().map(|e| e.query).collect();
    assert_eq!(queries.len(), 3, "{queries:?}");
    assert!(queries[0].as_deref() == Some("pageSize=100"), "{queries:?}");
    assert!(
        queries[1..]
            .iter()
            .all(|q| q.as_deref().is_some_and(|q| q.contains("pageSize=100"))),
        "{queries:?}"
    );
    fake.clear_journal();
    assert_eq!(envs.list().page_size(50).all().await.unwrap().len(), 250);
    assert_eq!(fake.journal().len(), 5);
}
