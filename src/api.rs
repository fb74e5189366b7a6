//! The generated API: progenitor's client and types for every operation in the vendored spec
//! (`openapi/omni-dbt.json`), public as generated.
//!
//! [`Client::api`](crate::Client::api) hands out an [`api::Client`](Client) that sends through
//! the same hook as the ergonomic handles: auth, host policy, pacing, retries (GET, PUT and
//! DELETE are repeated on 429/502/503/504, timeouts and lost connections; POST and PATCH only
//! when no connection could be made, otherwise the error converts to
//! [`Error::OutcomeUnknown`](crate::Error::OutcomeUnknown)), the response-size cap and tracing.
//! It sends no `api-version` header (progenitor adds one, which Omni does not document:
//! generation leaves it out, and the hook removes it). Methods are named after the spec's
//! operationIds in snake case and take path parameters, then query parameters
//! (alphabetically), then the body. They return
//! [`Error`] (progenitor's, carrying Omni's `{detail, status}`); `?` converts it into
//! [`omni_dbt::Error`](crate::Error).
//!
//! ```no_run
//! # async fn demo(client: omni_dbt::Client, model: omni_dbt::Uuid, env: omni_dbt::Uuid) -> omni_dbt::Result<()> {
//! use omni_dbt::api::types::ModelsBranchDbtBody;
//!
//! let body = ModelsBranchDbtBody { dbt_environment_id: env, dbt_git_branch: None };
//! let answer = client
//!     .api()
//!     .models_branch_dbt()
//!     .model_id(model)
//!     .branch_name("pr-42")
//!     .body(body)
//!     .send()
//!     .await?;
//! assert!(answer.into_inner().success);
//! # Ok(()) }
//! ```
//!
//! Types are generated from the spec's schemas, except where generation would lose
//! information; those schemas are replaced by the crate's own models (listed in the crate's
//! `model` module docs: [`UpdateBody`](crate::UpdateBody), [`DbtEnvironment`](crate::DbtEnvironment),
//! [`Variable`](crate::Variable), [`Listing`](crate::Listing)). Generated types derive `Debug`
//! over every field: a request type holding a secret variable's value prints it, so log the
//! ergonomic builders (which redact) rather than these.

pub use progenitor_client::ResponseValue;

pub use crate::{
    context::CallContext,
    generated::{Client, types},
};

/// The error a generated method returns; `?` converts it into [`crate::Error`].
pub type Error = crate::mapping::ApiCallError;
