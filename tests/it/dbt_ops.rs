//! The connection's dbt configuration, a model's dbt exposures and a branch's dbt environment:
//! exact requests on the wire, answers decoded into the generated types, and validation that
//! sends nothing.

use futures_util::TryStreamExt;
use omni_dbt::{Error, SortDirection, api::types};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, matchers};

use crate::common::*;

const MODEL: &str = "6a1e2b3c-4d5f-4a6b-8c7d-9e0f1a2b3c4d";
const BRANCH_ID: &str = "1e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b";

fn config_path() -> String {
    format!("/api/v1/connections/{CONN}/dbt")
}

fn config_json() -> Value {
    json!({
        "autogenRelationships": true, "branch": "main", "dbtVersion": "Auto",
        "enableSemanticLayer": false, "enableVirtualSchemas": true,
        "projectRootPath": "dbt_project", "sshUrl": "git@github.com:acme/analytics.git",
        "supportsDbt": true
    })
}

fn exposure(i: usize) -> Value {
    json!({
        "dashboard_identifier": format!("d{i}"),
        "deduplication_name": format!("dash_{i}"),
        "exposure": {
            "name": format!("dash_{i}"), "type": "dashboard",
            "owner": {"name": "Ada", "email": "ada@example.com"},
            "depends_on": ["ref('orders')"]
        }
    })
}

#[tokio::test]
async fn get_config_reads_the_configuration_and_the_no_dbt_answer() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        config_path(),
        json_response(200, config_json()),
    )
    .await;
    let client = org_client(&server);
    let config = client.dbt(id(CONN)).config().send().await.unwrap();
    let req = only_request(&server).await;
    assert_request(&req, "GET", &config_path(), None, ORG_KEY);
    let types::ConnectionsDbtGetResponse::ConfiguredResponse {
        ssh_url,
        project_root_path,
        ..
    } = config
    else {
        panic!("expected the configuration, got {config:?}");
    };
    assert_eq!(ssh_url, "git@github.com:acme/analytics.git");
    assert_eq!(project_root_path.as_deref(), Some("dbt_project"));

    let server = MockServer::start().await;
    let none = json!({"message": "dbt is not configured", "supportsDbt": true});
    answer(&server, "GET", config_path(), json_response(200, none)).await;
    let answer = org_client(&server)
        .dbt(id(CONN))
        .config()
        .send()
        .await
        .unwrap();
    assert!(
        matches!(&answer, types::ConnectionsDbtGetResponse::NotConfiguredResponse { message, .. } if message == "dbt is not configured"),
        "{answer:?}"
    );
}

#[tokio::test]
async fn update_config_sends_exactly_the_fields_set() {
    let server = MockServer::start().await;
    let ok = json!({"success": true, "message": "saved"});
    answer(&server, "PUT", config_path(), json_response(200, ok)).await;
    let answer = org_client(&server)
        .dbt(id(CONN))
        .update_config("git@github.com:acme/analytics.git", "main")
        .autogen_relationships(true)
        .enable_virtual_schemas(false)
        .project_root_path("")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.message, "saved");
    let req = only_request(&server).await;
    assert_request(&req, "PUT", &config_path(), None, ORG_KEY);
    assert_eq!(
        body(&req),
        json!({
            "sshUrl": "git@github.com:acme/analytics.git", "branch": "main",
            "autogenRelationships": true, "enableVirtualSchemas": false,
            "projectRootPath": ""
        }),
        "a default of the spec (enableSemanticLayer, rotateKeys: false) is not a value to send"
    );
}

#[tokio::test]
async fn project_root_path_follows_the_spec_pattern_before_sending() {
    for bad in ["/abs", "a/../b", "..", "dbt\\project"] {
        let server = MockServer::start().await;
        let err = org_client(&server)
            .dbt(id(CONN))
            .update_config("git@github.com:acme/analytics.git", "main")
            .autogen_relationships(true)
            .enable_virtual_schemas(false)
            .project_root_path(bad)
            .send()
            .await
            .unwrap_err();
        match &err {
            Error::InvalidInput { field, rule, .. } => {
                assert_eq!(field, "projectRootPath", "{bad}: {err}");
                assert!(rule.contains("pattern"), "{bad}: {rule}");
            }
            other => panic!("{bad}: {other:?}"),
        }
        assert!(
            server.received_requests().await.unwrap().is_empty(),
            "{bad}: nothing is sent"
        );
    }
    // A relative path, with spaces, dots and dashes, is fine; so are "" (the root) and a set flag.
    let server = MockServer::start().await;
    let ok = json!({"success": true, "message": "saved"});
    answer(&server, "PUT", config_path(), json_response(200, ok)).await;
    org_client(&server)
        .dbt(id(CONN))
        .update_config("git@github.com:acme/analytics.git", "main")
        .autogen_relationships(false)
        .enable_virtual_schemas(true)
        .rotate_keys(true)
        .project_root_path("analytics/dbt project-1.0")
        .send()
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_eq!(body(&req)["projectRootPath"], "analytics/dbt project-1.0");
    assert_eq!(body(&req)["rotateKeys"], true);
    assert!(body(&req).get("enableSemanticLayer").is_none());
}

