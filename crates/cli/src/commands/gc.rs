//! `omni-dbt preview gc`: the previews whose git branch is gone, found and (with `--yes`)
//! deleted. Only environments marked as a preview (`preview:<branch>`) are ever candidates;
//! never the default, never a file's or a hand-made one.

use std::collections::BTreeSet;

use omni_dbt::{DbtEnvironment, Uuid};
use serde_json::json;

use crate::{
    cli::GcArgs,
    context::Context,
    failure::Failure,
    input::{read_bounded, read_small_file},
    output::{emit, say, shown},
    owned::Owner,
    rules::{self, all_environments, connection},
};

/// The most bytes of the branch list (`git ls-remote` of a repository of 100,000 branches is
/// about 8 MiB).
const MAX_BRANCH_LIST_BYTES: u64 = 32 << 20;

/// The branch names a list gives: one per line, plain, or `git ls-remote`'s `<sha>\t<ref>`
/// (only `refs/heads/…`; tags, pull-request refs and other refs are not branches).
pub fn live_branches(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim_end_matches('\r');
            let reference = match line.split_once('\t') {
                Some((_, reference)) => reference.trim(),
                None => line.trim(),
            };
            if reference.is_empty() {
                return None;
            }
            match reference.strip_prefix("refs/heads/") {
                Some(branch) => Some(branch.to_owned()),
                None if reference.starts_with("refs/") => None,
                None => Some(reference.to_owned()),
            }
        })
        .collect()
}

/// The previews among `all` whose branch is not in `live`, with their branch, by name.
pub fn stale<'a>(
    all: &'a [DbtEnvironment],
    live: &BTreeSet<String>,
) -> Vec<(&'a DbtEnvironment, String)> {
    let mut found: Vec<(&DbtEnvironment, String)> = all
        .iter()
        .filter(|e| !e.is_default_environment)
        .filter_map(|e| match Owner::of(e) {
            Some(Owner::Preview(branch)) if !live.contains(&branch) => Some((e, branch)),
            _ => None,
        })
        .collect();
    found.sort_by(|a, b| (&a.0.name, a.0.id).cmp(&(&b.0.name, b.0.id)));
    found
}

pub async fn run(ctx: &Context, args: GcArgs) -> Result<(), Failure> {
    let connection = connection(&args.connection)?;
    let flag = format!("--branches-from {}", args.branches_from.display());
    let text = if args.branches_from.as_os_str() == "-" {
        if ctx.stdin_taken {
            return Err(Failure::Usage(format!(
                "{flag}: standard input is taken by --token-stdin"
            )));
        }
        read_bounded(std::io::stdin().lock(), MAX_BRANCH_LIST_BYTES)
            .map_err(|e| Failure::Usage(format!("{flag}: standard input {e}")))?
    } else {
        read_small_file(&args.branches_from, MAX_BRANCH_LIST_BYTES)
            .map_err(|e| Failure::Usage(format!("{flag}: {e}")))?
    };
    let live = live_branches(&text);
    if live.is_empty() && !args.allow_empty {
        return Err(Failure::Usage(format!(
            "{flag}: no branches given, so every preview would be deleted; refusing (a failed \
             `git ls-remote` gives nothing too). Pass --allow-empty if that is meant"
        )));
    }
    let client = ctx.client()?;
    let all = all_environments(&client, connection).await?;
    let previews = all
        .iter()
        .filter(|e| matches!(Owner::of(e), Some(Owner::Preview(_))))
        .count();
    let stale = stale(&all, &live);
    for (env, branch) in &stale {
        say(&format!(
            "- delete {} ({}): branch {} is gone",
            shown(&env.name),
            env.id,
            shown(branch)
        ));
    }
    say(&format!(
        "{} of {previews} preview(s) stale; {} branch(es) given",
        stale.len(),
        live.len()
    ));
    let listed: Vec<serde_json::Value> = stale
        .iter()
        .map(|(env, branch)| json!({"name": env.name, "id": env.id, "branch": branch}))
        .collect();
    if !args.yes {
        if !stale.is_empty() {
            say("Dry run: nothing was deleted; --yes deletes them.");
        }
        return emit(
            ctx.output,
            &json!({"dryRun": true, "stale": listed, "deleted": []}),
            || rows(&stale, None),
        );
    }
    let mut deleted: Vec<Uuid> = Vec::new();
    let mut failed: Vec<(String, u8)> = Vec::new();
    for (env, branch) in &stale {
        match delete_one(&client, connection, env, branch, args.delete_branches_of).await {
            Ok(()) => deleted.push(env.id),
            Err(failure) => {
                let line = format!("{} ({}): {failure}", shown(&env.name), env.id);
                say(&format!("failed: {line}"));
                failed.push((line, failure.exit_code()));
            }
        }
    }
    say(&format!(
        "Deleted {} of {} stale preview(s).",
        deleted.len(),
        stale.len()
    ));
    emit(
        ctx.output,
        &json!({"dryRun": false, "stale": listed, "deleted": deleted}),
        || rows(&stale, Some(&deleted)),
    )?;
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Partial(failed))
    }
}

