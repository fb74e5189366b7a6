//! Configuration and auth: tokens, where to connect, the host policy, and the builder whose
//! `build()` (in `client.rs`) turns them into a [`Client`](crate::Client).

use std::{fmt, net::IpAddr, path::PathBuf, time::Duration};

use reqwest::{Url, header::HeaderValue};

use crate::{
    error::{Error, Result},
    pacing::RateLimit,
    profile::{self, ENV_BASE_URL, ENV_TOKEN},
    retry::RetryPolicy,
};

/// What kind of token authenticates the client. It decides which fields an update may send:
/// `ownerId` is only valid with an Organization API key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// An Organization API key: acts for the organization and may set `ownerId`.
    OrganizationApiKey,
    /// A Personal Access Token: acts as its user, who always owns what it creates.
    PersonalAccessToken,
    /// Not known (e.g. read from the environment): the `ownerId` rule is left to Omni.
    Unknown,
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenKind::OrganizationApiKey => "Organization API key",
            TokenKind::PersonalAccessToken => "Personal Access Token",
            TokenKind::Unknown => "token of unknown kind",
        })
    }
}

/// An API token and its kind. `Debug` and `Display` never show the secret.
///
/// ```
/// use omni_dbt::{Token, TokenKind};
///
/// let t = Token::organization_api_key("omni_osk_abc123");
/// assert_eq!(t.kind(), TokenKind::OrganizationApiKey);
/// assert!(!format!("{t:?} {t}").contains("abc123"));
/// ```
#[derive(Clone)]
pub struct Token {
    pub(crate) secret: Box<str>,
    kind: TokenKind,
}

impl Token {
    /// An Organization API key.
    pub fn organization_api_key(secret: impl Into<String>) -> Self {
        Self::new(secret, TokenKind::OrganizationApiKey)
    }

    /// A Personal Access Token.
    pub fn personal_access_token(secret: impl Into<String>) -> Self {
        Self::new(secret, TokenKind::PersonalAccessToken)
    }

    /// A token whose kind is not known; Omni decides what it may do.
    pub fn unknown(secret: impl Into<String>) -> Self {
        Self::new(secret, TokenKind::Unknown)
    }

    /// A token of the given kind.
    pub fn new(secret: impl Into<String>, kind: TokenKind) -> Self {
        Self {
            secret: secret.into().into_boxed_str(),
            kind,
        }
    }

    /// The token's kind.
    pub fn kind(&self) -> TokenKind {
        self.kind
    }

    /// The `Authorization` header value, marked sensitive so that it is never logged.
    pub(crate) fn header(&self, origin: &str) -> Result<HeaderValue> {
        let secret = self.secret.trim();
        if secret.is_empty() {
            return Err(Error::config(origin, "the token is empty"));
        }
        let mut value = HeaderValue::from_str(&format!("Bearer {secret}")).map_err(|_| {
            Error::config(
                origin,
                "the token contains characters not allowed in an HTTP header",
            )
        })?;
        value.set_sensitive(true);
        Ok(value)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("kind", &self.kind)
            .field("secret", &"<redacted>")
            .finish()
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (redacted)", self.kind)
    }
}

/// Where the settings of a client come from, as [`ClientBuilder::resolve`] finds them. Holds
/// no secret.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resolved {
    /// The normalised base URL, e.g. `https://acme.omniapp.co/api`.
    pub base_url: String,
    /// Where it came from: the builder, `OMNI_BASE_URL`, or a profile's `apiEndpoint`.
    pub base_url_from: String,
    /// The token's kind.
    pub token_kind: TokenKind,
    /// Where the token came from: the builder, `OMNI_API_TOKEN`, or a profile.
    pub token_from: String,
    /// The profile file that was read, if one was needed.
    pub profile_file: Option<PathBuf>,
}

/// Each setting of a client as [`ClientBuilder::settings`] finds it, `None` where it is
/// missing. Holds no secret.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Settings {
    /// The normalised base URL, when one was found.
    pub base_url: Option<String>,
    /// Where it came from.
    pub base_url_from: Option<String>,
    /// The token's kind, when one was found.
    pub token_kind: Option<TokenKind>,
    /// Where the token came from.
    pub token_from: Option<String>,
    /// The profile file searched, if one was needed.
    pub profile_file: Option<PathBuf>,
    /// What is missing, each said with where to set it (empty when nothing is).
    pub missing: Vec<String>,
}

