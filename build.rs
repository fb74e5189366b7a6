//! Generates the typed client from `openapi/omni-dbt.json` with progenitor.
//!
//! Generation only: read the spec, run progenitor, pretty-print, write `$OUT_DIR/omni_dbt_api.rs`.
//! No network, and the output depends only on the spec, so it is deterministic.
//! A broken spec ends the build with a message naming the file and the problem.

use std::{env, fs, path::Path, process::ExitCode};

use progenitor::{GenerationSettings, Generator, HooksMode, InterfaceStyle, TagStyle};

const SPEC: &str = "openapi/omni-dbt.json";

/// Schemas whose generated types would lose information, replaced by hand-written models:
/// the update body needs a tri-state per nullable field (absent / `null` / value), and the
/// responses must tolerate the shapes Omni actually sends (see `src/model.rs`).
const REPLACEMENTS: &[(&str, &str)] = &[
    ("DbtEnvironmentUpdateBody", "crate::model::UpdateBody"),
    ("DbtEnvironmentItem", "crate::model::DbtEnvironment"),
    ("DbtEnvironmentListing", "crate::model::Listing"),
];

fn main() -> ExitCode {
    // The whole directory, so that a file added to `openapi/` also triggers a rebuild.
    println!("cargo::rerun-if-changed=openapi");
    match generate() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {SPEC}: {message}");
            ExitCode::FAILURE
        }
    }
}

fn generate() -> Result<(), String> {
    let started = std::time::Instant::now();
    let text = fs::read_to_string(SPEC).map_err(|e| format!("cannot read: {e}"))?;
    let spec: openapiv3::OpenAPI = serde_json::from_str(&text)
        .map_err(|e| format!("not a valid OpenAPI 3.0 document: {e}"))?;
    if !spec.openapi.starts_with("3.0.") {
        return Err(format!(
            "`openapi: {}` is not supported; progenitor reads OpenAPI 3.0.x only",
            spec.openapi
        ));
    }

    let inner_type = "crate::transport::CallContext"
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
    let code = prettyplease::unparse(&file);

    let out_dir = Path::new(&env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?).to_path_buf();
    let out = out_dir.join("omni_dbt_api.rs");
    fs::write(&out, code).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    // For the benchmark only; the generated code itself depends on nothing but the spec.
    let micros = started.elapsed().as_micros().to_string();
    fs::write(out_dir.join("generation-micros.txt"), micros)
        .map_err(|e| format!("cannot write timing: {e}"))
}
