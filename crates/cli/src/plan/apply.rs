//! Carrying out a plan: the secrets it sends read from the environment, every request built
//! and checked before any is sent, then sent through the library's bulk runner.

use std::collections::BTreeMap;

use omni_dbt::{DbtEnvironment, Uuid};

use super::{
    diff::{Change, Plan},
    file::{Loaded, reference_name},
};
use crate::{failure::Failure, output::shown, owned::MARKER};

/// The values of the secrets `plan` sends, by (environment, variable), read from the
/// environment variables the file references. Every one must be set and non-empty: a missing
/// secret fails the whole apply before anything is sent.
pub fn secrets(plan: &Plan) -> Result<BTreeMap<(String, String), String>, Failure> {
    let mut out = BTreeMap::new();
    let mut missing = Vec::new();
    for step in plan.create.iter().chain(&plan.update) {
        for change in &step.changes {
            if let Change::Secret {
                name, reference, ..
            } = change
            {
                let var = reference_name(reference).unwrap_or(reference);
                match std::env::var(var) {
                    Ok(value) if !value.trim().is_empty() => {
                        out.insert((step.name.clone(), name.clone()), value);
                    }
                    Ok(_) => missing.push(format!(
                        "{}.secretVariables.{name}: the environment variable {var} is empty (or only blanks)",
                        shown(&step.name)
                    )),
                    Err(_) => missing.push(format!(
                        "{}.secretVariables.{name}: the environment variable {var} is not set",
                        shown(&step.name)
                    )),
                }
            }
        }
    }
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(Failure::Usage(format!(
            "refusing to send empty secrets; nothing was sent:\n  {}",
            missing.join("\n  ")
        )))
    }
}

/// The requests of a plan, built and checked before any is sent.
pub struct Requests {
    creates: Vec<(String, omni_dbt::CreateEnvironment)>,
    /// Without a lease, the connection's environments, to keep one copy of each created name
    /// once the creates are done.
    copies: Option<omni_dbt::DbtEnvironments>,
    updates: Vec<(String, omni_dbt::UpdateEnvironment)>,
    deletes: Vec<(String, omni_dbt::DeleteEnvironment)>,
}

/// Builds every request of `plan` and runs every check the library makes before sending; any
/// failure refuses the whole apply (exit 2, nothing sent). `coordinated`: a store lease keeps
/// other runs of the file out; without one, once the creates are done, one list keeps one copy
/// of each created name (`DbtEnvironments::keep_one_copy`), should another run of the file
/// have created it at the same time.
pub fn requests(
    client: &omni_dbt::Client,
    connection: Uuid,
    loaded: &Loaded,
    current: &[DbtEnvironment],
    plan: &Plan,
    secrets: &BTreeMap<(String, String), String>,
    coordinated: bool,
) -> Result<Requests, Failure> {
    let envs = client.dbt_environments(connection);
    let secret = |env: &str, name: &str| {
        secrets
            .get(&(env.to_owned(), name.to_owned()))
            .cloned()
            .unwrap_or_default()
    };
    let mut problems = Vec::new();
    let mut creates = Vec::new();
    for step in &plan.create {
        let Some(want) = loaded
            .file
            .environments
            .iter()
            .find(|w| w.name == step.name)
        else {
            continue;
        };
        // A create whose answer is lost is looked up by name and adopted, never repeated. The
        // required properties are set from the file's like every other one.
        let mut c = envs
            .create(&want.name, String::new())
            .adopting()
            .add_variable(MARKER, loaded.owner.marker())
            .copies_marked_by(MARKER);
        let mut failed = None;
        for change in &step.changes {
            c = match change {
                Change::Property { property, to, .. } => {
                    if let Err(e) = c.apply_property(property.json, to.clone()) {
                        failed.get_or_insert(e);
                    }
                    c
                }
                Change::OwnerId { to, .. } => match to {
                    Some(v) => c.owner_id(*v),
                    None => c,
                },
                Change::Variable { name, to, .. } => c.add_variable(name, to),
                Change::Secret { name, .. } => {
                    c.add_secret_variable(name, secret(&step.name, name))
                }
            };
        }
        if let Some(e) = failed.map_or_else(|| c.validate().err(), Some) {
            problems.push(format!("create {}: {e}", shown(&step.name)));
        }
        creates.push((step.name.clone(), c));
    }
    let mut updates = Vec::new();
    for step in &plan.update {
        let Some(have) = current.iter().find(|e| Some(e.id) == step.id) else {
            continue;
        };
        let mut u = envs.update_from(have);
        let mut failed = None;
        for change in &step.changes {
            u = match change {
                Change::Property { property, to, .. } => {
                    if let Err(e) = u.apply_property(property.json, to.clone()) {
                        failed.get_or_insert(e);
                    }
                    u
                }
                Change::OwnerId { to, .. } => u.owner_id(*to),
                Change::Variable { name, existing, to } => match existing {
                    Some(e) => u.set_variable(e.id, to),
                    None => u.add_variable(name, to),
                },
                Change::Secret { name, existing, .. } => {
                    let value = secret(&step.name, name);
                    match existing {
                        Some(e) => u.set_secret_variable(e.id, value),
                        None => u.add_secret_variable(name, value),
                    }
                }
            };
        }
        if let Some(e) = failed.map_or_else(|| u.validate().err(), Some) {
            problems.push(format!("update {}: {e}", shown(&step.name)));
        }
        updates.push((step.name.clone(), u));
    }
    let deletes = plan
        .delete
        .iter()
        .filter_map(|step| Some((step.name.clone(), envs.delete(step.id?))))
        .collect();
    if problems.is_empty() {
        Ok(Requests {
            creates,
            copies: (!coordinated).then_some(envs),
            updates,
            deletes,
        })
    } else {
        Err(Failure::Usage(format!(
            "invalid input; nothing was sent:\n  {}",
            problems.join("\n  ")
        )))
    }
}

