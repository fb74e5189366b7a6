//! The GitHub Actions recipes in `docs/recipes/`, run as written: each job whose `if:` holds
//! for an event, its steps in order, the `run:` steps in bash as a runner runs them (`bash -e
//! -o pipefail`), against the fake, with `omni-dbt` on the `PATH`, a stub `dbt`, and files for
//! `GITHUB_OUTPUT` and `GITHUB_STEP_SUMMARY`. `uses:` steps are what the runner provides
//! (checkout, the install action, setup-python, the comment action) and are not run; a step
//! that installs from the network (`pip install`) is not run either. Expressions are those the
//! recipes use (`==`, `!=`, `&&`, contexts, `hashFiles`); one this runner does not know fails
//! the test, and so does a `${{ … }}` inside a `run:` (an injection risk: values reach the
//! shell through `env:` only).

mod common;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
};

use common::Harness;
use omni_dbt_fake::Operation;
use serde_json::Value;

/// A recipe, parsed.
fn recipe(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/recipes")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    omni_dbt_input::yaml(
        &text,
        omni_dbt_input::Limits {
            bytes: 1 << 20,
            nodes: 100_000,
            depth: 32,
            text_keys: false,
        },
    )
    .unwrap()
}

/// What a run of a workflow sees: the event's context, the repository's variables and
/// secrets, and the outputs of the steps run so far.
struct Run {
    github: BTreeMap<&'static str, String>,
    vars: BTreeMap<&'static str, String>,
    secrets: BTreeMap<&'static str, String>,
    outputs: BTreeMap<String, BTreeMap<String, String>>,
    /// The checkout: the steps' working directory.
    work: PathBuf,
    /// Where the stubs and the step files are.
    scratch: tempfile::TempDir,
    /// Each `run:` step's name, exit code and output, in order.
    log: Vec<(String, i32, String)>,
}

impl Run {
    fn new(h: &Harness, work: PathBuf, github: &[(&'static str, &str)]) -> Self {
        let scratch = tempfile::tempdir().unwrap();
        let stub = scratch.path().join("bin/dbt");
        std::fs::create_dir_all(stub.parent().unwrap()).unwrap();
        std::fs::write(
            &stub,
            "#!/bin/sh\necho \"dbt $* DBT_SCHEMA=$DBT_SCHEMA\" >> \"$DBT_STUB_LOG\"\n",
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::write(scratch.path().join("summary.md"), "").unwrap();
        let mut context: BTreeMap<&'static str, String> = [
            ("github.repository", "acme/analytics"),
            (
                "github.event.pull_request.head.repo.full_name",
                "acme/analytics",
            ),
            ("github.event.pull_request.number", "42"),
            ("github.event_name", "pull_request"),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_owned()))
        .collect();
        context.extend(github.iter().map(|(k, v)| (*k, (*v).to_owned())));
        Run {
            github: context,
            vars: [
                ("OMNI_BASE_URL", h.fake.base_url().to_owned()),
                ("OMNI_CONNECTION_ID", h.connection()),
                ("OMNI_MODEL_ID", h.fake.model_id().to_string()),
            ]
            .into_iter()
            .collect(),
            secrets: [
                (
                    "OMNI_API_TOKEN",
                    h.fake.tokens().organization_api_key.clone(),
                ),
                ("DBT_CI_PASSWORD", "s3cret-ci".to_owned()),
                ("STAGING_PASSWORD", "s3cret-staging".to_owned()),
            ]
            .into_iter()
            .collect(),
            outputs: BTreeMap::new(),
            work,
            scratch,
            log: Vec::new(),
        }
    }

    /// An expression's value (GitHub's: a missing variable or secret is empty).
    fn value(&self, expr: &str) -> String {
        let expr = expr.trim();
        if let Some(text) = expr.strip_prefix('\'').and_then(|e| e.strip_suffix('\'')) {
            return text.to_owned();
        }
        if let Some(file) = expr
            .strip_prefix("hashFiles('")
            .and_then(|e| e.strip_suffix("')"))
        {
            return if self.work.join(file).exists() {
                "a-hash".to_owned()
            } else {
                String::new()
            };
        }
        if let Some(name) = expr.strip_prefix("vars.") {
            return self.vars.get(name).cloned().unwrap_or_default();
        }
        if let Some(name) = expr.strip_prefix("secrets.") {
            return self.secrets.get(name).cloned().unwrap_or_default();
        }
        if let Some(rest) = expr.strip_prefix("steps.") {
            let (id, output) = rest.split_once(".outputs.").expect(expr);
            return self
                .outputs
                .get(id)
                .and_then(|o| o.get(output))
                .cloned()
                .unwrap_or_default();
        }
        self.github
            .get(expr)
            .cloned()
            .unwrap_or_else(|| panic!("this runner does not know the expression {expr:?}"))
    }

    /// Whether an `if:` holds: clauses of `a == b` or `a != b`, joined by `&&`.
    fn holds(&self, condition: &str) -> bool {
        condition.split("&&").all(|clause| {
            if let Some((a, b)) = clause.split_once("!=") {
                self.value(a) != self.value(b)
            } else if let Some((a, b)) = clause.split_once("==") {
                self.value(a) == self.value(b)
            } else {
                panic!("this runner does not know the condition {clause:?}")
            }
        })
    }

    /// `text` with each `${{ … }}` replaced by its value.
    fn interpolated(&self, text: &str) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find("${{") {
            out.push_str(&rest[..at]);
            let end = rest[at..].find("}}").expect(text) + at;
            out.push_str(&self.value(&rest[at + 3..end]));
            rest = &rest[end + 2..];
        }
        out.push_str(rest);
        out
    }

