//! Reading a spec from a file or an https URL, as JSON or YAML.

use std::{path::Path, time::Duration};

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Largest document fetched or read (Omni's is 0.5-2 MB).
pub const MAX_BYTES: u64 = 32 << 20;
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// The bytes of a spec, read from a path or fetched from a URL.
pub fn read(source: &str) -> Result<Vec<u8>, String> {
    if source.starts_with("https://") || source.starts_with("http://") {
        fetch(source)
    } else {
        let path = Path::new(source);
        let size = std::fs::metadata(path)
            .map_err(|e| format!("{source}: {e}"))?
            .len();
        if size > MAX_BYTES {
            return Err(format!(
                "{source}: {size} bytes is over the {MAX_BYTES}-byte limit"
            ));
        }
        std::fs::read(path).map_err(|e| format!("{source}: {e}"))
    }
}

/// Whether a URL's host is loopback, decided by the parsed address: `127.0.0.1`, `[::1]` and
/// `localhost` are; `127.evil.com` is a domain name like any other and is not.
pub fn is_loopback_host(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// A source as it may be recorded or printed: a URL without credentials, query or fragment
/// (any of which may carry a secret); a path as given.
pub fn describe(source: &str) -> String {
    if !(source.starts_with("https://") || source.starts_with("http://")) {
        return source.to_owned();
    }
    match source.parse::<ureq::http::Uri>() {
        Ok(uri) => {
            let host = uri.host().unwrap_or_default();
            let port = uri.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
            let scheme = uri.scheme_str().unwrap_or("https");
            format!("{scheme}://{host}{port}{}", uri.path())
        }
        Err(_) => "<a URL that does not parse>".to_owned(),
    }
}

/// https only; plain http is allowed for loopback hosts (tests), nothing else.
fn fetch(url: &str) -> Result<Vec<u8>, String> {
    let shown = describe(url);
    let parsed: ureq::http::Uri = url
        .parse()
        .map_err(|e| format!("{shown}: not a URL: {e}"))?;
    let loopback = is_loopback_host(parsed.host().unwrap_or_default());
    if parsed.scheme_str() != Some("https") && !loopback {
        return Err(format!("{shown}: refusing plain http; use an https URL"));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(FETCH_TIMEOUT))
        .max_redirects(3)
        .https_only(!loopback)
        .build()
        .into();
    let mut response = agent
        .get(url)
        .call()
        .map_err(|e| format!("{shown}: {}", e.to_string().replace(url, &shown)))?;
    response
        .body_mut()
        .with_config()
        .limit(MAX_BYTES)
        .read_to_vec()
        .map_err(|e| format!("{shown}: cannot read the body (limit {MAX_BYTES} bytes): {e}"))
}

/// Parses JSON, or YAML when it is not JSON.
pub fn parse(bytes: &[u8], name: &str) -> Result<Value, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| format!("{name}: not UTF-8 text"))?;
    if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| format!("{name}: invalid JSON: {e}"))
    } else {
        let budget = std::cell::Cell::new(MAX_YAML_NODES);
        let deserializer = serde_yaml_ng::Deserializer::from_str(text);
        serde::de::DeserializeSeed::deserialize(Bounded { budget: &budget }, deserializer).map_err(
            |e| {
                if budget.get() == 0 {
                    format!(
                        "{name}: the YAML document expands to more than {MAX_YAML_NODES} nodes \
                         (anchors and aliases); refusing it"
                    )
                } else {
                    format!("{name}: neither JSON nor valid YAML: {e}")
                }
            },
        )
    }
}

/// The most nodes a YAML document may expand to. Aliases let a few kilobytes stand for
/// billions of nodes; Omni's whole spec is a few hundred thousand.
pub const MAX_YAML_NODES: usize = 2_000_000;

/// Deserializes into a JSON value, counting every node (aliases expanded) against a budget.
struct Bounded<'a> {
    budget: &'a std::cell::Cell<usize>,
}

impl Bounded<'_> {
    fn take<E: serde::de::Error>(&self) -> Result<(), E> {
        match self.budget.get() {
            0 => Err(E::custom("too many nodes")),
            n => {
                self.budget.set(n - 1);
                Ok(())
            }
        }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Bounded<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Bounded<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Value, E> {
        self.take()?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Value, E> {
        self.take()?;
        Ok(Value::from(v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Value, E> {
        self.take()?;
        Ok(Value::from(v))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        self.take()?;
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
        self.take()?;
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
        self.take()?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Value, E> {
        self.take()?;
        Ok(Value::Null)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Value, E> {
        self.visit_unit()
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.take()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Bounded {
            budget: self.budget,
        })? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.take()?;
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key_seed(Bounded {
            budget: self.budget,
        })? {
            let key = match key {
                Value::String(s) => s,
                other => other.to_string(),
            };
            let value = map.next_value_seed(Bounded {
                budget: self.budget,
            })?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// Lowercase hex SHA-256.
pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// JSON with every object's keys sorted, two-space indented, ending in a newline: the same
/// document always gives the same bytes.
pub fn canonical(value: &Value) -> String {
    fn sorted(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                Value::Object(
                    keys.into_iter()
                        .map(|k| (k.clone(), sorted(&map[k])))
                        .collect(),
                )
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    let mut text = serde_json::to_string_pretty(&sorted(value)).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_is_decided_by_the_parsed_address() {
        for host in [
            "127.0.0.1",
            "127.1.2.3",
            "[::1]",
            "::1",
            "localhost",
            "LOCALHOST",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "127.evil.com",
            "127.0.0.1.nip.io",
            "localhost.evil.com",
            "10.0.0.1",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn a_described_url_has_no_credentials_query_or_fragment() {
        assert_eq!(
            describe("https://user:pw@omni.example/api/openapi.json?token=s#x"),
            "https://omni.example/api/openapi.json"
        );
        assert_eq!(describe("specs/omni.json"), "specs/omni.json");
    }
}
