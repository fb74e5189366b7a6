//! The fake's in-memory state and Omni's documented rules for each operation.
//!
//! Everything here is synchronous and runs under one lock, so concurrent requests see each
//! other's effects in some serial order and never a half-applied change.

use std::collections::{BTreeMap, HashSet};

use serde_json::{Map, Value, json};
use uuid::Uuid;

/// An answer: status and JSON body.
pub(crate) type Answer = (u16, Value);

/// Omni's error body.
pub(crate) fn error(status: u16, detail: impl Into<String>) -> Answer {
    (status, json!({"detail": detail.into(), "status": status}))
}

fn bad(detail: impl Into<String>) -> Answer {
    error(400, detail)
}

/// Who a token belongs to.
#[derive(Clone, Debug)]
pub(crate) struct Principal {
    pub label: &'static str,
    pub organization_key: bool,
    pub user_id: Option<Uuid>,
    pub connection_admin: bool,
}

#[derive(Clone, Debug)]
struct Variable {
    id: Uuid,
    name: String,
    value: String,
    is_secret: bool,
}

#[derive(Clone, Debug)]
struct Environment {
    id: Uuid,
    name: String,
    is_default: bool,
    owner_id: Option<Uuid>,
    target_database: Option<String>,
    target_name: Option<String>,
    target_role: Option<String>,
    target_schema: String,
    variables: Vec<Variable>,
    created: u64,
}

impl Environment {
    fn to_json(&self) -> Value {
        let variables: Vec<Value> = self
            .variables
            .iter()
            .map(|v| {
                let value = if v.is_secret {
                    Value::Null
                } else {
                    json!(v.value)
                };
                json!({"id": v.id, "name": v.name, "value": value, "isSecret": v.is_secret})
            })
            .collect();
        json!({
            "id": self.id,
            "name": self.name,
            "isDefaultEnvironment": self.is_default,
            "ownerId": self.owner_id,
            "targetDatabase": self.target_database,
            "targetName": self.target_name,
            "targetRole": self.target_role,
            "targetSchema": self.target_schema,
            "variables": variables,
        })
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Connection {
    supports_dbt: bool,
    environments: BTreeMap<Uuid, Environment>,
}

/// How the list operation answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ListShape {
    /// A bare JSON array of every environment, as Omni's documentation shows.
    #[default]
    BareArray,
    /// The `{records, pageInfo}` envelope with cursor paging, as Omni's published spec shows.
    Envelope,
}

#[derive(Debug, Default)]
pub(crate) struct Store {
    connections: BTreeMap<Uuid, Connection>,
    next_created: u64,
}

impl Store {
    pub fn add_connection(&mut self, id: Uuid, supports_dbt: bool) {
        self.connections.insert(
            id,
            Connection {
                supports_dbt,
                environments: BTreeMap::new(),
            },
        );
    }

    /// Seeds the default environment of a connection.
    pub fn add_default_environment(&mut self, connection: Uuid) -> Uuid {
        let id = Uuid::new_v4();
        let created = self.tick();
        if let Some(c) = self.connections.get_mut(&connection) {
            c.environments.insert(
                id,
                Environment {
                    id,
                    name: "Default".into(),
                    is_default: true,
                    owner_id: None,
                    target_database: None,
                    target_name: None,
                    target_role: None,
                    target_schema: "analytics".into(),
                    variables: vec![Variable {
                        id: Uuid::new_v4(),
                        name: "DBT_TARGET".into(),
                        value: "prod".into(),
                        is_secret: false,
                    }],
                    created,
                },
            );
        }
        id
    }

    fn tick(&mut self) -> u64 {
        self.next_created += 1;
        self.next_created
    }

    fn connection(&mut self, id: &str, who: &Principal) -> Result<&mut Connection, Answer> {
        let connection = Uuid::parse_str(id)
            .ok()
            .and_then(|id| self.connections.get_mut(&id))
            .ok_or_else(|| error(404, "Connection not found"))?;
        if !who.connection_admin {
            return Err(error(
                403,
                "Permission denied: Connection Admin permission required on this connection",
            ));
        }
        if !connection.supports_dbt {
            return Err(error(403, "This connection does not support dbt"));
        }
        Ok(connection)
    }

