//! List, create and delete: exact requests, and decoding of every shape Omni is known to send.

use crate::common::*;
use futures_util::TryStreamExt;
use omni_dbt::{Error, SortDirection, Uuid};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers};

fn env_named(name: &str) -> Value {
    let mut env = environment_json();
    env["id"] = json!(Uuid::new_v4());
    env["name"] = json!(name);
    env
}

#[tokio::test]
async fn list_accepts_the_documented_bare_array() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        collection_path(),
        json_response(200, json!([environment_json()])),
    )
    .await;
    let page = org_client(&server)
        .dbt_environments(id(CONN))
        .list()
        .send()
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_request(&req, "GET", &collection_path(), None, ORG_KEY);
    assert_eq!(page.records.len(), 1);
    assert_eq!(page.records[0].name, "pr-42");
    assert_eq!(page.next_cursor, None);
    assert_eq!(page.total_records, None);
}

#[tokio::test]
async fn list_sends_paging_and_sort_parameters_and_reads_the_envelope() {
    let server = MockServer::start().await;
    let envelope = json!({
        "records": [env_named("a")],
        "pageInfo": {"hasNextPage": true, "nextCursor": "c2", "pageSize": 1, "totalRecords": 3}
    });
    answer(
        &server,
        "GET",
        collection_path(),
        json_response(200, envelope),
    )
    .await;
    let page = org_client(&server)
        .dbt_environments(id(CONN))
        .list()
        .page_size(1)
        .sort_by_name(SortDirection::Descending)
        .cursor("c1")
        .send()
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_request(
        &req,
        "GET",
        &collection_path(),
        Some("cursor=c1&pageSize=1&sortDirection=desc&sortField=name"),
        ORG_KEY,
    );
    assert_eq!(page.next_cursor.as_deref(), Some("c2"));
    assert_eq!(page.total_records, Some(3));
}

#[tokio::test]
async fn list_stream_follows_next_cursor_across_pages() {
    let server = MockServer::start().await;
    let page = |names: &[&str], next: Option<&str>| {
        json!({
            "records": names.iter().map(|n| env_named(n)).collect::<Vec<_>>(),
            "pageInfo": {"hasNextPage": next.is_some(), "nextCursor": next, "pageSize": 2, "totalRecords": 5}
        })
    };
    Mock::given(matchers::method("GET"))
        .and(matchers::path(collection_path()))
        .and(matchers::query_param_is_missing("cursor"))
        .respond_with(json_response(200, page(&["a", "b"], Some("p2"))))
        .mount(&server)
        .await;
    Mock::given(matchers::query_param("cursor", "p2"))
        .respond_with(json_response(200, page(&["c", "d"], Some("p3"))))
        .mount(&server)
        .await;
    Mock::given(matchers::query_param("cursor", "p3"))
        .respond_with(json_response(200, page(&["e"], None)))
        .mount(&server)
        .await;

    let names: Vec<String> = org_client(&server)
        .dbt_environments(id(CONN))
        .list()
        .page_size(2)
        .stream()
        .map_ok(|e| e.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names, ["a", "b", "c", "d", "e"]);
    let queries: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.url.query().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        queries,
        ["pageSize=2", "cursor=p2&pageSize=2", "cursor=p3&pageSize=2"]
    );

    let all = org_client(&server)
        .dbt_environments(id(CONN))
        .list()
        .all()
        .await
        .unwrap();
    assert_eq!(all.len(), 5);
}

#[tokio::test]
async fn a_repeated_cursor_stops_paging_with_an_error() {
    let server = MockServer::start().await;
    let looping = json!({"records": [env_named("x")], "pageInfo": {"hasNextPage": true, "nextCursor": "same", "pageSize": 1, "totalRecords": 9}});
    answer(
        &server,
        "GET",
        collection_path(),
        json_response(200, looping),
    )
    .await;
    let err = org_client(&server)
        .dbt_environments(id(CONN))
        .list()
        .all()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::UnexpectedResponse { status: 200, .. }),
        "{err:?}"
    );
    assert_eq!(request_count(&server).await, 2);
}

#[tokio::test]
async fn has_next_page_false_ends_paging_even_with_a_cursor() {
    let server = MockServer::start().await;
    let last = json!({"records": [env_named("x")], "pageInfo": {"hasNextPage": false, "nextCursor": "stale", "pageSize": 1, "totalRecords": 1}});
    answer(&server, "GET", collection_path(), json_response(200, last)).await;
    let all = org_client(&server)
        .dbt_environments(id(CONN))
        .list()
        .all()
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(request_count(&server).await, 1);
}

#[tokio::test]
async fn list_page_size_is_validated() {
    let server = MockServer::start().await;
    for bad in [0, 101] {
        let err = org_client(&server)
            .dbt_environments(id(CONN))
            .list()
            .page_size(bad)
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput { field, .. } if field == "pageSize"),
            "{err}"
        );
    }
    assert_eq!(request_count(&server).await, 0);
}

