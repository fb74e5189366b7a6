//! `env export`: the environments file of what the connection has, for adoption.

use std::collections::BTreeMap;

use omni_dbt::{DbtEnvironment, Uuid};
use serde_json::Value;

use super::file::managed;
use crate::{
    failure::Failure,
    output::shown,
    owned::{MARKER, Owner},
};

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
    // The secret references given so far (each names its own environment variable).
    let mut taken = std::collections::HashSet::new();
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
                let var = crate::secrets::export_name(&env.name, &v.name, &mut taken);
                secret_variables.insert(v.name.clone(), format!("${{{var}}}"));
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
        environments.push(entry);
    }
    let mut yaml = format!("connection: {connection}\n");
    if let Some(id) = managed_by {
        yaml.push_str(&format!(
            "managedBy: {}\n",
            scalar(&Value::String(id.to_owned()))
        ));
    }
    if environments.is_empty() {
        yaml.push_str("environments: []\n");
    } else {
        yaml.push_str("environments:\n");
    }
    for entry in &environments {
        for (i, (key, value)) in entry.iter().enumerate() {
            let lead = if i == 0 { "  - " } else { "    " };
            match value {
                Value::Object(map) => {
                    yaml.push_str(&format!("{lead}{}:\n", key_text(key)));
                    for (name, v) in map {
                        yaml.push_str(&format!("      {}: {}\n", key_text(name), scalar(v)));
                    }
                }
                other => yaml.push_str(&format!("{lead}{}: {}\n", key_text(key), scalar(other))),
            }
        }
    }
    Ok((yaml, left_out))
}

/// A YAML key: plain when nothing in it means something to YAML, else double-quoted.
fn key_text(key: &str) -> String {
    scalar(&Value::String(key.to_owned()))
}

/// A YAML scalar on one line: a string plain only when it is letters, digits and `_./-` (and
/// not a word YAML reads as a boolean or null, nor a number), else double-quoted with every
/// control and line-breaking character escaped, so that no value can span lines, start a line
/// of the file (a CI log shows it) or change its type when read back.
fn scalar(value: &Value) -> String {
    let Value::String(text) = value else {
        return value.to_string();
    };
    // A `${ENV_VAR}` reference (what `secretVariables` holds) reads back as written.
    let reference = text
        .strip_prefix("${")
        .and_then(|rest| rest.strip_suffix('}'))
        .is_some_and(|var| {
            !var.is_empty() && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
    let plain = reference
        || text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'))
            && !matches!(
                text.to_ascii_lowercase().as_str(),
                "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "nan" | "inf"
            );
    if plain {
        return text.clone();
    }
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_is_one_line_and_reads_back_as_written() {
        for text in [
            "plain_name-1.x/y",
            "a\n::error::X",
            "\u{1b}]0;T\u{7}",
            "true",
            "No",
            "0x1F",
            "1e3",
            "~",
            "- item",
            "key: value",
            "#comment",
            "\"quoted\" \\ back",
            "${SECRET}",
            "line\u{2028}sep\u{85}nel",
            "",
            " lead",
            "é",
        ] {
            let written = scalar(&Value::String(text.to_owned()));
            assert!(
                !written.contains('\n') && !written.chars().any(char::is_control),
                "{written}"
            );
            assert!(!written.contains('\u{2028}'), "{written}");
            let read: Value = serde_yaml_ng::from_str(&format!("k: {written}\n")).unwrap();
            assert_eq!(
                read["k"],
                Value::String(text.to_owned()),
                "{text:?} as {written}"
            );
        }
        assert_eq!(scalar(&Value::String("dbt_staging".into())), "dbt_staging");
        assert_eq!(scalar(&Value::String("${A_1}".into())), "${A_1}");
        assert_eq!(scalar(&Value::Bool(true)), "true");
        assert_eq!(scalar(&Value::Null), "null");
    }
}
