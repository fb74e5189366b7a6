//! The one public error type. Its variants follow what a caller has to decide: fix the input
//! or the configuration, re-authenticate, ask for permission, wait and retry, or report a bug.

use std::{
    fmt,
    time::{Duration, SystemTime},
};

use futures_util::FutureExt;
use reqwest::{StatusCode, header::HeaderMap};

use crate::{
    generated::types::ApiError,
    retry::{self, Outcome},
    runtime::{Record, Shared},
};

/// A boxed lower-level error, kept as the `source()` of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong talking to Omni.
///
/// The enum and each variant are `#[non_exhaustive]`, so that new cases and fields can come
/// without breaking callers; match with `..` and ask the accessors.
///
/// ```
/// # async fn demo(client: omni_dbt::Client, conn: omni_dbt::Uuid) {
/// use omni_dbt::Error;
///
/// match client.dbt_environments(conn).list().send().await {
///     Ok(page) => println!("{} environments", page.records.len()),
///     Err(e @ Error::RateLimited { .. }) => eprintln!("retry in {:?}", e.retry_after()),
///     Err(Error::InvalidInput { field, rule, .. }) => eprintln!("fix {field}: {rule}"),
///     Err(e) if e.is_retryable() => eprintln!("try again later: {e}"),
///     Err(e) => eprintln!("{e}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input broke a rule of the API; nothing was sent. Fix the named field.
    #[non_exhaustive]
    #[error("invalid input: `{field}` {rule}; nothing was sent")]
    InvalidInput {
        /// The field, as named in the JSON body or the path (e.g. `variables[1].name`).
        field: String,
        /// The rule it broke.
        rule: String,
    },

    /// The client could not be configured. `origin` names the environment variable, file or
    /// profile that was wrong.
    #[non_exhaustive]
    #[error("configuration error in {origin}: {message}")]
    Config {
        /// Where the bad value came from, e.g. `OMNI_BASE_URL` or `profile "dev" in /path`.
        origin: String,
        /// What is wrong with it.
        message: String,
    },

    /// 401: the token is missing, unknown, revoked or expired. Re-authenticate.
    #[non_exhaustive]
    #[error("unauthorized (401): Omni did not accept the token{}", suffix(.detail))]
    Unauthorized {
        /// Omni's message.
        detail: Option<String>,
    },

    /// 403: the token's user lacks the Connection Admin permission on the connection, or the
    /// connection does not support dbt.
    #[non_exhaustive]
    #[error(
        "forbidden (403): the Connection Admin permission on the connection is required \
         (or the connection does not support dbt){}",
        suffix(.detail)
    )]
    Forbidden {
        /// Omni's message.
        detail: Option<String>,
    },

    /// 404: the connection or the environment does not exist.
    #[non_exhaustive]
    #[error("not found (404): no such connection or dbt environment{}", suffix(.detail))]
    NotFound {
        /// Omni's message.
        detail: Option<String>,
    },

    /// 400: Omni rejected the request body or parameters.
    #[non_exhaustive]
    #[error("bad request (400){}", suffix(.detail))]
    BadRequest {
        /// Omni's message, which names what it rejected.
        detail: Option<String>,
    },

    /// 429: over Omni's rate limit (60 requests per minute per key by default). Wait and retry.
    #[non_exhaustive]
    #[error("rate limited (429){}{}{}", retry_after_text(.retry_after), attempts_text(*.attempts), suffix(.detail))]
    RateLimited {
        /// How long Omni asked to wait (`Retry-After`), when it said.
        retry_after: Option<Duration>,
        /// Omni's message.
        detail: Option<String>,
        /// Attempts made, retries included.
        attempts: u32,
    },

    /// 5xx: Omni failed. Usually worth retrying later.
    #[non_exhaustive]
    #[error("server error ({status}){}{}", attempts_text(*.attempts), suffix(.detail))]
    Server {
        /// The HTTP status.
        status: u16,
        /// Omni's message, or the start of the body.
        detail: Option<String>,
        /// Attempts made, retries included.
        attempts: u32,
    },

    /// A status the API does not document for this operation, or an answer that breaks the
    /// API's contract (e.g. a delete reporting `success: false`).
    #[non_exhaustive]
    #[error("unexpected response ({status}){}", suffix(.detail))]
    UnexpectedResponse {
        /// The HTTP status.
        status: u16,
        /// Omni's message, or what was wrong.
        detail: Option<String>,
    },

    /// The request did not complete: connection, TLS or timeout.
    #[non_exhaustive]
    #[error("transport error ({kind}){}: {source}", attempts_text(*.attempts))]
    Transport {
        /// What kind of failure.
        kind: TransportKind,
        /// Attempts made, retries included.
        attempts: u32,
        /// The underlying error.
        #[source]
        source: BoxError,
    },

    /// A create (or an update that creates variables) whose connection failed after the
    /// request may have reached Omni: it may or may not have taken effect. It was not retried,
    /// so that nothing is created twice; list the environments to find out.
    #[non_exhaustive]
    #[error(
        "outcome unknown ({kind}): the request may have reached Omni; it was not retried: {source}"
    )]
    OutcomeUnknown {
        /// What kind of failure.
        kind: TransportKind,
        /// The underlying error.
        #[source]
        source: BoxError,
    },

    /// The request was not sent: the client's own pacing
    /// ([`ClientBuilder::with_rate_limit`](crate::ClientBuilder::with_rate_limit)) had no slot
    /// for it before the retry budget ran out (for example after Omni asked the token to wait).
    #[non_exhaustive]
    #[error(
        "rate-limited locally: the client's pacing has no slot for this request for {}s, \
         beyond its retry budget; nothing was sent",
        .wait.as_secs_f64()
    )]
    LocallyRateLimited {
        /// How long until the next slot.
        wait: Duration,
    },

    /// The response body was larger than the client's cap
    /// ([`ClientBuilder::with_max_response_bytes`](crate::ClientBuilder::with_max_response_bytes)).
    #[non_exhaustive]
    #[error("response too large ({status}): the body exceeds the {limit}-byte cap")]
    ResponseTooLarge {
        /// The HTTP status.
        status: u16,
        /// The cap in bytes.
        limit: usize,
    },

    /// A response whose body could not be decoded. Probably a bug here or at Omni; report it.
    #[non_exhaustive]
    #[error("undecodable response ({status}): {source}; body starts: {snippet}")]
    Undecodable {
        /// The HTTP status.
        status: u16,
        /// The start of the body, bounded and escaped.
        snippet: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
}

