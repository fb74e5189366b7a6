//! Environments as code: a YAML file of desired environments, a plan of what would change, and
//! an apply that carries it out with the library's bulk runner.

use std::{collections::BTreeMap, fmt::Write as _};

use omni_dbt::{DbtEnvironment, Uuid};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::failure::Failure;

/// The file: a connection and the environments it should have.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct File {
    /// The connection (else `--connection` or `OMNI_CONNECTION_ID`).
    pub connection: Option<Uuid>,
    #[serde(default)]
    pub environments: Vec<Desired>,
}

/// One desired environment. A nullable field left out is not managed; `null` clears it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Desired {
    pub name: String,
    pub target_schema: String,
    #[serde(default, deserialize_with = "present")]
    pub target_database: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub target_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub target_role: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub owner_id: Option<Option<Uuid>>,
    /// Plain variables, by name.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// Secret variables, by name; each value must be a `${ENV_VAR}` reference.
    #[serde(default)]
    pub secret_variables: BTreeMap<String, String>,
}

/// Distinguishes a key given as `null` (`Some(None)`) from a key left out (`None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Reads and checks the file; secret references are resolved from the environment (their
/// values are never printed).
pub fn load(path: &std::path::Path) -> Result<(File, BTreeMap<String, String>), Failure> {
    let shown = path.display();
    let meta = std::fs::metadata(path).map_err(|e| Failure::Usage(format!("-f {shown}: {e}")))?;
    if !meta.is_file() || meta.len() > 1 << 20 {
        return Err(Failure::Usage(format!(
            "-f {shown}: must be a regular file of at most 1 MiB"
        )));
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| Failure::Usage(format!("-f {shown}: {e}")))?;
    let file: File =
        serde_yaml_ng::from_str(&text).map_err(|e| Failure::Usage(format!("-f {shown}: {e}")))?;
    let mut names = std::collections::BTreeSet::new();
    let mut secrets = BTreeMap::new();
    for (i, env) in file.environments.iter().enumerate() {
        let at = format!("-f {shown}: environments[{i}]");
        if env.name.is_empty() || env.target_schema.is_empty() {
            return Err(Failure::Usage(format!(
                "{at}: name and targetSchema must not be empty"
            )));
        }
        if !names.insert(env.name.as_str()) {
            return Err(Failure::Usage(format!(
                "{at}: the name \"{}\" appears twice",
                env.name
            )));
        }
        for (name, reference) in &env.secret_variables {
            if env.variables.contains_key(name) {
                return Err(Failure::Usage(format!(
                    "{at}: {name} is both a variable and a secret variable"
                )));
            }
            let var = reference
                .strip_prefix("${")
                .and_then(|r| r.strip_suffix('}'))
                .filter(|v| !v.is_empty())
                .ok_or_else(|| {
                    Failure::Usage(format!(
                        "{at}.secretVariables.{name}: must be a ${{ENV_VAR}} reference, so that \
                         no secret is written in the file"
                    ))
                })?;
            let value = std::env::var(var).map_err(|_| {
                Failure::Usage(format!(
                    "{at}.secretVariables.{name}: the environment variable {var} is not set"
                ))
            })?;
            secrets.insert(format!("{}\u{0}{name}", env.name), value);
        }
    }
    Ok((file, secrets))
}

/// One field's change.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct FieldChange {
    pub field: String,
    pub from: Value,
    pub to: Value,
}

/// What the plan does to one environment.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub name: String,
    /// `None` for a create.
    pub id: Option<Uuid>,
    pub changes: Vec<FieldChange>,
    /// Things the plan cannot or will not do, said plainly.
    pub notes: Vec<String>,
}

