//! Overhead, pacing and build-time figures, measured side by side in one run.
//!
//! `cargo bench -p omni-dbt --bench resilience` ends with one summary line:
//! `omni-dbt-bench overhead_ratio=<x> overhead_ratio_with_timeout=<x>
//! overhead_ratio_decoding_into_struct=<x> pacing_efficiency=<x> failures=<n> unpaced_429s=<n>`.
//! Pass `-- --skip-clean-build` to leave out the (slow) clean-build timing, `-- --overhead-only`
//! for the overhead figure alone, with `--only typed` or `--only raw` for one side of it (e.g. to
//! count each side's instructions under callgrind), or `--only api` for the typed side through
//! the generated API (`Client::api()`, the hook without the ergonomic builder) in its place;
//! `--via-api` measures that path against raw; `--only raw1` (`raw2`, `raw3`) one raw side.
//! `--calls N` sets the number of calls of each kind (3500 by default): two callgrind runs with
//! different `N` give the instructions of one call without the start-up (the TLS roots, the
//! fake) that a single run spreads over its calls. `--current-thread` runs everything on one
//! thread: the overhead is then the caller's own work alone (on the default two-worker runtime
//! it includes the wake-ups of workers that went to sleep meanwhile), and instruction counts
//! leave out the spinning of idle workers.

use std::{
    process::Command,
    time::{Duration, Instant},
};

use omni_dbt::{Bulk, Client, RateLimit, Token};
use omni_dbt_fake::FakeOmni;
use reqwest::header::{ACCEPT, CONTENT_TYPE, USER_AGENT};
use serde_json::json;

/// The typed update the overhead figure measures, written in place where it is awaited (a
/// function around it would add a future, and a copy of its state, to what is measured).
macro_rules! typed_update {
    ($envs:expr, $environment:expr) => {
        $envs
            .update($environment)
            .target_schema("dbt_bench")
            .target_role(None)
            .send()
            .await
            .unwrap()
    };
}

const OVERHEAD_CALLS: usize = 3500;
const ROUNDS: usize = 7;
const PACED_UPDATES: usize = 120;
const LIMIT_PER_MINUTE: u32 = 600;

fn main() {
    // `--current-thread`: everything (caller, connection tasks, the fake) on one thread. The
    // per-call difference is then the caller's own work alone; on the default runtime (two
    // workers) it also includes how often a worker has gone to sleep and must be woken.
    let runtime = if std::env::args().any(|a| a == "--current-thread") {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(2);
        builder
    }
    .enable_all()
    .build()
    .expect("a tokio runtime");
    runtime.block_on(run());
}

async fn run() {
    // The raw reqwest client below needs a crypto provider (the typed client brings its own).
    let _ = rustls::crypto::ring::default_provider().install_default();

    let [overhead, overhead_timed, overhead_struct] = overhead_ratio().await;
    let overheads = format!(
        "overhead_ratio={overhead:.3} overhead_ratio_with_timeout={overhead_timed:.3} overhead_ratio_decoding_into_struct={overhead_struct:.3}"
    );
    if std::env::args().any(|a| a == "--overhead-only") {
        println!("omni-dbt-bench {overheads}");
        return;
    }
    let paced = pacing_run(true).await;
    let unpaced = pacing_run(false).await;
    let efficiency = paced.rate_per_minute / f64::from(LIMIT_PER_MINUTE);
    println!(
        "pacing on:  {PACED_UPDATES} updates in {:.2} s = {:.0}/min ({:.1}% of {LIMIT_PER_MINUTE}/min), {} failed, {} answered 429",
        paced.elapsed.as_secs_f64(),
        paced.rate_per_minute,
        efficiency * 100.0,
        paced.failures,
        paced.answered_429
    );
    println!(
        "pacing off: {PACED_UPDATES} updates in {:.2} s = {:.0}/min, {} failed, {} answered 429 (retried)",
        unpaced.elapsed.as_secs_f64(),
        unpaced.rate_per_minute,
        unpaced.failures,
        unpaced.answered_429
    );

    let generation_micros: u64 = include_str!(concat!(env!("OUT_DIR"), "/generation-micros.txt"))
        .trim()
        .parse()
        .unwrap_or(0);
    println!(
        "build script: generation (parse spec, progenitor, prettyplease) took {:.1} ms",
        generation_micros as f64 / 1e3
    );
    if !std::env::args().any(|a| a == "--skip-clean-build") {
        clean_build_time();
    }

    println!(
        "omni-dbt-bench {overheads} pacing_efficiency={efficiency:.3} failures={} unpaced_429s={}",
        paced.failures, unpaced.answered_429
    );
}

