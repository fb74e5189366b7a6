//! `omni-dbt`: Omni dbt environments from pipelines, built on the `omni-dbt` client (one HTTP
//! path: its auth, host policy, pacing and retries).

mod cli;
mod commands;
mod failure;
mod output;
mod plan;

use std::{io::IsTerminal, process::ExitCode};

use clap::{CommandFactory, Parser};
use omni_dbt::{Client, ClientBuilder, Token};

use crate::{
    cli::{Cli, Command, Global, Output},
    failure::Failure,
};

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Completions { shell } = cli.command {
        clap_complete::generate(
            shell,
            &mut Cli::command(),
            "omni-dbt",
            &mut std::io::stdout(),
        );
        return ExitCode::SUCCESS;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::from(failure.exit_code())
        }
    }
}

/// The settings every command shares, resolved once.
pub struct Context {
    pub builder: ClientBuilder,
    pub output: Output,
    /// Whether standard input was taken by `--token-stdin`.
    pub stdin_taken: bool,
    /// The flag the token came from, when one did.
    pub token_from: Option<String>,
    /// The flag the base URL came from (when it did not come from the environment).
    pub base_url_from: String,
}

impl Context {
    /// The builder as the flags, the environment and the profile say (in that precedence).
    pub fn new(global: &Global) -> Result<Self, Failure> {
        let mut builder = Client::builder().with_env();
        if let Some(profile) = &global.profile {
            builder = builder.with_profile(profile);
        }
        if let Some(url) = &global.base_url {
            builder = builder.with_base_url(url);
        }
        if let Some(instance) = &global.instance {
            builder = builder.with_instance(instance);
        }
        if let Some(per_minute) = global.rate_limit {
            if per_minute == 0 {
                return Err(Failure::Usage("--rate-limit must be at least 1".to_owned()));
            }
            builder = builder.with_rate_limit(omni_dbt::RateLimit::per_minute(per_minute));
        }
        if let Some(url) = &global.rate_limit_store {
            builder = builder.with_rate_limit_store(url);
        }
        if let Some(path) = &global.token_file {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::Usage(format!("--token-file {}: {e}", path.display())))?;
            builder = builder.with_token(Token::unknown(first_line(&text, "--token-file")?));
        }
        if global.token_stdin {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| Failure::Usage(format!("--token-stdin: {e}")))?;
            builder = builder.with_token(Token::unknown(first_line(&line, "--token-stdin")?));
        }
        let output = global.output.unwrap_or(if std::io::stdout().is_terminal() {
            Output::Table
        } else {
            Output::Json
        });
        let token_from = match (&global.token_file, global.token_stdin) {
            (Some(path), _) => Some(format!("--token-file {}", path.display())),
            (None, true) => Some("--token-stdin".to_owned()),
            (None, false) => None,
        };
        let base_url_from = if global.instance.is_some() {
            "--instance"
        } else {
            "--base-url"
        };
        Ok(Context {
            builder,
            output,
            stdin_taken: global.token_stdin,
            token_from,
            base_url_from: base_url_from.to_owned(),
        })
    }

    pub fn client(&self) -> Result<Client, Failure> {
        self.builder.clone().build().map_err(Failure::from)
    }
}

fn first_line(text: &str, flag: &str) -> Result<String, Failure> {
    let token = text.lines().next().unwrap_or_default().trim();
    if token.is_empty() {
        Err(Failure::Usage(format!(
            "{flag}: no token (the first line is empty)"
        )))
    } else {
        Ok(token.to_owned())
    }
}
