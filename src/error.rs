//! The one public error type. Its variants follow what a caller has to decide: fix the input
//! or the configuration, re-authenticate, ask for permission, wait and retry, or report a bug.

use std::{fmt, time::Duration};

use crate::retry::{self, Outcome};

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

    /// 404: what was asked for does not exist (or the token cannot see it).
    #[non_exhaustive]
    #[error("not found (404): no such {}{}", .resource.as_deref().unwrap_or("resource"), suffix(.detail))]
    NotFound {
        /// What was asked for, from the request's path: e.g. `model 5b4c…`, `connection 1f2e…
        /// or dbt environment 9a8b…`; `None` when the path has no known shape.
        resource: Option<String>,
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

    /// Another run held the lease this run waited for ([`Client::lease`](crate::Client::lease))
    /// for longer than it could wait; nothing was changed. Run it again later.
    #[non_exhaustive]
    #[error(
        "busy: another run held the lease on {scope:?} for the {:.0} s this run waited; nothing \
         was changed",
        .waited.as_secs_f64()
    )]
    Busy {
        /// The lease's scope.
        scope: String,
        /// How long this run waited.
        waited: Duration,
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
            | Error::LocallyRateLimited { .. }
            | Error::Busy { .. } => None,
        }
    }

    /// Omni's own message (`detail`), if it sent one.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Error::Unauthorized { detail }
            | Error::Forbidden { detail }
            | Error::NotFound { detail, .. }
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
