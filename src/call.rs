//! What every builder of the crate carries and does the same way, written once: the client,
//! this call's options, the `timeout()` setter, and sending one call through the generated API
//! with its error mapped from what the hook recorded. A builder adds only what generation
//! cannot know (validation across fields, tri-state, paging, `success: false`, …).

use std::future::Future;

use progenitor_client::ResponseValue;

use crate::{
    client::{Client, finish},
    context::{CallOptions, Record},
    error::Result,
    generated,
    mapping::ApiCallError,
};

/// The client and this call's options.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    pub(crate) client: Client,
    options: CallOptions,
}

impl Call {
    pub(crate) fn new(client: &Client) -> Self {
        Call {
            client: client.clone(),
            options: CallOptions::default(),
        }
    }

    pub(crate) fn set_timeout(&mut self, timeout: std::time::Duration) {
        self.options.timeout = Some(timeout);
    }

    /// Sends one call and maps its error with what the hook recorded.
    pub(crate) async fn run<T, F, Fut>(&self, f: F) -> Result<ResponseValue<T>>
    where
        F: FnOnce(generated::Client) -> Fut,
        Fut: Future<Output = std::result::Result<ResponseValue<T>, ApiCallError>>,
    {
        self.run_recorded(f).await.0
    }

    /// [`run`](Self::run), also returning what the hook recorded (e.g. whether an earlier
    /// attempt may have taken effect).
    pub(crate) async fn run_recorded<T, F, Fut>(&self, f: F) -> (Result<ResponseValue<T>>, Record)
    where
        F: FnOnce(generated::Client) -> Fut,
        Fut: Future<Output = std::result::Result<ResponseValue<T>, ApiCallError>>,
    {
        let (api, context) = self.client.one_call(self.options);
        let result = finish(f(api).await, &context);
        (result, context.record())
    }
}

/// The `timeout()` of every builder (a `call: Call` field).
macro_rules! timeout_setter {
    () => {
        /// Overrides the client's timeout for each attempt of this request.
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.call.set_timeout(timeout);
            self
        }
    };
}
pub(crate) use timeout_setter;
