//! Models and users: listing models (`GET /v1/models`), creating a branch (`POST /v1/models`
//! with `modelKind: BRANCH`), deleting one (`DELETE /v1/models/{modelId}/branch/{branchName}`),
//! and finding users through SCIM (`GET /scim/v2/Users`, Organization API keys only).
//!
//! In Omni a branch is itself a model of kind `BRANCH` whose base is the shared model; the fake
//! keeps it under its shared model by name and lists it as such a model.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::{Answer, Branch, ListParams, Principal, Store, bad, body_of, error, only_keys, page};
use crate::percent::decoded;

/// Deleted branches kept per model for `includeDeleted` (the oldest are forgotten).
const MAX_DELETED_BRANCHES: usize = 1_000;
/// Omni's limit on a model name is not documented; the fake refuses longer than this.
const MAX_MODEL_NAME: usize = 255;
/// Largest page of `GET /v1/models` (the spec sets no maximum; Omni's other lists stop at 100).
const MAX_PAGE: usize = 100;

/// Now as RFC 3339 in UTC with milliseconds, as Omni writes timestamps.
pub(super) fn timestamp() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm), in u64 throughout:
    // the clock is after 1970.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60,
        since.subsec_millis()
    )
}

impl Branch {
    pub(super) fn new() -> Self {
        Branch {
            id: crate::new_id(),
            dbt_environment: None,
            dbt_git_branch: None,
            created_at: timestamp(),
        }
    }
}

/// The query's parameters, decoded; a repeated name keeps its last value.
fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decoded(k, true), decoded(v, true))
        })
        .collect()
}

fn uuid_param(name: &str, value: &str) -> Result<Uuid, Answer> {
    Uuid::parse_str(value).map_err(|_| bad(format!("{name}: Invalid uuid")))
}

/// One row of `GET /v1/models`.
struct Row {
    id: Uuid,
    base: Option<Uuid>,
    connection: Uuid,
    kind: &'static str,
    name: String,
    created_at: String,
    deleted_at: Option<String>,
    branches: Option<Vec<Value>>,
}

impl Row {
    fn to_json(&self) -> Value {
        let mut record = json!({
            "baseModelId": self.base,
            "connectionId": self.connection,
            "createdAt": self.created_at,
            "deletedAt": self.deleted_at,
            "id": self.id,
            "modelKind": self.kind,
            "name": self.name,
            "updatedAt": self.deleted_at.as_ref().unwrap_or(&self.created_at),
        });
        if let (Some(branches), Some(map)) = (&self.branches, record.as_object_mut()) {
            map.insert("branches".into(), Value::Array(branches.clone()));
        }
        record
    }
}

impl Store {
    /// `GET /v1/models`: the shared models and their branches (as models of kind `BRANCH`),
    /// filtered, sorted (by name unless told) and cursor-paged.
    pub fn models_list(&mut self, query: &str) -> Answer {
        match self.list_models(query) {
            Ok(answer) | Err(answer) => answer,
        }
    }

