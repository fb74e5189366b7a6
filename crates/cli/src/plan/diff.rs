//! The plan: the file compared with what the connection has, property by property from the
//! spec's table, and ownership (see [`crate::owned`]): an environment the file names is
//! managed by it (one another file or a preview manages is an error, never taken over);
//! `--prune` deletes only environments whose marker names this file, never the default one;
//! everything else on the connection is listed as kept, with who manages it.

use omni_dbt::{DbtEnvironment, Uuid, fields::Property};
use serde::Serialize;
use serde_json::{Value, json};

use super::file::{Desired, Loaded};
use crate::{
    failure::Failure,
    output::shown,
    owned::{self, MARKER, Owner},
};

/// What a variable on the connection is now.
#[derive(Clone, Debug, PartialEq)]
pub struct Existing {
    pub id: Uuid,
    pub secret: bool,
    pub value: Option<String>,
}

/// One change the plan makes, typed: `apply` builds its request from these, nothing else.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// A property of the spec's table gets a value (`null`: cleared). `from` is `null` on a
    /// create.
    Property {
        property: &'static Property,
        from: Value,
        to: Value,
    },
    /// Who owns it: a user (personal) or nobody (shared).
    OwnerId {
        from: Option<Uuid>,
        to: Option<Uuid>,
    },
    /// A plain variable gets this value (created, changed, or made plain).
    Variable {
        name: String,
        existing: Option<Existing>,
        to: String,
    },
    /// A secret variable gets the value of the environment variable `reference` (created,
    /// rotated, or made secret).
    Secret {
        name: String,
        existing: Option<Existing>,
        reference: String,
    },
}

/// What the plan does to one environment.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub name: String,
    /// `None` for a create.
    pub id: Option<Uuid>,
    #[serde(serialize_with = "super::render::views")]
    pub changes: Vec<Change>,
    /// Things the plan cannot or will not do, said plainly.
    pub notes: Vec<String>,
}

/// An environment the plan leaves alone, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Kept {
    pub name: String,
    pub id: Uuid,
    pub why: String,
}

/// The plan.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    /// The marker this file's environments carry.
    #[serde(rename = "managedBy")]
    pub marker: String,
    pub create: Vec<Step>,
    pub update: Vec<Step>,
    pub delete: Vec<Step>,
    /// Environments the file names that need no change, with what the plan says of them.
    pub unchanged: Vec<Step>,
    /// Environments on the connection that the file does not name and that stay.
    pub kept: Vec<Kept>,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        !(self.create.is_empty() && self.update.is_empty() && self.delete.is_empty())
    }

    /// Whether a create or an update sets an owner (`ownerId`, or `owner` resolved into it).
    pub fn sets_owners(&self) -> bool {
        self.create
            .iter()
            .chain(&self.update)
            .flat_map(|s| &s.changes)
            .any(|c| matches!(c, Change::OwnerId { .. }))
    }

    pub fn total(&self) -> usize {
        self.create.len() + self.update.len() + self.delete.len()
    }

    pub fn summary(&self) -> String {
        format!(
            "Plan: {} to create, {} to update, {} to delete.",
            self.create.len(),
            self.update.len(),
            self.delete.len()
        )
    }
}

/// How a plan is made.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Delete this file's environments that it no longer names.
    pub prune: bool,
    /// Re-send secrets that exist.
    pub rotate_secrets: bool,
    /// Only these environments, by name (empty: all).
    pub targets: Vec<String>,
    /// With `prune`: a file that names no environment may delete every one it manages.
    pub allow_empty: bool,
}

/// Whether `--prune` may run with this file: only with an id of its own (`managedBy`), so
/// that two files of one name never take each other's environments for their own; and never
/// with a file that names no environment (it would delete every one the id marks), unless
/// asked for by `--allow-empty`.
pub fn check_prune(loaded: &Loaded, options: &Options) -> Result<(), Failure> {
    if !options.prune {
        return Ok(());
    }
    if loaded.file.managed_by.is_none() {
        return Err(Failure::Usage(format!(
            "--prune: the file has no managedBy; give it an id of its own (e.g. `managedBy: \
             analytics-envs`), so that no other file named {} takes its environments for its \
             own or has its own taken. Nothing was sent",
            shown(loaded.owner.marker().trim_start_matches("file:"))
        )));
    }
    if loaded.file.environments.is_empty() && !options.allow_empty {
        return Err(Failure::Usage(format!(
            "--prune: the file names no environment, so every environment marked {} would be \
             deleted; add --allow-empty if that is meant. Nothing was sent",
            shown(&loaded.owner.marker())
        )));
    }
    Ok(())
}

