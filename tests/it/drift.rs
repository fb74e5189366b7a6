//! The drift guard: every property the vendored spec gives a schema that a hand-written model
//! replaces must be carried by that model, so that a field Omni adds can never vanish silently.
//! A failure names the schema, the property and the model.

use omni_dbt::{DbtEnvironment, Page, UpdateBody, Variable, api::types};
use omni_dbt_conformance::BUNDLED_SPEC;
use serde_json::{Map, Value, json};

fn spec() -> Value {
    serde_json::from_str(BUNDLED_SPEC).unwrap()
}

fn schema<'a>(spec: &'a Value, name: &str) -> &'a Value {
    let s = &spec["components"]["schemas"][name];
    assert!(s.is_object(), "the spec has no schema {name}");
    s
}

fn resolve<'a>(spec: &'a Value, s: &'a Value) -> &'a Value {
    match s.get("$ref").and_then(Value::as_str) {
        Some(r) => schema(spec, r.trim_start_matches("#/components/schemas/")),
        None => s,
    }
}

/// The property names of an object schema.
fn properties(spec: &Value, name: &str) -> Vec<String> {
    schema(spec, name)["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{name} has no properties"))
        .keys()
        .cloned()
        .collect()
}

/// An instance of `s` with every property present and no value null (so that nothing can be
/// dropped for being empty).
fn full_instance(spec: &Value, s: &Value) -> Value {
    let s = resolve(spec, s);
    if let Some(first) = s.get("oneOf").or(s.get("anyOf")).and_then(|v| v.get(0)) {
        return full_instance(spec, first);
    }
    if let Some(values) = s.get("enum").and_then(Value::as_array) {
        return values[0].clone();
    }
    match s["type"].as_str() {
        Some("object") | None if s.get("properties").is_some() => {
            let mut map = Map::new();
            for (k, v) in s["properties"].as_object().unwrap() {
                map.insert(k.clone(), full_instance(spec, v));
            }
            Value::Object(map)
        }
        Some("array") => json!([full_instance(spec, &s["items"])]),
        Some("boolean") => json!(false),
        Some("integer") | Some("number") => json!(3),
        Some("string") if s["format"] == "uuid" => json!("0d6c1f7e-8b7a-4f7e-9d0e-3c8e2a1b4f55"),
        Some("string") => json!("text"),
        other => panic!("no instance for type {other:?}"),
    }
}

/// Every key of `original` (recursively) must be in `carried`; returns the missing paths.
fn missing(original: &Value, carried: &Value, at: &str, out: &mut Vec<String>) {
    match (original, carried) {
        (Value::Object(o), Value::Object(c)) => {
            for (k, v) in o {
                let path = format!("{at}.{k}");
                match c.get(k) {
                    None => out.push(path),
                    Some(cv) => missing(v, cv, &path, out),
                }
            }
        }
        (Value::Array(o), Value::Array(c)) => {
            if let (Some(o), Some(c)) = (o.first(), c.first()) {
                missing(o, c, &format!("{at}[]"), out);
            }
        }
        _ => {}
    }
}

/// Decodes a full instance of `schema_name` into `T` and encodes it again: every property must
/// survive.
fn assert_round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(schema_name: &str) {
    let spec = spec();
    let instance = full_instance(&spec, schema(&spec, schema_name));
    let model: T = serde_json::from_value(instance.clone())
        .unwrap_or_else(|e| panic!("{schema_name}: a full instance does not decode: {e}"));
    let carried = serde_json::to_value(&model).unwrap();
    let mut lost = Vec::new();
    missing(&instance, &carried, schema_name, &mut lost);
    assert!(
        lost.is_empty(),
        "properties of the spec not represented by {}: {}",
        std::any::type_name::<T>(),
        lost.join(", ")
    );
}

#[test]
fn the_environment_model_carries_every_property_of_the_spec() {
    assert_round_trip::<DbtEnvironment>("DbtEnvironmentItem");
    assert_round_trip::<Variable>("DbtEnvironmentResponseVariable");
}

#[test]
fn the_derived_bodies_can_send_every_property_of_the_spec() {
    // The patch bodies are derived from the spec: a full instance decodes and is sent whole,
    // whatever properties the spec gives them.
    assert_round_trip::<UpdateBody>("DbtEnvironmentUpdateBody");
    assert_round_trip::<types::DbtEnvironmentCreateBody>("DbtEnvironmentCreateBody");
    // And a body nobody filled sends nothing: no default of the spec is written out.
    assert_eq!(
        serde_json::to_value(UpdateBody::default()).unwrap(),
        json!({})
    );
    let mut body = UpdateBody::default();
    body.target_schema = Some("s".into());
    assert_eq!(
        serde_json::to_value(&body).unwrap(),
        json!({"targetSchema": "s"})
    );
}

#[test]
fn a_page_carries_every_property_of_the_list_envelopes() {
    let spec = spec();
    // How each property reaches `Page`: a new property in the spec fails until it is mapped.
    let carried = [
        ("DbtEnvironmentListResponse", "records"),
        ("DbtEnvironmentListResponse", "pageInfo"),
        ("ModelsDbtExposuresResponse", "records"),
        ("ModelsDbtExposuresResponse", "pageInfo"),
        ("PageInfo", "hasNextPage"),
        ("PageInfo", "nextCursor"),
        ("PageInfo", "pageSize"),
        ("PageInfo", "totalRecords"),
    ];
    for name in [
        "DbtEnvironmentListResponse",
        "ModelsDbtExposuresResponse",
        "PageInfo",
    ] {
        for p in properties(&spec, name) {
            assert!(
                carried.contains(&(name, p.as_str())),
                "{name}.{p} is not represented by omni_dbt::Page"
            );
        }
    }
    // And the mapping is real: a full envelope comes through with every value.
    let envelope = full_instance(&spec, schema(&spec, "DbtEnvironmentListResponse"));
    let listing: omni_dbt::Listing = serde_json::from_value(envelope).unwrap();
    let page = Page::from(listing);
    assert_eq!(
        (page.records.len(), page.page_size, page.total_records),
        (1, Some(3), Some(3))
    );
    assert_eq!(page.next_cursor, None, "hasNextPage: false ends the list");
}

#[test]
fn the_guard_names_a_property_the_model_drops() {
    let spec = spec();
    let mut instance = full_instance(&spec, schema(&spec, "DbtEnvironmentItem"));
    instance["isSomethingOmniAddsLater"] = json!(true);
    let model: DbtEnvironment = serde_json::from_value(instance.clone()).unwrap();
    let mut lost = Vec::new();
    missing(
        &instance,
        &serde_json::to_value(&model).unwrap(),
        "DbtEnvironmentItem",
        &mut lost,
    );
    assert_eq!(lost, ["DbtEnvironmentItem.isSomethingOmniAddsLater"]);
}
