//! The connection's dbt configuration: `GET`, `PUT` and `DELETE`
//! `/v1/connections/{connectionId}/dbt`.

use uuid::Uuid;

use crate::{
    call::Call,
    client::{Client, confirmed},
    error::{Error, Result},
    generated::types::{
        ConnectionsDbtDeleteResponse, ConnectionsDbtGetResponse, ConnectionsDbtUpdateBody,
        ConnectionsDbtUpdateResponse,
    },
    validate::{nonnil, spec_rule},
};

impl Client {
    /// The dbt configuration of one connection (`/v1/connections/{connectionId}/dbt`).
    pub fn dbt(&self, connection_id: Uuid) -> ConnectionDbt {
        ConnectionDbt::new(self.clone(), connection_id)
    }
}

/// The dbt configuration of one connection. Made by [`Client::dbt`].
///
/// ```no_run
/// # async fn demo(client: omni_dbt::Client, connection: omni_dbt::Uuid) -> omni_dbt::Result<()> {
/// use omni_dbt::api::types::ConnectionsDbtGetResponse;
///
/// match client.dbt(connection).config().send().await? {
///     ConnectionsDbtGetResponse::ConfiguredResponse { ssh_url, branch, .. } => {
///         println!("{ssh_url} on {branch}")
///     }
///     ConnectionsDbtGetResponse::NotConfiguredResponse { message, .. } => println!("no dbt: {message}"),
/// }
/// client
///     .dbt(connection)
///     .update_config("git@github.com:acme/analytics.git", "main")
///     .autogen_relationships(true)
///     .enable_virtual_schemas(false)
///     .project_root_path("dbt_project")
///     .send()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ConnectionDbt {
    client: Client,
    connection_id: Uuid,
}

impl ConnectionDbt {
    pub(crate) fn new(client: Client, connection_id: Uuid) -> Self {
        Self {
            client,
            connection_id,
        }
    }

    /// The connection.
    pub fn connection_id(&self) -> Uuid {
        self.connection_id
    }

    /// Read the configuration (`GET .../dbt`): the configuration, or Omni's message when the
    /// connection has none.
    pub fn config(&self) -> GetDbtConfig {
        GetDbtConfig {
            call: Call::new(&self.client),
            connection_id: self.connection_id,
        }
    }

    /// Store the configuration (`PUT .../dbt`). Omni requires `sshUrl`, `branch`,
    /// `autogenRelationships` and `enableVirtualSchemas`: set the two booleans on the builder
    /// (it refuses to guess them).
    pub fn update_config(
        &self,
        ssh_url: impl Into<String>,
        branch: impl Into<String>,
    ) -> UpdateDbtConfig {
        UpdateDbtConfig {
            call: Call::new(&self.client),
            connection_id: self.connection_id,
            ssh_url: ssh_url.into(),
            branch: branch.into(),
            autogen_relationships: None,
            enable_virtual_schemas: None,
            dbt_version: None,
            enable_semantic_layer: None,
            rotate_keys: None,
            project_root_path: None,
        }
    }

    /// Remove the configuration (`DELETE .../dbt`); [`Error::NotFound`] when there is none.
    pub fn delete_config(&self) -> DeleteDbtConfig {
        DeleteDbtConfig {
            call: Call::new(&self.client),
            connection_id: self.connection_id,
        }
    }
}

/// Reads a connection's dbt configuration. Built by [`ConnectionDbt::config`].
#[derive(Clone, Debug)]
#[must_use = "nothing is sent until `send`"]
pub struct GetDbtConfig {
    call: Call,
    connection_id: Uuid,
}

impl GetDbtConfig {
    crate::call::timeout_setter!();

    /// Sends the request.
    pub async fn send(self) -> Result<ConnectionsDbtGetResponse> {
        nonnil("connectionId", self.connection_id)?;
        let answer = crate::call::send!(self.call, |api| api
            .connections_dbt_get()
            .connection_id(self.connection_id)
            .send())?;
        Ok(answer.into_inner())
    }
}

