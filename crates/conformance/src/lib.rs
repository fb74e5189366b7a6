//! Validates request and response bodies, and the spec's own examples, against the schemas of
//! an OpenAPI 3.0 document.
//!
//! OpenAPI 3.0 schemas are not quite JSON Schema (`nullable`, boolean `exclusiveMinimum`,
//! `#/components/schemas` references), so they are checked as OpenAPI 3.0 defines them, by a
//! small validator of that subset (formats `uuid`, `date` and `date-time` included, `pattern`s
//! in ECMAScript syntax): a general JSON Schema validator costs users of the fake ~20 s of
//! every clean build. Its tests hold it to the `jsonschema` crate, run on the translation to
//! JSON Schema 2020-12 that [`to_json_schema`] makes.
//!
//! ```
//! let spec = omni_dbt_conformance::Spec::bundled();
//! let body = serde_json::json!({"targetSchema": "dbt_pr_42", "targetRole": null});
//! spec.check_request("connectionsDbtEnvironmentsUpdate", &body).unwrap();
//! let bad = serde_json::json!({"targetSchema": ""});
//! assert!(spec.check_request("connectionsDbtEnvironmentsUpdate", &bad).is_err());
//! ```

use std::{
    collections::BTreeMap,
    fmt,
    sync::{Arc, OnceLock},
};

use serde_json::{Map, Value, json};

mod problem;
mod schema;

use problem::Problem;
use schema::Definitions;

/// The spec this workspace vendors, `openapi/omni-dbt.json` (this crate carries a copy, which
/// `cargo xtask check` keeps identical, so that the crate is self-contained when published).
pub const BUNDLED_SPEC: &str = include_str!("../omni-dbt.json");

/// What did not conform: one line per problem, each with the JSON pointer of the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violations(pub Vec<String>);

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("; "))
    }
}

impl std::error::Error for Violations {}

/// One body schema, checked against the document's definitions.
struct Validator {
    schema: Value,
    defs: Arc<Definitions>,
}

impl Validator {
    fn problems(&self, value: &Value) -> Vec<Problem> {
        self.defs.problems(&self.schema, value)
    }
}

struct Operation {
    method: String,
    path: String,
    request: Option<Validator>,
    /// By status code (`"200"`, `"4XX"`, `"default"`); `None` for a response without a body.
    responses: BTreeMap<String, Option<Validator>>,
}

/// The operations of one OpenAPI 3.0 document with a validator for every body schema.
pub struct Spec {
    operations: BTreeMap<String, Operation>,
}

impl fmt::Debug for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Spec")
            .field("operations", &self.operations.keys().collect::<Vec<_>>())
            .finish()
    }
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

impl Spec {
    /// The vendored spec, parsed once.
    pub fn bundled() -> Arc<Spec> {
        static SPEC: OnceLock<Arc<Spec>> = OnceLock::new();
        SPEC.get_or_init(|| {
            let doc: Value =
                serde_json::from_str(BUNDLED_SPEC).expect("openapi/omni-dbt.json is JSON");
            Arc::new(Spec::from_document(&doc).expect("openapi/omni-dbt.json has valid schemas"))
        })
        .clone()
    }

