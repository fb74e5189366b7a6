//! Types derived from the spec by rules that progenitor and typify do not have, so that a
//! property Omni adds to these schemas reaches users with no hand edit:
//!
//! - a **patch body** for a request body: every optional property is sent only when the caller
//!   set it (a `default` in the spec is Omni's behaviour when the key is absent, not a value to
//!   write out); an optional nullable property has three states (`omni_dbt::Patch`: absent, `null`,
//!   value); the spec's string rules (`minLength`, `maxLength`, `pattern`) are checked by a
//!   generated `validate()`; and the builder that owns the body gets a setter per property;
//! - a **tolerant answer**: decodes what Omni sends even when it leaves out a property the spec
//!   calls required but that has a natural empty value (a boolean is `false`, a nullable one
//!   `null`, a list empty, a list sent as one object is a list of one), so that an older
//!   instance's answer without a newly added property still decodes.

use std::fmt::Write as _;

use serde_json::{Map, Value};

/// What a derived type is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A request body sent as a patch.
    Body {
        /// The macro that expands, inside the `impl` of a builder holding the body in a field
        /// named `body`, to a setter for every property not in `hand_written` (so the generated
        /// code never names the hand-written builder).
        setters: &'static str,
        /// Properties whose setters are hand-written (what generation cannot know).
        hand_written: &'static [&'static str],
    },
    /// An answer, decoded tolerantly.
    Answer,
}

/// The schemas derived here, by component name.
pub const DERIVED: &[(&str, Role)] = &[
    (
        "DbtEnvironmentCreateBody",
        Role::Body {
            setters: "dbt_environment_create_body_setters",
            // Variables are collected as the crate's redacting models.
            hand_written: &["variables"],
        },
    ),
    (
        "DbtEnvironmentUpdateBody",
        Role::Body {
            setters: "dbt_environment_update_body_setters",
            hand_written: &["variables"],
        },
    ),
    ("DbtEnvironmentItem", Role::Answer),
];

/// Where the derived types live in the crate.
pub const MODULE: &str = "crate::generated::types";

const PATCH: &str = "crate::patch::Patch";
const INTO_PATCH: &str = "crate::patch::IntoPatch";
const ONE_OR_MANY: &str = "crate::decode::one_or_many";

/// The replacement path of each derived schema, for progenitor.
pub fn replacements() -> impl Iterator<Item = (&'static str, String)> {
    DERIVED
        .iter()
        .map(|(name, _)| (*name, format!("{MODULE}::{name}")))
}

/// A property's Rust type and whether it may be `null`.
struct Shape {
    rust: String,
    nullable: bool,
    /// `true` for a list (decoded one-or-many in answers).
    list: bool,
}

/// The derived types' source (items for the generated `types` module), or an error
/// naming the schema that is missing or not an object.
pub fn generate(doc: &Value, replaced: &[(&str, &str)]) -> Result<String, String> {
    let schemas = doc
        .pointer("/components/schemas")
        .and_then(Value::as_object);
    let mut out = String::new();
    out.push_str(PRELUDE);
    for (name, role) in DERIVED {
        let Some(schema) = schemas.and_then(|s| s.get(*name)) else {
            return Err(format!(
                "the spec has no schema {name}, which omni-dbt derives ({})",
                "crates/codegen/src/derive.rs"
            ));
        };
        let properties = schema
            .get("properties")
            .and_then(Value::as_object)
            .ok_or_else(|| format!("{name}: omni-dbt derives it, but it has no properties"))?;
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let description = schema
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or(name);
        match role {
            Role::Body {
                setters,
                hand_written,
            } => body(
                &mut out,
                name,
                description,
                properties,
                &required,
                replaced,
                setters,
                hand_written,
            ),
            Role::Answer => answer(&mut out, name, description, properties, &required, replaced),
        }
    }
    for table in TABLES {
        property_table(&mut out, doc, table)?;
    }
    page_sizes(&mut out, doc);
    Ok(out)
}

/// For every operation with a `pageSize` query parameter, the largest page the spec allows
/// (its `maximum`), as `<OPERATION_ID>_MAX_PAGE_SIZE: Option<u32>` (`None` without one): what
/// a list that reads every page asks for, read from the spec rather than written by hand.
fn page_sizes(out: &mut String, doc: &Value) {
    for (_, _, operation, _) in crate::operations(doc) {
        let Some(id) = operation.get("operationId").and_then(Value::as_str) else {
            continue;
        };
        let page_size = operation
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|p| p["name"] == "pageSize" && p["in"] == "query");
        let Some(parameter) = page_size else { continue };
        let maximum = parameter
            .pointer("/schema/maximum")
            .and_then(Value::as_f64)
            .filter(|m| m.fract() == 0.0 && (1.0..=f64::from(u32::MAX)).contains(m));
        let constant = field_name(id).to_ascii_uppercase();
        let value = match maximum {
            // An integral value in range, checked above.
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            Some(m) => format!("Some({})", m as u32),
            None => "None".to_owned(),
        };
        out.push_str(&format!(
            "/// The largest `pageSize` the spec allows `{id}` (its `maximum`).\n\
             pub const {constant}_MAX_PAGE_SIZE: ::std::option::Option<u32> = {value};\n"
        ));
    }
}

