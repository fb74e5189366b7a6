//! `omni-dbt config show`: the configuration in effect and where each setting came from.

use serde_json::json;

use crate::{
    cli::{ConfigCommand, ConnectionArg},
    context::Context,
    failure::Failure,
    output::emit,
};

pub fn run(ctx: &Context, command: ConfigCommand) -> Result<(), Failure> {
    let ConfigCommand::Show(connection) = command;
    config_show(ctx, &connection)
}

fn config_show(ctx: &Context, connection: &ConnectionArg) -> Result<(), Failure> {
    // Every setting, found or missing: what is missing is shown with where to set it (and the
    // exit is 2), rather than only the first thing missing as an error.
    let settings = ctx.builder.settings()?;
    let connection_from = match (connection.connection, std::env::var("OMNI_CONNECTION_ID")) {
        (None, _) => "not set",
        (Some(c), Ok(env)) if env.trim() == c.to_string() => "OMNI_CONNECTION_ID",
        (Some(_), _) => "--connection",
    };
    let profile_file = settings.profile_file.as_ref().map(|p| {
        if p.exists() {
            p.display().to_string()
        } else {
            format!("{} (not found)", p.display())
        }
    });
    // The library names its own entry points; say which flag the user gave instead.
    let token_from = settings
        .token_from
        .as_ref()
        .map(|from| ctx.token_from.clone().unwrap_or(from.clone()));
    let base_url_from = settings.base_url_from.as_deref().map(|from| match from {
        "the base URL given to the builder" => ctx.base_url_from.clone(),
        other => other.to_owned(),
    });
    // In the CLI's words (flags and variables, not the library's builder calls), from what was
    // found rather than from the library's message.
    let profile = settings
        .profile_file
        .as_ref()
        .map(|p| format!(", or a profile in {}", p.display()))
        .unwrap_or_default();
    let missing: Vec<String> = [
        (
            settings.token_kind.is_none(),
            "token",
            "--token-file, --token-stdin, OMNI_API_TOKEN",
        ),
        (
            settings.base_url.is_none(),
            "base URL",
            "--instance, --base-url, OMNI_BASE_URL",
        ),
    ]
    .into_iter()
    .filter(|(missing, ..)| *missing)
    .map(|(_, what, how)| format!("no {what}: set {how}{profile}"))
    .collect();
    let value = json!({
        "baseUrl": settings.base_url,
        "baseUrlFrom": base_url_from,
        "token": settings.token_kind.map(|_| "<redacted>"),
        "tokenKind": settings.token_kind.map(|k| k.to_string()),
        "tokenFrom": token_from,
        "profileFile": profile_file,
        "connection": connection.connection,
        "connectionFrom": connection_from,
        "missing": missing,
    });
    let unset = || "(missing)".to_owned();
    emit(ctx.output, &value, || {
        vec![
            vec!["SETTING".into(), "VALUE".into(), "FROM".into()],
            vec![
                "base URL".into(),
                settings.base_url.clone().unwrap_or_else(unset),
                base_url_from.clone().unwrap_or_default(),
            ],
            vec![
                "token".into(),
                settings
                    .token_kind
                    .map_or_else(unset, |kind| format!("<redacted> ({kind})")),
                token_from.clone().unwrap_or_default(),
            ],
            vec![
                "connection".into(),
                connection
                    .connection
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
                connection_from.into(),
            ],
            vec![
                "profile file".into(),
                profile_file.clone().unwrap_or_else(|| "(not read)".into()),
                String::new(),
            ],
        ]
    })?;
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Failure::Usage(missing.join("; ")))
    }
}
