//! Generates omni-dbt's typed client from its OpenAPI 3.0 spec: parse, run progenitor with
//! the crate's settings, pretty-print. One function, used by `build.rs` and by `cargo xtask`
//! (`check`, `codegen`), so both always generate the same code.

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle};
use serde_json::Value;

pub mod derive;
pub mod environments_file;
pub mod paths;
pub mod requests;

/// Schemas replaced by hand-written models in the `omni-dbt` crate, each with its reason. Every
/// other schema is generated: by typify, or by the rules of [`mod@derive`] (see [`derive::DERIVED`]).
pub const REPLACEMENTS: &[(&str, &str)] = &[
    // A secret's value must never survive decoding (nor show in `Debug`).
    ("DbtEnvironmentResponseVariable", "crate::decode::Variable"),
];

/// The context type the generated client carries (see `src/hook.rs`).
pub const INNER_TYPE: &str = "crate::context::CallContext";

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
    parse(spec_json)?;
    let doc: Value = serde_json::from_str(spec_json)
        .map_err(|e| format!("not a valid OpenAPI 3.0 document: {e}"))?;
    check_operation_names(&doc)?;
    let view = generation_view(&doc);
    let spec: openapiv3::OpenAPI = serde_json::from_value(view.clone())
        .map_err(|e| format!("not a valid OpenAPI 3.0 document: {e}"))?;
    match generate_spec(&spec, &view) {
        Ok(code) => Ok(code),
        Err(whole) => {
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

/// Each operation of `doc` generated alone, with only the schemas it reaches: the ones that
/// fail, each with what is wrong and its JSON pointer. A schema that fails on its own is named
/// once (`schema X: … (/components/schemas/X)`), and the operations that reach it are not
/// blamed for it.
pub fn operations_at_fault(doc: &Value) -> Vec<String> {
    let mut faults = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return faults;
    };
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    // Schemas that fail alone (with what they reach), seen as the whole document's view sees
    // them (defaults of request bodies dropped).
    let view = generation_view(doc);
    let mut bad_schemas = std::collections::BTreeSet::new();
    for name in schemas.keys() {
        let mut alone = view.clone();
        alone["paths"] = serde_json::json!({});
        let reach = reachable(
            &schemas,
            &serde_json::json!({"$ref": format!("#/components/schemas/{name}")}),
        );
        keep_schemas(&mut alone, &reach);
        if let Err(e) = generate_alone(&alone) {
            // Blame the schema only when none of what it reaches fails by itself first.
            bad_schemas.insert(name.clone());
            faults.push(format!(
                "schema {name}: {} (/components/schemas/{})",
                e.replace('\n', " "),
                escape(name)
            ));
        }
    }
    // A schema that only fails because it reaches a failing one is not named twice.
    let culprits: Vec<String> = bad_schemas
        .iter()
        .filter(|name| {
            let reach = reachable(
                &schemas,
                &serde_json::json!({"$ref": format!("#/components/schemas/{name}")}),
            );
            !reach.iter().any(|r| r != *name && bad_schemas.contains(r))
        })
        .cloned()
        .collect();
    faults.retain(|f| {
        culprits
            .iter()
            .any(|c| f.starts_with(&format!("schema {c}: ")))
    });
    for (path, item) in paths {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, operation) in item {
            if !METHODS.contains(&method.as_str()) {
                continue;
            }
            let mut only = serde_json::Map::new();
            if let Some(shared) = item.get("parameters") {
                only.insert("parameters".into(), shared.clone());
            }
            only.insert(method.clone(), operation.clone());
            let only = Value::Object(only);
            let reach = reachable(&schemas, &only);
            let pointer = format!("/paths/{}/{method}", escape(path));
            let blamed: Vec<&String> = culprits.iter().filter(|c| reach.contains(*c)).collect();
            if !blamed.is_empty() {
                let names: Vec<&str> = blamed.iter().map(|s| s.as_str()).collect();
                faults.push(format!(
                    "{} {path}: reaches the failing schema(s) {} ({pointer})",
                    method.to_uppercase(),
                    names.join(", ")
                ));
                continue;
            }
            let mut alone = doc.clone();
            alone["paths"] = serde_json::json!({ path.as_str(): only });
            keep_schemas(&mut alone, &reach);
            if let Err(e) = generate_alone(&alone) {
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

fn generate_alone(alone: &Value) -> Result<String, String> {
    let alone = generation_view(alone);
    serde_json::from_value::<openapiv3::OpenAPI>(alone.clone())
        .map_err(|e| format!("not valid OpenAPI 3.0: {e}"))
        .and_then(|spec| generate_spec(&spec, &alone))
}

/// The component schemas `root` reaches through `$ref`s, transitively.
fn reachable(
    schemas: &serde_json::Map<String, Value>,
    root: &Value,
) -> std::collections::BTreeSet<String> {
    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref")
                    && let Some(name) = r.strip_prefix("#/components/schemas/")
                {
                    out.push(name.replace("~1", "/").replace("~0", "~"));
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut todo = Vec::new();
    refs(root, &mut todo);
    while let Some(name) = todo.pop() {
        if seen.insert(name.clone())
            && let Some(schema) = schemas.get(&name)
        {
            refs(schema, &mut todo);
        }
    }
    seen
}

fn keep_schemas(doc: &mut Value, keep: &std::collections::BTreeSet<String>) {
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.retain(|name, _| keep.contains(name));
    }
}

/// `(path, method, operation, the path item's shared parameters)` for every operation of
/// `doc`, in the document's order.
pub(crate) fn operations(doc: &Value) -> Vec<(&str, &str, &Value, Option<&Value>)> {
    let mut all = Vec::new();
    for (path, item) in doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let Some(item) = item.as_object() else {
            continue;
        };
        for (method, operation) in item {
            if METHODS.contains(&method.as_str()) {
                all.push((
                    path.as_str(),
                    method.as_str(),
                    operation,
                    item.get("parameters"),
                ));
            }
        }
    }
    all
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Runs progenitor on one parsed document, turning a panic into an error (and keeping the
/// panic's own report off stderr).
fn generate_spec(spec: &openapiv3::OpenAPI, doc: &Value) -> Result<String, String> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        generate_unguarded(spec, doc)
    }));
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

fn generate_unguarded(spec: &openapiv3::OpenAPI, doc: &Value) -> Result<String, String> {
    let inner_type = INNER_TYPE
        .parse()
        .map_err(|e| format!("internal: bad inner type: {e}"))?;
    let mut settings = GenerationSettings::default();
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged)
        .with_inner_type(inner_type)
        .with_hooks(HooksMode::Expected);
    for derive in DERIVES {
        settings.with_derive(*derive);
    }
    // Only the derived schemas the document has: a selection without them still generates.
    let present = |name: &str| {
        doc.pointer(&format!("/components/schemas/{name}"))
            .is_some()
    };
    let derived: Vec<(&str, String)> = derive::replacements().filter(|(n, _)| present(n)).collect();
    for (schema, rust_type) in REPLACEMENTS {
        settings.with_replacement(schema, rust_type, std::iter::empty());
    }
    for (schema, rust_type) in &derived {
        settings.with_replacement(schema, rust_type, std::iter::empty());
    }
    let tokens = Generator::new(&settings)
        .generate_tokens(spec)
        .map_err(|e| format!("progenitor cannot generate a client: {e}"))?;
    let mut file: syn::File =
        syn::parse2(tokens).map_err(|e| format!("internal: generated code does not parse: {e}"))?;
    // How each request is built (no `api-version` header, UUIDs in paths unencoded, every other
    // path parameter one checked segment): see [`requests`]. No signature changes.
    requests::apply(&mut file, doc);
    // Every operation's path parameters, for the crate's builders (see [`paths`]).
    let paths_file: syn::File = syn::parse_str(&paths::generate(doc)?)
        .map_err(|e| format!("internal: the paths module does not parse: {e}"))?;
    file.items.extend(paths_file.items);
    let derived_source = if derived.len() == derive::DERIVED.len() {
        derive::generate(doc, REPLACEMENTS)?
    } else {
        // A partial selection (e.g. one operation generated alone) derives nothing; the crate
        // itself always has every derived schema.
        String::new()
    };
    // Into progenitor's `types` module, so that every type has one home and Omni's name.
    let derived_file: syn::File = syn::parse_str(&derived_source)
        .map_err(|e| format!("internal: derived code does not parse: {e}"))?;
    let types = file.items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == "types" => m.content.as_mut(),
        _ => None,
    });
    match types {
        Some((_, items)) => items.extend(derived_file.items),
        None if derived_file.items.is_empty() => {}
        None => return Err("internal: progenitor wrote no `types` module".into()),
    }
    Ok(prettyplease::unparse(&file))
}

