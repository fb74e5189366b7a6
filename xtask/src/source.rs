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

/// https only; plain http is allowed for loopback hosts (tests), nothing else.
fn fetch(url: &str) -> Result<Vec<u8>, String> {
    let parsed: ureq::http::Uri = url.parse().map_err(|e| format!("{url}: not a URL: {e}"))?;
    let host = parsed.host().unwrap_or_default();
    let loopback =
        host == "localhost" || host == "[::1]" || host == "::1" || host.starts_with("127.");
    if parsed.scheme_str() != Some("https") && !loopback {
        return Err(format!("{url}: refusing plain http; use an https URL"));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(FETCH_TIMEOUT))
        .max_redirects(3)
        .https_only(!loopback)
        .build()
        .into();
    let mut response = agent.get(url).call().map_err(|e| format!("{url}: {e}"))?;
    response
        .body_mut()
        .with_config()
        .limit(MAX_BYTES)
        .read_to_vec()
        .map_err(|e| format!("{url}: cannot read the body (limit {MAX_BYTES} bytes): {e}"))
}

/// Parses JSON, or YAML when it is not JSON.
pub fn parse(bytes: &[u8], name: &str) -> Result<Value, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| format!("{name}: not UTF-8 text"))?;
    if text.trim_start().starts_with('{') {
        serde_json::from_str(text).map_err(|e| format!("{name}: invalid JSON: {e}"))
    } else {
        serde_yaml_ng::from_str(text)
            .map_err(|e| format!("{name}: neither JSON nor valid YAML: {e}"))
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
