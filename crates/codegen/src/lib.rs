//! Generates omni-dbt's typed client from its OpenAPI 3.0 spec: parse, run progenitor with
//! the crate's settings, pretty-print. One function, used by `build.rs` and by `cargo xtask`
//! (`check`, `codegen`), so both always generate the same code.

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle};

/// Schemas whose generated types would lose information, replaced by hand-written models in
/// the `omni-dbt` crate: the update body needs a tri-state per nullable field (absent / `null` /
/// value), and the responses must tolerate the shapes Omni actually sends.
pub const REPLACEMENTS: &[(&str, &str)] = &[
    ("DbtEnvironmentUpdateBody", "crate::model::UpdateBody"),
    ("DbtEnvironmentItem", "crate::model::DbtEnvironment"),
    ("DbtEnvironmentListing", "crate::model::Listing"),
];

/// The per-call context type the generated client carries (see `src/transport.rs`).
pub const INNER_TYPE: &str = "crate::transport::CallContext";

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