/// The document progenitor sees: the vendored spec with the generation rules applied. A
/// `default` on an optional property of a request body describes what Omni does when the key
/// is absent; generated as a value, it would be written out on every request (an update that
/// never mentions `isDeferralEnabled` would switch deferral off). So it is dropped here, and the
/// field is generated as an `Option` that is sent only when set.
pub fn generation_view(doc: &Value) -> Value {
    let mut view = doc.clone();
    plain_dates(&mut view);
    line_feeds_only(&mut view);
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut reached = std::collections::BTreeSet::new();
    if let Some(paths) = view.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, operation) in item.iter_mut() {
                if !METHODS.contains(&method.as_str()) {
                    continue;
                }
                let Some(content) = operation
                    .pointer_mut("/requestBody/content")
                    .and_then(Value::as_object_mut)
                else {
                    continue;
                };
                for media in content.values_mut() {
                    if let Some(schema) = media.get_mut("schema") {
                        reached.extend(reachable(&schemas, schema));
                        drop_optional_defaults(schema);
                    }
                }
            }
        }
    }
    if let Some(schemas) = view
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for name in reached {
            if let Some(schema) = schemas.get_mut(&name) {
                drop_optional_defaults(schema);
            }
        }
    }
    view
}

/// The methods progenitor's generated `Client` has besides one per operation (and the traits
/// it implements): an operation of that name would not compile.
const CLIENT_METHODS: &[&str] = &[
    "new",
    "new_with_client",
    "baseurl",
    "client",
    "api_version",
    "inner",
    "pre",
    "post",
    "exec",
];

