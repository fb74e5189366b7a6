//! The one hook around every request the generated code sends — pacing, retries (the table in
//! [`retry`](crate::retry)), the response size cap, the `api-version` strip, a tracing span per
//! call and an event per attempt — and the signals it reports through the generated client's
//! error type.
//!
//! It depends on the call's [`context`](crate::context), [`retry`](crate::retry),
//! [`pacing`](crate::pacing) and the generated client only; nothing here knows about resources,
//! builders or the error mapping (which reads the signals from here).

use std::time::Duration;

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::StatusCode;
use tokio::time::Instant;

use crate::{
    context::{CallContext, Shared},
    decode,
    error::TransportKind,
    generated,
    retry::{self, Outcome},
};

/// Conditions the request hook must report through the generated client's own error type:
/// each travels as the source of a `reqwest::Error` and is recognised by the mapping (`mapping.rs`).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Signal {
    /// A request that must not be repeated failed after it may have reached Omni.
    #[error("the request may have reached Omni; it was not repeated: {cause}")]
    OutcomeUnknown { kind: TransportKind, cause: String },
    /// The answer's body exceeded the cap.
    #[error("the response body exceeds the {limit}-byte cap")]
    TooLarge { status: u16, limit: usize },
    /// Pacing had no slot before the budget ran out.
    #[error("rate-limited locally for {wait:?}")]
    LocallyRateLimited { wait: Duration },
}

impl Signal {
    /// The signal for a transport failure of a request that must not be repeated.
    pub(crate) fn outcome_unknown(e: &reqwest::Error) -> Self {
        let kind = if e.is_timeout() {
            TransportKind::Timeout
        } else {
            TransportKind::Other
        };
        Signal::OutcomeUnknown {
            kind,
            cause: redacted(e),
        }
    }

    /// A `reqwest::Error` whose source chain carries this signal: the body of a response
    /// built in memory fails with it, and reading that body yields the error.
    ///
    /// Not async: that body fails on its first poll, so the read is finished in place. (As a
    /// future it sat in every call's state, which is moved whole each time it is passed on.)
    #[cold]
    #[inline(never)]
    pub(crate) fn into_reqwest(self, shared: &Shared) -> reqwest::Error {
        use futures_util::FutureExt as _;
        let failed: Result<Vec<u8>, Signal> = Err(self);
        let body =
            reqwest::Body::wrap_stream(futures_util::stream::once(std::future::ready(failed)));
        match reqwest::Response::from(http::Response::new(body))
            .bytes()
            .now_or_never()
        {
            Some(Err(e)) => e,
            // Unreachable (the body's only item is an error, ready at once); an error all
            // the same.
            _ => shared
                .http
                .get("http://[")
                .build()
                .expect_err("a URL that does not parse never builds a request"),
        }
    }
}

/// A transport error's text without its URL, whose query could carry secrets.
pub(crate) fn redacted(e: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut first = true;
    while let Some(err) = current {
        let part = match err.downcast_ref::<reqwest::Error>() {
            Some(r) if r.url().is_some() => {
                let mut copy = r.to_string();
                if let Some(url) = r.url() {
                    copy = copy
                        .replace(&format!(" ({url})"), "")
                        .replace(url.as_str(), "<url>");
                }
                copy
            }
            _ => err.to_string(),
        };
        if !first {
            text.push_str(": ");
        }
        text.push_str(&part);
        first = false;
        current = err.source();
    }
    text
}

/// The signal in an error's source chain, if any.
pub(crate) fn signal<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a Signal> {
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(signal) = err.downcast_ref::<Signal>() {
            return Some(signal);
        }
        current = err.source();
    }
    None
}

/// The header progenitor adds to every request (a constant name, not parsed per call).
const API_VERSION: reqwest::header::HeaderName =
    reqwest::header::HeaderName::from_static("api-version");

