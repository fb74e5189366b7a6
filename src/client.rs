//! The client: shared configuration plus the per-call bridge into the generated code.

use std::{fmt, sync::Arc};

use uuid::Uuid;

use crate::{
    config::{ClientBuilder, TokenKind},
    environments::DbtEnvironments,
    error::Result,
    generated,
    pacing::Pacer,
    retry::RetryPolicy,
    transport::{CallContext, CallOptions},
};

/// A client for Omni's dbt-environment API. Cheap to clone; clones share connections.
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

/// What every call of one client shares.
pub(crate) struct Shared {
    /// Normalised, without a trailing slash, e.g. `https://acme.omniapp.co/api`.
    pub base_url: String,
    /// Carries the `Authorization` header (marked sensitive) as a default header.
    pub http: reqwest::Client,
    pub token_kind: TokenKind,
    pub retry: RetryPolicy,
    /// `None` when pacing is off.
    pub pacer: Option<Arc<Pacer>>,
    pub max_response_bytes: usize,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("base_url", &self.base_url)
            .field("token_kind", &self.token_kind)
            .field("retry", &self.retry)
            .field("pacer", &self.pacer)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish_non_exhaustive()
    }
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

    /// A generated client for one call, with a fresh context that records what came back.
    pub(crate) fn call(&self, options: CallOptions) -> (generated::Client, CallContext) {
        let context = CallContext::new(self.shared.clone(), options);
        let client = generated::Client::new_with_client(
            &self.shared.base_url,
            self.shared.http.clone(),
            context.clone(),
        );
        (client, context)
    }
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
