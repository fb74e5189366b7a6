//! `PUT .../dbt/environments/{environmentId}`: the exact JSON on the wire for every state of
//! every field, and validation that sends nothing.

use crate::common::*;
use omni_dbt::{Error, IntoPatch, NewVariable, Patch, Uuid, VariableUpdate};
use serde_json::{Map, Value, json};
use wiremock::MockServer;

async fn server_answering_update() -> MockServer {
    let server = MockServer::start().await;
    answer(
        &server,
        "PUT",
        item_path(),
        json_response(200, environment_json()),
    )
    .await;
    server
}

#[tokio::test]
async fn update_sends_exact_request_and_decodes_environment() {
    let server = server_answering_update().await;
    let env = org_client(&server)
        .dbt_environments(id(CONN))
        .update(id(ENV))
        .partial()
        .target_schema("dbt_pr_42")
        .send()
        .await
        .unwrap();

    let req = only_request(&server).await;
    assert_request(&req, "PUT", &item_path(), None, ORG_KEY);
    assert_eq!(body(&req), json!({"targetSchema": "dbt_pr_42"}));
    assert_eq!(env.id, id(ENV));
    assert_eq!(env.target_role.as_deref(), Some("TRANSFORMER"));
    assert_eq!(env.variables.len(), 2);
    assert_eq!(env.variable("DBT_PASSWORD").unwrap().value, None);
}

/// One nullable field's three states, and which of the two ways to clear it is used.
#[derive(Clone, Copy, Debug)]
enum State {
    Unchanged,
    ClearWithNone,
    ClearWithMethod,
    Set,
}

const STATES: [State; 4] = [
    State::Unchanged,
    State::ClearWithNone,
    State::ClearWithMethod,
    State::Set,
];

#[tokio::test]
async fn every_combination_of_nullable_field_states_is_exact_on_the_wire() {
    let server = server_answering_update().await;
    let client = org_client(&server);
    let owner = id(OWNER);
    let mut expected_bodies = Vec::new();

    for db in STATES {
        for tn in STATES {
            for role in STATES {
                for own in STATES {
                    let mut update = client
                        .dbt_environments(id(CONN))
                        .update(id(ENV))
                        .partial()
                        .name("n");
                    let mut expected = Map::new();
                    expected.insert("name".into(), json!("n"));
                    update = match db {
                        State::Unchanged => update,
                        State::ClearWithNone => update.target_database(None),
                        State::ClearWithMethod => update.clear_target_database(),
                        State::Set => update.target_database("db"),
                    };
                    update = match tn {
                        State::Unchanged => update,
                        State::ClearWithNone => update.target_name(None),
                        State::ClearWithMethod => update.clear_target_name(),
                        State::Set => update.target_name(String::from("prod")),
                    };
                    update = match role {
                        State::Unchanged => update,
                        State::ClearWithNone => update.target_role(None),
                        State::ClearWithMethod => update.clear_target_role(),
                        State::Set => update.target_role(Some("ROLE".to_string())),
                    };
                    update = match own {
                        State::Unchanged => update,
                        State::ClearWithNone => update.owner_id(None),
                        State::ClearWithMethod => update.clear_owner_id(),
                        State::Set => update.owner_id(owner),
                    };
                    for (key, state, value) in [
                        ("targetDatabase", db, json!("db")),
                        ("targetName", tn, json!("prod")),
                        ("targetRole", role, json!("ROLE")),
                        ("ownerId", own, json!(OWNER)),
                    ] {
                        match state {
                            State::Unchanged => {}
                            State::ClearWithNone | State::ClearWithMethod => {
                                expected.insert(key.into(), Value::Null);
                            }
                            State::Set => {
                                expected.insert(key.into(), value);
                            }
                        }
                    }
                    update.send().await.unwrap();
                    expected_bodies.push(Value::Object(expected));
                }
            }
        }
    }

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 256);
    for (req, expected) in requests.iter().zip(&expected_bodies) {
        assert_request(req, "PUT", &item_path(), None, ORG_KEY);
        assert_eq!(&body(req), expected);
    }
}

