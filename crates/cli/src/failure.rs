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
    /// Any failure under `plan --detailed-exitcode`, which reserves 2 for "changes": exit 1.
    Detailed(Box<Failure>),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Api(e)
    }
}

impl Failure {
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
            Failure::Detailed(_) => 1,
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
            // The client's errors carry Omni's own `detail`.
            Failure::Api(e) => write!(f, "{e}"),
        }
    }
}
