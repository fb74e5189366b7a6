//! `cargo xtask` end to end, on fixture documents we wrote (Omni-shaped, not Omni's).

use std::{
    io::{Read, Write},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use serde_json::{Value, json};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

fn fixture(name: &str) -> String {
    format!("{FIXTURES}/{name}")
}

/// Omni's latest real release (a copy of `../shared/upstream/`, MIT, see `omni/LICENSE-omni-cli`).
const REAL: &str = "omni/omni-2026-05-04.json";

/// Our own "next release": Omni's latest with what its later release adds (facts file):
/// `isDeferralEnabled`, `POST /v1/models/{modelId}/dbt-sync`, the refresh's query parameters
/// and an integer list `pageSize`. CI pulls it and runs the whole test suite on it.
const NEXT: &str = "omni-next-release.json";

/// A YAML rendering of a fixture, written next to nothing the test reads back.
fn yaml_copy(name: &str) -> String {
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap();
    let dir = std::env::temp_dir().join(format!("omni-dbt-yaml-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name.replace('/', "_").replace(".json", ".yaml"));
    std::fs::write(&path, serde_yaml_ng::to_string(&doc).unwrap()).unwrap();
    path.display().to_string()
}

fn repo_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name)
}

/// A spec directory with the repository's selection and corrections, for a pull of Omni's real
/// release: an operation of the selection that it does not have (CI's next-release step
/// selects `dbt-sync`, which a later release adds) is left out.
fn spec_dir() -> tempfile::TempDir {
    spec_dir_for(&PathBuf::from(fixture(REAL)))
}

/// [`spec_dir`] for a pull of `document`: the selection's operations that it has.
fn spec_dir_for(document: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo_file("openapi/corrections.overlay.json"),
        dir.path().join("corrections.overlay.json"),
    )
    .unwrap();
    let read = |path: PathBuf| -> Value {
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let mut selection = read(repo_file("openapi/operations.json"));
    let release = read(document.to_path_buf());
    let base = selection["basePath"].as_str().unwrap_or("").to_owned();
    selection["operations"]
        .as_array_mut()
        .unwrap()
        .retain(|op| {
            // Omni's paths carry the base path; a pulled document's do not.
            let path = op["path"].as_str().unwrap();
            [format!("{base}{path}"), path.to_owned()].iter().any(|p| {
                release["paths"][p.as_str()]
                    .get(op["method"].as_str().unwrap())
                    .is_some()
            })
        });
    std::fs::write(
        dir.path().join("operations.json"),
        serde_json::to_string_pretty(&selection).unwrap(),
    )
    .unwrap();
    dir
}

fn xtask(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .arg("--spec-dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn read(dir: &Path, name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(name)).unwrap()).unwrap()
}

#[test]
fn pull_converts_selects_corrects_and_is_idempotent() {
    let dir = spec_dir();
    let out = xtask(dir.path(), &["spec", "pull", "--from", &fixture(REAL)]);
    assert!(out.status.success(), "{}", text(&out));
    let spec = read(dir.path(), "omni-dbt.json");

    assert_eq!(spec["openapi"], "3.0.3");
    assert!(spec["info"].get("summary").is_none() && spec.get("webhooks").is_none());
    let paths: Vec<&String> = spec["paths"].as_object().unwrap().keys().collect();
    assert_eq!(
        paths,
        [
            "/scim/v2/Users",
            "/v1/connections/{connectionId}/dbt",
            "/v1/connections/{connectionId}/dbt/environments",
            "/v1/connections/{connectionId}/dbt/environments/{environmentId}",
            "/v1/jobs/{jobId}/status",
            "/v1/models",
            "/v1/models/{modelId}/branch/{branchName}",
            "/v1/models/{modelId}/branch/{branchName}/dbt",
            "/v1/models/{modelId}/dbt-exposures",
            "/v1/models/{modelId}/refresh"
        ]
    );
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    assert!(
        !schemas.contains_key("DocumentItem") && !schemas.contains_key("ApiError400"),
        "unrelated schemas dropped"
    );
    assert_eq!(
        spec["components"]["securitySchemes"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["bearerAuth"]
    );
    assert_eq!(
        spec["tags"],
        json!([
            {"name": "Connections", "description": "Database connections and environments"},
            {"name": "Models", "description": "Semantic model management"},
            {"name": "SCIM", "description": "SCIM provisioning"}
        ])
    );

    // 3.1 -> 3.0, on Omni's own document.
    let item = &schemas["DbtEnvironmentItem"]["properties"];
    assert_eq!(
        item["targetRole"],
        json!({"type": "string", "nullable": true, "description": "Target role override"})
    );
    assert_eq!(
        item["ownerId"]["nullable"],
        json!(true),
        "type [string, null] became nullable"
    );
    assert_eq!(
        schemas["PageInfo"]["properties"]["pageSize"]["type"],
        json!("number"),
        "Omni's spec types the counts as numbers"
    );
    let config = &spec["paths"]["/v1/connections/{connectionId}/dbt"];
    assert_eq!(
        config["get"]["responses"]["200"]["content"]["application/json"]["schema"]["anyOf"][0]["properties"]
            ["supportsDbt"]["enum"],
        json!([true])
    );
    let list = &spec["paths"]["/v1/connections/{connectionId}/dbt/environments"]["get"];
    assert_eq!(list["parameters"][4]["schema"]["enum"], json!(["name"]));
    assert_eq!(
        list["parameters"][2]["schema"]["type"], "integer",
        "the correction made the page size whole"
    );
    let root = &config["put"]["requestBody"]["content"]["application/json"]["schema"]["properties"]
        ["projectRootPath"];
    assert_eq!(
        (&root["type"], &root["nullable"], &root["pattern"]),
        (
            &json!("string"),
            &json!(true),
            &json!("^$|^(?!\\/)(?!.*\\.\\.)[\\w ./-]+$")
        ),
        "the correction made projectRootPath's anyOf one nullable patterned string"
    );
    let created = &spec["paths"]["/v1/connections/{connectionId}/dbt/environments"]["post"];
    assert_eq!(
        created["responses"]["201"]["content"]["application/json"]["schema"],
        json!({"$ref": "#/components/schemas/DbtEnvironmentItem"}),
        "the allOf wrapper with a title became the plain $ref"
    );

    // Corrections.
    assert!(
        schemas["DbtEnvironmentUpdateBody"]
            .get("required")
            .is_none()
    );
    assert_eq!(
        schemas["DbtEnvironmentUpdateBody"]["properties"]["ownerId"]["format"],
        "uuid"
    );
    assert_eq!(
        schemas["DbtEnvironmentDeleteResponse"]["required"],
        json!(["success"])
    );
    assert_eq!(
        spec["servers"][0]["url"],
        "https://{instance}.omniapp.co/api"
    );
    assert_eq!(
        list["responses"]["404"]["content"]["application/json"]["schema"],
        json!({"$ref": "#/components/schemas/ApiError"})
    );

    // Provenance records the upstream bytes' hash.
    let provenance = read(dir.path(), "provenance.json");
    let bytes = std::fs::read(fixture(REAL)).unwrap();
    assert_eq!(provenance["upstreamSha256"], json!(sha256_hex(&bytes)));

    // Idempotent: the same input changes no byte of any file; YAML gives the same spec.
    let before: Vec<Vec<u8>> = files(dir.path());
    assert!(
        xtask(dir.path(), &["spec", "pull", "--from", &fixture(REAL)])
            .status
            .success()
    );
    assert_eq!(files(dir.path()), before);
    let yaml = spec_dir();
    assert!(
        xtask(yaml.path(), &["spec", "pull", "--from", &yaml_copy(REAL)])
            .status
            .success()
    );
    assert_eq!(
        std::fs::read(yaml.path().join("omni-dbt.json")).unwrap(),
        before[2]
    );

    // And the pulled spec passes the offline check (corrections replayed exactly).
    let out = xtask(dir.path(), &["check"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("13 corrections replayed on upstream.json give omni-dbt.json exactly")
    );
}

fn files(dir: &Path) -> Vec<Vec<u8>> {
    [
        "corrections.overlay.json",
        "operations.json",
        "omni-dbt.json",
        "provenance.json",
        "upstream.json",
    ]
    .iter()
    .map(|f| std::fs::read(dir.join(f)).unwrap())
    .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    // Computed with the system's sha256sum so the test does not trust the code under test.
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn a_stale_correction_is_an_error() {
    let dir = spec_dir();
    let mut overlay = read(dir.path(), "corrections.overlay.json");
    overlay["actions"].as_array_mut().unwrap().push(json!({
        "target": "$.components.schemas.NoSuchSchema.properties.x", "description": "fixed upstream long ago", "remove": true
    }));
    std::fs::write(
        dir.path().join("corrections.overlay.json"),
        overlay.to_string(),
    )
    .unwrap();
    let out = xtask(dir.path(), &["spec", "pull", "--from", &fixture(REAL)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("stale correction: overlay action 13 (target $.components.schemas.NoSuchSchema.properties.x, \"fixed upstream long ago\") matches nothing"), "{}", text(&out));
    assert!(
        !dir.path().join("omni-dbt.json").exists(),
        "nothing written"
    );
}

#[test]
fn a_pattern_that_does_not_compile_is_refused_with_its_pointer() {
    let dir = spec_dir();
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(REAL)).unwrap()).unwrap();
    doc["components"]["schemas"]["DbtEnvironmentItem"]["properties"]["name"]["pattern"] =
        json!("^(unclosed");
    let bad = dir.path().join("bad-pattern.json");
    std::fs::write(&bad, doc.to_string()).unwrap();
    let out = xtask(
        dir.path(),
        &["spec", "pull", "--from", bad.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains(
            "/components/schemas/DbtEnvironmentItem/properties/name/pattern: \"^(unclosed\" does not compile"
        ),
        "{}",
        text(&out)
    );
    assert!(
        !dir.path().join("omni-dbt.json").exists(),
        "nothing written"
    );

    // `check` says the same of a vendored spec edited by hand.
    assert!(
        xtask(dir.path(), &["spec", "pull", "--from", &fixture(REAL)])
            .status
            .success()
    );
    let mut spec = read(dir.path(), "omni-dbt.json");
    spec["components"]["schemas"]["DbtEnvironmentItem"]["properties"]["name"]["pattern"] =
        json!("[z-a]");
    std::fs::write(dir.path().join("omni-dbt.json"), spec.to_string()).unwrap();
    let out = xtask(dir.path(), &["check"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("FAIL  every pattern compiles"),
        "{}",
        text(&out)
    );
}

#[test]
fn untranslatable_constructs_and_swagger_are_clear_errors() {
    let dir = spec_dir();
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(REAL)).unwrap()).unwrap();
    doc["components"]["schemas"]["DbtEnvironmentItem"]["properties"]["variables"]["prefixItems"] =
        json!([{"type": "string"}]);
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, doc.to_string()).unwrap();
    let out = xtask(
        dir.path(),
        &["spec", "pull", "--from", bad.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("/components/schemas/DbtEnvironmentItem/properties/variables/prefixItems: `prefixItems` has no OpenAPI 3.0 equivalent"),
        "{}",
        text(&out)
    );

    let out = xtask(
        dir.path(),
        &["spec", "pull", "--from", &fixture("swagger-2.0.json")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("Swagger 2.0 is not supported"),
        "{}",
        text(&out)
    );

    // The unrelated path with `if`/`then` is dropped before translation, so it never errors.
    assert!(
        xtask(dir.path(), &["spec", "pull", "--from", &fixture(REAL)])
            .status
            .success()
    );
}

#[test]
fn pulls_from_a_url_on_loopback_and_refuses_plain_http_elsewhere() {
    let body = std::fs::read(fixture(REAL)).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut request = [0u8; 4096];
        let _ = socket.read(&mut request).unwrap();
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        socket.write_all(head.as_bytes()).unwrap();
        socket.write_all(&body).unwrap();
        String::from_utf8_lossy(&request)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned()
    });
    let dir = spec_dir();
    let url = format!("http://127.0.0.1:{port}/openapi.json?access_token=s3cr3t");
    let out = xtask(dir.path(), &["spec", "pull", "--from", &url]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains("s3cr3t"), "{}", text(&out));
    assert_eq!(
        server.join().unwrap(),
        "GET /openapi.json?access_token=s3cr3t HTTP/1.1"
    );
    // The provenance records where the spec came from, never a query or credentials.
    assert_eq!(
        read(dir.path(), "provenance.json")["source"],
        json!(format!("http://127.0.0.1:{port}/openapi.json"))
    );

    // "127." at the start of a domain name is not loopback.
    let out = xtask(
        dir.path(),
        &[
            "spec",
            "pull",
            "--from",
            "http://127.evil.example/openapi.json",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("refusing plain http"), "{}", text(&out));

    let out = xtask(
        dir.path(),
        &[
            "spec",
            "pull",
            "--from",
            "http://example.invalid/openapi.json",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("refusing plain http"), "{}", text(&out));
}

/// Writes `old` and `new` and runs `spec diff --format json`.
fn diff(old: &Value, new: &Value, extra: &[&str]) -> (Option<i32>, Value) {
    let dir = spec_dir();
    let (o, n) = (dir.path().join("old.json"), dir.path().join("new.json"));
    std::fs::write(&o, old.to_string()).unwrap();
    std::fs::write(&n, new.to_string()).unwrap();
    let mut args = vec![
        "spec",
        "diff",
        o.to_str().unwrap(),
        n.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend(extra);
    let out = xtask(dir.path(), &args);
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", text(&out)));
    (out.status.code(), report)
}

fn vendored() -> Value {
    serde_json::from_str(&std::fs::read_to_string(repo_file("openapi/omni-dbt.json")).unwrap())
        .unwrap()
}

const LIST: &str = "/paths/~1v1~1connections~1{connectionId}~1dbt~1environments/get";
const CREATE: &str = "/paths/~1v1~1connections~1{connectionId}~1dbt~1environments/post";
const UPDATE: &str =
    "/paths/~1v1~1connections~1{connectionId}~1dbt~1environments~1{environmentId}/put";
const ITEM: &str = "/components/schemas/DbtEnvironmentItem";
const UPDATE_BODY: &str = "/components/schemas/DbtEnvironmentUpdateBody";

fn at<'a>(doc: &'a mut Value, pointer: &str) -> &'a mut Value {
    doc.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer}"))
}

/// Applies `change` to a copy of the vendored spec, diffs, and expects exactly `expected`.
fn expect(
    change: impl FnOnce(&mut Value),
    old_change: impl FnOnce(&mut Value),
    expected: &[(&str, &str, &str)],
) {
    let mut old = vendored();
    old_change(&mut old);
    let mut new = old.clone();
    change(&mut new);
    let (_, report) = diff(&old, &new, &[]);
    let got: Vec<(String, String, String)> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["operation"].as_str().unwrap().into(),
                c["level"].as_str().unwrap().into(),
                c["message"].as_str().unwrap().into(),
            )
        })
        .collect();
    let want: Vec<(String, String, String)> = expected
        .iter()
        .map(|(o, l, m)| (o.to_string(), l.to_string(), m.to_string()))
        .collect();
    assert_eq!(got, want);
}

