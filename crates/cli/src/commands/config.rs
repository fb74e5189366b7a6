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
    let resolved = ctx.builder.resolve()?;
    let connection_from = match (connection.connection, std::env::var("OMNI_CONNECTION_ID")) {
        (None, _) => "not set",
        (Some(c), Ok(env)) if env.trim() == c.to_string() => "OMNI_CONNECTION_ID",
        (Some(_), _) => "--connection",
    };
    let profile_file = resolved
        .profile_file
        .as_ref()
        .map(|p| p.display().to_string());
    // The library names its own entry points; say which flag the user gave instead.
    let token_from = ctx
        .token_from
        .clone()
        .unwrap_or(resolved.token_from.clone());
    let base_url_from = match resolved.base_url_from.as_str() {
        "the base URL given to the builder" => ctx.base_url_from.clone(),
        other => other.to_owned(),
    };
    let value = json!({
        "baseUrl": resolved.base_url,
        "baseUrlFrom": base_url_from,
        "token": "<redacted>",
        "tokenKind": resolved.token_kind.to_string(),
        "tokenFrom": token_from,
        "profileFile": profile_file,
        "connection": connection.connection,
        "connectionFrom": connection_from,
    });
    emit(ctx.output, &value, || {
        vec![
            vec!["SETTING".into(), "VALUE".into(), "FROM".into()],
            vec![
                "base URL".into(),
                resolved.base_url.clone(),
                base_url_from.clone(),
            ],
            vec![
                "token".into(),
                format!("<redacted> ({})", resolved.token_kind),
                token_from.clone(),
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
    Ok(())
}
