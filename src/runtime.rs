//! The shared runtime core: what every call of one client shares, and the one hook around every
//! request the generated code sends — pacing, retries, the response size cap, the
//! `api-version` strip and a tracing event per attempt.
//!
//! It depends on configuration values, [`retry`](crate::retry), [`pacing`](crate::pacing) and
//! the error signals only; nothing here knows about resources or builders.

use std::{
    fmt,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::{StatusCode, header::HeaderMap};
use tokio::time::Instant;

use crate::{
    config::TokenKind,
    error::Signal,
    generated,
    pacing::Pacer,
    retry::{self, Outcome, RetryPolicy},
};

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
    /// The time one attempt may take, from sending to the last byte of the answer.
    pub timeout: Duration,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("base_url", &self.base_url)
            .field("token_kind", &self.token_kind)
            .field("retry", &self.retry)
            .field("pacer", &self.pacer)
            .field("max_response_bytes", &self.max_response_bytes)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// Per-request options set on a builder.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct CallOptions {
    /// Overrides the client's timeout for each attempt of this request.
    pub timeout: Option<Duration>,
}

/// The context the generated client carries: the client's shared settings, and (for calls made
/// through the ergonomic builders) a record of what came back.
///
/// It has no public constructor, so every generated client goes through the client's hook.
#[derive(Clone)]
pub struct CallContext {
    shared: Arc<Shared>,
    options: CallOptions,
    record: Option<Arc<Mutex<Record>>>,
}

impl fmt::Debug for CallContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallContext")
            .field("base_url", &self.shared.base_url)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

/// What the hook saw of one call: the status and headers of the last answer (the generated
/// decoder drops them when a body does not decode), the attempts, and whether an earlier
/// attempt may have taken effect.
#[derive(Clone, Debug, Default)]
pub(crate) struct Record {
    pub status: Option<StatusCode>,
    pub headers: HeaderMap,
    pub attempts: u32,
    pub maybe_processed: bool,
}

impl CallContext {
    /// A context shared by every call of a generated client handed out by `Client::api`.
    pub(crate) fn shared(shared: Arc<Shared>) -> Self {
        CallContext {
            shared,
            options: CallOptions::default(),
            record: None,
        }
    }

    /// A context for one call, recording what came back.
    pub(crate) fn one_call(shared: Arc<Shared>, options: CallOptions) -> Self {
        CallContext {
            shared,
            options,
            record: Some(Arc::default()),
        }
    }

    fn update(&self, f: impl FnOnce(&mut Record)) {
        if let Some(record) = &self.record {
            f(&mut record.lock().unwrap_or_else(PoisonError::into_inner));
        }
    }