    pub fn list(
        &mut self,
        connection: &str,
        who: &Principal,
        query: &str,
        shape: ListShape,
    ) -> Answer {
        let c = match self.connection(connection, who) {
            Ok(c) => c,
            Err(answer) => return answer,
        };
        let mut all: Vec<&Environment> = c.environments.values().collect();
        all.sort_by_key(|e| e.created);
        if shape == ListShape::BareArray {
            return (200, Value::Array(all.iter().map(|e| e.to_json()).collect()));
        }
        let params = match ListParams::parse(query) {
            Ok(p) => p,
            Err(answer) => return answer,
        };
        if let Some(descending) = params.sort_descending {
            all.sort_by(|a, b| a.name.cmp(&b.name).then(a.created.cmp(&b.created)));
            if descending {
                all.reverse();
            }
        }
        let start = params.offset.min(all.len());
        let end = (start + params.page_size).min(all.len());
        let has_next = end < all.len();
        let records: Vec<Value> = all[start..end].iter().map(|e| e.to_json()).collect();
        (
            200,
            json!({
                "records": records,
                "pageInfo": {
                    "hasNextPage": has_next,
                    "nextCursor": has_next.then(|| format!("offset-{end}")),
                    "pageSize": params.page_size,
                    "totalRecords": all.len(),
                }
            }),
        )
    }

    pub fn create(&mut self, connection: &str, who: &Principal, body: &[u8]) -> Answer {
        let created = self.tick();
        let c = match self.connection(connection, who) {
            Ok(c) => c,
            Err(answer) => return answer,
        };
        let result = (|| {
            let body = object(body)?;
            let name = required_string(&body, "name")?;
            let target_schema = required_string(&body, "targetSchema")?;
            let owner_id = match body.get("ownerId") {
                None => who.user_id.filter(|_| !who.organization_key),
                Some(value) => {
                    owner_allowed(who)?;
                    nullable_uuid(value, "ownerId")?
                }
            };
            let mut variables = Vec::new();
            if let Some(value) = body.get("variables") {
                let items = value
                    .as_array()
                    .ok_or_else(|| bad(type_error("variables", "array", value)))?;
                if items.is_empty() {
                    return Err(bad("variables: Array must contain at least 1 element(s)"));
                }
                let mut names = HashSet::new();
                for (i, item) in items.iter().enumerate() {
                    let v = new_variable(item, &format!("variables[{i}]"))?;
                    if !names.insert(v.name.clone()) {
                        return Err(bad(format!(
                            "variables: Duplicate variable name '{}'",
                            v.name
                        )));
                    }
                    variables.push(v);
                }
            }
            Ok(Environment {
                id: Uuid::new_v4(),
                name,
                is_default: false,
                owner_id,
                target_database: optional_override(&body, "targetDatabase")?.flatten(),
                target_name: optional_override(&body, "targetName")?.flatten(),
                target_role: optional_override(&body, "targetRole")?.flatten(),
                target_schema,
                variables,
                created,
            })
        })();
        match result {
            Ok(env) => {
                let answer = (201, env.to_json());
                c.environments.insert(env.id, env);
                answer
            }
            Err(answer) => answer,
        }
    }

    pub fn update(
        &mut self,
        connection: &str,
        environment: &str,
        who: &Principal,
        body: &[u8],
    ) -> Answer {
        let c = match self.connection(connection, who) {
            Ok(c) => c,
            Err(answer) => return answer,
        };
        let Some(env) = Uuid::parse_str(environment)
            .ok()
            .and_then(|id| c.environments.get_mut(&id))
        else {
            return error(404, "dbt environment not found");
        };
        // Validate everything against a copy; only a fully valid body changes anything.
        let mut next = env.clone();
        match apply_update(&mut next, who, body) {
            Ok(()) => {
                *env = next;
                (200, env.to_json())
            }
            Err(answer) => answer,
        }
    }

    pub fn delete(&mut self, connection: &str, environment: &str, who: &Principal) -> Answer {
        let c = match self.connection(connection, who) {
            Ok(c) => c,
            Err(answer) => return answer,
        };
        match Uuid::parse_str(environment)
            .ok()
            .and_then(|id| c.environments.remove(&id))
        {
            Some(_) => (200, json!({"success": true})),
            None => error(404, "dbt environment not found"),
        }
    }