/// What [`ClientBuilder::gather`] found.
struct Gathered {
    token: Option<(Token, String)>,
    base: Option<(Location, String)>,
    searched: Option<PathBuf>,
    missing: Vec<String>,
}

/// Where to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Location {
    /// `https://{name}.omniapp.co/api`
    Instance(String),
    /// `https://{name}.playground.exploreomni.dev/api`
    Playground(String),
    /// A base URL as given.
    BaseUrl(String),
}

/// Omni's domains: a token goes to these (and their subdomains) without an opt-in.
const OMNI_DOMAINS: &[&str] = &[
    "omniapp.co",
    "embed-omniapp.co",
    "exploreomni.dev",
    "embed-exploreomni.dev",
    "thundersalmon.com",
    "embed-thundersalmon.com",
];

/// Default time to establish a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default time for a whole request, from sending to the last byte of the answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds a [`Client`](crate::Client). Values are resolved at [`build`](Self::build) with the precedence of
/// Omni's CLI: an explicit value, then the environment, then the profile file.
///
/// ```
/// use omni_dbt::{Client, Token};
///
/// let client = Client::builder()
///     .with_token(Token::organization_api_key("omni_osk_example"))
///     .with_instance("acme")
///     .build()?;
/// assert_eq!(client.base_url(), "https://acme.omniapp.co/api");
/// # Ok::<(), omni_dbt::Error>(())
/// ```
#[derive(Clone)]
pub struct ClientBuilder {
    token: Option<Token>,
    location: Option<Location>,
    use_env: bool,
    profile: Option<String>,
    config_path: Option<PathBuf>,
    pub(crate) connect_timeout: Duration,
    pub(crate) timeout: Duration,
    allow_any_host: bool,
    allow_plain_http: bool,
    pub(crate) retry: RetryPolicy,
    pub(crate) rate_limit: Option<RateLimit>,
    pub(crate) max_response_bytes: usize,
    pub(crate) operation_timeout: Option<Duration>,
    #[cfg(feature = "shared-rate-limit")]
    rate_limit_store: Option<String>,
}

/// Default cap on a response body: far above any dbt-environment answer, far below trouble.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 4 << 20;

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            token: None,
            location: None,
            use_env: false,
            profile: None,
            config_path: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            timeout: DEFAULT_TIMEOUT,
            allow_any_host: false,
            allow_plain_http: false,
            retry: RetryPolicy::default(),
            rate_limit: Some(RateLimit::default()),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            operation_timeout: None,
            #[cfg(feature = "shared-rate-limit")]
            rate_limit_store: None,
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("token", &self.token)
            .field("location", &self.location)
            .field("use_env", &self.use_env)
            .field("profile", &self.profile)
            .field("config_path", &self.config_path)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("allow_any_host", &self.allow_any_host)
            .field("allow_plain_http", &self.allow_plain_http)
            .field("retry", &self.retry)
            .field("rate_limit", &self.rate_limit)
            .field("max_response_bytes", &self.max_response_bytes)
            .finish()
    }
}

impl ClientBuilder {
    /// A builder with nothing set: give a token and a location, or read them with
    /// [`with_env`](Self::with_env) / [`with_profile`](Self::with_profile).
    pub fn new() -> Self {
        Self::default()
    }

    /// The token to send (takes precedence over the environment and the profile).
    pub fn with_token(mut self, token: Token) -> Self {
        self.token = Some(token);
        self
    }

    /// Connect to the production instance `name`: `https://{name}.omniapp.co/api`.
    pub fn with_instance(mut self, name: impl Into<String>) -> Self {
        self.location = Some(Location::Instance(name.into()));
        self
    }

    /// Connect to the playground instance `name`: `https://{name}.playground.exploreomni.dev/api`.
    pub fn with_playground(mut self, name: impl Into<String>) -> Self {
        self.location = Some(Location::Playground(name.into()));
        self
    }

    /// Connect to a base URL: `https://acme.omniapp.co`, `.../api` and `.../api/` all mean
    /// `https://acme.omniapp.co/api`. The host must pass the host policy (see
    /// [`dangerously_allow_any_host`](Self::dangerously_allow_any_host)).
    pub fn with_base_url(mut self, url: impl Into<String>) -> Self {
        self.location = Some(Location::BaseUrl(url.into()));
        self
    }

    /// Also read `OMNI_API_TOKEN` and `OMNI_BASE_URL`, and fall back to the default profile of
    /// the Omni CLI's profile file (`OMNI_CONFIG_PATH` or `~/.config/omni-cli/config.json`)
    /// when it exists. A token from the environment is of [`TokenKind::Unknown`].
    pub fn with_env(mut self) -> Self {
        self.use_env = true;
        self
    }