/// The typed call's time over hand-written reqwest + serde_json calls of the same PUT (the
/// same request on the wire, header for header: checked before measuring), the calls
/// interleaved one by one: against a bare `reqwest::Client::new()` decoding the answer
/// into a `serde_json::Value` (the reference figure), against one with the typed client's
/// timeout (every call then arms a timer, as the typed client's attempts do), and against that
/// one decoding into a struct (the answer's type, as a hand-written struct with the same
/// fields would: serde's derive is cheaper than building a `Value`). Returns the medians of the
/// per-round ratios, in that order.
async fn overhead_ratio() -> [f64; 3] {
    let fake = FakeOmni::builder()
        .without_rate_limit()
        .check_conformance(false)
        .start()
        .await
        .unwrap();
    let token = fake.tokens().organization_api_key.clone();
    let typed = Client::builder()
        .with_token(Token::organization_api_key(&token))
        .with_base_url(fake.base_url())
        .without_rate_limit()
        .build()
        .unwrap();
    let envs = typed.dbt_environments(fake.connection_id());
    let bare = reqwest::Client::new();
    let timed = reqwest::Client::builder()
        .timeout(omni_dbt::DEFAULT_TIMEOUT)
        .build()
        .unwrap();
    let (base, connection, environment) = (
        fake.base_url().to_owned(),
        fake.connection_id(),
        fake.default_environment(),
    );
    let body = json!({"targetSchema": "dbt_bench", "targetRole": null});
    // What a hand-written call does each time: the URL from the ids, the body serialised, the
    // answer read and decoded (as the typed call builds its URL from the ids it is given). It
    // sends the typed call's request, header for header (checked below): each header costs the
    // fake (which parses and journals it), and that is not the client's overhead (the typed
    // call's `User-Agent` alone moved the ratio by 0.4-0.7% when the raw call sent none).
    let raw_call = |client: &reqwest::Client, into_struct: bool| {
        let url = format!("{base}/v1/connections/{connection}/dbt/environments/{environment}");
        let request = client
            .put(url)
            .bearer_auth(&token)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, TYPED_USER_AGENT)
            .body(serde_json::to_vec(&body).unwrap());
        async move {
            let response = request.send().await.unwrap();
            assert!(response.status().is_success());
            let bytes = response.bytes().await.unwrap();
            if into_struct {
                let _: omni_dbt::DbtEnvironment = serde_json::from_slice(&bytes).unwrap();
            } else {
                let _: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            }
        }
    };
    let raw_sides = [
        ("raw reqwest", &bare, false),
        ("raw reqwest with a timeout", &timed, false),
        (
            "raw reqwest with a timeout, decoding into a struct",
            &timed,
            true,
        ),
    ];

    same_requests(&fake, &envs, &bare, raw_call).await;

    // `--only typed|raw|api`: one side alone, e.g. to count each side's instructions under
    // callgrind (the ratios printed are then meaningless); `raw1`, `raw2`, `raw3` one raw side.
    let only = std::env::args()
        .skip_while(|a| a != "--only")
        .nth(1)
        .unwrap_or_default();
    // `--via-api`: the typed side through `Client::api()` against raw, to split the overhead.
    let via_api = std::env::args().any(|a| a == "--via-api");
    let calls: usize = std::env::args()
        .skip_while(|a| a != "--calls")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(OVERHEAD_CALLS);
    // Rounds of interleaved calls: the ratio of medians per round, then its median and spread
    // over the rounds (one round says little on a shared 2-core machine).
    let mut ratios: [Vec<f64>; 3] = Default::default();
    let mut all: [Vec<Duration>; 4] = Default::default();
    for round in 0..=ROUNDS {
        let mut times: [Vec<Duration>; 4] = Default::default();
        for call in 0..(calls / ROUNDS) {
            // Each kind takes each place in the order in turn: a call's time can depend on the
            // one before it (which worker is awake, whose connection task just ran), and a
            // fixed order would charge that to one kind.
            for place in 0..4 {
                let kind = (place + call) % 4;
                let t = Instant::now();
                if kind > 0 {
                    let (_, client, into_struct) = raw_sides[kind - 1];
                    if only.is_empty() || only == "raw" || only == format!("raw{kind}") {
                        raw_call(client, into_struct).await;
                    }
                } else if only == "api" || (via_api && only.is_empty()) {
                    let mut body = omni_dbt::UpdateBody::default();
                    body.target_schema = Some("dbt_bench".into());
                    body.target_role = omni_dbt::Patch::Clear;
                    typed
                        .api()
                        .connections_dbt_environments_update()
                        .connection_id(fake.connection_id())
                        .environment_id(fake.default_environment())
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                } else if only.is_empty() || only == "typed" {
                    typed_update!(envs, fake.default_environment());
                }
                times[kind].push(t.elapsed());
            }
        }
        // Round 0 warms the connection pools and is not counted.
        if round > 0 {
            let medians: Vec<f64> = times.iter_mut().map(|t| median(t).as_secs_f64()).collect();
            for (kept, raw) in ratios.iter_mut().zip(&medians[1..]) {
                kept.push(medians[0] / raw);
            }
            for (kept, these) in all.iter_mut().zip(times) {
                kept.extend(these);
            }
        }
    }
    let micros: Vec<f64> = all
        .iter_mut()
        .map(|t| median(t).as_secs_f64() * 1e6)
        .collect();
    // The typed call's future is moved whole each time it is passed on: its size is part of
    // its cost (the raw side's future holds reqwest's boxed `Pending`).
    let future_bytes = std::mem::size_of_val(
        &envs
            .update(fake.default_environment())
            .target_schema("dbt_bench")
            .send(),
    );
    println!(
        "overhead: {calls} PUTs of each kind in {ROUNDS} rounds; median typed {:.1} µs; typed update future {future_bytes} bytes",
        micros[0]
    );
    let mut medians = [0.0; 3];
    for (i, (label, _, _)) in raw_sides.iter().enumerate() {
        let ratios = &mut ratios[i];
        ratios.sort_by(f64::total_cmp);
        medians[i] = ratios[ratios.len() / 2];
        let shown: Vec<String> = ratios.iter().map(|r| format!("{r:.3}")).collect();
        println!(
            "overhead against {label} ({:.1} µs, {:+.1} µs a call): ratio per round {} -> median {:.3}, spread {:.3}..{:.3}",
            micros[i + 1],
            micros[0] - micros[i + 1],
            shown.join(" "),
            medians[i],
            ratios[0],
            ratios[ratios.len() - 1]
        );
    }
    medians
}

