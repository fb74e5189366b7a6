//! The generated API, public through `Client::api()`: every operation of the vendored spec is
//! callable against the fake with no hand-written code, through the same hook (retries follow
//! the HTTP method, the size cap holds), and its errors convert into `omni_dbt::Error`.

use std::collections::BTreeSet;

use omni_dbt::{
    Client, Error, Patch, Token, UpdateBody,
    api::{self, types},
};
use omni_dbt_fake::{FakeOmni, Fault, ListShape, Operation, SEEDED_BRANCH, Spec};

use crate::common::fake_client;

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
    let api = fake_client(&fake).api();
    let conn = fake.connection_id();
    let model = fake.model_id();

    let mut create = types::DbtEnvironmentCreateBody::new("pr-7".into(), "dbt_pr_7".into());
    create.target_role = Patch::Set("CI".into());
    let created = api
        .connections_dbt_environments_create()
        .connection_id(conn)
        .body(create)
        .send()
        .await?
        .into_inner();
    let mut update = UpdateBody::default();
    update.target_role = Patch::Clear;
    let updated = api
        .connections_dbt_environments_update()
        .connection_id(conn)
        .environment_id(created.id)
        .body(update)
        .send()
        .await?
        .into_inner();
    assert_eq!(updated.target_role, None);
    let listed = omni_dbt::Page::from(
        api.connections_dbt_environments_list()
            .connection_id(conn)
            .send()
            .await?
            .into_inner(),
    );
    assert_eq!(listed.records.len(), 2);

    let branch = api
        .models_branch_dbt()
        .model_id(model)
        .branch_name(SEEDED_BRANCH)
        .body(types::ModelsBranchDbtBody {
            dbt_environment_id: created.id,
            dbt_git_branch: None,
        })
        .send()
        .await?
        .into_inner();
    assert!(branch.success);
    let exposures = api
        .models_dbt_exposures()
        .model_id(model)
        .send()
        .await?
        .into_inner();
    assert_eq!(exposures.records.len(), omni_dbt_fake::SEEDED_EXPOSURES);

    // Added to the selection with no hand-written code: a schema refresh and its job.
    let job = api
        .models_refresh()
        .model_id(model)
        .send()
        .await?
        .into_inner();
    assert_eq!(job.status, types::ModelsRefreshResponseStatus::Running);
    let state = api
        .jobs_get_status()
        .job_id(job.job_id.clone())
        .send()
        .await?
        .into_inner();
    assert_eq!(state.job_type, "REFRESH_SCHEMA");

    // Model branches and users: generated, called as they are.
    let made = api
        .models_create()
        .body(types::CreateModelSchemaBase {
            connection_id: conn.to_string(),
            base_model_id: Some(model.to_string()),
            model_kind: Some(types::CreateModelSchemaBaseModelKind::Branch),
            model_name: Some("pr-7".into()),
            access_grants: Vec::new(),
            allow_as_workbook_base: None,
            uses_isolated_branches: None,
        })
        .send()
        .await?
        .into_inner();
    assert!(made.success, "{made:?}");
    let listed = api
        .models_list()
        .base_model_id(model)
        .model_kind(types::ModelsListModelKind::Branch)
        .name("pr-7")
        .send()
        .await?
        .into_inner();
    assert_eq!(listed.records.len(), 1);
    assert_eq!(
        Some(listed.records[0].id.clone()),
        made.model.map(|m| m.id.to_string())
    );
    assert!(
        api.models_delete_branch()
            .model_id(model)
            .branch_name("pr-7")
            .send()
            .await?
            .into_inner()
            .success
    );
    let users = api
        .scim_users_list()
        .filter(format!(
            "userName eq \"{}\"",
            omni_dbt_fake::ADMIN_USER_EMAIL
        ))
        .send()
        .await?
        .into_inner();
    assert_eq!(users.resources.len(), 1);
    assert_eq!(users.resources[0].id, fake.admin_user());

    let config = api
        .connections_dbt_get()
        .connection_id(conn)
        .send()
        .await?
        .into_inner();
    let types::ConnectionsDbtGetResponse::ConfiguredResponse {
        ssh_url,
        autogen_relationships,
        enable_virtual_schemas,
        project_root_path,
        ..
    } = config
    else {
        panic!("the seeded connection has a configuration: {config:?}");
    };
    let put = types::ConnectionsDbtUpdateBody {
        ssh_url: ssh_url.as_str().try_into().unwrap(),
        branch: "release".try_into().unwrap(),
        autogen_relationships,
        enable_virtual_schemas,
        dbt_version: None,
        enable_semantic_layer: None,
        rotate_keys: None,
        project_root_path: project_root_path.as_deref().map(|p| p.try_into().unwrap()),
    };
    assert!(
        api.connections_dbt_update()
            .connection_id(conn)
            .body(put)
            .send()
            .await?
            .into_inner()
            .success
    );
    assert!(
        api.connections_dbt_delete()
            .connection_id(conn)
            .send()
            .await?
            .into_inner()
            .success
    );
    let gone = api
        .connections_dbt_environments_delete()
        .connection_id(conn)
        .environment_id(created.id)
        .send()
        .await?
        .into_inner();
    assert!(gone.success);

    // An operation selected after this test was written (e.g. CI's next release selects
    // `dbt-sync`) has no call above: the fake must still serve it, answering as the spec says.
    let spec = Spec::bundled();
    let declared: BTreeSet<&str> = spec.operation_ids().collect();
    let called: BTreeSet<&str> = called_operations(&fake);
    for operation in declared.difference(&called) {
        served_by_the_fake(&fake, operation, created.id, &state.job_id).await;
    }
    // Every operation of the vendored spec was called, and every exchange conformed.
    assert_eq!(called_operations(&fake), declared);
    assert_eq!(fake.violations(), Vec::<String>::new());
    Ok(())
}

