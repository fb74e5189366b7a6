//! The standalone binary: one JSON line with everything a test in another language needs,
//! then it serves until stopped.

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
};

use serde_json::Value;

#[tokio::test]
async fn the_binary_prints_how_to_reach_it_and_serves() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut child = Command::new(env!("CARGO_BIN_EXE_omni-dbt-fake"))
        .args([
            "--port",
            "0",
            "--list-shape",
            "envelope",
            "--rate-limit",
            "0",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let info: Value = serde_json::from_str(&line).unwrap();
    let base = info["baseUrl"].as_str().unwrap();
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with("/api"),
        "{base}"
    );

    let url = format!(
        "{base}/v1/connections/{}/dbt/environments",
        info["connectionId"].as_str().unwrap()
    );
    let token = info["tokens"]["organizationApiKey"].as_str().unwrap();
    let page: Value = reqwest::Client::new()
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["records"][0]["id"], info["defaultEnvironmentId"]);
    assert_eq!(page["pageInfo"]["totalRecords"], 1);

    child.kill().unwrap();
    child.wait().unwrap();
}