    /// Read the named profile of the profile file for whatever is not set explicitly (or by
    /// the environment, with [`with_env`](Self::with_env)). The profile must exist.
    pub fn with_profile(mut self, name: impl Into<String>) -> Self {
        self.profile = Some(name.into());
        self
    }

    /// Read profiles from this file instead of `OMNI_CONFIG_PATH` or the CLI's default path.
    pub fn with_config_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.config_path = Some(path.into());
        self
    }

    /// Time allowed to establish a connection (default 10 s).
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for one attempt of a request, from sending to the last byte of the answer
    /// (default 30 s). A call with retries may take longer; bound the whole call with
    /// [`with_operation_timeout`](Self::with_operation_timeout).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Time allowed for a whole call: every attempt, every backoff and every pacing wait (after
    /// a 429's `Retry-After`, say) end by it. A wait that would outlast it is not started: the
    /// call ends with what it has (the last answer, or [`Error::RateLimited`] without sending).
    /// Default: none (the retry policy's budget plus one attempt's timeout bound a call).
    ///
    /// ```
    /// use std::time::Duration;
    /// let builder = omni_dbt::Client::builder().with_operation_timeout(Duration::from_secs(5));
    /// # let _ = builder;
    /// ```
    pub fn with_operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = Some(timeout);
        self
    }

    /// Share this token's rate limit with every process and machine pointed at the same store
    /// (`redis://host:port/`, or `rediss://` for TLS with the system's roots): one schedule, kept in Redis by one atomic script on the
    /// server's clock, under a digest of the token; a 429 seen by one process holds back all.
    /// Optional: without it each process paces itself. An unreachable or slow store is warned
    /// about once and the client paces locally; no request fails because of it. With
    /// [`with_env`](Self::with_env), `OMNI_RATE_LIMIT_STORE` gives it too.
    ///
    /// ```
    /// let builder = omni_dbt::Client::builder().with_rate_limit_store("redis://127.0.0.1:6379/");
    /// # let _ = builder;
    /// ```
    #[cfg(feature = "shared-rate-limit")]
    pub fn with_rate_limit_store(mut self, url: impl Into<String>) -> Self {
        self.rate_limit_store = Some(url.into());
        self
    }

    /// The store's URL and where it came from: the builder, else `OMNI_RATE_LIMIT_STORE`.
    #[cfg(feature = "shared-rate-limit")]
    pub(crate) fn rate_limit_store(&self) -> Option<(String, String)> {
        if let Some(url) = &self.rate_limit_store {
            return Some((
                url.clone(),
                "the rate-limit store given to the builder".into(),
            ));
        }
        if !self.use_env {
            return None;
        }
        std::env::var(profile::ENV_RATE_LIMIT_STORE)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|url| (url, profile::ENV_RATE_LIMIT_STORE.to_owned()))
    }

    #[cfg(not(feature = "shared-rate-limit"))]
    pub(crate) fn use_env(&self) -> bool {
        self.use_env
    }

    /// How failed requests are retried (default: [`RetryPolicy::default`]).
    pub fn with_retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Never retry.
    pub fn without_retries(self) -> Self {
        self.with_retry_policy(RetryPolicy::disabled())
    }

    /// Pace requests at this rate (default: 60 per minute, Omni's default limit). Every client
    /// with the same token and limit shares one schedule.
    pub fn with_rate_limit(mut self, limit: RateLimit) -> Self {
        self.rate_limit = Some(limit);
        self
    }

    /// Do not pace requests (Omni's 429s are still retried per the retry policy).
    pub fn without_rate_limit(mut self) -> Self {
        self.rate_limit = None;
        self
    }

    /// The largest response body read (default 4 MiB); a larger one is
    /// [`Error::ResponseTooLarge`].
    pub fn with_max_response_bytes(mut self, limit: usize) -> Self {
        self.max_response_bytes = limit;
        self
    }

    /// Send the token to hosts outside Omni's domains (`omniapp.co`, `exploreomni.dev`,
    /// `thundersalmon.com` and their `embed-` variants). Only for a proxy or gateway you
    /// control: whoever runs that host receives your token.
    pub fn dangerously_allow_any_host(mut self) -> Self {
        self.allow_any_host = true;
        self
    }

    /// Send the token over plain `http://` to hosts other than loopback. Anyone on the network
    /// path can read it.
    pub fn dangerously_allow_plain_http(mut self) -> Self {
        self.allow_plain_http = true;
        self
    }

    /// Resolves the settings without building a client: where the token and the base URL come
    /// from (an explicit value, an environment variable, or a profile), after the host policy.
    /// The token itself is not part of the answer.
    ///
    /// ```
    /// use omni_dbt::{Client, Token};
    ///
    /// let resolved = Client::builder()
    ///     .with_token(Token::personal_access_token("omni_pat_example"))
    ///     .with_instance("acme")
    ///     .resolve()?;
    /// assert_eq!(resolved.base_url, "https://acme.omniapp.co/api");
    /// assert_eq!(resolved.token_from, "the token given to with_token");
    /// # Ok::<(), omni_dbt::Error>(())
    /// ```
    pub fn resolve(&self) -> Result<Resolved> {
        self.resolve_with_token().map(|(_, resolved)| resolved)
    }

    /// The token and the location, each with where it came from (`None`: not found), the
    /// profile file searched, and the error saying where to set what is missing.
    fn gather(&self) -> Result<Gathered> {
        let mut token = self
            .token
            .clone()
            .map(|t| (t, "the token given to with_token".to_owned()));
        let mut base = self
            .location
            .clone()
            .map(|l| (l, "the base URL given to the builder".to_owned()));

        if self.use_env {
            if token.is_none() {
                token =
                    profile::env_var(ENV_TOKEN)?.map(|t| (Token::unknown(t), ENV_TOKEN.to_owned()));
            }
            if base.is_none() {
                base = profile::env_var(ENV_BASE_URL)?
                    .map(|u| (Location::BaseUrl(u), ENV_BASE_URL.to_owned()));
            }
        }

        let needs_profile =
            (token.is_none() || base.is_none()) && (self.use_env || self.profile.is_some());
        let searched = match needs_profile {
            true => profile::config_path(self.config_path.as_deref())?,
            false => None,
        };
        if let Some(path) = &searched
            && let Some(p) = profile::load(path, self.profile.as_deref())?
        {
            if token.is_none() {
                token = p.token.map(|t| (Token::unknown(t), p.origin.clone()));
            }
            if base.is_none() {
                base = p
                    .api_endpoint
                    .map(|u| (Location::BaseUrl(u), format!("apiEndpoint of {}", p.origin)));
            }
        }
        let where_to_look = |what: &str, var: &str| {
            let file = searched
                .as_ref()
                .map(|p| format!(", or a profile in {}", p.display()))
                .unwrap_or_default();
            format!("no {what}: set it explicitly, or call with_env() and set {var}{file}")
        };
        let missing = [
            (token.is_none(), where_to_look("token", ENV_TOKEN)),
            (
                base.is_none(),
                where_to_look("instance or base URL", ENV_BASE_URL),
            ),
        ]
        .into_iter()
        .filter_map(|(missing, why)| missing.then_some(why))
        .collect();
        Ok(Gathered {
            token,
            base,
            searched,
            missing,
        })
    }

    /// What [`resolve`](Self::resolve) would find, setting by setting, without failing on
    /// what is missing: for a tool that shows the configuration (`omni-dbt config show`)
    /// even when it is incomplete. A value that is present but invalid (a base URL on another
    /// host, a malformed token) is still an error.
    ///
    /// ```
    /// use omni_dbt::{Client, Token};
    ///
    /// let settings = Client::builder()
    ///     .with_token(Token::personal_access_token("omni_pat_example"))
    ///     .settings()?;
    /// assert_eq!(settings.base_url, None);
    /// assert_eq!(settings.token_from.as_deref(), Some("the token given to with_token"));
    /// assert!(settings.missing[0].starts_with("no instance or base URL"));
    /// # Ok::<(), omni_dbt::Error>(())
    /// ```
    pub fn settings(&self) -> Result<Settings> {
        let gathered = self.gather()?;
        let mut settings = Settings {
            base_url: None,
            base_url_from: None,
            token_kind: None,
            token_from: None,
            profile_file: gathered.searched,
            missing: gathered.missing,
        };
        if let Some((location, origin)) = &gathered.base {
            let url =
                resolve_base_url(location, origin, self.allow_any_host, self.allow_plain_http)?;
            settings.base_url = Some(url.as_str().trim_end_matches('/').to_owned());
            settings.base_url_from = Some(origin.clone());
        }
        if let Some((token, origin)) = &gathered.token {
            token.header(origin)?;
            settings.token_kind = Some(token.kind());
            settings.token_from = Some(origin.clone());
        }
        Ok(settings)
    }

    pub(crate) fn resolve_with_token(&self) -> Result<(Token, Resolved)> {
        let Gathered {
            token,
            base,
            searched,
            missing,
        } = self.gather()?;
        let missing_error = |at: usize| {
            Error::config(
                "client builder",
                missing.get(at).cloned().unwrap_or_default(),
            )
        };
        let (token, token_origin) = token.ok_or_else(|| missing_error(0))?;
        let (location, base_origin) = base.ok_or_else(|| missing_error(0))?;
        let base_url = resolve_base_url(
            &location,
            &base_origin,
            self.allow_any_host,
            self.allow_plain_http,
        )?;
        // The header must be valid before anything else is believed.
        token.header(&token_origin)?;
        let resolved = Resolved {
            base_url: base_url.as_str().trim_end_matches('/').to_owned(),
            base_url_from: base_origin,
            token_kind: token.kind(),
            token_from: token_origin,
            profile_file: searched,
        };
        Ok((token, resolved))
    }
}