fn called_operations(fake: &FakeOmni) -> BTreeSet<&'static str> {
    fake.journal()
        .iter()
        .filter_map(|e| e.operation.map(Operation::operation_id))
        .collect()
}

/// Sends `operation` as the vendored spec describes it, its path parameters from the fake's
/// seeded resources (a parameter this does not know fails the test, naming it), its required
/// query parameters from the same, and `{}` for a body; the fake must route it to the
/// operation and answer without a server error.
async fn served_by_the_fake(
    fake: &FakeOmni,
    operation: &str,
    environment: omni_dbt::Uuid,
    job: &str,
) {
    let doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/openapi/omni-dbt.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let (path, method, op) = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .iter()
                .map(move |(method, op)| (path, method, op))
        })
        .find(|(_, _, op)| op["operationId"] == operation)
        .unwrap();
    let value_of = |name: &str| -> String {
        match name {
            "connectionId" => fake.connection_id().to_string(),
            "environmentId" => environment.to_string(),
            "modelId" => fake.model_id().to_string(),
            "branchName" => SEEDED_BRANCH.to_owned(),
            "jobId" => job.to_owned(),
            // A branch of the seeded model.
            "branch_id" | "branchId" => fake
                .branch(fake.model_id(), SEEDED_BRANCH)
                .unwrap()
                .id
                .to_string(),
            other => panic!("{operation}: no seeded value for the parameter {other}"),
        }
    };
    let mut url = format!("{}{path}", fake.base_url());
    let mut query = Vec::new();
    for parameter in op["parameters"].as_array().into_iter().flatten() {
        let name = parameter["name"].as_str().unwrap();
        match parameter["in"].as_str() {
            Some("path") => url = url.replace(&format!("{{{name}}}"), &value_of(name)),
            Some("query") if parameter["required"] == true => {
                query.push(format!("{name}={}", value_of(name)));
            }
            _ => {}
        }
    }
    if !query.is_empty() {
        url = format!("{url}?{}", query.join("&"));
    }
    // The client's own HTTP client (its TLS set up), without the hook: the request as written.
    use progenitor_client::ClientInfo as _;
    let mut request = fake_client(fake)
        .api()
        .client()
        .request(method.to_uppercase().parse().unwrap(), &url)
        .bearer_auth(&fake.tokens().organization_api_key);
    if op.get("requestBody").is_some() {
        request = request
            .header("content-type", "application/json")
            .body("{}");
    }
    let answer = request.send().await.unwrap();
    assert!(
        !answer.status().is_server_error(),
        "{operation}: {}",
        answer.status()
    );
    assert!(
        called_operations(fake).contains(operation),
        "{operation}: the fake did not route {method} {url} to it"
    );
}

#[tokio::test]
async fn both_levels_read_one_retry_table() {
    let fake = fake().await;
    let client = fake_client(&fake);
    let conn = fake.connection_id();
    let env = fake.default_environment();

    fake.inject(Operation::Update, Fault::status(503, 2));
    let mut body = UpdateBody::default();
    body.target_schema = Some("dbt_retry".into());
    let answer = client
        .api()
        .connections_dbt_environments_update()
        .connection_id(conn)
        .environment_id(env)
        .body(body)
        .send()
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
    let body = types::ModelsBranchDbtBody {
        dbt_environment_id: env,
        dbt_git_branch: None,
    };
    // Setting a branch's environment is idempotent although it is a POST: the table says so,
    // for the generated API as for the builder.
    client
        .api()
        .models_branch_dbt()
        .model_id(fake.model_id())
        .branch_name(SEEDED_BRANCH)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        attempts(Operation::BranchDbt),
        2,
        "api(): lost answer, retried"
    );
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
    assert_eq!(attempts(Operation::BranchDbt), 4, "builder: the same");

    // An update that creates a variable is not repeated after it may have reached Omni, at
    // either level; `?` keeps the attempt count.
    let new_variable = || {
        let mut body = UpdateBody::default();
        body.variables = Some(vec![
            types::DbtEnvironmentVariable {
                name: "ONCE".try_into().unwrap(),
                value: "1".into(),
                is_secret: false,
            }
            .into(),
        ]);
        body
    };
    fake.inject(Operation::Update, Fault::DropAfterProcessing { times: 1 });
    let err: api::Error = client
        .api()
        .connections_dbt_environments_update()
        .connection_id(conn)
        .environment_id(env)
        .body(new_variable())
        .send()
        .await
        .unwrap_err();
    let err = Error::from(err);
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(attempts(Operation::Update), 4, "api(): sent once");
    fake.inject(Operation::Update, Fault::DropAfterProcessing { times: 1 });
    let err = client
        .dbt_environments(conn)
        .update(env)
        .add_variable("TWICE", "1")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(attempts(Operation::Update), 5, "builder: sent once");
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
        .models_dbt_exposures()
        .model_id(fake.model_id())
        .send()
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

    let client = fake_client(&fake);
    let err = Error::from(
        client
            .api()
            .connections_dbt_environments_delete()
            .connection_id(fake.connection_id())
            .environment_id(omni_dbt::Uuid::new_v4())
            .send()
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
        .call(|api| async move {
            api.connections_dbt_delete()
                .connection_id(conn)
                .send()
                .await
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
}