const L: &str = "GET /v1/connections/{connectionId}/dbt/environments";
const C: &str = "POST /v1/connections/{connectionId}/dbt/environments";
const U: &str = "PUT /v1/connections/{connectionId}/dbt/environments/{environmentId}";
const D: &str = "DELETE /v1/connections/{connectionId}/dbt/environments/{environmentId}";
const B: &str = "breaking";
const N: &str = "non-breaking";
fn none(_: &mut Value) {}

#[test]
fn operations_and_parameters() {
    expect(
        |d| {
            at(
                d,
                "/paths/~1v1~1connections~1{connectionId}~1dbt~1environments~1{environmentId}",
            )
            .as_object_mut()
            .unwrap()
            .remove("delete");
        },
        none,
        &[(D, B, "operation removed")],
    );
    let item = "/paths/~1v1~1connections~1{connectionId}~1dbt~1environments~1{environmentId}";
    let delete = vendored().pointer(item).unwrap()["delete"].clone();
    expect(
        move |d| {
            at(d, item)["delete"] = delete;
        },
        |d| {
            at(d, item).as_object_mut().unwrap().remove("delete");
        },
        &[(D, N, "operation added")],
    );
    expect(
        |d| {
            at(d, &format!("{LIST}/parameters")).as_array_mut().unwrap().push(json!({"name": "owner", "in": "query", "required": true, "schema": {"type": "string"}}))
        },
        none,
        &[(L, B, "required query parameter 'owner' added")],
    );
    expect(
        |d| {
            at(d, &format!("{LIST}/parameters"))
                .as_array_mut()
                .unwrap()
                .push(json!({"name": "owner", "in": "query", "schema": {"type": "string"}}))
        },
        none,
        &[(L, N, "optional query parameter 'owner' added")],
    );
    expect(
        |d| at(d, &format!("{LIST}/parameters/2"))["required"] = json!(true),
        none,
        &[(L, B, "query parameter 'pageSize' became required")],
    );
    expect(
        |d| at(d, &format!("{LIST}/parameters/2/schema"))["type"] = json!("string"),
        none,
        &[(
            L,
            B,
            "query parameter 'pageSize' type changed from integer to string",
        )],
    );
    expect(
        |d| at(d, &format!("{LIST}/parameters/0/schema"))["format"] = json!("int64"),
        none,
        &[(
            L,
            B,
            "path parameter 'connectionId' format changed from uuid to int64",
        )],
    );
    expect(
        |d| {
            at(d, &format!("{LIST}/parameters/3/schema/enum"))
                .as_array_mut()
                .unwrap()
                .pop();
        },
        none,
        &[(
            L,
            B,
            "request enum value \"desc\" removed from query parameter 'sortDirection'",
        )],
    );
    expect(
        |d| {
            at(d, &format!("{LIST}/parameters/3/schema/enum"))
                .as_array_mut()
                .unwrap()
                .push(json!("random"))
        },
        none,
        &[(
            L,
            N,
            "request enum value \"random\" added to query parameter 'sortDirection'",
        )],
    );
    expect(
        |d| at(d, UPDATE)["security"] = json!([{"otherAuth": []}]),
        none,
        &[(U, B, "security requirements changed")],
    );
}

