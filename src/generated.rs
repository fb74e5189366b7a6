//! The client progenitor generates from `openapi/omni-dbt.json` at build time.
//!
//! Nothing here is hand-written or edited; [`crate::api`] makes it public, and the rest of the
//! crate uses it through `use` lines.
#![allow(
    unused_imports,
    missing_docs,
    clippy::all,
    clippy::pedantic,
    rustdoc::all
)]

include!(concat!(env!("OUT_DIR"), "/omni_dbt_api.rs"));
