//! Environments as code: a YAML file of desired environments, a plan of what would change, and
//! an apply that carries it out with the library's bulk runner.
//!
//! Ownership (see [`crate::owned`]): an environment the file names is managed by it (an
//! environment another file or a preview manages is an error, never taken over); `--prune`
//! deletes only environments whose marker names this file, never the default one; everything
//! else on the connection is listed as kept, with who manages it.

use std::{collections::BTreeMap, fmt::Write as _, path::Path};

use omni_dbt::{DbtEnvironment, Uuid};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::{
    failure::Failure,
    input,
    output::shown,
    owned::{self, MARKER, Owner},
};

/// The file: a connection, the id its environments are marked with, and the environments.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct File {
    /// The connection (else `--connection` or `OMNI_CONNECTION_ID`).
    pub connection: Option<Uuid>,
    /// The id this file's environments are marked with (default: the file's name).
    pub managed_by: Option<String>,
    #[serde(default)]
    pub environments: Vec<Desired>,
}

/// One desired environment. A nullable field left out is not managed; `null` clears it.
#[derive(Clone, Debug, Deserialize)]
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
    /// The owning user by email (or id), resolved into `owner_id` by [`resolve_owners`].
    #[serde(default)]
    pub owner: Option<String>,
    /// Plain variables, by name.
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// Secret variables, by name; each value is a `${ENV_VAR}` reference.
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

/// A loaded file: its environments, and the owner its environments are marked with.
#[derive(Debug)]
pub struct Loaded {
    pub file: File,
    pub owner: Owner,
}

/// Reads and checks the file. Secret references are checked for shape here and read from the
/// environment only when a value must be sent ([`secrets`]), so that a plan runs without them.
pub fn load(path: &Path) -> Result<Loaded, Failure> {
    let shown_path = path.display().to_string();
    let value = input::yaml_file(path)?;
    // An empty file is an empty mapping: with --prune it would delete everything this file
    // manages, so it must at least parse as the file it claims to be.
    if value.is_null() {
        return Err(Failure::Usage(format!(
            "-f {shown_path}: the file is empty; write `environments: []` to manage none"
        )));
    }
    let file: File = serde_json::from_value(value)
        .map_err(|e| Failure::Usage(format!("-f {shown_path}: {e}")))?;
    check(&file, &shown_path)?;
    let id = match &file.managed_by {
        Some(id) => id.clone(),
        None => path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| shown_path.clone()),
    };
    Ok(Loaded {
        owner: Owner::File(id),
        file,
    })
}

/// Turns each `owner:` (an email, or an id) into the `ownerId` it names, one lookup per
/// distinct email (Omni's SCIM API, Organization API keys only); an unknown email is an error
/// naming the key. Nothing but those lookups is sent.
pub async fn resolve_owners(loaded: &mut Loaded, client: &omni_dbt::Client) -> Result<(), Failure> {
    let mut known: BTreeMap<String, Uuid> = BTreeMap::new();
    for (i, env) in loaded.file.environments.iter_mut().enumerate() {
        let Some(owner) = env.owner.take() else {
            continue;
        };
        let at = format!("environments[{i}].owner");
        let parsed = crate::cli::parse_owner(&owner)
            .map_err(|rule| Failure::Usage(format!("{at}: {rule}")))?;
        let key = owner.trim().to_ascii_lowercase();
        let id = match known.get(&key) {
            Some(id) => *id,
            None => {
                let id = crate::rules::resolve_owner(client, &parsed, &at).await?;
                known.insert(key, id);
                id
            }
        };
        env.owner_id = Some(Some(id));
    }
    Ok(())
}

