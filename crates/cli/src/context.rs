//! The one context every command receives: the client's configuration as the flags, the
//! environment and the profile say, and how to print.

use std::io::IsTerminal;

use omni_dbt::{Client, ClientBuilder, Token};

use crate::{
    cli::{Global, Output},
    failure::Failure,
    input,
};

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
    /// The client, built once: every request of the command goes through one pacer and
    /// counts into one set of figures.
    client: std::sync::OnceLock<Client>,
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
            builder = builder.with_rate_limit(omni_dbt::RateLimit::per_minute(per_minute));
        }
        if let Some(url) = &global.rate_limit_store {
            builder = builder.with_rate_limit_store(url);
        }
        if let Some(path) = &global.token_file {
            builder = builder.with_token(Token::unknown(input::token_file(path)?));
        }
        if global.token_stdin {
            builder = builder.with_token(Token::unknown(input::token_stdin()?));
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
            client: std::sync::OnceLock::new(),
        })
    }

    /// The client the flags, the environment and the profile describe (built on first use).
    pub fn client(&self) -> Result<Client, Failure> {
        if let Some(client) = self.client.get() {
            return Ok(client.clone());
        }
        let client = self.builder.clone().build().map_err(Failure::from)?;
        Ok(self.client.get_or_init(|| client).clone())
    }

    /// What the command's requests came to, when it sent any.
    pub fn stats(&self) -> Option<omni_dbt::RequestStats> {
        self.client
            .get()
            .map(Client::stats)
            .filter(|stats| stats.requests > 0)
    }
}