/// The plan.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Plan {
    pub create: Vec<Step>,
    pub update: Vec<Step>,
    pub delete: Vec<Step>,
    /// Environments on the connection that the file does not mention and that stay (all of
    /// them without --prune; the default one with it).
    pub unmanaged: Vec<String>,
    /// Whether the plan prunes.
    #[serde(skip)]
    pub prune: bool,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        !(self.create.is_empty() && self.update.is_empty() && self.delete.is_empty())
    }

    pub fn summary(&self) -> String {
        format!(
            "Plan: {} to create, {} to update, {} to delete.",
            self.create.len(),
            self.update.len(),
            self.delete.len()
        )
    }

    /// The plan as people read it, like terraform's.
    pub fn human(&self) -> String {
        let mut out = String::new();
        let show = |v: &Value| match v {
            Value::Null => "(none)".to_owned(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        for (sign, verb, steps) in [
            ('+', "create", &self.create),
            ('~', "update", &self.update),
            ('-', "delete", &self.delete),
        ] {
            for step in steps {
                let _ = writeln!(out, "{sign} {verb} {}", step.name);
                for c in &step.changes {
                    if sign == '+' {
                        let _ = writeln!(out, "    {}: {}", c.field, show(&c.to));
                    } else {
                        let _ =
                            writeln!(out, "    {}: {} -> {}", c.field, show(&c.from), show(&c.to));
                    }
                }
                for note in &step.notes {
                    let _ = writeln!(out, "    ! {note}");
                }
            }
        }
        if !self.unmanaged.is_empty() {
            let why = if self.prune {
                "the default environment is never deleted"
            } else {
                "--prune deletes them"
            };
            let _ = writeln!(
                out,
                "  (not in the file, kept: {}; {why})",
                self.unmanaged.join(", ")
            );
        }
        if self.has_changes() {
            let _ = writeln!(out, "{}", self.summary());
        } else {
            let _ = writeln!(out, "No changes. The environments match the file.");
        }
        out
    }
}

/// Compares the file with what the connection has.
pub fn plan(file: &File, current: &[DbtEnvironment], prune: bool, rotate_secrets: bool) -> Plan {
    let mut plan = Plan {
        prune,
        ..Plan::default()
    };
    let secret_text = json!("<secret>");
    for want in &file.environments {
        let Some(have) = current.iter().find(|e| e.name == want.name) else {
            let mut changes = vec![FieldChange {
                field: "targetSchema".into(),
                from: Value::Null,
                to: json!(want.target_schema),
            }];
            for (field, value) in nullable_fields(want) {
                if let Some(Some(v)) = value {
                    changes.push(FieldChange {
                        field: field.into(),
                        from: Value::Null,
                        to: v,
                    });
                }
            }
            for (name, value) in &want.variables {
                changes.push(FieldChange {
                    field: format!("variable {name}"),
                    from: Value::Null,
                    to: json!(value),
                });
            }
            for name in want.secret_variables.keys() {
                changes.push(FieldChange {
                    field: format!("secret {name}"),
                    from: Value::Null,
                    to: secret_text.clone(),
                });
            }
            plan.create.push(Step {
                name: want.name.clone(),
                id: None,
                changes,
                notes: Vec::new(),
            });
            continue;
        };
        let mut changes = Vec::new();
        let mut notes = Vec::new();
        if have.target_schema != want.target_schema {
            changes.push(FieldChange {
                field: "targetSchema".into(),
                from: json!(have.target_schema),
                to: json!(want.target_schema),
            });
        }
        let current_values = [
            ("targetDatabase", json!(have.target_database)),
            ("targetName", json!(have.target_name)),
            ("targetRole", json!(have.target_role)),
            ("ownerId", json!(have.owner_id)),
        ];
        for ((field, value), (_, now)) in nullable_fields(want).into_iter().zip(current_values) {
            if let Some(wanted) = value {
                let wanted = wanted.unwrap_or(Value::Null);
                if wanted != now {
                    changes.push(FieldChange {
                        field: field.into(),
                        from: now,
                        to: wanted,
                    });
                }
            }
        }
        for (name, value) in &want.variables {
            match have.variable(name) {
                None => changes.push(FieldChange {
                    field: format!("variable {name}"),
                    from: Value::Null,
                    to: json!(value),
                }),
                Some(v) if v.is_secret || v.value.as_deref() != Some(value.as_str()) => changes
                    .push(FieldChange {
                        field: format!("variable {name}"),
                        from: if v.is_secret {
                            secret_text.clone()
                        } else {
                            json!(v.value)
                        },
                        to: json!(value),
                    }),
                Some(_) => {}
            }
        }
        for name in want.secret_variables.keys() {
            match have.variable(name) {
                None => changes.push(FieldChange {
                    field: format!("secret {name}"),
                    from: Value::Null,
                    to: secret_text.clone(),
                }),
                Some(_) if rotate_secrets => changes.push(FieldChange {
                    field: format!("secret {name}"),
                    from: secret_text.clone(),
                    to: json!("<new secret>"),
                }),
                Some(_) => notes.push(format!(
                    "secret {name} exists; its value is write-only in Omni, so it is not compared \
                     or re-sent (--rotate-secrets re-sends it)"
                )),
            }
        }
        for v in &have.variables {
            if !want.variables.contains_key(&v.name) && !want.secret_variables.contains_key(&v.name)
            {
                notes.push(format!(
                    "variable {} is not in the file; Omni's API has no documented way to remove a \
                     variable, so it stays",
                    v.name
                ));
            }
        }
        // An environment that matches apart from what cannot (or need not) be sent gets no
        // step: like terraform, only changes are shown.
        if !changes.is_empty() {
            plan.update.push(Step {
                name: want.name.clone(),
                id: Some(have.id),
                changes,
                notes,
            });
        }
    }
    for have in current {
        if file.environments.iter().any(|w| w.name == have.name) {
            continue;
        }
        if prune && !have.is_default_environment {
            plan.delete.push(Step {
                name: have.name.clone(),
                id: Some(have.id),
                changes: Vec::new(),
                notes: Vec::new(),
            });
        } else {
            plan.unmanaged.push(have.name.clone());
        }
    }
    plan
}

fn nullable_fields(want: &Desired) -> [(&'static str, Option<Option<Value>>); 4] {
    let text = |v: &Option<Option<String>>| v.as_ref().map(|o| o.as_ref().map(|s| json!(s)));
    [
        ("targetDatabase", text(&want.target_database)),
        ("targetName", text(&want.target_name)),
        ("targetRole", text(&want.target_role)),
        (
            "ownerId",
            want.owner_id.as_ref().map(|o| o.map(|u| json!(u))),
        ),
    ]
}

/// Carries out a plan: creates, then updates, then deletes, each through the library's bulk
/// runner (bounded concurrency; the client's pacing and retries apply to each request). Returns
/// one line per failed step.
pub async fn apply(
    client: &omni_dbt::Client,
    connection: Uuid,
    file: &File,
    secrets: &BTreeMap<String, String>,
    current: &[DbtEnvironment],
    plan: &Plan,
    bar: &indicatif::ProgressBar,
) -> Vec<String> {
    use omni_dbt::Bulk;

    let envs = client.dbt_environments(connection);
    let step = || {
        let bar = bar.clone();
        move |_: omni_dbt::Progress| bar.inc(1)
    };
    let desired = |name: &str| file.environments.iter().find(|w| w.name == name);
    let secret = |env: &str, name: &str| {
        secrets
            .get(&format!("{env}\u{0}{name}"))
            .cloned()
            .unwrap_or_default()
    };
    let mut failures = Vec::new();

    let creates: Vec<_> = plan
        .create
        .iter()
        .filter_map(|step| desired(&step.name))
        .map(|want| {
            // A create whose answer is lost is looked up by name and adopted, never repeated.
            let mut c = envs.create(&want.name, &want.target_schema).adopting();
            if let Some(Some(v)) = &want.target_database {
                c = c.target_database(v);
            }
            if let Some(Some(v)) = &want.target_name {
                c = c.target_name(v);
            }
            if let Some(Some(v)) = &want.target_role {
                c = c.target_role(v);
            }
            if let Some(Some(v)) = want.owner_id {
                c = c.owner_id(v);
            }
            for (name, value) in &want.variables {
                c = c.add_variable(name, value);
            }
            for name in want.secret_variables.keys() {
                c = c.add_secret_variable(name, secret(&want.name, name));
            }
            c
        })
        .collect();
    let names: Vec<&str> = plan.create.iter().map(|s| s.name.as_str()).collect();
    for (name, result) in names.iter().zip(
        Bulk::new(creates)
            .concurrency(4)
            .on_progress(step())
            .run()
            .await,
    ) {
        if let Err(e) = result {
            failures.push(format!("create {name}: {e}"));
        }
    }

    let updates: Vec<_> = plan
        .update
        .iter()
        .filter_map(|step| {
            Some((
                step,
                desired(&step.name)?,
                current.iter().find(|e| Some(e.id) == step.id)?,
            ))
        })
        .map(|(step, want, have)| {
            let mut u = envs.update_from(have);
            for change in &step.changes {
                let text = change.to.as_str().map(str::to_owned);
                u = match change.field.as_str() {
                    "targetSchema" => u.target_schema(text.unwrap_or_default()),
                    "targetDatabase" => u.target_database(text),
                    "targetName" => u.target_name(text),
                    "targetRole" => u.target_role(text),
                    "ownerId" => u.owner_id(text.and_then(|t| t.parse::<Uuid>().ok())),
                    field => {
                        if let Some(name) = field.strip_prefix("variable ") {
                            let value = want.variables.get(name).cloned().unwrap_or_default();
                            match have.variable(name) {
                                Some(v) => u.set_variable(v.id, value),
                                None => u.add_variable(name, value),
                            }
                        } else if let Some(name) = field.strip_prefix("secret ") {
                            let value = secret(&want.name, name);
                            match have.variable(name) {
                                Some(v) => u.set_secret_variable(v.id, value),
                                None => u.add_secret_variable(name, value),
                            }
                        } else {
                            u
                        }
                    }
                };
            }
            u
        })
        .collect();
    let names: Vec<&str> = plan.update.iter().map(|s| s.name.as_str()).collect();
    for (name, result) in names.iter().zip(
        Bulk::new(updates)
            .concurrency(4)
            .on_progress(step())
            .run()
            .await,
    ) {
        if let Err(e) = result {
            failures.push(format!("update {name}: {e}"));
        }
    }

    let deletes: Vec<_> = plan
        .delete
        .iter()
        .filter_map(|step| step.id)
        .map(|id| envs.delete(id))
        .collect();
    let names: Vec<&str> = plan.delete.iter().map(|s| s.name.as_str()).collect();
    for (name, result) in names.iter().zip(
        Bulk::new(deletes)
            .concurrency(4)
            .on_progress(step())
            .run()
            .await,
    ) {
        if let Err(e) = result {
            failures.push(format!("delete {name}: {e}"));
        }
    }
    failures
}
