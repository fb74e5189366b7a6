//! The fake's in-memory state and Omni's documented rules for each operation.
//!
//! Everything here is synchronous and runs under one lock, so concurrent requests see each
//! other's effects in some serial order and never a half-applied change.

use std::{
    collections::{BTreeMap, HashSet},
    time::{Duration, Instant},
};

use serde_json::{Map, Value, json};
use uuid::Uuid;

mod declared;
mod models;

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
    /// Omni's later release (facts file): always false for the default environment.
    is_deferral_enabled: bool,
    /// The properties the spec declares beyond these (see `declared`), as set.
    declared: BTreeMap<String, Value>,
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
        let mut answer = json!({
            "id": self.id,
            "name": self.name,
            "isDefaultEnvironment": self.is_default,
            "ownerId": self.owner_id,
            "targetDatabase": self.target_database,
            "targetName": self.target_name,
            "targetRole": self.target_role,
            "targetSchema": self.target_schema,
            "variables": variables,
            "isDeferralEnabled": self.is_deferral_enabled && !self.is_default,
        });
        declared::write(&self.declared, &mut answer);
        answer
    }
}

#[derive(Clone, Debug, Default)]
pub(crate) struct Connection {
    supports_dbt: bool,
    environments: BTreeMap<Uuid, Environment>,
    /// The stored dbt configuration (the `PUT .../dbt` body as accepted), if any.
    dbt_config: Option<Map<String, Value>>,
}

/// A shared model, its branches (by name) and its documents' dbt exposures.
#[derive(Clone, Debug)]
struct Model {
    connection: Uuid,
    name: String,
    created_at: String,
    branches: BTreeMap<String, Branch>,
    /// Deleted branches, newest last (`includeDeleted` lists them), at most
    /// [`MAX_DELETED_BRANCHES`].
    deleted_branches: Vec<(String, Branch, String)>,
    exposures: Vec<Value>,
}

/// A model branch (in Omni, itself a model of kind `BRANCH` whose base is the shared model).
#[derive(Clone, Debug)]
struct Branch {
    id: Uuid,
    /// The dbt environment the branch reads from (`None`: the connection's default).
    dbt_environment: Option<Uuid>,
    dbt_git_branch: Option<String>,
    created_at: String,
}

/// A user of the organisation, as SCIM lists it.
#[derive(Clone, Debug)]
struct User {
    email: String,
    display_name: String,
}

/// How the list operation answers.
///
/// The default is the envelope: Omni's published spec is generated from its server's own
/// schemas, so where it and the documentation page disagree about what the server sends, the
/// spec is the likelier truth.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ListShape {
    /// A bare JSON array of every environment, as Omni's documentation page shows.
    BareArray,
    /// The `{records, pageInfo}` envelope with cursor paging, as Omni's published spec shows.
    #[default]
    Envelope,
}

#[derive(Debug, Default)]
pub(crate) struct Store {
    connections: BTreeMap<Uuid, Connection>,
    models: BTreeMap<Uuid, Model>,
    users: BTreeMap<Uuid, User>,
    jobs: BTreeMap<Uuid, Job>,
    next_created: u64,
    /// How long a schema refresh runs before it completes (or fails).
    pub job_duration: Duration,
    /// Whether refreshes name a branch (Omni's branch-based schema refresh).
    pub branch_based_refresh: bool,
    /// How many of the next refreshes fail.
    pub failing_refreshes: u32,
}

/// A schema refresh job.
#[derive(Clone, Debug)]
struct Job {
    started: Instant,
    fails: bool,
    /// What `GET /v1/jobs/{jobId}/status` calls it.
    kind: &'static str,
}

/// At most this many jobs are kept; the oldest go first (a long-running fake stays bounded).
const MAX_JOBS: usize = 10_000;

/// The configuration a seeded dbt connection starts with (Omni's documented example).
fn seeded_dbt_config() -> Map<String, Value> {
    let Value::Object(map) = json!({
        "autogenRelationships": true,
        "branch": "main",
        "dbtVersion": "Auto",
        "enableSemanticLayer": false,
        "enableVirtualSchemas": true,
        "projectRootPath": "dbt_project",
        "sshUrl": "git@github.com:acme/analytics.git",
    }) else {
        unreachable!("a JSON object literal")
    };
    map
}

