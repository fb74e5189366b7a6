//! Many pipelines, one API key: real `omni-dbt` processes at once against the fake, which limits
//! the token like Omni (its 429s carry no `Retry-After`). Each scenario prints its figures
//! (requests, 429s, failed runs, copies left, wall time against the ideal: requests / rate):
//!
//! 1. 8 `preview up --create-branch` of 8 pull requests at once, 60/min burst 5, no store;
//! 2. 4 uncoordinated `env apply` processes x 20 creates at 300/min; and 4 x 5 at 60/min;
//! 3. 4 concurrent applies of one file (10 creates), without the store, with it, and with lost
//!    answers: copies left behind, and whether the next plan says "No changes";
//! 4. the lookups on a connection of 2,000 environments: list requests of `env get` and
//!    `preview up`;
//! 5. the same as 2 with the shared Redis store, when `redis-server` is installed.
//!
//! `cargo bench -p omni-dbt-cli --bench pipelines` (release build of the CLI). Trials per
//! scenario: `PIPELINES_TRIALS=<n>` (default: 10 for 1, 20 for 2, 10 for 3).

use std::{
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};

use omni_dbt_fake::{FakeOmni, Fault, Operation};

#[path = "../../../tests/support/redis.rs"]
mod redis_server;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let trials = |default: usize| {
        std::env::var("PIPELINES_TRIALS")
            .ok()
            .and_then(|t| t.parse().ok())
            .unwrap_or(default)
    };
    // `PIPELINES_ONLY=2` runs scenario 2 alone (e.g. while tuning the pacing).
    let only = std::env::var("PIPELINES_ONLY").ok();
    let wanted = |n: &str| only.as_deref().is_none_or(|o| o.split(',').any(|x| x == n));
    // Stopped when dropped, at the end of `main`.
    let redis = redis_server::redis();
    let store = redis.as_ref().map(|r| r.url.clone());
    if wanted("1") {
        previews_at_once(&runtime, trials(10));
    }
    if wanted("2") {
        uncoordinated_applies(&runtime, "no store", 4, 20, 300, trials(20), None);
        uncoordinated_applies(&runtime, "no store", 4, 5, 60, trials(20), None);
    }
    if wanted("3") {
        one_file_at_once(&runtime, trials(10), store.as_deref());
    }
    if wanted("4") {
        lookups(&runtime, store.as_deref());
    }
    if wanted("5") {
        match &store {
            Some(url) => {
                uncoordinated_applies(&runtime, "shared store", 4, 20, 300, trials(3), Some(url));
            }
            None => println!("shared store (Redis): skipped, redis-server is not installed"),
        }
    }
    drop(redis);
}

/// A fake with a per-token limit (its 429s without `Retry-After`), or none.
fn fake(runtime: &tokio::runtime::Runtime, limit: Option<(u32, u32)>) -> FakeOmni {
    runtime.block_on(async {
        let builder = FakeOmni::builder()
            .journal_capacity(1_000_000)
            .check_conformance(false)
            .job_duration(Duration::from_millis(50));
        let builder = match limit {
            Some((per_minute, burst)) => builder
                .rate_limit_per_minute(per_minute)
                .rate_limit_burst(burst),
            None => builder.without_rate_limit(),
        };
        builder.start().await.unwrap()
    })
}

