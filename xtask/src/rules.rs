//! Translation rules that make any selection of Omni's spec generate, each keeping the meaning
//! (or saying exactly what it could not keep). They run on the 3.0 document after translation
//! and before the corrections; every application is reported with its rule and JSON pointer.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// One application of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The rule's name, e.g. `nonconforming-default`.
    pub rule: &'static str,
    /// Where it applied.
    pub pointer: String,
    /// What it did.
    pub detail: String,
}

impl Applied {
    pub fn to_json(&self) -> Value {
        json!({"rule": self.rule, "pointer": self.pointer, "detail": self.detail})
    }
}

/// The rules, by name, with what each does (for reports and the README).
pub const RULES: &[(&str, &str)] = &[
    (
        "per-status-bodies",
        "success (or error) statuses of one operation answer different bodies: each becomes a oneOf of all of them, so one generated type covers every status; error statuses described without a body beside ones with a body share that body",
    ),
    (
        "case-colliding-enum",
        "a string enum whose values differ only in case (Rust cannot name both variants): the enum becomes a plain string, the values listed in its description",
    ),
    (
        "identical-branches",
        "an anyOf/oneOf whose branches are all the same schema is that schema (typify would make a struct of flattened copies, which progenitor's builders cannot take as a parameter)",
    ),
    (
        "enum-branches",
        "an anyOf/oneOf whose branches are each only a string enum (`{type: string, enum: [...]}`) is one string enum of all their values (typify would make a struct of flattened enums, which serde cannot serialize)",
    ),
    (
        "nonconforming-default",
        "a default that does not validate against its own schema: the default is dropped",
    ),
    (
        "nonconforming-example",
        "an example that does not validate against its own schema: the example is dropped (tools that send examples would send it)",
    ),
    (
        "multipart-body",
        "a multipart/form-data request body cannot be typed: beside a JSON body it is dropped; alone, the operation is refused (left out)",
    ),
];

/// Applies every rule to `doc` in place; returns what was done.
pub fn apply(doc: &mut Value) -> Vec<Applied> {
    let mut applied = Vec::new();
    multipart_bodies(doc, &mut applied);
    per_status_bodies(doc, &mut applied);
    let snapshot = doc.clone();
    walk_schemas(doc, "", &mut |schema, pointer| {
        identical_branches(schema, pointer, &mut applied);
        enum_branches(schema, pointer, &mut applied);
        case_colliding_enum(schema, pointer, &mut applied);
        nonconforming_default(&snapshot, schema, pointer, &mut applied);
        nonconforming_example(&snapshot, schema, pointer, &mut applied);
    });
    applied
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Every operation: (path, method) with a mutable reference to it.
fn for_each_operation(doc: &mut Value, mut f: impl FnMut(&str, &str, &mut Value)) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            if METHODS.contains(&method.as_str()) {
                f(path, method, op);
            }
        }
    }
}

fn multipart_bodies(doc: &mut Value, applied: &mut Vec<Applied>) {
    let mut refused = Vec::new();
    for_each_operation(doc, |path, method, op| {
        let pointer = format!("/paths/{}/{method}/requestBody/content", escape(path));
        let Some(content) = op
            .get_mut("requestBody")
            .and_then(|b| b.get_mut("content"))
            .and_then(Value::as_object_mut)
        else {
            return;
        };
        if !content.contains_key("multipart/form-data") {
            return;
        }
        if content.len() > 1 {
            content.remove("multipart/form-data");
            applied.push(Applied {
                rule: "multipart-body",
                pointer: format!("{pointer}/multipart~1form-data"),
                detail: "dropped the multipart/form-data alternative; the other media types stay"
                    .into(),
            });
        } else {
            refused.push((path.to_owned(), method.to_owned()));
            applied.push(Applied {
                rule: "multipart-body",
                pointer,
                detail: format!(
                    "{} {path} refused: its only request body is multipart/form-data, which progenitor cannot type",
                    method.to_uppercase()
                ),
            });
        }
    });
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, method) in refused {
            if let Some(item) = paths.get_mut(&path).and_then(Value::as_object_mut) {
                item.remove(&method);
                if !item.keys().any(|k| METHODS.contains(&k.as_str())) {
                    paths.remove(&path);
                }
            }
        }
    }
}

