//! `omni-dbt dbt`: the connection's dbt configuration, its settings read from the spec's
//! table (`omni_dbt::fields::dbt_config`), so a setting Omni adds is shown, compared and set
//! with no edit here.

use omni_dbt::{
    api::types::ConnectionsDbtGetResponse,
    fields::{self, Property},
};
use serde_json::{Map, Value, json};

use crate::{
    cli::DbtCommand,
    context::Context,
    failure::Failure,
    flags::{DbtConfigArgs, dbt_flag, is_action},
    output::{emit, say, shown},
    rules::connection,
};

/// The configuration an answer carries, by the spec's names; `None` when there is none.
fn configured(answer: &ConnectionsDbtGetResponse) -> Option<Map<String, Value>> {
    match answer {
        ConnectionsDbtGetResponse::ConfiguredResponse { .. } => serde_json::to_value(answer)
            .ok()
            .and_then(|v| v.as_object().cloned()),
        ConnectionsDbtGetResponse::NotConfiguredResponse { .. } => None,
    }
}

/// A value as a person reads it in a table or a change line (`null` is empty).
fn plain(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(text) => shown(text),
        other => shown(&other.to_string()),
    }
}

/// The answer's settings as table rows: the table's order first, then anything else Omni
/// sent.
fn settings_rows(answer: &Map<String, Value>) -> Vec<Vec<String>> {
    let mut rows = vec![vec!["SETTING".into(), "VALUE".into()]];
    let table: Vec<&str> = fields::dbt_config()
        .iter()
        .filter(|p| p.in_answer)
        .map(|p| p.json)
        .collect();
    for key in table.iter().copied().filter(|k| answer.contains_key(*k)) {
        rows.push(vec![key.to_owned(), plain(&answer[key])]);
    }
    for (key, value) in answer
        .iter()
        .filter(|(k, _)| !table.contains(&k.as_str()) && k.as_str() != "supportsDbt")
    {
        rows.push(vec![shown(key), plain(value)]);
    }
    rows
}

pub async fn run(ctx: &Context, command: DbtCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    match command {
        DbtCommand::Show(c) => {
            let answer = client.dbt(connection(&c)?).config().send().await?;
            emit(ctx.output, &answer, || {
                match (configured(&answer), &answer) {
                    (Some(settings), _) => settings_rows(&settings),
                    (
                        None,
                        ConnectionsDbtGetResponse::NotConfiguredResponse {
                            message,
                            supports_dbt,
                        },
                    ) => vec![
                        vec!["SETTING".into(), "VALUE".into()],
                        vec!["message".into(), shown(message)],
                        vec!["supportsDbt".into(), supports_dbt.to_string()],
                    ],
                    (None, _) => Vec::new(),
                }
            })?;
        }
        DbtCommand::Set {
            connection: c,
            config,
        } => {
            let replace = config.replace;
            let connection = connection(&c)?;
            // What Omni has now (nothing with --replace): what is not given stays as it is.
            let now = if replace {
                None
            } else {
                configured(&client.dbt(connection).config().send().await?)
            };
            let next = merged(&config, now.as_ref(), replace)?;
            let action = config.given.iter().any(|(p, _)| is_action(p));
            if let Some(now) = &now {
                let changed = changes(now, &next);
                if changed.is_empty() && !action {
                    // Nothing to change: nothing is sent.
                    let message = "No changes: the dbt configuration already is what was given.";
                    say(message);
                    emit(
                        ctx.output,
                        &json!({"message": message, "changed": false}),
                        || vec![vec![message.to_owned()]],
                    )?;
                    return Ok(());
                }
                if !changed.is_empty() {
                    say(&format!(
                        "Changing the dbt configuration:\n{}",
                        changed.join("\n")
                    ));
                }
            }
            let mut update = client.dbt(connection).update_config_by_name();
            for (property, value) in next {
                update = update.set_property(property.json, value)?;
            }
            let answer = update.send().await?;
            say(&shown(&answer.message));
            emit(ctx.output, &answer, || vec![vec![answer.message.clone()]])?;
        }
        DbtCommand::Delete { connection: c, yes } => {
            let connection = connection(&c)?;
            crate::input::confirm(
                &format!("Remove the dbt configuration of connection {connection}?"),
                yes,
                ctx.stdin_taken,
                "nothing was removed",
            )?;
            let answer = client.dbt(connection).delete_config().send().await?;
            say(&shown(&answer.message));
            emit(ctx.output, &answer, || vec![vec![answer.message.clone()]])?;
        }
    }
    Ok(())
}