    /// The stored value of a variable, secret or not (for tests).
    pub fn stored_value(&self, connection: Uuid, environment: Uuid, name: &str) -> Option<String> {
        let env = self
            .connections
            .get(&connection)?
            .environments
            .get(&environment)?;
        env.variables
            .iter()
            .find(|v| v.name == name)
            .map(|v| v.value.clone())
    }

    /// Every environment of a connection as Omni would answer it.
    pub fn environments(&self, connection: Uuid) -> Vec<Value> {
        let mut all: Vec<&Environment> = self
            .connections
            .get(&connection)
            .map(|c| c.environments.values().collect())
            .unwrap_or_default();
        all.sort_by_key(|e| e.created);
        all.iter().map(|e| e.to_json()).collect()
    }
}

fn apply_update(env: &mut Environment, who: &Principal, body: &[u8]) -> Result<(), Answer> {
    let body = object(body)?;
    if let Some(value) = body.get("name") {
        env.name = string_min1(value, "name")?;
    }
    if let Some(value) = body.get("targetSchema") {
        env.target_schema = string_min1(value, "targetSchema")?;
    }
    if let Some(value) = body.get("ownerId") {
        owner_allowed(who)?;
        env.owner_id = nullable_uuid(value, "ownerId")?;
    }
    if let Some(v) = optional_override(&body, "targetDatabase")? {
        env.target_database = v;
    }
    if let Some(v) = optional_override(&body, "targetName")? {
        env.target_name = v;
    }
    if let Some(v) = optional_override(&body, "targetRole")? {
        env.target_role = v;
    }
    if let Some(value) = body.get("variables") {
        let items = value
            .as_array()
            .ok_or_else(|| bad(type_error("variables", "array", value)))?;
        let mut touched = HashSet::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("variables[{i}]");
            let map = item
                .as_object()
                .ok_or_else(|| bad(type_error(&at, "object", item)))?;
            if map.contains_key("id") {
                update_variable(env, map, &at, &mut touched)?;
            } else {
                let v = new_variable(item, &at)?;
                if env.variables.iter().any(|existing| existing.name == v.name) {
                    return Err(bad(format!(
                        "variables: Duplicate variable name '{}'",
                        v.name
                    )));
                }
                env.variables.push(v);
            }
        }
    }
    Ok(())
}

fn update_variable(
    env: &mut Environment,
    map: &Map<String, Value>,
    at: &str,
    touched: &mut HashSet<Uuid>,
) -> Result<(), Answer> {
    let id_value = &map["id"];
    let id = id_value
        .as_str()
        .and_then(|s| Uuid::parse_str(s).ok())
        .ok_or_else(|| bad(format!("{at}.id: Invalid uuid")))?;
    let Some(var) = env.variables.iter_mut().find(|v| v.id == id) else {
        return Err(bad(format!(
            "{at}.id: No variable with this id in the environment"
        )));
    };
    if map.contains_key("name") {
        return Err(bad(format!(
            "{at}.name: The name of an existing variable cannot be changed"
        )));
    }
    only_keys(map, &["id", "isSecret", "value"], at)?;
    if !touched.insert(id) {
        return Err(bad(format!("{at}.id: The variable is changed twice")));
    }
    let is_secret = match map.get("isSecret") {
        Some(Value::Bool(b)) => *b,
        None => return Err(bad(format!("{at}.isSecret: Required"))),
        Some(other) => return Err(bad(type_error(&format!("{at}.isSecret"), "boolean", other))),
    };
    match map.get("value") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) => var.value = s.clone(),
        Some(other) => {
            return Err(bad(type_error(
                &format!("{at}.value"),
                "string or null",
                other,
            )));
        }
    }
    var.is_secret = is_secret;
    Ok(())
}

