//! Reading the settings Omni's own CLI uses: `OMNI_API_TOKEN`, `OMNI_BASE_URL`, and its profile
//! file (`OMNI_CONFIG_PATH`, else `~/.config/omni-cli/config.json`).

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use serde::Deserialize;

use crate::error::{Error, Result};

/// Environment variable holding the API token.
pub const ENV_TOKEN: &str = "OMNI_API_TOKEN";
/// Environment variable holding the base URL.
pub const ENV_BASE_URL: &str = "OMNI_BASE_URL";
/// Environment variable overriding the profile file's path.
pub const ENV_CONFIG_PATH: &str = "OMNI_CONFIG_PATH";
/// The shared rate-limit store (`redis://host:port/`), read by `with_env()` (feature
/// `shared-rate-limit`).
pub const ENV_RATE_LIMIT_STORE: &str = "OMNI_RATE_LIMIT_STORE";

/// Reads a variable; unset, empty and non-UTF-8 values count as absent (the last is an error).
pub(crate) fn env_var(name: &str) -> Result<Option<String>> {
    match std::env::var(name) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(Error::config(name, "the value is not valid UTF-8"))
        }
    }
}

/// Where the profile file is: an explicit path, else `OMNI_CONFIG_PATH`, else the CLI's default.
pub(crate) fn config_path(explicit: Option<&Path>) -> Result<Option<PathBuf>> {
    if let Some(p) = explicit {
        return Ok(Some(p.to_path_buf()));
    }
    if let Some(p) = env_var(ENV_CONFIG_PATH)? {
        return Ok(Some(PathBuf::from(p)));
    }
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"));
    Ok(home.map(|h| {
        PathBuf::from(h)
            .join(".config")
            .join("omni-cli")
            .join("config.json")
    }))
}

/// The settings one profile contributes.
pub(crate) struct Profile {
    /// `profile "NAME" in PATH`, for error messages.
    pub origin: String,
    pub api_endpoint: Option<String>,
    pub token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigFile {
    #[serde(default)]
    default_profile: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, RawProfile>,
}

// No `Debug`: it holds secrets.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProfile {
    #[serde(default)]
    api_endpoint: Option<String>,
    #[serde(default)]
    auth_method: Option<String>,
    #[serde(default)]
    api_key: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

/// The largest profile file read: a profile is a few hundred bytes.
pub(crate) const MAX_PROFILE_BYTES: u64 = 256 * 1024;

/// Reads a profile file: only a regular file, only up to [`MAX_PROFILE_BYTES`]. Opening does
/// not block (a FIFO would), and the type is checked on the opened file, so that swapping the
/// path after a check changes nothing. Also returns the permission bits when group or others
/// may read the file (Unix).
fn read_small_regular_file(path: &Path) -> std::io::Result<(String, Option<u32>)> {
    use std::io::{Error as IoError, ErrorKind, Read};

    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(IoError::new(
            ErrorKind::InvalidInput,
            "it is not a regular file",
        ));
    }
    if meta.len() > MAX_PROFILE_BYTES {
        return Err(IoError::new(
            ErrorKind::InvalidData,
            format!("it is larger than {MAX_PROFILE_BYTES} bytes"),
        ));
    }
    let mut text = String::new();
    file.take(MAX_PROFILE_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_PROFILE_BYTES {
        return Err(IoError::new(
            ErrorKind::InvalidData,
            format!("it is larger than {MAX_PROFILE_BYTES} bytes"),
        ));
    }
    #[cfg(unix)]
    let shared = {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        (mode & 0o044 != 0).then_some(mode)
    };
    #[cfg(not(unix))]
    let shared = None;
    Ok((text, shared))
}

/// Loads `name` (or the file's default profile) from `path`.
///
/// A missing file is `Ok(None)` unless a profile was asked for by name.
pub(crate) fn load(path: &Path, name: Option<&str>) -> Result<Option<Profile>> {
    let file_origin = format!("profile file {}", path.display());
    let (text, shared_mode) = match read_small_regular_file(path) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && name.is_none() => return Ok(None),
        Err(e) => return Err(Error::config(file_origin, format!("cannot read it: {e}"))),
    };
    // serde's message can quote a value, and values here can be secrets: position only.
    let file: ConfigFile = serde_json::from_str(&text).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Data => "unexpected structure",
            _ => "invalid JSON",
        };
        let (line, column) = (e.line(), e.column());
        let message =
            format!("not a valid Omni CLI config: {what} at line {line}, column {column}");
        Error::config(&file_origin, message)
    })?;

    let chosen = match name {
        Some(n) => n.to_owned(),
        None => match file.default_profile.clone() {
            Some(d) => d,
            None if file.profiles.contains_key("default") => "default".to_owned(),
            None => return Ok(None),
        },
    };
    let origin = format!("profile \"{chosen}\" in {}", path.display());
    let Some(raw) = file.profiles.get(&chosen) else {
        let known: Vec<&str> = file.profiles.keys().map(String::as_str).collect();
        let rule = if name.is_some() {
            "was asked for"
        } else {
            "is the defaultProfile"
        };
        return Err(Error::config(
            origin,
            format!(
                "the profile {rule} but is not defined (defined: {})",
                known.join(", ")
            ),
        ));
    };

    let token = match raw.auth_method.as_deref() {
        Some("api-key") => raw.api_key.clone(),
        Some("oauth") => raw.access_token.clone(),
        None => raw.api_key.clone().or_else(|| raw.access_token.clone()),
        Some(other) => {
            return Err(Error::config(
                origin,
                format!("authMethod \"{other}\" is not one of \"api-key\", \"oauth\""),
            ));
        }
    }
    .filter(|t| !t.trim().is_empty());
    if let (Some(_), Some(mode)) = (&token, shared_mode) {
        tracing::warn!(
            path = %path.display(),
            mode = format_args!("{mode:o}"),
            "the profile file holds a token and is readable by group or others; \
             restrict it with `chmod 600`"
        );
    }

    Ok(Some(Profile {
        origin,
        api_endpoint: raw.api_endpoint.clone(),
        token,
    }))
}