/// A table of a resource's properties, derived from its answer and its create and update
/// bodies: what tools driven by the spec (the CLI, the environments file, its schema) read
/// instead of naming each property.
pub struct Table {
    /// The constant's name.
    pub constant: &'static str,
    /// What the rows describe, for the constant's docs.
    pub resource: &'static str,
    /// The answer's schema (what can be read back), as a JSON pointer into the spec (a
    /// component, or an operation's inline schema); a `$ref` there is followed.
    pub answer: &'static str,
    /// The create body's schema (a JSON pointer).
    pub create: &'static str,
    /// The update body's schema (a JSON pointer; the same as `create` for a resource set
    /// whole).
    pub update: &'static str,
    /// A macro of setters, one per property the update body takes, for the `impl` of a
    /// builder that keeps its body by the spec's names
    /// (a `fn with(self, &str, serde_json::Value) -> Self`): `None` when the resource's builders
    /// hold a derived patch body instead.
    pub setters: Option<&'static str>,
}

/// The tables derived here.
pub const TABLES: &[Table] = &[
    Table {
        constant: "DBT_ENVIRONMENT_PROPERTIES",
        resource: "a dbt environment",
        answer: "/components/schemas/DbtEnvironmentItem",
        create: "/components/schemas/DbtEnvironmentCreateBody",
        update: "/components/schemas/DbtEnvironmentUpdateBody",
        // The create and update bodies are derived patch bodies, with their own setters.
        setters: None,
    },
    Table {
        constant: "DBT_CONFIG_PROPERTIES",
        resource: "a connection's dbt configuration",
        // The configured branch of `GET .../dbt`'s answer (the other is Omni's message).
        answer: "/paths/~1v1~1connections~1{connectionId}~1dbt/get/responses/200/content/application~1json/schema/anyOf/0",
        create: "/paths/~1v1~1connections~1{connectionId}~1dbt/put/requestBody/content/application~1json/schema",
        update: "/paths/~1v1~1connections~1{connectionId}~1dbt/put/requestBody/content/application~1json/schema",
        // `UpdateDbtConfig` keeps its body by the spec's names.
        setters: Some("dbt_config_setters"),
    },
];

/// The schema at `pointer` in `doc`, its `$ref` (to a component) followed.
fn schema_at<'a>(doc: &'a Value, pointer: &str) -> Option<&'a Value> {
    let found = doc.pointer(pointer)?;
    match found.get("$ref").and_then(Value::as_str) {
        Some(reference) => doc.pointer(reference.strip_prefix('#')?),
        None => Some(found),
    }
}

/// Where the table's row type lives in the crate.
const PROPERTY: &str = "crate::fields::Property";
const KIND: &str = "crate::fields::Kind";

/// One row of a property table, as data (rendered as Rust by [`generate`], and read by
/// [`crate::environments_file`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The JSON name.
    pub json: String,
    /// The Rust field name.
    pub rust: String,
    /// The name in kebab case (`target-schema`): the CLI's flag.
    pub kebab: String,
    /// `String`, `Uuid`, `Boolean`, `Integer`, `Number`, `List` or `Object`.
    pub kind: &'static str,
    /// May be `null`.
    pub nullable: bool,
    /// Required to create.
    pub required: bool,
    /// In the create body.
    pub in_create: bool,
    /// In the update body.
    pub in_update: bool,
    /// In the answer.
    pub in_answer: bool,
    /// `minLength`.
    pub min_length: Option<u64>,
    /// `maxLength`.
    pub max_length: Option<u64>,
    /// `pattern`.
    pub pattern: Option<String>,
    /// `minimum`.
    pub minimum: Option<f64>,
    /// `maximum`.
    pub maximum: Option<f64>,
    /// `enum` (strings).
    pub values: Vec<String>,
    /// The spec's description.
    pub description: String,
    /// The spec's `example`, if any.
    pub example: Option<Value>,
    /// `writeOnly` or `format: password`.
    pub secret: bool,
}

