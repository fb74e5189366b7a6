//! The environments file's JSON Schema, its reference and its example with every key, made from
//! the spec's environment table ([`crate::derive::rows`]) and the few keys with behaviour of
//! their own (written here once, in the words of the CLI that reads them). `cargo xtask spec
//! pull` writes them into `docs/`; `cargo xtask check` fails when the checked-in copies differ.

use serde_json::{Map, Value, json};

use crate::derive::{Row, TABLES, rows};

/// The keys with behaviour of their own (the CLI's `plan::file`).
const OWN_KEYS: &[&str] = &["name", "ownerId", "owner", "variables", "secretVariables"];

/// What makes one file from the vendored spec.
pub type Maker = fn(&Value) -> Result<String, String>;

/// The file names in `docs/`, with what makes each.
pub const FILES: &[(&str, Maker)] = &[
    ("environments.schema.json", schema),
    ("environments-file.md", reference),
    ("environments.example.yaml", example),
];

/// The rows the file manages generically: settable, readable back, not a key of its own.
fn managed(doc: &Value) -> Result<Vec<Row>, String> {
    let table = TABLES
        .iter()
        .find(|t| t.constant == "DBT_ENVIRONMENT_PROPERTIES")
        .ok_or("internal: no environment table")?;
    Ok(rows(doc, table)?
        .into_iter()
        .filter(|r| r.in_answer && (r.in_create || r.in_update))
        .filter(|r| !OWN_KEYS.contains(&r.json.as_str()))
        .collect())
}

/// What the file says of a property left out or `null`.
fn managed_note(row: &Row) -> &'static str {
    if row.required {
        "Required."
    } else if row.nullable {
        "Left out: not managed (never changed, never cleared); null: cleared."
    } else {
        "Left out: not managed."
    }
}

fn sentence(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() || text.ends_with('.') {
        text.to_owned()
    } else {
        format!("{text}.")
    }
}

/// The JSON Schema type(s) of a row.
fn json_type(row: &Row) -> Value {
    let base = match row.kind {
        "String" | "Uuid" => "string",
        "Boolean" => "boolean",
        "Integer" => "integer",
        "Number" => "number",
        "List" => "array",
        _ => "object",
    };
    if row.nullable {
        json!([base, "null"])
    } else {
        json!(base)
    }
}

/// A value the row accepts, for the example: the spec's own example, else one made by kind.
fn example_value(row: &Row) -> Value {
    if let Some(example) = &row.example {
        return example.clone();
    }
    if let Some(first) = row.values.first() {
        return json!(first);
    }
    match row.kind {
        "Boolean" => json!(true),
        "Integer" => json!(row.minimum.map_or(1, |m| m.ceil() as i64)),
        "Number" => json!(row.minimum.unwrap_or(1.0)),
        "Uuid" => json!("5b2f8e0c-2a4e-4c47-9a55-0f4a8d6e1b21"),
        _ => json!(format!("{}_example", row.rust)),
    }
}

fn property_schema(row: &Row) -> Value {
    let mut p = Map::new();
    p.insert(
        "description".into(),
        json!(format!(
            "{} {}",
            sentence(&row.description),
            managed_note(row)
        )),
    );
    p.insert("type".into(), json_type(row));
    if matches!(row.kind, "String" | "Uuid") {
        // The CLI refuses a blank string (null clears a nullable one).
        p.insert(
            "minLength".into(),
            json!(row.min_length.unwrap_or(1).max(1)),
        );
        p.insert(
            "pattern".into(),
            json!(row.pattern.clone().unwrap_or_else(|| "\\S".to_owned())),
        );
    }
    if let Some(max) = row.max_length {
        p.insert("maxLength".into(), json!(max));
    }
    if let Some(min) = row.minimum {
        p.insert("minimum".into(), json!(min));
    }
    if let Some(max) = row.maximum {
        p.insert("maximum".into(), json!(max));
    }
    if !row.values.is_empty() {
        let mut values: Vec<Value> = row.values.iter().map(|v| json!(v)).collect();
        if row.nullable {
            values.push(Value::Null);
        }
        p.insert("enum".into(), Value::Array(values));
    }
    if row.kind == "Uuid" {
        p.insert("format".into(), json!("uuid"));
    }
    p.insert("examples".into(), json!([example_value(row)]));
    Value::Object(p)
}

