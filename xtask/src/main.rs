//! Spec tooling for omni-dbt, run as `cargo xtask <command>`.
//!
//! The commands are specified in the spec-tooling issue; until they land this binary only
//! explains itself, so that `cargo xtask` is already wired and discoverable.

use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command>

commands (planned, see the spec-tooling issue):
  spec pull --from <FILE|URL>    pull Omni's published spec, convert 3.1 -> 3.0.3, apply corrections
  spec diff <OLD> <NEW>          classify the changes between two specs for this client
  spec check --against <FILE|URL> pull in memory and diff against the vendored spec
  check                          offline consistency checks of openapi/
  codegen [--out DIR]            write the generated client to a readable file
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None | Some("help" | "-h" | "--help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("xtask: `{other}` is not implemented yet\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
