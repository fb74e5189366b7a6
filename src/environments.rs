//! The dbt-environment resource: a handle per connection and one builder per operation, each
//! validating its input before anything is sent and ending in `send()`.

use std::collections::HashMap;

use futures_util::{Stream, TryStreamExt};
use uuid::Uuid;

use crate::{
    call::Call,
    client::{Client, confirmed},
    config::TokenKind,
    data::{
        DbtEnvironment, Deleted, NewVariable, Page, Patch, SortDirection, UpdateBody,
        VariableChange, VariableUpdate,
    },
    error::{Error, Result},
    generated::{paths, types},
    paging::{self, PagedRequest},
    validate::{nonnil, spec_rule},
};

impl Client {
    /// The dbt environments of one connection.
    pub fn dbt_environments(&self, connection_id: Uuid) -> DbtEnvironments {
        DbtEnvironments::new(self.clone(), connection_id)
    }
}

/// The dbt environments of one connection: `GET`, `POST`, `PUT` and `DELETE` on
/// `/api/v1/connections/{connectionId}/dbt/environments[/{environmentId}]`.
///
/// Made by [`Client::dbt_environments`]. Every method returns a builder; nothing is sent until
/// its `send()`.
#[derive(Clone, Debug)]
pub struct DbtEnvironments {
    client: Client,
    connection_id: Uuid,
}

impl DbtEnvironments {
    pub(crate) fn new(client: Client, connection_id: Uuid) -> Self {
        Self {
            client,
            connection_id,
        }
    }

    /// The connection these environments belong to.
    pub fn connection_id(&self) -> Uuid {
        self.connection_id
    }

    /// The copies rule of [`CreateEnvironment::one_copy_per`] for environments made at once
    /// (e.g. by one phase of an apply), with one list for all of them: for each environment of
    /// `made`, the environments of its name whose plain variable `variable` has its value are
    /// copies; the one with the lowest id is kept and every other copy deleted (one another run
    /// deleted first counts as deleted). Returns the kept copy for each of `made`, in order
    /// (itself when it has no copy, or when the list does not show it yet). An environment of
    /// `made` without that plain variable is returned as it is.
    ///
    /// Every run that creates with the same marker computes the same rule; none deletes the
    /// lowest id, so once every run has checked, one copy remains.
    ///
    /// ```no_run
    /// # async fn demo(client: omni_dbt::Client, conn: omni_dbt::Uuid) -> omni_dbt::Result<()> {
    /// let envs = client.dbt_environments(conn);
    /// let made = envs
    ///     .create("staging", "dbt_staging")
    ///     .add_variable("OMNI_DBT_MANAGED_BY", "file:analytics")
    ///     .send()
    ///     .await?;
    /// let kept = envs.keep_one_copy("OMNI_DBT_MANAGED_BY", &[made]).await?;
    /// # let _ = kept; Ok(()) }
    /// ```
    pub async fn keep_one_copy(
        &self,
        variable: &str,
        made: &[DbtEnvironment],
    ) -> Result<Vec<DbtEnvironment>> {
        let marker = |env: &DbtEnvironment| {
            env.variable(variable)
                .filter(|v| !v.is_secret)
                .and_then(|v| v.value.clone())
        };
        if made.iter().all(|env| marker(env).is_none()) {
            return Ok(made.to_vec());
        }
        let all = self.list().all().await?;
        let mut kept = Vec::with_capacity(made.len());
        let mut deleted: Vec<Uuid> = Vec::new();
        for env in made {
            let Some(value) = marker(env) else {
                kept.push(env.clone());
                continue;
            };
            let mut copies: Vec<&DbtEnvironment> = all
                .iter()
                .filter(|other| is_copy(other, &env.name, variable, &value))
                .collect();
            copies.sort_by_key(|copy| copy.id);
            let Some(first) = copies.first() else {
                kept.push(env.clone());
                continue;
            };
            for extra in &copies[1..] {
                if deleted.contains(&extra.id) {
                    continue;
                }
                match self.delete(extra.id).send().await {
                    Ok(_) | Err(Error::NotFound { .. }) => {
                        deleted.push(extra.id);
                        tracing::info!(
                            environment = %extra.id,
                            kept = %first.id,
                            "deleted a copy of environment \"{}\" another run made at the same time; kept the one with the lowest id",
                            env.name.escape_debug()
                        );
                    }
                    Err(e) => return Err(e),
                }
            }
            kept.push((*first).clone());
        }
        Ok(kept)
    }

    /// List the connection's environments (`GET .../dbt/environments`).
    pub fn list(&self) -> ListEnvironments {
        ListEnvironments {
            call: Call::new(&self.client),
            path: paths::ConnectionsDbtEnvironmentsList {
                connection_id: self.connection_id,
            },
            cursor: None,
            page_size: None,
            sort: None,
        }
    }

    /// Create an environment (`POST .../dbt/environments`); `name` and `target_schema` are
    /// required by Omni.
    pub fn create(
        &self,
        name: impl Into<String>,
        target_schema: impl Into<String>,
    ) -> CreateEnvironment {
        CreateEnvironment {
            call: Call::new(&self.client),
            path: paths::ConnectionsDbtEnvironmentsCreate {
                connection_id: self.connection_id,
            },
            body: types::DbtEnvironmentCreateBody::new(name.into(), target_schema.into()),
            variables: Vec::new(),
            adopting: false,
            copies_by: None,
            check_copies: false,
        }
    }

