//! `omni-dbt preview`: a dbt environment per pull request, named by the documented rule
//! ([`owned::preview_names`]) and marked with the exact branch, so that `down` deletes only the
//! preview of exactly that branch, never a hand-made environment or the default.
use omni_dbt::{Client, Uuid};
use serde_json::{Value, json};

use crate::{
    cli::PreviewCommand,
    context::Context,
    failure::Failure,
    output::{emit, environment_rows, say, shown},
    owned::{self, MARKER, Owner},
    plan,
    rules::{self, all_environments, connection, variables, with_new_variables, with_variables},
};

/// The property a preview names by its own rule (`dbt_<branch>`) unless `--target-schema` says.
const PREVIEW_SCHEMA: &str = "targetSchema";

pub async fn run(ctx: &Context, command: PreviewCommand) -> Result<(), Failure> {
    match command {
        PreviewCommand::Up {
            connection: c,
            target,
            from,
            properties,
            dbt_git_branch,
            variables: vars,
            create_branch,
            refresh,
            refresh_branch,
            branch_id,
            refresh_timeout,
            github_output,
        } => {
            let connection = connection(&c)?;
            let outputs_to = github_output
                .then(crate::output::github_output_file)
                .transpose()?;
            let (name, default_schema) =
                owned::preview_names(&target.branch).map_err(Failure::Usage)?;
            // The preview names its schema (the one required property a preview gives itself).
            let mut given = properties.given;
            if given.iter().all(|(p, _)| p.json != PREVIEW_SCHEMA) {
                let schema = plan::managed().find(|p| p.json == PREVIEW_SCHEMA);
                given.extend(schema.map(|p| (p, Value::String(default_schema))));
            }
            let vars = variables(ctx, &vars)?;
            let owner = Owner::Preview(target.branch.clone());
            let client = ctx.client()?;
            // Runs of one preview (two pushes, a re-run) take turns with a shared store.
            let mut lease = rules::lease(&client, connection, &owner).await?;
            // Given back on every way out, and before the refresh (which runs of a preview
            // may do at once).
            let leased = async {
                let all = all_environments(&client, connection).await?;
                let mut named: Vec<&omni_dbt::DbtEnvironment> =
                    all.iter().filter(|e| e.name == name).collect();
                if named.len() > 1
                    && named
                        .iter()
                        .all(|e| !e.is_default_environment && Owner::of(e).as_ref() == Some(&owner))
                {
                    // Copies of this preview (two runs created it at once, and one was stopped
                    // before it could delete its copy): the lowest id is kept, as the runs would.
                    named.sort_by_key(|e| e.id);
                    for extra in named.split_off(1) {
                        match client
                            .dbt_environments(connection)
                            .delete(extra.id)
                            .send()
                            .await
                        {
                            Ok(_) | Err(omni_dbt::Error::NotFound { .. }) => say(&format!(
                                "deleted environment {} ({}), a copy of this preview's ({})",
                                shown(&extra.name),
                                extra.id,
                                named[0].id
                            )),
                            Err(e) => return Err(e.into()),
                        }
                    }
                }
                let existing = match named.as_slice() {
                    [] => None,
                    [one] if one.is_default_environment => {
                        return Err(Failure::Usage(format!(
                            "{} ({}) is the connection's default environment; a preview never \
                             changes it",
                            shown(&name),
                            one.id
                        )));
                    }
                    [one] if Owner::of(one).as_ref() == Some(&owner) => Some(*one),
                    [one] => {
                        return Err(Failure::Usage(format!(
                            "an environment named {} ({}) exists and is {}: this preview does not \
                             own it, so it is left alone; rename or delete it in Omni",
                            shown(&name),
                            one.id,
                            owned::describe(one)
                        )));
                    }
                    many => {
                        let ids: Vec<String> = many.iter().map(|e| e.id.to_string()).collect();
                        return Err(Failure::Usage(format!(
                            "{} environments are named {} ({}); delete all but one in Omni",
                            many.len(),
                            shown(&name),
                            ids.join(", ")
                        )));
                    }
                };
                // The template: what a create copies (secrets cannot be: Omni never returns them).
                let template = match &from {
                    None => None,
                    Some(name_or_id) => Some(rules::find_in(&all, connection, name_or_id)?),
                };
                // The model branch: found, or created when asked, before any environment is.
                let branch = client.model(target.model).branch(&target.branch);
                let (found_branch_id, branch_created) = match branch.find().send().await? {
                    Some(found) => (Uuid::parse_str(&found.id).ok(), false),
                    None if create_branch => {
                        let made = match branch.create().connection_id(connection).send().await {
                            Ok(made) => made,
                            // Omni's 404 names "connection or base model": say which.
                            Err(e @ omni_dbt::Error::NotFound { .. }) => {
                                rules::model_exists(&client, target.model, "--model").await?;
                                return Err(e.into());
                            }
                            Err(e) => return Err(e.into()),
                        };
                        say(&format!(
                            "created model branch {} ({}) of model {}",
                            shown(&target.branch),
                            made.id,
                            target.model
                        ));
                        (Some(made.id), true)
                    }
                    None => {
                        // An unknown model lists no branches: said as what it is.
                        rules::model_exists(&client, target.model, "--model").await?;
                        return Err(Failure::NotFound(format!(
                            "model {} has no branch {}: nothing was created; pass --create-branch \
                             to create it",
                            target.model,
                            shown(&target.branch)
                        )));
                    }
                };
                let branch_id = match (refresh_branch, found_branch_id) {
                    (false, _) => branch_id,
                    (true, Some(id)) => Some(id),
                    (true, None) => {
                        return Err(Failure::Refresh(format!(
                            "the id Omni gave branch {} is not a UUID, so it cannot be refreshed; \
                             pass --branch-id",
                            shown(&target.branch)
                        )));
                    }
                };
                let undo = Undo {
                    client: &client,
                    connection,
                    branch: branch_created.then_some(&branch),
                    model: target.model,
                };
                // What the flags leave out, the template gives (but what a create requires: the
                // preview's own).
                if let Some(t) = template {
                    let answer = serde_json::to_value(t).unwrap_or_default();
                    for property in plan::managed().filter(|p| !p.required) {
                        if let Some(value) = answer.get(property.json).filter(|v| !v.is_null())
                            && given.iter().all(|(p, _)| p.json != property.json)
                        {
                            given.push((property, value.clone()));
                        }
                    }
                }
                let updated = match existing {
                    Some(current) => {
                        let mut update = client.dbt_environments(connection).update_from(current);
                        for (property, value) in &given {
                            update = update.property(property.json, value.clone())?;
                        }
                        match with_variables(update, current, &vars).send().await {
                            Ok(updated) => Some((updated, "updated")),
                            // Uncoordinated, another run of this preview may have deleted it a
                            // moment ago, as a copy of the one it made with a lower id: this run
                            // makes it again, and the copies rule picks the copy that stays.
                            Err(omni_dbt::Error::NotFound { .. }) if !lease.is_coordinated() => {
                                say(&format!(
                                    "environment {} ({}) was deleted by another run of this \
                                     preview; following the copy it keeps",
                                    shown(&current.name),
                                    current.id
                                ));
                                None
                            }
                            Err(e) => return Err(undo.run(None, e.into()).await),
                        }
                    }
                    None => None,
                };
                let (environment, action) = match updated {
                    Some(updated) => updated,
                    None => {
                        let mut create = client
                            .dbt_environments(connection)
                            .create(&name, String::new())
                            .adopting()
                            .add_variable(MARKER, owner.marker())
                            .copies_marked_by(MARKER);
                        for (property, value) in &given {
                            create = create.property(property.json, value.clone())?;
                        }
                        let given: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
                        if let Some(t) = template {
                            for v in &t.variables {
                                if v.is_secret
                                    || v.name == MARKER
                                    || given.contains(&v.name.as_str())
                                {
                                    continue;
                                }
                                create = create
                                    .add_variable(&v.name, v.value.clone().unwrap_or_default());
                            }
                        }
                        match with_new_variables(create, &vars).send().await {
                            Ok(created) => (created, "created"),
                            Err(e) => return Err(undo.run(None, e.into()).await),
                        }
                    }
                };
                say(&format!(
                    "{action} environment {} ({}) building into {}",
                    shown(&environment.name),
                    environment.id,
                    shown(&environment.target_schema)
                ));
                rules::still_held(&lease)?;
                let point = |id: Uuid| {
                    let mut point = client
                        .model(target.model)
                        .branch(&target.branch)
                        .use_dbt_environment(id);
                    if let Some(git) = &dbt_git_branch {
                        point = point.dbt_git_branch(git);
                    }
                    point.send()
                };
                // Uncoordinated, another run of this preview may have made a copy with a lower
                // id at the same time and deleted this one (created or found): checked below.
                let check_copies = !lease.is_coordinated();
                let pointed = match point(environment.id).await {
                    Err(e) if !check_copies => {
                        // A preview whose branch cannot be pointed at it is no preview: what
                        // this run created is deleted again, so that nothing is left behind.
                        let created = (action == "created").then_some(&environment);
                        return Err(undo.run(created, e.into()).await);
                    }
                    other => other,
                };
                let environment = if check_copies {
                    // Uncoordinated, another run of this preview may have created it at the same
                    // time: the copies rule (`DbtEnvironments::keep_one_copy`: the lowest id is
                    // kept, the others deleted), checked once the branch is pointed (or could
                    // not be, because another run had already deleted this run's copy), so that
                    // the branch ends on the kept copy.
                    let kept = client
                        .dbt_environments(connection)
                        .keep_one_copy(MARKER, std::slice::from_ref(&environment))
                        .await?
                        .pop()
                        .unwrap_or_else(|| environment.clone());
                    if kept.id == environment.id {
                        if let Err(e) = pointed {
                            let created = (action == "created").then_some(&environment);
                            return Err(undo.run(created, e.into()).await);
                        }
                        environment
                    } else {
                        // The kept copy may go too, when a run made one with a still lower id a
                        // moment later: the rule is followed again (each round's copy has a
                        // lower id than the last, so this ends), at most three rounds.
                        let mut kept = kept;
                        let mut rounds = 1;
                        loop {
                            say(&format!(
                                "another run of this preview made {} ({}) at the same time; \
                                 the branch follows it",
                                shown(&kept.name),
                                kept.id
                            ));
                            match point(kept.id).await {
                                Ok(_) => break kept,
                                Err(e) if rounds < 3 => {
                                    let next = client
                                        .dbt_environments(connection)
                                        .keep_one_copy(MARKER, std::slice::from_ref(&kept))
                                        .await?
                                        .pop();
                                    match next {
                                        Some(next) if next.id != kept.id => kept = next,
                                        _ => return Err(e.into()),
                                    }
                                    rounds += 1;
                                }
                                Err(e) => return Err(e.into()),
                            }
                        }
                    }
                } else {
                    environment
                };
                say(&format!(
                    "branch {} of model {} reads dbt from {}",
                    shown(&target.branch),
                    target.model,
                    shown(&environment.name)
                ));
                Ok::<_, Failure>((
                    environment,
                    action,
                    found_branch_id,
                    branch_created,
                    branch_id,
                ))
            }
            .await;
            lease.release().await;
            let (environment, action, found_branch_id, branch_created, branch_id) = leased?;
            // Written before the refresh, which may fail after the preview is up.
            if let Some(file) = &outputs_to {
                let schema = environment.target_schema.clone();
                crate::output::github_output(
                    file,
                    &[
                        ("environment-id", environment.id.to_string()),
                        ("environment-name", environment.name.clone()),
                        ("target-schema", schema),
                        (
                            "branch-id",
                            found_branch_id.map(|id| id.to_string()).unwrap_or_default(),
                        ),
                        ("action", action.to_owned()),
                    ],
                )?;
            }
            let refreshed = if refresh {
                Some(
                    super::refresh::refresh_and_wait(
                        &client,
                        target.model,
                        branch_id,
                        refresh_timeout,
                    )
                    .await?,
                )
            } else {
                None
            };
            let value = json!({
                "action": action,
                "environment": environment,
                "model": target.model,
                "branch": target.branch,
                "branchId": found_branch_id,
                "branchCreated": branch_created,
                "refresh": refreshed,
            });
            emit(ctx.output, &value, || {
                let mut rows = environment_rows(std::slice::from_ref(&environment));
                rows[0].insert(0, "ACTION".into());
                rows[1].insert(0, action.into());
                rows
            })?;
        }
        PreviewCommand::Gc(args) => super::gc::run(ctx, args).await?,
        PreviewCommand::Down {
            connection: c,
            target,
            delete_branch,
        } => super::preview_down::run(ctx, &c, &target, delete_branch).await?,
    }
    Ok(())
}

