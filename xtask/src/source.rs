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
        // A regular file only, read up to the cap: `/dev/zero` or a FIFO is refused at once.
        omni_dbt_input::read_small_file(Path::new(source), MAX_BYTES)
            .map(String::into_bytes)
            .map_err(|e| format!("{source}: {e}"))
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
        omni_dbt_input::yaml(text, YAML_LIMITS)
            .map_err(|e| format!("{name}: not JSON, and as YAML it {e}"))
    }
}

/// What a YAML spec may expand to (aliases expanded): Omni's whole document is a few hundred
/// thousand nodes and a few megabytes; a few kilobytes of anchors could stand for billions.
pub const YAML_LIMITS: omni_dbt_input::Limits = omni_dbt_input::Limits {
    bytes: 64 << 20,
    nodes: MAX_YAML_NODES,
    depth: 128,
    // Status codes are numbers in YAML (`200:`).
    text_keys: false,
};

/// The most nodes a YAML document may expand to. Aliases let a few kilobytes stand for
/// billions of nodes; Omni's whole spec is a few hundred thousand.
pub const MAX_YAML_NODES: usize = 2_000_000;

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
