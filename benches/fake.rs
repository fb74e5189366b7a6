//! Start-up time and update throughput of the fake, with the real client sending.
//!
//! `cargo bench -p omni-dbt --bench fake` prints one line per figure and a summary:
//! `omni-dbt-fake-bench start_ms=<median> updates_per_sec=<x> (conformance on) ...`

use std::time::{Duration, Instant};

use futures_util::StreamExt;
use omni_dbt::{Client, Token};
use omni_dbt_fake::FakeOmni;

const STARTS: usize = 21;
const UPDATES: usize = 20_000;
const CONCURRENCY: usize = 16;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut starts = Vec::with_capacity(STARTS);
    for _ in 0..STARTS {
        let t = Instant::now();
        let fake = FakeOmni::builder().start().await.expect("fake starts");
        starts.push(t.elapsed());
        drop(fake);
    }
    starts.sort();
    let start_ms = starts[STARTS / 2].as_secs_f64() * 1e3;
    println!(
        "fake start: median {start_ms:.2} ms, max {:.2} ms over {STARTS} starts",
        starts[STARTS - 1].as_secs_f64() * 1e3
    );

    let checked = updates_per_second(true).await;
    let unchecked = updates_per_second(false).await;
    println!(
        "omni-dbt-fake-bench start_ms={start_ms:.2} updates_per_sec={checked:.0} updates_per_sec_without_conformance={unchecked:.0}"
    );
}

async fn updates_per_second(conformance: bool) -> f64 {
    let fake = FakeOmni::builder()
        .without_rate_limit()
        .check_conformance(conformance)
        .start()
        .await
        .unwrap();
    let client = Client::builder()
        .with_token(Token::organization_api_key(
            &fake.tokens().organization_api_key,
        ))
        .with_base_url(fake.base_url())
        .without_rate_limit()
        .build()
        .unwrap();
    let envs = client.dbt_environments(fake.connection_id());
    let target = fake.default_environment();
    // Warm the connection pool.
    for _ in 0..CONCURRENCY {
        envs.update(target)
            .target_schema("warm")
            .send()
            .await
            .unwrap();
    }
    let started = Instant::now();
    let failures = futures_util::stream::iter(0..UPDATES)
        .map(|i| {
            envs.update(target)
                .target_schema(format!("schema_{}", i % 97))
                .target_role(None)
                .send()
        })
        .buffer_unordered(CONCURRENCY)
        .filter(|r| std::future::ready(r.is_err()))
        .count()
        .await;
    let elapsed = started.elapsed().max(Duration::from_micros(1));
    assert_eq!(failures, 0, "every update succeeds");
    assert!(fake.violations().is_empty());
    let rate = UPDATES as f64 / elapsed.as_secs_f64();
    println!(
        "{UPDATES} updates at concurrency {CONCURRENCY} (conformance {}): {:.2} s, {rate:.0} updates/s",
        if conformance { "on" } else { "off" },
        elapsed.as_secs_f64()
    );
    rate
}
