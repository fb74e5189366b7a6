//! `omni-dbt` end to end against the fake: exact requests in the fake's journal, what the
//! binary prints, exit codes, and no secret anywhere in what it printed.

use std::process::Command;

use omni_dbt_fake::{Operation, SEEDED_BRANCH};
use serde_json::{Value, json};

mod common;

use common::{Harness, json_out, stderr};

#[tokio::test(flavor = "multi_thread")]
async fn environments_by_name_create_update_get_delete() {
    let h = Harness::start().await;
    let conn = h.connection();
    let out = h
        .run(
            &[
                "env",
                "create",
                "--connection",
                &conn,
                "pr-7",
                "--schema",
                "dbt_pr_7",
                "--role",
                "CI",
                "--var",
                "DBT_TARGET=ci",
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let created = json_out(&out);
    assert_eq!(created["name"], "pr-7");
    assert!(stderr(&out).starts_with("created environment pr-7 ("));

    // Update by name: the tri-state and an existing variable by name.
    let out = h
        .run(
            &[
                "env",
                "update",
                "--connection",
                &conn,
                "pr-7",
                "--clear-role",
                "--database",
                "analytics",
                "--var",
                "DBT_TARGET=prod",
                "--var",
                "NEW=1",
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let put = h
        .fake
        .journal()
        .into_iter()
        .rev()
        .find(|e| e.operation == Some(Operation::Update))
        .unwrap();
    let var_id = created["variables"][0]["id"].clone();
    assert_eq!(
        put.json().unwrap(),
        json!({"name": "pr-7", "targetSchema": "dbt_pr_7",
            "targetDatabase": "analytics", "targetRole": null, "variables": [
            {"id": var_id, "isSecret": false, "value": "prod"},
            {"name": "NEW", "value": "1", "isSecret": false}
        ]}),
        "the CLI knows the environment: name and targetSchema are sent, so the body is valid \
         under the spec's reading (both required) as under the docs' (all optional)"
    );
    // Valid under Omni's spec as published (before our correction that makes them optional).
    let published: serde_json::Value =
        serde_json::from_str(include_str!("../../../openapi/upstream.json")).unwrap();
    let published = omni_dbt_fake::Spec::from_document(&published).unwrap();
    assert_eq!(
        published
            .check_request("connectionsDbtEnvironmentsUpdate", &put.json().unwrap())
            .map_err(|v| v.to_string()),
        Ok(())
    );
    let partial = json!({"targetRole": null});
    assert!(
        published
            .check_request("connectionsDbtEnvironmentsUpdate", &partial)
            .is_err(),
        "the published spec's reading: a partial update lacks name and targetSchema"
    );
    let out = h
        .run(&["env", "get", "--connection", &conn, "pr-7"], &[])
        .await;
    let got = json_out(&out);
    assert_eq!(
        (got["targetRole"].clone(), got["targetDatabase"].clone()),
        (Value::Null, json!("analytics"))
    );

    // Unknown and default: clear errors and exit codes; nothing deleted.
    let out = h
        .run(&["env", "delete", "--connection", &conn, "nope"], &[])
        .await;
    assert_eq!(out.status.code(), Some(4));
    assert!(
        stderr(&out).contains("no environment named \"nope\"")
            && stderr(&out).contains("Default, pr-7"),
        "{}",
        stderr(&out)
    );
    let out = h
        .run(&["env", "delete", "--connection", &conn, "Default"], &[])
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    // Without --yes and not on a terminal: refused after the lookup, nothing deleted.
    h.fake.clear_journal();
    let out = h
        .run(&["env", "delete", "--connection", &conn, "pr-7"], &[])
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("refusing without --yes")
            && stderr(&out).contains("nothing was deleted"),
        "{}",
        stderr(&out)
    );
    assert!(
        h.fake.journal().iter().all(|e| e.method == "GET"),
        "{:?}",
        h.fake.journal()
    );
    let out = h
        .run(
            &["env", "delete", "--connection", &conn, "pr-7", "--yes"],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = h
        .run(&["env", "list"], &[("OMNI_CONNECTION_ID", conn.as_str())])
        .await;
    let names: Vec<Value> = json_out(&out)
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].clone())
        .collect();
    assert_eq!(names, [json!("Default")]);
    assert!(h.fake.violations().is_empty(), "{:?}", h.fake.violations());
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_come_from_the_environment_and_are_never_printed() {
    let h = Harness::start().await;
    let conn = h.connection();
    let secret = "hunter2-DO-NOT-PRINT";
    let out = h
        .run(
            &[
                "env",
                "create",
                "--connection",
                &conn,
                "s",
                "--schema",
                "s",
                "--secret-var",
                "DBT_PASSWORD",
            ],
            &[("DBT_PASSWORD", secret)],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let id: omni_dbt::Uuid = json_out(&out)["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        h.fake
            .stored_value(h.fake.connection_id(), id, "DBT_PASSWORD")
            .as_deref(),
        Some(secret)
    );
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(!printed.contains(secret), "{printed}");
    assert!(
        !printed.contains(&h.fake.tokens().organization_api_key),
        "{printed}"
    );
    let out = h.run(&["config", "show", "--connection", &conn], &[]).await;
    let shown = json_out(&out);
    assert_eq!(shown["token"], "<redacted>");
    assert!(
        shown["tokenFrom"]
            .as_str()
            .unwrap()
            .starts_with("--token-file ")
    );
    assert_eq!(shown["baseUrlFrom"], "--base-url");
    assert_eq!(shown["connectionFrom"], "--connection");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&h.fake.tokens().organization_api_key));
}

/// `config show` with nothing configured shows every setting, each missing one with the flags
/// and variables that set it (in the CLI's words), and exits 2; a token set alone is shown as
/// set while the base URL is still said missing.
#[test]
fn config_show_lists_what_is_missing() {
    let home = tempfile::tempdir().unwrap();
    let run = |env: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_omni-dbt"));
        command
            .env_clear()
            .env("HOME", home.path())
            .args(["--output", "json", "config", "show"])
            .envs(env.iter().copied());
        command.output().unwrap()
    };
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let shown = json_out(&out);
    assert_eq!(
        (&shown["baseUrl"], &shown["token"]),
        (&Value::Null, &Value::Null)
    );
    let missing = shown["missing"].as_array().unwrap();
    assert_eq!(missing.len(), 2, "{shown}");
    assert!(
        missing[0].as_str().unwrap().starts_with(
            "no token: set --token-file, --token-stdin, OMNI_API_TOKEN, or a profile in "
        ),
        "{shown}"
    );
    assert!(
        missing[1]
            .as_str()
            .unwrap()
            .starts_with("no base URL: set --instance, --base-url, OMNI_BASE_URL"),
        "{shown}"
    );
    assert!(
        shown["profileFile"]
            .as_str()
            .unwrap()
            .ends_with("(not found)"),
        "{shown}"
    );
    assert!(stderr(&out).contains("no base URL"), "{}", stderr(&out));

    let out = run(&[("OMNI_API_TOKEN", "omni_osk_secretvalue")]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let shown = json_out(&out);
    assert_eq!(
        (&shown["token"], &shown["tokenFrom"]),
        (&json!("<redacted>"), &json!("OMNI_API_TOKEN"))
    );
    assert_eq!(shown["missing"].as_array().unwrap().len(), 1, "{shown}");
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(!printed.contains("secretvalue"), "{printed}");

    let out = run(&[
        ("OMNI_API_TOKEN", "omni_osk_secretvalue"),
        ("OMNI_BASE_URL", "https://acme.omniapp.co"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json_out(&out)["missing"], json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn preview_up_and_down_are_idempotent_and_refresh_waits_for_the_job() {
    let h = Harness::start().await;
    let conn = h.connection();
    let model = h.fake.model_id().to_string();
    let up = [
        "preview",
        "up",
        "--connection",
        &conn,
        "--model",
        &model,
        "--branch",
        SEEDED_BRANCH,
        "--var",
        "DBT_TARGET=pr",
    ];
    let out = h.run(&up, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let first = json_out(&out);
    assert_eq!(first["action"], "created");
    assert_eq!(first["environment"]["name"], "preview-dev");
    assert_eq!(first["environment"]["targetSchema"], "dbt_dev");
    let env_id: omni_dbt::Uuid = first["environment"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        h.fake
            .branch(h.fake.model_id(), SEEDED_BRANCH)
            .unwrap()
            .dbt_environment,
        Some(env_id)
    );

    let mut again = up.to_vec();
    again.push("--refresh");
    let out = h.run(&again, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let second = json_out(&out);
    assert_eq!(second["action"], "updated");
    assert_eq!(second["environment"]["id"], first["environment"]["id"]);
    assert_eq!(second["refresh"]["status"], "COMPLETED");
    assert!(
        stderr(&out).contains("schema refresh completed"),
        "{}",
        stderr(&out)
    );

    h.fake.fail_next_refreshes(1);
    let out = h.run(&again, &[]).await;
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert!(stderr(&out).contains("FAILED"), "{}", stderr(&out));

    let down = [
        "preview",
        "down",
        "--connection",
        &conn,
        "--model",
        &model,
        "--branch",
        SEEDED_BRANCH,
    ];
    let out = h.run(&down, &[]).await;
    assert_eq!(json_out(&out)["action"], "deleted");
    assert_eq!(
        h.fake
            .branch(h.fake.model_id(), SEEDED_BRANCH)
            .unwrap()
            .dbt_environment,
        None
    );
    let out = h.run(&down, &[]).await;
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json_out(&out)["action"], "none");
    assert!(h.fake.violations().is_empty(), "{:?}", h.fake.violations());
}

#[tokio::test(flavor = "multi_thread")]
async fn dbt_configuration_exposures_and_exit_codes() {
    let h = Harness::start().await;
    let conn = h.connection();
    let out = h
        .run(
            &[
                "dbt",
                "set",
                "--connection",
                &conn,
                "--ssh-url",
                "git@github.com:acme/dbt.git",
                "--branch",
                "main",
                "--autogen-relationships",
                "true",
                "--virtual-schemas",
                "false",
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = h.run(&["dbt", "show", "--connection", &conn], &[]).await;
    assert_eq!(json_out(&out)["sshUrl"], "git@github.com:acme/dbt.git");

    // Given what Omni has already: said, and nothing but the read is sent.
    h.fake.clear_journal();
    let out = h
        .run(
            &["dbt", "set", "--connection", &conn, "--branch", "main"],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("No changes"), "{}", stderr(&out));
    assert_eq!(json_out(&out)["changed"], false);
    let sent: Vec<String> = h.fake.journal().iter().map(|e| e.method.clone()).collect();
    assert_eq!(sent, ["GET"], "a set with nothing to change sends no PUT");

    // A delete without --yes, not on a terminal: refused, nothing sent.
    h.fake.clear_journal();
    let out = h.run(&["dbt", "delete", "--connection", &conn], &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("refusing without --yes")
            && stderr(&out).contains("nothing was removed"),
        "{}",
        stderr(&out)
    );
    assert!(h.fake.journal().is_empty(), "{:?}", h.fake.journal());
    let out = h
        .run(&["dbt", "delete", "--connection", &conn, "--yes"], &[])
        .await;
    assert_eq!(out.status.code(), Some(0));
    let out = h
        .run(&["dbt", "delete", "--connection", &conn, "--yes"], &[])
        .await;
    assert_eq!(out.status.code(), Some(4), "not configured is a 404");

    let model = h.fake.model_id().to_string();
    let out = h.run(&["exposures", "list", "--model", &model], &[]).await;
    assert_eq!(
        json_out(&out).as_array().unwrap().len(),
        omni_dbt_fake::SEEDED_EXPOSURES
    );

    // No connection: usage, nothing sent. A bad token: 3.
    let before = h.fake.journal().len();
    let out = h.run(&["env", "list"], &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(h.fake.journal().len(), before);
    std::fs::write(h.home.path().join("token"), "omni_osk_wrong\n").unwrap();
    let out = h.run(&["env", "list", "--connection", &conn], &[]).await;
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unauthorized (401)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn help_documents_exit_codes_and_completions_are_generated() {
    let out = Command::new(env!("CARGO_BIN_EXE_omni-dbt"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(
        help.contains("Exit codes:") && help.contains("6  outcome unknown"),
        "{help}"
    );
    assert!(!help.contains("--token "), "no bare token flag");
    let out = Command::new(env!("CARGO_BIN_EXE_omni-dbt"))
        .args(["completions", "bash"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8(out.stdout).unwrap().contains("omni-dbt"));
}

#[tokio::test(flavor = "multi_thread")]
async fn environments_as_code_plan_apply_and_a_second_apply_changes_nothing() {
    let h = Harness::start().await;
    let file = h.home.path().join("environments.yaml");
    std::fs::write(
        &file,
        format!(
            "connection: {}\nmanagedBy: environments.yaml\nenvironments:\n  - name: staging\n    targetSchema: dbt_staging\n    targetRole: TRANSFORMER\n    variables:\n      DBT_TARGET: staging\n    secretVariables:\n      DBT_PASSWORD: ${{STAGING_PW}}\n  - name: Default\n    targetSchema: analytics\n    targetDatabase: null\n    variables:\n      DBT_TARGET: prod2\n",
            h.connection()
        ),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let secret = [("STAGING_PW", "s3cret-DO-NOT-PRINT")];

    let out = h
        .run(&["env", "plan", "-f", f, "--detailed-exitcode"], &secret)
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let plan = json_out(&out);
    assert_eq!(plan["create"][0]["name"], "staging");
    assert_eq!(
        plan["update"][0]["changes"],
        json!([{"field": "variable DBT_TARGET", "from": "prod", "to": "prod2"}])
    );

    let out = h
        .run(&["--output", "table", "env", "plan", "-f", f], &secret)
        .await;
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "+ create staging\n    targetSchema: dbt_staging\n    targetRole: TRANSFORMER\n    variable DBT_TARGET: staging\n    secret DBT_PASSWORD: <secret>\n~ update Default\n    variable DBT_TARGET: prod -> prod2\nPlan: 1 to create, 1 to update, 0 to delete.\n"
    );

    // Not on a terminal and no --yes: refused, nothing sent.
    let before = h.fake.journal().len();
    let out = h.run(&["env", "apply", "-f", f], &secret).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(h.fake.journal().len(), before + 1, "only the list was sent");

    let out = h.run(&["env", "apply", "-f", f, "--yes"], &secret).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Applied 2 of 2 change(s)."),
        "{}",
        stderr(&out)
    );
    let printed = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(!printed.contains("s3cret-DO-NOT-PRINT"), "{printed}");

    // Idempotent: the secret exists and is not re-sent.
    let out = h
        .run(&["env", "plan", "-f", f, "--detailed-exitcode"], &secret)
        .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = h
        .run(
            &["env", "apply", "-f", f, "--yes", "--output", "table"],
            &secret,
        )
        .await;
    assert!(stderr(&out).contains("No changes."), "{}", stderr(&out));
    let out = h
        .run(
            &[
                "env",
                "plan",
                "-f",
                f,
                "--rotate-secrets",
                "--detailed-exitcode",
            ],
            &secret,
        )
        .await;
    assert_eq!(out.status.code(), Some(2));

    // --prune deletes only what this file created and no longer names: never a hand-made
    // environment, never the default.
    h.run(
        &[
            "env",
            "create",
            "old",
            "--schema",
            "old",
            "--connection",
            &h.connection(),
        ],
        &[],
    )
    .await;
    let with_temp =
        std::fs::read_to_string(&file).unwrap() + "  - name: temp\n    targetSchema: dbt_temp\n";
    let original = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, &with_temp).unwrap();
    let out = h.run(&["env", "apply", "-f", f, "--yes"], &secret).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::write(&file, &original).unwrap();
    let out = h
        .run(
            &["--output", "table", "env", "plan", "-f", f, "--prune"],
            &secret,
        )
        .await;
    let plan_text = String::from_utf8_lossy(&out.stdout).into_owned();
    let temp = h
        .fake
        .environments(h.fake.connection_id())
        .into_iter()
        .find(|e| e["name"] == "temp")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // A delete says what goes: the id, and each value.
    assert!(
        plan_text.contains(&format!(
            "- delete temp ({temp})\n    targetSchema: dbt_temp\n"
        )),
        "{plan_text}"
    );
    let out = h
        .run(
            &[
                "env",
                "plan",
                "-f",
                f,
                "--prune",
                "--plan-format",
                "markdown",
            ],
            &secret,
        )
        .await;
    let markdown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        markdown.contains(&format!(
            "| 🗑️ delete | `temp` (`{temp}`) | `targetSchema` | `dbt_temp` | *(deleted)* |"
        )),
        "{markdown}"
    );
    assert!(
        plan_text.contains("kept old (") && plan_text.contains("not managed by omni-dbt"),
        "{plan_text}"
    );
    let out = h
        .run(&["env", "apply", "-f", f, "--yes", "--prune"], &secret)
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let names: Vec<String> = h
        .fake
        .environments(h.fake.connection_id())
        .iter()
        .map(|e| e["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["Default", "staging", "old"]);

    // A secret given literally in the file is refused before anything is sent.
    std::fs::write(&file, format!("connection: {}\nenvironments:\n  - name: x\n    targetSchema: x\n    secretVariables:\n      P: literal\n", h.connection())).unwrap();
    let out = h
        .run(&["env", "plan", "-f", f, "--detailed-exitcode"], &[])
        .await;
    assert_eq!(
        out.status.code(),
        Some(1),
        "errors are 1 under --detailed-exitcode"
    );
    assert!(
        stderr(&out).contains("must be a ${ENV_VAR} reference"),
        "{}",
        stderr(&out)
    );
    assert!(h.fake.violations().is_empty(), "{:?}", h.fake.violations());
}

/// The human output people read, as snapshots (`crates/cli/tests/snapshots/`). Ids and the
/// fake's address vary per run, so they are replaced before comparing.
#[tokio::test(flavor = "multi_thread")]
async fn human_output_snapshots() {
    let h = Harness::start().await;
    let conn = h.connection();
    let stable = |text: &str| {
        let mut out = text.replace(&conn, "<connection>");
        for e in h.fake.environments(h.fake.connection_id()) {
            out = out.replace(e["id"].as_str().unwrap(), "<environment-id>");
        }
        out = out.replace(h.fake.base_url(), "<base-url>");
        // The summary's wait for the rate limit varies from run to run.
        out.lines()
            .map(
                |line| match (line.find(", "), line.find(" s waiting for the rate limit")) {
                    (Some(_), Some(end)) if line.starts_with("omni-dbt: ") => {
                        let start = line[..end].rfind(", ").unwrap_or(end);
                        format!("{}, <wait>{}", &line[..start], &line[end + 2..])
                    }
                    _ => line.to_owned(),
                },
            )
            .map(|line| line + "\n")
            .collect::<String>()
    };
    h.run(
        &[
            "env",
            "create",
            "--connection",
            &conn,
            "pr-42",
            "--schema",
            "dbt_pr_42",
            "--var",
            "DBT_TARGET=ci",
            "--secret-var",
            "PW",
        ],
        &[("PW", "hidden")],
    )
    .await;
    let out = h
        .run(
            &["--output", "table", "env", "list", "--connection", &conn],
            &[],
        )
        .await;
    insta::assert_snapshot!(
        "env_list_table",
        stable(&String::from_utf8_lossy(&out.stdout))
    );

    let file = h.home.path().join("environments.yaml");
    std::fs::write(
        &file,
        format!("connection: {conn}\nmanagedBy: environments.yaml\nenvironments:\n  - name: pr-42\n    targetSchema: dbt_pr_42_v2\n    targetRole: null\n    variables:\n      DBT_TARGET: ci\n      NEW: x\n    secretVariables:\n      PW: ${{PW}}\n  - name: nightly\n    targetSchema: dbt_nightly\n"),
    )
    .unwrap();
    let out = h
        .run(
            &[
                "--output",
                "table",
                "env",
                "plan",
                "-f",
                file.to_str().unwrap(),
                "--prune",
            ],
            &[("PW", "hidden")],
        )
        .await;
    insta::assert_snapshot!(
        "env_plan_table",
        stable(&String::from_utf8_lossy(&out.stdout))
    );
    let out = h
        .run(&["env", "get", "--connection", &conn, "missing"], &[])
        .await;
    insta::assert_snapshot!("env_get_missing_stderr", stable(&stderr(&out)));
}

/// `env apply` of 40 environments through lost answers, 503s and 429s without `Retry-After`
/// converges in one run: exit 0, every name exactly once, and a second plan has no changes.
#[tokio::test(flavor = "multi_thread")]
async fn apply_converges_in_one_run_through_faults() {
    use omni_dbt_fake::Fault;
    let h = Harness::start().await;
    let mut yaml = format!("connection: {}\nenvironments:\n", h.connection());
    for i in 0..40 {
        yaml.push_str(&format!(
            "  - name: ci-{i:02}\n    targetSchema: dbt_ci_{i:02}\n    variables:\n      N: \"{i}\"\n"
        ));
    }
    let file = h.home.path().join("many.yaml");
    std::fs::write(&file, yaml).unwrap();
    let f = file.to_str().unwrap();
    h.fake
        .inject(Operation::Create, Fault::DropAfterProcessing { times: 4 });
    h.fake.inject(Operation::Create, Fault::status(503, 4));
    h.fake.inject(
        Operation::Create,
        Fault::Status {
            status: 429,
            times: 4,
            retry_after: None,
        },
    );
    let out = h
        .run(
            &["env", "apply", "-f", f, "--yes", "--rate-limit", "6000"],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let envs = h.fake.environments(h.fake.connection_id());
    for i in 0..40 {
        let name = format!("ci-{i:02}");
        let same: Vec<&Value> = envs.iter().filter(|e| e["name"] == name.as_str()).collect();
        assert_eq!(same.len(), 1, "{name}: {same:?}");
        let vars = same[0]["variables"].as_array().unwrap();
        let n = vars.iter().find(|v| v["name"] == "N").unwrap();
        assert_eq!(n["value"], i.to_string(), "{name}");
        let marker = vars
            .iter()
            .find(|v| v["name"] == "OMNI_DBT_MANAGED_BY")
            .unwrap();
        assert_eq!(
            marker["value"], "file:many.yaml",
            "{name}: marked as this file's"
        );
    }
    let out = h
        .run(&["env", "plan", "-f", f, "--detailed-exitcode"], &[])
        .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "no changes left: {}",
        stderr(&out)
    );
}

/// `preview up` through a lost create answer, a 503 and 429s without `Retry-After`, and a
/// lost answer on the branch operation: one run converges, one environment, the branch on it.
#[tokio::test(flavor = "multi_thread")]
async fn preview_up_converges_in_one_run_through_faults() {
    use omni_dbt_fake::Fault;
    let h = Harness::start().await;
    let conn = h.connection();
    let model = h.fake.model_id().to_string();
    h.fake
        .inject(Operation::Create, Fault::DropAfterProcessing { times: 1 });
    h.fake.inject(
        Operation::Create,
        Fault::Status {
            status: 429,
            times: 2,
            retry_after: None,
        },
    );
    h.fake.inject(
        Operation::BranchDbt,
        Fault::DropAfterProcessing { times: 1 },
    );
    let up = [
        "preview",
        "up",
        "--connection",
        &conn,
        "--model",
        &model,
        "--branch",
        SEEDED_BRANCH,
        "--var",
        "DBT_TARGET=pr",
        "--rate-limit",
        "6000",
    ];
    let out = h.run(&up, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let envs = h.fake.environments(h.fake.connection_id());
    let previews: Vec<&Value> = envs.iter().filter(|e| e["name"] == "preview-dev").collect();
    assert_eq!(previews.len(), 1, "{previews:?}");
    let id: omni_dbt::Uuid = previews[0]["id"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        h.fake
            .branch(h.fake.model_id(), SEEDED_BRANCH)
            .unwrap()
            .dbt_environment,
        Some(id)
    );
    // Torn down, then up again through a 503 on the create (not made): created once.
    let down = [
        "preview",
        "down",
        "--connection",
        &conn,
        "--model",
        &model,
        "--branch",
        SEEDED_BRANCH,
    ];
    let out = h.run(&down, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    h.fake.inject(Operation::Create, Fault::status(503, 1));
    let out = h.run(&up, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let envs = h.fake.environments(h.fake.connection_id());
    assert_eq!(
        envs.iter().filter(|e| e["name"] == "preview-dev").count(),
        1
    );
}

/// `preview down`'s table names each thing it deleted: the environment (name and id) and the
/// model branch; with the environment already gone, the branch alone; with nothing, "nothing".
#[tokio::test(flavor = "multi_thread")]
async fn preview_down_says_what_it_deleted() {
    let h = Harness::start().await;
    let conn = h.connection();
    let model = h.fake.model_id().to_string();
    let args = |branch: &'static str, verb: &'static str| {
        let mut a = vec![
            "--output",
            "table",
            "preview",
            verb,
            "--connection",
            conn.as_str(),
            "--model",
            model.as_str(),
            "--branch",
            branch,
        ];
        a.push(if verb == "up" {
            "--create-branch"
        } else {
            "--delete-branch"
        });
        a
    };
    let out = h.run(&args("feat-a", "up"), &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let id = h
        .fake
        .environments(h.fake.connection_id())
        .into_iter()
        .find(|e| e["name"] == "preview-feat-a")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let out = h.run(&args("feat-a", "down"), &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    let rows: Vec<Vec<&str>> = table
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["DELETED", "NAME", "ID"],
            vec!["environment", "preview-feat-a", id.as_str()],
            vec!["model", "branch", "feat-a"],
        ],
        "{table}"
    );

    // The environment already gone: the branch alone.
    h.fake.add_branch(h.fake.model_id(), "feat-b").unwrap();
    let out = h.run(&args("feat-b", "down"), &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        table.contains("model branch  feat-b") && !table.contains("environment"),
        "{table}"
    );
    // Nothing left: said.
    let out = h.run(&args("feat-b", "down"), &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let table = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        table.contains("nothing") && table.contains("preview-feat-b"),
        "{table}"
    );
}

/// A model that does not exist is said so, by every command that names one: `preview up`
/// (with or without --create-branch: never "has no branch", nothing created; the model is
/// looked up only once something came back missing, so a preview costs no extra request) and
/// `exposures list` (the 404 says "model", not "connection or dbt environment").
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_model_is_said_to_be_missing() {
    let h = Harness::start().await;
    let conn = h.connection();
    let missing = "00000000-0000-4000-8000-00000000abcd";
    let before = h.fake.environments(h.fake.connection_id()).len();
    for create in [false, true] {
        let mut args = vec![
            "preview",
            "up",
            "--connection",
            conn.as_str(),
            "--model",
            missing,
            "--branch",
            "dev",
        ];
        if create {
            args.push("--create-branch");
        }
        h.fake.clear_journal();
        let out = h.run(&args, &[]).await;
        assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("--model {missing}: Omni has no such model"))
                && !stderr(&out).contains("has no branch"),
            "{}",
            stderr(&out)
        );
        // Lookups only; with --create-branch, the branch's create too, which Omni refuses.
        assert!(
            h.fake
                .journal()
                .iter()
                .all(|e| e.method == "GET" || (create && e.status == Some(404))),
            "{:?}",
            h.fake.journal()
        );
    }
    assert_eq!(h.fake.environments(h.fake.connection_id()).len(), before);
    let out = h.run(&["exposures", "list", "--model", missing], &[]).await;
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("not found (404): no such model {missing}"))
            && !stderr(&out).contains("dbt environment"),
        "{}",
        stderr(&out)
    );
}

/// A branch name with backslashes and dots deletes, creates and points only the branch it
/// names: never the connection's dbt configuration, another branch or the API root (issue:
/// `\` read as `/`, then `..` resolved, reached other resources).
#[tokio::test(flavor = "multi_thread")]
async fn a_branch_name_cannot_walk_to_another_resource() {
    let h = Harness::start().await;
    let conn = h.connection();
    let model = h.fake.model_id().to_string();
    let walk = format!(r"x\..\..\..\..\connections\{conn}\dbt");
    h.fake.add_branch(h.fake.model_id(), &walk).unwrap();
    let down = [
        "preview",
        "down",
        "--connection",
        &conn,
        "--model",
        &model,
        "--branch",
        &walk,
        "--delete-branch",
    ];
    let out = h.run(&down, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(h.fake.branch(h.fake.model_id(), &walk).is_none());
    // No environment, the branch deleted: said so (not a bare `deleted: []`).
    let said = json_out(&out);
    assert_eq!(
        (
            &said["action"],
            &said["deleted"],
            &said["branchDeleted"],
            &said["branch"]
        ),
        (&json!("deleted"), &json!([]), &json!(true), &json!(walk))
    );
    let operations: Vec<_> = h.fake.journal().iter().map(|e| e.operation).collect();
    assert!(
        operations.contains(&Some(Operation::DeleteBranch))
            && !operations.contains(&Some(Operation::DbtConfigDelete)),
        "{operations:?}"
    );
    let out = h.run(&["dbt", "show", "--connection", &conn], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(json_out(&out)["sshUrl"].is_string(), "{}", json_out(&out));

    // `x\..\dev` is a branch of its own: `dev` is neither repointed nor deleted.
    let sideways = r"x\..\dev";
    let up = [
        "preview",
        "up",
        "--connection",
        &conn,
        "--model",
        &model,
        "--branch",
        sideways,
        "--create-branch",
    ];
    let out = h.run(&up, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let made = h.fake.branch(h.fake.model_id(), sideways).unwrap();
    assert!(made.dbt_environment.is_some());
    let dev = h.fake.branch(h.fake.model_id(), SEEDED_BRANCH).unwrap();
    assert_eq!(dev.dbt_environment, None);

    // `..` can name no branch: refused in the flag's words, nothing sent.
    h.fake.clear_journal();
    let mut dots = down;
    dots[7] = "..";
    let out = h.run(&dots, &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--branch"), "{}", stderr(&out));
    assert!(h.fake.journal().is_empty(), "{:?}", h.fake.journal());
    assert!(h.fake.violations().is_empty(), "{:?}", h.fake.violations());
}

/// `isDeferralEnabled` -> `is-deferral-enabled` (the CLI's flag names).
fn kebab(json: &str) -> String {
    let mut out = String::new();
    for c in json.chars() {
        if c.is_ascii_uppercase() {
            out.push('-');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Two distinct values `property` accepts (the first never Omni's default), or `None` when
/// the test cannot make one (a pattern, a kind it does not know).
fn two_values(property: &omni_dbt::fields::Property) -> Option<(Value, Value)> {
    use omni_dbt::fields::Kind;
    let (a, b) = if let [first, second, ..] = property.values {
        (json!(first), json!(second))
    } else {
        match property.kind {
            Kind::String => {
                let min = property.min_length.unwrap_or(1).max(1) as usize;
                let text = |c: char| json!(std::iter::repeat_n(c, min.max(3)).collect::<String>());
                (text('a'), text('b'))
            }
            Kind::Boolean => (json!(true), json!(false)),
            Kind::Integer | Kind::Number => {
                let low = property.minimum.unwrap_or(1.0).ceil() as i64;
                (json!(low + 1), json!(low))
            }
            _ => return None,
        }
    };
    (property.check(&a).is_ok() && property.check(&b).is_ok()).then_some((a, b))
}

/// The machinery, not a field: every property of the spec's table the environments file
/// manages (today's, and whatever Omni adds: CI runs this on Omni's next release too) plans,
/// applies, reads back through the fake, plans "No changes", changes, clears when nullable, and
/// is exported. Nothing here names a property.
#[tokio::test(flavor = "multi_thread")]
async fn every_property_of_the_spec_round_trips_through_the_environments_file() {
    let own = ["name", "ownerId", "variables"];
    let managed: Vec<(&omni_dbt::fields::Property, (Value, Value))> =
        omni_dbt::fields::dbt_environment()
            .iter()
            .filter(|p| p.in_answer && (p.in_create || p.in_update) && !own.contains(&p.json))
            .filter_map(|p| two_values(p).map(|v| (p, v)))
            .collect();
    assert!(managed.len() >= 4, "{managed:?}");
    let h = Harness::start().await;
    let conn = h.connection();
    let file = h.home.path().join("machinery.yaml");
    let f = file.to_str().unwrap();
    let write = |pick: &dyn Fn(&(Value, Value)) -> Value| {
        let mut env = serde_json::Map::new();
        env.insert("name".into(), json!("machinery"));
        for (property, values) in &managed {
            env.insert(property.json.into(), pick(values));
        }
        let doc = json!({"connection": conn, "environments": [env]});
        std::fs::write(&file, serde_json::to_string(&doc).unwrap()).unwrap();
    };
    let stored = |h: &Harness| -> Value {
        h.fake
            .environments(h.fake.connection_id())
            .into_iter()
            .find(|e| e["name"] == "machinery")
            .unwrap()
    };
    let no_changes = |out: &std::process::Output| {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(out));
    };

    write(&|v| v.0.clone());
    let out = h
        .run(&["env", "plan", "-f", f, "--detailed-exitcode"], &[])
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let changes = json_out(&out)["create"][0]["changes"].clone();
    for (property, (first, _)) in &managed {
        assert!(
            changes
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["field"] == property.json && c["to"] == *first),
            "{} is not planned: {changes}",
            property.json
        );
    }
    let out = h.run(&["env", "apply", "-f", f, "--yes"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let env = stored(&h);
    for (property, (first, _)) in &managed {
        assert_eq!(
            env[property.json], *first,
            "{} after the create",
            property.json
        );
    }
    no_changes(
        &h.run(&["env", "plan", "-f", f, "--detailed-exitcode"], &[])
            .await,
    );

    // Every property changed at once: one update with every one of them, then nothing.
    write(&|v| v.1.clone());
    let out = h.run(&["env", "plan", "-f", f], &[]).await;
    let changes = json_out(&out)["update"][0]["changes"].clone();
    assert_eq!(
        changes.as_array().unwrap().len(),
        managed.len(),
        "{changes}"
    );
    let out = h.run(&["env", "apply", "-f", f, "--yes"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let env = stored(&h);
    for (property, (_, second)) in &managed {
        assert_eq!(
            env[property.json], *second,
            "{} after the update",
            property.json
        );
    }
    no_changes(
        &h.run(&["env", "plan", "-f", f, "--detailed-exitcode"], &[])
            .await,
    );

    // The export writes each one as it is.
    let out = h
        .run(
            &[
                "env",
                "export",
                "--connection",
                &conn,
                "--target",
                "machinery",
                "--managed-by",
                "machinery.yaml",
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let exported: Value =
        serde_yaml_ng::from_slice::<Value>(&out.stdout).expect("the export is YAML");
    for (property, (_, second)) in &managed {
        assert_eq!(
            exported["environments"][0][property.json], *second,
            "{} in the export",
            property.json
        );
    }

    // Every property has its flag on `env update` (and `--clear-…` when nullable).
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    let mut args: Vec<String> = ["env", "update", "machinery", "--connection", conn.as_str()]
        .map(str::to_owned)
        .to_vec();
    for (property, (first, _)) in &managed {
        args.push(format!("--{}", kebab(property.json)));
        args.push(text(first));
    }
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = h.run(&argv, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let env = stored(&h);
    for (property, (first, _)) in &managed {
        assert_eq!(
            env[property.json], *first,
            "{} set by its flag",
            property.json
        );
    }
    let mut args: Vec<String> = ["env", "update", "machinery", "--connection", conn.as_str()]
        .map(str::to_owned)
        .to_vec();
    args.extend(
        managed
            .iter()
            .filter(|(p, _)| p.nullable)
            .map(|(p, _)| format!("--clear-{}", kebab(p.json))),
    );
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = h.run(&argv, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let env = stored(&h);
    for (property, _) in managed.iter().filter(|(p, _)| p.nullable) {
        assert_eq!(
            env[property.json],
            Value::Null,
            "{} cleared by its flag",
            property.json
        );
    }

    // The nullable ones cleared with null.
    write(&|v| v.1.clone());
    let mut doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let nullable: Vec<&str> = managed
        .iter()
        .filter(|(p, _)| p.nullable)
        .map(|(p, _)| p.json)
        .collect();
    for json_name in &nullable {
        doc["environments"][0][*json_name] = Value::Null;
    }
    std::fs::write(&file, doc.to_string()).unwrap();
    let out = h.run(&["env", "apply", "-f", f, "--yes"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let env = stored(&h);
    for json_name in &nullable {
        assert_eq!(env[*json_name], Value::Null, "{json_name} cleared");
    }
    no_changes(
        &h.run(&["env", "plan", "-f", f, "--detailed-exitcode"], &[])
            .await,
    );

    // A value outside a property's bounds is refused before anything is sent, naming its flag
    // or its key and the rule (CI's next-release step adds a nullable integer with bounds).
    let bounded = managed
        .iter()
        .filter(|(p, _)| p.minimum.is_some() || p.maximum.is_some());
    for (property, _) in bounded {
        let outside = match (property.minimum, property.maximum) {
            (Some(min), _) => min - 1.0,
            (None, Some(max)) => max + 1.0,
            (None, None) => unreachable!(),
        };
        let value = if property.kind == omni_dbt::fields::Kind::Integer {
            json!(outside as i64)
        } else {
            json!(outside)
        };
        h.fake.clear_journal();
        let flag = format!("--{}", kebab(property.json));
        let out = h
            .run(
                &[
                    "env",
                    "update",
                    "machinery",
                    "--connection",
                    &conn,
                    &flag,
                    &value.to_string(),
                ],
                &[],
            )
            .await;
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(&flag) && stderr(&out).contains("imum"),
            "{}",
            stderr(&out)
        );
        let mut doc: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        doc["environments"][0][property.json] = value;
        std::fs::write(&file, doc.to_string()).unwrap();
        let out = h.run(&["env", "plan", "-f", f], &[]).await;
        assert_ne!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(property.json) && stderr(&out).contains("imum"),
            "{}",
            stderr(&out)
        );
        assert!(h.fake.journal().iter().all(|e| e.method == "GET"));
    }
    assert!(h.fake.violations().is_empty(), "{:?}", h.fake.violations());
}

/// Every request the CLI sends is valid under Omni's published spec as released (the pull
/// before our corrections, `openapi/upstream.json`: it requires `name` and `targetSchema` in an
/// update body): the fake validates with it, as a validating proxy would.
#[tokio::test(flavor = "multi_thread")]
async fn every_request_the_cli_sends_is_valid_under_omnis_published_spec() {
    let upstream: Value = serde_json::from_str(
        &std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi/upstream.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let strict = omni_dbt_fake::Spec::from_document(&upstream).unwrap();
    let h = Harness::start_with(omni_dbt_fake::FakeOmni::builder().conformance_spec(strict)).await;
    let conn = h.connection();
    let model = h.fake.model_id().to_string();
    let file = h.home.path().join("envs.yaml");
    std::fs::write(
        &file,
        format!(
            "connection: {conn}\nenvironments:\n  - name: staging\n    targetSchema: dbt_staging\n    targetRole: R\n    variables:\n      A: a\n"
        ),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let c = ["--connection", conn.as_str()];
    let runs: Vec<Vec<&str>> = vec![
        vec!["env", "list"],
        vec![
            "env",
            "create",
            "ci",
            "--target-schema",
            "dbt_ci",
            "--var",
            "X=1",
        ],
        vec!["env", "update", "ci", "--clear-target-role", "--var", "X=2"],
        vec!["env", "update", "ci", "--target-schema", "dbt_ci2"],
        vec!["env", "get", "ci"],
        vec!["env", "apply", "-f", f, "--yes"],
        vec!["env", "export"],
        vec!["dbt", "show"],
        vec!["dbt", "set", "--branch", "release"],
        vec!["env", "delete", "ci", "--yes"],
    ];
    for args in runs {
        let mut argv = args.clone();
        argv.extend(c);
        let out = h.run(&argv, &[]).await;
        assert_eq!(out.status.code(), Some(0), "{argv:?}: {}", stderr(&out));
    }
    // The file changed: an update of what the apply created.
    std::fs::write(
        &file,
        format!(
            "connection: {conn}\nenvironments:\n  - name: staging\n    targetSchema: dbt_staging\n    targetRole: null\n    variables:\n      A: b\n"
        ),
    )
    .unwrap();
    let out = h.run(&["env", "apply", "-f", f, "--yes"], &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for args in [
        vec![
            "preview",
            "up",
            "--model",
            &model,
            "--branch",
            SEEDED_BRANCH,
        ],
        vec![
            "preview",
            "up",
            "--model",
            &model,
            "--branch",
            SEEDED_BRANCH,
            "--var",
            "B=1",
        ],
        vec![
            "preview",
            "down",
            "--model",
            &model,
            "--branch",
            SEEDED_BRANCH,
        ],
        vec!["exposures", "list", "--model", &model],
    ] {
        let mut argv = args.clone();
        if argv[0] == "preview" {
            argv.extend(c);
        }
        let out = h.run(&argv, &[]).await;
        assert_eq!(out.status.code(), Some(0), "{argv:?}: {}", stderr(&out));
    }
    let requests: Vec<String> = h
        .fake
        .violations()
        .into_iter()
        .filter(|v| v.contains("request:"))
        .collect();
    assert!(requests.is_empty(), "{requests:#?}");
}

/// A full disk is an error (exit 1, said on stderr); a closed pipe is not (exit 0, quiet).
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn output_write_errors_fail_and_a_closed_pipe_ends_quietly() {
    let h = Harness::start().await;
    let conn = h.connection();
    let commands: [&[&str]; 4] = [
        &["env", "export", "--connection", &conn],
        &["env", "list", "--connection", &conn],
        &["--output", "table", "env", "list", "--connection", &conn],
        &["completions", "bash"],
    ];
    for args in commands {
        let mut full = h.command(args, &[]);
        full.stdout(std::fs::File::create("/dev/full").unwrap());
        let out = tokio::task::spawn_blocking(move || full.output().unwrap())
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?} into /dev/full");
        assert!(
            stderr(&out).contains("cannot write to standard output"),
            "{args:?}: {}",
            stderr(&out)
        );

        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let mut closed = h.command(args, &[]);
        closed.stdout(writer);
        let out = tokio::task::spawn_blocking(move || closed.output().unwrap())
            .await
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?} into a closed pipe: {}",
            stderr(&out)
        );
        // Only the summary of the requests sent: no error.
        let said = stderr(&out);
        assert!(
            said.lines()
                .all(|l| l.starts_with("omni-dbt: ") && l.contains(" request")),
            "{args:?}: {said}"
        );
    }
}

/// On a terminal, `env delete` asks first: anything but `yes` cancels and deletes nothing;
/// `yes` deletes. (The terminal is `script`'s pseudo-terminal, the answer typed into it.)
#[tokio::test(flavor = "multi_thread")]
async fn env_delete_asks_on_a_terminal() {
    if Command::new("script").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "script(1) is required in CI"
        );
        eprintln!("skipped: script(1) is not installed");
        return;
    }
    let h = Harness::start().await;
    let conn = h.connection();
    let out = h
        .run(
            &[
                "env",
                "create",
                "--connection",
                &conn,
                "doomed",
                "--target-schema",
                "d",
            ],
            &[],
        )
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let named = |h: &Harness| {
        h.fake
            .environments(h.fake.connection_id())
            .iter()
            .any(|e| e["name"] == "doomed")
    };
    for (answer, deleted) in [("no", false), ("yes", true)] {
        let command = h.command(&["env", "delete", "--connection", &conn, "doomed"], &[]);
        let line: Vec<String> = std::iter::once(command.get_program())
            .chain(command.get_args())
            .map(|a| format!("'{}'", a.to_string_lossy()))
            .collect();
        let mut script = Command::new("script");
        script
            .args(["-qec", &line.join(" "), "/dev/null"])
            .envs(command.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let out = tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut child = script.spawn().unwrap();
            let _ = child
                .stdin
                .take()
                .unwrap()
                .write_all(format!("{answer}\n").as_bytes());
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap();
        let said = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            said.contains("Delete environment doomed (") && said.contains("Only 'yes' is accepted"),
            "{said}"
        );
        assert_eq!(out.status.success(), deleted, "{answer}: {said}");
        assert_eq!(named(&h), !deleted, "{answer}: {said}");
    }
}