/// The rules a file must follow; each error names the key, in the file's words.
fn check(file: &File, shown_path: &str) -> Result<(), Failure> {
    let fail =
        |at: String, rule: &str| Err(Failure::Usage(format!("-f {shown_path}: {at}: {rule}")));
    if let Some(id) = &file.managed_by
        && (id.is_empty() || id.chars().any(char::is_control))
    {
        return fail(
            "managedBy".into(),
            "must be a non-empty id without control characters",
        );
    }
    let mut names = std::collections::BTreeSet::new();
    for (i, env) in file.environments.iter().enumerate() {
        let at = format!("environments[{i}]");
        if env.name.trim().is_empty() {
            return fail(format!("{at}.name"), "must not be empty");
        }
        if env.target_schema.trim().is_empty() {
            return fail(format!("{at}.targetSchema"), "must not be empty");
        }
        if !names.insert(env.name.as_str()) {
            return fail(
                format!("{at}.name"),
                &format!("\"{}\" names an environment given earlier too", env.name),
            );
        }
        if let Some(Some(owner)) = env.owner_id
            && owner.is_nil()
        {
            return fail(format!("{at}.ownerId"), "must not be the nil UUID");
        }
        if let Some(owner) = &env.owner {
            if env.owner_id.is_some() {
                return fail(
                    format!("{at}.owner"),
                    "give the owner once: owner (an email) or ownerId (an id), not both",
                );
            }
            if let Err(rule) = crate::cli::parse_owner(owner) {
                return fail(format!("{at}.owner"), &rule);
            }
        }
        for (key, value) in [
            ("targetDatabase", &env.target_database),
            ("targetName", &env.target_name),
            ("targetRole", &env.target_role),
        ] {
            if let Some(Some(v)) = value
                && v.is_empty()
            {
                return fail(
                    format!("{at}.{key}"),
                    "must not be empty (write null to clear it)",
                );
            }
        }
        for (key, map) in [
            ("variables", &env.variables),
            ("secretVariables", &env.secret_variables),
        ] {
            for name in map.keys() {
                if name.trim().is_empty() {
                    return fail(format!("{at}.{key}"), "a variable name must not be empty");
                }
                if name == MARKER {
                    return fail(
                        format!("{at}.{key}.{name}"),
                        "is the variable omni-dbt records ownership in; it cannot be set",
                    );
                }
            }
        }
        for (name, value) in &env.variables {
            if value.contains("${") {
                return fail(
                    format!("{at}.variables.{name}"),
                    "is sent as written, and ${…} is not expanded there; a value from the \
                     environment belongs under secretVariables",
                );
            }
            if env.secret_variables.contains_key(name) {
                return fail(
                    format!("{at}.variables.{name}"),
                    "is also under secretVariables; a variable is one or the other",
                );
            }
        }
        for (name, reference) in &env.secret_variables {
            if reference_name(reference).is_none() {
                return fail(
                    format!("{at}.secretVariables.{name}"),
                    "must be a ${ENV_VAR} reference, so that no secret is written in the file",
                );
            }
        }
    }
    Ok(())
}

/// `ENV_VAR` of `${ENV_VAR}`.
fn reference_name(reference: &str) -> Option<&str> {
    reference
        .strip_prefix("${")?
        .strip_suffix('}')
        .filter(|v| !v.is_empty() && !v.contains(['$', '{', '}']))
}

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
    TargetSchema {
        from: Option<String>,
        to: String,
    },
    TargetDatabase {
        from: Option<String>,
        to: Option<String>,
    },
    TargetName {
        from: Option<String>,
        to: Option<String>,
    },
    TargetRole {
        from: Option<String>,
        to: Option<String>,
    },
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