/// Every operation's method name (progenitor's snake case of its `operationId`) is one
/// progenitor can write: not one of `CLIENT_METHODS`, not a name another operation's id
/// becomes too (`connections_dbt_environments_list` beside `connectionsDbtEnvironmentsList`).
/// The error names each operation by its JSON pointer.
pub fn check_operation_names(doc: &Value) -> Result<(), String> {
    let mut seen: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    let mut faults = Vec::new();
    for (path, method, operation, _) in operations(doc) {
        let Some(id) = operation.get("operationId").and_then(Value::as_str) else {
            continue;
        };
        let pointer = format!("/paths/{}/{method}/operationId", escape(path));
        let name = derive::field_name(id).trim_end_matches('_').to_owned();
        if CLIENT_METHODS.contains(&name.as_str()) {
            faults.push(format!(
                "operationId {id:?} ({pointer}) becomes the method `{name}`, which the \
                 generated client already has"
            ));
        } else if let Some(other) = seen.insert(name.clone(), pointer.clone()) {
            faults.push(format!(
                "operationId {id:?} ({pointer}) becomes the method `{name}`, as the one at \
                 {other} does"
            ));
        }
    }
    if faults.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} operation name(s) cannot be generated:\n{}",
            faults.len(),
            faults.join("\n")
        ))
    }
}

/// A third generation rule: the texts that become doc comments (`description`, `summary`,
/// `title`) have line feeds only; a bare carriage return in a doc comment does not compile.
fn line_feeds_only(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                match inner {
                    Value::String(text)
                        if matches!(key.as_str(), "description" | "summary" | "title")
                            && text.contains('\r') =>
                    {
                        *text = text.replace("\r\n", "\n").replace('\r', "\n");
                    }
                    other => line_feeds_only(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(line_feeds_only),
        _ => {}
    }
}

/// A second generation rule: a string with `format: date-time` or `date` is generated as a
/// plain `String` (the text Omni sent), so that the crate needs no date library for the
/// operations that have such fields.
fn plain_dates(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let is_string = map.get("type").is_some_and(|t| {
                t == "string"
                    || t.as_array()
                        .is_some_and(|a| a.iter().any(|t| t == "string"))
            });
            let is_date = map
                .get("format")
                .and_then(Value::as_str)
                .is_some_and(|f| f == "date-time" || f == "date");
            if is_string && is_date {
                map.remove("format");
            }
            map.values_mut().for_each(plain_dates);
        }
        Value::Array(items) => items.iter_mut().for_each(plain_dates),
        _ => {}
    }
}

