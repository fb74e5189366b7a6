//! A model's branches (find, create, delete) and users by email: exact requests on the
//! loopback mock, validation that sends nothing, and the flows against the fake (a create whose
//! answer is lost is adopted, not made twice).

use omni_dbt::Error;
use omni_dbt_fake::{FakeOmni, Fault, Operation};
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, matchers};

use crate::common::*;

const MODEL: &str = "6a1e2b3c-4d5f-4a6b-8c7d-9e0f1a2b3c4d";
const BRANCH_ID: &str = "1e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b";

fn body(req: &wiremock::Request) -> Value {
    serde_json::from_slice(&req.body).unwrap()
}

fn record(name: &str) -> Value {
    json!({
        "baseModelId": MODEL, "connectionId": CONN, "createdAt": "2026-12-01T10:00:00.000Z",
        "deletedAt": null, "id": BRANCH_ID, "modelKind": "BRANCH", "name": name,
        "updatedAt": "2026-12-01T10:00:00.000Z"
    })
}

fn listing(records: Vec<Value>, next: Option<&str>) -> Value {
    json!({"records": records, "pageInfo": {
        "hasNextPage": next.is_some(), "nextCursor": next, "pageSize": 100, "totalRecords": 1}})
}

#[tokio::test]
async fn find_asks_for_the_models_branches_by_name_and_keeps_the_exact_match() {
    let server = MockServer::start().await;
    // Omni's `name` filter is not documented as exact: a near name is not the branch.
    answer(
        &server,
        "GET",
        "/api/v1/models".into(),
        json_response(
            200,
            listing(vec![record("feature/a b-2"), record("feature/a b")], None),
        ),
    )
    .await;
    let found = org_client(&server)
        .model(id(MODEL))
        .branch("feature/a b")
        .find()
        .send()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, BRANCH_ID);
    assert_eq!(found.name.as_deref(), Some("feature/a b"));
    let req = only_request(&server).await;
    assert_request(
        &req,
        "GET",
        "/api/v1/models",
        Some(&format!(
            "baseModelId={MODEL}&modelKind=BRANCH&name=feature%2Fa+b&pageSize=100"
        )),
        ORG_KEY,
    );
}

#[tokio::test]
async fn create_sends_a_branch_model_and_reads_omnis_refusal() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        "/api/v1/models".into(),
        json_response(
            200,
            json!({"success": true, "model": {"id": BRANCH_ID, "modelKind": "BRANCH", "name": "pr-42"}}),
        ),
    )
    .await;
    let made = org_client(&server)
        .model(id(MODEL))
        .branch("pr-42")
        .create()
        .connection_id(id(CONN))
        .send()
        .await
        .unwrap();
    assert_eq!(made.id, id(BRANCH_ID));
    let req = only_request(&server).await;
    assert_request(&req, "POST", "/api/v1/models", None, ORG_KEY);
    assert_eq!(
        body(&req),
        json!({"baseModelId": MODEL, "connectionId": CONN, "modelKind": "BRANCH", "modelName": "pr-42"})
    );

    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        "/api/v1/models".into(),
        json_response(
            200,
            json!({"success": false, "error": "Branch limit reached"}),
        ),
    )
    .await;
    let refused = org_client(&server)
        .model(id(MODEL))
        .branch("pr-42")
        .create()
        .connection_id(id(CONN))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, Error::UnexpectedResponse { status: 200, detail: Some(d), .. } if d == "Branch limit reached"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn delete_encodes_the_name_and_bad_names_send_nothing() {
    let server = MockServer::start().await;
    let path = format!("/api/v1/models/{MODEL}/branch/feature%2Fpr-42");
    answer(
        &server,
        "DELETE",
        path.clone(),
        json_response(200, json!({"success": true})),
    )
    .await;
    let client = org_client(&server);
    assert!(
        client
            .model(id(MODEL))
            .branch("feature/pr-42")
            .delete()
            .send()
            .await
            .unwrap()
            .success
    );
    let req = only_request(&server).await;
    assert_request(&req, "DELETE", &path, None, ORG_KEY);

    let server = MockServer::start().await;
    let client = org_client(&server);
    for (name, rule) in [("", "must not be empty"), ("a\nb", "control characters")] {
        let branch = client.model(id(MODEL)).branch(name);
        for e in [
            branch.find().send().await.unwrap_err(),
            branch.create().send().await.unwrap_err(),
            branch.delete().send().await.map(drop).unwrap_err(),
        ] {
            assert!(
                matches!(&e, Error::InvalidInput { field, rule: r, .. } if field == "branchName" && r.contains(rule)),
                "{e:?}"
            );
        }
    }
    let nil = client.model(omni_dbt::Uuid::nil()).branch("x");
    assert!(
        matches!(nil.find().send().await, Err(Error::InvalidInput { field, .. }) if field == "modelId")
    );
    assert_eq!(request_count(&server).await, 0);
}

