//! Rules for the code progenitor writes to send each request, applied to its output before it
//! is printed. They change how a request is built, never what is sent (the tests of the
//! `omni-dbt` crate assert every request's method, path, headers and body) nor any signature.
//!
//! - **No `api-version` header.** progenitor adds `api-version: <info.version>` to every request
//!   (for Dropshot servers' versioning), with no setting to turn it off
//!   (oxidecomputer/progenitor#1120). Omni documents no such header, and the hook has stripped
//!   it from every request. Building it (a header map of its own, merged into the request's) and
//!   removing it cost ~2.5k cycles a call (estimated from cachegrind's counts): the statement
//!   that appends it is dropped, and the header map's capacity is the request's header
//!   parameters alone (none in Omni's spec: no allocation).
//! - **UUID path parameters written as they are.** progenitor writes each path parameter as
//!   `encode_path(&id.to_string())`: formatted into a `String`, then percent-encoded into
//!   another. A UUID's text is hex digits and hyphens, characters a path segment carries
//!   unencoded, so encoding it changes nothing; the UUID is formatted into the URL directly
//!   (~2.8k cycles a call less for an operation with two ids). Parameters of any other type are
//!   encoded as below.
//! - **Every other path parameter is exactly one segment.** progenitor's `encode_path` leaves
//!   `\\`, which the URL parser reads as `/` before resolving `..`: a branch name could send a
//!   request to another resource (`DELETE …/branch/x\\..\\..\\..\\..\\connections\\<id>\\dbt`
//!   deleted the connection's dbt configuration). Each is written as
//!   `crate::path::segment("<name in the spec>", &value.to_string())?` instead, which encodes
//!   every byte outside RFC 3986's unreserved set and refuses `.`, `..` and the empty value with
//!   progenitor's `InvalidRequest` before anything is sent. This rule changes what is sent for
//!   such values (and only for them).
//!
//! A rule that finds nothing to change leaves the code as progenitor wrote it (a progenitor
//! that writes it differently still generates a working client, and the hook still strips the
//! header); [`Applied`] says what was changed, and the crate's tests check that every operation
//! of the spec is covered.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{Expr, ImplItem, Item, Lit, Pat, Stmt, Type, punctuated::Punctuated};

/// What the rules changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Request builders (`send` functions) seen.
    pub sends: usize,
    /// `api-version` headers no longer added.
    pub api_version_headers: usize,
    /// UUID path parameters written without `encode_path`.
    pub uuid_path_params: usize,
    /// Other path parameters written through `crate::path::segment`.
    pub segment_path_params: usize,
}

/// Applies the rules to the generated file (progenitor's `builder` module). `doc` is the
/// document it was generated from: its path parameters' names, as the spec spells them, go
/// into the refusals (`branchName`, not progenitor's `branch_name`).
pub fn apply(file: &mut syn::File, doc: &serde_json::Value) -> Applied {
    let spec_names = path_parameter_names(doc);
    let mut applied = Applied::default();
    let Some(items) = file.items.iter_mut().find_map(|item| match item {
        Item::Mod(m) if m.ident == "builder" => m.content.as_mut().map(|(_, items)| items),
        _ => None,
    }) else {
        return applied;
    };
    // Each builder struct's UUID fields (`Result<::uuid::Uuid, String>`): its path parameters.
    let uuid_fields: Vec<(String, Vec<String>)> = items
        .iter()
        .filter_map(|item| match item {
            Item::Struct(s) => Some((
                s.ident.to_string(),
                s.fields
                    .iter()
                    .filter(|f| is_uuid_result(&f.ty))
                    .filter_map(|f| f.ident.as_ref().map(ToString::to_string))
                    .collect(),
            )),
            _ => None,
        })
        .collect();
    for item in items.iter_mut() {
        let Item::Impl(imp) = item else { continue };
        let Type::Path(self_ty) = &*imp.self_ty else {
            continue;
        };
        let Some(name) = self_ty.path.segments.last().map(|s| s.ident.to_string()) else {
            continue;
        };
        let uuids: &[String] = uuid_fields
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(&[], |(_, fields)| fields);
        for member in &mut imp.items {
            let ImplItem::Fn(f) = member else { continue };
            if f.sig.ident != "send" {
                continue;
            }
            applied.sends += 1;
            applied.api_version_headers += without_api_version(&mut f.block.stmts);
            let (uuid, segment) = path_params(&mut f.block.stmts, uuids, &spec_names);
            applied.uuid_path_params += uuid;
            applied.segment_path_params += segment;
        }
    }
    applied
}

