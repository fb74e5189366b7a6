//! What each command does, through the library's client.

use std::{
    io::{IsTerminal, Read},
    time::Duration,
};

use omni_dbt::{
    Client, DbtEnvironment, Uuid,
    api::types::{ConnectionsDbtGetResponse, JobsGetStatusResponseStatus},
};
use serde_json::json;

use crate::{
    Context,
    cli::{
        ApplyArgs, Cli, Command, ConfigCommand, ConnectionArg, DbtCommand, EnvCommand,
        ExposuresCommand, Output, PreviewCommand, VariableArgs,
    },
    failure::Failure,
    output::{emit, environment_rows},
    plan,
};

/// Runs a command; the exit code on success is 0, or 2 for `plan --detailed-exitcode` with
/// changes.
pub async fn run(cli: Cli) -> Result<u8, Failure> {
    let ctx = Context::new(&cli.global)?;
    match cli.command {
        Command::Env {
            command:
                EnvCommand::Plan {
                    connection,
                    apply,
                    detailed_exitcode: true,
                },
        } => match env_plan(&ctx, &connection, &apply).await {
            Ok(changes) => Ok(if changes { 2 } else { 0 }),
            Err(e) => Err(Failure::Detailed(Box::new(e))),
        },
        other => run_other(&ctx, other).await.map(|()| 0),
    }
}

async fn run_other(ctx: &Context, command: Command) -> Result<(), Failure> {
    match command {
        Command::Config {
            command: ConfigCommand::Show(connection),
        } => config_show(ctx, &connection),
        Command::Env { command } => env(ctx, command).await,
        Command::Dbt { command } => dbt(ctx, command).await,
        Command::Exposures { command } => exposures(ctx, command).await,
        Command::Preview { command } => preview(ctx, command).await,
        Command::Completions { .. } => Ok(()),
    }
}

/// The connection of a plan: the file's, else the flag's (they must agree when both are given).
fn plan_connection(file: &plan::File, arg: &ConnectionArg) -> Result<Uuid, Failure> {
    match (file.connection, arg.connection) {
        (Some(a), Some(b)) if a != b => Err(Failure::Usage(format!(
            "the file names connection {a} but --connection (or OMNI_CONNECTION_ID) says {b}"
        ))),
        (Some(c), _) | (None, Some(c)) => Ok(c),
        (None, None) => Err(Failure::Usage(
            "no connection: name it in the file (`connection:`), with --connection or OMNI_CONNECTION_ID"
                .to_owned(),
        )),
    }
}

/// Prints the plan; returns whether it changes anything.
async fn env_plan(ctx: &Context, arg: &ConnectionArg, args: &ApplyArgs) -> Result<bool, Failure> {
    let (file, _secrets) = plan::load(&args.file)?;
    let connection = plan_connection(&file, arg)?;
    let current = all_environments(&ctx.client()?, connection).await?;
    let planned = plan::plan(&file, &current, args.prune, args.rotate_secrets);
    match ctx.output {
        Output::Table => print!("{}", planned.human()),
        Output::Json => emit(ctx.output, &planned, Vec::new),
    }
    Ok(planned.has_changes())
}

async fn env_apply(
    ctx: &Context,
    arg: &ConnectionArg,
    args: &ApplyArgs,
    yes: bool,
) -> Result<(), Failure> {
    let (file, secrets) = plan::load(&args.file)?;
    let connection = plan_connection(&file, arg)?;
    let client = ctx.client()?;
    let current = all_environments(&client, connection).await?;
    let planned = plan::plan(&file, &current, args.prune, args.rotate_secrets);
    // The plan goes to stderr, so that stdout stays the machine-readable result.
    eprint!("{}", planned.human());
    if !planned.has_changes() {
        emit(
            ctx.output,
            &json!({"applied": false, "plan": planned}),
            Vec::new,
        );
        return Ok(());
    }
    if !yes {
        if !std::io::stdin().is_terminal() || ctx.stdin_taken {
            return Err(Failure::Usage(
                "refusing to apply without --yes: standard input is not a terminal".to_owned(),
            ));
        }
        eprint!("Apply these changes? Only 'yes' is accepted: ");
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(|e| Failure::Usage(format!("reading the answer: {e}")))?;
        if answer.trim() != "yes" {
            return Err(Failure::Usage(
                "apply cancelled; nothing was changed".to_owned(),
            ));
        }
    }
    let total = (planned.create.len() + planned.update.len() + planned.delete.len()) as u64;
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(total),
        indicatif::ProgressDrawTarget::stderr(),
    );
    let failures = plan::apply(
        &client, connection, &file, &secrets, &current, &planned, &bar,
    )
    .await;
    bar.finish_and_clear();
    let applied = total as usize - failures.len();
    eprintln!("Applied {applied} of {total} change(s).");
    emit(
        ctx.output,
        &json!({"applied": true, "plan": planned, "failed": failures}),
        Vec::new,
    );
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Failure::Partial(failures))
    }
}

