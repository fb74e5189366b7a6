//! The one hook around every request the generated code sends, and the mapping of its
//! outcomes onto [`Error`].

use std::{
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant, SystemTime},
};

use progenitor_client::{ClientHooks, OperationInfo};
use reqwest::{StatusCode, header::HeaderMap};

use crate::{
    error::{Error, TransportKind},
    generated::{self, types::ApiError},
};

/// Per-call state handed to the generated client as its "inner" value: the hook records the
/// status and headers of the answer here, because the generated decoder drops them when a body
/// does not decode.
#[derive(Clone, Debug, Default)]
pub(crate) struct CallContext {
    answer: Arc<Mutex<Option<Answer>>>,
}

#[derive(Clone, Debug)]
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
}

impl CallContext {
    fn record(&self, status: StatusCode, headers: &HeaderMap) {
        let answer = Answer {
            status,
            headers: headers.clone(),
        };
        *self.answer.lock().unwrap_or_else(PoisonError::into_inner) = Some(answer);
    }

    fn answer(&self) -> Option<Answer> {
        self.answer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl ClientHooks<CallContext> for generated::Client {
    async fn exec(
        &self,
        mut request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        use progenitor_client::ClientInfo;
        // progenitor adds `api-version: <info.version>`; Omni documents no such header.
        request.headers_mut().remove("api-version");
        let method = request.method().clone();
        let started = Instant::now();
        let result = self.client().execute(request).await;
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(response) => {
                self.inner().record(response.status(), response.headers());
                tracing::debug!(
                    operation = info.operation_id,
                    %method,
                    status = response.status().as_u16(),
                    elapsed_ms,
                    "omni request"
                );
            }
            Err(error) => tracing::debug!(
                operation = info.operation_id,
                %method,
                elapsed_ms,
                error = %error,
                "omni request failed"
            ),
        }
        result
    }
}

/// Maps whatever the generated call returned onto our [`Error`].
pub(crate) async fn map_error(
    error: progenitor_client::Error<ApiError>,
    context: &CallContext,
) -> Error {
    use progenitor_client::Error as E;
    match error {
        E::ErrorResponse(value) => {
            let status = value.status();
            let retry_after = retry_after(value.headers());
            from_status(status, retry_after, Some(value.into_inner().detail))
        }
        E::InvalidResponsePayload(bytes, source) => {
            let answer = context.answer();
            let status = answer.as_ref().map_or(StatusCode::OK, |a| a.status);
            if status.is_success() {
                Error::Undecodable {
                    status: status.as_u16(),
                    snippet: snippet(&bytes),
                    source,
                }
            } else {
                // A documented error status whose body is not Omni's `{detail, status}`: the
                // status still says what happened.
                let retry_after = answer.as_ref().and_then(|a| retry_after(&a.headers));
                from_status(status, retry_after, loose_detail(&bytes))
            }
        }
        E::UnexpectedResponse(response) => {
            let status = response.status();
            let retry_after = retry_after(response.headers());
            let detail = match response.bytes().await {
                Ok(bytes) => loose_detail(&bytes),
                Err(_) => None,
            };
            from_status(status, retry_after, detail)
        }
        E::CommunicationError(e) | E::ResponseBodyError(e) | E::InvalidUpgrade(e) => transport(e),
        E::InvalidRequest(message) => Error::invalid("request", message),
        E::Custom(message) => Error::Transport {
            kind: TransportKind::Other,
            source: message.into(),
        },
    }
}

pub(crate) fn transport(e: reqwest::Error) -> Error {
    let kind = if e.is_timeout() {
        TransportKind::Timeout
    } else if e.is_connect() {
        TransportKind::Connect
    } else {
        TransportKind::Other
    };
    Error::Transport {
        kind,
        source: Box::new(e),
    }
}

fn from_status(status: StatusCode, retry_after: Option<Duration>, detail: Option<String>) -> Error {
    match status.as_u16() {
        400 => Error::BadRequest { detail },
        401 => Error::Unauthorized { detail },
        403 => Error::Forbidden { detail },
        404 => Error::NotFound { detail },
        429 => Error::RateLimited {
            retry_after,
            detail,
        },
        s @ 500..=599 => Error::Server { status: s, detail },
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
