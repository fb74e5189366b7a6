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
pub fn generate(spec_json: &str) -> Result<String, String> {
    let spec = parse(spec_json)?;
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
        .generate_tokens(&spec)
        .map_err(|e| format!("progenitor cannot generate a client: {e}"))?;
    let file: syn::File =
        syn::parse2(tokens).map_err(|e| format!("internal: generated code does not parse: {e}"))?;
    Ok(prettyplease::unparse(&file))
}