/// One stale preview deleted under its preview's lease (a `preview up` or `down` of the same
/// branch runs before or after, not during), with its model branch when asked. Gone already
/// counts as deleted.
async fn delete_one(
    client: &omni_dbt::Client,
    connection: Uuid,
    env: &DbtEnvironment,
    branch: &str,
    model: Option<Uuid>,
) -> Result<(), Failure> {
    let mut lease = rules::lease(client, connection, &Owner::Preview(branch.to_owned())).await?;
    let result = async {
        rules::still_held(&lease)?;
        match client
            .dbt_environments(connection)
            .delete(env.id)
            .send()
            .await
        {
            Ok(_) => say(&format!(
                "deleted environment {} ({})",
                shown(&env.name),
                env.id
            )),
            Err(omni_dbt::Error::NotFound { .. }) => say(&format!(
                "environment {} ({}) was already gone",
                shown(&env.name),
                env.id
            )),
            Err(e) => return Err(Failure::from(e)),
        }
        if let Some(model) = model {
            match client.model(model).branch(branch).delete().send().await {
                Ok(_) => say(&format!(
                    "deleted model branch {} of model {model}",
                    shown(branch)
                )),
                Err(omni_dbt::Error::NotFound { .. }) => say(&format!(
                    "model {model} has no branch {}: nothing to delete",
                    shown(branch)
                )),
                Err(e) => return Err(Failure::from(e)),
            }
        }
        Ok(())
    }
    .await;
    lease.release().await;
    result
}

/// The table: each stale preview, and (after `--yes`, given what was deleted) whether it was.
fn rows(stale: &[(&DbtEnvironment, String)], deleted: Option<&[Uuid]>) -> Vec<Vec<String>> {
    let mut rows = vec![vec![
        "ACTION".into(),
        "NAME".into(),
        "ID".into(),
        "BRANCH".into(),
    ]];
    for (env, branch) in stale {
        let action = match deleted {
            None => "stale",
            Some(ids) if ids.contains(&env.id) => "deleted",
            Some(_) => "failed",
        };
        rows.push(vec![
            action.into(),
            env.name.clone(),
            env.id.to_string(),
            branch.clone(),
        ]);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_lists_plain_and_from_ls_remote() {
        let text = "a1b2\trefs/heads/main\r\nc3d4\trefs/heads/feature/x\n\
                    e5f6\trefs/tags/v1\n0a0b\trefs/pull/7/head\n\n  dev  \nrefs/heads/y\n";
        let live: Vec<String> = live_branches(text).into_iter().collect();
        assert_eq!(live, ["dev", "feature/x", "main", "y"]);
        assert!(live_branches("\n \r\n").is_empty());
    }
}