#[tokio::test]
async fn update_config_refuses_missing_required_values_and_sends_nothing() {
    let server = MockServer::start().await;
    let client = org_client(&server);
    let cases = [
        (
            client
                .dbt(id(CONN))
                .update_config("", "main")
                .autogen_relationships(true)
                .enable_virtual_schemas(true),
            "sshUrl",
        ),
        (
            client
                .dbt(id(CONN))
                .update_config("git@x:y.git", "")
                .autogen_relationships(true)
                .enable_virtual_schemas(true),
            "branch",
        ),
        (
            client
                .dbt(id(CONN))
                .update_config("git@x:y.git", "main")
                .enable_virtual_schemas(true),
            "autogenRelationships",
        ),
        (
            client
                .dbt(id(CONN))
                .update_config("git@x:y.git", "main")
                .autogen_relationships(false),
            "enableVirtualSchemas",
        ),
        (
            client
                .dbt(omni_dbt::Uuid::nil())
                .update_config("git@x:y.git", "main")
                .autogen_relationships(false)
                .enable_virtual_schemas(true),
            "connectionId",
        ),
    ];
    for (request, field) in cases {
        match request.send().await {
            Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: expected InvalidInput, got {other:?}"),
        }
    }
    assert_eq!(request_count(&server).await, 0, "nothing may be sent");
}

#[tokio::test]
async fn delete_config_and_a_success_false_answer() {
    let server = MockServer::start().await;
    Mock::given(matchers::method("DELETE"))
        .and(matchers::path(config_path()))
        .respond_with(json_response(
            200,
            json!({"success": true, "message": "removed"}),
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(matchers::method("DELETE"))
        .and(matchers::path(config_path()))
        .respond_with(json_response(
            200,
            json!({"success": false, "message": "still in use"}),
        ))
        .mount(&server)
        .await;
    let client = org_client(&server);
    let answer = client.dbt(id(CONN)).delete_config().send().await.unwrap();
    assert_eq!(answer.message, "removed");
    let req = &server.received_requests().await.unwrap()[0];
    assert_request(req, "DELETE", &config_path(), None, ORG_KEY);
    let err = client
        .dbt(id(CONN))
        .delete_config()
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::UnexpectedResponse { status: 200, detail: Some(d), .. } if d == "still in use"),
        "{err:?}"
    );
}

#[tokio::test]
async fn exposures_send_paging_sort_and_branch_and_stream_every_page() {
    let server = MockServer::start().await;
    let path = format!("/api/v1/models/{MODEL}/dbt-exposures");
    let page = |records: Vec<Value>, next: Option<&str>| {
        json!({"records": records, "pageInfo": {
            "hasNextPage": next.is_some(), "nextCursor": next, "pageSize": 2, "totalRecords": 3
        }})
    };
    Mock::given(matchers::method("GET"))
        .and(matchers::path(path.clone()))
        .and(matchers::query_param("cursor", "p2"))
        .respond_with(json_response(200, page(vec![exposure(3)], None)))
        .mount(&server)
        .await;
    Mock::given(matchers::method("GET"))
        .and(matchers::path(path.clone()))
        .respond_with(json_response(
            200,
            page(vec![exposure(1), exposure(2)], Some("p2")),
        ))
        .mount(&server)
        .await;
    let client = org_client(&server);
    let all: Vec<types::DbtExposureWithMeta> = client
        .model(id(MODEL))
        .dbt_exposures()
        .page_size(2)
        .sort(SortDirection::Ascending)
        .sort_field("name")
        .branch_id(id(BRANCH_ID))
        .stream()
        .try_collect()
        .await
        .unwrap();
    let names: Vec<&str> = all.iter().map(|e| e.exposure.name.as_str()).collect();
    assert_eq!(names, ["dash_1", "dash_2", "dash_3"]);
    assert_eq!(all[0].exposure.type_, types::DbtExposureType::Dashboard);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    let query = format!("branch_id={BRANCH_ID}&pageSize=2&sortDirection=asc&sortField=name");
    assert_request(&requests[0], "GET", &path, Some(&query), ORG_KEY);
    let second =
        format!("branch_id={BRANCH_ID}&cursor=p2&pageSize=2&sortDirection=asc&sortField=name");
    assert_request(&requests[1], "GET", &path, Some(&second), ORG_KEY);
}

