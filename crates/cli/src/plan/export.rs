//! `env export`: the environments file of what the connection has, for adoption.

use std::collections::BTreeMap;

use omni_dbt::{DbtEnvironment, Uuid};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;

use super::file::managed;
use crate::{
    failure::Failure,
    output::shown,
    owned::{MARKER, Owner},
};

/// Keys and values in the order given (the table's), serialised as a mapping.
struct Ordered(Vec<(String, Value)>);

impl Serialize for Ordered {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// The environments file of what the connection has: every property of the spec's table as it
/// is (a nullable one written as its value or `null`, so the file manages it), the owner, plain
/// variables by value, secret ones as `${NAME}` references. The ownership marker is left out,
/// and so is an environment another file or a preview manages. Returns the YAML and what was
/// left out.
pub fn export(
    connection: Uuid,
    current: &[DbtEnvironment],
    owner: &Owner,
    managed_by: Option<&str>,
    targets: &[String],
) -> Result<(String, Vec<String>), Failure> {
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
        let answer = serde_json::to_value(env)
            .map_err(|e| Failure::Usage(format!("cannot write the file: {e}")))?;
        let mut entry = vec![("name".to_owned(), Value::String(env.name.clone()))];
        for property in managed() {
            let value = answer.get(property.json).cloned().unwrap_or(Value::Null);
            // A property Omni's answer leaves out and that cannot be null is not written: the
            // file would manage it with a value nobody chose.
            if value.is_null() && !property.nullable {
                continue;
            }
            entry.push((property.json.to_owned(), value));
        }
        entry.push(("ownerId".to_owned(), serde_json::json!(env.owner_id)));
        let mut variables = BTreeMap::new();
        let mut secret_variables = BTreeMap::new();
        for v in env.variables.iter().filter(|v| v.name != MARKER) {
            if v.is_secret {
                secret_variables.insert(v.name.clone(), format!("${{{}}}", env_var_name(&v.name)));
            } else {
                variables.insert(v.name.clone(), v.value.clone().unwrap_or_default());
            }
        }
        if !variables.is_empty() {
            entry.push(("variables".to_owned(), serde_json::json!(variables)));
        }
        if !secret_variables.is_empty() {
            entry.push((
                "secretVariables".to_owned(),
                serde_json::json!(secret_variables),
            ));
        }
        environments.push(Ordered(entry));
    }
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct ExportFile<'a> {
        connection: Uuid,
        #[serde(skip_serializing_if = "Option::is_none")]
        managed_by: Option<&'a str>,
        environments: Vec<Ordered>,
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
