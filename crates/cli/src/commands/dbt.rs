//! `omni-dbt dbt`: the connection's dbt configuration.

use omni_dbt::api::types::ConnectionsDbtGetResponse;
use serde_json::json;

use crate::{
    cli::DbtCommand,
    context::Context,
    failure::Failure,
    output::{emit, say, shown},
    rules::connection,
};

/// The configuration Omni has now.
#[derive(Clone)]
struct Current {
    ssh_url: String,
    branch: String,
    dbt_version: String,
    project_root_path: Option<String>,
    autogen_relationships: bool,
    enable_virtual_schemas: bool,
    enable_semantic_layer: bool,
}

impl Current {
    /// The configuration an answer carries; `None` when there is none.
    fn of(answer: &ConnectionsDbtGetResponse) -> Option<Current> {
        match answer {
            ConnectionsDbtGetResponse::ConfiguredResponse {
                ssh_url,
                branch,
                dbt_version,
                project_root_path,
                autogen_relationships,
                enable_virtual_schemas,
                enable_semantic_layer,
                ..
            } => Some(Current {
                ssh_url: ssh_url.clone(),
                branch: branch.clone(),
                dbt_version: dbt_version.clone(),
                project_root_path: project_root_path.clone(),
                autogen_relationships: *autogen_relationships,
                enable_virtual_schemas: *enable_virtual_schemas,
                enable_semantic_layer: *enable_semantic_layer,
            }),
            ConnectionsDbtGetResponse::NotConfiguredResponse { .. } => None,
        }
    }
}

pub async fn run(ctx: &Context, command: DbtCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    match command {
        DbtCommand::Show(c) => {
            let answer = client.dbt(connection(&c)?).config().send().await?;
            emit(ctx.output, &answer, || {
                match (Current::of(&answer), &answer) {
                    (Some(n), _) => vec![
                        vec!["SETTING".into(), "VALUE".into()],
                        vec!["sshUrl".into(), n.ssh_url],
                        vec!["branch".into(), n.branch],
                        vec!["dbtVersion".into(), n.dbt_version],
                        vec![
                            "projectRootPath".into(),
                            n.project_root_path.unwrap_or_default(),
                        ],
                        vec![
                            "autogenRelationships".into(),
                            n.autogen_relationships.to_string(),
                        ],
                        vec![
                            "enableVirtualSchemas".into(),
                            n.enable_virtual_schemas.to_string(),
                        ],
                        vec![
                            "enableSemanticLayer".into(),
                            n.enable_semantic_layer.to_string(),
                        ],
                    ],
                    (
                        None,
                        ConnectionsDbtGetResponse::NotConfiguredResponse {
                            message,
                            supports_dbt,
                        },
                    ) => vec![
                        vec!["SETTING".into(), "VALUE".into()],
                        vec!["message".into(), message.clone()],
                        vec!["supportsDbt".into(), supports_dbt.to_string()],
                    ],
                    (None, _) => Vec::new(),
                }
            })?;
        }
        DbtCommand::Set {
            connection: c,
            ssh_url,
            branch,
            autogen_relationships,
            virtual_schemas,
            dbt_version,
            semantic_layer,
            rotate_keys,
            project_root,
            replace,
        } => {
            let connection = connection(&c)?;
            // What Omni has now (nothing with --replace): what is not given stays as it is.
            let now = if replace {
                None
            } else {
                Current::of(&client.dbt(connection).config().send().await?)
            };
            let missing: Vec<&str> = [
                ("--ssh-url", ssh_url.is_none() && now.is_none()),
                ("--branch", branch.is_none() && now.is_none()),
                (
                    "--autogen-relationships",
                    autogen_relationships.is_none() && now.is_none(),
                ),
                (
                    "--virtual-schemas",
                    virtual_schemas.is_none() && now.is_none(),
                ),
            ]
            .into_iter()
            .filter_map(|(flag, missing)| missing.then_some(flag))
            .collect();
            if !missing.is_empty() {
                let why = if replace {
                    "--replace sends only what is given, and Omni requires"
                } else {
                    "the connection has no dbt configuration yet; Omni requires"
                };
                return Err(Failure::Usage(format!("{why} {}", missing.join(", "))));
            }
            let pick = |given: Option<String>, current: Option<&String>| {
                given.or_else(|| current.cloned()).unwrap_or_default()
            };
            let ssh = pick(ssh_url, now.as_ref().map(|n| &n.ssh_url));
            let git_branch = pick(branch, now.as_ref().map(|n| &n.branch));
            let autogen = autogen_relationships
                .or(now.as_ref().map(|n| n.autogen_relationships))
                .unwrap_or_default();
            let virtual_on = virtual_schemas
                .or(now.as_ref().map(|n| n.enable_virtual_schemas))
                .unwrap_or_default();
            let semantic = semantic_layer.or(now.as_ref().map(|n| n.enable_semantic_layer));
            let version = dbt_version.or(now.as_ref().map(|n| n.dbt_version.clone()));
            let root = project_root.or(now.as_ref().and_then(|n| n.project_root_path.clone()));
            if let Some(n) = &now {
                let changes = [
                    ("sshUrl", n.ssh_url.clone(), ssh.clone()),
                    ("branch", n.branch.clone(), git_branch.clone()),
                    (
                        "autogenRelationships",
                        n.autogen_relationships.to_string(),
                        autogen.to_string(),
                    ),
                    (
                        "enableVirtualSchemas",
                        n.enable_virtual_schemas.to_string(),
                        virtual_on.to_string(),
                    ),
                    (
                        "enableSemanticLayer",
                        n.enable_semantic_layer.to_string(),
                        semantic.unwrap_or_default().to_string(),
                    ),
                    (
                        "dbtVersion",
                        n.dbt_version.clone(),
                        version.clone().unwrap_or_default(),
                    ),
                    (
                        "projectRootPath",
                        n.project_root_path.clone().unwrap_or_default(),
                        root.clone().unwrap_or_default(),
                    ),
                ];
                let changed: Vec<String> = changes
                    .iter()
                    .filter(|(_, from, to)| from != to)
                    .map(|(field, from, to)| format!("  {field}: {} -> {}", shown(from), shown(to)))
                    .collect();
                if changed.is_empty() && !rotate_keys {
                    // Nothing to change: nothing is sent.
                    let message = "No changes: the dbt configuration already is what was given.";
                    say(message);
                    emit(
                        ctx.output,
                        &json!({"message": message, "changed": false}),
                        || vec![vec![message.to_owned()]],
                    )?;
                    return Ok(());
                } else {
                    say(&format!(
                        "Changing the dbt configuration:\n{}",
                        changed.join("\n")
                    ));
                }
            }
            let mut set = client
                .dbt(connection)
                .update_config(ssh, git_branch)
                .autogen_relationships(autogen)
                .enable_virtual_schemas(virtual_on);
            if let Some(v) = semantic {
                set = set.enable_semantic_layer(v);
            }
            if rotate_keys {
                set = set.rotate_keys(true);
            }
            if let Some(v) = version {
                set = set.dbt_version(v);
            }
            if let Some(v) = root {
                set = set.project_root_path(v);
            }
            let answer = set.send().await?;
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