/// The rows of `table`: required to create first, then the create body's order, then what
/// only an update sets.
pub fn rows(doc: &Value, table: &Table) -> Result<Vec<Row>, String> {
    let schema = |pointer: &str| {
        schema_at(doc, pointer).ok_or_else(|| {
            format!(
                "the spec has no schema at {pointer}, which omni-dbt's {} table reads",
                table.constant
            )
        })
    };
    let (answer, create, update) = (
        schema(table.answer)?,
        schema(table.create)?,
        schema(table.update)?,
    );
    let props = |s: &Value| {
        s.get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    };
    let required: Vec<String> = create
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    let (answer_props, create_props, update_props) = (props(answer), props(create), props(update));
    let mut names: Vec<&String> = create_props
        .keys()
        .filter(|k| required.contains(k))
        .collect();
    names.extend(create_props.keys().filter(|k| !required.contains(k)));
    names.extend(
        update_props
            .keys()
            .filter(|k| !create_props.contains_key(*k)),
    );
    let mut out = Vec::new();
    for name in names {
        let in_create = create_props.get(name);
        let in_update = update_props.get(name);
        let in_answer = answer_props.get(name);
        let bodies: Vec<&Value> = [in_create, in_update].into_iter().flatten().collect();
        let sources: Vec<&Value> = bodies.iter().copied().chain(in_answer).collect();
        let s = shape(bodies[0], &[]);
        let kind = if s.list {
            "List"
        } else {
            match s.rust.as_str() {
                "::std::string::String" => "String",
                "::uuid::Uuid" => "Uuid",
                "bool" => "Boolean",
                "i64" => "Integer",
                "f64" => "Number",
                _ => "Object",
            }
        };
        // A constraint of the value itself (inside a nullable wrapper too), from the bodies.
        let constraint = |key: &str| -> Option<Value> {
            bodies.iter().find_map(|body| {
                std::iter::once(*body)
                    .chain(
                        ["anyOf", "oneOf"]
                            .iter()
                            .filter_map(|k| body.get(*k).and_then(Value::as_array))
                            .flatten(),
                    )
                    .find_map(|c| c.get(key).cloned())
            })
        };
        out.push(Row {
            json: name.clone(),
            rust: field_name(name),
            kebab: kebab(name),
            kind,
            nullable: sources.iter().any(|v| shape(v, &[]).nullable),
            required: required.contains(name),
            in_create: in_create.is_some(),
            in_update: in_update.is_some(),
            in_answer: in_answer.is_some(),
            min_length: constraint("minLength").and_then(|v| v.as_u64()),
            max_length: constraint("maxLength").and_then(|v| v.as_u64()),
            pattern: constraint("pattern").and_then(|v| v.as_str().map(str::to_owned)),
            minimum: constraint("minimum").and_then(|v| v.as_f64()),
            maximum: constraint("maximum").and_then(|v| v.as_f64()),
            values: constraint("enum")
                .and_then(|v| v.as_array().cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            description: sources
                .iter()
                .find_map(|v| v.get("description").and_then(Value::as_str))
                .unwrap_or_default()
                .to_owned(),
            example: bodies
                .iter()
                .find_map(|v| v.get("example").filter(|e| !e.is_null()).cloned()),
            secret: sources.iter().any(|v| {
                v.get("writeOnly").and_then(Value::as_bool) == Some(true)
                    || v.get("format").and_then(Value::as_str) == Some("password")
            }),
        });
    }
    Ok(out)
}

fn property_table(out: &mut String, doc: &Value, table: &Table) -> Result<(), String> {
    let _ = writeln!(
        out,
        "/// The properties of {} that a create or an update sets, derived from the spec's \
         schemas at `{}`, `{}` and `{}`: required to create first, then in the spec's order.\n\
         pub const {}: &[{PROPERTY}] = &[",
        table.resource, table.create, table.update, table.answer, table.constant
    );
    let some = |v: Option<String>| v.map_or_else(|| "None".to_owned(), |v| format!("Some({v})"));
    for row in rows(doc, table)? {
        let values: Vec<String> = row.values.iter().map(|v| literal(v)).collect();
        let _ = writeln!(
            out,
            "{PROPERTY} {{ json: {json}, rust: {rust}, kebab: {kebab}, kind: {KIND}::{kind}, nullable: {nullable}, \
             required: {required}, in_create: {ic}, in_update: {iu}, in_answer: {ia}, \
             min_length: {min_length}, max_length: {max_length}, pattern: {pattern}, \
             minimum: {minimum}, maximum: {maximum}, values: &[{values}], \
             description: {description}, secret: {secret} }},",
            json = literal(&row.json),
            rust = literal(&row.rust),
            kebab = literal(&row.kebab),
            kind = row.kind,
            nullable = row.nullable,
            required = row.required,
            ic = row.in_create,
            iu = row.in_update,
            ia = row.in_answer,
            min_length = some(row.min_length.map(|n| n.to_string())),
            max_length = some(row.max_length.map(|n| n.to_string())),
            pattern = some(row.pattern.as_deref().map(literal)),
            minimum = some(row.minimum.map(|n| format!("{n:?}"))),
            maximum = some(row.maximum.map(|n| format!("{n:?}"))),
            values = values.join(", "),
            description = literal(&row.description),
            secret = row.secret,
        );
    }
    out.push_str("];\n");
    if let Some(name) = table.setters {
        by_name_setters(out, name, table, &rows(doc, table)?);
    }
    Ok(())
}

/// The setters of a builder that keeps its body by the spec's names (see [`Table::setters`]):
/// one per property the update body takes, of the Rust type its kind reads as; a list or an
/// object is set through the builder's `set_property` instead. Values are checked against the
/// table's rules when the builder sends, as every value set by name is.
fn by_name_setters(out: &mut String, name: &str, table: &Table, rows: &[Row]) {
    let mut setters = String::new();
    for row in rows.iter().filter(|r| r.in_update) {
        let (param, value) = match row.kind {
            "String" => (
                "impl ::std::convert::Into<::std::string::String>",
                "::serde_json::Value::String(value.into())",
            ),
            "Uuid" => (
                "::uuid::Uuid",
                "::serde_json::Value::String(value.to_string())",
            ),
            "Boolean" => ("bool", "::serde_json::Value::Bool(value)"),
            "Integer" => ("i64", "::serde_json::Value::from(value)"),
            "Number" => ("f64", "::serde_json::Value::from(value)"),
            _ => continue,
        };
        let field = &row.rust;
        let json = literal(&row.json);
        doc_comment(&mut setters, &row.description);
        let needed = if row.required {
            "Required by Omni: `send` refuses a body without it."
        } else {
            "Sent only when called: Omni's own default applies otherwise."
        };
        doc_comment(&mut setters, &format!("\n`{}`. {needed}", row.json));
        let _ = writeln!(
            setters,
            "pub fn {field}(self, value: {param}) -> Self {{ self.with({json}, {value}) }}"
        );
    }
    let _ = writeln!(
        out,
        "/// Setters for every property of {} that the update body takes, for the `impl` of a \
         builder that keeps its body by the spec's names.\n\
         macro_rules! {name} {{ () => {{\n{setters}}}; }}\n\
         pub(crate) use {name};",
        table.resource
    );
}

const PRELUDE: &str = r#"
/// A request body's value that breaks a rule the spec states for its field.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuleViolation {
    /// The field, as the spec names it.
    pub field: &'static str,
    /// The rule it breaks.
    pub rule: String,
}