    /// What the hook recorded (the default for a context that records nothing).
    pub(crate) fn record(&self) -> Record {
        self.record
            .as_ref()
            .map(|r| r.lock().unwrap_or_else(PoisonError::into_inner).clone())
            .unwrap_or_default()
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
        *request.timeout_mut() = Some(context.options.timeout.unwrap_or(shared.timeout));
        let method = request.method().clone();
        let body = request.body().and_then(reqwest::Body::as_bytes);
        let repeatable = retry::request_is_repeatable(info.operation_id, &method, body);
        let policy = shared.retry;
        // No attempt starts after this; the call ends by it plus one attempt's timeout.
        let deadline = Instant::now().checked_add(policy.total_budget());
        let mut attempt = 0;
        // The outcome that led to the current retry, returned if pacing leaves it no slot.
        let mut previous: Option<(Result<reqwest::Response, Failure>, Outcome)> = None;
        loop {
            if let Some(pacer) = &shared.pacer
                && let Err(wait) = pacer.acquire(deadline).await
            {
                if let Some((outcome, seen)) = previous {
                    // No slot for the retry within the budget: the last answer stands.
                    return finish(outcome, seen, repeatable, shared).await;
                }
                tracing::debug!(operation = info.operation_id, %method, attempt = attempt + 1,
                    wait_ms = millis(wait), "omni request not sent: rate-limited locally");
                return Err(Signal::LocallyRateLimited { wait }
                    .into_reqwest(shared)
                    .await);
            }
            attempt += 1;
            context.update(|r| r.attempts = attempt);
            // A JSON body is bytes, so the clone always succeeds; without one, no retry.
            let retry_copy = if attempt < policy.max_attempts() {
                request.try_clone()
            } else {
                None
            };
            let started = Instant::now();
            let outcome = match self.client().execute(request).await {
                Ok(response) => buffer(response, shared.max_response_bytes).await,
                Err(e) => Err(Failure::Transport(e)),
            };
            let elapsed_ms = millis(started.elapsed());

            let (status, retry_after, seen) = match &outcome {
                Ok(response) => {
                    let status = response.status();
                    context.update(|r| {
                        r.status = Some(status);
                        r.headers = response.headers().clone();
                    });
                    let retry_after = crate::error::retry_after(response.headers());
                    if status == StatusCode::TOO_MANY_REQUESTS
                        && let Some(pacer) = &shared.pacer
                    {
                        let asked = retry_after.unwrap_or(Duration::from_secs(1));
                        pacer.back_off(asked.min(policy.max_retry_after()));
                    }
                    (
                        Some(status.as_u16()),
                        retry_after,
                        Outcome::Status(status.as_u16()),
                    )
                }
                Err(Failure::Transport(e)) => (None, None, Outcome::of_transport(e)),
                Err(Failure::TooLarge(response)) => {
                    let status = response.status().as_u16();
                    (Some(status), None, Outcome::TooLarge)
                }
            };
            let wait = match (retry::should_retry(seen, repeatable), retry_copy) {
                (true, Some(copy)) => policy
                    .wait(attempt, retry_after)
                    .filter(|wait| {
                        // The retry must start before the deadline.
                        match (Instant::now().checked_add(*wait), deadline) {
                            (Some(at), Some(deadline)) => at < deadline,
                            (_, None) => true,
                            (None, Some(_)) => false,
                        }
                    })
                    .map(|wait| (wait, copy)),
                _ => None,
            };
            let error = match &outcome {
                Err(Failure::Transport(e)) => Some(crate::error::redacted(e)),
                _ => None,
            };
            tracing::debug!(
                operation = info.operation_id,
                %method,
                attempt,
                status,
                elapsed_ms,
                error,
                retry_in_ms = wait.as_ref().map(|(w, _)| millis(*w)),
                "omni request"
            );
            if seen.may_have_taken_effect() {
                context.update(|r| r.maybe_processed = true);
            }
            match wait {
                Some((wait, copy)) => {
                    tokio::time::sleep(wait).await;
                    request = copy;
                    previous = Some((outcome, seen));
                }
                None => return finish(outcome, seen, repeatable, shared).await,
            }
        }
    }
}

/// What the hook returns for an attempt's outcome that is not retried.
async fn finish(
    outcome: Result<reqwest::Response, Failure>,
    seen: Outcome,
    repeatable: bool,
    shared: &Shared,
) -> reqwest::Result<reqwest::Response> {
    match outcome {
        Ok(response) | Err(Failure::TooLarge(response)) => Ok(response),
        Err(Failure::Transport(e)) if !repeatable && seen != Outcome::ConnectFailed => {
            Err(Signal::outcome_unknown(&e).into_reqwest(shared).await)
        }
        Err(Failure::Transport(e)) => Err(e),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Reads the whole body, up to `cap` bytes, into a response the generated decoder can read. A
/// larger body becomes a response whose body fails with [`Signal::TooLarge`], so that the
/// generated decoder reports it and the error mapping names it.
async fn buffer(mut response: reqwest::Response, cap: usize) -> Result<reqwest::Response, Failure> {
    let status = response.status();
    let mut head = http::Response::builder()
        .status(status)
        .version(response.version());
    if let Some(headers) = head.headers_mut() {
        *headers = response.headers().clone();
        // The body is re-framed in memory.
        headers.remove(reqwest::header::CONTENT_LENGTH);
        headers.remove(reqwest::header::TRANSFER_ENCODING);
    }
    let too_large = |head: http::response::Builder| {
        let signal = Signal::TooLarge {
            status: status.as_u16(),
            limit: cap,
        };
        let body = reqwest::Body::wrap_stream(futures_util::stream::once(async move {
            Err::<Vec<u8>, Signal>(signal)
        }));
        Failure::TooLarge(reqwest::Response::from(
            head.body(body)
                .unwrap_or_else(|_| http::Response::new(reqwest::Body::from(Vec::new()))),
        ))
    };
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(too_large(head));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(Failure::Transport)? {
        if body.len().saturating_add(chunk.len()) > cap {
            return Err(too_large(head));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(reqwest::Response::from(head.body(body).unwrap_or_default()))
}
