//! Many pipelines, one API key: K `omni-dbt env apply` processes at once, each creating N
//! environments on one token, against the fake limiting that token to 300/min with a burst of
//! 5 and every CLI told `--rate-limit 300`. Prints requests, 429s, failed runs and wall time
//! against the ideal (every successful request at the limit). Run with
//! `cargo bench -p omni-dbt-cli --bench pipelines` (release build of the CLI).

use std::{
    process::Command,
    time::{Duration, Instant},
};

use omni_dbt_fake::FakeOmni;

const PROCESSES: usize = 4;
const CREATES: usize = 20;
const PER_MINUTE: u32 = 300;
const BURST: u32 = 5;

fn main() {
    round("local adaptive pacing", None);
    match redis() {
        Ok((mut server, url)) => {
            round("shared store (Redis)", Some(&url));
            let _ = server.kill();
            let _ = server.wait();
        }
        Err(why) => println!("shared store (Redis): skipped, {why}"),
    }
}

/// A `redis-server` on a free loopback port, or why there is none.
fn redis() -> Result<(std::process::Child, String), String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map_err(|e| format!("no free loopback port ({e})"))?
        .port();
    let mut child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--appendonly", "no"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("redis-server is not installed ({e})"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok((child, format!("redis://127.0.0.1:{port}/")));
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("redis-server exited ({status}) on port {port}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    Err(format!(
        "redis-server did not listen on port {port} within 30 s"
    ))
}

fn round(mode: &str, store: Option<&str>) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let fake = runtime.block_on(async {
        FakeOmni::builder()
            .rate_limit_per_minute(PER_MINUTE)
            .rate_limit_burst(BURST)
            .journal_capacity(100_000)
            .check_conformance(false)
            .start()
            .await
            .unwrap()
    });
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, &fake.tokens().organization_api_key).unwrap();
    let files: Vec<_> = (0..PROCESSES)
        .map(|k| {
            let mut yaml = format!("connection: {}\nenvironments:\n", fake.connection_id());
            for i in 0..CREATES {
                yaml.push_str(&format!(
                    "  - name: runner{k}-{i:03}\n    targetSchema: dbt_runner{k}_{i:03}\n"
                ));
            }
            let path = dir.path().join(format!("runner{k}.yaml"));
            std::fs::write(&path, yaml).unwrap();
            path
        })
        .collect();
    let started = Instant::now();
    let children: Vec<_> = files
        .iter()
        .map(|file| {
            Command::new(env!("CARGO_BIN_EXE_omni-dbt"))
                .env_remove("OMNI_API_TOKEN")
                .env_remove("OMNI_BASE_URL")
                .env("HOME", dir.path())
                .args(["--base-url", fake.base_url(), "--output", "json"])
                .arg("--token-file")
                .arg(&token)
                .args(["--rate-limit", &PER_MINUTE.to_string()])
                .args(
                    store
                        .map(|url| ["--rate-limit-store", url])
                        .into_iter()
                        .flatten(),
                )
                .args(["env", "apply", "--yes", "-f"])
                .arg(file)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outcomes: Vec<_> = children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect();
    let wall = started.elapsed();
    let journal = fake.journal();
    let requests = journal.len();
    let throttled = journal.iter().filter(|e| e.status == Some(429)).count();
    let failed = outcomes.iter().filter(|o| !o.status.success()).count();
    let created = fake.environments(fake.connection_id()).len() - 1;
    // Every answered, not-throttled request at the limit after the burst.
    let useful = requests - throttled;
    let ideal = Duration::from_secs_f64(
        useful.saturating_sub(BURST as usize) as f64 / (f64::from(PER_MINUTE) / 60.0),
    );
    println!(
        "{mode}: {PROCESSES} processes x {CREATES} creates on one token at {PER_MINUTE}/min, burst {BURST}"
    );
    println!(
        "  {requests} requests, {throttled} x 429 ({:.1}% of requests), {failed} failed runs, {created} of {} environments created",
        100.0 * throttled as f64 / requests.max(1) as f64,
        PROCESSES * CREATES
    );
    println!(
        "  wall {:.2} s, ideal {:.2} s, wall / ideal {:.2}",
        wall.as_secs_f64(),
        ideal.as_secs_f64(),
        wall.as_secs_f64() / ideal.as_secs_f64().max(0.001)
    );
    for (k, o) in outcomes.iter().enumerate() {
        if !o.status.success() {
            let stderr = String::from_utf8_lossy(&o.stderr);
            let last: Vec<&str> = stderr.lines().rev().take(3).collect();
            println!(
                "  runner{k} exit {:?}: {}",
                o.status.code(),
                last.join(" | ")
            );
        }
    }
    runtime.block_on(fake.shutdown());
}