impl ::std::fmt::Display for RuleViolation {
    fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
        write!(f, "{} {}", self.field, self.rule)
    }
}

impl ::std::error::Error for RuleViolation {}

fn check_text(
    field: &'static str,
    value: &str,
    min: Option<usize>,
    max: Option<usize>,
    pattern: Option<(&str, &::std::sync::LazyLock<Option<::regress::Regex>>)>,
) -> Result<(), RuleViolation> {
    let length = value.chars().count();
    let broken = |rule: String| Err(RuleViolation { field, rule });
    if let Some(min) = min {
        if length < min {
            return broken(format!("must be at least {min} character(s) long (minLength {min})"));
        }
    }
    if let Some(max) = max {
        if length > max {
            return broken(format!("must be at most {max} character(s) long (maxLength {max})"));
        }
    }
    if let Some((source, regex)) = pattern {
        match regex.as_ref() {
            Some(regex) if regex.find(value).is_some() => {}
            Some(_) => return broken(format!("must match the pattern {source}")),
            None => return broken(format!("has a pattern the client cannot compile: {source}")),
        }
    }
    Ok(())
}
"#;

/// A property's name in kebab case (`isDeferralEnabled` → `is-deferral-enabled`).
pub fn kebab(json: &str) -> String {
    let mut out = String::new();
    for c in json.chars() {
        if c.is_ascii_uppercase() {
            if !out.is_empty() {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else if c == '_' {
            out.push('-');
        } else {
            out.push(c);
        }
    }
    out
}

/// The Rust field name of a property (snake case, keywords escaped).
pub fn field_name(property: &str) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in property.chars() {
        if c.is_ascii_uppercase() {
            if previous_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            previous_lower = false;
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
            previous_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else {
            out.push('_');
            previous_lower = false;
        }
    }
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "box", "break", "const", "continue", "crate", "dyn", "else",
        "enum", "extern", "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match",
        "mod", "move", "mut", "priv", "pub", "ref", "return", "self", "static", "struct", "super",
        "trait", "true", "try", "type", "unsafe", "use", "where", "while", "yield",
    ];
    if KEYWORDS.contains(&out.as_str()) {
        out.push('_');
    }
    out
}

fn component_path(reference: &str, replaced: &[(&str, &str)]) -> String {
    let name = reference.trim_start_matches("#/components/schemas/");
    if let Some((_, path)) = replaced.iter().find(|(n, _)| *n == name) {
        return (*path).to_owned();
    }
    format!("{MODULE}::{name}")
}

fn is_null_schema(s: &Value) -> bool {
    s.get("type").and_then(Value::as_str) == Some("null")
        || s.get("enum")
            .and_then(Value::as_array)
            .is_some_and(|e| e.iter().all(Value::is_null))
}

fn shape(s: &Value, replaced: &[(&str, &str)]) -> Shape {
    let mut nullable = s.get("nullable").and_then(Value::as_bool) == Some(true);
    if let Some(reference) = s.get("$ref").and_then(Value::as_str) {
        return Shape {
            rust: component_path(reference, replaced),
            nullable,
            list: false,
        };
    }
    // `anyOf`/`oneOf` of one schema and null branches: that schema, nullable.
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = s.get(key).and_then(Value::as_array) {
            let others: Vec<&Value> = branches.iter().filter(|b| !is_null_schema(b)).collect();
            if others.len() == 1 {
                let mut inner = shape(others[0], replaced);
                inner.nullable |= nullable || others.len() < branches.len();
                return inner;
            }
            return Shape {
                rust: "::serde_json::Value".into(),
                nullable: true,
                list: false,
            };
        }
    }
    let types: Vec<&str> = match s.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    nullable |= types.contains(&"null");
    let kind: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
    let rust = match kind.as_slice() {
        ["string"] if s.get("format").and_then(Value::as_str) == Some("uuid") => {
            "::uuid::Uuid".to_owned()
        }
        ["string"] => "::std::string::String".to_owned(),
        ["boolean"] => "bool".to_owned(),
        ["integer"] => "i64".to_owned(),
        ["number"] => "f64".to_owned(),
        ["array"] => {
            let item = s
                .get("items")
                .map(|i| shape(i, replaced))
                .map_or_else(|| "::serde_json::Value".to_owned(), |i| i.rust);
            return Shape {
                rust: format!("::std::vec::Vec<{item}>"),
                nullable,
                list: true,
            };
        }
        _ => "::serde_json::Value".to_owned(),
    };
    Shape {
        rust,
        nullable,
        list: false,
    }
}