/// Stores a connection's dbt configuration. Built by [`ConnectionDbt::update_config`].
#[derive(Clone, Debug)]
#[must_use = "nothing is sent until `send`"]
pub struct UpdateDbtConfig {
    call: Call,
    connection_id: Uuid,
    ssh_url: String,
    branch: String,
    autogen_relationships: Option<bool>,
    enable_virtual_schemas: Option<bool>,
    dbt_version: Option<String>,
    enable_semantic_layer: Option<bool>,
    rotate_keys: Option<bool>,
    project_root_path: Option<String>,
}

impl UpdateDbtConfig {
    crate::call::timeout_setter!();

    /// Whether Omni generates relationships from dbt (required).
    pub fn autogen_relationships(mut self, on: bool) -> Self {
        self.autogen_relationships = Some(on);
        self
    }

    /// Whether virtual schemas are enabled (required).
    pub fn enable_virtual_schemas(mut self, on: bool) -> Self {
        self.enable_virtual_schemas = Some(on);
        self
    }

    /// The dbt version (omitted: Omni's default).
    pub fn dbt_version(mut self, version: impl Into<String>) -> Self {
        self.dbt_version = Some(version.into());
        self
    }

    /// Enable the dbt semantic layer (not sent unless called; Omni's default is off).
    pub fn enable_semantic_layer(mut self, on: bool) -> Self {
        self.enable_semantic_layer = Some(on);
        self
    }

    /// Generate a new deploy key pair (not sent unless called; Omni's default is off).
    pub fn rotate_keys(mut self, on: bool) -> Self {
        self.rotate_keys = Some(on);
        self
    }

    /// The dbt project's folder in the repository (omitted or `""`: the root). The spec's
    /// pattern applies: relative (no leading `/`) and without `..`.
    pub fn project_root_path(mut self, path: impl Into<String>) -> Self {
        self.project_root_path = Some(path.into());
        self
    }

    fn body(&self) -> Result<ConnectionsDbtUpdateBody> {
        nonnil("connectionId", self.connection_id)?;
        let required = |field: &str, value: Option<bool>| {
            value.ok_or_else(|| {
                Error::invalid(
                    field,
                    "is required by Omni: set it to true or false on the builder",
                )
            })
        };
        Ok(ConnectionsDbtUpdateBody {
            ssh_url: spec_rule("sshUrl", &self.ssh_url)?,
            branch: spec_rule("branch", &self.branch)?,
            autogen_relationships: required("autogenRelationships", self.autogen_relationships)?,
            enable_virtual_schemas: required("enableVirtualSchemas", self.enable_virtual_schemas)?,
            dbt_version: self.dbt_version.clone(),
            enable_semantic_layer: self.enable_semantic_layer,
            rotate_keys: self.rotate_keys,
            project_root_path: self
                .project_root_path
                .as_deref()
                .map(|p| spec_rule("projectRootPath", p))
                .transpose()?,
        })
    }

    /// Validates and sends the configuration. `success: false` is
    /// [`Error::UnexpectedResponse`].
    pub async fn send(self) -> Result<ConnectionsDbtUpdateResponse> {
        let body = self.body()?;
        let value = crate::call::send!(self.call, |api| api
            .connections_dbt_update()
            .connection_id(self.connection_id)
            .body(body)
            .send())?;
        let status = value.status().as_u16();
        let answer = value.into_inner();
        confirmed(answer.success, status, Some(&answer.message))?;
        Ok(answer)
    }
}

/// Removes a connection's dbt configuration. Built by [`ConnectionDbt::delete_config`].
#[derive(Clone, Debug)]
#[must_use = "nothing is sent until `send`"]
pub struct DeleteDbtConfig {
    call: Call,
    connection_id: Uuid,
}

impl DeleteDbtConfig {
    crate::call::timeout_setter!();

    /// Sends the delete. `success: false` is [`Error::UnexpectedResponse`].
    pub async fn send(self) -> Result<ConnectionsDbtDeleteResponse> {
        nonnil("connectionId", self.connection_id)?;
        let value = crate::call::send!(self.call, |api| api
            .connections_dbt_delete()
            .connection_id(self.connection_id)
            .send())?;
        let status = value.status().as_u16();
        let answer = value.into_inner();
        confirmed(answer.success, status, Some(&answer.message))?;
        Ok(answer)
    }
}
