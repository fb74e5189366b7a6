//! A stateful fake of Omni's dbt API, for tests that must not touch a real instance and for
//! the quickstart.
//!
//! It keeps dbt environments, each connection's dbt configuration, and models (branches and
//! dbt exposures) in memory and enforces Omni's documented rules (auth, Connection Admin
//! permission, every body rule with Omni's `{detail, status}` errors), emulates the rate
//! limit, injects faults per operation, records every request in a journal, and checks every
//! exchange against the vendored spec.
//!
//! Decisions where Omni documents nothing:
//! - Deleting a dbt environment that a model branch reads from succeeds and points the branch
//!   back at the connection's default environment (a pull request's preview can be torn down
//!   in any order).
//! - Deleting a connection's dbt configuration keeps its environments.
//! - `GET .../dbt` on a connection without dbt answers 200 with `{message, supportsDbt}` (the
//!   spec's second `anyOf` branch); the other operations answer 403 there.
//! - Pointing a branch at an environment of another connection is a 400 naming
//!   `dbt_environment_id`; an unknown branch or model is a 404.
//! - `POST /v1/models` creates branches only (`modelKind: BRANCH` of a shared model of the
//!   same connection); other kinds are a 400. A branch name the model already has is answered
//!   `200 {success: false, error}`, the spec's way of refusing a creation.
//! - `GET /v1/models` filters by exact name; `name`, `modelKind` and the ids combine with AND.
//!   Deleted branches are listed only with `includeDeleted`.
//! - `GET /scim/v2/Users` takes Organization API keys only (401 for a personal token) and
//!   understands one filter, `userName eq "…"`; the seeded users are
//!   [`ADMIN_USER_EMAIL`] and [`OTHER_USER_EMAIL`].
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> std::io::Result<()> {
//! use omni_dbt_fake::FakeOmni;
//!
//! let fake = FakeOmni::builder().start().await?;
//! assert!(fake.base_url().starts_with("http://127.0.0.1:"));
//! assert!(fake.base_url().ends_with("/api"));
//! assert_eq!(fake.journal().len(), 0);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

mod percent;
mod server;
mod state;

use std::{collections::HashMap, fmt, io, net::SocketAddr, sync::Arc, time::Duration};

use serde_json::Value;
use tokio::{net::TcpListener, sync::watch};
use uuid::Uuid;

pub use omni_dbt_conformance::Spec;

/// A random (version 4) id. From `fastrand`, not the OS: ids and fake tokens only need to be
/// distinct, and this leaves `uuid`'s `v4` feature (and a second `getrandom`) out of the tree.
pub(crate) fn new_id() -> Uuid {
    let mut bytes = [0u8; 16];
    fastrand::fill(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}
pub use state::ListShape;

use server::{RateLimit, Settings, Shared, lock};
use state::{Principal, Store};

/// One of the operations the fake serves, for fault injection and journal entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// `GET .../dbt/environments`
    List,
    /// `POST .../dbt/environments`
    Create,
    /// `PUT .../dbt/environments/{environmentId}`
    Update,
    /// `DELETE .../dbt/environments/{environmentId}`
    Delete,
    /// `GET /v1/connections/{connectionId}/dbt`
    DbtConfigGet,
    /// `PUT /v1/connections/{connectionId}/dbt`
    DbtConfigUpdate,
    /// `DELETE /v1/connections/{connectionId}/dbt`
    DbtConfigDelete,
    /// `GET /v1/models/{modelId}/dbt-exposures`
    DbtExposures,
    /// `GET /v1/models`
    ModelsList,
    /// `POST /v1/models` (the fake creates branches: `modelKind: BRANCH`)
    ModelsCreate,
    /// `DELETE /v1/models/{modelId}/branch/{branchName}`
    DeleteBranch,
    /// `POST /v1/models/{modelId}/branch/{branchName}/dbt`
    BranchDbt,
    /// `POST /v1/models/{modelId}/refresh`
    Refresh,
    /// `GET /v1/jobs/{jobId}/status`
    JobStatus,
    /// `POST /v1/models/{modelId}/dbt-sync` (Omni's later release: served only when the
    /// vendored spec has it, as an instance of an older release answers 404)
    DbtSync,
    /// `GET /scim/v2/Users` (Organization API keys only)
    ScimUsers,
}

impl Operation {
    /// Every operation, in the spec's order.
    pub const ALL: [Operation; 16] = [
        Operation::List,
        Operation::Create,
        Operation::Update,
        Operation::Delete,
        Operation::DbtConfigGet,
        Operation::DbtConfigUpdate,
        Operation::DbtConfigDelete,
        Operation::DbtExposures,
        Operation::ModelsList,
        Operation::ModelsCreate,
        Operation::DeleteBranch,
        Operation::BranchDbt,
        Operation::Refresh,
        Operation::JobStatus,
        Operation::ScimUsers,
        Operation::DbtSync,
    ];

    /// The operationId in the spec.
    pub fn operation_id(self) -> &'static str {
        match self {
            Operation::List => "connectionsDbtEnvironmentsList",
            Operation::Create => "connectionsDbtEnvironmentsCreate",
            Operation::Update => "connectionsDbtEnvironmentsUpdate",
            Operation::Delete => "connectionsDbtEnvironmentsDelete",
            Operation::DbtConfigGet => "connectionsDbtGet",
            Operation::DbtConfigUpdate => "connectionsDbtUpdate",
            Operation::DbtConfigDelete => "connectionsDbtDelete",
            Operation::DbtExposures => "modelsDbtExposures",
            Operation::ModelsList => "modelsList",
            Operation::ModelsCreate => "modelsCreate",
            Operation::DeleteBranch => "modelsDeleteBranch",
            Operation::BranchDbt => "modelsBranchDbt",
            Operation::Refresh => "modelsRefresh",
            Operation::JobStatus => "jobsGetStatus",
            Operation::ScimUsers => "scimUsersList",
            Operation::DbtSync => "modelsDbtSync",
        }
    }

    /// Whether the operation takes a JSON body.
    pub fn has_body(self) -> bool {
        matches!(
            self,
            Operation::Create
                | Operation::Update
                | Operation::DbtConfigUpdate
                | Operation::ModelsCreate
                | Operation::BranchDbt
        )
    }
}