/// The JSON Schema of the environments file.
pub fn schema(doc: &Value) -> Result<String, String> {
    let managed = managed(doc)?;
    let mut properties = Map::new();
    properties.insert(
        "name".into(),
        json!({
            "description": "The environment's name in Omni; how the file finds it.",
            "type": "string",
            "minLength": 1,
            "pattern": "\\S",
            "examples": ["staging"]
        }),
    );
    for row in &managed {
        properties.insert(row.json.clone(), property_schema(row));
    }
    let own = json!({
        "ownerId": {
            "description": "The owning user (personal environment), null for a shared one (Organization API key only). Left out: not managed.",
            "type": ["string", "null"],
            "format": "uuid",
            "not": { "const": "00000000-0000-0000-0000-000000000000" },
            "examples": ["0d6c1f7e-8b7a-4f7e-9d0e-3c8e2a1b4f55"]
        },
        "owner": {
            "description": "The owning user by email (or id), looked up through Omni's SCIM API (Organization API key only); the same as ownerId with that user's id. Not with ownerId.",
            "type": "string",
            "minLength": 3,
            "pattern": "^\\S+@\\S+\\.\\S+$|^[0-9a-fA-F-]{36}$",
            "examples": ["ada@example.com"]
        },
        "variables": {
            "description": "Plain variables by name, sent as written (no ${...} expansion).",
            "type": "object",
            "propertyNames": { "minLength": 1, "not": { "const": "OMNI_DBT_MANAGED_BY" } },
            "additionalProperties": { "type": "string", "not": { "pattern": "\\$\\{" } },
            "examples": [{ "DBT_TARGET": "staging" }]
        },
        "secretVariables": {
            "description": "Secret variables by name, each a ${ENV_VAR} reference read when the value is sent.",
            "type": "object",
            "propertyNames": { "minLength": 1, "not": { "const": "OMNI_DBT_MANAGED_BY" } },
            "additionalProperties": {
                "type": "string",
                "pattern": "^\\$\\{[^${}]+\\}$",
                "not": { "pattern": "^\\$\\{(OMNI_API_TOKEN|OMNI_BASE_URL|OMNI_CONFIG_PATH|OMNI_RATE_LIMIT_STORE|GITHUB_TOKEN|ACTIONS_[^}]*|RUNNER_[^}]*)\\}$" }
            },
            "examples": [{ "DBT_PASSWORD": "${STAGING_DBT_PASSWORD}" }]
        }
    });
    if let Value::Object(own) = own {
        properties.extend(own);
    }
    let mut required = vec![json!("name")];
    required.extend(managed.iter().filter(|r| r.required).map(|r| json!(r.json)));
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/omni-dbt/omni-dbt/docs/environments.schema.json",
        "title": "omni-dbt environments file",
        "description": "The dbt environments a connection should have (`omni-dbt env plan -f` / `env apply -f`). Reference: docs/environments-file.md. Generated from Omni's spec by `cargo xtask spec pull`.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "connection": {
                "description": "The connection (else --connection or OMNI_CONNECTION_ID; both must agree when both are given).",
                "type": "string",
                "format": "uuid",
                "examples": ["5b2f8e0c-2a4e-4c47-9a55-0f4a8d6e1b21"]
            },
            "managedBy": {
                "description": "The id this file's environments are marked with (OMNI_DBT_MANAGED_BY=file:<id>); default: the file's name. --prune deletes only environments with this id.",
                "type": "string",
                "minLength": 1,
                "pattern": "^[^\\u0000-\\u001f\\u007f]+$",
                "examples": ["analytics-envs"]
            },
            "environments": {
                "description": "The environments, each named once.",
                "type": "array",
                "items": { "$ref": "#/$defs/environment" },
                "default": []
            }
        },
        "$defs": {
            "environment": {
                "type": "object",
                "additionalProperties": false,
                "required": required,
                "not": { "required": ["owner", "ownerId"] },
                "properties": properties
            }
        }
    });
    serde_json::to_string_pretty(&schema)
        .map(|s| s + "\n")
        .map_err(|e| e.to_string())
}

/// A Markdown table cell: no line breaks, no `|`.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn type_words(row: &Row) -> String {
    let base = match row.kind {
        "String" => "string",
        "Uuid" => "UUID",
        "Boolean" => "boolean",
        "Integer" => "integer",
        "Number" => "number",
        "List" => "list",
        _ => "value",
    };
    let mut words = if row.values.is_empty() {
        base.to_owned()
    } else {
        row.values
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if row.nullable {
        words.push_str(" or `null`");
    }
    words
}

