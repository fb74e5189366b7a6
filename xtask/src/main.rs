//! Spec tooling for omni-dbt, run as `cargo xtask <command>`:
//! pull Omni's published spec and convert it, diff two versions with a classified report,
//! check the vendored spec offline, and write the generated client out for reading.

mod diff;
mod overlay;
mod rules;
mod select;
mod source;
mod translate;

use std::{
    fs,
    path::{Path, PathBuf},
    process::ExitCode,
    time::SystemTime,
};

use clap::{Parser, Subcommand, ValueEnum};
use serde_json::{Value, json};

use crate::{diff::Level, overlay::Overlay, select::Selection};

#[derive(Parser)]
#[command(name = "cargo xtask", about = "Spec tooling for omni-dbt")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The directory with omni-dbt.json, operations.json, corrections.overlay.json, provenance.json.
    #[arg(long, global = true)]
    spec_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Work with Omni's published spec.
    Spec {
        #[command(subcommand)]
        command: SpecCommand,
    },
    /// Offline checks of the vendored spec (what CI runs).
    Check,
    /// Write the client build.rs generates to a readable file.
    Codegen {
        /// Output directory (default: target/codegen).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum SpecCommand {
    /// Pull upstream (JSON or YAML, 3.0 or 3.1), keep the covered operations, convert to 3.0.3,
    /// apply the corrections, and write the vendored spec and its provenance.
    Pull {
        /// A file or an https URL.
        #[arg(long)]
        from: String,
        /// Output format of the report (which translation rules applied where).
        #[arg(long, value_enum, default_value_t = Format::Human)]
        format: Format,
    },
    /// Classify the changes between two documents for the covered operations.
    Diff {
        old: String,
        new: String,
        #[command(flatten)]
        report: Report,
    },
    /// List the translation rules `pull` may apply, with what each does.
    Rules,
    /// Time `spec check` on a generated upstream document of the given size.
    Bench {
        /// Size in megabytes.
        #[arg(long, default_value_t = 2.0)]
        size_mb: f64,
    },
    /// Pull in memory and diff the result against the vendored spec.
    Check {
        /// A file or an https URL.
        #[arg(long)]
        against: String,
        #[command(flatten)]
        report: Report,
    },
}