/// A fault to inject into the answers to one operation.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// Delay every answer by this much (until replaced).
    Latency(Duration),
    /// The next `times` answers are this status with Omni's error body and no effect.
    Status {
        /// The HTTP status, e.g. 503 or 429.
        status: u16,
        /// How many answers.
        times: u32,
        /// `Retry-After` seconds to send with it.
        retry_after: Option<u64>,
    },
    /// The next `times` requests are read, then the connection is closed with no effect.
    DropConnection {
        /// How many requests.
        times: u32,
    },
    /// The next `times` requests take effect, then the connection is closed without an answer.
    DropAfterProcessing {
        /// How many requests.
        times: u32,
    },
    /// The next `times` requests take effect and their answer is cut off halfway.
    TruncatedBody {
        /// How many requests.
        times: u32,
    },
    /// The next `times` requests take effect and their answer is an HTML page.
    NonJsonBody {
        /// How many requests.
        times: u32,
    },
}

impl Fault {
    /// The next `times` answers are `status`.
    pub fn status(status: u16, times: u32) -> Self {
        Fault::Status {
            status,
            times,
            retry_after: None,
        }
    }

    /// The next `times` answers are 429, with `Retry-After` when given.
    pub fn rate_limited(times: u32, retry_after: Option<u64>) -> Self {
        Fault::Status {
            status: 429,
            times,
            retry_after,
        }
    }

    fn times(&self) -> u32 {
        match self {
            Fault::Latency(_) => 0,
            Fault::Status { times, .. }
            | Fault::DropConnection { times }
            | Fault::DropAfterProcessing { times }
            | Fault::TruncatedBody { times }
            | Fault::NonJsonBody { times } => *times,
        }
    }
}

