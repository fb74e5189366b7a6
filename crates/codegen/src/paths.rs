//! Every operation's path parameters as one value, derived from the spec: the part of each
//! ergonomic builder that generation can know. For each operation the generated module
//! `paths` has a struct named as progenitor names the operation's request builder
//! (`ConnectionsDbtEnvironmentsDelete`), with
//!
//! - a field per path parameter (progenitor's name and type: `Uuid` for `format: uuid`,
//!   `String` for any other string),
//! - `check()`: each parameter refused before anything is sent, named as the spec names it (a
//!   UUID must not be nil; a string must not be blank or hold control characters, and must be
//!   one path segment),
//! - `request(api)`: the generated request builder with every path parameter set.
//!
//! A builder of the crate holds one of these and adds only what generation cannot know. A path
//! parameter Omni adds to an operation becomes a field here, and the handle that builds the
//! request no longer compiles until it supplies it: it cannot be forgotten.

use serde_json::Value;

use crate::derive::field_name;

/// The Rust type of a path parameter and the check that goes with it.
enum Kind {
    Uuid,
    Text,
}

struct Parameter {
    /// As the spec names it (`connectionId`): what an error says.
    name: String,
    /// progenitor's name (`connection_id`): the field and the builder's setter.
    field: String,
    kind: Kind,
}

/// The module's source, or an error naming the operation whose path parameter has a type the
/// table does not know (the crate's builders could not carry it).
pub fn generate(doc: &Value) -> Result<String, String> {
    let mut out = String::from(
        "/// Every operation's path parameters (`crates/codegen/src/paths.rs`): what the crate's \
         builders hold and check. Operations the crate has no builder for (used only through \
         `Client::api()`) leave theirs unused.\n\
         #[allow(dead_code)]\n\
         pub mod paths {\n",
    );
    for (path, method, operation, shared) in crate::operations(doc) {
        let Some(id) = operation.get("operationId").and_then(Value::as_str) else {
            continue;
        };
        let parameters = path_parameters(shared, operation, method, path)?;
        struct_of(&mut out, id, method, path, &parameters);
    }
    out.push_str("}\n");
    Ok(out)
}

/// The operation's path parameters in the order the path names them; an operation's own
/// parameter overrides the path item's of the same name (OpenAPI's rule).
fn path_parameters(
    shared: Option<&Value>,
    operation: &Value,
    method: &str,
    path: &str,
) -> Result<Vec<Parameter>, String> {
    let declared: Vec<&Value> = operation
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .chain(shared.and_then(Value::as_array).into_iter().flatten())
        .filter(|p| p.get("in").and_then(Value::as_str) == Some("path"))
        .collect();
    let mut parameters = Vec::new();
    for name in placeholders(path) {
        let Some(parameter) = declared
            .iter()
            .find(|p| p.get("name").and_then(Value::as_str) == Some(name))
        else {
            return Err(format!(
                "{} {path}: the path names {{{name}}}, which no path parameter declares",
                method.to_uppercase()
            ));
        };
        let schema = parameter.get("schema");
        let of = |key: &str| schema.and_then(|s| s.get(key)).and_then(Value::as_str);
        let kind = match (of("type"), of("format")) {
            (Some("string"), Some("uuid")) => Kind::Uuid,
            (Some("string"), _) => Kind::Text,
            (other, _) => {
                return Err(format!(
                    "{} {path}: path parameter {name} is of type {}, which omni-dbt's builders \
                     do not carry (crates/codegen/src/paths.rs)",
                    method.to_uppercase(),
                    other.unwrap_or("(none)")
                ));
            }
        };
        parameters.push(Parameter {
            name: name.to_owned(),
            field: field_name(name),
            kind,
        });
    }
    Ok(parameters)
}

/// The `{name}`s of a path template, in order.
fn placeholders(path: &str) -> impl Iterator<Item = &str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