fn doc_comment(out: &mut String, text: &str) {
    for line in text.lines() {
        let _ = writeln!(out, "///{}{}", if line.is_empty() { "" } else { " " }, line);
    }
}

fn describe<'a>(schema: &'a Value, fallback: &'a str) -> &'a str {
    schema
        .get("description")
        .and_then(Value::as_str)
        .filter(|d| !d.trim().is_empty())
        .unwrap_or(fallback)
}

/// A Rust string literal.
fn literal(text: &str) -> String {
    format!("{text:?}")
}

#[allow(clippy::too_many_arguments)]
fn body(
    out: &mut String,
    name: &str,
    description: &str,
    properties: &Map<String, Value>,
    required: &[&str],
    replaced: &[(&str, &str)],
    setters_macro: &str,
    hand_written: &[&str],
) {
    let all_optional = properties.keys().all(|p| !required.contains(&p.as_str()));
    doc_comment(out, description);
    doc_comment(
        out,
        "\nA patch body derived from the spec: an optional property is sent only when set, and a \
         nullable one can be left out (`Patch::Unchanged`), cleared (`Patch::Clear`, `null`) or \
         set.",
    );
    let derives = if all_optional {
        "Clone, Debug, Default, PartialEq, ::serde::Serialize, ::serde::Deserialize"
    } else {
        "Clone, Debug, PartialEq, ::serde::Serialize, ::serde::Deserialize"
    };
    let _ = writeln!(
        out,
        "#[derive({derives})]\n#[non_exhaustive]\npub struct {name} {{"
    );
    let mut setters = String::new();
    let mut checks = String::new();
    let mut arms = String::new();
    let mut required_args = Vec::new();
    for (property, schema) in properties {
        let field = field_name(property);
        let s = shape(schema, replaced);
        let is_required = required.contains(&property.as_str());
        doc_comment(out, describe(schema, property));
        let rust = s.rust.clone();
        let (ty, access) = if is_required {
            let ty = if s.nullable {
                format!("::std::option::Option<{rust}>")
            } else {
                rust.clone()
            };
            let _ = writeln!(out, "#[serde(rename = {})]", literal(property));
            required_args.push((field.clone(), ty.clone()));
            (ty, Access::Required(s.nullable))
        } else if s.nullable {
            let _ = writeln!(
                out,
                "#[serde(rename = {}, default, skip_serializing_if = \"{PATCH}::is_unchanged\")]",
                literal(property)
            );
            (format!("{PATCH}<{rust}>"), Access::Patch)
        } else {
            let _ = writeln!(
                out,
                "#[serde(rename = {}, default, skip_serializing_if = \"::std::option::Option::is_none\")]",
                literal(property)
            );
            (format!("::std::option::Option<{rust}>"), Access::Optional)
        };
        let _ = writeln!(out, "pub {field}: {ty},");
        if rust == "::std::string::String" {
            text_check(&mut checks, property, &field, schema, access);
        }
        if !hand_written.contains(&property.as_str()) {
            let lit = literal(property);
            let decode = match access {
                Access::Required(_) | Access::Patch => format!("decode({lit}, value)?"),
                Access::Optional => format!("Some(decode({lit}, value)?)"),
            };
            let _ = writeln!(arms, "{lit} => self.{field} = {decode},");
        }
        if !is_required && !hand_written.contains(&property.as_str()) {
            setter(&mut setters, property, &field, &rust, schema, access);
        }
    }
    out.push_str("}\n");
    // Constructor from the required fields, and the spec's rules.
    let _ = writeln!(out, "impl {name} {{");
    let args: Vec<String> = required_args
        .iter()
        .map(|(f, t)| format!("{f}: {t}"))
        .collect();
    let fields: Vec<String> = properties
        .keys()
        .map(|p| {
            let f = field_name(p);
            if required.contains(&p.as_str()) {
                f
            } else {
                format!("{f}: ::std::default::Default::default()")
            }
        })
        .collect();
    let _ = writeln!(
        out,
        "/// A body with the required fields set and every optional one left out.\n\
         #[allow(clippy::too_many_arguments)]\n\
         pub fn new({}) -> Self {{ Self {{ {} }} }}",
        args.join(", "),
        fields.join(", ")
    );
    let _ = writeln!(
        out,
        "/// Checks the spec's rules for each field's value (`minLength`, `maxLength`, \
         `pattern`); the first broken one is the error.\n\
         pub fn validate(&self) -> ::std::result::Result<(), RuleViolation> {{\n{checks}Ok(())\n}}"
    );
    let _ = writeln!(
        out,
        "/// Sets the property the spec names `property` from its JSON value (`null` clears a \
         nullable one), for code driven by the spec's property table rather than by one setter \
         per property. An unknown property, one set by the builder's own methods, or a value of \
         the wrong type is the error.\n\
         pub fn set_property(&mut self, property: &str, value: ::serde_json::Value) \
         -> ::std::result::Result<(), RuleViolation> {{\n\
         fn decode<T: ::serde::de::DeserializeOwned>(field: &'static str, value: ::serde_json::Value) \
         -> ::std::result::Result<T, RuleViolation> {{ \
         ::serde_json::from_value(value).map_err(|e| RuleViolation {{ field, rule: format!(\"has the wrong type: {{e}}\") }}) }}\n\
         match property {{\n{arms}\
         _ => return Err(RuleViolation {{ field: \"property\", rule: format!(\"{{property:?}} cannot be set by name on {name}\") }}),\n\
         }}\nOk(())\n}}"
    );
    out.push_str("}\n");
    let _ = writeln!(
        out,
        "/// Setters for every optional property of `{name}`, for the `impl` of a builder whose \
         `body` field holds one.\n\
         macro_rules! {setters_macro} {{ () => {{\n{setters}}}; }}\n\
         pub(crate) use {setters_macro};"
    );
}