fn connection(arg: &ConnectionArg) -> Result<Uuid, Failure> {
    arg.connection.ok_or_else(|| {
        Failure::Usage("--connection (or OMNI_CONNECTION_ID) is required".to_owned())
    })
}

fn config_show(ctx: &Context, connection: &ConnectionArg) -> Result<(), Failure> {
    let resolved = ctx.builder.resolve()?;
    let connection_from = match (connection.connection, std::env::var("OMNI_CONNECTION_ID")) {
        (None, _) => "not set",
        (Some(c), Ok(env)) if env.trim() == c.to_string() => "OMNI_CONNECTION_ID",
        (Some(_), _) => "--connection",
    };
    let profile_file = resolved
        .profile_file
        .as_ref()
        .map(|p| p.display().to_string());
    // The library names its own entry points; say which flag the user gave instead.
    let token_from = ctx
        .token_from
        .clone()
        .unwrap_or(resolved.token_from.clone());
    let base_url_from = match resolved.base_url_from.as_str() {
        "the base URL given to the builder" => ctx.base_url_from.clone(),
        other => other.to_owned(),
    };
    let value = json!({
        "baseUrl": resolved.base_url,
        "baseUrlFrom": base_url_from,
        "token": "<redacted>",
        "tokenKind": resolved.token_kind.to_string(),
        "tokenFrom": token_from,
        "profileFile": profile_file,
        "connection": connection.connection,
        "connectionFrom": connection_from,
    });
    emit(ctx.output, &value, || {
        vec![
            vec!["SETTING".into(), "VALUE".into(), "FROM".into()],
            vec![
                "base URL".into(),
                resolved.base_url.clone(),
                base_url_from.clone(),
            ],
            vec![
                "token".into(),
                format!("<redacted> ({})", resolved.token_kind),
                token_from.clone(),
            ],
            vec![
                "connection".into(),
                connection
                    .connection
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
                connection_from.into(),
            ],
            vec![
                "profile file".into(),
                profile_file.clone().unwrap_or_else(|| "(not read)".into()),
                String::new(),
            ],
        ]
    });
    Ok(())
}

/// Every environment of the connection.
async fn all_environments(
    client: &Client,
    connection: Uuid,
) -> Result<Vec<DbtEnvironment>, Failure> {
    Ok(client.dbt_environments(connection).list().all().await?)
}

/// An environment by id, or by exact name among all of them (every page). An unknown name is
/// "not found" and an ambiguous one invalid input, each listing the candidates.
async fn find(
    client: &Client,
    connection: Uuid,
    name_or_id: &str,
) -> Result<DbtEnvironment, Failure> {
    let all = all_environments(client, connection).await?;
    if let Ok(id) = Uuid::parse_str(name_or_id) {
        return all.into_iter().find(|e| e.id == id).ok_or_else(|| {
            Failure::NotFound(format!(
                "no environment with id {id} on connection {connection}"
            ))
        });
    }
    let matching: Vec<&DbtEnvironment> = all.iter().filter(|e| e.name == name_or_id).collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => {
            let names: Vec<&str> = all.iter().map(|e| e.name.as_str()).collect();
            Err(Failure::NotFound(format!(
                "no environment named \"{name_or_id}\" on connection {connection}; it has: {}",
                names.join(", ")
            )))
        }
        many => {
            let ids: Vec<String> = many.iter().map(|e| e.id.to_string()).collect();
            Err(Failure::Usage(format!(
                "{} environments are named \"{name_or_id}\"; give one of their ids: {}",
                many.len(),
                ids.join(", ")
            )))
        }
    }
}