/// progenitor's type name for an operation's builder: the operationId in Pascal case.
fn type_name(operation_id: &str) -> String {
    field_name(operation_id)
        .trim_end_matches('_')
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

fn struct_of(out: &mut String, id: &str, method: &str, path: &str, parameters: &[Parameter]) {
    let name = type_name(id);
    let method_name = field_name(id).trim_end_matches('_').to_owned();
    let fields: String = parameters
        .iter()
        .map(|p| {
            let rust = match p.kind {
                Kind::Uuid => "::uuid::Uuid",
                Kind::Text => "::std::string::String",
            };
            format!("/// `{}`.\npub {}: {rust},\n", p.name, p.field)
        })
        .collect();
    let checks: String = parameters
        .iter()
        .map(|p| match p.kind {
            Kind::Uuid => format!(
                "crate::validate::nonnil({:?}, self.{})?;\n",
                p.name, p.field
            ),
            Kind::Text => format!(
                "crate::validate::path_text({:?}, &self.{})?;\n",
                p.name, p.field
            ),
        })
        .collect();
    let setters: String = parameters
        .iter()
        .map(|p| match p.kind {
            Kind::Uuid => format!(".{0}(self.{0})", p.field),
            Kind::Text => format!(".{0}(self.{0}.clone())", p.field),
        })
        .collect();
    let method_upper = method.to_uppercase();
    out.push_str(&format!(
        "/// The path parameters of `{id}` (`{method_upper} {path}`).\n\
         #[derive(Clone, Debug, PartialEq, Eq)]\n\
         pub struct {name} {{\n{fields}}}\n\
         impl {name} {{\n\
         /// Each path parameter checked before anything is sent, named as the spec names it.\n\
         pub fn check(&self) -> crate::error::Result<()> {{\n{checks}Ok(())\n}}\n\
         /// The generated request, every path parameter set.\n\
         pub fn request<'a>(&self, api: &'a super::Client) -> super::builder::{name}<'a> {{\n\
         api.{method_name}(){setters}\n}}\n\
         }}\n"
    ));
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc(path: &str, parameters: Value) -> Value {
        json!({"paths": {path: {
            "parameters": [{"name": "shared", "in": "path", "schema": {"type": "string"}}],
            "delete": {"operationId": "modelsDeleteBranch", "parameters": parameters},
        }}})
    }

    #[test]
    fn each_path_parameter_is_a_field_checked_and_set_in_the_paths_order() {
        let out = generate(&doc(
            "/v1/models/{modelId}/branch/{branchName}/{shared}",
            json!([
                {"name": "branchName", "in": "path", "schema": {"type": "string"}},
                {"name": "pageSize", "in": "query", "schema": {"type": "integer"}},
                {"name": "modelId", "in": "path", "schema": {"type": "string", "format": "uuid"}},
            ]),
        ))
        .unwrap();
        assert!(out.contains("pub struct ModelsDeleteBranch {"), "{out}");
        assert!(out.contains("pub model_id: ::uuid::Uuid,"), "{out}");
        assert!(
            out.contains("pub branch_name: ::std::string::String,"),
            "{out}"
        );
        assert!(out.contains("pub shared: ::std::string::String,"), "{out}");
        assert!(!out.contains("page_size"), "{out}");
        assert!(
            out.contains(
                "crate::validate::nonnil(\"modelId\", self.model_id)?;\n\
                 crate::validate::path_text(\"branchName\", &self.branch_name)?;\n\
                 crate::validate::path_text(\"shared\", &self.shared)?;\nOk(())"
            ),
            "{out}"
        );
        assert!(
            out.contains(
                "-> super::builder::ModelsDeleteBranch<'a> {\napi.models_delete_branch()\
                 .model_id(self.model_id).branch_name(self.branch_name.clone())\
                 .shared(self.shared.clone())\n}"
            ),
            "{out}"
        );
        syn::parse_str::<syn::File>(&out).unwrap();
    }

    #[test]
    fn an_operation_without_path_parameters_has_an_empty_one() {
        let out =
            generate(&json!({"paths": {"/v1/models": {"get": {"operationId": "modelsList"}}}}))
                .unwrap();
        assert!(out.contains("pub struct ModelsList {\n}"), "{out}");
        assert!(out.contains("api.models_list()\n}"), "{out}");
    }

    #[test]
    fn an_unknown_type_or_an_undeclared_placeholder_is_named() {
        let err = generate(&doc(
            "/v1/models/{modelId}",
            json!([{"name": "modelId", "in": "path", "schema": {"type": "integer"}}]),
        ))
        .unwrap_err();
        assert_eq!(
            err,
            "DELETE /v1/models/{modelId}: path parameter modelId is of type integer, which \
             omni-dbt's builders do not carry (crates/codegen/src/paths.rs)"
        );
        let err = generate(&doc("/v1/models/{other}", json!([]))).unwrap_err();
        assert!(
            err.contains("names {other}, which no path parameter declares"),
            "{err}"
        );
    }

    #[test]
    fn type_names_are_progenitors() {
        assert_eq!(
            type_name("connectionsDbtEnvironmentsDelete"),
            "ConnectionsDbtEnvironmentsDelete"
        );
        assert_eq!(type_name("scimUsersList"), "ScimUsersList");
    }
}