    /// Change an environment (`PUT .../dbt/environments/{environmentId}`). The fields set on
    /// the builder change; Omni leaves the others unchanged.
    ///
    /// Omni's published spec requires `name` and `targetSchema` in every update body, while its
    /// docs call every field optional. So that a body is valid under both, `send` looks the
    /// environment up (one list request per 100 environments on the connection) when the
    /// caller set neither, and sends their current values. [`update_from`](Self::update_from)
    /// costs nothing extra (the caller has the environment); [`UpdateEnvironment::partial`]
    /// sends only what is set, as the docs allow.
    pub fn update(&self, environment_id: Uuid) -> UpdateEnvironment {
        UpdateEnvironment {
            call: Call::new(&self.client),
            path: paths::ConnectionsDbtEnvironmentsUpdate {
                connection_id: self.connection_id,
                environment_id,
            },
            body: UpdateBody::default(),
            variables: Vec::new(),
            by_name: Vec::new(),
            current: None,
            partial: false,
        }
    }

    /// Change an environment the caller has fetched: like [`update`](Self::update), and the
    /// body also carries the environment's current `name` and `targetSchema` unless a setter
    /// changes them. Omni's spec requires both in an update body while its docs call every
    /// field optional; a body with both is valid under either reading.
    ///
    /// ```
    /// # fn demo(client: omni_dbt::Client, env: omni_dbt::DbtEnvironment) {
    /// let update = client
    ///     .dbt_environments(omni_dbt::Uuid::new_v4())
    ///     .update_from(&env)
    ///     .target_role("TRANSFORMER");
    /// # let _ = update; }
    /// ```
    pub fn update_from(&self, environment: &DbtEnvironment) -> UpdateEnvironment {
        let mut update = self.update(environment.id);
        update.current = Some(Box::new(environment.clone()));
        update
    }

    /// Delete an environment (`DELETE .../dbt/environments/{environmentId}`). Cannot be undone.
    pub fn delete(&self, environment_id: Uuid) -> DeleteEnvironment {
        DeleteEnvironment {
            call: Call::new(&self.client),
            path: paths::ConnectionsDbtEnvironmentsDelete {
                connection_id: self.connection_id,
                environment_id,
            },
        }
    }
}

crate::call::builder! {
    /// Lists environments: one page with [`send`](Self::send), every page with
    /// [`stream`](Self::stream) or [`all`](Self::all).
    #[must_use = "nothing is sent until `send`, `stream` or `all`"]
    pub struct ListEnvironments for ConnectionsDbtEnvironmentsList {
        cursor: Option<String>,
        page_size: Option<u32>,
        sort: Option<SortDirection>,
    }
}

impl ListEnvironments {
    /// Records per page, 1 to 100 (Omni's default is 20).
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }

    /// Sort by name.
    pub fn sort_by_name(mut self, direction: SortDirection) -> Self {
        self.sort = Some(direction);
        self
    }

    /// Start at this cursor (a previous page's [`Page::next_cursor`]).
    pub fn cursor(mut self, cursor: impl Into<String>) -> Self {
        self.cursor = Some(cursor.into());
        self
    }

    /// Fetches one page.
    pub async fn send(self) -> Result<Page> {
        paging::check_page_size(
            self.page_size,
            types::CONNECTIONS_DBT_ENVIRONMENTS_LIST_MAX_PAGE_SIZE,
        )?;
        let Self {
            call,
            path,
            cursor,
            page_size,
            sort,
        } = self;
        let answer = crate::call::send!(call, path, |request| {
            let mut request = request;
            if let Some(cursor) = cursor {
                request = request.cursor(cursor);
            }
            if let Some(size) = page_size {
                request = request.page_size(u64::from(size));
            }
            if let Some(direction) = sort {
                request = request
                    .sort_direction(types::ConnectionsDbtEnvironmentsListSortDirection::from(
                        direction,
                    ))
                    .sort_field(types::ConnectionsDbtEnvironmentsListSortField::Name);
            }
            request.send()
        })?;
        Ok(Page::from(answer.into_inner()))
    }

    /// Every environment on every page, following `nextCursor`, fetched as the stream is read.
    /// Pages of 100 (the largest Omni serves) unless [`page_size`](Self::page_size) says otherwise.
    ///
    /// A cursor that comes back a second time ends the stream with
    /// [`Error::UnexpectedResponse`] instead of looping.
    pub fn stream(self) -> impl Stream<Item = Result<DbtEnvironment>> + Send + 'static {
        paging::every_record(self)
    }

    /// Every environment on every page, collected.
    pub async fn all(self) -> Result<Vec<DbtEnvironment>> {
        self.stream().try_collect().await
    }
}

impl PagedRequest for ListEnvironments {
    type Item = DbtEnvironment;

    fn fetch(self) -> impl Future<Output = Result<Page>> + Send {
        self.send()
    }

    fn at(self, cursor: String) -> Self {
        self.cursor(cursor)
    }

