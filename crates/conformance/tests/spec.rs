//! The translation and the checks, on the vendored spec and on small fixture documents.

use omni_dbt_conformance::{Spec, check_examples, to_json_schema};
use serde_json::json;

const UPDATE: &str = "connectionsDbtEnvironmentsUpdate";

#[test]
fn every_example_in_the_vendored_spec_is_valid() {
    let doc: serde_json::Value = serde_json::from_str(omni_dbt_conformance::BUNDLED_SPEC).unwrap();
    let (checked, bad) = check_examples(&doc).unwrap();
    assert!(checked >= 20, "only {checked} examples found");
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn a_wrong_example_is_reported_with_its_pointer() {
    let doc = json!({
        "openapi": "3.0.3", "paths": {},
        "components": {"schemas": {
            "Env": {"type": "object", "required": ["variables"],
                    "properties": {"variables": {"type": "array", "items": {"type": "object"}}},
                    "example": {"variables": {"id": "x"}}}
        }}
    });
    let (checked, bad) = check_examples(&doc).unwrap();
    assert_eq!(checked, 1);
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0].pointer, "/components/schemas/Env/example");
    assert!(
        bad[0].problems.to_string().contains("/variables"),
        "{}",
        bad[0].problems
    );
}

#[test]
fn nullable_and_exclusive_bounds_translate_to_json_schema() {
    assert_eq!(
        to_json_schema(&json!({"type": "string", "nullable": true})),
        json!({"type": ["string", "null"]})
    );
    assert_eq!(
        to_json_schema(&json!({"type": "string", "enum": ["a"], "nullable": true})),
        json!({"type": ["string", "null"], "enum": ["a", null]})
    );
    assert_eq!(
        to_json_schema(&json!({"$ref": "#/components/schemas/X", "nullable": true})),
        json!({"anyOf": [{"$ref": "#/$defs/X"}, {"type": "null"}]})
    );
    assert_eq!(
        to_json_schema(
            &json!({"type": "integer", "minimum": 0, "exclusiveMinimum": true, "example": 1})
        ),
        json!({"type": "integer", "exclusiveMinimum": 0})
    );
}

#[test]
fn update_bodies_are_checked_field_by_field() {
    let spec = Spec::bundled();
    let ok = [
        json!({}),
        json!({"name": "n", "ownerId": null, "targetDatabase": null, "targetName": "x"}),
        json!({"variables": [
            {"id": "8d2e3f4a-5b6c-4d7e-9f8a-0b1c2d3e4f5a", "isSecret": true, "value": null},
            {"name": "A", "value": "1", "isSecret": false}
        ]}),
    ];
    for body in ok {
        spec.check_request(UPDATE, &body)
            .unwrap_or_else(|v| panic!("{body}: {v}"));
    }
    let bad = [
        (json!({"name": ""}), "/name"),
        (json!({"targetSchema": null}), "/targetSchema"),
        (json!({"ownerId": "not-a-uuid"}), "/ownerId"),
        (
            json!({"variables": [{"id": "8d2e3f4a-5b6c-4d7e-9f8a-0b1c2d3e4f5a", "isSecret": true, "name": "rename"}]}),
            "/variables/0",
        ),
        (
            json!({"variables": [{"name": "", "value": "1", "isSecret": false}]}),
            "/variables/0",
        ),
    ];
    for (body, pointer) in bad {
        let violations = spec
            .check_request(UPDATE, &body)
            .expect_err(&body.to_string());
        assert!(
            violations.to_string().contains(pointer),
            "{body}: {violations}"
        );
    }
}

#[test]
fn responses_are_checked_by_status() {
    let spec = Spec::bundled();
    let error = json!({"detail": "nope", "status": 404});
    spec.check_response(UPDATE, 404, Some(&error)).unwrap();
    assert!(
        spec.check_response(UPDATE, 404, Some(&json!({"detail": 1})))
            .is_err()
    );
    assert!(spec.check_response(UPDATE, 418, Some(&error)).is_err());
    let list = "connectionsDbtEnvironmentsList";
    spec.check_response(list, 200, Some(&json!([]))).unwrap();
    spec.check_response(
        list,
        200,
        Some(&json!({"records": [], "pageInfo": {"hasNextPage": false, "nextCursor": null, "pageSize": 20, "totalRecords": 0}})),
    )
    .unwrap();
    assert!(
        spec.check_response(list, 200, Some(&json!({"records": []})))
            .is_err()
    );
}

