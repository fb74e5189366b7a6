//! `omni-dbt env`: environments by name or id, and environments as code (`plan`, `apply`).

use omni_dbt::Uuid;
use serde_json::json;

use crate::{
    cli::{ApplyArgs, ConnectionArg, EnvCommand, Output, PlanFormat},
    context::Context,
    failure::Failure,
    output::{emit, environment_rows, say, shown, stdout},
    plan,
    rules::{
        self, all_environments, connection, find, never_default, unique_by_name, variables,
        with_new_variables, with_variables,
    },
};

pub async fn run(ctx: &Context, command: EnvCommand) -> Result<u8, Failure> {
    match command {
        EnvCommand::List(c) => {
            let connection = connection(&c)?;
            let all = all_environments(&ctx.client()?, connection).await?;
            emit(ctx.output, &all, || environment_rows(&all))?;
        }
        EnvCommand::Get { connection: c, env } => {
            let connection = connection(&c)?;
            let found = find(&ctx.client()?, connection, &env).await?;
            emit(ctx.output, &found, || {
                environment_rows(std::slice::from_ref(&found))
            })?;
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
            // One name, one environment: a second `staging` is refused, naming the first.
            let all = all_environments(&client, connection).await?;
            if let Some(existing) = unique_by_name(&all, &name)? {
                return Err(Failure::Usage(format!(
                    "an environment named \"{}\" exists ({}); `env update` changes it",
                    shown(&name),
                    existing.id
                )));
            }
            // The required properties are flags like the rest (clap requires them).
            let mut create = client
                .dbt_environments(connection)
                .create(name, String::new())
                .adopting();
            for (property, value) in fields.properties.given {
                create = create.property(property.json, value)?;
            }
            if let Some(owner) = &fields.owner {
                create = create.owner_id(rules::resolve_owner(&client, owner, "--owner").await?);
            }
            let created = with_new_variables(create, &vars).send().await?;
            say(&format!(
                "created environment {} ({})",
                shown(&created.name),
                created.id
            ));
            emit(ctx.output, &created, || {
                environment_rows(std::slice::from_ref(&created))
            })?;
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
            for (property, value) in fields.properties.given {
                update = update.property(property.json, value)?;
            }
            update = match (&fields.owner, fields.clear_owner) {
                (Some(owner), _) => {
                    update.owner_id(rules::resolve_owner(&client, owner, "--owner").await?)
                }
                (None, true) => update.clear_owner_id(),
                (None, false) => update,
            };
            update = with_variables(update, &current, &vars);
            let updated = update.send().await?;
            say(&format!(
                "updated environment {} ({})",
                shown(&updated.name),
                updated.id
            ));
            emit(ctx.output, &updated, || {
                environment_rows(std::slice::from_ref(&updated))
            })?;
        }
        EnvCommand::Plan {
            connection: c,
            apply,
            detailed_exitcode,
        } => {
            return match env_plan(ctx, &c, &apply).await {
                Ok(changes) if detailed_exitcode && changes => Ok(2),
                Ok(_) => Ok(0),
                Err(e) if detailed_exitcode => Err(Failure::Detailed(Box::new(e))),
                Err(e) => Err(e),
            };
        }
        EnvCommand::Apply {
            connection: c,
            apply,
            yes,
        } => env_apply(ctx, &c, &apply, yes).await?,
        EnvCommand::Export {
            connection: c,
            managed_by,
            targets,
        } => {
            let connection = connection(&c)?;
            let current = all_environments(&ctx.client()?, connection).await?;
            let owner = crate::owned::Owner::File(
                managed_by
                    .clone()
                    .unwrap_or_else(|| "environments.yaml".to_owned()),
            );
            let (yaml, left_out) = plan::export(
                connection,
                &current,
                &owner,
                managed_by.as_deref(),
                &targets,
            )?;
            for line in &left_out {
                say(&format!("not exported: {line}"));
            }
            stdout(&yaml)?;
        }
        EnvCommand::Delete {
            connection: c,
            env,
            yes,
        } => {
            let connection = connection(&c)?;
            let client = ctx.client()?;
            let current = find(&client, connection, &env).await?;
            never_default(&current)?;
            crate::input::confirm(
                &format!(
                    "Delete environment {} ({}), its variables and secrets?",
                    shown(&current.name),
                    current.id
                ),
                yes,
                ctx.stdin_taken,
                "nothing was deleted",
            )?;
            client
                .dbt_environments(connection)
                .delete(current.id)
                .send()
                .await?;
            say(&format!(
                "deleted environment {} ({})",
                shown(&current.name),
                current.id
            ));
            emit(
                ctx.output,
                &json!({"deleted": current.id, "name": current.name}),
                || {
                    vec![
                        vec!["DELETED".into(), "ID".into()],
                        vec![current.name.clone(), current.id.to_string()],
                    ]
                },
            )?;
        }
    }
    Ok(0)
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
    let mut loaded = plan::load(&args.file)?;
    let options = options(args, &loaded)?;
    let connection = plan_connection(&loaded.file, arg)?;
    let client = ctx.client()?;
    plan::resolve_owners(&mut loaded, &client).await?;
    let current = all_environments(&client, connection).await?;
    let planned = plan::plan(&loaded, &current, &options)?;
    let format = args.plan_format.unwrap_or(match ctx.output {
        Output::Table => PlanFormat::Text,
        Output::Json => PlanFormat::Json,
    });
    match format {
        PlanFormat::Text if *crate::output::STDOUT_COLOUR => {
            stdout(&crate::output::painted(&planned.human()))?;
        }
        PlanFormat::Text => stdout(&planned.human())?,
        PlanFormat::Json => emit(Output::Json, &planned, Vec::new)?,
        PlanFormat::Markdown => stdout(&planned.markdown())?,
    }
    Ok(planned.has_changes())
}