impl Store {
    pub fn add_connection(&mut self, id: Uuid, supports_dbt: bool) {
        self.connections.insert(
            id,
            Connection {
                supports_dbt,
                environments: BTreeMap::new(),
                dbt_config: supports_dbt.then(seeded_dbt_config),
            },
        );
    }

    /// Seeds a model on `connection` with one branch and `exposures` dbt exposures.
    pub fn add_model(&mut self, id: Uuid, connection: Uuid, branch: &str, exposures: usize) {
        let exposures = (1..=exposures)
            .map(|i| {
                json!({
                    "dashboard_identifier": format!("dash{i:03}"),
                    "deduplication_name": format!("dashboard_{i:03}"),
                    "exposure": {
                        "name": format!("dashboard_{i:03}"),
                        "type": "dashboard",
                        "owner": {"name": "Ada Lovelace", "email": "ada@example.com"},
                        "depends_on": [format!("ref('model_{i:03}')")],
                        "label": format!("Dashboard {i}"),
                        "url": format!("https://example.omniapp.co/dashboards/dash{i:03}"),
                    }
                })
            })
            .collect();
        let mut model = Model {
            connection,
            name: "Analytics".into(),
            created_at: models::timestamp(),
            branches: BTreeMap::new(),
            deleted_branches: Vec::new(),
            exposures,
        };
        model.branches.insert(branch.to_owned(), Branch::new());
        self.models.insert(id, model);
    }

    /// Adds a branch to a model (as Omni's git integration does for a pull request).
    pub fn add_branch(&mut self, model: Uuid, name: &str) -> Option<Uuid> {
        let model = self.models.get_mut(&model)?;
        let branch = model
            .branches
            .entry(name.to_owned())
            .or_insert_with(Branch::new);
        Some(branch.id)
    }

    /// Adds a user of the organisation (SCIM lists them; `ownerId` may name them).
    pub fn add_user(&mut self, id: Uuid, email: &str, display_name: &str) {
        self.users.insert(
            id,
            User {
                email: email.to_owned(),
                display_name: display_name.to_owned(),
            },
        );
    }

    /// The branch's id, dbt environment and dbt git branch (for tests).
    pub fn branch(&self, model: Uuid, name: &str) -> Option<(Uuid, Option<Uuid>, Option<String>)> {
        let b = self.models.get(&model)?.branches.get(name)?;
        Some((b.id, b.dbt_environment, b.dbt_git_branch.clone()))
    }