/// `Result<::uuid::Uuid, String>` (a builder's field for a UUID parameter).
fn is_uuid_result(ty: &Type) -> bool {
    let Type::Path(p) = ty else { return false };
    let Some(last) = p.path.segments.last() else {
        return false;
    };
    if last.ident != "Result" {
        return false;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return false;
    };
    match args.args.first() {
        Some(syn::GenericArgument::Type(Type::Path(inner))) => {
            let names: Vec<String> = inner
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            names == ["uuid", "Uuid"]
        }
        _ => false,
    }
}

/// Drops `header_map.append(HeaderName::from_static("api-version"), …);` and lowers
/// `HeaderMap::with_capacity(n)` to match. Returns how many were dropped.
fn without_api_version(stmts: &mut Vec<Stmt>) -> usize {
    let before = stmts.len();
    stmts.retain(|stmt| !appends_api_version(stmt));
    let dropped = before - stmts.len();
    if dropped > 0 {
        // Without header parameters nothing else changes the map: it is no longer `mut` (an
        // `unused_mut` warning in every build otherwise).
        let changed_later = stmts
            .iter()
            .any(|stmt| calls_on_header_map(stmt.to_token_stream()));
        for stmt in stmts.iter_mut() {
            if let Stmt::Local(local) = stmt
                && let Pat::Ident(pat) = &mut local.pat
                && pat.ident == "header_map"
                && !changed_later
            {
                pat.mutability = None;
            }
            if let Some(capacity) = header_map_capacity(stmt) {
                let n: usize = capacity.base10_parse().unwrap_or(dropped);
                *capacity = syn::LitInt::new(
                    &format!("{}usize", n.saturating_sub(dropped)),
                    capacity.span(),
                );
            }
        }
    }
    dropped
}

/// Whether `tokens` call a method on `header_map` (`header_map.append(…)`).
fn calls_on_header_map(tokens: TokenStream) -> bool {
    let mut previous_is_map = false;
    for token in tokens {
        match token {
            proc_macro2::TokenTree::Group(group) => {
                if calls_on_header_map(group.stream()) {
                    return true;
                }
                previous_is_map = false;
            }
            proc_macro2::TokenTree::Punct(p) if p.as_char() == '.' && previous_is_map => {
                return true;
            }
            proc_macro2::TokenTree::Ident(ident) => previous_is_map = ident == "header_map",
            _ => previous_is_map = false,
        }
    }
    false
}

fn appends_api_version(stmt: &Stmt) -> bool {
    let Stmt::Expr(Expr::MethodCall(call), _) = stmt else {
        return false;
    };
    if call.method != "append" || !is_ident(&call.receiver, "header_map") {
        return false;
    }
    let Some(Expr::Call(name)) = call.args.first() else {
        return false;
    };
    let names_from_static =
        matches!(&*name.func, Expr::Path(p) if ends_with(&p.path, "from_static"));
    names_from_static
        && matches!(name.args.first(), Some(Expr::Lit(lit))
            if matches!(&lit.lit, Lit::Str(s) if s.value() == "api-version"))
}

/// The literal `n` of `let mut header_map = …::HeaderMap::with_capacity(n);`.
fn header_map_capacity(stmt: &mut Stmt) -> Option<&mut syn::LitInt> {
    let Stmt::Local(local) = stmt else {
        return None;
    };
    let Pat::Ident(pat) = &local.pat else {
        return None;
    };
    if pat.ident != "header_map" {
        return None;
    }
    let Expr::Call(call) = &mut *local.init.as_mut()?.expr else {
        return None;
    };
    let Expr::Path(func) = &*call.func else {
        return None;
    };
    if !ends_with(&func.path, "with_capacity") {
        return None;
    }
    match call.args.first_mut() {
        Some(Expr::Lit(syn::ExprLit {
            lit: Lit::Int(n), ..
        })) => Some(n),
        _ => None,
    }
}