/// Compares the file with what the connection has. An environment the file names that
/// another file or a preview manages, or a name two environments share, is an error naming
/// the ids: nothing is planned over it.
pub fn plan(
    loaded: &Loaded,
    current: &[DbtEnvironment],
    options: &Options,
) -> Result<Plan, Failure> {
    check_prune(loaded, options)?;
    let targeted =
        |name: &str| options.targets.is_empty() || options.targets.iter().any(|t| t == name);
    let unknown: Vec<&String> = options
        .targets
        .iter()
        .filter(|t| {
            !loaded.file.environments.iter().any(|w| &w.name == *t)
                && !current.iter().any(|e| &e.name == *t)
        })
        .collect();
    if !unknown.is_empty() {
        let names: Vec<String> = unknown.iter().map(|t| shown(t)).collect();
        return Err(Failure::Usage(format!(
            "--target {}: neither the file nor the connection has an environment of that name",
            names.join(", ")
        )));
    }
    let mut plan = Plan {
        marker: loaded.owner.marker(),
        create: Vec::new(),
        update: Vec::new(),
        delete: Vec::new(),
        unchanged: Vec::new(),
        kept: Vec::new(),
    };
    let mut problems = Vec::new();
    for want in loaded
        .file
        .environments
        .iter()
        .filter(|w| targeted(&w.name))
    {
        let matching: Vec<&DbtEnvironment> =
            current.iter().filter(|e| e.name == want.name).collect();
        let have = match matching.as_slice() {
            [] => {
                plan.create.push(create_step(want));
                continue;
            }
            [one] => *one,
            // Copies of one environment, all this file's (two runs of it created at once, and
            // one of them was stopped before it could delete its copy): the one with the
            // lowest id is kept, as the runs themselves would have, and the others deleted.
            many if many.iter().all(|e| {
                !e.is_default_environment && Owner::of(e).as_ref() == Some(&loaded.owner)
            }) =>
            {
                let mut copies = many.to_vec();
                copies.sort_by_key(|e| e.id);
                for extra in &copies[1..] {
                    plan.delete.push(delete_step(
                        extra,
                        vec![format!(
                            "a copy of {} ({}), also this file's: two runs created it at once; \
                             the lowest id is kept",
                            shown(&want.name),
                            copies[0].id
                        )],
                    ));
                }
                copies[0]
            }
            many => {
                let ids: Vec<String> = many.iter().map(|e| e.id.to_string()).collect();
                problems.push(format!(
                    "{} environments are named \"{}\" ({}); rename all but one in Omni",
                    many.len(),
                    shown(&want.name),
                    ids.join(", ")
                ));
                continue;
            }
        };
        match Owner::of(have) {
            Some(owner) if owner != loaded.owner => {
                problems.push(format!(
                    "\"{}\" ({}) is managed by {}; remove it from this file",
                    shown(&want.name),
                    have.id,
                    owner.describe()
                ));
                continue;
            }
            _ => {}
        }
        let (changes, notes) = update_changes(want, have, options.rotate_secrets);
        let step = Step {
            name: want.name.clone(),
            id: Some(have.id),
            changes,
            notes,
        };
        // Like terraform, only changes are steps; notes are shown all the same.
        if step.changes.is_empty() {
            plan.unchanged.push(step);
        } else {
            plan.update.push(step);
        }
    }
    if !problems.is_empty() {
        return Err(Failure::Usage(format!(
            "the plan cannot be made:\n  {}",
            problems.join("\n  ")
        )));
    }
    for have in current {
        if loaded.file.environments.iter().any(|w| w.name == have.name) {
            if !targeted(&have.name) {
                plan.kept.push(Kept {
                    name: have.name.clone(),
                    id: have.id,
                    why: "in the file; not a --target".to_owned(),
                });
            }
            continue;
        }
        let ours = Owner::of(have).as_ref() == Some(&loaded.owner);
        if options.prune && ours && !have.is_default_environment && targeted(&have.name) {
            plan.delete.push(delete_step(have, Vec::new()));
            continue;
        }
        let why = if have.is_default_environment {
            "the connection's default environment is never deleted".to_owned()
        } else if ours && !targeted(&have.name) {
            "managed by this file; not a --target".to_owned()
        } else if ours {
            "managed by this file; --prune deletes it".to_owned()
        } else {
            format!("{}; never deleted by this file", owned::describe(have))
        };
        plan.kept.push(Kept {
            name: have.name.clone(),
            id: have.id,
            why,
        });
    }
    Ok(plan)
}