/// One request the fake received.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct JournalEntry {
    /// `GET`, `PUT`, ...
    pub method: String,
    /// The path, e.g. `/api/v1/connections/.../dbt/environments`.
    pub path: String,
    /// The query string, if any.
    pub query: Option<String>,
    /// Every header in the order received; `authorization` reads `Bearer <redacted>`.
    pub headers: Vec<(String, String)>,
    /// The body as text (empty when there was none); secret variable values read
    /// `<redacted>`.
    pub body: String,
    /// The operation, when the path and method are one of [`Operation::ALL`].
    pub operation: Option<Operation>,
    /// Which seeded token sent it: `organization-api-key`, `pat-admin` or `pat-without-admin`.
    pub principal: Option<&'static str>,
    /// The status answered; `None` when the connection was dropped without an answer.
    pub status: Option<u16>,
}

impl JournalEntry {
    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// The first value of a header (names are lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The email (SCIM `userName`) of [`FakeOmni::admin_user`], the user of [`Tokens::pat_admin`].
pub const ADMIN_USER_EMAIL: &str = "ada@example.com";
/// The email of the user of [`Tokens::pat_without_admin`].
pub const OTHER_USER_EMAIL: &str = "grace@example.com";

/// The branch every seeded model has.
pub const SEEDED_BRANCH: &str = "dev";
/// How many dbt exposures the seeded model has (enough for several pages).
pub const SEEDED_EXPOSURES: usize = 7;

/// What a model branch reads from. See [`FakeOmni::branch`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BranchState {
    /// The branch's id (the `branch_id` of the exposures list).
    pub id: Uuid,
    /// The dbt environment it reads from; `None` for the connection's default.
    pub dbt_environment: Option<Uuid>,
    /// The dbt git branch it reads, when set.
    pub dbt_git_branch: Option<String>,
}

/// The seeded tokens. `Debug` redacts them; they are test credentials, but habits matter.
#[derive(Clone)]
pub struct Tokens {
    /// An Organization API key (Connection Admin on every connection).
    pub organization_api_key: String,
    /// A Personal Access Token whose user has Connection Admin.
    pub pat_admin: String,
    /// A Personal Access Token whose user lacks Connection Admin.
    pub pat_without_admin: String,
}

impl fmt::Debug for Tokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tokens { <redacted> }")
    }
}

/// Configures and starts a [`FakeOmni`].
#[derive(Clone, Debug)]
pub struct FakeOmniBuilder {
    list_shape: ListShape,
    rate_limit: Option<RateLimit>,
    conformance: Option<Arc<Spec>>,
    faults: Vec<(Operation, Fault)>,
    addr: SocketAddr,
    tokens: Option<Tokens>,
    job_duration: Duration,
    branch_based_refresh: bool,
    max_connections: usize,
    journal_capacity: usize,
    header_timeout: Duration,
    body_timeout: Duration,
}

/// Time allowed by default for a request's headers, and for its body, to arrive.
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections served at once by default.
pub const DEFAULT_MAX_CONNECTIONS: usize = 256;
/// Journal entries kept by default.
pub const DEFAULT_JOURNAL_CAPACITY: usize = 10_000;

impl Default for FakeOmniBuilder {
    fn default() -> Self {
        FakeOmniBuilder {
            list_shape: ListShape::Envelope,
            rate_limit: Some(RateLimit {
                per_minute: 60,
                burst: 60,
                retry_after: false,
            }),
            conformance: Some(Spec::bundled()),
            faults: Vec::new(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            tokens: None,
            job_duration: Duration::from_millis(200),
            branch_based_refresh: false,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            journal_capacity: DEFAULT_JOURNAL_CAPACITY,
            header_timeout: DEFAULT_READ_TIMEOUT,
            body_timeout: DEFAULT_READ_TIMEOUT,
        }
    }
}

impl FakeOmniBuilder {
    /// How the list answers (default: the `{records, pageInfo}` envelope of Omni's published
    /// spec; [`ListShape::BareArray`] for the documentation page's shape).
    pub fn list_shape(mut self, shape: ListShape) -> Self {
        self.list_shape = shape;
        self
    }