    fn largest_pages(mut self) -> Self {
        if self.page_size.is_none() {
            self.page_size = types::CONNECTIONS_DBT_ENVIRONMENTS_LIST_MAX_PAGE_SIZE;
        }
        self
    }
}

crate::call::builder! {
    /// Creates an environment. Built by [`DbtEnvironments::create`].
    ///
    /// A setter for every optional property of the spec's `DbtEnvironmentCreateBody` is
    /// generated (`owner_id`, `target_database`, `target_name`, `target_role`, and whatever
    /// Omni adds); what is not set is not sent. Variables are added here.
    #[must_use = "nothing is sent until `send`"]
    pub struct CreateEnvironment for ConnectionsDbtEnvironmentsCreate {
        // The generated setters fill this.
        pub(crate) body: types::DbtEnvironmentCreateBody,
        variables: Vec<NewVariable>,
        adopting: bool,
        /// The plain variable whose value, with the name, makes environments copies of one
        /// another ([`copies_marked_by`](Self::copies_marked_by)).
        copies_by: Option<String>,
        /// Whether the copies are checked after the create ([`one_copy_per`](Self::one_copy_per)).
        check_copies: bool,
    }
}

impl CreateEnvironment {
    // A setter for every optional property of the spec's body (generated).
    types::dbt_environment_create_body_setters!();

    /// Sets the property the spec names `property` (a row of [`crate::fields::dbt_environment`])
    /// from its JSON value, for code driven by the spec rather than by one setter per property.
    /// Variables are added with their own methods. A wrong type, or a property the create body
    /// does not have, is [`Error::InvalidInput`] naming it.
    ///
    /// ```
    /// # fn demo(client: omni_dbt::Client) -> omni_dbt::Result<()> {
    /// let create = client
    ///     .dbt_environments(omni_dbt::Uuid::new_v4())
    ///     .create("pr-42", "dbt_pr_42")
    ///     .property("targetRole", serde_json::json!("TRANSFORMER"))?;
    /// # let _ = create; Ok(()) }
    /// ```
    pub fn property(mut self, property: &str, value: serde_json::Value) -> Result<Self> {
        self.body.set_property(property, value)?;
        Ok(self)
    }

    /// [`property`](Self::property) in place: on an error the builder is left as it was (a
    /// tool setting many properties from a table keeps one builder, and every error).
    pub fn apply_property(&mut self, property: &str, value: serde_json::Value) -> Result<()> {
        self.body.set_property(property, value)?;
        Ok(())
    }

    /// Add a variable whose value Omni returns when read.
    pub fn add_variable(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.variable(NewVariable::plain(name, value))
    }

    /// Add a secret variable (Omni stores the value and never returns it).
    pub fn add_secret_variable(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.variable(NewVariable::secret(name, value))
    }

    /// Add a variable.
    pub fn variable(mut self, variable: NewVariable) -> Self {
        self.variables.push(variable);
        self
    }

    /// Every check [`send`](Self::send) makes before sending, without sending: e.g. to refuse a
    /// whole batch before any of it is sent.
    pub fn validate(&self) -> Result<()> {
        self.body().map(drop)
    }

    fn body(&self) -> Result<types::DbtEnvironmentCreateBody> {
        self.path.check()?;
        let mut body = self.body.clone();
        body.validate().map_err(Error::from)?;
        if !body.owner_id.is_unchanged() {
            owner_allowed(self.call.client.token_kind())?;
        }
        if let Patch::Set(owner) = body.owner_id {
            nonnil("ownerId", owner)?;
        }
        let changes: Vec<VariableChange> = self.variables.iter().cloned().map(Into::into).collect();
        body.variables = generated_variables(&changes)?.map(|all| {
            all.into_iter()
                .filter_map(|v| match v {
                    types::DbtEnvironmentVariableUpdateOrNew::Variant1(new) => Some(new),
                    types::DbtEnvironmentVariableUpdateOrNew::Variant0(_) => None,
                })
                .collect()
        });
        Ok(body)
    }

    /// Resolve an unknown outcome instead of giving up: when the create's answer is lost (or
    /// it meets 502/503/504), so that it may or may not have been created, [`send`](Self::send)
    /// looks the environment up by name on the connection. Found once, it is adopted and the
    /// rest of the intended change is finished with an update (fields and variables that
    /// differ); not found, the create is sent again (at most three rounds). Every name ends up
    /// created exactly once. More than one environment of that name is an error naming their
    /// ids, since it cannot be told which one the lost create made.
    ///
    /// ```no_run
    /// # async fn demo(client: omni_dbt::Client, conn: omni_dbt::Uuid) -> omni_dbt::Result<()> {
    /// let env = client
    ///     .dbt_environments(conn)
    ///     .create("pr-42", "dbt_pr_42")
    ///     .add_variable("DBT_THREADS", "8")
    ///     .adopting()
    ///     .send()
    ///     .await?;
    /// # let _ = env; Ok(()) }
    /// ```
    pub fn adopting(mut self) -> Self {
        self.adopting = true;
        self
    }