#[tokio::test]
async fn environments_tolerate_variable_shapes_and_unknown_fields() {
    let variable = json!({"id": VAR_PLAIN, "name": "A", "value": "1", "isSecret": false});
    let cases = [
        (json!(variable.clone()), 1),
        (json!([variable.clone()]), 1),
        (Value::Null, 0),
    ];
    for (variables, expected) in cases {
        let server = MockServer::start().await;
        let mut env = environment_json();
        env["variables"] = variables;
        env["isDeferralEnabled"] = json!(true);
        env["somethingNew"] = json!({"nested": [1, 2]});
        answer(
            &server,
            "GET",
            collection_path(),
            json_response(200, json!([env])),
        )
        .await;
        let page = org_client(&server)
            .dbt_environments(id(CONN))
            .list()
            .send()
            .await
            .unwrap();
        assert_eq!(page.records[0].variables.len(), expected);
    }

    let server = MockServer::start().await;
    let mut env = environment_json();
    env.as_object_mut().unwrap().remove("variables");
    // A server that echoes a secret's value: the client still drops it.
    env["extra"] = json!(1);
    let secret_echo = json!({"id": VAR_SECRET, "name": "S", "value": "leaked", "isSecret": true});
    let mut env2 = environment_json();
    env2["variables"] = json!([secret_echo]);
    answer(
        &server,
        "GET",
        collection_path(),
        json_response(200, json!([env, env2])),
    )
    .await;
    let page = org_client(&server)
        .dbt_environments(id(CONN))
        .list()
        .send()
        .await
        .unwrap();
    assert!(page.records[0].variables.is_empty());
    assert_eq!(page.records[1].variables[0].value, None);
}

#[tokio::test]
async fn create_sends_exact_request_and_decodes_201() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        collection_path(),
        json_response(201, environment_json()),
    )
    .await;
    let env = org_client(&server)
        .dbt_environments(id(CONN))
        .create("pr-42", "dbt_pr_42")
        .owner_id(id(OWNER))
        .target_database("analytics")
        .target_name("ci")
        .target_role("TRANSFORMER")
        .add_variable("DBT_TARGET", "ci")
        .add_secret_variable("DBT_PASSWORD", "pw")
        .send()
        .await
        .unwrap();
    let req = only_request(&server).await;
    assert_request(&req, "POST", &collection_path(), None, ORG_KEY);
    assert_eq!(
        body(&req),
        json!({
            "name": "pr-42", "targetSchema": "dbt_pr_42", "ownerId": OWNER,
            "targetDatabase": "analytics", "targetName": "ci", "targetRole": "TRANSFORMER",
            "variables": [
                {"name": "DBT_TARGET", "value": "ci", "isSecret": false},
                {"name": "DBT_PASSWORD", "value": "pw", "isSecret": true}
            ]
        })
    );
    assert_eq!(env.name, "pr-42");
}

#[tokio::test]
async fn create_with_required_fields_only_sends_no_empty_variables() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        collection_path(),
        json_response(201, environment_json()),
    )
    .await;
    pat_client(&server)
        .dbt_environments(id(CONN))
        .create("n", "s")
        .send()
        .await
        .unwrap();
    assert_eq!(
        body(&only_request(&server).await),
        json!({"name": "n", "targetSchema": "s"})
    );
}

#[tokio::test]
async fn invalid_creates_are_refused_before_sending() {
    let server = MockServer::start().await;
    let envs = || pat_client(&server).dbt_environments(id(CONN));
    let cases = [
        (envs().create("", "s"), "name"),
        (envs().create("n", ""), "targetSchema"),
        (envs().create("n", "s").owner_id(id(OWNER)), "ownerId"),
        (
            envs().create("n", "s").add_variable("", "v"),
            "variables[0].name",
        ),
        (
            envs()
                .create("n", "s")
                .add_variable("A", "v")
                .add_variable("A", "w"),
            "variables[1].name",
        ),
    ];
    for (create, field) in cases {
        let err = create.send().await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput { field: f, .. } if f == field),
            "{field}: {err}"
        );
    }
    assert_eq!(request_count(&server).await, 0);
}

#[tokio::test]
async fn delete_sends_exact_request_and_accepts_both_answers() {
    for (answer_body, message) in [
        (json!({"success": true}), None),
        (
            json!({"success": true, "message": "deleted"}),
            Some("deleted"),
        ),
    ] {
        let server = MockServer::start().await;
        answer(
            &server,
            "DELETE",
            item_path(),
            json_response(200, answer_body),
        )
        .await;
        let deleted = org_client(&server)
            .dbt_environments(id(CONN))
            .delete(id(ENV))
            .send()
            .await
            .unwrap();
        assert_eq!(deleted.message.as_deref(), message);
        let req = only_request(&server).await;
        assert_request(&req, "DELETE", &item_path(), None, ORG_KEY);
        assert!(req.body.is_empty());
    }
}

#[tokio::test]
async fn delete_reporting_failure_is_an_error() {
    let server = MockServer::start().await;
    answer(
        &server,
        "DELETE",
        item_path(),
        json_response(200, json!({"success": false, "message": "locked"})),
    )
    .await;
    let err = org_client(&server)
        .dbt_environments(id(CONN))
        .delete(id(ENV))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::UnexpectedResponse { status: 200, detail: Some(d), .. } if d == "locked"),
        "{err:?}"
    );
}

#[tokio::test]
async fn responses_with_a_utf8_body_and_no_content_type_still_decode() {
    let server = MockServer::start().await;
    let raw = serde_json::to_vec(&environment_json()).unwrap();
    answer(
        &server,
        "PUT",
        item_path(),
        ResponseTemplate::new(200).set_body_bytes(raw),
    )
    .await;
    let env = org_client(&server)
        .dbt_environments(id(CONN))
        .update(id(ENV))
        .partial()
        .name("x")
        .send()
        .await
        .unwrap();
    assert_eq!(env.name, "pr-42");
}
