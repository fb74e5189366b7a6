//! Why a command failed, and the exit code that says so (see `cli::EXIT_CODES`).

use std::fmt;

use omni_dbt::Error;

/// A failed command.
#[derive(Debug)]
pub enum Failure {
    /// Bad usage or input; nothing was sent.
    Usage(String),
    /// What the client reported.
    Api(Error),
    /// A name that matches no environment.
    NotFound(String),
    /// A schema refresh that failed or did not finish.
    Refresh(String),
    /// Some steps of an apply failed: each step's line and its own exit code.
    Partial(Vec<(String, u8)>),
    /// SIGINT or SIGTERM during an apply, with what had finished.
    Interrupted(String),
    /// A failure reaching the server, with the host it was talking to.
    Network { host: String, inner: Box<Failure> },
    /// Standard output could not be written (a full disk; not a closed pipe): exit 1.
    Output(String),
    /// Any failure under `plan --detailed-exitcode`, which reserves 2 for "changes": exit 1.
    Detailed(Box<Failure>),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Api(e)
    }
}

impl Failure {
    /// A transport failure (or one whose outcome is unknown) names the host: "connection
    /// refused" alone does not say which address was wrong.
    pub fn with_host(self, host: Option<String>) -> Failure {
        match (self, host) {
            (
                failure @ Failure::Api(Error::Transport { .. } | Error::OutcomeUnknown { .. }),
                Some(host),
            ) => Failure::Network {
                host,
                inner: Box::new(failure),
            },
            (failure, _) => failure,
        }
    }

    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::Usage(_) => 2,
            Failure::NotFound(_) => 4,
            Failure::Refresh(_) => 7,
            Failure::Interrupted(_) => 130,
            // When every failure is of one kind (all rate-limited, all forbidden, all of
            // unknown outcome), the exit code says that kind; a mix is 1.
            // (2 says "nothing was sent", which is not so once some steps were.)
            Failure::Partial(failed) => match failed.first() {
                Some((_, code)) if *code != 2 && failed.iter().all(|(_, c)| c == code) => *code,
                _ => 1,
            },
            Failure::Detailed(_) | Failure::Output(_) => 1,
            Failure::Network { inner, .. } => inner.exit_code(),
            Failure::Api(e) => match e {
                Error::InvalidInput { .. } | Error::Config { .. } => 2,
                Error::Unauthorized { .. } | Error::Forbidden { .. } => 3,
                Error::NotFound { .. } => 4,
                Error::RateLimited { .. } | Error::LocallyRateLimited { .. } => 5,
                Error::OutcomeUnknown { .. } => 6,
                _ => 1,
            },
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(m)
            | Failure::NotFound(m)
            | Failure::Refresh(m)
            | Failure::Output(m)
            | Failure::Interrupted(m) => f.write_str(m),
            Failure::Partial(failed) => {
                write!(
                    f,
                    "{} step(s) failed:\n  {}",
                    failed.len(),
                    failed
                        .iter()
                        .map(|(line, _)| line.as_str())
                        .collect::<Vec<_>>()
                        .join("\n  ")
                )
            }
            Failure::Detailed(inner) => write!(f, "{inner}"),
            Failure::Network { host, inner } => write!(f, "talking to {host}: {inner}"),
            // The client's errors carry Omni's own `detail`, said in the CLI's words.
            Failure::Api(e) => f.write_str(&cli_words(e)),
        }
    }
}

/// The library's error, in the words of the command line: flags, not builder methods.
fn cli_words(e: &Error) -> String {
    if let Error::InvalidInput { field, rule, .. } = e {
        if field == "body" {
            return "nothing to change: give at least one field to set (e.g. --target-schema, \
                    --var NAME=VALUE)"
                .to_owned();
        }
        let property = crate::plan::managed()
            .find(|p| p.json == field)
            .map(crate::flags::flag);
        let flag = match field.as_str() {
            _ if property.is_some() => property.as_deref().unwrap_or_default(),
            "name" => "--name",
            "ownerId" => "--owner",
            "projectRootPath" => "--project-root",
            "sshUrl" => "--ssh-url",
            "branchName" => "--branch",
            other if other.starts_with("variables") => "--var/--secret-var",
            _ => "",
        };
        if !flag.is_empty() {
            return format!("{flag} ({field}): {rule}");
        }
    }
    e.to_string()
        .replace(
            "set it explicitly, or call with_env() and set",
            "give --token-file or --token-stdin (a token), --base-url or --instance (a URL), or set",
        )
        .replace(
            "; use dangerously_allow_any_host() if you really mean it",
            " (the CLI sends tokens to nothing else)",
        )
        .replace("give a full URL to with_base_url instead", "give a full URL with --base-url instead")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_library_words_in_cli_errors() {
        let e = omni_dbt::Client::builder()
            .with_base_url("https://example.com")
            .with_token(omni_dbt::Token::unknown("t"))
            .build()
            .unwrap_err();
        let text = Failure::Api(e).to_string();
        assert!(!text.contains("dangerously"), "{text}");
        assert!(text.contains("example.com"), "{text}");
        let e = omni_dbt::Client::builder().build().unwrap_err();
        let text = Failure::Api(e).to_string();
        assert!(!text.contains("with_env"), "{text}");
        assert!(text.contains("--token-file"), "{text}");
    }
}