#[tokio::test]
async fn patch_values_can_be_passed_directly() {
    let server = server_answering_update().await;
    org_client(&server)
        .dbt_environments(id(CONN))
        .update(id(ENV))
        .partial()
        .target_database(Patch::Set("x".to_string()))
        .target_name(Patch::Clear)
        .target_role(Patch::<String>::Unchanged)
        .send()
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_eq!(
        body(&req),
        json!({"targetDatabase": "x", "targetName": null})
    );
    let owned = String::from("y");
    assert_eq!((&owned).into_patch(), Patch::Set("y".to_string()));
}

#[tokio::test]
async fn variables_new_and_existing_are_exact_on_the_wire() {
    let server = server_answering_update().await;
    org_client(&server)
        .dbt_environments(id(CONN))
        .update(id(ENV))
        .partial()
        .add_variable("DBT_THREADS", "8")
        .add_secret_variable("DBT_TOKEN", "tok-secret")
        .set_variable(id(VAR_PLAIN), "staging")
        .keep_secret_variable(id(VAR_SECRET))
        .variable(NewVariable::plain("EMPTY_OK", ""))
        .send()
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_eq!(
        body(&req),
        json!({"variables": [
            {"name": "DBT_THREADS", "value": "8", "isSecret": false},
            {"name": "DBT_TOKEN", "value": "tok-secret", "isSecret": true},
            {"id": VAR_PLAIN, "isSecret": false, "value": "staging"},
            {"id": VAR_SECRET, "isSecret": true},
            {"name": "EMPTY_OK", "value": "", "isSecret": false}
        ]})
    );
}

#[tokio::test]
async fn a_secret_can_get_a_new_value() {
    let server = server_answering_update().await;
    org_client(&server)
        .dbt_environments(id(CONN))
        .update(id(ENV))
        .partial()
        .set_secret_variable(id(VAR_SECRET), "rotated")
        .variable(VariableUpdate::plain(id(VAR_PLAIN), "v2"))
        .send()
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_eq!(
        body(&req),
        json!({"variables": [
            {"id": VAR_SECRET, "isSecret": true, "value": "rotated"},
            {"id": VAR_PLAIN, "isSecret": false, "value": "v2"}
        ]})
    );
}

#[tokio::test]
async fn a_pat_may_change_everything_but_the_owner() {
    let server = server_answering_update().await;
    pat_client(&server)
        .dbt_environments(id(CONN))
        .update(id(ENV))
        .partial()
        .name("mine")
        .target_role(None)
        .send()
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_request(&req, "PUT", &item_path(), None, PAT);
    assert_eq!(body(&req), json!({"name": "mine", "targetRole": null}));
}

/// Runs an invalid update and checks the error names `field` and `rule`, and nothing was sent.
async fn rejected(
    build: impl FnOnce(omni_dbt::DbtEnvironments) -> omni_dbt::UpdateEnvironment,
    pat: bool,
    field: &str,
    rule_part: &str,
) {
    let server = server_answering_update().await;
    let client = if pat {
        pat_client(&server)
    } else {
        org_client(&server)
    };
    let err = build(client.dbt_environments(id(CONN)))
        .send()
        .await
        .unwrap_err();
    match &err {
        Error::InvalidInput { field: f, rule, .. } => {
            assert_eq!(f, field, "{err}");
            assert!(
                rule.contains(rule_part),
                "rule {rule:?} should mention {rule_part:?}"
            );
        }
        other => panic!("expected InvalidInput for {field}, got {other:?}"),
    }
    assert!(err.to_string().contains(field));
    assert_eq!(request_count(&server).await, 0, "nothing may be sent");
}