fn per_status_bodies(doc: &mut Value, applied: &mut Vec<Applied>) {
    for_each_operation(doc, |path, method, op| {
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
            return;
        };
        for success in [true, false] {
            let statuses: Vec<String> = responses
                .keys()
                .filter(|s| s.starts_with('2') == success)
                .cloned()
                .collect();
            // Distinct JSON body schemas, in status order.
            let mut distinct: Vec<Value> = Vec::new();
            for status in &statuses {
                if let Some(schema) = json_schema(&responses[status])
                    && !distinct.contains(schema)
                {
                    distinct.push(schema.clone());
                }
            }
            // Error statuses described without a body beside ones with a body: progenitor
            // needs one error type, so they share it (a body that does not decode is still
            // reported with its status).
            let bodiless: Vec<String> = if success || distinct.is_empty() {
                Vec::new()
            } else {
                statuses
                    .iter()
                    .filter(|s| json_schema(&responses[*s]).is_none())
                    .cloned()
                    .collect()
            };
            if distinct.len() < 2 && bodiless.is_empty() {
                continue;
            }
            let union = if distinct.len() == 1 {
                distinct[0].clone()
            } else {
                json!({"oneOf": distinct})
            };
            for status in &statuses {
                let Some(response) = responses.get_mut(status).and_then(Value::as_object_mut)
                else {
                    continue;
                };
                if bodiless.contains(status) {
                    response.insert(
                        "content".into(),
                        json!({"application/json": {"schema": union.clone()}}),
                    );
                } else if let Some(schema) = response
                    .get_mut("content")
                    .and_then(|c| c.get_mut("application/json"))
                    .and_then(|m| m.get_mut("schema"))
                {
                    *schema = union.clone();
                }
            }
            applied.push(Applied {
                rule: "per-status-bodies",
                pointer: format!("/paths/{}/{method}/responses", escape(path)),
                detail: if bodiless.is_empty() {
                    format!(
                        "{} statuses {} answer {} different bodies; each is now a oneOf of them",
                        if success { "success" } else { "error" },
                        statuses.join(", "),
                        distinct.len()
                    )
                } else {
                    format!(
                        "error statuses {} are described without a body beside {} with one; they share the error body",
                        bodiless.join(", "),
                        statuses.len() - bodiless.len()
                    )
                },
            });
        }
    });
}

fn json_schema(response: &Value) -> Option<&Value> {
    response
        .get("content")?
        .get("application/json")?
        .get("schema")
}

/// Calls `f` on every schema object (components and every `schema` slot), depth first.
fn walk_schemas(node: &mut Value, pointer: &str, f: &mut dyn FnMut(&mut Value, &str)) {
    walk(node, pointer, false, f);
}

fn walk(node: &mut Value, pointer: &str, in_schema: bool, f: &mut dyn FnMut(&mut Value, &str)) {
    if in_schema && node.is_object() {
        f(node, pointer);
    }
    match node {
        Value::Object(map) if in_schema => {
            for (key, value) in map.iter_mut() {
                let here = format!("{pointer}/{}", escape(key));
                match (key.as_str(), value) {
                    ("properties", Value::Object(props)) => {
                        for (name, schema) in props.iter_mut() {
                            walk(schema, &format!("{here}/{}", escape(name)), true, f);
                        }
                    }
                    ("allOf" | "anyOf" | "oneOf", Value::Array(items)) => {
                        for (i, schema) in items.iter_mut().enumerate() {
                            walk(schema, &format!("{here}/{i}"), true, f);
                        }
                    }
                    ("items" | "not" | "additionalProperties", schema) => {
                        walk(schema, &here, true, f)
                    }
                    // Everything else in a schema is data or a keyword's value.
                    _ => {}
                }
            }
        }
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                let here = format!("{pointer}/{}", escape(key));
                if matches!(key.as_str(), "example" | "examples") {
                    continue;
                }
                let is_schema = key == "schema" || pointer == "/components/schemas";
                walk(value, &here, is_schema, f);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk(item, &format!("{pointer}/{i}"), false, f);
            }
        }
        _ => {}
    }
}

fn identical_branches(schema: &mut Value, pointer: &str, applied: &mut Vec<Applied>) {
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(branches)) = map.get(key) else {
            continue;
        };
        let Some(first) = branches.first().cloned() else {
            continue;
        };
        if branches.len() < 2 || branches.iter().any(|b| *b != first) {
            continue;
        }
        let Value::Object(only) = first else {
            continue;
        };
        let count = branches.len();
        map.remove(key);
        for (k, v) in only {
            map.entry(k).or_insert(v);
        }
        applied.push(Applied {
            rule: "identical-branches",
            pointer: format!("{pointer}/{key}"),
            detail: format!("{count} identical branches became the one schema"),
        });
    }
}

