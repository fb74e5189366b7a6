//! Many pipelines on one API key, as real processes: the small versions of
//! `cargo bench -p omni-dbt-cli --bench pipelines`, asserting counts (exit codes, copies,
//! requests), never times.

mod common;

use std::process::Output;

use common::{Harness, redis::redis, stderr};
use omni_dbt_fake::{Fault, Operation};

/// Runs `count` copies of the command at once; their outputs in order.
async fn at_once(h: &Harness, count: usize, args: impl Fn(usize) -> Vec<String>) -> Vec<Output> {
    let children: Vec<_> = (0..count)
        .map(|i| {
            let args = args(i);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let mut command = h.command(&args, &[]);
            command
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            command.spawn().unwrap()
        })
        .collect();
    tokio::task::spawn_blocking(move || {
        children
            .into_iter()
            .map(|child| child.wait_with_output().unwrap())
            .collect()
    })
    .await
    .unwrap()
}

fn named(h: &Harness, name: &str) -> usize {
    h.fake
        .environments(h.fake.connection_id())
        .iter()
        .filter(|e| e["name"] == name)
        .count()
}

/// A store when given, and a limit high enough that the CLI's own pacing does not slow the
/// test (the fake has none here).
fn store_args(store: Option<&str>) -> Vec<String> {
    let mut args = vec!["--rate-limit".to_owned(), "6000".to_owned()];
    if let Some(url) = store {
        args.extend(["--rate-limit-store".to_owned(), url.to_owned()]);
    }
    args
}

/// Four runs of one file at once, without a store, with one, and with lost answers: every run
/// exits 0, every name has one environment, and the next plan says "No changes".
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_applies_of_one_file_leave_no_duplicate() {
    let redis = redis();
    let mut modes: Vec<(&str, Option<String>, bool)> = vec![
        ("no store", None, false),
        ("no store, lost answers", None, true),
    ];
    if let Some(redis) = &redis {
        modes.push(("store", Some(redis.url.clone()), false));
        modes.push(("store, lost answers", Some(redis.url.clone()), true));
    }
    for (mode, store, faults) in modes {
        for round in 0..2 {
            let h = Harness::start().await;
            let names: Vec<String> = (0..4).map(|i| format!("cc{i}")).collect();
            let mut body = "managedBy: conc\nenvironments:\n".to_owned();
            for name in &names {
                body.push_str(&format!("  - name: {name}\n    targetSchema: dbt_{name}\n"));
            }
            let file = h.home.path().join("conc.yaml");
            std::fs::write(&file, format!("connection: {}\n{body}", h.connection())).unwrap();
            if faults {
                // Creates whose answers are lost after Omni made them: adopted, not repeated.
                h.fake
                    .inject(Operation::Create, Fault::DropAfterProcessing { times: 3 });
            }
            let file = file.display().to_string();
            let outs = at_once(&h, 4, |_| {
                let mut args = store_args(store.as_deref());
                args.extend(["env", "apply", "--yes", "-f", &file].map(str::to_owned));
                args
            })
            .await;
            for (i, out) in outs.iter().enumerate() {
                assert_eq!(
                    out.status.code(),
                    Some(0),
                    "{mode}, round {round}, run {i}: {}",
                    stderr(out)
                );
            }
            for name in &names {
                assert_eq!(
                    named(&h, name),
                    1,
                    "{mode}, round {round}: copies of {name}"
                );
            }
            let plan = h
                .run(&["env", "plan", "-f", &file, "--detailed-exitcode"], &[])
                .await;
            assert_eq!(
                plan.status.code(),
                Some(0),
                "{mode}, round {round}: the next plan changes nothing: {}",
                stderr(&plan)
            );
        }
    }
}

/// Four runs of one preview at once: one environment, and the branch reads dbt from it.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_previews_of_one_branch_leave_one() {
    let redis = redis();
    let mut stores = vec![None];
    if let Some(redis) = &redis {
        stores.push(Some(redis.url.clone()));
    }
    for store in stores {
        for round in 0..2 {
            let h = Harness::start().await;
            let (conn, model) = (h.connection(), h.fake.model_id().to_string());
            let outs = at_once(&h, 4, |_| {
                let mut args = store_args(store.as_deref());
                args.extend(
                    [
                        "preview",
                        "up",
                        "--connection",
                        &conn,
                        "--model",
                        &model,
                        "--branch",
                        "dev",
                    ]
                    .map(str::to_owned),
                );
                args
            })
            .await;
            for out in &outs {
                assert_eq!(
                    out.status.code(),
                    Some(0),
                    "{store:?} {round}: {}",
                    stderr(out)
                );
            }
            let previews: Vec<_> = h
                .fake
                .environments(h.fake.connection_id())
                .into_iter()
                .filter(|e| e["name"] == "preview-dev")
                .collect();
            assert_eq!(previews.len(), 1, "{store:?}, round {round}");
            let pointed = h
                .fake
                .branch(h.fake.model_id(), "dev")
                .and_then(|b| b.dbt_environment)
                .expect("the branch reads dbt from an environment");
            assert_eq!(
                pointed.to_string(),
                previews[0]["id"].as_str().unwrap(),
                "{store:?}, round {round}: the branch follows the kept copy"
            );
        }
    }
}