fn rules_words(row: &Row) -> String {
    let mut rules = Vec::new();
    if let Some(n) = row.min_length.filter(|n| *n > 1) {
        rules.push(format!("at least {n} characters"));
    }
    if let Some(n) = row.max_length {
        rules.push(format!("at most {n} characters"));
    }
    if let Some(p) = &row.pattern {
        rules.push(format!("matches `{p}`"));
    }
    if let Some(n) = row.minimum {
        rules.push(format!("at least {n}"));
    }
    if let Some(n) = row.maximum {
        rules.push(format!("at most {n}"));
    }
    if rules.is_empty() {
        String::new()
    } else {
        format!(" ({})", rules.join("; "))
    }
}

/// The file's reference (`docs/environments-file.md`).
pub fn reference(doc: &Value) -> Result<String, String> {
    let managed = managed(doc)?;
    let mut rows = String::new();
    for row in &managed {
        rows.push_str(&format!(
            "| `{}` | {} | {} | {}{} {} Flag: `--{}`. |\n",
            row.json,
            type_words(row),
            if row.required { "yes" } else { "no" },
            cell(&sentence(&row.description)),
            rules_words(row),
            managed_note(row),
            row.kebab
        ));
    }
    Ok(format!(
        "{HEAD}{rows}{OWN_ROWS}{TAIL}",
        HEAD = REFERENCE_HEAD,
        OWN_ROWS = REFERENCE_OWN_ROWS,
        TAIL = REFERENCE_TAIL
    ))
}

/// A YAML scalar for an example value (JSON is YAML; strings quoted only when they must be).
fn yaml_scalar(value: &Value) -> String {
    match value {
        Value::String(s)
            if !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
                && !matches!(s.as_str(), "true" | "false" | "null" | "yes" | "no")
                && s.parse::<f64>().is_err() =>
        {
            s.clone()
        }
        other => other.to_string(),
    }
}

/// An environments file with every key (`docs/environments.example.yaml`).
pub fn example(doc: &Value) -> Result<String, String> {
    let managed = managed(doc)?;
    let mut staging = String::from("  - name: staging\n");
    let mut nightly = String::from("  - name: nightly\n");
    for row in &managed {
        let value = if row.json == "targetSchema" {
            json!("dbt_staging")
        } else {
            example_value(row)
        };
        staging.push_str(&format!("    {}: {}\n", row.json, yaml_scalar(&value)));
        if row.required {
            let value = if row.json == "targetSchema" {
                json!("dbt_nightly")
            } else {
                example_value(row)
            };
            nightly.push_str(&format!("    {}: {}\n", row.json, yaml_scalar(&value)));
        } else if row.nullable && nightly.matches('\n').count() < 3 {
            nightly.push_str(&format!("    {}: null\n", row.json));
        }
    }
    staging.push_str(
        "    ownerId: null\n    variables:\n      DBT_TARGET: staging\n    secretVariables:\n      DBT_PASSWORD: ${STAGING_DBT_PASSWORD}\n",
    );
    nightly.push_str("    owner: ada@example.com\n");
    Ok(format!(
        "# An environments file with every key (docs/environments-file.md; validated in CI against\n\
         # docs/environments.schema.json, and loaded by the CLI's tests). Generated from Omni's spec by\n\
         # `cargo xtask spec pull`.\n\
         connection: 5b2f8e0c-2a4e-4c47-9a55-0f4a8d6e1b21\n\
         managedBy: analytics-envs\n\
         environments:\n{staging}{nightly}"
    ))
}

const REFERENCE_HEAD: &str = "# The environments file

<!-- Generated from Omni's spec by `cargo xtask spec pull` (crates/codegen/src/environments_file.rs);
`cargo xtask check` fails when this copy differs. Edit the generator, not this file. -->

What `omni-dbt env plan -f FILE` and `env apply -f FILE` read: YAML (JSON is YAML too), at most
1 MiB, 100,000 nodes (aliases expanded) and 32 levels deep; a key given twice in one mapping,
or a key not listed here, is an error naming it. A JSON Schema of it, for editors and linters:
[`environments.schema.json`](environments.schema.json) (e.g. `# yaml-language-server:
$schema=…` at the top of the file). Every key, in an example:
[`environments.example.yaml`](environments.example.yaml). `omni-dbt env export` writes one from
what a connection has.

## Top level