#[derive(clap::Args, Clone, Copy)]
struct Report {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Which changes make the exit code 1.
    #[arg(long, value_enum, default_value_t = FailOn::Any)]
    fail_on: FailOn,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Human,
    Json,
    /// A table for a CI job summary (e.g. `>> $GITHUB_STEP_SUMMARY`).
    Markdown,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FailOn {
    Any,
    Breaking,
}

const SPEC: &str = "omni-dbt.json";
const SELECTION: &str = "operations.json";
const CORRECTIONS: &str = "corrections.overlay.json";
const PROVENANCE: &str = "provenance.json";
/// The selected, converted upstream before corrections, written by `pull` so that `check` can
/// replay the corrections offline.
const UPSTREAM: &str = "upstream.json";

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let spec_dir = cli.spec_dir.clone().unwrap_or_else(|| root.join("openapi"));
    let result = match cli.command {
        Command::Spec {
            command: SpecCommand::Pull { from, format },
        } => pull(&spec_dir, &from, format).map(|()| ExitCode::SUCCESS),
        Command::Spec {
            command: SpecCommand::Diff { old, new, report },
        } => diff_sources(&spec_dir, &old, &new, report),
        Command::Spec {
            command: SpecCommand::Check { against, report },
        } => spec_check(&spec_dir, &against, report),
        Command::Spec {
            command: SpecCommand::Rules,
        } => {
            for (name, what) in rules::RULES {
                println!("{name}: {what}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Spec {
            command: SpecCommand::Bench { size_mb },
        } => bench(&spec_dir, size_mb),
        Command::Check => check(&spec_dir),
        Command::Codegen { out } => codegen(
            &spec_dir,
            &out.unwrap_or_else(|| root.join("target").join("codegen")),
        ),
    };
    result.unwrap_or_else(|message| {
        eprintln!("error: {message}");
        ExitCode::from(2)
    })
}

/// The conformance crate's own copy of the vendored spec (a published crate cannot reach
/// outside its directory), when `spec_dir` is a workspace's `openapi/`.
fn conformance_copy(spec_dir: &Path) -> Option<PathBuf> {
    let dir = spec_dir.parent()?.join("crates").join("conformance");
    dir.is_dir().then(|| dir.join(SPEC))
}

/// The workspace's `docs/`, where the environments file's schema, reference and example are
/// generated, when `spec_dir` is a workspace's `openapi/` (beside `crates/codegen`, which
/// makes them): never a `docs/` that merely happens to sit beside another folder.
fn docs_dir(spec_dir: &Path) -> Option<PathBuf> {
    let root = spec_dir.parent()?;
    let dir = root.join("docs");
    (root.join("crates").join("codegen").is_dir() && dir.is_dir()).then_some(dir)
}

/// Refuses to write `path` when it is a symbolic link.
fn not_a_link(path: &Path) -> Result<(), String> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(format!(
            "{} is a symbolic link; refusing to write through it (nothing was written)",
            path.display()
        )),
        _ => Ok(()),
    }
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn selection(spec_dir: &Path) -> Result<Selection, String> {
    Selection::parse(&read_json(&spec_dir.join(SELECTION))?)
}

fn corrections(spec_dir: &Path) -> Result<Overlay, String> {
    Overlay::parse(&read_json(&spec_dir.join(CORRECTIONS))?)
        .map_err(|e| format!("{CORRECTIONS}: {e}"))
}

/// Parses, selects and converts a document; no corrections.
fn normalize(bytes: &[u8], name: &str, selection: &Selection) -> Result<Value, String> {
    normalize_reporting(bytes, name, selection).map(|(doc, _)| doc)
}

/// [`normalize`], also returning which translation rules applied where.
fn normalize_reporting(
    bytes: &[u8],
    name: &str,
    selection: &Selection,
) -> Result<(Value, Vec<rules::Applied>), String> {
    let doc = source::parse(bytes, name)?;
    if doc.get("swagger").is_some() {
        return Err(format!(
            "{name}: Swagger 2.0 is not supported; convert it to OpenAPI 3 first"
        ));
    }
    if doc.get("openapi").and_then(Value::as_str).is_none() {
        return Err(format!(
            "{name}: not an OpenAPI document (no `openapi` version)"
        ));
    }
    let mut selected = select::select(&doc, selection).map_err(|e| format!("{name}: {e}"))?;
    translate::to_openapi_30(&mut selected).map_err(|e| format!("{name}: {e}"))?;
    let applied = rules::apply(&mut selected);
    Ok((selected, applied))
}

/// The whole pull pipeline, in memory: (upstream before corrections, vendored spec, the
/// translation rules applied).
fn pull_in_memory(
    spec_dir: &Path,
    bytes: &[u8],
    name: &str,
) -> Result<(Value, Value, Vec<rules::Applied>), String> {
    let (upstream, applied) = normalize_reporting(bytes, name, &selection(spec_dir)?)?;
    let mut spec = upstream.clone();
    corrections(spec_dir)?
        .apply(&mut spec)
        .map_err(|e| format!("{CORRECTIONS}: {e}"))?;
    // The corrections may give an operation's statuses different bodies again (the shared
    // error body beside upstream's own per-status errors): the rules run once more.
    let mut applied = applied;
    applied.extend(rules::apply(&mut spec));
    Ok((upstream, spec, applied))
}

fn pull(spec_dir: &Path, from: &str, format: Format) -> Result<(), String> {
    let bytes = source::read(from)?;
    // Never record or print a URL's credentials or query.
    let shown = source::describe(from);
    let (upstream, spec, applied) = pull_in_memory(spec_dir, &bytes, &shown)?;
    let spec_text = source::canonical(&spec);
    // Nothing is written unless every pattern compiles (the generated code would panic on one
    // that does not) and the client generates from it; otherwise every fault is named.
    omni_dbt_conformance::check_patterns(&spec)?;
    omni_dbt_codegen::generate(&spec_text)?;
    let docs: Vec<(&str, String)> = match docs_dir(spec_dir) {
        Some(_) => omni_dbt_codegen::environments_file::FILES
            .iter()
            .map(|(name, make)| make(&spec).map(|text| (*name, text)))
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    let upstream_sha = source::sha256(&bytes);
    let spec_sha = source::sha256(spec_text.as_bytes());
    // A re-pull of the same bytes changes no byte, the date and the source in the provenance
    // included (the same release pulled from a copy elsewhere is the same release).
    let previous = read_json(&spec_dir.join(PROVENANCE)).ok();
    let unchanged = previous.as_ref().is_some_and(|p| {
        p["upstreamSha256"] == json!(upstream_sha) && p["specSha256"] == json!(spec_sha)
    });
    let provenance = match (unchanged, previous) {
        (true, Some(previous)) => previous,
        _ => json!({
            "source": shown,
            "upstreamSha256": upstream_sha,
            "pulledOn": today(),
            "specSha256": spec_sha,
        }),
    };
    // Every file this writes, checked before any is written: none may be a symbolic link (a
    // pull would write wherever it points).
    let mut targets = vec![
        spec_dir.join(UPSTREAM),
        spec_dir.join(SPEC),
        spec_dir.join(PROVENANCE),
    ];
    targets.extend(conformance_copy(spec_dir));
    if let Some(dir) = docs_dir(spec_dir) {
        targets.extend(docs.iter().map(|(name, _)| dir.join(name)));
    }
    for target in &targets {
        not_a_link(target)?;
    }
    fs::write(spec_dir.join(UPSTREAM), source::canonical(&upstream)).map_err(|e| e.to_string())?;
    fs::write(spec_dir.join(SPEC), &spec_text).map_err(|e| e.to_string())?;
    if let Some(copy) = conformance_copy(spec_dir) {
        fs::write(&copy, &spec_text).map_err(|e| format!("{}: {e}", copy.display()))?;
    }
    fs::write(spec_dir.join(PROVENANCE), source::canonical(&provenance))
        .map_err(|e| e.to_string())?;
    if let Some(dir) = docs_dir(spec_dir) {
        for (name, text) in &docs {
            let path = dir.join(name);
            fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    let operations = select::operations(&spec["paths"]).count();
    if format == Format::Json {
        let report = json!({
            "source": shown,
            "operations": operations,
            "rules": applied.iter().map(rules::Applied::to_json).collect::<Vec<_>>(),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
        return Ok(());
    }
    println!(
        "pulled {shown}: {operations} operations -> {}",
        spec_dir.join(SPEC).display()
    );
    for a in &applied {
        println!("translated ({}) {}: {}", a.rule, a.pointer, a.detail);
    }
    println!(
        "next: review `git diff {}`, then `cargo build` and `cargo test --workspace`",
        spec_dir.display()
    );
    Ok(())
}

fn diff_sources(spec_dir: &Path, old: &str, new: &str, report: Report) -> Result<ExitCode, String> {
    let selection = selection(spec_dir)?;
    let (old_bytes, new_bytes) = (source::read(old)?, source::read(new)?);
    let old_doc = normalize(&old_bytes, &source::describe(old), &selection)?;
    let new_doc = normalize(&new_bytes, &source::describe(new), &selection)?;
    let mut changes = diff::diff(&old_doc, &new_doc);
    let old_raw = source::parse(&old_bytes, &source::describe(old))?;
    let new_raw = source::parse(&new_bytes, &source::describe(new))?;
    changes.extend(available(&new_raw, Some(&old_raw), &selection));
    Ok(print_report(&changes, report))
}

/// Operations of the dbt family (a path with a `dbt` segment) that `new` publishes, `old` (when
/// given) does not, and the selection does not cover: a maintainer decides whether to add them.
fn available(new: &Value, old: Option<&Value>, selection: &Selection) -> Vec<diff::Change> {
    let in_old = |method: &str, path: &str| {
        old.is_some_and(|o| {
            o.pointer(&format!("/paths/{}/{method}", translate::escape(path)))
                .is_some()
        })
    };
    select::operations(&new["paths"])
        .filter(|(method, path, _)| {
            let rebased = selection.rebase(path);
            rebased.to_ascii_lowercase().contains("dbt")
                && !selection
                    .operations
                    .iter()
                    .any(|(m, p)| m == method && p == rebased)
                && !in_old(method, path)
        })
        .map(|(method, path, op)| {
            let id = op
                .get("operationId")
                .and_then(Value::as_str)
                .unwrap_or("no operationId");
            diff::Change {
                operation: format!("{} {}", method.to_uppercase(), selection.rebase(path)),
                level: Level::NonBreaking,
                message: format!(
                    "available upstream, not selected ({id}): add it to {SELECTION} to generate it"
                ),
            }
        })
        .collect()
}

fn spec_check(spec_dir: &Path, against: &str, report: Report) -> Result<ExitCode, String> {
    let bytes = source::read(against)?;
    Ok(print_report(
        &check_bytes(spec_dir, &bytes, &source::describe(against))?,
        report,
    ))
}

/// `spec check` after the bytes are read: pull in memory, diff against the vendored spec.
fn check_bytes(spec_dir: &Path, bytes: &[u8], name: &str) -> Result<Vec<diff::Change>, String> {
    let vendored = read_json(&spec_dir.join(SPEC))?;
    let (upstream, pulled, _) = pull_in_memory(spec_dir, bytes, name)?;
    let mut changes = diff::diff(&vendored, &pulled);
    let raw = source::parse(bytes, name)?;
    changes.extend(available(&raw, None, &selection(spec_dir)?));
    // A correction whose change upstream now makes itself is no longer needed.
    for description in corrections(spec_dir)?.redundant(&upstream) {
        changes.push(diff::Change {
            operation: CORRECTIONS.to_owned(),
            level: Level::NonBreaking,
            message: format!("correction now redundant (upstream says the same): {description}"),
        });
    }
    Ok(changes)
}

/// An Omni-shaped upstream document padded with unrelated paths to `size_mb`, then timed
/// through `spec check` (reading the file excluded, everything else included).
fn bench(spec_dir: &Path, size_mb: f64) -> Result<ExitCode, String> {
    let fixture = include_str!("../tests/fixtures/omni/omni-2026-05-04.json");
    let mut doc: Value = serde_json::from_str(fixture).map_err(|e| e.to_string())?;
    let target = (size_mb * 1_000_000.0) as usize;
    let mut i = 0;
    while serde_json::to_vec(&doc).map_err(|e| e.to_string())?.len() < target {
        for _ in 0..50 {
            let name = format!("Padding{i}");
            let properties: serde_json::Map<String, Value> = (0..20)
                .map(|p| {
                    let schema =
                        json!({"type": ["string", "null"], "description": "padding ".repeat(4)});
                    (format!("field{p}"), schema)
                })
                .collect();
            doc["components"]["schemas"][&name] =
                json!({"type": "object", "properties": properties});
            let schema = json!({"$ref": format!("#/components/schemas/{name}")});
            doc["paths"][format!("/api/v1/padding/{i}")] = json!({"get": {
                "operationId": format!("padding{i}"),
                "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": schema}}}}
            }});
            i += 1;
        }
    }
    let bytes = serde_json::to_vec(&doc).map_err(|e| e.to_string())?;
    let runs = 5;
    let mut times = Vec::new();
    let mut changes = 0;
    for _ in 0..runs {
        let started = std::time::Instant::now();
        changes = check_bytes(spec_dir, &bytes, "generated")?.len();
        times.push(started.elapsed());
    }
    times.sort();
    println!(
        "spec check of a {:.2} MB upstream document ({} paths): median {:.1} ms, max {:.1} ms over {runs} runs ({changes} changes)",
        bytes.len() as f64 / 1e6,
        doc["paths"].as_object().map_or(0, |p| p.len()),
        times[runs / 2].as_secs_f64() * 1e3,
        times[runs - 1].as_secs_f64() * 1e3
    );
    Ok(ExitCode::SUCCESS)
}

fn print_report(changes: &[diff::Change], report: Report) -> ExitCode {
    let breaking = changes
        .iter()
        .filter(|c| c.level == Level::Breaking)
        .count();
    match report.format {
        Format::Json => {
            let items: Vec<Value> = changes
                .iter()
                .map(|c| {
                    json!({
                        "operation": c.operation,
                        "level": if c.level == Level::Breaking { "breaking" } else { "non-breaking" },
                        "message": c.message,
                    })
                })
                .collect();
            let out = json!({"changes": items, "breaking": breaking, "nonBreaking": changes.len() - breaking});
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
        Format::Markdown => {
            println!("## Omni spec drift\n");
            if changes.is_empty() {
                println!("No differences in the covered operations.");
            } else {
                println!("| operation | level | change |\n|---|---|---|");
                let cell = |text: &str| text.replace('|', "\\|").replace('\n', " ");
                for change in changes {
                    let level = if change.level == Level::Breaking {
                        "**breaking**"
                    } else {
                        "non-breaking"
                    };
                    println!(
                        "| `{}` | {level} | {} |",
                        cell(&change.operation),
                        cell(&change.message)
                    );
                }
                println!(
                    "\n{} change(s): {breaking} breaking, {} non-breaking",
                    changes.len(),
                    changes.len() - breaking
                );
            }
        }
        Format::Human if changes.is_empty() => println!("no differences in the covered operations"),
        Format::Human => {
            for change in changes {
                println!("{change}");
            }
            println!(
                "{} change(s): {breaking} breaking, {} non-breaking",
                changes.len(),
                changes.len() - breaking
            );
        }
    }
    let counted = match report.fail_on {
        FailOn::Any => changes.len(),
        FailOn::Breaking => breaking,
    };
    if counted == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn check(spec_dir: &Path) -> Result<ExitCode, String> {
    let mut failures = 0;
    let mut report = |name: &str, result: Result<String, String>| match result {
        Ok(detail) => println!("ok    {name}: {detail}"),
        Err(detail) => {
            failures += 1;
            println!("FAIL  {name}: {detail}");
        }
    };
    let spec_path = spec_dir.join(SPEC);
    let spec_bytes = fs::read(&spec_path).map_err(|e| format!("{}: {e}", spec_path.display()))?;
    let spec_text = String::from_utf8_lossy(&spec_bytes).into_owned();
    let spec: Result<Value, String> = serde_json::from_str(&spec_text).map_err(|e| e.to_string());

    report(
        "parses as OpenAPI 3.0",
        omni_dbt_codegen::parse(&spec_text)
            .map(|s| format!("openapi {}, {} paths", s.openapi, s.paths.paths.len())),
    );
    report(
        "examples validate against their schemas",
        spec.clone().and_then(|doc| {
            let (checked, bad) = omni_dbt_conformance::check_examples(&doc)?;
            if bad.is_empty() {
                Ok(format!("{checked} examples"))
            } else {
                Err(bad
                    .iter()
                    .map(|b| format!("{}: {}", b.pointer, b.problems))
                    .collect::<Vec<_>>()
                    .join("; "))
            }
        }),
    );
    report(
        "every pattern compiles (ECMAScript, as the generated client compiles it)",
        spec.clone()
            .and_then(|doc| omni_dbt_conformance::check_patterns(&doc).map(|()| "ok".to_owned())),
    );
    report(
        "progenitor generates the client",
        omni_dbt_codegen::generate(&spec_text)
            .map(|code| format!("{} lines", code.lines().count())),
    );
    if let Some(copy) = conformance_copy(spec_dir) {
        report(
            "the conformance crate's copy is the vendored spec",
            match fs::read(&copy) {
                Ok(bytes) if bytes == spec_bytes => Ok(copy.display().to_string()),
                Ok(_) => Err(format!(
                    "{} differs from {}; copy it (`cargo xtask spec pull` writes both)",
                    copy.display(),
                    spec_path.display()
                )),
                Err(e) => Err(format!("{}: {e}", copy.display())),
            },
        );
    }
    if let Some(dir) = docs_dir(spec_dir) {
        report(
            "the environments file's schema, reference and example are what the spec gives",
            spec.clone().and_then(|doc| {
                let mut stale = Vec::new();
                for (name, make) in omni_dbt_codegen::environments_file::FILES {
                    let path = dir.join(name);
                    if fs::read_to_string(&path).ok() != Some(make(&doc)?) {
                        stale.push(path.display().to_string());
                    }
                }
                if stale.is_empty() {
                    Ok(dir.display().to_string())
                } else {
                    Err(format!(
                        "{} differ(s) from what {SPEC} gives; run `cargo xtask spec pull`",
                        stale.join(", ")
                    ))
                }
            }),
        );
    }
    report(
        "provenance matches the vendored spec",
        read_json(&spec_dir.join(PROVENANCE)).and_then(|p| {
            let recorded = p["specSha256"].as_str().unwrap_or_default().to_owned();
            let actual = source::sha256(&spec_bytes);
            if recorded == actual {
                Ok(format!("sha256 {}…, source {}", &actual[..12], p["source"]))
            } else {
                Err(format!(
                    "{SPEC} has sha256 {actual} but {PROVENANCE} records {recorded}: the spec was changed by hand; \
                     pull it again, or record the edit in {PROVENANCE}"
                ))
            }
        }),
    );
    report(
        "selected operations are in the spec",
        selection(spec_dir).and_then(|sel| {
            let doc = spec.clone()?;
            let missing: Vec<String> = sel
                .operations
                .iter()
                .filter(|(m, p)| {
                    doc.pointer(&format!("/paths/{}/{m}", translate::escape(p)))
                        .is_none()
                })
                .map(|(m, p)| format!("{} {p}", m.to_uppercase()))
                .collect();
            if missing.is_empty() {
                Ok(format!("{} operations", sel.operations.len()))
            } else {
                Err(format!("missing: {}", missing.join(", ")))
            }
        }),
    );
    report(
        "corrections apply",
        corrections(spec_dir).and_then(|overlay| match read_json(&spec_dir.join(UPSTREAM)) {
            Err(_) => Ok(format!(
                "{} corrections parse; no {UPSTREAM} (the spec is not pulled), so they are replayed by `spec pull`/`spec check`",
                overlay.len()
            )),
            Ok(mut upstream) => {
                overlay.apply(&mut upstream)?;
                if source::canonical(&upstream) == spec_text {
                    Ok(format!("{} corrections replayed on {UPSTREAM} give {SPEC} exactly", overlay.len()))
                } else {
                    Err(format!("{UPSTREAM} with the corrections applied differs from {SPEC}; pull again"))
                }
            }
        }),
    );
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn codegen(spec_dir: &Path, out: &Path) -> Result<ExitCode, String> {
    let text = fs::read_to_string(spec_dir.join(SPEC)).map_err(|e| e.to_string())?;
    let code = omni_dbt_codegen::generate(&text)?;
    fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let file = out.join("omni_dbt_api.rs");
    fs::write(&file, code).map_err(|e| format!("{}: {e}", file.display()))?;
    println!("wrote {}", file.display());
    Ok(ExitCode::SUCCESS)
}

/// Today's date (UTC) as YYYY-MM-DD.
fn today() -> String {
    let days = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs() / 86_400)
        .unwrap_or(0) as i64;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