    fn env_of(&self, node: &Value) -> BTreeMap<String, String> {
        node.get("env")
            .and_then(Value::as_object)
            .map(|env| {
                env.iter()
                    .map(|(k, v)| (k.clone(), self.interpolated(v.as_str().unwrap_or_default())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Runs every job of `workflow` whose `if:` holds; returns the jobs run.
    fn jobs(&mut self, workflow: &Value) -> Vec<String> {
        let mut ran = Vec::new();
        let top = self.env_of(workflow);
        for (name, job) in workflow["jobs"].as_object().unwrap() {
            if let Some(condition) = job.get("if").and_then(Value::as_str)
                && !self.holds(condition)
            {
                continue;
            }
            let mut env = top.clone();
            env.extend(self.env_of(job));
            for step in job["steps"].as_array().unwrap() {
                self.step(step, &env);
            }
            ran.push(name.clone());
        }
        ran
    }

    fn step(&mut self, step: &Value, job_env: &BTreeMap<String, String>) {
        let Some(script) = step.get("run").and_then(Value::as_str) else {
            return;
        };
        assert!(
            !script.contains("${{"),
            "a run: step splices an expression into the shell: {script}"
        );
        if let Some(condition) = step.get("if").and_then(Value::as_str)
            && !self.holds(condition)
        {
            return;
        }
        if script.trim_start().starts_with("pip install") {
            return;
        }
        let name = step
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or(script)
            .to_owned();
        let mut env = job_env.clone();
        env.extend(self.env_of(step));
        let output = self.scratch.path().join("output");
        std::fs::write(&output, "").unwrap();
        let bin = Path::new(env!("CARGO_BIN_EXE_omni-dbt")).parent().unwrap();
        let path = format!(
            "{}:{}:{}",
            bin.display(),
            self.scratch.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .current_dir(&self.work)
            .env_clear()
            .env("PATH", path)
            .env("HOME", self.scratch.path())
            .env("GITHUB_OUTPUT", &output)
            .env(
                "GITHUB_STEP_SUMMARY",
                self.scratch.path().join("summary.md"),
            )
            .env("DBT_STUB_LOG", self.scratch.path().join("dbt.log"))
            .envs(&env)
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if let Some(id) = step.get("id").and_then(Value::as_str) {
            let text = std::fs::read_to_string(&output).unwrap();
            self.outputs.insert(id.to_owned(), parse_outputs(&text));
        }
        self.log.push((name, out.status.code().unwrap_or(-1), said));
    }

    fn status(&self, step: &str) -> i32 {
        self.log
            .iter()
            .find(|(name, ..)| name == step)
            .unwrap_or_else(|| panic!("{step} did not run: {:?}", self.names()))
            .1
    }

    fn names(&self) -> Vec<&str> {
        self.log.iter().map(|(n, ..)| n.as_str()).collect()
    }

    fn all_ok(&self) {
        for (name, status, said) in &self.log {
            assert_eq!(*status, 0, "{name}: {said}");
        }
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.scratch.path().join(name)).unwrap_or_default()
    }
}

/// `GITHUB_OUTPUT`'s two forms: `name=value` and `name<<DELIMITER` … `DELIMITER`.
fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let value: Vec<&str> = lines.by_ref().take_while(|l| *l != delimiter).collect();
            outputs.insert(name.to_owned(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            outputs.insert(name.to_owned(), value.to_owned());
        }
    }
    outputs
}

fn env_named(h: &Harness, prefix: &str) -> Option<Value> {
    h.fake
        .environments(h.fake.connection_id())
        .into_iter()
        .find(|e| e["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
}

fn environments_file(dir: &Path, h: &Harness) {
    std::fs::write(
        dir.join("environments.yaml"),
        format!(
            "connection: {}\nmanagedBy: analytics\nenvironments:\n  - name: staging\n    targetSchema: dbt_staging\n    secretVariables:\n      DBT_PASSWORD: ${{STAGING_PASSWORD}}\n",
            h.connection()
        ),
    )
    .unwrap();
}

/// preview.yml, a pull request without an environments file: opened (the preview, dbt into
/// its schema from the step's output, the refresh; no plan), then with one (its plan in the
/// summary), then closed (down); a fork's pull request gets a notice and nothing else.
#[tokio::test(flavor = "multi_thread")]
async fn the_preview_recipe_runs_as_written() {
    let h = Harness::start().await;
    let workflow = recipe("preview.yml");
    let checkout = tempfile::tempdir().unwrap();
    let opened = [
        ("github.event.action", "opened"),
        ("github.head_ref", "feature/Add-Orders"),
    ];
    let (log, schema, summary) = tokio::task::block_in_place(|| {
        let mut run = Run::new(&h, checkout.path().to_owned(), &opened);
        assert_eq!(run.jobs(&workflow), ["preview"]);
        run.all_ok();
        assert_eq!(
            run.names(),
            [
                "preview up",
                "dbt build into the preview's schema",
                "refresh Omni's view of the preview"
            ],
            "no environments file: no plan step"
        );
        let schema = run.outputs["preview"]["target-schema"].clone();
        (run.file("dbt.log"), schema, run.file("summary.md"))
    });
    let env = env_named(&h, "preview-feature-add-orders").expect("the preview's environment");
    assert_eq!(env["targetSchema"], schema.as_str());
    assert!(schema.starts_with("dbt_feature_add_orders"), "{schema}");
    assert_eq!(log, format!("dbt build --target ci DBT_SCHEMA={schema}\n"));
    assert_eq!(summary, "");
    let branch = h
        .fake
        .branch(h.fake.model_id(), "feature/Add-Orders")
        .unwrap();
    assert_eq!(
        branch.dbt_environment.map(|id| id.to_string()).as_deref(),
        env["id"].as_str()
    );
    assert!(
        h.fake
            .journal()
            .iter()
            .any(|e| e.operation == Some(Operation::Refresh)),
        "the refresh after dbt"
    );

    // A push with an environments file: its plan goes to the summary.
    environments_file(checkout.path(), &h);
    let synchronized = [
        ("github.event.action", "synchronize"),
        ("github.head_ref", "feature/Add-Orders"),
    ];
    let summary = tokio::task::block_in_place(|| {
        let mut run = Run::new(&h, checkout.path().to_owned(), &synchronized);
        run.jobs(&workflow);
        run.all_ok();
        assert_eq!(
            run.status("plan of environments.yaml, in the job summary"),
            0
        );
        run.file("summary.md")
    });
    assert!(summary.contains("### omni-dbt plan"), "{summary}");
    assert_eq!(
        h.fake
            .environments(h.fake.connection_id())
            .iter()
            .filter(|e| e["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("preview-")))
            .count(),
        1,
        "the second push made no second preview"
    );

    // Closed: down.
    let closed = [
        ("github.event.action", "closed"),
        ("github.head_ref", "feature/Add-Orders"),
    ];
    tokio::task::block_in_place(|| {
        let mut run = Run::new(&h, checkout.path().to_owned(), &closed);
        assert_eq!(run.jobs(&workflow), ["down"]);
        run.all_ok();
    });
    assert!(env_named(&h, "preview-feature-add-orders").is_none());

    // A fork: a notice, nothing sent.
    h.fake.clear_journal();
    let fork = [
        ("github.event.action", "opened"),
        ("github.head_ref", "patch-1"),
        (
            "github.event.pull_request.head.repo.full_name",
            "someone/analytics",
        ),
    ];
    tokio::task::block_in_place(|| {
        let mut run = Run::new(&h, checkout.path().to_owned(), &fork);
        assert_eq!(run.jobs(&workflow), ["fork"]);
        run.all_ok();
        assert!(
            run.log[0].2.starts_with("::notice title=omni-dbt::"),
            "{:?}",
            run.log
        );
    });
    assert!(h.fake.journal().is_empty());
}

/// plan-comment.yml: the comment it posts is the folded plan, under GitHub's limit.
#[tokio::test(flavor = "multi_thread")]
async fn the_plan_comment_recipe_runs_as_written() {
    let h = Harness::start().await;
    let checkout = tempfile::tempdir().unwrap();
    environments_file(checkout.path(), &h);
    tokio::task::block_in_place(|| {
        let mut run = Run::new(
            &h,
            checkout.path().to_owned(),
            &[("github.event.action", "opened")],
        );
        assert_eq!(run.jobs(&recipe("plan-comment.yml")), ["plan"]);
        run.all_ok();
        let comment = std::fs::read_to_string(checkout.path().join("comment.md")).unwrap();
        assert!(comment.chars().count() < 65_536);
        assert!(
            comment.starts_with("<details open><summary>")
                && comment.contains("### omni-dbt plan")
                && comment.contains("staging")
                && comment.trim_end().ends_with("</details>"),
            "{comment}"
        );
        assert!(run.file("summary.md").contains("### omni-dbt plan"));
    });
}

/// apply.yml: a push applies the file; the nightly drift check passes while Omni matches it,
/// and fails with a warning and the plan in the summary once someone changed Omni by hand.
#[tokio::test(flavor = "multi_thread")]
async fn the_apply_recipe_runs_as_written() {
    let h = Harness::start().await;
    let checkout = tempfile::tempdir().unwrap();
    environments_file(checkout.path(), &h);
    let workflow = recipe("apply.yml");
    let run_on = |event: &str| {
        tokio::task::block_in_place(|| {
            let mut run = Run::new(
                &h,
                checkout.path().to_owned(),
                &[("github.event_name", event)],
            );
            let jobs = run.jobs(&workflow);
            (jobs, run.log.clone(), run.file("summary.md"))
        })
    };
    let (jobs, log, _) = run_on("push");
    assert_eq!(jobs, ["apply"]);
    assert_eq!(log[0].1, 0, "{}", log[0].2);
    let staging = env_named(&h, "staging").expect("applied");
    assert_eq!(staging["targetSchema"], "dbt_staging");

    let (jobs, log, _) = run_on("schedule");
    assert_eq!(jobs, ["drift"]);
    assert_eq!(log[0].1, 0, "no drift: {}", log[0].2);

    // Changed by hand in Omni: drift.
    let id: omni_dbt::Uuid = staging["id"].as_str().unwrap().parse().unwrap();
    let client = h.client();
    client
        .dbt_environments(h.fake.connection_id())
        .update(id)
        .partial()
        .target_schema("dbt_by_hand")
        .send()
        .await
        .unwrap();
    let (_, log, summary) = run_on("schedule");
    assert_eq!(log[0].1, 2, "drift fails the job: {}", log[0].2);
    assert!(
        log[0].2.contains("::warning title=omni-dbt drift::"),
        "{}",
        log[0].2
    );
    assert!(summary.contains("dbt_by_hand"), "{summary}");
}

/// preview-gc.yml: with a checkout whose origin has `main` and `feature/a`, the previews of
/// `feature/a` and `feature/b`: only `feature/b`'s is deleted, with its model branch.
#[tokio::test(flavor = "multi_thread")]
async fn the_preview_gc_recipe_runs_as_written() {
    let h = Harness::start().await;
    let root = tempfile::tempdir().unwrap();
    let git = |dir: &Path, args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
    };
    let origin = root.path().join("origin.git");
    let work = root.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    git(
        root.path(),
        &["init", "-q", "--bare", origin.to_str().unwrap()],
    );
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["commit", "-q", "--allow-empty", "-m", "first"]);
    git(
        &work,
        &["remote", "add", "origin", origin.to_str().unwrap()],
    );
    git(&work, &["push", "-q", "origin", "main", "main:feature/a"]);
    for branch in ["feature/a", "feature/b"] {
        h.fake.add_branch(h.fake.model_id(), branch).unwrap();
        let out = h
            .run(
                &[
                    "preview",
                    "up",
                    "--connection",
                    &h.connection(),
                    "--model",
                    &h.fake.model_id().to_string(),
                    "--branch",
                    branch,
                ],
                &[],
            )
            .await;
        assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    }
    tokio::task::block_in_place(|| {
        let mut run = Run::new(&h, work.clone(), &[("github.event_name", "schedule")]);
        assert_eq!(run.jobs(&recipe("preview-gc.yml")), ["gc"]);
        run.all_ok();
    });
    assert!(env_named(&h, "preview-feature-a").is_some());
    assert!(env_named(&h, "preview-feature-b").is_none());
    assert!(h.fake.branch(h.fake.model_id(), "feature/a").is_some());
    assert!(h.fake.branch(h.fake.model_id(), "feature/b").is_none());
}
