//! How what a generated call returned maps to an [`Error`]: by status (beside the error type,
//! one table), with Omni's `{detail, status}`, and with what the request hook recorded and
//! signalled (`hook`).

use std::time::Duration;

use futures_util::FutureExt;
use reqwest::StatusCode;

use crate::{
    context::Record,
    decode::{loose_detail, snippet},
    error::{Error, TransportKind},
    generated::types::ApiError,
    hook::{ATTEMPTS_HEADER, PATH_HEADER, Signal, signal},
    retry::retry_after,
};

/// What the generated client's methods return when they fail (progenitor's error, carrying
/// Omni's `{detail, status}` body for documented error statuses). Convert it with `?` or
/// [`Error::from`] into an [`Error`].
pub type ApiCallError = progenitor_client::Error<ApiError>;

impl From<crate::generated::types::RuleViolation> for Error {
    /// A rule of the spec that a derived body's `validate()` found broken.
    fn from(violation: crate::generated::types::RuleViolation) -> Self {
        Error::invalid(violation.field, violation.rule)
    }
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
        // The call's record (builders), else the count the hook stamped on the answer.
        let stamped = |headers: &reqwest::header::HeaderMap| {
            headers
                .get(ATTEMPTS_HEADER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0)
        };
        let from_answer = match &error {
            E::ErrorResponse(value) => stamped(value.headers()),
            E::UnexpectedResponse(response) => stamped(response.headers()),
            _ => 0,
        };
        let attempts = record.attempts.max(from_answer).max(1);
        match error {
            E::ErrorResponse(value) => {
                let status = value.status();
                let retry_after = retry_after(value.headers());
                let resource = not_found(value.headers());
                let detail = Some(value.into_inner().detail).filter(|d| !d.is_empty());
                from_status(status, retry_after, detail, attempts, resource)
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
                        not_found(&record.headers),
                    )
                }
            }
            E::UnexpectedResponse(response) => {
                let status = response.status();
                let retry_after = retry_after(response.headers());
                let resource = not_found(response.headers());
                // The hook buffered the body in memory, so reading it completes at once.
                match response.bytes().now_or_never() {
                    Some(Ok(bytes)) => from_status(
                        status,
                        retry_after,
                        loose_detail(&bytes),
                        attempts,
                        resource,
                    ),
                    Some(Err(e)) => Error::from_transport(e, attempts),
                    None => from_status(status, retry_after, None, attempts, resource),
                }
            }
            E::CommunicationError(e) | E::ResponseBodyError(e) | E::InvalidUpgrade(e) => {
                Error::from_transport(e, attempts)
            }
            E::InvalidRequest(message) => match crate::path::refusal(&message) {
                Some((field, rule)) => Error::invalid(field, rule),
                None => Error::invalid("request", message),
            },
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
    resource: Option<String>,
) -> Error {
    match status.as_u16() {
        400 => Error::BadRequest { detail },
        401 => Error::Unauthorized { detail },
        403 => Error::Forbidden { detail },
        404 => Error::NotFound { resource, detail },
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

/// What a 404 answer says was not found, from the path the hook wrote on it
/// ([`PATH_HEADER`]): e.g. "model 5b4c…" or "connection 1f2e… or dbt environment 9a8b…".
fn not_found(headers: &reqwest::header::HeaderMap) -> Option<String> {
    let path = headers.get(PATH_HEADER)?.to_str().ok()?;
    resource_of(path)
}

/// The resource a request path asks for, in words; `None` for a path of no known shape.
/// Segments are shown decoded (a branch name), escaped by whoever prints them.
pub(crate) fn resource_of(path: &str) -> Option<String> {
    let rest = path.split_once("/v1/").map(|(_, rest)| rest)?;
    let segments: Vec<String> = rest
        .split('/')
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let words: Vec<&str> = segments.iter().map(String::as_str).collect();
    Some(match words.as_slice() {
        ["connections", c, "dbt", "environments", e, ..] => {
            format!("connection {c} or dbt environment {e}")
        }
        ["connections", c, "dbt"] => format!("connection {c} or its dbt configuration"),
        ["connections", c, ..] => format!("connection {c}"),
        ["models", m, "branch", b, ..] => format!("model {m} or its branch {b:?}"),
        ["models", m, ..] => format!("model {m}"),
        // A create's model and connection are in its body: either may be the one missing.
        ["models"] => "connection or base model".to_owned(),
        ["jobs", j, ..] => format!("job {j}"),
        _ => return None,
    })
}