#[tokio::test]
async fn invalid_updates_are_refused_before_sending() {
    let env = id(ENV);
    rejected(|e| e.update(env), false, "body", "at least one field").await;
    rejected(|e| e.update(env).name(""), false, "name", "minLength 1").await;
    rejected(
        |e| e.update(env).target_schema(""),
        false,
        "targetSchema",
        "minLength 1",
    )
    .await;
    rejected(
        |e| e.update(env).owner_id(id(OWNER)),
        true,
        "ownerId",
        "Organization API key",
    )
    .await;
    rejected(
        |e| e.update(env).clear_owner_id(),
        true,
        "ownerId",
        "Organization API key",
    )
    .await;
    rejected(
        |e| e.update(env).owner_id(Uuid::nil()),
        false,
        "ownerId",
        "nil UUID",
    )
    .await;
    rejected(
        |e| e.update(Uuid::nil()).name("x"),
        false,
        "environmentId",
        "nil UUID",
    )
    .await;
    rejected(
        |e| e.update(env).add_variable("", "v"),
        false,
        "variables[0].name",
        "breaks the spec's rule: shorter than 1 characters",
    )
    .await;
    rejected(
        |e| {
            e.update(env)
                .add_variable("A", "1")
                .add_secret_variable("A", "2")
        },
        false,
        "variables[1].name",
        "already used by variables[0]",
    )
    .await;
    rejected(
        |e| {
            e.update(env)
                .set_variable(id(VAR_PLAIN), "1")
                .keep_secret_variable(id(VAR_PLAIN))
        },
        false,
        "variables[1].id",
        "already changed by variables[0]",
    )
    .await;
    rejected(
        |e| e.update(env).set_variable(Uuid::nil(), "1"),
        false,
        "variables[0].id",
        "nil UUID",
    )
    .await;

    let server = server_answering_update().await;
    let err = org_client(&server)
        .dbt_environments(Uuid::nil())
        .update(env)
        .name("x")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field, .. } if field == "connectionId"),
        "{err}"
    );
    assert_eq!(request_count(&server).await, 0);
}

#[tokio::test]
async fn an_unknown_token_kind_leaves_the_owner_rule_to_omni() {
    let server = server_answering_update().await;
    client(&server, omni_dbt::Token::unknown(ORG_KEY))
        .dbt_environments(id(CONN))
        .update(id(ENV))
        .partial()
        .owner_id(id(OWNER))
        .send()
        .await
        .unwrap();
    assert_eq!(
        body(&only_request(&server).await),
        json!({"ownerId": OWNER})
    );
}

#[tokio::test]
async fn an_update_from_a_fetched_environment_sends_its_name_and_schema() {
    let server = server_answering_update().await;
    let current: omni_dbt::DbtEnvironment = serde_json::from_value(serde_json::json!({
        "id": ENV, "name": "pr-42", "targetSchema": "dbt_pr_42", "isDefaultEnvironment": false,
        "ownerId": null, "targetDatabase": null, "targetName": null, "targetRole": null,
        "variables": []
    }))
    .unwrap();
    org_client(&server)
        .dbt_environments(id(CONN))
        .update_from(&current)
        .target_role("TRANSFORMER")
        .send()
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_eq!(
        body(&req),
        serde_json::json!({"name": "pr-42", "targetSchema": "dbt_pr_42", "targetRole": "TRANSFORMER"})
    );
    // A setter still wins, and an update from a fetched environment that changes nothing is
    // refused like any other.
    let server = server_answering_update().await;
    org_client(&server)
        .dbt_environments(id(CONN))
        .update_from(&current)
        .target_schema("dbt_pr_42_b")
        .send()
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_eq!(
        body(&req),
        serde_json::json!({"name": "pr-42", "targetSchema": "dbt_pr_42_b"})
    );
    let err = org_client(&server)
        .dbt_environments(id(CONN))
        .update_from(&current)
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, omni_dbt::Error::InvalidInput { field, .. } if field == "body"),
        "{err:?}"
    );
}

