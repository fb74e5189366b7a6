//! The HTTP side: the accept loop, routing, auth, the rate limit, fault injection, the journal
//! and conformance checks of every exchange.

use std::{
    collections::{HashMap, VecDeque},
    convert::Infallible,
    fmt,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use bytes::Bytes;
use futures_util::{StreamExt, stream};
use http_body_util::{BodyExt, Full, LengthLimitError, StreamBody, combinators::BoxBody};
use hyper::{Request, Response, body::Frame, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use hyper_util::rt::TokioTimer;
use omni_dbt_conformance::Spec;
use serde_json::{Value, json};
use tokio::{
    net::TcpListener,
    sync::{Semaphore, watch},
    task::JoinSet,
};

use crate::{
    Fault, JournalEntry, Operation,
    percent::decoded,
    state::{Answer, ListShape, Principal, Store, error},
};

/// Largest request body the fake reads; a larger one is answered 413.
pub(crate) const MAX_BODY: usize = 1 << 20;
/// How long a shutdown waits for requests in flight.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

pub(crate) struct Settings {
    pub list_shape: ListShape,
    pub rate_limit: Option<RateLimit>,
    /// The spec every exchange is checked against, when checking is on.
    pub conformance: Option<Arc<Spec>>,
    /// Connections served at once; further ones wait in the listen backlog.
    pub max_connections: usize,
    /// Journal entries kept; older ones are dropped (and counted).
    pub journal_capacity: usize,
    /// Time allowed for a request's headers, and for its body, to arrive.
    pub header_timeout: Duration,
    pub body_timeout: Duration,
}

/// The journal: the most recent requests, and how many older ones were dropped.
#[derive(Default)]
pub(crate) struct Journal {
    pub entries: VecDeque<JournalEntry>,
    pub dropped: u64,
    /// The bytes the entries hold (bodies, paths, queries, headers).
    pub bytes: usize,
}

/// The most bytes the journal keeps, whatever its capacity in entries: 600 bodies of 1 MiB
/// held 604 MB. The oldest entries go first.
pub(crate) const MAX_JOURNAL_BYTES: usize = 64 << 20;

fn entry_bytes(entry: &JournalEntry) -> usize {
    entry.body.len()
        + entry.path.len()
        + entry.query.as_ref().map_or(0, String::len)
        + entry
            .headers
            .iter()
            .map(|(n, v)| n.len() + v.len())
            .sum::<usize>()
}

impl Journal {
    fn push(&mut self, entry: JournalEntry, capacity: usize) {
        let size = entry_bytes(&entry);
        while !self.entries.is_empty()
            && (self.entries.len() >= capacity.max(1)
                || self.bytes.saturating_add(size) > MAX_JOURNAL_BYTES)
        {
            if let Some(old) = self.entries.pop_front() {
                self.bytes = self.bytes.saturating_sub(entry_bytes(&old));
            }
            self.dropped = self.dropped.saturating_add(1);
        }
        self.bytes = self.bytes.saturating_add(size);
        self.entries.push_back(entry);
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct RateLimit {
    pub per_minute: u32,
    pub burst: u32,
    /// Whether a 429 says when to come back (Omni's, in practice, do not).
    pub retry_after: bool,
}

pub(crate) struct Shared {
    pub settings: Settings,
    pub principals: HashMap<String, Principal>,
    pub store: Mutex<Store>,
    pub journal: Mutex<Journal>,
    pub violations: Mutex<Vec<String>>,
    pub faults: Mutex<Faults>,
    /// Scheduled maintenance, when on: every request is answered 503 with this `Retry-After`
    /// (seconds), and not processed.
    pub maintenance: Mutex<Option<u64>>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

/// Injected faults: a latency per operation, and a queue of faults each with how many more
/// requests it applies to (a count, not one copy per request).
#[derive(Default)]
pub(crate) struct Faults {
    pub latency: HashMap<Operation, Duration>,
    pub queued: HashMap<Operation, VecDeque<(Fault, u32)>>,
}

impl Faults {
    /// The fault for the next request of `op`, if any.
    fn take(&mut self, op: Operation) -> Option<Fault> {
        let queue = self.queued.get_mut(&op)?;
        let (fault, remaining) = queue.front_mut()?;
        let fault = fault.clone();
        *remaining -= 1;
        if *remaining == 0 {
            queue.pop_front();
        }
        Some(fault)
    }
}

/// Poisoning only means another request panicked mid-way; the state is still consistent
/// because every mutation is applied whole (see `state.rs`).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub fn new(settings: Settings, principals: HashMap<String, Principal>, store: Store) -> Self {
        Shared {
            settings,
            principals,
            store: Mutex::new(store),
            journal: Mutex::new(Journal::default()),
            violations: Mutex::new(Vec::new()),
            faults: Mutex::new(Faults::default()),
            maintenance: Mutex::new(None),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn inject(&self, operation: Operation, fault: Fault) {
        let mut faults = lock(&self.faults);
        match fault {
            Fault::Latency(d) => {
                faults.latency.insert(operation, d);
            }
            other => {
                let times = other.times();
                if times > 0 {
                    faults
                        .queued
                        .entry(operation)
                        .or_default()
                        .push_back((other, times));
                }
            }
        }
    }
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The connection is closed without an answer (hyper drops it when the service fails).
#[derive(Debug)]
struct DropConnection;

impl fmt::Display for DropConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("fault injected: connection dropped")
    }
}

impl std::error::Error for DropConnection {}

type Body = BoxBody<Bytes, std::io::Error>;

pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
    done: watch::Sender<bool>,
) {
    let slots = Arc::new(Semaphore::new(shared.settings.max_connections.max(1)));
    let mut connections = JoinSet::new();
    let mut backoff = Duration::from_millis(10);
    loop {
        // A connection slot first: past the limit, new connections wait in the backlog.
        let permit = tokio::select! {
            _ = shutdown.changed() => break,
            permit = slots.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => {
                backoff = Duration::from_millis(10);
                stream
            }
            Err(_) => {
                // E.g. out of file descriptors: back off instead of spinning.
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let header_timeout = shared.settings.header_timeout;
        let shared = shared.clone();
        let mut shutdown = shutdown.clone();
        // Finished connections are reaped as new ones come, so the set stays small.
        while connections.try_join_next().is_some() {}
        connections.spawn(async move {
            let _permit = permit;
            let service = service_fn(move |req| handle(shared.clone(), req));
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = shutdown.changed() => {
                    // Finish the request in flight, then close.
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.as_mut().await;
                }
            }
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    let _ = done.send(true);
}

fn json_body(status: u16, value: &Value) -> Response<Body> {
    let bytes = Bytes::from(serde_json::to_vec(value).unwrap_or_default());
    let mut response = Response::new(Full::new(bytes).map_err(|e: Infallible| match e {}).boxed());
    *response.status_mut() =
        hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let (parts, body) = req.into_parts();
    let method = parts.method.as_str().to_owned();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(name, value)| {
            let value = if name == hyper::header::AUTHORIZATION {
                "Bearer <redacted>".to_owned()
            } else {
                String::from_utf8_lossy(value.as_bytes()).into_owned()
            };
            (name.as_str().to_owned(), value)
        })
        .collect();
    let declared_too_large = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > MAX_BODY as u64);
    // A body declared too large is refused at once, unread (not after the body timeout).
    let body = if declared_too_large {
        Err(413)
    } else {
        let read = tokio::time::timeout(
            shared.settings.body_timeout,
            http_body_util::Limited::new(body, MAX_BODY).collect(),
        );
        match read.await {
            Ok(Ok(collected)) => Ok(collected.to_bytes()),
            Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => Err(413),
            // The body ended early (the client went away) or did not come in time.
            Ok(Err(_)) => Err(400),
            Err(_) => Err(408),
        }
    };
    let route = Route::parse(&method, &path);
    // An operation the fake does not serve (a later release's) is no operation of its spec.
    let operation = route
        .as_ref()
        .ok()
        .map(|r| r.operation)
        .filter(|op| served(*op));
    let bearer = parts
        .headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);

    let mut entry = JournalEntry {
        method,
        path,
        query: (!query.is_empty()).then_some(query),
        headers,
        body: redact_body(body.as_deref().unwrap_or_default()),
        operation,
        principal: bearer
            .as_ref()
            .and_then(|t| shared.principals.get(t))
            .map(|p| p.label),
        status: None,
    };

    // Omni's scheduled maintenance: every endpoint answers 503 with `Retry-After`, and the
    // request "was not processed" (Omni's docs).
    let maintenance = *lock(&shared.maintenance);
    if let Some(seconds) = maintenance {
        entry.status = Some(503);
        record(&shared, entry);
        let mut response = json_body(
            503,
            &json!({"detail": "Omni is down for scheduled maintenance", "status": 503}),
        );
        response
            .headers_mut()
            .insert(hyper::header::RETRY_AFTER, seconds.into());
        return Ok(response);
    }

    let (latency, fault) = match operation {
        Some(op) => {
            let mut faults = lock(&shared.faults);
            let latency = faults.latency.get(&op).copied();
            (latency, faults.take(op))
        }
        None => (None, None),
    };
    if let Some(delay) = latency {
        tokio::time::sleep(delay).await;
    }

    // Faults that stand in for the server failing before it did anything.
    match &fault {
        Some(Fault::DropConnection { .. }) => {
            record(&shared, entry);
            return Err(DropConnection);
        }
        Some(Fault::Status {
            status,
            retry_after,
            ..
        }) => {
            entry.status = Some(*status);
            record(&shared, entry);
            let mut response = json_body(
                *status,
                &json!({"detail": "Injected fault", "status": status}),
            );
            if let Some(seconds) = retry_after {
                response
                    .headers_mut()
                    .insert(hyper::header::RETRY_AFTER, (*seconds).into());
            }
            return Ok(response);
        }
        _ => {}
    }

    let content_type_json = parts
        .headers
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    let mut allow = None;
    let (status, answer, retry_after) = match (&route, &bearer, &body) {
        (_, _, Err(413)) => {
            let (s, v) = error(413, format!("Request body larger than {MAX_BODY} bytes"));
            (s, v, None)
        }
        (_, _, Err(408)) => {
            let (s, v) = error(408, "Request body not received in time");
            (s, v, None)
        }
        (_, _, Err(status)) => {
            let (s, v) = error(*status, "Request body incomplete");
            (s, v, None)
        }
        // An operation of a later release than the spec the fake serves: no such route.
        (Ok(route), _, _) if !served(route.operation) => {
            let (s, v) = error(404, "Not found");
            (s, v, None)
        }
        (Err(RouteError::NotFound), _, _) => {
            let (s, v) = error(404, "Not found");
            (s, v, None)
        }
        (Err(RouteError::MethodNotAllowed(methods)), _, _) => {
            allow = Some(methods.join(", "));
            let (s, v) = error(
                405,
                format!("Method {method} not allowed", method = parts.method),
            );
            (s, v, None)
        }
        (Ok(_), None, _) => {
            let (s, v) = error(401, "Authentication required");
            (s, v, None)
        }
        (Ok(route), Some(_), Ok(body))
            if route.operation.has_body() && !content_type_json && !body.is_empty() =>
        {
            // Omni parses JSON bodies only; decided here as a 400 (documented for every
            // operation) rather than an undocumented 415.
            let (s, v) = error(
                400,
                "Request body must be JSON (Content-Type: application/json)",
            );
            (s, v, None)
        }
        (Ok(route), Some(token), Ok(body)) => match shared.principals.get(token) {
            None => {
                let (s, v) = error(401, "Invalid API token");
                (s, v, None)
            }
            Some(who) => match take_token(&shared, token) {
                Err(wait) => {
                    let limit = shared.settings.rate_limit;
                    let (s, v) = error(
                        429,
                        format!(
                            "Rate limit exceeded: {} requests per minute",
                            limit.map_or(0, |r| r.per_minute)
                        ),
                    );
                    (s, v, limit.is_some_and(|r| r.retry_after).then_some(wait))
                }
                Ok(()) => {
                    let (s, v) = route.run(
                        &shared,
                        who,
                        entry.query.as_deref().unwrap_or_default(),
                        body,
                    );
                    (s, v, None)
                }
            },
        },
    };
    entry.status = Some(status);

    if let (Some(spec), Ok(body)) = (&shared.settings.conformance, &body) {
        check_conformance(&shared, spec, &entry, operation, status, body, &answer);
    }
    record(&shared, entry);

    // Faults that stand in for the answer being lost or mangled after the work was done.
    match fault {
        Some(Fault::DropAfterProcessing { .. }) => Err(DropConnection),
        Some(Fault::TruncatedBody { .. }) => {
            let full = serde_json::to_vec(&answer).unwrap_or_default();
            let half = Bytes::from(full[..full.len() / 2].to_vec());
            // The cut comes after a pause, so that the status, headers and first half are
            // on the wire before the connection fails.
            let first = stream::iter([Ok::<_, std::io::Error>(Frame::data(half))]);
            let cut = stream::once(async {
                tokio::time::sleep(Duration::from_millis(20)).await;
                Err(std::io::Error::other("fault injected: body truncated"))
            });
            let mut response = Response::new(BodyExt::boxed(StreamBody::new(first.chain(cut))));
            *response.status_mut() =
                hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
            response
                .headers_mut()
                .insert(hyper::header::CONTENT_LENGTH, full.len().into());
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/json"),
            );
            Ok(response)
        }
        Some(Fault::NonJsonBody { .. }) => {
            let html = Bytes::from_static(b"<html><body>502 Bad Gateway</body></html>");
            let mut response =
                Response::new(Full::new(html).map_err(|e: Infallible| match e {}).boxed());
            *response.status_mut() =
                hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("text/html"),
            );
            Ok(response)
        }
        _ => {
            let mut response = json_body(status, &answer);
            if let Some(wait) = retry_after {
                response
                    .headers_mut()
                    .insert(hyper::header::RETRY_AFTER, wait.into());
            }
            if let Some(allow) = allow.and_then(|a| hyper::header::HeaderValue::from_str(&a).ok()) {
                response.headers_mut().insert(hyper::header::ALLOW, allow);
            }
            if matches!(status, 408 | 413) {
                // The rest of the body may still be on its way: do not read it.
                response.headers_mut().insert(
                    hyper::header::CONNECTION,
                    hyper::header::HeaderValue::from_static("close"),
                );
            }
            Ok(response)
        }
    }
}

/// Takes one request from the token's bucket, or says how many seconds until one is free.
fn take_token(shared: &Shared, token: &str) -> Result<(), u64> {
    let Some(limit) = shared.settings.rate_limit else {
        return Ok(());
    };
    let rate = f64::from(limit.per_minute) / 60.0;
    let capacity = f64::from(limit.burst.max(1));
    let now = Instant::now();
    let mut buckets = lock(&shared.buckets);
    let bucket = buckets.entry(token.to_owned()).or_insert(Bucket {
        tokens: capacity,
        updated: now,
    });
    bucket.tokens =
        (bucket.tokens + now.duration_since(bucket.updated).as_secs_f64() * rate).min(capacity);
    bucket.updated = now;
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        Ok(())
    } else {
        Err(((1.0 - bucket.tokens) / rate).ceil().max(1.0) as u64)
    }
}

/// Records a request in the bounded journal.
fn record(shared: &Shared, entry: JournalEntry) {
    lock(&shared.journal).push(entry, shared.settings.journal_capacity);
}

/// A request body as the journal keeps it: the value of every variable marked secret is
/// replaced by `<redacted>` (a failed assertion prints journal entries).
fn redact_body(body: &[u8]) -> String {
    let Ok(mut value) = serde_json::from_slice::<Value>(body) else {
        return String::from_utf8_lossy(body).into_owned();
    };
    let mut redacted = false;
    if let Some(items) = value.get_mut("variables").and_then(Value::as_array_mut) {
        for item in items.iter_mut().filter_map(Value::as_object_mut) {
            let secret = item.get("isSecret") == Some(&Value::Bool(true));
            if let (true, Some(v @ Value::String(_))) = (secret, item.get_mut("value")) {
                *v = Value::String("<redacted>".into());
                redacted = true;
            }
        }
    }
    if redacted {
        value.to_string()
    } else {
        String::from_utf8_lossy(body).into_owned()
    }
}

/// Whether the fake serves `operation`: every operation of its vendored spec (an operation a
/// later release adds, like `modelsDbtSync`, only once the spec has it).
fn served(operation: Operation) -> bool {
    operation != Operation::DbtSync || Spec::bundled().has_operation(operation.operation_id())
}

fn check_conformance(
    shared: &Shared,
    spec: &Spec,
    entry: &JournalEntry,
    operation: Option<Operation>,
    status: u16,
    request: &[u8],
    answer: &Value,
) {
    let Some(op) = operation else { return };
    let id = op.operation_id();
    let mut problems = Vec::new();
    // A request the fake accepted must conform; one it rejected may not.
    if (200..300).contains(&status) && op.has_body() {
        match serde_json::from_slice::<Value>(request) {
            Ok(body) => {
                if let Err(v) = spec.check_request(id, &body) {
                    problems.push(format!("request: {v}"));
                }
            }
            Err(e) => problems.push(format!("request: not JSON: {e}")),
        }
    }
    if let Err(v) = spec.check_response(id, status, Some(answer)) {
        problems.push(format!("response {status}: {v}"));
    }
    if !problems.is_empty() {
        lock(&shared.violations).push(format!(
            "{} {}: {}",
            entry.method,
            entry.path,
            problems.join("; ")
        ));
    }
}

/// Why a request matches no operation.
enum RouteError {
    /// No such path.
    NotFound,
    /// The path exists with these methods only.
    MethodNotAllowed(Vec<&'static str>),
}

struct Route {
    operation: Operation,
    /// The path parameters in the path's order: connection (and environment), or model (and
    /// branch).
    first: String,
    second: Option<String>,
}

impl Route {
    fn parse(method: &str, path: &str) -> Result<Route, RouteError> {
        use Operation as O;
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let (candidates, first, second): (&[(&'static str, Operation)], &str, Option<&str>) =
            match segments.as_slice() {
                ["", "api", "v1", "connections", c, "dbt", "environments"] => {
                    (&[("GET", O::List), ("POST", O::Create)], c, None)
                }
                ["", "api", "v1", "connections", c, "dbt", "environments", e] => {
                    (&[("PUT", O::Update), ("DELETE", O::Delete)], c, Some(e))
                }
                ["", "api", "v1", "connections", c, "dbt"] => (
                    &[
                        ("GET", O::DbtConfigGet),
                        ("PUT", O::DbtConfigUpdate),
                        ("DELETE", O::DbtConfigDelete),
                    ],
                    c,
                    None,
                ),
                ["", "api", "v1", "models", m, "dbt-exposures"] => {
                    (&[("GET", O::DbtExposures)], m, None)
                }
                ["", "api", "v1", "models"] => (
                    &[("GET", O::ModelsList), ("POST", O::ModelsCreate)],
                    "",
                    None,
                ),
                ["", "api", "v1", "models", m, "branch", b] => {
                    (&[("DELETE", O::DeleteBranch)], m, Some(b))
                }
                ["", "api", "scim", "v2", "Users"] => (&[("GET", O::ScimUsers)], "", None),
                ["", "api", "v1", "models", m, "branch", b, "dbt"] => {
                    (&[("POST", O::BranchDbt)], m, Some(b))
                }
                ["", "api", "v1", "models", m, "refresh"] => (&[("POST", O::Refresh)], m, None),
                ["", "api", "v1", "models", m, "dbt-sync"] => (&[("POST", O::DbtSync)], m, None),
                ["", "api", "v1", "jobs", j, "status"] => (&[("GET", O::JobStatus)], j, None),
                _ => return Err(RouteError::NotFound),
            };
        let operation = candidates
            .iter()
            .find(|(m, _)| *m == method)
            .map(|(_, op)| *op)
            .ok_or_else(|| {
                RouteError::MethodNotAllowed(candidates.iter().map(|(m, _)| *m).collect())
            })?;
        Ok(Route {
            operation,
            first: first.to_string(),
            second: second.map(percent_decode),
        })
    }

    fn run(&self, shared: &Shared, who: &Principal, query: &str, body: &[u8]) -> Answer {
        let mut store = lock(&shared.store);
        let first = self.first.as_str();
        let second = self.second.as_deref().unwrap_or_default();
        match self.operation {
            Operation::List => store.list(first, who, query, shared.settings.list_shape),
            Operation::Create => store.create(first, who, body),
            Operation::Update => store.update(first, second, who, body),
            Operation::Delete => store.delete(first, second, who),
            Operation::DbtConfigGet => store.dbt_get(first, who),
            Operation::DbtConfigUpdate => store.dbt_update(first, who, body),
            Operation::DbtConfigDelete => store.dbt_delete(first, who),
            Operation::DbtExposures => store.exposures(first, who, query),
            Operation::ModelsList => store.models_list(query),
            Operation::ModelsCreate => store.models_create(who, body),
            Operation::DeleteBranch => store.delete_branch(first, second, who),
            Operation::ScimUsers => store.scim_users(who, query),
            Operation::BranchDbt => store.branch_dbt(first, second, who, body),
            Operation::Refresh => store.refresh(first, who, query),
            Operation::JobStatus => store.job_status(first),
            Operation::DbtSync => store.dbt_sync(first, who, query),
        }
    }
}

/// A path segment with its `%XX` escapes decoded (a branch name may hold `/`); a malformed
/// escape is kept as it is.
fn percent_decode(segment: &str) -> String {
    decoded(segment, false)
}
