//! The connection's dbt configuration: `GET`, `PUT` and `DELETE`
//! `/v1/connections/{connectionId}/dbt`.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::{
    call::Call,
    client::{Client, confirmed},
    error::{Error, Result},
    fields::{self, Kind, Property},
    generated::paths,
    generated::types::{
        self, ConnectionsDbtDeleteResponse, ConnectionsDbtGetResponse, ConnectionsDbtUpdateBody,
        ConnectionsDbtUpdateResponse,
    },
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
            path: paths::ConnectionsDbtGet {
                connection_id: self.connection_id,
            },
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
        self.update_config_by_name()
            .with("sshUrl", Value::String(ssh_url.into()))
            .with("branch", Value::String(branch.into()))
    }

    /// Store the configuration (`PUT .../dbt`), every property set by the spec's name with
    /// [`UpdateDbtConfig::set_property`]: for tools driven by [`fields::dbt_config`] (the
    /// `omni-dbt dbt set` command), so a property Omni adds can be set with no new code.
    ///
    /// ```no_run
    /// # async fn demo(client: omni_dbt::Client, connection: omni_dbt::Uuid) -> omni_dbt::Result<()> {
    /// use serde_json::json;
    ///
    /// client
    ///     .dbt(connection)
    ///     .update_config_by_name()
    ///     .set_property("sshUrl", json!("git@github.com:acme/analytics.git"))?
    ///     .set_property("branch", json!("main"))?
    ///     .set_property("autogenRelationships", json!(true))?
    ///     .set_property("enableVirtualSchemas", json!(false))?
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn update_config_by_name(&self) -> UpdateDbtConfig {
        UpdateDbtConfig {
            call: Call::new(&self.client),
            path: paths::ConnectionsDbtUpdate {
                connection_id: self.connection_id,
            },
            body: Map::new(),
        }
    }

    /// Remove the configuration (`DELETE .../dbt`); [`Error::NotFound`] when there is none.
    pub fn delete_config(&self) -> DeleteDbtConfig {
        DeleteDbtConfig {
            call: Call::new(&self.client),
            path: paths::ConnectionsDbtDelete {
                connection_id: self.connection_id,
            },
        }
    }
}

crate::call::builder! {
    /// Reads a connection's dbt configuration. Built by [`ConnectionDbt::config`].
    #[must_use = "nothing is sent until `send`"]
    pub struct GetDbtConfig for ConnectionsDbtGet {}
}

impl GetDbtConfig {
    /// Sends the request.
    pub async fn send(self) -> Result<ConnectionsDbtGetResponse> {
        let answer = crate::call::send!(self.call, self.path, |request| request.send())?;
        Ok(answer.into_inner())
    }
}

crate::call::builder! {
    /// Stores a connection's dbt configuration. Built by [`ConnectionDbt::update_config`] or
    /// [`ConnectionDbt::update_config_by_name`]. Only what is set is sent (a `default` in the spec
    /// is what Omni does when a property is left out, not a value to write); every value is
    /// checked against the spec's rules ([`fields::dbt_config`]) before anything is sent.
    #[must_use = "nothing is sent until `send`"]
    pub struct UpdateDbtConfig for ConnectionsDbtUpdate {
        /// The properties set, by the spec's names.
        body: Map<String, Value>,
    }
}

impl UpdateDbtConfig {
    fn with(mut self, property: &str, value: Value) -> Self {
        self.body.insert(property.to_owned(), value);
        self
    }

    /// Sets the property the spec names `property` (`sshUrl`, `enableSemanticLayer`, ...;
    /// `null` for a nullable one). [`Error::InvalidInput`] names it when the configuration has
    /// no such property, or the value breaks the spec's rule for it; nothing is sent then.
    pub fn set_property(self, property: &str, value: Value) -> Result<Self> {
        let row = row(property)?;
        row.check(&value)
            .map_err(|rule| Error::invalid(row.json, rule))?;
        Ok(self.with(row.json, value))
    }

    // A setter for every property the body takes (generated from the spec's table).
    types::dbt_config_setters!();

    /// The body, every value checked against the spec's rules and every required property
    /// present (the error names the first that is not).
    fn body(&self) -> Result<ConnectionsDbtUpdateBody> {
        for row in fields::dbt_config().iter().filter(|r| r.in_update) {
            match self.body.get(row.json) {
                Some(value) => row
                    .check(value)
                    .map_err(|rule| Error::invalid(row.json, rule))?,
                None if row.required => {
                    let how = match row.kind {
                        Kind::Boolean => "set it to true or false on the builder",
                        _ => "set it on the builder",
                    };
                    return Err(Error::invalid(
                        row.json,
                        format!("is required by Omni: {how}"),
                    ));
                }
                None => {}
            }
        }
        serde_json::from_value(Value::Object(self.body.clone()))
            .map_err(|e| Error::invalid("body", format!("does not fit the spec's body: {e}")))
    }

    /// Validates and sends the configuration. `success: false` is
    /// [`Error::UnexpectedResponse`].
    pub async fn send(self) -> Result<ConnectionsDbtUpdateResponse> {
        let body = self.body()?;
        let value = crate::call::send!(self.call, self.path, |request| request.body(body).send())?;
        let status = value.status().as_u16();
        let answer = value.into_inner();
        confirmed(answer.success, status, Some(&answer.message))?;
        Ok(answer)
    }
}

/// The configuration's property the spec names `property`.
fn row(property: &str) -> Result<&'static Property> {
    fields::dbt_config()
        .iter()
        .find(|r| r.json == property && r.in_update)
        .ok_or_else(|| {
            let known: Vec<&str> = fields::dbt_config().iter().map(|r| r.json).collect();
            Error::invalid(
                property,
                format!(
                    "is not a property of the dbt configuration (the spec has: {})",
                    known.join(", ")
                ),
            )
        })
}

crate::call::builder! {
    /// Removes a connection's dbt configuration. Built by [`ConnectionDbt::delete_config`].
    #[must_use = "nothing is sent until `send`"]
    pub struct DeleteDbtConfig for ConnectionsDbtDelete {}
}

impl DeleteDbtConfig {
    /// Sends the delete. `success: false` is [`Error::UnexpectedResponse`].
    pub async fn send(self) -> Result<ConnectionsDbtDeleteResponse> {
        let value = crate::call::send!(self.call, self.path, |request| request.send())?;
        let status = value.status().as_u16();
        let answer = value.into_inner();
        confirmed(answer.success, status, Some(&answer.message))?;
        Ok(answer)
    }
}
