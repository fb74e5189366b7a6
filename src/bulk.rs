//! Many requests at once: bounded concurrency, one result per request, in input order.

use std::{fmt, future::Future, sync::Arc};

use futures_util::{StreamExt, stream};

use crate::{
    data::{DbtEnvironment, Deleted},
    environments::{CreateEnvironment, DeleteEnvironment, UpdateEnvironment},
    error::Result,
    generated::types::SuccessResponse,
    models::UseDbtEnvironment,
};

/// A request builder that can be sent on its own; implemented by this crate's builders that
/// change something, so that [`Bulk`] can run any of them. Sealed.
pub trait SendRequest: sealed::Sealed + Send + 'static {
    /// What a successful request returns.
    type Output: Send + 'static;

    /// Validates and sends the request (the builder's own `send`).
    fn send_request(self) -> impl Future<Output = Result<Self::Output>> + Send;
}

mod sealed {
    /// Keeps [`SendRequest`](super::SendRequest) implemented by this crate only.
    pub trait Sealed {}
    impl Sealed for crate::UpdateEnvironment {}
    impl Sealed for crate::CreateEnvironment {}
    impl Sealed for crate::DeleteEnvironment {}
    impl Sealed for crate::UseDbtEnvironment {}
}

impl SendRequest for UseDbtEnvironment {
    type Output = SuccessResponse;
    fn send_request(self) -> impl Future<Output = Result<SuccessResponse>> + Send {
        self.send()
    }
}

impl SendRequest for UpdateEnvironment {
    type Output = DbtEnvironment;
    fn send_request(self) -> impl Future<Output = Result<DbtEnvironment>> + Send {
        self.send()
    }
}

impl SendRequest for CreateEnvironment {
    type Output = DbtEnvironment;
    fn send_request(self) -> impl Future<Output = Result<DbtEnvironment>> + Send {
        self.send()
    }
}

impl SendRequest for DeleteEnvironment {
    type Output = Deleted;
    fn send_request(self) -> impl Future<Output = Result<Deleted>> + Send {
        self.send()
    }
}

/// How far a [`Bulk`] run has come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Requests finished, successfully or not.
    pub done: usize,
    /// Of those, how many failed.
    pub failed: usize,
    /// Requests in all.
    pub total: usize,
}

type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// Sends many requests with bounded concurrency. One failure never stops the rest; each request
/// gets its own result, in input order. Dropping the future of [`run`](Self::run) cancels what
/// is still in flight and starts nothing more. The client's pacing and retries apply to each.
///
/// ```no_run
/// # async fn f(client: omni_dbt::Client, conn: omni_dbt::Uuid, ids: Vec<omni_dbt::Uuid>) {
/// use omni_dbt::Bulk;
///
/// let envs = client.dbt_environments(conn);
/// let results = Bulk::new(ids.iter().map(|id| envs.update(*id).target_schema("dbt_nightly")))
///     .concurrency(8)
///     .on_progress(|p| eprintln!("{}/{} ({} failed)", p.done, p.total, p.failed))
///     .run()
///     .await;
/// for (id, result) in ids.iter().zip(&results) {
///     if let Err(e) = result {
///         eprintln!("{id}: {e}");
///     }
/// }
/// # }
/// ```
#[must_use = "nothing is sent until `run`"]
pub struct Bulk<R: SendRequest> {
    requests: Vec<R>,
    concurrency: usize,
    progress: Option<ProgressFn>,
    each: Option<EachFn<R>>,
}

type EachFn<R> = Box<dyn Fn(usize, &Result<<R as SendRequest>::Output>) + Send + Sync>;

impl<R: SendRequest> fmt::Debug for Bulk<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bulk")
            .field("requests", &self.requests.len())
            .field("concurrency", &self.concurrency)
            .field("progress", &self.progress.is_some())
            .field("on_result", &self.each.is_some())
            .finish()
    }
}

impl<R: SendRequest> Bulk<R> {
    /// The requests to send; 4 at a time unless [`concurrency`](Self::concurrency) says otherwise.
    pub fn new(requests: impl IntoIterator<Item = R>) -> Self {
        Bulk {
            requests: requests.into_iter().collect(),
            concurrency: 4,
            progress: None,
            each: None,
        }
    }

    /// At most this many requests in flight (at least 1).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n.max(1);
        self
    }

    /// Called after every finished request.
    pub fn on_progress(mut self, f: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Called with each request's result as it arrives (its position in the order given, and
    /// the result), before [`on_progress`](Self::on_progress)'s count: to say what finished
    /// while the rest are still in flight.
    ///
    /// ```no_run
    /// # async fn f(client: omni_dbt::Client, conn: omni_dbt::Uuid, ids: Vec<omni_dbt::Uuid>) {
    /// use omni_dbt::Bulk;
    ///
    /// let envs = client.dbt_environments(conn);
    /// Bulk::new(ids.iter().map(|id| envs.delete(*id)))
    ///     .on_result(|i, result| match result {
    ///         Ok(_) => eprintln!("deleted #{i}"),
    ///         Err(e) => eprintln!("#{i} failed: {e}"),
    ///     })
    ///     .run()
    ///     .await;
    /// # }
    /// ```
    pub fn on_result(
        mut self,
        f: impl Fn(usize, &Result<R::Output>) + Send + Sync + 'static,
    ) -> Self {
        self.each = Some(Box::new(f));
        self
    }

    /// Sends everything; returns one result per request, in the order given.
    pub async fn run(self) -> Vec<Result<R::Output>> {
        let total = self.requests.len();
        let mut results: Vec<Option<Result<R::Output>>> = (0..total).map(|_| None).collect();
        let mut finished = stream::iter(self.requests.into_iter().enumerate())
            .map(|(i, request)| async move { (i, request.send_request().await) })
            .buffer_unordered(self.concurrency);
        let mut progress = Progress {
            done: 0,
            failed: 0,
            total,
        };
        while let Some((i, result)) = finished.next().await {
            if let Some(each) = &self.each {
                each(i, &result);
            }
            progress.done += 1;
            progress.failed += usize::from(result.is_err());
            results[i] = Some(result);
            if let Some(f) = &self.progress {
                f(progress);
            }
        }
        results.into_iter().flatten().collect()
    }
}
