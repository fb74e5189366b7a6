//! Nothing but the quickstart example (`examples/quickstart.rs`); see the README.