#[test]
fn operations_are_found_by_method_and_path() {
    let spec = Spec::bundled();
    let c = "5b2f8e0c-2a4e-4c47-9a55-0f4a8d6e1b21";
    assert_eq!(
        spec.operation_for("PUT", &format!("/v1/connections/{c}/dbt/environments/{c}")),
        Some(UPDATE)
    );
    assert_eq!(
        spec.operation_for("get", &format!("/v1/connections/{c}/dbt/environments/")),
        Some("connectionsDbtEnvironmentsList")
    );
    assert_eq!(
        spec.operation_for(
            "PATCH",
            &format!("/v1/connections/{c}/dbt/environments/{c}")
        ),
        None
    );
    assert_eq!(spec.operation_for("GET", "/v1/connections"), None);
    // Every operation of the document is indexed (however many the selection has).
    let doc: serde_json::Value = serde_json::from_str(omni_dbt_conformance::BUNDLED_SPEC).unwrap();
    let in_document = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().keys())
        .filter(|method| ["get", "put", "post", "delete", "patch"].contains(&method.as_str()))
        .count();
    assert!(in_document >= 15, "{in_document}");
    assert_eq!(spec.operation_ids().count(), in_document);
    assert_eq!(
        spec.operation_for("POST", &format!("/v1/models/{c}/branch/pr-42/dbt")),
        Some("modelsBranchDbt")
    );
}

/// The fake answers a body that breaks the spec with this detail: Omni's words, read from
/// whatever the spec declares (here a property a later release might add: a nullable integer
/// with a minimum), unions read as Omni's validator reads them.
#[test]
fn request_bodies_are_judged_in_omnis_words() {
    let doc = json!({
        "paths": {"/v1/things": {"post": {
            "operationId": "thingsCreate",
            "requestBody": {"content": {"application/json": {"schema": {
                "$ref": "#/components/schemas/Body"
            }}}},
            "responses": {"200": {"description": "ok"}}
        }}},
        "components": {"schemas": {
            "Body": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string", "minLength": 1},
                "dbtThreads": {"type": "integer", "nullable": true, "minimum": 1, "maximum": 64},
                "kind": {"type": "string", "enum": ["a", "b"]},
                "either": {"oneOf": [{"type": "string"}, {"type": "string", "minLength": 1}]},
                "items": {"type": "array", "items": {"oneOf": [
                    {"type": "object", "additionalProperties": false, "required": ["id", "isSecret"],
                     "properties": {"id": {"type": "string", "format": "uuid"},
                                    "isSecret": {"type": "boolean"}}},
                    {"type": "object", "required": ["name", "value"],
                     "properties": {"name": {"type": "string"}, "value": {"type": "string"}}}
                ]}}
            }}
        }}
    });
    let spec = Spec::from_document(&doc).unwrap();
    let judge = |body| spec.check_request_as_omni("thingsCreate", &body);
    assert_eq!(judge(json!({"name": "x", "dbtThreads": null})), Ok(()));
    assert_eq!(judge(json!({"name": "x", "dbtThreads": 8})), Ok(()));
    for (body, detail) in [
        (json!({}), "name: Required"),
        (
            json!({"name": ""}),
            "name: String must contain at least 1 character(s)",
        ),
        (
            json!({"name": "x", "dbtThreads": 0}),
            "dbtThreads: Number must be greater than or equal to 1",
        ),
        (
            json!({"name": "x", "dbtThreads": 65}),
            "dbtThreads: Number must be less than or equal to 64",
        ),
        (
            json!({"name": "x", "dbtThreads": "4"}),
            "dbtThreads: Expected integer or null, received string",
        ),
        (
            json!({"name": "x", "kind": "c"}),
            "kind: Invalid enum value. Expected 'a' | 'b', received 'c'",
        ),
        // The closest branch of the union speaks: one problem against two.
        (
            json!({"name": "x", "items": [{"id": "nope", "isSecret": true}]}),
            "items[0].id: Invalid uuid",
        ),
        (
            json!({"name": "x", "items": [{"name": "A"}]}),
            "items[0].value: Required",
        ),
        (json!([1]), "Expected object, received array"),
    ] {
        assert_eq!(judge(body.clone()), Err(detail.to_owned()), "{body}");
    }
    // Two branches of a `oneOf` hold: Omni's validator takes the first (JSON Schema refuses).
    let both = json!({"name": "x", "either": "text"});
    assert_eq!(judge(both.clone()), Ok(()));
    assert!(spec.check_request("thingsCreate", &both).is_err());
}

/// A hostile body (300,000 variables, each of the wrong type) is judged by its first hundred
/// problems, and the report says it stopped; Omni's wording names the first.
#[test]
fn a_hostile_body_is_reported_up_to_the_cap() {
    let spec = Spec::bundled();
    let variables = vec![json!(1); 300_000];
    let body = json!({"name": "a", "targetSchema": "s", "variables": variables});
    let report = spec.check_request(UPDATE, &body).unwrap_err().to_string();
    let lines: Vec<&str> = report.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        lines
            .last()
            .is_some_and(|l| l.contains("(the check stopped after 100 problems)")),
        "{report}"
    );
    assert!(
        report.contains("/variables/99") && !report.contains("/variables/100"),
        "{report}"
    );
    assert_eq!(
        spec.check_request_as_omni(UPDATE, &body),
        Err("variables[0]: Expected object, received number".to_owned())
    );
}
