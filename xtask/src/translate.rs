//! OpenAPI 3.1 to 3.0.3, for the constructs Omni's document uses. Anything else that 3.0 cannot
//! express is an error naming its JSON pointer.

use serde_json::{Map, Value, json};

/// Translates a 3.1 document in place; a 3.0 document is left as it is.
pub fn to_openapi_30(doc: &mut Value) -> Result<(), String> {
    let version = doc
        .get("openapi")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if version.starts_with("3.0.") {
        return Ok(());
    }
    if !version.starts_with("3.1.") {
        return Err(format!(
            "/openapi: version {version:?} is not 3.0.x or 3.1.x"
        ));
    }
    let root = doc.as_object_mut().ok_or("the document is not an object")?;
    root.insert("openapi".into(), json!("3.0.3"));
    root.remove("webhooks");
    root.remove("jsonSchemaDialect");
    if let Some(info) = root.get_mut("info").and_then(Value::as_object_mut) {
        info.remove("summary");
        if let Some(license) = info.get_mut("license").and_then(Value::as_object_mut) {
            license.remove("identifier");
        }
    }
    if let Some(schemas) = root
        .get_mut("components")
        .and_then(|c| c.get_mut("schemas"))
        .and_then(Value::as_object_mut)
    {
        for (name, schema) in schemas.iter_mut() {
            *schema = schema_30(schema, &format!("/components/schemas/{}", escape(name)))?;
        }
    }
    walk_schema_slots(doc, "")
}

