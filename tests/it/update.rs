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
                    let mut update = client.dbt_environments(id(CONN)).update(id(ENV)).name("n");
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
