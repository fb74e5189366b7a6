//! The environments file: read, checked key by key against the spec's property table, with
//! every error naming the key (`environments[1].targetRole`) and the rule.
//!
//! The keys of an environment are the spec's properties ([`managed`]), plus the few with
//! behaviour of their own, written here once: `name` (what an environment is found by),
//! `ownerId` / `owner` (ownership, by id or by email), `variables` and `secretVariables`
//! (by name; secrets as `${ENV_VAR}` references).

use std::{collections::BTreeMap, path::Path};

use omni_dbt::{Uuid, fields::Property};
use serde_json::{Map, Value};

use crate::{
    failure::Failure,
    input,
    owned::{MARKER, Owner},
};

/// The keys of an environment with behaviour of their own; every other key is a row of the
/// spec's table.
const OWN_KEYS: &[&str] = &["name", "ownerId", "owner", "variables", "secretVariables"];

/// The keys with behaviour of their own (the flags' names avoid them too).
pub fn own_keys() -> &'static [&'static str] {
    OWN_KEYS
}

/// The spec's properties of an environment the file manages generically: each row of the
/// table that can be read back and set, except those with behaviour of their own.
pub fn managed() -> impl Iterator<Item = &'static Property> {
    omni_dbt::fields::dbt_environment()
        .iter()
        .filter(|p| p.in_answer && (p.in_create || p.in_update) && !OWN_KEYS.contains(&p.json))
}

/// The file: a connection, the id its environments are marked with, and the environments.
#[derive(Debug)]
pub struct File {
    /// The connection (else `--connection` or `OMNI_CONNECTION_ID`).
    pub connection: Option<Uuid>,
    /// The id this file's environments are marked with (default: the file's name).
    pub managed_by: Option<String>,
    pub environments: Vec<Desired>,
}

/// One desired environment. A property left out is not managed; `null` clears a nullable one.
#[derive(Clone, Debug, PartialEq)]
pub struct Desired {
    pub name: String,
    /// The spec's properties the file gives, in the table's order.
    pub properties: Vec<(&'static Property, Value)>,
    /// `Some(None)`: shared (`ownerId: null`); `None`: not managed.
    pub owner_id: Option<Option<Uuid>>,
    /// The owning user by email (or id), resolved into `owner_id` by `resolve_owners`.
    pub owner: Option<String>,
    /// Plain variables, by name.
    pub variables: BTreeMap<String, String>,
    /// Secret variables, by name; each value is a `${ENV_VAR}` reference.
    pub secret_variables: BTreeMap<String, String>,
}

impl Desired {
    /// An environment with only a name; the rest is added by the caller.
    pub fn named(name: impl Into<String>) -> Self {
        Desired {
            name: name.into(),
            properties: Vec::new(),
            owner_id: None,
            owner: None,
            variables: BTreeMap::new(),
            secret_variables: BTreeMap::new(),
        }
    }

    /// Sets the property the spec names `json` (in the table's order).
    #[cfg(test)]
    pub fn with(mut self, json: &str, value: Value) -> Self {
        let property = managed()
            .find(|p| p.json == json)
            .unwrap_or_else(|| panic!("{json} is not a managed property"));
        self.properties.retain(|(p, _)| p.json != json);
        self.properties.push((property, value));
        let order = |p: &Property| managed().position(|m| m.json == p.json);
        self.properties.sort_by_key(|(p, _)| order(p));
        self
    }

    /// The value the file gives for the property the spec names `json`.
    #[cfg(test)]
    pub fn get(&self, json: &str) -> Option<&Value> {
        self.properties
            .iter()
            .find(|(p, _)| p.json == json)
            .map(|(_, v)| v)
    }
}

/// A loaded file: its environments, and the owner its environments are marked with.
#[derive(Debug)]
pub struct Loaded {
    pub file: File,
    pub owner: Owner,
}

/// Reads and checks the file. Secret references are checked for shape here and read from the
/// environment only when a value must be sent (`secrets`), so that a plan runs without them.
pub fn load(path: &Path) -> Result<Loaded, Failure> {
    let shown_path = path.display().to_string();
    let (text, value) = input::yaml_file(path)?;
    // An empty file is an empty mapping: with --prune it would delete everything this file
    // manages, so it must at least parse as the file it claims to be.
    if value.is_null() {
        return Err(Failure::Usage(format!(
            "-f {shown_path}: the file is empty; write `environments: []` to manage none"
        )));
    }
    let file = parse(&value)
        .map_err(|e| Failure::Usage(super::locate::located(&shown_path, &text, &value, &e)))?;
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

/// The file from its YAML, every rule checked; the error names the key and the rule.
pub fn parse(value: &Value) -> Result<File, String> {
    let top = object(value, "the file")?;
    known_keys(
        top,
        "the file",
        &["connection", "managedBy", "environments"],
    )?;
    let connection = match top.get("connection") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            Some(Uuid::parse_str(s.trim()).map_err(|_| "connection: must be a UUID".to_owned())?)
        }
        Some(_) => return Err("connection: must be a UUID".to_owned()),
    };
    let managed_by = match top.get("managedBy") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if !id.is_empty() && !id.chars().any(char::is_control) => {
            Some(id.clone())
        }
        Some(_) => {
            return Err("managedBy: must be a non-empty id without control characters".into());
        }
    };
    let listed = match top.get("environments") {
        None | Some(Value::Null) => &[][..],
        Some(Value::Array(items)) => items.as_slice(),
        Some(_) => return Err("environments: must be a list".to_owned()),
    };
    let mut environments: Vec<Desired> = Vec::with_capacity(listed.len());
    for (i, item) in listed.iter().enumerate() {
        let at = format!("environments[{i}]");
        let env = environment(item, &at)?;
        if environments.iter().any(|e| e.name == env.name) {
            return Err(format!(
                "{at}.name: \"{}\" names an environment given earlier too",
                env.name
            ));
        }
        environments.push(env);
    }
    Ok(File {
        connection,
        managed_by,
        environments,
    })
}

