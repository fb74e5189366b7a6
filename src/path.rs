//! One path parameter, one path segment: the encoding every generated request uses for a
//! path parameter that is not a UUID (a codegen rule, `crates/codegen/src/requests.rs`, writes
//! `crate::path::segment(…)?` where progenitor wrote `encode_path(…)`).
//!
//! progenitor's own encoding leaves `\`, and the URL parser reads a `\` in an http(s) path as
//! `/` and then resolves `..`: a branch named `x\..\..\..\..\connections\<id>\dbt` turned
//! `DELETE /v1/models/{modelId}/branch/{branchName}` into `DELETE /v1/connections/<id>/dbt`.
//! Here every byte outside RFC 3986's unreserved set (`A-Z a-z 0-9 - . _ ~`) is
//! percent-encoded, so the value is exactly one segment that decodes to what was given. The
//! values `.` and `..` cannot be one: the URL standard reads them, and their encoded forms
//! (`%2e`, `.%2E`, …), as "this segment" and "the one before". They, and the empty value
//! (which would name the parent resource), are refused before anything is sent.

use std::fmt::Write as _;

/// How [`segment`]'s refusals begin, so that [`refusal`] can tell them from progenitor's own
/// `InvalidRequest` messages.
const PREFIX: &str = "path parameter ";

/// `value` as one percent-encoded path segment, or progenitor's `InvalidRequest` naming the
/// parameter and the rule (mapped to [`crate::Error::InvalidInput`] by [`refusal`]). The
/// error type is the generated `send`'s, so that the generated code can use `?`.
#[allow(clippy::result_large_err)]
pub(crate) fn segment<E>(name: &str, value: &str) -> Result<String, progenitor_client::Error<E>> {
    let rule = match value {
        "" => Some("must not be empty"),
        "." | ".." => Some("must not be `.` or `..`: no URL can name it as one path segment"),
        _ => None,
    };
    if let Some(rule) = rule {
        return Err(progenitor_client::Error::InvalidRequest(format!(
            "{PREFIX}{name}: {rule}"
        )));
    }
    let mut out = String::with_capacity(value.len());
    for &byte in value.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{byte:02X}");
        }
    }
    Ok(out)
}

/// The parameter and the rule of a refusal written by [`segment`]; `None` for any other
/// message.
pub(crate) fn refusal(message: &str) -> Option<(&str, &str)> {
    message.strip_prefix(PREFIX)?.split_once(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(value: &str) -> Result<String, String> {
        segment::<()>("branchName", value).map_err(|e| match e {
            progenitor_client::Error::InvalidRequest(m) => m,
            other => panic!("{other}"),
        })
    }

    #[test]
    fn separators_and_escapes_are_encoded_and_unreserved_bytes_kept() {
        assert_eq!(encoded("feature/pr-42").unwrap(), "feature%2Fpr-42");
        assert_eq!(encoded(r"x\..\dev").unwrap(), "x%5C..%5Cdev");
        assert_eq!(encoded("%2e%2e").unwrap(), "%252e%252e");
        assert_eq!(encoded("a?b#c d;e").unwrap(), "a%3Fb%23c%20d%3Be");
        assert_eq!(encoded("é").unwrap(), "%C3%A9");
        assert_eq!(encoded("...").unwrap(), "...");
        assert_eq!(encoded("Az09-._~").unwrap(), "Az09-._~");
    }

    #[test]
    fn dot_segments_and_the_empty_value_are_refused_naming_the_parameter() {
        for value in ["", ".", ".."] {
            let message = encoded(value).unwrap_err();
            let (name, rule) = refusal(&message).unwrap();
            assert_eq!(name, "branchName");
            assert!(rule.starts_with("must not be"), "{rule}");
        }
        assert_eq!(refusal("conversion to `String` for x failed"), None);
    }
}
