//! What each command does, one module per command group, each receiving the one [`Context`].

mod config;
mod dbt;
mod env;
mod exposures;
mod gc;
mod preview;
mod preview_down;
mod refresh;

use crate::{
    cli::{Cli, Command, EnvCommand},
    context::Context,
    failure::Failure,
};

/// Runs a command; the exit code on success is 0, or 2 for `plan --detailed-exitcode` with
/// changes.
pub async fn run(cli: Cli) -> Result<u8, Failure> {
    let detailed = matches!(
        cli.command,
        Command::Env {
            command: EnvCommand::Plan {
                detailed_exitcode: true,
                ..
            }
        }
    );
    let ctx = match Context::new(&cli.global) {
        Ok(ctx) => ctx,
        Err(e) if detailed => return Err(Failure::Detailed(Box::new(e))),
        Err(e) => return Err(e),
    };
    let result = match cli.command {
        Command::Config { command } => config::run(&ctx, command).map(|()| 0),
        Command::Env { command } => env::run(&ctx, command).await,
        Command::Dbt { command } => dbt::run(&ctx, command).await.map(|()| 0),
        Command::Exposures { command } => exposures::run(&ctx, command).await.map(|()| 0),
        Command::Preview { command } => preview::run(&ctx, command).await.map(|()| 0),
        Command::Completions { .. } => Ok(0),
    };
    summary(&ctx, result.as_ref().err());
    result.map_err(|e| {
        let host = ctx.builder.resolve().ok().and_then(|r| {
            url::Url::parse(&r.base_url).ok().and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(port) => format!("{h}:{port}"),
                    None => h.to_owned(),
                })
            })
        });
        match e {
            Failure::Detailed(inner) => Failure::Detailed(Box::new(inner.with_host(host))),
            other => other.with_host(host),
        }
    })
}

/// One line at the end of every command that sent requests: how many, their retries and 429s,
/// the time spent waiting for the rate limit, and whether a shared store paced them; after a
/// rate-limit failure without a store, what would have avoided it.
fn summary(ctx: &Context, failure: Option<&Failure>) {
    let Some(stats) = ctx.stats() else {
        return;
    };
    let mut line = format!("omni-dbt: {stats}");
    if failure.is_some_and(|f| f.exit_code() == 5) && !stats.store_configured {
        line.push_str(
            "; several pipelines on one API key share its limit: give them one store with \
             --rate-limit-store (or OMNI_RATE_LIMIT_STORE) so that they take turns",
        );
    }
    crate::output::say(&line);
}