fn new_variable(item: &Value, at: &str) -> Result<Variable, Answer> {
    let map = item
        .as_object()
        .ok_or_else(|| bad(type_error(at, "object", item)))?;
    only_keys(map, &["name", "isSecret", "value"], at)?;
    let name = required_string(map, "name").map_err(|(s, v)| prefix(at, s, v))?;
    let value = match map.get("value") {
        Some(Value::String(s)) => s.clone(),
        None => return Err(bad(format!("{at}.value: Required"))),
        Some(other) => return Err(bad(type_error(&format!("{at}.value"), "string", other))),
    };
    let is_secret = match map.get("isSecret") {
        Some(Value::Bool(b)) => *b,
        None => return Err(bad(format!("{at}.isSecret: Required"))),
        Some(other) => return Err(bad(type_error(&format!("{at}.isSecret"), "boolean", other))),
    };
    Ok(Variable {
        id: Uuid::new_v4(),
        name,
        value,
        is_secret,
    })
}

/// Zod's strict objects: any key outside `allowed` is a 400 naming the keys.
fn only_keys(map: &Map<String, Value>, allowed: &[&str], at: &str) -> Result<(), Answer> {
    let unknown: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(bad(format!(
            "{at}: Unrecognized key(s) in object: '{}'",
            unknown.join("', '")
        )))
    }
}

/// Re-bases a field error (`name: ...`) under `at` (`variables[0].name: ...`).
fn prefix(at: &str, status: u16, body: Value) -> Answer {
    let detail = body["detail"].as_str().unwrap_or_default();
    error(status, format!("{at}.{detail}"))
}

fn owner_allowed(who: &Principal) -> Result<(), Answer> {
    if who.organization_key {
        Ok(())
    } else {
        Err(bad("ownerId can only be set with an Organization API key"))
    }
}

fn object(body: &[u8]) -> Result<Map<String, Value>, Answer> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad("Request body must be a JSON object")),
        Err(_) => Err(bad("Request body must be valid JSON")),
    }
}

fn required_string(body: &Map<String, Value>, field: &str) -> Result<String, Answer> {
    match body.get(field) {
        None => Err(bad(format!("{field}: Required"))),
        Some(value) => string_min1(value, field),
    }
}

fn string_min1(value: &Value, field: &str) -> Result<String, Answer> {
    match value {
        Value::String(s) if s.is_empty() => Err(bad(format!(
            "{field}: String must contain at least 1 character(s)"
        ))),
        Value::String(s) => Ok(s.clone()),
        other => Err(bad(type_error(field, "string", other))),
    }
}

/// `None`: absent; `Some(None)`: `null`; `Some(Some(s))`: a string.
fn optional_override(
    body: &Map<String, Value>,
    field: &str,
) -> Result<Option<Option<String>>, Answer> {
    match body.get(field) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(other) => Err(bad(type_error(field, "string or null", other))),
    }
}

fn nullable_uuid(value: &Value, field: &str) -> Result<Option<Uuid>, Answer> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Uuid::parse_str(s)
            .map(Some)
            .map_err(|_| bad(format!("{field}: Invalid uuid"))),
        other => Err(bad(type_error(field, "string or null", other))),
    }
}

fn type_error(field: &str, expected: &str, got: &Value) -> String {
    let got = match got {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    format!("{field}: Expected {expected}, received {got}")
}

struct ListParams {
    offset: usize,
    page_size: usize,
    sort_descending: Option<bool>,
}

impl ListParams {
    fn parse(query: &str) -> Result<Self, Answer> {
        let mut params = ListParams {
            offset: 0,
            page_size: 20,
            sort_descending: None,
        };
        let mut sort_field = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "cursor" => {
                    params.offset = value
                        .strip_prefix("offset-")
                        .and_then(|n| n.parse().ok())
                        .ok_or_else(|| bad("cursor: Invalid cursor"))?;
                }
                "pageSize" => {
                    params.page_size = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=100).contains(n))
                        .ok_or_else(|| bad("pageSize: Number must be between 1 and 100"))?;
                }
                "sortDirection" => {
                    params.sort_descending = Some(match value {
                        "asc" => false,
                        "desc" => true,
                        _ => {
                            return Err(bad(
                                "sortDirection: Invalid enum value. Expected 'asc' | 'desc'",
                            ));
                        }
                    });
                }
                "sortField" if value == "name" => sort_field = Some(()),
                "sortField" => return Err(bad("sortField: Invalid enum value. Expected 'name'")),
                _ => {}
            }
        }
        if sort_field.is_some() && params.sort_descending.is_none() {
            params.sort_descending = Some(false);
        }
        Ok(params)
    }
}