    /// Builds validators for every operation of `doc`.
    pub fn from_document(doc: &Value) -> Result<Self, String> {
        let defs = Arc::new(definitions(doc)?);
        let mut operations = BTreeMap::new();
        let paths = doc
            .get("paths")
            .and_then(Value::as_object)
            .ok_or("the document has no `paths`")?;
        for (path, item) in paths {
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                let id = op
                    .get("operationId")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("{method} {path} has no operationId"))?;
                let here = |what: &str| format!("{} {path} {what}", method.to_uppercase());
                let request = match op.get("requestBody") {
                    None => None,
                    Some(body) => {
                        let body = resolve(doc, body);
                        json_schema_of(body)
                            .map(|s| {
                                compile(&defs, s)
                                    .map_err(|e| format!("{}: {e}", here("request body")))
                            })
                            .transpose()?
                    }
                };
                let mut responses = BTreeMap::new();
                for (status, response) in op
                    .get("responses")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    let response = resolve(doc, response);
                    let validator = json_schema_of(response)
                        .map(|s| compile(&defs, s).map_err(|e| format!("{}: {e}", here(status))))
                        .transpose()?;
                    responses.insert(status.clone(), validator);
                }
                operations.insert(
                    id.to_owned(),
                    Operation {
                        method: method.to_uppercase(),
                        path: path.clone(),
                        request,
                        responses,
                    },
                );
            }
        }
        Ok(Spec { operations })
    }

    /// The operationIds, sorted.
    pub fn operation_ids(&self) -> impl Iterator<Item = &str> {
        self.operations.keys().map(String::as_str)
    }

    /// The operation a request to `method path` is, with `path` relative to the server URL
    /// (e.g. `/v1/connections/{uuid}/dbt/environments`).
    pub fn operation_for(&self, method: &str, path: &str) -> Option<&str> {
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        self.operations.iter().find_map(|(id, op)| {
            let template: Vec<&str> = op.path.split('/').collect();
            let matches = op.method.eq_ignore_ascii_case(method)
                && template.len() == segments.len()
                && template.iter().zip(&segments).all(|(t, s)| {
                    (t.starts_with('{') && t.ends_with('}') && !s.is_empty()) || t == s
                });
            matches.then_some(id.as_str())
        })
    }

    /// Checks a request body against the operation's request schema.
    pub fn check_request(&self, operation_id: &str, body: &Value) -> Result<(), Violations> {
        let op = self.operation(operation_id)?;
        match &op.request {
            Some(validator) => check(validator, body),
            None => Err(Violations(vec![format!(
                "{operation_id} takes no JSON request body"
            )])),
        }
    }

    /// Checks a request body as Omni's server does, answering what it would put in a 400's
    /// `detail`: the first problem in its validator's words (`name: String must contain at
    /// least 1 character(s)`, `variables[0].isSecret: Required`). Unions are read as Omni's
    /// validator reads them: the first branch that holds is taken (a body that two branches
    /// of a `oneOf` accept is accepted), and when none holds, the branch that came closest
    /// (fewest problems) is reported.
    ///
    /// ```
    /// let spec = omni_dbt_conformance::Spec::bundled();
    /// let body = serde_json::json!({"name": "", "targetSchema": "s"});
    /// assert_eq!(
    ///     spec.check_request_as_omni("connectionsDbtEnvironmentsCreate", &body),
    ///     Err("name: String must contain at least 1 character(s)".to_owned())
    /// );
    /// ```
    pub fn check_request_as_omni(&self, operation_id: &str, body: &Value) -> Result<(), String> {
        let op = self.operation(operation_id).map_err(|v| v.to_string())?;
        let Some(validator) = &op.request else {
            return Err(format!("{operation_id} takes no JSON request body"));
        };
        match validator.problems(body).iter().find_map(Problem::omni) {
            None => Ok(()),
            Some(detail) => Err(detail),
        }
    }

    /// Checks a response body against the schema the operation declares for `status`
    /// (an exact code, else `NXX`, else `default`). `None` is a response without a body.
    pub fn check_response(
        &self,
        operation_id: &str,
        status: u16,
        body: Option<&Value>,
    ) -> Result<(), Violations> {
        let op = self.operation(operation_id)?;
        let declared = op
            .responses
            .get(&status.to_string())
            .or_else(|| op.responses.get(&format!("{}XX", status / 100)))
            .or_else(|| op.responses.get("default"));
        match (declared, body) {
            (None, _) => Err(Violations(vec![format!(
                "{operation_id} does not declare status {status}"
            )])),
            (Some(Some(validator)), Some(body)) => check(validator, body),
            (Some(Some(_)), None) => Err(Violations(vec![format!(
                "{operation_id} {status} needs a JSON body"
            )])),
            (Some(None), None) => Ok(()),
            (Some(None), Some(_)) => Err(Violations(vec![format!(
                "{operation_id} {status} has no body"
            )])),
        }
    }

    /// Whether the spec has the operation `id` (an operation a later release adds is served
    /// only by a fake whose spec has it).
    pub fn has_operation(&self, id: &str) -> bool {
        self.operations.contains_key(id)
    }

    fn operation(&self, id: &str) -> Result<&Operation, Violations> {
        self.operations
            .get(id)
            .ok_or_else(|| Violations(vec![format!("no operation {id} in the spec")]))
    }
}

