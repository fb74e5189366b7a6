//! Decoding rules the generated types call: a list sent as one object, and the replacement of
//! `DbtEnvironmentResponseVariable` whose secret value never survives decoding. Depends on
//! nothing else of the crate.

use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

/// A list in an answer, tolerantly: an array, one object (a list of one), or `null` (empty).
///
/// Read by a visitor that takes the array or the object as it comes: no buffering of the value
/// first (serde's `untagged` buffers every answer's list, ~9,000 instructions a call).
pub(crate) fn one_or_many<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct OneOrMany<T>(std::marker::PhantomData<T>);

    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for OneOrMany<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a list, one item, or null")
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Vec<T>, E> {
            Ok(Vec::new())
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Vec<T>, D::Error> {
            d.deserialize_any(self)
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            // At most a modest preallocation: the hint comes from the input.
            let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
            while let Some(item) = seq.next_element()? {
                items.push(item);
            }
            Ok(items)
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Vec<T>, A::Error> {
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(|one| vec![one])
        }
    }

    deserializer.deserialize_any(OneOrMany(std::marker::PhantomData))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize, Debug)]
    struct Holder {
        #[serde(default, deserialize_with = "one_or_many")]
        items: Vec<Variable>,
    }

    #[test]
    fn a_list_one_item_null_or_nothing() {
        let one = r#"{"id": "7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f", "name": "A", "value": "1", "isSecret": false}"#;
        let parse = |items: &str| serde_json::from_str::<Holder>(&format!("{{{items}}}"));
        assert_eq!(
            parse(&format!(r#""items": [{one}, {one}]"#))
                .unwrap()
                .items
                .len(),
            2
        );
        assert_eq!(parse(&format!(r#""items": {one}"#)).unwrap().items.len(), 1);
        assert_eq!(parse(r#""items": null"#).unwrap().items.len(), 0);
        assert_eq!(parse("").unwrap().items.len(), 0);
        assert_eq!(parse(r#""items": []"#).unwrap().items.len(), 0);
        assert!(parse(r#""items": "x""#).is_err());
        assert!(parse(r#""items": [1]"#).is_err());
    }
}
