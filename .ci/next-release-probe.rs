//! Copied by `.ci/run` into the tests of a scratch copy that pulled
//! `xtask/tests/fixtures/omni-next-release.json`: what Omni's next release adds reaches users
//! with no hand-written change. It does not compile against today's spec (the setters it calls
//! are generated from the next release), which is the point.

use omni_dbt::{Client, Token, api::types};
use omni_dbt_fake::{FakeOmni, Operation};

async fn setup() -> (FakeOmni, Client) {
    let fake = FakeOmni::builder().without_rate_limit().start().await.unwrap();
    let client = Client::builder()
        .with_token(Token::organization_api_key(&fake.tokens().organization_api_key))
        .with_base_url(fake.base_url())
        .without_rate_limit()
        .build()
        .unwrap();
    (fake, client)
}

fn last_update_body(fake: &FakeOmni) -> serde_json::Value {
    fake.journal()
        .into_iter()
        .rev()
        .find(|e| e.operation == Some(Operation::Update))
        .and_then(|e| e.json())
        .unwrap()
}

#[tokio::test]
async fn is_deferral_enabled_is_readable_settable_and_never_sent_unless_set() {
    let (fake, client) = setup().await;
    let envs = client.dbt_environments(fake.connection_id());
    // Settable on the create builder, readable on the model.
    let created = envs
        .create("pr-1", "dbt_pr_1")
        .is_deferral_enabled(true)
        .send()
        .await
        .unwrap();
    assert!(created.is_deferral_enabled);
    // An update that does not mention it does not send it, and deferral stays on.
    let updated = envs
        .update(created.id)
        .target_schema("dbt_pr_1_b")
        .send()
        .await
        .unwrap();
    let body = last_update_body(&fake);
    assert!(body.get("isDeferralEnabled").is_none(), "{body}");
    assert!(updated.is_deferral_enabled, "not switched off by a default");
    // Settable on the update builder.
    let off = envs
        .update(created.id)
        .is_deferral_enabled(false)
        .send()
        .await
        .unwrap();
    assert!(!off.is_deferral_enabled);
    assert_eq!(last_update_body(&fake)["isDeferralEnabled"], false);
    // And through client.api(): a body nobody filled sends nothing.
    let mut body = types::DbtEnvironmentUpdateBody::default();
    body.is_deferral_enabled = Some(true);
    client
        .api()
        .connections_dbt_environments_update()
        .connection_id(fake.connection_id())
        .environment_id(created.id)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        last_update_body(&fake),
        serde_json::json!({"isDeferralEnabled": true})
    );
    // An answer without it (an older instance, the docs' example) still decodes.
    let old: omni_dbt::DbtEnvironment = serde_json::from_value(serde_json::json!({
        "id": created.id, "name": "pr-1", "targetSchema": "dbt_pr_1", "isDefaultEnvironment": false,
        "ownerId": null, "targetDatabase": null, "targetName": null, "targetRole": null,
        "variables": []
    }))
    .unwrap();
    assert!(!old.is_deferral_enabled);
    // The new query parameters of the schema refresh are setters of the generated builder.
    client
        .api()
        .models_refresh()
        .model_id(fake.model_id())
        .hard_refresh(types::ModelsRefreshHardRefresh::False)
        .schemas("analytics")
        .send()
        .await
        .unwrap();
}

/// `dbt-sync`, once a maintainer selects it (one line of `openapi/operations.json`, which
/// `.ci/run` adds before the pull, as the drift report advises): the generated client calls it,
/// and the fake, whose spec now has it, serves it; the job is polled to its end.
#[tokio::test]
async fn dbt_sync_is_generated_and_served_once_selected() {
    let (fake, client) = setup().await;
    let model = fake.model_id();
    let branch = fake.add_branch(model, "sync-probe").unwrap();
    let job = client
        .api()
        .models_dbt_sync()
        .model_id(model)
        .branch_id(branch)
        .send()
        .await
        .unwrap()
        .into_inner()
        .job_id;
    let status = loop {
        let state = client
            .api()
            .jobs_get_status()
            .job_id(job.clone())
            .send()
            .await
            .unwrap()
            .into_inner();
        if state.status != types::JobsGetStatusResponseStatus::InProgress {
            assert_eq!(state.job_type, "DBT_SYNC");
            break state.status;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(status, types::JobsGetStatusResponseStatus::Completed);
    // A branch of another model, or none: Omni's answers.
    let err = client
        .api()
        .models_dbt_sync()
        .model_id(model)
        .branch_id(omni_dbt::Uuid::new_v4())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404), "{err:?}");
    assert!(fake
        .journal()
        .iter()
        .any(|e| e.operation == Some(Operation::DbtSync) && e.status == Some(200)));
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}