    fn list_models(&self, query: &str) -> Result<Answer, Answer> {
        let mut base = None;
        let mut connection = None;
        let mut model_id = None;
        let mut kind = None;
        let mut name = None;
        let mut include_deleted = false;
        let mut active_branches = false;
        let mut offset = 0usize;
        let mut page_size = 20usize;
        let mut descending = false;
        let mut sort_field = "name".to_owned();
        for (key, value) in query_pairs(query) {
            match key.as_str() {
                "baseModelId" => base = Some(uuid_param("baseModelId", &value)?),
                "connectionId" => connection = Some(uuid_param("connectionId", &value)?),
                "modelId" => model_id = Some(uuid_param("modelId", &value)?),
                "modelKind" => match value.as_str() {
                    "SCHEMA" | "SHARED" | "SHARED_EXTENSION" | "BRANCH" | "WORKBOOK" | "QUERY" => {
                        kind = Some(value)
                    }
                    _ => return Err(bad("modelKind: Invalid enum value")),
                },
                "name" => name = Some(value),
                "include" => {
                    active_branches = value.split(',').any(|f| f.trim() == "activeBranches");
                }
                "includeDeleted" => {
                    include_deleted = match value.as_str() {
                        "1" | "true" => true,
                        "0" | "false" => false,
                        _ => {
                            return Err(bad(
                                "includeDeleted: Invalid enum value. Expected '0' | '1' | 'true' | 'false'",
                            ));
                        }
                    }
                }
                "cursor" => {
                    offset = value
                        .strip_prefix("offset-")
                        .and_then(|n| n.parse().ok())
                        .ok_or_else(|| bad("cursor: Invalid cursor"))?;
                }
                "pageSize" => {
                    page_size = value
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=MAX_PAGE).contains(n))
                        .ok_or_else(|| {
                            bad(format!(
                                "pageSize: Number must be a whole number between 1 and {MAX_PAGE}"
                            ))
                        })?;
                }
                "sortDirection" => {
                    descending = match value.as_str() {
                        "asc" => false,
                        "desc" => true,
                        _ => {
                            return Err(bad(
                                "sortDirection: Invalid enum value. Expected 'asc' | 'desc'",
                            ));
                        }
                    }
                }
                "sortField" => match value.as_str() {
                    "name" | "modelKind" | "connectionId" | "baseModelId" | "createdAt"
                    | "updatedAt" => sort_field = value,
                    _ => return Err(bad("sortField: Invalid enum value")),
                },
                _ => {}
            }
        }
        let mut rows = Vec::new();
        for (id, model) in &self.models {
            let live: Vec<Value> = model
                .branches
                .iter()
                .map(|(n, b)| json!({"id": b.id, "name": n}))
                .collect();
            rows.push(Row {
                id: *id,
                base: None,
                connection: model.connection,
                kind: "SHARED",
                name: model.name.clone(),
                created_at: model.created_at.clone(),
                deleted_at: None,
                branches: active_branches.then_some(live),
            });
            let deleted = model
                .deleted_branches
                .iter()
                .filter(|_| include_deleted)
                .map(|(n, b, at)| (n, b, Some(at)));
            for (n, b, deleted_at) in model
                .branches
                .iter()
                .map(|(n, b)| (n, b, None))
                .chain(deleted)
            {
                rows.push(Row {
                    id: b.id,
                    base: Some(*id),
                    connection: model.connection,
                    kind: "BRANCH",
                    name: n.clone(),
                    created_at: b.created_at.clone(),
                    deleted_at: deleted_at.cloned(),
                    branches: None,
                });
            }
        }
        rows.retain(|r| {
            base.is_none_or(|b| r.base == Some(b))
                && connection.is_none_or(|c| r.connection == c)
                && model_id.is_none_or(|m| r.id == m)
                && kind.as_deref().is_none_or(|k| r.kind == k)
                && name.as_deref().is_none_or(|n| r.name == n)
        });
        rows.sort_by(|a, b| {
            let key = |r: &Row| match sort_field.as_str() {
                "modelKind" => r.kind.to_owned(),
                "connectionId" => r.connection.to_string(),
                "baseModelId" => r.base.map(|b| b.to_string()).unwrap_or_default(),
                "createdAt" | "updatedAt" => r.created_at.clone(),
                _ => r.name.clone(),
            };
            key(a).cmp(&key(b)).then(a.id.cmp(&b.id))
        });
        if descending {
            rows.reverse();
        }
        let records: Vec<Value> = rows.iter().map(Row::to_json).collect();
        let params = ListParams {
            offset,
            page_size,
            sort_descending: None,
            extra: Default::default(),
        };
        Ok(page(records, &params))
    }

    /// `POST /v1/models`: the fake creates branches (`modelKind: BRANCH`) of a shared model;
    /// other kinds are "model creation not allowed" (400).
    pub fn models_create(&mut self, who: &Principal, body: &[u8]) -> Answer {
        let body = match body_of("modelsCreate", body) {
            Ok(b) => b,
            Err(answer) => return answer,
        };
        match self.create_branch(who, &body) {
            Ok(answer) | Err(answer) => answer,
        }
    }

    fn create_branch(
        &mut self,
        who: &Principal,
        body: &Map<String, Value>,
    ) -> Result<Answer, Answer> {
        only_keys(
            body,
            &[
                "accessGrants",
                "allowAsWorkbookBase",
                "baseModelId",
                "connectionId",
                "modelKind",
                "modelName",
                "usesIsolatedBranches",
            ],
            "body",
        )?;
        // The spec's schema holds the types, `connectionId` and `modelKind`'s values.
        let string = |field: &str| body.get(field).and_then(Value::as_str);
        let connection = string("connectionId").unwrap_or_default();
        let kind = string("modelKind").unwrap_or("SCHEMA");
        let base = string("baseModelId");
        let name = string("modelName");
        let connection = Uuid::parse_str(connection)
            .ok()
            .filter(|c| self.connections.contains_key(c))
            .ok_or_else(|| error(404, "Connection or base model not found"))?;
        if !who.connection_admin {
            return Err(error(
                403,
                "Permission denied: Connection Admin permission required on this connection",
            ));
        }
        if kind != "BRANCH" {
            return Err(bad(format!(
                "modelKind: creating {kind} models is not allowed here (the fake creates BRANCH models)"
            )));
        }
        let base = base.ok_or_else(|| bad("baseModelId: Required for BRANCH models"))?;
        let base = Uuid::parse_str(base)
            .ok()
            .filter(|b| {
                self.models
                    .get(b)
                    .is_some_and(|m| m.connection == connection)
            })
            .ok_or_else(|| error(404, "Connection or base model not found"))?;
        let name = name.ok_or_else(|| bad("modelName: Required for BRANCH models"))?;
        if name.trim().is_empty() || name.chars().count() > MAX_MODEL_NAME {
            return Err(bad(format!(
                "modelName: must be 1 to {MAX_MODEL_NAME} characters, not blank"
            )));
        }
        if name.chars().any(char::is_control) {
            return Err(bad("modelName: must not contain control characters"));
        }
        let model = self
            .models
            .get_mut(&base)
            .ok_or_else(|| error(404, "Connection or base model not found"))?;
        if model.branches.contains_key(name) {
            // Omni answers a refused creation as `success: false` with the reason.
            return Ok((
                200,
                json!({"success": false, "error": format!("A branch named {name:?} already exists on this model")}),
            ));
        }
        let branch = Branch::new();
        let id = branch.id;
        model.branches.insert(name.to_owned(), branch);
        Ok((
            200,
            json!({"success": true, "model": {"id": id, "modelKind": "BRANCH", "name": name}}),
        ))
    }

    /// `DELETE /v1/models/{modelId}/branch/{branchName}`.
    pub fn delete_branch(&mut self, model: &str, branch: &str, who: &Principal) -> Answer {
        let id = match Uuid::parse_str(model)
            .ok()
            .filter(|id| self.models.contains_key(id))
        {
            Some(id) => id,
            None => return error(404, "Model or branch not found"),
        };
        if !who.connection_admin {
            return error(
                403,
                "Permission denied: Connection Admin permission required on this connection",
            );
        }
        let Some(model) = self.models.get_mut(&id) else {
            return error(404, "Model or branch not found");
        };
        let Some(gone) = model.branches.remove(branch) else {
            return error(404, "Model or branch not found");
        };
        if model.deleted_branches.len() >= MAX_DELETED_BRANCHES {
            model.deleted_branches.remove(0);
        }
        model
            .deleted_branches
            .push((branch.to_owned(), gone, timestamp()));
        (200, json!({"success": true}))
    }

    /// `GET /scim/v2/Users`: Organization API keys only; `filter` supports SCIM's
    /// `userName eq "…"` (attribute and operator case-insensitive, the value compared
    /// case-insensitively as SCIM defines for `userName`).
    pub fn scim_users(&mut self, who: &Principal, query: &str) -> Answer {
        if !who.organization_key {
            return error(
                401,
                "Authentication required (SCIM bearer token): SCIM takes Organization API keys",
            );
        }
        let mut filter = None;
        let mut count = 100usize;
        let mut start = 1usize;
        for (key, value) in query_pairs(query) {
            match key.as_str() {
                "filter" => filter = Some(value),
                "count" | "startIndex" => {
                    let n = value.parse::<f64>().ok().filter(|n| n.is_finite());
                    let Some(n) = n else {
                        return bad(format!("{key}: must be a number"));
                    };
                    // RFC 7644 §3.4.2.4: below 1 is 1 (startIndex); a negative count is 0.
                    let n = n.clamp(0.0, 10_000.0) as usize;
                    if key == "count" {
                        count = n;
                    } else {
                        start = n.max(1);
                    }
                }
                _ => {}
            }
        }
        let wanted = match filter.as_deref().map(parse_filter) {
            None => None,
            Some(Ok(email)) => Some(email),
            Some(Err(message)) => return bad(format!("filter: {message}")),
        };
        let matching: Vec<Value> = self
            .users
            .iter()
            .filter(|(_, u)| {
                wanted
                    .as_deref()
                    .is_none_or(|w| u.email.eq_ignore_ascii_case(w))
            })
            .map(|(id, u)| {
                json!({
                    "active": true,
                    "displayName": u.display_name,
                    "id": id,
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": u.email,
                })
            })
            .collect();
        let total = matching.len();
        let page: Vec<Value> = matching.into_iter().skip(start - 1).take(count).collect();
        (
            200,
            json!({
                "Resources": page,
                "itemsPerPage": page.len(),
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                "startIndex": start,
                "totalResults": total,
            }),
        )
    }
}