/// Kinds of [`Error::Transport`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportKind {
    /// The connect or the total timeout elapsed.
    Timeout,
    /// No connection could be made (refused, DNS, TLS handshake).
    Connect,
    /// The connection failed after it was made, or the body could not be read.
    Other,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Timeout => "timeout",
            TransportKind::Connect => "connect",
            TransportKind::Other => "connection",
        })
    }
}

fn suffix(detail: &Option<String>) -> String {
    detail
        .as_deref()
        .map(|d| format!(": {d}"))
        .unwrap_or_default()
}

fn attempts_text(attempts: u32) -> String {
    if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    }
}

fn retry_after_text(retry_after: &Option<Duration>) -> String {
    retry_after
        .map(|d| format!(", retry after {}s", d.as_secs_f64()))
        .unwrap_or_default()
}

impl Error {
    pub(crate) fn invalid(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Error::InvalidInput {
            field: field.into(),
            rule: rule.into(),
        }
    }

    /// A rule of the spec that a derived body's `validate()` found broken.
    pub(crate) fn from_rule(violation: crate::generated::types::RuleViolation) -> Self {
        Error::invalid(violation.field, violation.rule)
    }

    pub(crate) fn config(origin: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            origin: origin.into(),
            message: message.into(),
        }
    }

    /// The HTTP status of the response behind this error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Unauthorized { .. } => Some(401),
            Error::Forbidden { .. } => Some(403),
            Error::NotFound { .. } => Some(404),
            Error::BadRequest { .. } => Some(400),
            Error::RateLimited { .. } => Some(429),
            Error::Server { status, .. }
            | Error::UnexpectedResponse { status, .. }
            | Error::Undecodable { status, .. }
            | Error::ResponseTooLarge { status, .. } => Some(*status),
            Error::InvalidInput { .. }
            | Error::Config { .. }
            | Error::Transport { .. }
            | Error::OutcomeUnknown { .. }
            | Error::LocallyRateLimited { .. } => None,
        }
    }

    /// Omni's own message (`detail`), if it sent one.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Error::Unauthorized { detail }
            | Error::Forbidden { detail }
            | Error::NotFound { detail }
            | Error::BadRequest { detail }
            | Error::RateLimited { detail, .. }
            | Error::Server { detail, .. }
            | Error::UnexpectedResponse { detail, .. } => detail.as_deref(),
            _ => None,
        }
    }

    /// Whether a timeout ended the request.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Error::Transport {
                kind: TransportKind::Timeout,
                ..
            } | Error::OutcomeUnknown {
                kind: TransportKind::Timeout,
                ..
            }
        )
    }

    /// Whether the same request may succeed later: 429, 502/503/504, transport failures and
    /// local rate limiting. ([`Error::OutcomeUnknown`] is not: repeating it could create a
    /// second environment.) The same rule the client's own retries follow.
    pub fn is_retryable(&self) -> bool {
        let outcome = match self {
            Error::RateLimited { .. } => Outcome::Status(429),
            Error::Server { status, .. } => Outcome::Status(*status),
            Error::Transport { kind, .. } => match kind {
                TransportKind::Connect => Outcome::ConnectFailed,
                TransportKind::Timeout => Outcome::TimedOut,
                TransportKind::Other => Outcome::ConnectionLost,
            },
            Error::LocallyRateLimited { .. } => return true,
            _ => return false,
        };
        // A `Transport` error is only ever returned for a request that may be repeated
        // (otherwise it is `OutcomeUnknown`).
        retry::should_retry(outcome, true)
    }

    /// How many attempts were made (1 unless the client retried).
    pub fn attempts(&self) -> u32 {
        match self {
            Error::RateLimited { attempts, .. }
            | Error::Server { attempts, .. }
            | Error::Transport { attempts, .. } => *attempts,
            _ => 1,
        }
    }

    /// How long Omni asked to wait, for a 429 that carried `Retry-After`.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::RateLimited { retry_after, .. } => *retry_after,
            Error::LocallyRateLimited { wait } => Some(*wait),
            _ => None,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What the generated client's methods return when they fail (progenitor's error, carrying