    /// Seeds the default environment of a connection.
    pub fn add_default_environment(&mut self, connection: Uuid) -> Uuid {
        let id = crate::new_id();
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
                        id: crate::new_id(),
                        name: "DBT_TARGET".into(),
                        value: "prod".into(),
                        is_secret: false,
                    }],
                    is_deferral_enabled: false,
                    declared: BTreeMap::new(),
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

    /// The connection, when the token's user is its Connection Admin (dbt support not required).
    fn connection_admin(&mut self, id: &str, who: &Principal) -> Result<&mut Connection, Answer> {
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
        Ok(connection)
    }

    fn connection(&mut self, id: &str, who: &Principal) -> Result<&mut Connection, Answer> {
        let connection = self.connection_admin(id, who)?;
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
        // Parameters are validated whatever the answer's shape.
        let params = match ListParams::parse(query, &[]) {
            Ok(p) => p,
            Err(answer) => return answer,
        };
        let mut all: Vec<&Environment> = c.environments.values().collect();
        all.sort_by_key(|e| e.created);
        if shape == ListShape::BareArray {
            return (200, Value::Array(all.iter().map(|e| e.to_json()).collect()));
        }
        if let Some(descending) = params.sort_descending {
            all.sort_by(|a, b| a.name.cmp(&b.name).then(a.created.cmp(&b.created)));
            if descending {
                all.reverse();
            }
        }
        page(all.iter().map(|e| e.to_json()).collect(), &params)
    }

    pub fn create(&mut self, connection: &str, who: &Principal, body: &[u8]) -> Answer {
        let created = self.tick();
        let c = match self.connection(connection, who) {
            Ok(c) => c,
            Err(answer) => return answer,
        };
        let result = (|| {
            let body = body_of("connectionsDbtEnvironmentsCreate", body)?;
            let owner_id = match body.get("ownerId") {
                None => who.user_id.filter(|_| !who.organization_key),
                Some(value) => {
                    owner_allowed(who)?;
                    uuid_in(value)
                }
            };
            let mut variables = Vec::new();
            if let Some(items) = body.get("variables").and_then(Value::as_array) {
                // Omni's rule beyond the spec: a list given holds something.
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
                id: crate::new_id(),
                name: text(&body, "name").unwrap_or_default(),
                is_default: false,
                owner_id,
                target_database: nullable_text(&body, "targetDatabase").flatten(),
                target_name: nullable_text(&body, "targetName").flatten(),
                target_role: nullable_text(&body, "targetRole").flatten(),
                target_schema: text(&body, "targetSchema").unwrap_or_default(),
                variables,
                is_deferral_enabled: deferral(&body)?.unwrap_or(false),
                declared: declared::from_body(&body),
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
        let Some(id) = Uuid::parse_str(environment)
            .ok()
            .filter(|id| c.environments.contains_key(id))
        else {
            return error(404, "dbt environment not found");
        };
        c.environments.remove(&id);
        // Branches that read from it fall back to the connection's default environment.
        for model in self.models.values_mut() {
            for branch in model.branches.values_mut() {
                if branch.dbt_environment == Some(id) {
                    branch.dbt_environment = None;
                    branch.dbt_git_branch = None;
                }
            }
        }
        (
            200,
            json!({"success": true, "message": "dbt environment deleted"}),
        )
    }

    /// `GET .../dbt`: the configuration, or Omni's message when there is none.
    pub fn dbt_get(&mut self, connection: &str, who: &Principal) -> Answer {
        let c = match self.connection_admin(connection, who) {
            Ok(c) => c,
            Err(answer) => return answer,
        };
        match (&c.dbt_config, c.supports_dbt) {
            (Some(config), _) => {
                let mut answer = config.clone();
                answer.insert("supportsDbt".into(), Value::Bool(true));
                (200, Value::Object(answer))
            }
            (None, supports) => (
                200,
                json!({
                    "message": if supports {
                        "dbt is not configured for this connection"
                    } else {
                        "This connection does not support dbt"
                    },
                    "supportsDbt": supports,
                }),
            ),
        }
    }

    /// `PUT .../dbt`: stores a whole configuration.
    pub fn dbt_update(&mut self, connection: &str, who: &Principal, body: &[u8]) -> Answer {
        let c = match self.connection(connection, who) {
            Ok(c) => c,
            Err(answer) => return answer,
        };
        let result = (|| {
            // Unknown top-level keys are ignored, as for the environment bodies (zod's
            // default: they are stripped).
            // The spec's schema holds the pattern of `projectRootPath` and what is required.
            let body = body_of("connectionsDbtUpdate", body)?;
            let mut config = Map::new();
            for field in ["sshUrl", "branch"] {
                config.insert(field.into(), json!(text(&body, field)));
            }
            for field in ["autogenRelationships", "enableVirtualSchemas"] {
                config.insert(field.into(), json!(flag(&body, field)));
            }
            config.insert(
                "enableSemanticLayer".into(),
                json!(flag(&body, "enableSemanticLayer").unwrap_or(false)),
            );
            let version = nullable_text(&body, "dbtVersion").flatten();
            config.insert(
                "dbtVersion".into(),
                json!(version.unwrap_or_else(|| "Auto".to_owned())),
            );
            // `""` and `null` both mean the repository's root.
            let root = nullable_text(&body, "projectRootPath")
                .flatten()
                .filter(|p| !p.is_empty());
            config.insert("projectRootPath".into(), json!(root));
            Ok(config)
        })();
        match result {
            Ok(config) => {
                c.dbt_config = Some(config);
                (
                    200,
                    json!({"success": true, "message": "dbt configuration updated"}),
                )
            }
            Err(answer) => answer,
        }
    }

    /// `DELETE .../dbt`: 404 when nothing is configured. The environments stay.
    pub fn dbt_delete(&mut self, connection: &str, who: &Principal) -> Answer {
        let c = match self.connection(connection, who) {
            Ok(c) => c,
            Err(answer) => return answer,
        };
        match c.dbt_config.take() {
            Some(_) => (
                200,
                json!({"success": true, "message": "dbt configuration deleted"}),
            ),
            None => error(404, "dbt is not configured for this connection"),
        }
    }

    /// The model and the permission on its connection (Connection Admin, dbt supported).
    fn model(&mut self, model: &str, who: &Principal) -> Result<Uuid, Answer> {
        let id = Uuid::parse_str(model)
            .ok()
            .filter(|id| self.models.contains_key(id))
            .ok_or_else(|| error(404, "Model not found"))?;
        let connection = self.models[&id].connection.to_string();
        self.connection(&connection, who)?;
        Ok(id)
    }

    /// `GET /v1/models/{modelId}/dbt-exposures`: always the paged envelope.
    pub fn exposures(&mut self, model: &str, who: &Principal, query: &str) -> Answer {
        let id = match self.model(model, who) {
            Ok(id) => id,
            Err(answer) => return answer,
        };
        let params = match ListParams::parse(query, &["branch_id", "sortField"]) {
            Ok(p) => p,
            Err(answer) => return answer,
        };
        let m = &self.models[&id];
        if let Some(branch) = params.extra.get("branch_id") {
            let known = Uuid::parse_str(branch)
                .ok()
                .is_some_and(|b| m.branches.values().any(|x| x.id == b));
            if !known {
                return error(404, "Branch not found");
            }
        }
        let mut all: Vec<&Value> = m.exposures.iter().collect();
        if let Some(descending) = params.sort_descending {
            all.sort_by(|a, b| {
                a["deduplication_name"]
                    .as_str()
                    .cmp(&b["deduplication_name"].as_str())
            });
            if descending {
                all.reverse();
            }
        }
        page(all.into_iter().cloned().collect(), &params)
    }

    /// `POST /v1/models/{modelId}/refresh`: starts a refresh job.
    pub fn refresh(&mut self, model: &str, who: &Principal, query: &str) -> Answer {
        let id = match self.model(model, who) {
            Ok(id) => id,
            Err(answer) => return answer,
        };
        let mut branch = None;
        // Omni's later release: `hard_refresh` ("true" by default), and `schemas`/`tables` only
        // with `hard_refresh=false`.
        let mut hard = true;
        let mut narrowed = false;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("branch_id", value)) => match Uuid::parse_str(value) {
                    Ok(b) => branch = Some(b),
                    Err(_) => return bad("branch_id: Invalid uuid"),
                },
                Some(("hard_refresh", "true")) => hard = true,
                Some(("hard_refresh", "false")) => hard = false,
                Some(("hard_refresh", _)) => {
                    return bad("hard_refresh: Invalid enum value. Expected 'true' | 'false'");
                }
                Some(("schemas" | "tables", _)) => narrowed = true,
                _ => {}
            }
        }
        if narrowed && hard {
            return bad("schemas and tables require hard_refresh=false");
        }
        match (self.branch_based_refresh, branch) {
            (true, None) => {
                return bad(
                    "branch_id: Required when branch-based schema refresh is enabled for the connection",
                );
            }
            (false, Some(_)) => {
                return bad(
                    "branch_id: Branch-based schema refresh is not enabled for this connection",
                );
            }
            (true, Some(b)) if !self.models[&id].branches.values().any(|x| x.id == b) => {
                return error(404, "Branch not found");
            }
            _ => {}
        }
        let fails = self.failing_refreshes > 0;
        self.failing_refreshes = self.failing_refreshes.saturating_sub(1);
        let job = self.start_job("REFRESH_SCHEMA", fails);
        (
            200,
            json!({"jobId": job, "modelId": id, "status": "running"}),
        )
    }

    /// A job that ends after `job_duration`, failed when `fails`; the oldest go first past
    /// [`MAX_JOBS`].
    fn start_job(&mut self, kind: &'static str, fails: bool) -> Uuid {
        if self.jobs.len() >= MAX_JOBS {
            let oldest = self
                .jobs
                .iter()
                .min_by_key(|(_, j)| j.started)
                .map(|(id, _)| *id);
            if let Some(oldest) = oldest {
                self.jobs.remove(&oldest);
            }
        }
        let job = crate::new_id();
        self.jobs.insert(
            job,
            Job {
                started: Instant::now(),
                fails,
                kind,
            },
        );
        job
    }

    /// `POST /v1/models/{modelId}/dbt-sync?branch_id=…` (Omni's later release: "dbt quick
    /// sync: recompiles the branch's dbt manifest without a full schema scan"): a job, like a
    /// refresh's. `branch_id` is required and must be a branch of the model.
    pub fn dbt_sync(&mut self, model: &str, who: &Principal, query: &str) -> Answer {
        let id = match self.model(model, who) {
            Ok(id) => id,
            Err(answer) => return answer,
        };
        let branch = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("branch_id="));
        let branch = match branch.map(Uuid::parse_str) {
            None => return bad("branch_id: Required"),
            Some(Err(_)) => return bad("branch_id: Invalid uuid"),
            Some(Ok(b)) => b,
        };
        if !self.models[&id].branches.values().any(|x| x.id == branch) {
            return error(404, "Branch not found");
        }
        let job = self.start_job("DBT_SYNC", false);
        (200, json!({"jobId": job}))
    }

    /// `GET /v1/jobs/{jobId}/status`.
    pub fn job_status(&mut self, job: &str) -> Answer {
        let Some((id, job)) = Uuid::parse_str(job)
            .ok()
            .and_then(|id| self.jobs.get(&id).map(|j| (id, j)))
        else {
            return error(404, "Job not found");
        };
        let status = match (job.started.elapsed() >= self.job_duration, job.fails) {
            (false, _) => "IN_PROGRESS",
            (true, false) => "COMPLETED",
            (true, true) => "FAILED",
        };
        (
            200,
            json!({"job_id": id, "job_type": job.kind, "status": status}),
        )
    }

    /// `POST /v1/models/{modelId}/branch/{branchName}/dbt`.
    pub fn branch_dbt(
        &mut self,
        model: &str,
        branch: &str,
        who: &Principal,
        body: &[u8],
    ) -> Answer {
        let id = match self.model(model, who) {
            Ok(id) => id,
            Err(answer) => return answer,
        };
        let connection = self.models[&id].connection;
        if !self.models[&id].branches.contains_key(branch) {
            return error(404, "Branch not found");
        }
        let result = (|| {
            let body = body_of("modelsBranchDbt", body)?;
            // Omni's rule beyond the spec: no other key.
            only_keys(&body, &["dbt_environment_id", "dbt_git_branch"], "body")?;
            let environment = body
                .get("dbt_environment_id")
                .and_then(uuid_in)
                .unwrap_or_default();
            let exists = self
                .connections
                .get(&connection)
                .is_some_and(|c| c.environments.contains_key(&environment));
            if !exists {
                return Err(bad(
                    "dbt_environment_id: No dbt environment with this id on the model's connection",
                ));
            }
            let git_branch = text(&body, "dbt_git_branch");
            Ok((environment, git_branch))
        })();
        match result {
            Ok((environment, git_branch)) => {
                if let Some(b) = self
                    .models
                    .get_mut(&id)
                    .and_then(|m| m.branches.get_mut(branch))
                {
                    b.dbt_environment = Some(environment);
                    b.dbt_git_branch = git_branch;
                }
                (200, json!({"success": true}))
            }
            Err(answer) => answer,
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
    renamed_variable(body)?;
    let body = body_of("connectionsDbtEnvironmentsUpdate", body)?;
    if let Some(name) = text(&body, "name") {
        env.name = name;
    }
    if let Some(schema) = text(&body, "targetSchema") {
        env.target_schema = schema;
    }
    if let Some(value) = body.get("ownerId") {
        owner_allowed(who)?;
        env.owner_id = uuid_in(value);
    }
    if let Some(v) = nullable_text(&body, "targetDatabase") {
        env.target_database = v;
    }
    if let Some(v) = nullable_text(&body, "targetName") {
        env.target_name = v;
    }
    if let Some(v) = nullable_text(&body, "targetRole") {
        env.target_role = v;
    }
    if let Some(on) = deferral(&body)? {
        // Ignored (forced to false) for the default environment.
        env.is_deferral_enabled = on && !env.is_default;
    }
    env.declared.extend(declared::from_body(&body));
    if let Some(items) = body.get("variables").and_then(Value::as_array) {
        let mut touched = HashSet::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("variables[{i}]");
            let Some(map) = item.as_object() else {
                continue;
            };
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
    // The spec's `DbtEnvironmentVariableUpdate` holds the shape; these are Omni's rules.
    let id = map.get("id").and_then(uuid_in).unwrap_or_default();
    let Some(var) = env.variables.iter_mut().find(|v| v.id == id) else {
        return Err(bad(format!(
            "{at}.id: No variable with this id in the environment"
        )));
    };
    if !touched.insert(id) {
        return Err(bad(format!("{at}.id: The variable is changed twice")));
    }
    if let Some(value) = text(map, "value") {
        var.value = value;
    }
    var.is_secret = flag(map, "isSecret").unwrap_or(var.is_secret);
    Ok(())
}

/// A new variable from an item the spec's `DbtEnvironmentVariable` accepted; Omni's rule
/// beyond the spec: no other key (zod's strict objects).
fn new_variable(item: &Value, at: &str) -> Result<Variable, Answer> {
    let empty = Map::new();
    let map = item.as_object().unwrap_or(&empty);
    only_keys(map, &["name", "isSecret", "value"], at)?;
    Ok(Variable {
        id: crate::new_id(),
        name: text(map, "name").unwrap_or_default(),
        value: text(map, "value").unwrap_or_default(),
        is_secret: flag(map, "isSecret").unwrap_or(false),
    })
}

/// Omni's rule for a variable given with its id: its name cannot be changed (said before the
/// spec's check, which would only find a key too many).
fn renamed_variable(body: &[u8]) -> Result<(), Answer> {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(body) else {
        return Ok(());
    };
    let items = body.get("variables").and_then(Value::as_array);
    for (i, item) in items.into_iter().flatten().enumerate() {
        if item.get("id").is_some() && item.get("name").is_some() {
            return Err(bad(format!(
                "variables[{i}].name: The name of an existing variable cannot be changed"
            )));
        }
    }
    Ok(())
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

fn owner_allowed(who: &Principal) -> Result<(), Answer> {
    if who.organization_key {
        Ok(())
    } else {
        Err(bad("ownerId can only be set with an Organization API key"))
    }
}

/// A request body as Omni's server reads it: JSON, an object, valid under the served spec's
/// schema for `operation` (a 400 in Omni's words otherwise: `name: String must contain at
/// least 1 character(s)`). Omni's rules beyond the spec are each operation's own.
pub(crate) fn body_of(operation: &str, body: &[u8]) -> Result<Map<String, Value>, Answer> {
    let value: Value =
        serde_json::from_slice(body).map_err(|_| bad("Request body must be valid JSON"))?;
    let Value::Object(map) = &value else {
        return Err(bad("Request body must be a JSON object"));
    };
    omni_dbt_conformance::Spec::bundled()
        .check_request_as_omni(operation, &value)
        .map_err(bad)?;
    Ok(map.clone())
}

/// A member's text, when it is a string (bodies are checked against the spec first).
fn text(body: &Map<String, Value>, field: &str) -> Option<String> {
    body.get(field).and_then(Value::as_str).map(str::to_owned)
}

/// `None`: absent; `Some(None)`: `null`; `Some(Some(s))`: a string.
fn nullable_text(body: &Map<String, Value>, field: &str) -> Option<Option<String>> {
    body.get(field).map(|v| v.as_str().map(str::to_owned))
}

fn flag(body: &Map<String, Value>, field: &str) -> Option<bool> {
    body.get(field).and_then(Value::as_bool)
}

/// `isDeferralEnabled`, Omni's later release's flag, which the fake serves whatever its spec
/// says (so checked here, as the later release's spec checks it).
fn deferral(body: &Map<String, Value>) -> Result<Option<bool>, Answer> {
    match body.get("isDeferralEnabled") {
        None => Ok(None),
        Some(Value::Bool(on)) => Ok(Some(*on)),
        Some(_) => Err(bad("isDeferralEnabled: Expected boolean")),
    }
}

/// A uuid the spec's `format: uuid` accepted; `None` for `null`.
fn uuid_in(value: &Value) -> Option<Uuid> {
    value.as_str().and_then(|s| Uuid::parse_str(s).ok())
}

/// One page of `all` as the `{records, pageInfo}` envelope, with an offset cursor.
fn page(all: Vec<Value>, params: &ListParams) -> Answer {
    let start = params.offset.min(all.len());
    let end = start.saturating_add(params.page_size).min(all.len());
    let has_next = end < all.len();
    let total = all.len();
    let records: Vec<Value> = all.into_iter().skip(start).take(end - start).collect();
    (
        200,
        json!({
            "records": records,
            "pageInfo": {
                "hasNextPage": has_next,
                "nextCursor": has_next.then(|| format!("offset-{end}")),
                "pageSize": params.page_size,
                "totalRecords": total,
            }
        }),
    )
}

/// The query parameters of Omni's cursor-paged lists.
struct ListParams {
    offset: usize,
    page_size: usize,
    sort_descending: Option<bool>,
    /// Further parameters the operation declares, by name.
    extra: BTreeMap<String, String>,
}

impl ListParams {
    /// Parses `cursor`, `pageSize` (a number 1–100; Omni's spec types it `number`, so `20.0`
    /// is 20 and `20.5` is refused), `sortDirection`, `sortField`, and the names in `extra`.
    fn parse(query: &str, extra: &[&str]) -> Result<Self, Answer> {
        let mut params = ListParams {
            offset: 0,
            page_size: 20,
            sort_descending: None,
            extra: BTreeMap::new(),
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
                        .parse::<f64>()
                        .ok()
                        .filter(|n| (1.0..=100.0).contains(n) && n.fract() == 0.0)
                        .map(|n| n as usize)
                        .ok_or_else(|| {
                            bad("pageSize: Number must be a whole number between 1 and 100")
                        })?;
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
                "branch_id" if extra.contains(&key) => {
                    Uuid::parse_str(value).map_err(|_| bad("branch_id: Invalid uuid"))?;
                    params.extra.insert(key.to_owned(), value.to_owned());
                }
                _ if extra.contains(&key) => {
                    params.extra.insert(key.to_owned(), value.to_owned());
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

#[cfg(test)]
mod dbt_sync_tests {
    use super::*;

    /// dbt-sync (served once the spec has it): a job of its own kind for a branch of the
    /// model; a missing or malformed `branch_id` is a 400, another model's branch a 404.
    #[test]
    fn dbt_sync_starts_a_job_for_a_branch_of_the_model() {
        let mut store = Store::default();
        let (connection, model) = (crate::new_id(), crate::new_id());
        store.add_connection(connection, true);
        store.add_model(model, connection, "dev", 0);
        let branch = store.add_branch(model, "feature").unwrap();
        let who = Principal {
            label: "organization-api-key",
            organization_key: true,
            user_id: None,
            connection_admin: true,
        };
        let m = model.to_string();
        let (status, answer) = store.dbt_sync(&m, &who, &format!("branch_id={branch}"));
        assert_eq!(status, 200, "{answer}");
        let job = answer["jobId"].as_str().unwrap().to_owned();
        let (status, answer) = store.job_status(&job);
        assert_eq!(
            (status, answer["job_type"].as_str()),
            (200, Some("DBT_SYNC"))
        );
        assert_eq!(store.dbt_sync(&m, &who, "").0, 400);
        assert_eq!(store.dbt_sync(&m, &who, "branch_id=nope").0, 400);
        let elsewhere = crate::new_id();
        assert_eq!(
            store
                .dbt_sync(&m, &who, &format!("branch_id={elsewhere}"))
                .0,
            404
        );
        assert_eq!(
            store
                .dbt_sync(
                    &crate::new_id().to_string(),
                    &who,
                    &format!("branch_id={branch}")
                )
                .0,
            404
        );
    }
}