#[test]
fn request_bodies() {
    expect(
        |d| at(d, UPDATE_BODY)["required"] = json!(["name"]),
        none,
        &[(U, B, "request body property 'name' became required")],
    );
    expect(
        |d| {
            at(d, &format!("{UPDATE_BODY}/properties"))["isSomethingNew"] =
                json!({"type": "boolean"});
        },
        none,
        &[(
            U,
            N,
            "optional request body property 'isSomethingNew' added",
        )],
    );
    expect(
        |d| {
            at(d, &format!("{UPDATE_BODY}/properties"))["mode"] = json!({"type": "string"});
            at(d, UPDATE_BODY)["required"] = json!(["mode"]);
        },
        none,
        &[(U, B, "new required request body property 'mode'")],
    );
    expect(
        |d| at(d, &format!("{UPDATE_BODY}/properties/targetSchema"))["type"] = json!("integer"),
        none,
        &[(
            U,
            B,
            "request body property 'targetSchema' type changed from string to integer",
        )],
    );
    expect(
        |d| at(d, &format!("{UPDATE_BODY}/properties/ownerId"))["format"] = json!("email"),
        none,
        &[(
            U,
            B,
            "request body property 'ownerId' format changed from uuid to email",
        )],
    );
    expect(
        |d| at(d, &format!("{UPDATE_BODY}/properties/name"))["maxLength"] = json!(50),
        |d| at(d, &format!("{UPDATE_BODY}/properties/name"))["maxLength"] = json!(100),
        &[(
            U,
            B,
            "request body property 'name' maxLength decreased from 100 to 50",
        )],
    );
    expect(
        |d| at(d, &format!("{CREATE}/requestBody"))["required"] = json!(true),
        |d| at(d, &format!("{CREATE}/requestBody"))["required"] = json!(false),
        &[(C, B, "request body became required")],
    );
    expect(
        |d| {
            let content = at(d, &format!("{UPDATE}/requestBody/content"))
                .as_object_mut()
                .unwrap();
            let json = content.remove("application/json").unwrap();
            content.insert("application/merge-patch+json".into(), json);
        },
        none,
        &[(U, B, "request media type application/json removed")],
    );
    // A nested property inside the variables' oneOf.
    expect(
        |d| {
            at(
                d,
                "/components/schemas/DbtEnvironmentVariable/properties/name",
            )["maxLength"] = json!(64)
        },
        none,
        &[
            (
                C,
                B,
                "request body property 'variables[].name' maxLength 64 added",
            ),
            (
                U,
                B,
                "request body property 'variables[].name' maxLength 64 added",
            ),
        ],
    );
}

