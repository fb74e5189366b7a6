//! The client: configuration resolved once, handles for each resource, and the generated API.

use std::{fmt, future::Future, sync::Arc};

use progenitor_client::ResponseValue;
use uuid::Uuid;

use crate::{
    config::{ClientBuilder, TokenKind},
    dbt_config::ConnectionDbt,
    environments::DbtEnvironments,
    error::{ApiCallError, Error, Result},
    generated,
    models::Model,
    runtime::{CallContext, CallOptions, Shared},
};

/// A client for Omni's dbt API. Cheap to clone; clones share connections and pacing.
///
/// ```
/// use omni_dbt::{Client, Token, Uuid};
///
/// let client = Client::builder()
///     .with_token(Token::personal_access_token("omni_pat_example"))
///     .with_base_url("https://acme.omniapp.co")
///     .build()?;
/// let environments = client.dbt_environments(Uuid::new_v4());
/// # let _ = environments;
/// # Ok::<(), omni_dbt::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    shared: Arc<Shared>,
}

impl Client {
    /// A builder with nothing set.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::new()
    }

    /// A client configured the way Omni's CLI is: `OMNI_API_TOKEN` and `OMNI_BASE_URL`, falling
    /// back to the default profile of the CLI's profile file.
    pub fn from_env() -> Result<Self> {
        ClientBuilder::new().with_env().build()
    }

    pub(crate) fn from_shared(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// The normalised base URL, e.g. `https://acme.omniapp.co/api`.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// The kind of token this client sends.
    pub fn token_kind(&self) -> TokenKind {
        self.shared.token_kind
    }

    /// The dbt environments of one connection.
    pub fn dbt_environments(&self, connection_id: Uuid) -> DbtEnvironments {
        DbtEnvironments::new(self.clone(), connection_id)
    }

    /// The dbt configuration of one connection (`/v1/connections/{connectionId}/dbt`).
    pub fn dbt(&self, connection_id: Uuid) -> ConnectionDbt {
        ConnectionDbt::new(self.clone(), connection_id)
    }

    /// One model: its dbt exposures and its branches' dbt environments.
    pub fn model(&self, model_id: Uuid) -> Model {
        Model::new(self.clone(), model_id)
    }

    /// The generated client for every operation in the vendored spec, sending through this
    /// client's hook: auth, host policy, pacing, retries (by HTTP method: GET, PUT and DELETE
    /// are repeated; POST and PATCH only when no connection could be made), the response-size
    /// cap and tracing. Its methods return [`api::Error`](crate::api::Error); `?` converts it
    /// into [`Error`].
    ///
    /// ```no_run
    /// # async fn demo(client: omni_dbt::Client, connection: omni_dbt::Uuid) -> omni_dbt::Result<()> {
    /// let answer = client.api().connections_dbt_get().connection_id(connection).send().await?;
    /// println!("{:?}", answer.into_inner());
    /// # Ok(()) }
    /// ```
    pub fn api(&self) -> generated::Client {
        generated::Client::new_with_client(
            &self.shared.base_url,
            self.shared.http.clone(),
            CallContext::shared(self.shared.clone()),
        )
    }

    /// Makes one call through the generated client and maps its error with everything the
    /// hook saw (attempts, the status of an undecodable answer). For operations that have no
    /// ergonomic handle; the result is the same as `?` on [`api`](Self::api), with more detail.
    ///
    /// ```no_run
    /// # async fn demo(client: omni_dbt::Client, model: omni_dbt::Uuid) -> omni_dbt::Result<()> {
    /// let page = client
    ///     .call(|api| async move { api.models_dbt_exposures().model_id(model).send().await })
    ///     .await?;
    /// println!("{} exposures", page.records.len());
    /// # Ok(()) }
    /// ```
    pub async fn call<T, F, Fut>(&self, f: F) -> Result<T>
    where
        F: FnOnce(generated::Client) -> Fut,
        Fut: Future<Output = std::result::Result<ResponseValue<T>, ApiCallError>>,
    {
        let (api, context) = self.one_call(CallOptions::default());
        Ok(finish(f(api).await, &context)?.into_inner())
    }

    /// A generated client for one call, with a fresh context that records what came back.
    pub(crate) fn one_call(&self, options: CallOptions) -> (generated::Client, CallContext) {
        let context = CallContext::one_call(self.shared.clone(), options);
        let client = generated::Client::new_with_client(
            &self.shared.base_url,
            self.shared.http.clone(),
            context.clone(),
        );
        (client, context)
    }
}

/// Turns what a generated call returned into ours, using what the hook recorded.
pub(crate) fn finish<T>(
    result: std::result::Result<ResponseValue<T>, ApiCallError>,
    context: &CallContext,
) -> Result<ResponseValue<T>> {
    result.map_err(|e| Error::from_api(e, &context.record()))
}

/// A success answer that says `success: false` breaks the contract: an
/// [`Error::UnexpectedResponse`] carrying Omni's message (or saying what it answered).
pub(crate) fn confirmed(success: bool, status: u16, message: Option<&str>) -> Result<()> {
    if success {
        return Ok(());
    }
    let detail = match message {
        Some(m) if !m.is_empty() => m.to_owned(),
        _ => "Omni answered success: false".to_owned(),
    };
    Err(Error::UnexpectedResponse {
        status,
        detail: Some(detail),
    })
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.shared.base_url)
            .field("token_kind", &self.shared.token_kind)
            .field("token", &"<redacted>")
            .field("retry", &self.shared.retry)
            .field("rate_limit", &self.shared.pacer.as_ref().map(|p| p.limit()))
            .finish()
    }
}
