//! An environment's properties the spec declares beyond those the fake keeps by hand: read
//! from the vendored spec (the conformance crate's copy, which `spec pull` updates), stored as
//! a request gives them (bodies are checked against the spec first), and returned in every answer
//! (their default until set). So a property Omni adds to an environment round-trips through
//! the fake with no hand edit; Omni's rules beyond the spec stay hand-written in `state.rs`.

use std::{collections::BTreeMap, sync::LazyLock};

use serde_json::{Map, Value};

/// The properties `state.rs` keeps by hand (each with a rule of Omni's beyond the spec, or a
/// type of its own).
const BY_HAND: &[&str] = &[
    "id",
    "name",
    "isDefaultEnvironment",
    "ownerId",
    "targetDatabase",
    "targetName",
    "targetRole",
    "targetSchema",
    "variables",
    // Forced to false for the default environment (Omni's docs).
    "isDeferralEnabled",
];

/// One declared property: its name and its value until set.
struct Declared {
    name: String,
    default: Value,
}

static TABLE: LazyLock<Vec<Declared>> = LazyLock::new(|| {
    let doc: Value =
        serde_json::from_str(omni_dbt_conformance::BUNDLED_SPEC).unwrap_or(Value::Null);
    declared(&doc)
});

fn declared(doc: &Value) -> Vec<Declared> {
    let props = |name: &str| {
        doc.pointer(&format!("/components/schemas/{name}/properties"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let answer = props("DbtEnvironmentItem");
    let (create, update) = (
        props("DbtEnvironmentCreateBody"),
        props("DbtEnvironmentUpdateBody"),
    );
    answer
        .iter()
        .filter(|(name, _)| !BY_HAND.contains(&name.as_str()))
        .filter_map(|(name, in_answer)| {
            let schema = create.get(name).or_else(|| update.get(name))?;
            let default = schema
                .get("default")
                .cloned()
                .unwrap_or_else(|| empty_value(in_answer));
            Some(Declared {
                name: name.clone(),
                default,
            })
        })
        .collect()
}

/// What an answer holds for a property never set: `null` when it may be null, `false` for a
/// boolean, an empty list, else `null`.
fn empty_value(schema: &Value) -> Value {
    if schema.get("nullable").and_then(Value::as_bool) == Some(true) {
        return Value::Null;
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("boolean") => Value::Bool(false),
        Some("array") => Value::Array(Vec::new()),
        _ => Value::Null,
    }
}

/// The declared properties `body` sets (the body was checked against the spec's schema
/// already, with Omni's wording).
pub(super) fn from_body(body: &Map<String, Value>) -> BTreeMap<String, Value> {
    TABLE
        .iter()
        .filter_map(|p| Some((p.name.clone(), body.get(&p.name)?.clone())))
        .collect()
}

/// Writes every declared property into `answer`: the stored value, else its default.
pub(super) fn write(stored: &BTreeMap<String, Value>, answer: &mut Value) {
    let Some(map) = answer.as_object_mut() else {
        return;
    };
    for property in TABLE.iter() {
        let value = stored
            .get(&property.name)
            .cloned()
            .unwrap_or_else(|| property.default.clone());
        map.insert(property.name.clone(), value);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A spec with a property Omni might add: a nullable integer with a minimum.
    fn doc() -> Value {
        json!({"components": {"schemas": {
            "DbtEnvironmentItem": {"properties": {
                "name": {"type": "string"},
                "dbtThreads": {"type": "integer", "nullable": true},
                "readOnlyThing": {"type": "string"}
            }},
            "DbtEnvironmentCreateBody": {"properties": {
                "dbtThreads": {"type": "integer", "nullable": true, "minimum": 1}
            }},
            "DbtEnvironmentUpdateBody": {"properties": {}}
        }}})
    }

    #[test]
    fn a_property_in_an_answer_and_a_body_is_declared_with_its_default() {
        let declared = declared(&doc());
        assert_eq!(declared.len(), 1, "only what a body can set");
        assert_eq!(declared[0].name, "dbtThreads");
        assert_eq!(declared[0].default, Value::Null);
    }

    #[test]
    fn empty_values_follow_the_answer_schema() {
        assert_eq!(empty_value(&json!({"type": "boolean"})), json!(false));
        assert_eq!(empty_value(&json!({"type": "array"})), json!([]));
        assert_eq!(
            empty_value(&json!({"type": "boolean", "nullable": true})),
            Value::Null
        );
        assert_eq!(empty_value(&json!({"type": "integer"})), Value::Null);
    }
}