/// Every path parameter's name in `doc`, as the spec spells it.
fn path_parameter_names(doc: &serde_json::Value) -> Vec<String> {
    let mut names = Vec::new();
    let mut collect = |parameters: Option<&serde_json::Value>| {
        for parameter in parameters.and_then(|p| p.as_array()).into_iter().flatten() {
            if parameter.get("in").and_then(|v| v.as_str()) == Some("path")
                && let Some(name) = parameter.get("name").and_then(|v| v.as_str())
                && !names.iter().any(|n| n == name)
            {
                names.push(name.to_owned());
            }
        }
    };
    for item in doc
        .get("paths")
        .and_then(|p| p.as_object())
        .into_iter()
        .flat_map(|p| p.values())
    {
        collect(item.get("parameters"));
        for operation in item.as_object().into_iter().flat_map(|o| o.values()) {
            collect(operation.get("parameters"));
        }
    }
    names
}

/// The spec's name for progenitor's `rust_name` (`branch_name` → `branchName`): the one whose
/// letters and digits match, case aside; the Rust name when none or several do.
fn spec_name(rust_name: &str, spec_names: &[String]) -> String {
    let key = |name: &str| -> String {
        name.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let wanted = key(rust_name);
    let mut matches = spec_names.iter().filter(|n| key(n) == wanted);
    match (matches.next(), matches.next()) {
        (Some(only), None) => only.clone(),
        _ => rust_name.to_owned(),
    }
}

/// In `let url = format!(…);`, writes each `encode_path(&id.to_string())` as `id` for each of
/// `uuids`, and as `crate::path::segment("name", &id.to_string())?` otherwise. Returns how many
/// of each were rewritten.
fn path_params(stmts: &mut [Stmt], uuids: &[String], spec_names: &[String]) -> (usize, usize) {
    let (mut uuid, mut segment) = (0, 0);
    for stmt in stmts {
        let Stmt::Local(local) = stmt else { continue };
        let Pat::Ident(pat) = &local.pat else {
            continue;
        };
        if pat.ident != "url" {
            continue;
        }
        let Some(init) = local.init.as_mut() else {
            continue;
        };
        let Expr::Macro(mac) = &mut *init.expr else {
            continue;
        };
        if !mac.mac.path.is_ident("format") {
            continue;
        }
        let Ok(mut args) = mac
            .mac
            .parse_body_with(Punctuated::<Expr, syn::Token![,]>::parse_terminated)
        else {
            continue;
        };
        let mut changed = false;
        for arg in args.iter_mut() {
            let Some(param) = encoded_param(arg) else {
                continue;
            };
            let name = param.to_token_stream().to_string();
            if uuids.contains(&name) {
                *arg = param;
                uuid += 1;
            } else {
                let spec = spec_name(&name, spec_names);
                *arg = syn::parse_quote!(crate::path::segment(#spec, &#param.to_string())?);
                segment += 1;
            }
            changed = true;
        }
        if changed {
            let mut tokens = TokenStream::new();
            args.to_tokens(&mut tokens);
            mac.mac.tokens = tokens;
        }
    }
    (uuid, segment)
}

/// `id` when `arg` is `encode_path(&id.to_string())`.
fn encoded_param(arg: &Expr) -> Option<Expr> {
    let Expr::Call(call) = arg else { return None };
    if !is_ident(&call.func, "encode_path") || call.args.len() != 1 {
        return None;
    }
    let Some(Expr::Reference(reference)) = call.args.first() else {
        return None;
    };
    let Expr::MethodCall(to_string) = &*reference.expr else {
        return None;
    };
    if to_string.method != "to_string" || !to_string.args.is_empty() {
        return None;
    }
    match &*to_string.receiver {
        Expr::Path(p) if p.path.get_ident().is_some() => Some((*to_string.receiver).clone()),
        _ => None,
    }
}

/// Whether `path`'s last segment is `name` (`::reqwest::header::HeaderMap::with_capacity`).
fn ends_with(path: &syn::Path, name: &str) -> bool {
    path.segments.last().is_some_and(|s| s.ident == name)
}

fn is_ident(expr: &Expr, name: &str) -> bool {
    matches!(expr, Expr::Path(p) if p.path.is_ident(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied_to(source: &str) -> (Applied, String) {
        let mut file: syn::File = syn::parse_str(source).unwrap();
        let doc = serde_json::json!({"paths": {"/v1/models/{modelId}/things/{thingName}": {
            "get": {"parameters": [
                {"name": "modelId", "in": "path"}, {"name": "thingName", "in": "path"},
                {"name": "name", "in": "query"}
            ]}
        }}});
        let applied = apply(&mut file, &doc);
        (applied, prettyplease::unparse(&file))
    }

    const BUILDER: &str = r#"
        pub mod builder {
            pub struct Op<'a> {
                client: &'a super::Client,
                model_id: Result<::uuid::Uuid, String>,
                thing_name: Result<::std::string::String, String>,
                trace: Result<Option<::std::string::String>, String>,
            }
            impl<'a> Op<'a> {
                pub async fn send(self) -> Result<(), ()> {
                    let Self { client, model_id, thing_name, trace } = self;
                    let url = format!(
                        "{}/v1/models/{}/things/{}", client.baseurl,
                        encode_path(&model_id.to_string()), encode_path(&thing_name.to_string()),
                    );
                    let mut header_map = ::reqwest::header::HeaderMap::with_capacity(2usize);
                    header_map.append(
                        ::reqwest::header::HeaderName::from_static("api-version"),
                        ::reqwest::header::HeaderValue::from_static(super::Client::api_version()),
                    );
                    if let Some(value) = trace {
                        header_map.append("x-trace", value.to_string().try_into()?);
                    }
                    Ok(())
                }
            }
        }
    "#;

    #[test]
    fn the_api_version_header_is_not_built_and_other_headers_stay() {
        let (applied, code) = applied_to(BUILDER);
        assert_eq!(applied.sends, 1);
        assert_eq!(applied.api_version_headers, 1);
        assert!(!code.contains("api-version"), "{code}");
        assert!(code.contains("HeaderMap::with_capacity(1usize)"), "{code}");
        // Still changed by the header parameter's append.
        assert!(code.contains("let mut header_map"), "{code}");
        assert!(code.contains("header_map.append(\"x-trace\""), "{code}");
    }

    #[test]
    fn uuid_path_parameters_are_written_as_they_are_and_others_as_one_checked_segment() {
        let (applied, code) = applied_to(BUILDER);
        assert_eq!(applied.uuid_path_params, 1);
        assert_eq!(applied.segment_path_params, 1);
        let flat: String = code.split_whitespace().collect();
        // The refusal names the parameter as the spec does.
        assert!(
            flat.contains(
                "client.baseurl,model_id,crate::path::segment(\"thingName\",&thing_name.to_string())?,"
            ),
            "{code}"
        );
        assert!(!flat.contains("encode_path"), "{code}");
    }

    #[test]
    fn a_rust_name_without_one_spec_name_is_kept() {
        let names = ["branchName".to_owned(), "branch_name".to_owned()];
        assert_eq!(spec_name("branch_name", &names), "branch_name");
        assert_eq!(spec_name("job_id", &names), "job_id");
        assert_eq!(spec_name("job_id", &["jobId".to_owned()]), "jobId");
    }

    #[test]
    fn code_written_otherwise_is_left_alone() {
        // A header appended some other way, a URL not built by `format!`, another module.
        let source = r#"
            pub mod builder {
                pub struct Op<'a> { client: &'a super::Client, id: Result<::uuid::Uuid, String> }
                impl<'a> Op<'a> {
                    pub async fn send(self) -> Result<(), ()> {
                        let url = concat(client.baseurl, encode_path(&id.to_string()));
                        let mut header_map = ::reqwest::header::HeaderMap::with_capacity(1usize);
                        header_map.insert("api-version", "1");
                        Ok(())
                    }
                }
            }
            pub mod other {
                pub fn send() { header_map.append(HeaderName::from_static("api-version"), v); }
            }
        "#;
        let (applied, code) = applied_to(source);
        assert_eq!(
            applied,
            Applied {
                sends: 1,
                ..Applied::default()
            }
        );
        let expected = prettyplease::unparse(&syn::parse_str(source).unwrap());
        assert_eq!(code, expected);
    }
}
