//! A path parameter reaches Omni as exactly one segment that decodes to the value given, at
//! both levels (the generated client and the ergonomic handles), whatever its text; the values
//! no URL can carry as one segment are refused before anything is sent.
//!
//! The server is a loopback socket that records each raw request line: what the HTTP client
//! wrote, before any server-side parsing could normalise it.

use std::sync::{Arc, Mutex};

use omni_dbt::{Client, Error, Token};
use proptest::prelude::*;

use crate::common::*;

const MODEL: &str = "9e1a3c5d-7b2f-4e60-8a1c-3d5e7f9a1b2c";

/// Request lines as received, in order.
type Lines = Arc<Mutex<Vec<String>>>;

/// A loopback server that records each request line and answers a body every operation here
/// decodes (with
/// `Connection: close`, so that a request body never has to be read).
async fn recording_server() -> (String, Lines) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let lines: Lines = Arc::default();
    let recorded = lines.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let recorded = recorded.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(2).any(|w| w == b"\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let end = head.windows(2).position(|w| w == b"\r\n").unwrap();
                let line = String::from_utf8_lossy(&head[..end]).into_owned();
                recorded.lock().unwrap().push(line);
                // Decodes as every operation here answers (a job's status, `{success}`).
                let body = br#"{"success":true,"job_id":"j","job_type":"REFRESH_SCHEMA","status":"COMPLETED"}"#;
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.write_all(body).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), lines)
}

fn client(base: &str) -> Client {
    Client::builder()
        .with_token(Token::organization_api_key(ORG_KEY))
        .with_base_url(base)
        .without_rate_limit()
        .without_retries()
        .build()
        .unwrap()
}

/// The request line's path with `prefix` and `suffix` taken off: the one segment between them.
fn segment_between<'a>(line: &'a str, method: &str, prefix: &str, suffix: &str) -> &'a str {
    let target = line
        .strip_prefix(method)
        .and_then(|rest| rest.strip_prefix(' '))
        .and_then(|rest| rest.strip_suffix(" HTTP/1.1"))
        .unwrap_or_else(|| panic!("request line {line:?}"));
    target
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_suffix(suffix))
        .unwrap_or_else(|| panic!("{line:?} is not {method} {prefix}<segment>{suffix}"))
}

/// Percent-decodes a segment into bytes (the decoding a server applies to one segment).
fn decode(segment: &str) -> Vec<u8> {
    let bytes = segment.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// The value reached Omni as one segment decoding to it: no `/`, no `\`, no dot segment.
fn assert_one_segment(segment: &str, value: &str) {
    assert!(
        !segment.contains('/') && !segment.contains('\\'),
        "{value:?} was sent as {segment:?}"
    );
    assert!(
        segment != "." && segment != "..",
        "{value:?} was sent as {segment:?}"
    );
    assert_eq!(
        decode(segment),
        value.as_bytes(),
        "{value:?} was sent as {segment:?}"
    );
}

/// Text with what breaks paths in it often: separators, dots, escapes, controls, unicode.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[\\\\/.%a-z0-9?#;:@ ~é\u{0}-\u{1f}\u{7f}\u{2215}\u{ff0f}]{0,16}",
        Just(String::new()),
        Just(".".to_owned()),
        Just("..".to_owned()),
        Just(format!(r"x\..\..\..\..\connections\{CONN}\dbt")),
        Just("%2e%2e".to_owned()),
        Just(".%2E".to_owned()),
    ]
}

/// Sends the three operations whose path has a string parameter through the generated client
/// and returns each outcome with the request line it produced (`None`: nothing was sent).
async fn through_the_generated_client(
    client: &Client,
    lines: &Lines,
    value: &str,
) -> Vec<(&'static str, Result<(), Error>, Option<String>)> {
    let model = id(MODEL);
    let mut outcomes = Vec::new();
    let mut sent = |name: &'static str, result: Result<(), Error>| {
        let line = lines.lock().unwrap().pop();
        outcomes.push((name, result, line));
    };
    let owned = value.to_owned();
    let result = client
        .call(|api| async move {
            api.models_delete_branch()
                .model_id(model)
                .branch_name(owned)
                .send()
                .await
        })
        .await
        .map(drop);
    sent("delete branch", result);
    let owned = value.to_owned();
    let result = client
        .call(|api| async move {
            api.models_branch_dbt()
                .model_id(model)
                .branch_name(owned)
                .body_map(|b| b.dbt_environment_id(id(ENV)))
                .send()
                .await
        })
        .await
        .map(drop);
    sent("branch dbt", result);
    let owned = value.to_owned();
    let result = client
        .call(|api| async move { api.jobs_get_status().job_id(owned).send().await })
        .await
        .map(drop);
    sent("job status", result);
    outcomes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_string_path_parameter_is_one_segment_decoding_to_the_value(value in hostile_text()) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let (base, lines) = recording_server().await;
            let client = client(&base);
            let outcomes = through_the_generated_client(&client, &lines, &value).await;
            let branch = format!("/api/v1/models/{MODEL}/branch/");
            for (name, result, line) in outcomes {
                if matches!(value.as_str(), "" | "." | "..") {
                    let field = if name == "job status" { "jobId" } else { "branchName" };
                    prop_assert!(
                        matches!(&result, Err(Error::InvalidInput { field: f, .. }) if f == field),
                        "{name} of {value:?}: {result:?}"
                    );
                    prop_assert!(line.is_none(), "{name} of {value:?} sent {line:?}");
                    continue;
                }
                prop_assert!(result.is_ok(), "{name} of {value:?}: {result:?}");
                let line = line.unwrap();
                let segment = match name {
                    "delete branch" => segment_between(&line, "DELETE", &branch, ""),
                    "branch dbt" => segment_between(&line, "POST", &branch, "/dbt"),
                    _ => segment_between(&line, "GET", "/api/v1/jobs/", "/status"),
                };
                assert_one_segment(segment, &value);
            }
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn the_reported_backslash_walk_deletes_only_the_branch_it_names() {
    let (base, lines) = recording_server().await;
    let client = client(&base);
    let name = format!(r"x\..\..\..\..\connections\{CONN}\dbt");
    client
        .model(id(MODEL))
        .branch(&name)
        .delete()
        .send()
        .await
        .unwrap();
    let line = lines.lock().unwrap().pop().unwrap();
    assert_eq!(
        line,
        format!(
            "DELETE /api/v1/models/{MODEL}/branch/x%5C..%5C..%5C..%5C..%5Cconnections%5C{CONN}%5Cdbt HTTP/1.1"
        )
    );
}

#[tokio::test]
async fn the_ergonomic_handles_refuse_dot_segments_before_sending() {
    let (base, lines) = recording_server().await;
    let client = client(&base);
    for name in [".", ".."] {
        let branch = client.model(id(MODEL)).branch(name);
        let err = branch.delete().send().await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput { field, .. } if field == "branchName"),
            "{err:?}"
        );
        let err = branch
            .use_dbt_environment(id(ENV))
            .send()
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput { field, .. } if field == "branchName"),
            "{err:?}"
        );
    }
    assert!(lines.lock().unwrap().is_empty());
}

#[test]
fn decode_is_the_inverse_of_encoding() {
    assert_eq!(decode("a%2Fb%5C"), b"a/b\\");
    assert_eq!(decode("%C3%A9"), "é".as_bytes());
}
