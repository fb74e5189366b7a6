//! What an environment belongs to, and the preview naming rule.
//!
//! Every environment `env apply` and `preview up` create carries a plain variable, [`MARKER`],
//! that Omni keeps with it: `file:<id>` for an environments file (its `managedBy`, else its
//! file name), or `preview:<branch>` for the preview of exactly that git branch (`env create`
//! marks nothing: what it makes is nobody's, like an environment made in Omni). `--prune` deletes only
//! environments marked with the file's own id, `preview down` only those marked with exactly
//! its branch, and neither ever the connection's default environment.

use omni_dbt::{DbtEnvironment, Uuid};

/// The variable that records who manages an environment.
pub const MARKER: &str = "OMNI_DBT_MANAGED_BY";

/// Who manages an environment, as its marker says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    /// An environments file, by its id.
    File(String),
    /// The preview of exactly this branch.
    Preview(String),
}

impl Owner {
    /// The marker's value.
    pub fn marker(&self) -> String {
        match self {
            Owner::File(id) => format!("file:{id}"),
            Owner::Preview(branch) => format!("preview:{branch}"),
        }
    }

    /// The owner a marker value names; `None` for a value this CLI does not write.
    pub fn parse(value: &str) -> Option<Owner> {
        if let Some(id) = value.strip_prefix("file:") {
            return Some(Owner::File(id.to_owned()));
        }
        value
            .strip_prefix("preview:")
            .map(|branch| Owner::Preview(branch.to_owned()))
    }

    /// Who manages `env`: its marker's owner, if it has a readable one.
    pub fn of(env: &DbtEnvironment) -> Option<Owner> {
        let marker = env.variable(MARKER)?;
        if marker.is_secret {
            return None;
        }
        Owner::parse(marker.value.as_deref()?)
    }

    /// How a plan or an error names this owner.
    pub fn describe(&self) -> String {
        match self {
            Owner::File(id) => format!("the environments file \"{id}\""),
            Owner::Preview(branch) => format!("the preview of branch {branch:?}"),
        }
    }
}

/// Who manages `env`, said in words: an owner, or why none.
/// The default environment is that first, whatever its marker says: nothing of omni-dbt's ever
/// changes or deletes it, so a marker on it (set by hand) manages nothing.
pub fn describe(env: &DbtEnvironment) -> String {
    match Owner::of(env) {
        _ if env.is_default_environment => "the connection's default environment".to_owned(),
        Some(owner) => format!("managed by {}", owner.describe()),
        None => format!("not managed by omni-dbt (no {MARKER})"),
    }
}

/// A user, by id or by email (looked up through Omni's SCIM API).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnerArg {
    /// The user's id.
    Id(Uuid),
    /// The user's email.
    Email(String),
}

impl std::fmt::Display for OwnerArg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OwnerArg::Id(id) => write!(f, "{id}"),
            OwnerArg::Email(email) => f.write_str(email),
        }
    }
}

/// `--owner`: a UUID, or an email address.
pub fn parse_owner(value: &str) -> Result<OwnerArg, String> {
    if let Ok(id) = Uuid::parse_str(value) {
        if id.is_nil() {
            return Err("must not be the nil UUID".into());
        }
        return Ok(OwnerArg::Id(id));
    }
    let email = value.trim();
    if omni_dbt::Users::is_email(email) {
        Ok(OwnerArg::Email(email.to_owned()))
    } else {
        Err("must be a user's id (a UUID) or email address (name@example.com)".into())
    }
}

/// The most characters of a preview environment's name.
pub const MAX_NAME: usize = 64;
/// The most characters of a preview's schema (PostgreSQL's identifier limit, the strictest of
/// the common warehouses).
pub const MAX_SCHEMA: usize = 63;

