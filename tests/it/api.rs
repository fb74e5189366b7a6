//! The generated API, public through `Client::api()`: every operation of the vendored spec is
//! callable against the fake with no hand-written code, through the same hook (retries follow
//! the HTTP method, the size cap holds), and its errors convert into `omni_dbt::Error`.

use std::{collections::BTreeSet, time::Duration};

use omni_dbt::{
    Client, Error, Patch, RetryPolicy, Token, UpdateBody,
    api::{self, types},
};
use omni_dbt_fake::{FakeOmni, Fault, ListShape, Operation, SEEDED_BRANCH, Spec};

fn client(fake: &FakeOmni) -> Client {
    Client::builder()
        .with_token(Token::organization_api_key(
            &fake.tokens().organization_api_key,
        ))
        .with_base_url(fake.base_url())
        .without_rate_limit()
        .with_retry_policy(
            RetryPolicy::default()
                .with_base_delay(Duration::from_millis(5))
                .with_max_delay(Duration::from_millis(20)),
        )
        .build()
        .unwrap()
}

async fn fake() -> FakeOmni {
    FakeOmni::builder()
        .without_rate_limit()
        .list_shape(ListShape::Envelope)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn every_operation_in_the_spec_is_callable_through_the_generated_api() -> omni_dbt::Result<()>
{
    let fake = fake().await;
    let api = client(&fake).api();
    let conn = fake.connection_id();
    let model = fake.model_id();

    let create = types::DbtEnvironmentCreateBody {
        name: "pr-7".try_into().unwrap(),
        target_schema: "dbt_pr_7".try_into().unwrap(),
        owner_id: None,
        target_database: None,
        target_name: None,
        target_role: Some("CI".into()),
        variables: vec![],
    };
    let created = api
        .connections_dbt_environments_create(&conn, &create)
        .await?
        .into_inner();
    let mut update = UpdateBody::default();
    update.target_role = Patch::Clear;
    let updated = api
        .connections_dbt_environments_update(&conn, &created.id, &update)
        .await?
        .into_inner();
    assert_eq!(updated.target_role, None);
    let listed = omni_dbt::Page::from(
        api.connections_dbt_environments_list(&conn, None, None, None, None)
            .await?
            .into_inner(),
    );
    assert_eq!(listed.records.len(), 2);

    let branch = api
        .models_branch_dbt(
            &model,
            SEEDED_BRANCH,
            &types::ModelBranchDbtBody {
                dbt_environment_id: created.id,
                dbt_git_branch: None,
            },
        )
        .await?
        .into_inner();
    assert!(branch.success);
    let exposures = api
        .models_dbt_exposures(&model, None, None, None, None, None)
        .await?
        .into_inner();
    assert_eq!(exposures.records.len(), omni_dbt_fake::SEEDED_EXPOSURES);

    // Added to the selection with no hand-written code: a schema refresh and its job.
    let job = api.models_refresh(&model, None).await?.into_inner();
    assert_eq!(job.status, types::ModelRefreshResponseStatus::Running);
    let state = api.jobs_get_status(&job.job_id).await?.into_inner();
    assert_eq!(state.job_type, "REFRESH_SCHEMA");

    let config = api.connections_dbt_get(&conn).await?.into_inner();
    let types::ConnectionDbtGetResponse::Config(config) = config else {
        panic!("the seeded connection has a configuration: {config:?}");
    };
    let put = types::ConnectionDbtUpdateBody {
        ssh_url: config.ssh_url.as_str().try_into().unwrap(),
        branch: "release".try_into().unwrap(),
        autogen_relationships: config.autogen_relationships,
        enable_virtual_schemas: config.enable_virtual_schemas,
        dbt_version: None,
        enable_semantic_layer: false,
        rotate_keys: false,
        project_root_path: config.project_root_path.clone(),
    };
    assert!(
        api.connections_dbt_update(&conn, &put)
            .await?
            .into_inner()
            .success
    );
    assert!(
        api.connections_dbt_delete(&conn)
            .await?
            .into_inner()
            .success
    );
    let gone = api
        .connections_dbt_environments_delete(&conn, &created.id)
        .await?
        .into_inner();
    assert!(gone.success);

    // Every operation of the vendored spec was called, and every exchange conformed.
    let called: BTreeSet<&str> = fake
        .journal()
        .iter()
        .filter_map(|e| e.operation.map(Operation::operation_id))
        .collect();
    let spec = Spec::bundled();
    let declared: BTreeSet<&str> = spec.operation_ids().collect();
    assert_eq!(called, declared);
    assert_eq!(fake.violations(), Vec::<String>::new());
    Ok(())
}

#[tokio::test]
async fn a_put_through_the_api_is_retried_and_a_post_is_not() {
    let fake = fake().await;
    let client = client(&fake);
    let conn = fake.connection_id();
    let env = fake.default_environment();

    fake.inject(Operation::Update, Fault::status(503, 2));
    let mut body = UpdateBody::default();
    body.target_schema = Some("dbt_retry".into());
    let answer = client
        .api()
        .connections_dbt_environments_update(&conn, &env, &body)
        .await
        .unwrap();
    assert_eq!(answer.into_inner().target_schema, "dbt_retry");
    let attempts = |op| {
        fake.journal()
            .iter()
            .filter(|e| e.operation == Some(op))
            .count()
    };
    assert_eq!(attempts(Operation::Update), 3, "PUT retried by method");

    fake.inject(
        Operation::BranchDbt,
        Fault::DropAfterProcessing { times: 1 },
    );
    let body = types::ModelBranchDbtBody {
        dbt_environment_id: env,
        dbt_git_branch: None,
    };
    let err: api::Error = client
        .api()
        .models_branch_dbt(&fake.model_id(), SEEDED_BRANCH, &body)
        .await
        .unwrap_err();
    let err = Error::from(err);
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(attempts(Operation::BranchDbt), 1, "POST not repeated");

    // The ergonomic builder knows that setting a branch's environment is idempotent.
    fake.inject(
        Operation::BranchDbt,
        Fault::DropAfterProcessing { times: 1 },
    );
    client
        .model(fake.model_id())
        .branch(SEEDED_BRANCH)
        .use_dbt_environment(env)
        .send()
        .await
        .unwrap();
    assert_eq!(attempts(Operation::BranchDbt), 3);
}

#[tokio::test]
async fn the_size_cap_and_error_bodies_hold_through_the_api() {
    let fake = fake().await;
    let small = Client::builder()
        .with_token(Token::organization_api_key(
            &fake.tokens().organization_api_key,
        ))
        .with_base_url(fake.base_url())
        .without_rate_limit()
        .with_max_response_bytes(64)
        .build()
        .unwrap();
    let err = small
        .api()
        .models_dbt_exposures(&fake.model_id(), None, None, None, None, None)
        .await
        .unwrap_err();
    let err = Error::from(err);
    assert!(
        matches!(
            err,
            Error::ResponseTooLarge {
                status: 200,
                limit: 64,
                ..
            }
        ),
        "{err:?}"
    );

    let client = client(&fake);
    let err = Error::from(
        client
            .api()
            .connections_dbt_environments_delete(&fake.connection_id(), &omni_dbt::Uuid::new_v4())
            .await
            .unwrap_err(),
    );
    assert!(
        matches!(&err, Error::NotFound { detail: Some(d), .. } if d == "dbt environment not found"),
        "{err:?}"
    );
    // The same call through `Client::call` maps the same way.
    let conn = fake.connection_without_dbt();
    let err = client
        .call(|api| async move { api.connections_dbt_delete(&conn).await })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
}