/// The CLI on the fake with a token file in `dir`.
fn cli(fake: &FakeOmni, dir: &std::path::Path, args: &[String]) -> Command {
    let token = dir.join("token");
    if !token.exists() {
        std::fs::write(&token, &fake.tokens().organization_api_key).unwrap();
    }
    let mut command = Command::new(env!("CARGO_BIN_EXE_omni-dbt"));
    command
        .env_remove("OMNI_API_TOKEN")
        .env_remove("OMNI_BASE_URL")
        .env_remove("OMNI_RATE_LIMIT_STORE")
        .env("HOME", dir)
        .args(["--base-url", fake.base_url(), "--output", "json"])
        .arg("--token-file")
        .arg(&token)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

/// Runs the commands at once; their outputs, and the wall time.
fn at_once(commands: Vec<Command>) -> (Vec<Output>, Duration) {
    let started = Instant::now();
    let children: Vec<_> = commands
        .into_iter()
        .map(|mut c| c.spawn().unwrap())
        .collect();
    let outputs = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    (outputs, started.elapsed())
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

/// Requests and 429s the fake saw.
fn counts(fake: &FakeOmni) -> (usize, usize) {
    let journal = fake.journal();
    let throttled = journal.iter().filter(|e| e.status == Some(429)).count();
    (journal.len(), throttled)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn last_line(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .rev()
        .take(2)
        .collect::<Vec<_>>()
        .join(" | ")
}

/// 1. Eight pull requests open their previews at once, at Omni's default limit.
fn previews_at_once(runtime: &tokio::runtime::Runtime, trials: usize) {
    const PREVIEWS: usize = 8;
    println!(
        "1. {PREVIEWS} x `preview up --create-branch` at once, 60/min burst 5, no store ({trials} trials)"
    );
    let mut failed_pipelines = 0;
    let mut ratios = Vec::new();
    let mut throttled_share = Vec::new();
    for trial in 0..trials {
        let fake = fake(runtime, Some((60, 5)));
        let dir = tempfile::tempdir().unwrap();
        let (conn, model) = (
            fake.connection_id().to_string(),
            fake.model_id().to_string(),
        );
        let commands = (0..PREVIEWS)
            .map(|i| {
                let branch = format!("pr-{trial}-{i}");
                cli(
                    &fake,
                    dir.path(),
                    &strings(&[
                        "preview",
                        "up",
                        "--create-branch",
                        "--connection",
                        &conn,
                        "--model",
                        &model,
                        "--branch",
                        &branch,
                    ]),
                )
            })
            .collect();
        let (outputs, wall) = at_once(commands);
        let failed = outputs.iter().filter(|o| !o.status.success()).count();
        failed_pipelines += failed;
        let (requests, throttled) = counts(&fake);
        // Every request the key had to carry, at its rate after the burst.
        let ideal = (requests - throttled).saturating_sub(5) as f64;
        ratios.push(wall.as_secs_f64() / ideal.max(1.0));
        throttled_share.push(100.0 * throttled as f64 / requests.max(1) as f64);
        println!(
            "   trial {trial}: {failed} failed, {requests} requests, {throttled} x 429, wall {:.1} s, ideal {ideal:.0} s",
            wall.as_secs_f64()
        );
        for o in outputs.iter().filter(|o| !o.status.success()) {
            println!("     exit {:?}: {}", o.status.code(), last_line(o));
        }
        runtime.block_on(fake.shutdown());
    }
    println!(
        "   => {failed_pipelines} failed pipelines in {trials} trials; wall / ideal median {:.2}; 429s median {:.1}% of requests",
        median(&mut ratios),
        median(&mut throttled_share)
    );
}

/// 2. K processes that know nothing of each other each create N environments on one key.
fn uncoordinated_applies(
    runtime: &tokio::runtime::Runtime,
    mode: &str,
    processes: usize,
    creates: usize,
    per_minute: u32,
    trials: usize,
    store: Option<&str>,
) {
    println!(
        "2. {processes} uncoordinated `env apply` x {creates} creates at {per_minute}/min burst 5, {mode} ({trials} trials)"
    );
    let (mut failed_runs, mut worst_share) = (0, 0.0f64);
    let mut ratios = Vec::new();
    for trial in 0..trials {
        let fake = fake(runtime, Some((per_minute, 5)));
        let dir = tempfile::tempdir().unwrap();
        let commands = (0..processes)
            .map(|k| {
                let mut yaml = format!(
                    "connection: {}\nmanagedBy: runner{k}\nenvironments:\n",
                    fake.connection_id()
                );
                for i in 0..creates {
                    yaml.push_str(&format!(
                        "  - name: runner{k}-{i:03}\n    targetSchema: dbt_runner{k}_{i:03}\n"
                    ));
                }
                let path = dir.path().join(format!("runner{k}.yaml"));
                std::fs::write(&path, yaml).unwrap();
                let mut args = strings(&["--rate-limit", &per_minute.to_string()]);
                if let Some(url) = store {
                    args.extend(strings(&["--rate-limit-store", url]));
                }
                args.extend(strings(&["env", "apply", "--yes", "-f"]));
                args.push(path.display().to_string());
                cli(&fake, dir.path(), &args)
            })
            .collect();
        let (outputs, wall) = at_once(commands);
        let failed = outputs.iter().filter(|o| !o.status.success()).count();
        failed_runs += failed;
        let (requests, throttled) = counts(&fake);
        let share = 100.0 * throttled as f64 / requests.max(1) as f64;
        worst_share = worst_share.max(share);
        let useful = (requests - throttled).saturating_sub(5) as f64;
        let ideal = useful / (f64::from(per_minute) / 60.0);
        ratios.push(wall.as_secs_f64() / ideal.max(0.001));
        let created = fake.environments(fake.connection_id()).len() - 1;
        println!(
            "   trial {trial}: {failed} failed, {requests} requests, {throttled} x 429 ({share:.1}%), {created} of {} created, wall {:.1} s / ideal {ideal:.1} s",
            processes * creates,
            wall.as_secs_f64()
        );
        for o in outputs.iter().filter(|o| !o.status.success()) {
            println!("     exit {:?}: {}", o.status.code(), last_line(o));
        }
        runtime.block_on(fake.shutdown());
    }
    println!(
        "   => {failed_runs} failed runs; worst trial {worst_share:.1}% 429s; wall / ideal median {:.2}",
        median(&mut ratios)
    );
}

/// 3. Four runs of one file at once: copies left, and the next plan.
fn one_file_at_once(runtime: &tokio::runtime::Runtime, rounds: usize, store: Option<&str>) {
    let mut modes: Vec<(&str, Option<&str>, bool)> = vec![
        ("no store", None, false),
        ("no store, lost answers", None, true),
    ];
    if let Some(url) = store {
        modes.push(("shared store", Some(url), false));
        modes.push(("shared store, lost answers", Some(url), true));
    }
    for (mode, store, faults) in modes {
        println!("3. 4 concurrent `env apply` of one file (10 creates), {mode} ({rounds} rounds)");
        let (mut copies, mut failed, mut unclean) = (0, 0, 0);
        for _ in 0..rounds {
            let fake = fake(runtime, None);
            let dir = tempfile::tempdir().unwrap();
            let mut yaml = format!(
                "connection: {}\nmanagedBy: conc\nenvironments:\n",
                fake.connection_id()
            );
            for i in 0..10 {
                yaml.push_str(&format!("  - name: cc{i}\n    targetSchema: dbt_cc{i}\n"));
            }
            let path = dir.path().join("conc.yaml").display().to_string();
            std::fs::write(&path, yaml).unwrap();
            if faults {
                fake.inject(Operation::Create, Fault::DropAfterProcessing { times: 4 });
            }
            let args = |verb: &[&str]| {
                let mut args = strings(&["--rate-limit", "6000"]);
                if let Some(url) = store {
                    args.extend(strings(&["--rate-limit-store", url]));
                }
                args.extend(strings(verb));
                args.push(path.clone());
                args
            };
            let commands = (0..4)
                .map(|_| cli(&fake, dir.path(), &args(&["env", "apply", "--yes", "-f"])))
                .collect();
            let (outputs, _) = at_once(commands);
            failed += outputs.iter().filter(|o| !o.status.success()).count();
            let envs = fake.environments(fake.connection_id());
            copies += (0..10)
                .map(|i| {
                    envs.iter()
                        .filter(|e| e["name"] == format!("cc{i}"))
                        .count()
                        .saturating_sub(1)
                })
                .sum::<usize>();
            let plan = cli(
                &fake,
                dir.path(),
                &args(&["env", "plan", "--detailed-exitcode", "-f"]),
            )
            .output()
            .unwrap();
            if plan.status.code() != Some(0) {
                unclean += 1;
            }
            runtime.block_on(fake.shutdown());
        }
        println!(
            "   => {copies} extra copies, {failed} failed runs, {unclean} next plans with changes"
        );
    }
}

/// 4. Lookups on a connection of 2,000 environments.
fn lookups(runtime: &tokio::runtime::Runtime, store: Option<&str>) {
    println!("4. lookups on a connection of 2,000 environments");
    let fake = fake(runtime, None);
    let client = omni_dbt::Client::builder()
        .with_token(omni_dbt::Token::organization_api_key(
            &fake.tokens().organization_api_key,
        ))
        .with_base_url(fake.base_url())
        .without_rate_limit()
        .build()
        .unwrap();
    runtime.block_on(async {
        let envs = client.dbt_environments(fake.connection_id());
        let creates = (0..1999).map(|i| envs.create(format!("bulk-{i:04}"), "s"));
        let creates: Vec<_> = creates.collect();
        for result in omni_dbt::Bulk::new(creates).concurrency(16).run().await {
            result.unwrap();
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let conn = fake.connection_id().to_string();
    let model = fake.model_id().to_string();
    let up = |branch: &str| {
        strings(&[
            "preview",
            "up",
            "--connection",
            &conn,
            "--model",
            &model,
            "--branch",
            branch,
        ])
    };
    let mut runs = vec![
        (
            "env get",
            strings(&["env", "get", "bulk-1500", "--connection", &conn]),
        ),
        (
            "preview up (found branch, new environment, no store)",
            up("dev"),
        ),
    ];
    if let Some(url) = store {
        fake.add_branch(fake.model_id(), "dev2");
        let mut args = strings(&["--rate-limit-store", url]);
        args.extend(up("dev2"));
        runs.push((
            "preview up (found branch, new environment, shared store)",
            args,
        ));
    }
    for (what, args) in runs {
        fake.clear_journal();
        let out = cli(&fake, dir.path(), &args).output().unwrap();
        let lists = fake
            .journal()
            .iter()
            .filter(|e| e.operation == Some(Operation::List))
            .count();
        println!(
            "   {what}: exit {:?}, {lists} list requests (pages of 100: 20 per list)",
            out.status.code()
        );
    }
    runtime.block_on(fake.shutdown());
}
