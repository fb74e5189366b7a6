//! The fake's documented behaviour, driven with raw HTTP so that any body can be sent:
//! exact statuses and `detail` texts for every rule.

use std::time::Duration;

use omni_dbt_fake::{FakeOmni, Fault, ListShape, Operation};
use serde_json::{Value, json};

struct Harness {
    fake: FakeOmni,
    http: reqwest::Client,
}

impl Harness {
    async fn start(builder: omni_dbt_fake::FakeOmniBuilder) -> Self {
        // In a workspace build reqwest has TLS without a provider (the client crate brings its
        // own); these plain-http tests still need one installed to build a reqwest client.
        let _ = rustls::crypto::ring::default_provider().install_default();
        Harness {
            fake: builder.start().await.unwrap(),
            http: reqwest::Client::new(),
        }
    }

    async fn default() -> Self {
        Self::start(FakeOmni::builder().without_rate_limit()).await
    }

    fn url(&self, connection: impl std::fmt::Display, environment: Option<String>) -> String {
        let base = format!(
            "{}/v1/connections/{connection}/dbt/environments",
            self.fake.base_url()
        );
        match environment {
            Some(e) => format!("{base}/{e}"),
            None => base,
        }
    }

    async fn send(
        &self,
        method: &str,
        url: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method.parse().unwrap(), url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_owned());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn org(
        &self,
        method: &str,
        environment: Option<String>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = self.url(self.fake.connection_id(), environment);
        let body = body.map(|b| b.to_string());
        self.send(
            method,
            &url,
            Some(&self.fake.tokens().organization_api_key),
            body.as_deref(),
        )
        .await
    }

    async fn create(&self, body: Value) -> Value {
        let (status, env) = self.org("POST", None, Some(body)).await;
        assert_eq!(status, 201, "{env}");
        env
    }

    async fn put(&self, env: &Value, body: &str, token: &str) -> (u16, Value) {
        let url = self.url(
            self.fake.connection_id(),
            Some(env["id"].as_str().unwrap().to_owned()),
        );
        self.send("PUT", &url, Some(token), Some(body)).await
    }

    fn assert_conformed(&self) {
        assert_eq!(self.fake.violations(), Vec::<String>::new());
    }
}

fn expect_error(answer: (u16, Value), status: u16, detail: &str) {
    assert_eq!(
        answer,
        (status, json!({"detail": detail, "status": status}))
    );
}

#[tokio::test]
async fn authentication_and_permission() {
    let h = Harness::default().await;
    let url = h.url(h.fake.connection_id(), None);
    expect_error(
        h.send("GET", &url, None, None).await,
        401,
        "Authentication required",
    );
    expect_error(
        h.send("GET", &url, Some("nope"), None).await,
        401,
        "Invalid API token",
    );
    expect_error(
        h.send("GET", &url, Some(&h.fake.tokens().pat_without_admin), None)
            .await,
        403,
        "Permission denied: Connection Admin permission required on this connection",
    );
    let no_dbt = h.url(h.fake.connection_without_dbt(), None);
    expect_error(
        h.send(
            "GET",
            &no_dbt,
            Some(&h.fake.tokens().organization_api_key),
            None,
        )
        .await,
        403,
        "This connection does not support dbt",
    );
    let unknown = h.url(uuid::Uuid::new_v4(), None);
    expect_error(
        h.send("GET", &unknown, Some(&h.fake.tokens().pat_admin), None)
            .await,
        404,
        "Connection not found",
    );
    expect_error(
        h.org(
            "PUT",
            Some(uuid::Uuid::new_v4().to_string()),
            Some(json!({})),
        )
        .await,
        404,
        "dbt environment not found",
    );
    expect_error(
        h.org("DELETE", Some("not-a-uuid".into()), None).await,
        404,
        "dbt environment not found",
    );
    h.assert_conformed();

    let journal = h.fake.journal();
    assert_eq!(journal.len(), 7);
    assert_eq!(
        journal[1].header("authorization"),
        Some("Bearer <redacted>")
    );
    assert_eq!(journal[2].principal, Some("pat-without-admin"));
    assert!(
        journal
            .iter()
            .all(|e| !format!("{e:?}").contains(&h.fake.tokens().organization_api_key))
    );
}

