//! The client progenitor generates from `openapi/omni-dbt.json` at build time.
//!
//! Nothing here is hand-written or edited; the rest of the crate uses it through `use` lines.
#![allow(
    dead_code,
    unused_imports,
    missing_docs,
    clippy::all,
    clippy::pedantic,
    rustdoc::all
)]

include!(concat!(env!("OUT_DIR"), "/omni_dbt_api.rs"));
