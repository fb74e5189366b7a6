//! The checker against a maintained JSON Schema validator: for random values, built from each
//! schema with random breakage, `check_value` finds a problem exactly when the `jsonschema`
//! crate (on the JSON Schema 2020-12 translation, `to_json_schema`) does.

use omni_dbt_conformance::{BUNDLED_SPEC, check_value, to_json_schema};
use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// A document whose schemas use every keyword OpenAPI 3.0 has.
fn every_keyword() -> Value {
    json!({
        "openapi": "3.0.3", "paths": {},
        "components": {"schemas": {
            "Env": {
                "type": "object",
                "required": ["id", "name"],
                "additionalProperties": false,
                "minProperties": 2, "maxProperties": 6,
                "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "name": {"type": "string", "minLength": 1, "maxLength": 8, "pattern": "^(?!-)[a-z-]+$"},
                    "kind": {"type": "string", "enum": ["a", "b"], "nullable": true},
                    "count": {"type": "integer", "minimum": 0, "exclusiveMinimum": true, "maximum": 10, "multipleOf": 2},
                    "ratio": {"type": "number", "maximum": 1.5, "exclusiveMaximum": true},
                    "when": {"type": "string", "format": "date-time"},
                    "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3, "uniqueItems": true},
                    "owner": {"$ref": "#/components/schemas/Owner", "nullable": true}
                }
            },
            "Owner": {
                "oneOf": [
                    {"type": "object", "required": ["email"], "properties": {"email": {"type": "string", "format": "email"}}, "additionalProperties": false},
                    {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "format": "uuid"}}, "additionalProperties": {"type": "boolean"}}
                ]
            },
            "Either": {"anyOf": [{"type": "string", "format": "date"}, {"type": "boolean"}], "not": {"enum": [false]}},
            "Both": {"allOf": [{"$ref": "#/components/schemas/Owner"}, {"type": "object", "maxProperties": 2}]}
        }}
    })
}

/// A small deterministic generator (the seed comes from proptest, so failures shrink to one).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap_or(schema),
        None => schema,
    }
}

fn noise(rng: &mut Rng) -> Value {
    match rng.below(11) {
        9 => json!("8d2e3f4ax5b6cx4d7ex9f8ax0b1c2d3e4f5a"),
        10 => json!("8D2E3F4A-5B6C-4D7E-9F8A-0B1C2D3E4F5A"),
        0 => Value::Null,
        1 => json!(true),
        2 => json!(rng.below(20) as i64 - 5),
        3 => json!(rng.below(30) as f64 / 4.0),
        4 => json!(""),
        5 => json!("not-a-uuid"),
        6 => json!("8d2e3f4a-5b6c-4d7e-9f8a-0b1c2d3e4f5a"),
        7 => json!([]),
        _ => json!({}),
    }
}

/// A value for `schema`, mostly valid, sometimes broken somewhere.
fn value_for(doc: &Value, schema: &Value, rng: &mut Rng, depth: usize) -> Value {
    if depth > 6 || rng.chance(12) {
        return noise(rng);
    }
    let schema = resolve(doc, schema);
    if schema.get("nullable") == Some(&json!(true)) && rng.chance(4) {
        return Value::Null;
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(subs)) = schema.get(combinator) {
            let pick = &subs[rng.below(subs.len())];
            return value_for(doc, pick, rng, depth + 1);
        }
    }
    if let Some(Value::Array(values)) = schema.get("enum") {
        return values[rng.below(values.len())].clone();
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") | None if schema.get("properties").is_some() || rng.chance(3) => {
            let mut out = Map::new();
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            if let Some(Value::Object(props)) = schema.get("properties") {
                for (name, prop) in props {
                    let wanted = required.contains(&name.as_str()) && !rng.chance(10);
                    if wanted || rng.chance(2) {
                        out.insert(name.clone(), value_for(doc, prop, rng, depth + 1));
                    }
                }
            }
            if rng.chance(10) {
                out.insert("unexpected".into(), noise(rng));
            }
            Value::Object(out)
        }
        Some("array") => {
            let items = schema.get("items").cloned().unwrap_or(json!({}));
            let n = rng.below(4);
            Value::Array(
                (0..n)
                    .map(|_| value_for(doc, &items, rng, depth + 1))
                    .collect(),
            )
        }
        Some("string") => match schema.get("format").and_then(Value::as_str) {
            Some("uuid") if !rng.chance(5) => json!(format!(
                "8d2e3f4a-5b6c-4d7e-9f8a-0b1c2d3e4f{:02x}",
                rng.below(256)
            )),
            Some("date-time") if !rng.chance(5) => json!("2026-05-04T10:00:00Z"),
            Some("date") if !rng.chance(5) => json!("2026-02-29"),
            Some("email") if !rng.chance(5) => json!(
                [
                    "ada@example.com",
                    "a.b+c@x-y.example",
                    "a..b@x",
                    "a@-x",
                    "@x",
                    "a@"
                ][rng.below(6)]
            ),
            _ => {
                let pool = [
                    "",
                    "a",
                    "ab-c",
                    "-x",
                    "dbt_pr_42",
                    "models/x",
                    "/abs",
                    "a/../b",
                    "ÿ",
                    "aaaaaaaaaa",
                ];
                json!(pool[rng.below(pool.len())])
            }
        },
        Some("integer") => json!(rng.below(14) as i64 - 2),
        Some("number") => json!(rng.below(12) as f64 / 4.0),
        Some("boolean") => json!(rng.chance(2)),
        _ => noise(rng),
    }
}

