//! `omni-dbt` as a team uses it, against the fake: many previews side by side, a nightly
//! `apply --prune`, secrets from CI, hostile input. Each test is a reproduction of a way the
//! CLI once touched what it did not own, blanked a secret, hung or panicked.

mod common;

use common::{Harness, json_out, stderr};
use omni_dbt::{Client, Token};
use omni_dbt_fake::Operation;
use serde_json::{Value, json};

fn names(h: &Harness) -> Vec<String> {
    h.fake
        .environments(h.fake.connection_id())
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect()
}

fn env_named(h: &Harness, name: &str) -> Option<Value> {
    h.fake
        .environments(h.fake.connection_id())
        .into_iter()
        .find(|e| e["name"] == name)
}

async fn preview(h: &Harness, verb: &str, branch: &str) -> std::process::Output {
    h.fake.add_branch(h.fake.model_id(), branch);
    let (conn, model) = (h.connection(), h.fake.model_id().to_string());
    h.run(
        &[
            "preview",
            verb,
            "--connection",
            &conn,
            "--model",
            &model,
            "--branch",
            branch,
        ],
        &[],
    )
    .await
}

async fn create(h: &Harness, name: &str) {
    let conn = h.connection();
    let out = h
        .run(
            &[
                "env",
                "create",
                name,
                "--schema",
                "hand",
                "--connection",
                &conn,
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// The library's client on the fake, for what the CLI itself would refuse to do.
fn client(h: &Harness) -> Client {
    Client::builder()
        .with_token(Token::organization_api_key(
            &h.fake.tokens().organization_api_key,
        ))
        .with_base_url(h.fake.base_url())
        .without_rate_limit()
        .build()
        .unwrap()
}

fn write(h: &Harness, name: &str, body: &str) -> String {
    let path = h.home.path().join(name);
    std::fs::write(&path, format!("connection: {}\n{body}", h.connection())).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn prune_deletes_only_what_the_file_made_and_an_empty_file_deletes_nothing() {
    let h = Harness::start().await;
    assert_eq!(preview(&h, "up", "feature-a").await.status.code(), Some(0));
    create(&h, "hand-made").await;
    // --prune needs the file's own id: two files named alike never prune each other's.
    let f = write(
        &h,
        "envs.yaml",
        "environments:\n  - name: staging\n    targetSchema: dbt_staging\n",
    );
    let before = h.fake.journal().len();
    let out = h
        .run(&["env", "apply", "-f", &f, "--yes", "--prune"], &[])
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--prune: the file has no managedBy"),
        "{}",
        stderr(&out)
    );
    assert_eq!(h.fake.journal().len(), before, "nothing was sent");
    let f = write(
        &h,
        "envs.yaml",
        "managedBy: envs.yaml\nenvironments:\n  - name: staging\n    targetSchema: dbt_staging\n",
    );
    let out = h
        .run(&["env", "apply", "-f", &f, "--yes", "--prune"], &[])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        names(&h),
        ["Default", "preview-feature-a", "hand-made", "staging"]
    );
    let plan = stderr(&out);
    assert!(plan.contains("kept preview-feature-a ("), "{plan}");
    assert!(
        plan.contains("managed by the preview of branch \"feature-a\""),
        "{plan}"
    );

    // A 0-byte file with --prune --yes: refused before anything is sent.
    let empty = h.home.path().join("empty.yaml");
    std::fs::write(&empty, "").unwrap();
    let before = h.fake.journal().len();
    let out = h
        .run(
            &[
                "env",
                "apply",
                "-f",
                empty.to_str().unwrap(),
                "--yes",
                "--prune",
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("the file is empty"),
        "{}",
        stderr(&out)
    );
    assert_eq!(h.fake.journal().len(), before, "nothing was sent");
    // A file that names no environment, with --prune: refused (every environment the id marks
    // would go), whether it says `environments: []`, `{}` or only its id.
    for body in [
        "managedBy: envs.yaml\nenvironments: []\n",
        "managedBy: envs.yaml\n",
        "managedBy: envs.yaml\nenvironments:\n",
    ] {
        let f = write(&h, "envs.yaml", body);
        let before = h.fake.journal().len();
        let out = h
            .run(&["env", "apply", "-f", &f, "--yes", "--prune"], &[])
            .await;
        assert_eq!(out.status.code(), Some(2), "{body}: {}", stderr(&out));
        assert!(stderr(&out).contains("--allow-empty"), "{}", stderr(&out));
        assert_eq!(h.fake.journal().len(), before, "nothing was sent");
    }
    // Asked for by name, it deletes what this file made, and only that.
    let f = write(&h, "envs.yaml", "managedBy: envs.yaml\nenvironments: []\n");
    let out = h
        .run(
            &[
                "env",
                "apply",
                "-f",
                &f,
                "--yes",
                "--prune",
                "--allow-empty",
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(names(&h), ["Default", "preview-feature-a", "hand-made"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn previews_of_branches_that_sanitise_alike_are_separate() {
    let h = Harness::start().await;
    let long = "x".repeat(70);
    let branches = [
        format!("{long}-part-1"),
        format!("{long}-part-2"),
        "Feature/ABC_123".to_owned(),
        "feature/abc-123".to_owned(),
    ];
    let mut ids = std::collections::BTreeSet::new();
    for branch in &branches {
        let out = preview(&h, "up", branch).await;
        assert_eq!(out.status.code(), Some(0), "{branch}: {}", stderr(&out));
        let env = &json_out(&out)["environment"];
        assert!(env["name"].as_str().unwrap().len() <= 64);
        assert!(env["targetSchema"].as_str().unwrap().len() <= 63);
        assert!(
            ids.insert(env["id"].as_str().unwrap().to_owned()),
            "{branch} shares"
        );
    }
    // Down of one leaves the other.
    let out = preview(&h, "down", &branches[0]).await;
    assert_eq!(json_out(&out)["action"], "deleted");
    assert_eq!(names(&h).len(), 1 + 3);
    let out = preview(&h, "down", "feature/abc-123").await;
    assert_eq!(json_out(&out)["action"], "deleted");
    let left = names(&h);
    assert_eq!(left.len(), 1 + 2);
    assert!(
        left.iter()
            .any(|n| n.starts_with("preview-feature-abc-123-")),
        "{left:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn preview_down_never_deletes_a_hand_made_environment_or_another_branchs() {
    let h = Harness::start().await;
    create(&h, "preview-foo").await;
    let out = preview(&h, "down", "foo").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("left alone: preview-foo"),
        "{}",
        stderr(&out)
    );
    assert!(env_named(&h, "preview-foo").is_some());

    // `DEV!!` is not `dev`: down of one leaves the other's preview.
    assert_eq!(preview(&h, "up", "dev").await.status.code(), Some(0));
    let out = preview(&h, "down", "DEV!!").await;
    assert_eq!(json_out(&out)["action"], "none", "{}", stderr(&out));
    assert!(env_named(&h, "preview-dev").is_some());

    // preview up does not take over the hand-made environment either.
    let out = preview(&h, "up", "foo").await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not managed by omni-dbt"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_environment_named_like_a_preview_is_never_changed_or_deleted() {
    let h = Harness::start().await;
    let conn = h.connection();
    let out = h
        .run(
            &[
                "env",
                "update",
                "Default",
                "--name",
                "preview-dev",
                "--connection",
                &conn,
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let before = env_named(&h, "preview-dev").unwrap();
    let out = preview(&h, "up", "dev").await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("default environment"),
        "{}",
        stderr(&out)
    );
    let out = preview(&h, "down", "dev").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(env_named(&h, "preview-dev"), Some(before), "untouched");

    // Even marked as the preview's (by hand, through the API), the default is never deleted.
    let client = client(&h);
    let default = h.fake.default_environment();
    client
        .dbt_environments(h.fake.connection_id())
        .update(default)
        .add_variable("OMNI_DBT_MANAGED_BY", "preview:dev")
        .send()
        .await
        .unwrap();
    let out = preview(&h, "down", "dev").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_out(&out)["action"], "none", "{}", stderr(&out));
    assert!(
        env_named(&h, "preview-dev").is_some(),
        "the default was deleted"
    );
    // And it is called what it is, not "managed by the preview".
    assert!(
        stderr(&out).contains("is the connection's default environment, not this preview's"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_environments_with_one_name_are_an_error_naming_both() {
    let h = Harness::start().await;
    let client = client(&h);
    let envs = client.dbt_environments(h.fake.connection_id());
    let a = envs.create("staging", "a").send().await.unwrap();
    let b = envs.create("staging", "b").send().await.unwrap();
    let f = write(
        &h,
        "envs.yaml",
        "environments:\n  - name: staging\n    targetSchema: x\n",
    );
    let out = h.run(&["env", "plan", "-f", &f], &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    for id in [a.id, b.id] {
        assert!(stderr(&out).contains(&id.to_string()), "{}", stderr(&out));
    }
    let conn = h.connection();
    let out = h
        .run(
            &[
                "env",
                "create",
                "staging",
                "--schema",
                "c",
                "--connection",
                &conn,
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(names(&h).iter().filter(|n| *n == "staging").count(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_or_empty_secret_is_refused_and_nothing_is_sent() {
    let h = Harness::start().await;
    let conn = h.connection();
    let before = h.fake.journal().len();
    let create = [
        "env",
        "create",
        "x",
        "--schema",
        "x",
        "--connection",
        &conn,
        "--secret-var",
        "PW",
    ];
    // Unset, and standard input empty (as in CI).
    let out = h.run_with_stdin(&create, &[], b"").await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("standard input is empty"),
        "{}",
        stderr(&out)
    );
    // Set but empty.
    let out = h.run(&create, &[("PW", "")]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("set but empty"), "{}", stderr(&out));
    assert_eq!(h.fake.journal().len(), before, "nothing was sent");
    // From standard input when unset: the value, without its newline.
    let out = h.run_with_stdin(&create, &[], b"from-stdin\n").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // `${EMPTY}` in the file: the plan runs (it needs no value), the apply refuses.
    let f = write(
        &h,
        "envs.yaml",
        "environments:\n  - name: y\n    targetSchema: y\n    secretVariables:\n      PW: ${EMPTY_PW}\n",
    );
    let out = h.run(&["env", "plan", "-f", &f], &[]).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "plan without the secret: {}",
        stderr(&out)
    );
    let before = h.fake.journal().len();
    let out = h
        .run(&["env", "apply", "-f", &f, "--yes"], &[("EMPTY_PW", "")])
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("EMPTY_PW is empty"),
        "{}",
        stderr(&out)
    );
    assert_eq!(h.fake.journal().len(), before + 1, "only the list was sent");
    // Blanks are no secret either, nor an unset variable (issue 29's survivor).
    for env in [&[("EMPTY_PW", " \t")][..], &[]] {
        let before = h.fake.journal().len();
        let out = h.run(&["env", "apply", "-f", &f, "--yes"], env).await;
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("secretVariables.PW: the environment variable EMPTY_PW is"),
            "{}",
            stderr(&out)
        );
        assert_eq!(h.fake.journal().len(), before + 1, "only the list was sent");
    }
    let conn = h.connection();
    let out = h
        .run(
            &[
                "env",
                "update",
                "y",
                "--connection",
                &conn,
                "--secret-var",
                "BLANK_PW",
            ],
            &[("BLANK_PW", "   ")],
        )
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("only blanks"), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_variable_of_the_other_kind_is_a_change_and_bad_input_fails_the_plan() {
    let h = Harness::start().await;
    let conn = h.connection();
    let out = h
        .run(
            &[
                "env",
                "create",
                "k",
                "--schema",
                "k",
                "--connection",
                &conn,
                "--var",
                "A=plain",
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let f = write(
        &h,
        "envs.yaml",
        "environments:\n  - name: k\n    targetSchema: k\n    secretVariables:\n      A: ${A_SECRET}\n",
    );
    let out = h
        .run(&["env", "plan", "-f", &f, "--detailed-exitcode"], &[])
        .await;
    assert_eq!(
        out.status.code(),
        Some(2),
        "a plain variable made secret is a change"
    );
    assert_eq!(
        json_out(&out)["update"][0]["changes"][0]["field"],
        "secret A"
    );

    for (body, says) in [
        (
            "environments:\n  - name: k\n    targetSchema: k\n    variables:\n      \"\": x\n",
            "a variable name must not be empty",
        ),
        (
            "environments:\n  - name: k\n    targetSchema: k\n    ownerId: 00000000-0000-0000-0000-000000000000\n",
            "must not be the nil UUID",
        ),
        (
            "environments:\n  - name: k\n    targetSchema: k\n    variables:\n      A: ${HOME}\n",
            "is not expanded there",
        ),
        (
            "environments:\n  - name: k\n    name: j\n    targetSchema: k\n",
            "\"name\" is given twice",
        ),
    ] {
        let f = write(&h, "bad.yaml", body);
        let before = h.fake.journal().len();
        let out = h.run(&["env", "apply", "-f", &f, "--yes"], &[]).await;
        assert_eq!(out.status.code(), Some(2), "{body}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{body}: {}", stderr(&out));
        assert_eq!(h.fake.journal().len(), before, "{body}: nothing was sent");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_input_is_bounded_and_a_closed_stdout_is_not_a_panic() {
    let h = Harness::start().await;
    let conn = h.connection();
    // A token file that never ends, or a FIFO nobody writes: refused at once.
    let mut command = h.command(&["env", "list", "--connection", &conn], &[]);
    command.arg("--token-file").arg("/dev/zero");
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("must be a regular file"),
        "{}",
        stderr(&out)
    );
    let fifo = h.home.path().join("fifo");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let mut command = h.command(&["env", "list", "--connection", &conn], &[]);
    command.arg("--token-file").arg(&fifo);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));

    // A refresh timeout that would overflow: a usage error before anything is sent.
    let before = h.fake.journal().len();
    let model = h.fake.model_id().to_string();
    let out = h
        .run(
            &[
                "preview",
                "up",
                "--connection",
                &conn,
                "--model",
                &model,
                "--branch",
                "dev",
                "--refresh",
                "--refresh-timeout",
                "18446744073709551615",
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--refresh-timeout"),
        "{}",
        stderr(&out)
    );
    assert_eq!(h.fake.journal().len(), before);

    // Standard output closed before anything is written.
    for args in [
        vec!["env", "list", "--connection", &conn],
        vec!["completions", "bash"],
    ] {
        let mut command = h.command(&args, &[]);
        command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let out = tokio::task::spawn_blocking(move || {
            let mut child = command.spawn().unwrap();
            drop(child.stdout.take());
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap();
        assert_ne!(
            out.status.code(),
            Some(101),
            "{args:?} panicked: {}",
            stderr(&out)
        );
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    }

    // A server-side name cannot inject a workflow command or escapes into the log.
    let out = h
        .run(
            &[
                "env",
                "create",
                "::error::pwned\n::warning::x",
                "--schema",
                "s",
                "--connection",
                &conn,
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).lines().all(|l| !l.starts_with("::")),
        "{}",
        stderr(&out)
    );
    let out = h
        .run(
            &["--output", "table", "env", "list", "--connection", &conn],
            &[],
        )
        .await;
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.lines().all(|l| !l.trim_start().starts_with("::")),
        "{table}"
    );
    assert!(table.contains("\\u{a}"), "{table}");
}

#[tokio::test(flavor = "multi_thread")]
async fn exit_codes_say_what_every_failed_step_had_in_common() {
    use omni_dbt_fake::{Fault, Operation};
    let h = Harness::start().await;
    let f = write(
        &h,
        "envs.yaml",
        "environments:\n  - name: a\n    targetSchema: a\n  - name: b\n    targetSchema: b\n",
    );
    h.fake.inject(Operation::Create, Fault::status(403, 100));
    let out = h.run(&["env", "apply", "-f", &f, "--yes"], &[]).await;
    assert_eq!(
        out.status.code(),
        Some(3),
        "all forbidden: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("Applied 0 of 2"), "{}", stderr(&out));

    // --detailed-exitcode reserves 2 for "changes": a usage error there is 1.
    let out = h
        .run(
            &[
                "env",
                "plan",
                "-f",
                &f,
                "--detailed-exitcode",
                "--no-such-flag",
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_librarys_warnings_reach_the_log_without_rust_log() {
    let h = Harness::start().await;
    let conn = h.connection();
    use std::os::unix::fs::PermissionsExt;
    let config = h.home.path().join("config.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"profiles": {{"default": {{"apiKey": "{}"}}}}, "defaultProfile": "default"}}"#,
            h.fake.tokens().organization_api_key
        ),
    )
    .unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_omni-dbt"));
    for var in [
        "OMNI_API_TOKEN",
        "OMNI_BASE_URL",
        "OMNI_CONNECTION_ID",
        "RUST_LOG",
    ] {
        command.env_remove(var);
    }
    command
        .env("HOME", h.home.path())
        .env("OMNI_CONFIG_PATH", &config)
        .args(["--base-url", h.fake.base_url()])
        .args(["--output", "json", "env", "list", "--connection", &conn]);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert!(
        stderr(&out).to_lowercase().contains("warn"),
        "a profile others can read is warned about: {}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_plans_no_changes_and_adopts_what_exists() {
    let h = Harness::start().await;
    let conn = h.connection();
    let out = h
        .run_with_stdin(
            &[
                "env",
                "create",
                "staging",
                "--schema",
                "dbt_staging",
                "--connection",
                &conn,
                "--database",
                "analytics",
                "--var",
                "DBT_TARGET=staging",
                "--secret-var",
                "PW",
            ],
            &[],
            b"hunter2\n",
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(preview(&h, "up", "feature-x").await.status.code(), Some(0));
    let out = h.run(&["env", "export", "--connection", &conn], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let yaml = String::from_utf8(out.stdout.clone()).unwrap();
    // Namespaced: a name chosen in Omni cannot select an unrelated variable of the CI job.
    assert!(
        yaml.contains("PW: ${OMNI_DBT_SECRET_STAGING__PW}"),
        "{yaml}"
    );
    assert!(
        !yaml.contains("hunter2") && !yaml.contains("OMNI_DBT_MANAGED_BY"),
        "{yaml}"
    );
    assert!(
        !yaml.contains("preview-feature-x"),
        "a preview is not adopted: {yaml}"
    );
    assert!(
        stderr(&out).contains("not exported: preview-feature-x"),
        "{}",
        stderr(&out)
    );
    let path = h.home.path().join("exported.yaml");
    std::fs::write(&path, &yaml).unwrap();
    let f = path.to_str().unwrap();
    let out = h
        .run(&["env", "plan", "-f", f, "--detailed-exitcode"], &[])
        .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "the export plans no changes: {}",
        String::from_utf8_lossy(&out.stdout)
    );

    // --target: only the named environment is planned; markdown for a job summary.
    let edited = yaml
        .replace("dbt_staging", "dbt_staging_v2")
        .replace("targetSchema: analytics", "targetSchema: analytics_v2");
    std::fs::write(&path, &edited).unwrap();
    let out = h
        .run(
            &[
                "env",
                "plan",
                "-f",
                f,
                "--target",
                "staging",
                "--plan-format",
                "markdown",
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let md = String::from_utf8_lossy(&out.stdout);
    assert!(
        md.contains("**Plan: 0 to create, 1 to update, 0 to delete.**"),
        "{md}"
    );
    assert!(
        md.contains(
            "| ✏️ update | `staging` | `targetSchema` | `dbt_staging` | `dbt_staging_v2` |"
        ),
        "{md}"
    );
    assert!(md.contains("in the file; not a --target"), "{md}");
    let out = h
        .run(&["env", "plan", "-f", f, "--target", "nope"], &[])
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[tokio::test(flavor = "multi_thread")]
async fn dbt_set_changes_only_what_is_given_and_shows_it() {
    let h = Harness::start().await;
    let conn = h.connection();
    let full = [
        "dbt",
        "set",
        "--connection",
        &conn,
        "--replace",
        "--ssh-url",
        "git@github.com:acme/dbt.git",
        "--branch",
        "main",
        "--autogen-relationships",
        "true",
        "--virtual-schemas",
        "false",
        "--project-root",
        "analytics/dbt",
    ];
    let out = h.run(&full, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let before = h.fake.journal().len();
    let out = h
        .run(
            &["dbt", "set", "--connection", &conn, "--branch", "release"],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("branch: main -> release"),
        "{}",
        stderr(&out)
    );
    let journal = h.fake.journal();
    let put = &journal[before + 1];
    assert_eq!(put.method, "PUT");
    let body: Value = serde_json::from_str(&put.body).unwrap();
    assert_eq!(body["projectRootPath"], "analytics/dbt", "kept: {body}");
    assert_eq!(body["branch"], "release");
    assert_eq!(body["autogenRelationships"], true);
    let out = h.run(&["dbt", "show", "--connection", &conn], &[]).await;
    assert_eq!(json_out(&out)["projectRootPath"], "analytics/dbt");

    // --replace without what Omni requires: named, nothing sent.
    let before = h.fake.journal().len();
    let out = h
        .run(
            &[
                "dbt",
                "set",
                "--connection",
                &conn,
                "--replace",
                "--branch",
                "x",
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--autogen-relationships, --virtual-schemas, --ssh-url"),
        "{}",
        stderr(&out)
    );
    assert_eq!(h.fake.journal().len(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_network_error_names_the_host_and_a_preview_can_copy_a_template() {
    let h = Harness::start().await;
    let conn = h.connection();
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = dead.local_addr().unwrap().port();
    drop(dead);
    let mut command = h.command(&["env", "list", "--connection", &conn], &[]);
    command.args(["--base-url", &format!("http://127.0.0.1:{port}")]);
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("talking to 127.0.0.1:{port}")),
        "{}",
        stderr(&out)
    );

    let out = h
        .run(
            &[
                "env",
                "create",
                "template",
                "--target-schema",
                "t",
                "--target-database",
                "analytics",
                "--target-role",
                "TRANSFORMER",
                "--var",
                "DBT_THREADS=8",
                "--connection",
                &conn,
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    h.fake.add_branch(h.fake.model_id(), "feature-t");
    let model = h.fake.model_id().to_string();
    let out = h
        .run(
            &[
                "preview",
                "up",
                "--connection",
                &conn,
                "--model",
                &model,
                "--branch",
                "feature-t",
                "--from",
                "template",
                "--target-role",
                "REVIEWER",
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let env = &json_out(&out)["environment"];
    assert_eq!(env["targetDatabase"], "analytics", "copied");
    assert_eq!(env["targetRole"], "REVIEWER", "the flag wins");
    let vars = env["variables"].as_array().unwrap();
    assert!(
        vars.iter()
            .any(|v| v["name"] == "DBT_THREADS" && v["value"] == "8"),
        "{vars:?}"
    );
    assert!(
        vars.iter()
            .any(|v| v["name"] == "OMNI_DBT_MANAGED_BY" && v["value"] == "preview:feature-t"),
        "{vars:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_mid_apply_says_what_finished_and_stdin_tokens_are_bounded() {
    use omni_dbt_fake::{Fault, Operation};
    let h = Harness::start().await;
    let mut body = String::from("environments:\n");
    for i in 0..12 {
        body.push_str(&format!("  - name: slow-{i:02}\n    targetSchema: s{i}\n"));
    }
    let f = write(&h, "slow.yaml", &body);
    h.fake.inject(
        Operation::Create,
        Fault::Latency(std::time::Duration::from_millis(400)),
    );
    let mut command = h.command(&["env", "apply", "-f", &f, "--yes"], &[]);
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let out = tokio::task::spawn_blocking(move || {
        let child = command.spawn().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1500));
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("terminated (SIGTERM)"),
        "{}",
        stderr(&out)
    );
    // The count is what had really finished: at 400 ms a create, 4 at a time, some had by
    // 1.5 s; the environments Omni has agree with the count (give or take the ones in flight).
    let said = stderr(&out);
    let finished: usize = said
        .split(" of 12 change(s) had finished")
        .next()
        .and_then(|before| before.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{said}"));
    let created = names(&h).iter().filter(|n| n.starts_with("slow-")).count();
    assert!(
        finished >= 1 && finished <= created,
        "{finished} said, {created} created: {said}"
    );
    // Each finished change was said as its answer came, and the interrupt's count is exactly
    // the lines said.
    let lines: Vec<&str> = said
        .lines()
        .filter(|l| l.starts_with("ok: created slow-"))
        .collect();
    assert_eq!(lines.len(), finished, "{said}");
    assert!(
        lines
            .last()
            .is_some_and(|l| l.ends_with(&format!("({finished} of 12)"))),
        "{said}"
    );

    // A token on standard input larger than 64 KiB is refused, not read without end.
    let conn = h.connection();
    // Without the harness's --token-file (it conflicts with --token-stdin).
    let mut clean = std::process::Command::new(env!("CARGO_BIN_EXE_omni-dbt"));
    clean
        .env_remove("OMNI_API_TOKEN")
        .env("HOME", h.home.path())
        .args([
            "--base-url",
            h.fake.base_url(),
            "--token-stdin",
            "env",
            "list",
            "--connection",
            &conn,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let out = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = clean.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(&vec![b'x'; 200 * 1024]);
        drop(stdin);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--token-stdin: standard input is larger than 65536 bytes"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_preview_of_a_branch_that_does_not_exist_leaves_nothing_behind() {
    let h = Harness::start().await;
    let (conn, model) = (h.connection(), h.fake.model_id().to_string());
    let before = h.fake.journal().len();
    let out = h
        .run(
            &[
                "preview",
                "up",
                "--connection",
                &conn,
                "--model",
                &model,
                "--branch",
                "no-such-branch",
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "model {model} has no branch no-such-branch: nothing was created; pass --create-branch"
        )),
        "{}",
        stderr(&out)
    );
    assert_eq!(names(&h), ["Default"], "nothing left behind");
    assert_eq!(
        operations(&h, before),
        [
            Operation::List,
            Operation::ModelsList,
            Operation::ModelsList
        ],
        "the environments, the branch and the model looked up; nothing created"
    );
}

fn operations(h: &Harness, from: usize) -> Vec<Operation> {
    h.fake.journal()[from..]
        .iter()
        .map(|e| e.operation.unwrap())
        .collect()
}

fn preview_args<'a>(
    conn: &'a str,
    model: &'a str,
    verb: &'a str,
    branch: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut args = vec![
        "preview",
        verb,
        "--connection",
        conn,
        "--model",
        model,
        "--branch",
        branch,
    ];
    args.extend_from_slice(extra);
    args
}

/// `preview up --create-branch` makes the model branch, then the environment; `preview down
/// --delete-branch` removes both; each again is nothing to do.
#[tokio::test(flavor = "multi_thread")]
async fn a_preview_creates_its_model_branch_and_down_deletes_it() {
    let h =
        Harness::start_with(omni_dbt_fake::FakeOmni::builder().branch_based_refresh(true)).await;
    let (conn, model) = (h.connection(), h.fake.model_id().to_string());
    let branch = "feature/new metrics";
    let before = h.fake.journal().len();
    let out = h
        .run(
            &preview_args(
                &conn,
                &model,
                "up",
                branch,
                &["--create-branch", "--refresh", "--refresh-branch"],
            ),
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let made = h
        .fake
        .branch(h.fake.model_id(), branch)
        .expect("the branch was created");
    let value = json_out(&out);
    assert_eq!(value["branchCreated"], true);
    assert_eq!(value["branchId"], made.id.to_string());
    let env = env_named(&h, value["environment"]["name"].as_str().unwrap()).unwrap();
    assert_eq!(
        made.dbt_environment.map(|e| e.to_string()).as_deref(),
        env["id"].as_str()
    );
    let ops = operations(&h, before);
    // Without a shared store, one more list once the branch is pointed: the check for a copy
    // another run of the preview made at the same time.
    assert_eq!(
        ops[..6],
        [
            Operation::List,
            Operation::ModelsList,
            Operation::ModelsCreate,
            Operation::Create,
            Operation::BranchDbt,
            Operation::List,
        ]
    );
    assert_eq!(ops[6], Operation::Refresh);
    let refresh = h
        .fake
        .journal()
        .into_iter()
        .find(|e| e.operation == Some(Operation::Refresh))
        .unwrap();
    assert_eq!(
        refresh.query,
        Some(format!("branch_id={}", made.id)),
        "the found branch is refreshed"
    );
    let create = h
        .fake
        .journal()
        .into_iter()
        .find(|e| e.operation == Some(Operation::ModelsCreate))
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&create.body).unwrap(),
        serde_json::json!({"baseModelId": model, "connectionId": conn, "modelKind": "BRANCH", "modelName": branch})
    );
    // Again: found, not created again.
    let before = h.fake.journal().len();
    let out = h
        .run(
            &preview_args(&conn, &model, "up", branch, &["--create-branch"]),
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_out(&out)["branchCreated"], false);
    assert!(!operations(&h, before).contains(&Operation::ModelsCreate));

    // Down without --delete-branch keeps the branch; with it, the branch goes too.
    let out = h
        .run(&preview_args(&conn, &model, "down", branch, &[]), &[])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(h.fake.branch(h.fake.model_id(), branch).is_some());
    assert_eq!(names(&h), ["Default"]);
    let out = h
        .run(
            &preview_args(&conn, &model, "down", branch, &["--delete-branch"]),
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(h.fake.branch(h.fake.model_id(), branch).is_none());
    assert_eq!(json_out(&out)["branchDeleted"], true);
    assert!(
        stderr(&out).contains("deleted model branch feature/new metrics"),
        "{}",
        stderr(&out)
    );
    let out = h
        .run(
            &preview_args(&conn, &model, "down", branch, &["--delete-branch"]),
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_out(&out)["action"], "none");
    assert!(
        stderr(&out).contains("has no branch feature/new metrics: nothing to delete"),
        "{}",
        stderr(&out)
    );
    assert_eq!(h.fake.violations(), Vec::<String>::new());
}

/// A step after the branch was created fails: the environment and the branch this run made
/// are deleted again; a branch that existed before is kept.
#[tokio::test(flavor = "multi_thread")]
async fn a_failed_preview_deletes_the_branch_it_created_and_keeps_one_it_found() {
    let h = Harness::start().await;
    let (conn, model) = (h.connection(), h.fake.model_id().to_string());
    h.fake
        .inject(Operation::BranchDbt, omni_dbt_fake::Fault::status(403, 1));
    let out = h
        .run(
            &preview_args(&conn, &model, "up", "pr-9", &["--create-branch"]),
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("was deleted again")
            && err.contains("the model branch pr-9 created for the preview was deleted again"),
        "{err}"
    );
    assert!(h.fake.branch(h.fake.model_id(), "pr-9").is_none());
    assert_eq!(names(&h), ["Default"]);
    // The environment create fails: the branch made for it goes again too.
    h.fake
        .inject(Operation::Create, omni_dbt_fake::Fault::status(403, 1));
    let out = h
        .run(
            &preview_args(&conn, &model, "up", "pr-9", &["--create-branch"]),
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(h.fake.branch(h.fake.model_id(), "pr-9").is_none());
    // A branch that was there is not this run's to delete.
    h.fake.add_branch(h.fake.model_id(), "pr-9");
    h.fake
        .inject(Operation::BranchDbt, omni_dbt_fake::Fault::status(403, 1));
    let out = h
        .run(
            &preview_args(&conn, &model, "up", "pr-9", &["--create-branch"]),
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(h.fake.branch(h.fake.model_id(), "pr-9").is_some());
    assert_eq!(names(&h), ["Default"]);
    assert_eq!(h.fake.violations(), Vec::<String>::new());
}

/// `env create NAME --target-schema SCHEMA --owner OWNER` on the fake's connection.
async fn create_owned(h: &Harness, name: &str, schema: &str, owner: &str) -> std::process::Output {
    let conn = h.connection();
    let args = [
        "env",
        "create",
        name,
        "--target-schema",
        schema,
        "--connection",
        &conn,
        "--owner",
        owner,
    ];
    h.run(&args, &[]).await
}

/// `--owner` and `owner:` take an email, found through SCIM before anything is sent; an
/// unknown email, a personal token or a malformed value sends nothing that changes Omni.
#[tokio::test(flavor = "multi_thread")]
async fn owners_by_email_are_looked_up_before_anything_is_sent() {
    let h = Harness::start().await;
    let conn = h.connection();
    let before = h.fake.journal().len();
    let out = create_owned(&h, "ada-dev", "dbt_ada", "Ada@Example.com").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        env_named(&h, "ada-dev").unwrap()["ownerId"],
        h.fake.admin_user().to_string()
    );
    assert_eq!(
        operations(&h, before),
        [Operation::List, Operation::ScimUsers, Operation::Create]
    );
    let scim = h
        .fake
        .journal()
        .into_iter()
        .find(|e| e.operation == Some(Operation::ScimUsers))
        .unwrap();
    assert_eq!(
        scim.query.as_deref(),
        Some("filter=userName+eq+%22Ada%40Example.com%22")
    );

    // Unknown email: exit 4, naming the flag; nothing created.
    let before = h.fake.journal().len();
    let out = create_owned(&h, "x", "x", "nobody@example.com").await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--owner nobody@example.com: no Omni user has this email"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        operations(&h, before),
        [Operation::List, Operation::ScimUsers]
    );
    // Not an id or an email: clap's usage error, naming the flag; nothing sent.
    let before = h.fake.journal().len();
    let out = create_owned(&h, "x", "x", "ada").await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--owner"), "{}", stderr(&out));
    assert_eq!(h.fake.journal().len(), before);
    // A personal token: ownership needs an Organization API key, by email or by id (never
    // "give the id instead", which Omni refuses too); nothing but reads is sent (exit 2).
    std::fs::write(h.home.path().join("token"), &h.fake.tokens().pat_admin).unwrap();
    let grace = h.fake.admin_user().to_string();
    for owner in ["grace@example.com", grace.as_str()] {
        h.fake.clear_journal();
        let out = h
            .run(
                &[
                    "env",
                    "update",
                    "ada-dev",
                    "--connection",
                    &conn,
                    "--owner",
                    owner,
                ],
                &[],
            )
            .await;
        assert_eq!(out.status.code(), Some(2), "{owner}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("--owner: setting an owner needs an Organization API key")
                && stderr(&out).contains("leave --owner out")
                && !stderr(&out).contains("give the user's id"),
            "{owner}: {}",
            stderr(&out)
        );
        assert!(
            h.fake.journal().iter().all(|e| e.method == "GET"),
            "{owner}: {:?}",
            h.fake.journal()
        );
    }
    std::fs::write(
        h.home.path().join("token"),
        &h.fake.tokens().organization_api_key,
    )
    .unwrap();
    let out = h
        .run(
            &[
                "env",
                "update",
                "ada-dev",
                "--connection",
                &conn,
                "--owner",
                "grace@example.com",
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let grace = json_out(&out)["ownerId"].as_str().unwrap().to_owned();
    assert_ne!(grace, h.fake.admin_user().to_string());

    // In the file: `owner:` plans the owner's id (personal), and a second plan has no changes.
    let file = h.home.path().join("envs.yaml");
    std::fs::write(
        &file,
        format!("connection: {conn}\nenvironments:\n  - name: nightly\n    targetSchema: dbt_nightly\n    owner: ada@example.com\n"),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let out = h.run(&["env", "apply", "-f", f, "--yes"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("personal"), "{}", stderr(&out));
    assert_eq!(
        env_named(&h, "nightly").unwrap()["ownerId"],
        h.fake.admin_user().to_string()
    );
    let out = h
        .run(&["env", "plan", "-f", f, "--plan-format", "text"], &[])
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("No changes"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Both keys, or an unknown email: errors naming the key, nothing changed.
    for (extra, code, says) in [
        (
            "    ownerId: null\n",
            2,
            "environments[0].owner: give the owner once",
        ),
        (
            "",
            4,
            "environments[0].owner nobody@example.com: no Omni user has this email",
        ),
    ] {
        let owner = if code == 4 {
            "nobody@example.com"
        } else {
            "ada@example.com"
        };
        std::fs::write(
            &file,
            format!("connection: {conn}\nenvironments:\n  - name: nightly\n    targetSchema: other\n    owner: {owner}\n{extra}"),
        )
        .unwrap();
        let before = h.fake.journal().len();
        let out = h.run(&["env", "apply", "-f", f, "--yes"], &[]).await;
        assert_eq!(out.status.code(), Some(code), "{}", stderr(&out));
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
        assert!(!operations(&h, before).contains(&Operation::Update));
    }
    assert_eq!(
        env_named(&h, "nightly").unwrap()["targetSchema"],
        "dbt_nightly"
    );
    assert_eq!(h.fake.violations(), Vec::<String>::new());
}

/// A secret named in Omni cannot pull the CLI's credential (or any CI variable) into Omni: the
/// export's references are namespaced, and a file or flag that names the CLI's own or the CI's
/// reserved variables is refused, naming the key, before anything is sent.
#[tokio::test(flavor = "multi_thread")]
async fn a_secret_reference_never_selects_the_clis_credential() {
    let h = Harness::start().await;
    let conn = h.connection();
    client(&h)
        .dbt_environments(h.fake.connection_id())
        .create("x", "dbt_x")
        .add_secret_variable("omni api token", "old")
        .send()
        .await
        .unwrap();
    let out = h
        .run(
            &[
                "env",
                "export",
                "--connection",
                &conn,
                "--managed-by",
                "x.yaml",
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let yaml = String::from_utf8(out.stdout).unwrap();
    assert!(
        yaml.contains("\"omni api token\": ${OMNI_DBT_SECRET_X__OMNI_API_TOKEN}"),
        "{yaml}"
    );
    assert!(!yaml.contains("${OMNI_API_TOKEN}"), "{yaml}");
    let token = h.fake.tokens().organization_api_key.clone();
    let file = h.home.path().join("x.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let f = file.to_str().unwrap();
    // Rotating with the CLI's token in the environment: the reference names another variable.
    let out = h
        .run(
            &["env", "apply", "-f", f, "--yes", "--rotate-secrets"],
            &[("OMNI_API_TOKEN", token.as_str())],
        )
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("OMNI_DBT_SECRET_X__OMNI_API_TOKEN is not set"),
        "{}",
        stderr(&out)
    );
    // Written by hand: refused, naming the key; only nothing is sent (not even the list).
    for var in [
        "OMNI_API_TOKEN",
        "OMNI_RATE_LIMIT_STORE",
        "GITHUB_TOKEN",
        "ACTIONS_RUNTIME_TOKEN",
        "RUNNER_TEMP",
    ] {
        std::fs::write(
            &file,
            format!(
                "connection: {conn}\nenvironments:\n  - name: x\n    targetSchema: dbt_x\n    secretVariables:\n      omni api token: ${{{var}}}\n"
            ),
        )
        .unwrap();
        let before = h.fake.journal().len();
        let out = h
            .run(
                &["env", "apply", "-f", f, "--yes", "--rotate-secrets"],
                &[(var, token.as_str())],
            )
            .await;
        assert_eq!(out.status.code(), Some(2), "{var}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!(
                "environments[0].secretVariables.omni api token: ${{{var}}}"
            )),
            "{}",
            stderr(&out)
        );
        assert_eq!(h.fake.journal().len(), before, "nothing was sent");
    }
    let out = h
        .run(
            &[
                "env",
                "update",
                "x",
                "--connection",
                &conn,
                "--secret-var",
                "OMNI_API_TOKEN",
            ],
            &[("OMNI_API_TOKEN", token.as_str())],
        )
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--secret-var OMNI_API_TOKEN"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        h.fake
            .stored_value(
                h.fake.connection_id(),
                h.fake
                    .environments(h.fake.connection_id())
                    .iter()
                    .find(|e| e["name"] == "x")
                    .and_then(|e| e["id"].as_str())
                    .unwrap()
                    .parse()
                    .unwrap(),
                "omni api token"
            )
            .as_deref(),
        Some("old"),
        "the token never reached Omni"
    );
}

/// A token whose kind the CLI cannot tell (from a file or OMNI_API_TOKEN) that turns out to be
/// a Personal Access Token: an apply that sets an owner is refused before its first change,
/// not after some of them (it created the first environment and failed the second).
#[tokio::test(flavor = "multi_thread")]
async fn an_apply_setting_owners_with_a_personal_token_changes_nothing() {
    let h = Harness::start().await;
    std::fs::write(
        h.home.path().join("token"),
        format!("{}\n", h.fake.tokens().pat_admin),
    )
    .unwrap();
    let owner = h.fake.admin_user();
    let f = write(
        &h,
        "owned.yaml",
        &format!(
            "environments:\n  - name: a-first\n    targetSchema: a\n  - name: b-owned\n    targetSchema: b\n    ownerId: {owner}\n"
        ),
    );
    let before = names(&h);
    let out = h.run(&["env", "apply", "-f", &f, "--yes"], &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("setting an owner needs an Organization API key"),
        "{}",
        stderr(&out)
    );
    assert_eq!(names(&h), before, "nothing was created");
    assert!(
        h.fake.journal().iter().all(|e| e.method == "GET"),
        "{:?}",
        h.fake.journal()
    );
    // With the Organization API key the same file applies.
    std::fs::write(
        h.home.path().join("token"),
        format!("{}\n", h.fake.tokens().organization_api_key),
    )
    .unwrap();
    let out = h.run(&["env", "apply", "-f", &f, "--yes"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// An environment named like the preview of `dev` but marked as the preview of `dev-old` (a
/// marker that merely starts like this one's) is not `dev`'s: `down` leaves it alone.
#[tokio::test(flavor = "multi_thread")]
async fn preview_down_matches_the_marker_exactly() {
    let h = Harness::start().await;
    let other = client(&h)
        .dbt_environments(h.fake.connection_id())
        .create("preview-dev", "dbt_dev_old")
        .add_variable("OMNI_DBT_MANAGED_BY", "preview:dev-old")
        .send()
        .await
        .unwrap();
    let before = h.fake.journal().len();
    let out = preview(&h, "down", "dev").await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_out(&out)["action"], "none", "{}", stderr(&out));
    assert!(
        h.fake
            .environments(h.fake.connection_id())
            .iter()
            .any(|e| e["id"] == other.id.to_string())
    );
    assert!(
        !operations(&h, before).contains(&Operation::Delete),
        "nothing deleted"
    );
}

/// A secret referencing an environment variable that is not set stops the apply before
/// anything is changed, naming the variable: only the list is sent.
#[tokio::test(flavor = "multi_thread")]
async fn an_unset_secret_reference_is_refused_naming_it_and_only_the_list_is_sent() {
    let h = Harness::start().await;
    let file = write(
        &h,
        "unset.yaml",
        "managedBy: unset\nenvironments:\n  - name: u\n    targetSchema: s\n    secretVariables:\n      PW: ${OMNI_DBT_TEST_SURELY_UNSET}\n",
    );
    let before = h.fake.journal().len();
    let out = h.run(&["env", "apply", "--yes", "-f", &file], &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("OMNI_DBT_TEST_SURELY_UNSET is not set"),
        "{}",
        stderr(&out)
    );
    assert_eq!(operations(&h, before), [Operation::List]);
}

/// `preview gc`: ten previews, three of whose git branches are gone (a plain list and `git
/// ls-remote`'s output both read). The dry run names exactly those three and changes nothing;
/// `--yes` deletes exactly them (and, asked, their model branches); a file's environment, a
/// hand-made one and the default are never candidates; an empty list is refused.
#[tokio::test(flavor = "multi_thread")]
async fn preview_gc_deletes_exactly_the_previews_whose_branch_is_gone() {
    let h = &Harness::start().await;
    let branches: Vec<String> = (0..10).map(|i| format!("feature/pr-{i}")).collect();
    for branch in &branches {
        let out = preview(h, "up", branch).await;
        assert_eq!(out.status.code(), Some(0), "{branch}: {}", stderr(&out));
    }
    create(h, "hand-made").await;
    let f = write(
        h,
        "file.yaml",
        "managedBy: team\nenvironments:\n  - name: staging\n    targetSchema: dbt_staging\n",
    );
    let out = h.run(&["env", "apply", "-f", &f, "--yes"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let gone = ["feature/pr-2", "feature/pr-5", "feature/pr-9"];
    let live: String = branches
        .iter()
        .filter(|b| !gone.contains(&b.as_str()))
        .enumerate()
        .map(|(i, b)| format!("{i:040x}\trefs/heads/{b}\n"))
        .collect::<String>()
        + "ffff\trefs/tags/feature/pr-2\n";
    let list = h.home.path().join("live.txt");
    std::fs::write(&list, &live).unwrap();
    let list = list.display().to_string();
    let conn = h.connection();
    let model = h.fake.model_id().to_string();
    let gc = |extra: &[&str]| -> Vec<String> {
        let mut args: Vec<&str> = vec![
            "preview",
            "gc",
            "--connection",
            conn.as_str(),
            "--branches-from",
            list.as_str(),
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect()
    };
    let run = |args: Vec<String>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        h.run(&args, &[]).await
    };
    let stale_names = |value: &Value| -> Vec<String> {
        value["stale"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["branch"].as_str().unwrap().to_owned())
            .collect()
    };

    // The dry run: exactly the three, nothing sent but the list.
    let before = names(h);
    h.fake.clear_journal();
    let out = run(gc(&[])).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let value = json_out(&out);
    assert_eq!(stale_names(&value), gone);
    assert_eq!(value["dryRun"], true);
    assert!(
        stderr(&out).contains("3 of 10 preview(s) stale"),
        "{}",
        stderr(&out)
    );
    assert_eq!(names(h), before);
    assert!(h.fake.journal().iter().all(|e| e.method == "GET"));

    // --yes: exactly the three, with their model branches.
    let out = run(gc(&["--yes", "--delete-branches-of", model.as_str()])).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_out(&out)["deleted"].as_array().unwrap().len(), 3);
    let after = names(h);
    let expected: Vec<String> = before
        .iter()
        .filter(|n| {
            ![
                "preview-feature-pr-2-",
                "preview-feature-pr-5-",
                "preview-feature-pr-9-",
            ]
            .iter()
            .any(|gone| n.starts_with(gone))
        })
        .cloned()
        .collect();
    assert_eq!(after, expected);
    assert!(
        after.contains(&"Default".to_owned())
            && after.contains(&"hand-made".to_owned())
            && after.contains(&"staging".to_owned())
    );
    for branch in &branches {
        assert_eq!(
            h.fake.branch(h.fake.model_id(), branch).is_none(),
            gone.contains(&branch.as_str()),
            "{branch}"
        );
    }
    // Again: nothing stale.
    let out = run(gc(&["--yes"])).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_out(&out)["stale"], json!([]));

    // An empty list (a failed `git ls-remote`) is refused, nothing sent.
    h.fake.clear_journal();
    let out = h
        .run_with_stdin(
            &[
                "preview",
                "gc",
                "--connection",
                &conn,
                "--branches-from",
                "-",
                "--yes",
            ],
            &[],
            b"",
        )
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--allow-empty"), "{}", stderr(&out));
    assert!(h.fake.journal().is_empty());
    assert_eq!(names(h), after);
}
