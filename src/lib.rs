//! A typed, safe client for Omni's dbt API: dbt environments, a connection's dbt
//! configuration, a model's dbt exposures and a model branch's dbt environment.
//!
//! The HTTP layer is generated at build time by [progenitor](https://docs.rs/progenitor) from
//! the OpenAPI document in `openapi/`; this crate adds what generation cannot: auth and host
//! policy, configuration the way Omni's CLI reads it, builders that validate before anything
//! is sent, tolerant response models, and one error type that says what to do next.
//!
//! ```no_run
//! use omni_dbt::{Client, Uuid};
//!
//! # async fn run() -> omni_dbt::Result<()> {
//! let client = Client::from_env()?; // OMNI_API_TOKEN + OMNI_BASE_URL, or the CLI's profile
//! let connection = Uuid::parse_str("5b2f8e0c-2a4e-4c47-9a55-0f4a8d6e1b21").unwrap();
//! let environment = Uuid::parse_str("0d6c1f7e-8b7a-4f7e-9d0e-3c8e2a1b4f55").unwrap();
//!
//! let env = client
//!     .dbt_environments(connection)
//!     .update(environment)
//!     .target_schema("dbt_pr_42")
//!     .clear_target_role()
//!     .put_secret_variable("DBT_PASSWORD", "s3cr3t")
//!     .send()
//!     .await?;
//! println!("{} -> {}", env.name, env.target_schema);
//! # Ok(()) }
//! ```
//!
//! To test code that uses this crate without a live Omni, the crate `omni-dbt-fake` (in this
//! repository, `crates/fake`) serves every operation above with Omni's rules, state, paging,
//! rate limit and injectable faults, in-process or as a standalone binary; the README's
//! "Testing your code: the fake Omni" shows how.
//!
//! Two levels, one hook (auth, host policy, pacing, retries, size cap, tracing) under both:
//!
//! | API | ergonomic handle | generated ([`Client::api`]) |
//! |---|---|---|
//! | `GET /v1/connections/{connectionId}/dbt/environments` | [`DbtEnvironments::list`] | `connections_dbt_environments_list` |
//! | `POST /v1/connections/{connectionId}/dbt/environments` | [`DbtEnvironments::create`] | `connections_dbt_environments_create` |
//! | `PUT /v1/connections/{connectionId}/dbt/environments/{environmentId}` | [`DbtEnvironments::update`] | `connections_dbt_environments_update` |
//! | `DELETE /v1/connections/{connectionId}/dbt/environments/{environmentId}` | [`DbtEnvironments::delete`] | `connections_dbt_environments_delete` |
//! | `GET /v1/connections/{connectionId}/dbt` | [`ConnectionDbt::config`] | `connections_dbt_get` |
//! | `PUT /v1/connections/{connectionId}/dbt` | [`ConnectionDbt::update_config`] | `connections_dbt_update` |
//! | `DELETE /v1/connections/{connectionId}/dbt` | [`ConnectionDbt::delete_config`] | `connections_dbt_delete` |
//! | `GET /v1/models/{modelId}/dbt-exposures` | [`Model::dbt_exposures`] | `models_dbt_exposures` |
//! | `POST /v1/models/{modelId}/branch/{branchName}/dbt` | [`ModelBranch::use_dbt_environment`] | `models_branch_dbt` |
//! | `GET /v1/models` (a branch by name) | [`ModelBranch::find`] | `models_list` |
//! | `POST /v1/models` (`modelKind: BRANCH`) | [`ModelBranch::create`] | `models_create` |
//! | `DELETE /v1/models/{modelId}/branch/{branchName}` | [`ModelBranch::delete`] | `models_delete_branch` |
//! | `GET /scim/v2/Users` (a user by email) | [`Users::by_email`] | `scim_users_list` |
//!
//! Any operation added to `openapi/operations.json` and pulled is a method of [`api::Client`]
//! with no hand-written code: `client.api().some_operation(…).await?`, or [`Client::call`].
//!
//! Every request emits one `tracing` event at debug level (operation, method, status,
//! duration); the `Authorization` header is marked sensitive and never logged.
//!
//! Cargo features, both off by default:
//! - `shared-rate-limit`: one rate limit across processes and machines, kept in Redis
//!   (`ClientBuilder::with_rate_limit_store`, `OMNI_RATE_LIMIT_STORE`).
//! - `http2`: offer HTTP/2 (ALPN `h2`) beside HTTP/1.1. At Omni's per-key rate limit HTTP/1.1
//!   keep-alive carries every call as well; h2 adds ~7 s of CPU to a clean build.
#![warn(missing_docs)]

mod adopt;
pub mod api;
mod branches;
mod bulk;
mod call;
mod client;
mod config;
mod context;
mod data;
mod dbt_config;
mod decode;
mod environments;
mod error;
pub mod fields;
mod generated;
mod hook;
mod lease;
mod mapping;
mod models;
mod pacing;
mod paging;
mod patch;
mod path;
mod profile;
mod retry;
mod stats;
#[cfg(feature = "shared-rate-limit")]
mod store;
mod tls;
mod users;
mod validate;

pub use branches::{CreateBranch, DeleteBranch, FindBranch};
pub use bulk::{Bulk, Progress, SendRequest};
pub use client::Client;
pub use config::{
    ClientBuilder, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, Resolved,
    Settings, Token, TokenKind,
};
pub use data::{
    DbtEnvironment, Deleted, IntoPatch, Listing, NewVariable, Page, Patch, SortDirection,
    UpdateBody, Variable, VariableChange, VariableUpdate, WirePageInfo,
};
pub use dbt_config::{ConnectionDbt, DeleteDbtConfig, GetDbtConfig, UpdateDbtConfig};
pub use environments::{
    CreateEnvironment, DbtEnvironments, DeleteEnvironment, ListEnvironments, UpdateEnvironment,
};
pub use error::{BoxError, Error, Result, TransportKind};
pub use lease::{LEASE_TTL, Lease, MIN_LEASE_TTL};
pub use models::{ListExposures, Model, ModelBranch, UseDbtEnvironment};
pub use pacing::RateLimit;
pub use profile::{ENV_BASE_URL, ENV_CONFIG_PATH, ENV_RATE_LIMIT_STORE, ENV_TOKEN};
pub use retry::RetryPolicy;
pub use stats::RequestStats;
pub use users::{FindUser, Users};
pub use uuid::Uuid;

/// The README's examples, compiled as doctests so that they cannot rot.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