#[tokio::test]
async fn exposures_refuse_a_page_size_out_of_range() {
    let server = MockServer::start().await;
    let client = org_client(&server);
    for size in [0, 101] {
        let err = client
            .model(id(MODEL))
            .dbt_exposures()
            .page_size(size)
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput { field, .. } if field == "pageSize"),
            "{err:?}"
        );
    }
    assert_eq!(request_count(&server).await, 0);
}

#[tokio::test]
async fn a_branch_is_pointed_at_an_environment_with_its_name_encoded_in_the_path() {
    let server = MockServer::start().await;
    let path = format!("/api/v1/models/{MODEL}/branch/feature%2Fpr-42/dbt");
    answer(
        &server,
        "POST",
        path.clone(),
        json_response(200, json!({"success": true})),
    )
    .await;
    let answer = org_client(&server)
        .model(id(MODEL))
        .branch("feature/pr-42")
        .use_dbt_environment(id(ENV))
        .dbt_git_branch("feature/pr-42")
        .send()
        .await
        .unwrap();
    assert!(answer.success);
    let req = only_request(&server).await;
    assert_request(&req, "POST", &path, None, ORG_KEY);
    assert_eq!(
        body(&req),
        json!({"dbt_environment_id": ENV, "dbt_git_branch": "feature/pr-42"})
    );
}

#[tokio::test]
async fn a_branch_request_is_validated_before_sending() {
    let server = MockServer::start().await;
    let client = org_client(&server);
    let model = client.model(id(MODEL));
    let cases = [
        (model.branch("").use_dbt_environment(id(ENV)), "branchName"),
        (
            model.branch("b").use_dbt_environment(omni_dbt::Uuid::nil()),
            "dbt_environment_id",
        ),
        (
            model
                .branch("b")
                .use_dbt_environment(id(ENV))
                .dbt_git_branch(""),
            "dbt_git_branch",
        ),
        (
            client
                .model(omni_dbt::Uuid::nil())
                .branch("b")
                .use_dbt_environment(id(ENV)),
            "modelId",
        ),
    ];
    for (request, field) in cases {
        match request.send().await {
            Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: expected InvalidInput, got {other:?}"),
        }
    }
    assert_eq!(request_count(&server).await, 0, "nothing may be sent");
}

#[tokio::test]
async fn update_config_by_name_checks_each_property_against_the_spec_table() {
    let server = MockServer::start().await;
    let config = org_client(&server).dbt(id(CONN));
    let refused = [
        ("sshUrl", json!(""), "sshUrl", "minLength"),
        (
            "autogenRelationships",
            json!("yes"),
            "autogenRelationships",
            "boolean",
        ),
        (
            "projectRootPath",
            json!("/abs"),
            "projectRootPath",
            "pattern",
        ),
        ("noSuchThing", json!(1), "noSuchThing", "not a property"),
    ];
    for (property, value, field, words) in refused {
        match config.update_config_by_name().set_property(property, value) {
            Err(Error::InvalidInput { field: f, rule, .. }) => {
                assert_eq!(f, field);
                assert!(rule.contains(words), "{property}: {rule}");
            }
            other => panic!("{property}: {other:?}"),
        }
    }
    // A required property left out is named when sending; nothing is sent.
    let err = config
        .update_config_by_name()
        .set_property("sshUrl", json!("git@x:y.git"))
        .unwrap()
        .set_property("branch", json!("main"))
        .unwrap()
        .set_property("autogenRelationships", json!(true))
        .unwrap()
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field, rule, .. }
            if field == "enableVirtualSchemas" && rule.contains("set it to true or false")),
        "{err:?}"
    );
    assert_eq!(config.connection_id(), id(CONN));
    assert!(server.received_requests().await.unwrap().is_empty());

    let ok = json!({"success": true, "message": "saved"});
    answer(&server, "PUT", config_path(), json_response(200, ok)).await;
    let mut update = config.update_config_by_name();
    let sent = json!({
        "sshUrl": "git@x:y.git", "branch": "main", "autogenRelationships": true,
        "enableVirtualSchemas": false, "enableSemanticLayer": true, "dbtVersion": null
    });
    for (property, value) in sent.as_object().unwrap() {
        update = update.set_property(property, value.clone()).unwrap();
    }
    update.send().await.unwrap();
    let req = only_request(&server).await;
    assert_request(&req, "PUT", &config_path(), None, ORG_KEY);
    let mut want = sent.clone();
    // `dbtVersion: null` is Omni's default: the generated body leaves it out.
    want.as_object_mut().unwrap().remove("dbtVersion");
    assert_eq!(body(&req), want);
}

