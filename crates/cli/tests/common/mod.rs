//! The harness the CLI's tests share: the fake, a home with a token file, and the binary.
#![allow(dead_code)]

use std::process::{Command, Output};

use omni_dbt_fake::FakeOmni;

#[path = "../../../../tests/support/redis.rs"]
pub mod redis;
use serde_json::Value;

pub struct Harness {
    pub fake: FakeOmni,
    pub home: tempfile::TempDir,
}

impl Harness {
    pub async fn start() -> Self {
        Self::start_with(FakeOmni::builder()).await
    }

    /// [`start`](Self::start) with a fake configured by `builder` (no rate limit, short jobs).
    pub async fn start_with(builder: omni_dbt_fake::FakeOmniBuilder) -> Self {
        Self::started(builder.without_rate_limit()).await
    }

    /// [`start`](Self::start) with a fake limiting each token to `per_minute`, `burst` at once
    /// (its 429s without `Retry-After`, like Omni's).
    pub async fn start_limited(per_minute: u32, burst: u32) -> Self {
        Self::started(
            omni_dbt_fake::FakeOmni::builder()
                .rate_limit_per_minute(per_minute)
                .rate_limit_burst(burst)
                .journal_capacity(100_000),
        )
        .await
    }

    async fn started(builder: omni_dbt_fake::FakeOmniBuilder) -> Self {
        let fake = builder
            .job_duration(std::time::Duration::from_millis(100))
            .start()
            .await
            .unwrap();
        let home = tempfile::tempdir().unwrap();
        std::fs::write(
            home.path().join("token"),
            format!("{}\n", fake.tokens().organization_api_key),
        )
        .unwrap();
        Harness { fake, home }
    }

    /// The library's client on the fake with the Organization API key: a change made "by
    /// hand in Omni", or by another run.
    pub fn client(&self) -> omni_dbt::Client {
        omni_dbt::Client::builder()
            .with_token(omni_dbt::Token::organization_api_key(
                &self.fake.tokens().organization_api_key,
            ))
            .with_base_url(self.fake.base_url())
            .build()
            .unwrap()
    }

    /// Runs the binary with the fake's URL and token file, JSON output, and a clean
    /// environment plus `env`.
    pub async fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut command = self.command(args, env);
        tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap()
    }

    /// Runs the binary like [`run`](Self::run), with `stdin` as its standard input.
    pub async fn run_with_stdin(
        &self,
        args: &[&str],
        env: &[(&str, &str)],
        stdin: &[u8],
    ) -> Output {
        use std::io::Write;
        let mut command = self.command(args, env);
        command
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let stdin = stdin.to_vec();
        tokio::task::spawn_blocking(move || {
            let mut child = command.spawn().unwrap();
            let _ = child.stdin.take().unwrap().write_all(&stdin);
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap()
    }

    /// The command `run` runs, to spawn it differently.
    pub fn command(&self, args: &[&str], env: &[(&str, &str)]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_omni-dbt"));
        for var in [
            "OMNI_API_TOKEN",
            "OMNI_BASE_URL",
            "OMNI_CONFIG_PATH",
            "OMNI_CONNECTION_ID",
            "RUST_LOG",
        ] {
            command.env_remove(var);
        }
        command
            .env("HOME", self.home.path())
            .args(["--base-url", self.fake.base_url()])
            .arg("--token-file")
            .arg(self.home.path().join("token"));
        if !args.contains(&"--output") {
            command.args(["--output", "json"]);
        }
        command.args(args).envs(env.iter().copied());
        command
    }

    pub fn connection(&self) -> String {
        self.fake.connection_id().to_string()
    }
}

pub fn json_out(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| {
        panic!(
            "stdout is not JSON: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