fn check(validator: &Validator, body: &Value) -> Result<(), Violations> {
    let problems = validator.problems(body);
    if problems.is_empty() {
        return Ok(());
    }
    let mut lines: Vec<String> = problems.iter().map(Problem::to_string).collect();
    if problems.len() >= schema::MAX_PROBLEMS {
        lines.push(format!(
            "(the check stopped after {} problems)",
            schema::MAX_PROBLEMS
        ));
    }
    Err(Violations(lines))
}

/// Follows a local `$ref` (e.g. to `#/components/responses/...`).
fn resolve<'a>(doc: &'a Value, node: &'a Value) -> &'a Value {
    match node
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
    {
        Some(pointer) => doc.pointer(pointer).unwrap_or(node),
        None => node,
    }
}

fn json_schema_of(body_or_response: &Value) -> Option<&Value> {
    body_or_response
        .get("content")?
        .get("application/json")?
        .get("schema")
}

fn definitions(doc: &Value) -> Result<Definitions, String> {
    Definitions::of(doc).map_err(|e| format!("#/components/schemas: {e}"))
}

fn compile(defs: &Arc<Definitions>, schema: &Value) -> Result<Validator, String> {
    // The component schemas' patterns are compiled; a body's inline schema may add its own.
    let mut extra = Definitions::default();
    extra.compile_patterns(schema)?;
    let defs = if extra.is_empty() {
        defs.clone()
    } else {
        Arc::new(defs.with(extra))
    };
    Ok(Validator {
        schema: schema.clone(),
        defs,
    })
}

/// Checks `value` against one OpenAPI 3.0 `schema` of `doc` (its `#/components/schemas`
/// references resolved), e.g. a schema's own `default`.
pub fn check_value(doc: &Value, schema: &Value, value: &Value) -> Result<(), Violations> {
    let defs = definitions(doc).map_err(|e| Violations(vec![e]))?;
    let validator =
        compile(&Arc::new(defs), schema).map_err(|e| Violations(vec![format!("schema: {e}")]))?;
    check(&validator, value)
}

