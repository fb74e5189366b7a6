//! Everything the CLI reads from outside, bounded: token files and standard input, secret
//! values, and the environments file (bytes, YAML nodes, nesting depth, duplicate keys).

use std::{io::IsTerminal, path::Path};

use serde_json::Value;

use crate::failure::Failure;

/// The most bytes a token or a secret value may have.
pub const MAX_SECRET_BYTES: u64 = 64 * 1024;
/// The most bytes an environments file may have.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// The most YAML nodes an environments file may expand to (aliases included).
pub const MAX_YAML_NODES: usize = 100_000;
/// The deepest an environments file may nest.
pub const MAX_YAML_DEPTH: usize = 32;
/// The most bytes of text an environments file may expand to (aliases included).
pub const MAX_YAML_BYTES: usize = 4 << 20;

pub use omni_dbt_input::{read_bounded, read_small_file};

/// The token on the first line of `text`.
pub fn token_line(text: &str, flag: &str) -> Result<String, Failure> {
    let token = text.lines().next().unwrap_or_default().trim();
    if token.is_empty() {
        Err(Failure::Usage(format!(
            "{flag}: no token (the first line is empty)"
        )))
    } else {
        Ok(token.to_owned())
    }
}

/// The token from `--token-file`.
pub fn token_file(path: &Path) -> Result<String, Failure> {
    let text = read_small_file(path, MAX_SECRET_BYTES)
        .map_err(|e| Failure::Usage(format!("--token-file {}: {e}", path.display())))?;
    token_line(&text, "--token-file")
}

/// The token from `--token-stdin`: the first line, read up to [`MAX_SECRET_BYTES`].
pub fn token_stdin() -> Result<String, Failure> {
    let text = read_bounded(std::io::stdin().lock(), MAX_SECRET_BYTES)
        .map_err(|e| Failure::Usage(format!("--token-stdin: standard input {e}")))?;
    token_line(&text, "--token-stdin")
}

/// A `--secret-var NAME`'s value: the environment variable `NAME`, else standard input when it
/// is not a terminal (a secret is never typed where it echoes). Never empty: a CI job whose
/// secret is missing must fail, not blank the password.
pub fn secret_var(name: &str, stdin_free: bool) -> Result<String, Failure> {
    let flag = format!("--secret-var {name}");
    match std::env::var(name) {
        Ok(value) if value.trim().is_empty() => Err(Failure::Usage(format!(
            "{flag}: the environment variable {name} is set but empty (or only blanks); refusing \
             to send an empty secret"
        ))),
        Ok(value) => Ok(value),
        Err(std::env::VarError::NotUnicode(_)) => Err(Failure::Usage(format!(
            "{flag}: the environment variable {name} is not UTF-8"
        ))),
        Err(std::env::VarError::NotPresent) => {
            if !stdin_free {
                return Err(Failure::Usage(format!(
                    "{flag}: the environment variable {name} is unset, and standard input is taken"
                )));
            }
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                return Err(Failure::Usage(format!(
                    "{flag}: the environment variable {name} is unset; set it, or pipe the value \
                     on standard input (it is not read from a terminal, where it would echo)"
                )));
            }
            let text = read_bounded(stdin.lock(), MAX_SECRET_BYTES)
                .map_err(|e| Failure::Usage(format!("{flag}: standard input {e}")))?;
            let value = text.strip_suffix('\n').unwrap_or(&text);
            let value = value.strip_suffix('\r').unwrap_or(value);
            if value.trim().is_empty() {
                return Err(Failure::Usage(format!(
                    "{flag}: the environment variable {name} is unset and standard input is empty \
                     (or only blanks); \
                     refusing to send an empty secret"
                )));
            }
            Ok(value.to_owned())
        }
    }
}

/// Reads an environments file into JSON: a regular file of at most [`MAX_FILE_BYTES`], YAML
/// (JSON is YAML) of at most [`MAX_YAML_NODES`] nodes, [`MAX_YAML_BYTES`] bytes of text and
/// [`MAX_YAML_DEPTH`] levels (aliases expanded), with no key given twice in one mapping.
/// Returns the text too, to locate an error about its meaning ([`omni_dbt_input::locate`]).
pub fn yaml_file(path: &Path) -> Result<(String, Value), Failure> {
    let shown = path.display();
    let text = read_small_file(path, MAX_FILE_BYTES)
        .map_err(|e| Failure::Usage(format!("-f {shown}: {e}")))?;
    let value = yaml(&text).map_err(|e| Failure::Usage(format!("-f {shown}: {e}")))?;
    Ok((text, value))
}

/// YAML text into JSON, within the budgets of [`yaml_file`].
pub fn yaml(text: &str) -> Result<Value, String> {
    omni_dbt_input::yaml(
        text,
        omni_dbt_input::Limits {
            bytes: MAX_YAML_BYTES,
            nodes: MAX_YAML_NODES,
            depth: MAX_YAML_DEPTH,
            text_keys: true,
        },
    )
}

/// Asks on the terminal before something that cannot be undone; `yes` (the `--yes` flag)
/// skips the question. Without `--yes`, standard input must be a terminal not taken by another
/// flag (`--token-stdin`): a script that forgot `--yes` is refused, never answered for. Only
/// `yes` is accepted; anything else cancels with `cancelled` and nothing is sent.
pub fn confirm(
    question: &str,
    yes: bool,
    stdin_taken: bool,
    cancelled: &str,
) -> Result<(), Failure> {
    if yes {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() || stdin_taken {
        return Err(Failure::Usage(format!(
            "refusing without --yes: standard input is not a terminal ({cancelled})"
        )));
    }
    crate::output::say(&format!("{question} Only 'yes' is accepted: "));
    let answer = read_bounded(std::io::Read::take(stdin.lock(), 64), 64).unwrap_or_default();
    if answer.lines().next().unwrap_or_default().trim() == "yes" {
        Ok(())
    } else {
        Err(Failure::Usage(format!("cancelled: {cancelled}")))
    }
}