| key | type | default | meaning |
|---|---|---|---|
| `connection` | UUID | `--connection` / `OMNI_CONNECTION_ID` | The connection. When the flag is given too, both must agree. |
| `managedBy` | string | the file's name (`environments.yaml`) | The id this file's environments are marked with: every environment the file creates carries the variable `OMNI_DBT_MANAGED_BY=file:<id>`. `--prune` deletes only environments with this id, and runs only when the file gives it (two files of one name never prune each other's): choose one no other file on the connection has. |
| `environments` | list | `[]` | The environments, each named once. An empty file is an error (write `environments: []` to manage none). |

## An environment

Every property of Omni's spec that an environment's create or update sets is a key (below,
between `name` and `ownerId`), checked by the spec's rules, shown in the plan, written by
`env export`, and a flag of `env create` / `env update`.

| key | type | required | meaning |
|---|---|---|---|
| `name` | string | yes | The environment's name in Omni, and how the file finds it. Two environments with this name on the connection are an error naming both ids. An environment of this name managed by another file or by a preview is an error: it is never taken over. |
";

const REFERENCE_OWN_ROWS: &str = "| `ownerId` | UUID or `null` | no | The owning user (a personal environment); `null`: shared. Organization API key only. Not the nil UUID. Left out: not managed. |
| `owner` | email (or UUID) | no | The owning user by email: looked up through Omni's SCIM API (`userName eq \"…\"`, which takes Organization API keys only) before anything is planned, then the same as `ownerId` with that user's id. An email no user has is an error naming the key (exit 4). Not together with `ownerId`. |
| `variables` | map of name → string | no | Plain variables, sent as written: `${…}` here is an error (it would be sent literally; a value from the environment belongs under `secretVariables`). A variable of that name that is secret in Omni is made plain (a change). |
| `secretVariables` | map of name → `${ENV_VAR}` | no | Secret variables. `env export` writes each as `${OMNI_DBT_SECRET_<ENVIRONMENT>__<NAME>}` (upper-cased, other characters `_`), so that a name chosen in Omni cannot select an unrelated variable; the CLI's own `OMNI_API_TOKEN`, `OMNI_BASE_URL`, `OMNI_CONFIG_PATH`, `OMNI_RATE_LIMIT_STORE` and the CI's `GITHUB_TOKEN`, `ACTIONS_*`, `RUNNER_*` are refused. The value is read from the environment variable only when it is sent (a create, a new secret, `--rotate-secrets`, a plain variable made secret); an unset or empty one then fails the apply before anything is sent. An existing secret is never compared (Omni never returns its value). |
";

const REFERENCE_TAIL: &str = "
A name in `variables` and `secretVariables` at once is an error; so is an empty variable name,
and `OMNI_DBT_MANAGED_BY` (the CLI's own). A variable Omni has and the file does not name is
reported and kept: Omni's API has no documented way to remove a variable.

## What the plan does with it

- `+ create` for a name the connection lacks (marked with this file's id);
- `~ update`, field by field, for what differs in what the file manages;
- `- delete` only with `--prune` (which needs `managedBy`, and `--allow-empty` for a file that
  names no environment), only for environments marked with this file's id that it no longer
  names, never the connection's default;
- `kept …` for every other environment on the connection, with who manages it.
- `--target NAME` (repeatable) limits all of it to those names.
";

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Value {
        serde_json::from_str(include_str!("../../../openapi/omni-dbt.json")).unwrap()
    }

    #[test]
    fn the_checked_in_docs_are_what_the_vendored_spec_gives() {
        let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
        for (name, make) in FILES {
            let made = make(&doc()).unwrap();
            let checked_in = std::fs::read_to_string(docs.join(name)).unwrap();
            assert!(
                made == checked_in,
                "docs/{name} differs from what the vendored spec gives: run `cargo xtask spec pull`"
            );
        }
    }

    #[test]
    fn a_property_omni_adds_reaches_the_schema_the_reference_and_the_example() {
        let mut doc = doc();
        let threads = json!({"type": "integer", "nullable": true, "minimum": 1,
                             "description": "Threads dbt runs with"});
        for schema in [
            "DbtEnvironmentItem",
            "DbtEnvironmentCreateBody",
            "DbtEnvironmentUpdateBody",
        ] {
            doc["components"]["schemas"][schema]["properties"]["dbtThreads"] = threads.clone();
        }
        let schema: Value = serde_json::from_str(&schema(&doc).unwrap()).unwrap();
        let property = &schema["$defs"]["environment"]["properties"]["dbtThreads"];
        assert_eq!(property["type"], json!(["integer", "null"]));
        assert_eq!(property["minimum"], json!(1.0));
        let reference = reference(&doc).unwrap();
        assert!(
            reference.contains(
                "| `dbtThreads` | integer or `null` | no | Threads dbt runs with. (at least 1)"
            ),
            "{reference}"
        );
        assert!(reference.contains("Flag: `--dbt-threads`."), "{reference}");
        assert!(example(&doc).unwrap().contains("    dbtThreads: 1\n"));
    }
}
