//! The integration tests, linked as one binary (one link instead of one per file).
//!
//! Each module tests behaviour through the public API only.
#![allow(dead_code)]

mod api;
mod branches;
mod common;
mod config;
mod dbt_ops;
mod drift;
mod e2e;
mod errors;
mod hardening;
mod install;
mod operations;
mod paths;
mod redaction;
mod resilience;
#[cfg(feature = "shared-rate-limit")]
mod store;
mod tls;
mod tracing_events;
mod update;