fn resolve_base_url(
    location: &Location,
    origin: &str,
    allow_any_host: bool,
    allow_plain_http: bool,
) -> Result<Url> {
    let text = match location {
        Location::Instance(name) => {
            format!("https://{}.omniapp.co/api", instance_label(name, origin)?)
        }
        Location::Playground(name) => {
            format!(
                "https://{}.playground.exploreomni.dev/api",
                instance_label(name, origin)?
            )
        }
        Location::BaseUrl(url) => url.trim().to_owned(),
    };
    let bad = |message: String| Error::config(origin, message);
    let mut url =
        Url::parse(&text).map_err(|e| bad(format!("\"{}\" is not a URL: {e}", quotable(&text))))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("the base URL must not contain credentials".to_owned()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad(format!(
            "the base URL \"{}\" must not have a query or fragment",
            quotable(&text)
        )));
    }
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let loopback = is_loopback(&url);
    match url.scheme() {
        "https" => {}
        "http" if loopback || allow_plain_http => {}
        "http" => {
            return Err(bad(format!(
                "refusing to send the token over plain http to {host}: use https \
                 (plain http is allowed for loopback only, or with dangerously_allow_plain_http())"
            )));
        }
        other => return Err(bad(format!("scheme \"{other}\" is not http or https"))),
    }
    let omni = OMNI_DOMAINS
        .iter()
        .any(|d| host == *d || host.ends_with(&format!(".{d}")));
    if !(omni || loopback || allow_any_host) {
        return Err(bad(format!(
            "refusing to send the token to {host}: it is not one of Omni's domains ({}) nor \
             loopback; use dangerously_allow_any_host() if you really mean it",
            OMNI_DOMAINS.join(", ")
        )));
    }
    // `https://acme.omniapp.co`, `.../api` and `.../api/` all mean `.../api`.
    let path = url.path().trim_end_matches('/').to_owned();
    let path = if path.ends_with("/api") {
        path
    } else {
        format!("{path}/api")
    };
    url.set_path(&path);
    Ok(url)
}

