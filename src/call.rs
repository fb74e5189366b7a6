//! What every builder of the crate carries and does the same way, written once: the client,
//! this call's options, the operation's path parameters as generated from the spec (with their
//! checks), the `timeout()` setter ([`builder!`]), and sending one call through the generated
//! API with its error mapped from what the hook recorded ([`send!`]). A builder adds only what
//! generation cannot know (validation across fields, tri-state, paging, `success: false`, …).

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
/// what the hook recorded. `send!(self.call, self.path, |request| request.….send())`: the
/// path parameters ([`crate::generated::paths`]) are checked first (nothing is sent when one
/// is refused), then `request` is the generated builder with them set; the value is the
/// `Result<ResponseValue<T>>`.
macro_rules! send {
    ($call:expr, $path:expr, |$request:ident| $send:expr) => {{
        let path = &$path;
        match path.check() {
            Err(refused) => Err(refused),
            Ok(()) => {
                let (generated, context) = $call.one_call();
                let $request = path.request(&generated);
                let result = $send.await;
                crate::client::finish(result, &context)
            }
        }
    }};
}
pub(crate) use send;

/// [`send!`], also giving what the hook recorded (e.g. whether an earlier attempt may have
/// taken effect): `(Result<ResponseValue<T>>, Record)` (an empty record when a path parameter
/// is refused: nothing was sent).
macro_rules! send_recorded {
    ($call:expr, $path:expr, |$request:ident| $send:expr) => {{
        let path = &$path;
        match path.check() {
            Err(refused) => (Err(refused), crate::context::Record::default()),
            Ok(()) => {
                let (generated, context) = $call.one_call();
                let $request = path.request(&generated);
                let result = $send.await;
                (crate::client::finish(result, &context), context.record())
            }
        }
    }};
}
pub(crate) use send_recorded;

/// A builder's struct: the client and this call's options (`call`), the operation's path
/// parameters as generated from the spec (`path`, a [`crate::generated::paths`] struct), the
/// fields that only the builder knows, and the `timeout()` setter.
///
/// ```text
/// builder! {
///     /// Removes a connection's dbt configuration.
///     #[must_use = "nothing is sent until `send`"]
///     pub struct DeleteDbtConfig for ConnectionsDbtDelete {}
/// }
/// ```
macro_rules! builder {
    (
        $(#[$meta:meta])*
        pub struct $name:ident for $path:ident {
            $( $(#[$field_meta:meta])* $field_vis:vis $field:ident : $type:ty ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        pub struct $name {
            call: crate::call::Call,
            /// The operation's path parameters, as the spec declares them.
            path: crate::generated::paths::$path,
            $( $(#[$field_meta])* $field_vis $field: $type, )*
        }

        impl $name {
            /// Overrides the client's timeout for each attempt of this request.
            pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
                self.call.set_timeout(timeout);
                self
            }
        }
    };
}
pub(crate) use builder;