#[tokio::test]
async fn users_are_found_by_an_escaped_scim_filter_with_an_organization_key_only() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        "/api/scim/v2/Users".into(),
        json_response(
            200,
            json!({"Resources": [{"active": true, "displayName": "Ada", "id": OWNER,
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "Ada@Example.com"}],
                "itemsPerPage": 1, "schemas": [], "startIndex": 1, "totalResults": 1}),
        ),
    )
    .await;
    let ada = org_client(&server)
        .users()
        .by_email("ada@example.com")
        .send()
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ada.id, id(OWNER));
    let req = only_request(&server).await;
    assert_request(
        &req,
        "GET",
        "/api/scim/v2/Users",
        Some("filter=userName+eq+%22ada%40example.com%22"),
        ORG_KEY,
    );
    // The answer's users must have the email: a server that ignores the filter finds nobody.
    let other = org_client(&server)
        .users()
        .by_email("grace@example.com")
        .send()
        .await;
    assert_eq!(other.unwrap(), None);

    let server = MockServer::start().await;
    let e = pat_client(&server)
        .users()
        .by_email("ada@example.com")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidInput { field, rule, .. } if field == "token" && rule.contains("Organization API key")),
        "{e:?}"
    );
    let e = org_client(&server)
        .users()
        .by_email("ada")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::InvalidInput { field, .. } if field == "email"),
        "{e:?}"
    );
    assert_eq!(request_count(&server).await, 0);
}

#[tokio::test]
async fn a_branch_is_made_once_even_when_the_creates_answer_is_lost() {
    let fake = FakeOmni::builder()
        .without_rate_limit()
        .start()
        .await
        .unwrap();
    let client = fake_client(&fake);
    let branch = client.model(fake.model_id()).branch("feature/pr 7");
    assert_eq!(branch.find().send().await.unwrap(), None);
    // Made, then the connection closes without an answer: adopted by name, not made again.
    fake.inject(
        Operation::ModelsCreate,
        Fault::DropAfterProcessing { times: 1 },
    );
    let made = branch.create().send().await.unwrap();
    assert_eq!(made.name.as_deref(), Some("feature/pr 7"));
    let state = fake.branch(fake.model_id(), "feature/pr 7").unwrap();
    assert_eq!(made.id, state.id);
    let found = branch.find().send().await.unwrap().unwrap();
    assert_eq!(found.id, state.id.to_string());
    let creates = fake
        .journal()
        .iter()
        .filter(|e| e.operation == Some(Operation::ModelsCreate))
        .count();
    assert_eq!(creates, 1, "the lost create is not sent again");
    // The model's connection was looked up (no connection_id given).
    assert!(
        fake.journal()
            .iter()
            .any(|e| e.operation == Some(Operation::ModelsList)
                && e.query.as_deref() == Some(format!("modelId={}", fake.model_id()).as_str()))
    );
    // Again: Omni's refusal, said.
    let again = branch.create().send().await.unwrap_err();
    assert!(again.to_string().contains("already exists"), "{again}");
    // Deleted, and a delete whose answer is lost still counts as done on the retry's 404.
    fake.inject(
        Operation::DeleteBranch,
        Fault::DropAfterProcessing { times: 1 },
    );
    assert!(branch.delete().send().await.unwrap().success);
    assert_eq!(branch.find().send().await.unwrap(), None);
    let gone = branch.delete().send().await.unwrap_err();
    assert!(matches!(gone, Error::NotFound { .. }), "{gone:?}");
    // Users by email.
    let ada = client
        .users()
        .by_email(omni_dbt_fake::ADMIN_USER_EMAIL)
        .send()
        .await
        .unwrap();
    assert_eq!(ada.map(|u| u.id), Some(fake.admin_user()));
    assert_eq!(
        client
            .users()
            .by_email("nobody@example.com")
            .send()
            .await
            .unwrap(),
        None
    );
    assert_eq!(fake.violations(), Vec::<String>::new());
}