    /// One environment per name and marker, even when several processes that cannot talk to
    /// each other create it at once (two CI runs of one workflow, say). Environments of this
    /// create's name whose plain variable `variable` has the value this create gives it are
    /// *copies*; after the create (or an [adoption](Self::adopting)), the connection is listed
    /// once and, if there are several copies, the one with the **lowest id** is kept: every
    /// other copy is deleted, and the kept one is returned, finished with this create's fields
    /// and variables like an adopted one.
    ///
    /// Every process computes the same rule, and no process deletes a copy unless it has seen
    /// one with a lower id, so the lowest id ever created is never deleted and exactly one copy
    /// remains once every process has listed after its create. The variable must be one this
    /// create adds as a plain variable (e.g. an ownership marker); without it this does
    /// nothing. Costs one list after the create. With a lease from
    /// [`Client::lease`](crate::Client::lease) held, creates of the name are already one at a
    /// time and this is not needed.
    ///
    /// ```no_run
    /// # async fn demo(client: omni_dbt::Client, conn: omni_dbt::Uuid) -> omni_dbt::Result<()> {
    /// let env = client
    ///     .dbt_environments(conn)
    ///     .create("preview-dev", "dbt_preview_dev")
    ///     .add_variable("OMNI_DBT_MANAGED_BY", "preview:dev")
    ///     .adopting()
    ///     .one_copy_per("OMNI_DBT_MANAGED_BY")
    ///     .send()
    ///     .await?;
    /// # let _ = env; Ok(()) }
    /// ```
    pub fn one_copy_per(mut self, variable: impl Into<String>) -> Self {
        self.check_copies = true;
        self.copies_marked_by(variable)
    }

    /// Environments of this create's name whose plain variable `variable` has the value this
    /// create gives it are copies of one another: an [adoption](Self::adopting) that finds
    /// several of the name adopts the copy with the lowest id (the rule of
    /// [`DbtEnvironments::keep_one_copy`]) instead of failing. Unlike
    /// [`one_copy_per`](Self::one_copy_per), nothing is listed after the create: for a caller
    /// that checks the copies of many creates with one list.
    pub fn copies_marked_by(mut self, variable: impl Into<String>) -> Self {
        self.copies_by = Some(variable.into());
        self
    }

    /// The marker value that makes an environment of this name a copy, when
    /// [`one_copy_per`](Self::one_copy_per) names a plain variable this create adds.
    fn marker(&self) -> Option<(&str, &str)> {
        let variable = self.copies_by.as_deref()?;
        self.variables
            .iter()
            .find(|v| !v.is_secret() && v.name() == variable)
            .map(|v| (variable, v.value()))
    }

    /// Whether `env` is a copy: this create's name and marker.
    fn is_copy(&self, env: &DbtEnvironment, name: &str) -> bool {
        self.marker()
            .is_some_and(|(variable, value)| is_copy(env, name, variable, value))
    }

    /// Validates and sends the create; returns the new environment (or, with
    /// [`adopting`](Self::adopting), the one an unknown outcome turned out to have created;
    /// with [`one_copy_per`](Self::one_copy_per), the copy that is kept).
    pub async fn send(self) -> Result<DbtEnvironment> {
        let made = if self.adopting {
            self.send_adopting().await?
        } else {
            self.clone().send_once().await?
        };
        if !self.check_copies || self.marker().is_none() {
            return Ok(made);
        }
        self.keep_one_copy(made).await
    }

    /// The copies rule ([`one_copy_per`](Self::one_copy_per)) after `made` was created or
    /// adopted: the copy with the lowest id is kept, every other one deleted.
    async fn keep_one_copy(&self, made: DbtEnvironment) -> Result<DbtEnvironment> {
        let Some((variable, _)) = self.marker() else {
            return Ok(made);
        };
        let envs = DbtEnvironments::new(self.call.client.clone(), self.path.connection_id);
        let mut followed = made.clone();
        let mut round = 1;
        loop {
            let kept = envs
                .keep_one_copy(variable, std::slice::from_ref(&followed))
                .await?
                .pop()
                .unwrap_or_else(|| followed.clone());
            if kept.id == made.id {
                return Ok(made);
            }
            // Another run's copy is kept: it gets this create's fields and variables too.
            match self.finish_adoption(kept.clone()).await {
                // That copy went too, a moment later, for a copy with a still lower id: the
                // rule is followed again (each round's copy has a lower id than the last, so
                // this ends), at most three rounds.
                Err(Error::NotFound { .. }) if round < 3 && kept.id != followed.id => {
                    followed = kept;
                    round += 1;
                }
                other => return other,
            }
        }
    }

    /// The create, resolving an unknown outcome ([`adopting`](Self::adopting)).
    async fn send_adopting(&self) -> Result<DbtEnvironment> {
        let body = self.body()?;
        let name = body.name.as_str();
        let made = crate::adopt::create_once(
            || self.clone().send_once(),
            || async {
                let mut found: Vec<DbtEnvironment> =
                    DbtEnvironments::new(self.call.client.clone(), self.path.connection_id)
                        .list()
                        .all()
                        .await?
                        .into_iter()
                        .filter(|env| env.name == name)
                        .collect();
                if self.marker().is_some() && found.len() > 1 {
                    // Several of the name: the copies rule decides which one is ours.
                    found.retain(|env| self.is_copy(env, name));
                    found.sort_by_key(|env| env.id);
                    found.truncate(1);
                }
                match found.len() {
                    0 | 1 => Ok(found.pop()),
                    _ => {
                        let ids: Vec<String> = found.iter().map(|e| e.id.to_string()).collect();
                        Err(Error::invalid(
                            "name",
                            format!(
                                "the create's outcome is unknown and {} environments are named \"{}\" ({}); cannot tell which one it made",
                                found.len(),
                                name.escape_debug(),
                                ids.join(", ")
                            ),
                        ))
                    }
                }
            },
        )
        .await?;
        match made {
            crate::adopt::Made::Created(env) => Ok(env),
            crate::adopt::Made::Found(env) => self.finish_adoption(env).await,
        }
    }