/// `userName eq "value"`, with the string's `\"` and `\\` escapes; anything else is refused
/// with what the fake understands.
fn parse_filter(filter: &str) -> Result<String, String> {
    let unsupported =
        || format!("unsupported filter {filter:?}: the fake understands userName eq \"…\"");
    let mut words = filter.trim().splitn(3, ' ');
    let (Some(attribute), Some(op), Some(rest)) = (words.next(), words.next(), words.next()) else {
        return Err(unsupported());
    };
    if !attribute.eq_ignore_ascii_case("userName") || !op.eq_ignore_ascii_case("eq") {
        return Err(unsupported());
    }
    let rest = rest.trim();
    let inner = rest
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .filter(|_| rest.len() >= 2)
        .ok_or_else(unsupported)?;
    let mut value = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ ('"' | '\\')) => value.push(e),
                _ => return Err(unsupported()),
            },
            '"' => return Err(unsupported()),
            c => value.push(c),
        }
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339() {
        let t = timestamp();
        assert_eq!(t.len(), 24, "{t}");
        assert!(
            t.starts_with("20") && t.ends_with('Z') && t.as_bytes()[10] == b'T',
            "{t}"
        );
    }

    #[test]
    fn filters_parse_with_escapes_and_refuse_the_rest() {
        assert_eq!(
            parse_filter(r#"userName eq "ada@example.com""#).unwrap(),
            "ada@example.com"
        );
        assert_eq!(
            parse_filter(r#"USERNAME EQ "a\"b\\c""#).unwrap(),
            r#"a"b\c"#
        );
        for bad in [
            r#"userName co "ada""#,
            r#"emails eq "ada""#,
            r#"userName eq "a" or userName eq "b""#,
            r#"userName eq ada"#,
            r#"userName eq ""#,
            "",
        ] {
            assert!(parse_filter(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn query_values_are_form_decoded() {
        assert_eq!(
            query_pairs("name=feature%2Fa+b&x"),
            vec![
                ("name".into(), "feature/a b".into()),
                ("x".into(), String::new())
            ]
        );
        assert_eq!(decoded("%zz%4+", false), "%zz%4+");
    }
}