/// A branch create that meets 503 every time is sent exactly three times (a lookup after each
/// of the first two); one that meets it twice is made on the third.
#[tokio::test]
async fn a_branch_create_tries_three_rounds_and_no_more() {
    let fake = FakeOmni::builder()
        .without_rate_limit()
        .start()
        .await
        .unwrap();
    let client = fake_client(&fake);
    let creates = || {
        fake.journal()
            .iter()
            .filter(|e| e.operation == Some(Operation::ModelsCreate))
            .count()
    };
    fake.inject(Operation::ModelsCreate, Fault::status(503, 100));
    let branch = client.model(fake.model_id()).branch("flaky");
    let err = branch
        .create()
        .connection_id(fake.connection_id())
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Server { status: 503, .. }), "{err:?}");
    assert_eq!(creates(), 3);
    fake.clear_faults();
    fake.clear_journal();
    fake.inject(Operation::ModelsCreate, Fault::status(503, 2));
    let made = branch
        .create()
        .connection_id(fake.connection_id())
        .send()
        .await
        .unwrap();
    assert_eq!(made.name.as_deref(), Some("flaky"));
    assert_eq!(creates(), 3);
}

/// Two branches of the model with the name: an error naming both ids, not one of them.
#[tokio::test]
async fn two_branches_of_one_name_are_an_error_naming_both() {
    let server = MockServer::start().await;
    let mut second = record("dup");
    second["id"] = json!("2e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b");
    answer(
        &server,
        "GET",
        "/api/v1/models".into(),
        json_response(200, listing(vec![record("dup"), second], None)),
    )
    .await;
    let err = org_client(&server)
        .model(id(MODEL))
        .branch("dup")
        .find()
        .send()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains(BRANCH_ID) && text.contains("2e2f3a4b-5c6d-4e7f-8a9b-0c1d2e3f4a5b"),
        "{text}"
    );
}

/// Find follows `nextCursor` while `hasNextPage` says so, and stops when a page repeats the
/// cursor it was asked with (a server that would otherwise be asked forever): the branch on
/// the second page is found with exactly two requests.
#[tokio::test]
async fn find_follows_pages_and_stops_on_a_repeated_cursor() {
    let server = MockServer::start().await;
    Mock::given(matchers::method("GET"))
        .and(matchers::path("/api/v1/models"))
        .and(matchers::query_param_is_missing("cursor"))
        .respond_with(json_response(
            200,
            listing(vec![record("other")], Some("c2")),
        ))
        .mount(&server)
        .await;
    Mock::given(matchers::method("GET"))
        .and(matchers::path("/api/v1/models"))
        .and(matchers::query_param("cursor", "c2"))
        .respond_with(json_response(
            200,
            listing(vec![record("feature/a b")], Some("c2")),
        ))
        .mount(&server)
        .await;
    let found = org_client(&server)
        .model(id(MODEL))
        .branch("feature/a b")
        .find()
        .send()
        .await
        .unwrap();
    assert_eq!(found.map(|b| b.id), Some(BRANCH_ID.to_owned()));
    assert_eq!(request_count(&server).await, 2);
}

/// Only an unknown outcome (a lost answer, 502/503/504) is looked up and resent: a create that
/// Omni refused (400), an environment's or a branch's, is sent once, with no lookup after it.
#[tokio::test]
async fn a_refused_create_is_neither_looked_up_nor_resent() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        format!("/api/v1/connections/{CONN}/dbt/environments"),
        json_response(400, json!({"detail": "name: taken", "status": 400})),
    )
    .await;
    answer(
        &server,
        "POST",
        "/api/v1/models".into(),
        json_response(400, json!({"detail": "bad model", "status": 400})),
    )
    .await;
    let client = org_client(&server);
    let err = client
        .dbt_environments(id(CONN))
        .create("pr-1", "dbt_pr_1")
        .adopting()
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BadRequest { .. }), "{err:?}");
    assert_eq!(request_count(&server).await, 1);
    let err = client
        .model(id(MODEL))
        .branch("pr-1")
        .create()
        .connection_id(id(CONN))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BadRequest { .. }), "{err:?}");
    assert_eq!(request_count(&server).await, 2);
}