/// Without `partial`, an update is valid under Omni's published spec (which requires `name` and
/// `targetSchema`): the environment is looked up (pages of 100) and its current values sent.
#[tokio::test]
async fn an_update_by_id_looks_up_name_and_schema_once() {
    // Validated as a proxy would, against Omni's release as published (before our corrections):
    // the quickstart's real-instance mode is this update.
    let upstream: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/openapi/upstream.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let fake = omni_dbt_fake::FakeOmni::builder()
        .without_rate_limit()
        .conformance_spec(omni_dbt_fake::Spec::from_document(&upstream).unwrap())
        .start()
        .await
        .unwrap();
    let client = fake_client(&fake);
    let envs = client.dbt_environments(fake.connection_id());
    let created = envs.create("pr-1", "dbt_pr_1").send().await.unwrap();
    fake.clear_journal();
    envs.update(created.id)
        .target_role("R")
        .send()
        .await
        .unwrap();
    let journal = fake.journal();
    assert_eq!(journal.len(), 2, "{journal:?}");
    assert_eq!(
        (journal[0].method.as_str(), journal[0].query.as_deref()),
        ("GET", Some("pageSize=100"))
    );
    assert_eq!(
        journal[1].json().unwrap(),
        json!({"name": "pr-1", "targetSchema": "dbt_pr_1", "targetRole": "R"})
    );
    // Both given: no lookup.
    fake.clear_journal();
    envs.update(created.id)
        .name("pr-1")
        .target_schema("dbt_pr_1b")
        .send()
        .await
        .unwrap();
    assert_eq!(fake.journal().len(), 1);
    // Gone: NotFound before any PUT.
    envs.delete(created.id).send().await.unwrap();
    fake.clear_journal();
    let err = envs
        .update(created.id)
        .target_role("R")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(fake.journal().iter().all(|e| e.method == "GET"));
    // Bad input: nothing sent, not even the lookup.
    fake.clear_journal();
    let err = envs
        .update(created.id)
        .target_schema("")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert!(fake.journal().is_empty());
    let requests: Vec<String> = fake
        .violations()
        .into_iter()
        .filter(|v| v.contains("request:"))
        .collect();
    assert!(requests.is_empty(), "{requests:#?}");
}

/// `put_variable` updates the variable of that name or creates it, so the same update can run
/// twice (the README's example did not: "Duplicate variable name").
#[tokio::test]
async fn a_variable_set_by_name_is_created_then_updated() {
    let fake = omni_dbt_fake::FakeOmni::builder()
        .without_rate_limit()
        .start()
        .await
        .unwrap();
    let client = fake_client(&fake);
    let envs = client.dbt_environments(fake.connection_id());
    let env = fake.default_environment();
    for (round, password) in ["s3cr3t", "s3cr3t-2"].into_iter().enumerate() {
        let updated = envs
            .update(env)
            .target_schema("dbt_pr_42")
            .put_secret_variable("DBT_PASSWORD", password)
            .put_variable("DBT_TARGET", format!("pr{round}"))
            .send()
            .await
            .unwrap();
        let secret = updated.variable("DBT_PASSWORD").unwrap();
        assert!(secret.is_secret && secret.value.is_none());
        assert_eq!(
            fake.stored_value(fake.connection_id(), env, "DBT_PASSWORD")
                .as_deref(),
            Some(password)
        );
        assert_eq!(
            updated.variable("DBT_TARGET").unwrap().value.as_deref(),
            Some(format!("pr{round}").as_str())
        );
        let names: Vec<&str> = updated.variables.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names.iter().filter(|n| **n == "DBT_PASSWORD").count(), 1);
    }
    // The secret's value never shows in Debug.
    let update = envs
        .update(env)
        .put_secret_variable("X", "hunter2-DO-NOT-PRINT");
    assert!(!format!("{update:?}").contains("hunter2"));
    assert!(fake.violations().is_empty(), "{:?}", fake.violations());
}

/// `apply_property` sets a property in place; a wrong value is an error naming it and leaves
/// the builder as it was, so a tool setting many properties keeps one builder (no clone per
/// property) and sends exactly what was set.
#[tokio::test]
async fn apply_property_sets_in_place_and_a_refused_value_changes_nothing() {
    let server = server_answering_update().await;
    let mut update = org_client(&server)
        .dbt_environments(id(CONN))
        .update(id(ENV))
        .partial();
    update
        .apply_property("targetSchema", json!("dbt_pr_7"))
        .unwrap();
    let refused = update.apply_property("targetRole", json!(42)).unwrap_err();
    assert!(
        matches!(&refused, Error::InvalidInput { field, .. } if field == "targetRole"),
        "{refused:?}"
    );
    assert!(update.apply_property("noSuchProperty", json!("x")).is_err());
    update
        .apply_property("targetDatabase", Value::Null)
        .unwrap();
    update.send().await.unwrap();
    assert_eq!(
        body(&only_request(&server).await),
        json!({"targetSchema": "dbt_pr_7", "targetDatabase": null})
    );
}
