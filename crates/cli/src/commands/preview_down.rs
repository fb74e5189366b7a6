//! `omni-dbt preview down`: the preview of exactly one branch deleted (its environment, marked
//! with that branch, and with `--delete-branch` its model branch), under the preview's lease;
//! what another file or a person made is left alone and said.

use omni_dbt::Uuid;
use serde_json::json;

use crate::{
    cli::{ConnectionArg, PreviewTarget},
    context::Context,
    failure::Failure,
    output::{emit, say, shown},
    owned::{self, Owner},
    rules::{self, all_environments, connection},
};

pub async fn run(
    ctx: &Context,
    c: &ConnectionArg,
    target: &PreviewTarget,
    delete_branch: bool,
) -> Result<(), Failure> {
    let connection = connection(c)?;
    let (name, _) = owned::preview_names(&target.branch).map_err(Failure::Usage)?;
    let owner = Owner::Preview(target.branch.clone());
    let client = ctx.client()?;
    let mut lease = rules::lease(&client, connection, &owner).await?;
    // Given back on every way out.
    let leased = async {
        let all = all_environments(&client, connection).await?;
        let (ours, others): (Vec<_>, Vec<_>) = all
            .iter()
            .filter(|e| e.name == name)
            .partition(|e| !e.is_default_environment && Owner::of(e).as_ref() == Some(&owner));
        for other in &others {
            say(&format!(
                "left alone: {} ({}) is {}, not this preview's",
                shown(&other.name),
                other.id,
                owned::describe(other)
            ));
        }
        rules::still_held(&lease)?;
        let mut deleted = Vec::new();
        for env in &ours {
            match client
                .dbt_environments(connection)
                .delete(env.id)
                .send()
                .await
            {
                Ok(_) => {
                    say(&format!(
                        "deleted environment {} ({})",
                        shown(&env.name),
                        env.id
                    ));
                    deleted.push(env.id);
                }
                // Gone between the list and the delete (another run's `down`).
                Err(omni_dbt::Error::NotFound { .. }) => say(&format!(
                    "environment {} ({}) was already gone",
                    shown(&env.name),
                    env.id
                )),
                Err(e) => return Err(e.into()),
            }
        }
        if ours.is_empty() {
            say(&format!(
                "no preview of branch {} (environment {}): nothing to delete",
                shown(&target.branch),
                shown(&name)
            ));
        }
        let branch_deleted = if delete_branch {
            let branch = client.model(target.model).branch(&target.branch);
            match branch.delete().send().await {
                Ok(_) => {
                    say(&format!(
                        "deleted model branch {} of model {}",
                        shown(&target.branch),
                        target.model
                    ));
                    true
                }
                Err(omni_dbt::Error::NotFound { .. }) => {
                    say(&format!(
                        "model {} has no branch {}: nothing to delete",
                        target.model,
                        shown(&target.branch)
                    ));
                    false
                }
                Err(e) => return Err(e.into()),
            }
        } else {
            false
        };
        let left: Vec<Uuid> = others.iter().map(|e| e.id).collect();
        Ok::<_, Failure>((deleted, branch_deleted, left))
    }
    .await;
    lease.release().await;
    let (deleted, branch_deleted, left) = leased?;
    let action = if deleted.is_empty() && !branch_deleted {
        "none"
    } else {
        "deleted"
    };
    let value = json!({
        "action": action,
        "name": name,
        "deleted": deleted,
        "branch": target.branch,
        "branchDeleted": branch_deleted,
        "leftAlone": left,
    });
    emit(ctx.output, &value, || {
        let mut rows = vec![vec!["DELETED".into(), "NAME".into(), "ID".into()]];
        rows.extend(
            deleted
                .iter()
                .map(|id| vec!["environment".into(), name.clone(), id.to_string()]),
        );
        if branch_deleted {
            rows.push(vec![
                "model branch".into(),
                target.branch.clone(),
                String::new(),
            ]);
        }
        if rows.len() == 1 {
            rows.push(vec!["nothing".into(), name.clone(), String::new()]);
        }
        rows
    })?;
    Ok(())
}
