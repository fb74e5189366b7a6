//! Checks the client makes before anything is sent, each naming the field and the rule.
//!
//! Where the spec states a rule that a generated type enforces (e.g. `minLength` on a request
//! body's string), the check goes through that type ([`spec_rule`]), so the rule has one home:
//! the spec. The rest are rules the spec cannot express.

use uuid::Uuid;

use crate::error::{Error, Result};

/// A value through the generated type that carries the spec's rule for it (e.g. `minLength`).
pub(crate) fn spec_rule<'a, T>(field: &str, value: &'a str) -> Result<T>
where
    T: TryFrom<&'a str>,
    T::Error: std::fmt::Display,
{
    T::try_from(value).map_err(|e| Error::invalid(field, format!("breaks the spec's rule: {e}")))
}

pub(crate) fn nonnil(field: &str, id: Uuid) -> Result<()> {
    if id.is_nil() {
        Err(Error::invalid(field, "must not be the nil UUID"))
    } else {
        Ok(())
    }
}

/// A path parameter that is not a UUID (`branchName`): not blank, no control characters, and
/// one path segment (not `.` or `..`: the rule of every such parameter, `crate::path::segment`).
pub(crate) fn path_text(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    crate::path::segment::<crate::generated::types::ApiError>(field, value)
        .map(drop)
        .map_err(Error::from)
}