    /// The rest of the intended change on an adopted environment: the fields of the create
    /// body whose values differ, and each variable missing or with another value.
    async fn finish_adoption(&self, env: DbtEnvironment) -> Result<DbtEnvironment> {
        let want = serde_json::to_value(&self.body).unwrap_or_default();
        let have = serde_json::to_value(&env).unwrap_or_default();
        let mut differing = serde_json::Map::new();
        for (key, value) in want.as_object().into_iter().flatten() {
            if key != "name" && key != "variables" && have.get(key) != Some(value) {
                differing.insert(key.clone(), value.clone());
            }
        }
        let mut update = DbtEnvironments::new(self.call.client.clone(), self.path.connection_id)
            .update_from(&env);
        // The create and update bodies are derived from one resource's schema: a differing
        // create field is the update field of the same name (unknown ones are left out).
        update.body =
            serde_json::from_value(serde_json::Value::Object(differing)).unwrap_or_default();
        for v in &self.variables {
            match env.variable(v.name()) {
                None => update = update.variable(v.clone()),
                Some(existing) if v.is_secret() => {
                    update = update.set_secret_variable(existing.id, v.value());
                }
                Some(existing)
                    if existing.is_secret || existing.value.as_deref() != Some(v.value()) =>
                {
                    update = update.set_variable(existing.id, v.value());
                }
                Some(_) => {}
            }
        }
        if update.body.is_empty() && update.variables.is_empty() {
            return Ok(env);
        }
        update.send().await
    }

    async fn send_once(self) -> Result<DbtEnvironment> {
        let body = self.body()?;
        let answer = crate::call::send!(self.call, self.path, |request| request.body(body).send())?;
        Ok(answer.into_inner())
    }
}

crate::call::builder! {
    /// Changes an environment. Built by [`DbtEnvironments::update`].
    ///
    /// Each nullable field has three states: not called (absent from the JSON, unchanged),
    /// cleared (`None` or `clear_*`, sent as `null`), or set (sent as the value).
    ///
    /// ```
    /// # async fn demo(client: omni_dbt::Client, conn: omni_dbt::Uuid, env: omni_dbt::Uuid) -> omni_dbt::Result<()> {
    /// let updated = client
    ///     .dbt_environments(conn)
    ///     .update(env)
    ///     .target_schema("dbt_pr_42")
    ///     .target_role(None)              // sends "targetRole": null
    ///     .add_variable("DBT_THREADS", "8")
    ///     .send()
    ///     .await?;
    /// println!("{} now builds into {}", updated.name, updated.target_schema);
    /// # Ok(()) }
    /// ```
    ///
    /// A setter for every property of the spec's `DbtEnvironmentUpdateBody` is generated (`name`,
    /// `target_schema`, `owner_id`, `target_database`, …, and whatever Omni adds, e.g.
    /// `is_deferral_enabled`); only what is called is sent. Variables are changed here.
    #[must_use = "nothing is sent until `send`"]
    pub struct UpdateEnvironment for ConnectionsDbtEnvironmentsUpdate {
        // The generated setters fill this; variables are kept apart, as redacting models.
        pub(crate) body: UpdateBody,
        variables: Vec<VariableChange>,
        /// Variables set by name (redacting models), resolved against the current ones.
        by_name: Vec<NewVariable>,
        /// The environment as the caller fetched it (`update_from`), else looked up when needed.
        current: Option<Box<DbtEnvironment>>,
        /// Send only what is set, as Omni's docs allow (`partial`).
        partial: bool,
    }
}

impl UpdateEnvironment {
    // A setter for every property of the spec's body (generated).
    types::dbt_environment_update_body_setters!();

    /// Sets the property the spec names `property` from its JSON value (`null` clears a
    /// nullable one), like [`CreateEnvironment::property`].
    pub fn property(mut self, property: &str, value: serde_json::Value) -> Result<Self> {
        self.body.set_property(property, value)?;
        Ok(self)
    }

    /// [`property`](Self::property) in place: on an error the builder is left as it was (a
    /// tool setting many properties from a table keeps one builder, and every error).
    pub fn apply_property(&mut self, property: &str, value: serde_json::Value) -> Result<()> {
        self.body.set_property(property, value)?;
        Ok(())
    }

    /// Create a variable whose value Omni returns when read.
    pub fn add_variable(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.variable(NewVariable::plain(name, value))
    }

    /// Create a secret variable.
    pub fn add_secret_variable(self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.variable(NewVariable::secret(name, value))
    }

    /// Give the existing variable `id` a new, non-secret value.
    pub fn set_variable(self, id: Uuid, value: impl Into<String>) -> Self {
        self.variable(VariableUpdate::plain(id, value))
    }