#[derive(Clone, Copy)]
enum Access {
    Required(bool),
    Patch,
    Optional,
}

fn text_check(out: &mut String, property: &str, field: &str, schema: &Value, access: Access) {
    // The constraints of the string itself (inside a nullable wrapper too).
    let mut min = schema.get("minLength").and_then(Value::as_u64);
    let mut max = schema.get("maxLength").and_then(Value::as_u64);
    let mut pattern = schema.get("pattern").and_then(Value::as_str);
    for key in ["anyOf", "oneOf"] {
        for branch in schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            min = min.or(branch.get("minLength").and_then(Value::as_u64));
            max = max.or(branch.get("maxLength").and_then(Value::as_u64));
            pattern = pattern.or(branch.get("pattern").and_then(Value::as_str));
        }
    }
    if min.is_none() && max.is_none() && pattern.is_none() {
        return;
    }
    let opt = |n: Option<u64>| n.map_or_else(|| "None".to_owned(), |n| format!("Some({n}usize)"));
    let pattern_arg = match pattern {
        Some(p) => {
            let _ = writeln!(
                out,
                "static PATTERN_{upper}: ::std::sync::LazyLock<Option<::regress::Regex>> = \
                 ::std::sync::LazyLock::new(|| ::regress::Regex::new({lit}).ok());",
                upper = field.to_ascii_uppercase(),
                lit = literal(p)
            );
            format!(
                "Some(({}, &PATTERN_{}))",
                literal(p),
                field.to_ascii_uppercase()
            )
        }
        None => "None".to_owned(),
    };
    let call = format!(
        "check_text({}, value, {}, {}, {pattern_arg})?;",
        literal(property),
        opt(min),
        opt(max)
    );
    let _ = match access {
        Access::Required(false) => writeln!(out, "{{ let value = self.{field}.as_str(); {call} }}"),
        Access::Required(true) | Access::Optional => writeln!(
            out,
            "if let Some(value) = self.{field}.as_deref() {{ {call} }}"
        ),
        Access::Patch => writeln!(
            out,
            "if let {PATCH}::Set(value) = &self.{field} {{ let value = value.as_str(); {call} }}"
        ),
    };
}

