//! Environments as code: a YAML file of desired environments, a plan of what would change, and
//! an apply that carries it out with the library's bulk runner. One module a job: the file
//! ([`file`]), the plan ([`diff`]), its renders ([`render`]), the export ([`export`]) and the
//! apply ([`apply`]). The environment's properties come from the spec's table
//! (`omni_dbt::fields`); only what the spec cannot state is written here.

mod apply;
mod diff;
mod export;
mod file;
mod locate;
mod render;

pub use apply::{Report, apply, requests, secrets};
pub use diff::{Options, check_prune, plan};
pub use export::export;
pub use file::{File, Loaded, load, managed, own_keys, resolve_owners};

#[cfg(test)]
mod tests;