/// Drops the `default` of every optional property of `schema` and of the object schemas
/// nested in it (items, `allOf`/`anyOf`/`oneOf` members, properties).
fn drop_optional_defaults(schema: &mut Value) {
    let Some(map) = schema.as_object_mut() else {
        return;
    };
    let required: Vec<String> = map
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    if let Some(properties) = map.get_mut("properties").and_then(Value::as_object_mut) {
        for (name, property) in properties.iter_mut() {
            if !required.contains(name)
                && let Some(p) = property.as_object_mut()
            {
                p.remove("default");
            }
            drop_optional_defaults(property);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(members) = map.get_mut(key).and_then(Value::as_array_mut) {
            members.iter_mut().for_each(drop_optional_defaults);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = map.get_mut(key) {
            drop_optional_defaults(inner);
        }
    }
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
    fn the_request_rules_cover_every_operation_of_the_vendored_spec() {
        // Counted, not listed: the next-release pass of CI runs this on a larger spec.
        let spec = include_str!("../../../openapi/omni-dbt.json");
        let code = generate(spec).unwrap();
        let flat: String = code.split_whitespace().collect();
        let sends = flat.matches("pubasyncfnsend(").count();
        assert!(sends >= 15, "{sends} operations");
        assert!(
            !flat.contains("\"api-version\""),
            "an operation still adds api-version"
        );
        // Omni's spec has no header parameters: no map is allocated, nor declared `mut`.
        assert_eq!(
            flat.matches("HeaderMap::with_capacity(0usize)").count(),
            sends
        );
        assert!(!flat.contains("letmutheader_map"));
        // Every UUID path parameter is written as it is; the string ones are still encoded.
        for uuid in ["connection_id", "environment_id", "model_id"] {
            assert!(
                !flat.contains(&format!("encode_path(&{uuid}.to_string())")),
                "{uuid}"
            );
        }
        assert!(flat.contains("client.baseurl,connection_id,environment_id,"));
        assert!(flat.contains("client.baseurl,model_id,"));
        // Every other one is one checked segment: progenitor's `encode_path` is gone.
        assert!(
            !flat.contains("encode_path(&"),
            "a path parameter is still encode_path'd"
        );
        assert!(
            flat.contains(
                "model_id,crate::path::segment(\"branchName\",&branch_name.to_string())?,"
            )
        );
        assert!(flat.contains("crate::path::segment(\"jobId\",&job_id.to_string())?,"));
    }

    #[test]
    fn operation_names_progenitor_cannot_write_are_refused_with_their_pointer() {
        let get = |id: &str| json!({"get": {"operationId": id, "responses": {"200": {"description": "ok"}}}});
        let doc = document(json!({"/a": get("new")}));
        let err = generate(&doc).unwrap_err();
        assert!(
            err.contains("operationId \"new\" (/paths/~1a/get/operationId)"),
            "{err}"
        );
        let doc = document(json!({
            "/a": get("connectionsDbtEnvironmentsList"),
            "/b": get("connections_dbt_environments_list"),
        }));
        let err = generate(&doc).unwrap_err();
        assert!(err.contains("/paths/~1b/get/operationId"), "{err}");
        assert!(
            err.contains("as the one at /paths/~1a/get/operationId"),
            "{err}"
        );
        assert!(generate(&document(json!({"/a": get("fine")}))).is_ok());
    }

    #[test]
    fn a_bare_carriage_return_in_a_description_generates_code_that_compiles() {
        let doc = document(json!({"/a": {"get": {
            "operationId": "op", "description": "one\rtwo\r\nthree",
            "responses": {"200": {"description": "ok\r", "content": {"application/json": {
                "schema": {"type": "object", "description": "a\rb",
                           "properties": {"x": {"type": "string", "description": "c\rd"}}}
            }}}}
        }}}));
        let code = generate(&doc).unwrap();
        assert!(!code.contains('\r'), "a carriage return reached the code");
        assert!(code.contains("one\n") || code.contains("one"), "{code}");
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