fn setter(
    out: &mut String,
    property: &str,
    field: &str,
    rust: &str,
    schema: &Value,
    access: Access,
) {
    let description = describe(schema, property);
    match access {
        Access::Patch => {
            doc_comment(out, description);
            doc_comment(
                out,
                &format!("\nA value sets `{property}`, `None` clears it (sends `null`)."),
            );
            let _ = writeln!(
                out,
                "pub fn {field}(mut self, value: impl {INTO_PATCH}<{rust}>) -> Self {{ \
                 self.body.{field} = value.into_patch(); self }}"
            );
            let _ = writeln!(
                out,
                "/// Sends `\"{property}\": null`.\npub fn clear_{field}(self) -> Self {{ \
                 self.{field}({PATCH}::Clear) }}"
            );
        }
        Access::Optional => {
            doc_comment(out, description);
            doc_comment(
                out,
                "\nSent only when called: Omni's own default applies otherwise.",
            );
            let _ = writeln!(
                out,
                "pub fn {field}(mut self, value: impl ::std::convert::Into<{rust}>) -> Self {{ \
                 self.body.{field} = Some(value.into()); self }}"
            );
        }
        Access::Required(_) => {}
    }
}

fn answer(
    out: &mut String,
    name: &str,
    description: &str,
    properties: &Map<String, Value>,
    required: &[&str],
    replaced: &[(&str, &str)],
) {
    doc_comment(out, description);
    doc_comment(
        out,
        "\nDecoded tolerantly (derived from the spec): a boolean left out is `false`, a nullable \
         value left out is `None`, a list left out or `null` is empty and a list sent as one \
         object is a list of one; unknown properties are ignored.",
    );
    let _ = writeln!(
        out,
        "#[derive(Clone, Debug, PartialEq, ::serde::Serialize, ::serde::Deserialize)]\n\
         #[non_exhaustive]\npub struct {name} {{"
    );
    for (property, schema) in properties {
        let field = field_name(property);
        let s = shape(schema, replaced);
        let is_required = required.contains(&property.as_str());
        doc_comment(out, describe(schema, property));
        let rename = literal(property);
        let ty = if s.list {
            let _ = writeln!(
                out,
                "#[serde(rename = {rename}, default, deserialize_with = \"{ONE_OR_MANY}\")]"
            );
            s.rust.clone()
        } else if s.nullable || !is_required {
            let _ = writeln!(out, "#[serde(rename = {rename}, default)]");
            format!("::std::option::Option<{}>", s.rust)
        } else if s.rust == "bool" {
            let _ = writeln!(out, "#[serde(rename = {rename}, default)]");
            s.rust.clone()
        } else {
            let _ = writeln!(out, "#[serde(rename = {rename})]");
            s.rust.clone()
        };
        let _ = writeln!(out, "pub {field}: {ty},");
    }
    out.push_str("}\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_are_snake_case_and_never_keywords() {
        assert_eq!(field_name("isDeferralEnabled"), "is_deferral_enabled");
        assert_eq!(field_name("dbt_git_branch"), "dbt_git_branch");
        assert_eq!(field_name("type"), "type_");
        assert_eq!(field_name("ID"), "id");
        assert_eq!(field_name("9lives"), "_9lives");
        assert_eq!(field_name("x-y"), "x_y");
        assert_eq!(kebab("isDeferralEnabled"), "is-deferral-enabled");
        assert_eq!(kebab("dbt_git_branch"), "dbt-git-branch");
    }

    #[test]
    fn page_sizes_come_from_the_specs_maximum() {
        let doc = serde_json::json!({"paths": {
            "/a": {"get": {"operationId": "connectionsDbtEnvironmentsList", "parameters": [
                {"name": "pageSize", "in": "query", "schema": {"type": "integer", "maximum": 250}}
            ]}},
            "/b": {"get": {"operationId": "modelsList", "parameters": [
                {"name": "pageSize", "in": "query", "schema": {"type": "integer", "minimum": 0}}
            ]}, "parameters": []},
            "/c": {"get": {"operationId": "odd", "parameters": [
                {"name": "pageSize", "in": "query", "schema": {"maximum": 1.5}},
                {"name": "pageSize", "in": "header", "schema": {"maximum": 7}}
            ]}},
            "/d": {"get": {"operationId": "noPages"}}
        }});
        let mut out = String::new();
        page_sizes(&mut out, &doc);
        assert!(out.contains(
            "pub const CONNECTIONS_DBT_ENVIRONMENTS_LIST_MAX_PAGE_SIZE: ::std::option::Option<u32> = Some(250);"
        ), "{out}");
        assert!(
            out.contains("pub const MODELS_LIST_MAX_PAGE_SIZE: ::std::option::Option<u32> = None;")
        );
        assert!(out.contains("pub const ODD_MAX_PAGE_SIZE: ::std::option::Option<u32> = None;"));
        assert!(!out.contains("NO_PAGES"));
    }

    #[test]
    fn by_name_setters_take_each_kinds_rust_type_and_skip_lists() {
        let doc = serde_json::json!({"paths": {"/c": {"put": {"requestBody": {"content": {
        "application/json": {"schema": {"type": "object", "required": ["type"], "properties": {
            "type": {"type": "string", "description": "A keyword."},
            "owner": {"type": "string", "format": "uuid"},
            "threads": {"type": "integer", "nullable": true, "minimum": 1},
            "ratio": {"type": "number"},
            "on": {"type": "boolean"},
            "tags": {"type": "array", "items": {"type": "string"}}
        }}}}}}}}});
        let table = Table {
            constant: "C",
            resource: "a thing",
            answer: "/paths/~1c/put/requestBody/content/application~1json/schema",
            create: "/paths/~1c/put/requestBody/content/application~1json/schema",
            update: "/paths/~1c/put/requestBody/content/application~1json/schema",
            setters: Some("thing_setters"),
        };
        let mut out = String::new();
        property_table(&mut out, &doc, &table).unwrap();
        for expected in [
            "pub fn type_(self, value: impl ::std::convert::Into<::std::string::String>) -> Self \
             { self.with(\"type\", ::serde_json::Value::String(value.into())) }",
            "pub fn owner(self, value: ::uuid::Uuid) -> Self { self.with(\"owner\", \
             ::serde_json::Value::String(value.to_string())) }",
            "pub fn threads(self, value: i64) -> Self { self.with(\"threads\", \
             ::serde_json::Value::from(value)) }",
            "pub fn ratio(self, value: f64) -> Self",
            "pub fn on(self, value: bool) -> Self { self.with(\"on\", ::serde_json::Value::Bool(value)) }",
            "/// A keyword.\n///\n/// `type`. Required by Omni: `send` refuses a body without it.",
            "/// `threads`. Sent only when called: Omni's own default applies otherwise.",
            "macro_rules! thing_setters { () => {",
            "pub(crate) use thing_setters;",
        ] {
            assert!(out.contains(expected), "{expected}\n{out}");
        }
        assert!(!out.contains("pub fn tags"), "a list is set by name: {out}");
        assert!(
            !out.contains("clear_"),
            "null would not reach the generated body: {out}"
        );
        let code = out.split_once("macro_rules!").unwrap().1;
        syn::parse_str::<syn::File>(&format!("macro_rules!{code}")).unwrap();
    }

    #[test]
    fn shapes_follow_the_schema() {
        let s = shape(&serde_json::json!({"type": ["string", "null"]}), &[]);
        assert_eq!(
            (s.rust.as_str(), s.nullable),
            ("::std::string::String", true)
        );
        let s = shape(
            &serde_json::json!({"anyOf": [{"type": "string", "format": "uuid"}, {"type": "null"}]}),
            &[],
        );
        assert_eq!((s.rust.as_str(), s.nullable), ("::uuid::Uuid", true));
        let s = shape(
            &serde_json::json!({"type": "array", "items": {"$ref": "#/components/schemas/X"}}),
            &[("X", "crate::model::X")],
        );
        assert_eq!(s.rust, "::std::vec::Vec<crate::model::X>");
        let s = shape(&serde_json::json!({"type": "object"}), &[]);
        assert_eq!(s.rust, "::serde_json::Value");
    }
}
