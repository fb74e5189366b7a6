//! What every builder of the crate carries and does the same way, written once: the client,
//! this call's options, the `timeout()` setter, and sending one call through the generated API
//! with its error mapped from what the hook recorded. A builder adds only what generation
//! cannot know (validation across fields, tri-state, paging, `success: false`, …).

use crate::{client::Client, context::CallOptions, generated};

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

    /// A generated client for one call, and the context whose record the hook fills.
    pub(crate) fn one_call(&self) -> (generated::Client, crate::context::CallContext) {
        self.client.one_call(self.options)
    }

    pub(crate) fn set_timeout(&mut self, timeout: std::time::Duration) {
        self.options.timeout = Some(timeout);
    }
}

/// Sends one call, written in place in the builder's own `send` (no future of its own, so
/// that the generated call's state is not copied once more per layer), and maps its error with
/// what the hook recorded: `send!(self.call, |api| api.op().….send())` is the
/// `Result<ResponseValue<T>>`.
macro_rules! send {
    ($call:expr, |$api:ident| $request:expr) => {{
        let (generated, context) = $call.one_call();
        let $api = &generated;
        let result = $request.await;
        crate::client::finish(result, &context)
    }};
}
pub(crate) use send;

/// [`send!`], also giving what the hook recorded (e.g. whether an earlier attempt may have
/// taken effect): `(Result<ResponseValue<T>>, Record)`.
macro_rules! send_recorded {
    ($call:expr, |$api:ident| $request:expr) => {{
        let (generated, context) = $call.one_call();
        let $api = &generated;
        let result = $request.await;
        (crate::client::finish(result, &context), context.record())
    }};
}
pub(crate) use send_recorded;

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
