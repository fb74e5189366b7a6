//! Decoding rules the generated types call: a list sent as one object, and the replacement of
//! `DbtEnvironmentResponseVariable` whose secret value never survives decoding. Depends on
//! nothing else of the crate.

use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

/// A list in an answer, tolerantly: an array, one object (a list of one), or `null` (empty).
pub(crate) fn one_or_many<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany<T> {
        Many(Vec<T>),
        One(T),
    }
    Ok(match Option::<OneOrMany<T>>::deserialize(deserializer)? {
        None => Vec::new(),
        Some(OneOrMany::Many(all)) => all,
        Some(OneOrMany::One(one)) => vec![one],
    })
}

/// A variable of a dbt environment. A secret's `value` is always `None`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", from = "WireVariable")]
#[non_exhaustive]
pub struct Variable {
    /// The variable's id, used to change it later.
    pub id: Uuid,
    /// The variable's name.
    pub name: String,
    /// The value; `None` for a secret.
    pub value: Option<String>,
    /// Whether the value is secret (write-only).
    pub is_secret: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireVariable {
    id: Uuid,
    name: String,
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    is_secret: bool,
}

impl From<WireVariable> for Variable {
    fn from(w: WireVariable) -> Self {
        // Should a server ever echo a secret, it still goes no further than this.
        let value = if w.is_secret { None } else { w.value };
        Variable {
            id: w.id,
            name: w.name,
            value,
            is_secret: w.is_secret,
        }
    }
}

/// Omni's `detail` when the body is JSON carrying one; otherwise the start of a non-empty body.
pub(crate) fn loose_detail(bytes: &[u8]) -> Option<String> {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(bytes)
        && let Some(serde_json::Value::String(detail)) = map.get("detail")
    {
        return (!detail.is_empty()).then(|| detail.clone());
    }
    let text = String::from_utf8_lossy(bytes);
    (!text.trim().is_empty()).then(|| snippet(bytes))
}

const SNIPPET_CHARS: usize = 200;

/// The start of a body: at most 200 characters, control characters escaped, with the size.
pub(crate) fn snippet(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text
        .chars()
        .take(SNIPPET_CHARS)
        .flat_map(char::escape_debug)
        .collect();
    if text.chars().nth(SNIPPET_CHARS).is_some() {
        out.push_str(&format!("… ({} bytes)", bytes.len()));
    }
    out
}