    /// Requests per minute per token (default 60, Omni's documented limit); the burst is one
    /// minute's worth unless set with [`rate_limit_burst`](Self::rate_limit_burst). A 429
    /// carries no `Retry-After`, as Omni's are reported not to, unless
    /// [`rate_limit_retry_after`](Self::rate_limit_retry_after) turns it on.
    pub fn rate_limit_per_minute(mut self, per_minute: u32) -> Self {
        let retry_after = self.rate_limit.is_some_and(|r| r.retry_after);
        self.rate_limit = Some(RateLimit {
            per_minute: per_minute.max(1),
            burst: per_minute.max(1),
            retry_after,
        });
        self
    }

    /// Whether a 429 of the rate limit says, in `Retry-After`, how many seconds until the
    /// token has a request again (default off: Omni's 429s are reported to carry none).
    pub fn rate_limit_retry_after(mut self, on: bool) -> Self {
        if let Some(limit) = &mut self.rate_limit {
            limit.retry_after = on;
        }
        self
    }

    /// How many requests a token may send at once before the per-minute rate applies.
    pub fn rate_limit_burst(mut self, burst: u32) -> Self {
        if let Some(limit) = &mut self.rate_limit {
            limit.burst = burst.max(1);
        }
        self
    }

    /// No rate limit at all.
    pub fn without_rate_limit(mut self) -> Self {
        self.rate_limit = None;
        self
    }

    /// Check every exchange against the spec (default on); see [`FakeOmni::violations`].
    pub fn check_conformance(mut self, on: bool) -> Self {
        self.conformance = on.then(Spec::bundled);
        self
    }

    /// Check every exchange against this spec instead of the vendored one (e.g. a newer
    /// upstream version, to see what would break).
    pub fn conformance_spec(mut self, spec: Spec) -> Self {
        self.conformance = Some(Arc::new(spec));
        self
    }

    /// Inject a fault from the start.
    pub fn fault(mut self, operation: Operation, fault: Fault) -> Self {
        self.faults.push((operation, fault));
        self
    }

    /// Listen here instead of an ephemeral port on 127.0.0.1. Only loopback makes sense.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Use these tokens instead of random ones (e.g. to know them before the fake starts).
    pub fn tokens(mut self, tokens: Tokens) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// Connections served at once (default 256); more wait in the listen backlog.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// Time allowed for a request's headers, and then for its body, to arrive (default 10 s
    /// each); a slow client gets its connection closed, or a 408 for a slow body.
    pub fn read_timeouts(mut self, headers: Duration, body: Duration) -> Self {
        self.header_timeout = headers;
        self.body_timeout = body;
        self
    }

    /// Journal entries kept (default 10,000); older ones are dropped and counted
    /// ([`FakeOmni::journal_dropped`]).
    pub fn journal_capacity(mut self, n: usize) -> Self {
        self.journal_capacity = n.max(1);
        self
    }

    /// How long a schema refresh job stays `IN_PROGRESS` (default 200 ms).
    pub fn job_duration(mut self, duration: Duration) -> Self {
        self.job_duration = duration;
        self
    }

    /// Branch-based schema refresh: a refresh must name a branch (`branch_id`); without it
    /// (the default), naming one is a 400.
    pub fn branch_based_refresh(mut self, on: bool) -> Self {
        self.branch_based_refresh = on;
        self
    }