/// Finds every `schema` slot outside `components/schemas` (parameters, media types, headers).
fn walk_schema_slots(node: &mut Value, pointer: &str) -> Result<(), String> {
    match node {
        Value::Object(map) => {
            for (key, value) in map.iter_mut() {
                let here = format!("{pointer}/{}", escape(key));
                if here == "/components/schemas" {
                    continue;
                }
                if key == "schema" && value.is_object() {
                    *value = schema_30(value, &here)?;
                } else {
                    walk_schema_slots(value, &here)?;
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk_schema_slots(item, &format!("{pointer}/{i}"))?;
            }
        }
        _ => {}
    }
    Ok(())
}

const UNSUPPORTED: &[&str] = &[
    "if",
    "then",
    "else",
    "dependentSchemas",
    "dependentRequired",
    "prefixItems",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contains",
    "minContains",
    "maxContains",
    "$defs",
    "$dynamicRef",
    "$anchor",
    "patternProperties",
    "propertyNames",
];

/// Keys that only annotate a schema.
const ANNOTATIONS: &[&str] = &[
    "title",
    "description",
    "examples",
    "example",
    "deprecated",
    "$comment",
];

fn schema_30(schema: &Value, pointer: &str) -> Result<Value, String> {
    let Value::Object(map) = schema else {
        return Ok(schema.clone());
    };
    if let Some(key) = UNSUPPORTED.iter().find(|k| map.contains_key(**k)) {
        return Err(format!(
            "{pointer}/{key}: `{key}` has no OpenAPI 3.0 equivalent"
        ));
    }
    let mut out = Map::new();
    let mut nullable = false;
    for (key, value) in map {
        let here = format!("{pointer}/{}", escape(key));
        match key.as_str() {
            "type" => match value {
                Value::Array(types) => {
                    let non_null: Vec<&Value> = types
                        .iter()
                        .filter(|t| t.as_str() != Some("null"))
                        .collect();
                    nullable |= non_null.len() < types.len();
                    match non_null.as_slice() {
                        [one] => {
                            out.insert("type".into(), (*one).clone());
                        }
                        [] => {
                            return Err(format!(
                                "{here}: a schema of type null only has no OpenAPI 3.0 equivalent"
                            ));
                        }
                        _ => {
                            return Err(format!(
                                "{here}: several types {value} have no OpenAPI 3.0 equivalent"
                            ));
                        }
                    }
                }
                Value::String(t) if t == "null" => {
                    return Err(format!(
                        "{here}: a schema of type null only has no OpenAPI 3.0 equivalent"
                    ));
                }
                other => {
                    out.insert(key.clone(), other.clone());
                }
            },
            "const" => {
                out.insert("enum".into(), json!([value]));
            }
            "examples" => {
                if let Some(first) = value.as_array().and_then(|a| a.first()) {
                    out.entry("example").or_insert_with(|| first.clone());
                }
            }
            "exclusiveMinimum" | "exclusiveMaximum" if value.is_number() => {
                let bound = if key == "exclusiveMinimum" {
                    "minimum"
                } else {
                    "maximum"
                };
                out.insert(bound.into(), value.clone());
                out.insert(key.clone(), json!(true));
            }
            "properties" => {
                let mut props = Map::new();
                for (name, prop) in value.as_object().into_iter().flatten() {
                    props.insert(
                        name.clone(),
                        schema_30(prop, &format!("{here}/{}", escape(name)))?,
                    );
                }
                out.insert(key.clone(), Value::Object(props));
            }
            "items" | "not" | "additionalProperties" if value.is_object() => {
                out.insert(key.clone(), schema_30(value, &here)?);
            }
            "oneOf" | "anyOf" | "allOf" => {
                let items = value
                    .as_array()
                    .ok_or_else(|| format!("{here}: not an array"))?;
                let mut converted = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    if key != "allOf"
                        && item.get("type").and_then(Value::as_str) == Some("null")
                        && item.as_object().is_some_and(|m| m.len() == 1)
                    {
                        nullable = true;
                        continue;
                    }
                    converted.push(schema_30(item, &format!("{here}/{i}"))?);
                }
                out.insert(key.clone(), Value::Array(converted));
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    simplify_composition(&mut out);
    // `$ref` with siblings: 3.0 ignores the siblings, so keep the plain reference when they
    // only annotate, and wrap it in `allOf` when they constrain.
    if out.contains_key("$ref") && out.len() > 1 {
        let constraining: Vec<String> = out
            .keys()
            .filter(|k| *k != "$ref" && !ANNOTATIONS.contains(&k.as_str()))
            .cloned()
            .collect();
        let reference = out.remove("$ref").unwrap_or_default();
        if constraining.is_empty() {
            out = Map::from_iter([("$ref".to_owned(), reference)]);
        } else {
            out.insert("allOf".into(), json!([{"$ref": reference}]));
        }
    }
    if nullable {
        if out.contains_key("$ref") {
            let reference = out.remove("$ref").unwrap_or_default();
            out.insert("allOf".into(), json!([{"$ref": reference}]));
        }
        out.insert("nullable".into(), json!(true));
    }
    Ok(Value::Object(out))
}

/// `allOf: [{$ref}, {title/description only}]` (as Omni's generator writes) becomes the plain
/// `$ref`; a `oneOf`/`anyOf` left with a single branch (after removing `null`) becomes it.
fn simplify_composition(out: &mut Map<String, Value>) {
    for key in ["allOf", "oneOf", "anyOf"] {
        let Some(Value::Array(items)) = out.get(key) else {
            continue;
        };
        let meaningful: Vec<Value> = items
            .iter()
            .filter(|item| {
                !item.as_object().is_some_and(|m| {
                    !m.is_empty() && m.keys().all(|k| ANNOTATIONS.contains(&k.as_str()))
                })
            })
            .cloned()
            .collect();
        if meaningful.len() == 1
            && out
                .keys()
                .all(|k| k == key || ANNOTATIONS.contains(&k.as_str()) || k == "nullable")
        {
            out.remove(key);
            if let Value::Object(inner) = &meaningful[0] {
                for (k, v) in inner {
                    out.insert(k.clone(), v.clone());
                }
            }
        } else if meaningful.len() != items.len() {
            out.insert(key.into(), Value::Array(meaningful));
        }
    }
}

/// Escapes a key for a JSON pointer.
pub fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_exclusive_bounds_become_boolean_ones() {
        let mut doc = json!({
            "openapi": "3.1.0",
            "paths": {},
            "components": {"schemas": {"N": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10}}}
        });
        to_openapi_30(&mut doc).unwrap();
        assert_eq!(
            doc["components"]["schemas"]["N"],
            json!({"type": "integer", "minimum": 0, "exclusiveMinimum": true, "maximum": 10, "exclusiveMaximum": true})
        );
    }
}