/// `anyOf: [{type: string, enum: [A]}, {type: string, enum: [B]}]` means `enum: [A, B]`; for
/// `oneOf` only when no value is in two branches (else a value in both would be refused).
fn enum_branches(schema: &mut Value, pointer: &str, applied: &mut Vec<Applied>) {
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(branches)) = map.get(key) else {
            continue;
        };
        if branches.len() < 2 {
            continue;
        }
        let mut values: Vec<Value> = Vec::new();
        let mut disjoint = true;
        let all_enums = branches.iter().all(|branch| {
            let Some(b) = branch.as_object() else {
                return false;
            };
            let only_enum = b
                .keys()
                .all(|k| matches!(k.as_str(), "type" | "enum" | "description" | "title"));
            let Some(Value::Array(listed)) = b.get("enum") else {
                return false;
            };
            if !only_enum || b.get("type") != Some(&json!("string")) || listed.is_empty() {
                return false;
            }
            for v in listed {
                if !v.is_string() {
                    return false;
                }
                if values.contains(v) {
                    disjoint = false;
                } else {
                    values.push(v.clone());
                }
            }
            true
        });
        if !all_enums || (key == "oneOf" && !disjoint) || map.contains_key("enum") {
            continue;
        }
        if map.get("type").is_some_and(|t| t != "string") {
            continue;
        }
        let count = branches.len();
        map.remove(key);
        map.insert("type".into(), json!("string"));
        let listed: Vec<String> = values.iter().map(Value::to_string).collect();
        map.insert("enum".into(), Value::Array(values));
        applied.push(Applied {
            rule: "enum-branches",
            pointer: format!("{pointer}/{key}"),
            detail: format!(
                "{count} string-enum branches became one enum [{}]",
                listed.join(", ")
            ),
        });
    }
}

fn case_colliding_enum(schema: &mut Value, pointer: &str, applied: &mut Vec<Applied>) {
    let Some(values) = schema.get("enum").and_then(Value::as_array) else {
        return;
    };
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    let mut collide = false;
    for value in values.iter().filter_map(Value::as_str) {
        let key: String = value
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        if seen.insert(key, value).is_some() {
            collide = true;
        }
    }
    if !collide {
        return;
    }
    let listed: Vec<String> = values.iter().map(Value::to_string).collect();
    let listed = listed.join(", ");
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    map.remove("enum");
    let note = format!(
        "One of: {listed} (the enum was widened to a string: its values differ only in case)."
    );
    let description = match map.get("description").and_then(Value::as_str) {
        Some(d) => format!("{d} {note}"),
        None => note,
    };
    map.insert("description".into(), Value::String(description));
    applied.push(Applied {
        rule: "case-colliding-enum",
        pointer: pointer.to_owned(),
        detail: format!("enum [{listed}] widened to a plain string"),
    });
}

fn nonconforming_default(
    doc: &Value,
    schema: &mut Value,
    pointer: &str,
    applied: &mut Vec<Applied>,
) {
    let Some(default) = schema.get("default").cloned() else {
        return;
    };
    let mut bare: Map<String, Value> = schema.as_object().cloned().unwrap_or_default();
    bare.remove("default");
    if let Err(problems) = omni_dbt_conformance::check_value(doc, &Value::Object(bare), &default) {
        if let Some(map) = schema.as_object_mut() {
            map.remove("default");
        }
        applied.push(Applied {
            rule: "nonconforming-default",
            pointer: format!("{pointer}/default"),
            detail: format!("dropped default {default}: {problems}"),
        });
    }
}

fn nonconforming_example(
    doc: &Value,
    schema: &mut Value,
    pointer: &str,
    applied: &mut Vec<Applied>,
) {
    let Some(example) = schema.get("example").cloned() else {
        return;
    };
    let mut bare: Map<String, Value> = schema.as_object().cloned().unwrap_or_default();
    bare.remove("example");
    bare.remove("default");
    if let Err(problems) = omni_dbt_conformance::check_value(doc, &Value::Object(bare), &example) {
        if let Some(map) = schema.as_object_mut() {
            map.remove("example");
        }
        applied.push(Applied {
            rule: "nonconforming-example",
            pointer: format!("{pointer}/example"),
            detail: format!("dropped example {example}: {problems}"),
        });
    }
}
