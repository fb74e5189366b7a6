//! The quickstart: `cargo run --example quickstart`.
//!
//! With no `OMNI_*` variables it starts the built-in fake Omni in-process and walks through
//! Omni's "preview dbt changes" workflow: create a dbt environment for a pull request, update
//! it, point a model branch at it, refresh the branch's schema and wait for the job, list, and
//! tear the environment down. With `OMNI_CONNECTION_ID`,
//! `OMNI_ENVIRONMENT_ID` and `OMNI_TARGET_SCHEMA` set (plus `OMNI_API_TOKEN`/`OMNI_BASE_URL` or
//! an Omni CLI profile) it performs only the update, against that instance.

use std::{error::Error, process::ExitCode, time::Duration};

use omni_dbt::{
    Client, DbtEnvironment, RateLimit, Token, Uuid, api::types::JobsGetStatusResponseStatus,
};
use omni_dbt_fake::{FakeOmni, SEEDED_BRANCH, Spec};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let connection = std::env::var("OMNI_CONNECTION_ID").ok();
    let environment = std::env::var("OMNI_ENVIRONMENT_ID").ok();
    match (connection, environment) {
        (Some(c), Some(e)) => update_real_instance(&c, &e).await,
        (None, None) => tour_of_the_fake().await,
        _ => Err(
            "set both OMNI_CONNECTION_ID and OMNI_ENVIRONMENT_ID to update a real environment, \
                  or neither to run against the built-in fake"
                .into(),
        ),
    }
}

async fn update_real_instance(connection: &str, environment: &str) -> Result<(), Box<dyn Error>> {
    let connection = Uuid::parse_str(connection).map_err(|e| format!("OMNI_CONNECTION_ID: {e}"))?;
    let environment =
        Uuid::parse_str(environment).map_err(|e| format!("OMNI_ENVIRONMENT_ID: {e}"))?;
    let schema = std::env::var("OMNI_TARGET_SCHEMA").map_err(
        |_| "OMNI_TARGET_SCHEMA: set it to the target schema the environment should get",
    )?;
    let client = Client::from_env()?;
    println!(
        "omni-dbt quickstart: updating {environment} at {}",
        client.base_url()
    );
    let env = client
        .dbt_environments(connection)
        .update(environment)
        .target_schema(schema)
        .send()
        .await?;
    println!("updated   {}", describe(&env));
    Ok(())
}

async fn tour_of_the_fake() -> Result<(), Box<dyn Error>> {
    let fake = FakeOmni::builder().start().await?;
    println!(
        "omni-dbt quickstart: OMNI_CONNECTION_ID and OMNI_ENVIRONMENT_ID are not set, so using the built-in fake Omni at {}",
        fake.base_url()
    );

    let client = Client::builder()
        .with_token(Token::organization_api_key(
            &fake.tokens().organization_api_key,
        ))
        .with_base_url(fake.base_url())
        // The fake allows a burst of 60; let the tour use some of it instead of spacing
        // requests a second apart after the first five.
        .with_rate_limit(RateLimit::per_minute(60).with_burst(20))
        .build()?;
    let environments = client.dbt_environments(fake.connection_id());

    let created = environments
        .create("pr-42", "dbt_pr_42")
        .target_database("analytics")
        .target_role("TRANSFORMER")
        .add_variable("DBT_TARGET", "ci")
        .send()
        .await?;
    println!("1. created  {}", describe(&created));

    // From the environment at hand: its name goes into the body with no lookup.
    let updated = environments
        .update_from(&created)
        .target_schema("dbt_pr_42_v2")
        .clear_target_role()
        .put_variable("DBT_THREADS", "8")
        .put_secret_variable("DBT_PASSWORD", "correct-horse-battery-staple")
        .send()
        .await?;
    println!("2. updated  {}", describe(&updated));

    let model = fake.model_id();
    client
        .model(model)
        .branch(SEEDED_BRANCH)
        .use_dbt_environment(created.id)
        .send()
        .await?;
    println!(
        "3. branch   {SEEDED_BRANCH} of model {model} now reads dbt from {}",
        created.name
    );

    // The refresh and its job have no ergonomic handle: the generated API calls them.
    let job = client
        .api()
        .models_refresh()
        .model_id(model)
        .send()
        .await?
        .into_inner();
    let started = std::time::Instant::now();
    let status = loop {
        let state = client
            .api()
            .jobs_get_status()
            .job_id(job.job_id.clone())
            .send()
            .await?
            .into_inner();
        if state.status != JobsGetStatusResponseStatus::InProgress {
            break state.status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            return Err(format!("schema refresh {} still running after 30 s", job.job_id).into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    println!("4. refresh  job {} ended {status:?}", job.job_id);
    if status != JobsGetStatusResponseStatus::Completed {
        return Err(format!("schema refresh {} ended {status:?}", job.job_id).into());
    }

    let all = environments.list().all().await?;
    let names: Vec<&str> = all.iter().map(|e| e.name.as_str()).collect();
    println!(
        "5. listed   {} environments: {}",
        all.len(),
        names.join(", ")
    );

    environments.delete(created.id).send().await?;
    println!(
        "6. deleted  {} (the branch reads from the default again)",
        created.name
    );

    let journal = fake.journal();
    let violations = fake.violations();
    if !violations.is_empty() {
        return Err(format!("exchanges that broke openapi/omni-dbt.json: {violations:#?}").into());
    }
    println!(
        "all {} exchanges conformed to openapi/omni-dbt.json",
        journal.len()
    );
    // What a validating proxy in front of a real instance would judge: every request body
    // against Omni's release as published, before our corrections (it requires `name` and
    // `targetSchema` in an update body, which Omni's docs call optional).
    let published: serde_json::Value = serde_json::from_str(PUBLISHED)?;
    let published = Spec::from_document(&published)?;
    let mut bodies = 0;
    for entry in &journal {
        let (Some(operation), Some(body)) = (entry.operation, entry.json()) else {
            continue;
        };
        bodies += 1;
        published
            .check_request(operation.operation_id(), &body)
            .map_err(|v| {
                format!(
                    "{} {} broke Omni's published release (openapi/upstream.json): {v}",
                    entry.method, entry.path
                )
            })?;
    }
    println!(
        "all {bodies} request bodies were valid under Omni's published release (openapi/upstream.json)"
    );
    Ok(())
}

/// Omni's spec as `cargo xtask spec pull` found it, before our reviewed corrections.
const PUBLISHED: &str = include_str!("../../../openapi/upstream.json");

fn describe(env: &DbtEnvironment) -> String {
    let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "(none)".to_owned());
    let variables: Vec<String> = env
        .variables
        .iter()
        .map(|v| match (&v.value, v.is_secret) {
            (_, true) => format!("{}=<secret>", v.name),
            (Some(value), false) => format!("{}={value}", v.name),
            (None, false) => v.name.clone(),
        })
        .collect();
    format!(
        "{} ({})\n           schema={} database={} role={} variables: {}",
        env.name,
        env.id,
        env.target_schema,
        or_none(&env.target_database),
        or_none(&env.target_role),
        variables.join(", ")
    )
}