impl Change {
    /// The change as the JSON plan and the table show it: `{field, from, to}`.
    fn view(&self) -> FieldChange {
        let text = |v: &Option<String>| json!(v);
        let was = |e: &Option<Existing>| match e {
            None => Value::Null,
            Some(e) if e.secret => json!("<secret>"),
            Some(e) => json!(e.value),
        };
        let (field, from, to) = match self {
            Change::TargetSchema { from, to } => ("targetSchema".into(), text(from), json!(to)),
            Change::TargetDatabase { from, to } => ("targetDatabase".into(), text(from), text(to)),
            Change::TargetName { from, to } => ("targetName".into(), text(from), text(to)),
            Change::TargetRole { from, to } => ("targetRole".into(), text(from), text(to)),
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

/// What the plan does to one environment.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub name: String,
    /// `None` for a create.
    pub id: Option<Uuid>,
    #[serde(serialize_with = "views")]
    pub changes: Vec<Change>,
    /// Things the plan cannot or will not do, said plainly.
    pub notes: Vec<String>,
}

fn views<S: serde::Serializer>(changes: &[Change], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(changes.iter().map(Change::view))
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

    /// The plan as people read it, like terraform's. Names from the server are shown escaped.
    pub fn human(&self) -> String {
        let mut out = String::new();
        let show = |v: &Value| match v {
            Value::Null => "(none)".to_owned(),
            Value::String(s) => shown(s),
            other => other.to_string(),
        };
        for (sign, verb, steps) in [
            ('+', "create", &self.create),
            ('~', "update", &self.update),
            ('-', "delete", &self.delete),
        ] {
            for step in steps {
                let _ = writeln!(out, "{sign} {verb} {}", shown(&step.name));
                for mut c in step.changes.iter().map(Change::view) {
                    // Who owns it, in Omni's words: a personal environment or a shared one.
                    if c.field == "ownerId" {
                        let say = |v: &Value| match v {
                            Value::Null => json!("shared"),
                            other => {
                                json!(format!("personal ({})", other.as_str().unwrap_or_default()))
                            }
                        };
                        c.from = if sign == '+' {
                            Value::Null
                        } else {
                            say(&c.from)
                        };
                        c.to = say(&c.to);
                    }
                    if sign == '+' {
                        let _ = writeln!(out, "    {}: {}", shown(&c.field), show(&c.to));
                    } else {
                        let _ = writeln!(
                            out,
                            "    {}: {} -> {}",
                            shown(&c.field),
                            show(&c.from),
                            show(&c.to)
                        );
                    }
                }
                for note in &step.notes {
                    let _ = writeln!(out, "    ! {}", shown(note));
                }
            }
        }
        for step in &self.unchanged {
            for note in &step.notes {
                let _ = writeln!(out, "  {}: ! {}", shown(&step.name), shown(note));
            }
        }
        for kept in &self.kept {
            let _ = writeln!(
                out,
                "  kept {} ({}): {}",
                shown(&kept.name),
                kept.id,
                shown(&kept.why)
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

/// How a plan is made.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Delete this file's environments that it no longer names.
    pub prune: bool,
    /// Re-send secrets that exist.
    pub rotate_secrets: bool,
    /// Only these environments, by name (empty: all).
    pub targets: Vec<String>,
}

impl Plan {
    /// The plan as Markdown, for a pull-request comment or a job summary: a heading with the
    /// summary, a table of the changes, and what is kept. Every name is escaped (a table cell
    /// cannot be broken out of, nor a workflow command started).
    pub fn markdown(&self) -> String {
        let cell = |text: &str| shown(text).replace('|', "\\|").replace('`', "'");
        let value = |v: &Value| match v {
            Value::Null => "*(none)*".to_owned(),
            Value::String(s) => format!("`{}`", cell(s)),
            other => format!("`{}`", cell(&other.to_string())),
        };
        let mut out = String::new();
        let _ = writeln!(out, "### omni-dbt plan: `{}`\n", cell(&self.marker));
        if self.has_changes() {
            let _ = writeln!(out, "**{}**\n", self.summary());
            let _ = writeln!(out, "| | environment | field | from | to |");
            let _ = writeln!(out, "|---|---|---|---|---|");
            for (sign, steps) in [
                ("➕ create", &self.create),
                ("✏️ update", &self.update),
                ("🗑️ delete", &self.delete),
            ] {
                for step in steps {
                    if step.changes.is_empty() {
                        let _ = writeln!(out, "| {sign} | {} | | | |", cell(&step.name));
                    }
                    for c in step.changes.iter().map(Change::view) {
                        let _ = writeln!(
                            out,
                            "| {sign} | {} | {} | {} | {} |",
                            cell(&step.name),
                            cell(&c.field),
                            value(&c.from),
                            value(&c.to)
                        );
                    }
                }
            }
        } else {
            let _ = writeln!(out, "**No changes.** The environments match the file.");
        }
        let notes: Vec<String> = self
            .create
            .iter()
            .chain(&self.update)
            .chain(&self.unchanged)
            .flat_map(|s| {
                s.notes
                    .iter()
                    .map(move |n| format!("- {}: {}", cell(&s.name), cell(n)))
            })
            .collect();
        if !notes.is_empty() {
            let _ = writeln!(
                out,
                "\n<details><summary>Notes ({})</summary>\n\n{}\n</details>",
                notes.len(),
                notes.join("\n")
            );
        }
        if !self.kept.is_empty() {
            let kept: Vec<String> = self
                .kept
                .iter()
                .map(|k| format!("- {} (`{}`): {}", cell(&k.name), k.id, cell(&k.why)))
                .collect();
            let _ = writeln!(
                out,
                "\n<details><summary>Kept ({})</summary>\n\n{}\n</details>",
                kept.len(),
                kept.join("\n")
            );
        }
        out
    }
}

/// The environments file of what the connection has, for adoption: every field as it is (a
/// nullable field written as its value or `null`, so the file manages it), plain variables by
/// value, secret ones as `${NAME}` references. The ownership marker is left out, and so is an
/// environment another file or a preview manages. Returns the YAML and what was left out.
pub fn export(
    connection: Uuid,
    current: &[DbtEnvironment],
    owner: &Owner,
    managed_by: Option<&str>,
    targets: &[String],
) -> Result<(String, Vec<String>), Failure> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ExportFile<'a> {
        connection: Uuid,
        #[serde(skip_serializing_if = "Option::is_none")]
        managed_by: Option<&'a str>,
        environments: Vec<ExportEnv>,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ExportEnv {
        name: String,
        target_schema: String,
        target_database: Option<String>,
        target_name: Option<String>,
        target_role: Option<String>,
        owner_id: Option<Uuid>,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        variables: BTreeMap<String, String>,
        #[serde(skip_serializing_if = "BTreeMap::is_empty")]
        secret_variables: BTreeMap<String, String>,
    }
    let mut left_out = Vec::new();
    let mut environments = Vec::new();
    for env in current {
        if !targets.is_empty() && !targets.contains(&env.name) {
            continue;
        }
        if let Some(other) = Owner::of(env).filter(|o| o != owner) {
            left_out.push(format!(
                "{} ({}): managed by {}",
                shown(&env.name),
                env.id,
                other.describe()
            ));
            continue;
        }
        let same: Vec<String> = current
            .iter()
            .filter(|e| e.name == env.name)
            .map(|e| e.id.to_string())
            .collect();
        if same.len() > 1 {
            return Err(Failure::Usage(format!(
                "{} environments are named \"{}\" ({}); a file names each environment once: \
                 rename all but one in Omni first",
                same.len(),
                shown(&env.name),
                same.join(", ")
            )));
        }
        let mut variables = BTreeMap::new();
        let mut secret_variables = BTreeMap::new();
        for v in env.variables.iter().filter(|v| v.name != MARKER) {
            if v.is_secret {
                secret_variables.insert(v.name.clone(), format!("${{{}}}", env_var_name(&v.name)));
            } else {
                variables.insert(v.name.clone(), v.value.clone().unwrap_or_default());
            }
        }
        environments.push(ExportEnv {
            name: env.name.clone(),
            target_schema: env.target_schema.clone(),
            target_database: env.target_database.clone(),
            target_name: env.target_name.clone(),
            target_role: env.target_role.clone(),
            owner_id: env.owner_id,
            variables,
            secret_variables,
        });
    }
    let file = ExportFile {
        connection,
        managed_by,
        environments,
    };
    let yaml = serde_yaml_ng::to_string(&file)
        .map_err(|e| Failure::Usage(format!("cannot write the file: {e}")))?;
    Ok((yaml, left_out))
}

/// An environment variable name for a secret: letters, digits and `_`, not starting with a
/// digit.
fn env_var_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// Compares the file with what the connection has. An environment the file names that
/// another file or a preview manages, or a name two environments share, is an error naming
/// the ids: nothing is planned over it.
pub fn plan(
    loaded: &Loaded,
    current: &[DbtEnvironment],
    options: &Options,
) -> Result<Plan, Failure> {
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
    let (prune, rotate_secrets) = (options.prune, options.rotate_secrets);
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
        let (changes, notes) = update_changes(want, have, rotate_secrets);
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
        if prune && ours && !have.is_default_environment && targeted(&have.name) {
            plan.delete.push(Step {
                name: have.name.clone(),
                id: Some(have.id),
                changes: Vec::new(),
                notes: Vec::new(),
            });
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

fn create_step(want: &Desired) -> Step {
    let mut changes = vec![Change::TargetSchema {
        from: None,
        to: want.target_schema.clone(),
    }];
    let set = |v: &Option<Option<String>>| v.clone().flatten();
    if let Some(to) = set(&want.target_database) {
        changes.push(Change::TargetDatabase {
            from: None,
            to: Some(to),
        });
    }
    if let Some(to) = set(&want.target_name) {
        changes.push(Change::TargetName {
            from: None,
            to: Some(to),
        });
    }
    if let Some(to) = set(&want.target_role) {
        changes.push(Change::TargetRole {
            from: None,
            to: Some(to),
        });
    }
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

fn update_changes(
    want: &Desired,
    have: &DbtEnvironment,
    rotate_secrets: bool,
) -> (Vec<Change>, Vec<String>) {
    let mut changes = Vec::new();
    let mut notes = Vec::new();
    if have.target_schema != want.target_schema {
        changes.push(Change::TargetSchema {
            from: Some(have.target_schema.clone()),
            to: want.target_schema.clone(),
        });
    }
    // A nullable field the file leaves out is not managed: never cleared.
    if let Some(to) = &want.target_database
        && *to != have.target_database
    {
        changes.push(Change::TargetDatabase {
            from: have.target_database.clone(),
            to: to.clone(),
        });
    }
    if let Some(to) = &want.target_name
        && *to != have.target_name
    {
        changes.push(Change::TargetName {
            from: have.target_name.clone(),
            to: to.clone(),
        });
    }
    if let Some(to) = &want.target_role
        && *to != have.target_role
    {
        changes.push(Change::TargetRole {
            from: have.target_role.clone(),
            to: to.clone(),
        });
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
                    Ok(value) if !value.is_empty() => {
                        out.insert((step.name.clone(), name.clone()), value);
                    }
                    Ok(_) => missing.push(format!(
                        "{}.secretVariables.{name}: the environment variable {var} is empty",
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
    updates: Vec<(String, omni_dbt::UpdateEnvironment)>,
    deletes: Vec<(String, omni_dbt::DeleteEnvironment)>,
}

/// Builds every request of `plan` and runs every check the library makes before sending; any
/// failure refuses the whole apply (exit 2, nothing sent).
pub fn requests(
    client: &omni_dbt::Client,
    connection: Uuid,
    loaded: &Loaded,
    current: &[DbtEnvironment],
    plan: &Plan,
    secrets: &BTreeMap<(String, String), String>,
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
        // A create whose answer is lost is looked up by name and adopted, never repeated.
        let mut c = envs
            .create(&want.name, &want.target_schema)
            .adopting()
            .add_variable(MARKER, loaded.owner.marker());
        for change in &step.changes {
            c = match change {
                Change::TargetSchema { .. } => c,
                Change::TargetDatabase { to, .. } => match to {
                    Some(v) => c.target_database(v),
                    None => c,
                },
                Change::TargetName { to, .. } => match to {
                    Some(v) => c.target_name(v),
                    None => c,
                },
                Change::TargetRole { to, .. } => match to {
                    Some(v) => c.target_role(v),
                    None => c,
                },
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
        if let Err(e) = c.validate() {
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
        for change in &step.changes {
            u = match change {
                Change::TargetSchema { to, .. } => u.target_schema(to),
                Change::TargetDatabase { to, .. } => u.target_database(to.clone()),
                Change::TargetName { to, .. } => u.target_name(to.clone()),
                Change::TargetRole { to, .. } => u.target_role(to.clone()),
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
        if let Err(e) = u.validate() {
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

/// Carries out checked requests: creates, then updates, then deletes, each through the
/// library's bulk runner (bounded concurrency; the client's pacing and retries apply to each
/// request). `done` is told of each step as it ends (its line, and whether it failed).
pub async fn apply(requests: Requests, done: &(dyn Fn(&str, bool) + Sync)) -> Vec<StepFailure> {
    use omni_dbt::Bulk;

    let mut failures = Vec::new();
    let mut record = |verb: &str, name: &str, result: Result<(), omni_dbt::Error>| match result {
        Ok(()) => done(&format!("{verb}d {}", shown(name)), false),
        Err(e) => {
            let line = format!("{verb} {}: {e}", shown(name));
            done(&line, true);
            failures.push((line, crate::failure::Failure::Api(e).exit_code()));
        }
    };
    let (names, creates): (Vec<_>, Vec<_>) = requests.creates.into_iter().unzip();
    for (name, result) in names
        .iter()
        .zip(Bulk::new(creates).concurrency(4).run().await)
    {
        record("create", name, result.map(drop));
    }
    let (names, updates): (Vec<_>, Vec<_>) = requests.updates.into_iter().unzip();
    for (name, result) in names
        .iter()
        .zip(Bulk::new(updates).concurrency(4).run().await)
    {
        record("update", name, result.map(drop));
    }
    let (names, deletes): (Vec<_>, Vec<_>) = requests.deletes.into_iter().unzip();
    for (name, result) in names
        .iter()
        .zip(Bulk::new(deletes).concurrency(4).run().await)
    {
        record("delete", name, result.map(drop));
    }
    failures
}

#[cfg(test)]
mod tests;