    /// Give the existing variable `id` a new secret value.
    pub fn set_secret_variable(self, id: Uuid, value: impl Into<String>) -> Self {
        self.variable(VariableUpdate::secret(id, value))
    }

    /// Give the variable `name` this plain value: the existing variable of that name is
    /// updated (made plain if it was secret), or a new one is created. Safe to repeat: a
    /// second run updates what the first created.
    ///
    /// The current variables come from [`DbtEnvironments::update_from`], else one lookup
    /// before sending (as for `name` and `targetSchema`).
    pub fn put_variable(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.by_name.push(NewVariable::plain(name, value));
        self
    }

    /// Give the variable `name` this secret value, updating the variable of that name or
    /// creating it: like [`put_variable`](Self::put_variable).
    pub fn put_secret_variable(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Self {
        self.by_name.push(NewVariable::secret(name, value));
        self
    }

    /// Send only what is set, as Omni's docs allow ("every field is optional"): no lookup,
    /// and no `name` or `targetSchema` unless set. Omni's published spec requires both, so a
    /// server that enforces its spec refuses such a body; use this only against one known to
    /// accept it.
    pub fn partial(mut self) -> Self {
        self.partial = true;
        self
    }

    /// Keep the stored value of the secret variable `id` (sent without a `value`: Omni keeps the stored one).
    pub fn keep_secret_variable(self, id: Uuid) -> Self {
        self.variable(VariableUpdate::keep_secret(id))
    }

    /// Add a variable change of either kind.
    pub fn variable(mut self, change: impl Into<VariableChange>) -> Self {
        self.variables.push(change.into());
        self
    }

    /// Every check [`send`](Self::send) makes before sending, without sending: e.g. to refuse a
    /// whole batch before any of it is sent. (Variables set by name are checked as new ones.)
    pub fn validate(&self) -> Result<()> {
        self.checked_body(self.body.clone(), &self.changes(self.current.as_deref()))
            .map(drop)
    }

    /// The variable changes: those given, then those set by name, resolved against `current`.
    fn changes(&self, current: Option<&DbtEnvironment>) -> Vec<VariableChange> {
        let mut changes = self.variables.clone();
        for new in &self.by_name {
            let existing = current.and_then(|env| env.variable(new.name()));
            changes.push(match existing {
                Some(v) if new.is_secret() => VariableUpdate::secret(v.id, new.value()).into(),
                Some(v) => VariableUpdate::plain(v.id, new.value()).into(),
                None => new.clone().into(),
            });
        }
        changes
    }

    /// Whether `send` needs the current environment: for `name` and `targetSchema` (unless
    /// partial), or to resolve variables set by name.
    fn needs_current(&self) -> bool {
        let fields =
            !self.partial && (self.body.name.is_none() || self.body.target_schema.is_none());
        self.current.is_none() && (fields || !self.by_name.is_empty())
    }

    /// The environment as Omni has it now, from the list (pages of 100).
    async fn look_up(&self) -> Result<DbtEnvironment> {
        let found = DbtEnvironments::new(self.call.client.clone(), self.path.connection_id)
            .list()
            .page_size(100)
            .stream()
            .try_filter(|env| std::future::ready(env.id == self.path.environment_id));
        std::pin::pin!(found)
            .try_next()
            .await?
            .ok_or_else(|| Error::NotFound {
                resource: Some(format!(
                    "dbt environment {} on connection {}",
                    self.path.environment_id, self.path.connection_id
                )),
                detail: None,
            })
    }

    /// `body` (this builder's) as it will be sent, after every check.
    fn checked_body(
        &self,
        mut body: UpdateBody,
        variables: &[VariableChange],
    ) -> Result<UpdateBody> {
        self.path.check()?;
        body.variables = generated_variables(variables)?;
        if body.is_empty() {
            return Err(Error::invalid("body", "must change at least one field"));
        }
        if let Some(current) = self.current.as_deref().filter(|_| !self.partial) {
            body.name.get_or_insert_with(|| current.name.clone());
            body.target_schema
                .get_or_insert_with(|| current.target_schema.clone());
        }
        body.validate().map_err(Error::from)?;
        if !body.owner_id.is_unchanged() {
            owner_allowed(self.call.client.token_kind())?;
        }
        if let Patch::Set(owner) = body.owner_id {
            nonnil("ownerId", owner)?;
        }
        Ok(body)
    }

    /// Validates and sends the update; returns the environment as Omni now has it.
    ///
    /// An update is retried like any idempotent request, except when it creates variables:
    /// repeating that after Omni may have applied it would meet the new names as duplicates,
    /// so it is retried only when it provably never reached Omni (like a create).
    pub async fn send(mut self) -> Result<DbtEnvironment> {
        // Checked before the lookup too: bad input sends nothing, the lookup included.
        self.validate()?;
        if self.needs_current() {
            self.current = Some(Box::new(self.look_up().await?));
        }
        let changes = self.changes(self.current.as_deref());
        let body = std::mem::take(&mut self.body);
        let body = self.checked_body(body, &changes)?;
        // Whether it is retried is decided by the hook (`retry::request_is_repeatable`), the
        // same for `Client::api()`.
        let answer = crate::call::send!(self.call, self.path, |request| request.body(body).send());
        Ok(answer?.into_inner())
    }
}

crate::call::builder! {
    /// Deletes an environment. Built by [`DbtEnvironments::delete`].
    #[must_use = "nothing is sent until `send`"]
    pub struct DeleteEnvironment for ConnectionsDbtEnvironmentsDelete {}
}

impl DeleteEnvironment {
    /// Sends the delete. Omni's `{success: false}` becomes [`Error::UnexpectedResponse`].
    ///
    /// A 404 counts as deleted only when an earlier attempt of this call may have reached Omni
    /// (it timed out, lost its connection, or met 502/503/504) and the 404 is about the
    /// environment; a 404 about the connection, or to a first attempt, is
    /// [`Error::NotFound`].
    pub async fn send(self) -> Result<Deleted> {
        let (result, record) =
            crate::call::send_recorded!(self.call, self.path, |request| request.send());
        let value = match result {
            Err(Error::NotFound { detail, .. })
                if record.maybe_processed && about_environment(detail.as_deref()) =>
            {
                return Ok(Deleted { message: None });
            }
            other => other?,
        };
        let status = value.status().as_u16();
        let body = value.into_inner();
        confirmed(body.success, status, body.message.as_deref())?;
        Ok(Deleted {
            message: body.message,
        })
    }
}

/// Whether `env` is a copy of an environment named `name` whose plain variable `variable` is
/// `value`: the same name and marker, never the connection's default environment.
fn is_copy(env: &DbtEnvironment, name: &str, variable: &str, value: &str) -> bool {
    env.name == name
        && !env.is_default_environment
        && env
            .variable(variable)
            .is_some_and(|v| !v.is_secret && v.value.as_deref() == Some(value))
}

/// Whether a 404's detail is about the environment rather than the connection.
fn about_environment(detail: Option<&str>) -> bool {
    detail.is_some_and(|d| {
        let d = d.to_ascii_lowercase();
        d.contains("environment") && !d.contains("connection")
    })
}

fn owner_allowed(kind: TokenKind) -> Result<()> {
    if kind == TokenKind::PersonalAccessToken {
        Err(Error::invalid(
            "ownerId",
            "is only valid with an Organization API key; with a Personal Access Token the owner \
             is always the authenticated user",
        ))
    } else {
        Ok(())
    }
}

/// The variables checked ([`validate_variables`]) and as the generated items; `None` when
/// there are none (the key is then not sent).
fn generated_variables(
    changes: &[VariableChange],
) -> Result<Option<Vec<types::DbtEnvironmentVariableUpdateOrNew>>> {
    validate_variables(changes)?;
    if changes.is_empty() {
        return Ok(None);
    }
    changes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            c.to_generated().map_err(|e| {
                Error::invalid(
                    format!("variables[{i}]"),
                    format!("breaks the spec's rule: {e}"),
                )
            })
        })
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