/// A delete, showing what goes (like terraform's destroy): every property the environment
/// has a value for, from that value to nothing.
fn delete_step(have: &DbtEnvironment, notes: Vec<String>) -> Step {
    let changes = super::file::managed()
        .filter_map(|property| {
            let from = current_value(have, property.json);
            (!from.is_null()).then_some(Change::Property {
                property,
                from,
                to: Value::Null,
            })
        })
        .collect();
    Step {
        name: have.name.clone(),
        id: Some(have.id),
        changes,
        notes,
    }
}

fn create_step(want: &Desired) -> Step {
    // A create sends what the file gives; `null` is what Omni has without it.
    let mut changes: Vec<Change> = want
        .properties
        .iter()
        .filter(|(_, to)| !to.is_null())
        .map(|(property, to)| Change::Property {
            property,
            from: Value::Null,
            to: to.clone(),
        })
        .collect();
    if let Some(Some(to)) = want.owner_id {
        changes.push(Change::OwnerId {
            from: None,
            to: Some(to),
        });
    }
    for (name, value) in &want.variables {
        changes.push(Change::Variable {
            name: name.clone(),
            existing: None,
            to: value.clone(),
        });
    }
    for (name, reference) in &want.secret_variables {
        changes.push(Change::Secret {
            name: name.clone(),
            existing: None,
            reference: reference.clone(),
        });
    }
    Step {
        name: want.name.clone(),
        id: None,
        changes,
        notes: Vec::new(),
    }
}

/// The environment's current value of each property, by its JSON name (`null` when Omni's
/// answer leaves it out).
fn current_value(have: &DbtEnvironment, json: &str) -> Value {
    serde_json::to_value(have)
        .ok()
        .and_then(|mut v| v.get_mut(json).map(Value::take))
        .unwrap_or(Value::Null)
}

/// Whether two values are the same, numbers by value (`1` and `1.0`).
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn update_changes(
    want: &Desired,
    have: &DbtEnvironment,
    rotate_secrets: bool,
) -> (Vec<Change>, Vec<String>) {
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    // A property the file leaves out is not managed: never cleared.
    for (property, to) in &want.properties {
        let from = current_value(have, property.json);
        if !same(&from, to) {
            changes.push(Change::Property {
                property,
                from,
                to: to.clone(),
            });
        }
    }
    if let Some(to) = want.owner_id
        && to != have.owner_id
    {
        changes.push(Change::OwnerId {
            from: have.owner_id,
            to,
        });
    }
    let existing = |name: &str| {
        have.variable(name).map(|v| Existing {
            id: v.id,
            secret: v.is_secret,
            value: v.value.clone(),
        })
    };
    for (name, value) in &want.variables {
        let now = existing(name);
        let same = now
            .as_ref()
            .is_some_and(|e| !e.secret && e.value.as_deref() == Some(value.as_str()));
        if !same {
            changes.push(Change::Variable {
                name: name.clone(),
                existing: now,
                to: value.clone(),
            });
        }
    }
    for (name, reference) in &want.secret_variables {
        let now = existing(name);
        match &now {
            Some(e) if e.secret && !rotate_secrets => notes.push(format!(
                "secret {name} exists; its value is write-only in Omni, so it is not compared \
                 or re-sent (--rotate-secrets re-sends it)"
            )),
            // New, rotated, or a plain variable the file makes secret.
            _ => changes.push(Change::Secret {
                name: name.clone(),
                existing: now,
                reference: reference.clone(),
            }),
        }
    }
    for v in &have.variables {
        if v.name != MARKER
            && !want.variables.contains_key(&v.name)
            && !want.secret_variables.contains_key(&v.name)
        {
            notes.push(format!(
                "variable {} is not in the file; Omni's API has no documented way to remove a \
                 variable, so it stays",
                v.name
            ));
        }
    }
    (changes, notes)
}

impl Change {
    /// The change as the JSON plan and the table show it: `{field, from, to}`.
    pub fn view(&self) -> FieldChange {
        let was = |e: &Option<Existing>| match e {
            None => Value::Null,
            Some(e) if e.secret => json!("<secret>"),
            Some(e) => json!(e.value),
        };
        let (field, from, to) = match self {
            Change::Property { property, from, to } => {
                (property.json.to_owned(), from.clone(), to.clone())
            }
            Change::OwnerId { from, to } => ("ownerId".into(), json!(from), json!(to)),
            Change::Variable { name, existing, to } => {
                (format!("variable {name}"), was(existing), json!(to))
            }
            Change::Secret { name, existing, .. } => (
                format!("secret {name}"),
                was(existing),
                json!(if existing.as_ref().is_some_and(|e| e.secret) {
                    "<new secret>"
                } else {
                    "<secret>"
                }),
            ),
        };
        FieldChange { field, from, to }
    }
}

/// One field's change, as shown.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FieldChange {
    pub field: String,
    pub from: Value,
    pub to: Value,
}