/// Four previews of four pull requests at once, each process sure it has the whole limit,
/// against a fake that gives the key a quarter of that (429s without `Retry-After`, as Omni
/// sends them), no store: every pipeline succeeds, and the last line of each says how many
/// requests it sent and how long it waited.
#[tokio::test(flavor = "multi_thread")]
async fn previews_that_meet_the_limit_wait_instead_of_failing() {
    let h = Harness::start_limited(120, 3).await;
    let (conn, model) = (h.connection(), h.fake.model_id().to_string());
    let outs = at_once(&h, 4, |i| {
        [
            "--rate-limit",
            "480",
            "preview",
            "up",
            "--create-branch",
            "--connection",
            &conn,
            "--model",
            &model,
            "--branch",
            &format!("feature-{i}"),
        ]
        .map(str::to_owned)
        .to_vec()
    })
    .await;
    for (i, out) in outs.iter().enumerate() {
        assert_eq!(out.status.code(), Some(0), "run {i}: {}", stderr(out));
        let last = stderr(out);
        let last = last.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("omni-dbt: ") && last.contains(" requests"),
            "run {i}: {last}"
        );
    }
    let throttled = h
        .fake
        .journal()
        .iter()
        .filter(|e| e.status == Some(429))
        .count();
    assert!(throttled > 0, "the limit was met (else this tests nothing)");
    for i in 0..4 {
        assert_eq!(named(&h, &format!("preview-feature-{i}")), 1);
    }
}

/// Without a store, the preview this run found may be deleted by another run (as a copy of the
/// one it made with a lower id) before this run updates it: the run makes it again and the
/// copies rule picks the copy that stays, instead of failing with a 404 (a CI run did).
#[tokio::test(flavor = "multi_thread")]
async fn a_preview_deleted_by_another_run_before_its_update_is_made_again() {
    let h = Harness::start().await;
    let (conn, model) = (h.connection(), h.fake.model_id().to_string());
    let up = [
        "preview",
        "up",
        "--connection",
        &conn,
        "--model",
        &model,
        "--branch",
        "dev",
    ];
    let out = h.run(&up, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let first = h
        .fake
        .environments(h.fake.connection_id())
        .into_iter()
        .find(|e| e["name"] == "preview-dev")
        .unwrap();
    let client = h.client();
    let envs = client.dbt_environments(h.fake.connection_id());
    for attempt in 0..5 {
        // The update is held back; meanwhile "another run" deletes the preview and makes its own.
        h.fake.clear_journal();
        h.fake.inject(
            Operation::Update,
            Fault::Latency(std::time::Duration::from_millis(1500)),
        );
        let mut command = h.command(&up, &[]);
        command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let child = command.spawn().unwrap();
        while !h
            .fake
            .journal()
            .iter()
            .any(|e| e.operation == Some(Operation::List))
        {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let current = h
            .fake
            .environments(h.fake.connection_id())
            .into_iter()
            .find(|e| e["name"] == "preview-dev")
            .unwrap();
        let marker = current["variables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "OMNI_DBT_MANAGED_BY")
            .unwrap()["value"]
            .as_str()
            .unwrap()
            .to_owned();
        envs.delete(current["id"].as_str().unwrap().parse().unwrap())
            .send()
            .await
            .unwrap();
        envs.create("preview-dev", first["targetSchema"].as_str().unwrap())
            .add_variable("OMNI_DBT_MANAGED_BY", marker)
            .send()
            .await
            .unwrap();
        let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        h.fake.clear_faults();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(named(&h, "preview-dev"), 1, "one preview left");
        let met_404 = h
            .fake
            .journal()
            .iter()
            .any(|e| e.operation == Some(Operation::Update) && e.status == Some(404));
        if met_404 {
            assert!(
                stderr(&out).contains("was deleted by another run"),
                "{}",
                stderr(&out)
            );
            return;
        }
        eprintln!("attempt {attempt}: the update came after the delete; trying again");
    }
    panic!("the update never met the deleted preview in 5 attempts");
}