/// One step that failed, and the exit code its error maps to.
pub type StepFailure = (String, u8);

/// What is told of each step as its answer arrives: its line, and whether it failed.
pub type Report = std::sync::Arc<dyn Fn(&str, bool) + Send + Sync>;

/// Carries out checked requests: creates, then updates, then deletes, each through the
/// library's bulk runner (bounded concurrency; the client's pacing and retries apply to each
/// request). `finished` counts every step as it ends, `progress` is told how many of how many
/// have, and `done` is told each step's line as its answer arrives (not when its phase ends),
/// so that a long apply is seen to move, line by line, and an interrupt can say exactly what
/// had finished.
pub async fn apply(
    requests: Requests,
    finished: &std::sync::Arc<std::sync::atomic::AtomicUsize>,
    progress: std::sync::Arc<dyn Fn(usize, usize) + Send + Sync>,
    done: Report,
) -> Vec<StepFailure> {
    use std::sync::atomic::Ordering;

    let total = requests.creates.len() + requests.updates.len() + requests.deletes.len();
    let mut failures = Vec::new();
    // Said already as each arrived; only the failures are kept for the exit code.
    let record = |failures: &mut Vec<StepFailure>,
                  verb: &str,
                  results: Vec<(String, Result<(), omni_dbt::Error>)>| {
        for (name, result) in results {
            if let Err(e) = result {
                let line = format!("{verb} {}: {e}", shown(&name));
                failures.push((line, crate::failure::Failure::Api(e).exit_code()));
            }
        }
    };
    // A phase's hooks: counting into `finished` as each request ends, and saying its line.
    let hooks = |verb: &'static str, gone_is_done: bool| Hooks {
        base: finished.load(Ordering::Relaxed),
        total,
        finished: finished.clone(),
        progress: progress.clone(),
        done: done.clone(),
        verb,
        gone_is_done,
    };
    let results = phase(requests.creates, hooks("create", false)).await;
    let created: Vec<DbtEnvironment> = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().ok().cloned())
        .collect();
    record(
        &mut failures,
        "create",
        results.into_iter().map(|(n, r)| (n, r.map(drop))).collect(),
    );
    if let Some(envs) = requests.copies.filter(|_| !created.is_empty()) {
        // Another run of the file may have created the same names at the same time.
        if let Err(e) = envs.keep_one_copy(MARKER, &created).await {
            let line = format!("check for copies of what was created: {e}");
            done(&line, true);
            failures.push((line, crate::failure::Failure::Api(e).exit_code()));
        }
    }
    let results = phase(requests.updates, hooks("update", false)).await;
    record(
        &mut failures,
        "update",
        results.into_iter().map(|(n, r)| (n, r.map(drop))).collect(),
    );
    // Gone already is what a delete wants: another run of the file deleted the same copy
    // first (both saw it), or someone did by hand.
    let results = phase(requests.deletes, hooks("delete", true)).await;
    let results = results
        .into_iter()
        .map(|(name, result)| match result {
            Ok(_) | Err(omni_dbt::Error::NotFound { .. }) => (name, Ok(())),
            Err(e) => (name, Err(e)),
        })
        .collect();
    record(&mut failures, "delete", results);
    failures
}

/// What a phase tells as each of its steps ends.
struct Hooks {
    /// Steps finished before this phase, and in all.
    base: usize,
    total: usize,
    finished: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    progress: std::sync::Arc<dyn Fn(usize, usize) + Send + Sync>,
    done: Report,
    verb: &'static str,
    /// A 404 counts as done (a delete).
    gone_is_done: bool,
}

/// One phase (creates, updates or deletes) through the library's bulk runner, 4 at a time:
/// each step's name with its outcome; each step's line said as its answer arrives.
async fn phase<R: omni_dbt::SendRequest>(
    steps: Vec<(String, R)>,
    hooks: Hooks,
) -> Vec<(String, Result<R::Output, omni_dbt::Error>)> {
    use std::sync::atomic::Ordering;

    let (names, requests): (Vec<_>, Vec<_>) = steps.into_iter().unzip();
    let said = std::sync::Arc::new(names.clone());
    let Hooks {
        base,
        total,
        finished,
        progress,
        done,
        verb,
        gone_is_done,
    } = hooks;
    let counter = finished.clone();
    let results = omni_dbt::Bulk::new(requests)
        .concurrency(4)
        .on_result(move |i, result| {
            let name = said.get(i).map(String::as_str).unwrap_or_default();
            // Counted before it is said: a line on the log is a finished step.
            let now = counter.fetch_add(1, Ordering::Relaxed).saturating_add(1);
            match result {
                Ok(_) => done(
                    &format!("{verb}d {} ({now} of {total})", shown(name)),
                    false,
                ),
                Err(omni_dbt::Error::NotFound { .. }) if gone_is_done => done(
                    &format!("{verb}d {} (already gone) ({now} of {total})", shown(name)),
                    false,
                ),
                Err(e) => done(
                    &format!("{verb} {}: {e} ({now} of {total})", shown(name)),
                    true,
                ),
            }
        })
        .on_progress(move |p| {
            finished.store(base + p.done, Ordering::Relaxed);
            progress(base + p.done, total);
        })
        .run()
        .await;
    names.into_iter().zip(results).collect()
}