/// Why an attempt produced no usable response.
enum Failure {
    Transport(reqwest::Error),
    TooLarge(reqwest::Response),
}

impl ClientHooks<CallContext> for generated::Client {
    /// Every attempt of the request (`attempts`). Its future is not boxed: measured with
    /// callgrind, the allocation cost more per call (~500 instructions) than the copies of its
    /// state it saved, once the builders send in place (`call::send!`) instead of nesting
    /// futures.
    fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> impl Future<Output = reqwest::Result<reqwest::Response>> {
        // One span per call, named and with attributes as OpenTelemetry's HTTP client
        // conventions say; the answer's status and the resends are recorded as they come.
        // (Disabled, it is a check of the callsite's interest, and the attributes are not made.)
        let span = tracing::debug_span!(
            "omni.request",
            otel.name = info.operation_id,
            otel.kind = "client",
            http.request.method = %request.method(),
            server.address = tracing::field::Empty,
            url.full = tracing::field::Empty,
            http.response.status_code = tracing::field::Empty,
            http.request.resend_count = tracing::field::Empty,
        );
        if !span.is_disabled() {
            let (server, url) = otel_target(&request);
            span.record("server.address", server);
            span.record("url.full", url);
        }
        tracing::Instrument::instrument(attempts(self, request, info), span)
    }
}

