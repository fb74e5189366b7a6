//! The one hook around every request the generated code sends — pacing, retries, the response
//! size cap and a tracing event per attempt — and the mapping of outcomes onto [`Error`].

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant, SystemTime},
};

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo, ResponseValue};
use reqwest::{StatusCode, header::HeaderMap};

use crate::{
    client::Shared,
    error::{Error, Result, TransportKind},
    generated::{self, types::ApiError},
    retry::retryable_status,
};

/// Per-request options set on a builder.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CallOptions {
    /// Overrides the client's total timeout for each attempt of this request.
    pub timeout: Option<Duration>,
    /// Whether sending the request twice has the effect of sending it once. `false` (the
    /// default) means it is retried only when it provably never reached Omni.
    pub repeatable: bool,
}

impl CallOptions {
    /// Options for a request that may be repeated safely.
    pub(crate) fn repeatable() -> Self {
        CallOptions {
            timeout: None,
            repeatable: true,
        }
    }
}

/// Per-call state handed to the generated client as its "inner" value. The hook records here
/// what the generated decoder cannot tell us: the status and headers of an answer whose body
/// did not decode, how many attempts were made, and whether the body was over the size cap.
#[derive(Clone, Debug)]
pub(crate) struct CallContext {
    shared: Arc<Shared>,
    options: CallOptions,
    record: Arc<Mutex<Record>>,
}

#[derive(Clone, Debug, Default)]
struct Record {
    status: Option<StatusCode>,
    headers: HeaderMap,
    attempts: u32,
    idempotent: bool,
    too_large: bool,
    /// An earlier attempt failed after it may have reached Omni (and was retried).
    maybe_processed: bool,
}

impl CallContext {
    /// Whether an earlier attempt of this call may have taken effect at Omni before the
    /// attempt that produced the final answer.
    pub(crate) fn maybe_processed_earlier(&self) -> bool {
        self.record().maybe_processed
    }

    pub(crate) fn new(shared: Arc<Shared>, options: CallOptions) -> Self {
        CallContext {
            shared,
            options,
            record: Arc::default(),
        }
    }

    fn update(&self, f: impl FnOnce(&mut Record)) {
        f(&mut self.record.lock().unwrap_or_else(PoisonError::into_inner));
    }

