//! Where a secret's value comes from: an environment variable, named by the environments file
//! (`secretVariables: {NAME: ${ENV_VAR}}`) or by `--secret-var NAME`.
//!
//! Two rules, written once:
//! - **`env export` namespaces the references it writes**: the secret `DBT_PASSWORD` of the
//!   environment `staging` becomes `${OMNI_DBT_SECRET_STAGING__DBT_PASSWORD}` (letters and digits
//!   upper-cased, anything else `_`; a name two secrets would share gets eight hex digits of a
//!   hash of the exact names). A name chosen in Omni so cannot select an unrelated variable of
//!   the CI job (a secret named `omni api token` no longer exports as `${OMNI_API_TOKEN}`).
//! - **The CLI's own credentials and the CI's reserved variables are never read as a secret's
//!   value**, whoever wrote the reference: `OMNI_API_TOKEN`, `OMNI_BASE_URL`,
//!   `OMNI_CONFIG_PATH`, `OMNI_RATE_LIMIT_STORE`, `GITHUB_TOKEN`, and every `ACTIONS_*` and
//!   `RUNNER_*`.

/// The prefix of every reference `env export` writes.
pub const EXPORT_PREFIX: &str = "OMNI_DBT_SECRET_";

/// Why the environment variable `name` may not be a secret's value, if it may not.
pub fn refused(name: &str) -> Option<&'static str> {
    let own = [
        omni_dbt::ENV_TOKEN,
        omni_dbt::ENV_BASE_URL,
        omni_dbt::ENV_CONFIG_PATH,
        omni_dbt::ENV_RATE_LIMIT_STORE,
    ];
    if own.contains(&name) {
        Some(
            "is the CLI's own configuration (its credential or where it sends it), never a secret's value",
        )
    } else if name == "GITHUB_TOKEN" || name.starts_with("ACTIONS_") || name.starts_with("RUNNER_")
    {
        Some("is reserved by the CI runner, never a secret's value")
    } else {
        None
    }
}

/// Letters and digits upper-cased, anything else `_`.
fn part(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The environment variable `env export` names for the secret `variable` of `environment`;
/// `taken` holds the names already given in this export (a collision gets a hash suffix).
pub fn export_name(
    environment: &str,
    variable: &str,
    taken: &mut std::collections::HashSet<String>,
) -> String {
    let mut name = format!("{EXPORT_PREFIX}{}__{}", part(environment), part(variable));
    if taken.contains(&name) {
        let exact = format!("{environment}\u{0}{variable}");
        name = format!(
            "{name}_{:08x}",
            crate::owned::fnv1a(exact.as_bytes()) as u32
        );
    }
    taken.insert(name.clone());
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_names_are_namespaced_and_distinct() {
        let mut taken = std::collections::HashSet::new();
        assert_eq!(
            export_name("staging", "DBT_PASSWORD", &mut taken),
            "OMNI_DBT_SECRET_STAGING__DBT_PASSWORD"
        );
        let hostile = export_name("x", "omni api token", &mut taken);
        assert_eq!(hostile, "OMNI_DBT_SECRET_X__OMNI_API_TOKEN");
        assert!(refused(&hostile).is_none());
        let a = export_name("a-b", "p", &mut taken);
        let b = export_name("a_b", "p", &mut taken);
        assert_ne!(a, b);
        assert!(b.starts_with("OMNI_DBT_SECRET_A_B__P_"), "{b}");
    }

    #[test]
    fn credentials_and_reserved_variables_are_refused() {
        for name in [
            "OMNI_API_TOKEN",
            "OMNI_RATE_LIMIT_STORE",
            "OMNI_BASE_URL",
            "OMNI_CONFIG_PATH",
            "GITHUB_TOKEN",
            "ACTIONS_RUNTIME_TOKEN",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            "RUNNER_TEMP",
        ] {
            assert!(refused(name).is_some(), "{name}");
        }
        for name in [
            "DBT_PASSWORD",
            "OMNI_DBT_SECRET_X__Y",
            "GITHUB_SHA_X",
            "MY_ACTIONS_KEY",
        ] {
            assert!(refused(name).is_none(), "{name}");
        }
    }
}