/// A URL as text, safe to quote in an error: without credentials (`user:pass@`), query or
/// fragment, which may carry secrets. Works on text that does not parse as a URL too.
pub(crate) fn quotable(text: &str) -> String {
    let (before_query, cut) = match text.find(['?', '#']) {
        Some(i) => (&text[..i], true),
        None => (text, false),
    };
    let (scheme, rest) = match before_query.split_once("://") {
        Some((scheme, rest)) => (Some(scheme), rest),
        None => (None, before_query),
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let host = match authority.rfind('@') {
        Some(i) => format!("<credentials removed>@{}", &authority[i + 1..]),
        None => authority.to_owned(),
    };
    let mut out = match scheme {
        Some(scheme) => format!("{scheme}://{host}{path}"),
        None => format!("{host}{path}"),
    };
    if cut {
        out.push_str("<query removed>");
    }
    out
}

fn instance_label<'a>(name: &'a str, origin: &str) -> Result<&'a str> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if ok {
        Ok(name)
    } else {
        Err(Error::config(
            origin,
            format!(
                "instance name \"{name}\" must be a lowercase DNS label (a-z, 0-9, '-'), \
                 e.g. \"acme\" for acme.omniapp.co; give a full URL to with_base_url instead"
            ),
        ))
    }
}

pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}