    /// Binds, seeds the state and starts serving on the current Tokio runtime.
    pub async fn start(self) -> io::Result<FakeOmni> {
        let listener = TcpListener::bind(self.addr).await?;
        let addr = listener.local_addr()?;

        let connection_id = crate::new_id();
        let connection_without_dbt = crate::new_id();
        let mut store = Store::default();
        store.job_duration = self.job_duration;
        store.branch_based_refresh = self.branch_based_refresh;
        store.add_connection(connection_id, true);
        store.add_connection(connection_without_dbt, false);
        let default_environment = store.add_default_environment(connection_id);
        let model_id = crate::new_id();
        store.add_model(model_id, connection_id, SEEDED_BRANCH, SEEDED_EXPOSURES);

        let tokens = self.tokens.unwrap_or_else(|| Tokens {
            organization_api_key: format!("omni_osk_fake_{}", crate::new_id().simple()),
            pat_admin: format!("omni_pat_fake_{}", crate::new_id().simple()),
            pat_without_admin: format!("omni_pat_fake_{}", crate::new_id().simple()),
        });
        let admin_user = crate::new_id();
        let other_user = crate::new_id();
        store.add_user(admin_user, ADMIN_USER_EMAIL, "Ada Lovelace");
        store.add_user(other_user, OTHER_USER_EMAIL, "Grace Hopper");
        let principals = HashMap::from([
            (
                tokens.organization_api_key.clone(),
                Principal {
                    label: "organization-api-key",
                    organization_key: true,
                    user_id: None,
                    connection_admin: true,
                },
            ),
            (
                tokens.pat_admin.clone(),
                Principal {
                    label: "pat-admin",
                    organization_key: false,
                    user_id: Some(admin_user),
                    connection_admin: true,
                },
            ),
            (
                tokens.pat_without_admin.clone(),
                Principal {
                    label: "pat-without-admin",
                    organization_key: false,
                    user_id: Some(other_user),
                    connection_admin: false,
                },
            ),
        ]);

        let settings = Settings {
            list_shape: self.list_shape,
            rate_limit: self.rate_limit,
            conformance: self.conformance,
            max_connections: self.max_connections,
            journal_capacity: self.journal_capacity,
            header_timeout: self.header_timeout,
            body_timeout: self.body_timeout,
        };
        let shared = Arc::new(Shared::new(settings, principals, store));
        for (operation, fault) in self.faults {
            shared.inject(operation, fault);
        }
        let (stop, stopped) = watch::channel(false);
        let (done_tx, done) = watch::channel(false);
        tokio::spawn(server::serve(listener, shared.clone(), stopped, done_tx));

        Ok(FakeOmni {
            base_url: format!("http://{addr}/api"),
            addr,
            connection_id,
            model_id,
            connection_without_dbt,
            default_environment,
            admin_user,
            tokens,
            shared,
            stop,
            done,
        })
    }
}

/// A running fake. It stops serving when dropped.
pub struct FakeOmni {
    base_url: String,
    addr: SocketAddr,
    connection_id: Uuid,
    model_id: Uuid,
    connection_without_dbt: Uuid,
    default_environment: Uuid,
    admin_user: Uuid,
    tokens: Tokens,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    done: watch::Receiver<bool>,
}

impl fmt::Debug for FakeOmni {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakeOmni")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Drop for FakeOmni {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

impl FakeOmni {
    /// A builder with Omni's defaults: enveloped lists, 60 requests per minute, conformance on.
    pub fn builder() -> FakeOmniBuilder {
        FakeOmniBuilder::default()
    }

    /// The API base URL, e.g. `http://127.0.0.1:40123/api`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The socket address served.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A connection that supports dbt, seeded with a default environment.
    pub fn connection_id(&self) -> Uuid {
        self.connection_id
    }

    /// A model on [`connection_id`](Self::connection_id), seeded with the branch
    /// [`SEEDED_BRANCH`] and [`SEEDED_EXPOSURES`] dbt exposures.
    pub fn model_id(&self) -> Uuid {
        self.model_id
    }