/// Every attempt of one request, until an answer stands: pacing, the attempt with its
/// timeout, the answer read whole and bounded, the retry decision and its wait.
///
/// Its state is moved whole each time the future is passed on (into the generated call's,
/// then the builder's, then the caller's), so what it holds across waits is kept small: an
/// `async move` block, not an `async fn` (whose arguments are stored twice: as given, and
/// as the body's locals), the policy borrowed, the rarely needed outcome of a retried attempt
/// boxed, and during a retry's wait only the request to send next.
// Not an `async fn` on purpose (see above): it would store its arguments twice.
#[allow(clippy::manual_async_fn)]
fn attempts(
    client: &generated::Client,
    mut request: reqwest::Request,
    info: &OperationInfo,
) -> impl Future<Output = reqwest::Result<reqwest::Response>> {
    async move {
        let context = client.inner();
        let shared = &context.shared;
        // A call of an ergonomic builder keeps its count in its record.
        let stamp = !context.records();
        // progenitor adds `api-version: <info.version>`; Omni documents no such header. The
        // generation rule leaves it out (omni-dbt-codegen's `requests`); this removes it should
        // a progenitor write it in a way the rule does not recognise (a lookup when absent).
        request.headers_mut().remove(&API_VERSION);
        let attempt_timeout = context.options.timeout.unwrap_or(shared.timeout);
        let method = request.method().clone();
        let body = request.body().and_then(reqwest::Body::as_bytes);
        let repeatable = retry::request_is_repeatable(info.operation_id, &method, body);
        let policy = &shared.retry;
        let started = Instant::now();
        // The whole call ends by this, when bounded: attempts are cut to it, and no wait
        // (pacing, backoff) that would outlast it starts.
        let call_deadline = shared
            .operation_timeout
            .and_then(|t| started.checked_add(t));
        // No attempt starts after this; without a call deadline the call ends by it plus one
        // attempt's timeout.
        let deadline = match (started.checked_add(policy.total_budget()), call_deadline) {
            (Some(budget), Some(call)) => Some(budget.min(call)),
            (budget, call) => budget.or(call),
        };
        let mut attempt = 0;
        // Attempts that count against `max_attempts` (answers to requests Omni did not carry
        // out do not), and answers of that kind in a row (their backoff grows with it).
        let mut counted = 0;
        let mut not_carried_out = 0;
        // The outcome that led to the current retry, returned if pacing leaves it no slot.
        let mut previous: Option<Box<(Result<reqwest::Response, Failure>, Outcome)>> = None;
        loop {
            if let Err(wait) = pace(shared, deadline).await {
                if let Some(last) = previous {
                    // No slot for the retry within the budget: the last answer stands.
                    let (outcome, seen) = *last;
                    return finish(outcome, seen, repeatable, attempt, shared, stamp);
                }
                tracing::debug!(operation = info.operation_id, %method, attempt = attempt + 1,
                    wait_ms = millis(wait), "omni request not sent: rate-limited locally");
                return Err(Signal::LocallyRateLimited { wait }.into_reqwest(shared));
            }
            attempt += 1;
            context.update(|r| r.attempts = attempt);
            shared.stats.sent(attempt > 1);
            // What one attempt holds (its retry copy, its outcome) ends with this block: only
            // the request to send next and the loop's own state are kept during the wait.
            let wait = {
                let this_attempt = match call_deadline {
                    Some(end) => attempt_timeout
                        .min(end.saturating_duration_since(Instant::now()))
                        .max(Duration::from_millis(1)),
                    None => attempt_timeout,
                };
                // A JSON body is bytes, so it can always be kept; a stream cannot (no retry). Taken
                // before this attempt's timeout is set, so that the next attempt sets its own.
                // Kept whenever retries are on: a 429 is retried however many came before.
                let retry_copy = if policy.max_attempts() > 1 {
                    RetryParts::of(&request)
                } else {
                    None
                };
                // The HTTP client applies the client's timeout to every request; a request carries
                // its own only when it differs (a builder's `timeout()`, or one cut to the call's
                // deadline): setting it allocates the request's extension map, and its copy for a
                // retry would copy that map.
                if this_attempt != shared.timeout {
                    *request.timeout_mut() = Some(this_attempt);
                }
                // OpenTelemetry's HTTP client attributes, made only when the event is wanted.
                let target =
                    tracing::enabled!(tracing::Level::DEBUG).then(|| otel_target(&request));
                let started = Instant::now();
                let outcome = match client.client().execute(request).await {
                    Ok(response) => buffer(response, shared.max_response_bytes).await,
                    Err(e) => Err(Failure::Transport(e)),
                };
                let elapsed_ms = millis(started.elapsed());

                let (status, retry_after, seen) = match &outcome {
                    Ok(response) => {
                        let status = response.status();
                        // The headers are kept for an error answer only: what reads them (a
                        // `Retry-After`) maps errors, and a copy per call showed in its cost.
                        context.update(|r| {
                            r.status = Some(status);
                            r.headers = if status.is_success() {
                                reqwest::header::HeaderMap::new()
                            } else {
                                response.headers().clone()
                            };
                        });
                        let retry_after = retry::retry_after(response.headers());
                        if status == StatusCode::TOO_MANY_REQUESTS {
                            shared.stats.throttled();
                            let asked = retry_after.unwrap_or(Duration::from_secs(1));
                            throttled(shared, asked.min(policy.max_retry_after())).await;
                        }
                        (
                            Some(status.as_u16()),
                            retry_after,
                            Outcome::of_status(status.as_u16(), retry_after),
                        )
                    }
                    Err(Failure::Transport(e)) => (None, None, Outcome::of_transport(e)),
                    Err(Failure::TooLarge(response)) => {
                        let status = response.status().as_u16();
                        (Some(status), None, Outcome::TooLarge)
                    }
                };
                let wait = match &retry_copy {
                    Some(_) if retry::should_retry(seen, repeatable) => {
                        let wait = if seen.not_carried_out() {
                            // Waited out until the budget ends; not an attempt that counts.
                            not_carried_out += 1;
                            policy.throttled_wait(not_carried_out, retry_after)
                        } else {
                            counted += 1;
                            not_carried_out = 0;
                            if counted < policy.max_attempts() {
                                policy.wait(counted, retry_after)
                            } else {
                                None
                            }
                        };
                        wait.filter(|wait| {
                            // The retry must start before the deadline.
                            match (Instant::now().checked_add(*wait), deadline) {
                                (Some(at), Some(deadline)) => at < deadline,
                                (_, None) => true,
                                (None, Some(_)) => false,
                            }
                        })
                    }
                    _ => None,
                };
                let error = match &outcome {
                    Err(Failure::Transport(e)) => Some(redacted(e)),
                    _ => None,
                };
                let (server, url) = target.unzip();
                // The call's span, when it is wanted: the latest answer and resend count.
                if server.is_some() {
                    let span = tracing::Span::current();
                    if let Some(status) = status {
                        span.record("http.response.status_code", status);
                    }
                    if let Some(resends) = attempt.checked_sub(1).filter(|n| *n > 0) {
                        span.record("http.request.resend_count", resends);
                    }
                }
                tracing::debug!(
                    operation = info.operation_id,
                    "http.request.method" = %method,
                    "http.response.status_code" = status,
                    "http.request.resend_count" = attempt.checked_sub(1).filter(|n| *n > 0),
                    "server.address" = server,
                    "url.full" = url,
                    attempt,
                    elapsed_ms,
                    error,
                    retry_in_ms = wait.map(millis),
                    "omni request"
                );
                if seen.may_have_taken_effect() {
                    context.update(|r| r.maybe_processed = true);
                }
                let retry = match (wait, retry_copy) {
                    (Some(wait), Some(copy)) => sent_to(&outcome).map(|url| (wait, copy, url)),
                    _ => None,
                };
                match retry {
                    Some((wait, copy, url)) => {
                        request = copy.into_request(url);
                        previous = Some(Box::new((outcome, seen)));
                        if seen == Outcome::Status(429) {
                            shared.stats.waited(wait);
                        }
                        wait
                    }
                    None => return finish(outcome, seen, repeatable, attempt, shared, stamp),
                }
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// `server.address` and `url.full` of a request, as OpenTelemetry's HTTP client conventions
/// name them: the URL without credentials and without its query (whose values could be
/// anything a caller put there).
fn otel_target(request: &reqwest::Request) -> (String, String) {
    let url = request.url();
    let server = url.host_str().unwrap_or_default().to_owned();
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    (server, shown.to_string())
}

/// What sending a request again needs beyond its URL, kept before an attempt consumes it.
///
/// Lighter than `reqwest::Request::try_clone` (0.13), which copies the URL (every answer and
/// every transport error of the attempt carries it anyway), copies the header map with its
/// index table, and writes the copy's timeout through `timeout_mut`, which allocates an
/// extension map and inserts into it even to store `None`, then replaces it: six allocations
/// and their frees in every call, for a copy that is rarely sent; two here (the headers, the
/// body). Measured under callgrind: -1.2k instructions, -52 I1 and -96 D1 misses a call. The
/// generated code builds its requests with reqwest's builder, which puts nothing in a
/// request's extensions but a timeout, and the hook sets that per attempt.
struct RetryParts {
    method: reqwest::Method,
    version: reqwest::Version,
    headers: Vec<(reqwest::header::HeaderName, reqwest::header::HeaderValue)>,
    body: Option<Vec<u8>>,
}

impl RetryParts {
    /// `None` when the body cannot be kept (a stream: the request is then not repeated).
    fn of(request: &reqwest::Request) -> Option<Self> {
        // reqwest keeps a body's own copy to itself (`Body::try_clone` is private): the bytes
        // are copied (a JSON body is small).
        let body = match request.body() {
            Some(body) => Some(body.as_bytes()?.to_vec()),
            None => None,
        };
        let headers = request.headers();
        let mut kept = Vec::with_capacity(headers.len());
        kept.extend(headers.iter().map(|(n, v)| (n.clone(), v.clone())));
        Some(RetryParts {
            method: request.method().clone(),
            version: request.version(),
            headers: kept,
            body,
        })
    }

    /// The request again, to `url` (the one the last attempt was sent to).
    fn into_request(self, url: reqwest::Url) -> reqwest::Request {
        let mut request = reqwest::Request::new(self.method, url);
        let headers = request.headers_mut();
        headers.reserve(self.headers.len());
        for (name, value) in self.headers {
            headers.append(name, value);
        }
        *request.version_mut() = self.version;
        *request.body_mut() = self.body.map(reqwest::Body::from);
        request
    }
}

/// The URL an attempt was sent to, as its outcome carries it: every answer has it, and so
/// does every transport error (reqwest attaches it to each error of a sent request; the
/// hook to an error reading the body).
fn sent_to(outcome: &Result<reqwest::Response, Failure>) -> Option<reqwest::Url> {
    match outcome {
        Ok(response) | Err(Failure::TooLarge(response)) => Some(response.url().clone()),
        Err(Failure::Transport(e)) => e.url().cloned(),
    }
}

/// Waits for this request's slot: in the shared store when there is one and it answers,
/// otherwise in this process's schedule. `Err` with the wait when the slot starts after
/// `deadline` (nothing is reserved then).
async fn pace(shared: &Shared, deadline: Option<Instant>) -> Result<(), Duration> {
    #[cfg(feature = "shared-rate-limit")]
    let stored = shared.store.is_some();
    #[cfg(not(feature = "shared-rate-limit"))]
    let stored = false;
    if shared.pacer.is_none() && !stored {
        return Ok(());
    }
    let started = Instant::now();
    let result = wait_for_slot(shared, deadline).await;
    let waited = started.elapsed();
    shared.stats.waited(waited);
    // A long wait is said (a pipeline that seems stuck is waiting for the rate limit).
    if waited >= Duration::from_secs(1) {
        tracing::info!(
            waited_ms = millis(waited),
            "waited {:.1} s for a rate-limit slot",
            waited.as_secs_f64()
        );
    }
    result
}

async fn wait_for_slot(shared: &Shared, deadline: Option<Instant>) -> Result<(), Duration> {
    #[cfg(feature = "shared-rate-limit")]
    if let Some(store) = &shared.store {
        let max_wait = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        // Boxed: the store's future types nest deeply, and a caller's `Send` check of every
        // request future would otherwise meet the compiler's query depth limit.
        let acquire: std::pin::Pin<
            Box<dyn std::future::Future<Output = crate::store::Slot> + Send + '_>,
        > = Box::pin(store.acquire(max_wait));
        match acquire.await {
            crate::store::Slot::Wait(wait) => {
                shared.stats.store(true);
                tokio::time::sleep(wait).await;
                return Ok(());
            }
            crate::store::Slot::Refused(wait) => return Err(wait),
            crate::store::Slot::Unavailable => shared.stats.store(false),
        }
    }
    match &shared.pacer {
        Some(pacer) => pacer.acquire(deadline).await,
        None => Ok(()),
    }
}

/// After a 429: this process's schedule halves its rate and holds back, and so does every
/// process on the shared store.
async fn throttled(shared: &Shared, wait: Duration) {
    tracing::info!(
        wait_ms = millis(wait),
        "Omni answered 429 (rate limited): holding back {:.1} s and pacing at half the rate",
        wait.as_secs_f64()
    );
    if let Some(pacer) = &shared.pacer {
        pacer.back_off(wait);
    }
    #[cfg(feature = "shared-rate-limit")]
    if let Some(store) = &shared.store {
        let back_off: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> =
            Box::pin(store.back_off(wait));
        back_off.await;
    }
}

/// The header the hook adds to every answer of a `Client::api()` call: how many attempts the
/// call made, so that `?` on its error keeps the count (the ergonomic builders read it from
/// the call's record, and their answers are not stamped).
/// (A constant name: parsing it again for every answer showed in the per-call cost.)
pub(crate) const ATTEMPTS_HEADER: reqwest::header::HeaderName =
    reqwest::header::HeaderName::from_static("x-omni-dbt-attempts");

/// The header the hook adds to a 404 answer: the path that was asked for, from which the
/// error says what was not found (a model, a connection, an environment).
pub(crate) const PATH_HEADER: reqwest::header::HeaderName =
    reqwest::header::HeaderName::from_static("x-omni-dbt-path");

/// What the hook returns for an attempt's outcome that is not retried.
fn finish(
    outcome: Result<reqwest::Response, Failure>,
    seen: Outcome,
    repeatable: bool,
    attempts: u32,
    shared: &Shared,
    stamp: bool,
) -> reqwest::Result<reqwest::Response> {
    let stamped = |response| {
        if stamp {
            stamped(response, attempts)
        } else {
            response
        }
    };
    match outcome {
        Ok(response) => Ok(stamped(response)),
        Err(Failure::TooLarge(response)) => Ok(stamped(response)),
        Err(Failure::Transport(e)) if !repeatable && seen != Outcome::ConnectFailed => {
            Err(Signal::outcome_unknown(&e).into_reqwest(shared))
        }
        Err(Failure::Transport(e)) => Err(e),
    }
}

fn stamped(mut response: reqwest::Response, attempts: u32) -> reqwest::Response {
    use reqwest::header::HeaderValue;
    // The usual counts are constants: formatting the number allocates.
    static COUNTS: [HeaderValue; 9] = [
        HeaderValue::from_static("1"),
        HeaderValue::from_static("2"),
        HeaderValue::from_static("3"),
        HeaderValue::from_static("4"),
        HeaderValue::from_static("5"),
        HeaderValue::from_static("6"),
        HeaderValue::from_static("7"),
        HeaderValue::from_static("8"),
        HeaderValue::from_static("9"),
    ];
    let value = usize::try_from(attempts)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| COUNTS.get(i).cloned())
        .unwrap_or_else(|| HeaderValue::from(attempts));
    response.headers_mut().insert(ATTEMPTS_HEADER, value);
    response
}

/// An error answer whose body is not Omni's `{detail, status}` is given that body, with the
/// original text (bounded) as its detail: the generated code then reports the real status at
/// both levels, instead of a decoding failure that has lost it.
fn normalised_error(status: StatusCode, body: bytes::Bytes) -> bytes::Bytes {
    if !(status.is_client_error() || status.is_server_error()) {
        return body;
    }
    let omni_shaped = serde_json::from_slice::<serde_json::Value>(&body).is_ok_and(|v| {
        v.get("detail").is_some_and(serde_json::Value::is_string)
            && v.get("status").is_some_and(serde_json::Value::is_i64)
    });
    if omni_shaped {
        return body;
    }
    let detail = decode::loose_detail(&body).unwrap_or_default();
    serde_json::json!({"detail": detail, "status": status.as_u16()})
        .to_string()
        .into()
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Reads the whole body, up to `cap` bytes, into a response the generated decoder can read. A
/// larger body becomes a response whose body fails with [`Signal::TooLarge`], so that the
/// generated decoder reports it and the error mapping names it.
// Not an `async fn` on purpose: it would store its arguments twice, in every call's future.
#[allow(clippy::manual_async_fn)]
fn buffer(
    mut response: reqwest::Response,
    cap: usize,
) -> impl Future<Output = Result<reqwest::Response, Failure>> {
    // Only the answer and the bytes read so far are held while reading (an `async move`
    // block: an `async fn` stores its arguments twice); the head of the rebuilt answer is
    // made after. This state is part of every call's future.
    async move {
        // A 404 says what was not found by the path asked for (see `mapping`): the path is
        // written here, over whatever header of that name the server sent.
        if response.status() == StatusCode::NOT_FOUND {
            let path = reqwest::header::HeaderValue::from_str(response.url().path());
            match path {
                Ok(path) => response.headers_mut().insert(PATH_HEADER, path),
                Err(_) => response.headers_mut().remove(PATH_HEADER),
            };
        }
        // The length the answer was framed by (hyper reads no more than that), if any.
        let stated = response.content_length();
        if stated.is_some_and(|n| n > cap as u64) {
            return rebuilt(response, None, stated, cap);
        }
        // One chunk (the usual case) is kept as it came; more are joined.
        let mut first: Option<bytes::Bytes> = None;
        let mut joined: Vec<u8> = Vec::new();
        // An error reading the body carries the URL like any other (a retry is sent to it).
        let failed = |e: reqwest::Error, url: &reqwest::Url| match e.url() {
            Some(_) => Failure::Transport(e),
            None => Failure::Transport(e.with_url(url.clone())),
        };
        while let Some(chunk) = match response.chunk().await {
            Ok(chunk) => chunk,
            Err(e) => return Err(failed(e, response.url())),
        } {
            let held = first.as_ref().map_or(0, bytes::Bytes::len);
            if held
                .saturating_add(joined.len())
                .saturating_add(chunk.len())
                > cap
            {
                return rebuilt(response, None, stated, cap);
            }
            match first.take() {
                None if joined.is_empty() => first = Some(chunk),
                Some(earlier) => {
                    joined.extend_from_slice(&earlier);
                    joined.extend_from_slice(&chunk);
                }
                None => joined.extend_from_slice(&chunk),
            }
        }
        let body = first.unwrap_or_else(|| bytes::Bytes::from(joined));
        rebuilt(response, Some(body), stated, cap)
    }
}

/// The answer with `body` in memory, or, without one (the body was over `cap`), with a body
/// that fails with [`Signal::TooLarge`]. `stated`: the length the answer was framed by.
// Both sides hold an answer: the error is no larger than the success.
#[allow(clippy::result_large_err)]
fn rebuilt(
    mut response: reqwest::Response,
    body: Option<bytes::Bytes>,
    stated: Option<u64>,
    cap: usize,
) -> Result<reqwest::Response, Failure> {
    use reqwest::ResponseBuilderExt as _;
    let status = response.status();
    let body = body.map(|read| normalised_error(status, read));
    // The framing headers no longer describe a body that was replaced, cut off, or came in
    // chunks; an unchanged body of its stated length keeps the headers as they came
    // (removing absent headers cost every call two lookups).
    let reframed = body
        .as_ref()
        .is_none_or(|body| stated != Some(body.len() as u64));
    // The answer's extensions are moved over, so that the URL, which travels with the rebuilt
    // answer (without it reqwest parses a placeholder URL for every answer), joins the map the
    // answer already has (reqwest's redirect layer puts the request's URI in every answer's)
    // instead of allocating one.
    let mut head = http::Response::builder();
    if let Some(extensions) = head.extensions_mut() {
        std::mem::swap(extensions, response.extensions_mut());
    }
    let mut head = head
        .status(status)
        .version(response.version())
        .url(response.url().clone());
    if let Some(headers) = head.headers_mut() {
        // Moved, not copied: the old answer is dropped here.
        *headers = std::mem::take(response.headers_mut());
        if reframed {
            headers.remove(reqwest::header::CONTENT_LENGTH);
            headers.remove(reqwest::header::TRANSFER_ENCODING);
        }
    }
    drop(response);
    match body {
        Some(body) => Ok(reqwest::Response::from(
            head.body(reqwest::Body::from(body)).unwrap_or_default(),
        )),
        None => {
            let signal = Signal::TooLarge {
                status: status.as_u16(),
                limit: cap,
            };
            let body =
                reqwest::Body::wrap_stream(futures_util::stream::once(std::future::ready(Err::<
                    Vec<u8>,
                    Signal,
                >(
                    signal,
                ))));
            Err(Failure::TooLarge(reqwest::Response::from(
                head.body(body)
                    .unwrap_or_else(|_| http::Response::new(reqwest::Body::from(Vec::new()))),
            )))
        }
    }
}