/// Every property the configuration's update body takes has a typed setter, generated from
/// the spec's table (`ssh_url` and `branch` too, which `update_config` takes as arguments):
/// only what is called is sent.
#[tokio::test]
async fn the_configurations_setters_come_from_the_spec_table() {
    let server = MockServer::start().await;
    let ok = json!({"success": true, "message": "saved"});
    answer(&server, "PUT", config_path(), json_response(200, ok)).await;
    org_client(&server)
        .dbt(id(CONN))
        .update_config_by_name()
        .ssh_url("git@x:y.git")
        .branch(String::from("main"))
        .autogen_relationships(false)
        .enable_virtual_schemas(true)
        .enable_semantic_layer(false)
        .dbt_version("1.11")
        .project_root_path("dbt")
        .rotate_keys(true)
        .send()
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_request(&req, "PUT", &config_path(), None, ORG_KEY);
    assert_eq!(
        body(&req),
        json!({
            "sshUrl": "git@x:y.git", "branch": "main", "autogenRelationships": false,
            "enableVirtualSchemas": true, "enableSemanticLayer": false, "dbtVersion": "1.11",
            "projectRootPath": "dbt", "rotateKeys": true
        })
    );
    // A generated setter's value is checked by the table's rule when sending.
    let err = org_client(&server)
        .dbt(id(CONN))
        .update_config("git@x:y.git", "main")
        .autogen_relationships(true)
        .enable_virtual_schemas(true)
        .project_root_path("../up")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field, rule, .. }
            if field == "projectRootPath" && rule.contains("pattern")),
        "{err:?}"
    );
    assert_eq!(
        request_count(&server).await,
        1,
        "the refused one is not sent"
    );
}

/// Every builder checks each of its operation's path parameters (the checks are generated
/// from the spec's parameters, `crates/codegen/src/paths.rs`): a nil UUID or a blank name is
/// refused under the spec's name of the parameter, and nothing is sent.
#[tokio::test]
async fn every_builder_refuses_a_path_parameter_by_the_specs_name_before_sending() {
    let server = MockServer::start().await;
    let client = org_client(&server);
    let nil = omni_dbt::Uuid::nil();
    let refusal = |result: omni_dbt::Result<()>| match result {
        Err(Error::InvalidInput { field, rule, .. }) => format!("{field}: {rule}"),
        other => panic!("expected InvalidInput, got {other:?}"),
    };
    let cases: Vec<(&str, omni_dbt::Result<()>)> = vec![
        (
            "connectionId: must not be the nil UUID",
            client.dbt(nil).config().send().await.map(drop),
        ),
        (
            "connectionId: must not be the nil UUID",
            client.dbt(nil).delete_config().send().await.map(drop),
        ),
        (
            "connectionId: must not be the nil UUID",
            client.dbt_environments(nil).list().send().await.map(drop),
        ),
        (
            "connectionId: must not be the nil UUID",
            client
                .dbt_environments(nil)
                .create("a", "b")
                .send()
                .await
                .map(drop),
        ),
        (
            "connectionId: must not be the nil UUID",
            client
                .dbt_environments(nil)
                .delete(id(ENV))
                .send()
                .await
                .map(drop),
        ),
        (
            "environmentId: must not be the nil UUID",
            client
                .dbt_environments(id(CONN))
                .delete(nil)
                .send()
                .await
                .map(drop),
        ),
        (
            "environmentId: must not be the nil UUID",
            client
                .dbt_environments(id(CONN))
                .update(nil)
                .partial()
                .name("x")
                .send()
                .await
                .map(drop),
        ),
        (
            "modelId: must not be the nil UUID",
            client.model(nil).dbt_exposures().send().await.map(drop),
        ),
        (
            "modelId: must not be the nil UUID",
            client
                .model(nil)
                .branch("b")
                .delete()
                .send()
                .await
                .map(drop),
        ),
        (
            "branchName: must not be empty",
            client
                .model(id(MODEL))
                .branch(" ")
                .delete()
                .send()
                .await
                .map(drop),
        ),
        (
            "branchName: must not contain control characters",
            client
                .model(id(MODEL))
                .branch("a\u{1b}b")
                .use_dbt_environment(id(ENV))
                .send()
                .await
                .map(drop),
        ),
    ];
    for (expected, result) in cases {
        assert_eq!(refusal(result), expected);
    }
    assert_eq!(request_count(&server).await, 0, "nothing may be sent");
}