/// The plan's options, checked against the file before anything is sent.
fn options(args: &ApplyArgs, loaded: &plan::Loaded) -> Result<plan::Options, Failure> {
    let options = plan::Options {
        prune: args.prune,
        rotate_secrets: args.rotate_secrets,
        targets: args.targets.clone(),
        allow_empty: args.allow_empty,
    };
    plan::check_prune(loaded, &options)?;
    Ok(options)
}

async fn env_apply(
    ctx: &Context,
    arg: &ConnectionArg,
    args: &ApplyArgs,
    yes: bool,
) -> Result<(), Failure> {
    let mut loaded = plan::load(&args.file)?;
    let options = options(args, &loaded)?;
    let connection = plan_connection(&loaded.file, arg)?;
    let client = ctx.client()?;
    plan::resolve_owners(&mut loaded, &client).await?;
    // Held from before the plan's list to the end: a second run of the file waits, then plans
    // against what this one left. Given back on every way out.
    let mut lease = rules::lease(&client, connection, &loaded.owner).await?;
    let result = apply_leased(ctx, &client, connection, &loaded, &options, yes, &lease).await;
    lease.release().await;
    result
}

/// The plan and its changes, under `lease`.
async fn apply_leased(
    ctx: &Context,
    client: &omni_dbt::Client,
    connection: Uuid,
    loaded: &plan::Loaded,
    options: &plan::Options,
    yes: bool,
    lease: &omni_dbt::Lease,
) -> Result<(), Failure> {
    let current = all_environments(client, connection).await?;
    let planned = plan::plan(loaded, &current, options)?;
    // Every value and every check before the question and before anything is sent.
    let secrets = plan::secrets(&planned)?;
    let requests = plan::requests(
        client,
        connection,
        loaded,
        &current,
        &planned,
        &secrets,
        lease.is_coordinated(),
    )?;
    if planned.sets_owners() {
        rules::owners_may_be_set(client, "ownerId").await?;
    }
    // The plan goes to stderr, so that stdout stays the machine-readable result.
    say(planned.human().trim_end());
    if !planned.has_changes() {
        emit(
            ctx.output,
            &json!({"applied": false, "plan": planned}),
            Vec::new,
        )?;
        return Ok(());
    }
    crate::input::confirm(
        "Apply these changes?",
        yes,
        ctx.stdin_taken,
        "nothing was changed",
    )?;
    rules::still_held(lease)?;
    let total = planned.total();
    // Counted as each change ends (not as each phase does), so that an interrupt says what
    // had really finished; each change's line is said as its answer arrives, and a terminal
    // shows a bar as well.
    let finished = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let bar = std::sync::Arc::new(crate::output::Progress::start(total));
    let shown_bar = bar.clone();
    let progress: std::sync::Arc<dyn Fn(usize, usize) + Send + Sync> =
        std::sync::Arc::new(move |done, _| shown_bar.set(done));
    let report: plan::Report = std::sync::Arc::new(|line: &str, failed: bool| {
        say(&format!(
            "{} {line}",
            if failed { "failed:" } else { "ok:" }
        ));
    });
    // SIGINT/SIGTERM mid-apply: say what was done (the steps in flight may still land).
    let failures = tokio::select! {
        failures = plan::apply(requests, &finished, progress, report) => failures,
        signal = interrupted() => {
            let finished = finished.load(std::sync::atomic::Ordering::Relaxed);
            return Err(Failure::Interrupted(format!(
                "{signal}: {finished} of {total} change(s) had finished (the ones in flight may \
                 still land); run `env plan` to see where things stand"
            )));
        }
    };
    let applied = total.saturating_sub(failures.len());
    say(&format!("Applied {applied} of {total} change(s)."));
    let failed: Vec<&String> = failures.iter().map(|(line, _)| line).collect();
    emit(
        ctx.output,
        &json!({"applied": true, "plan": planned, "failed": failed}),
        Vec::new,
    )?;
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Failure::Partial(failures))
    }
}

/// Resolves on SIGINT or SIGTERM, naming it.
async fn interrupted() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "interrupted (SIGINT)",
                _ = term.recv() => "terminated (SIGTERM)",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "interrupted (SIGINT)"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "interrupted"
    }
}