/// A preview's environment name and default schema for a git branch.
///
/// The rule: the branch lowercased, every run of characters other than `a-z` and `0-9` made
/// one `-` (one `_` in the schema), leading and trailing separators dropped. When that is the
/// branch exactly, the name is `preview-<branch>` and the schema `dbt_<branch with _>`.
/// Otherwise (the branch had capitals, other characters, or was cut to fit) eight hex digits
/// of the branch's FNV-1a hash are appended (`-1a2b3c4d`, `_1a2b3c4d`), so that `Feature/X`,
/// `feature/x` and `feature-x` are three previews. Names are at most 64 characters, schemas
/// 63. Whatever the name, the marker records the exact branch, which is what `down` checks.
pub fn preview_names(branch: &str) -> Result<(String, String), String> {
    let slug = slug(branch);
    if slug.is_empty() {
        return Err(format!(
            "--branch {branch:?}: has no letter or digit to name an environment after"
        ));
    }
    const PREFIX: &str = "preview-";
    const SCHEMA_PREFIX: &str = "dbt_";
    const HASH: usize = 9; // a separator and eight hex digits
    let fits =
        PREFIX.len() + slug.len() <= MAX_NAME && SCHEMA_PREFIX.len() + slug.len() <= MAX_SCHEMA;
    if slug == branch && fits {
        return Ok((
            format!("{PREFIX}{slug}"),
            format!("{SCHEMA_PREFIX}{}", slug.replace('-', "_")),
        ));
    }
    let hash = format!("{:08x}", fnv1a(branch.as_bytes()) as u32);
    let room = (MAX_NAME - PREFIX.len() - HASH).min(MAX_SCHEMA - SCHEMA_PREFIX.len() - HASH);
    let cut: String = slug.chars().take(room).collect();
    let cut = cut.trim_end_matches('-');
    let name = if cut.is_empty() {
        format!("{PREFIX}{hash}")
    } else {
        format!("{PREFIX}{cut}-{hash}")
    };
    let schema = if cut.is_empty() {
        format!("{SCHEMA_PREFIX}{hash}")
    } else {
        format!("{SCHEMA_PREFIX}{}_{hash}", cut.replace('-', "_"))
    };
    Ok((name, schema))
}

fn slug(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// 64-bit FNV-1a: stable across releases and platforms, which is all the name needs (the
/// marker, not the hash, decides what is deleted).
/// FNV-1a, 64 bits: a stable short digest (not a secret's protection).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_branch_that_is_already_a_name_keeps_it() {
        assert_eq!(
            preview_names("feature-x").unwrap(),
            ("preview-feature-x".into(), "dbt_feature_x".into())
        );
        assert_eq!(
            preview_names("dev").unwrap(),
            ("preview-dev".into(), "dbt_dev".into())
        );
    }

    #[test]
    fn branches_that_sanitise_alike_get_distinct_names() {
        let branches = [
            "Feature/ABC_123",
            "feature/abc-123",
            "feature-abc-123",
            "DEV!!",
            "dev",
            &format!("{}-part-1", "x".repeat(80)),
            &format!("{}-part-2", "x".repeat(80)),
        ];
        let mut names = std::collections::BTreeSet::new();
        let mut schemas = std::collections::BTreeSet::new();
        for branch in branches {
            let (name, schema) = preview_names(branch).unwrap();
            assert!(name.len() <= MAX_NAME, "{name}");
            assert!(schema.len() <= MAX_SCHEMA, "{schema}");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{name}"
            );
            assert!(names.insert(name.clone()), "{branch}: {name} repeats");
            assert!(schemas.insert(schema.clone()), "{branch}: {schema} repeats");
        }
        assert_eq!(
            preview_names("DEV!!").unwrap().0,
            format!("preview-dev-{:08x}", fnv1a(b"DEV!!") as u32)
        );
    }

    #[test]
    fn a_branch_without_letters_is_refused() {
        assert!(preview_names("///").is_err());
        assert!(preview_names("").is_err());
    }

    #[test]
    fn markers_round_trip() {
        for owner in [
            Owner::File("envs.yaml".into()),
            Owner::Preview("feature/x:y".into()),
        ] {
            assert_eq!(Owner::parse(&owner.marker()), Some(owner));
        }
        assert_eq!(Owner::parse("someone"), None);
    }
}