/// `--var NAME=VALUE` and `--secret-var NAME`, read into (name, value, secret).
fn variables(ctx: &Context, args: &VariableArgs) -> Result<Vec<(String, String, bool)>, Failure> {
    let mut out = Vec::new();
    for var in &args.vars {
        let (name, value) = var
            .split_once('=')
            .ok_or_else(|| Failure::Usage(format!("--var {var}: expected NAME=VALUE")))?;
        out.push((name.to_owned(), value.to_owned(), false));
    }
    let from_stdin: Vec<&String> = args
        .secret_vars
        .iter()
        .filter(|name| std::env::var_os(name).is_none())
        .collect();
    if from_stdin.len() > 1 || (!from_stdin.is_empty() && ctx.stdin_taken) {
        return Err(Failure::Usage(format!(
            "--secret-var: set the environment variable of each secret's name; only one value \
             can come from standard input, and not with --token-stdin (missing: {})",
            from_stdin
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    for name in &args.secret_vars {
        let value = match std::env::var(name) {
            Ok(value) => value,
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(Failure::Usage(format!(
                    "--secret-var {name}: the environment variable is not UTF-8"
                )));
            }
            Err(std::env::VarError::NotPresent) => {
                let mut value = String::new();
                std::io::stdin()
                    .read_to_string(&mut value)
                    .map_err(|e| Failure::Usage(format!("--secret-var {name}: {e}")))?;
                value.trim_end_matches(['\n', '\r']).to_owned()
            }
        };
        out.push((name.clone(), value, true));
    }
    Ok(out)
}

async fn env(ctx: &Context, command: EnvCommand) -> Result<(), Failure> {
    match command {
        EnvCommand::List(c) => {
            let connection = connection(&c)?;
            let all = all_environments(&ctx.client()?, connection).await?;
            emit(ctx.output, &all, || environment_rows(&all));
        }
        EnvCommand::Get { connection: c, env } => {
            let connection = connection(&c)?;
            let found = find(&ctx.client()?, connection, &env).await?;
            emit(ctx.output, &found, || {
                environment_rows(std::slice::from_ref(&found))
            });
        }
        EnvCommand::Create {
            connection: c,
            name,
            fields,
            variables: vars,
        } => {
            let connection = connection(&c)?;
            let vars = variables(ctx, &vars)?;
            let client = ctx.client()?;
            let mut create = client
                .dbt_environments(connection)
                .create(name, fields.schema)
                .adopting();
            if let Some(v) = fields.database {
                create = create.target_database(v);
            }
            if let Some(v) = fields.target_name {
                create = create.target_name(v);
            }
            if let Some(v) = fields.role {
                create = create.target_role(v);
            }
            if let Some(v) = fields.owner {
                create = create.owner_id(v);
            }
            let created = with_new_variables(create, vars).send().await?;
            eprintln!("created environment {} ({})", created.name, created.id);
            emit(ctx.output, &created, || {
                environment_rows(std::slice::from_ref(&created))
            });
        }
        EnvCommand::Update {
            connection: c,
            env,
            fields,
            variables: vars,
        } => {
            let connection = connection(&c)?;
            let vars = variables(ctx, &vars)?;
            let client = ctx.client()?;
            let current = find(&client, connection, &env).await?;
            // Both readings of Omni's contract: the spec requires name and targetSchema.
            let mut update = client.dbt_environments(connection).update_from(&current);
            if let Some(v) = fields.name {
                update = update.name(v);
            }
            if let Some(v) = fields.schema {
                update = update.target_schema(v);
            }
            update = match (fields.database, fields.clear_database) {
                (Some(v), _) => update.target_database(v),
                (None, true) => update.clear_target_database(),
                (None, false) => update,
            };
            update = match (fields.target_name, fields.clear_target_name) {
                (Some(v), _) => update.target_name(v),
                (None, true) => update.clear_target_name(),
                (None, false) => update,
            };
            update = match (fields.role, fields.clear_role) {
                (Some(v), _) => update.target_role(v),
                (None, true) => update.clear_target_role(),
                (None, false) => update,
            };
            update = match (fields.owner, fields.clear_owner) {
                (Some(v), _) => update.owner_id(v),
                (None, true) => update.clear_owner_id(),
                (None, false) => update,
            };
            update = with_variables(update, &current, vars);
            let updated = update.send().await?;
            eprintln!("updated environment {} ({})", updated.name, updated.id);
            emit(ctx.output, &updated, || {
                environment_rows(std::slice::from_ref(&updated))
            });
        }
        EnvCommand::Plan {
            connection: c,
            apply,
            ..
        } => {
            env_plan(ctx, &c, &apply).await?;
        }
        EnvCommand::Apply {
            connection: c,
            apply,
            yes,
        } => env_apply(ctx, &c, &apply, yes).await?,
        EnvCommand::Delete { connection: c, env } => {
            let connection = connection(&c)?;
            let client = ctx.client()?;
            let current = find(&client, connection, &env).await?;
            if current.is_default_environment {
                return Err(Failure::Usage(format!(
                    "{} is the connection's default environment; it is never deleted",
                    current.name
                )));
            }
            client
                .dbt_environments(connection)
                .delete(current.id)
                .send()
                .await?;
            eprintln!("deleted environment {} ({})", current.name, current.id);
            emit(
                ctx.output,
                &json!({"deleted": current.id, "name": current.name}),
                || {
                    vec![
                        vec!["DELETED".into(), "ID".into()],
                        vec![current.name.clone(), current.id.to_string()],
                    ]
                },
            );
        }
    }
    Ok(())
}

/// Adds each variable to a create.
fn with_new_variables(
    mut create: omni_dbt::CreateEnvironment,
    vars: Vec<(String, String, bool)>,
) -> omni_dbt::CreateEnvironment {
    for (name, value, secret) in vars {
        create = if secret {
            create.add_secret_variable(name, value)
        } else {
            create.add_variable(name, value)
        };
    }
    create
}

/// Sets each variable: an existing one (by name) gets the value, a new one is created.
fn with_variables(
    mut update: omni_dbt::UpdateEnvironment,
    current: &DbtEnvironment,
    vars: Vec<(String, String, bool)>,
) -> omni_dbt::UpdateEnvironment {
    for (name, value, secret) in vars {
        update = match (current.variable(&name), secret) {
            (Some(existing), true) => update.set_secret_variable(existing.id, value),
            (Some(existing), false) => update.set_variable(existing.id, value),
            (None, true) => update.add_secret_variable(name, value),
            (None, false) => update.add_variable(name, value),
        };
    }
    update
}

async fn dbt(ctx: &Context, command: DbtCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    match command {
        DbtCommand::Show(c) => {
            let answer = client.dbt(connection(&c)?).config().send().await?;
            emit(ctx.output, &answer, || match &answer {
                ConnectionsDbtGetResponse::ConfiguredResponse {
                    ssh_url,
                    branch,
                    dbt_version,
                    project_root_path,
                    autogen_relationships,
                    enable_virtual_schemas,
                    enable_semantic_layer,
                    ..
                } => vec![
                    vec!["SETTING".into(), "VALUE".into()],
                    vec!["sshUrl".into(), ssh_url.clone()],
                    vec!["branch".into(), branch.clone()],
                    vec!["dbtVersion".into(), dbt_version.clone()],
                    vec![
                        "projectRootPath".into(),
                        project_root_path.clone().unwrap_or_default(),
                    ],
                    vec![
                        "autogenRelationships".into(),
                        autogen_relationships.to_string(),
                    ],
                    vec![
                        "enableVirtualSchemas".into(),
                        enable_virtual_schemas.to_string(),
                    ],
                    vec![
                        "enableSemanticLayer".into(),
                        enable_semantic_layer.to_string(),
                    ],
                ],
                ConnectionsDbtGetResponse::NotConfiguredResponse {
                    message,
                    supports_dbt,
                } => vec![
                    vec!["SETTING".into(), "VALUE".into()],
                    vec!["message".into(), message.clone()],
                    vec!["supportsDbt".into(), supports_dbt.to_string()],
                ],
            });
        }
        DbtCommand::Set {
            connection: c,
            ssh_url,
            branch,
            autogen_relationships,
            virtual_schemas,
            dbt_version,
            semantic_layer,
            rotate_keys,
            project_root,
        } => {
            let mut set = client
                .dbt(connection(&c)?)
                .update_config(ssh_url, branch)
                .autogen_relationships(autogen_relationships)
                .enable_virtual_schemas(virtual_schemas)
                .enable_semantic_layer(semantic_layer)
                .rotate_keys(rotate_keys);
            if let Some(v) = dbt_version {
                set = set.dbt_version(v);
            }
            if let Some(v) = project_root {
                set = set.project_root_path(v);
            }
            let answer = set.send().await?;
            eprintln!("{}", answer.message);
            emit(ctx.output, &answer, || vec![vec![answer.message.clone()]]);
        }
        DbtCommand::Delete(c) => {
            let answer = client.dbt(connection(&c)?).delete_config().send().await?;
            eprintln!("{}", answer.message);
            emit(ctx.output, &answer, || vec![vec![answer.message.clone()]]);
        }
    }
    Ok(())
}

async fn exposures(ctx: &Context, command: ExposuresCommand) -> Result<(), Failure> {
    let ExposuresCommand::List { model, branch_id } = command;
    let mut list = ctx.client()?.model(model).dbt_exposures();
    if let Some(branch) = branch_id {
        list = list.branch_id(branch);
    }
    let all = list.all().await?;
    emit(ctx.output, &all, || {
        let mut rows = vec![vec![
            "NAME".into(),
            "TYPE".into(),
            "OWNER".into(),
            "DEPENDS ON".into(),
        ]];
        for e in &all {
            rows.push(vec![
                e.deduplication_name.clone(),
                e.exposure.type_.to_string(),
                e.exposure.owner.email.clone(),
                e.exposure.depends_on.join(", "),
            ]);
        }
        rows
    });
    Ok(())
}

/// The environment name for a branch: `preview-` and the branch, lowercased, every run of
/// characters other than a-z and 0-9 turned into one `-`, at most 64 characters in all.
pub fn preview_name(branch: &str) -> Result<String, Failure> {
    let slug = sanitise(branch, '-', 56);
    if slug.is_empty() {
        return Err(Failure::Usage(format!(
            "--branch {branch:?}: has no letter or digit to name an environment after"
        )));
    }
    Ok(format!("preview-{slug}"))
}

/// The default schema for a branch: `dbt_` and the branch sanitised with `_`, at most 63
/// characters (the identifier limit of PostgreSQL, the strictest common warehouse).
pub fn preview_schema(branch: &str) -> String {
    format!("dbt_{}", sanitise(branch, '_', 59))
}

fn sanitise(text: &str, separator: char, max: usize) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with(separator) {
            out.push(separator);
        }
    }
    let mut out: String = out.chars().take(max).collect();
    while out.ends_with(separator) {
        out.pop();
    }
    out
}

async fn preview(ctx: &Context, command: PreviewCommand) -> Result<(), Failure> {
    match command {
        PreviewCommand::Up {
            connection: c,
            target,
            schema,
            dbt_git_branch,
            variables: vars,
            refresh,
            branch_id,
            refresh_timeout,
        } => {
            let connection = connection(&c)?;
            let name = preview_name(&target.branch)?;
            let schema = schema.unwrap_or_else(|| preview_schema(&target.branch));
            let vars = variables(ctx, &vars)?;
            let client = ctx.client()?;
            let existing = all_environments(&client, connection)
                .await?
                .into_iter()
                .find(|e| e.name == name);
            let (environment, action) = match existing {
                Some(current) => {
                    let update = client
                        .dbt_environments(connection)
                        .update_from(&current)
                        .target_schema(&schema);
                    let updated = with_variables(update, &current, vars).send().await?;
                    (updated, "updated")
                }
                None => {
                    let create = client
                        .dbt_environments(connection)
                        .create(&name, &schema)
                        .adopting();
                    (with_new_variables(create, vars).send().await?, "created")
                }
            };
            eprintln!(
                "{action} environment {} ({}) building into {}",
                environment.name, environment.id, environment.target_schema
            );
            let mut point = client
                .model(target.model)
                .branch(&target.branch)
                .use_dbt_environment(environment.id);
            if let Some(git) = &dbt_git_branch {
                point = point.dbt_git_branch(git);
            }
            point.send().await?;
            eprintln!(
                "branch {} of model {} reads dbt from {}",
                target.branch, target.model, environment.name
            );
            let refreshed = if refresh {
                Some(refresh_and_wait(&client, target.model, branch_id, refresh_timeout).await?)
            } else {
                None
            };
            let value = json!({
                "action": action,
                "environment": environment,
                "model": target.model,
                "branch": target.branch,
                "refresh": refreshed,
            });
            emit(ctx.output, &value, || {
                let mut rows = environment_rows(std::slice::from_ref(&environment));
                rows[0].insert(0, "ACTION".into());
                rows[1].insert(0, action.into());
                rows
            });
        }
        PreviewCommand::Down {
            connection: c,
            target,
        } => {
            let connection = connection(&c)?;
            let name = preview_name(&target.branch)?;
            let client = ctx.client()?;
            let existing = all_environments(&client, connection)
                .await?
                .into_iter()
                .find(|e| e.name == name && !e.is_default_environment);
            let value = match existing {
                None => {
                    eprintln!("no environment named {name}: nothing to delete");
                    json!({"action": "none", "name": name})
                }
                Some(env) => {
                    client
                        .dbt_environments(connection)
                        .delete(env.id)
                        .send()
                        .await?;
                    eprintln!("deleted environment {} ({})", env.name, env.id);
                    json!({"action": "deleted", "name": name, "id": env.id})
                }
            };
            emit(ctx.output, &value, || {
                vec![
                    vec!["ACTION".into(), "NAME".into()],
                    vec![
                        value["action"].as_str().unwrap_or_default().into(),
                        name.clone(),
                    ],
                ]
            });
        }
    }
    Ok(())
}

/// Starts a schema refresh and waits for its job, polling with a growing interval.
async fn refresh_and_wait(
    client: &Client,
    model: Uuid,
    branch_id: Option<Uuid>,
    timeout_secs: u64,
) -> Result<serde_json::Value, Failure> {
    let api = client.api();
    let mut refresh = api.models_refresh().model_id(model);
    if let Some(branch) = branch_id {
        refresh = refresh.branch_id(branch);
    }
    let job = refresh
        .send()
        .await
        .map_err(omni_dbt::Error::from)?
        .into_inner();
    eprintln!("schema refresh started: job {}", job.job_id);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout_secs);
    let mut interval = Duration::from_millis(250);
    loop {
        let state = api
            .jobs_get_status()
            .job_id(job.job_id.clone())
            .send()
            .await
            .map_err(omni_dbt::Error::from)?
            .into_inner();
        match state.status {
            JobsGetStatusResponseStatus::Completed => {
                eprintln!("schema refresh completed");
                return Ok(json!({"jobId": job.job_id, "status": "COMPLETED"}));
            }
            JobsGetStatusResponseStatus::Failed => {
                return Err(Failure::Refresh(format!(
                    "schema refresh job {} FAILED",
                    job.job_id
                )));
            }
            JobsGetStatusResponseStatus::InProgress => {}
        }
        if tokio::time::Instant::now() + interval > deadline {
            return Err(Failure::Refresh(format!(
                "schema refresh job {} still IN_PROGRESS after {timeout_secs} s",
                job.job_id
            )));
        }
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(Duration::from_secs(5));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_become_environment_names_and_schemas() {
        assert_eq!(
            preview_name("feature/PR-42_fix").unwrap(),
            "preview-feature-pr-42-fix"
        );
        assert_eq!(preview_schema("feature/PR-42_fix"), "dbt_feature_pr_42_fix");
        assert_eq!(preview_schema("--Ünïcode--branch--"), "dbt_n_code_branch");
        assert!(preview_name("///").is_err());
        let long = "x".repeat(200);
        assert_eq!(preview_schema(&long).len(), 63);
        assert_eq!(preview_name(&long).unwrap().len(), 64);
    }
}