fn validate_variables(changes: &[VariableChange]) -> Result<()> {
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut ids: HashMap<Uuid, usize> = HashMap::new();
    for (i, change) in changes.iter().enumerate() {
        match change {
            VariableChange::New(v) => {
                let field = format!("variables[{i}].name");
                spec_rule::<types::DbtEnvironmentVariableName>(&field, v.name())?;
                if let Some(first) = names.insert(v.name(), i) {
                    return Err(Error::invalid(
                        field,
                        format!(
                            "\"{}\" is already used by variables[{first}]; names must be unique",
                            v.name()
                        ),
                    ));
                }
            }
            VariableChange::Existing(u) => {
                let field = format!("variables[{i}].id");
                nonnil(&field, u.id())?;
                if let Some(first) = ids.insert(u.id(), i) {
                    return Err(Error::invalid(
                        field,
                        format!(
                            "{} is already changed by variables[{first}]; change a variable once",
                            u.id()
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use omni_dbt_conformance::Spec;
    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;
    use crate::config::Token;

    /// What a caller asks an update to do, independent of the builder and of JSON.
    #[derive(Clone, Debug, PartialEq)]
    struct Intent {
        name: Option<String>,
        target_schema: Option<String>,
        owner_id: Patch<Uuid>,
        target_database: Patch<String>,
        target_name: Patch<String>,
        target_role: Patch<String>,
        variables: Vec<VariableIntent>,
    }

    #[derive(Clone, Debug, PartialEq)]
    enum VariableIntent {
        New {
            name: String,
            value: String,
            secret: bool,
        },
        Set {
            id: Uuid,
            value: String,
            secret: bool,
        },
        Keep {
            id: Uuid,
        },
    }

    fn patch<T: Clone + std::fmt::Debug>(
        value: impl Strategy<Value = T>,
    ) -> impl Strategy<Value = Patch<T>> {
        prop_oneof![
            Just(Patch::Unchanged),
            Just(Patch::Clear),
            value.prop_map(Patch::Set)
        ]
    }

    fn variable(i: usize) -> impl Strategy<Value = VariableIntent> {
        // Names and ids carry the index, so that every generated update is valid.
        let id = any::<u64>().prop_map(move |n| Uuid::from_u64_pair(i as u64 + 1, n));
        prop_oneof![
            ("[A-Za-z_][A-Za-z0-9_]{0,10}", "\\PC{0,12}", any::<bool>()).prop_map(
                move |(n, value, secret)| VariableIntent::New {
                    name: format!("{n}_{i}"),
                    value,
                    secret
                }
            ),
            (id.clone(), "\\PC{0,12}", any::<bool>())
                .prop_map(|(id, value, secret)| VariableIntent::Set { id, value, secret }),
            id.prop_map(|id| VariableIntent::Keep { id }),
        ]
    }

    fn intent() -> impl Strategy<Value = Intent> {
        let text = "\\PC{1,16}";
        (
            proptest::option::of(text),
            proptest::option::of(text),
            patch(any::<u128>().prop_map(|n| Uuid::from_u128(n | 1))),
            patch("\\PC{0,16}"),
            patch("\\PC{0,16}"),
            patch("\\PC{0,16}"),
            (0..6usize).prop_flat_map(|n| (0..n).map(variable).collect::<Vec<_>>()),
        )
            .prop_map(
                |(
                    name,
                    target_schema,
                    owner_id,
                    target_database,
                    target_name,
                    target_role,
                    variables,
                )| Intent {
                    name,
                    target_schema,
                    owner_id,
                    target_database,
                    target_name,
                    target_role,
                    variables,
                },
            )
            .prop_filter("an update changes something", |i| {
                i.name.is_some()
                    || i.target_schema.is_some()
                    || !i.owner_id.is_unchanged()
                    || !i.target_database.is_unchanged()
                    || !i.target_name.is_unchanged()
                    || !i.target_role.is_unchanged()
                    || !i.variables.is_empty()
            })
    }

    fn build(intent: &Intent) -> UpdateEnvironment {
        let client = Client::builder()
            .with_token(Token::organization_api_key("omni_osk_proptest"))
            .with_instance("proptest")
            .build()
            .unwrap();
        let mut update = client
            .dbt_environments(Uuid::from_u128(1))
            .update(Uuid::from_u128(2));
        if let Some(name) = &intent.name {
            update = update.name(name);
        }
        if let Some(schema) = &intent.target_schema {
            update = update.target_schema(schema);
        }
        update = update
            .owner_id(intent.owner_id.clone())
            .target_database(intent.target_database.clone())
            .target_name(intent.target_name.clone())
            .target_role(intent.target_role.clone());
        for v in &intent.variables {
            update = match v.clone() {
                VariableIntent::New {
                    name,
                    value,
                    secret: false,
                } => update.add_variable(name, value),
                VariableIntent::New {
                    name,
                    value,
                    secret: true,
                } => update.add_secret_variable(name, value),
                VariableIntent::Set {
                    id,
                    value,
                    secret: false,
                } => update.set_variable(id, value),
                VariableIntent::Set {
                    id,
                    value,
                    secret: true,
                } => update.set_secret_variable(id, value),
                VariableIntent::Keep { id } => update.keep_secret_variable(id),
            };
        }
        update
    }

    /// Reads the intent back out of the JSON on the wire.
    fn decode(body: &Value) -> Intent {
        let map = body.as_object().unwrap();
        let text = |key: &str| map.get(key).map(|v| v.as_str().unwrap().to_owned());
        let patch_text = |key: &str| match map.get(key) {
            None => Patch::Unchanged,
            Some(Value::Null) => Patch::Clear,
            Some(v) => Patch::Set(v.as_str().unwrap().to_owned()),
        };
        let owner_id = match map.get("ownerId") {
            None => Patch::Unchanged,
            Some(Value::Null) => Patch::Clear,
            Some(v) => Patch::Set(v.as_str().unwrap().parse().unwrap()),
        };
        let variables = map
            .get("variables")
            .map(|v| v.as_array().unwrap().clone())
            .unwrap_or_default()
            .iter()
            .map(|item| {
                let secret = item["isSecret"].as_bool().unwrap();
                match item.get("id") {
                    None => VariableIntent::New {
                        name: item["name"].as_str().unwrap().to_owned(),
                        value: item["value"].as_str().unwrap().to_owned(),
                        secret,
                    },
                    Some(id) => {
                        let id = id.as_str().unwrap().parse().unwrap();
                        match &item["value"] {
                            Value::Null => VariableIntent::Keep { id },
                            v => VariableIntent::Set {
                                id,
                                value: v.as_str().unwrap().to_owned(),
                                secret,
                            },
                        }
                    }
                }
            })
            .collect();
        Intent {
            name: text("name"),
            target_schema: text("targetSchema"),
            owner_id,
            target_database: patch_text("targetDatabase"),
            target_name: patch_text("targetName"),
            target_role: patch_text("targetRole"),
            variables,
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn every_valid_update_conforms_and_round_trips(intent in intent()) {
            let update = build(&intent);
            let sent = update.checked_body(update.body.clone(), &update.changes(None));
            prop_assert!(sent.is_ok(), "{:?}", sent);
            let body = serde_json::to_value(sent.unwrap()).unwrap();
            let conforms = Spec::bundled().check_request("connectionsDbtEnvironmentsUpdate", &body);
            prop_assert!(conforms.is_ok(), "{body}: {:?}", conforms);
            prop_assert_eq!(decode(&body), intent);
        }
    }
}