/// What to send: each property given, else what Omni has now (a setting it reads back; an
/// action only when asked for). A required property with neither is a usage error naming its
/// flag.
fn merged(
    config: &DbtConfigArgs,
    now: Option<&Map<String, Value>>,
    replace: bool,
) -> Result<Vec<(&'static Property, Value)>, Failure> {
    let mut next = Vec::new();
    let mut missing = Vec::new();
    for property in fields::dbt_config().iter().filter(|p| p.in_update) {
        let given = config
            .given
            .iter()
            .find(|(p, _)| p.json == property.json)
            .map(|(_, v)| v.clone());
        let kept = || {
            now.filter(|_| property.in_answer)
                .and_then(|n| n.get(property.json).cloned())
        };
        match given.or_else(kept) {
            Some(value) => next.push((property, value)),
            None if property.required => missing.push(dbt_flag(property)),
            None => {}
        }
    }
    if missing.is_empty() {
        return Ok(next);
    }
    let why = if replace {
        "--replace sends only what is given, and Omni requires"
    } else {
        "the connection has no dbt configuration yet; Omni requires"
    };
    Err(Failure::Usage(format!("{why} {}", missing.join(", "))))
}

/// `  branch: main -> release` for each setting Omni reads back that would change.
fn changes(now: &Map<String, Value>, next: &[(&'static Property, Value)]) -> Vec<String> {
    next.iter()
        .filter(|(p, _)| p.in_answer)
        .filter_map(|(property, to)| {
            let from = now.get(property.json).unwrap_or(&Value::Null);
            (plain(from) != plain(to))
                .then(|| format!("  {}: {} -> {}", property.json, plain(from), plain(to)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(json: &str) -> &'static Property {
        fields::dbt_config()
            .iter()
            .find(|p| p.json == json)
            .unwrap()
    }

    #[test]
    fn what_is_not_given_is_kept_and_what_is_required_is_named() {
        let now: Map<String, Value> = serde_json::from_value(json!({
            "sshUrl": "git@x:y.git", "branch": "main", "autogenRelationships": true,
            "enableVirtualSchemas": false, "enableSemanticLayer": false,
            "dbtVersion": "Auto", "projectRootPath": null, "supportsDbt": true
        }))
        .unwrap();
        let config = DbtConfigArgs {
            given: vec![(row("branch"), json!("release"))],
            replace: false,
        };
        let next = merged(&config, Some(&now), false).unwrap();
        let get = |json: &str| next.iter().find(|(p, _)| p.json == json).map(|(_, v)| v);
        assert_eq!(get("branch"), Some(&json!("release")));
        assert_eq!(get("sshUrl"), Some(&json!("git@x:y.git")));
        assert_eq!(get("projectRootPath"), Some(&Value::Null));
        assert_eq!(get("rotateKeys"), None, "an action only when asked for");
        assert_eq!(changes(&now, &next), ["  branch: main -> release"]);

        let err = merged(&config, None, true).unwrap_err();
        let Failure::Usage(message) = err else {
            panic!("{err:?}")
        };
        assert!(message.starts_with("--replace sends only what is given"));
        for flag in ["--ssh-url", "--autogen-relationships", "--virtual-schemas"] {
            assert!(message.contains(flag), "{message}");
        }
        assert!(!message.contains("--branch"), "{message}");
    }

    #[test]
    fn settings_show_in_the_table_s_order_then_the_rest() {
        let answer: Map<String, Value> = serde_json::from_value(json!({
            "sshUrl": "git@x:y.git", "branch": "main", "supportsDbt": true,
            "newThing": "\u{1b}[31m"
        }))
        .unwrap();
        let rows = settings_rows(&answer);
        let keys: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
        assert_eq!(keys, ["SETTING", "branch", "sshUrl", "newThing"]);
        assert_eq!(rows[3][1], "\\u{1b}[31m", "escaped for the terminal");
    }
}
