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
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::{Request, Response, body::Frame, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use omni_dbt_conformance::Spec;
use serde_json::{Value, json};
use tokio::{net::TcpListener, sync::watch};

use crate::{
    Fault, JournalEntry, Operation,
    state::{Answer, ListShape, Principal, Store, error},
};

/// Largest request body the fake reads.
const MAX_BODY: usize = 1 << 20;

pub(crate) struct Settings {
    pub list_shape: ListShape,
    pub rate_limit: Option<RateLimit>,
    /// The spec every exchange is checked against, when checking is on.
    pub conformance: Option<Arc<Spec>>,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct RateLimit {
    pub per_minute: u32,
    pub burst: u32,
}

pub(crate) struct Shared {
    pub settings: Settings,
    pub principals: HashMap<String, Principal>,
    pub store: Mutex<Store>,
    pub journal: Mutex<Vec<JournalEntry>>,
    pub violations: Mutex<Vec<String>>,
    pub faults: Mutex<Faults>,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Default)]
pub(crate) struct Faults {
    pub latency: HashMap<Operation, Duration>,
    pub queued: HashMap<Operation, VecDeque<Fault>>,
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
            journal: Mutex::new(Vec::new()),
            violations: Mutex::new(Vec::new()),
            faults: Mutex::new(Faults::default()),
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
                for _ in 0..other.times() {
                    faults
                        .queued
                        .entry(operation)
                        .or_default()
                        .push_back(other.clone());
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
) {
    loop {
        let accepted = tokio::select! {
            _ = shutdown.changed() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else { continue };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(shared.clone(), req));
            let connection = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = shutdown.changed() => connection.as_mut().graceful_shutdown(),
            }
        });
    }
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
    let body = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let route = Route::parse(&method, &path);
    let operation = route.as_ref().map(|r| r.operation);
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
        body: String::from_utf8_lossy(&body).into_owned(),
        operation,
        principal: bearer
            .as_ref()
            .and_then(|t| shared.principals.get(t))
            .map(|p| p.label),
        status: None,
    };

    let (latency, fault) = match operation {
        Some(op) => {
            let mut faults = lock(&shared.faults);
            let latency = faults.latency.get(&op).copied();
            (
                latency,
                faults.queued.get_mut(&op).and_then(VecDeque::pop_front),
            )
        }
        None => (None, None),
    };
    if let Some(delay) = latency {
        tokio::time::sleep(delay).await;
    }

    // Faults that stand in for the server failing before it did anything.
    match &fault {
        Some(Fault::DropConnection { .. }) => {
            lock(&shared.journal).push(entry);
            return Err(DropConnection);
        }
        Some(Fault::Status {
            status,
            retry_after,
            ..
        }) => {
            entry.status = Some(*status);
            lock(&shared.journal).push(entry);
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

    let (status, answer, retry_after) = match (&route, &bearer) {
        (None, _) => {
            let (s, v) = error(404, "Not found");
            (s, v, None)
        }
        (Some(_), None) => {
            let (s, v) = error(401, "Authentication required");
            (s, v, None)
        }
        (Some(route), Some(token)) => match shared.principals.get(token) {
            None => {
                let (s, v) = error(401, "Invalid API token");
                (s, v, None)
            }
            Some(who) => match take_token(&shared, token) {
                Err(wait) => {
                    let limit = shared.settings.rate_limit.map_or(0, |r| r.per_minute);
                    let (s, v) = error(
                        429,
                        format!("Rate limit exceeded: {limit} requests per minute"),
                    );
                    (s, v, Some(wait))
                }
                Ok(()) => {
                    let (s, v) = route.run(
                        &shared,
                        who,
                        entry.query.as_deref().unwrap_or_default(),
                        &body,
                    );
                    (s, v, None)
                }
            },
        },
    };
    entry.status = Some(status);

    if let Some(spec) = &shared.settings.conformance {
        check_conformance(&shared, spec, &entry, operation, status, &body, &answer);
    }
    lock(&shared.journal).push(entry);

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

struct Route {
    operation: Operation,
    /// The path parameters in the path's order: connection (and environment), or model (and
    /// branch).
    first: String,
    second: Option<String>,
}

impl Route {
    fn parse(method: &str, path: &str) -> Option<Route> {
        use Operation as O;
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        let (candidates, first, second): (&[(&str, Operation)], &str, Option<&str>) =
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
                ["", "api", "v1", "models", m, "branch", b, "dbt"] => {
                    (&[("POST", O::BranchDbt)], m, Some(b))
                }
                ["", "api", "v1", "models", m, "refresh"] => (&[("POST", O::Refresh)], m, None),
                ["", "api", "v1", "jobs", j, "status"] => (&[("GET", O::JobStatus)], j, None),
                _ => return None,
            };
        let operation = candidates
            .iter()
            .find(|(m, _)| *m == method)
            .map(|(_, op)| *op)?;
        Some(Route {
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
            Operation::BranchDbt => store.branch_dbt(first, second, who, body),
            Operation::Refresh => store.refresh(first, who, query),
            Operation::JobStatus => store.job_status(first),
        }
    }
}

/// A path segment with its `%XX` escapes decoded (a branch name may hold `/`); a malformed
/// escape is kept as it is.
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
