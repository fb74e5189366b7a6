//! The client: configuration resolved once into the shared core, and the generated API. The
//! resource handles (`client.dbt_environments(..)`, …) are made in their own modules.

use std::{fmt, future::Future, sync::Arc};

use progenitor_client::ResponseValue;
use reqwest::header::{AUTHORIZATION, HeaderMap};
use url::Url;

use crate::{
    config::{ClientBuilder, TokenKind, is_loopback},
    context::{CallContext, CallOptions, Shared},
    error::{Error, Result},
    generated,
    mapping::ApiCallError,
    pacing::Pacer,
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
    pub(crate) shared: Arc<Shared>,
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

    /// What this client's requests (and its clones') have come to so far: requests, retries,
    /// 429s, the time spent waiting for the rate limit, the shared store's part. One line of it
    /// at the end of a pipeline says whether it was slow because of the limit.
    pub fn stats(&self) -> crate::RequestStats {
        self.shared.stats.snapshot()
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

impl ClientBuilder {
    /// Resolves token and location, checks the host policy, and builds the client.
    pub fn build(self) -> Result<Client> {
        let (token, resolved) = self.resolve_with_token()?;
        #[cfg(not(feature = "shared-rate-limit"))]
        if self.use_env() && std::env::var_os(crate::profile::ENV_RATE_LIMIT_STORE).is_some() {
            tracing::warn!(
                "{} is set, but omni-dbt was built without its `shared-rate-limit` feature: pacing locally",
                crate::profile::ENV_RATE_LIMIT_STORE
            );
        }
        let token_origin = resolved.token_from.clone();
        let base_url = Url::parse(&resolved.base_url)
            .map_err(|e| Error::config(&resolved.base_url_from, e.to_string()))?;
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, token.header(&token_origin)?);

        let mut http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("omni-dbt/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            // A redirect would carry the request somewhere the host policy did not approve.
            .redirect(reqwest::redirect::Policy::none())
            .https_only(base_url.scheme() == "https")
            .tls_backend_preconfigured(crate::tls::client_config()?);
        if is_loopback(&base_url) {
            // A proxy must not see (or break) traffic meant for a local test server.
            http = http.no_proxy();
        }
        let http = http.build().map_err(|e| {
            Error::config(
                "HTTP client",
                format!("cannot initialise the HTTP/TLS stack: {e}"),
            )
        })?;

        #[cfg(feature = "shared-rate-limit")]
        let store = match self.rate_limit_store() {
            Some((url, origin)) => Some(Arc::new(crate::store::StorePacer::new(
                &url,
                &origin,
                &token.secret,
                self.rate_limit.unwrap_or_default(),
            )?)),
            None => None,
        };
        #[cfg(feature = "shared-rate-limit")]
        let stats = crate::stats::Counters::new(store.is_some());
        #[cfg(not(feature = "shared-rate-limit"))]
        let stats = crate::stats::Counters::new(false);
        Ok(Client::from_shared(Arc::new(Shared {
            base_url: resolved.base_url,
            http,
            token_kind: token.kind(),
            retry: self.retry,
            pacer: self
                .rate_limit
                .map(|limit| Pacer::shared(token.secret.trim(), limit)),
            max_response_bytes: self.max_response_bytes,
            timeout: self.timeout,
            operation_timeout: self.operation_timeout,
            #[cfg(feature = "shared-rate-limit")]
            store,
            stats,
        })))
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