/// Omni's `{detail, status}` body for documented error statuses). Convert it with `?` or
/// [`Error::from`] into an [`Error`].
pub type ApiCallError = progenitor_client::Error<ApiError>;

/// Conditions the request hook must report through the generated client's own error type:
/// each travels as the source of a `reqwest::Error` and is recognised by the mapping below.
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
    pub(crate) async fn into_reqwest(self, shared: &Shared) -> reqwest::Error {
        let body = reqwest::Body::wrap_stream(futures_util::stream::once(async move {
            Err::<Vec<u8>, Signal>(self)
        }));
        match reqwest::Response::from(http::Response::new(body))
            .bytes()
            .await
        {
            Err(e) => e,
            // Unreachable (the body's only item is an error); an error all the same.
            Ok(_) => shared
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
fn signal<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a Signal> {
    let mut current = Some(e);
    while let Some(err) = current {
        if let Some(signal) = err.downcast_ref::<Signal>() {
            return Some(signal);
        }
        current = err.source();
    }
    None
}

impl From<ApiCallError> for Error {
    /// Maps what a generated method returned, with what the error itself carries.
    fn from(error: ApiCallError) -> Self {
        Error::from_api(error, &Record::default())
    }
}

impl Error {
    /// Maps what a generated call returned, completed with what the hook recorded of it.
    pub(crate) fn from_api(error: ApiCallError, record: &Record) -> Self {
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
                    // A documented error status whose body is not Omni's `{detail, status}`:
                    // the status still says what happened.
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
                // The hook buffered the body in memory, so reading it completes at once.
                match response.bytes().now_or_never() {
                    Some(Ok(bytes)) => {
                        from_status(status, retry_after, loose_detail(&bytes), attempts)
                    }
                    Some(Err(e)) => Error::from_transport(e, attempts),
                    None => from_status(status, retry_after, None, attempts),
                }
            }
            E::CommunicationError(e) | E::ResponseBodyError(e) | E::InvalidUpgrade(e) => {
                Error::from_transport(e, attempts)
            }
            E::InvalidRequest(message) => Error::invalid("request", message),
            E::Custom(message) => Error::Transport {
                kind: TransportKind::Other,
                attempts,
                source: message.into(),
            },
        }
    }

    fn from_transport(e: reqwest::Error, attempts: u32) -> Self {
        match signal(&e) {
            Some(Signal::TooLarge { status, limit }) => {
                return Error::ResponseTooLarge {
                    status: *status,
                    limit: *limit,
                };
            }
            Some(Signal::LocallyRateLimited { wait }) => {
                return Error::LocallyRateLimited { wait: *wait };
            }
            Some(Signal::OutcomeUnknown { .. }) | None => {}
        }
        if let Some(Signal::OutcomeUnknown { kind, cause }) = signal(&e) {
            return Error::OutcomeUnknown {
                kind: *kind,
                source: cause.clone().into(),
            };
        }
        let kind = if e.is_timeout() {
            TransportKind::Timeout
        } else if e.is_connect() {
            TransportKind::Connect
        } else {
            TransportKind::Other
        };
        Error::Transport {
            kind,
            attempts,
            // Without the URL, whose query could carry secrets.
            source: Box::new(e.without_url()),
        }
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

/// `Retry-After` as delta-seconds or an HTTP-date (uncapped: callers cap it).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
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