/// A pattern as ECMAScript reads it, for the `jsonschema` crate's Rust regex engines: there
/// `\w` and `\d` are Unicode classes, in ECMAScript (and in `regress`, the generated client's
/// engine) ASCII ones (`"ÿ"` is not `\w`).
fn ecma_classes(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| match (k.as_str(), v) {
                    ("pattern", Value::String(p)) => (k.clone(), json!(ascii_classes(p))),
                    _ => (k.clone(), ecma_classes(v)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(ecma_classes).collect()),
        other => other.clone(),
    }
}

/// `\w` and `\d` spelled as the ASCII classes they are in ECMAScript, inside a character class
/// or outside one.
fn ascii_classes(pattern: &str) -> String {
    let mut out = String::new();
    let (mut in_class, mut chars) = (false, pattern.chars());
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('w') if in_class => out.push_str("A-Za-z0-9_"),
                Some('w') => out.push_str("[A-Za-z0-9_]"),
                Some('d') if in_class => out.push_str("0-9"),
                Some('d') => out.push_str("[0-9]"),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            '[' => {
                in_class = true;
                out.push(c);
            }
            ']' => {
                in_class = false;
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[test]
fn ascii_classes_keep_the_pattern() {
    assert_eq!(
        ascii_classes(r"^(?!\/)[\w ./-]+$"),
        r"^(?!\/)[A-Za-z0-9_ ./-]+$"
    );
    assert_eq!(ascii_classes(r"\d+\w"), "[0-9]+[A-Za-z0-9_]");
}

fn jsonschema_says(doc: &Value, schema: &Value, value: &Value) -> bool {
    let (doc, schema) = (&ecma_classes(doc), &ecma_classes(schema));
    let defs: Map<String, Value> = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), to_json_schema(v)))
        .collect();
    let mut root = match to_json_schema(schema) {
        Value::Object(map) => map,
        other => Map::from_iter([("allOf".to_owned(), json!([other]))]),
    };
    root.insert("$defs".into(), Value::Object(defs));
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&Value::Object(root))
        .expect("the translation compiles");
    validator.is_valid(value)
}

/// Every body schema of the vendored spec, and every schema of the keyword fixture.
fn cases() -> &'static [(Value, Value)] {
    static CASES: std::sync::OnceLock<Vec<(Value, Value)>> = std::sync::OnceLock::new();
    CASES.get_or_init(collect_cases)
}

fn collect_cases() -> Vec<(Value, Value)> {
    let spec: Value = serde_json::from_str(BUNDLED_SPEC).unwrap();
    let mut out = Vec::new();
    for item in spec["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let mut bodies = vec![op.pointer("/requestBody/content/application~1json/schema")];
            for response in op["responses"].as_object().into_iter().flatten() {
                let response = resolve(&spec, response.1);
                bodies.push(response.pointer("/content/application~1json/schema"));
            }
            for schema in bodies.into_iter().flatten() {
                out.push((spec.clone(), schema.clone()));
            }
        }
    }
    let fixture = every_keyword();
    for name in fixture["components"]["schemas"].as_object().unwrap().keys() {
        let schema = json!({"$ref": format!("#/components/schemas/{name}")});
        out.push((fixture.clone(), schema));
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn agrees_with_jsonschema(seed in 1u64.., which in 0usize..1000) {
        let cases = cases();
        let (doc, schema) = &cases[which % cases.len()];
        let value = value_for(doc, schema, &mut Rng(seed), 0);
        let ours = check_value(doc, schema, &value);
        let theirs = jsonschema_says(doc, schema, &value);
        prop_assert_eq!(
            ours.is_ok(), theirs,
            "schema {} value {} ours {:?}", schema, value, ours
        );
    }
}

/// Both valid and invalid values are produced for most schemas (else the property is empty).
#[test]
fn the_generator_makes_both_kinds() {
    let cases = cases();
    let (mut valid, mut invalid) = (0, 0);
    for (i, (doc, schema)) in cases.iter().enumerate() {
        for seed in 1..40u64 {
            let value = value_for(doc, schema, &mut Rng(seed * 7919 + i as u64), 0);
            if check_value(doc, schema, &value).is_ok() {
                valid += 1;
            } else {
                invalid += 1;
            }
        }
    }
    assert!(
        valid > 100 && invalid > 100,
        "{valid} valid, {invalid} invalid"
    );
}

/// The case the property test found: `\w` is ASCII in ECMAScript, so `"ÿ"` breaks Omni's
/// `projectRootPath` pattern (as the generated client and the fake say too).
#[test]
fn a_non_ascii_word_character_breaks_the_project_root_pattern() {
    let (spec, schema) = cases()
        .iter()
        .find(|(_, s)| s["title"] == "ConnectionsDbtUpdateBody")
        .expect("the dbt configuration's body");
    let body = json!({"autogenRelationships": true, "branch": "main", "enableVirtualSchemas": false,
                      "sshUrl": "git@github.com:a/b.git", "projectRootPath": "ÿ"});
    assert!(check_value(spec, schema, &body).is_err());
    assert!(!jsonschema_says(spec, schema, &body));
    let body = json!({"autogenRelationships": true, "branch": "main", "enableVirtualSchemas": false,
                      "sshUrl": "git@github.com:a/b.git", "projectRootPath": "models/dbt_1"});
    assert!(check_value(spec, schema, &body).is_ok());
    assert!(jsonschema_says(spec, schema, &body));
}