/// The `User-Agent` the typed client sends.
const TYPED_USER_AGENT: &str = concat!("omni-dbt/", env!("CARGO_PKG_VERSION"));

/// Fails unless a typed and a raw call reach the fake as the same request (method, path, every
/// header and its value, body): the ratio compares the clients' work, not two requests.
async fn same_requests<F: Future<Output = ()>>(
    fake: &FakeOmni,
    envs: &omni_dbt::DbtEnvironments,
    bare: &reqwest::Client,
    raw_call: impl Fn(&reqwest::Client, bool) -> F,
) {
    let seen = |from: usize| {
        let journal = fake.journal();
        let entry = journal[from..]
            .last()
            .cloned()
            .expect("the call reached the fake");
        let mut headers = entry.headers.clone();
        headers.sort();
        (entry.method, entry.path, headers, entry.body)
    };
    let before = fake.journal().len();
    typed_update!(envs, fake.default_environment());
    let typed = seen(before);
    let before = fake.journal().len();
    raw_call(bare, false).await;
    let raw = seen(before);
    assert_eq!(
        typed, raw,
        "the raw reference must send the typed call's request (method, path, headers, body)"
    );
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

struct PacingRun {
    elapsed: Duration,
    rate_per_minute: f64,
    failures: usize,
    answered_429: usize,
}

/// 120 updates at concurrency 8 through a fake limited to 600/min (burst: one second's worth).
async fn pacing_run(paced: bool) -> PacingRun {
    let fake = FakeOmni::builder()
        .rate_limit_per_minute(LIMIT_PER_MINUTE)
        .rate_limit_burst(LIMIT_PER_MINUTE / 60)
        .check_conformance(false)
        .start()
        .await
        .unwrap();
    let builder = Client::builder()
        .with_token(Token::organization_api_key(
            &fake.tokens().organization_api_key,
        ))
        .with_base_url(fake.base_url());
    let client = if paced {
        builder.with_rate_limit(RateLimit::per_minute(LIMIT_PER_MINUTE))
    } else {
        builder.without_rate_limit()
    }
    .build()
    .unwrap();
    let envs = client.dbt_environments(fake.connection_id());
    let target = fake.default_environment();
    let started = Instant::now();
    let results =
        Bulk::new((0..PACED_UPDATES).map(|i| envs.update(target).target_schema(format!("s{i}"))))
            .concurrency(8)
            .run()
            .await;
    let elapsed = started.elapsed();
    PacingRun {
        elapsed,
        rate_per_minute: PACED_UPDATES as f64 / elapsed.as_secs_f64() * 60.0,
        failures: results.iter().filter(|r| r.is_err()).count(),
        answered_429: fake
            .journal()
            .iter()
            .filter(|e| e.status == Some(429))
            .count(),
    }
}

/// A clean debug build of the library in a fresh target directory.
fn clean_build_time() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target = std::env::temp_dir().join(format!("omni-dbt-clean-build-{}", std::process::id()));
    let started = Instant::now();
    let status = Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "--package",
            "omni-dbt",
            "--lib",
            "--target-dir",
        ])
        .arg(&target)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status();
    let elapsed = started.elapsed();
    let _ = std::fs::remove_dir_all(&target);
    match status {
        Ok(s) if s.success() => {
            println!(
                "clean build: `cargo build -p omni-dbt --lib` in a fresh target dir took {:.1} s",
                elapsed.as_secs_f64()
            )
        }
        other => println!("clean build: could not run cargo ({other:?})"),
    }
}
