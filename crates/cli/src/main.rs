//! `omni-dbt`: Omni dbt environments from pipelines, built on the `omni-dbt` client (one HTTP
//! path: its auth, host policy, pacing and retries).

mod cli;
mod commands;
mod context;
mod failure;
mod flags;
mod input;
mod output;
mod owned;
mod plan;
mod rules;
mod secrets;

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

use crate::{cli::Cli, cli::Command, output::say};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let usage = !matches!(
                e.kind(),
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
            );
            let _ = e.print();
            // Under --detailed-exitcode, 2 means "changes": any error there is 1.
            let detailed = std::env::args_os().any(|a| a == "--detailed-exitcode");
            return ExitCode::from(match (usage, detailed) {
                (false, _) => 0,
                (true, true) => 1,
                (true, false) => 2,
            });
        }
    };
    logging();
    if let Command::Completions { shell } = cli.command {
        return match output::stdout(&completions(shell)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(failure) => {
                say(&format!("error: {failure}"));
                ExitCode::from(failure.exit_code())
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            say(&format!("error: cannot start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            say(&format!("error: {failure}"));
            ExitCode::from(failure.exit_code())
        }
    }
}

/// The library's warnings (a token file others can read, an unreachable shared store) and
/// rate-limit waits on standard error; `RUST_LOG` (e.g. `RUST_LOG=omni_dbt=debug`) says more.
/// By default the library's information (rate-limit waits) and everyone's warnings.
fn logging() {
    use tracing_subscriber::{
        filter::{LevelFilter, Targets},
        prelude::*,
    };
    let default = || {
        Targets::new()
            .with_target("omni_dbt", LevelFilter::INFO)
            .with_default(LevelFilter::WARN)
    };
    // `Targets` reads `target=level,…` (and a bare level); a value it cannot read keeps the
    // default rather than silencing everything.
    let filter = match std::env::var("RUST_LOG") {
        Ok(value) if !value.trim().is_empty() => value.parse().unwrap_or_else(|_| default()),
        _ => default(),
    };
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(|| output::LogWriter)
        .with_target(false)
        .without_time();
    let _ = tracing_subscriber::registry()
        .with(layer)
        .with(filter)
        .try_init();
}

/// The completion script for `shell`. clap_complete 4.6's bash script spells the state of a
/// subcommand two ways when the binary's name has a hyphen (its loop sets
/// `omni__dbt__subcmd__env`, its arms match `omni__subcmd__dbt__subcmd__env`: clap-rs/clap#6421),
/// so that nothing completes past the first word; the arms are spelled as the loop spells them.
/// (Nothing to replace once clap_complete is fixed.)
fn completions(shell: clap_complete::Shell) -> String {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "omni-dbt", &mut script);
    let script = String::from_utf8_lossy(&script).into_owned();
    match shell {
        clap_complete::Shell::Bash => script.replace("omni__subcmd__dbt", "omni__dbt"),
        _ => script,
    }
}