fn object<'a>(value: &'a Value, at: &str) -> Result<&'a Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("{at}: must be a mapping of keys to values"))
}

fn known_keys(map: &Map<String, Value>, at: &str, known: &[&str]) -> Result<(), String> {
    match map.keys().find(|k| !known.contains(&k.as_str())) {
        Some(key) => Err(format!(
            "{at}: unknown key `{key}`; the keys are {}",
            known.join(", ")
        )),
        None => Ok(()),
    }
}

fn environment(item: &Value, at: &str) -> Result<Desired, String> {
    let map = object(item, at)?;
    let keys: Vec<&str> = OWN_KEYS
        .iter()
        .copied()
        .chain(managed().map(|p| p.json))
        .collect();
    known_keys(map, at, &keys)?;
    let name = match map.get("name") {
        Some(Value::String(name)) if !name.trim().is_empty() => name.clone(),
        Some(Value::String(_)) => return Err(format!("{at}.name: must not be empty")),
        Some(_) => return Err(format!("{at}.name: must be a string")),
        None => return Err(format!("{at}: name is required")),
    };
    let mut env = Desired::named(name);
    for property in managed() {
        let key = format!("{at}.{}", property.json);
        let Some(value) = map.get(property.json) else {
            if property.required {
                return Err(format!("{at}: {} is required", property.json));
            }
            continue;
        };
        property
            .check(value)
            .map_err(|rule| format!("{key}: {rule}"))?;
        if let Some(text) = value.as_str()
            && text.trim().is_empty()
        {
            let hint = if property.nullable {
                " (write null to clear it)"
            } else {
                ""
            };
            return Err(format!("{key}: must not be empty{hint}"));
        }
        env.properties.push((property, value.clone()));
    }
    env.owner_id = match map.get("ownerId") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => match Uuid::parse_str(s.trim()) {
            Ok(id) if id.is_nil() => return Err(format!("{at}.ownerId: must not be the nil UUID")),
            Ok(id) => Some(Some(id)),
            Err(_) => return Err(format!("{at}.ownerId: must be a UUID or null")),
        },
        Some(_) => return Err(format!("{at}.ownerId: must be a UUID or null")),
    };
    match map.get("owner") {
        None => {}
        Some(Value::String(owner)) => {
            if env.owner_id.is_some() {
                return Err(format!(
                    "{at}.owner: give the owner once: owner (an email) or ownerId (an id), not both"
                ));
            }
            crate::cli::parse_owner(owner).map_err(|rule| format!("{at}.owner: {rule}"))?;
            env.owner = Some(owner.clone());
        }
        Some(_) => return Err(format!("{at}.owner: must be an email or a user id")),
    }
    env.variables = variables(map.get("variables"), &format!("{at}.variables"))?;
    env.secret_variables = variables(map.get("secretVariables"), &format!("{at}.secretVariables"))?;
    for (name, value) in &env.variables {
        if value.contains("${") {
            return Err(format!(
                "{at}.variables.{name}: is sent as written, and ${{…}} is not expanded there; a \
                 value from the environment belongs under secretVariables"
            ));
        }
        if env.secret_variables.contains_key(name) {
            return Err(format!(
                "{at}.variables.{name}: is also under secretVariables; a variable is one or the other"
            ));
        }
    }
    for (name, reference) in &env.secret_variables {
        let Some(var) = reference_name(reference) else {
            return Err(format!(
                "{at}.secretVariables.{name}: must be a ${{ENV_VAR}} reference, so that no secret \
                 is written in the file"
            ));
        };
        if let Some(why) = crate::secrets::refused(var) {
            return Err(format!("{at}.secretVariables.{name}: ${{{var}}} {why}"));
        }
    }
    Ok(env)
}

/// A mapping of variable names to text values. A number or a boolean is refused rather than
/// turned into text: YAML would have changed it first (`0x1F` is 31, `1e3` is 1000.0).
fn variables(value: Option<&Value>, at: &str) -> Result<BTreeMap<String, String>, String> {
    let map = match value {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(v) => object(v, at)?,
    };
    let mut out = BTreeMap::new();
    for (name, value) in map {
        if name.trim().is_empty() {
            return Err(format!("{at}: a variable name must not be empty"));
        }
        if name == MARKER {
            return Err(format!(
                "{at}.{name}: is the variable omni-dbt records ownership in; it cannot be set"
            ));
        }
        let Value::String(text) = value else {
            return Err(format!(
                "{at}.{name}: must be text; quote it (\"8\", \"true\") to send it as written"
            ));
        };
        out.insert(name.clone(), text.clone());
    }
    Ok(out)
}

/// `ENV_VAR` of `${ENV_VAR}`.
pub fn reference_name(reference: &str) -> Option<&str> {
    reference
        .strip_prefix("${")?
        .strip_suffix('}')
        .filter(|v| !v.is_empty() && !v.contains(['$', '{', '}']))
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
