//! Generates omni-dbt's typed client from its OpenAPI 3.0 spec: parse, run progenitor with
//! the crate's settings, pretty-print. One function, used by `build.rs` and by `cargo xtask`
//! (`check`, `codegen`), so both always generate the same code.

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle};

/// Schemas whose generated types would lose information, replaced by hand-written models in
/// the `omni-dbt` crate (each with its reason):
pub const REPLACEMENTS: &[(&str, &str)] = &[
    // A tri-state per nullable field (absent / `null` / value); generation has two states.
    ("DbtEnvironmentUpdateBody", "crate::model::UpdateBody"),
    // Omni's documented answer sends `variables` as a single object; the schema says array.
    ("DbtEnvironmentItem", "crate::model::DbtEnvironment"),
    // A secret's value must never survive decoding or show in `Debug`.
    ("DbtEnvironmentResponseVariable", "crate::model::Variable"),
    // The list answer comes in two documented shapes (bare array and envelope).
    ("DbtEnvironmentListing", "crate::model::Listing"),
];

/// The context type the generated client carries (see `src/runtime.rs`).
pub const INNER_TYPE: &str = "crate::runtime::CallContext";

/// Traits every generated type derives besides progenitor's `Serialize`, `Deserialize`,
/// `Clone` and `Debug`, so that users can compare answers.
pub const DERIVES: &[&str] = &["PartialEq"];

/// Parses an OpenAPI 3.0.x document (JSON).
pub fn parse(spec_json: &str) -> Result<openapiv3::OpenAPI, String> {
    let spec: openapiv3::OpenAPI = serde_json::from_str(spec_json)
        .map_err(|e| format!("not a valid OpenAPI 3.0 document: {e}"))?;
    if !spec.openapi.starts_with("3.0.") {
        return Err(format!(
            "`openapi: {}` is not supported; progenitor reads OpenAPI 3.0.x only",
            spec.openapi
        ));
    }
    Ok(spec)
}

/// The generated Rust source for `spec_json`, pretty-printed. Deterministic: the output
/// depends on nothing but the input.
///
/// Never panics: a failure of progenitor or typify, a panic included, is an error. When the
/// whole document fails, each operation is generated on its own to name every one at fault,
/// as `METHOD /path: what is wrong (/paths/… pointer)`, one per line.
pub fn generate(spec_json: &str) -> Result<String, String> {
    let spec = parse(spec_json)?;
    match generate_spec(&spec) {
        Ok(code) => Ok(code),
        Err(whole) => {
            let doc: serde_json::Value = serde_json::from_str(spec_json)
                .map_err(|e| format!("not a valid OpenAPI 3.0 document: {e}"))?;
            let faults = operations_at_fault(&doc);
            if faults.is_empty() {
                Err(whole)
            } else {
                Err(format!(
                    "progenitor cannot generate {} operation(s):\n{}",
                    faults.len(),
                    faults.join("\n")
                ))
            }
        }
    }
}

/// Each operation of `doc` generated alone (with every component): the ones that fail, each
/// with what is wrong and its JSON pointer.
pub fn operations_at_fault(doc: &serde_json::Value) -> Vec<String> {
    let mut faults = Vec::new();
    let Some(paths) = doc.get("paths").and_then(serde_json::Value::as_object) else {
        return faults;
    };
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, operation) in item {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let mut alone = doc.clone();
            let mut only = serde_json::Map::new();
            if let Some(shared) = item.get("parameters") {
                only.insert("parameters".into(), shared.clone());
            }
            only.insert(method.clone(), operation.clone());
            alone["paths"] = serde_json::json!({ path.as_str(): only });
            let result = serde_json::from_value::<openapiv3::OpenAPI>(alone)
                .map_err(|e| format!("not valid OpenAPI 3.0: {e}"))
                .and_then(|spec| generate_spec(&spec));
            if let Err(e) = result {
                let pointer = format!("/paths/{}/{method}", escape(path));
                faults.push(format!(
                    "{} {path}: {} ({pointer})",
                    method.to_uppercase(),
                    e.replace('\n', " ")
                ));
            }
        }
    }
    faults
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Runs progenitor on one parsed document, turning a panic into an error (and keeping the
/// panic's own report off stderr).
fn generate_spec(spec: &openapiv3::OpenAPI) -> Result<String, String> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| generate_unguarded(spec)));
    std::panic::set_hook(previous);
    match outcome {
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "no message".to_owned());
            Err(format!("progenitor panicked: {message}"))
        }
    }
}

fn generate_unguarded(spec: &openapiv3::OpenAPI) -> Result<String, String> {
    let inner_type = INNER_TYPE
        .parse()
        .map_err(|e| format!("internal: bad inner type: {e}"))?;
    let mut settings = GenerationSettings::default();
    settings
        .with_interface(InterfaceStyle::Positional)
        .with_tag(TagStyle::Merged)
        .with_inner_type(inner_type)
        .with_hooks(HooksMode::Expected);
    for derive in DERIVES {
        settings.with_derive(*derive);
    }
    for (schema, rust_type) in REPLACEMENTS {
        settings.with_replacement(schema, rust_type, std::iter::empty());
    }
    let tokens = Generator::new(&settings)
        .generate_tokens(spec)
        .map_err(|e| format!("progenitor cannot generate a client: {e}"))?;
    let file: syn::File =
        syn::parse2(tokens).map_err(|e| format!("internal: generated code does not parse: {e}"))?;
    Ok(prettyplease::unparse(&file))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn document(paths: serde_json::Value) -> String {
        json!({
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": paths,
        })
        .to_string()
    }

    fn op(body_schema: serde_json::Value) -> serde_json::Value {
        json!({
            "operationId": "op",
            "requestBody": {"content": {"application/json": {"schema": body_schema}}},
            "responses": {"200": {"description": "ok"}}
        })
    }

    #[test]
    fn a_panic_in_generation_is_an_error_naming_the_operation() {
        // Enum values that differ only in case make typify panic.
        let doc = document(json!({
            "/ok": {"get": {"operationId": "fine", "responses": {"200": {"description": "ok"}}}},
            "/scim/{id}": {"patch": op(json!({
                "type": "object",
                "properties": {"op": {"type": "string", "enum": ["replace", "Replace"]}}
            }))}
        }));
        let err = generate(&doc).unwrap_err();
        assert!(
            err.starts_with("progenitor cannot generate 1 operation(s):"),
            "{err}"
        );
        assert!(err.contains("PATCH /scim/{id}: "), "{err}");
        assert!(err.contains("(/paths/~1scim~1{id}/patch)"), "{err}");
        assert!(!err.contains("GET /ok"), "{err}");
    }

    #[test]
    fn every_operation_at_fault_is_named_at_once() {
        let bad = |id: &str| {
            let mut o = op(json!({"type": "string", "enum": ["add", "Add"]}));
            o["operationId"] = json!(id);
            o
        };
        let doc = document(json!({"/a": {"post": bad("a")}, "/b": {"put": bad("b")}}));
        let err = generate(&doc).unwrap_err();
        assert!(
            err.contains("POST /a: ") && err.contains("PUT /b: "),
            "{err}"
        );
    }
}