/// What `preview up` made before a later step failed, deleted again when the step fails.
struct Undo<'a> {
    client: &'a Client,
    connection: Uuid,
    /// The model branch, when this run created it.
    branch: Option<&'a omni_dbt::ModelBranch>,
    model: Uuid,
}

impl Undo<'_> {
    /// Deletes the environment (when this run created it) and the branch (likewise), says
    /// what happened to each, and returns the failure that made it necessary.
    async fn run(
        &self,
        environment: Option<&omni_dbt::DbtEnvironment>,
        failure: Failure,
    ) -> Failure {
        if let Some(env) = environment {
            let undone = self
                .client
                .dbt_environments(self.connection)
                .delete(env.id)
                .send()
                .await;
            say(&match undone {
                Ok(_) => format!(
                    "the environment {} created for the preview was deleted again",
                    shown(&env.name)
                ),
                Err(e) => format!(
                    "deleting the environment {} ({}) created for the preview failed too: {}",
                    shown(&env.name),
                    env.id,
                    Failure::from(e)
                ),
            });
        }
        if let Some(branch) = self.branch {
            let undone = branch.delete().send().await;
            say(&match undone {
                Ok(_) => format!(
                    "the model branch {} created for the preview was deleted again",
                    shown(branch.name())
                ),
                Err(e) => format!(
                    "deleting the model branch {} of model {} created for the preview failed too: {}",
                    shown(branch.name()),
                    self.model,
                    Failure::from(e)
                ),
            });
        }
        failure
    }
}