    /// Adds a branch to a model (as Omni's git integration does when a pull request opens);
    /// returns its id, or `None` for an unknown model. Adding an existing name keeps it.
    pub fn add_branch(&self, model: Uuid, name: &str) -> Option<Uuid> {
        lock(&self.shared.store).add_branch(model, name)
    }

    /// Adds a user of the organisation (SCIM finds it by email; `ownerId` may name it);
    /// returns its id.
    pub fn add_user(&self, email: &str, display_name: &str) -> Uuid {
        let id = crate::new_id();
        lock(&self.shared.store).add_user(id, email, display_name);
        id
    }

    /// A branch's id and the dbt environment (and dbt git branch) it reads from; `None` for
    /// the connection's default.
    pub fn branch(&self, model: Uuid, name: &str) -> Option<BranchState> {
        lock(&self.shared.store)
            .branch(model, name)
            .map(|(id, dbt_environment, dbt_git_branch)| BranchState {
                id,
                dbt_environment,
                dbt_git_branch,
            })
    }

    /// The next `count` schema refreshes end `FAILED` instead of `COMPLETED`.
    pub fn fail_next_refreshes(&self, count: u32) {
        lock(&self.shared.store).failing_refreshes = count;
    }

    /// A connection that does not support dbt (every operation answers 403).
    pub fn connection_without_dbt(&self) -> Uuid {
        self.connection_without_dbt
    }

    /// The seeded default environment of [`connection_id`](Self::connection_id).
    pub fn default_environment(&self) -> Uuid {
        self.default_environment
    }

    /// The user behind [`Tokens::pat_admin`]; owns what that token creates.
    pub fn admin_user(&self) -> Uuid {
        self.admin_user
    }

    /// The seeded tokens.
    pub fn tokens(&self) -> &Tokens {
        &self.tokens
    }

    /// The requests received, oldest first: the most recent
    /// [`journal_capacity`](FakeOmniBuilder::journal_capacity) of them. Secret variable values
    /// in bodies read `<redacted>`, and so does the token.
    pub fn journal(&self) -> Vec<JournalEntry> {
        lock(&self.shared.journal).entries.iter().cloned().collect()
    }

    /// How many older entries the bounded journal has dropped.
    pub fn journal_dropped(&self) -> u64 {
        lock(&self.shared.journal).dropped
    }

    /// Forgets the journal (and the count of dropped entries).
    pub fn clear_journal(&self) {
        let mut journal = lock(&self.shared.journal);
        journal.entries.clear();
        journal.dropped = 0;
        journal.bytes = 0;
    }

    /// Stops accepting connections, lets the requests in flight finish (up to 5 s), and
    /// returns when the server is down. Dropping the fake stops it too, without waiting.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let _ = self.done.wait_for(|done| *done).await;
    }

    /// Exchanges that did not conform to the spec: an accepted request body, or any answer.
    pub fn violations(&self) -> Vec<String> {
        lock(&self.shared.violations).clone()
    }

    /// Injects a fault into the answers to `operation`.
    pub fn inject(&self, operation: Operation, fault: Fault) {
        self.shared.inject(operation, fault);
    }

    /// Scheduled maintenance, as Omni's docs describe it: while on, every request is answered
    /// 503 with `Retry-After: <seconds>` and is not processed (it is journaled). `None` ends it.
    pub fn maintenance(&self, retry_after_seconds: Option<u64>) {
        *lock(&self.shared.maintenance) = retry_after_seconds;
    }

    /// Removes every fault, latency included.
    pub fn clear_faults(&self) {
        let mut faults = lock(&self.shared.faults);
        faults.latency.clear();
        faults.queued.clear();
    }

    /// The environments of a connection, as the API would answer them.
    pub fn environments(&self, connection: Uuid) -> Vec<Value> {
        lock(&self.shared.store).environments(connection)
    }

    /// The stored value of a variable, including a secret's (which the API never returns).
    pub fn stored_value(&self, connection: Uuid, environment: Uuid, name: &str) -> Option<String> {
        lock(&self.shared.store).stored_value(connection, environment, name)
    }
}
