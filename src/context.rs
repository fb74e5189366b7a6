//! What a call carries: the client's shared settings ([`Shared`]), per-request options, and the
//! context the generated client holds ([`CallContext`]), with a record of what came back. Data
//! only: the hook that acts on it is in `hook`.

use std::{
    fmt,
    sync::{Arc, Mutex, PoisonError},
    time::Duration,
};

use reqwest::{StatusCode, header::HeaderMap};

use crate::{config::TokenKind, pacing::Pacer, retry::RetryPolicy};

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
    /// The time a whole call may take, when bounded.
    pub operation_timeout: Option<Duration>,
    /// The schedule shared across processes, when configured.
    #[cfg(feature = "shared-rate-limit")]
    pub store: Option<Arc<crate::store::StorePacer>>,
    /// What the requests came to (every clone of the client counts here).
    pub stats: crate::stats::Counters,
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
            .field("operation_timeout", &self.operation_timeout)
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
    pub(crate) shared: Arc<Shared>,
    pub(crate) options: CallOptions,
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

    /// Whether this context records what comes back (a call of an ergonomic builder).
    pub(crate) fn records(&self) -> bool {
        self.record.is_some()
    }

    pub(crate) fn update(&self, f: impl FnOnce(&mut Record)) {
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
