//! Generates the typed client from `openapi/omni-dbt.json` (see `crates/codegen`).
//!
//! Generation only: read the spec, generate, write `$OUT_DIR/omni_dbt_api.rs`. No network; the
//! output depends only on the spec. A broken spec ends the build with a message naming the
//! file and the problem.

use std::{env, fs, path::PathBuf, process::ExitCode, time::Instant};

const SPEC: &str = "openapi/omni-dbt.json";

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
    let started = Instant::now();
    let text = fs::read_to_string(SPEC).map_err(|e| format!("cannot read: {e}"))?;
    let code = omni_dbt_codegen::generate(&text)?;
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").ok_or("OUT_DIR is not set")?);
    let out = out_dir.join("omni_dbt_api.rs");
    fs::write(&out, code).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    // For the benchmark only; the generated code itself depends on nothing but the spec.
    let micros = started.elapsed().as_micros().to_string();
    fs::write(out_dir.join("generation-micros.txt"), micros)
        .map_err(|e| format!("cannot write timing: {e}"))
}