    fn record(&self) -> Record {
        self.record
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

/// Why an attempt produced no usable response.
enum Failure {
    Transport(reqwest::Error),
    TooLarge(reqwest::Response),
}

impl ClientHooks<CallContext> for generated::Client {
    async fn exec(
        &self,
        mut request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let context = self.inner();
        let shared = &context.shared;
        // progenitor adds `api-version: <info.version>`; Omni documents no such header.
        request.headers_mut().remove("api-version");
        if let Some(timeout) = context.options.timeout {
            *request.timeout_mut() = Some(timeout);
        }
        let method = request.method().clone();
        let idempotent = context.options.repeatable;
        context.update(|r| r.idempotent = idempotent);
        let policy = shared.retry;
        let first_started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            context.update(|r| r.attempts = attempt);
            // A JSON body is bytes, so the clone always succeeds; without one, no retry.
            let retry_copy = if attempt < policy.max_attempts() {
                request.try_clone()
            } else {
                None
            };
            if let Some(pacer) = &shared.pacer {
                pacer.acquire().await;
            }
            let started = Instant::now();
            let outcome = match self.client().execute(request).await {
                Ok(response) => buffer(response, shared.max_response_bytes).await,
                Err(e) => Err(Failure::Transport(e)),
            };
            let elapsed_ms = started.elapsed().as_millis() as u64;

            let (status, retry_after, retryable) = match &outcome {
                Ok(response) => {
                    let status = response.status();
                    context.update(|r| {
                        r.status = Some(status);
                        r.headers = response.headers().clone();
                    });
                    let retry_after = retry_after(response.headers());
                    if status == StatusCode::TOO_MANY_REQUESTS
                        && let Some(pacer) = &shared.pacer
                    {
                        pacer.back_off(retry_after.unwrap_or(Duration::from_secs(1)));
                    }
                    (
                        Some(status.as_u16()),
                        retry_after,
                        idempotent && retryable_status(status.as_u16()),
                    )
                }
                // Only a failure to connect proves that a create never reached Omni.
                Err(Failure::Transport(e)) => (None, None, idempotent || e.is_connect()),
                Err(Failure::TooLarge(response)) => {
                    let status = response.status();
                    context.update(|r| r.status = Some(status));
                    (Some(status.as_u16()), None, false)
                }
            };
            let wait = match (retryable, retry_copy) {
                (true, Some(copy)) => policy
                    .wait(attempt, retry_after)
                    .filter(|wait| first_started.elapsed() + *wait <= policy.total_budget())
                    .map(|wait| (wait, copy)),
                _ => None,
            };
            let error = match &outcome {
                Err(Failure::Transport(e)) => Some(e.to_string()),
                _ => None,
            };
            tracing::debug!(
                operation = info.operation_id,
                %method,
                attempt,
                status,
                elapsed_ms,
                error,
                retry_in_ms = wait.as_ref().map(|(w, _)| w.as_millis() as u64),
                "omni request"
            );
            match (wait, outcome) {
                (Some((wait, copy)), outcome) => {
                    if let Err(Failure::Transport(e)) = &outcome
                        && !e.is_connect()
                    {
                        context.update(|r| r.maybe_processed = true);
                    }
                    tokio::time::sleep(wait).await;
                    request = copy;
                }
                (None, Ok(response)) => return Ok(response),
                (None, Err(Failure::Transport(e))) => return Err(e),
                (None, Err(Failure::TooLarge(response))) => {
                    context.update(|r| r.too_large = true);
                    return Ok(response);
                }
            }
        }
    }
}

/// Reads the whole body, up to `cap` bytes, into a response the generated decoder can read.
async fn buffer(mut response: reqwest::Response, cap: usize) -> Result<reqwest::Response, Failure> {
    let mut head = http::Response::builder()
        .status(response.status())
        .version(response.version());
    if let Some(headers) = head.headers_mut() {
        *headers = response.headers().clone();
    }
    let empty = |head: http::response::Builder| {
        reqwest::Response::from(head.body(Vec::new()).unwrap_or_default())
    };
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(Failure::TooLarge(empty(head)));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Failure::Transport)? {
        if body.len() + chunk.len() > cap {
            return Err(Failure::TooLarge(empty(head)));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(reqwest::Response::from(head.body(body).unwrap_or_default()))
}

/// Turns what the generated call returned into ours, using what the hook recorded.
pub(crate) async fn finish<T>(
    result: Result<ResponseValue<T>, progenitor_client::Error<ApiError>>,
    context: &CallContext,
) -> Result<ResponseValue<T>> {
    let record = context.record();
    if record.too_large {
        return Err(Error::ResponseTooLarge {
            status: record.status.map_or(0, |s| s.as_u16()),
            limit: context.shared.max_response_bytes,
        });
    }
    match result {
        Ok(value) => Ok(value),
        Err(error) => Err(map_error(error, &record).await),
    }
}

async fn map_error(error: progenitor_client::Error<ApiError>, record: &Record) -> Error {
    use progenitor_client::Error as E;
    let attempts = record.attempts.max(1);
    match error {
        E::ErrorResponse(value) => {
            let status = value.status();
            let retry_after = retry_after(value.headers());
            from_status(
                status,
                retry_after,
                Some(value.into_inner().detail),
                attempts,
            )
        }
        E::InvalidResponsePayload(bytes, source) => {
            let status = record.status.unwrap_or(StatusCode::OK);
            if status.is_success() {
                Error::Undecodable {
                    status: status.as_u16(),
                    snippet: snippet(&bytes),
                    source,
                }
            } else {
                // A documented error status whose body is not Omni's `{detail, status}`: the
                // status still says what happened.
                from_status(
                    status,
                    retry_after(&record.headers),
                    loose_detail(&bytes),
                    attempts,
                )
            }
        }
        E::UnexpectedResponse(response) => {
            let status = response.status();
            let retry_after = retry_after(response.headers());
            let detail = match response.bytes().await {
                Ok(bytes) => loose_detail(&bytes),
                Err(_) => None,
            };
            from_status(status, retry_after, detail, attempts)
        }
        E::CommunicationError(e) | E::ResponseBodyError(e) | E::InvalidUpgrade(e) => {
            transport(e, attempts, record.idempotent)
        }
        E::InvalidRequest(message) => Error::invalid("request", message),
        E::Custom(message) => Error::Transport {
            kind: TransportKind::Other,
            attempts,
            source: message.into(),
        },
    }
}

fn transport(e: reqwest::Error, attempts: u32, idempotent: bool) -> Error {
    let kind = if e.is_timeout() {
        TransportKind::Timeout
    } else if e.is_connect() {
        TransportKind::Connect
    } else {
        TransportKind::Other
    };
    if !idempotent && kind != TransportKind::Connect {
        return Error::OutcomeUnknown {
            kind,
            source: Box::new(e),
        };
    }
    Error::Transport {
        kind,
        attempts,
        source: Box::new(e),
    }
}

fn from_status(
    status: StatusCode,
    retry_after: Option<Duration>,
    detail: Option<String>,
    attempts: u32,
) -> Error {
    match status.as_u16() {
        400 => Error::BadRequest { detail },
        401 => Error::Unauthorized { detail },
        403 => Error::Forbidden { detail },
        404 => Error::NotFound { detail },
        429 => Error::RateLimited {
            retry_after,
            detail,
            attempts,
        },
        s @ 500..=599 => Error::Server {
            status: s,
            detail,
            attempts,
        },
        s => Error::UnexpectedResponse { status: s, detail },
    }
}

/// `Retry-After` as delta-seconds or an HTTP-date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Omni's `detail` when the body is JSON carrying one; otherwise the start of a non-empty body.
fn loose_detail(bytes: &[u8]) -> Option<String> {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(bytes)
        && let Some(serde_json::Value::String(detail)) = map.get("detail")
    {
        return Some(detail.clone());
    }
    let text = String::from_utf8_lossy(bytes);
    (!text.trim().is_empty()).then(|| snippet(bytes))
}

const SNIPPET_CHARS: usize = 200;

/// The start of a body: at most 200 characters, control characters escaped, with the size.
pub(crate) fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text
        .chars()
        .take(SNIPPET_CHARS)
        .flat_map(char::escape_debug)
        .collect();
    if text.chars().nth(SNIPPET_CHARS).is_some() {
        out.push_str(&format!("… ({} bytes)", bytes.len()));
    }
    out
}
