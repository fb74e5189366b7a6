//! `omni-dbt-fake`: runs the fake on loopback and prints how to reach it as one JSON line.

use std::net::{Ipv4Addr, SocketAddr};

use clap::{Parser, ValueEnum};
use omni_dbt_fake::{FakeOmni, ListShape};

#[derive(Parser, Debug)]
#[command(
    version,
    about = "A stateful fake of Omni's dbt-environment API on loopback"
)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Shape of list answers.
    #[arg(long, value_enum, default_value_t = Shape::Envelope)]
    list_shape: Shape,
    /// Requests per minute per token; 0 turns the limit off.
    #[arg(long, default_value_t = 60)]
    rate_limit: u32,
    /// Requests a token may send at once (default: one minute's worth).
    #[arg(long)]
    burst: Option<u32>,
    /// Say in each 429's `Retry-After` when to come back (Omni's 429s carry none).
    #[arg(long)]
    retry_after: bool,
    /// Do not check exchanges against the spec.
    #[arg(long)]
    no_conformance: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Shape {
    Bare,
    Envelope,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let mut builder = FakeOmni::builder()
        .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, args.port)))
        .list_shape(match args.list_shape {
            Shape::Bare => ListShape::BareArray,
            Shape::Envelope => ListShape::Envelope,
        })
        .check_conformance(!args.no_conformance);
    builder = match args.rate_limit {
        0 => builder.without_rate_limit(),
        n => builder.rate_limit_per_minute(n),
    };
    if let Some(burst) = args.burst {
        builder = builder.rate_limit_burst(burst);
    }
    builder = builder.rate_limit_retry_after(args.retry_after);
    let fake = builder.start().await?;
    let tokens = fake.tokens();
    // The tokens are printed on purpose: they are this process's throwaway test credentials,
    // and a test in another language needs them to talk to it.
    let line = serde_json::json!({
        "baseUrl": fake.base_url(),
        "connectionId": fake.connection_id(),
        "connectionWithoutDbtId": fake.connection_without_dbt(),
        "defaultEnvironmentId": fake.default_environment(),
        "modelId": fake.model_id(),
        "branchName": omni_dbt_fake::SEEDED_BRANCH,
        "tokens": {
            "organizationApiKey": tokens.organization_api_key,
            "patAdmin": tokens.pat_admin,
            "patWithoutAdmin": tokens.pat_without_admin,
        }
    });
    println!("{line}");
    stopped().await?;
    // Let the requests in flight finish.
    fake.shutdown().await;
    Ok(())
}

/// Ctrl-C, or (on Unix) SIGTERM.
async fn stopped() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            result = tokio::signal::ctrl_c() => result,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await
}