#[test]
fn responses() {
    let item_props = format!("{ITEM}/properties");
    expect(
        |d| {
            at(d, &format!("{ITEM}/required"))
                .as_array_mut()
                .unwrap()
                .retain(|v| v != "targetSchema");
        },
        none,
        &[
            (
                L,
                B,
                "required response property '[].targetSchema' became optional",
            ),
            (
                L,
                B,
                "required response property 'records[].targetSchema' became optional",
            ),
            (
                C,
                B,
                "required response property 'targetSchema' became optional",
            ),
            (
                U,
                B,
                "required response property 'targetSchema' became optional",
            ),
        ],
    );
    expect(
        |d| {
            at(d, &item_props).as_object_mut().unwrap().remove("name");
        },
        none,
        &[
            (L, B, "required response property '[].name' removed"),
            (L, B, "required response property 'records[].name' removed"),
            (C, B, "required response property 'name' removed"),
            (U, B, "required response property 'name' removed"),
        ],
    );
    expect(
        |d| at(d, &format!("{item_props}/targetSchema"))["nullable"] = json!(true),
        none,
        &[
            (L, B, "response property '[].targetSchema' became nullable"),
            (
                L,
                B,
                "response property 'records[].targetSchema' became nullable",
            ),
            (C, B, "response property 'targetSchema' became nullable"),
            (U, B, "response property 'targetSchema' became nullable"),
        ],
    );
    expect(
        |d| {
            at(d, &format!("{item_props}/targetRole/enum"))
                .as_array_mut()
                .unwrap()
                .push(json!("ADMIN"))
        },
        |d| at(d, &format!("{item_props}/targetRole"))["enum"] = json!(["TRANSFORMER", null]),
        &[
            (
                L,
                B,
                "response enum value \"ADMIN\" added to response property '[].targetRole'",
            ),
            (
                L,
                B,
                "response enum value \"ADMIN\" added to response property 'records[].targetRole'",
            ),
            (
                C,
                B,
                "response enum value \"ADMIN\" added to response property 'targetRole'",
            ),
            (
                U,
                B,
                "response enum value \"ADMIN\" added to response property 'targetRole'",
            ),
        ],
    );
    expect(
        |d| at(d, &item_props)["isSomethingNew"] = json!({"type": "boolean"}),
        none,
        &[
            (L, N, "response property '[].isSomethingNew' added"),
            (L, N, "response property 'records[].isSomethingNew' added"),
            (C, N, "response property 'isSomethingNew' added"),
            (U, N, "response property 'isSomethingNew' added"),
        ],
    );
    expect(
        |d| {
            let responses = at(d, &format!("{UPDATE}/responses"))
                .as_object_mut()
                .unwrap();
            let ok = responses.remove("200").unwrap();
            responses.insert("202".into(), ok);
        },
        none,
        &[
            (U, B, "success status 200 removed"),
            (U, N, "success status 202 added"),
        ],
    );
    expect(
        |d| {
            let content = at(d, &format!("{UPDATE}/responses/200/content"))
                .as_object_mut()
                .unwrap();
            let json = content.remove("application/json").unwrap();
            content.insert("text/plain".into(), json);
        },
        none,
        &[(U, B, "response 200 media type application/json removed")],
    );
}

#[test]
fn descriptions_examples_and_titles_are_ignored_and_exit_codes_follow_fail_on() {
    let old = vendored();
    let mut new = old.clone();
    at(&mut new, UPDATE)["description"] = json!("Reworded.");
    at(&mut new, ITEM)["example"] = json!({"id": "x"});
    at(&mut new, ITEM)["title"] = json!("An environment");
    at(&mut new, &format!("{UPDATE_BODY}/properties/name"))["description"] = json!("Renamed.");
    let (code, report) = diff(&old, &new, &[]);
    assert_eq!(
        (code, report["changes"].as_array().unwrap().len()),
        (Some(0), 0)
    );

    at(&mut new, &format!("{UPDATE_BODY}/properties"))["isSomethingNew"] =
        json!({"type": "boolean"});
    assert_eq!(diff(&old, &new, &[]).0, Some(1));
    assert_eq!(diff(&old, &new, &["--fail-on", "breaking"]).0, Some(0));
    at(&mut new, UPDATE_BODY)["required"] = json!(["isSomethingNew"]);
    let (code, report) = diff(&old, &new, &["--fail-on", "breaking"]);
    assert_eq!((code, report["breaking"].clone()), (Some(1), json!(1)));
}