/// Translates an OpenAPI 3.0 schema into JSON Schema 2020-12: `nullable` becomes a `null`
/// type (or an `anyOf` with one), boolean `exclusiveMinimum/Maximum` become numeric,
/// `#/components/schemas/X` references become `#/$defs/X`, and annotations JSON Schema does
/// not know (`example`, `discriminator`, `xml`, `externalDocs`) are dropped.
pub fn to_json_schema(schema: &Value) -> Value {
    let Value::Object(map) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in map {
        let converted = match key.as_str() {
            "nullable" | "example" | "discriminator" | "xml" | "externalDocs" => continue,
            "exclusiveMinimum" | "exclusiveMaximum" if value.is_boolean() => continue,
            "$ref" => match value.as_str() {
                Some(r) => json!(r.replacen("#/components/schemas/", "#/$defs/", 1)),
                None => value.clone(),
            },
            "properties" | "patternProperties" => match value {
                Value::Object(props) => Value::Object(
                    props
                        .iter()
                        .map(|(k, v)| (k.clone(), to_json_schema(v)))
                        .collect(),
                ),
                other => other.clone(),
            },
            "items" | "not" | "additionalProperties" => to_json_schema(value),
            "allOf" | "anyOf" | "oneOf" => match value {
                Value::Array(items) => Value::Array(items.iter().map(to_json_schema).collect()),
                other => other.clone(),
            },
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    for (flag, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if map.get(flag) == Some(&Value::Bool(true))
            && let Some(limit) = out.remove(bound)
        {
            out.insert(flag.to_owned(), limit);
        }
    }
    if map.get("nullable") == Some(&Value::Bool(true)) {
        match out.get_mut("type") {
            Some(Value::String(t)) => {
                let t = t.clone();
                out.insert("type".into(), json!([t, "null"]));
                if let Some(Value::Array(values)) = out.get_mut("enum") {
                    values.push(Value::Null);
                }
            }
            _ => return json!({"anyOf": [Value::Object(out), {"type": "null"}]}),
        }
    }
    Value::Object(out)
}

/// Every `pattern` in `doc` compiles with `regress` (the ECMAScript engine the generated client
/// uses, whose generated code would panic on one that does not): `cargo xtask spec pull` and
/// `cargo xtask check` refuse a document with one, naming its JSON pointer.
pub fn check_patterns(doc: &Value) -> Result<(), String> {
    fn walk(value: &Value, pointer: &str, bad: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    let here = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                    if key == "pattern"
                        && let Value::String(p) = child
                    {
                        if let Err(e) = regress::Regex::new(p) {
                            bad.push(format!("{here}: {p:?} does not compile: {e}"));
                        }
                        continue;
                    }
                    walk(child, &here, bad);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    walk(child, &format!("{pointer}/{i}"), bad);
                }
            }
            _ => {}
        }
    }
    let mut bad = Vec::new();
    walk(doc, "", &mut bad);
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "patterns that cannot be compiled:\n{}",
            bad.join("\n")
        ))
    }
}

/// One `example` in a document that does not validate against its schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadExample {
    /// JSON pointer of the example.
    pub pointer: String,
    /// Why it does not validate.
    pub problems: Violations,
}

/// Validates every `example` that sits beside a schema: in component schemas (and their
/// properties), parameters and media types. Returns how many were checked, and the failures.
pub fn check_examples(doc: &Value) -> Result<(usize, Vec<BadExample>), String> {
    let defs = Arc::new(definitions(doc)?);
    let mut found = Vec::new();
    collect_examples(doc, "", &mut found);
    let mut bad = Vec::new();
    for (pointer, schema, example) in &found {
        let validator = compile(&defs, schema).map_err(|e| format!("{pointer}: {e}"))?;
        if let Err(problems) = check(&validator, example) {
            bad.push(BadExample {
                pointer: pointer.clone(),
                problems,
            });
        }
    }
    Ok((found.len(), bad))
}

fn collect_examples(node: &Value, pointer: &str, out: &mut Vec<(String, Value, Value)>) {
    match node {
        Value::Object(map) => {
            if let Some(example) = map.get("example") {
                // A schema's own example, or a parameter's/media type's next to its `schema`.
                let schema = match map.get("schema") {
                    Some(schema) => Some(schema.clone()),
                    None if looks_like_schema(map) => Some(node.clone()),
                    None => None,
                };
                if let Some(schema) = schema {
                    out.push((format!("{pointer}/example"), schema, example.clone()));
                }
            }
            for (key, value) in map {
                if key == "example" {
                    continue;
                }
                let escaped = key.replace('~', "~0").replace('/', "~1");
                collect_examples(value, &format!("{pointer}/{escaped}"), out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect_examples(item, &format!("{pointer}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn looks_like_schema(map: &Map<String, Value>) -> bool {
    [
        "type",
        "properties",
        "items",
        "oneOf",
        "anyOf",
        "allOf",
        "$ref",
        "enum",
    ]
    .iter()
    .any(|k| map.contains_key(*k))
}