#[tokio::test]
async fn create_rules() {
    let h = Harness::default().await;
    let cases: Vec<(Value, &str)> = vec![
        (json!({"targetSchema": "s"}), "name: Required"),
        (json!({"name": "n"}), "targetSchema: Required"),
        (
            json!({"name": "", "targetSchema": "s"}),
            "name: String must contain at least 1 character(s)",
        ),
        (
            json!({"name": "n", "targetSchema": 5}),
            "targetSchema: Expected string, received number",
        ),
        (
            json!({"name": "n", "targetSchema": "s", "variables": []}),
            "variables: Array must contain at least 1 element(s)",
        ),
        (
            json!({"name": "n", "targetSchema": "s", "targetRole": 1}),
            "targetRole: Expected string or null, received number",
        ),
        (
            json!({"name": "n", "targetSchema": "s", "ownerId": "x"}),
            "ownerId: Invalid uuid",
        ),
        (
            json!({"name": "n", "targetSchema": "s", "variables": [{"name": "A", "value": "1", "isSecret": false}, {"name": "A", "value": "2", "isSecret": true}]}),
            "variables: Duplicate variable name 'A'",
        ),
        (
            json!({"name": "n", "targetSchema": "s", "variables": [{"name": "", "value": "1", "isSecret": false}]}),
            "variables[0].name: String must contain at least 1 character(s)",
        ),
        (
            json!({"name": "n", "targetSchema": "s", "variables": [{"name": "A", "isSecret": false}]}),
            "variables[0].value: Required",
        ),
        (
            json!({"name": "n", "targetSchema": "s", "variables": [{"name": "A", "value": "1"}]}),
            "variables[0].isSecret: Required",
        ),
        (
            json!({"name": "n", "targetSchema": "s", "variables": [{"id": uuid::Uuid::new_v4(), "name": "A", "value": "1", "isSecret": false}]}),
            "variables[0]: Unrecognized key(s) in object: 'id'",
        ),
        (json!([1]), "Request body must be a JSON object"),
    ];
    for (body, detail) in cases {
        expect_error(h.org("POST", None, Some(body)).await, 400, detail);
    }
    let url = h.url(h.fake.connection_id(), None);
    let token = h.fake.tokens().organization_api_key.clone();
    expect_error(
        h.send("POST", &url, Some(&token), Some("{not json")).await,
        400,
        "Request body must be valid JSON",
    );
    expect_error(
        h.send(
            "POST",
            &url,
            Some(&h.fake.tokens().pat_admin),
            Some(r#"{"name":"n","targetSchema":"s","ownerId":null}"#),
        )
        .await,
        400,
        "ownerId can only be set with an Organization API key",
    );

    // A PAT's environments belong to its user; an org key's to whoever it names, or nobody.
    let (status, env) = h
        .send(
            "POST",
            &url,
            Some(&h.fake.tokens().pat_admin),
            Some(r#"{"name":"mine","targetSchema":"s"}"#),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(env["ownerId"], json!(h.fake.admin_user()));
    let env = h.create(json!({"name": "org", "targetSchema": "s"})).await;
    assert_eq!(env["ownerId"], Value::Null);
    assert_eq!(h.fake.environments(h.fake.connection_id()).len(), 3);
    h.assert_conformed();
}

#[tokio::test]
async fn update_changes_only_present_fields_and_null_clears() {
    let h = Harness::default().await;
    let token = h.fake.tokens().organization_api_key.clone();
    let env = h
        .create(json!({"name": "pr-1", "targetSchema": "s1", "targetDatabase": "db", "targetName": "tn", "targetRole": "r",
                       "variables": [{"name": "PLAIN", "value": "p", "isSecret": false}, {"name": "SECRET", "value": "hunter2", "isSecret": true}]}))
        .await;
    assert_eq!(
        env["variables"][1]["value"],
        Value::Null,
        "secrets are never returned"
    );
    let env_id: uuid::Uuid = env["id"].as_str().unwrap().parse().unwrap();
    let conn = h.fake.connection_id();
    assert_eq!(
        h.fake.stored_value(conn, env_id, "SECRET").as_deref(),
        Some("hunter2")
    );

    let (status, updated) = h
        .put(
            &env,
            r#"{"targetSchema": "s2", "targetRole": null}"#,
            &token,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(updated["name"], "pr-1");
    assert_eq!(updated["targetSchema"], "s2");
    assert_eq!(updated["targetDatabase"], "db");
    assert_eq!(updated["targetName"], "tn");
    assert_eq!(updated["targetRole"], Value::Null);

    let plain = env["variables"][0]["id"].as_str().unwrap();
    let secret = env["variables"][1]["id"].as_str().unwrap();
    let body = json!({"variables": [
        {"id": plain, "isSecret": false, "value": "p2"},
        {"id": secret, "isSecret": true, "value": null},
        {"name": "NEW", "value": "n", "isSecret": true}
    ]});
    let (status, updated) = h.put(&env, &body.to_string(), &token).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["variables"][0]["value"], "p2");
    assert_eq!(updated["variables"].as_array().unwrap().len(), 3);
    assert_eq!(
        h.fake.stored_value(conn, env_id, "SECRET").as_deref(),
        Some("hunter2"),
        "null keeps a secret"
    );
    assert_eq!(
        h.fake.stored_value(conn, env_id, "NEW").as_deref(),
        Some("n")
    );

    // An empty update is valid and changes nothing.
    let (status, same) = h.put(&env, "{}", &token).await;
    assert_eq!((status, &same), (200, &updated));
    h.assert_conformed();
}

#[tokio::test]
async fn update_rules_reject_and_change_nothing() {
    let h = Harness::default().await;
    let token = h.fake.tokens().organization_api_key.clone();
    let env = h.create(json!({"name": "pr-1", "targetSchema": "s1", "variables": [{"name": "A", "value": "1", "isSecret": false}]})).await;
    let var = env["variables"][0]["id"].as_str().unwrap().to_owned();
    let cases: Vec<(String, &str)> = vec![
        (json!({"name": ""}).to_string(), "name: String must contain at least 1 character(s)"),
        (json!({"targetSchema": ""}).to_string(), "targetSchema: String must contain at least 1 character(s)"),
        (json!({"name": 1}).to_string(), "name: Expected string, received number"),
        (json!({"targetDatabase": false}).to_string(), "targetDatabase: Expected string or null, received boolean"),
        (json!({"variables": {}}).to_string(), "variables: Expected array, received object"),
        (json!({"variables": [1]}).to_string(), "variables[0]: Expected object, received number"),
        (json!({"variables": [{"id": var, "isSecret": false, "value": "2", "extra": 1}]}).to_string(), "variables[0]: Unrecognized key(s) in object: 'extra'"),
        (json!({"variables": [{"id": var, "isSecret": false, "name": "B"}]}).to_string(), "variables[0].name: The name of an existing variable cannot be changed"),
        (json!({"variables": [{"id": uuid::Uuid::new_v4(), "isSecret": false}]}).to_string(), "variables[0].id: No variable with this id in the environment"),
        (json!({"variables": [{"id": "x", "isSecret": false}]}).to_string(), "variables[0].id: Invalid uuid"),
        (json!({"variables": [{"id": var, "value": "2"}]}).to_string(), "variables[0].isSecret: Required"),
        (json!({"variables": [{"name": "A", "value": "dup", "isSecret": false}]}).to_string(), "variables: Duplicate variable name 'A'"),
        (json!({"variables": [{"name": "B", "value": "1", "isSecret": false}, {"name": "B", "value": "2", "isSecret": false}]}).to_string(), "variables: Duplicate variable name 'B'"),
        // Valid fields before an invalid one must not be applied either.
        (json!({"targetSchema": "changed", "ownerId": "nope"}).to_string(), "ownerId: Invalid uuid"),
        ("[]".to_owned(), "Request body must be a JSON object"),
        ("{\"name\": ".to_owned(), "Request body must be valid JSON"),
    ];
    for (body, detail) in cases {
        expect_error(h.put(&env, &body, &token).await, 400, detail);
    }
    expect_error(
        h.put(
            &env,
            &json!({"ownerId": h.fake.admin_user()}).to_string(),
            &h.fake.tokens().pat_admin,
        )
        .await,
        400,
        "ownerId can only be set with an Organization API key",
    );
    let now = h.fake.environments(h.fake.connection_id());
    assert_eq!(
        now.iter().find(|e| e["id"] == env["id"]).unwrap(),
        &env,
        "no rejected update changed anything"
    );
    h.assert_conformed();
}

#[tokio::test]
async fn delete_answers_success_and_then_404() {
    let h = Harness::default().await;
    let env = h.create(json!({"name": "gone", "targetSchema": "s"})).await;
    let id = env["id"].as_str().unwrap().to_owned();
    assert_eq!(
        h.org("DELETE", Some(id.clone()), None).await,
        (
            200,
            json!({"success": true, "message": "dbt environment deleted"})
        )
    );
    expect_error(
        h.org("DELETE", Some(id), None).await,
        404,
        "dbt environment not found",
    );
    h.assert_conformed();
}

#[tokio::test]
async fn list_in_both_shapes_with_paging_and_sorting() {
    let bare = Harness::start(
        FakeOmni::builder()
            .without_rate_limit()
            .list_shape(omni_dbt_fake::ListShape::BareArray),
    )
    .await;
    let (status, all) = bare.org("GET", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        all.as_array().unwrap().len(),
        1,
        "the seeded default environment"
    );
    assert_eq!(all[0]["isDefaultEnvironment"], true);

    let h = Harness::start(
        FakeOmni::builder()
            .without_rate_limit()
            .list_shape(ListShape::Envelope),
    )
    .await;
    for name in ["delta", "alpha", "charlie", "bravo"] {
        h.create(json!({"name": name, "targetSchema": "s"})).await;
    }
    let base = h.url(h.fake.connection_id(), None);
    let token = h.fake.tokens().organization_api_key.clone();
    let (status, page) = h
        .send(
            "GET",
            &format!("{base}?pageSize=2&sortDirection=asc&sortField=name"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let names = |p: &Value| {
        p["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&page), ["Default", "alpha"]);
    assert_eq!(
        page["pageInfo"],
        json!({"hasNextPage": true, "nextCursor": "offset-2", "pageSize": 2, "totalRecords": 5})
    );
    let (_, page) = h
        .send(
            "GET",
            &format!("{base}?cursor=offset-4&pageSize=2&sortDirection=asc&sortField=name"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(names(&page), ["delta"]);
    assert_eq!(page["pageInfo"]["nextCursor"], Value::Null);
    let (_, page) = h
        .send(
            "GET",
            &format!("{base}?sortDirection=desc&sortField=name"),
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        names(&page),
        ["delta", "charlie", "bravo", "alpha", "Default"]
    );
    expect_error(
        h.send("GET", &format!("{base}?pageSize=0"), Some(&token), None)
            .await,
        400,
        "pageSize: Number must be a whole number between 1 and 100",
    );
    expect_error(
        h.send("GET", &format!("{base}?cursor=zzz"), Some(&token), None)
            .await,
        400,
        "cursor: Invalid cursor",
    );
    h.assert_conformed();
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_when_asked() {
    let h = Harness::start(
        FakeOmni::builder()
            .rate_limit_per_minute(60)
            .rate_limit_burst(3)
            .rate_limit_retry_after(true),
    )
    .await;
    let url = h.url(h.fake.connection_id(), None);
    let token = h.fake.tokens().pat_admin.clone();
    for _ in 0..3 {
        assert_eq!(h.send("GET", &url, Some(&token), None).await.0, 200);
    }
    let resp = h.http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(resp.headers()["retry-after"], "1");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        json!({"detail": "Rate limit exceeded: 60 requests per minute", "status": 429})
    );
    // The limit is per token: another token is unaffected.
    assert_eq!(
        h.send(
            "GET",
            &url,
            Some(&h.fake.tokens().organization_api_key),
            None
        )
        .await
        .0,
        200
    );
    h.assert_conformed();
}

/// Omni's 429s are reported to carry no `Retry-After`: the fake's do not either, by default.
#[tokio::test]
async fn rate_limit_answers_429_without_retry_after_by_default() {
    let h = Harness::start(
        FakeOmni::builder()
            .rate_limit_per_minute(60)
            .rate_limit_burst(1),
    )
    .await;
    let url = h.url(h.fake.connection_id(), None);
    let token = h.fake.tokens().pat_admin.clone();
    assert_eq!(h.send("GET", &url, Some(&token), None).await.0, 200);
    let resp = h.http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 429);
    assert!(resp.headers().get("retry-after").is_none());
    h.assert_conformed();
}

/// Scheduled maintenance: every request, of any operation and any token (or none), is
/// answered 503 with `Retry-After` and not processed; afterwards everything works again.
#[tokio::test]
async fn maintenance_answers_503_with_retry_after_and_processes_nothing() {
    let h = Harness::default().await;
    let token = h.fake.tokens().organization_api_key.clone();
    let url = h.url(h.fake.connection_id(), None);
    let before = h.fake.environments(h.fake.connection_id()).len();
    h.fake.maintenance(Some(120));
    for (method, auth, body) in [
        ("GET", Some(&token), None),
        (
            "POST",
            Some(&token),
            Some(json!({"name": "m", "targetSchema": "s"})),
        ),
        ("GET", None, None),
    ] {
        let mut request = h.http.request(method.parse().unwrap(), &url);
        if let Some(token) = auth {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let resp = request.send().await.unwrap();
        assert_eq!(resp.status().as_u16(), 503, "{method}");
        assert_eq!(resp.headers()["retry-after"], "120");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["status"], 503);
    }
    assert_eq!(h.fake.environments(h.fake.connection_id()).len(), before);
    h.fake.maintenance(None);
    assert_eq!(h.send("GET", &url, Some(&token), None).await.0, 200);
}

#[tokio::test]
async fn injected_faults_happen_the_given_number_of_times() {
    let h = Harness::default().await;
    let token = h.fake.tokens().organization_api_key.clone();
    let url = h.url(h.fake.connection_id(), None);
    h.fake.inject(Operation::List, Fault::status(503, 2));
    h.fake
        .inject(Operation::List, Fault::rate_limited(1, Some(7)));
    assert_eq!(
        h.send("GET", &url, Some(&token), None).await,
        (503, json!({"detail": "Injected fault", "status": 503}))
    );
    assert_eq!(h.send("GET", &url, Some(&token), None).await.0, 503);
    let resp = h.http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(
        (
            resp.status().as_u16(),
            resp.headers()["retry-after"].to_str().unwrap()
        ),
        (429, "7")
    );
    assert_eq!(h.send("GET", &url, Some(&token), None).await.0, 200);

    h.fake
        .inject(Operation::List, Fault::DropConnection { times: 1 });
    let err = h
        .http
        .get(&url)
        .bearer_auth(&token)
        .send()
        .await
        .unwrap_err();
    assert!(
        err.is_request() || err.is_connect() || err.is_body(),
        "{err:?}"
    );

    // Dropped after processing: the create happened although no answer came.
    let before = h.fake.environments(h.fake.connection_id()).len();
    h.fake
        .inject(Operation::Create, Fault::DropAfterProcessing { times: 1 });
    let create = h
        .http
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({"name": "n", "targetSchema": "s"}))
        .send()
        .await;
    assert!(create.is_err());
    assert_eq!(
        h.fake.environments(h.fake.connection_id()).len(),
        before + 1
    );

    h.fake
        .inject(Operation::List, Fault::TruncatedBody { times: 1 });
    let resp = h.http.get(&url).bearer_auth(&token).send().await.unwrap();
    assert!(
        resp.bytes().await.is_err(),
        "a truncated body fails to read"
    );

    h.fake
        .inject(Operation::List, Fault::NonJsonBody { times: 1 });
    let (status, body) = h.send("GET", &url, Some(&token), None).await;
    assert_eq!(status, 200);
    assert!(body.as_str().unwrap().starts_with("<html>"));

    h.fake
        .inject(Operation::List, Fault::Latency(Duration::from_millis(300)));
    let started = std::time::Instant::now();
    assert_eq!(h.send("GET", &url, Some(&token), None).await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    h.fake.clear_faults();

    let statuses: Vec<Option<u16>> = h.fake.journal().iter().map(|e| e.status).collect();
    assert_eq!(
        statuses,
        [
            Some(503),
            Some(503),
            Some(429),
            Some(200),
            None,
            Some(201),
            Some(200),
            Some(200),
            Some(200)
        ]
    );
}

#[tokio::test]
async fn conformance_violations_are_detected() {
    // A stricter spec in which the update body may not carry `targetRole`: the fake still
    // accepts such a request (its rules are Omni's), so the check must flag it.
    let mut doc: Value = serde_json::from_str(omni_dbt_conformance::BUNDLED_SPEC).unwrap();
    let body = doc
        .pointer_mut("/components/schemas/DbtEnvironmentUpdateBody")
        .unwrap();
    body["properties"]
        .as_object_mut()
        .unwrap()
        .remove("targetRole");
    body["additionalProperties"] = json!(false);
    // ... and in which an environment's `name` must be at least 10 characters long.
    doc.pointer_mut("/components/schemas/DbtEnvironmentItem/properties/name")
        .unwrap()["minLength"] = json!(10);
    let strict = omni_dbt_fake::Spec::from_document(&doc).unwrap();

    let h = Harness::start(
        FakeOmni::builder()
            .without_rate_limit()
            .conformance_spec(strict),
    )
    .await;
    let env = h
        .create(json!({"name": "a-long-enough-name", "targetSchema": "s"}))
        .await;
    assert_eq!(h.fake.violations(), Vec::<String>::new());
    let token = h.fake.tokens().organization_api_key.clone();
    let (status, _) = h
        .put(&env, r#"{"targetRole": "R", "name": "short"}"#, &token)
        .await;
    assert_eq!(status, 200);
    let violations = h.fake.violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(
        violations[0].starts_with("PUT /api/v1/connections/"),
        "{}",
        violations[0]
    );
    assert!(
        violations[0].contains("request: at \"\": Additional properties"),
        "{}",
        violations[0]
    );
    assert!(
        violations[0].contains("response 200: at \"/name\""),
        "{}",
        violations[0]
    );
}

#[tokio::test]
async fn the_server_stops_when_the_handle_drops() {
    let fake = FakeOmni::builder().start().await.unwrap();
    let addr = fake.addr();
    drop(fake);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

/// Omni's later release: the refresh takes `hard_refresh`, and `schemas`/`tables` only with
/// `hard_refresh=false`; a deferral flag on environments, forced off for the default one.
#[tokio::test]
async fn the_later_release_refresh_parameters_and_deferral() {
    let h = Harness::default().await;
    let token = h.fake.tokens().organization_api_key.clone();
    let refresh = |query: &str| {
        format!(
            "{}/v1/models/{}/refresh{query}",
            h.fake.base_url(),
            h.fake.model_id()
        )
    };
    for (query, status) in [
        ("", 200),
        ("?hard_refresh=true", 200),
        ("?hard_refresh=false&schemas=analytics&tables=orders", 200),
        ("?hard_refresh=maybe", 400),
        ("?schemas=analytics", 400),
    ] {
        let (got, body) = h.send("POST", &refresh(query), Some(&token), None).await;
        assert_eq!(got, status, "{query}: {body}");
    }
    let conn = h.fake.connection_id();
    let (status, created) = h
        .send(
            "POST",
            &h.url(conn, None),
            Some(&token),
            Some(r#"{"name":"pr-9","targetSchema":"s","isDeferralEnabled":true}"#),
        )
        .await;
    assert_eq!((status, &created["isDeferralEnabled"]), (201, &json!(true)));
    let default = h.fake.default_environment().to_string();
    let (status, updated) = h
        .send(
            "PUT",
            &h.url(conn, Some(default)),
            Some(&token),
            Some(r#"{"isDeferralEnabled":true}"#),
        )
        .await;
    assert_eq!(
        (status, &updated["isDeferralEnabled"]),
        (200, &json!(false)),
        "forced off for the default environment"
    );
    let (status, _) = h
        .send(
            "PUT",
            &h.url(conn, created["id"].as_str().map(str::to_owned)),
            Some(&token),
            Some(r#"{"isDeferralEnabled":"yes"}"#),
        )
        .await;
    assert_eq!(status, 400);
}

/// Omni's `projectRootPath` rule: a relative path without `..`, or `""`/null for the root.
#[tokio::test]
async fn the_project_root_path_rule() {
    let h = Harness::default().await;
    let token = h.fake.tokens().organization_api_key.clone();
    let url = format!(
        "{}/v1/connections/{}/dbt",
        h.fake.base_url(),
        h.fake.connection_id()
    );
    for (root, status) in [
        (json!("dbt_project"), 200),
        (json!("analytics/dbt project-1.0"), 200),
        (json!(""), 200),
        (Value::Null, 200),
        (json!("/abs"), 400),
        (json!("a/../b"), 400),
        (json!("\u{84}"), 400),
        (json!("dbt\\project"), 400),
    ] {
        let body = json!({"sshUrl": "git@x:y.git", "branch": "main", "autogenRelationships": true,
            "enableVirtualSchemas": false, "projectRootPath": root});
        let (got, answer) = h
            .send("PUT", &url, Some(&token), Some(&body.to_string()))
            .await;
        assert_eq!(got, status, "{root}: {answer}");
    }
}

/// Model branches: created through `POST /v1/models` (kind `BRANCH`), found through
/// `GET /v1/models`, deleted through `DELETE .../branch/{name}`; each rule with its answer.
#[tokio::test]
async fn model_branches_are_created_found_and_deleted() {
    let h = Harness::default().await;
    let base = h.fake.base_url().to_owned();
    let org = h.fake.tokens().organization_api_key.clone();
    let model = h.fake.model_id();
    let connection = h.fake.connection_id();
    let create = |body: Value| {
        let (h, base, org) = (&h, &base, &org);
        async move {
            h.send(
                "POST",
                &format!("{base}/v1/models"),
                Some(org),
                Some(&body.to_string()),
            )
            .await
        }
    };
    let branch = json!({"connectionId": connection, "baseModelId": model, "modelKind": "BRANCH", "modelName": "feature/a b"});
    let (status, created) = create(branch.clone()).await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["success"], true);
    assert_eq!(created["model"]["modelKind"], "BRANCH");
    assert_eq!(created["model"]["name"], "feature/a b");
    let id = created["model"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        h.fake.branch(model, "feature/a b").unwrap().id.to_string(),
        id
    );
    // The same name again is refused the spec's way.
    let (status, again) = create(branch.clone()).await;
    assert_eq!(
        (status, again),
        (
            200,
            json!({"success": false, "error": "A branch named \"feature/a b\" already exists on this model"})
        )
    );
    // Rules: kinds, required fields, references, permission.
    let refused = [
        (
            json!({"connectionId": connection, "modelKind": "SHARED"}),
            400,
        ),
        (
            json!({"connectionId": connection, "modelKind": "BRANCH", "modelName": "x"}),
            400,
        ),
        (
            json!({"connectionId": connection, "baseModelId": model, "modelKind": "BRANCH"}),
            400,
        ),
        (
            json!({"connectionId": connection, "baseModelId": model, "modelKind": "BRANCH", "modelName": " "}),
            400,
        ),
        (
            json!({"connectionId": connection, "baseModelId": model, "modelKind": "BRANCH", "modelName": "a\nb"}),
            400,
        ),
        (
            json!({"connectionId": connection, "baseModelId": model, "modelKind": "LEAF", "modelName": "x"}),
            400,
        ),
        (
            json!({"baseModelId": model, "modelKind": "BRANCH", "modelName": "x"}),
            400,
        ),
        (
            json!({"connectionId": uuid_like(), "baseModelId": model, "modelKind": "BRANCH", "modelName": "x"}),
            404,
        ),
        (
            json!({"connectionId": connection, "baseModelId": uuid_like(), "modelKind": "BRANCH", "modelName": "x"}),
            404,
        ),
        (
            json!({"connectionId": h.fake.connection_without_dbt(), "baseModelId": model, "modelKind": "BRANCH", "modelName": "x"}),
            404,
        ),
    ];
    for (body, want) in refused {
        let (status, answer) = create(body.clone()).await;
        assert_eq!(status, want, "{body} -> {answer}");
    }
    let (status, _) = h
        .send(
            "POST",
            &format!("{base}/v1/models"),
            Some(&h.fake.tokens().pat_without_admin),
            Some(&json!({"connectionId": connection, "baseModelId": model, "modelKind": "BRANCH", "modelName": "y"}).to_string()),
        )
        .await;
    assert_eq!(status, 403);
    assert!(h.fake.branch(model, "x").is_none() && h.fake.branch(model, "y").is_none());

    // Found by exact name among the model's branches (the name is form-encoded).
    let list = |query: &str| {
        let url = format!("{base}/v1/models?{query}");
        let (h, org) = (&h, &org);
        async move { h.send("GET", &url, Some(org), None).await }
    };
    let (status, found) = list(&format!(
        "baseModelId={model}&modelKind=BRANCH&name=feature%2Fa+b"
    ))
    .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["records"].as_array().unwrap().len(), 1, "{found}");
    let record = &found["records"][0];
    assert_eq!(record["id"], id.as_str());
    assert_eq!(record["baseModelId"], model.to_string());
    assert_eq!(record["connectionId"], connection.to_string());
    assert_eq!(record["deletedAt"], Value::Null);
    let (_, none) = list(&format!(
        "baseModelId={model}&modelKind=BRANCH&name=feature"
    ))
    .await;
    assert_eq!(none["records"], json!([]), "exact names, not prefixes");
    let (_, shared) = list(&format!("modelId={model}&include=activeBranches")).await;
    assert_eq!(shared["records"][0]["modelKind"], "SHARED");
    let names: Vec<&str> = shared["records"][0]["branches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["dev", "feature/a b"]);
    let (_, paged) = list(&format!("baseModelId={model}&pageSize=1")).await;
    assert_eq!(paged["pageInfo"]["hasNextPage"], true);
    assert_eq!(paged["pageInfo"]["totalRecords"], 2);
    for bad in [
        "modelId=nope",
        "modelKind=LEAF",
        "pageSize=0",
        "cursor=zz",
        "includeDeleted=yes",
    ] {
        assert_eq!(list(bad).await.0, 400, "{bad}");
    }

    // Deleted: gone from the branch operations, listed only with includeDeleted.
    let url = format!("{base}/v1/models/{model}/branch/feature%2Fa%20b");
    let (status, _) = h
        .send(
            "DELETE",
            &url,
            Some(&h.fake.tokens().pat_without_admin),
            None,
        )
        .await;
    assert_eq!(status, 403);
    let (status, answer) = h.send("DELETE", &url, Some(&org), None).await;
    assert_eq!((status, answer), (200, json!({"success": true})));
    expect_error(
        h.send("DELETE", &url, Some(&org), None).await,
        404,
        "Model or branch not found",
    );
    assert!(h.fake.branch(model, "feature/a b").is_none());
    let (_, after) = list(&format!("baseModelId={model}&name=feature%2Fa%20b")).await;
    assert_eq!(after["records"], json!([]));
    let (_, deleted) = list(&format!(
        "baseModelId={model}&name=feature%2Fa%20b&includeDeleted=true"
    ))
    .await;
    assert_eq!(deleted["records"][0]["id"], id.as_str());
    assert!(deleted["records"][0]["deletedAt"].is_string());
    h.assert_conformed();
}

fn uuid_like() -> String {
    "6f1c2b7e-0000-4000-8000-000000000000".into()
}

/// SCIM finds users by email for Organization API keys only.
#[tokio::test]
async fn scim_finds_users_by_email_for_organization_keys() {
    let h = Harness::default().await;
    let url = |query: &str| format!("{}/scim/v2/Users?{query}", h.fake.base_url());
    let org = h.fake.tokens().organization_api_key.clone();
    let (status, found) = h
        .send(
            "GET",
            &url("filter=userName+eq+%22ADA%40example.com%22"),
            Some(&org),
            None,
        )
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["id"], h.fake.admin_user().to_string());
    assert_eq!(
        found["Resources"][0]["userName"],
        omni_dbt_fake::ADMIN_USER_EMAIL
    );
    let extra = h.fake.add_user("linus@example.com", "Linus");
    let (_, all) = h.send("GET", &url("count=10"), Some(&org), None).await;
    assert_eq!(all["totalResults"], 3);
    let (_, second) = h
        .send("GET", &url("startIndex=2&count=1"), Some(&org), None)
        .await;
    assert_eq!(
        (second["startIndex"].clone(), second["itemsPerPage"].clone()),
        (json!(2), json!(1))
    );
    let (_, linus) = h
        .send(
            "GET",
            &url("filter=userName%20eq%20%22linus@example.com%22"),
            Some(&org),
            None,
        )
        .await;
    assert_eq!(linus["Resources"][0]["id"], extra.to_string());
    let (status, _) = h
        .send("GET", &url("filter=userName+co+%22a%22"), Some(&org), None)
        .await;
    assert_eq!(status, 400);
    let (status, _) = h
        .send("GET", &url(""), Some(&h.fake.tokens().pat_admin), None)
        .await;
    assert_eq!(status, 401);
    h.assert_conformed();
}

/// dbt-sync is an operation of Omni's later release: a fake whose vendored spec does not have
/// it answers as an instance of the release it serves would, 404 (and journals no operation);
/// once the spec has it (CI's next-release step selects it), it is served: a job.
#[tokio::test]
async fn dbt_sync_is_served_once_the_spec_has_it() {
    let h = Harness::default().await;
    let branch = h.fake.add_branch(h.fake.model_id(), "feature").unwrap();
    let url = format!(
        "{}/v1/models/{}/dbt-sync?branch_id={branch}",
        h.fake.base_url(),
        h.fake.model_id()
    );
    let token = h.fake.tokens().organization_api_key.clone();
    let (status, answer) = h.send("POST", &url, Some(&token), None).await;
    let served = h
        .fake
        .journal()
        .iter()
        .any(|e| e.operation == Some(Operation::DbtSync));
    if omni_dbt_conformance::Spec::bundled().has_operation("modelsDbtSync") {
        assert_eq!(status, 200, "{answer}");
        assert!(answer["jobId"].is_string(), "{answer}");
        assert!(served);
    } else {
        assert_eq!((status, &answer["detail"]), (404, &json!("Not found")));
        assert!(!served);
    }
    assert!(h.fake.violations().is_empty(), "{:?}", h.fake.violations());
}
