//! Configuration: where to connect and the host policy, and the precedence
//! explicit > environment > profile file, as Omni's CLI resolves it.

use std::{
    path::Path,
    sync::{Mutex, MutexGuard, PoisonError},
};

use crate::common::*;
use omni_dbt::{Client, ClientBuilder, Error, Token, TokenKind};
use serde_json::json;
use wiremock::MockServer;

fn base_of(builder: ClientBuilder) -> String {
    builder
        .with_token(Token::unknown("t"))
        .build()
        .unwrap()
        .base_url()
        .to_owned()
}

fn config_error(builder: ClientBuilder) -> (String, String) {
    match builder.build() {
        Err(Error::Config {
            origin, message, ..
        }) => (origin, message),
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn instance_playground_and_base_urls_are_normalised() {
    let b = Client::builder;
    assert_eq!(
        base_of(b().with_instance("acme")),
        "https://acme.omniapp.co/api"
    );
    assert_eq!(
        base_of(b().with_playground("acme")),
        "https://acme.playground.exploreomni.dev/api"
    );
    for url in [
        "https://acme.omniapp.co",
        "https://acme.omniapp.co/",
        "https://acme.omniapp.co/api",
        "https://acme.omniapp.co/api/",
        " https://ACME.omniapp.co/api ",
    ] {
        assert_eq!(
            base_of(b().with_base_url(url)),
            "https://acme.omniapp.co/api",
            "{url}"
        );
    }
    assert_eq!(
        base_of(b().with_base_url("https://x.embed-omniapp.co")),
        "https://x.embed-omniapp.co/api"
    );
    assert_eq!(
        base_of(b().with_base_url("https://x.thundersalmon.com")),
        "https://x.thundersalmon.com/api"
    );
    assert_eq!(
        base_of(b().with_base_url("http://127.0.0.1:8080")),
        "http://127.0.0.1:8080/api"
    );
    assert_eq!(
        base_of(b().with_base_url("http://127.9.9.9:1/api/")),
        "http://127.9.9.9:1/api"
    );
    assert_eq!(
        base_of(b().with_base_url("http://localhost:3000")),
        "http://localhost:3000/api"
    );
    assert_eq!(
        base_of(b().with_base_url("http://[::1]:3000/")),
        "http://[::1]:3000/api"
    );
    assert_eq!(
        base_of(b().with_base_url("https://localhost:3443/omni")),
        "https://localhost:3443/omni/api"
    );
}

#[test]
fn the_host_policy_keeps_the_token_on_omnis_https_hosts() {
    let b = Client::builder;
    let refused = [
        ("http://acme.omniapp.co", "plain http"),
        ("http://10.0.0.1", "plain http"),
        // Look-alikes of loopback are names like any other: no plain http for them.
        ("http://localhost.evil.com", "plain http"),
        ("http://localhost.omniapp.co", "plain http"),
        ("http://127.0.0.1.nip.io", "plain http"),
        ("https://evil.example.com", "not one of Omni's domains"),
        ("https://omniapp.co.evil.com", "not one of Omni's domains"),
        ("https://evilomniapp.co", "not one of Omni's domains"),
        ("https://10.1.2.3", "not one of Omni's domains"),
        ("ftp://acme.omniapp.co", "not http or https"),
        ("https://user:pw@acme.omniapp.co", "credentials"),
        ("https://acme.omniapp.co/api?x=1", "query"),
        ("acme.omniapp.co", "not a URL"),
    ];
    for (url, reason) in refused {
        let (origin, message) =
            config_error(b().with_token(Token::unknown("t")).with_base_url(url));
        assert_eq!(origin, "the base URL given to the builder");
        assert!(message.contains(reason), "{url}: {message}");
    }
    let (_, message) = config_error(
        b().with_token(Token::unknown("t"))
            .with_instance("Acme Corp"),
    );
    assert!(message.contains("lowercase DNS label"), "{message}");

    // The opt-ins are separate and explicit.
    assert_eq!(
        base_of(
            b().with_base_url("https://gw.example.com")
                .dangerously_allow_any_host()
        ),
        "https://gw.example.com/api"
    );
    assert_eq!(
        base_of(
            b().with_base_url("http://acme.omniapp.co")
                .dangerously_allow_plain_http()
        ),
        "http://acme.omniapp.co/api"
    );
    let (_, message) = config_error(
        b().with_token(Token::unknown("t"))
            .with_base_url("http://gw.example.com")
            .dangerously_allow_any_host(),
    );
    assert!(message.contains("plain http"), "{message}");
}

#[test]
fn tokens_must_be_header_safe_and_errors_do_not_echo_them() {
    let (origin, message) = config_error(
        Client::builder()
            .with_token(Token::organization_api_key("bad\ntoken_SECRET"))
            .with_instance("acme"),
    );
    assert_eq!(origin, "the token given to with_token");
    assert!(!message.contains("SECRET"));
    let (_, message) = config_error(
        Client::builder()
            .with_token(Token::organization_api_key("  "))
            .with_instance("acme"),
    );
    assert!(message.contains("empty"));
}

// ---- environment and profile file: these tests change process-wide variables ----

static ENV_LOCK: Mutex<()> = Mutex::new(());

/// Holds the lock and a clean set of the variables the client reads; restores them on drop.
struct Env {
    _lock: MutexGuard<'static, ()>,
    saved: Vec<(&'static str, Option<std::ffi::OsString>)>,
    home: tempfile::TempDir,
}

const VARS: [&str; 4] = [
    "OMNI_API_TOKEN",
    "OMNI_BASE_URL",
    "OMNI_CONFIG_PATH",
    "HOME",
];

impl Env {
    fn clean() -> Self {
        let lock = ENV_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
        let saved = VARS.iter().map(|v| (*v, std::env::var_os(v))).collect();
        let home = tempfile::tempdir().unwrap();
        for v in VARS {
            // SAFETY: every test that touches the environment holds ENV_LOCK.
            unsafe { std::env::remove_var(v) };
        }
        // SAFETY: as above.
        unsafe { std::env::set_var("HOME", home.path()) };
        Env {
            _lock: lock,
            saved,
            home,
        }
    }

    fn set(&self, name: &str, value: &str) {
        // SAFETY: the caller holds ENV_LOCK through `self`.
        unsafe { std::env::set_var(name, value) };
    }

    /// Writes the CLI's default profile file under the temporary HOME.
    fn write_default_profile_file(&self, content: &serde_json::Value) -> std::path::PathBuf {
        let dir = self.home.path().join(".config/omni-cli");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.json");
        std::fs::write(&path, content.to_string()).unwrap();
        path
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        for (name, value) in &self.saved {
            // SAFETY: ENV_LOCK is still held; it is released after this.
            unsafe {
                match value {
                    Some(v) => std::env::set_var(name, v),
                    None => std::env::remove_var(name),
                }
            }
        }
    }
}

fn profiles(server_url: &str) -> serde_json::Value {
    json!({
        "version": 1,
        "defaultProfile": "work",
        "profiles": {
            "work": {"apiEndpoint": server_url, "authMethod": "api-key", "apiKey": "profile-work-key"},
            "oauthy": {"apiEndpoint": "https://oauthy.omniapp.co", "authMethod": "oauth",
                       "accessToken": "profile-oauth-token", "refreshToken": "r", "tokenExpiresAt": 1}
        }
    })
}

/// The bearer token a client actually sends.
async fn sent_token(client: &Client, server: &MockServer) -> String {
    server.reset().await;
    answer(
        server,
        "DELETE",
        item_path(),
        json_response(200, json!({"success": true})),
    )
    .await;
    client
        .dbt_environments(id(CONN))
        .delete(id(ENV))
        .send()
        .await
        .unwrap();
    let req = only_request(server).await;
    let header = req.headers.get("authorization").unwrap().to_str().unwrap();
    header.strip_prefix("Bearer ").unwrap().to_owned()
}

#[tokio::test]
async fn precedence_is_explicit_then_environment_then_profile() {
    let server = MockServer::start().await;
    let other = MockServer::start().await;
    let env = Env::clean();
    env.write_default_profile_file(&profiles(&server.uri()));

    // Profile only.
    let client = Client::from_env().unwrap();
    assert_eq!(client.base_url(), format!("{}/api", server.uri()));
    assert_eq!(client.token_kind(), TokenKind::Unknown);
    assert_eq!(sent_token(&client, &server).await, "profile-work-key");

    // The environment beats the profile, value by value.
    env.set("OMNI_API_TOKEN", "env-token");
    let client = Client::from_env().unwrap();
    assert_eq!(client.base_url(), format!("{}/api", server.uri()));
    assert_eq!(sent_token(&client, &server).await, "env-token");
    env.set("OMNI_BASE_URL", &other.uri());
    let client = Client::from_env().unwrap();
    assert_eq!(client.base_url(), format!("{}/api", other.uri()));
    assert_eq!(sent_token(&client, &other).await, "env-token");

    // Explicit values beat both.
    let client = Client::builder()
        .with_env()
        .with_token(Token::personal_access_token("explicit-pat"))
        .with_base_url(server.uri())
        .build()
        .unwrap();
    assert_eq!(client.base_url(), format!("{}/api", server.uri()));
    assert_eq!(client.token_kind(), TokenKind::PersonalAccessToken);
    assert_eq!(sent_token(&client, &server).await, "explicit-pat");

    // Empty variables count as unset.
    env.set("OMNI_API_TOKEN", "");
    env.set("OMNI_BASE_URL", " ");
    let client = Client::from_env().unwrap();
    assert_eq!(sent_token(&client, &server).await, "profile-work-key");
}

#[tokio::test]
async fn named_profiles_and_the_config_path_override() {
    let server = MockServer::start().await;
    let env = Env::clean();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("elsewhere.json");
    std::fs::write(&path, profiles(&server.uri()).to_string()).unwrap();

    // OMNI_CONFIG_PATH moves the file.
    env.set("OMNI_CONFIG_PATH", path.to_str().unwrap());
    let client = Client::from_env().unwrap();
    assert_eq!(sent_token(&client, &server).await, "profile-work-key");

    // A named OAuth profile sends its access token.
    let client = Client::builder().with_profile("oauthy").build().unwrap();
    assert_eq!(client.base_url(), "https://oauthy.omniapp.co/api");

    // with_config_path beats OMNI_CONFIG_PATH.
    let other = dir.path().join("other.json");
    std::fs::write(
        &other,
        json!({"profiles": {"default": {"apiEndpoint": server.uri(), "apiKey": "other-default"}}})
            .to_string(),
    )
    .unwrap();
    let client = Client::builder()
        .with_env()
        .with_config_path(&other)
        .build()
        .unwrap();
    assert_eq!(sent_token(&client, &server).await, "other-default");
}

fn assert_config_error(result: omni_dbt::Result<Client>, origin_has: &[&str], message_has: &str) {
    match result {
        Err(Error::Config {
            origin, message, ..
        }) => {
            for part in origin_has {
                assert!(
                    origin.contains(part),
                    "origin {origin:?} should name {part:?}"
                );
            }
            assert!(
                message.contains(message_has),
                "message {message:?} should say {message_has:?}"
            );
            for secret in ["profile-work-key", "profile-oauth-token", "hunter2"] {
                assert!(!origin.contains(secret) && !message.contains(secret));
            }
        }
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn profile_problems_name_the_file_and_the_profile() {
    let env = Env::clean();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");

    // Nothing configured anywhere.
    assert_config_error(Client::from_env(), &["client builder"], "OMNI_API_TOKEN");

    // A named profile needs the file and the profile.
    assert_config_error(
        Client::builder()
            .with_profile("dev")
            .with_config_path(&missing)
            .build(),
        &[missing.to_str().unwrap()],
        "cannot read",
    );
    let path = env.write_default_profile_file(&profiles("https://acme.omniapp.co"));
    assert_config_error(
        Client::builder().with_profile("dev").build(),
        &["profile \"dev\"", path.to_str().unwrap()],
        "not defined (defined: oauthy, work)",
    );

    // A defaultProfile naming nothing.
    env.write_default_profile_file(&json!({"defaultProfile": "gone", "profiles": {}}));
    assert_config_error(
        Client::from_env(),
        &["profile \"gone\""],
        "is the defaultProfile",
    );

    // An unknown auth method.
    env.write_default_profile_file(&json!({"profiles": {"default": {"apiEndpoint": "https://a.omniapp.co", "authMethod": "saml", "apiKey": "hunter2"}}}));
    assert_config_error(
        Client::from_env(),
        &["profile \"default\""],
        "authMethod \"saml\"",
    );

    // Malformed JSON whose error would otherwise quote a secret.
    env.write_default_profile_file(&json!({"profiles": {"default": "hunter2"}}));
    assert_config_error(
        Client::from_env(),
        &["profile file"],
        "unexpected structure at line 1",
    );

    // A bad endpoint in the profile is blamed on the profile, and so is the host policy.
    env.write_default_profile_file(&json!({"profiles": {"default": {"apiEndpoint": "https://evil.example", "apiKey": "hunter2"}}}));
    assert_config_error(
        Client::from_env(),
        &["apiEndpoint of profile \"default\""],
        "not one of Omni's domains",
    );

    // A bad OMNI_BASE_URL is blamed on the variable.
    env.set("OMNI_BASE_URL", "http://acme.omniapp.co");
    assert_config_error(Client::from_env(), &["OMNI_BASE_URL"], "plain http");
}

#[test]
fn a_missing_default_profile_file_is_not_an_error_when_the_environment_suffices() {
    let env = Env::clean();
    env.set("OMNI_API_TOKEN", "env-token");
    env.set("OMNI_BASE_URL", "https://acme.omniapp.co/api/");
    let client = Client::from_env().unwrap();
    assert_eq!(client.base_url(), "https://acme.omniapp.co/api");
    assert!(!Path::new(&env.home.path().join(".config/omni-cli/config.json")).exists());
}

// ---- hostile configuration: secrets in bad URLs, files that are not profiles ----

#[test]
fn a_bad_base_url_is_quoted_without_credentials_or_query() {
    let bad = "https://user:hunter2@acme.omniapp.co:99999/api?token=s3cr3t-query#frag";
    let (origin, message) = config_error(
        Client::builder()
            .with_token(Token::unknown("t"))
            .with_base_url(bad),
    );
    let text = format!("{origin} {message}");
    assert!(text.contains("acme.omniapp.co:99999/api"), "{text}");
    for secret in ["hunter2", "user:", "s3cr3t-query", "frag"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    // A URL that parses but carries a query is refused without quoting the query either.
    let (_, message) = config_error(
        Client::builder()
            .with_token(Token::unknown("t"))
            .with_base_url("https://acme.omniapp.co/api?apikey=s3cr3t"),
    );
    assert!(!message.contains("s3cr3t"), "{message}");

    let env = Env::clean();
    env.set("OMNI_API_TOKEN", "t");
    env.set("OMNI_BASE_URL", bad);
    let (origin, message) = config_error(Client::builder().with_env());
    assert_eq!(origin, "OMNI_BASE_URL");
    assert!(
        !message.contains("hunter2") && !message.contains("s3cr3t"),
        "{message}"
    );

    let env_profile = serde_json::json!({
        "defaultProfile": "p",
        "profiles": {"p": {"apiEndpoint": bad, "authMethod": "api-key", "apiKey": "k"}}
    });
    // SAFETY: `env` holds ENV_LOCK.
    unsafe { std::env::remove_var("OMNI_BASE_URL") };
    env.write_default_profile_file(&env_profile);
    let (origin, message) = config_error(Client::builder().with_env());
    assert!(origin.contains("apiEndpoint"), "{origin}");
    assert!(
        !message.contains("hunter2") && !message.contains("s3cr3t"),
        "{message}"
    );
}

#[test]
fn a_profile_path_that_is_not_a_small_regular_file_is_refused_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.json");
    std::fs::write(&big, vec![b' '; 300 * 1024]).unwrap();
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let cases = [
        (std::path::PathBuf::from("/dev/zero"), "not a regular file"),
        (fifo, "not a regular file"),
        (dir.path().to_path_buf(), "not a regular file"),
        (big, "larger than"),
    ];
    for (path, expected) in cases {
        let (tx, rx) = std::sync::mpsc::channel();
        let probe = path.clone();
        std::thread::spawn(move || {
            let result = Client::builder()
                .with_profile("p")
                .with_config_path(&probe)
                .build();
            let _ = tx.send(result.map(|_| ()).map_err(|e| e.to_string()));
        });
        let result = rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .unwrap_or_else(|_| panic!("{} hung", path.display()));
        let message = result.unwrap_err();
        assert!(message.contains(expected), "{}: {message}", path.display());
    }
}

#[cfg(unix)]
#[test]
fn a_profile_with_a_token_readable_by_others_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;

    let captured = crate::common::Captured::default();
    let _guard = captured.install();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.json");
    let content = serde_json::json!({"profiles": {"p": {
        "apiEndpoint": "https://acme.omniapp.co", "authMethod": "api-key",
        "apiKey": "omni_osk_profile_secret_DO_NOT_PRINT"
    }}});
    std::fs::write(&path, content.to_string()).unwrap();
    let build = || {
        Client::builder()
            .with_profile("p")
            .with_config_path(&path)
            .build()
            .unwrap()
    };
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    build();
    assert!(!captured.text().contains("readable by group or others"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    build();
    let log = captured.text();
    assert!(
        log.contains("readable by group or others") && log.contains("640"),
        "group-readable is warned about too: {log}"
    );
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    build();
    let log = captured.text();
    assert!(
        log.contains("readable by group or others") && log.contains("644"),
        "{log}"
    );
    assert!(!log.contains("omni_osk_profile_secret"), "{log}");
}