/// `spec diff` over Omni's real history gives exactly its real changes for the selected
/// operations.
#[test]
fn the_diff_of_omnis_real_releases_is_their_real_history() {
    let dir = spec_dir();
    let lines = |old: &str, new: &str| {
        let out = xtask(dir.path(), &["spec", "diff", &fixture(old), &fixture(new)]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(
        lines("omni/omni-2026-03-31.json", "omni/omni-2026-04-23.json"),
        "DELETE /v1/connections/{connectionId}/dbt/environments/{environmentId}: non-breaking operation added\n\
         GET /v1/connections/{connectionId}/dbt/environments: non-breaking operation added\n\
         GET /v1/models/{modelId}/dbt-exposures: non-breaking operation added\n\
         3 change(s): 0 breaking, 3 non-breaking\n"
    );
    assert_eq!(
        lines("omni/omni-2026-04-23.json", REAL),
        "GET /v1/models/{modelId}/dbt-exposures: BREAKING query parameter 'pageSize' type changed from integer to number\n\
         GET /v1/models/{modelId}/dbt-exposures: non-breaking optional query parameter 'cursor' added\n\
         GET /v1/models/{modelId}/dbt-exposures: non-breaking query parameter 'pageSize' default changed from 1000 to 20 (what Omni does when the request leaves it out)\n\
         GET /v1/models/{modelId}/dbt-exposures: non-breaking optional query parameter 'sortDirection' added\n\
         GET /v1/models/{modelId}/dbt-exposures: non-breaking optional query parameter 'sortField' added\n\
         GET /v1/models/{modelId}/dbt-exposures: non-breaking query parameter 'page' removed\n\
         6 change(s): 1 breaking, 5 non-breaking\n"
    );
    // Our own next release (what Omni published later, per the facts file).
    let next = lines(REAL, NEXT);
    for expected in [
        "PUT /v1/connections/{connectionId}/dbt/environments/{environmentId}: non-breaking optional request body property 'isDeferralEnabled' added",
        "POST /v1/connections/{connectionId}/dbt/environments: non-breaking response property 'isDeferralEnabled' added",
        "POST /v1/models/{modelId}/refresh: non-breaking optional query parameter 'hard_refresh' added",
        "GET /v1/connections/{connectionId}/dbt/environments: BREAKING query parameter 'pageSize' type changed from number to integer",
    ] {
        assert!(next.contains(expected), "{expected}\n{next}");
    }
    assert!(
        next.ends_with("10 change(s): 1 breaking, 9 non-breaking\n"),
        "{next}"
    );

    let out = xtask(
        dir.path(),
        &["spec", "diff", &fixture(REAL), &yaml_copy(REAL)],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "JSON and YAML of one document do not differ"
    );
    let out = xtask(
        dir.path(),
        &["spec", "diff", &fixture(REAL), "/no/such/file.json"],
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn check_catches_a_hand_edit_and_codegen_writes_the_client() {
    let dir = spec_dir();
    assert!(
        xtask(dir.path(), &["spec", "pull", "--from", &fixture(REAL)])
            .status
            .success()
    );
    let out_dir = dir.path().join("generated");
    let out = xtask(dir.path(), &["codegen", "--out", out_dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let code = std::fs::read_to_string(out_dir.join("omni_dbt_api.rs")).unwrap();
    assert!(code.contains("pub fn connections_dbt_environments_update"));
    assert!(
        code.contains("crate::decode::Variable")
            && code.contains("pub struct DbtEnvironmentUpdateBody"),
        "the replacement and the derived patch body apply to the pulled spec"
    );

    let spec_path = dir.path().join("omni-dbt.json");
    let edited = std::fs::read_to_string(&spec_path)
        .unwrap()
        .replace("\"minLength\": 1", "\"minLength\": 2");
    std::fs::write(&spec_path, edited).unwrap();
    let out = xtask(dir.path(), &["check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("FAIL  provenance matches the vendored spec"),
        "{}",
        text(&out)
    );
    assert!(
        text(&out).contains("FAIL  corrections apply"),
        "{}",
        text(&out)
    );
}

#[test]
fn references_with_siblings_and_nullable_references_translate() {
    let dir = spec_dir();
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(REAL)).unwrap()).unwrap();
    let props = doc
        .pointer_mut("/components/schemas/DbtEnvironmentListResponse/properties")
        .unwrap();
    props["pageInfo"] =
        json!({"$ref": "#/components/schemas/PageInfo", "description": "only annotates"});
    props["previous"] = json!({"$ref": "#/components/schemas/PageInfo", "readOnly": true});
    props["maybe"] =
        json!({"anyOf": [{"$ref": "#/components/schemas/PageInfo"}, {"type": "null"}]});
    let path = dir.path().join("refs.json");
    std::fs::write(&path, doc.to_string()).unwrap();
    let out = xtask(
        dir.path(),
        &["spec", "pull", "--from", path.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out));
    let spec = read(dir.path(), "omni-dbt.json");
    let props = &spec["components"]["schemas"]["DbtEnvironmentListResponse"]["properties"];
    assert_eq!(
        props["pageInfo"],
        json!({"$ref": "#/components/schemas/PageInfo"})
    );
    assert_eq!(
        props["previous"],
        json!({"allOf": [{"$ref": "#/components/schemas/PageInfo"}], "readOnly": true})
    );
    assert_eq!(
        props["maybe"],
        json!({"allOf": [{"$ref": "#/components/schemas/PageInfo"}], "nullable": true})
    );
}

#[test]
fn an_openapi_30_document_passes_through_unchanged() {
    let vendored = repo_file("openapi/omni-dbt.json");
    let dir = spec_dir_for(&vendored);
    let empty =
        json!({"overlay": "1.0.0", "info": {"title": "none", "version": "1"}, "actions": []});
    std::fs::write(
        dir.path().join("corrections.overlay.json"),
        empty.to_string(),
    )
    .unwrap();
    let out = xtask(
        dir.path(),
        &["spec", "pull", "--from", vendored.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        read(dir.path(), "omni-dbt.json"),
        self::vendored(),
        "same document, keys sorted"
    );
    let out = xtask(
        dir.path(),
        &["spec", "check", "--against", vendored.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("no differences in the covered operations"));
}

/// Under 1 MiB written, 30 GB of text once aliases are expanded: refused by bytes (it aborted
/// the process), as the CLI's loader refuses it; `/dev/zero` and a FIFO are refused at once.
#[test]
fn a_spec_that_reads_forever_or_expands_to_gigabytes_is_refused() {
    let dir = spec_dir();
    let bomb = dir.path().join("text-bomb.yaml");
    let yaml = format!(
        "openapi: 3.1.0\nbig: &a \"{}\"\nall: [{}]\n",
        "x".repeat(500_000),
        ["*a"; 60_000].join(", ")
    );
    assert!(yaml.len() < 1 << 20);
    std::fs::write(&bomb, yaml).unwrap();
    let out = xtask(
        dir.path(),
        &["spec", "pull", "--from", bomb.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("bytes of text"), "{}", text(&out));
    let out = xtask(dir.path(), &["spec", "pull", "--from", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("regular file"), "{}", text(&out));
    #[cfg(unix)]
    {
        let fifo = dir.path().join("fifo");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let started = std::time::Instant::now();
        let out = xtask(
            dir.path(),
            &["spec", "pull", "--from", fifo.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
}

#[test]
fn a_yaml_document_whose_aliases_explode_is_refused_quickly() {
    let dir = spec_dir();
    let mut yaml = String::from("openapi: 3.1.0\na: &a [");
    yaml.push_str(&vec!["x"; 1000].join(","));
    yaml.push_str("]\nb: &b [");
    yaml.push_str(&vec!["*a"; 1000].join(","));
    yaml.push_str("]\nc: [");
    yaml.push_str(&vec!["*b"; 1000].join(","));
    yaml.push_str("]\n");
    assert!(yaml.len() < 16_000, "a small document");
    let bomb = dir.path().join("bomb.yaml");
    std::fs::write(&bomb, yaml).unwrap();
    let started = std::time::Instant::now();
    let out = xtask(
        dir.path(),
        &["spec", "pull", "--from", bomb.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("expands to more than 2000000 YAML nodes"),
        "{}",
        text(&out)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn markdown_reports_are_tables_for_a_job_summary() {
    let dir = spec_dir();
    let out = xtask(
        dir.path(),
        &[
            "spec",
            "diff",
            &fixture(REAL),
            &fixture(NEXT),
            "--format",
            "markdown",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(
        md.starts_with("## Omni spec drift\n\n| operation | level | change |\n|---|---|---|\n"),
        "{md}"
    );
    assert!(md.contains("| `PUT /v1/connections/{connectionId}/dbt/environments/{environmentId}` | non-breaking | optional request body property 'isDeferralEnabled' added with default false"), "{md}");
    assert!(md.contains("| `POST /v1/models/{modelId}/dbt-sync` | non-breaking | available upstream, not selected (modelsDbtSync)"), "{md}");
    assert!(
        md.trim_end()
            .ends_with("10 change(s): 1 breaking, 9 non-breaking"),
        "{md}"
    );
}

const ORNEW: &str = "/components/schemas/DbtEnvironmentVariableUpdateOrNew/oneOf";

#[test]
fn variants_are_matched_by_meaning_not_position() {
    // Reordered: nothing changed.
    expect(
        |d| at(d, ORNEW).as_array_mut().unwrap().reverse(),
        none,
        &[],
    );
    // A component renamed, same structure: nothing changed.
    expect(
        |d| {
            let schemas = at(d, "/components/schemas").as_object_mut().unwrap();
            let moved = schemas.remove("DbtEnvironmentVariable").unwrap();
            schemas.insert("DbtEnvironmentNewVariable".into(), moved);
            let text = d.to_string().replace(
                "schemas/DbtEnvironmentVariable\"",
                "schemas/DbtEnvironmentNewVariable\"",
            );
            *d = serde_json::from_str(&text).unwrap();
        },
        none,
        &[],
    );
    // Reordered and one changed: the change is found in its own variant.
    expect(
        |d| {
            at(d, ORNEW).as_array_mut().unwrap().reverse();
            at(
                d,
                "/components/schemas/DbtEnvironmentVariable/properties/name",
            )["maxLength"] = json!(64);
        },
        none,
        &[
            (
                C,
                B,
                "request body property 'variables[].name' maxLength 64 added",
            ),
            (
                U,
                B,
                "request body property 'variables[].name' maxLength 64 added",
            ),
        ],
    );
    // A variant dropped from a request: breaking, counted.
    expect(
        |d| {
            at(d, ORNEW).as_array_mut().unwrap().remove(0);
        },
        none,
        &[(
            U,
            B,
            "request body property 'variables[]' lost 1 oneOf variant(s)",
        )],
    );
}

#[test]
fn recursive_schemas_and_all_of_cycles_end() {
    let recursive = |d: &mut Value| {
        at(d, &format!("{ITEM}/properties"))["parent"] =
            json!({"$ref": "#/components/schemas/DbtEnvironmentItem"});
        at(d, "/components/schemas")["CycleA"] =
            json!({"allOf": [{"$ref": "#/components/schemas/CycleB"}], "type": "object"});
        at(d, "/components/schemas")["CycleB"] =
            json!({"allOf": [{"$ref": "#/components/schemas/CycleA"}]});
        at(d, &format!("{ITEM}/properties"))["cycle"] =
            json!({"$ref": "#/components/schemas/CycleA"});
    };
    expect(none, recursive, &[]);
    expect(
        |d| {
            at(d, &format!("{ITEM}/properties"))["isSomethingNew"] = json!({"type": "boolean"});
        },
        recursive,
        &[
            (L, N, "response property '[].isSomethingNew' added"),
            (L, N, "response property 'records[].isSomethingNew' added"),
            (C, N, "response property 'isSomethingNew' added"),
            (U, N, "response property 'isSomethingNew' added"),
        ],
    );
}

/// Every operation of Omni's real release selected at once: all generate but the one the
/// multipart rule refuses, each rule named where it applied.
#[test]
fn every_operation_of_omnis_real_release_generates_with_each_rule_named() {
    let dir = spec_dir();
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture(REAL)).unwrap()).unwrap();
    let operations: Vec<Value> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|m| ["get", "put", "post", "delete", "patch"].contains(&m.as_str()))
                .map(move |m| json!({"method": m, "path": path.trim_start_matches("/api")}))
        })
        .collect();
    assert_eq!(operations.len(), 150);
    std::fs::write(
        dir.path().join("operations.json"),
        json!({"basePath": "/api", "operations": operations}).to_string(),
    )
    .unwrap();
    let out = xtask(
        dir.path(),
        &["spec", "pull", "--from", &fixture(REAL), "--format", "json"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    // 150 selected, 1 refused (a multipart-only body), 149 generated.
    assert_eq!(report["operations"], 149);
    let applied: Vec<(String, String)> = report["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["rule"].as_str().unwrap().to_owned(),
                r["pointer"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let has = |rule: &str, pointer: &str| {
        applied
            .iter()
            .any(|(r, p)| r == rule && p.contains(pointer))
    };
    assert!(
        has("multipart-body", "/paths/~1v1~1uploads/post"),
        "{applied:?}"
    );
    assert!(
        has(
            "per-status-bodies",
            "/paths/~1v1~1query~1run/post/responses"
        ),
        "{applied:?}"
    );
    assert!(has("case-colliding-enum", "/properties/op"), "{applied:?}");
    assert!(
        has(
            "enum-branches",
            "/CreateModelSchemaBase/properties/modelKind/anyOf"
        ),
        "{applied:?}"
    );
    let spec = read(dir.path(), "omni-dbt.json");
    assert!(
        spec["paths"]["/v1/uploads"].get("post").is_none(),
        "refused, not half-typed"
    );
    let out = xtask(
        dir.path(),
        &["codegen", "--out", dir.path().join("gen").to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out));
    let code = std::fs::read_to_string(dir.path().join("gen/omni_dbt_api.rs")).unwrap();
    assert_eq!(code.matches("pub async fn send(").count(), 149);
    // One enum serde can write, not a struct of flattened one-value enums.
    assert!(code.contains("pub enum CreateModelSchemaBaseModelKind {"));
    assert!(!code.contains("CreateModelSchemaBaseModelKindSubtype"));
}

/// A schema that cannot be generated is named once, with its pointer, and the operations that
/// reach it say so instead of each being blamed for it.
#[test]
fn a_shared_schema_at_fault_is_named_not_every_operation() {
    let doc = json!({
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/a": {"get": {"operationId": "a", "responses": {"200": {"description": "ok",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Bad"}}}}}}},
            "/b": {"get": {"operationId": "b", "responses": {"200": {"description": "ok"}}}}
        },
        "components": {"schemas": {
            "Bad": {"type": "object", "properties": {"op": {"type": "string", "enum": ["add", "Add"]}}}
        }}
    });
    let err = omni_dbt_codegen::generate(&doc.to_string()).unwrap_err();
    assert!(err.contains("schema Bad: "), "{err}");
    assert!(err.contains("(/components/schemas/Bad)"), "{err}");
    assert!(
        err.contains("GET /a: reaches the failing schema(s) Bad"),
        "{err}"
    );
    assert!(!err.contains("GET /b"), "{err}");
}

#[test]
fn a_nonconforming_default_in_any_selection_is_dropped_and_named() {
    let dir = spec_dir();
    let doc = json!({
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/api/v1/a": {"post": {"operationId": "a",
                "requestBody": {"content": {"application/json": {"schema": {"type": "object",
                    "properties": {"x": {"type": "string", "format": "uuid", "default": 7},
                        "y": {"type": "string", "example": 100},
                        "z": {"type": "string", "example": "fine"}}}}}},
                "responses": {"200": {"description": "ok"}}}}
        }
    });
    // A default that does not conform is dropped by the rule; the pull works.
    let source = dir.path().join("doc.json");
    std::fs::write(&source, doc.to_string()).unwrap();
    std::fs::write(
        dir.path().join("operations.json"),
        json!({"basePath": "/api", "operations": [{"method": "post", "path": "/v1/a"}]})
            .to_string(),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("corrections.overlay.json"),
        json!({"overlay": "1.0.0", "info": {"title": "none", "version": "1"}, "actions": []})
            .to_string(),
    )
    .unwrap();
    let out = xtask(
        dir.path(),
        &["spec", "pull", "--from", source.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("translated (nonconforming-default) /paths/~1v1~1a/post"),
        "{}",
        text(&out)
    );
    // So is an example (a tool that sends examples would send it); a conforming one stays.
    assert!(
        text(&out).contains("translated (nonconforming-example) /paths/~1v1~1a/post/requestBody/content/application~1json/schema/properties/y/example: dropped example 100"),
        "{}",
        text(&out)
    );
    let spec = read(dir.path(), "omni-dbt.json");
    let props = &spec["paths"]["/v1/a"]["post"]["requestBody"]["content"]["application/json"]["schema"]
        ["properties"];
    assert!(props["y"].get("example").is_none());
    assert_eq!(props["z"]["example"], "fine");
}

/// The variants of `oneOf` on the update body's variable items, old and new, as given.
fn variant_reports(old_variants: Value, new_variants: Value, components: Value) -> Vec<String> {
    let set = |variants: Value| {
        let mut doc = vendored();
        at(&mut doc, UPDATE_BODY)["properties"]["variables"]["items"] = json!({"oneOf": variants});
        let schemas = at(&mut doc, "/components/schemas").as_object_mut().unwrap();
        for (k, v) in components.as_object().unwrap() {
            schemas.insert(k.clone(), v.clone());
        }
        doc
    };
    let (_, report) = diff(&set(old_variants), &set(new_variants), &[]);
    report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}: {}",
                c["level"].as_str().unwrap(),
                c["operation"].as_str().unwrap(),
                c["message"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn variants_pair_by_reference_before_shape() {
    // A changed its type to B's old shape, and B gained a rule. Paired by reference: two
    // changes in place. Paired by shape first, old B would take new A and old A be left over.
    let components = json!({
        "VarA": {"type": "object", "properties": {"x": {"type": "string"}}},
        "VarB": {"type": "string"},
        "VarA2": {"type": "string"},
        "VarB2": {"type": "string", "maxLength": 3}
    });
    // Reordered references, nothing else: nothing changed.
    let report = variant_reports(
        json!([{"$ref": "#/components/schemas/VarA"}, {"$ref": "#/components/schemas/VarB"}]),
        json!([{"$ref": "#/components/schemas/VarB"}, {"$ref": "#/components/schemas/VarA"}]),
        json!({"VarA": components["VarA"], "VarB": components["VarB"]}),
    );
    assert!(report.is_empty(), "{report:?}");
    let mut old = vendored();
    let mut new = vendored();
    for (doc, a, b) in [(&mut old, "VarA", "VarB"), (&mut new, "VarA2", "VarB2")] {
        let schemas = at(doc, "/components/schemas").as_object_mut().unwrap();
        schemas.insert("VarA".into(), components[a].clone());
        schemas.insert("VarB".into(), components[b].clone());
        at(doc, UPDATE_BODY)["properties"]["variables"]["items"] = json!({"oneOf": [
            {"$ref": "#/components/schemas/VarA"}, {"$ref": "#/components/schemas/VarB"}
        ]});
    }
    let (_, report) = diff(&old, &new, &[]);
    let text = report.to_string();
    assert!(
        text.contains("type changed from object to string"),
        "{text}"
    );
    assert!(text.contains("maxLength 3 added"), "{text}");
    assert!(
        !text.contains("variant(s)"),
        "nothing lost or gained: {text}"
    );
}

#[test]
fn variants_pair_by_title_before_shape() {
    // The same story with inline, titled variants.
    let report = variant_reports(
        json!([
            {"title": "A", "type": "object", "properties": {"x": {"type": "string"}}},
            {"title": "B", "type": "string"}
        ]),
        json!([
            {"title": "A", "type": "string"},
            {"title": "B", "type": "string", "maxLength": 3}
        ]),
        json!({}),
    );
    let text = report.join("\n");
    assert!(
        text.contains("type changed from object to string"),
        "{text}"
    );
    assert!(text.contains("maxLength 3 added"), "{text}");
    assert!(
        !text.contains("variant(s)"),
        "nothing lost or gained: {text}"
    );
}

#[test]
fn a_gained_variant_breaks_a_response_not_a_request() {
    let two = json!([{"type": "string"}, {"type": "integer"}]);
    let three = json!([{"type": "string"}, {"type": "integer"}, {"type": "boolean"}]);
    let report = variant_reports(two.clone(), three.clone(), json!({}));
    assert_eq!(
        report,
        [format!(
            "non-breaking {U}: request body property 'variables[]' gained 1 oneOf variant(s)"
        )],
        "a request may send more shapes"
    );
    // In an answer, a new shape is one the client cannot read.
    let set = |variants: &Value| {
        let mut doc = vendored();
        at(&mut doc, ITEM)["properties"]["targetSchema"] = json!({"oneOf": variants});
        doc
    };
    let (_, report) = diff(&set(&two), &set(&three), &[]);
    let changes: Vec<String> = report["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}",
                c["level"].as_str().unwrap(),
                c["message"].as_str().unwrap()
            )
        })
        .collect();
    assert!(!changes.is_empty());
    assert!(
        changes
            .iter()
            .all(|c| c.starts_with("breaking ") && c.contains("gained 1 oneOf variant(s)")),
        "{changes:?}"
    );
}

/// What a maintainer needs from the drift report on the day Omni publishes the next release.
#[test]
fn the_drift_report_names_new_operations_defaults_and_redundant_corrections() {
    let dir = spec_dir();
    // Pulled from Omni's release (not the repository's openapi/, which CI also runs on the
    // next release).
    let out = xtask(dir.path(), &["spec", "pull", "--from", &fixture(REAL)]);
    assert!(out.status.success(), "{}", text(&out));
    let out = xtask(dir.path(), &["spec", "check", "--against", &fixture(NEXT)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let report = String::from_utf8(out.stdout).unwrap();
    for expected in [
        "POST /v1/models/{modelId}/dbt-sync: non-breaking available upstream, not selected (modelsDbtSync): add it to operations.json to generate it",
        "PUT /v1/connections/{connectionId}/dbt/environments/{environmentId}: non-breaking optional request body property 'isDeferralEnabled' added with default false: a client that writes defaults out would send false on every request (omni-dbt sends it only when set)",
        "corrections.overlay.json: non-breaking correction now redundant (upstream says the same): overlay action 8 (target $.paths['/v1/connections/{connectionId}/dbt/environments'].get.parameters[?@.name == 'pageSize'].schema)",
    ] {
        assert!(report.contains(expected), "{expected}\n{report}");
    }
    // Against the release it was pulled from: nothing to say.
    let out = xtask(dir.path(), &["spec", "check", "--against", &fixture(REAL)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // A new dbt operation is named by `spec diff` too, once: when it appears.
    let out = xtask(
        dir.path(),
        &["spec", "diff", &fixture(REAL), &fixture(NEXT)],
    );
    let report = String::from_utf8(out.stdout).unwrap();
    assert_eq!(report.matches("dbt-sync").count(), 1, "{report}");
    let out = xtask(
        dir.path(),
        &["spec", "diff", &fixture(NEXT), &fixture(NEXT)],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
}

#[test]
fn a_changed_default_is_reported() {
    expect(
        |d| at(d, UPDATE_BODY)["properties"]["targetDatabase"]["default"] = json!("analytics"),
        none,
        &[(
            U,
            N,
            "request body property 'targetDatabase' default changed from null to \"analytics\" (what Omni does when the request leaves it out)",
        )],
    );
}

/// A file of `openapi/` that is a symbolic link is not written through: the pull is refused
/// before it writes anything, and the link's target is untouched.
#[cfg(unix)]
#[test]
fn a_pull_never_writes_through_a_symbolic_link() {
    let dir = spec_dir();
    let elsewhere = tempfile::tempdir().unwrap();
    let target = elsewhere.path().join("victim");
    std::fs::write(&target, "untouched").unwrap();
    std::os::unix::fs::symlink(&target, dir.path().join("omni-dbt.json")).unwrap();
    let out = xtask(
        dir.path(),
        &[
            "spec",
            "pull",
            "--from",
            repo_file("xtask/tests/fixtures/omni/omni-2026-05-04.json")
                .to_str()
                .unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("is a symbolic link"), "{}", text(&out));
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched");
    assert!(
        !dir.path().join("upstream.json").exists(),
        "nothing was written"
    );
}
